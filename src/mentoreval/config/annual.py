"""The annual report's config (``annual.yaml``): which programmes, cohorts and years, strictly
validated with every problem reported at once.

Configuration layer. :func:`load_annual_config` loads each listed study with
:func:`mentoreval.config.study.load_study`; the report itself is :mod:`mentoreval.report.annual`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mentoreval.config.disclosure import DisclosurePolicy
from mentoreval.config.paths import default_store_root
from mentoreval.errors import (
    ConfigError,
    MentorevalError,
    Problem,
    raise_problems,
)
from mentoreval.yamlio import load_yaml, pydantic_problems

if TYPE_CHECKING:
    pass

__all__ = ["AnnualConfig", "load_annual_config"]


Label = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=80)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class _Disclosure(_Strict):
    threshold: int = Field(default=10, ge=1)
    profile: Literal["default", "nhs", "off"] = "default"


class _AnnualModel(_Strict):
    title: str
    id: Label | None = None
    programme: Label | None = None
    programmes: list[Label] = Field(default_factory=list)
    years: list[int] = Field(default_factory=list)
    store: str | None = None
    studies: list[str] | Literal["all"] = "all"
    update_store: bool = True
    disclosure: _Disclosure = Field(default_factory=_Disclosure)
    primary: list[str] = Field(default_factory=list)
    confidence: float = Field(default=0.95, gt=0, lt=1)


@dataclass(frozen=True)
class AnnualConfig:
    """A validated ``annual.yaml``.

    Attributes
    ----------
    path
        The config file.
    title, name
        Report title; ``name`` (the ``id`` or ``<programmes>-annual``) names the output.
    store_root
        The store folder.
    programmes
        Programmes in the report (from the config, else from the studies, else the store).
    years
        Years in the report; empty means every year found.
    studies
        The study config files listed, or ``None`` for every cohort in the store.
    update_store
        Whether listed studies missing from the store (or changed) are ingested first.
    policy
        The disclosure policy.
    primary
        Primary outcomes as ``instrument.scale``; empty means the studies' own.
    confidence
        Confidence level of every interval.
    """

    path: Path
    title: str
    name: str
    store_root: Path
    programmes: tuple[str, ...]
    years: tuple[int, ...]
    studies: tuple[Path, ...] | None
    update_store: bool
    policy: DisclosurePolicy
    primary: tuple[str, ...]
    confidence: float


def load_annual_config(path: str | os.PathLike[str]) -> AnnualConfig:
    """Read and strictly validate ``annual.yaml``, reporting every problem at once.

    Listed studies are loaded with :func:`mentoreval.config.study.load_study` and must name
    their ``programme``, ``cohort`` and ``year`` (the store partition).

    Raises
    ------
    ConfigError
        Unknown keys, wrong types, ``programme`` and ``programmes`` both given, missing or
        invalid study files, studies without a partition, years or programmes that
        contradict the studies — each with its key and fix.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = (Path(tmp) / "annual.yaml").write_text(
    ...         "title: Annual\\nprogramme: peer\\nstore: store\\nyears: [2024, 2025]\\n")
    ...     cfg = load_annual_config(Path(tmp) / "annual.yaml")
    ...     print(cfg.programmes, cfg.years, cfg.studies, cfg.store_root.name, cfg.name)
    ('peer',) (2024, 2025) None store peer-annual
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = (Path(tmp) / "annual.yaml").write_text("title: A\\nyear: 2025\\nstudies: [x.yaml]\\n")
    ...     load_annual_config(Path(tmp) / "annual.yaml")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mentoreval.errors.ConfigError: 2 problems in ...annual.yaml
      - ...annual.yaml: year: Extra inputs are not permitted (fix: remove this key or correct its spelling)
      - ...annual.yaml: studies[0]: study file not found: ...x.yaml (fix: paths are relative to ...)
    """
    path = Path(path)
    file = str(path)
    model = _read_model(path)
    base = path.parent
    problems: list[Problem] = []
    if model.programme and model.programmes:
        problems.append(
            Problem(
                "both 'programme' and 'programmes' given",
                file=file,
                key="programmes",
                fix="use one of them",
            )
        )
    programmes = [model.programme] if model.programme else list(model.programmes)
    studies: list[Path] | None = None
    study_partitions: list[tuple[str, str, int]] = []
    if model.studies != "all":
        studies, study_partitions = _load_studies(model.studies, file, base, problems)
    problems.extend(_check_partitions(programmes, model.years, study_partitions, file))
    if not programmes:
        programmes = sorted({p for p, _, _ in study_partitions})
    years = sorted(set(model.years))
    problems.extend(_check_outcomes(model.primary, file))
    policy = _policy(model, file, problems)
    raise_problems(problems, error=ConfigError, what=f"in {file}")
    assert policy is not None
    store_root = base / model.store if model.store else default_store_root(path)
    name = model.id or f"{'-'.join(programmes) or 'all'}-annual"
    return AnnualConfig(
        path=path,
        title=model.title,
        name=name,
        store_root=store_root,
        programmes=tuple(programmes),
        years=tuple(years),
        studies=None if studies is None else tuple(studies),
        update_store=model.update_store,
        policy=policy,
        primary=tuple(model.primary),
        confidence=model.confidence,
    )


def _read_model(path: Path) -> _AnnualModel:
    """The file's shape, checked; a ConfigError listing every problem, study paths too."""
    file = str(path)
    if not path.is_file():
        raise ConfigError(
            f"{path}: annual config not found",
            (Problem("file not found", file=file, fix="check the path"),),
        )
    data: Any = load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: expected a mapping (title:, programme:, studies:, ...)",
            (Problem("not a mapping", file=file, fix="see the mentoreval.report.annual docs"),),
        )
    try:
        return _AnnualModel.model_validate(data)
    except ValidationError as exc:
        problems = pydantic_problems(exc, file=file)
        # still check the study paths, so every problem is reported at once
        raw = data.get("studies")
        if isinstance(raw, list):
            for i, item in enumerate(raw):
                if isinstance(item, str) and not (path.parent / item).is_file():
                    problems.append(_missing_study(file, i, path.parent / item, path.parent))
        raise_problems(problems, error=ConfigError, what=f"in {file}")
        raise  # pragma: no cover


def _load_studies(
    listed: list[str], file: str, base: Path, problems: list[Problem]
) -> tuple[list[Path], list[tuple[str, str, int]]]:
    """The listed study files that load and set their partition, and those partitions."""
    from mentoreval.config.study import load_study

    studies: list[Path] = []
    partitions: list[tuple[str, str, int]] = []
    for i, item in enumerate(listed):
        study_path = base / item
        if not study_path.is_file():
            problems.append(_missing_study(file, i, study_path, base))
            continue
        try:
            study = load_study(study_path)
        except MentorevalError as exc:
            problems.extend(
                Problem(f"{p}", file=file, key=f"studies[{i}]")
                for p in (exc.problems or [Problem(str(exc))])
            )
            continue
        cfg = study.config
        missing = [k for k in ("programme", "cohort", "year") if getattr(cfg, k) is None]
        if missing:
            problems.append(
                Problem(
                    f"study {item!r} does not set {', '.join(missing)}",
                    file=file,
                    key=f"studies[{i}]",
                    fix=f"add {', '.join(f'{k}:' for k in missing)} to {study_path}",
                )
            )
            continue
        assert cfg.programme is not None and cfg.cohort is not None and cfg.year is not None
        studies.append(study_path)
        partitions.append((cfg.programme, cfg.cohort, int(cfg.year)))
    if not listed:
        problems.append(
            Problem(
                "'studies' is an empty list",
                file=file,
                key="studies",
                fix="list study configs, or write 'studies: all'",
            )
        )
    return studies, partitions


def _check_partitions(
    programmes: list[str],
    listed_years: list[int],
    partitions: list[tuple[str, str, int]],
    file: str,
) -> list[Problem]:
    """Each study's programme and year is among those the config names (if it names any)."""
    problems: list[Problem] = []
    if programmes and partitions:
        for i, (prog, _, _) in enumerate(partitions):
            if prog not in programmes:
                problems.append(
                    Problem(
                        f"study programme {prog!r} is not among {programmes}",
                        file=file,
                        key=f"studies[{i}]",
                        fix="add it under programmes:, or drop the study",
                    )
                )
    years = sorted(set(listed_years))
    if listed_years and partitions:
        for i, (_, _, year) in enumerate(partitions):
            if year not in years:
                problems.append(
                    Problem(
                        f"study year {year} is not among years {years}",
                        file=file,
                        key=f"studies[{i}]",
                        fix="add the year under years:, or drop the study",
                    )
                )
    return problems


def _check_outcomes(primary: list[str], file: str) -> list[Problem]:
    """Primary outcomes are written ``instrument.scale``."""
    return [
        Problem(
            f"{v!r} is not 'instrument.scale'",
            file=file,
            key=f"primary[{i}]",
            fix="e.g. who5.total",
        )
        for i, v in enumerate(primary)
        if v.count(".") != 1
    ]


def _policy(model: _AnnualModel, file: str, problems: list[Problem]) -> DisclosurePolicy | None:
    """The disclosure policy asked for; None (and problems) when it is refused."""
    try:
        return DisclosurePolicy(
            profile=model.disclosure.profile,
            k=model.disclosure.threshold if model.disclosure.profile != "off" else None,
        )
    except MentorevalError as exc:
        problems.extend(
            Problem(str(p.message), file=file, key="disclosure.threshold", fix=p.fix)
            for p in exc.problems
        )
        return None


def _missing_study(file: str, i: int, path: Path, base: Path) -> Problem:
    return Problem(
        f"study file not found: {path}",
        file=file,
        key=f"studies[{i}]",
        fix=f"paths are relative to {base}",
    )
