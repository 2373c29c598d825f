"""Individual change: Jacobson–Truax reliable change index and clinical significance.

SEM = SD_pre · √(1 − r_xx), S_diff = √2 · SEM, RCI = (post − pre) / S_diff; a change is
reliable when |RCI| ≥ z (1.96 for 95%). Reliability r_xx comes from the instrument's
published value when given (preferred: the sample's own α is noisy) or the sample's α, and
the output says which. "Recovered" = reliably improved *and* moved past the cut-off into
the functional range (Jacobson & Truax 1991).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats

from mentoreval.errors import DataError, Problem
from mentoreval.stats._common import check_confidence, to_prepost

__all__ = ["classify_change", "jacobson_truax_cutoff", "summarise_change"]

Key = tuple[str, str]


def jacobson_truax_cutoff(
    mean_dys: float, sd_dys: float, mean_func: float, sd_func: float
) -> float:
    """Jacobson–Truax cut-off c = (s₀M₁ + s₁M₀)/(s₀ + s₁) between two populations.

    Examples
    --------
    >>> jacobson_truax_cutoff(30.0, 8.0, 60.0, 12.0)
    42.0
    """
    return float((sd_dys * mean_func + sd_func * mean_dys) / (sd_dys + sd_func))


def classify_change(
    scores: pd.DataFrame,
    *,
    pre: str = "pre",
    post: str = "post",
    reliability: Mapping[Key, float] | None = None,
    sample_reliability: Mapping[Key, float] | None = None,
    higher_is_better: Mapping[Key, bool] | bool = True,
    cutoff: Mapping[Key, float] | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Reliable change and clinical-significance class for every participant and scale.

    Parameters
    ----------
    scores
        The long ``scores`` table.
    pre, post
        Wave names.
    reliability
        Published reliability per ``(instrument, scale)`` (from the instrument file).
    sample_reliability
        Fallback per ``(instrument, scale)`` (e.g. the sample's α at baseline) where no
        published value is given.
    higher_is_better
        Direction per ``(instrument, scale)`` or one bool (burnout: ``False``).
    cutoff
        Functional/dysfunctional cut-off per ``(instrument, scale)`` for "recovered".
    confidence
        Two-sided level for the reliability criterion (0.95 → |RCI| ≥ 1.96).

    Returns
    -------
    pandas.DataFrame
        One row per participant × scale with both waves: ``participant_id``,
        ``instrument``, ``scale``, ``pre_score``, ``post_score``, ``change``,
        ``reliability``, ``reliability_source`` (``published``/``sample``), ``sd_pre``,
        ``s_diff``, ``rci``, ``reliable``, ``classification`` (``improved``,
        ``unchanged``, ``deteriorated``, ``recovered``).

    Examples
    --------
    >>> s = pd.DataFrame({"participant_id": list("abcdabcd"), "wave": ["pre"] * 4 + ["post"] * 4,
    ...     "instrument": "who5", "scale": "total", "score": [30.0, 50, 60, 44, 64, 52, 40, 46]})
    >>> classify_change(s, reliability={("who5", "total"): 0.85},
    ...                 cutoff={("who5", "total"): 50.0})[["participant_id", "rci", "classification"]].round(2)
      participant_id   rci classification
    0              a  4.95      recovered
    1              b  0.29      unchanged
    2              c -2.91   deteriorated
    3              d  0.29      unchanged
    """
    check_confidence(confidence)
    wide = to_prepost(scores, pre=pre, post=post).dropna(subset=["pre", "post"])
    keys = list(zip(wide["instrument"], wide["scale"], strict=True))
    pub = dict(reliability or {})
    samp = dict(sample_reliability or {})
    missing = sorted({k for k in keys if k not in pub and k not in samp})
    if missing:
        raise DataError(
            f"no reliability for {len(missing)} scale(s)",
            tuple(Problem(f"no reliability for {i}/{s}", key="reliability",
                          fix="give the published value or the sample alpha") for i, s in missing),
        )  # fmt: skip
    rel = np.array([pub.get(k, samp.get(k, np.nan)) for k in keys], dtype=float)
    source = np.where([k in pub for k in keys], "published", "sample")
    if isinstance(higher_is_better, bool):
        better = np.full(len(keys), higher_is_better)
    else:
        better = np.array([higher_is_better.get(k, True) for k in keys], dtype=bool)
    cut = np.array([(cutoff or {}).get(k, np.nan) for k in keys], dtype=float)
    out = wide[["participant_id", "instrument", "scale"]].copy()
    out["pre_score"] = wide["pre"].to_numpy()
    out["post_score"] = wide["post"].to_numpy()
    out["change"] = out["post_score"] - out["pre_score"]
    out["reliability"] = rel
    out["reliability_source"] = source
    out["sd_pre"] = out.groupby(["instrument", "scale"])["pre_score"].transform(
        lambda v: v.std(ddof=1)
    )
    out["s_diff"] = np.sqrt(2) * out["sd_pre"] * np.sqrt(1 - rel)
    out["rci"] = out["change"] / out["s_diff"]
    z = stats.norm.ppf(1 - (1 - confidence) / 2)
    out["reliable"] = out["rci"].abs() >= z
    signed = np.where(better, out["rci"], -out["rci"])
    improved = out["reliable"].to_numpy() & (signed > 0)
    worse = out["reliable"].to_numpy() & (signed < 0)
    post_ok = np.where(better, out["post_score"] > cut, out["post_score"] < cut)
    pre_bad = np.where(better, out["pre_score"] <= cut, out["pre_score"] >= cut)
    recovered = improved & ~np.isnan(cut) & post_ok & pre_bad
    out["classification"] = np.select(
        [recovered, improved, worse], ["recovered", "improved", "deteriorated"], default="unchanged"
    )
    return out.reset_index(drop=True)


def summarise_change(classified: pd.DataFrame) -> pd.DataFrame:
    """Counts and proportions per class from :func:`classify_change`.

    Returns
    -------
    pandas.DataFrame
        ``instrument``, ``scale``, ``classification``, ``n``, ``proportion``,
        ``reliability_source``; every class appears (n = 0 when empty).

    Examples
    --------
    >>> c = pd.DataFrame({"instrument": "who5", "scale": "total", "reliability_source": "published",
    ...                   "classification": ["improved", "unchanged", "unchanged"]})
    >>> summarise_change(c)[["classification", "n"]]
      classification  n
    0       improved  1
    1      unchanged  2
    2   deteriorated  0
    3      recovered  0
    """
    classes = ["improved", "unchanged", "deteriorated", "recovered"]
    counts = (
        classified.groupby(["instrument", "scale", "reliability_source"])["classification"]
        .value_counts()
        .unstack(fill_value=0)
        .reindex(columns=classes, fill_value=0)
        .stack()
    )
    counts = pd.DataFrame({"n": counts}).reset_index()
    counts["proportion"] = counts["n"] / counts.groupby(["instrument", "scale"])["n"].transform(
        "sum"
    )
    return counts[
        ["instrument", "scale", "classification", "n", "proportion", "reliability_source"]
    ]
