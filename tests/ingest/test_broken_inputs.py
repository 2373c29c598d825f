"""Mapping- and pipeline-level broken inputs: each exits 2 through the CLI, no traceback,
naming file, row and column where they exist. (Reader-level cases live in tests/read.)

Fatal for ``ingest``: config errors, absent id column, absent item column, unmapped event,
missing key, changed key, refused files. Cell/row problems (unknown label, out-of-range
code, duplicates, bad ids) do not stop ``ingest`` (they are quarantined) but make
``validate`` exit 2.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from cli_run import run_mentoreval
from mentoreval.ingest.protect import keygen

WHO5 = [f"who5_{i}" for i in range(1, 6)]
BASE = """title: Broken
participant_id: {column: sid}
sources: [{path: pre.csv, wave: pre}]
instruments: {who5: {}}
analysis: {pre: pre, post: pre}
"""
GOOD_CSV = "sid," + ",".join(WHO5) + "\nA1,1,2,3,4,5\nA2,0,0,1,1,2\n"


def run_cli(*args: str, env_key: Path | None) -> subprocess.CompletedProcess[str]:
    """``mentoreval ARGS`` (in this process) with ``env_key`` as the key file, or none."""
    return run_mentoreval(
        *args, env={"MENTOREVAL_KEY_FILE": None if env_key is None else str(env_key)}
    )


@pytest.fixture
def key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    k = tmp_path_factory.mktemp("keys") / "k.key"  # outside the study folder
    keygen(k)
    return k


def make(folder: Path, *, csv: str = GOOD_CSV, study: str = BASE, name: str = "pre.csv") -> Path:
    (folder / name).write_text(csv, encoding="utf-8")
    p = folder / "study.yaml"
    p.write_text(study, encoding="utf-8")
    return p


CASES: dict[str, tuple[str, dict[str, str], list[str]]] = {
    # name: (command, make() kwargs, substrings expected in stderr)
    "unknown_likert_label": (
        "validate",
        {"csv": "sid," + ",".join(WHO5) + "\nA1,1,2,Sometimes,4,5\n"},
        ["pre.csv", "row 2", "who5_3", "Sometimes"],
    ),
    "out_of_range_code": (
        "validate",
        {"csv": "sid," + ",".join(WHO5) + "\nA1,1,2,3,4,9\n"},
        ["pre.csv", "row 2", "who5_5", "'9'"],
    ),
    "missing_item_column": (
        "ingest",
        {"csv": "sid,who5_1,who5_2,who5_3,who5_4\nA1,1,2,3,4\n"},
        ["pre.csv", "who5_5", "absent"],
    ),
    "id_column_absent": (
        "ingest",
        {"csv": "student," + ",".join(WHO5) + "\nA1,1,2,3,4,5\n"},
        ["pre.csv", "'sid'", "participant_id.column"],
    ),
    "empty_id": (
        "validate",
        {"csv": GOOD_CSV + ",5,5,5,5,5\n"},
        ["pre.csv", "row 4", "missing_id"],
    ),
    "invalid_id_pattern": (
        "validate",
        {
            "study": BASE.replace("{column: sid}", '{column: sid, pattern: "^A[0-9]$"}'),
            "csv": GOOD_CSV + "ZZ9,5,5,5,5,5\n",
        },
        ["row 4", "invalid_id"],
    ),
    "config_unknown_key": (
        "ingest",
        {"study": BASE + "colour: red\n"},
        ["study.yaml", "colour", "Extra inputs"],
    ),
    "config_wrong_type": ("ingest", {"study": BASE + "cohort: 2025\n"}, ["cohort", "quote it"]),
    "config_no_trap": ("ingest", {"study": BASE + "year: NO\n"}, ["year", "'NO'"]),
    "config_bad_path": (
        "ingest",
        {"study": BASE.replace("pre.csv, wave", "missing.csv, wave")},
        ["sources[0].path", "missing.csv"],
    ),
    "config_unknown_instrument": (
        "ingest",
        {"study": BASE.replace("who5: {}", "who9: {}")},
        ["instruments.who9", "unknown instrument"],
    ),
    "config_unknown_item": (
        "ingest",
        {"study": BASE.replace("who5: {}", "who5: {items: {who5_9: Q1}}")},
        ["instruments.who5.items", "who5_9"],
    ),
    "config_value_map_bad_code": (
        "ingest",
        {"study": BASE.replace("who5: {}", "who5: {values: {Often: 7}}")},
        ["instruments.who5.values", "Often"],
    ),
    "config_wave_and_events": (
        "ingest",
        {"study": BASE.replace("wave: pre}", "wave: pre, events: {a: pre}}")},
        ["sources[0]", "exactly one"],
    ),
    "config_duplicate_key": (
        "ingest",
        {"study": BASE + "title: Again\n"},
        ["duplicate key 'title'"],
    ),
    "event_not_mapped": (
        "ingest",
        {
            "csv": "sid,redcap_event_name,"
            + ",".join(WHO5)
            + "\n1,baseline_arm_1,1,1,1,1,1\n2,week_6_arm_1,1,1,1,1,1\n",
            "study": BASE.replace("wave: pre}", "format: redcap, events: {baseline_arm_1: pre}}"),
        },
        ["week_6_arm_1", "redcap_event_name", "events"],
    ),
    "xlsm_refused": (
        "ingest",
        {"study": BASE.replace("pre.csv", "pre.xlsm"), "name": "pre.xlsm"},
        ["pre.xlsm"],
    ),
    "ragged_row": ("ingest", {"csv": GOOD_CSV + "A3,1,2,3,4,5,6,7\n"}, ["pre.csv", "row 4"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_broken_input_exits_2(case: str, tmp_path: Path, key: Path) -> None:
    command, kwargs, expected = CASES[case]
    study = make(tmp_path, **kwargs)
    res = run_cli(command, str(study), env_key=key)
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert "Traceback" not in res.stderr
    for text in expected:
        assert text in res.stderr, (text, res.stderr)
    assert not (tmp_path / "data").exists()


def test_duplicates_the_study_rule_resolves_are_a_counted_note_not_an_error(
    tmp_path: Path, key: Path
) -> None:
    study = make(tmp_path, csv=GOOD_CSV + "a1 ,5,5,5,5,5\n")
    res = run_cli("validate", str(study), env_key=key)
    assert res.returncode == 0, (res.stdout, res.stderr)
    assert (
        "note: pre.csv: duplicate: 1 submission(s) set aside (row(s) 2) because a later one "
        "of the same participant and wave is kept (quality.duplicates: keep_last"
    ) in res.stdout, res.stdout
    assert "OK (0 warning(s), 1 note(s))" in res.stdout


def test_cell_problems_do_not_stop_ingest(tmp_path: Path, key: Path) -> None:
    study = make(tmp_path, csv="sid," + ",".join(WHO5) + "\nA1,1,2,Sometimes,4,5\n")
    res = run_cli("ingest", str(study), "--out", str(tmp_path / "out"), env_key=key)
    assert res.returncode == 0, res.stderr
    assert "quarantined 0 (+1 single answers)" in res.stdout
    q = (tmp_path / "out" / "quarantine.csv").read_text()
    assert "unknown_value" in q and "Sometimes" in q


def test_missing_key_file(tmp_path: Path) -> None:
    study = make(tmp_path)
    res = run_cli("ingest", str(study), env_key=None)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "mentoreval keygen" in res.stderr


def test_changed_key(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, key: Path) -> None:
    study = make(tmp_path)
    assert run_cli("ingest", str(study), env_key=key).returncode == 0
    other = tmp_path_factory.mktemp("keys") / "other.key"
    keygen(other)
    res = run_cli("ingest", str(study), env_key=other)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "fingerprint" in res.stderr and "key_file" in res.stderr


def test_keygen_refuses_overwrite_and_repo(tmp_path: Path, repo_root: Path) -> None:
    k = tmp_path / "k.key"
    assert run_cli("keygen", str(k), env_key=None).returncode == 0
    res = run_cli("keygen", str(k), env_key=None)
    assert res.returncode == 2 and "already exists" in res.stderr
    res = run_cli("keygen", str(repo_root / "x.key"), env_key=None)
    assert res.returncode == 2 and "repository" in res.stderr
    assert not (repo_root / "x.key").exists()
