"""Duplicates and pre/post linkage."""

from __future__ import annotations

import pandas as pd

from mentoreval.linkage import link_waves, linkage_summary, resolve_duplicates


def recs() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "participant_id": ["a", "a", "a", "b", "c"],
            "wave": ["pre", "pre", "post", "pre", "post"],
            "source": ["pre.csv", "pre.csv", "post.csv", "pre.csv", "post.csv"],
            "source_order": [0, 0, 1, 0, 1],
            "source_row": [5, 4, 2, 6, 3],
            "submitted_at": ["2025-01-01 10:00", "2025-01-01 10:00", None, None, None],
        }
    )


def test_stable_duplicate_rule() -> None:
    keep, removed = resolve_duplicates(recs(), rule="keep_last")
    # Same timestamp: the later source row wins under keep_last.
    assert keep.tolist() == [True, False, True, True, True]
    assert removed[["source_row", "kept_source_row"]].to_numpy().tolist() == [[4, 5]]
    keep, _ = resolve_duplicates(recs(), rule="keep_first")
    assert keep.tolist() == [False, True, True, True, True]


def test_link_report() -> None:
    keep, _ = resolve_duplicates(recs())
    kept = recs()[keep]
    rep = link_waves(kept, duplicates=recs()[~keep]["participant_id"].value_counts())
    assert rep.set_index("participant_id")["status"].to_dict() == {
        "a": "matched",
        "b": "pre_only",
        "c": "post_only",
    }
    assert linkage_summary(rep) == {
        "participants": 3,
        "matched": 1,
        "pre_only": 1,
        "post_only": 1,
        "other": 0,
        "duplicates_removed": 1,
    }
