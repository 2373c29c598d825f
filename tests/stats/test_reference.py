"""Golden tests: mentoreval.stats against values printed by R (tests/reference/stats_*.R).

The R scripts sit beside their JSON output; this suite only reads the committed files.
Tolerance 1e-6 (relative) for closed forms, 1e-3 for iterative fits.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mentoreval.stats import (
    adjust_pvalues,
    compare_pair,
    fit_ancova,
    fit_mixed,
    fit_reliability,
    mcnemar_test,
    minimum_detectable_effect,
    paired_effect_sizes,
    plan_sample_size,
    pool_effects,
    power_t,
    wilcoxon_paired,
)

REF = Path(__file__).resolve().parents[1] / "reference"
TIGHT = {"rtol": 1e-6, "atol": 1e-9}
ITER = {"rtol": 1e-3, "atol": 1e-6}


def _load(name: str) -> dict:
    return json.loads((REF / name).read_text())


@pytest.fixture(scope="module")
def paired_ref() -> dict:
    return _load("stats_paired.json")


@pytest.fixture(scope="module")
def models_ref() -> dict:
    return _load("stats_models.json")


SLEEP_PRE = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
SLEEP_POST = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]


def test_sleep_paired_t(paired_ref: dict) -> None:
    r = compare_pair(SLEEP_PRE, SLEEP_POST)
    np.testing.assert_allclose(r["t"], paired_ref["sleep_t"], **TIGHT)
    np.testing.assert_allclose(r["df"], paired_ref["sleep_df"], **TIGHT)
    np.testing.assert_allclose(r["p_value"], paired_ref["sleep_p"], **TIGHT)
    np.testing.assert_allclose([r["ci_low"], r["ci_high"]], paired_ref["sleep_ci"], **TIGHT)
    np.testing.assert_allclose(r["mean_diff"], paired_ref["sleep_mean_diff"], **TIGHT)
    np.testing.assert_allclose(r["r_prepost"], paired_ref["sleep_r_prepost"], **TIGHT)


def test_sleep_effect_sizes(paired_ref: dict) -> None:
    es = paired_effect_sizes(SLEEP_PRE, SLEEP_POST).set_index("effect_size")
    np.testing.assert_allclose(es.at["d_z", "value"], paired_ref["sleep_d_z"], **TIGHT)
    # effectsize finds the noncentral-t bounds with optim(abstol = 1e-9): iterative
    np.testing.assert_allclose(
        es.loc["d_z", ["ci_low", "ci_high"]].astype(float), paired_ref["sleep_d_z_ci"], rtol=1e-5
    )
    np.testing.assert_allclose(es.at["g_z", "value"], paired_ref["sleep_g_z"], **TIGHT)
    np.testing.assert_allclose(
        es.loc["g_z", ["ci_low", "ci_high"]].astype(float), paired_ref["sleep_g_z_ci"], rtol=1e-5
    )
    # hand-derived: d_av = 0.8321811 and d_rm = d_z * sqrt(2(1 - r)) (statistics.md §4 #2)
    np.testing.assert_allclose(es.at["d_av", "value"], 0.8321811, rtol=1e-6)
    r = paired_ref["sleep_r_prepost"]
    np.testing.assert_allclose(
        es.at["d_rm", "value"], paired_ref["sleep_d_z"] * np.sqrt(2 * (1 - r)), **TIGHT
    )
    # effectsize >= 0.8.7 repeated_measures_d (rm, Hedges-adjusted) = 0.75 for sleep
    np.testing.assert_allclose(es.at["d_rm", "value"] * 0.9138752, 0.75, atol=0.005)
    np.testing.assert_allclose(
        es.at["rank_biserial", "value"], paired_ref["sleep_rank_biserial"], **TIGHT
    )


def test_sleep_wilcoxon(paired_ref: dict) -> None:
    v, p, how = wilcoxon_paired(SLEEP_PRE, SLEEP_POST)
    assert v == paired_ref["sleep_wilcox_v"]
    np.testing.assert_allclose(p, paired_ref["sleep_wilcox_p"], **TIGHT)
    assert how.startswith("normal approximation")
    # exact on request is impossible with ties/zeros: falls back as R does
    assert wilcoxon_paired(SLEEP_PRE, SLEEP_POST, method="exact")[2].endswith("ties or zeros)")


def test_wilcoxon_ties_and_exact(paired_ref: dict) -> None:
    ties = pd.read_csv(REF / "stats_ties.csv")
    v, p, _ = wilcoxon_paired(ties["pre"], ties["post"])
    assert v == paired_ref["ties_wilcox_v"]
    np.testing.assert_allclose(p, paired_ref["ties_wilcox_p"], **TIGHT)
    es = paired_effect_sizes(ties["pre"], ties["post"]).set_index("effect_size")
    np.testing.assert_allclose(
        es.at["rank_biserial", "value"], paired_ref["ties_rank_biserial"], **TIGHT
    )
    np.testing.assert_allclose(
        es.loc["rank_biserial", ["ci_low", "ci_high"]].astype(float),
        paired_ref["ties_rank_biserial_ci"],
        **TIGHT,
    )
    np.testing.assert_allclose(es.at["d_z", "value"], paired_ref["ties_d_z"], **TIGHT)
    np.testing.assert_allclose(
        es.loc["d_z", ["ci_low", "ci_high"]].astype(float), paired_ref["ties_d_z_ci"], rtol=1e-5
    )
    # R's default is exact for n < 50 without ties or zeros
    _, p_exact, how = wilcoxon_paired(paired_ref["exact_a"], paired_ref["exact_b"])
    assert how == "exact"
    np.testing.assert_allclose(p_exact, paired_ref["exact_wilcox_p"], **TIGHT)


@pytest.mark.parametrize("key", ["padj", "padj2"])
def test_p_adjust(paired_ref: dict, key: str) -> None:
    p = paired_ref[f"{key}_p"]
    np.testing.assert_allclose(adjust_pvalues(p, method="holm"), paired_ref[f"{key}_holm"], **TIGHT)
    np.testing.assert_allclose(adjust_pvalues(p, method="bh"), paired_ref[f"{key}_bh"], **TIGHT)
    if key == "padj2":
        np.testing.assert_allclose(
            adjust_pvalues(p, method="bonferroni"), paired_ref["padj2_bonferroni"], **TIGHT
        )


def test_p_adjust_keeps_nan() -> None:
    out = adjust_pvalues([0.01, np.nan, 0.04], method="holm")
    assert np.isnan(out[1])
    np.testing.assert_allclose(out[[0, 2]], [0.02, 0.04])


def test_mcnemar(paired_ref: dict) -> None:
    table = [[794, 86], [150, 570]]
    stat, p = mcnemar_test(table)
    np.testing.assert_allclose(
        [stat, p], [paired_ref["mcnemar_stat"], paired_ref["mcnemar_p"]], **TIGHT
    )
    stat, p = mcnemar_test(table, method="chisq")
    np.testing.assert_allclose(
        [stat, p], [paired_ref["mcnemar_stat_nocorr"], paired_ref["mcnemar_p_nocorr"]], **TIGHT
    )
    np.testing.assert_allclose(
        mcnemar_test(table, method="exact")[1], paired_ref["mcnemar_exact_p"], **TIGHT
    )


def test_power(paired_ref: dict) -> None:
    # closed-form power: tight; n and delta come from R's uniroot (tol ~1e-4): iterative
    np.testing.assert_allclose(
        power_t(20, 0.5, design="paired"), paired_ref["power_paired_power_n20"], **TIGHT
    )
    np.testing.assert_allclose(
        power_t(40, 0.5, design="two_sample"), paired_ref["power_two_power_n40"], **TIGHT
    )
    n = plan_sample_size(0.5, design="paired")["n"].iloc[0]
    np.testing.assert_allclose(n, paired_ref["power_paired_n"], **ITER)
    n2 = plan_sample_size(0.5, design="two_sample")["n"].iloc[0]
    np.testing.assert_allclose(n2, paired_ref["power_two_n"], **ITER)
    np.testing.assert_allclose(
        minimum_detectable_effect(30, design="paired"), paired_ref["power_paired_delta_n30"], **ITER
    )
    # ANCOVA needs fewer per group than the t test, roughly n_t * (1 - rho^2)
    n_anc = plan_sample_size(0.5, design="ancova", r_prepost=0.6)["n"].iloc[0]
    assert n_anc == pytest.approx(n2 * (1 - 0.36), rel=0.05)


def test_reliability_psych() -> None:
    ref = _load("stats_reliability.json")
    x = pd.read_csv(REF / "stats_bfi_agree.csv")
    rel = fit_reliability(x, reverse=["A1"], response_range=(1, 6))
    s = rel.summary.iloc[0]
    np.testing.assert_allclose(s["alpha"], ref["raw_alpha"], **TIGHT)
    np.testing.assert_allclose(s["alpha_std"], ref["std_alpha"], **TIGHT)
    np.testing.assert_allclose(
        [s["alpha_ci_low"], s["alpha_ci_high"]], [ref["feldt"][0], ref["feldt"][2]], **TIGHT
    )
    np.testing.assert_allclose(rel.items["alpha_if_deleted"], ref["alpha_if_deleted"], **TIGHT)
    np.testing.assert_allclose(rel.items["r_item_rest"], ref["r_drop"], **TIGHT)
    np.testing.assert_allclose(s["omega_total"], ref["omega_total"], **ITER)
    np.testing.assert_allclose(rel.items["loading"], ref["loadings"], **ITER)
    assert rel.warnings == ()
    # without the key: alpha as psych, and the mis-keyed item is flagged
    bad = fit_reliability(x)
    np.testing.assert_allclose(bad.summary["alpha"].iloc[0], ref["unkeyed_raw_alpha"], **TIGHT)
    np.testing.assert_allclose(bad.items["r_item_rest"], ref["unkeyed_r_drop"], **TIGHT)
    assert bad.items.loc[bad.items["r_item_rest"] < 0, "item"].tolist() == ["A1"]
    assert "mis-keyed" in bad.warnings[0]


@pytest.fixture(scope="module")
def prepost() -> pd.DataFrame:
    return pd.read_csv(REF / "stats_prepost.csv")


@pytest.mark.parametrize("anova_type", [2, 3])
def test_ancova_car_emmeans(prepost: pd.DataFrame, models_ref: dict, anova_type: int) -> None:
    fit = fit_ancova(
        prepost,
        covariates=["year_of_study", "gender"],
        fixed_effects=["site"],
        anova_type=anova_type,
    )
    key = f"type{anova_type}"
    got = fit.anova.set_index("term").loc[models_ref[f"{key}_terms"]]
    np.testing.assert_allclose(got["sum_sq"], models_ref[f"{key}_ss"], **TIGHT)
    f_ref = [np.nan if v == "NA" else v for v in models_ref[f"{key}_F"]]
    np.testing.assert_allclose(got["f"], f_ref, **TIGHT)
    p_ref = [np.nan if v == "NA" else v for v in models_ref[f"{key}_p"]]
    np.testing.assert_allclose(got["p_value"], p_ref, **TIGHT)
    if anova_type == 2:
        np.testing.assert_allclose(got["df"], models_ref["type2_df"], **TIGHT)
    m = fit.adjusted_means.set_index("group").loc[models_ref["emm_group"]]
    np.testing.assert_allclose(m["emmean"], models_ref["emm"], **TIGHT)
    np.testing.assert_allclose(m["se"], models_ref["emm_se"], **TIGHT)
    np.testing.assert_allclose(m["ci_low"], models_ref["emm_lower"], **TIGHT)
    np.testing.assert_allclose(m["ci_high"], models_ref["emm_upper"], **TIGHT)
    assert int(m["n"].sum()) == models_ref["ancova_n"]  # R's complete cases, split by group
    c = fit.contrast.iloc[0]
    assert c["contrast"] == models_ref["emm_contrast"]
    for col, key2 in [("estimate", "emm_diff"), ("se", "emm_diff_se"), ("ci_low", "emm_diff_lower"),
                      ("ci_high", "emm_diff_upper"), ("t", "emm_diff_t"), ("p_value", "emm_diff_p")]:  # fmt: skip
        np.testing.assert_allclose(c[col], models_ref[key2], **TIGHT)
    assert c["n"] == models_ref["ancova_n"]


def _long(prepost: pd.DataFrame) -> pd.DataFrame:
    return prepost.melt(
        id_vars=["participant_id", "group", "site", "year_of_study", "gender"],
        value_vars=["pre", "post"], var_name="wave", value_name="score",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("key", "subset", "fixed"), [("lmm1", None, ()), ("lmm2", None, ("site",)), ("lmm3", 16, ())]
)
def test_mixed_lmertest(
    prepost: pd.DataFrame, models_ref: dict, key: str, subset: int | None, fixed: tuple
) -> None:
    long = _long(prepost)
    if subset:
        long = long[long["participant_id"].isin(prepost["participant_id"].iloc[:subset])]
    m = fit_mixed(long, fixed_effects=list(fixed))
    co = m.coefficients
    if key == "lmm2":  # lmerTest orders time, group, site, interaction; patsy puts factors first
        order = [
            "Intercept",
            "wave[post]",
            "group[mentored]",
            "site[south]",
            "site[west]",
            "wave[post]:group[mentored]",
        ]
        co = co.set_index("term").loc[order].reset_index()
    np.testing.assert_allclose(co["estimate"], models_ref[f"{key}_est"], **ITER)
    np.testing.assert_allclose(co["se"], models_ref[f"{key}_se"], **ITER)
    # issue 17: analytic Satterthwaite df within 1e-4 of lmerTest (measured: ~6e-9)
    np.testing.assert_allclose(co["df"], models_ref[f"{key}_df"], rtol=1e-4)
    np.testing.assert_allclose(co["p_value"], models_ref[f"{key}_p"], rtol=1e-4)
    if key == "lmm1":
        vc = m.variance_components.set_index("component")["variance"]
        np.testing.assert_allclose(
            [vc["participant"], vc["residual"]],
            [models_ref["lmm1_var_participant"], models_ref["lmm1_var_residual"]], **ITER,
        )  # fmt: skip
        assert m.contrast["n_obs"].iloc[0] == models_ref["lmm_n_obs"]
        assert m.contrast["n_single_wave"].iloc[0] > 0


def test_mixed_matches_statsmodels(prepost: pd.DataFrame) -> None:
    """The closed-form REML agrees with statsmodels MixedLM (estimates and variances)."""
    import statsmodels.formula.api as smf

    long = _long(prepost).dropna(subset=["score"])
    long["post"] = (long["wave"] == "post").astype(float)
    long["mentored"] = (long["group"] == "mentored").astype(float)
    sm_fit = smf.mixedlm("score ~ post * mentored", long, groups=long["participant_id"]).fit(
        reml=True
    )
    ours = fit_mixed(long.drop(columns=["post", "mentored"]))
    np.testing.assert_allclose(
        ours.coefficients["estimate"], sm_fit.fe_params.to_numpy(), rtol=1e-3, atol=1e-4
    )
    np.testing.assert_allclose(
        ours.variance_components["variance"].iloc[1], sm_fit.scale, rtol=1e-3
    )


def test_dersimonian_laird_metafor(models_ref: dict) -> None:
    bcg = pd.read_csv(REF / "stats_bcg.csv")
    res = pool_effects(bcg["yi"], np.sqrt(bcg["vi"]), labels=bcg["study"])
    rnd = res.pooled.set_index("model").loc["random"]
    np.testing.assert_allclose(rnd["estimate"], models_ref["dl_est"], **TIGHT)
    np.testing.assert_allclose(rnd["se"], models_ref["dl_se"], **TIGHT)
    np.testing.assert_allclose([rnd["ci_low"], rnd["ci_high"]], models_ref["dl_ci"], **TIGHT)
    np.testing.assert_allclose([rnd["pi_low"], rnd["pi_high"]], models_ref["dl_pi"], **TIGHT)
    np.testing.assert_allclose(rnd["z"], models_ref["dl_z"], **TIGHT)
    np.testing.assert_allclose(rnd["p_value"], models_ref["dl_p"], **TIGHT)
    het = res.heterogeneity.iloc[0]
    for col, key in [
        ("tau2", "dl_tau2"),
        ("i2", "dl_i2"),
        ("h2", "dl_h2"),
        ("q", "dl_q"),
        ("q_p_value", "dl_qp"),
    ]:
        np.testing.assert_allclose(het[col], models_ref[key], **TIGHT)
    fe = res.pooled.set_index("model").loc["fixed"]
    np.testing.assert_allclose(
        [fe["estimate"], fe["se"]], [models_ref["fe_est"], models_ref["fe_se"]], **TIGHT
    )
    np.testing.assert_allclose(res.studies["weight_random"], models_ref["dl_weights"], **TIGHT)
