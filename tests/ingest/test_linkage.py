"""Duplicates and pre/post linkage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mentoreval.ingest.linkage import (
    MATCH_STATUS,
    CodeMatch,
    link_waves,
    linkage_summary,
    match_codes,
    resolve_duplicates,
)


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


def _reference_keep(records: pd.DataFrame, rule: str) -> tuple[np.ndarray, np.ndarray]:
    """Keep mask and kept position per removed row, by a stable pandas sort on the text."""
    when = pd.to_datetime(records["submitted_at"], errors="coerce", format="ISO8601", utc=True)
    frame = pd.DataFrame(
        {
            "pid": records["participant_id"].astype("string").to_numpy(),
            "wave": records["wave"].astype("string").to_numpy(),
            "when": when.to_numpy(),
            "src": records["source_order"].to_numpy(),
            "row": records["source_row"].to_numpy(),
            "pos": np.arange(len(records)),
        }
    )
    # A participant x wave with a missing or unreadable time is ordered by source and row only.
    untimed = (
        frame["when"].isna().groupby([frame["pid"], frame["wave"]], dropna=False).transform("any")
    )
    frame.loc[untimed.to_numpy(dtype=bool), "when"] = pd.NaT
    frame = frame.sort_values(
        ["pid", "wave", "when", "src", "row"], kind="stable", na_position="first"
    )
    which = "first" if rule == "keep_first" else "last"
    dup = frame.duplicated(["pid", "wave"], keep=which).to_numpy()
    keep = np.ones(len(records), dtype=bool)
    keep[frame["pos"].to_numpy()[dup]] = False
    kept = frame.groupby(["pid", "wave"], dropna=False, sort=False)["pos"].transform(which)
    target = pd.Series(kept.to_numpy(), index=frame["pos"].to_numpy()).sort_index()
    return keep, target.to_numpy()[~keep]


def _messy(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    names = np.array(
        ["participant_0001", "participant_00010", "participant_0002", "particip", "", "é",
         "e", "É", "a\x00", "a", "abcdefgh", "abcdefghi", "x" * 40, "x" * 39 + "y", "😀"],
        dtype=object,
    )  # fmt: skip
    hexes = np.array([f"{rng.integers(2**63):016x}" * 4 for _ in range(n // 3)], dtype=object)
    ids = np.concatenate([rng.choice(names, n - len(hexes)), hexes])[rng.permutation(n)]
    ids[rng.random(n) < 0.02] = None
    times = np.array(
        ["2025-01-01 10:00", "2025-01-01T10:00:00", "2024-12-31 23:59", "1969-07-20 20:17",
         "", "not a date", None],
        dtype=object,
    )  # fmt: skip
    waves = rng.choice(np.array(["pre", "post", "follow_up", None], dtype=object), n)
    return pd.DataFrame(
        {
            "participant_id": pd.array(ids, dtype="string"),
            "wave": pd.array(waves, dtype="string"),
            "source": rng.choice(["a.csv", "b.csv", "c.csv"], n),
            "source_order": rng.integers(0, 3, n),
            "source_row": rng.integers(0, 40, n).astype(np.int64),
            "submitted_at": rng.choice(times, n, p=[0.4, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]),
        }
    )


@pytest.mark.parametrize("rule", ["keep_first", "keep_last"])
def test_duplicates_match_a_stable_sort_of_the_text(rule: str) -> None:
    records = _messy(4000, seed=1)
    keep, removed = resolve_duplicates(records, rule=rule)  # type: ignore[arg-type]
    ref_keep, ref_target = _reference_keep(records, rule)
    assert keep.tolist() == ref_keep.tolist()
    assert removed["position"].tolist() == np.flatnonzero(~ref_keep).tolist()
    assert (
        removed["kept_source_row"].tolist() == records["source_row"].to_numpy()[ref_target].tolist()
    )
    assert removed["kept_source"].tolist() == records["source"].to_numpy()[ref_target].tolist()
    # Without a submission time, the source order and row decide.
    keep, _ = resolve_duplicates(records.drop(columns="submitted_at"), rule=rule)  # type: ignore[arg-type]
    ref_keep, _ = _reference_keep(records.assign(submitted_at=None), rule)
    assert keep.tolist() == ref_keep.tolist()


def test_link_report_matches_a_pivot() -> None:
    records = _messy(4000, seed=2)
    dups = pd.Series([3, 1], index=pd.Index(["é", "a\x00"], dtype="string"))
    rep = link_waves(records, duplicates=dups)
    frame = pd.DataFrame(
        {
            "participant_id": records["participant_id"].astype("string").to_numpy(),
            "wave": records["wave"].astype("string").to_numpy(),
        }
    )
    present = (
        frame.assign(seen=True)
        .pivot_table(
            index="participant_id", columns="wave", values="seen", aggfunc="any", fill_value=False
        )
        .astype(bool)
    )
    assert rep["participant_id"].tolist() == present.index.tolist()  # sorted by code point
    assert rep["pre"].tolist() == present["pre"].tolist()
    assert rep["post"].tolist() == present["post"].tolist()
    waves = [
        ";".join(w for w in sorted(present.columns) if row[w]) for _, row in present.iterrows()
    ]
    assert rep["waves"].tolist() == waves
    assert rep["duplicates_removed"].tolist() == dups.reindex(present.index).fillna(0).tolist()
    assert str(rep["participant_id"].dtype) == "string"
    empty = link_waves(records.iloc[:0])
    assert list(empty.columns) == list(rep.columns) and len(empty) == 0


# --------------------------------------------------------------------------- match_codes


def _pairs(m: CodeMatch) -> list[tuple[int, int, bool]]:
    return sorted(zip(m.left.tolist(), m.right.tolist(), m.tolerant.tolist(), strict=True))


def _statuses(codes: np.ndarray) -> list[str]:
    return [MATCH_STATUS[s] for s in codes]


def test_codes_equal_in_every_component_link_exactly_before_any_tolerant_link() -> None:
    pre = np.array([[1, 2, 3], [1, 2, 4]])
    post = np.array([[1, 2, 4], [1, 2, 3]])
    m = match_codes(pre, post, tolerance=1)
    # each pre code is one component from the other post code too: exact links win
    assert _pairs(m) == [(0, 1, False), (1, 0, False)]
    assert _statuses(m.left_status) == _statuses(m.right_status) == ["exact", "exact"]


def test_a_code_differing_in_one_component_links_within_tolerance_one_only() -> None:
    pre = np.array([[0, 5, 7], [3, 3, 3]])
    post = np.array([[0, 5, 8], [9, 9, 3]])
    m = match_codes(pre, post, tolerance=1)
    assert _pairs(m) == [(0, 0, True)]
    assert _statuses(m.left_status) == ["tolerant", "unlinked"]
    assert _statuses(m.right_status) == ["tolerant", "unlinked"]
    none = match_codes(pre, post, tolerance=0)
    assert len(none.left) == 0 and _statuses(none.left_status) == ["unlinked", "unlinked"]


def test_a_pre_code_with_two_equally_close_post_codes_is_never_linked() -> None:
    pre = np.array([[0, 5, 7]])
    post = np.array([[0, 5, 8], [0, 6, 7]])
    m = match_codes(pre, post, tolerance=1)
    assert len(m.left) == 0
    assert _statuses(m.left_status) == ["ambiguous"]
    assert _statuses(m.right_status) == ["ambiguous", "ambiguous"]


def test_a_post_code_with_two_equally_close_pre_codes_is_never_linked() -> None:
    pre = np.array([[0, 5, 8], [0, 6, 7], [4, 4, 4]])
    post = np.array([[0, 5, 7], [4, 4, 4]])
    m = match_codes(pre, post, tolerance=1)
    assert _pairs(m) == [(2, 1, False)]
    assert _statuses(m.left_status) == ["ambiguous", "ambiguous", "exact"]
    assert _statuses(m.right_status) == ["ambiguous", "exact"]


def test_with_tolerance_two_the_unique_closest_candidate_links_on_both_sides() -> None:
    pre = np.array([[1, 1, 1, 1]])
    post = np.array([[1, 1, 1, 2], [1, 1, 3, 2]])  # distances 1 and 2
    m = match_codes(pre, post, tolerance=2)
    assert _pairs(m) == [(0, 0, True)]
    # the farther post code had a candidate, but not as its unique mutual best: not linked
    assert _statuses(m.right_status) == ["tolerant", "ambiguous"]


def test_an_empty_component_agrees_with_nothing_not_even_another_empty_one() -> None:
    pre = np.array([[1, -1, 3], [7, 7, -1]])
    post = np.array([[1, -1, 3], [7, 7, -1]])
    m = match_codes(pre, post, tolerance=1)
    # never exact (an empty part is unknown), but one unknown part is within tolerance 1
    assert _pairs(m) == [(0, 0, True), (1, 1, True)]
    two_missing = match_codes(np.array([[1, -1, -1]]), np.array([[1, -1, -1]]), tolerance=1)
    assert len(two_missing.left) == 0 and _statuses(two_missing.left_status) == ["unlinked"]


def test_matching_handles_empty_waves() -> None:
    m = match_codes(np.zeros((0, 3), dtype=int), np.array([[1, 2, 3]]), tolerance=1)
    assert len(m.left) == 0 and _statuses(m.right_status) == ["unlinked"]
