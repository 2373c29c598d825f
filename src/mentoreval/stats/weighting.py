"""Self-selection: propensity-score (inverse-probability) weighting as a sensitivity analysis.

The propensity of being mentored is modelled by logistic regression on baseline covariates
(including the baseline score). Weights target the ATE (1/ps, 1/(1 − ps), stabilised by
the group shares) or the ATT (1 for the mentored, ps/(1 − ps) for comparisons). Balance is
reported before and after weighting (target |SMD| < 0.1). The weighted ANCOVA uses
heteroskedasticity-robust (HC0) standard errors, which ignore the estimation of the
propensity score (usually conservative for the ATE; Lunceford & Davidian 2004).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import patsy
from scipy import stats

# the model classes, not statsmodels.api (0.4 s more of imports: time series, graphics)
from statsmodels.discrete.discrete_model import Logit
from statsmodels.regression.linear_model import WLS

from mentoreval.errors import DataError
from mentoreval.stats._common import check_choice, check_columns, check_confidence
from mentoreval.stats._design import ModelFrame
from mentoreval.stats.controlled import compare_balance, group_levels

__all__ = ["Estimand", "Weighting", "fit_ipw"]

Estimand = Literal["ate", "att"]


@dataclass(frozen=True)
class Weighting:
    """Inverse-probability weighting result.

    Attributes
    ----------
    weights
        One row per participant used: ``row`` (index in the input), ``propensity``,
        ``weight``.
    balance
        ``variable``, ``level``, ``smd_before``, ``smd_after``, ``balanced_after``.
    effect
        One row: ``contrast``, ``estimate``, ``se``, ``z``, ``p_value``, ``ci_low``,
        ``ci_high``, ``estimand``, ``ess_treated``, ``ess_control``, ``max_abs_smd_after``,
        ``converged``, ``method``.
    """

    weights: pd.DataFrame
    balance: pd.DataFrame
    effect: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """The weighted effect (one row)."""
        return self.effect.copy()

    def _repr_html_(self) -> str:
        return "".join(t.to_html(index=False) for t in (self.effect, self.balance))


def fit_ipw(
    data: pd.DataFrame,
    *,
    outcome: str = "post",
    baseline: str = "pre",
    group: str = "group",
    treated: str = "mentored",
    covariates: Sequence[str] = (),
    estimand: Estimand = "ate",
    confidence: float = 0.95,
) -> Weighting:
    """Propensity-score weighting with balance diagnostics and a weighted ANCOVA.

    Parameters
    ----------
    data
        One row per participant for one scale; complete cases on outcome, baseline,
        group and covariates are used.
    outcome, baseline, group, treated
        Column names and the treated level.
    covariates
        Baseline covariates of the propensity model (the baseline score is always in).
    estimand
        ``"ate"`` (stabilised weights) or ``"att"``.
    confidence
        CI level.

    Returns
    -------
    Weighting

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> year = rng.integers(1, 6, 200)
    >>> mentored = rng.random(200) < 1 / (1 + np.exp(-(year - 3)))
    >>> pre = 50 + 2 * year + rng.normal(0, 8, 200)
    >>> d = pd.DataFrame({"pre": pre, "year": year, "post": 5 + 0.9 * pre + 3 * mentored
    ...                   + rng.normal(0, 5, 200),
    ...                   "group": np.where(mentored, "mentored", "comparison")})
    >>> w = fit_ipw(d, covariates=["year"])
    >>> w.balance[["variable", "smd_before", "smd_after"]].round(2)
      variable  smd_before  smd_after
    0      pre        0.33      -0.04
    1     year        1.40       0.04
    """
    check_choice(estimand, name="estimand", choices=("ate", "att"))
    check_confidence(confidence)
    cols = [outcome, baseline, group, *covariates]
    check_columns(data, cols, what="data")
    treated, control = group_levels(data[group], treated=treated, what=group)
    d = data[cols].dropna().copy()
    z = (d[group].astype(str) == treated).to_numpy(dtype=float)
    if z.sum() < 2 or (1 - z).sum() < 2:
        raise DataError("each group needs at least 2 complete cases for propensity weighting")
    ps_vars = [baseline, *covariates]
    mf = ModelFrame(d)  # internal names only in the formulas (mentoreval.stats._design)
    x = patsy.dmatrix(mf.terms(ps_vars), mf.frame, return_type="dataframe")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = Logit(z, x).fit(disp=0, maxiter=200)
    converged = bool(res.mle_retvals.get("converged", True)) and not caught
    ps = np.clip(res.predict(x).to_numpy(), 1e-6, 1 - 1e-6)
    if estimand == "ate":
        share = z.mean()
        w = np.where(z == 1, share / ps, (1 - share) / (1 - ps))
    else:
        w = np.where(z == 1, 1.0, ps / (1 - ps))
    before = compare_balance(d, group=group, treated=treated, covariates=ps_vars)
    after = compare_balance(d, group=group, treated=treated, covariates=ps_vars, weights=w)
    balance = before[["variable", "level"]].copy()
    balance["smd_before"] = before["smd"].to_numpy()
    balance["smd_after"] = after["smd"].to_numpy()
    balance["balanced_after"] = balance["smd_after"].abs() < 0.1
    d[group] = d[group].astype(str)
    g_term = mf.factor(group, levels=[control, treated])
    y, xo = patsy.dmatrices(
        f"{mf.numeric(outcome)} ~ {mf.numeric(baseline)} + {g_term}",
        mf.frame,
        return_type="dataframe",
    )
    fit = WLS(y, xo, weights=w).fit(cov_type="HC0")
    gcol = mf.dummy(group, treated)
    est, se = float(fit.params[gcol]), float(fit.bse[gcol])
    q = stats.norm.ppf(1 - (1 - confidence) / 2)

    def ess(v: np.ndarray) -> float:
        return float(v.sum() ** 2 / np.sum(v**2))

    effect = pd.DataFrame(
        {
            "contrast": [f"{treated} - {control}"], "estimate": [est], "se": [se], "z": [est / se],
            "p_value": [float(2 * stats.norm.sf(abs(est / se)))], "ci_low": [est - q * se],
            "ci_high": [est + q * se], "estimand": [estimand], "ess_treated": [ess(w[z == 1])],
            "ess_control": [ess(w[z == 0])], "max_abs_smd_after": [float(balance["smd_after"].abs().max())],
            "converged": [converged],
            "method": ["logistic propensity score; weighted ANCOVA (post ~ pre + group), HC0 SE"],
        }
    )  # fmt: skip
    weights = pd.DataFrame({"row": d.index, "propensity": ps, "weight": w})
    return Weighting(weights=weights, balance=balance, effect=effect)
