"""Standardised effect sizes for pre/post designs, each labelled by its formula.

"Paired Cohen's d" names several quantities (Lakens 2013): pingouin's default is d_av,
R's ``effectsize::cohens_d(paired = TRUE)``, JASP and SPSS report d_z. This module computes
them side by side so a report always says which one it shows.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import optimize, special, stats

from mentoreval.errors import DataError
from mentoreval.stats._common import as_float_array, check_confidence

__all__ = ["d_ppc2", "hedges_j", "ncp_t_interval", "paired_effect_sizes", "rank_biserial_paired"]


def hedges_j(df: npt.ArrayLike) -> np.ndarray:
    """Hedges' exact small-sample correction J(df) = Γ(df/2) / (√(df/2) Γ((df−1)/2)).

    Examples
    --------
    >>> float(hedges_j(9).round(6))
    0.913875
    """
    d = np.asarray(df, dtype=float)
    return np.exp(special.gammaln(d / 2) - 0.5 * np.log(d / 2) - special.gammaln((d - 1) / 2))


def ncp_t_interval(t: float, df: float, *, confidence: float = 0.95) -> tuple[float, float]:
    """Confidence interval for the noncentrality parameter of a t statistic.

    Inverts the noncentral t distribution (Steiger & Fouladi 1997), as
    ``effectsize:::.get_ncp_t`` does; dividing by √n gives the CI of d_z.

    Examples
    --------
    >>> lo, hi = ncp_t_interval(4.0621277, 9)
    >>> round(float(lo) / 10**0.5, 4), round(float(hi) / 10**0.5, 4)
    (0.4146, 2.118)
    """
    check_confidence(confidence)
    if not np.isfinite(t) or df <= 0:
        return (np.nan, np.nan)
    alpha = 1 - confidence
    width = 10 + 2 * abs(t)

    def root(prob: float) -> float:
        # cdflib's direct inversion (fast); bracketing search if it fails in a far tail
        ncp = float(special.nctdtrinc(df, prob, t))
        if np.isfinite(ncp):
            return ncp

        def f(x: float) -> float:
            cdf = float(stats.nct.cdf(t, df, x))
            if np.isnan(cdf):  # far tails: the cdf is 1 below t and 0 above it
                cdf = 1.0 if x < t else 0.0
            return cdf - prob

        return float(optimize.brentq(f, t - width, t + width, xtol=1e-12, rtol=1e-14, maxiter=500))

    return (root(1 - alpha / 2), root(alpha / 2))


def rank_biserial_paired(
    pre: npt.ArrayLike, post: npt.ArrayLike, *, confidence: float = 0.95
) -> tuple[float, float, float]:
    """Matched-pairs rank-biserial correlation of post − pre with its CI.

    r = (R₊ − R₋) / (n(n+1)/2) over the non-zero differences (Kerby 2014), with the
    Fisher-z interval of ``effectsize::rank_biserial(paired = TRUE)`` (whose standard
    error, √((2m³ + 3m² + m)/6) / (m(m+1)/2), counts all m pairs including zeros).

    Returns
    -------
    tuple of float
        ``(r, ci_low, ci_high)``.

    Examples
    --------
    >>> rank_biserial_paired([1, 2, 3, 4], [2, 3, 5, 4.5])
    (1.0, 1.0, 1.0)
    """
    check_confidence(confidence)
    x = as_float_array(pre, name="pre")
    y = as_float_array(post, name="post")
    d = y - x
    d = d[~np.isnan(d)]
    n_all = d.size
    d = d[d != 0]
    n = d.size
    if n == 0:
        return (np.nan, np.nan, np.nan)
    ranks = stats.rankdata(np.abs(d))
    total = n * (n + 1) / 2
    r = float((ranks[d > 0].sum() - ranks[d < 0].sum()) / total)
    # effectsize 0.8.3 counts every pair (zero differences too) in the standard error
    m = n_all
    se = np.sqrt((2 * m**3 + 3 * m**2 + m) / 6) / (m * (m + 1) / 2)
    z = stats.norm.ppf(1 - (1 - confidence) / 2)
    with np.errstate(divide="ignore"):
        rf = np.arctanh(r)
    return (r, float(np.tanh(rf - z * se)), float(np.tanh(rf + z * se)))


def paired_effect_sizes(
    pre: npt.ArrayLike, post: npt.ArrayLike, *, confidence: float = 0.95
) -> pd.DataFrame:
    """Within-person standardised mean changes (post − pre), one row per formula.

    Incomplete pairs are dropped. Positive values mean the score rose.

    Parameters
    ----------
    pre, post
        Paired scores (same length; NaN marks a missing score).
    confidence
        Confidence level of the intervals.

    Returns
    -------
    pandas.DataFrame
        One row per effect size with columns ``effect_size``, ``formula``, ``value``,
        ``ci_low``, ``ci_high``, ``ci_method``, ``n_pairs``. Rows:

        - ``d_z`` = mean(diff) / SD(diff); CI by inverting the noncentral t (as
          ``effectsize::cohens_d(paired = TRUE)``).
        - ``g_z`` = d_z · J(n − 1); CI scaled by J (``effectsize::hedges_g(paired = TRUE)``).
        - ``d_av`` = mean(diff) / √((SD_pre² + SD_post²)/2) (pingouin's paired "cohen").
        - ``g_av`` = d_av · J(n − 1).
        - ``d_rm`` = d_z · √(2(1 − r)) (Morris & DeShon 2002; Lakens 2013).
        - ``rank_biserial``: matched-pairs rank-biserial r with Fisher-z CI.
        - ``r_prepost``: Pearson r(pre, post) with Fisher-z CI.

        The d_av, g_av and d_rm intervals rescale the noncentral-t interval of the paired
        t statistic to the other standardiser (approximate; ``ci_method`` says so).

    Examples
    --------
    R's ``sleep`` data (``effectsize::cohens_d(extra ~ group, paired = TRUE)`` gives
    −1.28 [−2.12, −0.41] for group 1 − group 2):

    >>> pre = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
    >>> post = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]
    >>> es = paired_effect_sizes(pre, post)
    >>> es.set_index("effect_size").loc[["d_z", "g_z", "d_av"], ["value", "ci_low", "ci_high"]].round(3)
    ... # doctest: +NORMALIZE_WHITESPACE
                 value  ci_low  ci_high
    effect_size
    d_z          1.285   0.415    2.118
    g_z          1.174   0.379    1.936
    d_av         0.832   0.269    1.372
    """
    check_confidence(confidence)
    x = as_float_array(pre, name="pre")
    y = as_float_array(post, name="post")
    if x.shape != y.shape:
        raise DataError(f"pre and post differ in length ({x.size} vs {y.size})")
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    n = x.size
    rows: list[tuple[str, str, float, float, float, str]] = []
    nan = float("nan")
    if n < 2:
        d_z = d_av = d_rm = r = nan
        ci = (nan, nan)
        j = nan
    else:
        d = y - x
        sd_d = d.std(ddof=1)
        sd_av = np.sqrt((x.var(ddof=1) + y.var(ddof=1)) / 2)
        with np.errstate(divide="ignore", invalid="ignore"):
            d_z = float(d.mean() / sd_d)
            d_av = float(d.mean() / sd_av)
            r = float(np.corrcoef(x, y)[0, 1]) if n > 2 else nan
        d_rm = d_z * np.sqrt(2 * (1 - r))
        t = d_z * np.sqrt(n)
        ncp = ncp_t_interval(t, n - 1, confidence=confidence) if np.isfinite(t) else (nan, nan)
        ci = (ncp[0] / np.sqrt(n), ncp[1] / np.sqrt(n))
        j = float(hedges_j(n - 1)) if n > 2 else nan
    ncp_label = "noncentral t (Steiger & Fouladi)"
    approx = "noncentral t of the paired t, rescaled (approximate)"
    rows.append(("d_z", "mean(diff) / sd(diff)", d_z, ci[0], ci[1], ncp_label))
    rows.append(("g_z", "d_z * J(n-1)", d_z * j, ci[0] * j, ci[1] * j, ncp_label))
    scale_av = d_av / d_z if d_z not in (0.0,) and np.isfinite(d_z) else nan
    rows.append(
        (
            "d_av",
            "mean(diff) / sqrt((sd_pre^2 + sd_post^2) / 2)",
            d_av,
            ci[0] * scale_av,
            ci[1] * scale_av,
            approx,
        )
    )
    rows.append(
        ("g_av", "d_av * J(n-1)", d_av * j, ci[0] * scale_av * j, ci[1] * scale_av * j, approx)
    )
    scale_rm = np.sqrt(2 * (1 - r)) if np.isfinite(r) else nan
    rows.append(
        ("d_rm", "d_z * sqrt(2 * (1 - r))", d_rm, ci[0] * scale_rm, ci[1] * scale_rm, approx)
    )
    rb = rank_biserial_paired(x, y, confidence=confidence) if n > 0 else (nan, nan, nan)
    rows.append(("rank_biserial", "(R+ - R-) / (n(n+1)/2), zeros dropped", *rb, "Fisher z"))
    if n > 3 and np.isfinite(r) and abs(r) < 1:
        z = stats.norm.ppf(1 - (1 - confidence) / 2)
        se = 1 / np.sqrt(n - 3)
        r_ci = (float(np.tanh(np.arctanh(r) - z * se)), float(np.tanh(np.arctanh(r) + z * se)))
    else:
        r_ci = (nan, nan)
    rows.append(("r_prepost", "Pearson r(pre, post)", r, *r_ci, "Fisher z"))
    out = pd.DataFrame(
        rows, columns=["effect_size", "formula", "value", "ci_low", "ci_high", "ci_method"]
    )
    out["n_pairs"] = n
    return out


def d_ppc2(
    pre_treated: npt.ArrayLike,
    post_treated: npt.ArrayLike,
    pre_control: npt.ArrayLike,
    post_control: npt.ArrayLike,
    *,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Morris (2008) controlled pre/post effect size d_ppc2.

    d_ppc2 = c_p · [(M_post,T − M_pre,T) − (M_post,C − M_pre,C)] / SD_pre,pooled with
    c_p = 1 − 3 / (4(n_T + n_C − 2) − 1). Its variance is Morris's (2008, eq. 25) with the
    pooled pre/post correlation ρ; the CI is normal-theory. Complete pairs only.

    Returns
    -------
    pandas.DataFrame
        One row: ``effect_size`` (``"d_ppc2"``), ``formula``, ``value``, ``se``, ``ci_low``,
        ``ci_high``, ``n_treated``, ``n_control``, ``r_prepost``.

    Examples
    --------
    >>> out = d_ppc2([10, 12, 11, 13, 9], [14, 15, 13, 17, 12], [10, 11, 12, 9, 13], [11, 11, 13, 10, 13])
    >>> round(float(out["value"].iloc[0]), 3)
    1.485
    """
    check_confidence(confidence)
    arrays = [
        as_float_array(a, name=nm)
        for a, nm in zip(
            (pre_treated, post_treated, pre_control, post_control),
            ("pre_treated", "post_treated", "pre_control", "post_control"),
            strict=True,
        )
    ]
    xt, yt, xc, yc = arrays
    kt = ~(np.isnan(xt) | np.isnan(yt))
    kc = ~(np.isnan(xc) | np.isnan(yc))
    xt, yt, xc, yc = xt[kt], yt[kt], xc[kc], yc[kc]
    nt, nc = xt.size, xc.size
    nan = float("nan")
    if nt < 2 or nc < 2:
        value = se = rho = nan
    else:
        sd_pool = np.sqrt(((nt - 1) * xt.var(ddof=1) + (nc - 1) * xc.var(ddof=1)) / (nt + nc - 2))
        cp = 1 - 3 / (4 * (nt + nc - 2) - 1)
        value = float(cp * ((yt.mean() - xt.mean()) - (yc.mean() - xc.mean())) / sd_pool)
        # pooled within-group pre/post correlation (weighted by df)
        r_t = np.corrcoef(xt, yt)[0, 1]
        r_c = np.corrcoef(xc, yc)[0, 1]
        rho = float(((nt - 1) * r_t + (nc - 1) * r_c) / (nt + nc - 2))
        k = (nt + nc) / (nt * nc)
        if nt + nc > 4:
            var = (
                2
                * cp**2
                * (1 - rho)
                * k
                * (nt + nc - 2)
                / (nt + nc - 4)
                * (1 + value**2 / (2 * (1 - rho) * k))
                - value**2
            )
            se = float(np.sqrt(var)) if var > 0 else nan
        else:
            se = nan
    z = stats.norm.ppf(1 - (1 - confidence) / 2)
    return pd.DataFrame(
        {
            "effect_size": ["d_ppc2"],
            "formula": ["c_p * (change_T - change_C) / sd_pre_pooled (Morris 2008)"],
            "value": [value],
            "se": [se],
            "ci_low": [value - z * se],
            "ci_high": [value + z * se],
            "n_treated": [nt],
            "n_control": [nc],
            "r_prepost": [rho],
        }
    )
