"""Benchmark the batch runner: 20 real cohort reports serially and with --jobs 2.

Each run is a full ``mentoreval report`` (ingest, analysis, papermill template, HTML,
PDF, egress scan) of one of the six demo studies, copied to its own folder (so every
report has its own processed data) and repeated until ``--runs`` reports exist. A
throw-away pseudonymisation key is generated for the run.

Usage::

    python benchmarks/batch.py                      # 20 cohort reports, serial vs --jobs 2
    python benchmarks/batch.py --runs 6 --executor dask
    python benchmarks/batch.py --kind annual        # annual reports of the peer demo years
    python benchmarks/batch.py --kind tiny-notebook # the runner's own overhead only

With ``--repeat N`` serial and parallel runs alternate N times and medians are kept.
Prints the serial and parallel wall times, their ratio (target ≤ 0.6 on 2 cores), the
time per report and the batch runner's own overhead per report (wall time not spent
inside the jobs).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import papermill as pm

from mentoreval.run.batch import run_batch
from mentoreval.run.jobs import Job, register_job_kind

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "tests" / "fixtures" / "notebooks" / "tiny_report.ipynb"
DEMO = REPO / "data" / "demo"
STUDIES = [f"{p}/{y}" for p in ("peer", "faculty") for y in (2023, 2024, 2025)]


def job_configs(kind: str, runs: int, base: Path, mode: str) -> list[Path]:
    """One config per run: copies of the demo studies (cohort), annual configs over the
    peer demo years with their own store (annual), or the tiny notebook."""
    configs = []
    for i in range(runs):
        folder = base / mode / "configs" / f"r{i:03d}"
        if kind == "cohort":
            shutil.copytree(DEMO / STUDIES[i % len(STUDIES)], folder)
            configs.append(folder / "study.yaml")
        elif kind == "annual":
            folder.mkdir(parents=True)
            studies = "".join(
                f"  - {DEMO / 'peer' / str(y) / 'study.yaml'}\n" for y in (2023, 2024, 2025)
            )
            (folder / "annual.yaml").write_text(
                f"title: Peer annual\nprogramme: peer\nstore: store\nstudies:\n{studies}"
            )
            configs.append(folder / "annual.yaml")
        else:
            configs.append(NOTEBOOK)
    return configs


def tiny_notebook_job(job: Job) -> None:
    """Execute the tiny report notebook into the job's output folder."""
    job.out_dir.mkdir(parents=True, exist_ok=True)
    pm.execute_notebook(
        str(NOTEBOOK),
        str(job.out_dir / f"{job.name}.ipynb"),
        parameters={"name": job.name, "out_dir": str(job.out_dir)},
        kernel_name="python3",
        progress_bar=False,
    )


def timed(jobs: list[Job], *, n_jobs: int, executor: str, log_dir: Path) -> tuple[float, float]:
    """Wall seconds and the sum of the jobs' own seconds; prints any start-up retries."""
    start = time.perf_counter()
    summary = run_batch(jobs, n_jobs=n_jobs, executor=executor, log_dir=log_dir, progress=False)  # type: ignore[arg-type]
    wall = time.perf_counter() - start
    failed = summary[summary["status"] != "ok"]
    if len(failed):
        raise SystemExit(f"benchmark jobs failed:\n{failed.to_string()}")
    retries = int((summary["attempts"] - 1).sum())
    if retries:
        print(f"(n_jobs={n_jobs}: {retries} kernel start-up race(s) retried)")
    return wall, float(summary["seconds"].sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="reports per mode (default 20)")
    parser.add_argument("--jobs", type=int, default=2, help="parallel workers (default 2)")
    parser.add_argument("--executor", choices=["local", "dask"], default="local")
    parser.add_argument(
        "--repeat", type=int, default=1, help="serial/parallel pairs, alternating (medians kept)"
    )
    parser.add_argument(
        "--kind", default="cohort", help="cohort (default), annual or tiny-notebook"
    )
    args = parser.parse_args()

    register_job_kind("tiny-notebook", tiny_notebook_job)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        from mentoreval.ingest.protect import keygen

        keygen(base / "keys" / "bench.key")
        os.environ["MENTOREVAL_KEY_FILE"] = str(base / "keys" / "bench.key")

        def jobs(mode: str) -> list[Job]:
            configs = job_configs(args.kind, args.runs, base, mode)
            return [
                Job(f"{mode}-{i:03d}", args.kind, config, base / mode / "out" / f"r{i:03d}")
                for i, config in enumerate(configs)
            ]

        runs: dict[str, list[tuple[float, float]]] = {"serial": [], "parallel": []}
        for r in range(args.repeat):
            for mode, n_jobs in (("serial", 1), ("parallel", args.jobs)):
                shutil.rmtree(base / mode, ignore_errors=True)
                runs[mode].append(
                    timed(jobs(mode), n_jobs=n_jobs, executor=args.executor,
                          log_dir=base / f"logs-{mode}-{r}")
                )  # fmt: skip
    serial, serial_busy = (statistics.median(x) for x in zip(*runs["serial"], strict=True))
    parallel, parallel_busy = (statistics.median(x) for x in zip(*runs["parallel"], strict=True))
    if args.repeat > 1:
        for mode, values in runs.items():
            print(f"{mode:8s} runs: " + ", ".join(f"{w:.1f}" for w, _ in values) + " s")
    ratio = parallel / serial
    print(f"reports per mode     {args.runs}  (kind {args.kind}, executor {args.executor})")
    print(f"serial   (--jobs 1)  {serial:7.2f} s   {serial / args.runs:5.2f} s/report")
    print(
        f"parallel (--jobs {args.jobs})  {parallel:7.2f} s   {parallel / args.runs:5.2f} s/report"
    )
    print(
        f"ratio parallel/serial {ratio:6.2f}   (target <= 0.60) {'OK' if ratio <= 0.6 else 'MISSED'}"
    )
    print(f"per-report time inside the job (serial)      {serial_busy / args.runs:5.2f} s")
    print(
        f"per-report batch overhead (serial wall - job) {(serial - serial_busy) / args.runs:5.3f} s"
    )
    print(f"per-report time inside the job (parallel)    {parallel_busy / args.runs:5.2f} s")


if __name__ == "__main__":
    main()
