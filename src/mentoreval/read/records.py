"""Counting the records of a delimited text file, independently of the parser (stage: read).

:func:`count_records` finds every record with a vectorised quote-aware scan of the bytes
(numpy); :func:`csv_records` is the arbiter when it and pyarrow disagree (the standard
library ``csv`` module, strict). Both give each record its 1-based row number as a
spreadsheet shows it. :func:`refuse_ragged` names every row with the wrong number of fields
when a file cannot be parsed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mentoreval.errors import Problem

from .base import fail, raise_read

__all__ = ["RecordIndex", "count_records", "csv_records", "refuse_ragged"]


@dataclass(frozen=True)
class RecordIndex:
    """Record positions found by the independent count.

    Attributes
    ----------
    rows
        1-based row numbers (as a spreadsheet shows them) of the non-blank records.
    blank_rows
        Row numbers of blank records (empty lines).
    method
        ``"numpy-quote-scan"`` or ``"python-csv"``.
    """

    rows: np.ndarray
    blank_rows: np.ndarray
    method: str

    @property
    def total(self) -> int:
        """All records, blank ones included."""
        return len(self.rows) + len(self.blank_rows)


def _drop_trailing_blanks(numbers: np.ndarray, blank: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Records and blank records, without the blank lines at the end of the file."""
    filled = np.flatnonzero(~blank)
    keep = (filled[-1] + 1) if filled.size else 0
    return numbers[:keep][~blank[:keep]], numbers[:keep][blank[:keep]]


def count_records(utf8: bytes) -> RecordIndex | None:
    """Count records with a vectorised quote-aware scan (independent of pyarrow).

    A line break ends a record when an even number of ``"`` precede it. Blank lines at
    the end of the file are not records. Returns ``None`` when the quotes do not balance
    (stray or unterminated quotes), so that a stricter parser decides.

    Examples
    --------
    >>> idx = count_records(b'id,q\\n1,"two\\nlines"\\n\\n3,x\\n\\n\\r\\n')
    >>> idx.rows.tolist(), idx.blank_rows.tolist()
    ([1, 2, 4], [3])
    """
    buf = np.frombuffer(utf8, dtype=np.uint8)
    n = buf.size
    if n == 0:
        return RecordIndex(np.zeros(0, np.int64), np.zeros(0, np.int64), "numpy-quote-scan")
    quotes = np.flatnonzero(buf == 34) if b'"' in utf8 else np.zeros(0, np.intp)
    if quotes.size % 2:
        return None
    nl = np.flatnonzero(buf == 10)
    cr = np.flatnonzero(buf == 13) if b"\r" in utf8 else np.zeros(0, np.intp)
    if cr.size:
        nxt = np.minimum(cr + 1, n - 1)
        bare = cr[(cr + 1 >= n) | (buf[nxt] != 10)]
        if bare.size:
            nl = np.union1d(nl, bare)
    ends = nl[(np.searchsorted(quotes, nl) & 1) == 0]
    starts = np.concatenate(([0], ends + 1))
    stops = np.concatenate((ends, [n]))
    if starts[-1] >= n:  # file ends with a line break: no record after it
        starts, stops = starts[:-1], stops[:-1]
    length = stops - starts
    last = buf[np.maximum(stops - 1, 0)]
    blank = (length == 0) | ((length == 1) & (last == 13))
    numbers = np.arange(1, len(starts) + 1, dtype=np.int64)
    rows, blanks = _drop_trailing_blanks(numbers, blank)
    return RecordIndex(rows, blanks, "numpy-quote-scan")


def csv_records(
    text: str, delimiter: str, path: Path, *, first_row: int = 1
) -> tuple[RecordIndex, list[int]]:
    """Count records with the standard library (the arbiter); also return field counts.

    ``first_row`` is the file's row number of the first line of ``text``."""
    rows: list[int] = []
    blanks: list[int] = []
    widths: list[int] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    number = first_row - 1
    try:
        for number, record in enumerate(reader, start=first_row):
            if record:
                rows.append(number)
                widths.append(len(record))
            else:
                blanks.append(number)
    except csv.Error as exc:
        raise fail(
            f"cannot be parsed as CSV ({exc})",
            path=path,
            row=number + 1,
            fix="a quoted field is never closed or has text after its closing quote: the "
            "file may be truncated or hand-edited; export it again",
        ) from None
    if blanks and (not rows or blanks[-1] > rows[-1]):  # blank lines at the end: no records
        last = rows[-1] if rows else first_row - 1
        blanks = [b for b in blanks if b < last]
    index = RecordIndex(np.asarray(rows, np.int64), np.asarray(blanks, np.int64), "python-csv")
    return index, widths


def refuse_ragged(
    path: Path, text: str, delimiter: str, header: Sequence[str], *, first_row: int = 1
) -> None:
    """Raise a :class:`~mentoreval.errors.ReadError` naming every record whose number of
    fields differs from the first record's (nothing when they all agree)."""
    index, widths = csv_records(text, delimiter, path, first_row=first_row)
    expected = widths[0] if widths else 0
    problems = []
    for row, width in zip(index.rows.tolist(), widths, strict=True):
        if width == expected:
            continue
        if width < expected:
            column = header[width] if width < len(header) else None
            msg = f"has {width} fields but the header has {expected} (first missing column)"
            fix = "the row is short: the file may be truncated or a quote was lost"
        else:
            column = None
            msg = f"has {width} fields but the header has {expected}"
            fix = "an unquoted separator or an extra value: fix the row or export again"
        problems.append(Problem(msg, file=path.name, row=row, column=column, fix=fix))
    raise_read(problems, path=path, what="has rows of the wrong length")
