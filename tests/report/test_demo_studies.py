"""Every demo cohort in ``make demo``'s batch analyses (CI does not run ``make demo``; the
faculty demo once stopped there with a length error no other test reached)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mentoreval.config.disclosure import DisclosurePolicy
from mentoreval.ingest.pipeline import ingest_study
from mentoreval.ingest.protect import keygen
from mentoreval.report.cohort.designs import analyse_study
from mentoreval.report.wording import summary_line

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo"


def _cohort_jobs() -> list[str]:
    batch = DEMO / "batch.yaml"
    if not batch.is_file():
        return []
    jobs = yaml.safe_load(batch.read_text(encoding="utf-8"))["jobs"]
    return [job["config"] for job in jobs if job["kind"] == "cohort"]


@pytest.mark.parametrize("config", _cohort_jobs())
def test_every_demo_cohort_analyses_and_reports_findings(
    config: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keygen(tmp_path / "demo.key")
    monkeypatch.setenv("MENTOREVAL_KEY_FILE", str(tmp_path / "demo.key"))
    study = DEMO / config
    ingest_study(study, out_dir=tmp_path / "processed")
    results = analyse_study(tmp_path / "processed", study, imputations=2,
                            policy=DisclosurePolicy(profile="off"), use_ledger=False)  # fmt: skip
    assert results.tables, config
    lines = [summary_line(f, confidence=results.confidence, policy=results.policy)
             for f in results.headline]  # fmt: skip
    assert all("nan" not in line.lower().split() for line in lines), config


def test_the_demo_batch_lists_cohort_studies() -> None:
    if not (DEMO / "batch.yaml").is_file():
        pytest.skip("demo data not present")
    assert len(_cohort_jobs()) >= 10
