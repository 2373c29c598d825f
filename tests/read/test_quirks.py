"""Quirks of real exports that used to be read wrongly without a word (issue 13).

Each test states the behaviour: trailing blank lines are not records, Excel's ``sep=``
line is honoured, repeated column names are refused with both positions, a hidden first
sheet is skipped, merged cells are filled, a workbook's declared dimension is not trusted.
"""

from __future__ import annotations

import io
import re
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest

from mentoreval.errors import ReadError
from mentoreval.read import detect_format, read_export

# ----------------------------------------------------------------------------- CSV


def test_trailing_blank_lines_are_not_records(tmp_path: Path) -> None:
    body = "".join(f"S{i:03d},{i % 6}\n" for i in range(40))
    p = tmp_path / "pre.csv"
    p.write_text("sid,who5_1\n" + body + "\n\n\r\n", encoding="utf-8")
    t = read_export(p)
    assert len(t.data) == 40
    assert t.excluded.empty
    assert t.record_count_check == 40  # the independent count agrees: 40 rows in, not 41+


def test_blank_line_between_records_is_still_a_blank_row(tmp_path: Path) -> None:
    p = tmp_path / "pre.csv"
    p.write_text("sid,q\nA,1\n\nB,2\n\n", encoding="utf-8")
    t = read_export(p)
    assert t.data.index.tolist() == [2, 4]
    assert t.excluded[["source_row", "rule"]].to_numpy().tolist() == [[3, "blank_row"]]
    assert t.record_count_check == 3


@pytest.mark.parametrize("hint", ["sep=;", '"sep=;"'])
def test_excel_sep_hint_gives_the_separator_and_is_not_a_header(tmp_path: Path, hint: str) -> None:
    p = tmp_path / "excel.csv"
    # commas inside the cells would win a separator sniff: the hint must decide
    p.write_bytes(f"{hint}\r\nsid;comment;q1\r\nA1;yes, fine;3\r\nA2;no, thanks;4\r\n".encode())
    t = read_export(p)
    assert t.delimiter == ";"
    assert list(t.data.columns) == ["sid", "comment", "q1"]
    assert t.data.index.tolist() == [3, 4]  # rows numbered as in the file
    assert t.data.loc[3, "comment"] == "yes, fine"
    assert t.header_rows == 2 and t.record_count_check == 2
    assert any("sep=;" in n for n in t.notes)
    assert detect_format(p) == "csv"


def test_sep_hint_rows_in_errors_are_the_files_rows(tmp_path: Path) -> None:
    p = tmp_path / "excel.csv"
    p.write_text("sep=;\nsid;q1\nA1;3\nA2;3;9\n", encoding="utf-8")
    with pytest.raises(ReadError) as info:
        read_export(p)
    assert [q.row for q in info.value.problems] == [4]


def test_sep_hint_alone_is_an_empty_file(tmp_path: Path) -> None:
    p = tmp_path / "excel.csv"
    p.write_text("sep=,\r\n", encoding="utf-8")
    with pytest.raises(ReadError, match="separator hint"):
        read_export(p)


def test_sep_hint_before_a_qualtrics_export_is_still_detected(tmp_path: Path) -> None:
    p = tmp_path / "q.csv"
    p.write_text(
        "sep=,\nStartDate,Status,ResponseId,Q1\nStart Date,Response Type,Response ID,Mood\n"
        '"{""ImportId"":""startDate""}","{""ImportId"":""status""}",'
        '"{""ImportId"":""_recordId""}","{""ImportId"":""QID1""}"\n'
        "2024-01-01,0,R_1,4\n",
        encoding="utf-8",
    )
    t = read_export(p)
    assert t.format == "qualtrics"
    assert t.data.index.tolist() == [5]


def test_duplicate_column_names_are_refused_naming_both_positions(tmp_path: Path) -> None:
    p = tmp_path / "pre.csv"
    p.write_text("sid,who5_1,who5_2,who5_3,x,who5_3\nA,1,2,3,,4\n", encoding="utf-8")
    with pytest.raises(ReadError) as info:
        read_export(p)
    (problem,) = info.value.problems
    assert problem.column == "who5_3" and problem.row == 1
    assert "columns 4 (D) and 6 (F)" in problem.message
    assert problem.fix and "rename" in problem.fix
    assert "who5_3__2" not in str(info.value)


def test_duplicate_column_names_in_a_workbook_name_the_letters(tmp_path: Path) -> None:
    p = tmp_path / "pre.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["sid", "who5_1", "who5_1"])
    wb.active.append(["A", 1, 2])
    wb.save(p)
    with pytest.raises(ReadError, match=re.escape("columns 2 (B) and 3 (C)")):
        read_export(p)


def test_redcap_label_exports_may_repeat_complete(tmp_path: Path) -> None:
    p = tmp_path / "labels.csv"
    p.write_text("Record ID,Age,Complete?,Mood,Complete?\n1,23,Complete,3,Incomplete\n")
    t = read_export(p)
    assert t.format == "redcap_labels"
    assert list(t.data.columns) == ["Record ID", "Age", "Complete?", "Mood", "Complete?__2"]


# ---------------------------------------------------------------------------- Excel


def test_hidden_first_sheet_is_skipped_and_said(tmp_path: Path) -> None:
    p = tmp_path / "export.xlsx"
    wb = openpyxl.Workbook()
    hidden = wb.active
    hidden.title = "lookup"
    hidden.append(["sid", "who5_1"])
    hidden.append(["X", 0])
    hidden.sheet_state = "hidden"
    shown = wb.create_sheet("responses")
    shown.append(["sid", "who5_1"])
    shown.append(["A", 4])
    wb.save(p)
    t = read_export(p)
    assert t.sheet == "responses"
    assert t.skipped_sheets == ("lookup",)
    assert t.data["sid"].tolist() == ["A"]
    assert any("'responses'" in n and "'lookup'" in n and "hidden" in n for n in t.notes)
    assert t.manifest_entry()["skipped_sheets"] == ["lookup"]
    # a sheet named explicitly is read even when hidden
    named = read_export(p, sheet="lookup")
    assert named.data["sid"].tolist() == ["X"] and named.skipped_sheets == ()


def test_workbook_with_only_hidden_sheets_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "export.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["sid"])
    wb.create_sheet("other")
    wb.save(p)

    def hide_all(xml: bytes) -> bytes:
        xml = re.sub(rb' state="[^"]*"', b"", xml)
        return xml.replace(b"<sheet ", b'<sheet state="hidden" ')

    p.write_bytes(_rewrite(p, "xl/workbook.xml", hide_all))
    with pytest.raises(ReadError, match="no visible sheet"):
        read_export(p)


def test_merged_cells_are_filled_with_their_top_left_value(tmp_path: Path) -> None:
    p = tmp_path / "export.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["sid", "group", "who5_1"])
    for i, g in enumerate(["mentored", None, None, "comparison", None]):
        ws.append([f"S{i}", g, i % 6])
    ws.merge_cells("B2:B4")
    ws.merge_cells("B5:B6")
    wb.save(p)
    t = read_export(p)
    assert t.data["group"].tolist() == ["mentored"] * 3 + ["comparison"] * 2
    assert any("B2:B4" in n and "B5:B6" in n for n in t.notes)


def test_merged_cells_in_the_header_row_are_refused_with_the_range(tmp_path: Path) -> None:
    p = tmp_path / "export.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["sid", "mood", None])
    ws.append(["A", 1, 2])
    ws.merge_cells("B1:C1")
    wb.save(p)
    with pytest.raises(ReadError) as info:
        read_export(p)
    assert "B1:C1" in str(info.value)


def _rewrite(path: Path, entry: str, change) -> bytes:  # type: ignore[no-untyped-def]
    src = zipfile.ZipFile(path)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info.filename)
            out.writestr(info.filename, change(data) if info.filename == entry else data)
    return buf.getvalue()


def test_declared_dimension_of_a_million_rows_is_not_trusted(tmp_path: Path) -> None:
    p = tmp_path / "export.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["sid", "who5_1"])
    for i in range(40):
        ws.append([f"S{i}", i % 6])
    wb.save(p)
    data = _rewrite(
        p,
        "xl/worksheets/sheet1.xml",
        lambda x: re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:B1048576"', x),
    )
    p.write_bytes(data)
    start = time.process_time()
    t = read_export(p)
    assert time.process_time() - start < 5
    assert len(t.data) == 40 and t.excluded.empty and t.record_count_check == 40


def test_trailing_empty_rows_of_a_sheet_are_not_records(tmp_path: Path) -> None:
    p = tmp_path / "export.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["sid", "who5_1"])
    ws.append(["A", 1])
    ws.append([None, None])
    ws.append(["B", 2])
    ws["A30"].number_format = "0.00"  # a formatted but empty cell far below the data
    ws["B31"] = ""
    wb.save(p)
    t = read_export(p)
    assert t.data.index.tolist() == [2, 4]
    assert t.excluded[["source_row", "rule"]].to_numpy().tolist() == [[3, "empty_row"]]
    assert t.record_count_check == 3
