"""Benchmark the batch runner: N small papermill reports serially and with --jobs N.

Until the cohort report exists this runs a registered job kind that executes a tiny
papermill notebook (tests/fixtures/notebooks/tiny_report.ipynb), so it measures what the
batch runner adds: kernel start-up, papermill and process-pool overhead. Swap in the
``cohort`` kind with ``--kind cohort --config STUDY.yaml`` once ``mentoreval report`` is
in place.

Usage::

    python benchmarks/batch.py                 # 20 runs, serial vs --jobs 2
    python benchmarks/batch.py --runs 8 --jobs 2 --executor dask

Prints the serial and parallel wall times, their ratio (target ≤ 0.6 on 2 cores), the
time per report and the batch runner's own overhead per report (wall time not spent
inside the jobs).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import papermill as pm

from mentoreval.batch import Job, register_job_kind, run_batch

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "tests" / "fixtures" / "notebooks" / "tiny_report.ipynb"


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
    parser.add_argument("--kind", default="tiny-notebook", help="job kind to run")
    parser.add_argument("--config", type=Path, default=NOTEBOOK, help="config for --kind")
    args = parser.parse_args()

    register_job_kind("tiny-notebook", tiny_notebook_job)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)

        def jobs(mode: str) -> list[Job]:
            return [
                Job(f"{mode}-{i:03d}", args.kind, args.config, base / mode / f"r{i:03d}")
                for i in range(args.runs)
            ]

        serial, serial_busy = timed(
            jobs("serial"), n_jobs=1, executor=args.executor, log_dir=base / "logs-serial"
        )
        parallel, parallel_busy = timed(
            jobs("parallel"), n_jobs=args.jobs, executor=args.executor, log_dir=base / "logs-par"
        )

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
