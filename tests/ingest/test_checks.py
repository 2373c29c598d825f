"""What ``validate`` makes of the quarantine (issue 14): rows set aside by a rule the study
declares are counted notes, not errors; an unchanged copy of a demo study validates."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from cli_run import run_mentoreval
from mentoreval.ingest.protect import keygen

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo" / "peer"


def run(env: dict[str, str], *args: str | Path) -> subprocess.CompletedProcess[str]:
    return run_mentoreval(*args, env=env)


@pytest.mark.parametrize("year", ["2023", "2025"])
def test_unchanged_copy_of_a_demo_study_validates_with_notes(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, year: str
) -> None:
    if not (DEMO / year / "study.yaml").is_file():
        pytest.skip("demo data not present")
    key = tmp_path_factory.mktemp("keys") / "k.key"
    keygen(key)
    shutil.copytree(DEMO / year, tmp_path / year)
    done = run(
        {**os.environ, "MENTOREVAL_KEY_FILE": str(key)}, "validate", tmp_path / year / "study.yaml"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    notes = [line for line in done.stdout.splitlines() if line.startswith("note: ")]
    assert any("duplicate:" in n and "quality.duplicates: keep_last" in n for n in notes), notes
    if year == "2025":  # previews and tests excluded by the source's exclude: setting
        assert any("qualtrics_preview: 2 row(s) excluded when reading" in n for n in notes)
    assert "quarantine:" not in done.stderr


def test_missing_key_message_suggests_a_path_keygen_accepts(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    project = tmp_path / "project"
    (project / "data" / "raw" / "s").mkdir(parents=True)
    (project / "pyproject.toml").write_text("")
    folder = project / "data" / "raw" / "s"
    (folder / "pre.csv").write_text("sid,who5_1,who5_2,who5_3,who5_4,who5_5\nA1,1,2,3,4,5\n")
    study = folder / "study.yaml"
    study.write_text(
        "title: T\nprogramme: peer\nparticipant_id: {column: sid}\n"
        "sources: [{path: pre.csv, wave: pre}]\ninstruments: {who5: {}}\n"
        "analysis: {pre: pre, post: pre}\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "MENTOREVAL_KEY_FILE"}
    env["HOME"] = str(home)
    done = run(env, "validate", study)
    assert done.returncode == 2
    suggested = "mentoreval keygen ~/.mentoreval/keys/<programme>.key"
    assert suggested in done.stderr, done.stderr
    made = run(env, "keygen", "~/.mentoreval/keys/peer.key")  # as typed, before the shell
    assert made.returncode == 0, made.stderr
    assert (home / ".mentoreval" / "keys" / "peer.key").is_file()
    study.write_text(study.read_text() + "key_file: ~/.mentoreval/keys/peer.key\n")
    done = run(env, "validate", study)
    assert done.returncode == 0, done.stderr
