"""The batch config (``batch.yaml``): jobs, workers, executor and log folder, strictly validated.

Run stage: a job's kind is checked against the registered runners
(:func:`mentoreval.run.jobs.job_kinds`), so this lives beside them rather than in
:mod:`mentoreval.config`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import cast

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
    base = path.parent
    problems: list[Problem] = []
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
    allowed = {"n_jobs", "executor", "scheduler", "out_dir", "log_dir", "jobs"}
    problems.extend(
        Problem(
            f"unknown key {key!r}",
            file=file,
            key=str(key),
            fix=f"use only: {', '.join(sorted(allowed))}",
        )
        for key in data
        if key not in allowed
    )

    n_jobs = data.get("n_jobs", 1)
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
        problems.append(
            Problem(
                f"n_jobs must be a whole number ≥ 1, got {n_jobs!r}",
                file=file,
                key="n_jobs",
                fix="e.g. n_jobs: 2",
            )
        )
        n_jobs = 1
    executor = data.get("executor", "local")
    if executor not in EXECUTORS:
        problems.append(
            Problem(
                f"unknown executor {executor!r}",
                file=file,
                key="executor",
                fix=f"use one of: {', '.join(EXECUTORS)}",
            )
        )
        executor = "local"
    scheduler = data.get("scheduler")
    if scheduler is not None and not isinstance(scheduler, str):
        problems.append(
            Problem(
                f"scheduler must be an address string, got {scheduler!r}",
                file=file,
                key="scheduler",
                fix="e.g. tcp://10.0.0.5:8786",
            )
        )
        scheduler = None
    if scheduler is not None and executor != "dask":
        problems.append(
            Problem(
                "scheduler is set but executor is not 'dask'",
                file=file,
                key="scheduler",
                fix="add 'executor: dask' or drop scheduler",
            )
        )

    def a_path(key: str, value: object, default: Path) -> Path:
        if value is None:
            return default
        if not isinstance(value, str) or not value.strip():
            problems.append(Problem(f"{key} must be a path, got {value!r}", file=file, key=key))
            return default
        return base / value

    out_dir = a_path("out_dir", data.get("out_dir"), base / "reports")
    log_dir = a_path("log_dir", data.get("log_dir"), out_dir / "logs")

    raw_jobs = data.get("jobs")
    jobs: list[Job] = []
    if not isinstance(raw_jobs, list) or not raw_jobs:
        problems.append(
            Problem(
                "'jobs' must be a non-empty list",
                file=file,
                key="jobs",
                fix="add '- {name: ..., kind: cohort, config: ...}' items",
            )
        )
        raw_jobs = []
    kinds = job_kinds()
    names: dict[str, int] = {}
    job_keys = {"name", "kind", "config", "out_dir"}
    for i, item in enumerate(raw_jobs):
        key = f"jobs[{i}]"
        if not isinstance(item, dict):
            problems.append(Problem(f"must be a mapping, got {item!r}", file=file, key=key))
            continue
        problems.extend(
            Problem(
                f"unknown key {k!r}",
                file=file,
                key=f"{key}.{k}",
                fix=f"use only: {', '.join(sorted(job_keys))}",
            )
            for k in item
            if k not in job_keys
        )
        name = item.get("name")
        if not isinstance(name, str) or not NAME.match(name):
            problems.append(
                Problem(
                    f"invalid name {name!r}",
                    file=file,
                    key=f"{key}.name",
                    fix="letters, digits, '_', '.', '-', e.g. school-a-2025",
                )
            )
            name = f"job-{i}"
        elif name in names:
            problems.append(
                Problem(
                    f"duplicate name {name!r} (also jobs[{names[name]}])",
                    file=file,
                    key=f"{key}.name",
                    fix="give every job its own name",
                )
            )
        names.setdefault(name, i)
        kind = item.get("kind")
        if kind not in kinds:
            problems.append(
                Problem(
                    f"unknown kind {kind!r}",
                    file=file,
                    key=f"{key}.kind",
                    fix=f"use one of: {', '.join(kinds)}",
                )
            )
        config_value = item.get("config")
        config = a_path(f"{key}.config", config_value, base)
        if config_value is None:
            problems.append(
                Problem(
                    "missing config",
                    file=file,
                    key=f"{key}.config",
                    fix="give the study or annual config file",
                )
            )
        elif config != base and not config.is_file():
            problems.append(
                Problem(
                    f"config file {config_value!r} does not exist",
                    file=file,
                    key=f"{key}.config",
                    fix=f"paths are relative to {base}",
                )
            )
        job_out = a_path(f"{key}.out_dir", item.get("out_dir"), out_dir / name)
        jobs.append(Job(name, str(kind), config, job_out))

    raise_problems(problems, error=ConfigError, what=f"in {path}")
    return BatchConfig(path, tuple(jobs), n_jobs, cast(Executor, executor), scheduler, log_dir)
