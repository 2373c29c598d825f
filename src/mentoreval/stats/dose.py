"""Dose and subgroups (exploratory): change vs meetings attended; moderators as interactions.

Both are associational: engagement is self-selected, so a dose–response slope is not a
causal effect, and subgroup findings are hypotheses. Moderators are tested as interactions
(never by comparing subgroup p-values).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
import patsy
from scipy import stats

from mentoreval.errors import DataError
from mentoreval.stats._common import check_choice, check_columns
from mentoreval.stats._design import ModelFrame, rss
from mentoreval.stats.controlled import group_levels

__all__ = ["DoseForm", "fit_dose", "fit_moderation"]

DoseForm = Literal["linear", "spline"]


def _nested_f(
    y: np.ndarray, x_full: np.ndarray, x_red: np.ndarray
) -> tuple[float, float, float, float]:
    rss_f, rss_r = rss(y, x_full), rss(y, x_red)
    df_num = np.linalg.matrix_rank(x_full) - np.linalg.matrix_rank(x_red)
    df_den = len(y) - np.linalg.matrix_rank(x_full)
    if df_num <= 0 or df_den <= 0:
        return (np.nan, float(df_num), float(df_den), np.nan)
    f = ((rss_r - rss_f) / df_num) / (rss_f / df_den)
    return (float(f), float(df_num), float(df_den), float(stats.f.sf(f, df_num, df_den)))


def fit_dose(
    data: pd.DataFrame,
    *,
    dose: str = "meetings",
    outcome: str = "post",
    baseline: str = "pre",
    form: DoseForm = "linear",
    spline_df: int = 3,
    covariates: Sequence[str] = (),
) -> pd.DataFrame:
    """Association of follow-up score with dose, adjusting for baseline (mentored only).

    Model ``outcome ~ baseline + f(dose) + covariates`` where f is linear or a cubic
    B-spline with ``spline_df`` degrees of freedom (patsy ``bs``). The dose terms are
    tested together by a nested-model F test.

    Returns
    -------
    pandas.DataFrame
        One row: ``dose``, ``form``, ``slope`` (per unit of dose; linear only, else NaN),
        ``slope_ci_low``, ``slope_ci_high``, ``f``, ``df_num``, ``df_den``, ``p_value``,
        ``n``, ``label`` (``"exploratory, associational"``).

    Examples
    --------
    >>> rng = np.random.default_rng(5)
    >>> pre = rng.normal(50, 10, 80)
    >>> meetings = rng.integers(0, 10, 80)
    >>> d = pd.DataFrame({"pre": pre, "meetings": meetings,
    ...                   "post": 10 + 0.8 * pre + 0.5 * meetings + rng.normal(0, 4, 80)})
    >>> fit_dose(d)[["form", "slope", "df_num", "n"]].round(2)
         form  slope  df_num   n
    0  linear   0.38     1.0  80
    """
    check_choice(form, name="form", choices=("linear", "spline"))
    cols = [outcome, baseline, dose, *covariates]
    check_columns(data, cols, what="data")
    d = data[cols].dropna()
    # internal names and constants only in the formulas (mentoreval.stats._design)
    mf = ModelFrame(d)
    base = mf.numeric(baseline) + ("" if not covariates else " + " + mf.terms(covariates))
    dose_term = mf.numeric(dose)
    if form == "spline":
        dose_term = f"bs({dose_term}, df={int(spline_df)})"
    y, xf = patsy.dmatrices(
        f"{mf.numeric(outcome)} ~ {base} + {dose_term}", mf.frame, return_type="dataframe"
    )
    xr = patsy.dmatrix(base, mf.frame, return_type="dataframe")
    yv = y.to_numpy().ravel()
    if len(d) <= xf.shape[1] + 1:
        raise DataError(f"only {len(d)} complete cases for the dose model")
    f, df_num, df_den, p = _nested_f(yv, xf.to_numpy(), xr.to_numpy())
    slope = lo = hi = np.nan
    if form == "linear":
        xm = xf.to_numpy()
        xtx_inv = np.linalg.inv(xm.T @ xm)
        beta = xtx_inv @ xm.T @ yv
        s2 = rss(yv, xm) / df_den
        j = list(xf.columns).index(dose_term)
        slope = float(beta[j])
        half = stats.t.ppf(0.975, df_den) * np.sqrt(s2 * xtx_inv[j, j])
        lo, hi = slope - half, slope + half
    return pd.DataFrame(
        {"dose": [dose], "form": [form], "slope": [slope], "slope_ci_low": [lo], "slope_ci_high": [hi],
         "f": [f], "df_num": [df_num], "df_den": [df_den], "p_value": [p], "n": [len(d)],
         "label": ["exploratory, associational"]}
    )  # fmt: skip


def fit_moderation(
    data: pd.DataFrame,
    *,
    moderator: str,
    outcome: str = "post",
    baseline: str = "pre",
    group: str = "group",
    treated: str = "mentored",
    covariates: Sequence[str] = (),
) -> pd.DataFrame:
    """Test whether ``moderator`` changes the group effect: ``group × moderator`` in ANCOVA.

    Model ``outcome ~ baseline + group * moderator + covariates``; the interaction terms
    are tested together (nested F test; equal to the Type II test of the interaction).
    A categorical moderator (e.g. mentor type, year of study as a factor) or a numeric one.

    Returns
    -------
    pandas.DataFrame
        One row: ``moderator``, ``f``, ``df_num``, ``df_den``, ``p_value``, ``n``,
        ``label`` (``"exploratory"``).

    Examples
    --------
    >>> rng = np.random.default_rng(6)
    >>> d = pd.DataFrame({"pre": rng.normal(50, 10, 120),
    ...                   "group": np.tile(["mentored", "comparison"], 60),
    ...                   "year": np.repeat(["y1", "y2", "y3"], 40)})
    >>> d["post"] = 5 + 0.9 * d["pre"] + 2 * (d["group"] == "mentored") + rng.normal(0, 5, 120)
    >>> fit_moderation(d, moderator="year")[["moderator", "df_num", "df_den", "n"]]
      moderator  df_num  df_den    n
    0      year     2.0   113.0  120
    """
    cols = [outcome, baseline, group, moderator, *covariates]
    check_columns(data, cols, what="data")
    treated, control = group_levels(data[group], treated=treated, what=group)
    d = data[cols].dropna().copy()
    d[group] = d[group].astype(str)
    # internal names only in the formulas (mentoreval.stats._design)
    mf = ModelFrame(d)
    g_term = mf.factor(group, levels=[control, treated])
    mod = mf.terms([moderator])
    base = f"{mf.numeric(baseline)} + {g_term} + {mod}" + (
        "" if not covariates else " + " + mf.terms(covariates)
    )
    y, xf = patsy.dmatrices(
        f"{mf.numeric(outcome)} ~ {base} + {g_term}:{mod}", mf.frame, return_type="dataframe"
    )
    xr = patsy.dmatrix(base, mf.frame, return_type="dataframe")
    f, df_num, df_den, p = _nested_f(y.to_numpy().ravel(), xf.to_numpy(), xr.to_numpy())
    return pd.DataFrame(
        {"moderator": [moderator], "f": [f], "df_num": [df_num], "df_den": [df_den], "p_value": [p],
         "n": [len(d)], "label": ["exploratory"]}
    )  # fmt: skip
