"""Time scoring of 100,000 respondents × 62 items against a plain row mean.

The items are those of five shipped instruments (WHO-5, CBI, OLBI-S, PSS-10, CAAS-SF: 62
items in 12 scales, with reverse keys, prorating and bands), in one wide table as one export
holds them, scored with one ``score_wide`` call (ids checked, codes validated, long output). The floor is
``DataFrame.mean(axis=1)`` over the same item columns, measured in the same run.

Run: ``.venv/bin/python benchmarks/scoring.py [--n 100000] [--repeat 5]``.
Target (issue 2): ratio under 5.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from mentoreval.instruments.definitions import load_instrument
from mentoreval.instruments.scoring import score_wide

INSTRUMENTS = ["who5", "cbi", "olbi", "pss10", "caas_sf"]


def make_data(n: int, seed: int = 1) -> pd.DataFrame:
    """One wide export: participant_id, wave, then every item of the five instruments."""
    rng = np.random.default_rng(seed)
    cols: dict[str, object] = {
        "participant_id": [f"s{i:06d}" for i in range(n)],
        "wave": ["pre"] * n,
    }
    for inst_id in INSTRUMENTS:
        inst = load_instrument(inst_id)
        for item in inst.items:
            codes = np.array(inst.response_scales[item.response_scale].codes)
            x = rng.choice(codes, size=n).astype(float)
            x[rng.random(n) < 0.03] = np.nan  # 3% item non-response
            cols[item.id] = x
    return pd.DataFrame(cols)


def best_of(repeat: int, func: Callable[[], object]) -> float:
    """The fastest of ``repeat`` runs of ``func``, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    wide = make_data(args.n)
    insts = [load_instrument(i) for i in INSTRUMENTS]
    all_items = wide.drop(columns=["participant_id", "wave"])
    n_items = all_items.shape[1]

    def floor() -> None:
        all_items.mean(axis=1)

    def ours() -> None:
        score_wide(wide, insts)

    t_floor = best_of(args.repeat, floor)
    t_ours = best_of(args.repeat, ours)
    n_scales = sum(len(i.scales) for i in insts)
    print(f"respondents: {args.n:,}  items: {n_items}  scales: {n_scales}")
    print(f"DataFrame.mean(axis=1):  {t_floor * 1000:8.1f} ms")
    print(f"mentoreval scoring:      {t_ours * 1000:8.1f} ms")
    print(f"ratio: {t_ours / t_floor:.2f} (target < 5)")


if __name__ == "__main__":
    main()
