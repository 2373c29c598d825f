"""Time the release registry's decision and the attacker's audit on a report-sized release.

17 count tables of 5 groups × 4 classes with row and column margins (510 counts, 5 % or 12 %
of inner cells small), as a report's bands, Likert and group tables. Run:
``PYTHONPATH=src .venv/bin/python benchmarks/disclose_audit.py``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from mentoreval.disclose.audit import feasible_ranges

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from margin_tables import margin_release


def main() -> None:
    for seed, share in [(0, 0.05), (1, 0.05), (0, 0.12), (1, 0.12), (2, 0.12)]:
        reg = margin_release(seed=seed, small_share=share)
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
