"""A linked two-wave report reads the paired change against the minimal important
difference (issue 17): TOST from the released numbers, and "smaller than the MID" only when
the whole interval lies inside ±MID."""

from __future__ import annotations

from pathlib import Path

import pytest
from scipy import stats

from mentoreval.config.study import load_study
from mentoreval.ingest.pipeline import ingest_study
from mentoreval.report.cohort.designs import analyse_study
from mentoreval.report.cohort.results import CohortResults
from mentoreval.synth.multiwave import write_waves_study


def analysed(folder: Path, n: int, change: float) -> CohortResults:
    config, _ = write_waves_study(
        folder, key_file="unused.key", n_students=n, seed=8, waves=("pre", "post"),
        trajectory={"mentored": (0.0, change)}, retention=(1.0, 0.9),
    )  # fmt: skip
    processed = ingest_study(config, out_dir=folder / "out", key=bytes(32), write=False)
    return analyse_study(processed, load_study(config))


def test_a_narrow_interval_inside_the_mid_is_called_smaller_than_it(tmp_path):
    res = analysed(tmp_path, 400, 0.02)
    assert res.design == "single_arm" and "multiwave" not in res.tables
    (finding,) = res.headline
    assert finding.ci_low > -10 and finding.ci_high < 10
    assert finding.judgement == (
        "a change smaller than the minimal important difference (10 points)"
    )
    eq = res.tables["equivalence"]
    assert list(eq["verdict"]) == ["smaller than MID"] and eq["mid"].iloc[0] == 10
    assert eq["mid_source"].iloc[0].endswith("(Topp et al. 2015; secondary source)")
    # the TOST p from the released paired change, by hand: the larger one-sided p
    comp = res.tables["comparisons"].iloc[0]
    se = (comp["ci_high"] - comp["ci_low"]) / (2 * stats.t.ppf(0.975, comp["df"]))
    p_lower = stats.t.sf((comp["mean_diff"] + 10) / se, comp["df"])
    p_upper = stats.t.cdf((comp["mean_diff"] - 10) / se, comp["df"])
    assert eq["p_tost"].iloc[0] == pytest.approx(max(p_lower, p_upper), rel=1e-9)


def test_a_wide_interval_keeps_its_judgement(tmp_path):
    res = analysed(tmp_path, 24, 0.0)
    (finding,) = res.headline
    assert finding.ci_low < -10 or finding.ci_high > 10
    assert "minimal important difference" not in finding.judgement
