"""A linked study's paired change read against the minimal important difference (MID).

Report stage (what is computed, after the release). Where a scale has a MID (the
instrument's published one, or ``analysis.mid``), :func:`paired_equivalence` tests the
*released* paired change for equivalence (TOST against ±MID; its interval is the report's
CI) — from published numbers only, so it reveals nothing the tables do not — and
:func:`with_mid_verdicts` lets a finding whose whole interval lies inside ±MID say "a change
smaller than the minimal important difference" instead of "consistent with no change".
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping

import pandas as pd
from scipy import stats

from mentoreval.report.cohort.design_tables import equivalence
from mentoreval.report.cohort.design_wording import verdict
from mentoreval.report.cohort.results import CohortResults

__all__ = ["mid_source_text", "paired_equivalence", "with_mid_verdicts"]

_MARKERS = {"V": "verified", "S": "secondary source", "U": "unverified"}


def mid_source_text(text: str) -> str:
    """A MID's source as a reader sees it: a trailing evidence marker of the instrument
    files (``; S)``) spelt out.

    Examples
    --------
    >>> mid_source_text("A 10-point change is considered significant (Topp et al. 2015; S)")
    'A 10-point change is considered significant (Topp et al. 2015; secondary source)'
    >>> mid_source_text("analysis.mid in study.yaml")
    'analysis.mid in study.yaml'
    """
    return re.sub(r";\s*([VSU])\)\s*$", lambda m: f"; {_MARKERS[m.group(1)]})", text.strip())


def paired_equivalence(
    comparisons: pd.DataFrame,
    mids: Mapping[tuple[str, str], tuple[float, str]],
    confidence: float,
) -> pd.DataFrame:
    """TOST of each released paired change (``mean_diff``, its CI and ``df``) against ±MID;
    rows withheld by the release are skipped."""
    if comparisons.empty or not mids:
        return pd.DataFrame()
    c = comparisons.copy()
    crit = stats.t.ppf(1 - (1 - confidence) / 2, c["df"].astype(float))
    c["se"] = (c["ci_high"].astype(float) - c["ci_low"].astype(float)) / (2 * crit)
    if "group" not in c.columns:
        c["group"] = "all"
    out = equivalence(c, mids, (1 - confidence) / 2)
    if out.empty:
        return out
    keep = ["instrument", "scale", "group", "mid", "estimate", "ci_low", "ci_high", "p_tost",
            "verdict", "mid_source"]  # fmt: skip
    out = out.assign(mid_source=[mid_source_text(str(s)) for s in out["mid_source"]])
    return out[[k for k in keep if k in out.columns]]


def with_mid_verdicts(
    res: CohortResults, mids: Mapping[tuple[str, str], tuple[float, str]]
) -> CohortResults:
    """``res`` with the ``equivalence`` table and, for each finding whose interval lies
    inside ±MID, the verdict "a change (difference) smaller than the minimal important
    difference"; other findings keep their judgement."""
    table = paired_equivalence(res.tables.get("comparisons", pd.DataFrame()), mids,
                               res.confidence)  # fmt: skip
    if table.empty:
        return res
    headline = []
    for f in res.headline:
        mid = mids.get((f.instrument, f.scale))
        controlled = f.design in ("comparison", "randomised")
        lo, hi = (f.adj_ci_low, f.adj_ci_high) if controlled else (f.ci_low, f.ci_high)
        inside = (
            mid is not None
            and all(math.isfinite(v) for v in (lo, hi))
            and -mid[0] < lo
            and hi < mid[0]
        )
        if inside and mid is not None:
            what = "difference" if controlled else "change"
            f = dataclasses.replace(f, judgement=verdict(lo, hi, mid[0], what, f.higher_is_better))
        headline.append(f)
    tables = {**res.tables, "equivalence": table}
    return dataclasses.replace(res, tables=tables, headline=tuple(headline))
