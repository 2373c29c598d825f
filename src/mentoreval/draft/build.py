"""Draft a study config from exports: :func:`draft_study` ties the proposals together.

Per export: items first (:mod:`~mentoreval.draft.items`), then the participant id among the
remaining columns, then the other roles (:mod:`~mentoreval.draft.roles`). Across exports:
an item must sit in the same column in every file that holds its instrument (a study
config has one item map), a column keeps one role (identifying wins), and the waves come
from events, file names or dates. Anything that does not agree becomes a ``TODO``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from mentoreval.instruments import Instrument

from .evidence import ExportFile, collect_exports
from .items import ItemMatch, available_instruments, match_items
from .keying import KeyFlag, check_keying
from .model import InstrumentDraft, Proposal, SourceDraft, StudyDraft
from .roles import (
    ColumnRole,
    IdChoice,
    WaveChoice,
    column_roles,
    id_pattern,
    propose_ids,
    propose_waves,
    submitted_column,
)
from .stages import wave_rank

__all__ = ["draft_study"]

_ROLE_ORDER = ("drop", "group", "covariate", "duration", "meta", "unplaced")


def draft_study(
    paths: Sequence[str | Path],
    *,
    instrument_dirs: Iterable[str | Path] | None = None,
) -> StudyDraft:
    """Propose a study config for the exports given.

    Parameters
    ----------
    paths
        Export files or folders holding them (a REDCap data dictionary and a meeting log
        among them are recognised).
    instrument_dirs
        Extra folders of instrument definitions (besides the shipped ones and
        ``$MENTOREVAL_INSTRUMENTS``).

    Returns
    -------
    StudyDraft
        ``.table()`` lists every proposal, ``.to_yaml()`` gives the commented config,
        ``.write(path)`` writes it (never over an existing file unless ``force=True``).

    Raises
    ------
    mentoreval.errors.ReadError
        When a file cannot be read (all such files at once, located).

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> head = "student_id,I have felt calm and relaxed,I have felt active and vigorous,gender"
    >>> labels = ["At no time", "Some of the time", "All of the time"]
    >>> for wave, shift in (("pre", 0), ("post", 1)):
    ...     rows = [f"{1000000 + i},{labels[(i + shift) % 3]},{labels[i % 3]},F" for i in range(12)]
    ...     _ = (folder / f"{wave}.csv").write_text("\\n".join([head, *rows]) + "\\n")
    >>> draft = draft_study([folder])
    >>> draft.id_column, draft.id_pattern, [(s.name, s.wave) for s in draft.sources]
    ('student_id', '^[0-9]{7}$', [('pre.csv', 'pre'), ('post.csv', 'post')])
    >>> draft.instruments["who5"].items
    {'who5_2': 'I have felt calm and relaxed', 'who5_3': 'I have felt active and vigorous'}
    >>> print("\\n".join(draft.todos))
    who5: items who5_1, who5_4, who5_5 not found in post.csv: map them to its columns
    who5: items who5_1, who5_4, who5_5 not found in pre.csv: map them to its columns
    >>> draft.table()[["column", "role", "item"]].head(4)
                                column       role    item
    0                       student_id         id     NaN
    1     I have felt calm and relaxed       item  who5_2
    2  I have felt active and vigorous       item  who5_3
    3                           gender  covariate     NaN
    """
    found = collect_exports(paths)
    files = found.files
    dirs = [Path(d) for d in instrument_dirs or []]
    catalogue = available_instruments(dirs)
    matches = {e.name: match_items(e, catalogue) for e in files}
    chosen = _chosen_instruments(matches, catalogue)
    item_cols = {f: {m.column for m in ms if m.instrument in chosen} for f, ms in matches.items()}
    ids = {c.file: c for c in propose_ids(files, item_cols)}
    roles = {e.name: column_roles(e, item_cols[e.name] | {ids[e.name].column or ""}) for e in files}
    submitted = {f: s for f, r in roles.items() if (s := submitted_column(r))}
    waves = {w.file: w for w in propose_waves(files, submitted)}
    instruments = _merge_instruments(files, matches, chosen, catalogue)
    keying = _keying(files, instruments, catalogue)
    return _assemble(files, found.meetings, ids, waves, roles, matches, instruments, keying, dirs)


def _chosen_instruments(
    matches: dict[str, list[ItemMatch]], catalogue: dict[str, Instrument]
) -> list[str]:
    """Instruments with at least half their items (or three) found in some file."""
    chosen = []
    for inst_id, inst in catalogue.items():
        counts = [sum(m.instrument == inst_id for m in ms) for ms in matches.values()]
        need = min(3, len(inst.items)) if len(inst.items) > 6 else len(inst.items) // 2
        if counts and max(counts) >= need:
            chosen.append(inst_id)
    position: dict[str, tuple[int, int]] = {}
    for i, ms in enumerate(matches.values()):
        for j, m in enumerate(ms):
            position.setdefault(m.instrument, (i, j))
    return sorted(chosen, key=lambda i: position[i])


def _merge_instruments(
    files: Sequence[ExportFile],
    matches: dict[str, list[ItemMatch]],
    chosen: list[str],
    catalogue: dict[str, Instrument],
) -> dict[str, InstrumentDraft]:
    out = {}
    for inst_id in chosen:
        inst = catalogue[inst_id]
        per_file = {
            e.name: {m.item: m for m in matches[e.name] if m.instrument == inst_id} for e in files
        }
        holding = [f for f, found in per_file.items() if found]
        items: dict[str, str] = {}
        evidence: dict[str, str] = {}
        item_confidence: dict[str, float] = {}
        values: dict[str, float] = {}
        todos: list[str] = []
        confidence = 1.0
        for f in holding:
            absent = [i for i in inst.item_ids if i not in per_file[f]]
            if absent:
                todos.append(f"items {', '.join(absent)} not found in {f}: map them to its columns")
        for item in inst.item_ids:
            found = [per_file[f][item] for f in holding if item in per_file[f]]
            if not found:
                continue
            columns = Counter(m.column for m in found)
            if len(columns) > 1:
                todos.append(
                    f"{item} is in different columns in different files ({dict(columns)}); a "
                    "study config maps an item to one column: rename the columns to agree"
                )
            best = max(found, key=lambda m: m.confidence)
            items[item] = columns.most_common(1)[0][0]
            evidence[item] = best.evidence
            item_confidence[item] = min(m.confidence for m in found)
            confidence = min(confidence, min(m.confidence for m in found))
            for m in found:
                values.update(m.values)
                if m.off_scale:
                    todos.append(
                        f"{m.file}: column {m.column!r} has answers that are not on the "
                        f"{inst_id} scale ({', '.join(map(repr, m.off_scale))}): add them "
                        "under values: (answer: code) or synonyms:, or they are quarantined"
                    )
        out[inst_id] = InstrumentDraft(
            id=inst_id,
            items=items,
            values=values,
            confidence=round(confidence, 2),
            evidence=evidence,
            files=tuple(holding),
            todos=tuple(dict.fromkeys(todos)),
            scales=tuple(s.id for s in inst.scales),
            item_confidence=item_confidence,
        )
    return out


def _keying(
    files: Sequence[ExportFile],
    instruments: dict[str, InstrumentDraft],
    catalogue: dict[str, Instrument],
) -> list[KeyFlag]:
    flags: list[KeyFlag] = []
    for e in files:
        for inst_id, draft in instruments.items():
            if e.name in draft.files:
                flags += check_keying(e, catalogue[inst_id], draft.items, draft.values)
    return flags


def _merge_roles(
    roles: dict[str, list[ColumnRole]], items: set[str], ids: set[str]
) -> dict[str, ColumnRole]:
    """One role per column name across files: drop wins, then the most confident."""
    merged: dict[str, ColumnRole] = {}
    for file_roles in roles.values():
        for r in file_roles:
            if r.column in items or r.column in ids:
                continue
            have = merged.get(r.column)
            if have is None or _rank(r) < _rank(have):
                merged[r.column] = r
    return merged


def _rank(r: ColumnRole) -> tuple[int, float]:
    return (_ROLE_ORDER.index(r.role), -r.confidence)


def _assemble(
    files: Sequence[ExportFile],
    meetings: Sequence[Path],
    ids: dict[str, IdChoice],
    waves: dict[str, WaveChoice],
    roles: dict[str, list[ColumnRole]],
    matches: dict[str, list[ItemMatch]],
    instruments: dict[str, InstrumentDraft],
    keying: list[KeyFlag],
    dirs: list[Path],
) -> StudyDraft:
    id_names = Counter(c.column for c in ids.values() if c.column)
    id_column = id_names.most_common(1)[0][0] if id_names else None
    item_columns = {c for d in instruments.values() for c in d.items.values()}
    merged = _merge_roles(roles, item_columns, set(id_names))
    columns = _columns(merged, roles)
    group = next((r for r in merged.values() if r.role == "group"), None)
    id_todos = [c.todo for c in ids.values() if c.todo]
    values = [
        str(v).strip()
        for e in files
        if (col := ids[e.name].column)
        for v in e.table.data[col].dropna()
    ]
    sources = tuple(
        sorted(
            (_source(e, ids[e.name], waves[e.name], id_column) for e in files),
            key=lambda s: (wave_rank(s.wave or ""), s.name),
        )
    )
    weakest = min((c for c in ids.values() if c.column), key=lambda c: c.confidence, default=None)
    evidence = "" if weakest is None else f"{weakest.file}: {weakest.evidence}"
    return StudyDraft(
        title=_title(files),
        sources=sources,
        id_column=id_column,
        id_pattern=id_pattern(values) if values else None,
        id_confidence=min((c.confidence for c in ids.values()), default=0.0),
        id_evidence=evidence,
        id_todo="; ".join(dict.fromkeys(id_todos)) or None,
        columns=columns,
        column_evidence={c: (r.confidence, r.evidence) for c, r in merged.items()},
        group=_group(group),
        instruments=instruments,
        proposals=tuple(_proposals(files, ids, roles, matches, instruments)),
        keying=tuple(keying),
        meetings=meetings[0] if meetings else None,
        cohort=_cohort(files),
        instrument_dirs=tuple(dirs),
    )


def _columns(
    merged: dict[str, ColumnRole], roles: dict[str, list[ColumnRole]]
) -> dict[str, list[str]]:
    submitted = [s for r in roles.values() if (s := submitted_column(r)) and s in merged]
    out: dict[str, list[str]] = {k: [] for k in ("covariates", "meta", "drop", "unplaced")}
    names = {"covariate": "covariates", "meta": "meta", "drop": "drop", "unplaced": "unplaced"}
    for column, r in merged.items():
        if r.role in names:
            out[names[r.role]].append(column)
        elif r.role in ("duration", "group"):
            out[r.role] = [column]
    if submitted:
        out["submitted_at"] = [Counter(submitted).most_common(1)[0][0]]
    return out


def _group(role: ColumnRole | None) -> dict[str, str] | None:
    if role is None:
        return None
    return {"column": role.column, **role.extra}


def _source(e: ExportFile, idc: IdChoice, wave: WaveChoice, id_column: str | None) -> SourceDraft:
    fmt = e.table.format
    todo = wave.todo
    return SourceDraft(
        path=e.path,
        format=fmt,
        wave=wave.wave,
        events=wave.events,
        dictionary=e.dictionary,
        id_column=idc.column if idc.column and idc.column != id_column else None,
        unfinished="exclude" if fmt.startswith(("qualtrics", "limesurvey")) else None,
        confidence=wave.confidence,
        evidence=wave.evidence,
        todo=todo,
    )


def _proposals(
    files: Sequence[ExportFile],
    ids: dict[str, IdChoice],
    roles: dict[str, list[ColumnRole]],
    matches: dict[str, list[ItemMatch]],
    instruments: dict[str, InstrumentDraft],
) -> list[Proposal]:
    out = []
    for e in files:
        by_col: dict[str, Proposal] = {}
        idc = ids[e.name]
        if idc.column:
            by_col[idc.column] = Proposal(e.name, idc.column, "id", idc.confidence, idc.evidence)
        loose = {}
        for m in matches[e.name]:
            if m.instrument in instruments:
                by_col[m.column] = Proposal(
                    e.name, m.column, "item", m.confidence, m.evidence, m.instrument, m.item
                )
            else:
                loose[m.column] = m
        for r in roles[e.name]:
            why = r.evidence
            if r.role == "unplaced" and r.column in loose:
                m = loose[r.column]
                why += f"; looks like {m.instrument}.{m.item} but too few of its items are here"
            by_col.setdefault(r.column, Proposal(e.name, r.column, r.role, r.confidence, why))
        out += [by_col[c] for c in e.table.data.columns if c in by_col]
    return out


def _title(files: Sequence[ExportFile]) -> str:
    folder = files[0].path.resolve().parent
    if folder.name.lower() == "exports":
        folder = folder.parent
    return f"{folder.name} (drafted by mentoreval init)"


def _cohort(files: Sequence[ExportFile]) -> str | None:
    folder = files[0].path.resolve().parent
    for part in (folder.name, folder.parent.name):
        if re.fullmatch(r"(19|20)\d\d", part):
            return part
    return None
