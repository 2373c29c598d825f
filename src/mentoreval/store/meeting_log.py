"""A meeting log once read: its vocabulary (fields, mentor types, modes) and the result type.

:func:`mentoreval.store.meetings.read_meeting_log` makes a :class:`MeetingLog`;
:func:`mentoreval.store.dose.dose_measures` turns one into dose measures per mentee.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import pandas as pd

__all__ = ["MEETING_COLUMNS", "MENTOR_TYPES", "MODES", "MeetingLog"]

#: Valid mentor types, in the order used to break ties.
MENTOR_TYPES: tuple[str, ...] = ("peer", "near-peer", "faculty", "research", "specialty", "sponsor")
#: Default valid meeting modes (pass ``modes=`` to
#: :func:`~mentoreval.store.meetings.read_meeting_log` to change).
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
