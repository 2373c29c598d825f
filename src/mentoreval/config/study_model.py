"""The shape of ``study.yaml``: one pydantic model per section, strict (no unknown keys,
no type coercion), and the label rule for names that become folders.

What the shape cannot express (files that must exist, items and codes of the instruments,
one role per column, ...) is checked by :mod:`mentoreval.config.study_checks`;
:func:`mentoreval.config.study.load_study` runs both.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from mentoreval.read.base import Format

__all__ = [
    "LABEL",
    "LABEL_FIX",
    "AnalysisOptions",
    "AttentionCheck",
    "Columns",
    "Disclosure",
    "GroupSpec",
    "InstrumentMap",
    "Meetings",
    "ParticipantId",
    "QualityOptions",
    "Source",
    "SourceFormat",
    "StudyConfig",
    "data_root",
]

SourceFormat = Literal["auto", Format]
"""A source's ``format:``: ``auto`` (detect by signature) or any format a reader returns
(:data:`mentoreval.read.base.Format`, one definition)."""
Code = float
_LABEL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
LABEL = re.compile(_LABEL_PATTERN)
"""What a label that becomes a folder name (``id``, ``programme``, ``cohort``, a store
partition) may look like: safe in a path on every platform, no shell characters, no
``..`` component, and no escaping needed in hive partitioning. The store checks its
partition values with this same rule."""
LABEL_FIX = "use letters, digits, '_', '.' and '-' only, starting with a letter or digit"
Slug = Annotated[str, Field(pattern=_LABEL_PATTERN, max_length=80)]


Exclusion = Literal["preview", "test", "spam"]
_ALL_EXCLUSIONS: tuple[Exclusion, ...] = ("preview", "test", "spam")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ParticipantId(_Strict):
    """Where the participant id is, and (optionally) what a valid one looks like."""

    column: str
    pattern: str | None = None


class Source(_Strict):
    """One export file and the wave(s) it holds."""

    path: str
    format: SourceFormat = "auto"
    wave: str | None = None
    events: dict[str, str | None] | None = None
    dictionary: str | None = None
    id_column: str | None = None
    unfinished: Literal["exclude", "keep"] = "keep"
    sheet: str | int | None = None
    encoding: str | None = None
    exclude: list[Exclusion] = Field(default_factory=lambda: list(_ALL_EXCLUSIONS))
    formulas: Literal["error", "cached"] = "error"


class Columns(_Strict):
    """Roles of the export columns that are not items (by export column name)."""

    group: str | None = None
    covariates: list[str] = Field(default_factory=list)
    meta: list[str] = Field(default_factory=list)
    drop: list[str] = Field(default_factory=list)
    duration: str | None = None
    submitted_at: str | None = None


class InstrumentMap(_Strict):
    """How one instrument's items appear in the exports, and which of its scales the study
    uses (``scales``; default all): the items of scales not used need not be exported."""

    scales: list[str] | None = Field(default=None, min_length=1)
    items: dict[str, str] = Field(default_factory=dict)
    values: dict[str | int | float, Code] = Field(default_factory=dict)
    synonyms: dict[str, list[str]] = Field(default_factory=dict)


def _as_text(value: object) -> object:
    """A level written as a number in YAML (``treated: 1``) is the text ``"1"``."""
    if isinstance(value, bool):
        return value  # refused by the str type: ``yes``/``no`` are text in strict YAML anyway
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:g}"
    return value


LevelText = Annotated[str, BeforeValidator(_as_text)]


class GroupSpec(_Strict):
    """The grouping column and its two levels.

    ``treated`` and ``control`` are each a level as exported: a code (``"1"``) or its
    label (``"Yes"``, from a REDCap dictionary or SPSS value labels), matched whatever the
    case, spaces or number form. With ``levels``, each level gets a name and the codes and
    labels that mean it (``{mentored: ["1", "Yes"]}``); ``treated`` and ``control`` then
    name levels, and the processed data and reports use those names.
    """

    column: str
    treated: LevelText
    control: LevelText
    levels: dict[str, list[LevelText]] | None = None


class AnalysisOptions(_Strict):
    """Analysis options (waves, outcomes, multiplicity, confidence)."""

    pre: str = "pre"
    post: str = "post"
    group: GroupSpec | None = None
    primary: list[str] = Field(default_factory=list)
    multiplicity: Literal["holm", "bh", "none"] = "holm"
    confidence: float = Field(default=0.95, gt=0, lt=1)


class Disclosure(_Strict):
    """Statistical disclosure control settings."""

    threshold: int = Field(default=10, ge=1)
    profile: Literal["default", "nhs", "off"] = "default"


class AttentionCheck(_Strict):
    """An instructed-response item: the column and the answer an attentive person gives."""

    column: str
    expected: str | int | float


class QualityOptions(_Strict):
    """Duplicate rule and quality-flag settings (flags never drop anyone)."""

    duplicates: Literal["keep_first", "keep_last"] = "keep_last"
    attention_checks: list[AttentionCheck] = Field(default_factory=list)
    speeder_seconds_per_item: float = Field(default=2.0, ge=0)
    longstring: int | None = Field(default=None, ge=2)
    irv_min_items: int = Field(default=10, ge=2)
    mahalanobis_alpha: float = Field(default=0.001, gt=0, lt=1)


class Meetings(_Strict):
    """An optional meeting log (process data)."""

    path: str
    target_cadence_days: float = Field(default=14, gt=0)
    format: Literal["auto", "csv", "xlsx", "redcap"] = "auto"
    columns: dict[str, str] = Field(default_factory=dict)
    sheet: str | int = 0
    instrument: str | None = None


class StudyConfig(_Strict):
    """The validated contents of ``study.yaml`` (see ``docs/study-config.md``)."""

    title: str
    id: Slug | None = None
    programme: str | None = None
    cohort: str | None = None
    year: int | None = None
    key_file: str | None = None
    disclosure: Disclosure = Field(default_factory=Disclosure)
    participant_id: ParticipantId
    sources: list[Source] = Field(min_length=1)
    columns: Columns = Field(default_factory=Columns)
    instruments: dict[str, InstrumentMap | None] = Field(min_length=1)
    instrument_dirs: list[str] = Field(default_factory=list)
    data_roots: list[str] = Field(default_factory=list)
    analysis: AnalysisOptions = Field(default_factory=AnalysisOptions)
    quality: QualityOptions = Field(default_factory=QualityOptions)
    meetings: Meetings | None = None

    @model_validator(mode="before")
    @classmethod
    def _group_role(cls, data: Any) -> Any:
        """``analysis.group.column`` gives its column the group role when ``columns.group``
        is not set (one column, declared once)."""
        if not isinstance(data, dict):
            return data
        analysis = data.get("analysis")
        group = analysis.get("group") if isinstance(analysis, dict) else None
        column = group.get("column") if isinstance(group, dict) else None
        columns = data.get("columns")
        if not isinstance(column, str) or not isinstance(columns, dict | None):
            return data
        if columns is None or columns.get("group") is None:
            return {**data, "columns": {**(columns or {}), "group": column}}
        return data


def data_root(value: str, base: Path) -> Path:
    """A ``data_roots`` entry, resolved (relative entries start from the study's folder)."""
    p = Path(value).expanduser()
    return (p if p.is_absolute() else base / p).resolve()
