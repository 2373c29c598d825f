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
``quality`` thresholds ``speeder_seconds_per_item``, ``longstring``, ``irv_min_items``
and ``mahalanobis_alpha``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mentoreval.errors import ConfigError, InstrumentError, MentorevalError, Problem, raise_problems
from mentoreval.instruments import Instrument, load_instrument
from mentoreval.read.base import Format
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
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


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
        return [_root(r, self.base) for r in self.config.data_roots]

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

    def instrument_map(self, instrument: str) -> InstrumentMap:
        """The config's map for ``instrument`` (empty when none was given)."""
        return self.config.instruments[instrument] or InstrumentMap()

    def waves(self) -> list[str]:
        """Every wave named by a source, in order of first mention."""
        out: list[str] = []
        for src in self.config.sources:
            names = [src.wave] if src.wave else list((src.events or {}).values())
            out += [w for w in names if w and w not in out]
        return out


def _cross_check(
    cfg: StudyConfig, file: str, base: Path
) -> tuple[list[Problem], dict[str, Instrument]]:
    problems: list[Problem] = []

    def add(message: str, key: str, fix: str) -> None:
        problems.append(Problem(message, file=file, key=key, fix=fix))

    if cfg.participant_id.pattern is not None:
        try:
            compile_id_pattern(cfg.participant_id.pattern)
        except ConfigError as exc:
            problems.extend(replace(q, file=file) for q in exc.problems)

    for key in ("programme", "cohort"):
        value = getattr(cfg, key)
        if value is not None and not LABEL.match(value):
            add(
                f"invalid {key} {value!r}: it names a folder of the store",
                key,
                LABEL_FIX + ", e.g. peer-mentoring or 2025-26",
            )
    if cfg.year is not None and not 1900 <= cfg.year <= 2200:
        add(f"invalid year {cfg.year!r}", "year", "give the academic year, e.g. 2025")

    # A NUL or another control character in a path cannot name a file (the OS refuses NUL)
    # and is never intended: refuse it here, by key, before anything touches the path.
    unsafe: set[str] = set()
    named_paths: list[tuple[str, str | None]] = [("key_file", cfg.key_file)]
    for i, src in enumerate(cfg.sources):
        named_paths += [(f"sources[{i}].path", src.path)]
        named_paths += [(f"sources[{i}].dictionary", src.dictionary)]
    if cfg.meetings is not None:
        named_paths.append(("meetings.path", cfg.meetings.path))
    named_paths += [(f"instrument_dirs[{j}]", d) for j, d in enumerate(cfg.instrument_dirs)]
    named_paths += [(f"data_roots[{j}]", d) for j, d in enumerate(cfg.data_roots)]
    for key, value in named_paths:
        if value is not None and (bad := _CONTROL.search(value)):
            unsafe.add(key)
            add(
                f"the path {value!r} holds a control character ({bad.group()!r})",
                key,
                "remove the control character (a NUL, tab or line break) from the path",
            )

    roots = [
        _root(r, base) for j, r in enumerate(cfg.data_roots) if f"data_roots[{j}]" not in unsafe
    ]

    def resolve(p: str, key: str) -> Path | None:
        if key in unsafe:
            return None
        try:
            return resolve_input(p, base=base, roots=roots, key=key)
        except MentorevalError as exc:
            problems.extend(replace(q, file=file) for q in exc.problems)
            return None

    for i, src in enumerate(cfg.sources):
        key = f"sources[{i}]"
        if (src.wave is None) == (src.events is None):
            add(
                "give exactly one of wave: or events:",
                key,
                "use wave: pre for a single-wave export, or events: {baseline_arm_1: pre, ...} "
                "for a REDCap longitudinal export",
            )
        if src.events is not None and not src.events:
            add("events is empty", f"{key}.events", "map each redcap_event_name to a wave")
        named = [("path", src.path), ("dictionary", src.dictionary)]
        for field, value in named:
            found = resolve(value, f"{key}.{field}") if value is not None else None
            if found is not None and not found.is_file():
                add(
                    f"file not found: {found}",
                    f"{key}.{field}",
                    "check the path (relative paths start from the study file's folder)",
                )
    if cfg.meetings is not None:
        found = resolve(cfg.meetings.path, "meetings.path")
        if found is not None and not found.is_file():
            add(f"file not found: {found}", "meetings.path", "check the path")

    dirs = [
        d
        for j, value in enumerate(cfg.instrument_dirs)
        if (d := resolve(value, f"instrument_dirs[{j}]")) is not None
    ]
    instruments: dict[str, Instrument] = {}
    for inst_id, mapping in cfg.instruments.items():
        key = f"instruments.{inst_id}"
        try:
            inst = load_instrument(inst_id, dirs=dirs)
        except InstrumentError as exc:
            add(
                str(exc).splitlines()[0],
                key,
                "use an instrument id listed by 'mentoreval instruments list'",
            )
            continue
        instruments[inst_id] = inst
        if mapping is None:
            continue
        for item in mapping.items:
            if item not in inst.item_ids:
                add(
                    f"unknown item {item!r}",
                    f"{key}.items",
                    f"use item ids of {inst_id}: {inst.item_ids}",
                )
        cols = list(mapping.items.values())
        twice = sorted({c for c in cols if cols.count(c) > 1})
        if twice:
            add(
                f"column(s) {twice} mapped to more than one item",
                f"{key}.items",
                "map each column once",
            )
        allowed: set[float] = set()
        labels: set[str] = set()
        for rs in inst.response_scales.values():
            allowed |= {float(c) for c in rs.codes} | {float(m.code) for m in rs.missing}
            labels |= {lab.strip().casefold() for lab in rs.labels}
            labels |= {m.label.strip().casefold() for m in rs.missing if m.label}
        for export_value, code in mapping.values.items():
            if float(code) not in allowed:
                add(
                    f"value {export_value!r} maps to {code:g}, which is not a code of {inst_id}",
                    f"{key}.values",
                    f"map to one of {sorted(allowed)}",
                )
        for label in mapping.synonyms:
            if label.strip().casefold() not in labels:
                add(
                    f"synonyms for {label!r}, which is not a label of {inst_id}",
                    f"{key}.synonyms",
                    "use a label of the instrument's response scale as the key "
                    "(see 'mentoreval instruments show')",
                )

    waves = []
    for src in cfg.sources:
        waves += [src.wave] if src.wave else [w for w in (src.events or {}).values() if w]
    for which in ("pre", "post"):
        wave = getattr(cfg.analysis, which)
        if waves and wave not in waves:
            add(
                f"wave {wave!r} is not given by any source (sources give {sorted(set(waves))})",
                f"analysis.{which}",
                "name a wave used under sources",
            )
    for j, outcome in enumerate(cfg.analysis.primary):
        inst_id, _, scale = outcome.partition(".")
        ok = inst_id in instruments and scale in [s.id for s in instruments[inst_id].scales]
        if not ok and not (inst_id in cfg.instruments and inst_id not in instruments):
            add(
                f"{outcome!r} is not an instrument.scale of this study",
                f"analysis.primary[{j}]",
                "write instrument.scale, e.g. who5.total, for an instrument under instruments",
            )
    if cfg.analysis.group is not None and cfg.columns.group not in (
        None,
        cfg.analysis.group.column,
    ):
        add(
            f"analysis.group.column {cfg.analysis.group.column!r} differs from columns.group "
            f"{cfg.columns.group!r}",
            "analysis.group.column",
            "use the same column in both places",
        )

    roles: dict[str, str] = {}
    declared: list[tuple[str, str]] = [("participant_id.column", cfg.participant_id.column)]
    c = cfg.columns
    if c.group:
        declared.append(("columns.group", c.group))
    declared += [("columns.covariates", x) for x in c.covariates]
    declared += [("columns.drop", x) for x in c.drop]
    declared += [("columns.meta", x) for x in c.meta]
    for key, col in declared:
        if col in roles:
            add(
                f"column {col!r} has two roles ({roles[col]} and {key})",
                key,
                "give each column one role",
            )
        roles.setdefault(col, key)
    # A column has one meaning: one instrument's item, never two instruments' items (it
    # would be scored twice). An item without a mapping is read from the column of its id.
    item_cols: dict[str, str] = {}
    item_of: dict[str, str] = {}
    for inst_id, inst in instruments.items():
        mapped = (cfg.instruments[inst_id] or InstrumentMap()).items
        for item in inst.item_ids:
            col = mapped.get(item, item)
            how = f"{item}: {col}" if item in mapped else f"{item} (by default: its own id)"
            where = f"instruments.{inst_id}.items"
            if col in item_cols and item_cols[col] != f"instruments.{inst_id}":
                add(
                    f"column {col!r} is mapped into two instruments ({item_of[col]} and "
                    f"{where}: {how})",
                    where,
                    "map each export column into one instrument only (a column has one "
                    "meaning); give the other instrument's item its own column",
                )
                continue
            item_cols.setdefault(col, f"instruments.{inst_id}")
            item_of.setdefault(col, f"{where}: {how}")
    for col, key in roles.items():
        if col in item_cols and key != "participant_id.column":
            add(
                f"column {col!r} is also an item column ({item_cols[col]})",
                key,
                "give each column one role",
            )
    return problems, instruments


_PATTERN_KEY = "participant_id.pattern"
_PATTERN_MAX = 1000  # characters; an id pattern is a line, not a program


def compile_id_pattern(pattern: str) -> Callable[[Iterable[str]], np.ndarray]:
    """A vectorised full match of ids against ``participant_id.pattern``, in bounded time.

    The pattern runs on RE2 (through pyarrow's ``match_substring_regex``), which never
    backtracks: matching takes time linear in the length of the ids whatever the pattern,
    so ``^(a+)+$`` against ``aaaa…!`` answers at once instead of hanging ``validate``.
    RE2 has Python's syntax without lookarounds (``(?=…)``, ``(?<!…)``) and
    backreferences (``\\1``), and its ``\\d``/``\\w``/``\\s`` are ASCII. A pattern
    that RE2 cannot compile is a :class:`~mentoreval.errors.ConfigError` naming the key.

    Returns
    -------
    callable
        ``ids → bool array``: True where the whole id matches (``^``/``$`` are implied).

    Examples
    --------
    >>> matches = compile_id_pattern("[0-9]{7}")
    >>> matches(["1234567", "123456", "1234567x", "1234567\\n"]).tolist()
    [True, False, False, False]
    >>> compile_id_pattern("^(a+)+$")(["a" * 40 + "!"]).tolist()
    [False]
    >>> compile_id_pattern("(a)\\\\1")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mentoreval.errors.ConfigError: participant_id.pattern: ... (fix: ...)
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    def regex_match(arr: Any, regex: str) -> Any:
        options = pc.MatchSubstringOptions(regex)
        return pc.call_function("match_substring_regex", [arr], options)

    def refuse(why: str) -> ConfigError:
        problem = Problem(
            f"{why}: {pattern[:80]!r}",
            key=_PATTERN_KEY,
            fix="write a regular expression without lookarounds (?=...) and backreferences "
            "\\1 (mentoreval runs id patterns with RE2, which guarantees bounded time), "
            "e.g. '^[0-9]{7}$'",
        )
        return ConfigError(str(problem), (problem,))

    if len(pattern) > _PATTERN_MAX:
        raise refuse(f"the pattern is {len(pattern)} characters long (limit {_PATTERN_MAX})")
    anchored = rf"\A(?:{pattern})\z"
    probe = pa.array([""], type=pa.large_string())
    try:
        # the bare pattern first: "a)|(b" must not escape the anchors around it
        regex_match(probe, pattern)
        regex_match(probe, anchored)
    except pa.ArrowInvalid as exc:
        raise refuse(
            str(exc).replace("Invalid regular expression: ", "invalid regular expression (") + ")"
        ) from None
    except pa.ArrowNotImplementedError:  # pragma: no cover - pyarrow built without RE2
        raise refuse(
            "this pyarrow has no RE2 regular expressions; install pyarrow from PyPI"
        ) from None

    def matches(ids: Iterable[str]) -> np.ndarray:
        arr = ids if isinstance(ids, pa.Array) else pa.array(list(ids), type=pa.large_string())
        found = regex_match(arr, anchored)
        return np.asarray(found.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)

    return matches


def _root(value: str, base: Path) -> Path:
    """A ``data_roots`` entry, resolved (relative entries start from the study's folder)."""
    p = Path(value).expanduser()
    return (p if p.is_absolute() else base / p).resolve()


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
    problems, instruments = _cross_check(cfg, file, path.parent)
    raise_problems(problems, error=ConfigError, what=f"in {file}")
    return Study(
        config=cfg,
        path=path,
        name=_study_name(cfg, path.resolve()),
        instruments=instruments,
        sha256=hashlib.sha256(raw_bytes).hexdigest(),
    )
