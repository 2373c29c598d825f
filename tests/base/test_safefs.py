"""Outputs go only where mentoreval may write; inputs only from the study's folders.

The data-loss cases of the safety issue: ``--out`` pointed at the exports, at the study's
folder or at the project deleted them (``shutil.rmtree``); a ``kill -9`` in an ingest
broke the next run; two ingests at once crashed. Each is pinned here, through the CLI
where that is how a user meets it.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cli_run import run_mentoreval
from cohort_study import write_study
from mentoreval.errors import MentorevalError
from mentoreval.safefs import MARKER, OutputFolder, check_output_dir, folder_lock, resolve_input


def _tree(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with its hash: raw files must stay byte-identical."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``mentoreval ARGS`` (in this process) with no key file from the environment."""
    return run_mentoreval(*args, env={"MENTOREVAL_KEY_FILE": ""}, cwd=cwd)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project folder with one small study under ``studies/peer``."""
    root = tmp_path_factory.mktemp("project")
    (root / "data").mkdir()
    write_study(root / "studies" / "peer", n_students=30, design="single_arm")
    return root


@pytest.mark.parametrize(
    ("command", "target", "why"),
    [
        ("report", "studies/peer/exports", "would hold or replace"),
        ("report", "studies/peer", "would hold or replace"),
        ("report", ".", "would hold or replace"),
        ("ingest", "studies/peer/exports", "would hold or replace"),
        ("ingest", "studies", "would hold or replace"),
        ("ingest", "studies/peer/exports/processed", "inside the raw-data folder"),
    ],
)
def test_an_output_folder_holding_the_inputs_is_refused_before_any_work(
    project: Path, command: str, target: str, why: str
) -> None:
    before = _tree(project)
    out = cli(command, str(project / "studies/peer/study.yaml"), "--out", str(project / target))
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr and why in out.stderr
    assert "choose another output folder" in out.stderr
    assert _tree(project) == before


def test_a_folder_mentoreval_did_not_write_is_never_replaced(project: Path, tmp_path: Path) -> None:
    mine = tmp_path / "my-documents"
    mine.mkdir()
    (mine / "thesis.docx").write_bytes(b"years of work")
    out = cli("ingest", str(project / "studies/peer/study.yaml"), "--out", str(mine))
    assert out.returncode == 2
    assert "holds 1 file mentoreval did not write (thesis.docx)" in out.stderr
    assert sorted(p.name for p in mine.iterdir()) == ["thesis.docx"]
    assert not list(tmp_path.glob(".my-documents*"))  # no staging or lock left beside it


def test_an_output_path_that_is_a_file_is_refused(project: Path, tmp_path: Path) -> None:
    (tmp_path / "out").write_text("a file")
    out = cli("ingest", str(project / "studies/peer/study.yaml"), "--out", str(tmp_path / "out"))
    assert out.returncode == 2 and "is not a folder" in out.stderr
    assert (tmp_path / "out").read_text() == "a file"


def test_ingest_reruns_replace_only_its_own_folder(project: Path, tmp_path: Path) -> None:
    study = str(project / "studies/peer/study.yaml")
    out = tmp_path / "processed"
    assert cli("ingest", study, "--out", str(out), "--no-store").returncode == 0
    marker = (out / MARKER).read_text()
    assert '"responses.parquet"' in marker and '"manifest.json"' in marker
    assert cli("ingest", study, "--out", str(out), "--no-store").returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["processed"]
    (out / "notes.txt").write_text("added by hand")
    again = cli("ingest", study, "--out", str(out), "--no-store")
    assert again.returncode == 2 and "notes.txt" in again.stderr
    assert (out / "notes.txt").read_text() == "added by hand"


def test_a_killed_ingest_leaves_the_old_outputs_and_the_rerun_succeeds(
    project: Path, tmp_path: Path
) -> None:
    """What ``kill -9`` leaves: a lock naming a dead process, a half-written staging folder
    and (killed mid-swap) the old folder moved aside. The next run recovers all three."""
    study = str(project / "studies/peer/study.yaml")
    out = tmp_path / "processed"
    assert cli("ingest", study, "--out", str(out), "--no-store").returncode == 0
    before = _tree(out)
    child = [sys.executable, "-c", "import os; print(os.getpid())"]
    dead = subprocess.run(child, capture_output=True, text=True, check=True).stdout.strip()
    (tmp_path / ".processed.lock").write_text(f"{dead} {os.uname().nodename}\n")
    half = tmp_path / ".processed.staging-0123456789ab"
    half.mkdir()
    (half / MARKER).write_text('{"tool": "mentoreval", "kind": "processed data", "files": []}')
    (half / "responses.parquet").write_bytes(b"PAR1 truncated")
    os.replace(out, tmp_path / ".processed.old-0123456789ab")  # killed between the renames
    rerun = cli("ingest", study, "--out", str(out), "--no-store")
    assert rerun.returncode == 0, rerun.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["processed"]
    after = _tree(out)
    assert after.pop("manifest.json") and before.pop("manifest.json")  # times differ
    assert after == before  # same inputs and key: the same tables


def test_two_ingests_at_once_one_waits_its_turn_or_is_told_why(
    project: Path, tmp_path: Path
) -> None:
    study = str(project / "studies/peer/study.yaml")
    out = tmp_path / "processed"
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "mentoreval", "ingest", study, "--out", str(out), "--no-store"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = [(p.wait(), p.communicate()[1]) for p in runs]
    assert any(code == 0 for code, _ in results)
    for code, err in results:
        assert "Traceback" not in err
        assert code == 0 or (code == 2 and "another run is writing here (pid" in err), err
    assert (out / "manifest.json").is_file() and (out / "scores.parquet").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["processed"]


# --------------------------------------------------------------------------- units


def test_output_folder_commit_replaces_and_an_error_keeps_the_old(tmp_path: Path) -> None:
    target = tmp_path / "r"
    with OutputFolder(target, kind="report") as out:
        (out.staging / "a.csv").write_text("1")
        out.commit()
    with pytest.raises(ZeroDivisionError), OutputFolder(target, kind="report") as out:
        (out.staging / "b.csv").write_text("2")
        _ = 1 / 0
    assert sorted(p.name for p in target.iterdir()) == [MARKER, "a.csv"]
    with OutputFolder(target, kind="report") as out:
        (out.staging / "b.csv").write_text("2")
        out.commit()
    assert sorted(p.name for p in target.iterdir()) == [MARKER, "b.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


def test_a_live_lock_is_refused_with_its_pid(tmp_path: Path) -> None:
    with folder_lock(tmp_path / "out"), pytest.raises(MentorevalError) as info:
        OutputFolder(tmp_path / "out", kind="report").__enter__()
    assert f"another run is writing here (pid {os.getpid()})" in str(info.value)


def test_an_empty_existing_folder_is_accepted_and_a_symlink_is_not(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert check_output_dir(tmp_path / "empty", kind="report") == (tmp_path / "empty").resolve()
    (tmp_path / "link").symlink_to(tmp_path / "empty")
    with pytest.raises(MentorevalError, match="is not a folder"):
        check_output_dir(tmp_path / "link", kind="report")


def test_input_paths_outside_the_study_and_its_roots_are_refused(tmp_path: Path) -> None:
    study = tmp_path / "study"
    study.mkdir()
    (study / "in.csv").write_text("x")
    (study / "escape.csv").symlink_to("/etc/hostname")
    assert resolve_input("in.csv", base=study, key="k") == (study / "in.csv").resolve()
    for value in ("/etc/hostname", "../elsewhere.csv", "escape.csv"):
        with pytest.raises(MentorevalError) as info:
            resolve_input(value, base=study, key="meetings.path")
        assert info.value.problems[0].key == "meetings.path"
    shared = tmp_path / "shared"
    assert (
        resolve_input(shared / "x.csv", base=study, roots=[shared], key="k")
        == (shared / "x.csv").resolve()
    )


def test_a_failed_run_leaves_no_folder_it_created(tmp_path: Path) -> None:
    """'mentoreval annual' stopping on 'no cohorts' left an empty reports/ behind."""
    target = tmp_path / "project" / "reports" / "annual"
    with pytest.raises(RuntimeError), OutputFolder(target, kind="annual report"):
        raise RuntimeError("no cohorts")
    assert not (tmp_path / "project").exists()
    # a folder that was there before stays, and a committed run keeps its parents
    (tmp_path / "project").mkdir()
    with pytest.raises(RuntimeError), OutputFolder(target, kind="annual report"):
        raise RuntimeError("no cohorts")
    assert (tmp_path / "project").is_dir() and not (tmp_path / "project" / "reports").exists()
    with OutputFolder(target, kind="annual report") as output:
        (output.staging / "a.txt").write_text("x")
        output.commit()
    assert (target / "a.txt").is_file()
