"""Batch runs: many cohort and annual reports at once, on local cores or a Dask cluster.

Stage: *report*, many times over. A batch is a list of :class:`Job` s, usually read from
``batch.yaml`` by :func:`load_batch_config`. :func:`run_batch` runs them in parallel
processes (``executor="local"``) or on a ``dask.distributed`` cluster
(``executor="dask"``), with one overall progress bar, one log file per job, a retry for
Jupyter kernel start-up races, and failure isolation: a broken study is reported in the
summary and the others carry on.

Each job is executed by :func:`run_job`, a top-level (picklable) function that looks up
the job's ``kind`` in a registry of runners. Report modules register theirs with
:func:`register_job_kind`; a runner is ``runner(job) -> None`` that writes its outputs
under ``job.out_dir`` and raises on failure.

``batch.yaml``::

    n_jobs: 2                 # optional, default 1 (the CLI's --jobs wins)
    executor: local           # optional: local | dask
    scheduler: null           # optional, dask only: e.g. tcp://10.0.0.5:8786
    out_dir: reports          # optional, default "reports"; jobs default to out_dir/name
    log_dir: reports/logs     # optional, default out_dir/logs
    jobs:
      - name: school-a-2025   # letters, digits, _ . - ; unique; names the log file
        kind: cohort          # cohort | annual | any registered kind
        config: studies/school-a-2025/study.yaml
      - name: consortium-annual
        kind: annual
        config: annual.yaml
        out_dir: reports/annual

Relative paths are relative to the folder holding ``batch.yaml``.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import logging
import multiprocessing
import os
import platform
import time
import traceback
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import pandas as pd
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_random
from tqdm.auto import tqdm

from mentoreval.errors import ConfigError, Problem, raise_problems
from mentoreval.report.helper import HELPER_ENV
from mentoreval.report.runtime import redirect_output
from mentoreval.run.jobs import (
    EXECUTORS,
    NAME,
    REGISTRY,
    SUMMARY_COLUMNS,
    Executor,
    Job,
    JobResult,
    Runner,
    resolve_runner,
)
from mentoreval.safefs import mark_container

__all__ = ["format_batch_summary", "is_kernel_startup_race", "run_batch", "run_job"]

RETRY_ATTEMPTS = 3


log = logging.getLogger(__name__)

# Never plain "fork": forking a process that already runs threads (DuckDB, Jupyter, tqdm)
# can deadlock, and Python 3.12+ warns about it. A fork server (POSIX) that has imported
# this module once starts workers in milliseconds; Windows has only "spawn".
_MP_CONTEXT: multiprocessing.context.BaseContext
if "forkserver" in multiprocessing.get_all_start_methods():
    _forkserver = multiprocessing.get_context("forkserver")
    _forkserver.set_forkserver_preload(["mentoreval.run.batch"])
    _MP_CONTEXT = _forkserver
else:  # pragma: no cover - Windows
    _MP_CONTEXT = multiprocessing.get_context("spawn")


def is_kernel_startup_race(exc: BaseException) -> bool:
    """Whether ``exc`` (or its cause) is a Jupyter kernel start-up race worth retrying.

    True for ``RuntimeError: Kernel didn't respond ...``, zmq ``Address already in use``
    (two kernels picked the same port), and a ``DeadKernelError`` raised while the
    kernel was starting rather than while a cell ran. Anything else — a cell error, bad
    data — fails the job at once.

    Examples
    --------
    >>> is_kernel_startup_race(RuntimeError("Kernel didn't respond in 60 seconds"))
    True
    >>> is_kernel_startup_race(ValueError("no such column 'wave'"))
    False
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        message = str(current)
        name = type(current).__name__
        if "Kernel didn't respond" in message or "Kernel died before replying" in message:
            return True
        if "Address already in use" in message and (
            name == "ZMQError" or "zmq" in message or "ZMQ" in name
        ):
            return True
        if name == "DeadKernelError":
            frames = {f.name for f in traceback.extract_tb(current.__traceback__)}
            starting = {
                "start_new_kernel",
                "async_start_new_kernel",
                "start_new_kernel_client",
                "async_start_new_kernel_client",
                "wait_for_ready",
                "_async_wait_for_ready",
            }
            if frames & starting and not frames & {
                "execute_cell",
                "async_execute_cell",
                "papermill_execute_cells",
            }:
                return True
        current = current.__cause__ or current.__context__
    return False


def job_environment() -> dict[str, str]:
    """The ``MENTOREVAL_*`` variables of this process, to hand to every job, and
    ``MENTOREVAL_HELPER=0``: the batch's workers use the cores, so neither a job nor the
    notebook kernels it starts spawn helper processes of their own."""
    env = {k: v for k, v in os.environ.items() if k.startswith("MENTOREVAL_")}
    return {**env, HELPER_ENV: "0"}


@contextlib.contextmanager
def _environment(env: Mapping[str, str] | None) -> Iterator[None]:
    """Set ``env`` for the duration of a job, then restore what was there."""
    saved = {k: os.environ.get(k) for k in env or {}}
    os.environ.update(env or {})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_job(
    job: Job,
    *,
    log_dir: str | os.PathLike[str] | None = None,
    registry: Mapping[str, Runner | str] | None = None,
    env: Mapping[str, str] | None = None,
) -> JobResult:
    """Run one job in this process and report how it went; never raises for job errors.

    Parameters
    ----------
    job
        The job.
    log_dir
        Folder for the job's log ``<name>.log`` (logging records, retries, the full
        traceback of a failure); no log file when None.
    registry
        kind → runner; default the module registry. :func:`run_batch` passes a snapshot,
        so kinds registered in the parent also work in spawned or remote workers.
    env
        ``MENTOREVAL_*`` environment variables to set while the job runs: pool and Dask
        workers may have started before the caller set them (e.g. the key file).

    Returns
    -------
    JobResult
        ``status`` ``"ok"`` or ``"failed"`` with the error as ``Type: message``.

    Examples
    --------
    >>> job = Job("x", "no-such-kind", Path("x.yaml"), Path("out"))
    >>> result = run_job(job)
    >>> result.status, result.error.split(":")[0]
    ('failed', 'ConfigError')
    """
    started = time.perf_counter()
    log_path = Path(log_dir) / f"{job.name}.log" if log_dir is not None else None
    handler: logging.Handler | None = None
    root = logging.getLogger()
    old_level = root.level
    quiet: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_text("", encoding="utf-8")
        # append mode: the records and the redirected kernel output share the file
        handler = logging.FileHandler(log_path, mode="a", encoding="utf-8")
        if multiprocessing.parent_process() is not None:
            # a batch worker: the kernel's stderr goes to the job log, not the terminal
            quiet = redirect_output(log_path)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
        root.setLevel(min(old_level or logging.INFO, logging.INFO))
    attempts = 0
    error = ""
    try:
        log.info(
            "job %s (kind %s) config=%s out_dir=%s host=%s pid=%d",
            job.name,
            job.kind,
            job.config,
            job.out_dir,
            platform.node(),
            os.getpid(),
        )
        runner = resolve_runner(job.kind, REGISTRY if registry is None else registry)
        retrying = Retrying(
            stop=stop_after_attempt(RETRY_ATTEMPTS),
            wait=wait_random(0.2, 1.5),
            retry=retry_if_exception(is_kernel_startup_race),
            before_sleep=lambda state: log.warning(
                "kernel start-up race on attempt %d (%s); retrying",
                state.attempt_number,
                state.outcome.exception() if state.outcome else "",
            ),
            reraise=True,
        )
        with quiet, _environment(env):
            for attempt in retrying:
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    runner(job)
        status: Literal["ok", "failed"] = "ok"
    except Exception as exc:  # failure isolation: one job must not stop a batch
        status = "failed"
        error = f"{type(exc).__name__}: {exc}".strip()
        log.error("job %s failed:\n%s", job.name, traceback.format_exc())
    finally:
        seconds = time.perf_counter() - started
        log.info("job %s %s in %.2f s", job.name, "finished" if not error else "failed", seconds)
        if handler is not None:
            root.removeHandler(handler)
            handler.close()
            root.setLevel(old_level)
    return JobResult(
        job.name,
        job.kind,
        status,
        round(seconds, 3),
        error,
        max(attempts, 1),
        str(log_path) if log_path else "",
    )


def run_batch(
    jobs: Sequence[Job],
    *,
    n_jobs: int = 1,
    executor: Executor = "local",
    scheduler: str | None = None,
    log_dir: str | os.PathLike[str],
    progress: bool = True,
) -> pd.DataFrame:
    """Run jobs in parallel with failure isolation; return the summary table.

    Parameters
    ----------
    jobs
        The jobs (names must be unique).
    n_jobs
        Parallel worker processes (local), or workers of the LocalCluster started when
        ``executor="dask"`` and no ``scheduler`` is given.
    executor
        ``"local"``: a :class:`concurrent.futures.ProcessPoolExecutor` on this machine.
        ``"dask"``: ``dask.distributed`` — the path for a consortium that outgrows one
        machine; workers need mentoreval installed and the configs, outputs and
        ``log_dir`` on storage they share.
    scheduler
        Dask scheduler address (``tcp://host:8786``); None starts a LocalCluster.
    log_dir
        Folder for one log per job (``<name>.log``) and ``summary.csv``.
    progress
        Show one overall progress bar (on stderr).

    Returns
    -------
    pandas.DataFrame
        One row per job, in the given order: ``job``, ``kind``, ``status`` (``"ok"`` or
        ``"failed"``), ``seconds``, ``error`` (``""`` when ok), ``attempts``, ``log``.
        The CLI exits non-zero when any status is ``"failed"``.

    Raises
    ------
    ConfigError
        Invalid options or duplicate job names (all problems listed).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     summary = run_batch([Job("a", "no-such-kind", Path("a.yaml"), Path(tmp))],
    ...                         log_dir=tmp, progress=False)
    >>> summary[["job", "status"]]
      job  status
    0   a  failed
    """
    jobs = list(jobs)
    _check_batch_options(jobs, n_jobs=n_jobs, executor=executor, scheduler=scheduler)
    # Logs are written (and summary.csv replaced) only in a folder that is mentoreval's.
    log_path = mark_container(
        log_dir, kind="batch logs", protected=[j.config for j in jobs], key="log_dir"
    )
    registry = dict(REGISTRY)
    if executor == "dask":
        results = _run_dask(
            jobs,
            env=job_environment(),
            n_jobs=n_jobs,
            scheduler=scheduler,
            log_dir=log_path,
            registry=registry,
            progress=progress,
        )
    else:
        results = _run_local(
            jobs,
            env=job_environment(),
            n_jobs=n_jobs,
            log_dir=log_path,
            registry=registry,
            progress=progress,
        )
    summary = pd.DataFrame([results[j.name].to_dict() for j in jobs], columns=SUMMARY_COLUMNS)
    summary["seconds"] = summary["seconds"].astype("float64")
    summary["attempts"] = summary["attempts"].astype("int64")
    summary.to_csv(log_path / "summary.csv", index=False)
    return summary


def format_batch_summary(summary: pd.DataFrame) -> str:
    """The summary as plain text for a terminal, failures last, with a count line.

    Examples
    --------
    >>> s = pd.DataFrame({"job": ["a", "b"], "kind": ["cohort"] * 2,
    ...                   "status": ["ok", "failed"], "seconds": [1.234, 0.5],
    ...                   "error": ["", "ValueError: bad"], "attempts": [1, 1], "log": ["", ""]})
    >>> print(format_batch_summary(s))
    job  kind    status  seconds  error
    a    cohort  ok          1.2
    b    cohort  failed      0.5  ValueError: bad
    1 of 2 jobs failed
    """
    table = summary[["job", "kind", "status", "seconds", "error"]].copy()
    table["seconds"] = table["seconds"].map(lambda s: f"{s:.1f}")
    table["error"] = table["error"].map(lambda e: e.splitlines()[0][:120] if e else "")
    table = table.sort_values("status", key=lambda s: s.eq("failed"), kind="stable")
    widths = {c: max(len(c), *(len(str(v)) for v in table[c])) for c in table.columns}
    lines = []
    rows: list[dict[Any, Any]] = [{c: c for c in table.columns}, *table.to_dict("records")]
    for values in rows:
        cells = [
            str(values[c]).rjust(widths[c]) if c == "seconds" else str(values[c]).ljust(widths[c])
            for c in table.columns
        ]
        lines.append("  ".join(cells).rstrip())
    n_failed = int(summary["status"].eq("failed").sum())
    lines.append(
        f"{n_failed} of {len(summary)} jobs failed"
        if n_failed
        else f"all {len(summary)} jobs succeeded"
    )
    return "\n".join(lines)


# --- internals -------------------------------------------------------------------------


def _check_batch_options(
    jobs: Sequence[Job], *, n_jobs: int, executor: str, scheduler: str | None
) -> None:
    problems = []
    if executor not in EXECUTORS:
        problems.append(
            Problem(
                f"unknown executor {executor!r}",
                key="executor",
                fix=f"use one of: {', '.join(EXECUTORS)}",
            )
        )
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
        problems.append(Problem(f"n_jobs must be a whole number ≥ 1, got {n_jobs!r}", key="n_jobs"))
    if scheduler is not None and executor != "dask":
        problems.append(Problem("a scheduler address needs executor='dask'", key="scheduler"))
    seen: set[str] = set()
    for job in jobs:
        if not isinstance(job, Job):
            problems.append(Problem(f"not a Job: {job!r}", key="jobs"))
            continue
        if job.name in seen:
            problems.append(
                Problem(
                    f"duplicate job name {job.name!r}",
                    key="jobs",
                    fix="give every job its own name (it names the log file)",
                )
            )
        if not NAME.match(job.name):
            problems.append(
                Problem(
                    f"invalid job name {job.name!r}",
                    key="jobs",
                    fix="letters, digits, '_', '.', '-'",
                )
            )
        seen.add(job.name)
    raise_problems(problems, error=ConfigError, what="in batch options")


def _failed(job: Job, exc: BaseException, log_dir: Path, seconds: float = 0.0) -> JobResult:
    """A result for a job whose worker died (no JobResult came back)."""
    error = f"{type(exc).__name__}: worker process died ({exc})"
    log_path = log_dir / f"{job.name}.log"
    with log_path.open("a", encoding="utf-8") as handle:
        handle.write(f"{datetime.now(UTC).isoformat()} ERROR batch: {error}\n")
    return JobResult(job.name, job.kind, "failed", round(seconds, 3), error, 1, str(log_path))


class _Progress:
    """One overall progress bar, counting failures in its postfix."""

    def __init__(self, total: int, *, enabled: bool, desc: str) -> None:
        self.bar = tqdm(total=total, desc=desc, unit="job", disable=not enabled, dynamic_ncols=True)
        self.failed = 0

    def update(self, result: JobResult) -> None:
        self.failed += result.status == "failed"
        self.bar.set_postfix(failed=self.failed, refresh=False)
        self.bar.update(1)

    def __enter__(self) -> _Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.bar.close()


def _run_local(
    jobs: list[Job],
    *,
    env: Mapping[str, str],
    n_jobs: int,
    log_dir: Path,
    registry: dict[str, Runner | str],
    progress: bool,
) -> dict[str, JobResult]:
    results: dict[str, JobResult] = {}
    crashed: list[Job] = []
    with _Progress(len(jobs), enabled=progress, desc="batch") as bar:
        with cf.ProcessPoolExecutor(
            max_workers=min(n_jobs, max(len(jobs), 1)), mp_context=_MP_CONTEXT
        ) as pool:
            futures = {
                pool.submit(run_job, job, log_dir=log_dir, registry=registry, env=env): job
                for job in jobs
            }
            for future in cf.as_completed(futures):
                job = futures[future]
                try:
                    results[job.name] = future.result()
                except cf.process.BrokenProcessPool:
                    crashed.append(job)  # can't tell which job killed the pool: rerun alone
                    continue
                bar.update(results[job.name])
        # A worker that dies (segfault, out of memory) breaks the whole pool; rerun each
        # affected job in its own process so only the culprit fails.
        for job in sorted(crashed, key=jobs.index):
            started = time.perf_counter()
            with cf.ProcessPoolExecutor(max_workers=1, mp_context=_MP_CONTEXT) as alone:
                try:
                    results[job.name] = alone.submit(
                        run_job, job, log_dir=log_dir, registry=registry, env=env
                    ).result()
                except cf.process.BrokenProcessPool as exc:
                    results[job.name] = _failed(job, exc, log_dir, time.perf_counter() - started)
            bar.update(results[job.name])
    return results


def _run_dask(
    jobs: list[Job],
    *,
    env: Mapping[str, str],
    n_jobs: int,
    scheduler: str | None,
    log_dir: Path,
    registry: dict[str, Runner | str],
    progress: bool,
) -> dict[str, JobResult]:
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=n_jobs, threads_per_worker=1, processes=True, dashboard_address=None
        )
    results: dict[str, JobResult] = {}
    try:
        with Client(cluster if cluster is not None else scheduler) as client:
            futures = client.map(
                run_job,
                jobs,
                log_dir=log_dir,
                registry=registry,
                env=env,
                pure=False,
                key=[f"mentoreval-{j.name}-{os.urandom(4).hex()}" for j in jobs],
            )
            by_key = {f.key: job for f, job in zip(futures, jobs, strict=True)}
            with _Progress(len(jobs), enabled=progress, desc="batch (dask)") as bar:
                for future in as_completed(futures):
                    job = by_key[future.key]
                    try:
                        results[job.name] = future.result()
                    except Exception as exc:  # e.g. KilledWorker: isolate it
                        results[job.name] = _failed(job, exc, log_dir)
                    bar.update(results[job.name])
    finally:
        if cluster is not None:
            cluster.close()
    return results
