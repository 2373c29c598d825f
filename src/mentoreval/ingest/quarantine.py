"""Quarantine and reconciliation: nothing is lost without an entry (stage: check).

The quarantine table (contract) has one row per set-aside record or answer:
``source`` · ``source_row`` · ``stage`` · ``rule`` · ``reason`` · ``column`` · ``value``.

*Row-level* rules set a whole record aside (reader exclusions such as Qualtrics preview and
test rows, a missing or invalid id, an ignored REDCap event, a duplicate submission).
*Cell-level* rules (:data:`CELL_RULES`, e.g. ``unknown_value``) set aside one answer: the
record is kept — a typo in one item does not lose the person — and the answer becomes
missing with reason ``quarantined: unknown value``.

For every source, :func:`reconcile` checks ``records read = records kept + records
quarantined`` with the kept and quarantined sets disjoint. A violation is a bug in
mentoreval, not a user error, so it raises :class:`ReconciliationError` (with traceback).
Raw identifiers never enter the quarantine: rows set aside for their id carry no value.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "CELL_RULES",
    "QUARANTINE_COLUMNS",
    "ReconciliationError",
    "empty_quarantine",
    "quarantine_frame",
    "reconcile",
    "response_keys",
]

QUARANTINE_COLUMNS = ["source", "source_row", "stage", "rule", "reason", "column", "value"]
CELL_RULES = frozenset({"unknown_value"})
"""Rules that quarantine one answer, not the record."""


class ReconciliationError(RuntimeError):
    """Rows in ≠ rows kept + rows quarantined: a bug in mentoreval (please report it)."""


def empty_quarantine() -> pd.DataFrame:
    """An empty quarantine table with the contract's columns and dtypes."""
    return quarantine_frame([], source="", stage="", rule="", reason="")


def quarantine_frame(
    source_rows: Iterable[int],
    *,
    source: str,
    stage: str,
    rule: str | Sequence[str],
    reason: str | Sequence[str],
    column: str | Sequence[str | None] | None = None,
    value: Any = None,
) -> pd.DataFrame:
    """Build quarantine rows; scalar arguments are broadcast.

    Examples
    --------
    >>> quarantine_frame([4, 9], source="pre.csv", stage="map", rule="missing_id",
    ...                  reason="the id cell is empty", column="student_id").iloc[:, :5]
        source  source_row stage        rule                reason
    0  pre.csv           4   map  missing_id  the id cell is empty
    1  pre.csv           9   map  missing_id  the id cell is empty
    """
    rows = np.asarray(list(source_rows), dtype=np.int64)
    n = len(rows)

    def col(v: Any) -> Any:
        if v is None or isinstance(v, str):
            return [v] * n
        return list(v)

    out = pd.DataFrame(
        {
            "source": col(source),
            "source_row": rows,
            "stage": col(stage),
            "rule": col(rule),
            "reason": col(reason),
            "column": col(column),
            "value": col(value),
        }
    )
    for c in ("source", "stage", "rule", "reason", "column", "value"):
        out[c] = out[c].astype("string")
    return out


def reconcile(
    source: str, *, records: int, kept_rows: np.ndarray, quarantine: pd.DataFrame
) -> dict[str, Any]:
    """Check that every record of ``source`` is kept or quarantined, never both, never neither.

    Parameters
    ----------
    source
        The source file name (as in ``quarantine.source``).
    records
        Records read below the header (the reader's independently checked count).
    kept_rows
        Source rows of the records kept in the processed data.
    quarantine
        The full quarantine table (cell-level entries are ignored).

    Returns
    -------
    dict
        ``records``, ``kept``, ``quarantined`` and per-rule counts of quarantined records.

    Raises
    ------
    ReconciliationError
        If the invariant fails (a bug).

    Examples
    --------
    >>> q = quarantine_frame([3], source="a.csv", stage="read", rule="preview", reason="x")
    >>> reconcile("a.csv", records=3, kept_rows=np.array([2, 4]), quarantine=q)
    {'records': 3, 'kept': 2, 'quarantined': 1, 'by_rule': {'preview': 1}}
    """
    mine = quarantine[(quarantine["source"] == source) & ~quarantine["rule"].isin(CELL_RULES)]
    q_rows = mine["source_row"].to_numpy(dtype=np.int64)
    kept = np.asarray(kept_rows, dtype=np.int64)
    every = np.sort(np.concatenate([kept, q_rows]))
    if len(every) > 1 and bool((every[1:] == every[:-1]).any()):  # one sort; details if not
        if len(np.unique(q_rows)) != len(q_rows):
            raise ReconciliationError(
                f"{source}: a record was quarantined twice; please report this bug"
            )
        if len(np.unique(kept)) != len(kept):
            raise ReconciliationError(f"{source}: a record was kept twice; please report this bug")
        both = np.intersect1d(kept, q_rows)
        raise ReconciliationError(
            f"{source}: rows {both[:5].tolist()} are both kept and quarantined; please report this bug"
        )
    if len(kept) + len(q_rows) != records:
        raise ReconciliationError(
            f"{source}: {records} records read but {len(kept)} kept + {len(q_rows)} quarantined; "
            "please report this bug"
        )
    by_rule = {
        str(k): int(v) for k, v in mine["rule"].value_counts(sort=False).sort_index().items()
    }
    return {
        "records": int(records),
        "kept": len(kept),
        "quarantined": len(q_rows),
        "by_rule": by_rule,
    }


def response_keys(source: str, rows: np.ndarray) -> pd.Series:
    """A key per response of an unlinked survey: the source and its row, never a person.

    Pseudonymised like any id, each key is one response; two responses never share one, so
    no duplicate rule and no linkage applies to them.

    Examples
    --------
    >>> response_keys("pre.csv", np.array([2, 3])).tolist()
    ['response:pre.csv:2', 'response:pre.csv:3']
    """
    return f"response:{source}:" + pd.Series(rows, dtype="int64").astype("string")
