"""Excel ``.xlsx`` workbooks and Microsoft Forms exports (stage: read).

Only ``.xlsx`` is read. ``.xlsm`` (macros), ``.xls`` (binary BIFF) and ``.xlsb`` are
refused, by extension and by content. Before openpyxl opens anything the zip directory is
checked against a zip bomb (entry count, total declared size, compression ratio); openpyxl
parses XML through defusedxml.

Cells become text: integers and integral floats without ``.0``, other floats in their
shortest round-trip form, dates in ISO 8601, booleans ``TRUE``/``FALSE``. Formula cells are
never read as blank: by default they are an error listing every one (a survey export has no
formulas, so someone edited the file); ``formulas="cached"`` reads the value Excel last
calculated and still refuses formulas without one.

Microsoft Forms exports (``ID, Start time, Completion time, Email, Name, ...``) are detected
from the header row and returned with format ``"msforms"``; SurveyMonkey exports
(``Respondent ID, Collector ID, ...`` over a second header row) with format
``"surveymonkey"`` and both header rows read (a question merged across its option
columns in row 1 is read as the question over each of them).

What Excel shows is what is read: without ``sheet=``, the first *visible* sheet (hidden
sheets before it are skipped and named in ``RawTable.skipped_sheets`` and the notes); a
merged range below the header is read as its top-left value in every cell of the range
(a group or site column merged over its students), a merged range touching the header row
is refused naming the range; the sheet's declared ``<dimension>`` is not trusted (a
workbook claiming 1,048,576 rows is read as the rows it really holds) and empty rows at the
end of a sheet are not records.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from mentoreval.errors import Problem

from .base import (
    TEXT_DTYPE,
    RawTable,
    assemble,
    check_choice,
    fail,
    file_digest,
    new_meta,
    raise_read,
)
from .msforms import is_msforms, set_msforms_meta
from .surveymonkey import is_surveymonkey, surveymonkey_meta
from .text import read_bytes

__all__ = ["check_zip", "is_msforms", "read_xlsx"]

MAX_UNCOMPRESSED = 200 * 1024 * 1024
MAX_RATIO = 100.0
MAX_ENTRIES = 10_000
_REFUSED = {
    ".xlsm": "a macro-enabled workbook (.xlsm)",
    ".xls": "an old binary Excel workbook (.xls)",
    ".xlsb": "a binary Excel workbook (.xlsb)",
}
_FIX_SAVE = "open it in Excel and 'Save As' Excel Workbook (.xlsx), or export as CSV UTF-8"


def check_zip(
    raw: bytes,
    path: Path,
    *,
    max_uncompressed: int = MAX_UNCOMPRESSED,
    max_ratio: float = MAX_RATIO,
) -> zipfile.ZipFile:
    """Open ``raw`` as a zip and refuse zip bombs and macro/binary workbooks.

    Examples
    --------
    >>> import io, zipfile
    >>> from pathlib import Path
    >>> buf = io.BytesIO()
    >>> with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
    ...     z.writestr("xl/worksheets/sheet1.xml", "0" * 5_000_000)
    >>> check_zip(buf.getvalue(), Path("bomb.xlsx"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mentoreval.errors.ReadError: bomb.xlsx: entry 'xl/worksheets/sheet1.xml' is compressed ... (fix: ...)
    """
    if raw[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise fail("is " + _REFUSED[".xls"] + " or an encrypted workbook", path=path, fix=_FIX_SAVE)
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise fail(
            f"is not a valid .xlsx workbook (damaged or truncated zip: {exc})",
            path=path,
            fix="download or export the file again",
        ) from None
    if len(infos) > MAX_ENTRIES:
        raise fail(f"has {len(infos)} zip entries (limit {MAX_ENTRIES})", path=path)
    total = sum(i.file_size for i in infos)
    if total > max_uncompressed:
        raise fail(
            f"would expand to {total / 2**20:.0f} MiB (limit {max_uncompressed / 2**20:.0f} MiB)",
            path=path,
            fix="export as CSV instead, or split the workbook",
        )
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > 1 << 20 and ratio > max_ratio:
            raise fail(
                f"entry {info.filename!r} is compressed {ratio:.0f}:1 (limit {max_ratio:.0f}:1), "
                "which looks like a zip bomb",
                path=path,
                fix="do not open this file; export the survey again",
            )
    names = {i.filename for i in infos}
    if "xl/workbook.bin" in names:
        raise fail("is " + _REFUSED[".xlsb"], path=path, fix=_FIX_SAVE)
    if any(n.endswith("vbaProject.bin") for n in names):
        raise fail("is " + _REFUSED[".xlsm"] + " (it contains macros)", path=path, fix=_FIX_SAVE)
    if "xl/workbook.xml" not in names:
        raise fail("is a zip file but not an Excel workbook", path=path)
    return archive


def _cell_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value if value != "" else None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(float(value))
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    return str(value)


def _column_letter(i: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(i)


def _load(raw: bytes, *, data_only: bool) -> Any:
    import openpyxl

    return openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=data_only)


def _grid(ws: Any) -> tuple[list[list[Any]], list[tuple[int, int]]]:
    """All rows as raw values (row 1 first) and the (row, col) of formula cells.

    The sheet's declared ``<dimension>`` is ignored (a workbook may claim 1,048,576 rows:
    openpyxl's read-only mode would then yield a million empty rows), so only rows present
    in the file are read; rows after the last one holding a value or a formula are not
    kept, and an empty row between records is an empty list.
    """
    ws.reset_dimensions()
    rows: list[list[Any]] = []
    formulas: list[tuple[int, int]] = []
    pending = 0  # empty rows seen since the last row with a value
    for r, row in enumerate(ws.iter_rows(min_row=1), start=1):
        values = []
        filled = False
        for c, cell in enumerate(row, start=1):
            value = cell.value
            if getattr(cell, "data_type", None) == "f":
                formulas.append((r, c))
                filled = True
            elif value is not None and value != "":
                filled = True
            values.append(value)
        if not filled:
            pending += 1
            continue
        if pending:
            rows.extend([] for _ in range(pending))
            pending = 0
        rows.append(values)
    return rows, formulas


_MERGE = re.compile(
    rb"<(?:[A-Za-z_][\w.-]*:)?mergeCell\b[^>]*?\bref=[\"']([A-Za-z]{1,3}[0-9]{1,7}"
    rb"(?::[A-Za-z]{1,3}[0-9]{1,7})?)[\"']"
)


def _merged_ranges(archive: zipfile.ZipFile, member: str) -> list[str]:
    """The merged ranges (``"B2:B4"``) of a worksheet, scanned from its XML in blocks.

    openpyxl's read-only mode does not report merged cells; the ``<mergeCells>`` element
    follows the sheet data, so the part is streamed rather than held.
    """
    found: dict[str, None] = {}
    tail = b""
    try:
        handle = archive.open(member.lstrip("/"))
    except KeyError:
        return []
    with handle:
        while chunk := handle.read(1 << 20):
            buf = tail + chunk
            if b"mergeCell" in buf:
                for m in _MERGE.finditer(buf):
                    found[m.group(1).decode("ascii").upper()] = None
            tail = buf[-256:]
    return list(found)


def _fill_merged(
    rows: list[list[Any]], ranges: list[str], *, header_row: int, path: Path, sheet: str
) -> list[str]:
    """Give every cell of a merged range below the header its top-left value (in place).

    Excel shows a merged range's value across the whole range (a group column merged over
    the students of a group); openpyxl reads it in the top-left cell only. A merged range
    touching the header row would give one name to several columns, or a header to a data
    cell: it is refused naming the range. Ranges are clipped to the last row holding a
    value. Returns the ranges filled.
    """
    from openpyxl.utils import range_boundaries

    filled: list[str] = []
    problems: list[Problem] = []
    last = len(rows)
    for ref in ranges:
        c1, r1, c2, r2 = range_boundaries(ref if ":" in ref else f"{ref}:{ref}")
        if c1 is None or r1 is None or c2 is None or r2 is None:
            continue
        if (c1, r1) == (c2, r2) or r2 < header_row:
            continue  # a single cell, or rows above the header (not read)
        if r1 <= header_row:
            problems.append(
                Problem(
                    f"cells {ref} of sheet {sheet!r} are merged across the header row",
                    file=path.name,
                    row=header_row,
                    fix="unmerge them (Home → Merge & Center → Unmerge Cells) and give each "
                    "column its own header, or export the survey again",
                )
            )
            continue
        if r1 > last:
            continue
        top = rows[r1 - 1]
        value = top[c1 - 1] if c1 - 1 < len(top) else None
        if value is None or value == "":
            continue
        for r in range(r1, min(r2, last) + 1):
            row = rows[r - 1]
            if len(row) < c2:
                row.extend([None] * (c2 - len(row)))
            for c in range(c1, c2 + 1):
                row[c - 1] = value
        filled.append(ref)
    raise_read(problems, path=path, what="has merged cells in its header")
    return filled


def read_xlsx(
    path: str | Path,
    *,
    sheet: str | int | None = None,
    header_row: int = 1,
    formulas: Literal["error", "cached"] = "error",
    max_uncompressed: int = MAX_UNCOMPRESSED,
    max_ratio: float = MAX_RATIO,
    raw: bytes | None = None,
) -> RawTable:
    """Read one sheet of an ``.xlsx`` workbook (or a Microsoft Forms export) as text.

    Parameters
    ----------
    path
        The workbook.
    sheet
        Sheet name or 0-based index (hidden sheets included). By default the first
        *visible* sheet: hidden sheets before it are skipped, listed in
        ``skipped_sheets`` and named in a note (as is the sheet read when the workbook has
        several).
    header_row
        The 1-based row holding the column names; rows above it are ignored (counted in
        ``header_rows``).
    formulas
        ``"error"`` (default): any formula cell is an error listing every one.
        ``"cached"``: use Excel's cached result; formulas without one are an error.
    max_uncompressed, max_ratio
        Zip-bomb limits: total expanded size in bytes, and compression ratio of any entry
        over 1 MiB.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import openpyxl
    >>> p = Path(tempfile.mkdtemp()) / "forms.xlsx"
    >>> wb = openpyxl.Workbook()
    >>> wb.active.append(["ID", "Start time", "Completion time", "Email", "Name", "Mood"])
    >>> wb.active.append([1, "2024-01-02 10:00", "2024-01-02 10:05", "anonymous", None, 4])
    >>> wb.save(p)
    >>> t = read_xlsx(p)
    >>> t.format, t.data.loc[2, "Mood"], t.data.loc[2, "Name"] is pd.NA
    ('msforms', '4', True)
    """
    path = Path(path)
    check_choice("formulas", formulas, ("error", "cached"))
    suffix = path.suffix.lower()
    if suffix in _REFUSED:
        raise fail("is " + _REFUSED[suffix] + ", which is not read", path=path, fix=_FIX_SAVE)
    if raw is None:
        raw = read_bytes(path)
    if not raw:
        raise fail("is empty", path=path, fix="export the survey again")
    archive = check_zip(raw, path, max_uncompressed=max_uncompressed, max_ratio=max_ratio)
    grid = _read_sheet(raw, path, sheet=sheet, formulas=formulas)
    rows, notes = grid.rows, grid.notes
    if len(rows) < header_row:
        raise fail(
            f"sheet {grid.name!r} has no header row (row {header_row} is empty)",
            path=path,
            row=header_row,
            fix="check the sheet and header_row",
        )
    second = rows[header_row] if len(rows) > header_row else []
    monkey = is_surveymonkey(_header_texts(rows[header_row - 1]), _header_texts(second))
    names_row = header_row + 1 if monkey else header_row  # the last header row
    merged = _merged_ranges(archive, grid.member) if grid.member else []
    if merged:
        filled = _fill_merged(rows, merged, header_row=names_row, path=path, sheet=grid.name)
        if filled:
            shown = ", ".join(filled[:10]) + (
                f" and {len(filled) - 10} more" if len(filled) > 10 else ""
            )
            notes.append(
                f"{len(filled)} merged range(s) read as their top-left value in every cell: {shown}"
            )
    headers = _header_texts(rows[header_row - 1])
    if monkey:
        meta = surveymonkey_meta(headers, _header_texts(second))
        headers = list(meta["column"])
    else:
        meta = new_meta(headers)
    if grid.formula_cells:
        _refuse_formulas(grid.formula_cells, headers, names_row, formulas=formulas, path=path)
    body_rows = rows[names_row:]
    _refuse_overflow(body_rows, len(headers), names_row, path=path)
    body = _body_frame(body_rows, list(meta["column"]), names_row)
    fmt = "surveymonkey" if monkey else "msforms" if is_msforms(headers) else "xlsx"
    if fmt == "msforms":
        set_msforms_meta(meta, headers)
    return assemble(
        path=path,
        sha256=file_digest(raw),
        size_bytes=len(raw),
        format=fmt,
        encoding="binary",
        delimiter=None,
        header_rows=names_row,
        body=body,
        meta=meta,
        records=len(body_rows),
        notes=notes,
        names_row=header_row,
        sheet=grid.name,
        skipped_sheets=grid.skipped,
    )


@dataclass
class _Sheet:
    """One worksheet's cells as read (row 1 first), with what was learnt on the way."""

    name: str
    member: str  # the worksheet's part in the zip, for its merged ranges
    rows: list[list[Any]]
    formula_cells: list[tuple[int, int]]  # (row, col), 1-based
    notes: list[str]
    skipped: list[str]


def _read_sheet(
    raw: bytes, path: Path, *, sheet: str | int | None, formulas: Literal["error", "cached"]
) -> _Sheet:
    """Open the workbook and read the chosen sheet's cells (formula cells from Excel's cached
    values with ``formulas="cached"``); damaged workbooks become a :class:`ReadError`."""
    try:
        wb = _load(raw, data_only=False)
        try:
            ws, skipped, notes = _pick_sheet(list(wb.worksheets), sheet, path)  # no chartsheets
            sheet_name = ws.title
            member = str(getattr(ws, "_worksheet_path", ""))
            rows, formula_cells = _grid(ws)
        finally:
            wb.close()
        if formula_cells and formulas == "cached":
            still = _use_cached(raw, sheet_name, rows, formula_cells)
            notes.append(f"{len(formula_cells)} formula cell(s) read from cached values")
            formula_cells = still
    except (KeyError, ValueError, TypeError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise fail(
            f"cannot be read as an .xlsx workbook ({type(exc).__name__}: {exc})",
            path=path,
            fix="open and re-save it in Excel, or export as CSV UTF-8",
        ) from None
    except Exception as exc:
        # defusedxml raises its own exception types on hostile XML; lxml/expat on broken XML.
        if type(exc).__module__.split(".")[0] in ("defusedxml", "xml", "lxml", "openpyxl"):
            raise fail(
                f"has damaged or unsafe XML ({type(exc).__name__})",
                path=path,
                fix="export the survey again",
            ) from None
        raise
    return _Sheet(sheet_name, member, rows, formula_cells, notes, skipped)


def _pick_sheet(
    sheets: list[Any], sheet: str | int | None, path: Path
) -> tuple[Any, list[str], list[str]]:
    """The worksheet to read, the hidden sheets skipped before it, and notes."""
    names = [w.title for w in sheets]
    notes: list[str] = []
    skipped: list[str] = []
    if sheet is None:
        visible = [w for w in sheets if getattr(w, "sheet_state", "visible") == "visible"]
        if not visible:
            raise fail(
                f"has no visible sheet (hidden: {names})",
                path=path,
                fix="name the sheet to read with sheet: in the study config's source",
            )
        ws = visible[0]
        skipped = names[: sheets.index(ws)]
        if skipped:
            listed = ", ".join(repr(n) for n in skipped)
            notes.append(
                f"read sheet {ws.title!r}, the first visible one; skipped hidden "
                f"sheet(s) {listed} (name a sheet with sheet: to read another)"
            )
        elif len(names) > 1:
            notes.append(f"read the first of {len(names)} sheets: {names[0]!r}")
    elif isinstance(sheet, int):
        if not 0 <= sheet < len(names):
            raise fail(f"has no sheet number {sheet}", path=path, fix=f"sheets: {names}")
        ws = sheets[sheet]
    else:
        if sheet not in names:
            raise fail(f"has no sheet {sheet!r}", path=path, fix=f"sheets: {names}")
        ws = sheets[names.index(sheet)]
    return ws, skipped, notes


def _use_cached(
    raw: bytes, sheet_name: str, rows: list[list[Any]], formula_cells: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    """Put Excel's cached value in every formula cell (in place); the cells without one."""
    wb2 = _load(raw, data_only=True)
    try:
        cached, _ = _grid(wb2[sheet_name])
    finally:
        wb2.close()
    still = []
    for r, c in formula_cells:
        crow = cached[r - 1] if r - 1 < len(cached) else []
        value = crow[c - 1] if c - 1 < len(crow) else None
        rows[r - 1][c - 1] = value
        if value is None:
            still.append((r, c))
    return still


def _header_texts(header_cells: list[Any]) -> list[str]:
    """The header row as text, without its empty trailing cells."""
    while header_cells and header_cells[-1] in (None, ""):
        header_cells = header_cells[:-1]
    return ["" if v is None else (_cell_text(v) or "") for v in header_cells]


def _refuse_formulas(
    formula_cells: list[tuple[int, int]],
    headers: list[str],
    header_row: int,
    *,
    formulas: Literal["error", "cached"],
    path: Path,
) -> None:
    """Raise a :class:`ReadError` listing every formula cell (left without a value)."""
    width = len(headers)
    problems = []
    for r, c in formula_cells:
        column = headers[c - 1] if c - 1 < width and r != header_row else None
        problems.append(
            Problem(
                f"cell {_column_letter(c)}{r} is a formula"
                + (" without a cached value" if formulas == "cached" else ""),
                file=path.name,
                row=r,
                column=column,
                fix="paste values only (Paste Special → Values) and save, or export the "
                "survey again" + ("; or pass formulas='cached'" if formulas == "error" else ""),
            )
        )
    raise_read(problems, path=path, what="contains formula cells")


def _refuse_overflow(
    body_rows: list[list[Any]], width: int, header_row: int, *, path: Path
) -> None:
    """Raise a :class:`ReadError` listing every value right of the last header."""
    overflow = [
        (header_row + 1 + i, j + 1)
        for i, r in enumerate(body_rows)
        for j in range(width, len(r))
        if r[j] not in (None, "")
    ]
    if overflow:
        raise_read(
            [
                Problem(
                    f"cell {_column_letter(c)}{r} has a value but no column header",
                    file=path.name,
                    row=r,
                    fix="give the column a header or delete the stray value",
                )
                for r, c in overflow
            ],
            path=path,
            what="has values outside the header's columns",
        )


def _body_frame(body_rows: list[list[Any]], columns: list[str], header_row: int) -> pd.DataFrame:
    """The records as text cells, indexed by their row in the sheet."""
    cells = {
        name: pd.array(
            [_cell_text(r[j]) if j < len(r) else None for r in body_rows], dtype=TEXT_DTYPE
        )
        for j, name in enumerate(columns)
    }
    index = pd.Index(np.arange(header_row + 1, header_row + 1 + len(body_rows)), name="source_row")
    return pd.DataFrame(cells, index=index)


def iter_refused() -> Iterable[str]:
    """Extensions refused by :func:`read_xlsx`."""
    return iter(_REFUSED)
