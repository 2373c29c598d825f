"""Mentoring process data: meeting logs in, dose measures per mentee out.

Stage: *annual* (process data that explains outcomes). A meeting log records who met
whom, when, how and for how long. :func:`read_meeting_log` reads one from CSV, Excel or a
REDCap repeating-instrument export, validates every row and pseudonymises the ids;
:func:`dose_measures` turns it into one row per mentee for the dose and mentor-type
analyses.

Nothing is dropped silently: every row that fails a check goes to the quarantine table
(one line per problem, with the 1-based source row as a spreadsheet shows it), and
``rows_in == len(meetings) + quarantined rows`` always holds.
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import os
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from mentoreval.errors import ConfigError, DataError, Problem, ReadError, raise_problems

__all__ = [
    "MEETING_COLUMNS",
    "MENTOR_TYPES",
    "MODES",
    "MeetingLog",
    "dose_measures",
    "read_meeting_log",
]

#: Valid mentor types, in the order used to break ties.
MENTOR_TYPES: tuple[str, ...] = ("peer", "near-peer", "faculty", "research", "specialty", "sponsor")
#: Default valid meeting modes (pass ``modes=`` to :func:`read_meeting_log` to change).
MODES: tuple[str, ...] = ("in-person", "video", "phone", "email", "message", "group")
#: The canonical meeting-log fields, each mapped to a source column by ``columns=``.
MEETING_COLUMNS: tuple[str, ...] = (
    "date",
    "mentee_id",
    "mentor_id",
    "mentor_type",
    "mode",
    "minutes",
)

_QUARANTINE_COLUMNS = ["source", "source_row", "stage", "rule", "reason", "column", "value"]
_STAGE = "process"
_REDCAP_INSTRUMENT = "redcap_repeat_instrument"
_REDCAP_INSTANCE = "redcap_repeat_instance"
_SHAPE = "__mentoreval_shape__"

Format = Literal["auto", "csv", "xlsx", "redcap"]
_FORMATS = ("auto", "csv", "xlsx", "redcap")


@dataclass(frozen=True)
class MeetingLog:
    """A validated, pseudonymised meeting log and what was quarantined from it.

    Attributes
    ----------
    meetings
        One row per valid meeting: ``date`` (datetime64), ``mentee_id`` and
        ``mentor_id`` (pseudonyms), ``mentor_type``, ``mode``, ``minutes`` (float),
        ``source`` (file name), ``source_row`` (1-based row as a spreadsheet shows it).
    quarantine
        One row per problem: ``source``, ``source_row``, ``stage`` (``"process"``),
        ``rule``, ``reason``, ``column``, ``value``. Sensitive: keep it with the raw data.
    source
        The file name.
    sha256
        The sha256 of the file's bytes.
    rows_in
        Meeting rows read (for REDCap: rows of the meeting instrument).
    rows_ignored
        REDCap rows that belong to other instruments (not meetings), counted, not read.
    """

    meetings: pd.DataFrame
    quarantine: pd.DataFrame
    source: str
    sha256: str
    rows_in: int
    rows_ignored: int = 0

    @property
    def rows_quarantined(self) -> int:
        """Distinct source rows with at least one problem."""
        return int(self.quarantine["source_row"].nunique())

    def to_frame(self) -> pd.DataFrame:
        """The valid meetings (a copy)."""
        return self.meetings.copy()

    def _repr_html_(self) -> str:
        rules = self.quarantine["rule"].value_counts().to_dict() if len(self.quarantine) else {}
        rule_text = ", ".join(f"{k}: {v}" for k, v in sorted(rules.items())) or "none"
        return (
            f"<p><b>Meeting log</b> {html.escape(self.source)}: {self.rows_in} rows read, "
            f"{len(self.meetings)} meetings kept, {self.rows_quarantined} rows quarantined "
            f"({html.escape(rule_text)}).</p>"
        )

    def __repr__(self) -> str:
        return (
            f"MeetingLog(source={self.source!r}, rows_in={self.rows_in}, "
            f"meetings={len(self.meetings)}, rows_quarantined={self.rows_quarantined})"
        )


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
    data, sha, source_rows, ignored = _read_source(
        path, format=format, sheet=sheet, instrument=instrument
    )
    mapping = _resolve_columns(path, data, columns, redcap=ignored is not None)
    frame = pd.DataFrame({field: data[mapping[field]] for field in MEETING_COLUMNS})
    frame.index = pd.RangeIndex(len(frame))
    if value_labels:
        for field, labels in value_labels.items():
            if field in frame.columns:
                text = frame[field].fillna("").astype(str).str.strip()
                frame[field] = text.map(lambda v, lab=labels: lab.get(v, v))

    shape = (
        data[_SHAPE].to_numpy() if _SHAPE in data.columns else np.full(len(frame), "", dtype=object)
    )
    clean, problems = _validate(
        frame,
        date_format=date_format,
        modes=None if modes is None else {_normalise_label(m) for m in modes},
        max_minutes=max_minutes,
    )
    ragged = np.flatnonzero(shape != "")
    if len(ragged):
        problems = pd.concat(
            [
                problems,
                pd.DataFrame(
                    {
                        "index": ragged,
                        "rule": "wrong_field_count",
                        "reason": shape[ragged],
                        "column": "",
                        "value": "",
                    }
                ),
            ],
            ignore_index=True,
        )
    good = clean.drop(index=pd.Index(problems["index"].unique()))

    # Double entries: identical in every field to an earlier valid row.
    dup = good.duplicated(subset=list(MEETING_COLUMNS), keep="first")
    if dup.any():
        dups = good.index[dup]
        problems = pd.concat(
            [
                problems,
                pd.DataFrame(
                    {
                        "index": dups,
                        "rule": "duplicate",
                        "reason": "identical to an earlier row in every field",
                        "column": "",
                        "value": "",
                    }
                ),
            ],
            ignore_index=True,
        )
        good = good.drop(index=dups)

    meetings = good.copy()
    for field in ("mentee_id", "mentor_id"):
        meetings[field] = _apply_pseudonymise(pseudonymise, meetings[field], path, field)
    meetings["source"] = path.name
    meetings["source_row"] = source_rows[meetings.index.to_numpy()]
    meetings = meetings.sort_values(
        ["mentee_id", "date", "source_row"], kind="stable", ignore_index=True
    )

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
    quarantine = quarantine.sort_values(["source_row", "column"], kind="stable", ignore_index=True)

    log = MeetingLog(meetings, quarantine, path.name, sha, len(frame), ignored or 0)
    if len(log.meetings) + log.rows_quarantined != log.rows_in:  # pragma: no cover - a bug
        raise RuntimeError(f"{path}: meeting rows do not reconcile")
    return log


def dose_measures(
    log: pd.DataFrame | MeetingLog,
    *,
    target_cadence_days: int = 14,
    period: tuple[str | pd.Timestamp, str | pd.Timestamp] | None = None,
    mentees: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Mentoring dose per mentee: meetings, minutes, regularity and the mentoring team.

    Parameters
    ----------
    log
        A :class:`MeetingLog` or its ``meetings`` table (``date``, ``mentee_id``,
        ``mentor_id``, ``mentor_type``, ``minutes``).
    target_cadence_days
        The programme's target interval between meetings (14 = every two weeks).
    period
        ``(start, end)`` dates, both inclusive; meetings outside are ignored. Default:
        from the first to the last meeting in the log.
    mentees
        Pseudonymised ids of every enrolled mentee, so those who never met anyone get a
        row with zero dose (otherwise they would be missing, not zero).

    Returns
    -------
    pandas.DataFrame
        One row per mentee, sorted by ``mentee_id``:

        ``mentee_id``; ``n_meetings``; ``total_minutes``; ``windows_met`` and
        ``n_windows`` — the period is cut into consecutive windows of
        ``target_cadence_days`` from its start (the last may be shorter), and
        ``regularity = windows_met / n_windows`` is the share with at least one meeting;
        ``mean_gap_days`` and ``max_gap_days`` between consecutive distinct meeting dates
        (NaN with fewer than two); ``n_mentors``; ``mentor_types`` (sorted, joined with
        ``", "``); ``team`` (more than one mentor); ``primary_mentor_type`` (most meetings,
        then most minutes, then the order of :data:`MENTOR_TYPES`).

    Raises
    ------
    ConfigError
        The cadence is not a positive integer or the period is reversed or not a date.
    DataError
        The log lacks a required column.

    Examples
    --------
    >>> log = pd.DataFrame({
    ...     "date": pd.to_datetime(["2025-01-01", "2025-01-10", "2025-01-30", "2025-01-03"]),
    ...     "mentee_id": ["a", "a", "a", "b"],
    ...     "mentor_id": ["m1", "m1", "m2", "m1"],
    ...     "mentor_type": ["faculty", "faculty", "peer", "faculty"],
    ...     "minutes": [30.0, 30.0, 60.0, 45.0],
    ... })
    >>> dose = dose_measures(log, period=("2025-01-01", "2025-02-11"), mentees=["a", "b", "c"])
    >>> dose[["mentee_id", "n_meetings", "total_minutes", "windows_met", "n_windows",
    ...       "mean_gap_days"]]
      mentee_id  n_meetings  total_minutes  windows_met  n_windows  mean_gap_days
    0         a           3          120.0            2          3           14.5
    1         b           1           45.0            1          3            NaN
    2         c           0            0.0            0          3            NaN
    >>> dose[["mentee_id", "n_mentors", "mentor_types", "team", "primary_mentor_type"]]
      mentee_id  n_mentors   mentor_types   team primary_mentor_type
    0         a          2  faculty, peer   True             faculty
    1         b          1        faculty  False             faculty
    2         c          0                 False                 NaN
    """
    meetings = log.meetings if isinstance(log, MeetingLog) else log
    required = ["date", "mentee_id", "mentor_id", "mentor_type", "minutes"]
    missing = [c for c in required if c not in meetings.columns]
    if missing:
        raise DataError(
            f"meeting log lacks column(s) {missing}",
            (Problem(f"missing {missing}", fix="pass read_meeting_log(...).meetings"),),
        )
    if (
        isinstance(target_cadence_days, bool)
        or not isinstance(target_cadence_days, int)
        or (target_cadence_days < 1)
    ):
        raise ConfigError(
            f"target_cadence_days must be a positive whole number of days, "
            f"got {target_cadence_days!r}",
            (
                Problem(
                    f"invalid {target_cadence_days!r}",
                    key="target_cadence_days",
                    fix="e.g. 14 for meetings every two weeks",
                ),
            ),
        )
    m = meetings[required].copy()
    m["date"] = pd.to_datetime(m["date"]).dt.normalize()
    start, end = _resolve_period(period, m["date"])
    m = m[(m["date"] >= start) & (m["date"] <= end)]

    n_days = (end - start).days + 1
    n_windows = -(-n_days // target_cadence_days)  # ceiling division

    g = m.groupby("mentee_id", sort=True)
    dose = g.agg(
        n_meetings=("date", "size"),
        total_minutes=("minutes", "sum"),
        n_mentors=("mentor_id", "nunique"),
    )
    m["window"] = (m["date"] - start).dt.days // target_cadence_days
    dose["windows_met"] = m.groupby("mentee_id")["window"].nunique()

    days = m[["mentee_id", "date"]].drop_duplicates().sort_values(["mentee_id", "date"])
    days["gap"] = days.groupby("mentee_id")["date"].diff().dt.days
    gaps = days.groupby("mentee_id")["gap"]
    dose["mean_gap_days"] = gaps.mean()
    dose["max_gap_days"] = gaps.max()

    types = (
        m[["mentee_id", "mentor_type"]].drop_duplicates().sort_values(["mentee_id", "mentor_type"])
    )
    dose["mentor_types"] = types.groupby("mentee_id")["mentor_type"].agg(", ".join)

    by_type = m.groupby(["mentee_id", "mentor_type"], as_index=False).agg(
        n=("date", "size"), minutes=("minutes", "sum")
    )
    rank = {t: i for i, t in enumerate(MENTOR_TYPES)}
    by_type["rank"] = by_type["mentor_type"].map(rank).fillna(len(rank))
    primary = by_type.sort_values(
        ["mentee_id", "n", "minutes", "rank"], ascending=[True, False, False, True], kind="stable"
    ).drop_duplicates("mentee_id")
    dose["primary_mentor_type"] = primary.set_index("mentee_id")["mentor_type"]

    if mentees is not None:
        everyone = pd.Index(sorted(set(dose.index) | {str(x) for x in mentees}), name="mentee_id")
        dose = dose.reindex(everyone)
    dose = dose.fillna(
        {
            "n_meetings": 0,
            "total_minutes": 0.0,
            "n_mentors": 0,
            "windows_met": 0,
            "mentor_types": "",
        }
    )
    dose["n_windows"] = n_windows
    dose["regularity"] = dose["windows_met"] / n_windows
    dose["team"] = dose["n_mentors"] > 1
    for col in ("n_meetings", "n_mentors", "windows_met", "n_windows"):
        dose[col] = dose[col].astype("int64")
    dose["total_minutes"] = dose["total_minutes"].astype("float64")
    dose["primary_mentor_type"] = dose["primary_mentor_type"].astype(object)
    order = [
        "n_meetings",
        "total_minutes",
        "windows_met",
        "n_windows",
        "regularity",
        "mean_gap_days",
        "max_gap_days",
        "n_mentors",
        "mentor_types",
        "team",
        "primary_mentor_type",
    ]
    return dose[order].reset_index()


# --- internals -------------------------------------------------------------------------


def _check_options(
    format: str,
    columns: Mapping[str, str] | None,
    modes: Collection[str] | None,
    max_minutes: float,
) -> None:
    problems = []
    if format not in _FORMATS:
        problems.append(
            Problem(
                f"unknown format {format!r}", key="format", fix=f"use one of: {', '.join(_FORMATS)}"
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


def _read_source(
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
    try:
        if is_xlsx:
            data = pd.read_excel(
                path,
                sheet_name=sheet,
                dtype=str,
                keep_default_na=False,
                na_values=[""],
                engine="openpyxl",
            )
        else:
            data = _read_csv_text(raw)
    except (ValueError, KeyError, OSError, csv.Error) as exc:
        raise ReadError(
            f"{path}: cannot read meeting log: {exc}",
            (
                Problem(
                    str(exc), file=str(path), fix="export the log again as CSV (UTF-8) or .xlsx"
                ),
            ),
        ) from None
    data.columns = [str(c).strip() for c in data.columns]
    rows = np.arange(len(data), dtype="int64") + 2  # header is row 1

    redcap = format == "redcap" or (format == "auto" and _REDCAP_INSTRUMENT in data.columns)
    if not redcap:
        return data, sha, rows, None
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
    keep = (data[_REDCAP_INSTRUMENT] == instrument).to_numpy()
    return data[keep], sha, rows[keep], int((~keep).sum())


def _read_csv_text(raw: bytes) -> pd.DataFrame:
    """Every cell as text, one row per record, ragged records marked in ``_SHAPE``.

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
    data[_SHAPE] = shape
    return data


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


def _validate(
    frame: pd.DataFrame, *, date_format: str | None, modes: set[str] | None, max_minutes: float
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cleaned columns, and one row per problem (index, rule, reason, column, value)."""
    text = frame.apply(lambda s: s.fillna("").astype(str).str.strip())
    found: list[pd.DataFrame] = []

    def flag(mask: pd.Series, field: str, rule: str, reason: str) -> None:
        if mask.any():
            found.append(
                pd.DataFrame(
                    {
                        "index": frame.index[mask.to_numpy()],
                        "rule": rule,
                        "reason": reason,
                        "column": field,
                        "value": text.loc[mask, field].to_numpy(),
                    }
                )
            )

    blank = (text == "").all(axis=1)
    if blank.any():
        found.append(
            pd.DataFrame(
                {
                    "index": frame.index[blank.to_numpy()],
                    "rule": "blank_row",
                    "reason": "row is empty",
                    "column": "",
                    "value": "",
                }
            )
        )
    present = ~blank
    for field in MEETING_COLUMNS:
        flag(present & (text[field] == ""), field, "missing", f"{field} is empty")

    clean = pd.DataFrame(index=frame.index)
    if date_format is None:
        dates = pd.to_datetime(text["date"], format="ISO8601", errors="coerce")
    else:
        dates = pd.to_datetime(text["date"], format=date_format, errors="coerce")
    flag(
        present & (text["date"] != "") & dates.isna(),
        "date",
        "invalid_date",
        f"not a date ({'YYYY-MM-DD' if date_format is None else date_format})",
    )
    clean["date"] = dates.dt.normalize().astype("datetime64[ns]")
    clean["mentee_id"] = text["mentee_id"]
    clean["mentor_id"] = text["mentor_id"]

    mentor_type = text["mentor_type"].map(_normalise_label)
    flag(
        present & (text["mentor_type"] != "") & ~mentor_type.isin(MENTOR_TYPES),
        "mentor_type",
        "invalid_mentor_type",
        f"not one of: {', '.join(MENTOR_TYPES)}",
    )
    clean["mentor_type"] = mentor_type

    mode = text["mode"].map(_normalise_label)
    if modes is not None:
        flag(
            present & (text["mode"] != "") & ~mode.isin(modes),
            "mode",
            "invalid_mode",
            f"not one of: {', '.join(sorted(modes))}",
        )
    clean["mode"] = mode

    minutes = pd.to_numeric(text["minutes"], errors="coerce")
    bad_minutes = (text["minutes"] != "") & ~((minutes > 0) & (minutes <= max_minutes))
    flag(
        present & bad_minutes,
        "minutes",
        "invalid_minutes",
        f"not a number of minutes above 0 and at most {max_minutes:g}",
    )
    clean["minutes"] = minutes.astype("float64")

    problems = (
        pd.concat(found, ignore_index=True)
        if found
        else pd.DataFrame(columns=["index", "rule", "reason", "column", "value"])
    )
    return clean, problems


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


def _resolve_period(
    period: tuple[str | pd.Timestamp, str | pd.Timestamp] | None, dates: pd.Series
) -> tuple[pd.Timestamp, pd.Timestamp]:
    if period is None:
        if dates.empty:
            raise ConfigError(
                "the meeting log is empty, so the period cannot be inferred",
                (Problem("no meetings", key="period", fix="pass period=(start, end)"),),
            )
        return pd.Timestamp(dates.min()), pd.Timestamp(dates.max())
    try:
        start, end = (pd.Timestamp(p).normalize() for p in period)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"period must be two dates, got {period!r}",
            (Problem(str(exc), key="period", fix="e.g. period=('2025-09-01', '2026-06-30')"),),
        ) from None
    if pd.isna(start) or pd.isna(end) or end < start:
        raise ConfigError(
            f"period end is before its start: {period!r}",
            (Problem("reversed period", key="period", fix="pass (start, end)"),),
        )
    return start, end
