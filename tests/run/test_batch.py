"""Tests for mentoreval.run.batch: parallel runs, failure isolation, retries, Dask, batch.yaml."""

from __future__ import annotations

import json
import os
import re
import shutil
import traceback
from pathlib import Path

import pandas as pd
import papermill as pm
import pytest
import yaml

from mentoreval.errors import ConfigError
from mentoreval.report.helper import helper_wanted
from mentoreval.run.batch import (
    format_batch_summary,
    is_kernel_startup_race,
    job_environment,
    run_batch,
    run_job,
)
from mentoreval.run.batch_config import load_batch_config
from mentoreval.run.jobs import Job, job_kinds, register_job_kind

NOTEBOOK = Path(__file__).parents[1] / "fixtures" / "notebooks" / "tiny_report.ipynb"


# --- job kinds for the tests (top level, so worker processes can import them) ----------


def trivial_job(job: Job) -> None:
    """Read a tiny YAML config and write result.json; ``fail: true`` raises."""
    config = yaml.safe_load(job.config.read_text()) or {}
    if config.get("fail"):
        raise ValueError(f"deliberately broken study {job.name}")
    job.out_dir.mkdir(parents=True, exist_ok=True)
    result = {"name": job.name, "total": sum(config.get("values", []))}
    (job.out_dir / "result.json").write_text(json.dumps(result, sort_keys=True))


def crashing_job(job: Job) -> None:
    """Kill the worker process outright, as a segfault or the OOM killer would."""
    os._exit(3)


def flaky_job(job: Job) -> None:
    """Lose a kernel start-up race on the first attempt, then succeed."""
    job.out_dir.mkdir(parents=True, exist_ok=True)
    marker = job.out_dir / "attempted"
    if not marker.exists():
        marker.write_text("1")
        raise RuntimeError("Kernel didn't respond in 60 seconds")
    (job.out_dir / "result.json").write_text("{}")


def notebook_job(job: Job) -> None:
    """Run the tiny papermill report with the job's parameters."""
    config = yaml.safe_load(job.config.read_text()) or {}
    job.out_dir.mkdir(parents=True, exist_ok=True)
    pm.execute_notebook(
        str(NOTEBOOK),
        str(job.out_dir / f"{job.name}.ipynb"),
        parameters={
            "name": job.name,
            "out_dir": str(job.out_dir),
            "fail": bool(config.get("fail")),
        },
        kernel_name="python3",
        progress_bar=False,
        log_output=True,
    )


register_job_kind("trivial", trivial_job)
register_job_kind("crash", crashing_job)
register_job_kind("flaky", flaky_job)
register_job_kind("notebook", notebook_job)


def make_jobs(tmp_path: Path, specs: dict[str, dict], kind: str = "trivial") -> list[Job]:
    jobs = []
    for name, config in specs.items():
        path = tmp_path / "configs" / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(config))
        jobs.append(Job(name, config.pop("kind", kind), path, tmp_path / "out" / name))
    return jobs


def results(out: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in sorted(out.glob("*/result.json"))}


STUDIES = {
    "school-a": {"values": [1, 2, 3]},
    "school-b": {"values": [10]},
    "school-broken": {"fail": True},
    "school-c": {"values": []},
}


# --- local executor --------------------------------------------------------------------


def test_one_broken_study_does_not_stop_the_others(tmp_path: Path) -> None:
    jobs = make_jobs(tmp_path, STUDIES)
    summary = run_batch(jobs, n_jobs=2, log_dir=tmp_path / "logs", progress=False)
    assert list(summary.columns) == ["job", "kind", "status", "seconds", "error", "attempts", "log"]
    assert summary["job"].tolist() == list(STUDIES)  # input order, not completion order
    status = dict(zip(summary["job"], summary["status"], strict=True))
    assert status == {
        "school-a": "ok",
        "school-b": "ok",
        "school-broken": "failed",
        "school-c": "ok",
    }
    broken = summary.set_index("job").loc["school-broken"]
    assert broken["error"] == "ValueError: deliberately broken study school-broken"
    assert broken["attempts"] == 1  # not a kernel race: no retry
    assert results(tmp_path / "out") == {
        "school-a": {"name": "school-a", "total": 6},
        "school-b": {"name": "school-b", "total": 10},
        "school-c": {"name": "school-c", "total": 0},
    }
    # One log per job, the failure's traceback in its log, and the summary on disk.
    logs = tmp_path / "logs"
    assert sorted(p.name for p in logs.glob("*.log")) == sorted(f"{n}.log" for n in STUDIES)
    broken_log = (logs / "school-broken.log").read_text()
    assert "Traceback" in broken_log and "deliberately broken" in broken_log
    assert "finished" in (logs / "school-a.log").read_text()
    on_disk = pd.read_csv(logs / "summary.csv", keep_default_na=False)
    assert on_disk["status"].tolist() == summary["status"].tolist()
    text = format_batch_summary(summary)
    assert text.splitlines()[-2].startswith("school-broken")
    assert text.endswith("1 of 4 jobs failed")


def test_progress_bar_is_one_overall_bar(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jobs = make_jobs(tmp_path, {"a": {}, "b": {}})
    run_batch(jobs, n_jobs=1, log_dir=tmp_path / "logs", progress=True)
    err = capsys.readouterr().err
    assert "batch" in err and "2/2" in err


def test_a_crashing_worker_only_fails_its_own_job(tmp_path: Path) -> None:
    jobs = make_jobs(tmp_path, {"ok-1": {}, "dies": {"kind": "crash"}, "ok-2": {}})
    summary = run_batch(jobs, n_jobs=2, log_dir=tmp_path / "logs", progress=False)
    status = dict(zip(summary["job"], summary["status"], strict=True))
    assert status == {"ok-1": "ok", "dies": "failed", "ok-2": "ok"}
    error = summary.set_index("job").loc["dies", "error"]
    assert "worker process died" in error
    assert "worker process died" in (tmp_path / "logs" / "dies.log").read_text()


def test_kernel_startup_race_is_retried(tmp_path: Path) -> None:
    jobs = make_jobs(tmp_path, {"flaky": {"kind": "flaky"}})
    summary = run_batch(jobs, log_dir=tmp_path / "logs", progress=False)
    row = summary.iloc[0]
    assert (row["status"], row["attempts"]) == ("ok", 2)
    assert "kernel start-up race on attempt 1" in (tmp_path / "logs" / "flaky.log").read_text()


class ZMQError(Exception):
    """Stands in for zmq.error.ZMQError (same class name, same message)."""


class DeadKernelError(RuntimeError):
    """Stands in for nbclient.exceptions.DeadKernelError."""


def async_start_new_kernel_client() -> None:
    raise DeadKernelError("Kernel died")


def execute_cell() -> None:
    raise DeadKernelError("Kernel died")


def raised(func) -> BaseException:
    try:
        func()
    except BaseException as exc:
        return exc
    raise AssertionError("did not raise")


def test_jobs_and_their_kernels_are_told_the_cores_are_taken(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A batch's workers use the cores: no job, nor a notebook kernel it starts (which is
    no multiprocessing child and cannot tell), spawns helper processes of its own."""
    monkeypatch.setenv("MENTOREVAL_KEY_FILE", "k.key")
    monkeypatch.delenv("MENTOREVAL_HELPER", raising=False)
    env = job_environment()
    assert env["MENTOREVAL_KEY_FILE"] == "k.key" and env["MENTOREVAL_HELPER"] == "0"
    assert not helper_wanted(env)


def test_is_kernel_startup_race() -> None:
    assert is_kernel_startup_race(RuntimeError("Kernel didn't respond in 60 seconds"))
    assert is_kernel_startup_race(ZMQError("Address already in use (addr='tcp://127.0.0.1:5555')"))
    assert is_kernel_startup_race(raised(async_start_new_kernel_client))
    assert not is_kernel_startup_race(raised(execute_cell))  # died mid-run: a real failure
    assert not is_kernel_startup_race(OSError("Address already in use"))  # not zmq
    wrapped = RuntimeError("report failed")
    wrapped.__cause__ = RuntimeError("Kernel didn't respond in 60 seconds")
    assert is_kernel_startup_race(wrapped)
    assert not is_kernel_startup_race(ValueError("bad"))
    assert "DeadKernelError" in "".join(traceback.format_exception(raised(execute_cell)))


def test_run_job_reports_unknown_and_unimportable_kinds(tmp_path: Path) -> None:
    job = Job("x", "nope", tmp_path / "x.yaml", tmp_path)
    result = run_job(job, log_dir=tmp_path)
    assert result.status == "failed" and "unknown kind 'nope'" in (tmp_path / "x.log").read_text()
    result = run_job(job, registry={"nope": "mentoreval.no_such_module:run"})
    assert result.status == "failed" and "not available" in result.error


def test_run_batch_validates_options(tmp_path: Path) -> None:
    jobs = make_jobs(tmp_path, {"a": {}})
    with pytest.raises(ConfigError, match="local, dask"):
        run_batch(jobs, executor="ray", log_dir=tmp_path)  # type: ignore[arg-type]
    with pytest.raises(ConfigError) as info:
        run_batch([*jobs, *jobs], n_jobs=0, scheduler="tcp://x:1", log_dir=tmp_path)
    text = str(info.value)
    assert text.startswith("3 problems") and "duplicate job name 'a'" in text


def test_register_job_kind_rejects_local_functions() -> None:
    def local(job: Job) -> None: ...

    with pytest.raises(ConfigError, match="top-level"):
        register_job_kind("local", local)
    with pytest.raises(ConfigError, match="lacks ':'"):
        register_job_kind("x", "module.function")
    with pytest.raises(ConfigError, match="invalid job kind"):
        register_job_kind("Bad Kind", trivial_job)
    assert {"cohort", "annual", "trivial"} <= set(job_kinds())


# --- papermill notebooks ---------------------------------------------------------------


def test_notebook_jobs_run_in_parallel_with_one_broken(tmp_path: Path) -> None:
    jobs = make_jobs(tmp_path, {"nb-ok": {}, "nb-broken": {"fail": True}}, kind="notebook")
    summary = run_batch(jobs, n_jobs=2, log_dir=tmp_path / "logs", progress=False)
    s = summary.set_index("job")
    assert s.loc["nb-ok", "status"] == "ok", s.loc["nb-ok", "error"]
    assert s.loc["nb-broken", "status"] == "failed"
    assert "PapermillExecutionError" in s.loc["nb-broken", "error"]
    assert "deliberately broken study nb-broken" in s.loc["nb-broken", "error"]
    assert results(tmp_path / "out") == {"nb-ok": {"n_chars": 5, "name": "nb-ok"}}
    # The failed notebook is kept for inspection.
    assert (tmp_path / "out" / "nb-broken" / "nb-broken.ipynb").is_file()


# --- Dask ------------------------------------------------------------------------------


def test_dask_local_cluster_matches_local_executor(tmp_path: Path) -> None:
    specs = {**STUDIES, "nb": {"kind": "notebook"}}
    local_jobs = make_jobs(tmp_path / "local", {k: dict(v) for k, v in specs.items()})
    dask_jobs = make_jobs(tmp_path / "dask", {k: dict(v) for k, v in specs.items()})
    local = run_batch(local_jobs, n_jobs=2, log_dir=tmp_path / "local" / "logs", progress=False)
    remote = run_batch(
        dask_jobs, n_jobs=2, executor="dask", log_dir=tmp_path / "dask" / "logs", progress=False
    )
    cols = ["job", "kind", "status", "attempts"]
    pd.testing.assert_frame_equal(local[cols], remote[cols])
    assert remote.set_index("job").loc["nb", "status"] == "ok", remote.to_string()
    assert (
        local["error"].str.replace(str(tmp_path / "local"), "").tolist()
        == remote["error"].str.replace(str(tmp_path / "dask"), "").tolist()
    )
    assert results(tmp_path / "local" / "out") == results(tmp_path / "dask" / "out")
    assert len(results(tmp_path / "dask" / "out")) == 4


def cohort_html_job(job: Job) -> None:
    """The cohort runner without the PDF (WeasyPrint adds time and no executor-specific output)."""
    from mentoreval.report.cohort.runner import run_cohort_report

    run_cohort_report(job.config, out_dir=job.out_dir, pdf=False, progress=False)


register_job_kind("cohort-html", cohort_html_job)

_CREATED = re.compile(r"<li>Created: [0-9T:Z-]+</li>")
_VOLATILE = re.compile(r"(^|_)(seconds|duration|elapsed|created|timestamp|generated|time)(_|$)")


def _comparable(value: object, roots: tuple[str, ...]) -> object:
    """``value`` with timestamps/durations dropped and the run's root folder masked."""
    if isinstance(value, dict):
        return {
            k: _comparable(v, roots)
            for k, v in value.items()
            if not (isinstance(k, str) and _VOLATILE.search(k))
        }
    if isinstance(value, list):
        return [_comparable(v, roots) for v in value]
    if isinstance(value, str):
        for root in roots:
            value = value.replace(root, "<root>")
    return value


@pytest.mark.slow  # a Dask cluster and two full reports: 50 s; the notebook-job test above is fast
def test_dask_local_cluster_matches_local_executor_on_cohort_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real cohort report (a small synthetic study) in each executor: same outputs. One
    report per executor keeps the test light when the suite runs on every core."""
    from cohort_study import write_study
    from mentoreval.ingest.protect import key_fingerprint, keygen, load_key

    key = tmp_path / "keys" / "batch.key"
    keygen(key)
    # set after import, before the batch: the jobs must get it from run_batch, not inherit it
    monkeypatch.setenv("MENTOREVAL_KEY_FILE", str(key))
    template = tmp_path / "template"
    write_study(template / "school-a", n_students=40, design="comparison", seed=21)
    outputs = {}
    for executor in ("local", "dask"):
        root = tmp_path / executor
        shutil.copytree(template, root / "studies")
        jobs = [
            Job(name, "cohort-html", root / "studies" / name / "study.yaml", root / "out" / name)
            for name in ("school-a",)
        ]
        summary = run_batch(
            jobs,
            n_jobs=2,
            executor=executor,  # type: ignore[arg-type]
            log_dir=root / "logs",
            progress=False,
        )
        assert summary["status"].tolist() == ["ok"], summary["error"].tolist()
        outputs[executor] = root / "out"
    local, remote = outputs["local"], outputs["dask"]
    for name in ("school-a",):
        tables = sorted(p.name for p in (local / name / "tables").glob("*.csv"))
        assert "comparisons.csv" in tables
        assert tables == sorted(p.name for p in (remote / name / "tables").glob("*.csv"))
        for table in tables:
            assert (local / name / "tables" / table).read_bytes() == (
                remote / name / "tables" / table
            ).read_bytes(), (name, table)
        roots = (str(tmp_path / "local"), str(tmp_path / "dask"))
        for document in ("results.json", "manifest.json"):
            mine, theirs = (
                _comparable(json.loads((out / name / document).read_text()), roots)
                for out in (local, remote)
            )
            assert mine == theirs, (name, document)
        # the key came from MENTOREVAL_KEY_FILE in both executors (not the study's own key)
        for out in (local, remote):
            info = json.loads((out / name / "results.json").read_text())["info"]
            assert info["key_fingerprint"] == key_fingerprint(load_key(key))
        # the rendered report too, but for its "Created:" time stamp and the folder
        mine, theirs = (
            _CREATED.sub("", (out / name / "cohort_report.html").read_text()).replace(
                prefix, "<root>"
            )
            for out, prefix in zip((local, remote), roots, strict=True)
        )
        assert mine == theirs, name
        svgs = sorted(p.name for p in (local / name / "figures").glob("*.svg"))
        assert svgs and svgs == sorted(p.name for p in (remote / name / "figures").glob("*.svg"))
        for svg in svgs:
            assert (local / name / "figures" / svg).read_bytes() == (
                remote / name / "figures" / svg
            ).read_bytes(), (name, svg)


# --- batch.yaml ------------------------------------------------------------------------


def test_load_batch_config_resolves_paths_relative_to_the_file(tmp_path: Path) -> None:
    base = tmp_path / "project"
    (base / "studies").mkdir(parents=True)
    (base / "studies" / "a.yaml").write_text("values: [1]\n")
    (base / "annual.yaml").write_text("years: [2024]\n")
    (base / "batch.yaml").write_text(
        "n_jobs: 2\n"
        "out_dir: build\n"
        "jobs:\n"
        "  - {name: school-a, kind: cohort, config: studies/a.yaml}\n"
        "  - {name: annual, kind: annual, config: annual.yaml, out_dir: build/annual-report}\n"
    )
    config = load_batch_config(base / "batch.yaml")
    assert config.n_jobs == 2 and config.executor == "local" and config.scheduler is None
    assert config.log_dir == base / "build" / "logs"
    assert config.jobs == (
        Job("school-a", "cohort", base / "studies" / "a.yaml", base / "build" / "school-a"),
        Job("annual", "annual", base / "annual.yaml", base / "build" / "annual-report"),
    )


def test_load_batch_config_reports_every_problem_at_once(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("{}\n")
    path = tmp_path / "batch.yaml"
    path.write_text(
        "n_jobs: zero\n"
        "executor: spark\n"
        "scheduler: tcp://x:8786\n"
        "colour: blue\n"
        "jobs:\n"
        "  - {name: a, kind: cohort, config: a.yaml}\n"
        "  - {name: a, kind: cohort, config: a.yaml}\n"
        "  - {name: 'b c', kind: report, config: missing.yaml, extra: 1}\n"
        "  - {name: d, kind: cohort}\n"
        "  - just a string\n"
    )
    with pytest.raises(ConfigError) as info:
        load_batch_config(path)
    problems = info.value.problems
    keys = [p.key for p in problems]
    assert keys == [
        "colour",
        "n_jobs",
        "executor",
        "scheduler",
        "jobs[1].name",
        "jobs[2].extra",
        "jobs[2].name",
        "jobs[2].kind",
        "jobs[2].config",
        "jobs[3].config",
        "jobs[4]",
    ]
    assert all(p.file == str(path) for p in problems)
    text = str(info.value)
    assert text.startswith("11 problems in")
    assert "use one of: local, dask" in text and "duplicate name 'a'" in text
    assert "'missing.yaml' does not exist" in text


@pytest.mark.parametrize(
    ("content", "match"),
    [("jobs: [\n", "invalid YAML at line"), ("- a\n- b\n", "mapping"), ("jobs: []\n", "non-empty")],
)
def test_load_batch_config_bad_files(tmp_path: Path, content: str, match: str) -> None:
    path = tmp_path / "batch.yaml"
    path.write_text(content)
    with pytest.raises(ConfigError, match=match):
        load_batch_config(path)
    with pytest.raises(ConfigError, match="cannot read"):
        load_batch_config(tmp_path / "nope.yaml")


def test_batch_config_round_trip_runs(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("values: [2, 2]\n")
    (tmp_path / "batch.yaml").write_text("jobs:\n  - {name: a, kind: trivial, config: a.yaml}\n")
    config = load_batch_config(tmp_path / "batch.yaml")
    summary = run_batch(
        config.jobs,
        n_jobs=config.n_jobs,
        executor=config.executor,
        log_dir=config.log_dir,
        progress=False,
    )
    assert summary["status"].tolist() == ["ok"]
    assert json.loads((tmp_path / "reports" / "a" / "result.json").read_text())["total"] == 4
    assert (tmp_path / "reports" / "logs" / "a.log").is_file()


# --- real reports through the CLI ------------------------------------------------------

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo" / "peer"


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    from mentoreval.cli import main

    with pytest.raises(SystemExit) as info:
        main(args)
    return int(info.value.code or 0), capsys.readouterr().out


def _broken_study(folder: Path) -> Path:
    """A copy of a demo study whose follow-up export was never delivered."""
    shutil.copytree(DEMO / "2023", folder)
    (folder / "exports" / "post_qualtrics.csv").unlink()
    return folder / "study.yaml"


def _annual(folder: Path, store: Path, years: tuple[int, ...]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    studies = "".join(f"  - {DEMO / str(y) / 'study.yaml'}\n" for y in years)
    path = folder / f"annual-{years[0]}-{years[-1]}.yaml"
    path.write_text(
        f"title: Peer annual report\nprogramme: peer\nstore: {store}\nstudies:\n{studies}"
    )
    return path


def test_cli_batch_of_demo_reports_with_one_broken_study(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mentoreval.ingest.protect import keygen

    key = tmp_path / "keys" / "demo.key"
    keygen(key)
    monkeypatch.setenv("MENTOREVAL_KEY_FILE", str(key))
    store = tmp_path / "store"
    batch = {
        "out_dir": "reports",
        "jobs": [
            {"name": "peer-2023-2025", "kind": "annual",
             "config": str(_annual(tmp_path / "a", store, (2023, 2024, 2025)))},
            {"name": "peer-2023-2024", "kind": "annual",
             "config": str(_annual(tmp_path / "b", store, (2023, 2024)))},
            {"name": "school-broken", "kind": "cohort",
             "config": str(_broken_study(tmp_path / "school-broken"))},
        ],
    }  # fmt: skip
    (tmp_path / "batch.yaml").write_text(yaml.safe_dump(batch, sort_keys=False))
    code, out = _cli([
        "batch", str(tmp_path / "batch.yaml"), "--jobs", "2", "--log-dir", str(tmp_path / "logs")
    ], capsys)  # fmt: skip
    assert code == 1, out
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert " ok " in lines["peer-2023-2025"] and " ok " in lines["peer-2023-2024"], out
    assert "failed" in lines["school-broken"] and "ConfigError" in lines["school-broken"]
    assert "1 of 3 jobs failed" in out
    for name in ("peer-2023-2025", "peer-2023-2024"):
        assert (tmp_path / "reports" / name / "annual_report.html").is_file()
        assert (tmp_path / "reports" / name / "annual_report.pdf").is_file()
    summary = pd.read_csv(tmp_path / "logs" / "summary.csv")
    assert summary.set_index("job").loc["school-broken", "status"] == "failed"
    log = (tmp_path / "logs" / "school-broken.log").read_text()
    assert "Traceback" in log and "post_qualtrics.csv" in log
    # the job logs hold no kernel start-up or shutdown noise (issue 16, point 12)
    for name in ("peer-2023-2025", "peer-2023-2024"):
        text = (tmp_path / "logs" / f"{name}.log").read_text()
        assert "finished" in text
        assert "Kernel is running over TCP" not in text
        assert "KeyboardInterrupt caught in kernel" not in text


@pytest.mark.slow
def test_cli_batch_of_demo_cohort_reports_with_one_broken_study(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mentoreval.ingest.protect import keygen

    key = tmp_path / "keys" / "demo.key"
    keygen(key)
    monkeypatch.setenv("MENTOREVAL_KEY_FILE", str(key))
    jobs = []
    for year in (2023, 2024):
        shutil.copytree(DEMO / str(year), tmp_path / f"peer-{year}")
        jobs.append({"name": f"peer-{year}", "kind": "cohort",
                     "config": f"peer-{year}/study.yaml"})  # fmt: skip
    _broken_study(tmp_path / "school-broken")
    jobs.append({"name": "school-broken", "kind": "cohort", "config": "school-broken/study.yaml"})
    (tmp_path / "batch.yaml").write_text(yaml.safe_dump({"jobs": jobs}, sort_keys=False))
    code, out = _cli(["batch", str(tmp_path / "batch.yaml"), "--jobs", "2"], capsys)
    assert code == 1 and "1 of 3 jobs failed" in out, out
    for year in (2023, 2024):
        assert (tmp_path / "reports" / f"peer-{year}" / "cohort_report.html").is_file()
