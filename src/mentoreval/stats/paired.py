"""Paired (pre/post) comparisons per scale: paired t, Wilcoxon signed-rank, effect sizes.

Defaults match R: ``t.test(post, pre, paired = TRUE)``, ``wilcox.test(post, pre, paired =
TRUE)`` (exact only when R would use it: n < 50 with no ties or zero differences;
otherwise the normal approximation with continuity correction), ``p.adjust`` for the
family of scales.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from mentoreval.errors import DataError
from mentoreval.stats._common import as_float_array, check_choice, check_confidence, to_prepost
from mentoreval.stats.effsize import paired_effect_sizes
from mentoreval.stats.multiplicity import PAdjust, adjust_pvalues

__all__ = [
    "COMPARISON_COLUMNS",
    "WilcoxonMethod",
    "compare_pair",
    "compare_paired",
    "wilcoxon_paired",
]

WilcoxonMethod = Literal["auto", "asymptotic", "exact"]
_WILCOXON = ("auto", "asymptotic", "exact")

#: Columns of :func:`compare_paired` (the report's ``comparisons`` table contract).
COMPARISON_COLUMNS = [
    "instrument", "scale", "pre", "post", "n_pairs", "mean_pre", "sd_pre", "mean_post",
    "sd_post", "mean_diff", "ci_low", "ci_high", "t", "df", "p_value", "p_adj", "d_z",
    "d_z_ci_low", "d_z_ci_high", "d_av", "g_av", "wilcoxon_p", "rank_biserial",
]  # fmt: skip


def wilcoxon_paired(
    pre: npt.ArrayLike, post: npt.ArrayLike, *, method: WilcoxonMethod = "auto"
) -> tuple[float, float, str]:
    """Wilcoxon signed-rank test of post − pre as R's ``wilcox.test(paired = TRUE)``.

    Zero differences are dropped (R's and SciPy's ``zero_method="wilcox"``). ``"auto"`` is
    R's default rule: the exact null distribution when fewer than 50 non-zero pairs and
    no ties or zeros, otherwise the normal approximation with tie-corrected variance and a
    continuity correction. ``"exact"`` falls back to the approximation when ties or zeros
    make an exact p impossible, as R does (with a warning there; here ``method`` says so).

    Returns
    -------
    tuple
        ``(v, p_value, method_label)`` where ``v`` is R's V (sum of positive ranks).

    Examples
    --------
    >>> v, p, how = wilcoxon_paired([0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0],
    ...                             [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4])
    >>> v, round(p, 6), how
    (45.0, 0.009091, 'normal approximation, continuity corrected')
    """
    check_choice(method, name="method", choices=_WILCOXON)
    x = as_float_array(pre, name="pre")
    y = as_float_array(post, name="post")
    d = y - x
    d = d[~np.isnan(d)]
    nz = d[d != 0]
    n = nz.size
    if n == 0:
        return (np.nan, np.nan, "no non-zero differences")
    ranks = stats.rankdata(np.abs(nz))
    v = float(ranks[nz > 0].sum())
    ties = np.unique(np.abs(nz)).size < n
    zeros = nz.size < d.size
    exact_ok = not (ties or zeros)
    use_exact = exact_ok and (method == "exact" or (method == "auto" and n < 50))
    if use_exact:
        res = stats.wilcoxon(nz, method="exact")
        return (v, float(res.pvalue), "exact")
    res = stats.wilcoxon(nz, zero_method="wilcox", correction=True, method="asymptotic")
    label = "normal approximation, continuity corrected"
    if method == "exact":
        label += " (exact impossible with ties or zeros)"
    return (v, float(res.pvalue), label)


def compare_pair(
    pre: npt.ArrayLike,
    post: npt.ArrayLike,
    *,
    confidence: float = 0.95,
    wilcoxon: WilcoxonMethod = "auto",
) -> dict[str, Any]:
    """Paired t test, Wilcoxon and effect sizes for one pair of score vectors.

    Incomplete pairs are dropped. Differences are post − pre.

    Returns
    -------
    dict
        Keys of :data:`COMPARISON_COLUMNS` from ``n_pairs`` on (``p_adj`` is NaN here),
        plus ``sd_diff``, ``r_prepost``, ``d_rm``, ``wilcoxon_v``, ``wilcoxon_method``,
        ``n_zero_diff``.

    Examples
    --------
    R: ``t.test(extra ~ group, data = sleep, paired = TRUE)`` (group 2 − group 1 here)

    >>> pre = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
    >>> post = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]
    >>> r = compare_pair(pre, post)
    >>> round(r["t"], 4), r["df"], round(r["p_value"], 6), round(r["ci_low"], 4), round(r["d_z"], 4)
    (4.0621, 9.0, 0.002833, 0.7001, 1.2846)
    """
    check_confidence(confidence)
    x = as_float_array(pre, name="pre")
    y = as_float_array(post, name="post")
    if x.shape != y.shape:
        raise DataError(f"pre and post differ in length ({x.size} vs {y.size})")
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    n = int(x.size)
    d = y - x
    nan = float("nan")
    out: dict[str, Any] = {"n_pairs": n}
    out["mean_pre"] = float(x.mean()) if n else nan
    out["sd_pre"] = float(x.std(ddof=1)) if n > 1 else nan
    out["mean_post"] = float(y.mean()) if n else nan
    out["sd_post"] = float(y.std(ddof=1)) if n > 1 else nan
    out["mean_diff"] = float(d.mean()) if n else nan
    sd_d = float(d.std(ddof=1)) if n > 1 else nan
    df = float(n - 1) if n > 1 else nan
    se = sd_d / np.sqrt(n) if n > 1 else nan
    with np.errstate(divide="ignore", invalid="ignore"):
        t = out["mean_diff"] / se if n > 1 else nan
    q = stats.t.ppf(1 - (1 - confidence) / 2, df) if n > 1 else nan
    out["ci_low"] = float(out["mean_diff"] - q * se)
    out["ci_high"] = float(out["mean_diff"] + q * se)
    out["t"] = float(t)
    out["df"] = df
    out["p_value"] = float(2 * stats.t.sf(abs(t), df)) if n > 1 and np.isfinite(t) else nan
    out["p_adj"] = nan
    es = paired_effect_sizes(x, y, confidence=confidence).set_index("effect_size")
    val = dict(zip(es.index, es["value"].to_numpy(dtype=float), strict=True))
    out["d_z"] = float(val["d_z"])
    out["d_z_ci_low"], out["d_z_ci_high"] = es.loc["d_z", ["ci_low", "ci_high"]].to_numpy(
        dtype=float
    )
    out["d_av"] = val["d_av"]
    out["g_av"] = val["g_av"]
    v, wp, how = wilcoxon_paired(x, y, method=wilcoxon) if n else (nan, nan, "no pairs")
    out["wilcoxon_p"] = wp
    out["rank_biserial"] = val["rank_biserial"]
    out["sd_diff"] = sd_d
    out["r_prepost"] = val["r_prepost"]
    out["d_rm"] = val["d_rm"]
    out["wilcoxon_v"] = v
    out["wilcoxon_method"] = how
    out["n_zero_diff"] = int((d == 0).sum())
    return out


def compare_paired(
    scores: pd.DataFrame,
    *,
    pre: str = "pre",
    post: str = "post",
    confidence: float = 0.95,
    wilcoxon: WilcoxonMethod = "auto",
    p_adjust: PAdjust = "holm",
    details: bool = False,
) -> pd.DataFrame:
    """Paired pre/post comparison for every instrument × scale in a scores table.

    Parameters
    ----------
    scores
        The long ``scores`` contract table.
    pre, post
        Wave names of baseline and follow-up.
    confidence
        Confidence level of the mean-difference and d_z intervals.
    wilcoxon
        ``"auto"`` (R's default rule), ``"asymptotic"`` or ``"exact"``; see
        :func:`wilcoxon_paired`.
    p_adjust
        Adjustment of the paired-t p-values across all rows of the table (one family):
        ``"holm"`` (default; primary outcomes), ``"bh"``, ``"bonferroni"``, ``"none"``.
    details
        Add ``sd_diff``, ``r_prepost``, ``d_rm``, ``wilcoxon_v``, ``wilcoxon_method``,
        ``n_zero_diff``.

    Returns
    -------
    pandas.DataFrame
        One row per instrument × scale with :data:`COMPARISON_COLUMNS`: ``instrument``,
        ``scale``, ``pre``, ``post`` (wave names), ``n_pairs``, ``mean_pre``, ``sd_pre``,
        ``mean_post``, ``sd_post``, ``mean_diff`` (post − pre) with ``ci_low``/``ci_high``,
        paired ``t``, ``df``, ``p_value``, ``p_adj``, ``d_z`` with its noncentral-t CI
        (``d_z_ci_low``, ``d_z_ci_high``), ``d_av``, ``g_av`` (= d_av·J(n−1)),
        ``wilcoxon_p`` and ``rank_biserial``.

    Examples
    --------
    >>> s = pd.DataFrame({
    ...     "participant_id": list("abcdeabcde"), "wave": ["pre"] * 5 + ["post"] * 5,
    ...     "instrument": "who5", "scale": "total",
    ...     "score": [40.0, 52, 48, 60, 36, 48, 56, 47, 72, 44]})
    >>> out = compare_paired(s)
    >>> out[["scale", "n_pairs", "mean_diff", "t", "p_value", "d_z", "wilcoxon_p"]].round(3)
       scale  n_pairs  mean_diff      t  p_value   d_z  wilcoxon_p
    0  total        5        6.2  2.818    0.048  1.26       0.104
    """
    check_choice(wilcoxon, name="wilcoxon", choices=_WILCOXON)
    check_confidence(confidence)
    wide = to_prepost(scores, pre=pre, post=post)
    rows = []
    for (instrument, scale), g in wide.groupby(["instrument", "scale"], sort=True):
        row = compare_pair(
            g["pre"].to_numpy(), g["post"].to_numpy(), confidence=confidence, wilcoxon=wilcoxon
        )
        rows.append({"instrument": instrument, "scale": scale, "pre": pre, "post": post, **row})
    extra = ["sd_diff", "r_prepost", "d_rm", "wilcoxon_v", "wilcoxon_method", "n_zero_diff"]
    cols = COMPARISON_COLUMNS + (extra if details else [])
    out = pd.DataFrame(rows, columns=COMPARISON_COLUMNS + extra)
    out["p_adj"] = adjust_pvalues(out["p_value"].to_numpy(dtype=float), method=p_adjust)
    out["n_pairs"] = out["n_pairs"].astype(int)
    return out[cols].reset_index(drop=True)
