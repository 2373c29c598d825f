"""Behaviour of the public API: table contracts, errors, options, edge cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mentoreval.errors import DataError, MentorevalError
from mentoreval.stats import (
    COMPARISON_COLUMNS,
    adjust_pvalues,
    classify_change,
    compare_bands,
    compare_paired,
    fit_ancova,
    fit_mixed,
    fit_reliability,
    plan_sample_size,
    to_prepost,
)
from mentoreval.stats.analysis import run_analysis
from mentoreval.stats.caveats import assess_caveats
from mentoreval.stats.missing import compare_attrition, impute_ancova
from mentoreval.stats.weighting import fit_ipw


def _scores(n: int = 30, seed: int = 0, scales: tuple[str, ...] = ("total",)) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ids = [f"p{i}" for i in range(n)]
    frames = []
    for sc in scales:
        pre = rng.normal(50, 10, n)
        post = pre + 2 + rng.normal(0, 5, n)
        for wave, v in (("pre", pre), ("post", post)):
            frames.append(pd.DataFrame({"participant_id": ids, "wave": wave, "instrument": "who5", "scale": sc,
                                        "score": v, "band": np.where(v > 50, "ok", "low")}))  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def test_compare_paired_contract_and_holm() -> None:
    s = _scores(scales=("a", "b", "c"))
    out = compare_paired(s)
    assert list(out.columns) == COMPARISON_COLUMNS
    assert len(out) == 3
    np.testing.assert_allclose(out["p_adj"], adjust_pvalues(out["p_value"], method="holm"))
    assert (out["pre"] == "pre").all()
    assert (out["post"] == "post").all()
    # g_av = d_av * J(n - 1)
    np.testing.assert_allclose(out["g_av"] / out["d_av"], 1 - 3 / (4 * 29 - 1), rtol=1e-3)
    det = compare_paired(s, details=True, wilcoxon="exact")
    assert {"r_prepost", "d_rm", "wilcoxon_method"} <= set(det.columns)


def test_incomplete_pairs_are_dropped() -> None:
    s = _scores(n=10)
    s = s[~((s["participant_id"] == "p0") & (s["wave"] == "post"))]
    assert compare_paired(s)["n_pairs"].iloc[0] == 9


def test_bad_inputs_raise_located_errors() -> None:
    s = _scores()
    with pytest.raises(DataError, match="not found in scores"):
        compare_paired(s, post="t2")
    with pytest.raises(MentorevalError, match="not a valid choice"):
        compare_paired(s, wilcoxon="permutation")  # type: ignore[arg-type]
    with pytest.raises(MentorevalError, match="'holm', 'bh'"):
        adjust_pvalues([0.1], method="hs")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="missing column"):
        compare_paired(s.drop(columns=["score"]))
    dup = pd.concat([s, s.head(1)])
    with pytest.raises(DataError, match="duplicated"):
        to_prepost(dup)
    with pytest.raises(DataError, match="reverse given without response_range"):
        fit_reliability(pd.DataFrame({"a": [1, 2, 3], "b": [2, 3, 3]}), reverse=["a"])
    with pytest.raises(DataError, match="exactly two levels"):
        fit_ancova(
            pd.DataFrame({"pre": [1.0, 2, 3, 4], "post": [1.0, 2, 3, 4], "group": ["a"] * 4})
        )


def test_bands_and_mcnemar() -> None:
    scores = _scores(n=60)
    out = compare_bands(scores)
    assert set(out["band"]) == {"low", "ok"}
    assert np.allclose(out.groupby("scale")["prop_pre"].sum(), 1)
    # moves between bands counted by hand from the pairs, and McNemar's corrected chi-square
    bands = scores.pivot(index="participant_id", columns="wave", values="band")
    for row in out.itertuples(index=False):
        entered = int(((bands["pre"] != row.band) & (bands["post"] == row.band)).sum())
        left = int(((bands["pre"] == row.band) & (bands["post"] != row.band)).sum())
        assert (row.n_entered, row.n_left) == (entered, left)
        assert (row.n_pre, row.n_post) == (
            (bands["pre"] == row.band).sum(),
            (bands["post"] == row.band).sum(),
        )
        assert entered + left > 0  # the data do move between bands: the test statistic is real
        chi2 = (abs(entered - left) - 1) ** 2 / (entered + left)
        assert row.method == "chisq_corrected"
        assert row.statistic == pytest.approx(chi2)
        assert row.p_value == pytest.approx(stats.chi2.sf(chi2, df=1))


def test_change_direction_and_source() -> None:
    s = _scores(n=50)
    out = classify_change(s, sample_reliability={("who5", "total"): 0.8}, higher_is_better=False)
    assert set(out["reliability_source"]) == {"sample"}
    # lower is better: a reliable increase is a deterioration, a reliable decrease an
    # improvement; RCI = change / (SD_pre * sqrt(2 * (1 - r))), Jacobson & Truax
    rci = out["change"] / (out["sd_pre"] * np.sqrt(2 * (1 - 0.8)))
    np.testing.assert_allclose(out["rci"], rci)
    expected = np.select([rci >= 1.96, rci <= -1.96], ["deteriorated", "improved"], "unchanged")
    assert out["classification"].tolist() == expected.tolist()
    assert (rci >= 1.96).sum() >= 1  # at least one reliable increase in these data
    with pytest.raises(DataError, match="no reliability"):
        classify_change(s)


def test_mixed_single_arm_and_rank_deficient() -> None:
    s = _scores(n=20)
    s = s[~((s["participant_id"].isin(["p1", "p2"])) & (s["wave"] == "post"))]
    m = fit_mixed(s, group=None)
    assert m.contrast["contrast"].iloc[0] == "change: post - pre"
    assert m.contrast["n_single_wave"].iloc[0] == 2
    assert m.coefficients["df"].between(10, 40).all()


def test_attrition_ipw_imputation_caveats() -> None:
    rng = np.random.default_rng(4)
    n = 120
    d = pd.DataFrame({"pre": rng.normal(50, 10, n), "group": np.tile(["mentored", "comparison"], n // 2),
                      "year": rng.integers(1, 6, n)})  # fmt: skip
    d["post"] = 10 + 0.8 * d["pre"] + 3 * (d["group"] == "mentored") + rng.normal(0, 5, n)
    d.loc[d.index[:30:2], "post"] = np.nan  # 15 mentored drop out
    att = compare_attrition(d, covariates=["year"])
    assert att.differential["applies"].iloc[0]
    assert {"pre", "year"} <= set(att.balance["variable"])
    mi = impute_ancova(d, covariates=["year"], m=20, seed=1)
    assert mi["m"].iloc[0] == 20
    assert mi["n_imputed"].iloc[0] == 15
    assert 0 < mi["fmi"].iloc[0] < 1
    ipw = fit_ipw(d.dropna(), covariates=["year"])
    assert ipw.effect["max_abs_smd_after"].iloc[0] < 0.1
    pp = d.assign(participant_id=[f"p{i}" for i in range(n)], instrument="who5", scale="total")
    cav = assess_caveats(
        pp, group="group", attrition=att.differential.assign(instrument="who5", scale="total")
    )
    assert set(cav["caveat"]) == {
        "single_arm",
        "regression_to_mean",
        "differential_attrition",
        "underpowered",
    }
    assert not cav.set_index("caveat").at["single_arm", "applies"]


def test_planning_monotone() -> None:
    small = plan_sample_size(0.3, design="paired")["n_required"].iloc[0]
    big = plan_sample_size(0.6, design="paired")["n_required"].iloc[0]
    assert small > big
    with pytest.raises(MentorevalError):
        plan_sample_size(-0.2)


def test_run_analysis_single_arm() -> None:
    res = run_analysis(_scores(n=25, scales=("a", "b")), m=5)
    assert "ancova" not in res.tables
    cav = res["caveats"].set_index("caveat")
    assert bool(cav.loc["single_arm", "applies"])
    assert len(res["mixed"]) == 2
    assert res["fit_notes"].empty


def test_ancova_with_a_one_level_covariate_gives_that_term_no_f_test() -> None:
    """A categorical covariate whose rare levels were all recoded to "other" has one level
    and no columns in the design: its ANOVA row has F and p NaN; before, a division by
    zero stopped the whole report."""
    from mentoreval.stats.controlled import fit_ancova

    data = pd.DataFrame(
        {
            "pre": [4.0, 3.0, 5.0, 2.0, 4.0, 3.0, 1.0],
            "post": [5.0, 3.0, 2.0, 5.0, 4.0, 4.0, 2.0],
            "group": [
                "control",
                "mentored",
                "mentored",
                "control",
                "mentored",
                "control",
                "control",
            ],
            "site": ["other"] * 7,
        }
    )
    fit = fit_ancova(data, covariates=["site"])
    row = fit.anova[fit.anova["term"].str.contains("site")]
    assert len(row) == 1 and row["f"].isna().all() and row["p_value"].isna().all()
    assert fit.anova.loc[fit.anova["term"] == "group", "f"].notna().all()
