"""The tables of the unlinked and single-wave designs, built in full (nothing hidden).

Report stage (what is computed). Every table here compares independent samples or
describes one wave: no statistic needs a student's two answers, and none pairs them.
:mod:`mentoreval.report.cohort.designs` assembles them; the release decision is made on all
of them at once (:mod:`mentoreval.report.cohort.design_registry` registers their counts).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

if TYPE_CHECKING:  # pragma: no cover
    from mentoreval.config.study import Study
    from mentoreval.stats.multiplicity import PAdjust

__all__ = [
    "between_groups",
    "descriptives",
    "equivalence",
    "interaction",
    "participation",
    "unlinked_comparisons",
    "wave_bands",
]

_KEYS = ["instrument", "scale"]


def participation(
    data: Mapping[str, Any], study: Study, waves: Sequence[str]
) -> dict[str, pd.DataFrame]:
    """Responses received, set aside and kept per wave, with the reasons (``flow_reasons``
    by wave role: the first wave is ``pre``, the second ``post``)."""
    wave_of = {Path(s.path).name: s.wave for s in study.config.sources if s.wave}
    inputs = (data.get("manifest") or {}).get("inputs") or {}
    read = {w: 0.0 for w in waves}
    for name, entry in inputs.items():
        if wave_of.get(name) in read:
            read[str(wave_of[name])] += float(entry.get("records", 0))
    q = data["quarantine"]
    rows = q[q["rule"].astype(str) != "unknown_value"] if len(q) else q
    q_wave = rows["source"].astype(str).map(wave_of).to_numpy() if len(q) else np.array([])
    resp = data["responses"]
    kept = resp.groupby(resp["wave"].astype(str))["participant_id"].nunique()
    roles = dict(zip(waves, ("pre", "post"), strict=False))
    out, reasons = [], []
    for w in waves:
        by_rule = (
            rows.loc[q_wave == w, "rule"].astype(str).value_counts() if len(q) else pd.Series()
        )
        n_kept = float(kept.get(w, 0))
        received = max(read[w], n_kept + float(by_rule.sum()))
        out.append({"wave": w, "received": received, "excluded": received - n_kept,
                    "kept": n_kept, "reasons": "none"})  # fmt: skip
        if w in roles:
            reasons += [
                {"wave_role": roles[w], "rule": r, "n": float(n)} for r, n in by_rule.items()
            ]
    part = pd.DataFrame(out).assign(suppressed=False)
    return {
        "participation": part,
        "flow_reasons": pd.DataFrame(reasons, columns=["wave_role", "rule", "n"]),
    }


def descriptives(scores: pd.DataFrame, group: str | None, confidence: float) -> pd.DataFrame:
    """n, mean, SD and the t-based CI of the mean per scale and wave (and group).

    Examples
    --------
    >>> s = pd.DataFrame({"instrument": "who5", "scale": "total", "wave": "post",
    ...                   "score": [40.0, 50, 60, 70]})
    >>> descriptives(s, None, 0.95).round(2).to_dict("records")  # doctest: +NORMALIZE_WHITESPACE
    [{'instrument': 'who5', 'scale': 'total', 'wave': 'post', 'group': 'all', 'n': 4.0,
      'mean': 55.0, 'sd': 12.91, 'ci_low': 34.46, 'ci_high': 75.54}]
    """
    s = scores.dropna(subset=["score"])
    s = s.assign(group=s[group].astype(str) if group else "all")
    d = (
        s.groupby([*_KEYS, "wave", "group"], sort=True, observed=True)["score"]
        .agg(n="count", mean="mean", sd="std")
        .reset_index()
    )
    d["n"] = d["n"].astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        half = stats.t.ppf(0.5 + confidence / 2, d["n"] - 1) * d["sd"] / np.sqrt(d["n"])
    return d.assign(ci_low=d["mean"] - half, ci_high=d["mean"] + half)


def _both_waves(scores: pd.DataFrame, pre: str, post: str) -> pd.DataFrame:
    """The scales scored at both waves (an instrument asked once is only described)."""
    has = (
        scores.dropna(subset=["score"]).groupby(_KEYS)["wave"].agg(lambda w: {pre, post} <= set(w))
    )
    keep = has[has].index
    return scores.set_index(_KEYS).loc[lambda d: d.index.isin(keep)].reset_index()


def unlinked_comparisons(
    scores: pd.DataFrame,
    pre: str,
    post: str,
    group: str | None,
    arms: Sequence[str],
    confidence: float,
    p_adjust: PAdjust,
) -> pd.DataFrame:
    """Welch t, g_s and Mann–Whitney per scale (per arm with a group), waves independent."""
    from mentoreval.stats.unlinked import UNLINKED_COLUMNS, compare_unlinked

    both = _both_waves(scores, pre, post)
    if both.empty:
        return pd.DataFrame(columns=[*UNLINKED_COLUMNS, "se", "group"])
    parts = []
    for arm in arms if group else ["all"]:
        sub = both if not group else both[both[group].astype(str) == arm]
        if sub.empty or not {pre, post} <= set(sub["wave"]):
            continue
        t = compare_unlinked(
            sub, pre=pre, post=post, confidence=confidence, p_adjust=p_adjust, details=True
        )
        parts.append(t.assign(group=arm))  # fmt: skip
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def interaction(
    scores: pd.DataFrame, pre: str, post: str, group: str, treated: str, confidence: float
) -> pd.DataFrame:
    """The group × wave interaction per scale (difference in change, HC3 SEs)."""
    from mentoreval.errors import DataError
    from mentoreval.stats.unlinked import fit_group_by_wave

    rows = []
    for (inst, scale), g in _both_waves(scores, pre, post).groupby(_KEYS, sort=True):
        try:
            fit = fit_group_by_wave(g, pre=pre, post=post, group=group, treated=treated,
                                    confidence=confidence)  # fmt: skip
        except DataError:
            continue
        rows.append(fit.to_frame().assign(instrument=str(inst), scale=str(scale)))
    cols = [*_KEYS, "contrast", "n", "estimate", "se", "df", "t", "p_value", "ci_low", "ci_high"]
    return pd.concat(rows, ignore_index=True)[cols] if rows else pd.DataFrame(columns=cols)


def between_groups(
    scores: pd.DataFrame, group: str, treated: str, control: str, confidence: float
) -> pd.DataFrame:
    """One wave's two groups compared (treated − control): Welch t, g_s, Mann–Whitney."""
    from mentoreval.stats.unlinked import compare_independent

    rows = []
    for (inst, scale, wave), g in scores.groupby([*_KEYS, "wave"], sort=True):
        arm = g[group].astype(str)
        if not ((arm == treated).sum() > 1 and (arm == control).sum() > 1):
            continue
        r = compare_independent(g.loc[arm == control, "score"], g.loc[arm == treated, "score"],
                                confidence=confidence)  # fmt: skip
        rows.append({"instrument": inst, "scale": scale, "wave": wave,
                     "n_control": float(r["n_pre"]), "n_treated": float(r["n_post"]),
                     **{k: r[k] for k in ("mean_diff", "se", "ci_low", "ci_high", "t", "df",
                                          "p_value", "g_s", "g_s_ci_low", "g_s_ci_high",
                                          "mann_whitney_p", "rank_biserial", "d_s")}})  # fmt: skip
    return pd.DataFrame(rows)


def equivalence(
    estimates: pd.DataFrame, mids: Mapping[tuple[str, str], tuple[float, str]], alpha: float
) -> pd.DataFrame:
    """TOST against ±MID for each estimate (``estimate``/``mean_diff``, ``se``, ``df``)
    whose scale has a minimal important difference."""
    from mentoreval.stats.equivalence import tost

    rows = []
    for r in estimates.to_dict("records"):
        mid = mids.get((str(r["instrument"]), str(r["scale"])))
        est = r.get("estimate", r.get("mean_diff"))
        if mid is None or est is None or not np.isfinite([est, r["se"], r["df"]]).all():
            continue
        t = tost(float(est), float(r["se"]), float(r["df"]), mid=mid[0], alpha=alpha)
        row = t.iloc[0].to_dict()
        rows.append({"instrument": r["instrument"], "scale": r["scale"],
                     "group": r.get("group", "all"), "mid_source": mid[1], **row})  # fmt: skip
    return pd.DataFrame(rows)


def wave_bands(scores: pd.DataFrame, order: Mapping[tuple[str, str], list[str]]) -> pd.DataFrame:
    """Students per published band at each wave (all groups together), with the share."""
    s = scores.dropna(subset=["band"])
    if s.empty:
        return pd.DataFrame()
    d = s.groupby([*_KEYS, "wave", "band"], observed=True).size().rename("n").reset_index()
    d["n"] = d["n"].astype(float)
    d["prop"] = d["n"] / d.groupby([*_KEYS, "wave"])["n"].transform("sum")
    rank = [
        (order.get((i, sc)) or []).index(b) if b in (order.get((i, sc)) or []) else 99
        for i, sc, b in zip(d["instrument"], d["scale"], d["band"], strict=True)
    ]
    return (
        d.assign(_r=rank)
        .sort_values([*_KEYS, "wave", "_r"])
        .drop(columns="_r")
        .reset_index(drop=True)
    )
