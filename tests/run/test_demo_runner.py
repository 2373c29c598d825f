"""The demo runner's pieces (the full run is `make demo`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mentoreval.run.batch_config import load_batch_config
from mentoreval.run.demo import demo_data_dir, demo_key_file, describe_outputs
from mentoreval.run.jobs import Job

REPO = Path(__file__).resolve().parents[2]


def test_demo_data_is_the_checkouts(tmp_path: Path) -> None:
    assert demo_data_dir(work=tmp_path) == REPO / "data" / "demo"
    assert not any(tmp_path.iterdir())  # nothing built when the checkout has the data


def test_demo_key_from_env_or_created_once_in_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MENTOREVAL_KEY_FILE", str(tmp_path / "given.key"))
    assert demo_key_file() == tmp_path / "given.key"
    monkeypatch.delenv("MENTOREVAL_KEY_FILE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    key = demo_key_file()
    assert key == tmp_path / "cache" / "mentoreval" / "demo.key"
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    text = key.read_text()
    assert demo_key_file() == key and key.read_text() == text  # reused, not regenerated
    assert "MENTOREVAL_KEY_FILE" not in os.environ


def test_describe_outputs_lists_reports_only(tmp_path: Path) -> None:
    for name in ("a/cohort_report.html", "a/cohort_report.pdf", "b/annual_report.html",
                 "a/tables/comparisons.csv"):  # fmt: skip
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    assert describe_outputs(tmp_path) == [
        "a/cohort_report.html", "a/cohort_report.pdf", "b/annual_report.html"
    ]  # fmt: skip


def test_demo_jobs_use_the_demos_own_store_never_the_projects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 16 (point 11): `mentoreval demo` filed its synthetic cohorts in the user's
    data/store, so `studies: all` pooled them with real ones. Every demo job now names the
    demo's store (and processed folder) under the demo's output folder."""
    import pandas as pd

    from mentoreval.run import batch, demo

    handed: list[Job] = []

    def fake_run_batch(jobs: list[Job], **options: object) -> pd.DataFrame:
        handed.extend(jobs)
        return pd.DataFrame({"job": [j.name for j in jobs], "status": "ok"})

    monkeypatch.setattr(batch, "run_batch", fake_run_batch)
    monkeypatch.setenv("MENTOREVAL_KEY_FILE", str(tmp_path / "demo.key"))
    out = tmp_path / "reports" / "demo"
    demo.run_demo(out=out, jobs=1, progress=False)
    config = load_batch_config(REPO / "data" / "demo" / "batch.yaml")
    assert [j.name for j in handed] == [j.name for j in config.jobs]
    assert {j.kind for j in handed} == {"cohort", "annual"}
    for job in handed:
        assert job.store == out.resolve() / "store", job
        assert job.processed == out.resolve() / "processed" / job.name, job
        assert job.out_dir == out.resolve() / job.name


def test_job_runners_hand_the_jobs_store_to_the_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    from mentoreval.report.annual import runner as annual_runner
    from mentoreval.report.cohort import runner as cohort_runner
    from mentoreval.run.jobs import run_annual_job, run_cohort_job

    calls: dict[str, dict[str, object]] = {}
    monkeypatch.setattr(
        cohort_runner, "run_cohort_report", lambda config, **kw: calls.setdefault("cohort", kw)
    )
    monkeypatch.setattr(
        annual_runner, "run_annual_report", lambda config, **kw: calls.setdefault("annual", kw)
    )
    store, processed = Path("/demo/store"), Path("/demo/processed/a")
    run_cohort_job(Job("a", "cohort", Path("a.yaml"), Path("/demo/a"), store, processed))
    run_annual_job(Job("b", "annual", Path("b.yaml"), Path("/demo/b"), store))
    assert calls["cohort"]["store_root"] == store
    assert calls["cohort"]["processed_dir"] == processed
    assert calls["annual"]["store_root"] == store


@pytest.mark.slow
def test_demo_run_leaves_the_projects_store_and_processed_data_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole demo (14 reports, a few minutes): its six cohorts end up in its own store,
    and the checkout's data/store and data/processed are as they were."""
    from mentoreval.ingest.protect import keygen
    from mentoreval.run.demo import run_demo
    from mentoreval.store.parquet import list_cohorts

    def snapshot(folder: Path) -> dict[str, float]:
        return {str(p): p.stat().st_mtime for p in folder.rglob("*")} if folder.exists() else {}

    keygen(tmp_path / "demo.key")
    monkeypatch.setenv("MENTOREVAL_KEY_FILE", str(tmp_path / "demo.key"))
    before = {name: snapshot(REPO / "data" / name) for name in ("store", "processed")}
    out = tmp_path / "reports" / "demo"
    summary = run_demo(out=out, jobs=2, progress=False)
    assert (summary["status"] == "ok").all()
    assert {name: snapshot(REPO / "data" / name) for name in ("store", "processed")} == before
    assert len(list_cohorts(out / "store")) == 6
    assert (out / "store" / "ledger" / "releases.json").is_file()
    assert (
        len(list((out / "processed").glob("*/scores.parquet"))) == 12
    )  # + designs/waves-, anonymous-, post-only-, then-test-, sgic-, randomised-2025
