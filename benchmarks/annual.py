"""Time the consortium annual report over many stored cohorts, as a fresh process.

A consortium is generated with :mod:`mentoreval.synth`: ``--sites`` sites (each a cohort
label) times ``--years`` academic years, ``--students`` students per cohort (default
40 x 5 x 250 = 200 cohorts, 50,000 students). Each cohort is written as exports, ingested
and filed in a temporary store (not timed). Then ``mentoreval annual`` runs as a fresh
process (``studies: all``: everything the store holds, HTML + PDF + Word + brief) and its
wall seconds and peak memory are printed: the largest resident set of any process of the
run (the CLI or its notebook kernel), from ``wait4``.

    .venv/bin/python benchmarks/annual.py                       # 200 cohorts
    .venv/bin/python benchmarks/annual.py --scales 50,100,200   # memory against data size

With ``--scales`` the report is run on the first 50, 100, ... cohorts of the same store
(a store per scale, the same cohorts), so the memory column shows how memory grows with
the data. Target: 200 cohorts in <= 60 s, memory growing no faster than the data.

    .venv/bin/python benchmarks/annual.py --keep /tmp/consortium  # build once, then reuse

``--keep DIR`` builds the consortium in ``DIR`` (kept afterwards) or, if ``DIR`` already
holds one, reuses it (building 200 cohorts takes about a minute; the report is timed).
``DIR`` must be empty or one this benchmark made: its ``out-*`` and ``store-*`` folders
are replaced on each run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PROGRAMME = "consortium"
FIRST_YEAR = 2021


def _cohort(args: tuple[int, int, int, Path, Path]) -> str:
    """Generate, ingest and store one site-year; returns ``site/year``."""
    from mentoreval.config.study import load_study
    from mentoreval.ingest.pipeline import ingest_study
    from mentoreval.store.cohorts import store_cohort
    from mentoreval.synth.cohort import generate_cohort
    from mentoreval.synth.spec import CohortSpec
    from mentoreval.synth.studyconfig import study_config, write_study_config
    from mentoreval.synth.writers import write_exports

    index, n_students, n_sites, base, key = args
    site, year = f"site{index % n_sites:02d}", FIRST_YEAR + index // n_sites
    spec = CohortSpec(
        n_students=n_students, seed=1000 + index, design="comparison", programme=PROGRAMME,
        cohort=site, year=year,
    )  # fmt: skip
    cohort = generate_cohort(spec)
    folder = base / "studies" / f"{year}-{site}"
    exports = write_exports(cohort, folder / "exports")
    config = study_config(cohort, exports, config_dir=folder, key_file=str(key))
    path = write_study_config(config, folder / "study.yaml")
    study = load_study(path)
    store_cohort(ingest_study(path, write=False), study, base / "store", echo=False)
    return f"{site}/{year}"


def build_store(base: Path, n: int, n_students: int, n_sites: int, workers: int) -> None:
    """``n`` stored cohorts in ``base / "store"`` (site-major within each year)."""
    key = base / "keys" / "bench.key"
    from mentoreval.ingest.keys import keygen

    keygen(key)
    jobs = [(i, n_students, n_sites, base, key) for i in range(n)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for done, _ in enumerate(pool.map(_cohort, jobs), 1):
            if done % 20 == 0 or done == n:
                print(f"  stored {done}/{n} cohorts", file=sys.stderr)


def subset_store(store: Path, target: Path, n: int, n_sites: int) -> Path:
    """A copy of ``store`` holding only its first ``n`` cohorts (the same files)."""
    from mentoreval.store.layout import manifest_file, partition_path

    if target.exists():
        shutil.rmtree(target)  # this benchmark's own copy from an earlier run (--keep)
    shutil.copytree(store, target)
    for index in range(n, 9999):
        site, year = f"site{index % n_sites:02d}", FIRST_YEAR + index // n_sites
        manifest = manifest_file(target, partition_path(PROGRAMME, site, year))
        if not manifest.exists():
            break
        manifest.unlink()  # readers ignore a cohort without its manifest
    return target


def run_annual(base: Path, store: Path, out: Path) -> tuple[float, float, str]:
    """Wall seconds, peak resident MiB of any process of the run, and its stderr tail."""
    config = base / f"annual-{store.name}.yaml"
    config.write_text(
        f"title: Consortium annual report\nprogramme: {PROGRAMME}\nstore: {store}\nstudies: all\n",
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mentoreval", "annual", str(config), "--out", str(out)],
        cwd=base, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - start
    # ru_maxrss of the children: the largest resident set among the process and the
    # processes it waited for (the kernel), in KiB on Linux
    import resource

    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if proc.returncode != 0:
        raise SystemExit(f"annual report failed ({proc.returncode}):\n{stdout}\n{stderr}")
    return wall, peak, stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=40)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--students", type=int, default=250, help="per cohort (default 250)")
    parser.add_argument("--scales", default="", help="e.g. 50,100,200: cohorts per run")
    parser.add_argument("--workers", type=int, default=2, help="processes building the store")
    parser.add_argument("--keep", type=Path, help="build the consortium here once, then reuse it")
    args = parser.parse_args()
    total = args.sites * args.years
    scales = [int(s) for s in args.scales.split(",") if s] or [total]
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        built_marks = "built-*"
        if args.keep is not None:
            base = args.keep.resolve()
            base.mkdir(parents=True, exist_ok=True)
            if any(base.iterdir()) and not any(base.glob(built_marks)):
                raise SystemExit(f"--keep {base}: not empty and not made by this benchmark")
        built = base / f"built-{max(scales)}x{args.students}"
        start = time.perf_counter()
        if built.is_file():
            print(f"reusing the store of {max(scales)} cohorts in {base}")
        else:
            build_store(base, max(scales), args.students, args.sites, args.workers)
            built.touch()
            print(f"store of {max(scales)} cohorts built in {time.perf_counter() - start:.0f} s")
        for old in base.glob("out-*"):
            shutil.rmtree(old)  # this benchmark's own earlier reports
        rows = []
        for n in scales:
            store = base / "store"
            if n < max(scales):
                store = subset_store(store, base / f"store-{n}", n, args.sites)
            # a fresh interpreter per run, so the children's peak is this run's alone
            wall, peak, _ = _isolated(base, store, base / f"out-{n}")
            rows.append((n, wall, peak))
    print(f"consortium: {args.sites} sites x {args.years} years, {args.students} students/cohort")
    print("cohorts  students   seconds   peak MiB   MiB per 1,000 students")
    for n, wall, peak in rows:
        students = n * args.students
        print(f"{n:7d}  {students:8d}  {wall:8.1f}  {peak:9.0f}  {1000 * peak / students:10.1f}")
    n, wall, _ = rows[-1]
    print(f"annual report, {n} cohorts: {wall:.1f} s (target <= 60 s)")


def _isolated(base: Path, store: Path, out: Path) -> tuple[float, float, str]:
    """:func:`run_annual` in a helper interpreter, so ``RUSAGE_CHILDREN`` covers one run."""
    code = (
        "import sys, json; sys.path.insert(0, sys.argv[1]); import annual; from pathlib import Path; "
        "print(json.dumps(annual.run_annual(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(Path(__file__).parent), str(base), str(store), str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(done.stdout + done.stderr)
    import json

    wall, peak, stderr = json.loads(done.stdout.strip().splitlines()[-1])
    return float(wall), float(peak), str(stderr)


if __name__ == "__main__":
    main()
