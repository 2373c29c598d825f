"""Time the full ingest on Qualtrics-format exports of 1,000 / 10,000 / 100,000 respondents × 60 items.

For each size this prints, each measured ``--repeat`` times (best and median):

* ``pandas.read_csv(path, dtype=str, engine="pyarrow")`` of the same file (the floor), in a
  fresh subprocess like the ingest (the ratios use this one), and in this warm process;
* the ingest **without writing** (read, map, recode, pseudonymise, link, check, score:
  ``ingest_study(..., write=False)``) and its ratio to read_csv;
* the ingest **with writing** the outputs (Parquet + CSV + manifest) and its ratio;
* where the ingest without writing spends its time, by stage (from the manifest's
  ``seconds_by_stage``);
* the peak memory of the ingest with writing: growth of the peak RSS of a fresh
  subprocess (Linux ``VmHWM``, reset after imports) over its RSS after imports, relative to
  the **item table**, defined as the wide float64 item matrix (respondents × items × 8
  bytes). (``ru_maxrss`` is not used on Linux: a child started from a larger process
  inherits that process's peak in it, which hid most of the ingest's growth.)

Every ingest runs in its own subprocess (so peaks do not carry over).

Run: ``python benchmarks/ingest.py [--sizes 1000 10000 100000] [--repeat 3]``. Files go to a
temp dir. Targets: ratio ≤ 3 at 100,000; peak ≤ 4 × the item table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mentoreval.instruments.definitions import load_instrument

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
import pyarrow.parquet, scipy.stats  # imported before measuring: library code, not data
from mentoreval.ingest.pipeline import ingest_study

def status_kb(field):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)

study, out, mode = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
try:  # the peak of this process's own memory, from now (Linux: VmHWM after a reset)
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    base, peak_of = status_kb("VmRSS"), lambda: status_kb("VmHWM")
except OSError:  # no /proc: ru_maxrss, which may include the parent's peak
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak_of = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
stages = {}
if mode in ("ingest", "ingest_nowrite"):
    res = ingest_study(study, out_dir=out, key=bytes(range(32)), write=mode == "ingest")
    rows = res.summary["rows_kept"]
    stages = res.manifest["seconds_by_stage"]
else:
    df = pd.read_csv(study.parent / "export.csv", dtype=str, engine="pyarrow")
    rows = len(df)
sec = time.perf_counter() - t
print(json.dumps({"seconds": sec, "rss_growth_kb": max(peak_of() - base, 0), "rows": rows,
                  "stages": stages}))
"""


def _child(study: Path, out: Path, mode: str) -> dict[str, Any]:
    res = subprocess.run(
        [sys.executable, "-c", _CHILD, str(study), str(out), mode],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(res.stdout.strip().splitlines()[-1])


def _fmt(xs: list[float]) -> str:
    return f"{min(xs):.2f}/{float(np.median(xs)):.2f}"


def _ratio(xs: list[float], base: list[float]) -> str:
    return f"{min(xs) / min(base):.1f}/{float(np.median(xs)) / float(np.median(base)):.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(
        "item table = respondents × items × 8 bytes (wide float64 matrix); peak = RSS growth "
        "of the ingest with writing in a fresh process (read_csv's own peak for comparison); "
        f"times: best / median of {args.repeat}"
    )
    print(
        f"{'n':>8} {'read_csv s':>12} {'(warm)':>12} {'no-write s':>13} {'ratio':>11} "
        f"{'write s':>13} {'ratio':>11} {'peak MB':>9} {'items MB':>8} {'peak/items':>11} "
        f"{'read_csv peak/items':>20}"
    )
    stages_by_size: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            folder = Path(tmp) / f"n{n}"
            folder.mkdir()
            k = write_qualtrics(folder / "export.csv", n)
            (folder / "study.yaml").write_text(STUDY)
            items_mb = n * k * 8 / 2**20
            base: list[float] = []
            warm: list[float] = []
            plain: list[float] = []
            full: list[float] = []
            peaks: list[float] = []
            csv_peaks: list[float] = []
            best_stages: dict[str, float] = {}
            for _ in range(args.repeat):
                t = time.perf_counter()
                pd.read_csv(folder / "export.csv", dtype=str, engine="pyarrow")
                warm.append(time.perf_counter() - t)
                csv = _child(folder / "study.yaml", folder / "out", "read_csv")
                base.append(csv["seconds"])
                csv_peaks.append(csv["rss_growth_kb"] / 1024)
                dry = _child(folder / "study.yaml", folder / "out", "ingest_nowrite")
                if not plain or dry["seconds"] < min(plain):
                    best_stages = dry["stages"]
                plain.append(dry["seconds"])
                res = _child(folder / "study.yaml", folder / "out", "ingest")
                full.append(res["seconds"])
                peaks.append(res["rss_growth_kb"] / 1024)
            b_best, b_med = min(base), float(np.median(base))

            print(
                f"{n:>8} {b_best:>5.3f}/{b_med:<6.3f} {min(warm):>5.3f}/{float(np.median(warm)):<6.3f} "
                f"{_fmt(plain):>13} {_ratio(plain, base):>11} "
                f"{_fmt(full):>13} {_ratio(full, base):>11} {min(peaks):>9.0f} {items_mb:>8.1f} "
                f"{min(peaks) / items_mb:>5.1f}/{float(np.median(peaks)) / items_mb:<5.1f} "
                f"{min(csv_peaks) / items_mb:>20.1f}",
                flush=True,
            )
            stages_by_size[n] = best_stages
    print("\nwhere the ingest without writing spends its time (fastest run; seconds):")
    sizes = list(stages_by_size)
    print(f"{'stage':<28}" + "".join(f"{n:>10}" for n in sizes))
    for stage in stages_by_size[sizes[-1]]:
        print(f"{stage:<28}" + "".join(f"{stages_by_size[n].get(stage, 0):>10.3f}" for n in sizes))


if __name__ == "__main__":
    main()
