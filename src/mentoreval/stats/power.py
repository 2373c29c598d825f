"""Planning: sample size and minimum detectable effect for paired and ANCOVA designs.

Paired and two-sample calculations invert the noncentral t exactly as R's
``power.t.test`` (two-sided, ``strict = FALSE``). The ANCOVA design uses the two-sample t
with the effect inflated by 1/√(1 − ρ²) and one df lost to the covariate (Borm, Fransen &
Lemmens 2007), where ρ is the pre–post correlation.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from scipy import optimize, stats

from mentoreval.errors import MentorevalError, Problem
from mentoreval.stats._common import check_choice

__all__ = ["Design", "minimum_detectable_effect", "plan_sample_size", "power_t"]

Design = Literal["paired", "two_sample", "ancova"]
_DESIGNS = ("paired", "two_sample", "ancova")


def _check(effect: float | None, alpha: float, r_prepost: float) -> None:
    bad = []
    if effect is not None and not effect > 0:
        bad.append(
            Problem(f"effect={effect!r}", key="effect", fix="give a positive standardised effect")
        )
    if not 0 < alpha < 1:
        bad.append(Problem(f"alpha={alpha!r}", key="alpha", fix="use e.g. 0.05"))
    if not -1 < r_prepost < 1:
        bad.append(
            Problem(f"r_prepost={r_prepost!r}", key="r_prepost", fix="use a correlation in (-1, 1)")
        )
    if bad:
        raise MentorevalError("invalid planning inputs", tuple(bad))


def power_t(
    n: float,
    effect: float,
    *,
    design: Design = "paired",
    alpha: float = 0.05,
    r_prepost: float = 0.0,
) -> float:
    """Power of a two-sided t test; ``n`` is pairs (paired) or per group (otherwise).

    As R's ``power.t.test(strict = FALSE)``, only rejections in the direction of the
    effect count.

    ``effect`` is d_z for ``"paired"`` and the between-group d (in SD units of the
    outcome) for ``"two_sample"`` and ``"ancova"``.

    Examples
    --------
    R: ``power.t.test(n = 20, delta = 0.5, type = "paired")$power``

    >>> round(power_t(20, 0.5, design="paired"), 6)
    0.564483
    """
    check_choice(design, name="design", choices=_DESIGNS)
    _check(effect, alpha, r_prepost)
    if design == "paired":
        df, ncp = n - 1, np.sqrt(n) * effect
    elif design == "two_sample":
        df, ncp = 2 * n - 2, np.sqrt(n / 2) * effect
    else:
        df, ncp = 2 * n - 3, np.sqrt(n / 2) * effect / np.sqrt(1 - r_prepost**2)
    q = stats.t.ppf(1 - alpha / 2, df)
    # R's default strict = FALSE ignores rejections in the wrong tail
    power = float(stats.nct.sf(q, df, ncp))
    if not np.isfinite(power):  # far outside scipy's range: the power has saturated
        power = 1.0 if ncp > q else 0.0
    return power


def plan_sample_size(
    effect: float,
    *,
    design: Design = "paired",
    power: float = 0.8,
    alpha: float = 0.05,
    r_prepost: float = 0.5,
) -> pd.DataFrame:
    """Sample size for a target power.

    Parameters
    ----------
    effect
        d_z for ``"paired"``; the between-group standardised difference for
        ``"two_sample"`` and ``"ancova"``.
    design
        ``"paired"`` (single-arm pre/post), ``"two_sample"`` (post only) or ``"ancova"``
        (post adjusted for pre).
    power, alpha
        Target power and two-sided significance level.
    r_prepost
        Pre–post correlation (used by ``"ancova"``).

    Returns
    -------
    pandas.DataFrame
        One row: ``design``, ``effect``, ``power``, ``alpha``, ``r_prepost``, ``n`` (exact
        solution, pairs or per group), ``n_required`` (rounded up), ``n_total``, ``method``.

    Examples
    --------
    R: ``power.t.test(delta = 0.5, power = 0.8, type = "paired")$n`` = 33.3672

    >>> plan_sample_size(0.5, design="paired")[["n", "n_required"]].round(4)
             n  n_required
    0  33.3672          34

    A pre–post correlation near 1 (degenerate data) needs the smallest test there is:

    >>> int(plan_sample_size(0.3, design="ancova", r_prepost=0.999999)["n_required"].iloc[0])
    2
    """
    check_choice(design, name="design", choices=_DESIGNS)
    _check(effect, alpha, r_prepost)

    def f(n: float) -> float:
        return power_t(n, effect, design=design, alpha=alpha, r_prepost=r_prepost) - power

    low, high = 2.0 + 1e-9, 1e5
    at_low, at_high = f(low), f(high)
    if not np.isfinite(at_high) or at_high < 0:
        problem = Problem(
            f"no sample size up to {high:,.0f} reaches {power:.0%} power for effect {effect:g}",
            key="effect",
            fix="plan for a larger effect or a lower power",
        )
        raise MentorevalError(str(problem), (problem,))
    # the smallest t test (2 per group or pairs) may already have the power (r near 1)
    n = low if at_low >= 0 else float(optimize.brentq(f, low, high, xtol=1e-10))
    n_req = int(np.ceil(n - 1e-9))
    return pd.DataFrame(
        {
            "design": [design], "effect": [effect], "power": [power], "alpha": [alpha],
            "r_prepost": [r_prepost if design == "ancova" else np.nan], "n": [n],
            "n_required": [n_req], "n_total": [n_req if design == "paired" else 2 * n_req],
            "method": ["noncentral t (power.t.test)" if design != "ancova"
                       else "noncentral t, d / sqrt(1 - r^2), df = 2n - 3 (Borm et al. 2007)"],
        }
    )  # fmt: skip


def minimum_detectable_effect(
    n: float,
    *,
    design: Design = "paired",
    power: float = 0.8,
    alpha: float = 0.05,
    r_prepost: float = 0.5,
) -> float:
    """Smallest standardised effect detectable with the given ``n`` and power.

    ``n`` is pairs for ``"paired"`` and per group otherwise.

    Examples
    --------
    R: ``power.t.test(n = 30, power = 0.8, type = "paired")$delta``

    >>> round(minimum_detectable_effect(30, design="paired"), 4)
    0.5292
    """
    check_choice(design, name="design", choices=_DESIGNS)
    _check(None, alpha, r_prepost)
    if n <= 2:
        return float("nan")

    def f(d: float) -> float:
        return power_t(n, d, design=design, alpha=alpha, r_prepost=r_prepost) - power

    return float(optimize.brentq(f, 1e-8, 50.0, xtol=1e-12))
