"""Hostile files: encodings, truncation, binary junk, empty and header-only exports,
declared sizes, Excel and SPSS quirks."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from _hostile import (
    HEADER,
    Case,
    Project,
    Result,
    csv_text,
    default_rows,
    params,
    rezip,
    run_case,
    sav_bytes,
    xlsx_bytes,
)

PRE = "exports/pre.csv"


def pre_as(encoding: str, *, bom: bytes = b"", text_edit: Any = None) -> Any:
    """The pre export re-encoded (and optionally edited), with a group label that needs
    more than ASCII."""

    def build(p: Project) -> None:
        rows = default_rows("pre")
        rows[0][1] = "mentored"
        text = csv_text([*HEADER, "site"], [[*r, "Zoë Hall"] for r in rows])
        if text_edit is not None:
            text = text_edit(text)
        p.write(PRE, bom + text.encode(encoding))
        p.config["columns"]["covariates"] = ["site"]

    return build


def scores_equal(wave_total: dict[str, float]) -> Any:
    """A check: the mean WHO-5 total per wave."""

    def check(r: Result) -> None:
        s = r.table("scores.parquet")
        s = s[s["scale"] == "total"]
        got = s.groupby("wave")["score"].mean().round(2).to_dict()
        for wave, mean in wave_total.items():
            assert got[wave] == pytest.approx(mean), got

    return check


def pre_bytes(data: bytes, name: str = PRE) -> Any:
    def build(p: Project) -> None:
        p.only_pre()
        p.drop(PRE)
        p.write(name, data)
        p.source(0, path=name)

    return build


def header_only(p: Project) -> None:
    p.write("exports/post.csv", ",".join(HEADER) + "\n")


def header_only_extra_wave(p: Project) -> None:
    p.write("exports/followup.csv", ",".join(HEADER) + "\n")
    p.config["sources"].append({"path": "exports/followup.csv", "wave": "followup"})


def trailing_blank_lines(p: Project) -> None:
    p.write(PRE, csv_text(HEADER, default_rows("pre")) + "\n\n\n")


def crlf(p: Project) -> None:
    p.write(PRE, csv_text(HEADER, default_rows("pre")).replace("\n", "\r\n"))


def sep_hint(p: Project) -> None:
    p.write(PRE, "sep=;\n" + csv_text(HEADER, default_rows("pre"), sep=";"))


def semicolons(p: Project) -> None:
    p.write(PRE, csv_text(HEADER, default_rows("pre"), sep=";"))


def tabs(p: Project) -> None:
    p.write(PRE, csv_text(HEADER, default_rows("pre"), sep="\t"))


def huge_free_text(p: Project) -> None:
    rows = [[*r, "x" * 200_000] for r in default_rows("pre")]
    p.csv(PRE, [*HEADER, "comments"], rows)


def duplicate_columns(p: Project) -> None:
    rows = [[*r, 4] for r in default_rows("pre")]
    p.csv(PRE, [*HEADER, "who5_3"], rows)


def only_id_column(p: Project) -> None:
    p.csv(PRE, ["sid"], [[r[0]] for r in default_rows("pre")])


def folder_as_file(p: Project) -> None:
    p.drop(PRE)
    p.after_write.append(lambda q: (q.study / PRE).mkdir())


def no_newline_at_end(p: Project) -> None:
    p.write(PRE, csv_text(HEADER, default_rows("pre")).rstrip("\n"))


def nul_in_cell(p: Project) -> None:
    text = csv_text(HEADER, default_rows("pre"))
    p.write(PRE, text.replace("mentored", "ment\x00ored", 1))


def truncated_mid_row(p: Project) -> None:
    text = csv_text(HEADER, default_rows("pre"))
    p.write(PRE, text[: text.rindex(",", 0, len(text) - 6)])


def truncated_quote(p: Project) -> None:
    text = csv_text([*HEADER, "comments"], [[*r, "ok"] for r in default_rows("pre")])
    p.write(PRE, text + 'S7000099,mentored,2024-01-10 11:00:00,1,1,1,1,1,"cut off he')


# -- Excel


def book(rows: list[list[Any]] | None = None) -> list[list[Any]]:
    return [HEADER, *(rows if rows is not None else default_rows("pre"))]


def xlsx_pre(data: bytes, name: str = "exports/pre.xlsx", **source: Any) -> Any:
    def build(p: Project) -> None:
        p.drop(PRE)
        p.write(name, data)
        p.note_ids(HEADER, default_rows("pre"), "sid")
        p.source(0, path=name, **source)

    return build


def hidden_first_sheet(p: Project) -> None:
    junk = [HEADER, *[[f"S79{i:05d}", "mentored", "2024-01-01", 0, 0, 0, 0, 0] for i in range(9)]]
    data = xlsx_bytes([("Old", junk), ("Responses", book())], hidden=[0])
    p.note_ids(HEADER, junk[1:], "sid")
    xlsx_pre(data)(p)


def merged_group(p: Project) -> None:
    rows = default_rows("pre")
    for r in rows[:3]:
        r[1] = "mentored"
    for r in rows[1:3]:
        r[1] = None
    xlsx_pre(xlsx_bytes([("Responses", book(rows))], merge=[(0, "B2:B4")]))(p)


def merged_filled(r: Result) -> None:
    if r.code == 0:
        parts = r.table("participants.parquet")
        assert parts["group"].notna().all(), "merged cells lost the group of their rows"


def inflated_dimension(p: Project) -> None:
    def edit(name: str, data: bytes) -> bytes:
        if name.startswith("xl/worksheets/sheet"):
            return re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:H1048576"', data)
        return data

    xlsx_pre(rezip(xlsx_bytes([("Responses", book())]), edit))(p)


def formula_item(p: Project) -> None:
    rows = default_rows("pre")
    rows[2][5] = "=1+2"
    xlsx_pre(xlsx_bytes([("Responses", book(rows))]))(p)


def formula_item_cached(p: Project) -> None:
    formula_item(p)
    p.source(0, formulas="cached")


def xlsm(p: Project) -> None:
    xlsx_pre(xlsx_bytes([("Responses", book())]), name="exports/pre.xlsm")(p)


def macro_inside_xlsx(p: Project) -> None:
    def edit(name: str, data: bytes) -> bytes:
        return data

    data = xlsx_bytes([("Responses", book())])
    import io
    import zipfile

    buf = io.BytesIO(rezip(data, edit))
    with zipfile.ZipFile(buf, "a") as z:
        z.writestr("xl/vbaProject.bin", b"\x00" * 64)
    xlsx_pre(buf.getvalue())(p)


def truncated_xlsx(p: Project) -> None:
    data = xlsx_bytes([("Responses", book())])
    xlsx_pre(data[: len(data) // 2])(p)


def zip_bomb(p: Project) -> None:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", b"<Types/>")
        z.writestr("xl/workbook.xml", b"<a/>")
        z.writestr("xl/worksheets/sheet1.xml", b"0" * 40_000_000)
    xlsx_pre(buf.getvalue())(p)


def xlsx_sheet_missing(p: Project) -> None:
    xlsx_pre(xlsx_bytes([("Responses", book())]), sheet="Answers")(p)


def xlsx_good(p: Project) -> None:
    xlsx_pre(xlsx_bytes([("Responses", book())]))(p)


# -- SPSS


def sav_frame(answers: int | None = None) -> pd.DataFrame:
    rows = default_rows("pre")
    frame = pd.DataFrame(rows, columns=HEADER)
    for c in ["who5_1", "who5_2", "who5_3", "who5_4", "who5_5"]:
        frame[c] = frame[c].astype(float) if answers is None else float(answers)
    return frame


def sav_pre(make: Any) -> Any:
    def build(p: Project) -> None:
        p.drop(PRE)
        p.write("exports/pre.sav", make(p))
        p.note_ids(HEADER, default_rows("pre"), "sid")
        p.source(0, path="exports/pre.sav")

    return build


def sav_partial_labels(p: Project) -> bytes:
    labels = {0.0: "At no time", 5.0: "All of the time"}
    return sav_bytes(p.tmp, sav_frame(2), variable_value_labels={c: labels for c in HEADER[3:]})


def sav_user_missing(p: Project) -> bytes:
    frame = sav_frame(2)
    frame.loc[0, "who5_1"] = 9.0
    labels = {0.0: "At no time", 5.0: "All of the time", 9.0: "No answer"}
    return sav_bytes(
        p.tmp,
        frame,
        variable_value_labels={c: labels for c in HEADER[3:]},
        missing_ranges={c: [9.0] for c in HEADER[3:]},
    )


def sav_truncated(p: Project) -> bytes:
    data = sav_bytes(p.tmp, sav_frame())
    return data[: len(data) // 2]


def sav_good(p: Project) -> bytes:
    return sav_bytes(p.tmp, sav_frame())


JUNK = bytes(np.random.default_rng(13).integers(0, 256, 5000, dtype=np.uint8))
FULL = {"rows_read": 12, "rows_kept": 12, "rows_quarantined": 0}
ONE = {"rows_read": 6, "rows_kept": 6, "rows_quarantined": 0}

CASES = [
    # encodings
    Case("utf8_bom", pre_as("utf-8", bom=b"\xef\xbb\xbf"), counts=FULL),
    Case("utf16_le_bom", pre_as("utf-16"), counts=FULL),
    Case(
        "utf16_le_no_bom",
        pre_as("utf-16-le"),
        counts=FULL,
    ),
    Case(
        "utf16_be_no_bom",
        pre_as("utf-16-be"),
        counts=FULL,
    ),
    Case("cp1252", pre_as("cp1252"), counts=FULL),
    Case(
        "mixed_utf8_and_cp1252",
        lambda p: (
            pre_as("utf-8")(p),
            p.write(
                PRE, p.files[PRE] + "S7000077,mentored,2024-01-10,1,1,1,1,1,Zoë\n".encode("cp1252")
            ),
        ),
        exit=2,
        names=("pre.csv", "row 8"),
    ),
    Case(
        "forced_wrong_encoding",
        lambda p: (pre_as("cp1252")(p), p.source(0, encoding="utf-8")),
        exit=2,
        names=("pre.csv", "row 2"),
    ),
    # truncation, junk, emptiness
    Case("truncated_mid_row", truncated_mid_row, exit=2, names=("pre.csv", "row 7")),
    Case("truncated_in_quotes", truncated_quote, exit=2, names=("pre.csv", "row 8")),
    Case("no_final_newline", no_newline_at_end, counts=FULL),
    Case("binary_junk_csv", pre_bytes(b"\x00\x01" + JUNK), exit=2, names=("pre.csv",)),
    Case("png_named_csv", pre_bytes(b"\x89PNG\r\n\x1a\n" + JUNK), exit=2, names=("pre.csv",)),
    Case("nul_in_cell", nul_in_cell, exit=2, names=("pre.csv", "row 2")),
    Case("empty_file", pre_bytes(b""), exit=2, names=("pre.csv", "empty")),
    Case("only_blank_lines", pre_bytes(b"\r\n\n   \n"), exit=2, names=("pre.csv", "empty")),
    Case(
        "header_only_needed_wave",
        header_only,
        command="validate",
        exit=2,
        names=("post.csv", "post"),
    ),
    Case(
        "header_only_needed_wave_ingest",
        header_only,
        exit=2,
        names=("post.csv", "post"),
    ),
    Case(
        "header_only_extra_wave_warns",
        header_only_extra_wave,
        command="validate",
        exit=0,
        names=("followup.csv", "warning"),
    ),
    Case("trailing_blank_lines", trailing_blank_lines, counts={"rows_kept": 12}),
    Case("crlf", crlf, counts=FULL),
    Case("semicolon_delimited", semicolons, counts=FULL),
    Case("tab_delimited", tabs, counts=FULL),
    Case("huge_free_text_cell", huge_free_text, counts=FULL),
    Case(
        "duplicate_column_names",
        duplicate_columns,
        exit=2,
        names=("pre.csv", "who5_3"),
    ),
    Case("only_id_column", only_id_column, exit=2, names=("pre.csv", "sources[0]")),
    Case("folder_named_csv", folder_as_file, exit=2, names=("sources[0].path",)),
    # Excel
    Case("xlsx_plain", xlsx_good, counts=FULL),
    Case(
        "xlsx_hidden_first_sheet",
        hidden_first_sheet,
        counts=FULL,
    ),
    Case(
        "xlsx_merged_group_cells",
        merged_group,
        check=merged_filled,
    ),
    Case(
        "xlsx_inflated_dimension",
        inflated_dimension,
        counts=FULL,
    ),
    Case("xlsx_formula_item", formula_item, exit=2, names=("pre.xlsx", "row 4", "who5_3")),
    Case(
        "xlsx_formula_cached_without_value",
        formula_item_cached,
        exit=2,
        names=("pre.xlsx", "row 4", "who5_3"),
    ),
    Case("xlsm", xlsm, exit=2, names=("pre.xlsm", "macro")),
    Case("xlsx_with_vba", macro_inside_xlsx, exit=2, names=("pre.xlsx", "macros")),
    Case("xlsx_truncated", truncated_xlsx, exit=2, names=("pre.xlsx",)),
    Case("xlsx_zip_bomb", zip_bomb, exit=2, names=("pre.xlsx", "zip bomb")),
    Case("xlsx_sheet_missing", xlsx_sheet_missing, exit=2, names=("pre.xlsx", "Answers")),
    Case(
        "ole_named_xlsx",
        pre_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "exports/pre.xlsx"),
        exit=2,
        names=("pre.xlsx",),
    ),
    # SPSS
    Case("sav_plain", sav_pre(sav_good), counts=FULL),
    Case(
        "sav_partial_value_labels",
        sav_pre(sav_partial_labels),
        counts=FULL,
        check=scores_equal({"pre": 40.0}),
    ),
    Case(
        "sav_user_missing_code",
        sav_pre(sav_user_missing),
        counts={**FULL, "answers_quarantined": 0},
    ),
    Case("sav_truncated", sav_pre(sav_truncated), exit=2, names=("pre.sav",)),
    Case(
        "sav_magic_then_junk",
        pre_bytes(b"$FL2" + JUNK, "exports/pre.sav"),
        exit=2,
        names=("pre.sav",),
    ),
]


@pytest.mark.parametrize("case", params(CASES))
def test_hostile_file(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run_case(case, tmp_path, capsys, monkeypatch)
