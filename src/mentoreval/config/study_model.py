"""The shape of ``study.yaml``: one pydantic model per section, strict (no unknown keys,
no type coercion), and the label rule for names that become folders.

What the shape cannot express (files that must exist, items and codes of the instruments,
one role per column, ...) is checked by :mod:`mentoreval.config.study_checks`;
:func:`mentoreval.config.study.load_study` runs both.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from mentoreval.read.base import Format

__all__ = [
    "LABEL",
    "LABEL_FIX",
    "AnalysisOptions",
    "AttentionCheck",
    "Columns",
    "Design",
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
    """How one instrument's items appear in the exports."""

    items: dict[str, str] = Field(default_factory=dict)
    values: dict[str | int | float, Code] = Field(default_factory=dict)
    synonyms: dict[str, list[str]] = Field(default_factory=dict)


class GroupSpec(_Strict):
    """The grouping column and its two levels."""

    column: str
    treated: str
    control: str


Design = Literal["single_arm", "comparison", "randomised"]
"""The study design ``analysis.design`` states; it sets how the reports may speak of effects."""


class AnalysisOptions(_Strict):
    """Analysis options (waves, design, outcomes, multiplicity, confidence)."""

    pre: str = "pre"
    post: str = "post"
    group: GroupSpec | None = None
    design: Design | None = None
    primary: list[str] = Field(default_factory=list)
    multiplicity: Literal["holm", "bh", "none"] = "holm"
    confidence: float = Field(default=0.95, gt=0, lt=1)

    @property
    def resolved_design(self) -> Design:
        """``design`` as written, else ``comparison`` with a group and ``single_arm`` without.

        Only a ``randomised`` design lets the reports speak of the programme's effect; a
        comparison group that chose not to join is ``comparison`` (non-randomised).

        Examples
        --------
        >>> AnalysisOptions().resolved_design
        'single_arm'
        >>> g = GroupSpec(column="group", treated="mentored", control="comparison")
        >>> AnalysisOptions(group=g).resolved_design
        'comparison'
        >>> AnalysisOptions(group=g, design="randomised").resolved_design
        'randomised'
        """
        if self.design is not None:
            return self.design
        return "comparison" if self.group is not None else "single_arm"


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


def data_root(value: str, base: Path) -> Path:
    """A ``data_roots`` entry, resolved (relative entries start from the study's folder)."""
    p = Path(value).expanduser()
    return (p if p.is_absolute() else base / p).resolve()
