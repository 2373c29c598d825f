"""SurveyMonkey exports (expanded layout, CSV and XLSX) built from the documented layout:
read, detected, and taken end to end through ``mentoreval validate`` and ``ingest``."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest

from mentoreval.ingest.protect import keygen
from mentoreval.read import detect_format, read_export

WHO5_Q = "Over the last two weeks..."
WHO5_ROWS = [
    "I have felt cheerful and in good spirits",
    "I have felt calm and relaxed",
    "I have felt active and vigorous",
    "I woke up feeling fresh and rested",
    "My daily life has been filled with things that interest me",
]
LABELS = [
    "At no time",
    "Some of the time",
    "Less than half of the time",
    "More than half of the time",
    "Most of the time",
    "All of the time",
]
META = [
    "Respondent ID",
    "Collector ID",
    "Start Date",
    "End Date",
    "IP Address",
    "Email Address",
    "First Name",
    "Last Name",
    "Custom Data 1",
]
ROW1 = [
    *META,
    "Student number",
    "Which group are you in?",
    "Which sessions did you attend?",
    "",
    "",
    "Any comments?",
    WHO5_Q,
    *[""] * 4,
]
ROW2 = [
    *[""] * len(META),
    "Open-Ended Response",
    "Response",
    "Induction",
    "Career talk",
    "Other (please specify)",
    "Open-Ended Response",
    *WHO5_ROWS,
]


def _records(wave: str, n: int = 12) -> list[list[str]]:
    rows = []
    for i in range(n):
        answers = [LABELS[(i + j + (wave == "post")) % 6] for j in range(5)]
        rows.append(
            [
                f"{11400000000 + i}",
                "402233871",
                "01/15/2025 10:02:11 AM",
                "01/15/2025 10:09:40 AM",
                f"192.0.2.{i}",
                f"s{i}@example.ac.uk",
                f"First{i}",
                f"Last{i}",
                "cohort-2025",
                f"S{i:04d}",
                "Mentored" if i % 2 else "Comparison",
                "Induction" if i % 3 else "",
                "Career talk",
                "",
                "" if i % 4 else f"Comment number {i} about the programme",
                *answers,
            ]
        )
    return rows


def write_csv(path: Path, wave: str = "pre") -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        w = csv.writer(handle)
        w.writerows([ROW1, ROW2, *_records(wave)])
    return path


def write_xlsx(path: Path, wave: str = "pre", *, merge: bool = True) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in [ROW1, ROW2, *_records(wave)]:
        ws.append([v if v != "" else None for v in row])
    if merge:  # a question merged across its option columns in row 1
        first = ROW1.index("Which sessions did you attend?") + 1
        ws.merge_cells(start_row=1, start_column=first, end_row=1, end_column=first + 2)
        who = ROW1.index(WHO5_Q) + 1
        ws.merge_cells(start_row=1, start_column=who, end_row=1, end_column=who + 4)
    wb.save(path)
    return path


def _check_table(path: Path) -> None:
    assert detect_format(path) == "surveymonkey"
    t = read_export(path)
    assert t.format == "surveymonkey" and t.header_rows == 2
    cols = t.data.columns.tolist()
    assert cols[: len(META)] == META
    assert cols[len(META) : len(META) + 6] == [
        "Student number",
        "Which group are you in?",
        "Which sessions did you attend? [Induction]",
        "Which sessions did you attend? [Career talk]",
        "Which sessions did you attend? [Other (please specify)]",
        "Any comments?",
    ]
    assert cols[-5:] == [f"{WHO5_Q} [{r}]" for r in WHO5_ROWS]
    assert t.source_row.tolist() == list(range(3, 15))  # both header rows counted
    assert t.data.loc[3, "Respondent ID"] == "11400000000"  # ids stay text
    meta = t.columns_meta.set_index("column")
    assert meta.loc["IP Address", "role"] == "ip_address"
    assert {c for c in meta.index if meta.loc[c, "identifier"] == "y"} == {
        "IP Address",
        "Email Address",
        "First Name",
        "Last Name",
    }
    assert meta.loc[f"{WHO5_Q} [{WHO5_ROWS[0]}]", "question"] == WHO5_Q
    assert meta.loc[f"{WHO5_Q} [{WHO5_ROWS[0]}]", "sub_item"] == WHO5_ROWS[0]
    assert meta.loc["Which group are you in?", "role"] == "response"


def test_csv_expanded_layout_is_read_with_stable_names(tmp_path: Path) -> None:
    _check_table(write_csv(tmp_path / "sm.csv"))


def test_xlsx_expanded_layout_is_read_like_the_csv(tmp_path: Path) -> None:
    _check_table(write_xlsx(tmp_path / "sm.xlsx"))
    _check_table(write_xlsx(tmp_path / "plain.xlsx", merge=False))


def test_csv_and_xlsx_give_the_same_cells(tmp_path: Path) -> None:
    a = read_export(write_csv(tmp_path / "sm.csv"))
    b = read_export(write_xlsx(tmp_path / "sm.xlsx"))
    assert a.data.equals(b.data)


def test_a_plain_table_starting_with_respondent_id_is_not_surveymonkey(tmp_path: Path) -> None:
    p = tmp_path / "plain.csv"
    p.write_text("Respondent ID,Collector ID,score\n1,2,3\n")
    assert detect_format(p) == "csv"


def test_a_merge_reaching_into_the_data_rows_is_refused(tmp_path: Path) -> None:
    from mentoreval.errors import ReadError

    path = write_xlsx(tmp_path / "sm.xlsx", merge=False)
    wb = openpyxl.load_workbook(path)
    wb.active.merge_cells("J2:J3")
    wb.save(path)
    with pytest.raises(ReadError, match="merged across the header row"):
        read_export(path)


STUDY = """title: SurveyMonkey study
participant_id: {{column: Student number}}
sources:
  - {{path: pre.{ext}, wave: pre}}
  - {{path: post.{ext}, wave: post}}
columns:
  group: Which group are you in?
  meta: [Start Date, End Date]
  drop: [Respondent ID, Collector ID, Custom Data 1, Any comments?,
         "Which sessions did you attend? [Induction]",
         "Which sessions did you attend? [Career talk]",
         "Which sessions did you attend? [Other (please specify)]"]
  submitted_at: End Date
instruments:
  who5:
    items:
{items}
analysis:
  pre: pre
  post: post
  group: {{column: Which group are you in?, treated: Mentored, control: Comparison}}
  primary: [who5.total]
"""


@pytest.mark.parametrize("ext", ["csv", "xlsx"])
def test_validate_and_ingest_a_surveymonkey_study(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    ext: str,
) -> None:
    from mentoreval.cli import main

    writer = write_csv if ext == "csv" else write_xlsx
    for wave in ("pre", "post"):
        writer(tmp_path / f"{wave}.{ext}", wave)
    items = "\n".join(f'      who5_{i + 1}: "{WHO5_Q} [{row}]"' for i, row in enumerate(WHO5_ROWS))
    config = tmp_path / "study.yaml"
    config.write_text(STUDY.format(ext=ext, items=items), encoding="utf-8")
    key = tmp_path.parent / f"{tmp_path.name}-keys" / "k.key"
    keygen(key)
    monkeypatch.setenv("MENTOREVAL_KEY_FILE", str(key))
    with pytest.raises(SystemExit) as info:
        main(["validate", str(config)])
    out = capsys.readouterr()
    assert info.value.code == 0, out.err
    with pytest.raises(SystemExit) as info:
        main(["ingest", str(config), "--out", str(tmp_path / "out"), "--no-store"])
    out = capsys.readouterr()
    assert info.value.code == 0, out.err
    assert "Read 24 rows: kept 24, quarantined 0 (+0 single answers)" in out.out
    assert "12 linked pre/post pairs" in out.out
    # no duration in a SurveyMonkey export: the speeder flag is unknown, not "0 too fast"
    assert "quality flags (too fast: not available, no duration column)." in out.out
    # IP, e-mail and names were not mapped: dropped and named, never kept
    assert "'IP Address'" in out.err and "'Email Address'" in out.err
    for parquet in (tmp_path / "out").rglob("*.parquet"):
        assert b"example.ac.uk" not in parquet.read_bytes()
        assert b"192.0.2." not in parquet.read_bytes()
