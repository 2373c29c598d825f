"""Column evidence: read every export given and describe each column (stage: draft).

:func:`collect_exports` turns the paths given to ``mentoreval init`` (files or folders) into
survey exports read by :func:`mentoreval.read.read_export`, REDCap data dictionaries
(attached to the REDCap export beside them) and meeting logs. A file that cannot be read
stops the draft with the same located error as ``mentoreval validate``.

:func:`profile_columns` describes every column of one export in one tidy table — how many
answers, how many distinct, how many numeric, date-like or id-like — with vectorised pandas
per column (never a Python loop over respondents). :func:`header_texts` lists the texts a
column is known by (its name, the question, the matrix row, the REDCap field label), which
the instrument matcher compares with item texts.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mentoreval.errors import MentorevalError, Problem, ReadError, raise_problems
from mentoreval.read import RawTable, detect_encoding, read_export
from mentoreval.read.redcap import is_redcap_dictionary

__all__ = [
    "ExportFile",
    "Exports",
    "collect_exports",
    "header_texts",
    "norm_text",
    "profile_columns",
]

_SKIP_SUFFIX = {".yaml", ".yml", ".md", ".txt", ".json", ".key", ".py", ".html", ".pdf"}
_DATE = re.compile(
    r"^\s*(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})([ T]\d{1,2}:\d{2}.*)?$"
)
_ID_VALUE = re.compile(r"^[A-Za-z]{0,4}[-_]?\d{3,}[A-Za-z]?$")
_MEETING = (re.compile(r"mentee", re.I), re.compile(r"mentor(?!ing)", re.I))


@dataclass(frozen=True)
class ExportFile:
    """One survey export read as text.

    Attributes
    ----------
    path
        The file given (never written).
    table
        What :func:`mentoreval.read.read_export` read.
    dictionary
        The REDCap data dictionary read with it, if one was given beside it.
    """

    path: Path
    table: RawTable
    dictionary: Path | None = None

    @property
    def name(self) -> str:
        """The file name (how tables and comments refer to the export)."""
        return self.path.name


@dataclass(frozen=True)
class Exports:
    """Everything found among the paths given: survey exports and meeting logs."""

    files: tuple[ExportFile, ...]
    meetings: tuple[Path, ...] = ()


def norm_text(text: object) -> str:
    """Text as compared across exports: NFKC, curly quotes straightened, case-folded,
    punctuation removed, whitespace (newlines, NBSP) collapsed.

    Examples
    --------
    >>> norm_text("  How often do you think: \\u201cI can\\u2019t take it\\nanymore\\u201d? ")
    'how often do you think i can t take it anymore'
    >>> norm_text("WHO-5") , norm_text(None)
    ('who 5', '')
    """
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return ""
    t = unicodedata.normalize("NFKC", str(text)).casefold()
    t = re.sub(r"[^\w]+", " ", t.replace("_", " "))
    return " ".join(t.split())


def _first_row(path: Path) -> list[str]:
    try:
        with path.open("rb") as handle:
            head = handle.read(1 << 16)
    except OSError:
        return []
    encoding, _ = detect_encoding(head)
    if encoding == "binary":
        return []
    text = head.decode(encoding, "ignore").removeprefix("\ufeff")
    try:
        return next(csv.reader(io.StringIO(text.split("\n", 1)[0])), [])
    except csv.Error:
        return []


def _expand(paths: Iterable[str | Path]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(
                f
                for f in p.iterdir()
                if f.is_file()
                and not f.name.startswith((".", "~$"))
                and f.suffix.lower() not in _SKIP_SUFFIX
            )
        else:
            out.append(p)
    return list(dict.fromkeys(out))


def _is_meeting_log(table: RawTable) -> bool:
    cols = [str(c) for c in table.data.columns]
    return all(any(p.search(c) for c in cols) for p in _MEETING)


def collect_exports(paths: Sequence[str | Path]) -> Exports:
    """Read every export given (files, or folders of files).

    Parameters
    ----------
    paths
        Export files or folders holding them. A REDCap data dictionary among them is attached
        to the REDCap export(s) in the same folder; a meeting log (mentee and mentor columns)
        is kept apart.

    Returns
    -------
    Exports

    Raises
    ------
    mentoreval.errors.ReadError
        Every unreadable file at once (missing, binary, empty, a refused format), located.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "pre.csv").write_text("sid,who5_1\\n1234567,3\\n")
    >>> found = collect_exports([folder])
    >>> [f.name for f in found.files], found.files[0].table.format
    (['pre.csv'], 'csv')
    """
    files = _expand(paths)
    if not files:
        raise ReadError(
            "no export files given",
            (Problem("no export files given", fix="name the export files or their folder"),),
        )
    dictionaries = [f for f in files if f.suffix.lower() != ".sav" and _is_dict(f)]
    problems: list[Problem] = []
    read: list[ExportFile] = []
    meetings: list[Path] = []
    for f in files:
        if f in dictionaries:
            continue
        beside = [d for d in dictionaries if d.parent == f.parent]
        try:
            table = read_export(f)
            if table.format.startswith("redcap") and beside:
                table = read_export(f, dictionary=beside[0])
        except MentorevalError as exc:
            problems += list(exc.problems) or [Problem(str(exc), file=str(f))]
            continue
        if _is_meeting_log(table):
            meetings.append(f)
            continue
        dictionary = beside[0] if table.format.startswith("redcap") and beside else None
        read.append(ExportFile(path=f, table=table, dictionary=dictionary))
    if not read and not problems:
        problems.append(
            Problem(
                "none of the files given is a survey export",
                file=", ".join(f.name for f in files),
                fix="give the survey exports (the REDCap records export, not only its dictionary)",
            )
        )
    raise_problems(problems, error=ReadError, what="in the exports given; nothing was written")
    return Exports(files=tuple(read), meetings=tuple(meetings))


def _is_dict(path: Path) -> bool:
    return is_redcap_dictionary(_first_row(path))


def header_texts(table: RawTable, column: str) -> list[str]:
    """Every text a column is known by, most specific first: the matrix row or bracketed
    sub-question, the REDCap field label, the question, the header and the column name.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "forms.csv"
    >>> _ = p.write_text('Timestamp,"WHO-5 [I have felt calm and relaxed]"\\n2024/01/01,x\\n')
    >>> header_texts(read_export(p), "WHO-5 [I have felt calm and relaxed]")
    ['I have felt calm and relaxed', 'WHO-5', 'WHO-5 [I have felt calm and relaxed]']
    """
    meta = table.columns_meta
    row = meta.loc[meta["column"] == column]
    found: list[str] = []
    if len(row):
        r = row.iloc[0]
        for key in ("sub_item", "label", "question", "header"):
            value = r.get(key)
            if isinstance(value, str) and value.strip():
                found += _split_header(value)
    found += _split_header(column)
    out: list[str] = []
    for text in found:
        text = " ".join(text.split())
        if text and text not in out:
            out.append(text)
    return out


def _split_header(text: str) -> list[str]:
    """A header and its parts: ``Title [sub]`` → sub, Title; ``Title - sub`` → sub, Title."""
    m = re.fullmatch(r"(?s)\s*(.*?)\s*\[(.+)\]\s*", text)
    if m:
        return [m.group(2), m.group(1), text]
    if " - " in text:
        head, _, tail = text.rpartition(" - ")
        return [tail, head, text]
    return [text]


def profile_columns(table: RawTable) -> pd.DataFrame:
    """One row per column of an export: how its answers look.

    Parameters
    ----------
    table
        An export read by :func:`mentoreval.read.read_export`.

    Returns
    -------
    pandas.DataFrame
        ``column``, ``n`` (records), ``answered``, ``distinct``, ``numeric`` / ``integer`` /
        ``date`` / ``id_like`` (shares of the answers), ``sequential`` (answers are exactly
        1..n), ``mean_length`` and ``levels`` (the distinct answers, most frequent first,
        when there are at most 12).

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = p.write_text("sid,year,when\\nS1234,1,2024-01-02\\nS2345,2,2024-01-03\\n")
    >>> prof = profile_columns(read_export(p)).set_index("column")
    >>> int(prof.loc["sid", "distinct"]), float(prof.loc["sid", "id_like"])
    (2, 1.0)
    >>> float(prof.loc["when", "date"])
    1.0
    >>> prof.loc["year", "levels"], bool(prof.loc["year", "sequential"])
    (['1', '2'], False)
    """
    cached = _PROFILES.get(table)
    if cached is not None:
        return cached.copy()
    rows = [_profile(table.data[column], str(column)) for column in table.data.columns]
    out = pd.DataFrame(rows)
    _PROFILES[table] = out
    return out.copy()


_PROFILES: weakref.WeakKeyDictionary[RawTable, pd.DataFrame] = weakref.WeakKeyDictionary()


def _profile(cells: pd.Series, column: str) -> dict[str, object]:
    """One column's profile, computed on its distinct answers weighted by their counts."""
    text = cells.astype("string").str.strip()
    counts = text[text.notna() & (text != "")].value_counts()
    k = int(counts.sum())
    uniq = pd.Index(counts.index.astype(str), dtype=object)
    w = counts.to_numpy(dtype=float)

    def share(mask: np.ndarray) -> float:
        return float((w * mask).sum() / k) if k else 0.0

    numbers = pd.to_numeric(pd.Series(uniq), errors="coerce").to_numpy(dtype=float)
    is_num = ~np.isnan(numbers)
    integer = is_num & (numbers == np.floor(np.nan_to_num(numbers)))
    sequential = bool(
        k >= 5
        and integer.all()
        and counts.max() == 1
        and set(numbers.tolist()) == set(range(1, k + 1))
    )
    return {
        "column": column,
        "n": len(cells),
        "answered": k,
        "distinct": len(counts),
        "numeric": share(is_num),
        "integer": share(integer),
        "date": share(np.asarray(uniq.str.match(_DATE), dtype=bool)),
        "id_like": share(np.asarray(uniq.str.match(_ID_VALUE), dtype=bool)),
        "sequential": sequential,
        "mean_length": share(np.asarray(uniq.str.len(), dtype=float)),
        "levels": [str(v) for v in uniq] if len(counts) <= 12 else None,
    }
