"""Time :func:`mentoreval.stats.analysis.run_analysis` at two sizes and print both.

3 instruments / 8 scales, a comparison group, covariates, site fixed effects, the mixed
model and m = 20 imputations, for 300 students (one site) and for a 10,000-student,
40-site consortium. Run: ``.venv/bin/python benchmarks/analysis.py``.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from mentoreval.stats.analysis import run_analysis

SCALES = [("who5", "total"), ("cbi", "personal"), ("cbi", "work"), ("cbi", "patient"),
          ("cdse", "self_appraisal"), ("cdse", "information"), ("cdse", "goal_selection"), ("cdse", "planning")]  # fmt: skip


def make_study(n: int, n_sites: int, *, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Synthetic scores (long) and participants with a true mentoring effect of 3 points."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"s{i:05d}" for i in range(n)])
    site = rng.integers(0, n_sites, n)
    year = rng.integers(1, 6, n)
    gender = rng.choice(["female", "male"], n)
    mentored = rng.random(n) < 1 / (1 + np.exp(-(year - 3) * 0.4))
    people = pd.DataFrame({
        "participant_id": ids, "group": np.where(mentored, "mentored", "comparison"),
        "year_of_study": year, "gender": gender, "site": [f"site{s:02d}" for s in site],
        "meetings": np.where(mentored, rng.integers(0, 12, n), 0),
    })  # fmt: skip
    frames = []
    site_eff = rng.normal(0, 2, n_sites)[site]
    for instrument, scale in SCALES:
        true = rng.normal(50, 10, n) + site_eff
        pre = true + rng.normal(0, 5, n)
        post = true + 3 * mentored + rng.normal(0, 5, n)
        dropped = rng.random(n) < 0.15 + 0.05 * mentored
        post[dropped] = np.nan
        for wave, vals in (("pre", pre), ("post", post)):
            frames.append(pd.DataFrame({"participant_id": ids, "wave": wave, "instrument": instrument,
                                        "scale": scale, "score": vals}))  # fmt: skip
    scores = pd.concat(frames, ignore_index=True)
    return scores, people


def time_run(n: int, n_sites: int) -> float:
    scores, people = make_study(n, n_sites)
    fixed = ["site"] if n_sites > 1 else []
    start = time.perf_counter()
    res = run_analysis(scores, people, covariates=["year_of_study", "gender"], fixed_effects=fixed,
                       primary=["who5", "cbi"], m=20, dose="meetings", moderators=["year_of_study"],
                       pool_by="site" if n_sites > 1 else None)  # fmt: skip
    elapsed = time.perf_counter() - start
    notes = res["fit_notes"]
    print(
        f"n = {n:>6}, sites = {n_sites:>2}: {elapsed:6.2f} s  ({len(res.tables)} tables, {len(notes)} fit notes)"
    )
    return elapsed


if __name__ == "__main__":
    small = time_run(300, 1)
    large = time_run(10_000, 40)
    print(f"ratio large/small: {large / small:.1f}x for {10_000 / 300:.0f}x the students")
