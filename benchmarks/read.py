"""Time read_export on a synthetic 100,000 x 60 Qualtrics CSV against pandas' pyarrow reader.

Run: ``python benchmarks/read.py [rows]``. Prints both timings and their ratio.
"""

from __future__ import annotations

import csv
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from mentoreval.read import read_export


def write_qualtrics(path: Path, rows: int, cols: int = 60) -> None:
    rng = np.random.default_rng(1)
    names = ["StartDate", "Status", "Finished", "ResponseId", *[f"Q{i}" for i in range(cols - 4)]]
    ids = ["startDate", "status", "finished", "_recordId", *[f"QID{i}" for i in range(cols - 4)]]
    values = rng.integers(1, 6, size=(rows, cols)).astype(str)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(names)
        w.writerow([f"Question {n}, text" for n in names])
        w.writerow([f'{{"ImportId":"{i}"}}' for i in ids])
        for r in range(rows):
            row = list(values[r])
            row[0], row[1], row[2], row[3] = "2024-01-01 10:00:00", "0", "1", f"R_{r:08d}"
            if r % 100 == 0:
                row[5] = 'free text, "quoted"\nsecond line'
            w.writerow(row)


def best_of(fn, n: int = 3) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "qualtrics.csv"
        write_qualtrics(path, rows)
        base = best_of(lambda: pd.read_csv(path, dtype=str, engine="pyarrow"))
        ours = best_of(lambda: read_export(path))
        t = read_export(path)
        print(f"{rows} rows x {t.data.shape[1]} cols, {path.stat().st_size / 2**20:.1f} MiB")
        print(f"pandas.read_csv(dtype=str, engine='pyarrow'): {base:.3f} s")
        print(f"read_export:                                 {ours:.3f} s  ratio {ours / base:.2f}")


if __name__ == "__main__":
    main()
