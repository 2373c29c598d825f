"""Quality flags: flag, never drop."""

from __future__ import annotations

import numpy as np
from scipy import stats

from mentoreval.quality import flag_quality, irv, longstring, mahalanobis


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
