"""Golden tests for the designs of issue 17 against R (tests/reference/stats_designs.R).

Unlinked pre/post (Welch, Hedges' g_s, Mann–Whitney, rank-biserial, HC3 group × wave),
the multi-wave LMM (lmerTest + emmeans trt.vs.ctrl with Holm), TOST against ±MID and JZS
Bayes factors. The suite reads the committed JSON/CSV only; R is not needed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mentoreval.stats import fit_multiwave

REF = Path(__file__).resolve().parents[1] / "reference"
TIGHT = {"rtol": 1e-6, "atol": 1e-9}
ITER = {"rtol": 1e-3, "atol": 1e-6}
WAVES = ["baseline", "mid", "end", "followup"]


@pytest.fixture(scope="module")
def ref() -> dict:
    return json.loads((REF / "stats_designs.json").read_text())


@pytest.fixture(scope="module")
def multiwave() -> pd.DataFrame:
    return pd.read_csv(REF / "stats_multiwave.csv")


def _term(r_name: str) -> str:
    """lme4's coefficient names in mentoreval's form: ``wavemid:groupmentored`` →
    ``wave[mid]:group[mentored]``."""
    if r_name == "(Intercept)":
        return "Intercept"
    return ":".join(re.sub(r"^(wave|group|site)(.+)$", r"\1[\2]", p) for p in r_name.split(":"))


MW_CASES: dict[str, dict[str, Any]] = {
    "mw_a": {},
    "mw_b": {"group": "group"},
    "mw_c": {"group": "group", "covariates": ["year_of_study"], "fixed_effects": ["site"]},
}


@pytest.mark.parametrize("key", list(MW_CASES))
def test_multiwave_lmertest_emmeans(multiwave: pd.DataFrame, ref: dict, key: str) -> None:
    r = ref[key]
    m = fit_multiwave(multiwave, waves=WAVES, **MW_CASES[key])
    co = m.coefficients.set_index("term").loc[[_term(t) for t in r["terms"]]]
    np.testing.assert_allclose(co["estimate"], r["est"], **ITER)
    np.testing.assert_allclose(co["se"], r["se"], **ITER)
    np.testing.assert_allclose(co["df"], r["df"], rtol=1e-4)
    np.testing.assert_allclose(co["t"], r["t"], **ITER)
    np.testing.assert_allclose(co["p_value"], r["p"], rtol=1e-4)
    vc = m.variance_components["variance"].to_numpy()
    np.testing.assert_allclose(vc, [r["var_participant"], r["var_residual"]], **ITER)
    assert m.info["n_obs"].iloc[0] == r["n_obs"]
    # emmeans trt.vs.ctrl (| group): same order, arm by arm
    c = m.contrasts[m.contrasts["family"] == "change from baseline"]
    assert c["contrast"].tolist() == r["c_contrast"]
    if "c_group" in r:
        assert c["group"].tolist() == r["c_group"]
    for col, rk in [("estimate", "c_estimate"), ("se", "c_se"), ("t", "c_t"),
                    ("ci_low", "c_ci_low"), ("ci_high", "c_ci_high")]:  # fmt: skip
        np.testing.assert_allclose(c[col], r[rk], **ITER)
    np.testing.assert_allclose(c["df"], r["c_df"], rtol=1e-4)
    np.testing.assert_allclose(c["p_value"], r["c_p"], rtol=1e-4)
    np.testing.assert_allclose(c["p_adj"], r["c_p_holm"], rtol=1e-4)
    # emmeans means per wave (and arm): reference grid with equal weights, numeric at mean
    mm = m.means
    assert mm["wave"].tolist() == r["emm_wave"]
    for col, rk in [("estimate", "emmean"), ("se", "emm_se"), ("ci_low", "emm_low"),
                    ("ci_high", "emm_high")]:  # fmt: skip
        np.testing.assert_allclose(mm[col], r[rk], **ITER)
    np.testing.assert_allclose(mm["df"], r["emm_df"], rtol=1e-4)
    if key == "mw_b":
        inter = m.contrasts[m.contrasts["family"] == "difference in change"]
        np.testing.assert_allclose(inter["p_adj"], r["interaction_p_holm"], rtol=1e-4)
        assert inter["group"].iloc[0] == "mentored - comparison"


@pytest.mark.parametrize("key", list(MW_CASES))
def test_multiwave_df_agree_with_tightly_converged_lmer(
    multiwave: pd.DataFrame, ref: dict, key: str
) -> None:
    """lme4 refitted with tight optimiser tolerances: the df agree to 1e-6."""
    m = fit_multiwave(multiwave, waves=WAVES, **MW_CASES[key])
    co = m.coefficients.set_index("term").loc[[_term(t) for t in ref[key]["terms"]]]
    np.testing.assert_allclose(co["df"], ref[f"{key}_tight_df"], rtol=1e-6)
