"""Seeded simulations: CI coverage and type I error.

A short version runs by default; ``--runslow`` runs the long one. Targets (the issue):
95% CIs of the paired mean difference and of d_z cover the truth in 93-97% of replicates,
and the type I error of the paired t and the ANCOVA group effect is 3.5-6.5%. The long
run (10,000 replicates each, Monte Carlo SE 0.2 points) checks exactly those bands.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mentoreval.stats import compare_pair, fit_ancova


def _paired_coverage(reps: int, n: int, seed: int) -> tuple[float, float, float]:
    rng = np.random.default_rng(seed)
    true_diff, sd_diff = 2.0, 4.0
    true_dz = true_diff / sd_diff
    cov_md = cov_dz = rej_null = 0
    for _ in range(reps):
        pre = rng.normal(50, 10, n)
        post = pre + rng.normal(true_diff, sd_diff, n)
        r = compare_pair(pre, post)
        cov_md += r["ci_low"] <= true_diff <= r["ci_high"]
        cov_dz += r["d_z_ci_low"] <= true_dz <= r["d_z_ci_high"]
        null_post = pre + rng.normal(0, sd_diff, n)
        rej_null += compare_pair(pre, null_post)["p_value"] < 0.05
    return cov_md / reps, cov_dz / reps, rej_null / reps


def _ancova_type1(reps: int, n: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    rej = 0
    group = np.repeat(["mentored", "comparison"], n // 2)
    for _ in range(reps):
        pre = rng.normal(50, 10, n)
        d = pd.DataFrame({"pre": pre, "post": 10 + 0.7 * pre + rng.normal(0, 6, n), "group": group,
                          "year": rng.integers(1, 6, n)})  # fmt: skip
        rej += fit_ancova(d, covariates=["year"]).contrast["p_value"].iloc[0] < 0.05
    return rej / reps


def test_short_coverage_and_type1() -> None:
    # 600 paired replicates (Monte Carlo SE 0.9 points) are held to the bands; the
    # ANCOVA (slower: 300 replicates, SE 1.3 points) to a band about 2 SE wide.
    cov_md, cov_dz, t1 = _paired_coverage(600, 25, seed=11)
    assert 0.93 <= cov_md <= 0.97
    assert 0.93 <= cov_dz <= 0.97
    assert 0.035 <= t1 <= 0.065
    assert 0.025 <= _ancova_type1(300, 40, seed=12) <= 0.075


@pytest.mark.slow
def test_long_coverage_and_type1() -> None:
    cov_md, cov_dz, t1 = _paired_coverage(10000, 25, seed=21)
    assert 0.93 <= cov_md <= 0.97
    assert 0.93 <= cov_dz <= 0.97
    assert 0.035 <= t1 <= 0.065
    assert 0.035 <= _ancova_type1(10000, 40, seed=22) <= 0.065


def test_coverage_band_is_meaningful() -> None:
    """A deliberately wrong CI (z instead of t, n = 6) under-covers: the test can fail."""
    rng = np.random.default_rng(3)
    hits = 0
    for _ in range(400):
        d = rng.normal(0, 1, 6)
        half = stats.norm.ppf(0.975) * d.std(ddof=1) / np.sqrt(6)
        hits += abs(d.mean()) <= half
    assert hits / 400 < 0.93
