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
from scipy import stats

from mentoreval.errors import DataError
from mentoreval.stats import (
    JZS_MEDIUM,
    UNLINKED_COLUMNS,
    adjust_pvalues,
    bayes_factor_t,
    compare_independent,
    compare_unlinked,
    fit_group_by_wave,
    fit_multiwave,
    tost,
    tost_independent,
    tost_paired,
)

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


@pytest.fixture(scope="module")
def unlinked() -> pd.DataFrame:
    return pd.read_csv(REF / "stats_unlinked.csv")


@pytest.mark.parametrize("key", ["main", "small", "ties"])
def test_unlinked_welch_g_mann_whitney(unlinked: pd.DataFrame, ref: dict, key: str) -> None:
    r = ref[key]
    s = unlinked[unlinked["set"] == key]
    out = compare_independent(
        s.loc[s["wave"] == "pre", "score"], s.loc[s["wave"] == "post", "score"]
    )
    for col, rk in [("t", "welch_t"), ("df", "welch_df"), ("p_value", "welch_p"),
                    ("mean_diff", "mean_diff")]:  # fmt: skip
        np.testing.assert_allclose(out[col], r[rk], **TIGHT)
    np.testing.assert_allclose([out["ci_low"], out["ci_high"]], r["welch_ci"], **TIGHT)
    np.testing.assert_allclose(out["g_s"], r["hedges_g"], **TIGHT)
    np.testing.assert_allclose(out["d_s"], r["cohens_d"], **TIGHT)
    # effectsize inverts the noncentral t with optim (abstol 1e-9): iterative
    np.testing.assert_allclose([out["g_s_ci_low"], out["g_s_ci_high"]], r["hedges_g_ci"], rtol=1e-5)
    np.testing.assert_allclose([out["d_s_ci_low"], out["d_s_ci_high"]], r["cohens_d_ci"], rtol=1e-5)
    assert out["mann_whitney_w"] == r["wilcox_w"]
    np.testing.assert_allclose(out["mann_whitney_p"], r["wilcox_p"], **TIGHT)
    assert (out["mann_whitney_method"] == "exact") == r["wilcox_exact"]
    np.testing.assert_allclose(out["rank_biserial"], r["rank_biserial"], **TIGHT)
    np.testing.assert_allclose(
        [out["rank_biserial_ci_low"], out["rank_biserial_ci_high"]], r["rank_biserial_ci"], **TIGHT
    )


def test_unlinked_table_matches_pairwise_function(unlinked: pd.DataFrame, ref: dict) -> None:
    s = unlinked[unlinked["set"] != "groups"].rename(columns={"set": "scale"})
    s = s.assign(instrument="x", participant_id=[f"r{i}" for i in range(len(s))])
    table = compare_unlinked(s)
    assert list(table.columns) == UNLINKED_COLUMNS
    out = table.set_index("scale")
    for key in ("main", "small", "ties"):
        np.testing.assert_allclose(out.at[key, "t"], ref[key]["welch_t"], **TIGHT)
        np.testing.assert_allclose(out.at[key, "g_s"], ref[key]["hedges_g"], **TIGHT)
    np.testing.assert_allclose(out["p_adj"], adjust_pvalues(out["p_value"], method="holm"))


def test_group_by_wave_hc3(unlinked: pd.DataFrame, ref: dict) -> None:
    r = ref["hc3"]
    fit = fit_group_by_wave(unlinked[unlinked["set"] == "groups"])
    co = fit.coefficients
    assert co["term"].tolist() == [
        "Intercept", "wave[post]", "group[mentored]", "wave[post]:group[mentored]"
    ]  # fmt: skip
    for col, rk in [("estimate", "est"), ("se", "se"), ("t", "t"), ("p_value", "p"),
                    ("ci_low", "ci_low"), ("ci_high", "ci_high")]:  # fmt: skip
        np.testing.assert_allclose(co[col], r[rk], **TIGHT)
    assert (co["df"] == r["df"]).all()
    c = fit.contrasts.set_index("contrast")
    np.testing.assert_allclose(c.at["change: mentored", "estimate"], r["mentored_change"], **TIGHT)
    np.testing.assert_allclose(c.at["change: mentored", "se"], r["mentored_change_se"], **TIGHT)
    eff = fit.to_frame().iloc[0]
    assert eff["contrast"] == "difference in change: mentored - comparison"
    np.testing.assert_allclose(eff["se"], r["se"][3], **TIGHT)
    # HC3 differs from the classical SE here (unequal variances and cells)
    assert abs(co["se"].iloc[0] / r["se_classical"][0] - 1) > 0.1


@pytest.mark.parametrize(
    ("key", "paired", "alpha"),
    [
        ("tost_paired_wide", True, 0.05),
        ("tost_paired_narrow", True, 0.05),
        ("tost_welch_wide", False, 0.05),
        ("tost_welch_narrow", False, 0.05),
        ("tost_welch_alpha10", False, 0.10),
    ],
)
def test_tost_by_hand_in_r(
    unlinked: pd.DataFrame, ref: dict, key: str, paired: bool, alpha: float
) -> None:
    r = ref[key]
    if paired:
        ties = pd.read_csv(REF / "stats_ties.csv")
        out = tost_paired(ties["pre"], ties["post"], mid=r["mid"], alpha=alpha).iloc[0]
    else:
        s = unlinked[unlinked["set"] == "main"]
        pre, post = s.loc[s["wave"] == "pre", "score"], s.loc[s["wave"] == "post", "score"]
        out = tost_independent(pre, post, mid=r["mid"], alpha=alpha).iloc[0]
    for col in ("t_lower", "p_lower", "t_upper", "p_upper", "df", "ci_low", "ci_high"):
        np.testing.assert_allclose(out[col], r[col], **TIGHT)
    assert out["equivalent"] == r["equivalent"]
    assert out["p_tost"] == max(out["p_lower"], out["p_upper"])
    assert out["ci_level"] == pytest.approx(1 - 2 * alpha)
    # equivalence <=> the (1 - 2 alpha) CI inside +-MID <=> verdict "smaller than MID"
    inside = -r["mid"] < out["ci_low"] and out["ci_high"] < r["mid"]
    assert inside == r["equivalent"] == (out["verdict"] == "smaller than MID")


def test_tost_verdicts() -> None:
    # the example: an interval of -11 to +4 with a MID of 10 is not "no change"
    wide = tost(-3.5, 7.5 / stats.t.ppf(0.95, 30), 30, mid=10).iloc[0]
    assert wide["verdict"] == "inconclusive"
    assert "as large as the minimal important difference" in wide["statement"]
    small = tost(0.5, 1.0, 30, mid=10).iloc[0]
    assert small["verdict"] == "smaller than MID"
    assert small["statement"] == "a change smaller than the minimal important difference"
    big = tost(-25.0, 2.0, 30, mid=10).iloc[0]
    assert big["verdict"] == "larger than MID"
    with pytest.raises(DataError):
        tost(1.0, 1.0, 10, mid=0)


@pytest.mark.parametrize(
    ("key", "design"),
    [
        ("bf_paired_ties", "ties"),
        ("bf_independent_main", "main"),
        ("bf_independent_small", "small"),
        ("bf_paired_sleep", "sleep"),
        ("bf_paired_sleep_wide", "sleep_wide"),
    ],
)
def test_bayes_factor_ttestbf(unlinked: pd.DataFrame, ref: dict, key: str, design: str) -> None:
    # BayesFactor integrates numerically (reported error ~1e-6 relative or less): iterative
    if design in ("ties", "sleep", "sleep_wide"):
        if design == "ties":
            ties = pd.read_csv(REF / "stats_ties.csv")
            pre, post = ties["pre"].to_numpy(), ties["post"].to_numpy()
        else:
            pre, post = np.array(SLEEP_PRE), np.array(SLEEP_POST)
        t = stats.ttest_rel(post, pre).statistic
        r = 1.0 if design == "sleep_wide" else JZS_MEDIUM
        got = bayes_factor_t(t, len(pre), paired=True, r=r)
    else:
        s = unlinked[unlinked["set"] == design]
        out = compare_independent(
            s.loc[s["wave"] == "pre", "score"], s.loc[s["wave"] == "post", "score"]
        )
        got = out["bf10"]
    np.testing.assert_allclose(got, ref[key], rtol=1e-6)


SLEEP_PRE = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
SLEEP_POST = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]
