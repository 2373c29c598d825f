"""Design caveats as data: which threats to validity apply, with numbers, for the report.

Each row names a caveat, whether it applies, its severity and a plain-language sentence
with the numbers behind it, so the report states limitations in words rather than leaving
readers to infer them.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from mentoreval.errors import MentorevalError
from mentoreval.stats.power import Design, plan_sample_size

__all__ = ["CAVEAT_COLUMNS", "assess_caveats"]

CAVEAT_COLUMNS = ["caveat", "instrument", "scale", "applies", "severity", "detail"]

#: Share of respondents at the scale minimum or maximum above which a floor/ceiling
#: effect is flagged (Terwee et al. 2007).
CEILING_FLOOR_SHARE = 0.15


def assess_caveats(
    prepost: pd.DataFrame,
    *,
    group: str | None = None,
    attrition: pd.DataFrame | None = None,
    score_range: Mapping[tuple[str, str], tuple[float, float]] | None = None,
    reference_mean: Mapping[tuple[str, str], float] | None = None,
    selected_on_baseline: bool = False,
    planned_effect: float = 0.3,
    power: float = 0.8,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Evaluate the standard design caveats of a pre/post programme evaluation.

    Parameters
    ----------
    prepost
        :func:`to_prepost` output (with the group column when there is one).
    group
        Group column, or ``None`` for a single-arm evaluation.
    attrition
        ``differential`` table(s) from :func:`compare_attrition`, with ``instrument`` and
        ``scale`` columns added, to report differential attrition.
    score_range
        ``{(instrument, scale): (min, max)}`` possible scores, for ceiling/floor effects.
    reference_mean
        ``{(instrument, scale): population mean}`` for the expected regression to the mean.
    selected_on_baseline
        Whether participants were selected for (extreme) baseline scores.
    planned_effect
        The standardised effect the evaluation should detect (d_z, or between-group d).
    power, alpha
        Planning targets for the sample-size caveat.

    Returns
    -------
    pandas.DataFrame
        Columns ``caveat`` (``single_arm``, ``regression_to_mean``,
        ``differential_attrition``, ``ceiling_floor``, ``underpowered``), ``instrument``,
        ``scale`` (NA for design-level rows), ``applies`` (bool), ``severity``
        (``high``/``moderate``/``low``/``none``), ``detail``.

    Examples
    --------
    >>> pp = pd.DataFrame({"participant_id": list("abcdef"), "instrument": "who5",
    ...                    "scale": "total", "pre": [40.0, 52, 48, 60, 36, 100],
    ...                    "post": [48.0, 56, 47, 72, 44, 100]})
    >>> cav = assess_caveats(pp, score_range={("who5", "total"): (0, 100)})
    >>> cav[["caveat", "applies", "severity"]]
                   caveat  applies  severity
    0          single_arm     True      high
    1  regression_to_mean     True       low
    2       ceiling_floor     True  moderate
    3        underpowered     True      high
    """
    single = group is None or prepost[group].dropna().nunique() < 2
    rows = [_single_arm(single)]
    for (inst, sc), g in prepost.groupby(["instrument", "scale"], sort=True):
        instrument, scale = str(inst), str(sc)
        both = g.dropna(subset=["pre", "post"])
        n = len(both)
        r = float(np.corrcoef(both["pre"], both["post"])[0, 1]) if n > 2 else np.nan
        ids: dict[str, object] = {"instrument": instrument, "scale": scale}
        ref = (reference_mean or {}).get((instrument, scale))
        rows.append(_regression_to_mean(ids, both, r, ref, single=single,
                                        selected_on_baseline=selected_on_baseline))  # fmt: skip
        if attrition is not None and {"instrument", "scale"} <= set(attrition.columns):
            hit = attrition[(attrition["instrument"] == instrument) & (attrition["scale"] == scale)]
            if len(hit):
                rows.append(_differential_attrition(ids, hit.iloc[0]))
        rng = (score_range or {}).get((instrument, scale))
        if rng is not None:
            rows.append(_ceiling_floor(ids, g, rng))
        rows.append(_underpowered(ids, n, r, single=single, planned_effect=planned_effect,
                                  power=power, alpha=alpha))  # fmt: skip
    return pd.DataFrame(rows, columns=CAVEAT_COLUMNS)


# --------------------------------------------------------------------------- one row each


def _single_arm(single: bool) -> dict[str, object]:
    """The design-level row: is there a comparison group?"""
    return {
        "caveat": "single_arm", "instrument": pd.NA, "scale": pd.NA, "applies": single,
        "severity": "high" if single else "none",
        "detail": ("There is no comparison group: changes cannot be separated from the academic "
                   "calendar, secular trends or regression to the mean; report them as change "
                   "associated with participation, not as effects of the programme."
                   if single else "A comparison group is available."),
    }  # fmt: skip


def _regression_to_mean(
    ids: dict[str, object],
    both: pd.DataFrame,
    r: float,
    ref: float | None,
    *,
    single: bool,
    selected_on_baseline: bool,
) -> dict[str, object]:
    """Regression to the mean of one scale, from r(pre, post) and a reference mean."""
    shift_txt = ""
    if ref is not None and len(both):
        shift = (1 - r) * (float(both["pre"].mean()) - ref)
        shift_txt = (f" With a baseline mean of {both['pre'].mean():.1f} against a reference mean of "
                     f"{ref:.1f}, about {-shift:+.1f} points of change are expected from regression "
                     f"to the mean alone.")  # fmt: skip
    # Without a comparison group nothing separates regression to the mean from change;
    # how much it matters grows with 1 - r.
    applies = bool(selected_on_baseline or single)
    severity = ("high" if selected_on_baseline else
                ("none" if not applies else "moderate" if not np.isfinite(r) or r < 0.8 else "low"))  # fmt: skip
    return {
        "caveat": "regression_to_mean", **ids, "applies": applies, "severity": severity,
        "detail": (f"r(pre, post) = {r:.2f}: scores move back towards the mean by (1 - r) = {1 - r:.2f} of "
                   f"any baseline deviation." + shift_txt
                   + (" Participants were selected on baseline scores, which inflates apparent improvement."
                      if selected_on_baseline else "")),
    }  # fmt: skip


def _differential_attrition(ids: dict[str, object], a: pd.Series) -> dict[str, object]:
    """Differential attrition of one scale, from its :func:`compare_attrition` row."""
    applies = bool(a["applies"])
    return {
        "caveat": "differential_attrition", **ids, "applies": applies,
        "severity": ("high" if abs(a["difference"]) >= 0.15 else "moderate") if applies else "none",
        "detail": str(a["detail"]),
    }  # fmt: skip


def _ceiling_floor(
    ids: dict[str, object], g: pd.DataFrame, score_range: tuple[float, float]
) -> dict[str, object]:
    """Shares of one scale's scores (both waves) at its minimum and maximum."""
    lo, hi = score_range
    vals = pd.concat([g["pre"], g["post"]]).dropna()
    at_floor = float((vals <= lo).mean()) if len(vals) else np.nan
    at_ceiling = float((vals >= hi).mean()) if len(vals) else np.nan
    worst = max(at_floor, at_ceiling)
    applies = bool(worst > CEILING_FLOOR_SHARE)
    return {
        "caveat": "ceiling_floor", **ids, "applies": applies,
        "severity": "moderate" if applies else "none",
        "detail": (f"{at_ceiling:.0%} of scores are at the maximum ({hi:g}) and {at_floor:.0%} at the "
                   f"minimum ({lo:g}); above {CEILING_FLOOR_SHARE:.0%} change cannot be fully measured."),
    }  # fmt: skip


def _underpowered(
    ids: dict[str, object],
    n: int,
    r: float,
    *,
    single: bool,
    planned_effect: float,
    power: float,
    alpha: float,
) -> dict[str, object]:
    """Whether the ``n`` pairs of one scale reach the sample size the plan needs."""
    design: Design = "paired" if single else "ancova"
    try:
        plan = plan_sample_size(planned_effect, design=design, power=power, alpha=alpha,
                                r_prepost=r if np.isfinite(r) and abs(r) < 1 else 0.5)  # fmt: skip
    except MentorevalError as exc:  # no sample size reaches the power: say so, do not stop
        return {"caveat": "underpowered", **ids, "applies": True, "severity": "high",
                "detail": f"{n} participants have both waves; {exc.problems[0].message}."}  # fmt: skip
    need = int(plan["n_total"].iloc[0])
    under = n < need
    return {
        "caveat": "underpowered", **ids, "applies": under,
        "severity": ("high" if n < need / 2 else "moderate") if under else "none",
        "detail": (f"{n} participants have both waves; detecting a standardised effect of "
                   f"{planned_effect:g} with {power:.0%} power needs {need} ({design} design)."),
    }  # fmt: skip
