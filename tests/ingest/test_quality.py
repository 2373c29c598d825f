"""Quality flags: flag, never drop."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mentoreval.ingest import quality
from mentoreval.ingest.quality import QUALITY_COLUMNS, flag_quality, irv, longstring, mahalanobis


def test_longstring_and_irv() -> None:
    x = np.array([[2, 2, 2, np.nan, 2, 2], [1, 2, 1, 2, 1, 2]], dtype=float)
    assert longstring(x).tolist() == [3, 1]
    assert irv(x)[0] == 0 and irv(x)[1] > 0


def test_mahalanobis_uses_items_as_df() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 6))
    d2, p = mahalanobis(x)
    np.testing.assert_allclose(p, stats.chi2.sf(d2, df=6))
    x[3, 2] = np.nan
    d2, p = mahalanobis(x)
    assert np.isnan(d2[3]) and np.isfinite(d2[4])
    assert np.isnan(mahalanobis(x[:5])[0]).all()  # too few rows


def test_flags_never_drop_and_respect_items_shown() -> None:
    x = np.tile(np.arange(12, dtype=float) % 5, (4, 1))
    x[0] = 3
    q = flag_quality(
        x,
        duration=np.array([10.0, 100, 100, np.nan]),
        n_items=np.array([12, 12, 60, 12]),
        attention_failed=np.array([0, 1, 0, 0]),
        longstring_at=10,
    )
    assert len(q) == 4
    assert q["speeder"].tolist() == [True, False, True, False]
    assert q["longstring_flag"].tolist() == [True, False, False, False]
    assert q["irv_flag"].tolist() == [True, False, False, False]
    assert q["attention_flag"].tolist() == [False, True, False, False]
    assert q["any_flag"].tolist() == [True, True, True, False]


def _reference(x: np.ndarray, groups: np.ndarray | None) -> dict[str, np.ndarray]:
    """The indices computed the plain way: whole-matrix temporaries, a loop per wave."""
    ok = ~np.isnan(x)
    run = ok[:, 0].astype(np.int64)
    best = run.copy()
    for j in range(1, x.shape[1]):
        run = np.where(x[:, j] == x[:, j - 1], run + 1, ok[:, j].astype(np.int64))
        best = np.maximum(best, run)
    n_ok = ok.sum(axis=1)
    work = np.where(ok, x, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = work.sum(axis=1) / n_ok
        dev = x - mean[:, None]
        dev = dev * dev
        dev[np.isnan(dev)] = 0.0
        sd = np.where(n_ok >= 2, np.sqrt(dev.sum(axis=1) / (n_ok - 1)), np.nan)
    d2 = np.full(len(x), np.nan)
    labels = np.zeros(len(x), dtype=np.int64) if groups is None else pd.factorize(groups)[0]
    for g in np.unique(labels):
        rows = np.flatnonzero((labels == g) & ok.all(axis=1))
        if len(rows) <= x.shape[1] + 1:
            continue
        xc = x[rows]
        centred = xc - xc.mean(axis=0)
        inv = np.linalg.pinv(centred.T @ centred / (len(rows) - 1))
        prod = centred @ inv
        d2[rows] = (prod * centred).sum(axis=1)
    return {"longstring": best, "irv": sd, "n_answered": n_ok, "mahalanobis_d2": d2}


def _answers(n: int, k: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 7, size=(n, k)).astype(float)
    x[rng.random((n, k)) < 0.02] = np.nan
    x[rng.choice(n, n // 20, replace=False)] = 3.0  # straight-liners
    x[rng.choice(n, n // 50, replace=False)] = np.nan  # nothing answered
    x[: n // 10] += rng.normal(scale=0.3, size=(n // 10, k))  # non-integer answers
    return x


@pytest.mark.parametrize("tiny_blocks", [False, True])
def test_block_computation_matches_whole_matrix(
    monkeypatch: pytest.MonkeyPatch, tiny_blocks: bool
) -> None:
    if tiny_blocks:  # many row blocks and run groups, with a short tail block
        monkeypatch.setattr(quality, "_BLOCK_CELLS", 40)
        monkeypatch.setattr(quality, "_RUN_ROWS", 7)
        monkeypatch.setattr(quality, "_MAHA_CELLS", 12 * 50)  # 60 blocks of 50 rows
    x = _answers(3001, 12, seed=3)
    groups = np.where(np.arange(len(x)) % 3 == 0, "pre", "post").astype(object)
    groups[:5] = None  # a wave of its own (too small for Mahalanobis)
    q = flag_quality(x, groups=groups, longstring_at=6, irv_min_items=4)
    ref = _reference(x, groups)
    assert q["longstring"].tolist() == ref["longstring"].tolist()
    assert q["n_answered"].tolist() == ref["n_answered"].tolist()
    np.testing.assert_array_equal(q["irv"].to_numpy(), ref["irv"])
    # Mahalanobis sums cross-products block by block: equal up to rounding.
    d2 = q["mahalanobis_d2"].to_numpy()
    assert np.array_equal(np.isnan(d2), np.isnan(ref["mahalanobis_d2"]))
    assert np.isfinite(d2).sum() > 2000  # complete rows in both waves
    np.testing.assert_allclose(d2, ref["mahalanobis_d2"], rtol=1e-12)
    np.testing.assert_allclose(
        q["mahalanobis_p"].to_numpy(), stats.chi2.sf(d2, df=12), rtol=1e-14, atol=0
    )
    np.testing.assert_array_equal(longstring(x), ref["longstring"])
    np.testing.assert_array_equal(irv(x), ref["irv"])
    np.testing.assert_allclose(mahalanobis(x)[0], _reference(x, None)["mahalanobis_d2"], rtol=1e-12)
    flags = ["speeder", "longstring_flag", "irv_flag", "attention_flag", "mahalanobis_flag"]
    assert q["any_flag"].tolist() == q[flags].any(axis=1).tolist()


def test_layouts_and_edge_shapes() -> None:
    x = _answers(500, 9, seed=4)
    for variant in (np.asfortranarray(x), np.repeat(x, 2, axis=1)[:, ::2], x.astype(np.float32)):
        np.testing.assert_array_equal(
            irv(variant), _reference(np.asarray(variant, float), None)["irv"]
        )
        assert longstring(variant).tolist() == longstring(x).tolist()
    empty = flag_quality(np.empty((0, 5)), longstring_at=3)
    assert len(empty) == 0 and list(empty.columns) == QUALITY_COLUMNS
    none = flag_quality(np.empty((3, 0)), longstring_at=3)
    assert none["longstring"].tolist() == [0, 0, 0] and none["irv"].isna().all()
    one = flag_quality(np.array([[np.nan, np.nan, 2.0]]), longstring_at=2)
    assert one[["n_answered", "longstring"]].to_numpy().tolist() == [[1, 1]]
    assert longstring(np.full((2, 4), np.nan)).tolist() == [0, 0]


def test_longstring_is_not_applied_to_short_questionnaires() -> None:
    # 500 consistent respondents on three 2-3 item scales (8 items): "agree" twice in a row
    # is an ordinary answer, not careless responding; nobody may be flagged for it.
    rng = np.random.default_rng(7)
    x = np.repeat(rng.integers(1, 6, size=(500, 1)), 8, axis=1).astype(float)
    x[:, ::3] = rng.integers(1, 6, size=(500, 3))
    q = flag_quality(x, longstring_at=3)
    assert (q["longstring"] >= 3).sum() > 200  # the runs are there ...
    assert not q["longstring_flag"].any()  # ... but the rule does not apply below 10 items
    long = np.tile(x, (1, 2))  # 16 items: the rule applies
    q16 = flag_quality(long, longstring_at=3)
    assert q16["longstring_flag"].sum() == (q16["longstring"] >= 3).sum() > 0


def test_longstring_minimum_counts_the_items_shown_to_each_row() -> None:
    x = np.ones((2, 12))
    q = flag_quality(x, n_items=np.array([12, 6]), longstring_at=5, longstring_min_items=10)
    assert q["longstring_flag"].tolist() == [True, False]


def test_no_duration_leaves_speeder_unknown_not_zero() -> None:
    q = flag_quality(np.ones((3, 4)), longstring_at=4)
    assert q["seconds_per_item"].isna().all() and not q["speeder"].any()
