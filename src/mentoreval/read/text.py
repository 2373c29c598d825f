"""Safe reading of delimited text exports (stage: read).

Everything is read as text: no type inference, no ``NA``/``None`` → missing, leading zeros
kept, quoted newlines kept, blank lines reported (never silently skipped). The encoding is
detected from the bytes (UTF-8 with or without BOM, UTF-16 with BOM as in Qualtrics TSV,
cp1252 as a recorded fallback) and the separator from the header row.

Records are parsed with pyarrow's CSV reader and counted a second time, independently, by a
vectorised quote-aware scan of the bytes (numpy); when the two disagree the standard
library ``csv`` module arbitrates, and if it cannot confirm the pyarrow result the file is
refused. The scan also gives every record its 1-based row number as a spreadsheet shows it
(both counts live in :mod:`~mentoreval.read.records`).

Blank lines at the end of a file are not records (an editor's or a writer's trailing line
breaks); blank lines between records are records, set aside as ``blank_row``. A first line
``sep=;`` (Excel's separator hint, also ``"sep=;"``) gives the separator and is not a
header; rows keep the numbers they have in the file (the header is then row 2).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from .base import TEXT_DTYPE, RawTable, Rule, assemble, fail, file_digest
from .records import RecordIndex, count_records, csv_records, refuse_ragged

__all__ = [
    "DelimitedText",
    "count_records",
    "detect_encoding",
    "read_bytes",
    "read_delimited",
    "sep_hint",
    "sniff_delimiter",
    "split_header",
    "table_from_text",
]

_DELIMITERS = (",", "\t", ";", "|")
_BLOCK = 1 << 20  # pyarrow parses blocks in parallel; a record longer than this retries
_BIG_BLOCK = 64 << 20  # ... with blocks this long
_SOMETHING = re.compile(rb"[^ \t\r\n\x00\xef\xbb\xbf\xff\xfe]")  # not blank or a BOM
_CONTROL_OK = bytes(range(32, 256)) + b"\t\n\r"  # bytes a text export may hold
# Excel's separator hint: a first line ``sep=;`` (some tools quote it: ``"sep=;"``)
_SEP_HINT = re.compile(rb'(?:sep=([^"\r\n])|"sep=([^"\r\n])")[ ]*(?:\r\n|\n|\r|$)')


@dataclass(frozen=True)
class DelimitedText:
    """A delimited file parsed into text cells, before any format-specific handling.

    Attributes
    ----------
    cells
        Every non-blank record (header rows included), columns ``0..k-1``, dtype
        ``string[pyarrow]``, index ``source_row``.
    blank_rows
        Row numbers of blank lines.
    """

    path: Path
    sha256: str
    size_bytes: int
    encoding: str
    delimiter: str
    cells: pd.DataFrame
    blank_rows: np.ndarray
    count_method: str
    notes: tuple[str, ...] = field(default_factory=tuple)
    preamble_rows: int = 0
    """Lines above the first record that are neither header nor data (the ``sep=`` hint)."""


def read_bytes(path: Path) -> bytes:
    """Read a file's bytes (read-only), turning OS errors into a :class:`ReadError`."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise fail("file not found", path=path, fix="check the path in the study config") from None
    except IsADirectoryError:
        raise fail("is a folder, not an export file", path=path) from None
    except OSError as exc:
        raise fail(f"cannot be opened: {exc.strerror}", path=path) from None


def _valid_utf8(data: bytes) -> bool:
    """Whether ``data`` is valid UTF-8, checked by Arrow in place (no decoded copy)."""
    offsets = pa.array([0, len(data)], type=pa.int64()).buffers()[1]
    blob = pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(data)])
    try:
        blob.cast(pa.large_string())
    except pa.ArrowInvalid:
        return False
    return True


#: A multi-byte UTF-8 sequence (2, 3 or 4 bytes); in cp1252 text it would read as mojibake.
_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)


def detect_encoding(raw: bytes) -> tuple[str, str | None]:
    """Detect the text encoding of an export from its bytes.

    Returns
    -------
    encoding, note
        A Python codec name (``utf-8-sig``, ``utf-16``, ``utf-8``, ``cp1252``) and, when
        the choice was a fallback rather than certain, a note saying so (else ``None``).
        Returns ``("binary", None)`` when the bytes are not text.

    Examples
    --------
    >>> detect_encoding("\\ufeffid,name\\n1,Zoë\\n".encode("utf-8"))
    ('utf-8-sig', None)
    >>> detect_encoding("id\\tname\\n".encode("utf-16"))
    ('utf-16', None)
    >>> detect_encoding("id,name\\n1,Zoë\\n".encode("cp1252"))[0]
    'cp1252'
    >>> detect_encoding("id,name\\n1,Zoë\\n".encode() + "2,Zoë\\n".encode("cp1252"))
    ('utf-8', 'mixes UTF-8 with another encoding')
    """
    if raw.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", None
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", None
    head = raw[:4096]
    if head.count(0) > len(head) // 4:
        even, odd = head[0::2], head[1::2]
        if odd.count(0) >= 0.9 * len(odd) and even.count(0) == 0:
            return "utf-16-le", "no byte-order mark; NUL pattern says UTF-16 little-endian"
        if even.count(0) >= 0.9 * len(even) and odd.count(0) == 0:
            return "utf-16-be", "no byte-order mark; NUL pattern says UTF-16 big-endian"
        return "binary", None
    if _valid_utf8(raw):
        return "utf-8", None
    try:
        raw.decode("cp1252")
    except UnicodeDecodeError:
        return "binary", None
    if _UTF8_MULTIBYTE.search(raw) is not None:
        # Valid UTF-8 letters beside invalid bytes: a file mixing two encodings (rows pasted
        # from another export). Decoding it all as cp1252 would garble the UTF-8 part
        # silently; as UTF-8 it stops at the first foreign byte, naming its row.
        return "utf-8", "mixes UTF-8 with another encoding"
    return "cp1252", "not valid UTF-8; decoded as Windows-1252 (cp1252)"


def _bad_byte_row(raw: bytes, offset: int) -> int:
    return raw.count(b"\n", 0, offset) + 1


def _to_utf8(raw: bytes, encoding: str, path: Path) -> bytes:
    """Transcode ``raw`` to UTF-8 without a BOM, or raise with the row of the first bad byte."""
    if encoding in ("utf-8", "utf-8-sig"):
        body = raw[3:] if raw.startswith(codecs.BOM_UTF8) else raw
        if _valid_utf8(body):
            return body
        try:
            body.decode("utf-8")  # for the offset of the first bad byte
        except UnicodeDecodeError as exc:
            raise fail(
                f"byte 0x{body[exc.start]:02x} at offset {exc.start} is not valid {encoding}",
                path=path,
                row=_bad_byte_row(body, exc.start),
                fix="re-export as UTF-8, or pass the file's real encoding (e.g. encoding='cp1252')",
            ) from None
        return body
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise fail(
            f"byte 0x{raw[exc.start]:02x} at offset {exc.start} is not valid {encoding}",
            path=path,
            fix="re-export the file, or pass its real encoding",
        ) from None
    except LookupError:
        raise fail(f"unknown encoding {encoding!r}", path=path) from None
    return text.removeprefix("\ufeff").encode("utf-8")


def _check_not_binary(buf: np.ndarray, path: Path, raw: bytes) -> None:
    if not raw.translate(None, _CONTROL_OK):  # no control bytes but tab and line breaks
        return
    ctrl = buf < 32
    bad = np.flatnonzero(ctrl & (buf != 9) & (buf != 10) & (buf != 13))
    if bad.size:
        first = int(bad[0])
        raise fail(
            f"contains binary data (control byte 0x{int(buf[first]):02x} at offset {first}); "
            "this is not a text export",
            path=path,
            row=_bad_byte_row(raw, first),
            fix="export the survey again as CSV, or give the right file",
        )


def sniff_delimiter(header_line: str) -> str:
    """Pick the field separator from the header line (the most frequent unquoted one).

    Examples
    --------
    >>> sniff_delimiter('"id";"submitdate";"lastpage"')
    ';'
    >>> sniff_delimiter("StartDate\\tEndDate\\tStatus")
    '\\t'
    >>> sniff_delimiter('"Q1, with comma",Q2')
    ','
    """
    outside = []
    quoted = False
    for ch in header_line:
        if ch == '"':
            quoted = not quoted
        elif not quoted:
            outside.append(ch)
    text = "".join(outside)
    counts = {d: text.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def sep_hint(utf8: bytes) -> tuple[str, int] | None:
    """Excel's separator hint: ``(separator, bytes of the hint line)`` when the file starts
    with ``sep=X`` (or ``"sep=X"``) on a line of its own, else ``None``.

    Examples
    --------
    >>> sep_hint(b"sep=;\\r\\nid;q1\\n")
    (';', 7)
    >>> sep_hint(b'"sep=|"\\nid|q1\\n')
    ('|', 8)
    >>> sep_hint(b"sep,q1\\n") is None
    True
    """
    m = _SEP_HINT.match(utf8)
    if m is None:
        return None
    sep = (m.group(1) or m.group(2)).decode("latin-1")
    return sep, m.end()


def _arrow_csv(utf8: bytes, delimiter: str, ncols: int, block: int) -> pa.Table:
    """Every cell as text (empty → null), with pyarrow's multithreaded parser."""
    return pacsv.read_csv(
        io.BytesIO(utf8),
        read_options=pacsv.ReadOptions(
            autogenerate_column_names=True, block_size=block, use_threads=True
        ),
        parse_options=pacsv.ParseOptions(
            delimiter=delimiter, newlines_in_values=True, ignore_empty_lines=True
        ),
        convert_options=pacsv.ConvertOptions(
            # pandas keeps text as large_string: parsing straight into it avoids a copy
            column_types={f"f{i}": pa.large_string() for i in range(ncols)},
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        ),
    )


def read_delimited(
    path: Path,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    raw: bytes | None = None,
) -> DelimitedText:
    """Parse a delimited text file into text cells with source rows.

    Parameters
    ----------
    path
        The file.
    encoding
        Force an encoding instead of detecting it.
    delimiter
        Force a separator instead of sniffing it from the header row.
    raw
        The file's bytes, if already read.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> p = Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = p.write_bytes(b'id,answer\\n007,NA\\n\\n008,"None"\\n')
    >>> t = read_delimited(p)
    >>> t.cells.index.tolist(), t.cells[0].tolist(), t.cells[1].tolist(), t.blank_rows.tolist()
    ([1, 2, 4], ['id', '007', '008'], ['answer', 'NA', 'None'], [3])
    """
    if raw is None:
        raw = read_bytes(path)
    notes: list[str] = []
    encoding, utf8 = _decode(raw, encoding, path, notes)
    utf8, sep = _skip_sep_hint(utf8, path, notes)
    preamble = 0 if sep is None else 1
    if delimiter is None:
        delimiter = sep
    first_row = 1 + preamble
    delimiter, text_first = _first_record(utf8, delimiter)
    ncols = max(len(text_first), 1)
    index = count_records(utf8)
    table = _parse(utf8, delimiter, ncols, path, header=text_first, first_row=first_row)
    index = _reconcile(index, table.num_rows, utf8, delimiter, path, preamble, notes)
    pa.default_memory_pool().release_unused()  # the parser's scratch blocks
    cells = table.to_pandas(types_mapper={pa.large_string(): TEXT_DTYPE}.get)
    cells.columns = pd.RangeIndex(ncols)
    cells.index = pd.Index(index.rows, name="source_row")
    return DelimitedText(
        path=path,
        sha256=file_digest(raw),
        size_bytes=len(raw),
        encoding=encoding,
        delimiter=delimiter,
        cells=cells,
        blank_rows=index.blank_rows,
        count_method=index.method,
        notes=tuple(notes),
        preamble_rows=preamble,
    )


def _decode(raw: bytes, encoding: str | None, path: Path, notes: list[str]) -> tuple[str, bytes]:
    """The encoding (detected unless given) and the text as UTF-8; refuses empty and binary
    files."""
    if _SOMETHING.search(raw) is None:
        raise fail(
            "is empty (no header row, no data)",
            path=path,
            fix="export the survey again; the download may have failed",
        )
    if encoding is None:
        encoding, note = detect_encoding(raw)
        if encoding == "binary":
            raise fail(
                "is not a text export (binary data or an unknown encoding)",
                path=path,
                fix="give the CSV/TSV export, or pass the encoding explicitly",
            )
        if note:
            notes.append(f"encoding: {note}")
    utf8 = _to_utf8(raw, encoding, path)
    buf = np.frombuffer(utf8, dtype=np.uint8)
    _check_not_binary(buf, path, utf8)
    return encoding, utf8


def _skip_sep_hint(utf8: bytes, path: Path, notes: list[str]) -> tuple[bytes, str | None]:
    """The text without Excel's ``sep=`` line, and the separator it names (else ``None``)."""
    hint = sep_hint(utf8)
    if hint is None:
        return utf8, None
    sep, skip = hint
    utf8 = utf8[skip:]
    notes.append(
        f"row 1 'sep={sep}' is Excel's separator hint: {sep!r} is the separator and the "
        "header is row 2"
    )
    if _SOMETHING.search(utf8) is None:
        raise fail(
            f"holds only Excel's separator hint 'sep={sep}' (no header row, no data)",
            path=path,
            fix="export the survey again; the download may have failed",
        )
    return utf8, sep


def _first_record(utf8: bytes, delimiter: str | None) -> tuple[str, list[str]]:
    """The separator (sniffed from the first line unless given) and the first record's
    fields."""
    first_end = utf8.find(b"\n")
    first_line = utf8[: first_end if first_end >= 0 else len(utf8)].decode("utf-8")
    if delimiter is None:
        delimiter = sniff_delimiter(first_line)
    # pyarrow needs the column count for explicit string types; the first record may span
    # lines (a quoted newline), so parse it with the csv module from the file's start.
    head = utf8[: 1 << 20].decode("utf-8", "ignore")
    try:
        text_first = next(csv.reader(io.StringIO(head, newline=""), delimiter=delimiter), [])
    except csv.Error:
        text_first = first_line.split(delimiter)
    return delimiter, text_first


def _parse(
    utf8: bytes,
    delimiter: str,
    ncols: int,
    path: Path,
    *,
    header: Sequence[str],
    first_row: int,
) -> pa.Table:
    """Every cell as text with pyarrow; a file it cannot parse is refused naming its ragged
    rows (``header`` names their columns)."""
    try:
        try:
            table = _arrow_csv(utf8, delimiter, ncols, _BLOCK)
        except pa.ArrowInvalid as exc:
            if "straddling" not in str(exc):
                raise
            table = _arrow_csv(utf8, delimiter, ncols, max(_BIG_BLOCK, len(utf8) + 1))
    except (pa.ArrowInvalid, pa.ArrowKeyError) as exc:
        text = utf8.decode("utf-8")
        refuse_ragged(path, text, delimiter, header, first_row=first_row)
        raise fail(
            f"cannot be parsed as delimited text: {exc}",
            path=path,
            fix="export the survey again; if it was edited by hand, check quotes",
        ) from None
    if table.num_columns != ncols:
        refuse_ragged(path, utf8.decode("utf-8"), delimiter, header, first_row=first_row)
        raise fail(f"has {table.num_columns} columns, expected {ncols}", path=path)
    return table


def _reconcile(
    index: RecordIndex | None,
    parsed: int,
    utf8: bytes,
    delimiter: str,
    path: Path,
    preamble: int,
    notes: list[str],
) -> RecordIndex:
    """The records' row numbers, once the independent count agrees with the ``parsed``
    records (the csv module arbitrates a disagreement); refuses the file otherwise."""
    if index is None or len(index.rows) != parsed:
        checked, _ = csv_records(utf8.decode("utf-8"), delimiter, path, first_row=1 + preamble)
        if len(checked.rows) != parsed:
            raise fail(
                f"record counts disagree: pyarrow read {parsed} records, the "
                f"independent csv parse found {len(checked.rows)}",
                path=path,
                fix="the file has stray quotes or line breaks; open it in a text editor "
                "or export it again",
            )
        if index is not None:
            notes.append(
                "record count: quote scan disagreed, python csv confirmed the pyarrow count"
            )
        return checked
    if preamble:
        return RecordIndex(index.rows + preamble, index.blank_rows + preamble, index.method)
    return index


def split_header(
    text: DelimitedText, header_rows: int, *, what: str = "header"
) -> tuple[list[list[str]], pd.DataFrame, list[str]]:
    """Split the first ``header_rows`` records off as header text.

    Returns the header rows (lists of strings, ``""`` for empty cells), the body (columns
    still positional) and notes. An empty unnamed last column (a trailing separator, as in
    legacy Qualtrics) is dropped with a note.
    """
    cells = text.cells
    if len(cells) < header_rows:
        raise fail(
            f"has {len(cells)} non-blank row(s) but a {what} needs {header_rows} header rows",
            path=text.path,
            row=len(cells) + 1,
            fix="the file is truncated or is not this format: export it again or pass format=",
        )
    head = cells.iloc[:header_rows]
    headers = [["" if pd.isna(v) else str(v) for v in head.iloc[i]] for i in range(header_rows)]
    body = cells.iloc[header_rows:]
    notes: list[str] = []
    last = cells.shape[1] - 1
    if last > 0 and all(h[last] == "" for h in headers) and body[last].isna().all():
        body = body.drop(columns=last)
        headers = [h[:last] for h in headers]
        notes.append("dropped an empty unnamed last column (trailing separator)")
    return headers, body, notes


def table_from_text(
    text: DelimitedText,
    *,
    header_rows: int,
    body: pd.DataFrame,
    meta: pd.DataFrame,
    format: str,
    rules: Sequence[Rule] = (),
    notes: Sequence[str] = (),
    allow_duplicates: Collection[str] = (),
) -> RawTable:
    """Name the body's columns from ``meta`` and build the reconciled :class:`RawTable`.

    ``header_rows`` counts the header records; a ``sep=`` line above them is added to the
    table's ``header_rows``. Repeated column names are an error naming their positions,
    except the headers in ``allow_duplicates`` (see :func:`~.base.assemble`).
    """
    body = body.set_axis(list(meta["column"]), axis=1)
    return assemble(
        path=text.path,
        sha256=text.sha256,
        size_bytes=text.size_bytes,
        format=format,
        encoding=text.encoding,
        delimiter=text.delimiter,
        header_rows=header_rows + text.preamble_rows,
        names_row=1 + text.preamble_rows,
        allow_duplicates=allow_duplicates,
        body=body,
        meta=meta,
        rules=rules,
        blank_rows=text.blank_rows,
        records=len(text.cells) + len(text.blank_rows) - header_rows,
        notes=[*text.notes, *notes],
    )
