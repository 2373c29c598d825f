"""Microsoft Forms exports: the header's signature and the role of each column (stage: read).

A Forms export (``.xlsx``, or the same table saved as CSV) starts ``ID, Start time,
Completion time``, then ``Email``, ``Name`` and the questions; quizzes add ``Total points``,
``Quiz feedback`` and a ``Points - <question>`` / ``Feedback - <question>`` column per
question. Both readers of the format (:func:`~mentoreval.read.excel.read_xlsx` and the CSV
path of :func:`~mentoreval.read.read_export`) name the columns' roles here.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

__all__ = ["is_msforms", "msforms_question", "msforms_role", "set_msforms_meta"]

_MSFORMS = ("ID", "Start time", "Completion time")
_MS_META = {
    "ID": "id",
    "Start time": "start_time",
    "Completion time": "completion_time",
    "Email": "email",
    "Name": "name",
    "Last modified time": "last_modified_time",
    "Total points": "total_points",
    "Quiz feedback": "quiz_feedback",
    "Grade posted time": "grade_posted_time",
}


def is_msforms(header: list[str]) -> bool:
    """Whether a header row is a Microsoft Forms export's.

    Examples
    --------
    >>> is_msforms(["ID", "Start time", "Completion time", "Email", "Name", "Q1"])
    True
    """
    return tuple(h.strip() for h in header[:3]) == _MSFORMS


def msforms_role(header: str) -> str:
    """The role of a Forms column: a metadata field, ``points``, ``feedback`` or ``field``.

    Examples
    --------
    >>> [msforms_role(h) for h in ("Start time", "Points - Mood", "Feedback - Mood", "Mood")]
    ['start_time', 'points', 'feedback', 'field']
    """
    if header in _MS_META:
        return _MS_META[header]
    if header.startswith("Points - "):
        return "points"
    if header.startswith("Feedback - "):
        return "feedback"
    return "field"


def msforms_question(header: str) -> str | None:
    """The question a Forms column belongs to (``None`` for metadata fields).

    Examples
    --------
    >>> [msforms_question(h) for h in ("Email", "Points - Mood", "Mood")]
    [None, 'Mood', 'Mood']
    """
    for prefix in ("Points - ", "Feedback - "):
        if header.startswith(prefix):
            return header[len(prefix) :]
    return None if header in _MS_META else header


def set_msforms_meta(meta: pd.DataFrame, headers: Sequence[str]) -> None:
    """Fill ``role`` and ``question`` of a Forms export's column metadata (in place)."""
    meta["role"] = [msforms_role(h) for h in headers]
    meta["question"] = [msforms_question(h) for h in headers]
