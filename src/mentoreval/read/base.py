"""The result every format reader returns: :class:`RawTable` (stage: read).

A reader turns one export file into text cells plus everything known about where they came
from: the file's hash and size, the 1-based source row of every record (as a spreadsheet
shows it, header rows included), per-column metadata (question text, ImportIds, REDCap field
types, SPSS value labels...) and the rows the reader itself set aside, each with a rule and a
reason, so the quarantine can account for them. Nothing is converted to numbers here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from mentoreval.errors import ConfigError, Problem, ReadError

Rule = tuple[np.ndarray, str, Any, str | None]
"""An exclusion rule: (row mask, rule id, reason text or per-row reasons, column)."""

__all__ = [
    "EXCLUDED_COLUMNS",
    "FORMATS",
    "META_COLUMNS",
    "TEXT_DTYPE",
    "Format",
    "RawTable",
    "Rule",
    "check_choice",
    "check_duplicate_headers",
    "column_letters",
    "dedupe_names",
    "file_digest",
]

Format = Literal[
    "qualtrics",
    "qualtrics_legacy",
    "qualtrics_insights",
    "redcap",
    "redcap_labels",
    "spss",
    "xlsx",
    "msforms",
    "googleforms",
    "limesurvey",
    "surveymonkey",
    "csv",
]
"""Every format a reader can return (``RawTable.format``)."""

FORMATS: tuple[str, ...] = Format.__args__  # type: ignore[attr-defined]

TEXT_DTYPE = pd.StringDtype("pyarrow")
"""Dtype of every cell in ``RawTable.data``: text, with ``pd.NA`` only for empty cells."""

META_COLUMNS: tuple[str, ...] = (
    "column",
    "header",
    "position",
    "duplicate_of",
    "label",
    "question",
    "sub_item",
    "import_id",
    "choice_id",
    "time_zone",
    "role",
    "form",
    "field",
    "field_type",
    "choices",
    "missing_values",
    "missing_ranges",
    "measure",
    "spss_format",
    "identifier",
)
"""Columns of ``RawTable.columns_meta`` (one row per column of ``RawTable.data``)."""

EXCLUDED_COLUMNS: tuple[str, ...] = ("source_row", "rule", "reason", "column", "value")
"""Columns of ``RawTable.excluded`` (one row per record the reader set aside)."""


@dataclass(frozen=True, eq=False)
class RawTable:
    """One export file read as text, with its provenance.

    Attributes
    ----------
    data
        One row per kept record; every column has dtype ``string[pyarrow]``; ``pd.NA`` only
        where the cell was empty in the file (literal ``NA``/``None`` stay text). The index,
        named ``source_row``, is the 1-based row in the source file as a spreadsheet shows
        it (header rows count). Column names are unique (see ``columns_meta``).
    path
        The file read (never written).
    sha256, size_bytes
        Hash and size of the bytes read.
    format
        The detected (or requested) format, one of :data:`FORMATS`.
    encoding
        The text encoding used (``"utf-8"``, ``"utf-8-sig"``, ``"utf-16"``, ``"cp1252"``), or
        ``"binary"`` for ``.xlsx``/``.sav``.
    delimiter
        The field separator of a delimited text file, else ``None``.
    header_rows
        How many rows at the top of the file are headers (3 for current Qualtrics).
    columns_meta
        One row per data column; columns :data:`META_COLUMNS` (``column`` is the unique name in
        ``data``, ``header`` the text in the file, ``duplicate_of`` the first column with the
        same header, ``choices``/``missing_values`` ordered lists of ``(code, label)``).
    excluded
        Records set aside by the reader (preview/test/spam responses, blank rows, ...), one row
        each, columns :data:`EXCLUDED_COLUMNS`. They are handed to the quarantine.
    excluded_rows
        The raw cells of the excluded records, indexed by ``source_row`` (same columns as
        ``data``).
    record_count_check
        The number of records below the header rows according to an independent parse of the
        file; the reader has checked ``len(data) + len(excluded) == record_count_check``.
    notes
        Decisions the reader made that a person should know about (encoding fallback, a
        dropped empty trailing column, the sheet used, ...).
    sheet
        The worksheet read from a workbook (``None`` for other formats).
    skipped_sheets
        Hidden worksheets passed over to reach the first visible one (when no sheet was
        named), so that ``validate`` can say which sheet it read and which it skipped.
    """

    data: pd.DataFrame
    path: Path
    sha256: str
    size_bytes: int
    format: str
    encoding: str
    delimiter: str | None
    header_rows: int
    columns_meta: pd.DataFrame
    excluded: pd.DataFrame
    excluded_rows: pd.DataFrame
    record_count_check: int
    notes: tuple[str, ...] = field(default_factory=tuple)
    sheet: str | None = None
    skipped_sheets: tuple[str, ...] = ()

    @property
    def source_row(self) -> np.ndarray:
        """1-based source rows of the kept records (the index of ``data``)."""
        return self.data.index.to_numpy(dtype=np.int64)

    @property
    def n_records(self) -> int:
        """Records read below the headers: kept plus excluded."""
        return len(self.data) + len(self.excluded)

    def manifest_entry(self) -> dict[str, Any]:
        """What ``manifest.json`` records about this input.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> from mentoreval.read import read_export
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = (folder / "a.csv").write_text("id,q1\\n007,NA\\n")
        >>> entry = read_export(folder / "a.csv").manifest_entry()
        >>> entry["rows_kept"], entry["rows_excluded"], entry["format"]
        (1, 0, 'csv')
        """
        return {
            "file": self.path.name,
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "format": self.format,
            "encoding": self.encoding,
            "header_rows": self.header_rows,
            "records": self.record_count_check,
            "rows_kept": len(self.data),
            "rows_excluded": len(self.excluded),
            "columns": int(self.data.shape[1]),
            "notes": list(self.notes),
            **({"sheet": self.sheet} if self.sheet is not None else {}),
            **({"skipped_sheets": list(self.skipped_sheets)} if self.skipped_sheets else {}),
        }

    def __repr__(self) -> str:
        return (
            f"RawTable(format={self.format!r}, file={self.path.name!r}, "
            f"rows={len(self.data)}, excluded={len(self.excluded)}, "
            f"columns={self.data.shape[1]})"
        )


def file_digest(data: bytes) -> str:
    """SHA-256 hex digest of ``data``.

    Examples
    --------
    >>> file_digest(b"")[:12]
    'e3b0c44298fc'
    """
    return hashlib.sha256(data).hexdigest()


def dedupe_names(headers: Sequence[str]) -> tuple[list[str], list[str | None]]:
    """Make column names unique, deterministically.

    The first occurrence keeps its name; later ones get ``__2``, ``__3``... (skipping any
    suffix already taken). Empty headers become ``column_<position>``.

    Returns
    -------
    names, duplicate_of
        The unique names and, per column, the name of the first column with the same header
        (``None`` when the header was unique).

    Examples
    --------
    >>> dedupe_names(["id", "Complete?", "q1", "Complete?", ""])
    (['id', 'Complete?', 'q1', 'Complete?__2', 'column_5'], [None, None, None, 'Complete?', None])
    """
    taken: set[str] = set()
    firsts: dict[str, str] = {}
    counts: dict[str, int] = {}
    names: list[str] = []
    dup_of: list[str | None] = []
    wanted = [h if h != "" else f"column_{i + 1}" for i, h in enumerate(headers)]
    reserved = set(wanted)
    for name in wanted:
        if name not in firsts:
            firsts[name] = name
            taken.add(name)
            names.append(name)
            dup_of.append(None)
            continue
        k = counts.get(name, 1)
        while True:
            k += 1
            candidate = f"{name}__{k}"
            if candidate not in taken and candidate not in reserved:
                break
        counts[name] = k
        taken.add(candidate)
        names.append(candidate)
        dup_of.append(name)
    return names, dup_of


def column_letters(position: int) -> str:
    """The spreadsheet letters of a 1-based column position.

    Examples
    --------
    >>> column_letters(1), column_letters(26), column_letters(27), column_letters(703)
    ('A', 'Z', 'AA', 'AAA')
    """
    letters = ""
    while position > 0:
        position, rest = divmod(position - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def check_duplicate_headers(
    meta: pd.DataFrame,
    *,
    path: Path,
    row: int | None = 1,
    allow: Collection[str] = (),
) -> None:
    """Refuse two columns with the same header: which one holds the answers is unknowable.

    Raises :class:`ReadError` with one problem per repeated header, naming every position
    (column number and spreadsheet letter) and the fix. Headers in ``allow`` may repeat
    (REDCap's ``Complete?`` in a label export); empty headers never count as repeats.

    Examples
    --------
    >>> meta = new_meta(["id", "who5_3", "q", "who5_3"])
    >>> check_duplicate_headers(meta, path=Path("pre.csv"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mentoreval.errors.ReadError: pre.csv has repeated column names: 1 problem
      - pre.csv: row 1: column 'who5_3': the header 'who5_3' appears twice, in columns 2 (B) and 4 (D) (fix: ...)
    """
    if "duplicate_of" not in meta or not meta["duplicate_of"].notna().any():
        return
    headers = [str(h) for h in meta["header"]]
    positions: dict[str, list[int]] = {}
    for pos, h in enumerate(headers, start=1):
        if h != "" and h not in allow:
            positions.setdefault(h, []).append(pos)
    problems = []
    for header, where in positions.items():
        if len(where) < 2:
            continue
        places = [f"{p} ({column_letters(p)})" for p in where]
        listed = " and ".join(places) if len(places) == 2 else ", ".join(places)
        times = "twice" if len(where) == 2 else f"{len(where)} times"
        problems.append(
            Problem(
                f"the header {header!r} appears {times}, in columns {listed}",
                file=path.name,
                row=row,
                column=header,
                fix="rename all but one of these columns in the file (or in the survey, "
                "and export again) so that each column has its own name; mentoreval does "
                "not guess which one holds the answers",
            )
        )
    raise_read(problems, path=path, what="has repeated column names")


def new_meta(headers: Sequence[str]) -> pd.DataFrame:
    """A ``columns_meta`` frame for ``headers`` with every metadata field missing."""
    names, dup_of = dedupe_names(headers)
    meta = pd.DataFrame({c: pd.Series([None] * len(names), dtype=object) for c in META_COLUMNS})
    meta["column"] = names
    meta["header"] = list(headers)
    meta["position"] = np.arange(1, len(names) + 1, dtype=np.int64)
    meta["duplicate_of"] = dup_of
    return meta


def empty_excluded() -> pd.DataFrame:
    """An empty ``excluded`` frame."""
    out = pd.DataFrame({c: pd.Series([], dtype=object) for c in EXCLUDED_COLUMNS})
    out["source_row"] = out["source_row"].astype(np.int64)
    return out


def excluded_frame(
    source_rows: Iterable[int],
    *,
    rule: str | Sequence[str],
    reason: str | Sequence[str] | np.ndarray,
    column: str | Sequence[str | None] | None = None,
    value: str | Sequence[str | None] | None = None,
) -> pd.DataFrame:
    """Build ``excluded`` rows; scalars are broadcast."""
    rows = np.asarray(list(source_rows), dtype=np.int64)
    n = len(rows)

    def col(v: Any) -> list[Any]:
        if isinstance(v, str) or v is None:
            return [v] * n
        return list(v)

    return pd.DataFrame(
        {
            "source_row": rows,
            "rule": col(rule),
            "reason": col(reason),
            "column": col(column),
            "value": col(value),
        }
    )


def raise_read(problems: Sequence[Problem], *, path: Path, what: str = "could not be read") -> None:
    """Raise a :class:`ReadError` for ``problems`` (at most 20 listed) if there are any."""
    if not problems:
        return
    shown = list(problems[:20])
    if len(problems) > 20:
        shown.append(Problem(f"... and {len(problems) - 20} more", file=path.name))
    noun = "problem" if len(problems) == 1 else "problems"
    raise ReadError(f"{path.name} {what}: {len(problems)} {noun}", tuple(shown))


def fail(
    message: str,
    *,
    path: Path,
    row: int | None = None,
    column: str | None = None,
    fix: str | None = None,
) -> ReadError:
    """A single-problem :class:`ReadError` (to ``raise``)."""
    problem = Problem(message, file=path.name, row=row, column=column, fix=fix)
    return ReadError(str(problem), (problem,))


def assemble(
    *,
    path: Path,
    sha256: str,
    size_bytes: int,
    format: str,
    encoding: str,
    delimiter: str | None,
    header_rows: int,
    body: pd.DataFrame,
    meta: pd.DataFrame,
    rules: Sequence[Rule] = (),
    blank_rows: np.ndarray | None = None,
    records: int,
    notes: Sequence[str] = (),
    names_row: int | None = 1,
    allow_duplicates: Collection[str] = (),
    sheet: str | None = None,
    skipped_sheets: Sequence[str] = (),
) -> RawTable:
    """Apply the reader's exclusion rules and build a reconciled :class:`RawTable`.

    ``rules`` are ``(mask, rule, reason, column)`` in priority order; a record matched by
    several rules is excluded once, by the first. ``reason`` is one text, one text per row,
    or a function of the mask of excluded rows giving their texts. Rows whose cells are all empty are
    excluded as ``empty_row`` and blank lines as ``blank_row``. Raises :class:`ReadError` if
    kept + excluded differs from ``records`` (the independent count), and when two columns
    have the same header (see :func:`check_duplicate_headers`; ``names_row`` is the file's
    row holding the names, headers in ``allow_duplicates`` may repeat).
    """
    check_duplicate_headers(meta, path=path, row=names_row, allow=allow_duplicates)
    n = len(body)
    taken = np.zeros(n, dtype=bool)
    parts: list[pd.DataFrame] = []
    all_empty = body.isna().all(axis=1).to_numpy() if body.shape[1] else np.ones(n, bool)
    ordered = [
        (all_empty, "empty_row", "every cell of the row is empty", None),
        *rules,
    ]
    rows = body.index.to_numpy(dtype=np.int64)
    for mask, rule, reason, column in ordered:
        hit = np.asarray(mask, dtype=bool) & ~taken
        if not hit.any():
            continue
        if isinstance(reason, str):
            reasons: Any = reason
        elif callable(reason):  # built for the excluded rows only
            reasons = reason(hit)
        else:
            reasons = np.asarray(reason, dtype=object)[hit]
        values: Any = None
        if column is not None and column in body.columns:
            values = [None if pd.isna(v) else str(v) for v in body.loc[hit, column]]
        parts.append(
            excluded_frame(rows[hit], rule=rule, reason=reasons, column=column, value=values)
        )
        taken |= hit
    if blank_rows is not None and len(blank_rows):
        parts.append(
            excluded_frame(blank_rows.tolist(), rule="blank_row", reason="blank line in the file")
        )
    excluded = (
        pd.concat(parts, ignore_index=True).sort_values("source_row", kind="stable")
        if parts
        else empty_excluded()
    ).reset_index(drop=True)
    # avoid copying every column when the reader excluded nothing (the common case)
    kept = body.loc[~taken] if taken.any() else body
    if len(kept) + len(excluded) != records:
        raise ReadError(
            f"{path.name}: internal reconciliation failed ({len(kept)} kept + "
            f"{len(excluded)} excluded != {records} records); please report this bug"
        )
    return RawTable(
        data=kept,
        path=path,
        sha256=sha256,
        size_bytes=size_bytes,
        format=format,
        encoding=encoding,
        delimiter=delimiter,
        header_rows=header_rows,
        columns_meta=meta.reset_index(drop=True),
        excluded=excluded,
        excluded_rows=body.loc[taken] if taken.any() else body.iloc[:0],
        record_count_check=records,
        notes=tuple(notes),
        sheet=sheet,
        skipped_sheets=tuple(skipped_sheets),
    )


def check_choice(name: str, value: object, allowed: Sequence[str]) -> None:
    """Raise :class:`ConfigError` listing ``allowed`` when ``value`` is not one of them.

    Examples
    --------
    >>> check_choice("unfinished", "keep", ("keep", "exclude"))
    >>> check_choice("unfinished", "drop", ("keep", "exclude"))
    Traceback (most recent call last):
    ...
    mentoreval.errors.ConfigError: unfinished='drop' is not one of: 'keep', 'exclude'
    """
    if value not in allowed:
        listed = ", ".join(repr(a) for a in allowed)
        raise ConfigError(f"{name}={value!r} is not one of: {listed}")
