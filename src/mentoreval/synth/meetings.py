"""Meeting logs consistent with the dose model (stage: *test data*).

Each mentee has a primary mentor of one type. The programme plans one meeting every
``cadence`` days for that type (:data:`CADENCE_DAYS`) over the programme's length; a mentee
with engagement ``p`` (drawn from a Beta distribution with the programme's mean) attends
each planned meeting with probability ``p``. The number of meetings is therefore
beta-binomial, :func:`meetings_pmf` gives its exact distribution, and the cohort's dose
effect is defined on exactly these counts.

Some mentees have a mentoring *team*: a second mentor of another type who takes part of
the meetings. The log has one row per meeting: ``date`` (ISO), ``mentee_id``,
``mentor_id``, ``mentor_type``, ``mode`` and ``minutes`` — the columns
:func:`mentoreval.store.meetings.read_meeting_log` reads by default.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy.stats import betabinom

__all__ = [
    "CADENCE_DAYS",
    "ENGAGEMENT_CONCENTRATION",
    "MEETING_LOG_COLUMNS",
    "MentoringPlan",
    "draw_meetings",
    "meetings_pmf",
    "planned_meetings",
]

#: Planned days between meetings, by mentor type.
CADENCE_DAYS: dict[str, int] = {
    "peer": 14,
    "near-peer": 21,
    "faculty": 28,
    "research": 21,
    "specialty": 42,
    "sponsor": 56,
}
#: a + b of the Beta engagement distribution (smaller = more varied engagement).
ENGAGEMENT_CONCENTRATION = 6.0
MEETING_LOG_COLUMNS = ("date", "mentee_id", "mentor_id", "mentor_type", "mode", "minutes")

_TEAM_PARTNER = {
    "peer": "near-peer",
    "near-peer": "faculty",
    "faculty": "research",
    "research": "faculty",
    "specialty": "faculty",
    "sponsor": "faculty",
}
_MENTEES_PER_MENTOR = {
    "peer": 2,
    "near-peer": 3,
    "faculty": 4,
    "research": 3,
    "specialty": 5,
    "sponsor": 6,
}
_PREFIX = {
    "peer": "P",
    "near-peer": "N",
    "faculty": "F",
    "research": "R",
    "specialty": "S",
    "sponsor": "X",
}
_MODES = ("in-person", "video", "phone")
_MODE_P = {
    "peer": (0.6, 0.3, 0.1),
    "near-peer": (0.5, 0.4, 0.1),
    "faculty": (0.5, 0.35, 0.15),
    "research": (0.6, 0.35, 0.05),
    "specialty": (0.4, 0.4, 0.2),
    "sponsor": (0.3, 0.4, 0.3),
}
_MINUTES = {
    "peer": 45,
    "near-peer": 40,
    "faculty": 30,
    "research": 50,
    "specialty": 30,
    "sponsor": 25,
}


def planned_meetings(mentor_type: str, programme_days: int) -> int:
    """Meetings the programme plans for one mentee with a ``mentor_type`` primary mentor.

    Examples
    --------
    >>> planned_meetings("peer", 240), planned_meetings("faculty", 240)
    (17, 8)
    """
    return max(1, programme_days // CADENCE_DAYS[mentor_type])


def _beta_ab(engagement: float) -> tuple[float, float]:
    return engagement * ENGAGEMENT_CONCENTRATION, (1 - engagement) * ENGAGEMENT_CONCENTRATION


def meetings_pmf(mentor_type: str, *, programme_days: int, engagement: float) -> np.ndarray:
    """Exact distribution of a mentee's meeting count (index = number of meetings).

    Examples
    --------
    >>> pmf = meetings_pmf("faculty", programme_days=240, engagement=0.7)
    >>> len(pmf), round(float(pmf.sum()), 12), round(float(pmf @ np.arange(len(pmf))), 6)
    (9, 1.0, 5.6)
    """
    n = planned_meetings(mentor_type, programme_days)
    a, b = _beta_ab(engagement)
    return np.asarray(betabinom.pmf(np.arange(n + 1), n, a, b), dtype=float)


class MentoringPlan:
    """Per-mentee mentoring facts drawn for a cohort (primary type, team, meetings, log)."""

    def __init__(
        self,
        mentor_type: np.ndarray,
        team: np.ndarray,
        engagement: np.ndarray,
        meetings: np.ndarray,
        log: pd.DataFrame,
    ) -> None:
        self.mentor_type = mentor_type
        self.team = team
        self.engagement = engagement
        self.meetings = meetings
        self.log = log


def draw_meetings(
    mentee_ids: np.ndarray,
    rng: np.random.Generator,
    *,
    mentor_types: Mapping[str, float],
    programme_days: int,
    engagement: float,
    team_rate: float,
    start: dt.date,
) -> MentoringPlan:
    """Draw mentor types, teams, engagement and the meeting log for the mentees.

    Parameters
    ----------
    mentee_ids
        Ids of the mentored students.
    rng
        The random generator.
    mentor_types
        Mix of primary mentor types (weights, normalised here).
    programme_days
        Length of the programme; meetings fall between ``start`` and ``start + programme_days``.
    engagement
        Mean probability of attending a planned meeting.
    team_rate
        Fraction of mentees who also have a second mentor of another type.
    start
        First day of the programme.

    Returns
    -------
    MentoringPlan
        Arrays aligned with ``mentee_ids`` plus the meeting log, sorted by date and mentee.

    Examples
    --------
    >>> plan = draw_meetings(np.array(["1000001", "1000002"]), np.random.default_rng(3),
    ...     mentor_types={"peer": 1.0}, programme_days=120, engagement=0.8, team_rate=0.0,
    ...     start=dt.date(2024, 9, 15))
    >>> list(plan.log.columns)
    ['date', 'mentee_id', 'mentor_id', 'mentor_type', 'mode', 'minutes']
    >>> int(plan.meetings.sum()) == len(plan.log)
    True
    """
    n = len(mentee_ids)
    types = np.array(sorted(mentor_types), dtype=object)
    weights = np.array([mentor_types[t] for t in types], dtype=float)
    primary = types[rng.choice(len(types), size=n, p=weights / weights.sum())] if n else types[:0]
    a, b = _beta_ab(engagement)
    p = rng.beta(a, b, size=n)
    team = rng.random(n) < team_rate
    type_index = {t: k for k, t in enumerate(types)}
    pt = (
        np.array([type_index[t] for t in primary.tolist()], dtype=np.int64)
        if n
        else np.zeros(0, np.int64)
    )
    planned = np.array([planned_meetings(t, programme_days) for t in types], dtype=np.int64)[pt]
    cadence = np.array([CADENCE_DAYS[t] for t in types], dtype=np.int64)[pt]

    # one row per planned slot; a slot is attended with the mentee's engagement probability
    who = np.repeat(np.arange(n), planned)
    slot = np.arange(len(who)) - np.repeat(np.cumsum(planned) - planned, planned)
    attended = rng.random(len(who)) < p[who]
    meetings = np.bincount(who[attended], minlength=n)
    who, slot = who[attended], slot[attended]
    m = len(who)

    # mentor pools per type; each mentee keeps one mentor per type
    all_types = sorted(set(types) | {_TEAM_PARTNER[t] for t in types})
    tcode = {t: k for k, t in enumerate(all_types)}
    names: list[str] = []
    mentor_of = np.zeros((len(all_types), n), dtype=np.int64)  # index into names
    for t in all_types:
        share = max(mentor_types.get(t, 0.0) / weights.sum(), 0.1)
        pool = max(1, int(np.ceil(n * share / _MENTEES_PER_MENTOR[t])))
        width = max(3, len(str(pool)))
        first = len(names)
        names.extend(f"{_PREFIX[t]}{k:0{width}d}" for k in range(1, pool + 1))
        mentor_of[tcode[t]] = first + rng.integers(0, pool, size=n)

    primary_code = np.array([tcode[t] for t in types], dtype=np.int64)[pt]
    partner_code = np.array([tcode[_TEAM_PARTNER[t]] for t in types], dtype=np.int64)[pt]
    with_partner = team[who] & (rng.random(m) < 0.35)
    mtype = np.where(with_partner, partner_code[who], primary_code[who])
    mentor = mentor_of[mtype, who]

    offset = slot * cadence[who] + rng.integers(-3, 4, size=m)
    offset = np.clip(offset, 0, programme_days)
    u = rng.random(m)
    raw_minutes = rng.lognormal(0.0, 0.35, size=m)
    mode = np.zeros(m, dtype=np.int64)
    minutes = np.zeros(m, dtype=np.int64)
    for t in all_types:
        sel = mtype == tcode[t]
        cum = np.cumsum(_MODE_P[t])
        mode[sel] = np.searchsorted(cum, u[sel] * cum[-1])
        minutes[sel] = np.maximum(10, 5 * np.round(_MINUTES[t] * raw_minutes[sel] / 5))

    order = np.lexsort((mentor, who, offset))
    day_names = np.datetime_as_string(
        np.datetime64(start, "D") + np.arange(programme_days + 1).astype("timedelta64[D]"), unit="D"
    ).astype(object)
    log = pd.DataFrame(
        {
            "date": day_names[offset[order]],
            "mentee_id": np.asarray(mentee_ids, dtype=object)[who[order]],
            "mentor_id": np.array(names, dtype=object)[mentor[order]],
            "mentor_type": np.array(all_types, dtype=object)[mtype[order]],
            "mode": np.array(_MODES, dtype=object)[mode[order]],
            "minutes": minutes[order],
        }
    )
    return MentoringPlan(primary, team, p, meetings, log)
