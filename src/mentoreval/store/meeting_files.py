"""Meeting-log files as text tables: CSV, Excel, or a REDCap repeating-instrument export.

Every cell is read as text (``"007"`` stays ``"007"``) and every row keeps its 1-based row
number as a spreadsheet shows it; checking the values is
:func:`mentoreval.store.meetings.read_meeting_log`'s job.
"""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from mentoreval.errors import ConfigError, Problem, ReadError

__all__ = ["FORMATS", "SHAPE_COLUMN", "Format", "read_log_source"]

Format = Literal["auto", "csv", "xlsx", "redcap"]
#: The values of ``format=``.
FORMATS = ("auto", "csv", "xlsx", "redcap")
#: Column of a CSV's text table saying why a record is ragged ("" when it is not).
SHAPE_COLUMN = "__mentoreval_shape__"

_REDCAP_INSTRUMENT = "redcap_repeat_instrument"
_REDCAP_INSTANCE = "redcap_repeat_instance"


def read_log_source(
    path: Path, *, format: str, sheet: str | int, instrument: str | None
) -> tuple[pd.DataFrame, str, np.ndarray, int | None]:
    """Text table, sha256, 1-based source rows, and REDCap rows ignored (None: not REDCap)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ReadError(
            f"{path}: cannot read meeting log ({exc.strerror})",
            (Problem("file not readable", file=str(path)),),
        ) from None
    sha = hashlib.sha256(raw).hexdigest()
    is_xlsx = format == "xlsx" or (format == "auto" and path.suffix.lower() in {".xlsx", ".xlsm"})
    data = _read_table(path, raw, is_xlsx=is_xlsx, sheet=sheet)
    data.columns = [str(c).strip() for c in data.columns]
    rows = np.arange(len(data), dtype="int64") + 2  # header is row 1

    redcap = format == "redcap" or (format == "auto" and _REDCAP_INSTRUMENT in data.columns)
    if not redcap:
        return data, sha, rows, None
    keep = _redcap_meeting_rows(path, data, instrument)
    return data[keep], sha, rows[keep], int((~keep).sum())


def _read_table(path: Path, raw: bytes, *, is_xlsx: bool, sheet: str | int) -> pd.DataFrame:
    """The file's cells as text; a ReadError when it cannot be parsed."""
    try:
        if is_xlsx:
            return pd.read_excel(
                path,
                sheet_name=sheet,
                dtype=str,
                keep_default_na=False,
                na_values=[""],
                engine="openpyxl",
            )
        return _read_csv_text(raw)
    except (ValueError, KeyError, OSError, csv.Error) as exc:
        raise ReadError(
            f"{path}: cannot read meeting log: {exc}",
            (
                Problem(
                    str(exc), file=str(path), fix="export the log again as CSV (UTF-8) or .xlsx"
                ),
            ),
        ) from None


def _read_csv_text(raw: bytes) -> pd.DataFrame:
    """Every cell as text, one row per record, ragged records marked in ``SHAPE_COLUMN``.

    The stdlib ``csv`` module is used rather than ``pandas.read_csv``, which guesses types
    ("007" → 7), drops blank lines and silently turns surplus fields into an index.
    """
    text = raw.decode("utf-8-sig")
    records = list(csv.reader(io.StringIO(text, newline="")))
    if not records:
        raise ValueError("the file is empty")
    header = [h.strip() for h in records[0]]
    width = len(header)
    body = records[1:]
    shape = [
        "" if len(r) in (0, width) else f"{len(r)} fields, the header has {width}" for r in body
    ]
    cells = [(r + [""] * width)[:width] for r in body]
    data = pd.DataFrame(cells, columns=header, dtype=object).replace("", np.nan)
    data[SHAPE_COLUMN] = shape
    return data


def _redcap_meeting_rows(path: Path, data: pd.DataFrame, instrument: str | None) -> np.ndarray:
    """Which rows of a REDCap export belong to the meeting instrument (a boolean mask)."""
    if _REDCAP_INSTRUMENT not in data.columns or _REDCAP_INSTANCE not in data.columns:
        raise ReadError(
            f"{path}: not a REDCap repeating-instrument export",
            (
                Problem(
                    f"columns {_REDCAP_INSTRUMENT!r} and {_REDCAP_INSTANCE!r} are missing",
                    file=str(path),
                    fix="export with repeating instruments, or use format='csv'",
                ),
            ),
        )
    found = sorted(data[_REDCAP_INSTRUMENT].dropna().unique())
    if instrument is None:
        if len(found) != 1:
            raise ConfigError(
                f"{path}: choose the meeting instrument",
                (
                    Problem(
                        f"repeating instruments found: {found or 'none'}",
                        file=str(path),
                        key="instrument",
                        fix="pass instrument='<name>'",
                    ),
                ),
            )
        instrument = found[0]
    elif instrument not in found:
        raise ConfigError(
            f"{path}: no repeating instrument {instrument!r}",
            (
                Problem(
                    f"repeating instruments found: {found or 'none'}",
                    file=str(path),
                    key="instrument",
                    fix="pass one of them as instrument=",
                ),
            ),
        )
    return (data[_REDCAP_INSTRUMENT] == instrument).to_numpy()
