"""Mentoring process data: meeting logs in, dose measures per mentee out.

Stage: *annual* (process data that explains outcomes). A meeting log records who met
whom, when, how and for how long. :func:`read_meeting_log` reads one from CSV, Excel or a
REDCap repeating-instrument export, validates every row and pseudonymises the ids;
:func:`dose_measures` turns it into one row per mentee for the dose and mentor-type
analyses.

Nothing is dropped silently: every row that fails a check goes to the quarantine table
(one line per problem, with the 1-based source row as a spreadsheet shows it), and
``rows_in == len(meetings) + quarantined rows`` always holds.

This module validates the rows; the parts live by idea in
:mod:`~mentoreval.store.meeting_log` (:class:`MeetingLog` and the vocabulary),
:mod:`~mentoreval.store.meeting_files` (reading the files as text) and
:mod:`~mentoreval.store.dose` (:func:`dose_measures`), and are re-exported here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from mentoreval.errors import ConfigError, DataError, Problem, ReadError, raise_problems
from mentoreval.store.dose import dose_measures
from mentoreval.store.meeting_files import FORMATS, SHAPE_COLUMN, Format, read_log_source
from mentoreval.store.meeting_log import MEETING_COLUMNS, MENTOR_TYPES, MODES, MeetingLog

__all__ = [
    "MEETING_COLUMNS",
    "MENTOR_TYPES",
    "MODES",
    "MeetingLog",
    "dose_measures",
    "read_meeting_log",
]

_QUARANTINE_COLUMNS = ["source", "source_row", "stage", "rule", "reason", "column", "value"]
_PROBLEM_COLUMNS = ["index", "rule", "reason", "column", "value"]
_STAGE = "process"


def read_meeting_log(
    path: str | os.PathLike[str],
    *,
    pseudonymise: Callable[[pd.Series], pd.Series],
    columns: Mapping[str, str] | None = None,
    format: Format = "auto",
    sheet: str | int = 0,
    instrument: str | None = None,
    value_labels: Mapping[str, Mapping[str, str]] | None = None,
    date_format: str | None = None,
    modes: Collection[str] | None = MODES,
    max_minutes: float = 480.0,
) -> MeetingLog:
    """Read, validate and pseudonymise a meeting log.

    Parameters
    ----------
    path
        A ``.csv`` file, an ``.xlsx`` workbook, or a REDCap CSV export with a repeating
        meeting instrument (``redcap_repeat_instrument``/``redcap_repeat_instance``).
    pseudonymise
        Maps a Series of raw ids to a Series of pseudonyms of the same length (normally
        the study's keyed HMAC from :mod:`mentoreval.ingest.protect`). Applied to ``mentee_id``
        and ``mentor_id``; raw ids never leave this function.
    columns
        Canonical field → source column, for any field whose source column is named
        differently (fields: ``date``, ``mentee_id``, ``mentor_id``, ``mentor_type``,
        ``mode``, ``minutes``). For REDCap, ``mentee_id`` defaults to the record id (the
        first column) when no ``mentee_id`` column exists.
    format
        ``"auto"`` (by extension; a CSV with ``redcap_repeat_instrument`` is REDCap),
        ``"csv"``, ``"xlsx"`` or ``"redcap"``.
    sheet
        Worksheet name or index for ``.xlsx``.
    instrument
        For REDCap: the repeating instrument holding meetings; may be omitted when the
        export has exactly one.
    value_labels
        Field → {code: label}, applied before validation, e.g. REDCap raw codes
        ``{"mentor_type": {"1": "peer", "2": "near-peer"}}``.
    date_format
        A ``strptime`` format (e.g. ``"%d/%m/%Y"``); by default dates must be ISO 8601
        (``2025-01-31``, Excel date cells are fine).
    modes
        The valid meeting modes; ``None`` accepts any non-empty mode.
    max_minutes
        Longest plausible meeting; longer ones are quarantined.

    Returns
    -------
    MeetingLog
        ``meetings`` (valid rows), ``quarantine`` (one line per problem), provenance.

    Raises
    ------
    ReadError
        The file cannot be read, or source columns are missing (all listed).
    ConfigError
        An option is invalid (e.g. an unknown ``format``).

    Notes
    -----
    Text values are trimmed and lower-cased; in mentor types and modes spaces and
    underscores become hyphens (``"Near peer"`` → ``"near-peer"``). A row identical to an
    earlier one in all six fields is quarantined as ``duplicate`` (double entry).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> text = ("date,mentee_id,mentor_id,mentor_type,mode,minutes\\n"
    ...         "2025-01-08,S1,F1,Faculty,in person,30\\n"
    ...         "2025-01-22,S1,P7,peer,video,45\\n"
    ...         "2025-13-01,S2,F1,faculty,video,30\\n"
    ...         "2025-01-09,S2,F1,coach,video,-5\\n")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = pathlib.Path(tmp, "log.csv")
    ...     _ = path.write_text(text)
    ...     log = read_meeting_log(path, pseudonymise=lambda s: "pid-" + s.str.lower())
    >>> log
    MeetingLog(source='log.csv', rows_in=4, meetings=2, rows_quarantined=2)
    >>> log.meetings[["date", "mentee_id", "mentor_type", "mode", "minutes"]]
            date mentee_id mentor_type       mode  minutes
    0 2025-01-08    pid-s1     faculty  in-person     30.0
    1 2025-01-22    pid-s1        peer      video     45.0
    >>> log.quarantine[["source_row", "column", "value", "rule"]]
       source_row       column       value                 rule
    0           4         date  2025-13-01         invalid_date
    1           5  mentor_type       coach  invalid_mentor_type
    2           5      minutes          -5      invalid_minutes
    """
    path = Path(path)
    _check_options(format, columns, modes, max_minutes)
    data, sha, source_rows, ignored = read_log_source(
        path, format=format, sheet=sheet, instrument=instrument
    )
    mapping = _resolve_columns(path, data, columns, redcap=ignored is not None)
    frame = pd.DataFrame({field: data[mapping[field]] for field in MEETING_COLUMNS})
    frame.index = pd.RangeIndex(len(frame))
    if value_labels:
        _apply_value_labels(frame, value_labels)

    shape = (
        data[SHAPE_COLUMN].to_numpy()
        if SHAPE_COLUMN in data.columns
        else np.full(len(frame), "", dtype=object)
    )
    clean, problems = _validate(
        frame,
        date_format=date_format,
        modes=None if modes is None else {_normalise_label(m) for m in modes},
        max_minutes=max_minutes,
    )
    ragged = np.flatnonzero(shape != "")
    if len(ragged):
        problems = _with_row_problems(problems, ragged, "wrong_field_count", shape[ragged])
    good = clean.drop(index=pd.Index(problems["index"].unique()))
    good, problems = _drop_double_entries(good, problems)

    meetings = _pseudonymised(good, pseudonymise, path, source_rows)
    quarantine = _quarantine(problems, path, source_rows, mapping)
    log = MeetingLog(meetings, quarantine, path.name, sha, len(frame), ignored or 0)
    if len(log.meetings) + log.rows_quarantined != log.rows_in:  # pragma: no cover - a bug
        raise RuntimeError(f"{path}: meeting rows do not reconcile")
    return log


# --- internals -------------------------------------------------------------------------


def _check_options(
    format: str,
    columns: Mapping[str, str] | None,
    modes: Collection[str] | None,
    max_minutes: float,
) -> None:
    problems = []
    if format not in FORMATS:
        problems.append(
            Problem(
                f"unknown format {format!r}", key="format", fix=f"use one of: {', '.join(FORMATS)}"
            )
        )
    for field in columns or {}:
        if field not in MEETING_COLUMNS:
            problems.append(
                Problem(
                    f"unknown field {field!r}",
                    key="columns",
                    fix=f"map only these fields: {', '.join(MEETING_COLUMNS)}",
                )
            )
    if modes is not None and not modes:
        problems.append(
            Problem(
                "no valid modes given",
                key="modes",
                fix="list the modes, or pass modes=None to accept any",
            )
        )
    if not max_minutes > 0:
        problems.append(
            Problem(f"max_minutes must be positive, got {max_minutes!r}", key="max_minutes")
        )
    raise_problems(problems, error=ConfigError, what="in read_meeting_log options")


def _resolve_columns(
    path: Path, data: pd.DataFrame, columns: Mapping[str, str] | None, *, redcap: bool
) -> dict[str, str]:
    mapping = {field: field for field in MEETING_COLUMNS}
    if redcap and "mentee_id" not in data.columns and len(data.columns):
        mapping["mentee_id"] = data.columns[0]  # the REDCap record id
    mapping.update(columns or {})
    problems = [
        Problem(
            f"no column {source!r} for {field}",
            file=str(path),
            column=source,
            fix=f"map it with columns={{'{field}': '<column name>'}}; "
            f"columns present: {', '.join(map(str, data.columns))}",
        )
        for field, source in mapping.items()
        if source not in data.columns
    ]
    raise_problems(problems, error=ReadError, what=f"in meeting log {path.name}")
    return mapping


def _normalise_label(value: str) -> str:
    return "-".join(str(value).strip().casefold().replace("_", " ").split())


def _apply_value_labels(frame: pd.DataFrame, value_labels: Mapping[str, Mapping[str, str]]) -> None:
    """Replace codes by their labels (in place), e.g. REDCap's ``"1"`` → ``"peer"``."""
    for field, labels in value_labels.items():
        if field in frame.columns:
            text = frame[field].fillna("").astype(str).str.strip()
            frame[field] = text.map(lambda v, lab=labels: lab.get(v, v))


def _validate(
    frame: pd.DataFrame, *, date_format: str | None, modes: set[str] | None, max_minutes: float
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cleaned columns, and one row per problem (index, rule, reason, column, value)."""
    text = frame.apply(lambda s: s.fillna("").astype(str).str.strip())
    found = _Found(text)
    blank = (text == "").all(axis=1)
    if blank.any():
        found.add(_row_problems(frame.index[blank.to_numpy()], "blank_row", "row is empty"))
    present = ~blank
    for field in MEETING_COLUMNS:
        found.flag(present & (text[field] == ""), field, "missing", f"{field} is empty")

    clean = pd.DataFrame(index=frame.index)
    clean["date"] = _check_dates(found, present, date_format)
    clean["mentee_id"] = text["mentee_id"]
    clean["mentor_id"] = text["mentor_id"]
    clean["mentor_type"] = _check_mentor_types(found, present)
    clean["mode"] = _check_modes(found, present, modes)
    clean["minutes"] = _check_minutes(found, present, max_minutes)
    return clean, found.table()


class _Found:
    """The problems found in a log's trimmed text, one frame per check, in check order."""

    def __init__(self, text: pd.DataFrame) -> None:
        self.text = text
        self.frames: list[pd.DataFrame] = []

    def add(self, problems: pd.DataFrame) -> None:
        self.frames.append(problems)

    def flag(self, mask: pd.Series, field: str, rule: str, reason: str) -> None:
        """One problem for every row where ``mask`` holds, with the field's value."""
        if mask.any():
            self.add(
                pd.DataFrame(
                    {
                        "index": self.text.index[mask.to_numpy()],
                        "rule": rule,
                        "reason": reason,
                        "column": field,
                        "value": self.text.loc[mask, field].to_numpy(),
                    }
                )
            )

    def table(self) -> pd.DataFrame:
        if self.frames:
            return pd.concat(self.frames, ignore_index=True)
        return pd.DataFrame(columns=_PROBLEM_COLUMNS)


def _check_dates(found: _Found, present: pd.Series, date_format: str | None) -> pd.Series:
    """The dates (ISO 8601 unless ``date_format``); unparseable ones are flagged."""
    text = found.text["date"]
    if date_format is None:
        dates = pd.to_datetime(text, format="ISO8601", errors="coerce")
    else:
        dates = pd.to_datetime(text, format=date_format, errors="coerce")
    found.flag(
        present & (text != "") & dates.isna(),
        "date",
        "invalid_date",
        f"not a date ({'YYYY-MM-DD' if date_format is None else date_format})",
    )
    return dates.dt.normalize().astype("datetime64[ns]")


def _check_mentor_types(found: _Found, present: pd.Series) -> pd.Series:
    """The normalised mentor types; those not in :data:`MENTOR_TYPES` are flagged."""
    text = found.text["mentor_type"]
    mentor_type = text.map(_normalise_label)
    found.flag(
        present & (text != "") & ~mentor_type.isin(MENTOR_TYPES),
        "mentor_type",
        "invalid_mentor_type",
        f"not one of: {', '.join(MENTOR_TYPES)}",
    )
    return mentor_type


def _check_modes(found: _Found, present: pd.Series, modes: set[str] | None) -> pd.Series:
    """The normalised modes; those not in ``modes`` are flagged (any, when None)."""
    text = found.text["mode"]
    mode = text.map(_normalise_label)
    if modes is not None:
        found.flag(
            present & (text != "") & ~mode.isin(modes),
            "mode",
            "invalid_mode",
            f"not one of: {', '.join(sorted(modes))}",
        )
    return mode


def _check_minutes(found: _Found, present: pd.Series, max_minutes: float) -> pd.Series:
    """The minutes as floats; non-numbers and values outside (0, max_minutes] are flagged."""
    text = found.text["minutes"]
    minutes = pd.to_numeric(text, errors="coerce")
    bad_minutes = (text != "") & ~((minutes > 0) & (minutes <= max_minutes))
    found.flag(
        present & bad_minutes,
        "minutes",
        "invalid_minutes",
        f"not a number of minutes above 0 and at most {max_minutes:g}",
    )
    return minutes.astype("float64")


def _row_problems(index: pd.Index | np.ndarray, rule: str, reason: object) -> pd.DataFrame:
    """Problems with whole rows (no column, no value)."""
    return pd.DataFrame({"index": index, "rule": rule, "reason": reason, "column": "", "value": ""})


def _with_row_problems(
    problems: pd.DataFrame, index: pd.Index | np.ndarray, rule: str, reason: object
) -> pd.DataFrame:
    return pd.concat([problems, _row_problems(index, rule, reason)], ignore_index=True)


def _drop_double_entries(
    good: pd.DataFrame, problems: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Double entries: identical in every field to an earlier valid row."""
    dup = good.duplicated(subset=list(MEETING_COLUMNS), keep="first")
    if dup.any():
        dups = good.index[dup]
        problems = _with_row_problems(
            problems, dups, "duplicate", "identical to an earlier row in every field"
        )
        good = good.drop(index=dups)
    return good, problems


def _apply_pseudonymise(
    pseudonymise: Callable[[pd.Series], pd.Series], ids: pd.Series, path: Path, field: str
) -> pd.Series:
    out = pseudonymise(ids)
    if not isinstance(out, pd.Series) or len(out) != len(ids):
        raise DataError(
            f"{path}: pseudonymise returned {type(out).__name__} of length "
            f"{len(out) if hasattr(out, '__len__') else '?'} for {len(ids)} {field} values",
            (
                Problem(
                    "pseudonymise must map a Series to a Series of the same length",
                    key="pseudonymise",
                ),
            ),
        )
    return pd.Series(out.to_numpy(), index=ids.index, dtype=object).astype(str)


def _pseudonymised(
    good: pd.DataFrame,
    pseudonymise: Callable[[pd.Series], pd.Series],
    path: Path,
    source_rows: np.ndarray,
) -> pd.DataFrame:
    """The valid meetings with pseudonymised ids and provenance, by mentee and date."""
    meetings = good.copy()
    for field in ("mentee_id", "mentor_id"):
        meetings[field] = _apply_pseudonymise(pseudonymise, meetings[field], path, field)
    meetings["source"] = path.name
    meetings["source_row"] = source_rows[meetings.index.to_numpy()]
    return meetings.sort_values(
        ["mentee_id", "date", "source_row"], kind="stable", ignore_index=True
    )


def _quarantine(
    problems: pd.DataFrame, path: Path, source_rows: np.ndarray, mapping: Mapping[str, str]
) -> pd.DataFrame:
    """The quarantine table: one line per problem, named by source row and source column."""
    quarantine = pd.DataFrame(
        {
            "source": path.name,
            "source_row": source_rows[problems["index"].to_numpy(dtype=int)],
            "stage": _STAGE,
            "rule": problems["rule"].to_numpy(),
            "reason": problems["reason"].to_numpy(),
            "column": problems["column"].map(lambda f: mapping.get(f, f)).to_numpy(),
            "value": problems["value"].to_numpy(),
        },
        columns=_QUARANTINE_COLUMNS,
    )
    quarantine["source_row"] = quarantine["source_row"].astype("int64")
    return quarantine.sort_values(["source_row", "column"], kind="stable", ignore_index=True)
