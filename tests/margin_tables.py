"""Report-sized releases for the disclosure tests and benchmark: tables of 5 groups × 4
classes with row and column margins, some cells small."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mentoreval.disclose.release import ReleaseRegistry


def margin_release(
    tables: int = 17, seed: int = 0, *, small_share: float = 0.12, smallest: int = 1
) -> ReleaseRegistry:
    """``tables`` margin tables (30 counts each); a ``small_share`` of the inner cells drawn
    from ``smallest``..9, the others from 10..59."""
    rng = np.random.default_rng(seed)
    reg = ReleaseRegistry("big")
    for t in range(tables):
        cells = rng.integers(10, 60, size=(5, 4))
        small = rng.random((5, 4)) < small_share
        cells[small] = rng.integers(smallest, 10, size=int(small.sum()))
        frame = pd.DataFrame(cells, columns=list("abcd"), index=[f"g{i}" for i in range(5)])
        frame.loc["all"] = frame.sum()
        frame["n"] = frame[list("abcd")].sum(axis=1)
        reg.add_table(f"t{t}", frame, count_columns=list("abcd"), total_column="n",
                      total_row="all", attribute=True)  # fmt: skip
    return reg
