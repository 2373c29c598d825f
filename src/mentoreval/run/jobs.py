"""Batch jobs: what one job is, its result, and the registry of runners by kind.

Run stage. A job's ``kind`` names a runner (``cohort``, ``annual``, or one registered with
:func:`register_job_kind`); runners are resolved by name in the worker process, so a worker
imports only the report modules it needs.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

from mentoreval.errors import ConfigError, Problem, raise_problems

__all__ = [
    "BatchConfig",
    "Job",
    "JobResult",
    "job_kinds",
    "register_job_kind",
    "run_annual_job",
    "run_cohort_job",
]


Executor = Literal["local", "dask"]


EXECUTORS = ("local", "dask")


SUMMARY_COLUMNS = ["job", "kind", "status", "seconds", "error", "attempts", "log"]


NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


_KIND = re.compile(r"^[a-z][a-z0-9_-]*$")


Runner = Callable[["Job"], object]


# kind → runner, or "module:function" resolved when a job of that kind runs (so worker
# processes import only what they need, and the report modules can register later).
REGISTRY: dict[str, Runner | str] = {
    "cohort": "mentoreval.run.jobs:run_cohort_job",
    "annual": "mentoreval.run.jobs:run_annual_job",
}


@dataclass(frozen=True)
class Job:
    """One report to run in a batch.

    Parameters
    ----------
    name
        Unique within the batch; letters, digits, ``_``, ``.``, ``-``. Names the log file.
    kind
        The registered runner: ``"cohort"``, ``"annual"`` or any kind added with
        :func:`register_job_kind`.
    config
        The job's configuration file (a study or annual config).
    out_dir
        Where the job writes its outputs.
    store
        The multi-year store the job's report uses instead of the project's
        ``data/store``: a cohort report's release ledger; an annual report's cohorts and
        ledger (``None``: the default). ``mentoreval demo`` keeps its own here.
    processed
        Where a cohort job's ingest writes the person-level tables instead of
        ``data/processed/<study>`` (``None``: the default).

    Examples
    --------
    >>> Job("school-a", "cohort", Path("a/study.yaml"), Path("reports/school-a")).name
    'school-a'
    """

    name: str
    kind: str
    config: Path
    out_dir: Path
    store: Path | None = None
    processed: Path | None = None


@dataclass(frozen=True)
class JobResult:
    """How one job went; a row of the :func:`run_batch` summary."""

    job: str
    kind: str
    status: Literal["ok", "failed"]
    seconds: float
    error: str
    attempts: int
    log: str

    def to_dict(self) -> dict[str, Any]:
        """The summary row as a dict with :data:`SUMMARY_COLUMNS` keys."""
        return {c: getattr(self, c) for c in SUMMARY_COLUMNS}


@dataclass(frozen=True)
class BatchConfig:
    """A validated ``batch.yaml``: the jobs and the run options (CLI flags override them)."""

    path: Path
    jobs: tuple[Job, ...]
    n_jobs: int = 1
    executor: Executor = "local"
    scheduler: str | None = None
    log_dir: Path = field(default=Path("logs"))


def register_job_kind(kind: str, runner: Runner | str) -> None:
    """Register (or replace) the runner for a job kind.

    Parameters
    ----------
    kind
        Lower-case name, e.g. ``"cohort"``.
    runner
        A top-level function ``runner(job)`` (it must be importable by name, since it
        runs in worker processes), or its ``"module:function"`` path, resolved lazily.

    Raises
    ------
    ConfigError
        The kind is malformed or the runner is not an importable top-level function.

    Examples
    --------
    >>> register_job_kind("cohort", "mentoreval.run.jobs:run_cohort_job")
    >>> "cohort" in job_kinds()
    True
    """
    problems = []
    if not isinstance(kind, str) or not _KIND.match(kind):
        problems.append(
            Problem(
                f"invalid job kind {kind!r}",
                key="kind",
                fix="use lower-case letters, digits, '_' and '-'",
            )
        )
    if isinstance(runner, str):
        if ":" not in runner:
            problems.append(
                Problem(
                    f"runner path {runner!r} lacks ':'",
                    key="runner",
                    fix="write it as 'package.module:function'",
                )
            )
    elif not callable(runner) or "<" in getattr(runner, "__qualname__", "<"):
        problems.append(
            Problem(
                f"runner {runner!r} is not a top-level function",
                key="runner",
                fix="define it at module level so worker processes can import it",
            )
        )
    raise_problems(problems, error=ConfigError, what="in register_job_kind")
    REGISTRY[kind] = runner


def run_cohort_job(job: Job) -> None:
    """Runner for ``kind: cohort``: the cohort report of ``job.config`` into ``job.out_dir``."""
    from mentoreval.report.cohort.runner import run_cohort_report

    run_cohort_report(
        job.config,
        out_dir=job.out_dir,
        pdf=True,
        progress=False,
        processed_dir=job.processed,
        store_root=job.store,
    )


def job_kinds() -> tuple[str, ...]:
    """The registered job kinds, sorted."""
    return tuple(sorted(REGISTRY))


def resolve_runner(kind: str, registry: Mapping[str, Runner | str]) -> Runner:
    if kind not in registry:
        raise ConfigError(
            f"no runner registered for job kind {kind!r}",
            (
                Problem(
                    f"unknown kind {kind!r}",
                    key="kind",
                    fix=f"use one of: {', '.join(sorted(registry))}",
                ),
            ),
        )
    runner = registry[kind]
    if not isinstance(runner, str):
        return runner
    module_name, _, attr = runner.partition(":")
    try:
        resolved = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(
            f"the runner for job kind {kind!r} ({runner}) is not available: {exc}",
            (
                Problem(
                    f"cannot import {runner}",
                    key="kind",
                    fix="install a mentoreval version that provides it, or register one",
                ),
            ),
        ) from None
    return cast(Runner, resolved)


def run_annual_job(job: Job) -> None:
    """Runner for ``kind: annual``: the annual report of ``job.config`` into ``job.out_dir``."""
    from mentoreval.report.annual.runner import run_annual_report

    run_annual_report(
        job.config, out_dir=job.out_dir, pdf=True, progress=False, store_root=job.store
    )
