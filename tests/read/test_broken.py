"""A corpus of deliberately broken inputs, generated into tmp_path.

Every case must raise a :class:`MentorevalError` (CLI exit 2) whose message names the file
and, where one exists, the row and column; none may escape as another exception.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
import pyreadstat
import pytest

from mentoreval.errors import ConfigError, MentorevalError, ReadError
from mentoreval.read import detect_format, read_export, read_redcap_dictionary

QUALTRICS = (
    "StartDate,Status,Finished,ResponseId,Q1\n"
    "Start Date,Response Type,Finished,Response ID,How are you?\n"
    '"{""ImportId"":""startDate""}","{""ImportId"":""status""}","{""ImportId"":""finished""}",'
    '"{""ImportId"":""_recordId""}","{""ImportId"":""QID1""}"\n'
    "2024-01-01 10:00:00,0,1,R_1,4\n"
)
DICT_HEADER = (
    '"Variable / Field Name","Form Name","Section Header","Field Type","Field Label",'
    '"Choices, Calculations, OR Slider Labels"\n'
)


def _xlsx(path: Path, rows: list[list[Any]]) -> Path:
    wb = openpyxl.Workbook()
    for r in rows:
        wb.active.append(r)
    wb.save(path)
    return path


def _zip(path: Path, entries: dict[str, bytes]) -> Path:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    path.write_bytes(buf.getvalue())
    return path


def _sav(path: Path) -> Path:
    df = pd.DataFrame({"x": np.arange(50, dtype=float), "s": ["abc"] * 50})
    pyreadstat.write_sav(df, str(path))
    return path


@dataclass
class Case:
    name: str
    build: Callable[[Path], Path]
    kwargs: dict[str, Any]
    row: int | None = None
    column: str | None = None
    text: str = ""
    reader: Callable[..., Any] = read_export
    error: type[MentorevalError] = ReadError


def w(name: str, data: bytes | str) -> Callable[[Path], Path]:
    def build(tmp: Path) -> Path:
        p = tmp / name
        p.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        return p

    return build


def formula_book(tmp: Path) -> Path:
    return _xlsx(tmp / "f.xlsx", [["id", "q1", "q2"], ["001", 3, "=B2*2"], ["002", 4, 5]])


def stray_cell_book(tmp: Path) -> Path:
    return _xlsx(tmp / "stray.xlsx", [["id", "q1"], ["001", 3, "oops"]])


def macro_book(tmp: Path) -> Path:
    good = formula_book(tmp).read_bytes()
    with zipfile.ZipFile(io.BytesIO(good)) as z:
        entries = {n: z.read(n) for n in z.namelist()}
    entries["xl/vbaProject.bin"] = b"\x00" * 100
    return _zip(tmp / "macro_renamed.xlsx", entries)


def truncated_book(tmp: Path) -> Path:
    good = _xlsx(tmp / "good.xlsx", [["id", "q"], ["1", 2]]).read_bytes()
    p = tmp / "cut.xlsx"
    p.write_bytes(good[: len(good) // 2])
    return p


def truncated_sav(tmp: Path) -> Path:
    good = _sav(tmp / "good.sav").read_bytes()
    p = tmp / "cut.sav"
    p.write_bytes(good[: len(good) // 2])
    return p


def folder(tmp: Path) -> Path:
    p = tmp / "export.csv"
    p.mkdir()
    return p


RNG = np.random.default_rng(7)
JUNK = bytes(RNG.integers(0, 256, 4000, dtype=np.uint8))

CASES = [
    Case("empty file", w("empty.csv", b""), {}, text="is empty"),
    Case("only blank lines", w("blank.csv", "\r\n\r\n  \n"), {}, text="is empty"),
    Case("binary junk", w("junk.csv", b"\x00\x01" + JUNK), {}, text="not a text export"),
    Case(
        "control byte in text", w("ctrl.csv", "id,q\n1,2\n3,\x014\n"), {}, row=3, text="binary data"
    ),
    Case(
        "wrong encoding forced",
        w("latin.csv", "id,name\n1,Zoë\n".encode("cp1252")),
        {"encoding": "utf-8"},
        row=2,
        text="not valid utf-8",
    ),
    Case(
        "undecodable bytes",
        w("bad.csv", b"id,name\n1,\x81\x8d\x8f\x90\x9d\n"),
        {},
        text="not a text export",
    ),
    Case(
        "truncated in a quoted field",
        w("trunc.csv", 'id,comment\n1,"fine"\n2,"cut off he'),
        {},
        row=3,
        text="never closed",
    ),
    Case(
        "truncated mid row",
        w("short.csv", "id,q1,q2,q3\n1,2,3,4\n5,6"),
        {},
        row=3,
        column="q2",
        text="has 2 fields",
    ),
    Case(
        "ragged long row", w("long.csv", "id,q1\n1,2\n3,4,5\n6,7\n"), {}, row=3, text="has 3 fields"
    ),
    Case(
        "ragged after quoted newline", w("rag2.csv", 'id,q1\n1,"a\nb"\n3\n'), {}, row=3, column="q1"
    ),
    Case(
        "qualtrics truncated header",
        w("q_short.csv", "\n".join(QUALTRICS.split("\n")[:2])),
        {"format": "qualtrics"},
        row=3,
        text="header rows",
    ),
    Case(
        "qualtrics damaged ImportId row",
        w("q_bad.csv", QUALTRICS.replace('"{""ImportId"":""QID1""}"', '"{ImportId: QID1"')),
        {},
        row=3,
        column="Q1",
        text="ImportId",
    ),
    Case(
        "qualtrics forced on plain csv",
        w("plain.csv", "a,b\n1,2\n3,4\n5,6\n"),
        {"format": "qualtrics"},
        row=3,
        column="a",
        text="ImportId",
    ),
    Case(
        "qualtrics reader on plain csv",
        w("plain2.csv", "a,b\n1,2\n"),
        {},
        text="not a Qualtrics export",
        reader=lambda p, **k: __import__("mentoreval.read", fromlist=["x"]).read_qualtrics(p),
    ),
    Case(
        "qualtrics unfinished rule without Finished",
        w("q_nofin.csv", QUALTRICS.replace("Finished", "Done").replace('finished""', 'done""')),
        {"unfinished": "exclude"},
        column="Finished",
    ),
    Case(
        "redcap dictionary given as export",
        w("dd.csv", DICT_HEADER + "id,f,,text,ID,\n"),
        {},
        row=1,
        text="data dictionary",
    ),
    Case(
        "dictionary choices without codes",
        w("dd_nocode.csv", DICT_HEADER + "id,f,,text,ID,\ntitle,f,,radio,Title,Mr. | Mrs. | Dr.\n"),
        {},
        row=3,
        column="Choices, Calculations, OR Slider Labels",
        text="has no code",
        reader=read_redcap_dictionary,
    ),
    Case(
        "dictionary duplicate codes",
        w("dd_dup.csv", DICT_HEADER + 'id,f,,text,ID,\nq,f,,radio,Q,"1, a | 1, b"\n'),
        {},
        row=3,
        text="appears twice",
        reader=read_redcap_dictionary,
    ),
    Case(
        "dictionary unknown field type",
        w("dd_type.csv", DICT_HEADER + "id,f,,textbox,ID,\n"),
        {},
        row=2,
        column="Field Type",
        text="unknown field type",
        reader=read_redcap_dictionary,
    ),
    Case(
        "dictionary duplicate field",
        w("dd_field.csv", DICT_HEADER + "id,f,,text,ID,\nid,f,,text,ID again,\n"),
        {},
        row=3,
        text="defined twice",
        reader=read_redcap_dictionary,
    ),
    Case(
        "dictionary missing columns",
        w("dd_cols.csv", "field_name,form_name\nid,f\n"),
        {},
        row=1,
        text="missing dictionary column",
        reader=read_redcap_dictionary,
    ),
    Case(
        "dictionary radio without choices",
        w("dd_empty.csv", DICT_HEADER + "id,f,,text,ID,\nq,f,,radio,Q,\n"),
        {},
        row=3,
        text="no choices",
        reader=read_redcap_dictionary,
    ),
    Case("xlsm refused", w("book.xlsm", b"PK\x03\x04"), {}, text="macro-enabled"),
    Case(
        "xls refused",
        w("book.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600),
        {},
        text=".xls",
    ),
    Case("xlsb refused", w("book.xlsb", b"PK\x03\x04"), {}, text=".xlsb"),
    Case("macros inside a .xlsx", macro_book, {}, text="contains macros"),
    Case(
        "ole file named .xlsx",
        w("old.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600),
        {},
        text=".xls",
    ),
    Case("truncated xlsx", truncated_book, {}, text="damaged or truncated"),
    Case(
        "zip bomb",
        lambda t: _zip(
            t / "bomb.xlsx", {"xl/workbook.xml": b"<a/>", "xl/sheet.xml": b"0" * 30_000_000}
        ),
        {},
        text="zip bomb",
    ),
    Case(
        "zip bomb by total size",
        lambda t: _zip(t / "big.xlsx", {"xl/workbook.xml": b"<a/>", "xl/s.xml": b"0" * 3_000_000}),
        {"max_uncompressed": 1_000_000},
        text="would expand",
        reader=lambda p, **k: __import__("mentoreval.read.excel", fromlist=["read_xlsx"]).read_xlsx(
            p, **k
        ),
    ),
    Case(
        "zip that is not a workbook",
        lambda t: _zip(t / "notbook.xlsx", {"a.txt": b"hi"}),
        {},
        text="not an Excel workbook",
    ),
    Case("formula cells", formula_book, {}, row=2, column="q2", text="is a formula"),
    Case(
        "formula without cached value",
        formula_book,
        {"formulas": "cached"},
        row=2,
        column="q2",
        text="without a cached value",
    ),
    Case("value outside the header", stray_cell_book, {}, row=2, text="no column header"),
    Case("missing sheet", formula_book, {"sheet": "Responses"}, text="has no sheet"),
    Case("truncated sav", truncated_sav, {}, text="cannot be read as SPSS"),
    Case("sav magic then junk", w("junk.sav", b"$FL2" + JUNK), {}, text="SPSS"),
    Case("csv forced as spss", w("data.csv", "a,b\n1,2\n"), {"format": "spss"}, text="not an SPSS"),
    Case("file not found", lambda t: t / "nope.csv", {}, text="not found"),
    Case("folder instead of file", folder, {}, text="folder"),
    Case(
        "unknown format option",
        w("x.csv", "a\n1\n"),
        {"format": "stata"},
        error=ConfigError,
        text="not one of",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_broken_input_gives_located_error(tmp_path: Path, case: Case) -> None:
    path = case.build(tmp_path)
    with pytest.raises(MentorevalError) as info:
        case.reader(path, **case.kwargs)
    err = info.value
    assert isinstance(err, case.error)
    message = str(err)
    assert case.text.lower() in message.lower(), message
    if case.error is ReadError:
        assert path.name in message
        assert err.problems, "a ReadError lists its problems"
    if case.row is not None:
        assert any(p.row == case.row for p in err.problems), message
    if case.column is not None:
        assert any(p.column == case.column for p in err.problems), message


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 30


def test_detect_format_refuses_the_same_files(tmp_path: Path) -> None:
    for build in (w("book.xlsm", b"PK"), w("junk.csv", b"\x00\x01" + JUNK), w("e.csv", b"")):
        with pytest.raises(ReadError):
            detect_format(build(tmp_path))


def test_all_ragged_rows_reported_at_once(tmp_path: Path) -> None:
    p = tmp_path / "many.csv"
    p.write_text("id,q1,q2\n1,2,3\n4,5\n6,7,8\n9\n10,11,12,13\n")
    with pytest.raises(ReadError) as info:
        read_export(p)
    assert [pr.row for pr in info.value.problems] == [3, 5, 6]
