"""The cross-checks of a study config: everything its shape (pydantic) cannot express.

A source with both ``wave`` and ``events``, a file that does not exist, a path with a
control character, an unknown instrument or item, a value-map code that is not on the
response scale, a primary outcome that names no scale, a column given two roles — each
is one problem with its key and a fix, and :func:`cross_check` returns them all, in the
order of the checks below, together with the instruments it could load.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from mentoreval.config.design import source_waves, study_design
from mentoreval.config.groups import level_problems
from mentoreval.config.id_pattern import compile_id_pattern
from mentoreval.config.study_model import LABEL, LABEL_FIX, InstrumentMap, StudyConfig, data_root
from mentoreval.errors import ConfigError, InstrumentError, MentorevalError, Problem
from mentoreval.instruments import Instrument, load_instrument
from mentoreval.safefs import resolve_input

__all__ = ["cross_check"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass
class _Checker:
    """The problems found so far in one config file, and how its paths are resolved."""

    file: str
    base: Path
    problems: list[Problem] = field(default_factory=list)
    #: Keys whose path holds a control character: never resolved.
    unsafe: set[str] = field(default_factory=set)
    roots: list[Path] = field(default_factory=list)

    def add(self, message: str, key: str, fix: str) -> None:
        self.problems.append(Problem(message, file=self.file, key=key, fix=fix))

    def adopt(self, exc: MentorevalError) -> None:
        """Take over an error's problems, located in this file."""
        self.problems.extend(replace(q, file=self.file) for q in exc.problems)

    def resolve(self, p: str, key: str) -> Path | None:
        """The path under the study's folder or a data root; None (and a problem) if not."""
        if key in self.unsafe:
            return None
        try:
            return resolve_input(p, base=self.base, roots=self.roots, key=key)
        except MentorevalError as exc:
            self.adopt(exc)
            return None


def cross_check(
    cfg: StudyConfig, file: str, base: Path
) -> tuple[list[Problem], dict[str, Instrument]]:
    """Every problem of ``cfg`` that its shape cannot express, and the loaded instruments.

    Parameters
    ----------
    cfg
        The config, already validated by pydantic.
    file
        The config file's name for the problems.
    base
        The folder relative paths start from (the config file's folder).
    """
    check = _Checker(file, base)
    _check_id_pattern(cfg, check)
    _check_sgic(cfg, check)
    _check_partition_labels(cfg, check)
    check.unsafe = _control_characters(cfg, check)
    check.roots = [
        data_root(r, base)
        for j, r in enumerate(cfg.data_roots)
        if f"data_roots[{j}]" not in check.unsafe
    ]
    _check_sources(cfg, check)
    instruments = _load_instruments(cfg, check)
    _check_analysis(cfg, instruments, check)
    _check_then(cfg, instruments, check)
    _check_column_roles(cfg, instruments, check)
    return check.problems, instruments


def _check_id_pattern(cfg: StudyConfig, check: _Checker) -> None:
    if cfg.participant_id.pattern is not None:
        try:
            compile_id_pattern(cfg.participant_id.pattern)
        except ConfigError as exc:
            check.adopt(exc)


def _check_sgic(cfg: StudyConfig, check: _Checker) -> None:
    """Exactly one of ``participant_id.column`` and ``.sgic``; an SGIC's components are
    either columns or widths of its one column; the tolerance leaves a component to agree on."""
    pid = cfg.participant_id
    if pid.column is not None and pid.sgic is not None:
        check.add(
            "give one of participant_id.column and participant_id.sgic, not both",
            "participant_id",
            "use column: <id column> for a student number, or sgic: {components: [...]} for "
            "a self-generated code",
        )
    sgic = pid.sgic
    if sgic is None:
        return
    key = "participant_id.sgic"
    if pid.pattern is not None:
        check.add(
            "participant_id.pattern does not apply to a self-generated code",
            "participant_id.pattern",
            "remove pattern: (each component's kind says what it may hold)",
        )
    by_width = sgic.column is not None
    for j, comp in enumerate(sgic.components):
        if by_width and (comp.width is None or comp.column is not None):
            check.add(
                "a component of a code read from one column gives its width, not a column",
                f"{key}.components[{j}]",
                "give width: <characters> for every component (and no column:)",
            )
        if not by_width and (comp.column is None or comp.width is not None):
            check.add(
                "a component gives its column (or sgic gives the one code column and each "
                "component its width)",
                f"{key}.components[{j}]",
                "give column: <export column> for every component, or sgic.column and widths",
            )
    if sgic.tolerance >= len(sgic.components):
        check.add(
            f"tolerance {sgic.tolerance} lets codes that share no component link",
            f"{key}.tolerance",
            f"use at most {len(sgic.components) - 1} (1 is the usual choice)",
        )
    for i, src in enumerate(cfg.sources):
        if src.id_column is not None:
            check.add(
                "id_column does not apply to a study linked by a self-generated code",
                f"sources[{i}].id_column",
                "remove id_column (the code's columns are under participant_id.sgic)",
            )


def _sgic_columns(cfg: StudyConfig) -> list[str]:
    """The export columns a self-generated code is read from."""
    sgic = cfg.participant_id.sgic
    if sgic is None:
        return []
    if sgic.column is not None:
        return [sgic.column]
    return [c.column for c in sgic.components if c.column is not None]


def _check_then(cfg: StudyConfig, instruments: dict[str, Instrument], check: _Checker) -> None:
    """A retrospective (then-test) source names a wave of its own and instruments map
    their then-items; a then-map is read by some source."""
    then_sources = [i for i, s in enumerate(cfg.sources) if s.then is not None]
    mapped = [i for i, m in cfg.instruments.items() if m is not None and m.then]
    for i in then_sources:
        src = cfg.sources[i]
        if src.wave is None or src.then == src.wave:
            check.add(
                f"then: {src.then!r} needs wave: naming the 'now' answers' (another) wave",
                f"sources[{i}].then",
                "give e.g. wave: post and then: pre",
            )
        if not mapped:
            check.add(
                "then: is given but no instrument maps its retrospective items",
                f"sources[{i}].then",
                "map them under instruments.<id>.then: {item: column}",
            )
    for inst_id in mapped:
        m = cfg.instruments[inst_id]
        assert m is not None
        if not then_sources:
            check.add(
                "then-items are mapped but no source says which wave they are",
                f"instruments.{inst_id}.then",
                "add then: pre to the source holding them (beside wave: post)",
            )
        inst = instruments.get(inst_id)
        if inst is None:
            continue
        unknown = [item for item in m.then if item not in inst.item_ids]
        missing = [item for item in inst.item_ids if item not in m.then]
        if unknown or missing:
            check.add(
                f"the then-map must name every item of {inst_id} once"
                + (f"; unknown {unknown}" if unknown else "")
                + (f"; not mapped {missing}" if missing else ""),
                f"instruments.{inst_id}.then",
                f"map each of {inst.item_ids} to its 'before the programme' column",
            )
        now = {m.items.get(item, item) for item in inst.item_ids}
        cols = list(m.then.values())
        shared = sorted({c for c in cols if c in now or cols.count(c) > 1})
        if shared:
            check.add(
                f"then-column(s) {shared} also hold another answer of {inst_id}",
                f"instruments.{inst_id}.then",
                "map each item's 'before' answer to its own column",
            )


def _check_partition_labels(cfg: StudyConfig, check: _Checker) -> None:
    """``programme`` and ``cohort`` name folders of the store; ``year`` is plausible."""
    for key in ("programme", "cohort"):
        value = getattr(cfg, key)
        if value is not None and not LABEL.match(value):
            check.add(
                f"invalid {key} {value!r}: it names a folder of the store",
                key,
                LABEL_FIX + ", e.g. peer-mentoring or 2025-26",
            )
    if cfg.year is not None and not 1900 <= cfg.year <= 2200:
        check.add(f"invalid year {cfg.year!r}", "year", "give the academic year, e.g. 2025")


def _control_characters(cfg: StudyConfig, check: _Checker) -> set[str]:
    """The keys of paths holding a control character (each one a problem).

    A NUL or another control character in a path cannot name a file (the OS refuses NUL)
    and is never intended: refuse it here, by key, before anything touches the path.
    """
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
            check.add(
                f"the path {value!r} holds a control character ({bad.group()!r})",
                key,
                "remove the control character (a NUL, tab or line break) from the path",
            )
    return unsafe


def _check_sources(cfg: StudyConfig, check: _Checker) -> None:
    """Each source gives one of wave/events, and its files (and the meeting log) exist."""
    for i, src in enumerate(cfg.sources):
        key = f"sources[{i}]"
        if (src.wave is None) == (src.events is None):
            check.add(
                "give exactly one of wave: or events:",
                key,
                "use wave: pre for a single-wave export, or events: {baseline_arm_1: pre, ...} "
                "for a REDCap longitudinal export",
            )
        if src.events is not None and not src.events:
            check.add("events is empty", f"{key}.events", "map each redcap_event_name to a wave")
        named = [("path", src.path), ("dictionary", src.dictionary)]
        for name, value in named:
            found = check.resolve(value, f"{key}.{name}") if value is not None else None
            if found is not None and not found.is_file():
                check.add(
                    f"file not found: {found}",
                    f"{key}.{name}",
                    "check the path (relative paths start from the study file's folder)",
                )
    if cfg.meetings is not None:
        found = check.resolve(cfg.meetings.path, "meetings.path")
        if found is not None and not found.is_file():
            check.add(f"file not found: {found}", "meetings.path", "check the path")


def _load_instruments(cfg: StudyConfig, check: _Checker) -> dict[str, Instrument]:
    """The instruments that load (from ``instrument_dirs`` first), each map checked."""
    dirs = [
        d
        for j, value in enumerate(cfg.instrument_dirs)
        if (d := check.resolve(value, f"instrument_dirs[{j}]")) is not None
    ]
    instruments: dict[str, Instrument] = {}
    for inst_id, mapping in cfg.instruments.items():
        try:
            inst = load_instrument(inst_id, dirs=dirs)
        except InstrumentError as exc:
            _instrument_problems(inst_id, exc, check)
            continue
        if mapping is not None and mapping.scales is not None:
            inst = _used_scales(inst_id, inst, mapping.scales, check)
        instruments[inst_id] = inst
        if mapping is not None:
            _check_instrument_map(inst_id, inst, mapping, check)
    return instruments


def _instrument_problems(inst_id: str, exc: InstrumentError, check: _Checker) -> None:
    """An instrument that does not load: every problem of a broken definition, with its
    file and key; an unknown id, with the ids there are."""
    if not exc.problems:
        check.add(
            str(exc).splitlines()[0],
            f"instruments.{inst_id}",
            "use an instrument id listed by 'mentoreval instruments list', or put "
            f"{inst_id}.yaml in a folder named under instrument_dirs",
        )
        return
    for p in exc.problems:
        where = ": ".join(str(w) for w in (p.file, p.key) if w)
        check.add(
            f"the definition does not load: {where + ': ' if where else ''}{p.message}",
            f"instruments.{inst_id}",
            p.fix or "correct the definition (see docs/instruments.md)",
        )


def _used_scales(inst_id: str, inst: Instrument, scales: list[str], check: _Checker) -> Instrument:
    """The instrument reduced to the scales the study uses (all of it if one is unknown)."""
    known = [s.id for s in inst.scales]
    unknown = [s for s in scales if s not in known]
    for s in unknown:
        check.add(
            f"{inst_id} has no scale {s!r}",
            f"instruments.{inst_id}.scales",
            f"use scale ids of {inst_id}: {known}",
        )
    return inst if unknown else inst.subset(scales)


def _check_instrument_map(
    inst_id: str, inst: Instrument, mapping: InstrumentMap, check: _Checker
) -> None:
    """Items exist, each column is mapped once, codes and synonyms are the scale's."""
    key = f"instruments.{inst_id}"
    for item in mapping.items:
        if item not in inst.item_ids:
            used = "" if mapping.scales is None else f" in the scales used {mapping.scales}"
            check.add(
                f"unknown item {item!r}{used}",
                f"{key}.items",
                f"use item ids of {inst_id}{used}: {inst.item_ids}"
                + (" (or add the item's scale under scales)" if used else ""),
            )
    cols = list(mapping.items.values())
    twice = sorted({c for c in cols if cols.count(c) > 1})
    if twice:
        check.add(
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
            check.add(
                f"value {export_value!r} maps to {code:g}, which is not a code of {inst_id}",
                f"{key}.values",
                f"map to one of {sorted(allowed)}",
            )
    for label in mapping.synonyms:
        if label.strip().casefold() not in labels:
            check.add(
                f"synonyms for {label!r}, which is not a label of {inst_id}",
                f"{key}.synonyms",
                "use a label of the instrument's response scale as the key "
                "(see 'mentoreval instruments show')",
            )


def _check_mid(cfg: StudyConfig, instruments: dict[str, Instrument], check: _Checker) -> None:
    """``analysis.mid`` names an instrument or instrument.scale of the study."""
    for name in cfg.analysis.mid:
        inst_id, _, scale = name.partition(".")
        known = inst_id in instruments and (
            not scale or scale in [s.id for s in instruments[inst_id].scales]
        )
        if not known and not (inst_id in cfg.instruments and inst_id not in instruments):
            check.add(
                f"{name!r} is not an instrument or instrument.scale of this study",
                f"analysis.mid.{name}",
                "write an instrument (who5) or instrument.scale (who5.total) under instruments",
            )


def _check_waves(cfg: StudyConfig, check: _Checker) -> None:
    """``analysis.waves`` names each wave once; ``analysis.contrast`` names two of them,
    earlier first, and agrees with ``analysis.pre``/``analysis.post`` when those are set."""
    a = cfg.analysis
    waves = a.waves or []
    for j, wave in enumerate(waves):
        if wave in waves[:j]:
            check.add(f"wave {wave!r} is listed twice", f"analysis.waves[{j}]",
                      "list each wave once, in time order")  # fmt: skip
    if a.contrast is None:
        return
    if len(waves) < 2:
        check.add("analysis.contrast needs analysis.waves (two or more waves)",
                  "analysis.contrast", "list the waves under analysis.waves, in time order")  # fmt: skip
        return
    for j, wave in enumerate(a.contrast):
        if wave not in waves:
            check.add(f"wave {wave!r} is not one of analysis.waves {waves}",
                      f"analysis.contrast[{j}]", "name two waves of analysis.waves")  # fmt: skip
    first, second = a.contrast
    if {first, second} <= set(waves) and waves.index(first) >= waves.index(second):
        check.add(f"the contrast {first!r} vs {second!r} does not name the earlier wave first",
                  "analysis.contrast", f"write [earlier, later], e.g. [{waves[0]}, {waves[-1]}]")  # fmt: skip
    if (a.pre, a.post) != (first, second):
        check.add(f"analysis.pre/post ({a.pre!r}, {a.post!r}) differ from analysis.contrast "
                  f"{list(a.contrast)}", "analysis.pre",
                  "with analysis.waves, name the primary contrast in analysis.contrast only")  # fmt: skip


def _check_analysis(cfg: StudyConfig, instruments: dict[str, Instrument], check: _Checker) -> None:
    """The pre/post waves are given by a source, primary outcomes name scales, one group."""
    waves = source_waves(cfg)
    named: list[tuple[str, str]] = (
        [(f"analysis.waves[{j}]", w) for j, w in enumerate(cfg.analysis.waves)]
        if cfg.analysis.waves
        else [(f"analysis.{k}", getattr(cfg.analysis, k)) for k in ("pre", "post")]
    )
    if len(waves) == 1 and study_design(cfg).single_wave:
        named = []  # one wave in every source, none named: a single-wave survey
    for key, wave in named:
        if waves and wave not in waves:
            check.add(
                f"wave {wave!r} is not given by any source (sources give {sorted(set(waves))})",
                key,
                "name a wave used under sources",
            )
    _check_waves(cfg, check)
    _check_mid(cfg, instruments, check)
    for j, outcome in enumerate(cfg.analysis.primary):
        inst_id, _, scale = outcome.partition(".")
        ok = inst_id in instruments and scale in [s.id for s in instruments[inst_id].scales]
        if not ok and not (inst_id in cfg.instruments and inst_id not in instruments):
            check.add(
                f"{outcome!r} is not an instrument.scale of this study",
                f"analysis.primary[{j}]",
                "write instrument.scale, e.g. who5.total, for an instrument under instruments",
            )
    if cfg.analysis.group is not None and cfg.columns.group not in (
        None,
        cfg.analysis.group.column,
    ):
        check.add(
            f"analysis.group.column {cfg.analysis.group.column!r} differs from columns.group "
            f"{cfg.columns.group!r}",
            "analysis.group.column",
            "use the same column in both places",
        )
    if cfg.analysis.group is not None:
        for message, key, fix in level_problems(cfg.analysis.group):
            check.add(message, key, fix)
    _check_design(cfg, check)


def _check_design(cfg: StudyConfig, check: _Checker) -> None:
    """``analysis.design`` agrees with ``analysis.group``: a comparison or randomised design
    needs the group; a single-arm design has none."""
    design, group = cfg.analysis.design, cfg.analysis.group
    if design in ("comparison", "randomised") and group is None:
        check.add(
            f"analysis.design is {design!r} but no analysis.group is given",
            "analysis.design",
            "add analysis.group (column, treated, control), or set design: single_arm",
        )
    elif design == "single_arm" and group is not None:
        check.add(
            "analysis.design is 'single_arm' but analysis.group names a comparison group",
            "analysis.design",
            "set design: comparison (or randomised, if students were randomly allocated), "
            "or remove analysis.group",
        )


def _check_column_roles(
    cfg: StudyConfig, instruments: dict[str, Instrument], check: _Checker
) -> None:
    """One role per column: id, group, covariate, drop, meta, or one instrument's item."""
    roles = _declared_roles(cfg, check)
    item_cols = _item_columns(cfg, instruments, check)
    for col, key in roles.items():
        if col in item_cols and key != "participant_id.column":
            check.add(
                f"column {col!r} is also an item column ({item_cols[col]})",
                key,
                "give each column one role",
            )


def _declared_roles(cfg: StudyConfig, check: _Checker) -> dict[str, str]:
    """Column → the key that first gave it a role; a second role is a problem."""
    roles: dict[str, str] = {}
    declared: list[tuple[str, str]] = []
    if cfg.participant_id.column is not None:
        declared.append(("participant_id.column", cfg.participant_id.column))
    declared += [("participant_id.sgic", x) for x in _sgic_columns(cfg)]
    c = cfg.columns
    if c.group:
        declared.append(("columns.group", c.group))
    declared += [("columns.covariates", x) for x in c.covariates]
    declared += [("columns.drop", x) for x in c.drop]
    declared += [("columns.meta", x) for x in c.meta]
    for key, col in declared:
        if col in roles:
            check.add(
                f"column {col!r} has two roles ({roles[col]} and {key})",
                key,
                "give each column one role",
            )
        roles.setdefault(col, key)
    return roles


def _item_columns(
    cfg: StudyConfig, instruments: dict[str, Instrument], check: _Checker
) -> dict[str, str]:
    """Export column → the instrument whose item it holds.

    A column has one meaning: one instrument's item, never two instruments' items (it
    would be scored twice). An item without a mapping is read from the column of its id.
    """
    item_cols: dict[str, str] = {}
    item_of: dict[str, str] = {}
    for inst_id, inst in instruments.items():
        imap = cfg.instruments[inst_id] or InstrumentMap()
        mapped = imap.items
        pairs = [(item, "items") for item in inst.item_ids]
        pairs += [(item, "then") for item in inst.item_ids if item in imap.then]
        for item, part in pairs:
            col = imap.then[item] if part == "then" else mapped.get(item, item)
            explicit = part == "then" or item in mapped
            how = f"{item}: {col}" if explicit else f"{item} (by default: its own id)"
            where = f"instruments.{inst_id}.{part}"
            if col in item_cols and item_cols[col] != f"instruments.{inst_id}":
                check.add(
                    f"column {col!r} is mapped into two instruments ({item_of[col]} and "
                    f"{where}: {how})",
                    where,
                    "map each export column into one instrument only (a column has one "
                    "meaning); give the other instrument's item its own column",
                )
                continue
            item_cols.setdefault(col, f"instruments.{inst_id}")
            item_of.setdefault(col, f"{where}: {how}")
    return item_cols
