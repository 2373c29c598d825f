"""Mapping one source: a retrospective pre-post ("then-test") source through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from mentoreval.ingest.protect import keygen

THEN = "{then: {who5_1: b1, who5_2: b2, who5_3: b3, who5_4: b4, who5_5: b5}}"
HEADER = "sid,who5_1,who5_2,who5_3,who5_4,who5_5,b1,b2,b3,b4,b5,attn\n"


def _study(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rows: str, who5: str = THEN) -> Path:
    keygen(tmp_path / "keys" / "k.key")
    monkeypatch.setenv("MENTOREVAL_KEY_FILE", str(tmp_path / "keys" / "k.key"))
    study = tmp_path / "study"
    study.mkdir()
    (study / "post.csv").write_text(HEADER + rows, encoding="utf-8")
    (study / "study.yaml").write_text(
        "title: Then-test\nparticipant_id: {column: sid}\n"
        "sources: [{path: post.csv, wave: post, then: pre}]\n"
        f"instruments:\n  who5: {who5}\ncolumns: {{drop: [attn]}}\n",
        encoding="utf-8",
    )
    return study / "study.yaml"


def _main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[object, str, str]:
    from mentoreval.cli import main

    with pytest.raises(SystemExit) as info:
        main(argv)
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


ROWS = (
    "s1,4,4,4,4,4,2,2,2,2,2,x\n"  # replaced by row 5 (keep_last)
    "s2,3,3,3,3,3,1,1,1,1,9,x\n"  # 9 is no WHO-5 answer: its 'before' answer is quarantined
    "s3,5,5,5,5,5,3,3,3,3,3,x\n"
    "s1,4,4,4,4,5,2,2,2,2,3,x\n"
)


def test_one_then_test_row_gives_a_pre_and_a_post_response_of_one_participant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    study = _study(tmp_path, monkeypatch, ROWS)
    code, out, err = _main(["validate", str(study), "--lenient"], capsys)
    assert code in (0, None), err
    assert "row 3: column 'b5': unknown_value: '9'" in err
    code, out, err = _main(
        ["ingest", str(study), "--out", str(tmp_path / "out"), "--no-store"], capsys
    )
    assert code in (0, None), err
    # export rows, not records: 4 read, 3 kept, the duplicate row quarantined once
    assert out.startswith("Read 4 rows: kept 3, quarantined 1 (+1 single answers); 3 participants")
    assert "3 linked pre/post pairs (0 pre only, 0 post only, 1 duplicates removed)" in out
    folder = tmp_path / "out"
    scores = pd.read_parquet(folder / "scores.parquet")
    wide = scores.pivot_table(index="participant_id", columns="wave", values="score", observed=True)
    # WHO-5: raw sum x 4; pre from the 'before' columns, post from the 'now' columns
    both = wide[["pre", "post"]].dropna()
    assert sorted(map(tuple, both.to_numpy().tolist())) == [
        (44.0, 84.0),  # s1, the later row: before 2,2,2,2,3 / now 4,4,4,4,5
        (60.0, 100.0),  # s3
    ]
    # s2: one 'before' answer quarantined (4 of 5 answered, 5 needed); now 3,3,3,3,3
    assert wide["pre"].isna().sum() == 1 and wide.loc[wide["pre"].isna(), "post"].tolist() == [60.0]
    responses = pd.read_parquet(folder / "responses.parquet")
    assert responses.groupby("wave", observed=True)["source_row"].apply(set).to_dict() == {
        "post": {3, 4, 5},
        "pre": {3, 4, 5},
    }
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["design"] == {
        "kind": "then_test",
        "then": "pre",
        "now": "post",
        "sources": ["post.csv"],
        "linkage": {"method": "same_response"},
    }
    assert manifest["inputs"]["post.csv"]["reconciliation"] == {
        "records": 4,
        "kept": 3,
        "quarantined": 1,
        "by_rule": {"duplicate": 1},
    }
    quarantine = pd.read_csv(folder / "quarantine.csv")
    assert quarantine[["source_row", "rule", "column"]].fillna("").to_numpy().tolist() == [
        [2, "duplicate", ""],
        [3, "unknown_value", "b5"],
    ]


def test_a_prospective_study_records_its_design_as_prospective_linked_by_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    study = _study(tmp_path, monkeypatch, ROWS, who5="{}")
    text = study.read_text(encoding="utf-8").replace(", then: pre", "")
    study.write_text(text + "analysis: {pre: post, post: post}\n", encoding="utf-8")
    code, _, err = _main(
        ["ingest", str(study), "--out", str(tmp_path / "out"), "--no-store"], capsys
    )
    assert code in (0, None), err
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["design"] == {"kind": "prospective", "linkage": {"method": "id"}}


def test_a_then_column_absent_from_the_export_stops_ingest_naming_its_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    study = _study(tmp_path, monkeypatch, ROWS, who5=THEN.replace("b5}", "before_5}"))
    code, _, err = _main(
        ["ingest", str(study), "--out", str(tmp_path / "out"), "--no-store"], capsys
    )
    assert code == 2 and "Traceback" not in err
    assert "instruments.who5.then.who5_5" in err and "before_5" in err
    assert not (tmp_path / "out").exists()
