"""Satterthwaite df of the random-intercept model: analytic, step-free, row-order-free.

Issue 17: the finite-difference Hessian (relative step 1e-4) moved the df with the step
(477 → 480 → 594 for steps 1e-4, 1e-5, 1e-6) and with row order (5th digit). The df now use
analytic derivatives of the REML deviance and of C(φ); here they are checked against
finite differences, for stability under row permutations, and (in test_reference.py and
test_designs_reference.py) against lmerTest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mentoreval.stats import fit_mixed, fit_multiwave
from mentoreval.stats.mixed import _RandomIntercept

REF = Path(__file__).resolve().parents[1] / "reference"


@pytest.fixture(scope="module")
def long() -> pd.DataFrame:
    pp = pd.read_csv(REF / "stats_prepost.csv")
    return pp.melt(
        id_vars=["participant_id", "group", "site"], value_vars=["pre", "post"],
        var_name="wave", value_name="score",
    ).dropna(subset=["score"])  # fmt: skip


def _model(long: pd.DataFrame) -> _RandomIntercept:
    x = np.column_stack([
        np.ones(len(long)), long["wave"].eq("post"), long["group"].eq("mentored"),
        long["wave"].eq("post") & long["group"].eq("mentored"),
    ]).astype(float)  # fmt: skip
    return _RandomIntercept(
        long["score"].to_numpy(float), x, pd.factorize(long["participant_id"])[0]
    )


def test_analytic_derivatives_match_finite_differences(long: pd.DataFrame) -> None:
    model = _model(long)
    _, phi, boundary = model.fit()
    assert not boundary
    grad, hess, dc = model.derivatives(phi)
    # the REML optimum: the gradient vanishes (relative to the curvature)
    assert np.all(np.abs(grad) < 1e-8 * np.abs(np.diag(hess)) * phi)
    at = phi * np.array([1.3, 0.8])  # away from the optimum, where the gradient is not zero
    grad, hess, dc = model.derivatives(at)
    h = 1e-4 * at
    for k in range(2):
        e = np.zeros(2)
        e[k] = h[k]
        g_fd = (model.deviance(at + e) - model.deviance(at - e)) / (2 * h[k])
        np.testing.assert_allclose(grad[k], g_fd, rtol=1e-6)
        dc_fd = (model.vcov(at + e) - model.vcov(at - e)) / (2 * h[k])
        np.testing.assert_allclose(dc[k], dc_fd, rtol=1e-6, atol=1e-9 * np.abs(dc_fd).max())
        for j in range(2):  # second differences need a larger step (rounding)
            e = np.zeros(2)
            e[k] = 10 * h[k]
            f = np.zeros(2)
            f[j] = 10 * h[j]
            h_fd = (
                model.deviance(at + e + f) - model.deviance(at + e - f)
                - model.deviance(at - e + f) + model.deviance(at - e - f)
            ) / (400 * h[k] * h[j])  # fmt: skip
            np.testing.assert_allclose(hess[k, j], h_fd, rtol=1e-4)


@pytest.mark.parametrize("fixed", [(), ("site",)])
def test_df_stable_under_row_permutations(long: pd.DataFrame, fixed: tuple[str, ...]) -> None:
    base = fit_mixed(long, fixed_effects=list(fixed)).coefficients["df"].to_numpy()
    for seed in range(5):
        perm = long.sample(frac=1, random_state=seed)
        df = fit_mixed(perm, fixed_effects=list(fixed)).coefficients["df"].to_numpy()
        np.testing.assert_allclose(df, base, rtol=1e-6)


def test_multiwave_df_stable_under_row_permutations() -> None:
    mw = pd.read_csv(REF / "stats_multiwave.csv")
    waves = ["baseline", "mid", "end", "followup"]
    kw: dict[str, Any] = {"waves": waves, "group": "group", "covariates": ["year_of_study"]}
    base = fit_multiwave(mw, **kw)
    for seed in range(5):
        perm = fit_multiwave(mw.sample(frac=1, random_state=seed), **kw)
        np.testing.assert_allclose(perm.coefficients["df"], base.coefficients["df"], rtol=1e-6)
        np.testing.assert_allclose(perm.contrasts["df"], base.contrasts["df"], rtol=1e-6)
