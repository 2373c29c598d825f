"""The columns a source must have, and the names the reader gave (issue 14), through
``mentoreval validate``: a wrong id column and an item-column typo in one run; renamed
headers listed with their places in the file."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from cli_run import run_mentoreval
from mentoreval.ingest.protect import keygen

WHO5 = [f"who5_{i}" for i in range(1, 6)]


@pytest.fixture
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    key = tmp_path_factory.mktemp("keys") / "k.key"
    keygen(key)
    return {**os.environ, "MENTOREVAL_KEY_FILE": str(key)}


def validate(env: dict[str, str], study: Path) -> subprocess.CompletedProcess[str]:
    return run_mentoreval("validate", study, env=env)


def write(folder: Path, header: list[str], rows: list[list[str]], study: str) -> Path:
    lines = [",".join(header), *(",".join(r) for r in rows)]
    for wave in ("pre", "post"):
        (folder / f"{wave}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    path = folder / "study.yaml"
    path.write_text(
        "title: T\nsources: [{path: pre.csv, wave: pre}, {path: post.csv, wave: post}]\n" + study,
        encoding="utf-8",
    )
    return path


def test_wrong_id_column_and_item_typo_are_reported_in_one_run(
    tmp_path: Path, env: dict[str, str]
) -> None:
    study = write(
        tmp_path,
        ["sid", *WHO5],
        [["A1", "1", "2", "3", "4", "5"]],
        "participant_id: {column: student_id}\ninstruments: {who5: {items: {who5_3: who5_03}}}\n",
    )
    done = validate(env, study)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "pre.csv: column 'student_id': the participant id column 'student_id' is absent" in (
        done.stderr
    )
    assert "pre.csv: instruments.who5.items.who5_3: column 'who5_03': item column for " in (
        done.stderr
    )
    assert "4 problem(s) found" in done.stderr  # both, in both sources


def test_renamed_headers_are_listed_with_their_places(tmp_path: Path, env: dict[str, str]) -> None:
    study = write(
        tmp_path,
        ["sid", "", *WHO5, "notes"],
        [["A1", "x", "1", "2", "3", "4", "5", "y"]],
        "participant_id: {column: sid}\ninstruments: {who5: {}}\ncolumns: {meta: [notes]}\n",
    )
    done = validate(env, study)
    assert done.returncode == 0, done.stderr
    assert (
        "warning: pre.csv: columns renamed because their header was repeated or empty, to be "
        "mapped by the new name: 'column_2' (empty header, column 2 (B))"
    ) in done.stdout, done.stdout
