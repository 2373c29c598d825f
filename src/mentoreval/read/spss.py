"""SPSS ``.sav``/``.zsav`` files via pyreadstat (stage: read).

Read with ``user_missing=True`` so user-defined missing values (``-1 "undetermined"``, a
range ``2000-3000``) stay in the data as their codes instead of turning silently into blanks;
``columns_meta.missing_values`` lists the discrete ones with their labels and
``missing_ranges`` the ranges, so the recode stage can give each a reason. Value labels are
kept as ``(code, label)`` pairs in coded order (numeric order of the codes), never
alphabetical. Cells become text: integral numbers without ``.0``, other numbers in their
shortest round-trip form, dates in ISO 8601; system-missing and empty strings are ``pd.NA``.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .base import TEXT_DTYPE, RawTable, assemble, fail, file_digest, new_meta
from .text import read_bytes

__all__ = ["is_spss", "read_spss"]


def is_spss(head: bytes) -> bool:
    """Whether bytes start with an SPSS system-file signature.

    Examples
    --------
    >>> is_spss(b"$FL2@(#) IBM SPSS")
    True
    """
    return head[:4] in (b"$FL2", b"$FL3")


def _code_text(value: Any) -> str:
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(float(value))
    return str(value)


def _code_key(value: Any) -> tuple[int, float, str]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, float(value), "")
    return (1, 0.0, str(value))


def _column_text(series: pd.Series) -> Any:
    if pd.api.types.is_float_dtype(series.dtype) or pd.api.types.is_integer_dtype(series.dtype):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        out: list[str | None] = [None if math.isnan(v) else _code_text(v) for v in values]
    elif pd.api.types.is_datetime64_any_dtype(series.dtype):
        out = [None if pd.isna(v) else v.isoformat(sep=" ") for v in series]
    else:
        out = []
        for v in series.tolist():
            if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT:
                out.append(None)
            elif isinstance(v, dt.datetime):
                out.append(v.isoformat(sep=" "))
            elif isinstance(v, dt.date | dt.time):
                out.append(v.isoformat())
            elif isinstance(v, float):
                out.append(_code_text(v))
            else:
                text = str(v)
                out.append(text if text.strip() != "" else None)
    return pd.array(out, dtype=TEXT_DTYPE)


def read_spss(path: str | Path, *, encoding: str | None = None) -> RawTable:
    """Read an SPSS ``.sav``/``.zsav`` file as text with its labels and missing values.

    Parameters
    ----------
    path
        The file.
    encoding
        Override the file's declared character encoding (for locale-encoded files that
        pyreadstat cannot convert).

    ``columns_meta``: ``label`` (variable label), ``choices`` (value labels, coded
    order), ``missing_values`` (discrete user-missing codes with labels, or ``None`` as
    label), ``missing_ranges`` (``(lo, hi)`` text pairs), ``measure``, ``spss_format``,
    ``sub_item`` (multiple-response set name). Data rows start at source row 1 (a ``.sav``
    has no header row; the row is the case number).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import pyreadstat
    >>> p = Path(tempfile.mkdtemp()) / "s.sav"
    >>> df = pd.DataFrame({"mood": [3.0, -1.0, 1.0]})
    >>> pyreadstat.write_sav(df, str(p), variable_value_labels={"mood": {3.0: "high",
    ...     1.0: "low", 2.0: "medium", -1.0: "refused"}}, missing_ranges={"mood": [-1]})
    >>> t = read_spss(p)
    >>> t.data["mood"].tolist()
    ['3', '-1', '1']
    >>> t.columns_meta.loc[0, "choices"]
    [('-1', 'refused'), ('1', 'low'), ('2', 'medium'), ('3', 'high')]
    >>> t.columns_meta.loc[0, "missing_values"]
    [('-1', 'refused')]
    """
    path = Path(path)
    raw = read_bytes(path)
    if not is_spss(raw[:4]) and path.suffix.lower() != ".zsav":
        raise fail(
            "is not an SPSS system file (no $FL2/$FL3 signature)",
            path=path,
            fix="give the .sav file as saved by SPSS, or pass the right format",
        )
    df, meta, notes = _read_sav(path, encoding)
    columns = list(df.columns)
    cmeta = _columns_meta(columns, meta)
    body = pd.DataFrame(
        {name: _column_text(df[c]) for name, c in zip(cmeta["column"], columns, strict=True)},
        index=pd.Index(np.arange(1, len(df) + 1, dtype=np.int64), name="source_row"),
    )
    if meta.number_rows is not None and meta.number_rows != len(df):
        raise fail(
            f"the file header declares {meta.number_rows} cases but {len(df)} were read",
            path=path,
            fix="the file may be truncated: save it again from SPSS",
        )
    return assemble(
        path=path,
        sha256=file_digest(raw),
        size_bytes=len(raw),
        format="spss",
        encoding=str(meta.file_encoding or "unknown"),
        delimiter=None,
        header_rows=0,
        body=body,
        meta=cmeta,
        records=len(df),
        notes=notes,
        names_row=None,
    )


def _read_sav(path: Path, encoding: str | None) -> tuple[pd.DataFrame, Any, list[str]]:
    """pyreadstat's data frame and metadata (user-missing values kept as codes), and notes;
    its errors become a :class:`~mentoreval.errors.ReadError`."""
    import pyreadstat

    notes: list[str] = []
    kwargs: dict[str, Any] = {"user_missing": True}
    if encoding is not None:
        kwargs["encoding"] = encoding
    try:
        try:
            df, meta = pyreadstat.read_sav(str(path), **kwargs)
        except OverflowError:
            df, meta = pyreadstat.read_sav(str(path), disable_datetime_conversion=True, **kwargs)
            notes.append("dates beyond year 9999: kept as SPSS numeric dates (seconds)")
    except Exception as exc:
        if type(exc).__module__.startswith("pyreadstat") or isinstance(exc, OSError | ValueError):
            message = str(exc)
            fix = "save the file again in SPSS, or export as CSV"
            if "encoding" in message.lower():
                fix = "pass the file's encoding, e.g. encoding='cp1252'"
            raise fail(f"cannot be read as SPSS: {message}", path=path, fix=fix) from None
        raise
    return df, meta, notes


def _columns_meta(columns: list[str], meta: Any) -> pd.DataFrame:
    """Column metadata from pyreadstat's: variable labels, value labels in coded order,
    user-missing codes and ranges, measure, SPSS format and multiple-response set."""
    cmeta = new_meta(columns)
    labels = meta.column_names_to_labels
    value_labels = meta.variable_value_labels
    ranges = meta.missing_ranges or {}
    mr_of = {
        var: name
        for name, spec in (getattr(meta, "mr_sets", None) or {}).items()
        for var in spec.get("variable_list", [])
    }
    cmeta["label"] = [labels.get(c) for c in columns]
    choices: list[Any] = []
    missing_values: list[Any] = []
    missing_ranges: list[Any] = []
    for c in columns:
        vl = value_labels.get(c)
        choices.append(_ordered_labels(vl))
        discrete, spans = _user_missing(ranges.get(c, []), vl)
        missing_values.append(discrete or None)
        missing_ranges.append(spans or None)
    cmeta["choices"] = pd.Series(choices, dtype=object)
    cmeta["missing_values"] = pd.Series(missing_values, dtype=object)
    cmeta["missing_ranges"] = pd.Series(missing_ranges, dtype=object)
    cmeta["measure"] = [meta.variable_measure.get(c) for c in columns]
    cmeta["spss_format"] = [meta.original_variable_types.get(c) for c in columns]
    cmeta["sub_item"] = [mr_of.get(c) for c in columns]
    return cmeta


def _ordered_labels(vl: dict[Any, Any] | None) -> list[tuple[str, str]] | None:
    """Value labels as ``(code, label)`` pairs in coded order (``None`` without labels)."""
    if not vl:
        return None
    return [(_code_text(k), str(v)) for k, v in sorted(vl.items(), key=lambda kv: _code_key(kv[0]))]


def _user_missing(
    specs: list[dict[str, Any]], vl: dict[Any, Any] | None
) -> tuple[list[tuple[str, str | None]], list[tuple[str, str]]]:
    """A variable's discrete user-missing codes (with their labels) and its ranges."""
    discrete: list[tuple[str, str | None]] = []
    spans: list[tuple[str, str]] = []
    for spec in specs:
        lo, hi = spec["lo"], spec["hi"]
        if lo == hi:
            discrete.append((_code_text(lo), None if not vl else vl.get(lo)))
        else:
            spans.append((_code_text(lo), _code_text(hi)))
    return discrete, spans
