"""Default-prior Bayes factors of the released t tests: does the evidence favour a change?

Report stage (what is computed, after the release). Each row the release publishes of the
paired change (``comparisons``: paired t and ``n_pairs``) or of an independent-samples
comparison (``unlinked``, ``between_groups``: the pooled standardised difference ``d_s``
and both samples' n) gets the JZS Bayes factor BF₁₀
(:func:`~mentoreval.stats.equivalence.bayes_factor_t`, Cauchy prior scale r = √2/2), as R's
``BayesFactor::ttestBF``. It is computed from published numbers only, so a row whose t or
n the release withholds has no Bayes factor and the column reveals nothing the table does
not. ``ttestBF``'s independent test uses Student's pooled t, t = d_s / √(1/n₁ + 1/n₂),
not the Welch t the table shows.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd

from mentoreval.report.cohort.results import CohortResults
from mentoreval.stats.equivalence import bayes_factor_t

__all__ = [
    "BF_COLUMN",
    "independent_bayes_factors",
    "paired_bayes_factors",
    "with_bayes_factors",
]

#: The column of a table holding BF₁₀.
BF_COLUMN = "bf10"


def _released(table: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """The released values of ``columns`` as floats (missing or withheld: NaN)."""
    return np.column_stack(
        [pd.to_numeric(table[c], errors="coerce").to_numpy(dtype=float) for c in columns]
    )


def paired_bayes_factors(table: pd.DataFrame) -> pd.Series:
    """BF₁₀ of each released paired t (``t``, ``n_pairs``); NaN where either is withheld.

    Examples
    --------
    R: ``ttestBF(x = post, y = pre, paired = TRUE)`` on ``sleep`` gives 17.25888.

    >>> t = pd.DataFrame({"t": [4.062127683, float("nan")], "n_pairs": [10.0, 10.0]})
    >>> paired_bayes_factors(t).round(5).tolist()
    [17.25888, nan]
    """
    values = _released(table, ["t", "n_pairs"])
    out = [
        bayes_factor_t(t, int(n), paired=True) if math.isfinite(t + n) else math.nan
        for t, n in values
    ]
    return pd.Series(out, index=table.index, dtype=float, name=BF_COLUMN)


def independent_bayes_factors(table: pd.DataFrame, n_first: str, n_second: str) -> pd.Series:
    """BF₁₀ of each released independent comparison, from Student's pooled t
    ``d_s / √(1/n₁ + 1/n₂)`` (as ``ttestBF``); NaN where ``d_s`` or an n is withheld.

    Examples
    --------
    R: ``exp(ttest.tstat(1 / sqrt(1/10 + 1/12), 10, 12, rscale = sqrt(2)/2)$bf)`` gives
    2.365355312.

    >>> t = pd.DataFrame({"d_s": [1.0, float("nan")], "n_pre": [10.0, 10], "n_post": [12.0, 12]})

    >>> independent_bayes_factors(t, "n_pre", "n_post").round(6).tolist()
    [2.365355, nan]
    """
    values = _released(table, ["d_s", n_first, n_second])
    out = [
        bayes_factor_t(d / math.sqrt(1 / n1 + 1 / n2), int(n1), int(n2))
        if math.isfinite(d + n1 + n2) and min(n1, n2) >= 2
        else math.nan
        for d, n1, n2 in values
    ]
    return pd.Series(out, index=table.index, dtype=float, name=BF_COLUMN)


def with_bayes_factors(res: CohortResults) -> CohortResults:
    """``res`` with BF₁₀ added to each released table of a t test it has: ``comparisons``
    (paired), ``unlinked`` and ``between_groups`` (independent)."""
    tables = dict(res.tables)
    comp = tables.get("comparisons")
    if comp is not None and len(comp) and {"t", "n_pairs"} <= set(comp.columns):
        tables["comparisons"] = comp.assign(**{BF_COLUMN: paired_bayes_factors(comp)})
    for name, first, second in (
        ("unlinked", "n_pre", "n_post"),
        ("between_groups", "n_control", "n_treated"),
    ):
        t = tables.get(name)
        if t is not None and len(t) and {"d_s", first, second} <= set(t.columns):
            tables[name] = t.assign(**{BF_COLUMN: independent_bayes_factors(t, first, second)})
    return dataclasses.replace(res, tables=tables)
