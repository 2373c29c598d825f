"""Unlinked pre/post: the two waves as independent samples (anonymous or unlinkable surveys).

When responses cannot be linked across waves a paired statistic is wrong. The comparison
here treats the waves as two independent samples, with R's defaults:

- Welch's t (``t.test(post, pre, var.equal = FALSE)``), difference post − pre;
- Hedges' g_s with pooled SD and its noncentral-t CI (``effectsize::hedges_g(post, pre)``;
  also Cohen's d_s, ``cohens_d``);
- Mann–Whitney (``wilcox.test(post, pre)``: exact when both samples are under 50 and there
  are no ties, otherwise the normal approximation with tie and continuity corrections)
  and the rank-biserial correlation with its Fisher-z CI (``effectsize::rank_biserial``);
- with a comparison group, the group × wave interaction of ``lm(score ~ wave * group)``
  with HC3 standard errors (``sandwich::vcovHC(type = "HC3")``, ``lmtest::coeftest``).

The people answering may differ between waves (see :data:`UNLINKED_CAVEAT`). If some
respondents did answer both waves their answers are correlated; the tests above then
stay valid only approximately (usually conservative), but never turn into paired ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import patsy
from scipy import stats

from mentoreval.errors import DataError
from mentoreval.stats._common import (
    SCORES_COLUMNS,
    as_float_array,
    check_choice,
    check_columns,
    check_confidence,
)
from mentoreval.stats._design import ModelFrame, is_categorical
from mentoreval.stats.controlled import group_levels
from mentoreval.stats.effsize import hedges_j, ncp_t_interval
from mentoreval.stats.equivalence import bayes_factor_t
from mentoreval.stats.multiplicity import PAdjust, adjust_pvalues

__all__ = [
    "UNLINKED_CAVEAT",
    "UNLINKED_COLUMNS",
    "GroupByWave",
    "compare_independent",
    "compare_unlinked",
    "fit_group_by_wave",
    "mann_whitney",
    "rank_biserial_independent",
]

MannWhitneyMethod = Literal["auto", "asymptotic", "exact"]
_MW = ("auto", "asymptotic", "exact")

#: Columns of :func:`compare_unlinked`.
UNLINKED_COLUMNS = [
    "instrument", "scale", "pre", "post", "n_pre", "n_post", "mean_pre", "sd_pre",
    "mean_post", "sd_post", "mean_diff", "ci_low", "ci_high", "t", "df", "p_value", "p_adj",
    "g_s", "g_s_ci_low", "g_s_ci_high", "mann_whitney_p", "rank_biserial",
]  # fmt: skip

#: The caveat every unlinked comparison carries.
UNLINKED_CAVEAT = (
    "The waves were compared as independent samples because responses could not be linked: "
    "the people answering may differ between waves, so a difference can reflect who "
    "responded as well as change."
)


def _clean(values: npt.ArrayLike, name: str) -> np.ndarray:
    x = as_float_array(values, name=name)
    return x[~np.isnan(x)]


def mann_whitney(
    pre: npt.ArrayLike, post: npt.ArrayLike, *, method: MannWhitneyMethod = "auto"
) -> tuple[float, float, str]:
    """Mann–Whitney (Wilcoxon rank-sum) test of post against pre, as ``wilcox.test(post, pre)``.

    ``"auto"`` is R's rule: the exact null distribution when both samples have fewer than
    50 values and there are no ties, otherwise the normal approximation with tie-corrected
    variance and a continuity correction. ``"exact"`` falls back to the approximation when
    ties make an exact p impossible (R warns; here the label says so).

    Returns
    -------
    tuple
        ``(w, p_value, method_label)`` with R's W (the Mann–Whitney U of ``post``).

    Examples
    --------
    >>> w, p, how = mann_whitney([3.1, 4.2, 2.2, 5.0], [6.3, 4.8, 7.7, 5.9, 6.6])
    >>> w, round(p, 6), how
    (19.0, 0.031746, 'exact')
    """
    check_choice(method, name="method", choices=_MW)
    y, x = _clean(pre, "pre"), _clean(post, "post")
    if x.size == 0 or y.size == 0:
        return (np.nan, np.nan, "an empty sample")
    ranks = stats.rankdata(np.concatenate([x, y]))
    w = float(ranks[: x.size].sum() - x.size * (x.size + 1) / 2)
    ties = np.unique(ranks).size < ranks.size
    small = x.size < 50 and y.size < 50
    if not ties and (method == "exact" or (method == "auto" and small)):
        return (w, float(stats.mannwhitneyu(x, y, method="exact").pvalue), "exact")
    res = stats.mannwhitneyu(x, y, use_continuity=True, method="asymptotic")
    label = "normal approximation, continuity corrected"
    return (w, float(res.pvalue), label + (" (exact impossible with ties)" if ties else ""))


def rank_biserial_independent(
    pre: npt.ArrayLike, post: npt.ArrayLike, *, confidence: float = 0.95
) -> tuple[float, float, float]:
    """Rank-biserial correlation of post against pre, with its Fisher-z CI.

    r = 2 U_post / (n_pre n_post) − 1 (Glass 1965; positive when post tends to be higher),
    with SE(atanh r) = √((n₁ + n₂ + 1) / (3 n₁ n₂)) as ``effectsize::rank_biserial``.

    Returns
    -------
    tuple of float
        ``(r, ci_low, ci_high)``.

    Examples
    --------
    >>> r, lo, hi = rank_biserial_independent([3.1, 4.2, 2.2, 5.0], [6.3, 4.8, 7.7, 5.9, 6.6])
    >>> round(r, 3), round(lo, 3), round(hi, 3)
    (0.9, 0.586, 0.979)
    """
    check_confidence(confidence)
    y, x = _clean(pre, "pre"), _clean(post, "post")
    n1, n2 = x.size, y.size
    if n1 == 0 or n2 == 0:
        return (np.nan, np.nan, np.nan)
    ranks = stats.rankdata(np.concatenate([x, y]))
    u = ranks[:n1].sum() - n1 * (n1 + 1) / 2
    r = float(2 * u / (n1 * n2) - 1)
    se = np.sqrt((n1 + n2 + 1) / (3 * n1 * n2))
    z = stats.norm.ppf(1 - (1 - confidence) / 2)
    with np.errstate(divide="ignore"):
        rf = np.arctanh(r)
    return (r, float(np.tanh(rf - z * se)), float(np.tanh(rf + z * se)))


def _welch(x: np.ndarray, y: np.ndarray, confidence: float) -> dict[str, float]:
    """Welch t of mean(x) − mean(y) with its CI (R's ``t.test(x, y)``)."""
    vx, vy = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
    se = float(np.sqrt(vx + vy))
    df = float((vx + vy) ** 2 / (vx**2 / (x.size - 1) + vy**2 / (y.size - 1)))
    diff = float(x.mean() - y.mean())
    with np.errstate(divide="ignore", invalid="ignore"):
        t = diff / se
    q = stats.t.ppf(1 - (1 - confidence) / 2, df)
    p = float(2 * stats.t.sf(abs(t), df)) if np.isfinite(t) else np.nan
    return {"mean_diff": diff, "se": se, "ci_low": diff - q * se, "ci_high": diff + q * se,
            "t": float(t), "df": df, "p_value": p}  # fmt: skip


def _standardised(x: np.ndarray, y: np.ndarray, confidence: float) -> dict[str, float]:
    """Cohen's d_s and Hedges' g_s (pooled SD) with noncentral-t CIs (effectsize 0.8.3)."""
    n1, n2 = x.size, y.size
    df = n1 + n2 - 2
    sd = np.sqrt(((n1 - 1) * x.var(ddof=1) + (n2 - 1) * y.var(ddof=1)) / df)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = float((x.mean() - y.mean()) / sd)
    hn = np.sqrt(1 / n1 + 1 / n2)
    lo, hi = ncp_t_interval(d / hn, df, confidence=confidence) if np.isfinite(d) else (np.nan,) * 2
    j = float(hedges_j(df)) if df > 1 else np.nan
    return {"d_s": d, "d_s_ci_low": lo * hn, "d_s_ci_high": hi * hn, "g_s": d * j,
            "g_s_ci_low": lo * hn * j, "g_s_ci_high": hi * hn * j}  # fmt: skip


def compare_independent(
    pre: npt.ArrayLike,
    post: npt.ArrayLike,
    *,
    confidence: float = 0.95,
    mann_whitney_method: MannWhitneyMethod = "auto",
) -> dict[str, Any]:
    """Welch t, Hedges' g_s, Mann–Whitney and rank-biserial for two independent samples.

    Missing values are dropped from each sample. Differences are post − pre.

    Returns
    -------
    dict
        Keys of :data:`UNLINKED_COLUMNS` from ``n_pre`` on (``p_adj`` is NaN here), plus
        ``se``, ``d_s``, ``d_s_ci_low``, ``d_s_ci_high``, ``rank_biserial_ci_low``,
        ``rank_biserial_ci_high``, ``mann_whitney_w``, ``mann_whitney_method``, ``bf10``
        (JZS Bayes factor, r = √2/2, of Student's pooled t; see
        :func:`~mentoreval.stats.equivalence.bayes_factor_t`).

    Examples
    --------
    R: ``t.test(post, pre)`` gives t = 1.713434, df = 10.99829, p = 0.1146412;
    ``effectsize::hedges_g(post, pre)`` 0.875093.

    >>> r = compare_independent([40.0, 52, 48, 60, 36, 44], [48.0, 56, 47, 72, 44, 64, 58])
    >>> round(r["t"], 4), round(r["df"], 3), round(r["p_value"], 4), round(r["g_s"], 4)
    (1.7134, 10.998, 0.1146, 0.8751)
    """
    check_confidence(confidence)
    check_choice(mann_whitney_method, name="mann_whitney_method", choices=_MW)
    y, x = _clean(pre, "pre"), _clean(post, "post")
    nan = float("nan")
    out: dict[str, Any] = {"n_pre": int(y.size), "n_post": int(x.size)}
    out["mean_pre"] = float(y.mean()) if y.size else nan
    out["sd_pre"] = float(y.std(ddof=1)) if y.size > 1 else nan
    out["mean_post"] = float(x.mean()) if x.size else nan
    out["sd_post"] = float(x.std(ddof=1)) if x.size > 1 else nan
    keys = ["mean_diff", "se", "ci_low", "ci_high", "t", "df", "p_value"]
    es_keys = ["d_s", "d_s_ci_low", "d_s_ci_high", "g_s", "g_s_ci_low", "g_s_ci_high"]
    if x.size > 1 and y.size > 1:
        out |= _welch(x, y, confidence) | _standardised(x, y, confidence)
    else:
        out |= dict.fromkeys(keys + es_keys, nan)
    out["p_adj"] = nan
    w, p, how = mann_whitney(y, x, method=mann_whitney_method)
    out["mann_whitney_p"] = p
    rb = rank_biserial_independent(y, x, confidence=confidence)
    out["rank_biserial"], out["rank_biserial_ci_low"], out["rank_biserial_ci_high"] = rb
    out["mann_whitney_w"] = w
    out["mann_whitney_method"] = how
    # JZS BF10 (r = sqrt(2)/2) of Student's pooled t, as BayesFactor::ttestBF(post, pre)
    t_pooled = out["d_s"] / np.sqrt(1 / x.size + 1 / y.size) if x.size and y.size else nan
    out["bf10"] = bayes_factor_t(t_pooled, int(x.size), int(y.size))
    return out


def compare_unlinked(
    scores: pd.DataFrame,
    *,
    pre: str = "pre",
    post: str = "post",
    confidence: float = 0.95,
    mann_whitney_method: MannWhitneyMethod = "auto",
    p_adjust: PAdjust = "holm",
    details: bool = False,
) -> pd.DataFrame:
    """Unlinked pre/post comparison for every instrument × scale of a scores table.

    Each wave's scores are one independent sample; ``participant_id`` is not used.

    Parameters
    ----------
    scores
        The long ``scores`` contract table.
    pre, post
        Wave names of baseline and follow-up.
    confidence
        Level of the mean-difference and g_s intervals.
    mann_whitney_method
        ``"auto"`` (R's rule), ``"asymptotic"`` or ``"exact"``; see :func:`mann_whitney`.
    p_adjust
        Adjustment of the Welch p-values across the rows (one family).
    details
        Add ``se``, ``d_s`` with its CI, the rank-biserial CI, ``mann_whitney_w``,
        ``mann_whitney_method`` and ``bf10`` (JZS Bayes factor, labelled as such).

    Returns
    -------
    pandas.DataFrame
        One row per instrument × scale with :data:`UNLINKED_COLUMNS`: ``instrument``,
        ``scale``, ``pre``, ``post`` (wave names), ``n_pre``, ``n_post``, means and SDs,
        ``mean_diff`` (post − pre) with its Welch CI, Welch ``t``, ``df``, ``p_value``,
        ``p_adj``, ``g_s`` with its noncentral-t CI, ``mann_whitney_p`` and
        ``rank_biserial``.

    Examples
    --------
    >>> s = pd.DataFrame({"participant_id": [f"r{i}" for i in range(11)],
    ...                   "wave": ["pre"] * 5 + ["post"] * 6, "instrument": "who5",
    ...                   "scale": "total",
    ...                   "score": [40.0, 52, 48, 60, 36, 48, 56, 47, 72, 44, 64]})
    >>> compare_unlinked(s)[["n_pre", "n_post", "mean_diff", "df", "g_s"]].round(3)
       n_pre  n_post  mean_diff     df    g_s
    0      5       6      7.967  8.966  0.701
    """
    check_columns(scores, SCORES_COLUMNS, what="scores")
    check_confidence(confidence)
    sub = scores.loc[scores["wave"].isin([pre, post])]
    for w in (pre, post):
        if not (sub["wave"] == w).any():
            raise DataError(f"wave {w!r} not found in scores")
    rows = []
    for (instrument, scale), g in sub.groupby(["instrument", "scale"], sort=True):
        score = pd.to_numeric(g["score"], errors="coerce")
        row = compare_independent(
            score[g["wave"] == pre], score[g["wave"] == post], confidence=confidence,
            mann_whitney_method=mann_whitney_method,
        )  # fmt: skip
        rows.append({"instrument": instrument, "scale": scale, "pre": pre, "post": post, **row})
    extra = ["se", "d_s", "d_s_ci_low", "d_s_ci_high", "rank_biserial_ci_low",
             "rank_biserial_ci_high", "mann_whitney_w", "mann_whitney_method", "bf10"]  # fmt: skip
    out = pd.DataFrame(rows, columns=UNLINKED_COLUMNS + extra)
    out["p_adj"] = adjust_pvalues(out["p_value"].to_numpy(dtype=float), method=p_adjust)
    return out[UNLINKED_COLUMNS + (extra if details else [])].reset_index(drop=True)


@dataclass(frozen=True)
class GroupByWave:
    """``lm(score ~ wave * group)`` on unlinked waves, with HC3 standard errors.

    Attributes
    ----------
    coefficients
        ``term``, ``estimate``, ``se`` (HC3), ``df`` (residual), ``t``, ``p_value``,
        ``ci_low``, ``ci_high``, ``se_method``.
    contrasts
        ``contrast`` (``change: <control>``, ``change: <treated>``, ``difference in
        change: <treated> - <control>``), ``estimate``, ``se``, ``df``, ``t``,
        ``p_value``, ``ci_low``, ``ci_high``, ``n``; the last row is the effect of
        interest.
    """

    coefficients: pd.DataFrame
    contrasts: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """The difference in change (one row)."""
        return self.contrasts.iloc[[-1]].reset_index(drop=True)


def _hc3_tests(y: np.ndarray, x: np.ndarray, lmat: np.ndarray, confidence: float) -> pd.DataFrame:
    """OLS estimates of ``lmat @ β`` with HC3 SEs and residual-df t tests."""
    xtx_inv = np.linalg.inv(x.T @ x)
    beta = xtx_inv @ x.T @ y
    resid = y - x @ beta
    lev = np.einsum("ij,jk,ik->i", x, xtx_inv, x)
    meat = x.T @ (x * (resid / (1 - lev))[:, None] ** 2)
    vcov = xtx_inv @ meat @ xtx_inv
    df = float(len(y) - x.shape[1])
    est = lmat @ beta
    se = np.sqrt(np.einsum("ij,jk,ik->i", lmat, vcov, lmat))
    t = est / se
    q = stats.t.ppf(1 - (1 - confidence) / 2, df)
    return pd.DataFrame(
        {"estimate": est, "se": se, "df": df, "t": t, "p_value": 2 * stats.t.sf(np.abs(t), df),
         "ci_low": est - q * se, "ci_high": est + q * se}
    )  # fmt: skip


def fit_group_by_wave(
    data: pd.DataFrame,
    *,
    outcome: str = "score",
    time: str = "wave",
    pre: str = "pre",
    post: str = "post",
    group: str = "group",
    treated: str = "mentored",
    covariates: Sequence[str] = (),
    confidence: float = 0.95,
) -> GroupByWave:
    """Difference in change between two groups when waves are unlinked (HC3 SEs).

    Fits ``outcome ~ time * group + covariates`` by OLS on all responses of the two waves
    (one row per response, no linkage) and tests with HC3 heteroscedasticity-consistent
    standard errors and the residual df, as ``lmtest::coeftest(fit, vcov =
    sandwich::vcovHC(fit, type = "HC3"))``.

    Parameters
    ----------
    data
        One row per response: ``outcome``, ``time``, ``group`` (two levels) and any
        covariates (non-numeric ones are factors). Rows with missing values are dropped.
    pre, post
        Wave names; other waves are ignored.
    group, treated
        Group column and its treated level.
    covariates
        Further fixed effects.
    confidence
        Level of the t-based CIs.

    Returns
    -------
    GroupByWave

    Examples
    --------
    >>> d = pd.DataFrame({"wave": ["pre"] * 6 + ["post"] * 6,
    ...                   "group": ["mentored", "comparison"] * 6,
    ...                   "score": [50.0, 52, 47, 55, 53, 49, 58, 51, 60, 54, 57, 50]})
    >>> fit_group_by_wave(d).to_frame()[["contrast", "estimate", "df"]].round(3)
                                          contrast  estimate   df
    0  difference in change: mentored - comparison     8.667  8.0
    """
    check_confidence(confidence)
    cols = [outcome, time, group, *covariates]
    check_columns(data, cols, what="data")
    d = data.loc[data[time].isin([pre, post]), cols].dropna().copy()
    treated, control = group_levels(d[group], treated=treated, what=group)
    d[group] = d[group].astype(str)
    mf = ModelFrame(d)
    terms = [
        f"{mf.factor(time, levels=[pre, post])} * {mf.factor(group, levels=[control, treated])}"
    ]
    terms += [mf.factor(c) if is_categorical(d[c]) else mf.numeric(c) for c in covariates]
    y, x = patsy.dmatrices(
        f"{mf.numeric(outcome)} ~ " + " + ".join(terms), mf.frame, return_type="dataframe"
    )
    if len(d) <= x.shape[1] or np.linalg.matrix_rank(x.to_numpy()) < x.shape[1]:
        raise DataError("too few responses, or an empty wave × group cell, for the model")
    xv, yv = x.to_numpy(), y.to_numpy().ravel()
    coef = _hc3_tests(yv, xv, np.eye(x.shape[1]), confidence)
    coef.insert(0, "term", [mf.label(c) for c in x.columns])
    coef["se_method"] = "HC3"
    col = {c: i for i, c in enumerate(x.columns)}
    wave_col = col[mf.dummy(time, post)]
    inter = col[f"{mf.dummy(time, post)}:{mf.dummy(group, treated)}"]
    lmat = np.zeros((3, x.shape[1]))
    lmat[0, wave_col] = 1
    lmat[1, [wave_col, inter]] = 1
    lmat[2, inter] = 1
    con = _hc3_tests(yv, xv, lmat, confidence)
    con.insert(0, "contrast", [f"change: {control}", f"change: {treated}",
                               f"difference in change: {treated} - {control}"])  # fmt: skip
    con["n"] = len(d)
    return GroupByWave(coefficients=coef, contrasts=con)
