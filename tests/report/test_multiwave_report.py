"""A linked study with more than two waves through the cohort report (issue 17)."""

from __future__ import annotations

import html as html_lib
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mentoreval.cli import main
from mentoreval.config.study import load_study
from mentoreval.ingest.pipeline import ingest_study
from mentoreval.report.cohort.alttexts import cohort_alt_texts
from mentoreval.report.cohort.designs import analyse_study
from mentoreval.report.cohort.results import CohortResults
from mentoreval.synth.multiwave import write_waves_study


def analysed(folder: Path, **options: object) -> CohortResults:
    config, _ = write_waves_study(folder, key_file="unused.key", **options)
    processed = ingest_study(config, out_dir=folder / "out", key=bytes(32), write=False)
    return analyse_study(processed, load_study(config))


@pytest.fixture(scope="module")
def four_waves(tmp_path_factory: pytest.TempPathFactory) -> CohortResults:
    return analysed(tmp_path_factory.mktemp("waves"), n_students=160, seed=2025)


def test_the_headline_is_the_paired_comparison_of_the_primary_contrast(four_waves):
    comp = four_waves.tables["comparisons"]
    assert set(comp["pre"]) == {"pre"} and set(comp["post"]) == {"followup"}
    assert four_waves.info["waves"] == ["pre", "mid", "post", "followup"]
    assert four_waves.info["design_words"] == (
        "4 waves, linked by id, comparison group (primary contrast: followup vs pre)"
    )


def test_participation_means_and_contrasts_are_reported_for_every_wave_and_arm(four_waves):
    t = four_waves.tables
    part = t["wave_participation"]
    assert list(part["wave"][:4]) == ["pre", "mid", "post", "followup"]
    assert list(dict.fromkeys(part["group"])) == ["mentored", "comparison"]
    assert len(t["wave_means"]) == 8
    mw = t["multiwave"]
    change = mw[mw["family"] == "change from baseline"]
    assert len(change) == 6 and set(change["p_adjust"]) == {"holm"}
    assert (mw["p_adj"] >= mw["p_value"] - 1e-12).all()
    assert list(mw.loc[mw["primary"], "wave"]) == ["followup"] * 3
    # Holm within each arm: the smallest adjusted p is 3 × the smallest raw p
    arm = change[change["group"] == "mentored"]
    assert arm["p_adj"].min() == pytest.approx(min(1.0, 3 * arm["p_value"].min()))


def test_the_paired_n_and_the_wave_count_at_the_contrast_share_one_release_decision(four_waves):
    part = four_waves.tables["wave_participation"]
    comp = four_waves.tables["comparisons"].set_index("group")
    at_followup = part[part["wave"] == "followup"].set_index("group")["n_baseline"]
    assert at_followup["mentored"] == comp.at["mentored", "n_pairs"]


def test_a_wave_answered_by_few_students_is_hidden_with_its_statistics(tmp_path):
    res = analysed(tmp_path, n_students=70, seed=5, retention=(1.0, 0.1, 0.8, 0.75))
    part = res.tables["wave_participation"]
    mid = part[part["wave"] == "mid"]
    assert mid["n"].isna().all() and mid["retention"].isna().all()
    shown = part["n"].dropna()
    assert (shown >= 10).all()
    means = res.tables["wave_means"]
    assert means.loc[means["wave"] == "mid", "estimate"].isna().all()
    assert means.loc[means["wave"] == "post", "estimate"].notna().all()
    mw = res.tables["multiwave"]
    assert mw.loc[mw["wave"] == "mid", ["estimate", "ci_low", "p_adj"]].isna().all().all()
    assert "not shown" in res.info["multiwave_summary"][0]


def test_the_trajectory_figure_has_alt_text_from_the_released_means(four_waves):
    texts = cohort_alt_texts(
        four_waves.tables, four_waves.figures, design=four_waves.design,
        info=four_waves.info, confidence=0.95, policy=four_waves.policy,
    )  # fmt: skip
    alt = texts["trajectory_who5_total"]
    means = four_waves.tables["wave_means"]
    first = means.iloc[0]
    assert alt.startswith("Line chart of WHO-5")
    assert "pre, mid, post, followup" in alt and "Mentored: pre " in alt
    assert f"{first['estimate']:.1f}" in alt


def test_multiwave_report_reads_as_four_waves(tmp_path):
    config, _ = write_waves_study(tmp_path / "study", key_file="../k.key", n_students=120, seed=3)
    from mentoreval.ingest.protect import keygen

    keygen(tmp_path / "k.key")
    out = tmp_path / "report"
    with pytest.raises(SystemExit) as done:
        main(["report", str(config), "--out", str(out), "--no-pdf"])
    assert done.value.code in (0, None)
    html = (out / "cohort_report.html").read_text(encoding="utf-8")
    text = re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", html)))
    assert "design: 4 waves, linked by id, comparison group" in text
    assert "pre → mid → post → followup" in text
    assert "single group, pre/post" not in text
    assert "each wave against baseline" in text and "model-based means at each wave" in text
    assert 'alt="Line chart of WHO-5' in html
    assert not re.search(r"\bnan\b", text)
    results = json.loads((out / "results.json").read_text())
    assert results["figures"]["trajectory_who5_total"]["alt"].startswith("Line chart")
    mw = pd.read_csv(out / "tables" / "multiwave.csv")
    assert np.isfinite(mw["df"]).all()
