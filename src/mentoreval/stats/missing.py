"""Missing data and attrition: completers vs non-completers, and multiple imputation.

Attrition is described (rates by group, baseline SMDs, a logistic model of completion)
and flagged when it differs between groups by 10 percentage points or more. As a
sensitivity analysis for the ANCOVA, missing follow-up scores are multiply imputed (m ≥ 20)
by Bayesian linear regression on baseline, group and covariates (``mice``'s ``"norm"``
method; Rubin 1987, p. 167) and the group effects pooled with Rubin's rules and the
Barnard–Rubin (1999) degrees of freedom.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import patsy
from scipy import stats

# the model classes, not statsmodels.api (0.4 s more of imports: time series, graphics)
from statsmodels.discrete.discrete_model import Logit

from mentoreval.errors import DataError, MentorevalError, Problem
from mentoreval.stats._common import check_columns, check_confidence
from mentoreval.stats._design import ModelFrame
from mentoreval.stats.controlled import compare_balance, group_levels

__all__ = ["DIFFERENTIAL_ATTRITION", "Attrition", "compare_attrition", "impute_ancova"]

#: Difference in attrition rates between groups that triggers the warning (10 points).
DIFFERENTIAL_ATTRITION = 0.10


@dataclass(frozen=True)
class Attrition:
    """Completers vs non-completers.

    Attributes
    ----------
    rates
        ``group`` (``"all"`` first), ``n_baseline``, ``n_completed``, ``attrition``.
    balance
        :func:`~mentoreval.stats.compare_balance` of completers ("treated") vs
        non-completers at baseline.
    model
        Logistic regression of completion: ``term``, ``estimate`` (log-odds), ``se``,
        ``z``, ``p_value``, ``odds_ratio``, ``converged``.
    differential
        One row: ``difference`` (treated − control attrition), ``threshold``, ``applies``,
        ``detail``.
    """

    rates: pd.DataFrame
    balance: pd.DataFrame
    model: pd.DataFrame
    differential: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """The attrition rates."""
        return self.rates.copy()

    def _repr_html_(self) -> str:
        return "".join(
            t.to_html(index=False)
            for t in (self.rates, self.differential, self.balance, self.model)
        )


def _logit_table(y: np.ndarray, x: pd.DataFrame, mf: ModelFrame | None = None) -> pd.DataFrame:
    cols = ["term", "estimate", "se", "z", "p_value", "odds_ratio", "converged"]
    if y.min() == y.max():
        return pd.DataFrame(columns=cols)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = Logit(y, x).fit(disp=0, maxiter=100)
        except np.linalg.LinAlgError:
            return pd.DataFrame(columns=cols)
    converged = bool(res.mle_retvals.get("converged", True)) and not caught
    return pd.DataFrame(
        {"term": [mf.label(c) if mf is not None else str(c) for c in x.columns], "estimate": res.params.to_numpy(), "se": res.bse.to_numpy(),
         "z": res.tvalues.to_numpy(), "p_value": res.pvalues.to_numpy(),
         "odds_ratio": np.exp(res.params.to_numpy()), "converged": converged}
    )  # fmt: skip


def compare_attrition(
    data: pd.DataFrame,
    *,
    baseline: str = "pre",
    outcome: str = "post",
    group: str | None = "group",
    treated: str = "mentored",
    covariates: Sequence[str] = (),
) -> Attrition:
    """Compare completers with non-completers at baseline.

    Parameters
    ----------
    data
        One row per participant for one scale (from :func:`to_prepost` + participants).
        Participants without a baseline score are left out (they were never at risk of
        dropping out of this comparison).
    baseline, outcome
        Baseline and follow-up score columns; completion = follow-up observed.
    group, treated
        Group column (or ``None`` for single-arm) and its treated level.
    covariates
        Baseline covariates for the balance table and the logistic model.

    Returns
    -------
    Attrition

    Examples
    --------
    >>> d = pd.DataFrame({"pre": [40.0, 50, 60, 45, 55, 65, 52, 48],
    ...                   "post": [48.0, None, 66, 46, None, None, 58, 47],
    ...                   "group": ["mentored"] * 4 + ["comparison"] * 4})
    >>> a = compare_attrition(d)
    >>> a.rates
            group  n_baseline  n_completed  attrition
    0         all           8            5      0.375
    1  comparison           4            2      0.500
    2    mentored           4            3      0.250
    >>> bool(a.differential["applies"].iloc[0])
    True
    """
    cols = [baseline, outcome, *([group] if group else []), *covariates]
    check_columns(data, cols, what="data")
    d = data.loc[data[baseline].notna(), cols].copy()
    d["completed"] = d[outcome].notna()
    rows = [("all", len(d), int(d["completed"].sum()))]
    diff = np.nan
    if group:
        treated, control = group_levels(d[group], treated=treated, what=group)
        for lv in (control, treated):
            sub = d[d[group].astype(str) == lv]
            rows.append((lv, len(sub), int(sub["completed"].sum())))
    rates = pd.DataFrame(rows, columns=["group", "n_baseline", "n_completed"])
    rates["attrition"] = 1 - rates["n_completed"] / rates["n_baseline"].where(
        rates["n_baseline"] > 0
    )
    if group:
        diff = float(rates["attrition"].iloc[2] - rates["attrition"].iloc[1])
        applies = bool(abs(diff) >= DIFFERENTIAL_ATTRITION)
        detail = (
            f"Attrition was {rates['attrition'].iloc[2]:.0%} among {treated} and "
            f"{rates['attrition'].iloc[1]:.0%} among {control} ({abs(diff) * 100:.0f} percentage points apart)"
            + ("; follow-up results may be biased." if applies else ".")
        )
    else:
        applies, detail = False, "Single group: differential attrition cannot be assessed."
    differential = pd.DataFrame(
        {
            "difference": [diff],
            "threshold": [DIFFERENTIAL_ATTRITION],
            "applies": [applies],
            "detail": [detail],
        }
    )
    status = pd.Series(np.where(d["completed"], "completer", "non-completer"), index=d.index)
    bal_data = d.assign(status=status)
    vars_ = [baseline, *([group] if group else []), *covariates]
    if status.nunique() == 2:
        balance = compare_balance(bal_data, group="status", treated="completer", covariates=vars_)
        sub = d[[*vars_, "completed"]].dropna()
        mf = ModelFrame(sub)  # internal names only in the formula (mentoreval.stats._design)
        x = patsy.dmatrix(mf.terms(vars_), mf.frame, return_type="dataframe")
        model = _logit_table(sub["completed"].to_numpy(dtype=float), x, mf)
    else:
        balance = pd.DataFrame()  # everyone completed (or no one did): nothing to compare
        model = _logit_table(np.ones(1), pd.DataFrame())
    return Attrition(rates=rates, balance=balance, model=model, differential=differential)


def impute_ancova(
    data: pd.DataFrame,
    *,
    outcome: str = "post",
    baseline: str = "pre",
    group: str = "group",
    treated: str = "mentored",
    covariates: Sequence[str] = (),
    fixed_effects: Sequence[str] = (),
    m: int = 20,
    seed: int = 0,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """ANCOVA group effect after multiple imputation of missing follow-up scores.

    Each of ``m`` imputations draws (β, σ²) from the posterior of the regression of the
    outcome on baseline, group, covariates and fixed effects among completers, then draws
    the missing outcomes (``mice``'s ``"norm"``). The ANCOVA group coefficient (equal to the
    ``emmeans`` difference in a model without interactions) and its variance are pooled by
    Rubin's rules. Rows missing the baseline or a covariate are excluded (stated in
    ``n``).

    Returns
    -------
    pandas.DataFrame
        One row: ``contrast``, ``estimate``, ``se``, ``df`` (Barnard–Rubin), ``t``,
        ``p_value``, ``ci_low``, ``ci_high``, ``m``, ``n``, ``n_imputed``, ``riv``
        (relative increase in variance), ``fmi`` (fraction of missing information),
        ``method``.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> pre = rng.normal(50, 10, 60)
    >>> d = pd.DataFrame({"pre": pre, "group": np.repeat(["mentored", "comparison"], 30),
    ...                   "post": 10 + 0.8 * pre + rng.normal(0, 5, 60)})
    >>> d.loc[::5, "post"] = np.nan
    >>> out = impute_ancova(d, m=20, seed=2)
    >>> out[["m", "n", "n_imputed"]]
        m   n  n_imputed
    0  20  60         12
    """
    check_confidence(confidence)
    if m < 2:
        raise MentorevalError(
            f"m={m} imputations is too few", (Problem("m < 2", key="m", fix="use m >= 20"),)
        )
    cols = [outcome, baseline, group, *covariates, *fixed_effects]
    check_columns(data, cols, what="data")
    treated, control = group_levels(data[group], treated=treated, what=group)
    d = data[cols].dropna(subset=[baseline, group, *covariates, *fixed_effects]).copy()
    d[group] = pd.Categorical(d[group].astype(str), categories=[control, treated])
    mf = ModelFrame(d)  # internal names only in the formula (mentoreval.stats._design)
    mf.factor(group, levels=[control, treated])
    rhs = mf.terms([baseline, group, *covariates, *fixed_effects], factors=[group, *fixed_effects])
    x = patsy.dmatrix(rhs, mf.frame, return_type="dataframe", NA_action="raise")
    xm = x.to_numpy()
    y = d[outcome].to_numpy(dtype=float)
    obs = ~np.isnan(y)
    n, p = xm.shape
    if obs.sum() <= p + 1:
        raise DataError(f"only {int(obs.sum())} completers for an imputation model with {p} terms")
    gcol = x.columns.get_loc(mf.dummy(group, treated))
    rng = np.random.default_rng(seed)
    xo, yo = xm[obs], y[obs]
    xtx_inv = np.linalg.inv(xo.T @ xo)
    beta_hat = xtx_inv @ xo.T @ yo
    rss = float(np.sum((yo - xo @ beta_hat) ** 2))
    chol = np.linalg.cholesky(xtx_inv)
    xtx_full_inv = np.linalg.inv(xm.T @ xm)
    est = np.empty(m)
    var = np.empty(m)
    n_mis = int((~obs).sum())
    for i in range(m):
        sigma2 = rss / rng.chisquare(obs.sum() - p)
        beta = beta_hat + np.sqrt(sigma2) * chol @ rng.standard_normal(p)
        yi = y.copy()
        yi[~obs] = xm[~obs] @ beta + np.sqrt(sigma2) * rng.standard_normal(n_mis)
        b = xtx_full_inv @ xm.T @ yi
        s2 = float(np.sum((yi - xm @ b) ** 2)) / (n - p)
        est[i] = b[gcol]
        var[i] = s2 * xtx_full_inv[gcol, gcol]
    qbar = float(est.mean())
    ubar = float(var.mean())
    b_var = float(est.var(ddof=1))
    total = ubar + (1 + 1 / m) * b_var
    riv = (1 + 1 / m) * b_var / ubar
    lam = (1 + 1 / m) * b_var / total
    df_com = n - p
    df_old = (m - 1) / lam**2 if lam > 0 else np.inf
    df_obs = (df_com + 1) / (df_com + 3) * df_com * (1 - lam)
    df = 1 / (1 / df_old + 1 / df_obs) if np.isfinite(df_old) else df_obs
    fmi = (riv + 2 / (df + 3)) / (1 + riv)
    se = np.sqrt(total)
    t = qbar / se
    q = stats.t.ppf(1 - (1 - confidence) / 2, df)
    return pd.DataFrame(
        {
            "contrast": [f"{treated} - {control}"], "estimate": [qbar], "se": [se], "df": [df], "t": [t],
            "p_value": [float(2 * stats.t.sf(abs(t), df))], "ci_low": [qbar - q * se], "ci_high": [qbar + q * se],
            "m": [m], "n": [n], "n_imputed": [n_mis], "riv": [riv], "fmi": [fmi],
            "method": ["Bayesian linear regression imputation (mice 'norm'), Rubin's rules, Barnard-Rubin df"],
        }
    )  # fmt: skip
