"""One source: an export read, its columns mapped to roles and its answers recoded (stage: map).

:func:`read_source` reads one export of a study (:func:`mentoreval.read.read_export`) and
maps it: the reader's exclusions go to the quarantine; the wave comes from the source's
``wave`` or, for REDCap, its ``events``; REDCap repeating instances are set aside; an empty
id, or one that does not match ``participant_id.pattern``, quarantines its row (an unlinked
survey gives each row a response key instead, :func:`~mentoreval.ingest.quarantine.response_keys`); role columns
(group, covariates, meta, duration, submission time) are kept as ``col:<name>``; each
instrument's answers are recoded (:func:`mentoreval.ingest.recode.recode_items`) straight
into the source's item tables; attention checks are counted; unmapped columns that look
identifying are named. Problems that stop the run are added to the caller's ``fatal`` list.

:func:`mentoreval.ingest.checks.source_labels` names each source in the outputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mentoreval.config.study import Source, Study, StudyConfig
from mentoreval.errors import MentorevalError, Problem
from mentoreval.ingest.columns import item_column_problems, renamed_headers
from mentoreval.ingest.groups import column_labels
from mentoreval.ingest.identifying import identifying_columns
from mentoreval.ingest.ids import add_code_parts, check_ids, read_ids
from mentoreval.ingest.linkage import parse_times
from mentoreval.ingest.mapping import SourceMapping
from mentoreval.ingest.quality import attention_failures
from mentoreval.ingest.quarantine import quarantine_frame
from mentoreval.ingest.recode import ReasonTable, recode_items
from mentoreval.read import RawTable, read_export

__all__ = ["Block", "SourceOut", "read_source"]

_EVENT = "redcap_event_name"
_REPEAT = ("redcap_repeat_instrument", "redcap_repeat_instance")


@dataclass
class Block:
    """One instrument's recoded answers in one source."""

    rows: np.ndarray  # positions into the source's kept records
    answers: np.ndarray
    reasons: np.ndarray


@dataclass
class SourceOut:
    """One source read and mapped: its kept records, item tables and what was set aside."""

    name: str
    order: int
    entry: dict[str, Any]
    records: pd.DataFrame  # raw_id, wave, source, source_order, source_row, ...
    blocks: dict[str, Block]
    quarantine: list[pd.DataFrame]
    n_records: int
    # The item tables of the kept records (every study item, instrument-major columns);
    # ``blocks`` views their columns. None when no instrument was recoded.
    answers: np.ndarray | None = None
    whys: np.ndarray | None = None
    dropped: list[str] = field(default_factory=list)
    identifying: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    then: str | None = None  # the wave of the retrospective answers (a then-test source)
    labels: dict[str, dict[str, str]] = field(default_factory=dict)  # group/covariate codes


@dataclass
class _Items:
    """The recoded item columns of one source's kept records."""

    blocks: dict[str, Block]
    n_shown: np.ndarray  # item columns per record
    used: set[str] = field(default_factory=set)  # the export's item columns
    answers: np.ndarray | None = None
    whys: np.ndarray | None = None


def _choices(meta: pd.DataFrame, column: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "column" not in meta:
        return out
    for name in ("choices", "missing_values"):
        if name in meta:
            pairs = dict(zip(meta["column"], meta[name], strict=False))
            out[name] = {c: v for c, v in pairs.items() if isinstance(v, list | tuple) and len(v)}
    return out


def _read_table(study: Study, src: Source, path: Path, fatal: list[Problem]) -> RawTable | None:
    """The export as text, or None (its problems added to ``fatal``)."""
    try:
        return read_export(
            path,
            format=src.format,
            encoding=src.encoding,
            dictionary=study.resolve(src.dictionary) if src.dictionary else None,
            sheet=src.sheet,
            exclude=tuple(src.exclude),
            unfinished=src.unfinished,
            formulas=src.formulas,
        )
    except MentorevalError as exc:
        fatal.extend(exc.problems or [Problem(str(exc), file=path.name)])
        return None


def _excluded(table: RawTable, name: str) -> list[pd.DataFrame]:
    """The rows the reader excluded, as quarantine entries."""
    if not len(table.excluded):
        return []
    ex = table.excluded
    return [
        quarantine_frame(
            ex["source_row"].to_numpy(),
            source=name,
            stage="read",
            rule=ex["rule"].astype(str).tolist(),
            reason=ex["reason"].astype(str).tolist(),
            column=[None if pd.isna(c) else str(c) for c in ex["column"]],
            value=[None if pd.isna(v) else str(v) for v in ex["value"]],
        )
    ]


def _waves(study: Study, src: Source, data: pd.DataFrame, m: SourceMapping) -> pd.Series | None:
    """Each record's wave: the source's ``wave``, or its REDCap event through ``events``
    (an event mapped to null sets its rows aside). None when the events cannot be mapped."""
    if src.wave is not None:
        return pd.Series(src.wave, index=data.index, dtype="string")
    events = src.events or {}
    if _EVENT not in m.columns:
        m.fatal.append(
            Problem(
                f"events: given but the export has no {_EVENT!r} column",
                file=m.name,
                key=f"{m.key}.events",
                fix="export the data with event names (longitudinal project), or use wave:",
            )
        )
        return None
    ev = data[_EVENT].astype("string")
    unmapped = sorted({str(e) for e in ev.dropna().unique()} - set(events))
    if unmapped:
        counts = ev.value_counts()
        listed = ", ".join(f"{e!r} ({int(counts[e])} rows)" for e in unmapped)
        m.fatal.append(
            Problem(
                f"event(s) not mapped to a wave: {listed}",
                file=study.path.name,
                key=f"{m.key}.events",
                column=_EVENT,
                fix="add each event under events: (map it to a wave, or to null to set its rows aside)",
            )
        )
        return None
    wave = ev.map({k: v for k, v in events.items()}).astype("string")
    ignored = (ev.isna() | wave.isna()).to_numpy()
    if ignored.any():
        m.quarantine.append(
            quarantine_frame(
                m.rows[ignored],
                source=m.name,
                stage="map",
                rule="event_ignored",
                reason="the event is mapped to null (or empty) in the study config",
                column=_EVENT,
                value=[None if pd.isna(v) else str(v) for v in ev[ignored]],
            )
        )
        m.set_aside |= ignored
    return wave


def _repeating_instances(data: pd.DataFrame, m: SourceMapping) -> list[str]:
    """Set REDCap repeating instrument/event rows aside; the repeat columns present."""
    repeat_cols = [c for c in _REPEAT if c in m.columns]
    if repeat_cols:
        repeat = data[repeat_cols].notna().any(axis=1).to_numpy() & ~m.set_aside
        if repeat.any():
            m.quarantine.append(
                quarantine_frame(
                    m.rows[repeat],
                    source=m.name,
                    stage="map",
                    rule="repeating_instance",
                    reason="a REDCap repeating instrument/event row is not a survey wave",
                    column=repeat_cols[0],
                )
            )
            m.set_aside |= repeat
    return repeat_cols


def _submission_times(records: pd.DataFrame, column: str, m: SourceMapping) -> None:
    """Parse the submission times in place; unreadable ones are fatal (they decide which
    duplicate submission is kept)."""
    times, unreadable = parse_times(records[f"col:{column}"])
    if unreadable.any():
        at = np.flatnonzero(unreadable)
        shown = ", ".join(
            f"row {r}: {v!r}"
            for r, v in zip(
                records["source_row"].to_numpy()[at[:5]],
                records[f"col:{column}"].to_numpy()[at[:5]],
                strict=True,
            )
        )
        more = f" and {len(at) - 5} more" if len(at) > 5 else ""
        m.fatal.append(
            Problem(
                f"{len(at)} submission time(s) cannot be read ({shown}{more}); the times "
                "decide which duplicate submission is kept",
                file=m.name,
                row=int(records["source_row"].iloc[at[0]]),
                column=column,
                key="columns.submitted_at",
                fix="export the times as ISO 8601 (2024-03-02 13:00:00+01:00), or correct "
                "the cells named",
            )
        )
    records[f"col:{column}"] = times


def _roles(
    records: pd.DataFrame, kept: pd.DataFrame, cfg: StudyConfig, m: SourceMapping
) -> set[str]:
    """Copy the role columns into ``records`` (as ``col:<name>``); the columns used
    (roles, attention checks and declared drops)."""
    roles = cfg.columns
    used: set[str] = set()
    for role_col in [
        roles.group,
        *roles.covariates,
        *roles.meta,
        roles.duration,
        roles.submitted_at,
    ]:
        if role_col and role_col in m.columns:
            used.add(role_col)
            records[f"col:{role_col}"] = kept[role_col].array
    if roles.submitted_at and roles.submitted_at in m.columns:
        _submission_times(records, roles.submitted_at, m)
    for check in cfg.quality.attention_checks:
        if check.column in m.columns:
            used.add(check.column)
    return used


def _recode(
    study: Study,
    table: RawTable,
    kept: pd.DataFrame,
    kept_rows: np.ndarray,
    reasons: ReasonTable,
    m: SourceMapping,
    part: str = "items",
) -> _Items:
    """Recode every instrument straight into its columns of the source's item tables
    (``part="then"``: the retrospective answers of the instruments that have them)."""
    lists = _choices(table.columns_meta, "")
    items = _Items(blocks={}, n_shown=np.zeros(len(kept), dtype=np.int64))
    width = sum(len(inst.item_ids) for inst in study.instruments.values())
    col0 = 0
    found = item_column_problems(study, m.name, m.columns, part=part)
    for inst_id, inst in study.instruments.items():
        col0 += len(inst.item_ids)
        mapping = study.item_columns(inst_id) if part == "items" else study.then_columns(inst_id)
        if inst_id not in found:
            continue
        if found[inst_id]:
            m.fatal.extend(found[inst_id])
            continue
        cols = [mapping[i] for i in inst.item_ids]
        items.used |= set(cols)
        imap = study.instrument_map(inst_id)
        if items.answers is None or items.whys is None:
            items.answers = np.empty((len(kept), width))
            items.whys = np.empty((len(kept), width), dtype=np.int16)
        span = slice(col0 - len(cols), col0)
        rec = recode_items(
            kept,
            cols,
            inst,
            inst.item_ids,
            reasons=reasons,
            values=imap.values,
            synonyms=imap.synonyms,
            choices=lists.get("choices"),
            source_missing=lists.get("missing_values"),
            platform=table.format,
            out=items.answers[:, span],
            why=items.whys[:, span],
        )
        items.blocks[inst_id] = Block(
            rows=np.arange(len(kept)), answers=rec.values, reasons=rec.reasons
        )
        items.n_shown += len(cols)
        if len(rec.quarantine):
            q = rec.quarantine
            m.quarantine.append(
                quarantine_frame(
                    kept_rows[q["position"].to_numpy(dtype=np.int64)],
                    source=m.name,
                    stage="recode",
                    rule="unknown_value",
                    reason=q["reason"].tolist(),
                    column=q["column"].tolist(),
                    value=[str(v) for v in q["value"]],
                )
            )
    if not items.blocks and not any(p.file == m.name for p in m.fatal):
        m.fatal.append(
            Problem(
                "none of the study's instruments has its item columns in this export",
                file=m.name,
                key=m.key,
                fix="map items to the export's columns under instruments.<id>.items",
            )
        )
    return items


def _stack_then(
    study: Study, records: pd.DataFrame, now: _Items, then: _Items, wave: str
) -> tuple[pd.DataFrame, _Items]:
    """A then-test source: each response twice, its "now" answers (``records``' wave) and
    then its retrospective answers as ``wave``; the item tables stacked the same way."""
    n = len(records)
    before = records.assign(wave=wave, n_items=then.n_shown)
    both = pd.concat([records, before], ignore_index=True)
    width = sum(len(inst.item_ids) for inst in study.instruments.values())
    answers = np.full((2 * n, width), np.nan)
    whys = np.zeros((2 * n, width), dtype=np.int16)
    for half, part in ((slice(0, n), now), (slice(n, 2 * n), then)):
        if part.answers is not None and part.whys is not None:  # else a problem is fatal
            answers[half], whys[half] = part.answers, part.whys
    blocks: dict[str, Block] = {}
    col0 = 0
    for inst_id, inst in study.instruments.items():
        span = slice(col0, col0 + len(inst.item_ids))
        col0 = span.stop
        halves = ((np.arange(n), now), (n + np.arange(n), then))
        if rows := [r for r, p in halves if inst_id in p.blocks]:
            at = np.concatenate(rows)
            blocks[inst_id] = Block(rows=at, answers=answers[at, span], reasons=whys[at, span])
    out = _Items(blocks, np.concatenate([now.n_shown, then.n_shown]), now.used | then.used)
    out.answers, out.whys = answers, whys
    return both, out


def _start_mapping(table: RawTable, name: str, order: int, fatal: list[Problem]) -> SourceMapping:
    """The shared state of mapping ``table``: nothing set aside yet but its excluded rows'
    quarantine."""
    return SourceMapping(
        name=name,
        key=f"sources[{order}]",
        columns=list(table.data.columns),
        rows=table.source_row,
        fatal=fatal,
        quarantine=_excluded(table, name),
        set_aside=np.zeros(len(table.data), dtype=bool),
    )


def read_source(
    study: Study,
    order: int,
    src: Source,
    fatal: list[Problem],
    reasons: ReasonTable,
    *,
    label: str | None = None,
) -> SourceOut | None:
    """Read and map one source of ``study`` (see the module docstring).

    Parameters
    ----------
    study
        The loaded study.
    order
        The source's position in the study config (``sources[order]``).
    src
        The source.
    fatal
        Where problems that stop the run are added.
    reasons
        The study's shared missing-reason vocabulary.
    label
        The source's name in the outputs (default: its file name; see
        :func:`source_labels`).

    Returns
    -------
    SourceOut or None
        None when the source cannot be mapped at all (unreadable, no id column, events that
        cannot be mapped); its problems are in ``fatal``.
    """
    cfg = study.config
    path = study.resolve(src.path)
    table = _read_table(study, src, path, fatal)
    if table is None:
        return None
    # The source's name in every output: its file name, or its path when two sources
    # share a file name (``label``).
    name = label or path.name
    data = table.data
    columns = list(data.columns)
    m = _start_mapping(table, name, order, fatal)
    ids = read_ids(data, cfg, src, m)
    if ids is None:
        # the item columns are checked too: one run names both
        fatal.extend(p for ps in item_column_problems(study, name, columns).values() for p in ps)
        return None
    raw_ids, id_cols, components = ids
    wave = _waves(study, src, data, m)
    if wave is None:
        return None
    repeat_cols = _repeating_instances(data, m)
    if cfg.participant_id.linked:
        check_ids(raw_ids, cfg, id_cols[0], m)

    keep = ~m.set_aside
    kept = data if keep.all() else data.loc[keep]  # no copy of the text when all are kept
    records = pd.DataFrame(
        {
            "raw_id": raw_ids.array[keep],
            "wave": wave.array[keep],
            "source": name,
            "source_order": order,
            "source_row": m.rows[keep],
        }
    )
    add_code_parts(records, components, keep)
    used = {*id_cols, _EVENT, *repeat_cols, *_roles(records, kept, cfg, m)}
    dropped_declared = [c for c in cfg.columns.drop if c in columns]
    used |= set(dropped_declared)
    items = _recode(study, table, kept, m.rows[keep], reasons, m)
    used |= items.used
    records["n_items"] = items.n_shown
    records["attention_failed"] = attention_failures(kept, cfg.quality.attention_checks, columns)
    if src.then is not None:
        then = _recode(study, table, kept, m.rows[keep], reasons, m, part="then")
        used |= then.used
        records, items = _stack_then(study, records, items, then, src.then)
    unmapped = [c for c in columns if c not in used]
    return SourceOut(
        name=name,
        order=order,
        entry={**table.manifest_entry(), "file": name},
        records=records,
        blocks=items.blocks,
        quarantine=m.quarantine,
        n_records=table.record_count_check,
        answers=items.answers,
        whys=items.whys,
        dropped=[*dropped_declared, *unmapped],
        identifying=identifying_columns(data, table.columns_meta, unmapped),
        notes=[*table.notes, *renamed_headers(table.columns_meta), *m.notes],
        columns=columns,
        then=src.then,
        labels=column_labels(table.columns_meta, [cfg.columns.group, *cfg.columns.covariates]),
    )
