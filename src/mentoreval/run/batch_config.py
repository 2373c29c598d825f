"""The batch config (``batch.yaml``): jobs, workers, executor and log folder, strictly validated.

Run stage: a job's kind is checked against the registered runners
(:func:`mentoreval.run.jobs.job_kinds`), so this lives beside them rather than in
:mod:`mentoreval.config`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import yaml

from mentoreval.errors import ConfigError, Problem, raise_problems
from mentoreval.run.jobs import (
    EXECUTORS,
    NAME,
    BatchConfig,
    Executor,
    Job,
    job_kinds,
)

__all__ = ["load_batch_config"]


def load_batch_config(path: str | os.PathLike[str]) -> BatchConfig:
    """Read and strictly validate ``batch.yaml``, reporting every problem at once.

    Parameters
    ----------
    path
        The YAML file (format in the module docstring). Relative paths inside it are
        relative to its folder.

    Returns
    -------
    BatchConfig

    Raises
    ------
    ConfigError
        Unreadable YAML, unknown keys, missing or wrong-typed values, unknown kinds,
        duplicate names, or job config files that do not exist — all listed with their
        key (``jobs[2].config``).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     base = Path(tmp)
    ...     _ = (base / "a.yaml").write_text("title: A")
    ...     _ = (base / "batch.yaml").write_text(
    ...         "n_jobs: 2\\njobs:\\n  - {name: a, kind: cohort, config: a.yaml}\\n")
    ...     config = load_batch_config(base / "batch.yaml")
    ...     print(config.n_jobs, config.jobs[0].config == base / "a.yaml",
    ...           config.jobs[0].out_dir == base / "reports" / "a")
    2 True True
    """
    path = Path(path)
    data = _read_mapping(path)
    check = _Checker(str(path), path.parent)
    check.unknown_keys(data, _KEYS, prefix="")
    n_jobs = _n_jobs(data, check)
    executor = _executor(data, check)
    scheduler = _scheduler(data, executor, check)
    out_dir = check.path("out_dir", data.get("out_dir"), check.base / "reports")
    log_dir = check.path("log_dir", data.get("log_dir"), out_dir / "logs")
    jobs = _jobs(data, out_dir, check)
    raise_problems(check.problems, error=ConfigError, what=f"in {path}")
    return BatchConfig(path, tuple(jobs), n_jobs, cast(Executor, executor), scheduler, log_dir)


_KEYS = {"n_jobs", "executor", "scheduler", "out_dir", "log_dir", "jobs"}
_JOB_KEYS = {"name", "kind", "config", "out_dir"}


@dataclass
class _Checker:
    """The problems found so far in one batch file, and its folder (paths start there)."""

    file: str
    base: Path
    problems: list[Problem] = field(default_factory=list)

    def add(self, message: str, key: str, fix: str | None = None) -> None:
        self.problems.append(Problem(message, file=self.file, key=key, fix=fix))

    def unknown_keys(self, mapping: dict[Any, Any], allowed: set[str], *, prefix: str) -> None:
        for key in mapping:
            if key not in allowed:
                self.add(
                    f"unknown key {key!r}",
                    f"{prefix}{key}",
                    fix=f"use only: {', '.join(sorted(allowed))}",
                )

    def path(self, key: str, value: object, default: Path) -> Path:
        """``value`` relative to the file's folder; ``default`` when absent or not a path."""
        if value is None:
            return default
        if not isinstance(value, str) or not value.strip():
            self.add(f"{key} must be a path, got {value!r}", key)
            return default
        return self.base / value


def _read_mapping(path: Path) -> dict[Any, Any]:
    """The file's YAML, which must be a mapping; a ConfigError otherwise."""
    file = str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read batch config ({exc.strerror})",
            (Problem("file not readable", file=file),),
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(
            f"{path}: invalid YAML{where}",
            (
                Problem(
                    f"invalid YAML{where}: {getattr(exc, 'problem', exc)}",
                    file=file,
                    fix="check indentation and quoting",
                ),
            ),
        ) from None
    if not isinstance(data, dict):
        raise_problems(
            [
                Problem(
                    "the file must be a mapping with a 'jobs' list",
                    file=file,
                    fix="start with 'jobs:'",
                )
            ],
            error=ConfigError,
            what=f"in {path}",
        )
        raise AssertionError  # pragma: no cover - raise_problems raised
    return data


def _n_jobs(data: dict[Any, Any], check: _Checker) -> int:
    n_jobs = data.get("n_jobs", 1)
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
        check.add(f"n_jobs must be a whole number ≥ 1, got {n_jobs!r}", "n_jobs", "e.g. n_jobs: 2")
        return 1
    return n_jobs


def _executor(data: dict[Any, Any], check: _Checker) -> str:
    executor = data.get("executor", "local")
    if executor not in EXECUTORS:
        check.add(
            f"unknown executor {executor!r}", "executor", f"use one of: {', '.join(EXECUTORS)}"
        )
        return "local"
    return str(executor)


def _scheduler(data: dict[Any, Any], executor: str, check: _Checker) -> str | None:
    scheduler = data.get("scheduler")
    if scheduler is not None and not isinstance(scheduler, str):
        check.add(
            f"scheduler must be an address string, got {scheduler!r}",
            "scheduler",
            "e.g. tcp://10.0.0.5:8786",
        )
        scheduler = None
    if scheduler is not None and executor != "dask":
        check.add(
            "scheduler is set but executor is not 'dask'",
            "scheduler",
            "add 'executor: dask' or drop scheduler",
        )
    return scheduler


def _jobs(data: dict[Any, Any], out_dir: Path, check: _Checker) -> list[Job]:
    """The jobs, each checked; a job with problems still counts for duplicate names."""
    raw_jobs = data.get("jobs")
    if not isinstance(raw_jobs, list) or not raw_jobs:
        check.add(
            "'jobs' must be a non-empty list",
            "jobs",
            "add '- {name: ..., kind: cohort, config: ...}' items",
        )
        raw_jobs = []
    kinds = job_kinds()
    names: dict[str, int] = {}
    jobs: list[Job] = []
    for i, item in enumerate(raw_jobs):
        key = f"jobs[{i}]"
        if not isinstance(item, dict):
            check.add(f"must be a mapping, got {item!r}", key)
            continue
        check.unknown_keys(item, _JOB_KEYS, prefix=f"{key}.")
        name = _job_name(i, item.get("name"), names, check)
        kind = item.get("kind")
        if kind not in kinds:
            check.add(f"unknown kind {kind!r}", f"{key}.kind", f"use one of: {', '.join(kinds)}")
        config = _job_config(key, item.get("config"), check)
        job_out = check.path(f"{key}.out_dir", item.get("out_dir"), out_dir / name)
        jobs.append(Job(name, str(kind), config, job_out))
    return jobs


def _job_name(i: int, name: object, names: dict[str, int], check: _Checker) -> str:
    """The job's name (``job-<i>`` when invalid); a name used before is a problem."""
    key = f"jobs[{i}].name"
    if not isinstance(name, str) or not NAME.match(name):
        check.add(
            f"invalid name {name!r}", key, "letters, digits, '_', '.', '-', e.g. school-a-2025"
        )
        name = f"job-{i}"
    elif name in names:
        check.add(
            f"duplicate name {name!r} (also jobs[{names[name]}])",
            key,
            "give every job its own name",
        )
    names.setdefault(name, i)
    return name


def _job_config(key: str, value: object, check: _Checker) -> Path:
    """The job's config file, which must be given and exist."""
    config = check.path(f"{key}.config", value, check.base)
    if value is None:
        check.add("missing config", f"{key}.config", "give the study or annual config file")
    elif config != check.base and not config.is_file():
        check.add(
            f"config file {value!r} does not exist",
            f"{key}.config",
            f"paths are relative to {check.base}",
        )
    return config
