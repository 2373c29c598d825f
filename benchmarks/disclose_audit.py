"""Time the release registry's decision and the attacker's audit on a report-sized release.

17 count tables of 5 groups × 4 classes with row and column margins (510 counts, 5 % or 12 %
of inner cells small), as a report's bands, Likert and group tables. Run:
``PYTHONPATH=src .venv/bin/python benchmarks/disclose_audit.py``.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from mentoreval.disclose.audit import feasible_ranges
from mentoreval.disclose.release import ReleaseRegistry


def big_release(tables: int = 17, seed: int = 0, small_share: float = 0.12) -> ReleaseRegistry:
    """~500 counts with margins."""
    rng = np.random.default_rng(seed)
    reg = ReleaseRegistry("big")
    for t in range(tables):
        cells = rng.integers(10, 60, size=(5, 4))
        small = rng.random((5, 4)) < small_share
        cells[small] = rng.integers(1, 10, size=int(small.sum()))
        frame = pd.DataFrame(cells, columns=list("abcd"), index=[f"g{i}" for i in range(5)])
        frame.loc["all"] = frame.sum()
        frame["n"] = frame[list("abcd")].sum(axis=1)
        reg.add_table(f"t{t}", frame, count_columns=list("abcd"), total_column="n",
                      total_row="all", attribute=True)  # fmt: skip
    return reg


def main() -> None:
    for seed, share in [(0, 0.05), (1, 0.05), (0, 0.12), (1, 0.12), (2, 0.12)]:
        reg = big_release(seed=seed, small_share=share)
        start = time.perf_counter()
        decision = reg.decide()
        decide_s = time.perf_counter() - start
        start = time.perf_counter()
        result = feasible_ranges(reg)
        audit_s = time.perf_counter() - start
        print(
            f"seed {seed}, {share:.0%} small: {len(reg.counts)} counts, {len(reg.relations)} relations; "
            f"hidden {len(decision.hidden)} (primary {len(decision.primary)}, "
            f"complementary {len(decision.complementary)}, audit rounds {decision.rounds}); "
            f"decide {decide_s:.2f} s; audit {audit_s:.2f} s ({result.n_lps} LPs, "
            f"passed={result.passed})"
        )


if __name__ == "__main__":
    main()
