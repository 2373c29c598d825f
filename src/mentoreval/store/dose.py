"""Dose measures per mentee from a meeting log: how much, how regularly, and with whom.

Stage: *annual* (process data that explains outcomes). :func:`dose_measures` turns the
meetings of a :class:`~mentoreval.store.meeting_log.MeetingLog` into one row per mentee for
the dose and mentor-type analyses; mentees who never met anyone get a zero dose.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from mentoreval.errors import ConfigError, DataError, Problem
from mentoreval.store.meeting_log import MENTOR_TYPES, MeetingLog

__all__ = ["dose_measures"]

_REQUIRED = ["date", "mentee_id", "mentor_id", "mentor_type", "minutes"]
_ORDER = [
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
    _check_dose_args(meetings, target_cadence_days)
    m = meetings[_REQUIRED].copy()
    m["date"] = pd.to_datetime(m["date"]).dt.normalize()
    start, end = _resolve_period(period, m["date"])
    m = m[(m["date"] >= start) & (m["date"] <= end)]

    n_days = (end - start).days + 1
    n_windows = -(-n_days // target_cadence_days)  # ceiling division

    dose = _meeting_counts(m, start, target_cadence_days)
    dose["mentor_types"], dose["primary_mentor_type"] = _mentor_team(m)
    return _complete(dose, mentees, n_windows)


# --- internals -------------------------------------------------------------------------


def _check_dose_args(meetings: pd.DataFrame, target_cadence_days: int) -> None:
    missing = [c for c in _REQUIRED if c not in meetings.columns]
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


def _meeting_counts(m: pd.DataFrame, start: pd.Timestamp, cadence: int) -> pd.DataFrame:
    """Per mentee: meetings, minutes, mentors, windows with a meeting, gaps between days."""
    g = m.groupby("mentee_id", sort=True)
    dose = g.agg(
        n_meetings=("date", "size"),
        total_minutes=("minutes", "sum"),
        n_mentors=("mentor_id", "nunique"),
    )
    m["window"] = (m["date"] - start).dt.days // cadence
    dose["windows_met"] = m.groupby("mentee_id")["window"].nunique()

    days = m[["mentee_id", "date"]].drop_duplicates().sort_values(["mentee_id", "date"])
    days["gap"] = days.groupby("mentee_id")["date"].diff().dt.days
    gaps = days.groupby("mentee_id")["gap"]
    dose["mean_gap_days"] = gaps.mean()
    dose["max_gap_days"] = gaps.max()
    return dose


def _mentor_team(m: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Per mentee: the mentor types met (sorted, joined) and the primary mentor type."""
    types = (
        m[["mentee_id", "mentor_type"]].drop_duplicates().sort_values(["mentee_id", "mentor_type"])
    )
    mentor_types = types.groupby("mentee_id")["mentor_type"].agg(", ".join)

    by_type = m.groupby(["mentee_id", "mentor_type"], as_index=False).agg(
        n=("date", "size"), minutes=("minutes", "sum")
    )
    rank = {t: i for i, t in enumerate(MENTOR_TYPES)}
    by_type["rank"] = by_type["mentor_type"].map(rank).fillna(len(rank))
    primary = by_type.sort_values(
        ["mentee_id", "n", "minutes", "rank"], ascending=[True, False, False, True], kind="stable"
    ).drop_duplicates("mentee_id")
    return mentor_types, primary.set_index("mentee_id")["mentor_type"]


def _complete(dose: pd.DataFrame, mentees: Iterable[str] | None, n_windows: int) -> pd.DataFrame:
    """Add enrolled mentees without meetings (zero dose), the ratios, and the final types."""
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
    return dose[_ORDER].reset_index()
