"""Synthetic multi-wave data: the truth it states is what fit_multiwave recovers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mentoreval.config.design import study_design
from mentoreval.config.study import load_study
from mentoreval.stats.multiwave import fit_multiwave
from mentoreval.synth.multiwave import generate_waves, write_waves_study


def who5_scores(data: pd.DataFrame) -> pd.DataFrame:
    """WHO-5 total by hand: 4 × the sum of the five 0-5 items (0-100)."""
    items = [f"who5_{i}" for i in range(1, 6)]
    return data.assign(score=4 * data[items].sum(axis=1))[["student_id", "wave", "group", "score"]]


def test_every_change_from_baseline_lies_in_the_models_99_percent_interval():
    data = generate_waves(600, seed=3)
    fit = fit_multiwave(
        who5_scores(data.responses), waves=list(data.waves), subject="student_id",
        group="group", treated="mentored", confidence=0.99,
    )  # fmt: skip
    c = fit.contrasts[fit.contrasts["family"] == "change from baseline"]
    truth = data.truth.set_index(["group", "wave"])["change"]
    for r in c.itertuples():
        true = truth[(r.group, r.wave)]
        assert r.ci_low < true < r.ci_high, (r.group, r.wave, true, r.ci_low, r.ci_high)
    # the truth is not trivially inside: the mentored change at post is clearly positive
    assert truth[("mentored", "post")] > 5 and c["ci_low"].max() > 0


def test_model_means_recover_the_expected_scores_at_each_wave():
    data = generate_waves(600, trajectory={"mentored": (0.0, 0.3, 0.5, 0.4)}, seed=4)
    fit = fit_multiwave(who5_scores(data.responses), waves=list(data.waves), subject="student_id")
    expected = data.truth.set_index("wave")["expected"]
    for r in fit.means.itertuples():
        assert abs(r.estimate - expected[r.wave]) < 3 * r.se, (r.wave, r.estimate)


def test_participation_follows_the_retention_asked_for():
    data = generate_waves(2000, retention=(1.0, 0.9, 0.6, 0.3), seed=5)
    share = data.responses.groupby("wave", sort=False).size().to_numpy() / 2000
    assert np.allclose(share, [1.0, 0.9, 0.6, 0.3], atol=0.04)


def test_the_written_study_validates_as_a_multiwave_design(tmp_path: Path):
    path, _ = write_waves_study(tmp_path, n_students=30, seed=2, contrast=["pre", "post"])
    design = study_design(load_study(path).config)
    assert design.multiwave and design.primary == ("pre", "post")
    assert design.group is not None and design.group.control == "comparison"
