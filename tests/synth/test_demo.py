"""The committed demo set equals a fresh regeneration and every study ingests."""

from __future__ import annotations

from pathlib import Path

import pytest

from mentoreval.synth.demo import DEMO_STUDIES, build_demo, demo_hashes

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo"


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    build_demo(out)
    return out


def test_committed_demo_equals_fresh_build(fresh):
    committed, rebuilt = demo_hashes(DEMO), demo_hashes(fresh)
    assert sorted(committed) == sorted(rebuilt), "run: python -m mentoreval.synth.demo"
    changed = [k for k in committed if committed[k] != rebuilt[k]]
    assert not changed, f"stale demo files {changed}; run: python -m mentoreval.synth.demo"


def test_demo_is_small_and_keyless():
    files = [p for p in DEMO.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) < 2 * 1024 * 1024
    assert not [p for p in files if p.suffix == ".key"]
    readme = (DEMO / "README.md").read_text(encoding="utf-8")
    assert "synthetic" in readme.lower()


def test_demo_shape():
    import yaml

    assert len(DEMO_STUDIES) == 6
    programmes = {s.spec.programme for s in DEMO_STUDIES}
    assert programmes == {"peer", "faculty"}
    assert {s.spec.cohort for s in DEMO_STUDIES} == {"2023", "2024", "2025"}
    assert any(s.spec.design == "comparison" for s in DEMO_STUDIES)
    assert 300 <= sum(s.spec.n_students for s in DEMO_STUDIES) <= 600
    batch = yaml.safe_load((DEMO / "batch.yaml").read_text())
    kinds = [j["kind"] for j in batch["jobs"]]
    assert kinds.count("cohort") == 12 and kinds.count("annual") == 2  # + 6 designs/
    for job in batch["jobs"]:
        assert (DEMO / job["config"]).is_file()
    for s in DEMO_STUDIES:
        cfg = yaml.safe_load((DEMO / s.folder / "study.yaml").read_text())
        assert cfg["key_file"] == "../../demo.key"
        assert (DEMO / s.folder / cfg["meetings"]["path"]).is_file()


@pytest.mark.parametrize("study", [s.folder for s in DEMO_STUDIES])
def test_demo_study_ingests(study, tmp_path):
    ingest = pytest.importorskip("mentoreval.ingest.pipeline")
    # out_dir in tmp_path: never compare against (or touch) the checkout's data/processed
    res = ingest.ingest_study(
        DEMO / study / "study.yaml", out_dir=tmp_path, key=bytes(32), write=False
    )
    spec = next(s.spec for s in DEMO_STUDIES if s.folder == study)
    assert res.summary["participants"] == spec.n_students
    assert res.summary["answers_quarantined"] == 0
    assert res.summary["linked_pairs"] >= 0.6 * spec.n_students
    assert set(res.quarantine["rule"]) <= {"duplicate", "qualtrics_preview", "qualtrics_test"}
