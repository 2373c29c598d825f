"""The study config (``study.yaml``): one evaluation's sources, roles and options (stage: map).

:func:`load_study` reads the YAML strictly (``NO`` stays text, duplicate keys fail), checks
its shape with pydantic (unknown keys, wrong types) and then every cross-reference that
shape cannot express — a source with both ``wave`` and ``events``, a file that does not
exist, an unknown instrument or item, a value-map code that is not on the response scale,
a primary outcome that names no scale, a column given two roles — and reports **all**
problems at once, each with its key and a fix. Paths are relative to the config file.

The agreed shape is documented in ``docs/study-config.md``. Extensions kept compatible
with it: ``id`` (the study's folder name under ``data/processed``), ``instrument_dirs``,
per-source ``sheet``/``encoding``/``exclude``/``formulas``, ``events`` values may be
``null`` (rows of that event are set aside with rule ``event_ignored``), and the
``quality`` thresholds ``speeder_seconds_per_item``, ``longstring``,
``longstring_min_items``, ``irv_min_items``
and ``mahalanobis_alpha``.

This module loads a study (:class:`Study`, :func:`load_study`); the parts live by idea in
:mod:`~mentoreval.config.study_model` (the pydantic models and the label rule),
:mod:`~mentoreval.config.study_checks` (the cross-checks) and
:mod:`~mentoreval.config.id_pattern` (:func:`compile_id_pattern`), and are re-exported
here.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from mentoreval.config.id_pattern import compile_id_pattern
from mentoreval.config.study_checks import cross_check
from mentoreval.config.study_model import (
    LABEL,
    LABEL_FIX,
    AnalysisOptions,
    AttentionCheck,
    Columns,
    InstrumentMap,
    ParticipantId,
    QualityOptions,
    Source,
    StudyConfig,
    data_root,
)

# The models' other public names, importable from here as before they had their own module.
from mentoreval.config.study_model import Code as Code
from mentoreval.config.study_model import Disclosure as Disclosure
from mentoreval.config.study_model import Exclusion as Exclusion
from mentoreval.config.study_model import GroupSpec as GroupSpec
from mentoreval.config.study_model import Meetings as Meetings
from mentoreval.config.study_model import Slug as Slug
from mentoreval.config.study_model import SourceFormat as SourceFormat
from mentoreval.errors import ConfigError, raise_problems
from mentoreval.instruments import Instrument
from mentoreval.safefs import resolve_input
from mentoreval.yamlio import load_yaml, pydantic_problems

__all__ = [
    "LABEL",
    "LABEL_FIX",
    "AnalysisOptions",
    "AttentionCheck",
    "Columns",
    "InstrumentMap",
    "ParticipantId",
    "QualityOptions",
    "Source",
    "Study",
    "StudyConfig",
    "compile_id_pattern",
    "load_study",
]


@dataclass(frozen=True)
class Study:
    """A loaded, cross-checked study: the config plus resolved paths and instruments.

    Attributes
    ----------
    config
        The validated :class:`StudyConfig`.
    path
        The study file.
    name
        The study's name (its folder under ``data/processed``): ``id`` when given, else
        ``<programme>-<cohort>`` when both are given, else the file stem, or the folder name
        when the file is called ``study.yaml``.
    instruments
        Loaded definitions by id, in config order.
    sha256
        Hash of the study file's bytes (recorded in the manifest).
    """

    config: StudyConfig
    path: Path
    name: str
    instruments: dict[str, Instrument]
    sha256: str

    @property
    def base(self) -> Path:
        """The folder relative paths are resolved from."""
        return self.path.parent

    def resolve(self, relative: str | Path, *, key: str = "path") -> Path:
        """Resolve a path from the config (relative to the study file), refusing one that
        leads outside the study's folder and its ``data_roots`` (see
        :func:`mentoreval.safefs.resolve_input`)."""
        return resolve_input(relative, base=self.base, roots=self.data_roots(), key=key)

    def data_roots(self) -> list[Path]:
        """The folders besides the study's own that the config declared as holding data."""
        return [data_root(r, self.base) for r in self.config.data_roots]

    def input_files(self) -> list[Path]:
        """The study file and every file it reads (exports, dictionaries, meeting log):
        what no output may hold or replace."""
        cfg = self.config
        named = [s.path for s in cfg.sources] + [s.dictionary for s in cfg.sources if s.dictionary]
        if cfg.meetings is not None:
            named.append(cfg.meetings.path)
        return [self.path.resolve(), *(self.resolve(p) for p in named)]

    def raw_folders(self) -> list[Path]:
        """Folders holding the raw exports, and the project's ``data/raw``: never written."""
        folders = {p.parent for p in self.input_files()[1:]} - {self.base.resolve()}
        for folder in (self.base.resolve(), *self.base.resolve().parents):
            if folder.name == "raw" and folder.parent.name == "data":
                folders.add(folder)
                break
        return sorted(folders)

    def item_columns(self, instrument: str) -> dict[str, str]:
        """Item id → export column for ``instrument`` (default: the item id itself)."""
        mapping = self.config.instruments[instrument] or InstrumentMap()
        return {i: mapping.items.get(i, i) for i in self.instruments[instrument].item_ids}

    def then_columns(self, instrument: str) -> dict[str, str]:
        """Item id → export column of the retrospective ("then") answer; empty when the
        instrument is not asked retrospectively."""
        return dict((self.config.instruments[instrument] or InstrumentMap()).then)

    def instrument_map(self, instrument: str) -> InstrumentMap:
        """The config's map for ``instrument`` (empty when none was given)."""
        return self.config.instruments[instrument] or InstrumentMap()

    def waves(self) -> list[str]:
        """Every wave named by a source, in order of first mention."""
        out: list[str] = []
        for src in self.config.sources:
            names = [src.wave] if src.wave else list((src.events or {}).values())
            names += [src.then] if src.then else []
            out += [w for w in names if w and w not in out]
        return out


def _study_name(cfg: StudyConfig, path: Path) -> str:
    if cfg.id:
        return cfg.id
    if cfg.programme and cfg.cohort:
        # Two programmes' cohorts of the same year must not share a processed folder.
        return _slug(f"{cfg.programme}-{cfg.cohort}")
    if path.stem.lower() in {"study", "config"}:
        return path.parent.name or "study"
    return path.stem


def _slug(text: str) -> str:
    """A folder-safe name: letters, digits, ``-`` and ``_`` only."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "study"


def load_study(path: str | Path) -> Study:
    """Load and cross-check a study config.

    Parameters
    ----------
    path
        The ``study.yaml`` file.

    Returns
    -------
    Study
        The config with its instruments loaded.

    Raises
    ------
    ConfigError
        Listing every problem (key and fix) at once.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "pre.csv").write_text("sid,who5_1\\n1,3\\n")
    >>> _ = (folder / "study.yaml").write_text(
    ...     "title: Demo\\nparticipant_id: {column: sid}\\n"
    ...     "sources: [{path: pre.csv, wave: pre}]\\ninstruments: {who5: {}}\\n"
    ...     "analysis: {pre: pre, post: pre}\\n")
    >>> study = load_study(folder / "study.yaml")
    >>> study.name == folder.name, study.item_columns("who5")["who5_1"]
    (True, 'who5_1')
    >>> _ = (folder / "bad.yaml").write_text(
    ...     "title: Demo\\ncohort: 2025\\nparticipant_id: {column: sid}\\n"
    ...     "sources: [{path: pre.csv, wave: pre, colour: red}]\\ninstruments: {who9: {}}\\n")
    >>> load_study(folder / "bad.yaml")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mentoreval.errors.ConfigError: 2 problems in ...bad.yaml
      - ...bad.yaml: cohort: Input should be a valid string (got 2025) (fix: write text (quote it if it looks like a number))
      - ...bad.yaml: sources[0].colour: Extra inputs are not permitted (fix: remove this key or correct its spelling)
    """
    path = Path(path)
    file = str(path)
    if not path.is_file():
        raise ConfigError(f"{path}: study file not found (fix: check the path)")
    raw_bytes = path.read_bytes()
    data: Any = load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: expected a mapping (title:, participant_id:, sources:, instruments:, ...) "
            f"but found {type(data).__name__} (fix: see docs/study-config.md)"
        )
    try:
        cfg = StudyConfig.model_validate(data)
    except ValidationError as exc:
        raise_problems(pydantic_problems(exc, file=file), error=ConfigError, what=f"in {file}")
        raise  # pragma: no cover - raise_problems always raises here
    problems, instruments = cross_check(cfg, file, path.parent)
    raise_problems(problems, error=ConfigError, what=f"in {file}")
    return Study(
        config=cfg,
        path=path,
        name=_study_name(cfg, path.resolve()),
        instruments=instruments,
        sha256=hashlib.sha256(raw_bytes).hexdigest(),
    )
