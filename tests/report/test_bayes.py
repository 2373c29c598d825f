"""The reports' default-prior Bayes factor (issue 17): BF₁₀ of each *released* t test,
from published numbers only, so a row the release withholds has none."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mentoreval.config.study import load_study
from mentoreval.ingest.pipeline import ingest_study
from mentoreval.report.cohort.bayes import (
    independent_bayes_factors,
    paired_bayes_factors,
    with_bayes_factors,
)
from mentoreval.report.cohort.designs import analyse_study
from mentoreval.report.numbers import bf_text, format_numbers, round_for_paste
from mentoreval.report.tables import column_label
from mentoreval.stats.equivalence import bayes_factor_t
from mentoreval.stats.unlinked import compare_unlinked
from mentoreval.synth.multiwave import write_waves_study


def test_paired_bayes_factor_is_that_of_the_released_t_and_n_and_none_where_withheld():
    released = pd.DataFrame({"t": [2.5, -1.2, np.nan, 3.0], "n_pairs": [40.0, 12, 30, np.nan]})
    got = paired_bayes_factors(released)
    assert got.iloc[0] == bayes_factor_t(2.5, 40, paired=True)
    assert got.iloc[1] == bayes_factor_t(-1.2, 12, paired=True)
    assert got.iloc[2:].isna().all()  # t withheld; n hidden to protect another cell


def test_paired_bayes_factor_matches_ttestbf():
    # R (BayesFactor 0.9.12-4.4): ttestBF(x = sleep$extra[11:20], y = sleep$extra[1:10],
    # paired = TRUE) gives 17.25888027; from its t (4.062127683) and n,
    # exp(ttest.tstat(4.062127683, 10, rscale = sqrt(2)/2)$bf) gives 17.25888026
    got = paired_bayes_factors(pd.DataFrame({"t": [4.062127683], "n_pairs": [10]}))
    assert got.iloc[0] == pytest.approx(17.25888026, rel=1e-6)


def test_independent_bayes_factor_uses_the_pooled_t_as_ttestbf():
    # R: exp(ttest.tstat(1 / sqrt(1/10 + 1/12), 10, 12, rscale = sqrt(2)/2)$bf) = 2.365355312
    table = pd.DataFrame({"d_s": [1.0], "n_pre": [10.0], "n_post": [12.0]})
    assert independent_bayes_factors(table, "n_pre", "n_post").iloc[0] == pytest.approx(
        2.365355312, rel=1e-6
    )


def test_independent_bayes_factor_from_the_table_equals_that_of_the_raw_samples():
    # the raw-data BF (compare_independent, checked against ttestBF in
    # tests/stats/test_designs_reference.py) is given back by the table's d_s and n
    rng = np.random.default_rng(3)
    scores = pd.DataFrame({
        "participant_id": [f"r{i}" for i in range(70)], "instrument": "who5",
        "scale": "total", "wave": ["pre"] * 30 + ["post"] * 40,
        "score": np.r_[rng.normal(50, 12, 30), rng.normal(56, 15, 40)],
    })  # fmt: skip
    table = compare_unlinked(scores, details=True)
    got = independent_bayes_factors(table, "n_pre", "n_post")
    assert got.iloc[0] == pytest.approx(table["bf10"].iloc[0], rel=1e-10)
    assert 0.1 < got.iloc[0] < 10  # a finite, ordinary value
    withheld = table.assign(d_s=np.nan)
    assert independent_bayes_factors(withheld, "n_pre", "n_post").isna().all()


def test_bayes_factor_is_shown_with_significant_digits_and_labelled():
    assert column_label("bf10") == "BF₁₀ (JZS, r = 0.707)"
    t = pd.DataFrame({"bf10": [0.0312, 4.712, 17.26, 2500.0, np.nan, np.nan],
                      "suppressed": [False, False, False, False, True, False]})  # fmt: skip
    assert format_numbers(t)["bf10"].tolist() == ["0.031", "4.7", "17", "> 1000", "[c]", "–"]
    assert round_for_paste(t.drop(columns="suppressed"))["bf10"].tolist()[:4] == [
        0.0312,
        4.71,
        17.3,
        2500.0,
    ]
    assert bf_text(1 / 3) == "0.33" and bf_text(3.0) == "3.0"


def test_linked_report_gives_each_released_paired_change_its_bayes_factor(tmp_path: Path):
    config, _ = write_waves_study(
        tmp_path, key_file="unused.key", n_students=60, seed=8, waves=("pre", "post"),
        trajectory={"mentored": (0.0, 0.4)}, retention=(1.0, 0.9),
    )  # fmt: skip
    processed = ingest_study(config, out_dir=tmp_path / "out", key=bytes(32), write=False)
    res = analyse_study(processed, load_study(config))
    comp = res.tables["comparisons"]
    assert comp["bf10"].notna().all()
    for r in comp.itertuples():
        assert r.bf10 == bayes_factor_t(float(r.t), int(r.n_pairs), paired=True)
    # a withheld row (t blanked by the release) keeps no Bayes factor
    blanked = res.tables | {"comparisons": comp.assign(t=math.nan).drop(columns="bf10")}
    again = with_bayes_factors(res.__class__(**{**res.__dict__, "tables": blanked}))
    assert again.tables["comparisons"]["bf10"].isna().all()
