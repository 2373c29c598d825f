"""The synthetic then-test study: written, ingested, and its known truth recovered."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mentoreval.ingest.pipeline import ingest_study
from mentoreval.synth.thentest import write_then_test_study


def test_the_then_test_study_ingests_as_two_linked_waves_scored_from_its_two_item_sets(
    tmp_path: Path,
) -> None:
    study = write_then_test_study(tmp_path / "study", n_students=40, seed=3, recall_shift=1.0)
    res = ingest_study(study.config, key=bytes(32), out_dir=tmp_path / "out")
    assert res.manifest["design"]["kind"] == "then_test"
    assert res.summary["linked_pairs"] == 40 and res.summary["rows_kept"] == 40
    scores = res.scores.pivot_table(
        index="participant_id", columns="wave", values="score", observed=True
    )
    export = pd.read_csv(study.export)
    # WHO-5 percentage score: raw sum x 4, from the "before" columns (pre) and the item ids (post)
    before = export.filter(like="_before").sum(axis=1) * 4
    now = export[[f"who5_{i}" for i in range(1, 6)]].sum(axis=1) * 4
    assert np.allclose(np.sort(scores["pre"]), np.sort(before))
    assert np.allclose(np.sort(scores["post"]), np.sort(now))
    # Recalled one code lower: the then-test "before" is below the prospective pre answers,
    # so the then-test change exceeds what a prospective pre wave would have shown.
    prospective = study.prospective_pre.sum(axis=1).mean() * 4
    assert scores["pre"].mean() < prospective
