"""Time the full ingest on Qualtrics-format exports of 1,000 / 10,000 / 100,000 respondents × 60 items.

For each size this prints the ingest time (read, map, recode, pseudonymise, link, check,
score, write), the time of ``pandas.read_csv(path, dtype=str, engine="pyarrow")`` on the
same file in the same run, their ratio, and the peak memory of the ingest (RSS growth in a
fresh subprocess) relative to the in-memory size of the item table.

Run: ``python benchmarks/ingest.py [--sizes 1000 10000 100000]``. Files go to a temp dir.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from mentoreval.instruments import load_instrument

INSTRUMENTS = ["cbi", "olbi", "caas_sf", "career_confidence", "who5"]  # 19+16+12+8+5 = 60 items


def write_qualtrics(path: Path, n: int, seed: int = 1) -> int:
    """Write a current-layout Qualtrics CSV (3 header rows) with n respondents; return item count."""
    rng = np.random.default_rng(seed)
    cols: dict[str, np.ndarray] = {}
    cols["StartDate"] = np.full(n, "2025-01-01 10:00:00")
    cols["EndDate"] = np.full(n, "2025-01-01 10:20:00")
    cols["Status"] = np.full(n, "0")
    cols["IPAddress"] = np.array([f"10.{i % 250}.{i // 250 % 250}.1" for i in range(n)])
    cols["Duration (in seconds)"] = rng.integers(60, 1200, n).astype(str)
    cols["Finished"] = np.full(n, "1")
    cols["ResponseId"] = np.array([f"R_{i:08d}" for i in range(n)])
    cols["student_id"] = np.array([f"{2000000 + i}" for i in range(n)])
    cols["group"] = rng.choice(["mentored", "comparison"], n)
    k = 0
    for inst_id in INSTRUMENTS:
        inst = load_instrument(inst_id)
        for item in inst.item_ids:
            codes = np.array([f"{c:g}" for c in inst.item_response_scale(item).codes])
            cols[item] = rng.choice(codes, n)
            k += 1
    frame = pd.DataFrame(cols)
    header2 = pd.DataFrame([list(frame.columns)], columns=frame.columns)
    header3 = pd.DataFrame(
        [[f'{{"ImportId":"{c}"}}' for c in frame.columns]], columns=frame.columns
    )
    pd.concat([header2, header3, frame], ignore_index=True).to_csv(path, index=False)
    return k


STUDY = """title: Benchmark
id: bench
participant_id: {column: student_id, pattern: "^[0-9]{7}$"}
sources: [{path: export.csv, format: qualtrics, wave: pre}]
columns: {group: group, meta: [StartDate, EndDate, Status, Finished, ResponseId], drop: [IPAddress],
          duration: "Duration (in seconds)", submitted_at: EndDate}
instruments: {cbi: {}, olbi: {}, caas_sf: {}, career_confidence: {}, who5: {}}
analysis: {pre: pre, post: pre}
"""

_CHILD = r"""
import json, resource, sys, time
from pathlib import Path
import pandas as pd
from mentoreval.ingest import ingest_study
study, out, mode = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
if mode == "ingest":
    res = ingest_study(study, out_dir=out, key=bytes(range(32)))
    rows = res.summary["rows_kept"]
else:
    df = pd.read_csv(study.parent / "export.csv", dtype=str, engine="pyarrow")
    rows = len(df)
sec = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": sec, "rss_growth_kb": peak - before, "rows": rows}))
"""


def _child(study: Path, out: Path, mode: str) -> dict[str, float]:
    res = subprocess.run(
        [sys.executable, "-c", _CHILD, str(study), str(out), mode],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    args = parser.parse_args()
    print(
        f"{'n':>8} {'items':>5} {'ingest s':>9} {'read_csv s':>10} {'ratio':>6} {'s/1k rows':>9} {'peak MB':>8} {'items MB':>8} {'peak/items':>10}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            folder = Path(tmp) / f"n{n}"
            folder.mkdir()
            k = write_qualtrics(folder / "export.csv", n)
            (folder / "study.yaml").write_text(STUDY)
            # read_csv in this process (warm), ingest in a fresh process (for its peak memory).
            t = time.perf_counter()
            raw = pd.read_csv(folder / "export.csv", dtype=str, engine="pyarrow")
            base = time.perf_counter() - t
            item_cols = raw.columns[-k:]
            items_mb = raw[item_cols].memory_usage(deep=True).sum() / 2**20
            del raw
            ing = _child(folder / "study.yaml", folder / "out", "ingest")
            print(
                f"{n:>8} {k:>5} {ing['seconds']:>9.2f} {base:>10.3f} {ing['seconds'] / base:>6.1f} "
                f"{ing['seconds'] / n * 1000:>9.3f} {ing['rss_growth_kb'] / 1024:>8.0f} {items_mb:>8.1f} "
                f"{ing['rss_growth_kb'] / 1024 / items_mb:>10.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
