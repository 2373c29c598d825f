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

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

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
    "Sgic",
    "SgicComponent",
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


class SgicComponent(_Strict):
    """One component of a self-generated identification code.

    ``kind`` says how its answers are normalised before codes are compared: ``letter``
    (the first letter, accents and case removed), ``month`` (``1``-``12``; month names and
    abbreviations in English, German and French read as their number), ``number`` (an
    integer, leading zeros removed) or ``text`` (accents, case and spaces removed). Either
    ``column`` (the export column holding this component) or ``width`` (its characters in
    the one code column :attr:`Sgic.column`) is given.
    """

    kind: Literal["letter", "month", "number", "text"]
    column: str | None = None
    width: int | None = Field(default=None, ge=1, le=20)


class Sgic(_Strict):
    """A self-generated identification code (SGIC): its components and the linkage tolerance.

    Codes are linked across waves exactly first, then when at most ``tolerance``
    components differ; ambiguous candidates are never linked
    (:func:`mentoreval.ingest.linkage.match_codes`, ``docs/sgic.md``).
    """

    components: list[SgicComponent] = Field(min_length=2, max_length=12)
    column: str | None = None
    tolerance: int = Field(default=1, ge=0)


class ParticipantId(_Strict):
    """Where the participant id is, and (optionally) what a valid one looks like; or the
    components of a self-generated identification code (``sgic``) instead of a ``column``.

    ``participant_id: none`` in ``study.yaml`` (an anonymous survey) is read as
    ``column: None, linked: False``. ``linked: false`` with a column declares ids that
    cannot be linked across waves (e.g. a new random code per survey): the column is read
    and dropped, never used. Without linkage every response is its own record under a
    generated response key, the waves are compared as independent samples and no paired
    statistic is computed.

    Examples
    --------
    >>> ParticipantId(column="sid").linked
    True
    >>> ParticipantId(column=None, linked=False).column is None
    True
    """

    column: str | None = None
    pattern: str | None = None
    linked: bool = True
    sgic: Sgic | None = None

    @model_validator(mode="after")
    def _column_when_linked(self) -> ParticipantId:
        if self.column is None and self.sgic is None and self.linked:
            raise ValueError(
                "participant_id.column (or participant_id.sgic, a self-generated code) is "
                "required unless the survey is anonymous; write 'participant_id: none' for "
                "an anonymous survey"
            )
        if self.sgic is not None and not self.linked:
            raise ValueError(
                "participant_id.sgic links responses by their self-generated code; remove "
                "'linked: false' or the sgic block"
            )
        if self.column is None and self.sgic is None and self.pattern is not None:
            raise ValueError("participant_id.pattern needs participant_id.column")
        return self


class Source(_Strict):
    """One export file and the wave(s) it holds."""

    path: str
    format: SourceFormat = "auto"
    wave: str | None = None
    then: str | None = None
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
    uses (``scales``; default all): the items of scales not used need not be exported.

    ``then`` maps items to the columns of a retrospective ("then-test") question, "how was
    it *before* the programme?", asked in the same survey as ``items`` ("now"); a source
    with ``then: <wave>`` records those answers as that wave of the same response.
    """

    scales: list[str] | None = Field(default=None, min_length=1)
    items: dict[str, str] = Field(default_factory=dict)
    then: dict[str, str] = Field(default_factory=dict)
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


Design = Literal["single_arm", "comparison", "randomised"]
"""The study design ``analysis.design`` states; it sets how the reports may speak of effects."""


class AnalysisOptions(_Strict):
    """Analysis options (waves, design, outcomes, multiplicity, confidence, minimal
    important differences).

    ``waves`` lists the waves analysed, in order; one wave (``[post]``) makes a post-only
    (single-wave) study. With two or more waves, ``contrast`` names the primary contrast
    (earlier wave, later wave; default the first and the last wave), and ``pre`` and
    ``post`` follow it (the paired statistics compare those two waves). ``mid`` sets a
    minimal important difference in scale units, by instrument (``who5``) or scale
    (``who5.total``), over the instrument's published one.

    Examples
    --------
    >>> a = AnalysisOptions.model_validate({"waves": ["pre", "mid", "post", "followup"]})
    >>> a.pre, a.post
    ('pre', 'followup')
    >>> a = AnalysisOptions.model_validate({"waves": ["t0", "t1", "t2"], "contrast": ["t0", "t1"]})
    >>> a.pre, a.post
    ('t0', 't1')
    """

    pre: str = "pre"
    post: str = "post"
    waves: list[str] | None = Field(default=None, min_length=1)
    contrast: list[str] | None = Field(default=None, min_length=2, max_length=2)
    mid: dict[str, Annotated[float, Field(gt=0)]] = Field(default_factory=dict)
    group: GroupSpec | None = None
    design: Design | None = None
    primary: list[str] = Field(default_factory=list)
    multiplicity: Literal["holm", "bh", "none"] = "holm"
    confidence: float = Field(default=0.95, gt=0, lt=1)

    @model_validator(mode="before")
    @classmethod
    def _contrast_waves(cls, data: Any) -> Any:
        """With ``waves`` (two or more), ``pre``/``post`` default to the primary contrast
        (``contrast``, else the first and last wave); ``pre``/``post`` written without a
        ``contrast`` name it. Inconsistent values are left for the config checks, which
        say where they are."""
        if not isinstance(data, dict):
            return data
        waves, contrast = data.get("waves"), data.get("contrast")
        if not isinstance(waves, list) or len(waves) < 2:
            return data
        out = dict(data)
        if contrast is None and ("pre" in data or "post" in data):
            out["contrast"] = [data.get("pre", waves[0]), data.get("post", waves[-1])]
        elif contrast is None:
            out["contrast"] = [waves[0], waves[-1]]
        named = out["contrast"]
        if isinstance(named, list) and len(named) == 2 and all(isinstance(w, str) for w in named):
            out.setdefault("pre", named[0])
            out.setdefault("post", named[1])
        return out

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
    longstring_min_items: int = Field(default=10, ge=2)
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

    @field_validator("participant_id", mode="before")
    @classmethod
    def _anonymous(cls, value: object) -> object:
        """``participant_id: none``: an anonymous survey (no id, responses unlinked)."""
        if isinstance(value, str) and value.strip().lower() == "none":
            return {"column": None, "linked": False}
        return value

    @property
    def linked(self) -> bool:
        """Whether responses are linked across waves by a participant id."""
        return self.participant_id.linked

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
