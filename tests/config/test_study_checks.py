"""Cross-checks of a study config through ``mentoreval validate`` (issue 14): a subset of an
instrument's scales, a broken user instrument shown problem by problem."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from cli_run import run_mentoreval
from mentoreval.ingest.protect import keygen

PERSONAL = [f"cbi_p{i}" for i in range(1, 7)]


@pytest.fixture
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    key = tmp_path_factory.mktemp("keys") / "k.key"
    keygen(key)
    return {**os.environ, "MENTOREVAL_KEY_FILE": str(key)}


def run(env: dict[str, str], *args: str | Path) -> subprocess.CompletedProcess[str]:
    return run_mentoreval(*args, env=env)


def cbi_personal_study(folder: Path, instruments: str, extra: str = "") -> Path:
    """Exports with only the CBI personal burnout items (pre and post, six students)."""
    for wave in ("pre", "post"):
        rows = [",".join(["sid", *PERSONAL])]
        rows += [",".join([f"S{i}", *["50", "25", "75", "50", "0", "100"]]) for i in range(6)]
        (folder / f"{wave}.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    study = folder / "study.yaml"
    study.write_text(
        "title: CBI personal burnout only\nparticipant_id: {column: sid}\n"
        "sources: [{path: pre.csv, wave: pre}, {path: post.csv, wave: post}]\n"
        f"instruments: {instruments}\n{extra}",
        encoding="utf-8",
    )
    return study


def test_study_using_one_cbi_scale_needs_only_its_items(
    tmp_path: Path, env: dict[str, str]
) -> None:
    study = cbi_personal_study(tmp_path, "{cbi: {scales: [personal]}}")
    assert run(env, "validate", study).returncode == 0
    done = run(env, "ingest", study, "--out", tmp_path / "out", "--no-store")
    assert done.returncode == 0, done.stderr
    import pandas as pd

    scores = pd.read_parquet(tmp_path / "out" / "scores.parquet")
    assert set(scores["scale"].astype(str)) == {"personal"} and len(scores) == 12


def test_without_scales_the_other_cbi_items_are_required(
    tmp_path: Path, env: dict[str, str]
) -> None:
    done = run(env, "validate", cbi_personal_study(tmp_path, "{cbi: {}}"))
    assert done.returncode == 2
    assert "item column for cbi.cbi_w1 is absent" in done.stderr
    assert "instruments.cbi.scales" in done.stderr  # the fix names the key


def test_unknown_scale_and_item_of_an_unused_scale_are_named(
    tmp_path: Path, env: dict[str, str]
) -> None:
    done = run(env, "validate", cbi_personal_study(tmp_path, "{cbi: {scales: [persnal]}}"))
    assert done.returncode == 2
    assert "instruments.cbi.scales: cbi has no scale 'persnal'" in done.stderr
    assert "['personal', 'work', 'client']" in done.stderr
    study = cbi_personal_study(
        tmp_path, "{cbi: {scales: [personal], items: {cbi_w1: W1, cbi_p1: cbi_p1}}}"
    )
    done = run(env, "validate", study)
    assert done.returncode == 2
    assert "unknown item 'cbi_w1' in the scales used ['personal']" in done.stderr


def test_broken_user_instrument_shows_every_problem_with_its_key(
    tmp_path: Path, env: dict[str, str]
) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "mini.yaml").write_text(
        "id: mini\nlicence: local\n"
        "response_scales: {default: {codes: [1, 2], labels: [no, yes]}}\n"
        "items: [{id: Bad-Id}, {id: m2, reverse: maybe}]\n"
        "scales: [{id: total, items: [m2], higher_is_better: true, colour: red}]\n",
        encoding="utf-8",
    )
    study = cbi_personal_study(
        tmp_path, "{cbi: {scales: [personal]}, mini: {}}", "instrument_dirs: [mine]\n"
    )
    done = run(env, "validate", study)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    said = done.stderr
    assert "instruments.mini: the definition does not load" in said
    assert "mini.yaml: items[0].id: 'Bad-Id' is not a valid id" in said
    assert "items[1].reverse" in said and "scales[0].colour" in said
    assert "mentoreval instruments list" not in said
    assert "3 problem(s) found" in said


def test_unknown_instrument_names_instrument_dirs(tmp_path: Path, env: dict[str, str]) -> None:
    done = run(
        env, "validate", cbi_personal_study(tmp_path, "{cbi: {scales: [personal]}, minj: {}}")
    )
    assert done.returncode == 2
    assert "unknown instrument 'minj'" in done.stderr and "instrument_dirs" in done.stderr
