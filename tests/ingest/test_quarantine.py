"""Reconciliation: every record is kept or quarantined, never both, never neither."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mentoreval.ingest.quarantine import (
    ReconciliationError,
    empty_quarantine,
    quarantine_frame,
    reconcile,
)


def _q(rows: list[int], rule: str = "preview") -> pd.DataFrame:
    return quarantine_frame(rows, source="a.csv", stage="read", rule=rule, reason="x")


def test_counts_reconcile() -> None:
    q = _q([3, 5])
    out = reconcile("a.csv", records=5, kept_rows=np.array([2, 4, 6]), quarantine=q)
    assert out == {"records": 5, "kept": 3, "quarantined": 2, "by_rule": {"preview": 2}}


def test_cell_entries_and_other_sources_do_not_count() -> None:
    cell = quarantine_frame([2], source="a.csv", stage="recode", rule="unknown_value", reason="x")
    other = quarantine_frame([9], source="b.csv", stage="read", rule="preview", reason="x")
    q = pd.concat([empty_quarantine(), cell, other], ignore_index=True)
    assert reconcile("a.csv", records=1, kept_rows=np.array([2]), quarantine=q)["kept"] == 1


@pytest.mark.parametrize(
    ("kept", "quarantined", "records", "message"),
    [
        ([2, 3], [3], 3, "both kept and quarantined"),
        ([2, 2], [4], 3, "kept twice"),
        ([2], [4, 4], 3, "quarantined twice"),
        ([2], [4], 3, r"3 records read but 1 kept \+ 1 quarantined"),
    ],
)
def test_broken_invariant_is_a_bug_report(
    kept: list[int], quarantined: list[int], records: int, message: str
) -> None:
    with pytest.raises(ReconciliationError, match=message):
        reconcile("a.csv", records=records, kept_rows=np.array(kept), quarantine=_q(quarantined))
