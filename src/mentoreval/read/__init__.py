"""Format readers: export file → :class:`RawTable` of text cells (stage: read).

:func:`read_export` detects the format from the file's signature (or takes an explicit
``format=``), reads every cell as text, keeps the 1-based source row of every record,
excludes non-respondent rows with a rule and a reason (never silently), and checks its
record count against an independent parse. :func:`detect_format` only looks.

========================  ==============================================================
format                    signature
========================  ==============================================================
``qualtrics``             row 3 starts ``{"ImportId"``
``qualtrics_insights``    row 3 starts ``{'ImportId'``
``qualtrics_legacy``      row 1 ``V1,V2,...``, row 2 contains ``ResponseID``
``redcap``                ``redcap_event_name``/``redcap_repeat_*``/``*_complete`` columns
``redcap_labels``         a ``Complete?`` column
``googleforms``           first header ``Timestamp``
``limesurvey``            ``id,submitdate,lastpage`` or ``Response ID,Date submitted,...``
``msforms``               ``ID,Start time,Completion time`` (``.xlsx`` or CSV)
``surveymonkey``          ``Respondent ID,Collector ID`` over a blank row 2 (``.xlsx`` or CSV)
``xlsx``                  any other ``.xlsx``
``spss``                  ``$FL2``/``$FL3`` magic bytes
``csv``                   any other delimited text (``,``, tab, ``;`` or ``|``)
========================  ==============================================================

A REDCap data dictionary is read with :func:`read_redcap_dictionary`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, cast

import pandas as pd

from mentoreval.errors import Problem

from .base import FORMATS, META_COLUMNS, TEXT_DTYPE, Format, RawTable, check_choice, new_meta
from .excel import read_xlsx
from .googleforms import is_googleforms, read_googleforms
from .limesurvey import is_limesurvey, read_limesurvey
from .msforms import is_msforms, set_msforms_meta
from .qualtrics import Exclusion, Variant, qualtrics_variant, read_qualtrics
from .redcap import (
    RedcapVariant,
    is_redcap_dictionary,
    parse_choices,
    read_redcap,
    read_redcap_dictionary,
    redcap_variant,
)
from .spss import is_spss, read_spss
from .surveymonkey import is_surveymonkey, read_surveymonkey
from .text import (
    DelimitedText,
    count_records,
    detect_encoding,
    read_bytes,
    read_delimited,
    sep_hint,
    sniff_delimiter,
    split_header,
    table_from_text,
)

__all__ = [
    "FORMATS",
    "META_COLUMNS",
    "TEXT_DTYPE",
    "Format",
    "RawTable",
    "count_records",
    "detect_encoding",
    "detect_format",
    "parse_choices",
    "read_export",
    "read_qualtrics",
    "read_redcap",
    "read_redcap_dictionary",
    "read_spss",
    "read_xlsx",
]

_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_REFUSED_SUFFIX = {".xlsm", ".xls", ".xlsb"}
_TEXT_FORMATS = (
    "qualtrics",
    "qualtrics_legacy",
    "qualtrics_insights",
    "redcap",
    "redcap_labels",
    "googleforms",
    "limesurvey",
    "surveymonkey",
    "csv",
)


def _fail_dictionary(path: Path) -> None:
    from .base import raise_read

    raise_read(
        [
            Problem(
                "is a REDCap data dictionary, not a survey export",
                file=path.name,
                row=1,
                fix="give it as the REDCap source's dictionary (read_redcap_dictionary); "
                "the records export is the path",
            )
        ],
        path=path,
        what="is not a survey export",
    )


def _detect_rows(rows: Sequence[list[str]], path: Path) -> str:
    variant = qualtrics_variant(rows)
    if variant is not None:
        return variant
    header = rows[0] if rows else []
    if is_redcap_dictionary(header):
        _fail_dictionary(path)
    if is_surveymonkey(header, rows[1] if len(rows) > 1 else []):
        return "surveymonkey"
    if is_msforms(header):
        return "msforms"
    if is_googleforms(header):
        return "googleforms"
    if is_limesurvey(header):
        return "limesurvey"
    return redcap_variant(header) or "csv"


def _top_rows(text: DelimitedText, n: int = 3) -> list[list[str]]:
    head = text.cells.iloc[:n]
    return [["" if pd.isna(v) else str(v) for v in head.iloc[i]] for i in range(len(head))]


def detect_format(path: str | Path) -> Format:
    """Detect an export's format from its content (its signature), without reading it all.

    Parameters
    ----------
    path
        The export file.

    Returns
    -------
    str
        One of :data:`FORMATS`.

    Raises
    ------
    mentoreval.errors.ReadError
        For refused files (``.xlsm``/``.xls``/``.xlsb``, binary junk, a REDCap data
        dictionary, an empty file).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> p = Path(tempfile.mkdtemp()) / "export.csv"
    >>> _ = p.write_text("record_id,redcap_event_name,age\\n1,pre_arm_1,23\\n")
    >>> detect_format(p)
    'redcap'
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in _REFUSED_SUFFIX:
        read_xlsx(path)  # raises the refusal with its fix
    try:
        with path.open("rb") as handle:
            head = handle.read(1 << 20)
    except OSError:
        read_bytes(path)  # raises a ReadError
        raise
    if is_spss(head):
        return "spss"
    if head.startswith((_ZIP, _OLE)):
        return read_xlsx(path).format  # type: ignore[return-value]
    if not head.strip():
        read_delimited(path, raw=head)  # raises "is empty"
    encoding, _ = detect_encoding(head)
    if encoding == "binary":
        read_delimited(path, raw=head)  # raises "not a text export"
    text = head.decode(encoding, "ignore").removeprefix("\ufeff")
    hint = sep_hint(text.encode("utf-8"))
    if hint is not None:  # Excel's "sep=;" line: the separator, not a header
        text = text.encode("utf-8")[hint[1] :].decode("utf-8", "ignore")
    first = text.split("\n", 1)[0]
    delimiter = hint[0] if hint is not None else sniff_delimiter(first)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[list[str]] = []
    try:
        for record in reader:
            if record:
                rows.append(record)
            if len(rows) == 3:
                break
    except csv.Error:
        pass
    return _detect_rows(rows, path)  # type: ignore[return-value]


def _read_plain(text: DelimitedText, fmt: str) -> RawTable:
    headers, body, notes = split_header(text, 1, what="CSV export")
    meta = new_meta(headers[0])
    if fmt == "msforms":
        set_msforms_meta(meta, headers[0])
    return table_from_text(text, header_rows=1, body=body, meta=meta, format=fmt, notes=notes)


def read_export(
    path: str | Path,
    *,
    format: Literal["auto"] | Format = "auto",
    encoding: str | None = None,
    dictionary: str | Path | None = None,
    sheet: str | int | None = None,
    exclude: Sequence[Exclusion] = ("preview", "test", "spam"),
    unfinished: Literal["keep", "exclude"] = "keep",
    formulas: Literal["error", "cached"] = "error",
) -> RawTable:
    """Read any supported survey export as text with its provenance.

    Parameters
    ----------
    path
        The export file (read, never written).
    format
        ``"auto"`` (detect from the content) or one of :data:`FORMATS` to override.
    encoding
        Force the text encoding of a CSV/TSV (else detected: UTF-8 ± BOM, UTF-16, cp1252).
    dictionary
        REDCap data dictionary for a REDCap export (fills ``columns_meta``).
    sheet
        Sheet of an ``.xlsx`` (name or 0-based index; default the first).
    exclude
        Qualtrics non-respondent rows to exclude: ``"preview"``, ``"test"``, ``"spam"``.
    unfinished
        Unfinished Qualtrics/LimeSurvey responses: ``"keep"`` or ``"exclude"`` (to
        ``RawTable.excluded`` with a reason).
    formulas
        ``.xlsx`` formula cells: ``"error"`` or ``"cached"`` (see :func:`read_xlsx`).

    Returns
    -------
    RawTable
        Kept rows as text (index ``source_row``), excluded rows with rule and reason,
        column metadata, hash, size and the independent record count.

    Raises
    ------
    mentoreval.errors.ReadError
        For anything that cannot be read safely, naming the file, row and column.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> p = Path(tempfile.mkdtemp()) / "cohort.csv"
    >>> _ = p.write_text('id,name,note\\n007,NA,"two\\nlines"\\n\\n008,None,\\n')
    >>> t = read_export(p)
    >>> import pandas as pd
    >>> t.format, t.data.index.tolist(), t.data["id"].tolist(), t.data["name"].tolist()
    ('csv', [2, 4], ['007', '008'], ['NA', 'None'])
    >>> t.data.loc[4, "note"] is pd.NA, t.excluded[["source_row", "rule"]].values.tolist()
    (True, [[3, 'blank_row']])
    """
    path = Path(path)
    check_choice("format", format, ("auto", *FORMATS))
    check_choice("unfinished", unfinished, ("keep", "exclude"))
    suffix = path.suffix.lower()
    if suffix in _REFUSED_SUFFIX:
        return read_xlsx(path)  # raises the refusal
    if format in ("xlsx", "msforms") or (format == "surveymonkey" and suffix == ".xlsx"):
        return read_xlsx(path, sheet=sheet, formulas=formulas)
    if format == "spss":
        return read_spss(path, encoding=encoding)
    raw = read_bytes(path)
    if format == "auto":
        if is_spss(raw[:4]):
            return read_spss(path, encoding=encoding)
        if raw.startswith((_ZIP, _OLE)) or suffix == ".xlsx":
            return read_xlsx(path, sheet=sheet, formulas=formulas, raw=raw)
    text = read_delimited(path, encoding=encoding, raw=raw)
    fmt = _detect_rows(_top_rows(text), path) if format == "auto" else format
    if fmt.startswith("qualtrics"):
        return read_qualtrics(
            path,
            variant=cast(Variant, fmt),
            exclude=exclude,
            unfinished=unfinished,
            text=text,
        )
    if fmt.startswith("redcap"):
        return read_redcap(path, variant=cast(RedcapVariant, fmt), dictionary=dictionary, text=text)
    if fmt == "googleforms":
        return read_googleforms(path, text=text)
    if fmt == "limesurvey":
        return read_limesurvey(path, unfinished=unfinished, text=text)
    if fmt == "surveymonkey":
        return read_surveymonkey(path, text=text)
    return _read_plain(text, fmt)
