"""The command line: help, version, instruments commands, exit code 2 without tracebacks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from mentoreval import __version__

BROKEN = Path(__file__).parent / "fixtures" / "instruments_broken"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mentoreval", *args], capture_output=True, text=True, check=False
    )


def test_help_and_version() -> None:
    out = run("--help")
    assert (
        out.returncode == 0
        and "instruments" in out.stdout
        and "Evaluate a mentorship" in out.stdout
    )
    out = run("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"mentoreval {__version__}"


def test_instruments_list_and_show() -> None:
    out = run("instruments", "list")
    assert out.returncode == 0
    for inst in ["who5", "swemwbs", "cbi", "olbi", "pss10", "caas_sf", "career_confidence", "mes"]:
        assert inst in out.stdout
    out = run("instruments", "show", "swemwbs")
    assert (
        out.returncode == 0
        and "item text NOT shipped" in out.stdout
        and "lookup table" in out.stdout
    )


@pytest.mark.parametrize("name", sorted(p.name for p in BROKEN.glob("*.yaml")))
def test_broken_instrument_exits_2_without_traceback(name: str) -> None:
    out = run("instruments", "show", str(BROKEN / name))
    assert out.returncode == 2
    assert "Traceback" not in out.stderr and out.stderr.startswith("error: ")
    assert name in out.stderr


def test_debug_shows_traceback() -> None:
    out = run("--debug", "instruments", "show", "nope")
    assert out.returncode != 0 and "Traceback" in out.stderr


def test_usage_error_exits_2() -> None:
    out = run("instruments", "show")
    assert out.returncode == 2 and "Traceback" not in out.stderr


def test_score_command(tmp_path: Path) -> None:
    wide = tmp_path / "wide.csv"
    wide.write_text(
        "participant_id,wave,who5_1,who5_2,who5_3,who5_4,who5_5\n"
        "007,pre,3,3,3,3,3\n007,post,5,5,5,5,\n",
        encoding="utf-8",
    )
    out_csv = tmp_path / "scores.csv"
    out = run("instruments", "score", "who5", "--input", str(wide), "--out", str(out_csv))
    assert out.returncode == 0, out.stderr
    scores = pd.read_csv(out_csv, dtype={"participant_id": str})
    assert scores["participant_id"].tolist() == ["007", "007"]
    assert scores["score"].iloc[0] == 60 and pd.isna(scores["score"].iloc[1])
    assert "1 not scorable" in out.stdout


def test_score_command_out_of_range(tmp_path: Path) -> None:
    wide = tmp_path / "wide.csv"
    wide.write_text(
        "participant_id,wave,who5_1,who5_2,who5_3,who5_4,who5_5\na,pre,3,3,3,3,3\nb,pre,3,9,3,3,3\n",
        encoding="utf-8",
    )
    out = run(
        "instruments", "score", "who5", "--input", str(wide), "--out", str(tmp_path / "s.csv")
    )
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "row 3" in out.stderr and "column 'who5_2'" in out.stderr and "'9'" in out.stderr
    assert not (tmp_path / "s.csv").exists()


def _stored_study(tmp_path: Path) -> Path:
    study = tmp_path / "study"
    (study / "exports").mkdir(parents=True)
    (study / "exports" / "pre.csv").write_text("sid,who5_1\n1,3\n")
    (study / "study.yaml").write_text(
        "title: T\nprogramme: peer\ncohort: '2025'\nyear: 2025\n"
        "participant_id: {column: sid}\nsources: [{path: exports/pre.csv, wave: pre}]\n"
        "instruments: {who5: {}}\nanalysis: {pre: pre, post: pre}\n"
    )
    return study / "study.yaml"


def _main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[object, str]:
    from mentoreval.cli import main

    with pytest.raises(SystemExit) as info:
        main(argv)
    return info.value.code, capsys.readouterr().err


@pytest.mark.parametrize("where", ["exports", "file", "study"])
def test_ingest_refuses_the_store_folder_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    import mentoreval.ingest.pipeline

    def must_not_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("ingest ran although the store will be refused")

    monkeypatch.setattr(mentoreval.ingest.pipeline, "ingest_study", must_not_run)
    study = _stored_study(tmp_path)
    store = {"exports": study.parent / "exports", "study": study.parent}.get(where)
    if store is None:
        store = tmp_path / "store"
        store.write_text("not a folder")
    argv = ["ingest", str(study), "--out", str(tmp_path / "out"), "--store", str(store)]
    code, err = _main(argv, capsys)
    assert code == 2 and str(store.resolve()) in err and "store" in err
    assert not (tmp_path / "out").exists()


def test_store_check_creates_nothing_and_accepts_a_new_folder(tmp_path: Path) -> None:
    from mentoreval.config.study import load_study
    from mentoreval.store import check_store_root

    study = load_study(_stored_study(tmp_path))
    checked = check_store_root(
        tmp_path / "data" / "store",
        protected=study.input_files(),
        raw_folders=study.raw_folders(),
    )
    assert checked == (tmp_path / "data" / "store").resolve() and not checked.exists()


def test_ctrl_c_says_interrupted_and_exits_130(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """typer turns KeyboardInterrupt into a silent exit 130: main must still say it."""
    import mentoreval.ingest.pipeline

    def interrupt(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(mentoreval.ingest.pipeline, "ingest_study", interrupt)
    argv = ["ingest", str(_stored_study(tmp_path)), "--out", str(tmp_path / "out"), "--no-store"]
    code, err = _main(argv, capsys)
    assert code == 130 and "interrupted" in err and "intact" in err
