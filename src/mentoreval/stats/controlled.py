"""Controlled comparisons (mentored vs comparison): baseline balance and ANCOVA.

ANCOVA ``post ~ pre + group (+ covariates + site/cohort fixed effects)`` is fitted by OLS
(statsmodels) and reported as R does it: Type II tables as ``car::Anova`` (statsmodels'
``anova_lm`` default is Type I), Type III with sum-to-zero coding as ``car::Anova(type = 3)``
under ``contr.sum``, and adjusted means, their difference and CI as ``emmeans`` (numeric
covariates at their mean, equal weights over the levels of factors).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import patsy
from scipy import stats

# the model classes, not statsmodels.api (0.4 s more of imports: time series, graphics)
from statsmodels.regression.linear_model import OLS

from mentoreval.errors import DataError, Problem
from mentoreval.stats._common import check_choice, check_columns, check_confidence
from mentoreval.stats._design import Coding, ModelFrame, is_categorical, rss

__all__ = ["Ancova", "compare_balance", "fit_ancova", "group_levels"]

AnovaType = Literal[2, 3]


def group_levels(values: pd.Series, *, treated: str, what: str = "group") -> tuple[str, str]:
    """Return ``(treated, control)`` for a two-level group column, or raise DataError."""
    levels = sorted(pd.Series(values).dropna().astype(str).unique())
    if treated not in levels or len(levels) != 2:
        raise DataError(
            f"{what} must have exactly two levels including {treated!r}; found {levels}",
            (Problem(f"levels {levels}", column=what, fix="pass treated= the mentored level"),),
        )
    control = next(lv for lv in levels if lv != treated)
    return treated, control


def compare_balance(
    data: pd.DataFrame,
    *,
    group: str = "group",
    treated: str = "mentored",
    covariates: Sequence[str] = (),
    weights: np.ndarray | pd.Series | None = None,
) -> pd.DataFrame:
    """Baseline balance: standardised mean differences between two groups.

    SMD = (mean_T − mean_C) / √((s²_T + s²_C) / 2) for numeric variables and
    (p_T − p_C) / √((p_T(1 − p_T) + p_C(1 − p_C)) / 2) for each level of a categorical
    one (Austin 2009). With ``weights`` the means and proportions are weighted while the
    denominator keeps the unweighted SDs (``cobalt``'s convention), so SMDs before and after
    weighting are comparable. |SMD| < 0.1 is the usual balance target.

    Parameters
    ----------
    data
        One row per participant.
    group, treated
        Group column and its treated level.
    covariates
        Columns to compare (numeric, or categorical: text, category, bool).
    weights
        Optional per-row weights (e.g. inverse-probability weights).

    Returns
    -------
    pandas.DataFrame
        One row per numeric variable or categorical level: ``variable``, ``level`` (NA for
        numeric), ``type``, ``n_treated``, ``n_control``, ``mean_treated``,
        ``mean_control`` (proportions for levels), ``sd_treated``, ``sd_control``,
        ``smd``, ``balanced`` (|smd| < 0.1).

    Examples
    --------
    >>> d = pd.DataFrame({"group": ["mentored"] * 3 + ["comparison"] * 3,
    ...                   "pre": [40.0, 50, 60, 45, 55, 65], "site": list("aabbba")})
    >>> compare_balance(d, covariates=["pre", "site"])[["variable", "level", "smd"]].round(3)
    ... # doctest: +NORMALIZE_WHITESPACE
      variable level    smd
    0      pre   NaN -0.500
    1     site     a  0.707
    2     site     b -0.707
    """
    check_columns(data, [group, *covariates], what="data")
    treated, _ = group_levels(data[group], treated=treated, what=group)
    w = np.ones(len(data)) if weights is None else np.asarray(weights, dtype=float)
    is_t = (data[group].astype(str) == treated).to_numpy()
    is_c = data[group].notna().to_numpy() & ~is_t
    rows = []

    def wmean(v: np.ndarray, m: np.ndarray) -> float:
        ok = m & ~np.isnan(v)
        return float(np.sum(w[ok] * v[ok]) / np.sum(w[ok])) if ok.any() else np.nan

    for var in covariates:
        s = data[var]
        if is_categorical(s):
            for level in sorted(s.dropna().astype(str).unique()):
                v = np.where(s.isna(), np.nan, (s.astype(str) == level).astype(float))
                pt, pc = wmean(v, is_t), wmean(v, is_c)
                ut, uc = _safe_mean(v[is_t]), _safe_mean(v[is_c])
                den = np.sqrt((ut * (1 - ut) + uc * (1 - uc)) / 2)
                rows.append((var, level, "categorical", pt, pc, np.nan, np.nan, (pt - pc) / den if den > 0 else np.nan,
                             int((~np.isnan(v) & is_t).sum()), int((~np.isnan(v) & is_c).sum())))  # fmt: skip
        else:
            v = s.to_numpy(dtype=float)
            st, sc = _safe_sd(v[is_t]), _safe_sd(v[is_c])
            mt, mc = wmean(v, is_t), wmean(v, is_c)
            den = np.sqrt((st**2 + sc**2) / 2)
            rows.append((var, pd.NA, "numeric", mt, mc, st, sc, (mt - mc) / den if den > 0 else np.nan,
                         int((~np.isnan(v) & is_t).sum()), int((~np.isnan(v) & is_c).sum())))  # fmt: skip
    out = pd.DataFrame(
        rows,
        columns=["variable", "level", "type", "mean_treated", "mean_control", "sd_treated",
                 "sd_control", "smd", "n_treated", "n_control"],
    )  # fmt: skip
    out["balanced"] = out["smd"].abs() < 0.1
    cols = ["variable", "level", "type", "n_treated", "n_control", "mean_treated", "mean_control",
            "sd_treated", "sd_control", "smd", "balanced"]  # fmt: skip
    return out[cols]


def _safe_mean(v: np.ndarray) -> float:
    """Mean of the non-missing values; NaN (without a warning) when there are none."""
    v = v[~np.isnan(v)]
    return float(v.mean()) if v.size else np.nan


def _safe_sd(v: np.ndarray) -> float:
    """Sample SD of the non-missing values; NaN (without a warning) below two values."""
    v = v[~np.isnan(v)]
    return float(v.std(ddof=1)) if v.size > 1 else np.nan


@dataclass(frozen=True)
class Ancova:
    """An ANCOVA fit reported as R reports it.

    Attributes
    ----------
    anova
        ``term``, ``sum_sq``, ``df``, ``f``, ``p_value``, ``type`` (``"II"``/``"III"``);
        the last row is ``Residuals``.
    coefficients
        ``term``, ``estimate``, ``se``, ``t``, ``df``, ``p_value``, ``ci_low``, ``ci_high``.
    adjusted_means
        ``group``, ``n`` (complete cases in the model), ``emmean``, ``se``, ``df``,
        ``ci_low``, ``ci_high`` (as ``emmeans``).
    contrast
        One row: ``contrast`` (``"treated - control"``), ``estimate``, ``se``, ``df``,
        ``t``, ``p_value``, ``ci_low``, ``ci_high``, ``n``, ``formula``.
    """

    anova: pd.DataFrame
    coefficients: pd.DataFrame
    adjusted_means: pd.DataFrame
    contrast: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """The adjusted group difference (one row)."""
        return self.contrast.copy()

    def _repr_html_(self) -> str:
        return "".join(
            t.to_html(index=False) for t in (self.contrast, self.adjusted_means, self.anova)
        )


def _anova_table(
    y: np.ndarray, x: pd.DataFrame, *, drop_intercept: bool, label: str, mf: ModelFrame
) -> pd.DataFrame:
    """Sums of squares for each term given all the others (marginal, "drop one term").

    For a model without interactions this is Type II and, under sum-to-zero coding, also
    Type III (which adds the intercept row), as ``car::Anova`` reports them.
    """
    xm = x.to_numpy()
    n, p = xm.shape
    rss_full = rss(y, xm)
    df_res = n - np.linalg.matrix_rank(xm)
    rows = []
    for name, sl in x.design_info.term_slices.items():
        if name.name() == "Intercept" and not drop_intercept:
            continue
        keep = np.ones(p, dtype=bool)
        keep[sl] = False
        ss = rss(y, xm[:, keep]) - rss_full
        df = sl.stop - sl.start
        # no residual df (as many parameters as students) or an empty term: no F test
        f = (ss / df) / (rss_full / df_res) if min(df, df_res) > 0 and rss_full > 0 else np.nan
        label_t = "(Intercept)" if name.name() == "Intercept" else mf.label(name.name())
        rows.append((label_t, ss, float(df), f, float(stats.f.sf(f, df, df_res))))
    rows.append(("Residuals", rss_full, float(df_res), np.nan, np.nan))
    out = pd.DataFrame(rows, columns=["term", "sum_sq", "df", "f", "p_value"])
    out["type"] = label
    return out


def fit_ancova(
    data: pd.DataFrame,
    *,
    outcome: str = "post",
    baseline: str = "pre",
    group: str = "group",
    treated: str = "mentored",
    covariates: Sequence[str] = (),
    fixed_effects: Sequence[str] = (),
    anova_type: AnovaType = 2,
    confidence: float = 0.95,
) -> Ancova:
    """ANCOVA of the follow-up score on baseline and group, with adjusted means.

    Model: ``outcome ~ baseline + group + covariates + fixed_effects`` by OLS on complete
    cases (listwise). Non-numeric covariates and every ``fixed_effects`` column (site,
    cohort) enter as factors.

    Parameters
    ----------
    data
        One row per participant (e.g. one instrument × scale of :func:`to_prepost`
        joined to the participant table).
    outcome, baseline, group
        Column names.
    treated
        The treated level of ``group``; the other level is the control.
    covariates
        Further adjustment variables.
    fixed_effects
        Clustering variables with few levels (site, cohort), as fixed effects.
    anova_type
        2 (``car::Anova`` default) or 3 (sum-to-zero coding, as ``car::Anova(type = 3)``
        with ``options(contrasts = c("contr.sum", "contr.poly"))``).
    confidence
        Level of the CIs.

    Returns
    -------
    Ancova

    Examples
    --------
    >>> d = pd.DataFrame({"pre": [40.0, 50, 60, 45, 55, 65, 52, 48],
    ...                   "post": [48.0, 55, 66, 46, 54, 66, 58, 47],
    ...                   "group": ["mentored", "mentored", "mentored", "comparison",
    ...                             "comparison", "comparison", "mentored", "comparison"]})
    >>> fit = fit_ancova(d)
    >>> fit.contrast[["contrast", "estimate", "df", "p_value"]].round(3)
                    contrast  estimate   df  p_value
    0  mentored - comparison     6.166  5.0    0.001
    """
    check_choice(str(anova_type), name="anova_type", choices=("2", "3"))
    check_confidence(confidence)
    design = _ancova_design(
        data,
        outcome=outcome,
        baseline=baseline,
        group=group,
        treated=treated,
        covariates=covariates,
        fixed_effects=fixed_effects,
    )
    y, x = design.matrices("Treatment")
    fit = OLS(y, x).fit()
    if anova_type == 2:
        anova = _anova_table(
            y.to_numpy().ravel(), x, drop_intercept=False, label="II", mf=design.mf
        )
    else:
        y3, x3 = design.matrices("Sum")
        anova = _anova_table(
            y3.to_numpy().ravel(), x3, drop_intercept=True, label="III", mf=design.mf
        )
    q = stats.t.ppf(1 - (1 - confidence) / 2, fit.df_resid)
    lmat = _emmeans_weights(design, x)
    return Ancova(
        anova=anova,
        coefficients=_coefficients(fit, design.mf, q),
        adjusted_means=_adjusted_means(design, fit, lmat, q),
        contrast=_contrast(design, fit, lmat, q),
    )


@dataclass(frozen=True)
class _AncovaDesign:
    """The complete cases of one ANCOVA, copied under internal names for its formulas."""

    data: pd.DataFrame  # complete cases; the group a categorical [control, treated]
    mf: ModelFrame
    outcome: str
    baseline: str
    group: str
    covariates: tuple[str, ...]
    fixed_effects: tuple[str, ...]
    factors: tuple[str, ...]  # the group, categorical covariates and the fixed effects
    treated: str
    control: str

    @property
    def terms(self) -> tuple[str, ...]:
        """The right-hand side in model order: baseline, group, covariates, fixed effects."""
        return (self.baseline, self.group, *self.covariates, *self.fixed_effects)

    def matrices(self, coding: Coding) -> tuple[pd.DataFrame, pd.DataFrame]:
        """``(y, X)`` of ``outcome ~ terms`` with the factors in ``coding``."""
        mf = self.mf
        rhs = " + ".join(
            mf.factor(c, coding=coding) if c in self.factors else mf.numeric(c) for c in self.terms
        )
        y_term = mf.numeric(self.outcome)
        return patsy.dmatrices(f"{y_term} ~ {rhs}", mf.frame, return_type="dataframe")


def _ancova_design(
    data: pd.DataFrame,
    *,
    outcome: str,
    baseline: str,
    group: str,
    treated: str,
    covariates: Sequence[str],
    fixed_effects: Sequence[str],
) -> _AncovaDesign:
    """Check the columns and levels, keep the complete cases, register the model's columns."""
    cols = [outcome, baseline, group, *covariates, *fixed_effects]
    check_columns(data, cols, what="data")
    treated, control = group_levels(data[group], treated=treated, what=group)
    d = data[cols].dropna().copy()
    d[group] = pd.Categorical(d[group].astype(str), categories=[control, treated])
    factors = [group] + [c for c in covariates if is_categorical(d[c])] + list(fixed_effects)
    for f in factors[1:]:
        d[f] = d[f].astype(str)
    n = len(d)
    p_min = 3 + len(covariates) + len(fixed_effects)
    if n <= p_min:
        raise DataError(f"only {n} complete cases for an ANCOVA with {p_min} terms; need more data")
    # the formula is written in internal names only (see mentoreval.stats._design)
    mf = ModelFrame(d)
    mf.numeric(outcome)
    mf.factor(group, levels=[control, treated])
    return _AncovaDesign(
        data=d,
        mf=mf,
        outcome=outcome,
        baseline=baseline,
        group=group,
        covariates=tuple(covariates),
        fixed_effects=tuple(fixed_effects),
        factors=tuple(factors),
        treated=treated,
        control=control,
    )


def _coefficients(fit: Any, mf: ModelFrame, q: float) -> pd.DataFrame:
    """The coefficient table of an OLS fit, with t-based CIs (``q``: the t quantile)."""
    coef = pd.DataFrame(
        {
            "term": [mf.label(t) for t in fit.params.index],
            "estimate": fit.params.to_numpy(),
            "se": fit.bse.to_numpy(),
            "t": fit.tvalues.to_numpy(),
            "df": fit.df_resid,
            "p_value": fit.pvalues.to_numpy(),
        }
    )
    coef["ci_low"] = coef["estimate"] - q * coef["se"]
    coef["ci_high"] = coef["estimate"] + q * coef["se"]
    return coef


def _emmeans_weights(design: _AncovaDesign, x: pd.DataFrame) -> np.ndarray:
    """L with ``L @ beta`` the adjusted means of control and treated (rows in that order).

    The ``emmeans`` reference grid: numeric covariates at their means, all factor
    combinations (in internal names and level codes, the factors' levels in order),
    averaged with equal weights within each group.
    """
    mf = design.mf
    grid_vars: dict[str, list[object]] = {}
    for c in [design.baseline, *design.covariates, *design.fixed_effects]:
        if c in design.factors:
            grid_vars[mf.key(c, "cat")] = list(mf.codes(len(mf.levels(c))))
        else:
            grid_vars[mf.key(c, "num")] = [float(design.data[c].mean())]
    g_key = mf.key(design.group, "cat")
    grid_vars[g_key] = list(mf.codes(2))
    mesh = pd.MultiIndex.from_product(list(grid_vars.values()), names=list(grid_vars)).to_frame(
        index=False
    )
    for k in grid_vars:
        if isinstance(mf.frame[k].dtype, pd.CategoricalDtype):
            mesh[k] = pd.Categorical(mesh[k], categories=mf.frame[k].cat.categories)
    xg = np.asarray(patsy.build_design_matrices([x.design_info], mesh)[0])
    return np.vstack([xg[(mesh[g_key] == code).to_numpy()].mean(axis=0) for code in mf.codes(2)])


def _adjusted_means(design: _AncovaDesign, fit: Any, lmat: np.ndarray, q: float) -> pd.DataFrame:
    """The ``emmeans`` table: each group's adjusted mean with its SE and CI."""
    control, treated = design.control, design.treated
    vcov = fit.cov_params().to_numpy()
    emm = lmat @ fit.params.to_numpy()
    emm_se = np.sqrt(np.einsum("ij,jk,ik->i", lmat, vcov, lmat))
    in_model = design.data[design.group].astype(str).value_counts()  # the complete cases used
    return pd.DataFrame(
        {"group": [control, treated], "n": [int(in_model.get(str(lv), 0)) for lv in (control, treated)],
         "emmean": emm, "se": emm_se, "df": fit.df_resid,
         "ci_low": emm - q * emm_se, "ci_high": emm + q * emm_se}
    )  # fmt: skip


def _contrast(design: _AncovaDesign, fit: Any, lmat: np.ndarray, q: float) -> pd.DataFrame:
    """The adjusted difference treated − control (one row), with the model's formula."""
    lc = lmat[1] - lmat[0]
    est = float(lc @ fit.params.to_numpy())
    se = float(np.sqrt(lc @ fit.cov_params().to_numpy() @ lc))
    t = est / se
    formula = f"{design.outcome} ~ " + " + ".join(design.terms)
    return pd.DataFrame(
        {
            "contrast": [f"{design.treated} - {design.control}"], "estimate": [est], "se": [se],
            "df": [float(fit.df_resid)], "t": [t],
            "p_value": [float(2 * stats.t.sf(abs(t), fit.df_resid))],
            "ci_low": [est - q * se], "ci_high": [est + q * se], "n": [len(design.data)],
            "formula": [formula],
        }
    )  # fmt: skip
