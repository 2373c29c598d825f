"""Hostile circumstances: output folders that hold the inputs, files where folders
should be, leftovers of killed runs, interruptions, a full disk, a forbidden folder,
``kill -9`` mid-ingest, and two runs at once.

In-process cases simulate the operating-system errors by patching the writer; the real
ones (``RLIMIT_FSIZE``, ``kill -9``, concurrent runs) run in subprocesses.
"""

from __future__ import annotations

import errno
import hashlib
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from _hostile import HEADER, OUTPUTS, REPO, Case, Project, default_rows, params, run_case

FULL = {"rows_read": 12, "rows_kept": 12, "rows_quarantined": 0}
EARLIER = (("ingest", "--out", "{out}", "--no-store"),)


def out_at(where: str, *extra: str) -> Any:
    """``--out`` (or another option) pointing at ``where`` (relative to tmp_path)."""

    def build(p: Project) -> None:
        p.args = ["--no-store", *extra, "--out", str(p.tmp / where)]

    return build


def store_at(where: str) -> Any:
    def build(p: Project) -> None:
        p.config.update(programme="peer", cohort="2025", year=2025)
        p.args = ["--out", str(p.out), "--store", str(p.tmp / where)]

    return build


def then(*steps: Any) -> Any:
    def build(p: Project) -> None:
        for step in steps:
            step(p)

    return build


def make_file(where: str, text: str = "not a folder") -> Any:
    def build(p: Project) -> None:
        def place(q: Project) -> None:
            (q.tmp / where).parent.mkdir(parents=True, exist_ok=True)
            (q.tmp / where).write_text(text)

        p.after_write.append(place)

    return build


def make_symlink(where: str, target: str) -> Any:
    def build(p: Project) -> None:
        def place(q: Project) -> None:
            (q.tmp / target).mkdir(parents=True, exist_ok=True)
            (q.tmp / where).symlink_to(q.tmp / target)

        p.after_write.append(place)

    return build


def under_data_raw(p: Project) -> None:
    """The study lives in ``project/data/raw/peer`` (the layout the README recommends)."""
    p.files = {f"../data/raw/peer/{k}": v for k, v in p.files.items()}
    p.after_write.append(lambda q: None)


def stale_lock(p: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (p.tmp / ".out.lock").write_text(f"{dead} {os.uname().nodename}\n")


def live_lock(p: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    (p.tmp / ".out.lock").write_text(f"{os.getpid()} {os.uname().nodename}\n")


def half_written_staging(p: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    half = p.tmp / ".out.staging-0123456789ab"
    half.mkdir()
    (half / ".mentoreval-output.json").write_text(
        '{"tool": "mentoreval", "kind": "processed data", "files": []}'
    )
    (half / "responses.parquet").write_bytes(b"PAR1 truncated")


def killed_mid_swap(p: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    os.replace(p.out, p.tmp / ".out.old-0123456789ab")


def no_leftovers(r: Any) -> None:
    left = sorted(x.name for x in r.project.tmp.iterdir() if x.name.startswith(".out"))
    assert not left, left
    assert (r.project.out / "manifest.json").is_file()


def raising(exc: BaseException) -> Any:
    def patch(p: Project, monkeypatch: pytest.MonkeyPatch) -> None:
        import mentoreval.ingest.pipeline

        def boom(*args: Any, **kwargs: Any) -> None:
            raise exc

        monkeypatch.setattr(mentoreval.ingest.pipeline, "ingest_scores", boom)

    return patch


def oserror(code: int, path: str = "out/scores.parquet") -> Any:
    return raising(OSError(code, os.strerror(code), path))


def interrupted(r: Any) -> None:
    assert "interrupted" in r.err and "intact" in r.err, r.err


def not_root() -> str | None:
    return "running as root: permissions do not bind" if os.geteuid() == 0 else None


def read_only_parent(p: Project) -> None:
    def place(q: Project) -> None:
        (q.tmp / "ro").mkdir()
        os.chmod(q.tmp / "ro", 0o555)

    p.after_write.append(place)
    p.args = ["--no-store", "--out", str(p.tmp / "ro" / "out")]


CASES = [
    # --out where the inputs are
    Case(
        "out_is_exports",
        out_at("project/study/exports"),
        exit=2,
        names=("would hold or replace", "choose another output folder"),
    ),
    Case("out_is_study_folder", out_at("project/study"), exit=2, names=("would hold or replace",)),
    Case("out_is_project", out_at("project"), exit=2, names=("would hold or replace",)),
    Case("out_is_tmp_root", out_at("."), exit=2, names=("would hold or replace",)),
    Case(
        "out_inside_exports",
        out_at("project/study/exports/processed"),
        exit=2,
        names=("inside the raw-data folder",),
    ),
    Case(
        "out_is_the_study_file", out_at("project/study/study.yaml"), exit=2, names=("study.yaml",)
    ),
    Case("out_is_an_export", out_at("project/study/exports/pre.csv"), exit=2, names=("pre.csv",)),
    # --out that cannot be a folder, or is not ours
    Case(
        "out_is_a_file", then(make_file("out"), out_at("out")), exit=2, names=("is not a folder",)
    ),
    Case(
        "out_parent_is_a_file",
        then(make_file("outfile"), out_at("outfile/sub")),
        exit=2,
        names=("outfile",),
    ),
    Case(
        "out_holds_foreign_file",
        then(make_file("out/thesis.docx"), out_at("out")),
        exit=2,
        names=("thesis.docx", "did not write"),
    ),
    Case(
        "out_is_a_symlink",
        then(make_symlink("out", "elsewhere"), out_at("out")),
        exit=2,
        names=("is not a folder",),
    ),
    Case(
        "out_is_dev_null",
        lambda p: setattr(p, "args", ["--no-store", "--out", "/dev/null"]),
        exit=2,
        names=("/dev/null",),
    ),
    Case(
        "store_at_exports",
        store_at("project/study/exports"),
        exit=2,
        names=("exports",),
    ),
    Case(
        "store_is_a_file",
        then(make_file("store"), store_at("store")),
        exit=2,
        names=("store",),
    ),
    Case(
        "read_only_output_parent",
        read_only_parent,
        exit=2,
        names=("ro", "permission"),
        skip_if=not_root,
    ),
    # reruns and what killed runs leave
    Case("rerun_same_out", before=EARLIER, counts=FULL),
    Case(
        "rerun_after_stale_lock", before=EARLIER, patch=stale_lock, counts=FULL, check=no_leftovers
    ),
    Case(
        "rerun_after_half_staging",
        before=EARLIER,
        patch=half_written_staging,
        counts=FULL,
        check=no_leftovers,
    ),
    Case(
        "rerun_after_kill_mid_swap",
        before=EARLIER,
        patch=killed_mid_swap,
        counts=FULL,
        check=no_leftovers,
    ),
    Case(
        "live_lock_refused",
        before=EARLIER,
        patch=live_lock,
        exit=2,
        names=("another run is writing here (pid",),
    ),
    # interruptions and operating-system errors mid-run: earlier outputs intact
    Case(
        "ctrl_c_mid_ingest",
        before=EARLIER,
        patch=raising(KeyboardInterrupt()),
        exit=130,
        check=interrupted,
    ),
    Case(
        "disk_full_mid_ingest",
        before=EARLIER,
        patch=oserror(errno.ENOSPC),
        exit=2,
        names=("scores.parquet", "disk is full", "intact"),
    ),
    Case("quota_mid_ingest", before=EARLIER, patch=oserror(errno.EDQUOT), exit=2, names=("quota",)),
    Case(
        "file_too_big_mid_ingest",
        before=EARLIER,
        patch=oserror(errno.EFBIG),
        exit=2,
        names=("scores.parquet",),
    ),
    Case(
        "read_only_fs_mid_ingest",
        before=EARLIER,
        patch=oserror(errno.EROFS),
        exit=2,
        names=("read-only",),
    ),
    Case(
        "permission_denied_mid_ingest",
        before=EARLIER,
        patch=oserror(errno.EACCES),
        exit=2,
        names=("permission denied",),
    ),
    Case("first_run_disk_full", patch=oserror(errno.ENOSPC), exit=2, names=("disk is full",)),
]


@pytest.mark.parametrize("case", params(CASES))
def test_hostile_fault(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run_case(case, tmp_path, capsys, monkeypatch)


# --------------------------------------------------------------------------- subprocesses


def _tree(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _env(p: Project) -> dict[str, str]:
    return {
        **os.environ,
        "MENTOREVAL_KEY_FILE": str(p.key),
        "PYTHONPATH": str(REPO / "src"),
        "HOME": str(p.tmp / "home"),
    }


def _argv(p: Project, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "mentoreval",
        "ingest",
        str(p.study_file),
        "--out",
        str(p.out),
        "--no-store",
        *extra,
    ]


def _project(tmp: Path, n: int = 6) -> Project:
    p = Project(tmp)
    for wave in ("pre", "post"):
        p.csv(f"exports/{wave}.csv", HEADER, default_rows(wave, n=n))
    p.materialise()
    return p


def _inputs(p: Project) -> dict[str, str]:
    return {k: v for k, v in _tree(p.tmp).items() if not k.startswith(OUTPUTS)}


def _small_fsize() -> None:  # pragma: no cover - runs in the child
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a killed process


@pytest.mark.slow
def test_disk_full_via_rlimit_fsize(tmp_path: Path) -> None:
    """A real write limit (RLIMIT_FSIZE, 4 kB per file) in the child: exit 2 naming the
    file and the fix, earlier outputs intact, no staging folder or lock left."""
    p = _project(tmp_path, n=40)
    first = subprocess.run(_argv(p), capture_output=True, text=True, env=_env(p), timeout=120)
    assert first.returncode == 0, first.stderr
    inputs, outputs = _inputs(p), _tree(p.out)
    res = subprocess.run(
        _argv(p),
        capture_output=True,
        text=True,
        env=_env(p),
        timeout=120,
        preexec_fn=_small_fsize,
        cwd=tmp_path / "cwd",
    )
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    assert "larger than allowed" in res.stderr or "disk" in res.stderr, res.stderr
    assert _tree(p.out) == outputs and _inputs(p) == inputs
    assert sorted(x.name for x in tmp_path.iterdir() if x.name.startswith(".out")) == []


_SLOW_SCORES = """
import os, sys, time
import mentoreval.ingest.pipeline as ingest
real = ingest.ingest_scores
def slow(*a, **k):
    open(os.environ["HOSTILE_READY"], "w").close()
    time.sleep(60)
    return real(*a, **k)
ingest.ingest_scores = slow
from mentoreval.cli import main
main(sys.argv[1:])
"""


@pytest.mark.slow
def test_kill_9_mid_ingest_then_rerun(tmp_path: Path) -> None:
    """``kill -9`` while the new responses are half-way into staging: the earlier outputs
    stay as they were, and the next run succeeds and leaves no leftovers."""
    p = _project(tmp_path)
    first = subprocess.run(_argv(p), capture_output=True, text=True, env=_env(p), timeout=120)
    assert first.returncode == 0, first.stderr
    inputs, outputs = _inputs(p), _tree(p.out)
    ready = tmp_path / "ready"
    child = subprocess.Popen(
        [sys.executable, "-c", _SLOW_SCORES, *_argv(p)[3:]],
        env={**_env(p), "HOSTILE_READY": str(ready)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert child.poll() is None, "the ingest ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert list(tmp_path.glob(".out.staging-*")), "killed mid-run: staging exists"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    ready.unlink()
    assert _tree(p.out) == outputs  # the earlier outputs, untouched
    rerun = subprocess.run(_argv(p), capture_output=True, text=True, env=_env(p), timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert "Traceback" not in rerun.stderr
    assert sorted(x.name for x in tmp_path.iterdir() if x.name.startswith(".out")) == []
    after = _tree(p.out)
    assert after.pop("manifest.json") and outputs.pop("manifest.json")
    assert after == outputs and _inputs(p) == inputs


@pytest.mark.slow
def test_two_ingests_at_once(tmp_path: Path) -> None:
    """Two ingests of the same study into the same folder: each succeeds or is told that
    another run is writing; the folder ends complete, with no leftovers."""
    p = _project(tmp_path, n=200)
    runs = [
        subprocess.Popen(
            _argv(p), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(p)
        )
        for _ in range(2)
    ]
    results = [(r.wait(timeout=120), r.communicate()[1]) for r in runs]
    assert any(code == 0 for code, _ in results), results
    for code, err in results:
        assert "Traceback" not in err
        assert code == 0 or (code == 2 and "another run is writing here (pid" in err), err
    assert (p.out / "manifest.json").is_file() and (p.out / "scores.parquet").is_file()
    assert sorted(x.name for x in tmp_path.iterdir() if x.name.startswith(".out")) == []
