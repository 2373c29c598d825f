"""Can the data say "too small to matter"? Equivalence tests against ±MID and Bayes factors.

**TOST** (two one-sided tests; Schuirmann 1987, Lakens 2017): with a minimal important
difference (MID) Δ > 0, test H₀: μ ≤ −Δ with ``t.test(…, mu = -Δ, alternative =
"greater")`` and H₀: μ ≥ Δ with ``t.test(…, mu = Δ, alternative = "less")``. Both rejected
at α ⇔ the (1 − 2α) CI lies inside (−Δ, Δ): the change is smaller than the MID. Debian has
no ``TOSTER``; the R reference does the two t tests by hand (tests/reference). Paired
designs test the mean of the differences (df n − 1); unlinked designs use Welch's t.

The verdict combines the (1 − 2α) interval with ±MID:

- ``"smaller than MID"``: the interval lies inside ±MID (equivalence);
- ``"larger than MID"``: the interval lies entirely beyond +MID or −MID;
- ``"inconclusive"``: otherwise. "Consistent with no change" is never said: an interval
  of −11 to +4 around a MID of 10 does not support it.

**Bayes factors** (JZS prior, Rouder et al. 2009): BF₁₀ for a t statistic with a
Cauchy(0, r) prior on the standardised effect, r = √2/2 (``BayesFactor::ttestBF``'s
``rscale = "medium"``; pingouin's default 0.707 is rounded), computed by pingouin's
``bayesfactor_ttest``. Independent samples use Student's (pooled) t, as ``ttestBF`` does.

The MID comes from the study configuration (``analysis.mid``) or an instrument's published
value; this module takes it as a number in scale units.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pandas as pd
import pingouin as pg
from scipy import stats

from mentoreval.errors import DataError
from mentoreval.stats._common import as_float_array

__all__ = [
    "JZS_MEDIUM",
    "TOST_COLUMNS",
    "bayes_factor_t",
    "tost",
    "tost_independent",
    "tost_paired",
]

#: BayesFactor's ``rscale = "medium"``: √2/2.
JZS_MEDIUM = math.sqrt(2) / 2

#: Columns of the TOST tables.
TOST_COLUMNS = [
    "design", "mid", "alpha", "estimate", "se", "df", "t_lower", "p_lower", "t_upper",
    "p_upper", "p_tost", "ci_low", "ci_high", "ci_level", "p_two_sided", "equivalent",
    "verdict", "statement",
]  # fmt: skip


def _verdict(ci_low: float, ci_high: float, mid: float, what: str) -> tuple[str, str]:
    if not (np.isfinite(ci_low) and np.isfinite(ci_high)):
        return ("inconclusive", f"too little data to compare the {what} with the MID")
    if -mid < ci_low and ci_high < mid:
        return ("smaller than MID", f"a {what} smaller than the minimal important difference")
    if ci_low > mid or ci_high < -mid:
        return ("larger than MID", f"a {what} larger than the minimal important difference")
    return (
        "inconclusive",
        f"inconclusive: the interval includes {what}s as large as the minimal important difference",
    )


def tost(
    estimate: float,
    se: float,
    df: float,
    *,
    mid: float,
    alpha: float = 0.05,
    design: str = "",
    what: str = "change",
) -> pd.DataFrame:
    """TOST against ±``mid`` from an estimate, its standard error and t df.

    Parameters
    ----------
    estimate, se, df
        The difference (e.g. post − pre), its SE and the t distribution's df.
    mid
        Minimal important difference (> 0, scale units).
    alpha
        Level of each one-sided test; the interval has level 1 − 2·alpha.
    design
        Label for the ``design`` column.
    what
        The word used in ``statement`` ("change", "difference").

    Returns
    -------
    pandas.DataFrame
        One row with :data:`TOST_COLUMNS`: ``t_lower``/``p_lower`` test H₀: μ ≤ −MID,
        ``t_upper``/``p_upper`` test H₀: μ ≥ MID, ``p_tost`` = max of the two,
        ``ci_low``/``ci_high`` the (1 − 2α) CI (``ci_level``), ``p_two_sided`` the usual
        test of μ = 0, ``equivalent`` (``p_tost < alpha``), ``verdict`` and a
        plain-language ``statement``.

    Examples
    --------
    >>> tost(1.2, 2.0, 40, mid=5)[["p_lower", "p_upper", "ci_low", "ci_high", "verdict"]].round(4)
       p_lower  p_upper  ci_low  ci_high           verdict
    0   0.0018   0.0323 -2.1677   4.5677  smaller than MID
    """
    if not (np.isfinite(mid) and mid > 0):
        raise DataError(f"the minimal important difference must be a positive number, got {mid!r}")
    if not 0 < alpha < 0.5:
        raise DataError(f"alpha={alpha!r} must be between 0 and 0.5")
    with np.errstate(divide="ignore", invalid="ignore"):
        t_lower = (estimate + mid) / se
        t_upper = (estimate - mid) / se
        t0 = estimate / se
    p_lower = float(stats.t.sf(t_lower, df))
    p_upper = float(stats.t.cdf(t_upper, df))
    q = stats.t.ppf(1 - alpha, df)
    ci_low, ci_high = float(estimate - q * se), float(estimate + q * se)
    verdict, statement = _verdict(ci_low, ci_high, mid, what)
    p_tost = max(p_lower, p_upper)
    row = {
        "design": design, "mid": float(mid), "alpha": alpha, "estimate": float(estimate),
        "se": float(se), "df": float(df), "t_lower": float(t_lower), "p_lower": p_lower,
        "t_upper": float(t_upper), "p_upper": p_upper, "p_tost": p_tost, "ci_low": ci_low,
        "ci_high": ci_high, "ci_level": 1 - 2 * alpha,
        "p_two_sided": float(2 * stats.t.sf(abs(t0), df)), "equivalent": bool(p_tost < alpha),
        "verdict": verdict, "statement": statement,
    }  # fmt: skip
    return pd.DataFrame([row], columns=TOST_COLUMNS)


def tost_paired(
    pre: npt.ArrayLike, post: npt.ArrayLike, *, mid: float, alpha: float = 0.05
) -> pd.DataFrame:
    """TOST of the mean paired change post − pre against ±``mid`` (incomplete pairs dropped).

    R: ``t.test(post, pre, paired = TRUE, mu = -mid, alternative = "greater")`` and
    ``mu = mid, alternative = "less"``; the CI of ``conf.level = 1 - 2 * alpha``.

    Returns
    -------
    pandas.DataFrame
        One row, see :func:`tost` (``design`` is ``"paired"``).

    Examples
    --------
    R's ``sleep`` data: the one-sided p are 0.0002319 and 0.9892408, the 90% CI
    [0.867, 2.293] lies above +0.5.

    >>> pre = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
    >>> post = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]
    >>> out = tost_paired(pre, post, mid=0.5)
    >>> out[["p_lower", "p_upper", "ci_low", "ci_high", "verdict"]].round(4)
       p_lower  p_upper  ci_low  ci_high          verdict
    0   0.0002   0.9892   0.867    2.293  larger than MID
    """
    x = as_float_array(pre, name="pre")
    y = as_float_array(post, name="post")
    if x.shape != y.shape:
        raise DataError(f"pre and post differ in length ({x.size} vs {y.size})")
    d = (y - x)[~(np.isnan(x) | np.isnan(y))]
    if d.size < 2:
        return tost(np.nan, np.nan, np.nan, mid=mid, alpha=alpha, design="paired")
    se = float(d.std(ddof=1) / np.sqrt(d.size))
    return tost(float(d.mean()), se, d.size - 1, mid=mid, alpha=alpha, design="paired")


def tost_independent(
    pre: npt.ArrayLike, post: npt.ArrayLike, *, mid: float, alpha: float = 0.05
) -> pd.DataFrame:
    """Welch TOST of mean(post) − mean(pre) for two independent samples against ±``mid``.

    R: ``t.test(post, pre, mu = -mid, alternative = "greater")`` and ``mu = mid,
    alternative = "less"`` (``var.equal = FALSE``). Missing values are dropped.

    Returns
    -------
    pandas.DataFrame
        One row, see :func:`tost` (``design`` is ``"independent (Welch)"``).

    Examples
    --------
    R: ``t.test(post, pre, mu = 10, alternative = "less")`` gives p = 0.4184707.

    >>> out = tost_independent([40.0, 52, 48, 60, 36, 44], [48.0, 56, 47, 72, 44, 64, 58], mid=10)
    >>> out[["estimate", "df", "p_tost", "verdict"]].round(3)
       estimate      df  p_tost       verdict
    0     8.905  10.998   0.418  inconclusive
    """
    y = as_float_array(pre, name="pre")
    x = as_float_array(post, name="post")
    x, y = x[~np.isnan(x)], y[~np.isnan(y)]
    design = "independent (Welch)"
    if x.size < 2 or y.size < 2:
        return tost(np.nan, np.nan, np.nan, mid=mid, alpha=alpha, design=design)
    vx, vy = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
    df = (vx + vy) ** 2 / (vx**2 / (x.size - 1) + vy**2 / (y.size - 1))
    est = float(x.mean() - y.mean())
    return tost(est, float(np.sqrt(vx + vy)), float(df), mid=mid, alpha=alpha, design=design)


def bayes_factor_t(
    t: float, n_pre: int, n_post: int | None = None, *, paired: bool = False, r: float = JZS_MEDIUM
) -> float:
    """JZS Bayes factor BF₁₀ for a t statistic (two-sided), as ``BayesFactor::ttestBF``.

    Parameters
    ----------
    t
        Paired (one-sample) t, or Student's pooled two-sample t.
    n_pre, n_post
        Sample sizes; for a paired test pass the number of pairs as ``n_pre``.
    paired
        One-sample/paired Bayes factor.
    r
        Scale of the Cauchy prior on the standardised effect (default √2/2, ``"medium"``).

    Returns
    -------
    float
        BF₁₀ (> 1 favours a difference, < 1 no difference; 1/3 and 3 are the usual
        thresholds for "moderate" evidence).

    Examples
    --------
    R: ``ttestBF(x = post, y = pre, paired = TRUE)`` on ``sleep`` gives 17.25888.

    >>> round(bayes_factor_t(4.062127683, 10, paired=True), 5)
    17.25888
    """
    if not np.isfinite(t) or n_pre < 2 or (not paired and (n_post is None or n_post < 2)):
        return float("nan")
    ny = None if paired else n_post
    return float(pg.bayesfactor_ttest(float(t), int(n_pre), ny, paired=paired, r=r))
