"""The ingest pipeline: exports → linked, pseudonymised, quality-checked tables (map → link).

:func:`ingest_study` ties the stages together for one ``study.yaml``:

1. **read** every source with :func:`mentoreval.read.read_export` (text only; hash, size,
   record count from an independent parse; reader exclusions → quarantine);
2. **map** columns to roles: the participant id, items (by the config's item map, default
   the item id), group, covariates, meta, duration, submission time; ``drop`` columns and
   unmapped columns never reach the outputs, and unmapped columns that look identifying are
   reported by name; a REDCap ``redcap_event_name`` gives the wave through ``events``;
3. **check ids**: an empty id, or one not matching ``participant_id.pattern`` → the row is
   quarantined (``missing_id`` / ``invalid_id``; the id itself is never written);
4. **recode** answers (:mod:`mentoreval.ingest.recode`); an unknown answer quarantines that *cell*
   and the record is kept;
5. **protect**: ids → HMAC-SHA256 pseudonyms (:mod:`mentoreval.ingest.protect`);
6. **link**: duplicates per participant × wave resolved by the declared rule
   (:mod:`mentoreval.ingest.linkage`), pre/post pairing, link report;
7. **check quality** (:mod:`mentoreval.ingest.quality`) — flags only;
8. **score** (:func:`mentoreval.instruments.scoring.score_matrix`) and **reconcile** every source.

What stops a run (fatal, :class:`~mentoreval.errors.MentorevalError`, all problems at once):
config errors, unreadable files, an absent id column, an item column absent from a source
that has the instrument's other items, an unmapped REDCap event, a missing key file, a key
that differs from the one recorded by an earlier ingest in the same output folder
(:class:`~mentoreval.errors.KeyMismatchError`). What does not (quarantined, ingest goes on,
``validate`` reports it): unknown or out-of-range answers, empty or invalid ids, duplicate
submissions, reader exclusions.

Outputs (``data/processed/<study>/``): ``responses.parquet``, ``scores.parquet``,
``participants.parquet``, ``quarantine.csv``, ``quality.csv``, ``linkage.csv``,
``manifest.json``.
"""

from __future__ import annotations

import contextlib
import json
import platform
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pandas.api.types import union_categoricals

from mentoreval.config.paths import default_out_dir
from mentoreval.config.study import Source, Study, compile_id_pattern, load_study
from mentoreval.errors import KeyMismatchError, MentorevalError, Problem, raise_problems
from mentoreval.ingest.linkage import (
    link_waves,
    linkage_summary,
    parse_times,
    resolve_duplicates,
)
from mentoreval.ingest.protect import (
    confusable_collisions,
    confusable_groups,
    detect_identifying,
    key_fingerprint,
    load_key,
    map_ids,
    pseudonymise,
    resolve_key_file,
)
from mentoreval.ingest.quality import QUALITY_COLUMNS, flag_quality
from mentoreval.ingest.quarantine import (
    CELL_RULES,
    QUARANTINE_COLUMNS,
    empty_quarantine,
    quarantine_frame,
    reconcile,
)
from mentoreval.ingest.recode import ReasonTable, normalise_label, recode_items
from mentoreval.instruments.scoring import (
    SCORE_COLUMNS,
    SCORED,
    ScoreColumns,
    ScoreLabels,
    score_arrays,
    score_into,
    small_int,
)
from mentoreval.outputs import json_text, neutralise_formula
from mentoreval.read import read_export
from mentoreval.safefs import OutputFolder

__all__ = [
    "RESPONSE_COLUMNS",
    "IngestResult",
    "ValidationReport",
    "check_study",
    "ingest_study",
    "validate_study",
]

RESPONSE_COLUMNS = [
    "participant_id",
    "wave",
    "instrument",
    "item",
    "value",
    "missing_reason",
    "source",
    "source_row",
]
_EVENT = "redcap_event_name"
_REPEAT = ("redcap_repeat_instrument", "redcap_repeat_instance")
_LISTED = 50
_DUMMY_KEY = b"\x00" * 32  # validate without a key: pseudonyms only pair rows, never written


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class IngestResult:
    """Everything one ingest produced.

    Attributes
    ----------
    responses, scores, participants, quarantine, quality, linkage
        The tables written to the output folder (see ``docs/architecture.md``).
    manifest
        Provenance: inputs (sha256, size, records), key fingerprint, versions, config hash,
        counts per stage and source.
    summary
        Headline counts: rows read, kept, quarantined, participants, linked pairs, ...
    parts
        The item tables ``responses`` is built from (and written from, in pieces).
    out_dir
        Where the files were written (None for a dry run).
    warnings
        What the run noticed but did not stop for (e.g. a key file others can read), each
        located with its fix; ``mentoreval ingest`` prints them.
    """

    scores: pd.DataFrame
    participants: pd.DataFrame
    quarantine: pd.DataFrame
    quality: pd.DataFrame
    linkage: pd.DataFrame
    manifest: dict[str, Any]
    summary: dict[str, int]
    parts: _Responses = field(repr=False)
    out_dir: Path | None = None
    warnings: tuple[Problem, ...] = ()

    @cached_property
    def responses(self) -> pd.DataFrame:
        """The long responses table (one row per record × item), built on first access."""
        return self.parts.frame()

    def to_frame(self) -> pd.DataFrame:
        """The summary as a two-column table (``measure``, ``count``)."""
        return pd.DataFrame({"measure": list(self.summary), "count": list(self.summary.values())})

    def _repr_html_(self) -> str:
        return "<p><b>mentoreval ingest</b></p>" + self.to_frame().to_html(index=False)

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v}" for k, v in self.summary.items())
        return f"IngestResult({inner})"


@dataclass(frozen=True)
class ValidationReport:
    """What :func:`check_study` found.

    Attributes
    ----------
    fatal
        Problems that stop ``ingest``.
    data
        Rows or answers ``ingest`` would quarantine (unknown values, invalid ids, duplicates).
    warnings
        Worth knowing, harmless: identifying columns without a role (dropped), unmapped
        columns (dropped), reader notes.
    """

    fatal: tuple[Problem, ...] = ()
    data: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = ()

    @property
    def problems(self) -> list[Problem]:
        """Fatal problems, then data problems, then warnings."""
        return [*self.fatal, *self.data, *self.warnings]


# --------------------------------------------------------------------------- per source


@dataclass
class _Block:
    rows: np.ndarray  # positions into the source's kept records
    answers: np.ndarray
    reasons: np.ndarray


@dataclass
class _SourceOut:
    name: str
    order: int
    entry: dict[str, Any]
    records: pd.DataFrame  # raw_id, wave, source, source_order, source_row, ...
    blocks: dict[str, _Block]
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


def _clean_id(text: str) -> str:
    """The id as compared with ``participant_id.pattern``: normalised but not case-folded."""
    import unicodedata

    t = unicodedata.normalize("NFKC", text)
    t = re.sub("[\u200b-\u200d\ufeff]", "", t)
    return re.sub(r"\s+", " ", t).strip()


def _choices(meta: pd.DataFrame, column: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "column" not in meta:
        return out
    for name in ("choices", "missing_values"):
        if name in meta:
            pairs = dict(zip(meta["column"], meta[name], strict=False))
            out[name] = {c: v for c, v in pairs.items() if isinstance(v, list | tuple) and len(v)}
    return out


def _read_source(
    study: Study,
    order: int,
    src: Source,
    fatal: list[Problem],
    reasons: ReasonTable,
    *,
    label: str | None = None,
) -> _SourceOut | None:
    cfg = study.config
    path = study.resolve(src.path)
    try:
        table = read_export(
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
    # The source's name in every output: its file name, or its path when two sources
    # share a file name (``label``).
    name = label or path.name
    data = table.data
    key = f"sources[{order}]"
    quarantine: list[pd.DataFrame] = []
    if len(table.excluded):
        ex = table.excluded
        quarantine.append(
            quarantine_frame(
                ex["source_row"].to_numpy(),
                source=name,
                stage="read",
                rule=ex["rule"].astype(str).tolist(),
                reason=ex["reason"].astype(str).tolist(),
                column=[None if pd.isna(c) else str(c) for c in ex["column"]],
                value=[None if pd.isna(v) else str(v) for v in ex["value"]],
            )
        )
    columns = list(data.columns)
    id_col = src.id_column or cfg.participant_id.column
    if id_col not in columns:
        similar = [
            c
            for c in columns
            if normalise_label(c).replace(" ", "_")
            in {"id", "record_id", "student_id", normalise_label(id_col)}
        ]
        fatal.append(
            Problem(
                f"the participant id column {id_col!r} is absent",
                file=name,
                column=id_col,
                fix=(
                    f"set participant_id.column (or {key}.id_column) to one of the export's "
                    f"columns{' such as ' + repr(similar[0]) if similar else ''}; the first ones are "
                    f"{columns[:8]}"
                ),
            )
        )
        return None
    rows = table.source_row
    n = len(data)
    set_aside = np.zeros(n, dtype=bool)

    # Waves.
    if src.wave is not None:
        wave = pd.Series(src.wave, index=data.index, dtype="string")
    else:
        events = src.events or {}
        if _EVENT not in columns:
            fatal.append(
                Problem(
                    f"events: given but the export has no {_EVENT!r} column",
                    file=name,
                    key=f"{key}.events",
                    fix="export the data with event names (longitudinal project), or use wave:",
                )
            )
            return None
        ev = data[_EVENT].astype("string")
        unmapped = sorted({str(e) for e in ev.dropna().unique()} - set(events))
        if unmapped:
            counts = ev.value_counts()
            listed = ", ".join(f"{e!r} ({int(counts[e])} rows)" for e in unmapped)
            fatal.append(
                Problem(
                    f"event(s) not mapped to a wave: {listed}",
                    file=study.path.name,
                    key=f"{key}.events",
                    column=_EVENT,
                    fix="add each event under events: (map it to a wave, or to null to set its rows aside)",
                )
            )
            return None
        wave = ev.map({k: v for k, v in events.items()}).astype("string")
        ignored = (ev.isna() | wave.isna()).to_numpy()
        if ignored.any():
            quarantine.append(
                quarantine_frame(
                    rows[ignored],
                    source=name,
                    stage="map",
                    rule="event_ignored",
                    reason="the event is mapped to null (or empty) in the study config",
                    column=_EVENT,
                    value=[None if pd.isna(v) else str(v) for v in ev[ignored]],
                )
            )
            set_aside |= ignored
    repeat_cols = [c for c in _REPEAT if c in columns]
    if repeat_cols:
        repeat = data[repeat_cols].notna().any(axis=1).to_numpy() & ~set_aside
        if repeat.any():
            quarantine.append(
                quarantine_frame(
                    rows[repeat],
                    source=name,
                    stage="map",
                    rule="repeating_instance",
                    reason="a REDCap repeating instrument/event row is not a survey wave",
                    column=repeat_cols[0],
                )
            )
            set_aside |= repeat

    # Ids.
    raw_ids = data[id_col].astype("string")
    codes, uniques = pd.factorize(raw_ids, use_na_sentinel=True)
    cleaned = map_ids(uniques, _clean_id, lower=False)  # plain ASCII ids are already clean
    u_empty = np.append(cleaned == "", True)
    u_bad = np.zeros(len(cleaned) + 1, dtype=bool)
    if cfg.participant_id.pattern:
        # RE2 (no backtracking): a pattern runs in time linear in the ids.
        u_bad[:-1] = ~compile_id_pattern(cfg.participant_id.pattern)(cleaned)
        u_bad[:-1] &= ~u_empty[:-1]
    empty = u_empty[codes] & ~set_aside
    bad = u_bad[codes] & ~set_aside & ~empty
    for mask, rule, reason in (
        (empty, "missing_id", "the participant id cell is empty"),
        (
            bad,
            "invalid_id",
            f"the participant id does not match participant_id.pattern {cfg.participant_id.pattern!r}",
        ),
    ):
        if mask.any():
            quarantine.append(
                quarantine_frame(
                    rows[mask], source=name, stage="map", rule=rule, reason=reason, column=id_col
                )
            )
            set_aside |= mask

    keep = ~set_aside
    kept = data if keep.all() else data.loc[keep]  # no copy of the text when all are kept
    records = pd.DataFrame(
        {
            "raw_id": raw_ids.array[keep],
            "wave": wave.array[keep],
            "source": name,
            "source_order": order,
            "source_row": rows[keep],
        }
    )

    # Roles.
    roles = cfg.columns
    used = {id_col, _EVENT, *repeat_cols}
    for role_col in [
        roles.group,
        *roles.covariates,
        *roles.meta,
        roles.duration,
        roles.submitted_at,
    ]:
        if role_col and role_col in columns:
            used.add(role_col)
            records[f"col:{role_col}"] = kept[role_col].array
    if roles.submitted_at and roles.submitted_at in columns:
        times, unreadable = parse_times(records[f"col:{roles.submitted_at}"])
        if unreadable.any():
            at = np.flatnonzero(unreadable)
            shown = ", ".join(
                f"row {r}: {v!r}"
                for r, v in zip(
                    records["source_row"].to_numpy()[at[:5]],
                    records[f"col:{roles.submitted_at}"].to_numpy()[at[:5]],
                    strict=True,
                )
            )
            more = f" and {len(at) - 5} more" if len(at) > 5 else ""
            fatal.append(
                Problem(
                    f"{len(at)} submission time(s) cannot be read ({shown}{more}); the times "
                    "decide which duplicate submission is kept",
                    file=name,
                    row=int(records["source_row"].iloc[at[0]]),
                    column=roles.submitted_at,
                    key="columns.submitted_at",
                    fix="export the times as ISO 8601 (2024-03-02 13:00:00+01:00), or correct "
                    "the cells named",
                )
            )
        records[f"col:{roles.submitted_at}"] = times
    for check in cfg.quality.attention_checks:
        if check.column in columns:
            used.add(check.column)
    dropped_declared = [c for c in roles.drop if c in columns]
    used |= set(dropped_declared)

    # Items.
    meta = table.columns_meta
    lists = _choices(meta, "")
    blocks: dict[str, _Block] = {}
    n_shown = np.zeros(len(kept), dtype=np.int64)
    # Every instrument is recoded straight into its columns of the source's item tables.
    width = sum(len(inst.item_ids) for inst in study.instruments.values())
    answers: np.ndarray | None = None
    whys: np.ndarray | None = None
    col0 = 0
    for inst_id, inst in study.instruments.items():
        col0 += len(inst.item_ids)
        mapping = study.item_columns(inst_id)
        present = [i for i, c in mapping.items() if c in columns]
        if not present:
            continue
        absent = [i for i in mapping if i not in present]
        if absent:
            for item in absent:
                fatal.append(
                    Problem(
                        f"item column for {inst_id}.{item} is absent",
                        file=name,
                        column=mapping[item],
                        key=f"instruments.{inst_id}.items.{item}",
                        fix=(
                            f"map {item} to the export's column under instruments.{inst_id}.items "
                            "(or re-export with every item)"
                        ),
                    )
                )
            continue
        cols = [mapping[i] for i in inst.item_ids]
        used |= set(cols)
        imap = study.instrument_map(inst_id)
        if answers is None or whys is None:
            answers = np.empty((len(kept), width))
            whys = np.empty((len(kept), width), dtype=np.int16)
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
            out=answers[:, span],
            why=whys[:, span],
        )
        blocks[inst_id] = _Block(rows=np.arange(len(kept)), answers=rec.values, reasons=rec.reasons)
        n_shown += len(cols)
        if len(rec.quarantine):
            q = rec.quarantine
            quarantine.append(
                quarantine_frame(
                    rows[keep][q["position"].to_numpy(dtype=np.int64)],
                    source=name,
                    stage="recode",
                    rule="unknown_value",
                    reason=q["reason"].tolist(),
                    column=q["column"].tolist(),
                    value=[str(v) for v in q["value"]],
                )
            )
    if not blocks and not any(p.file == name for p in fatal):
        fatal.append(
            Problem(
                "none of the study's instruments has its item columns in this export",
                file=name,
                key=key,
                fix="map items to the export's columns under instruments.<id>.items",
            )
        )
    records["n_items"] = n_shown

    # Attention checks (failures counted per record).
    failed = np.zeros(len(kept), dtype=np.int64)
    for check in cfg.quality.attention_checks:
        if check.column not in columns:
            continue
        cells = kept[check.column].astype("string")
        expected = normalise_label(str(check.expected))
        norm = cells.fillna("").map(normalise_label)
        num = pd.to_numeric(norm, errors="coerce")
        exp_num = pd.to_numeric(pd.Series([expected]), errors="coerce").iloc[0]
        same = (norm == expected) | (num == exp_num if not pd.isna(exp_num) else False)
        failed += ((norm != "") & ~same).to_numpy(dtype=bool)
    records["attention_failed"] = failed

    unmapped = [c for c in columns if c not in used]
    ident = detect_identifying(data, columns=unmapped)
    flagged: list[dict[str, str]] = [
        {"column": str(c), "reason": str(r)}
        for c, r in zip(ident["column"], ident["reason"], strict=True)
    ]
    if "identifier" in meta and "column" in meta:
        for c, flag in zip(meta["column"], meta["identifier"], strict=False):
            if (
                c in unmapped
                and str(flag).strip().lower() in {"y", "yes", "true", "1"}
                and c not in set(ident["column"])
            ):
                flagged.append(
                    {"column": c, "reason": "flagged Identifier? in the REDCap dictionary"}
                )
    entry = {**table.manifest_entry(), "file": name}
    return _SourceOut(
        name=name,
        order=order,
        entry=entry,
        records=records,
        blocks=blocks,
        quarantine=quarantine,
        n_records=table.record_count_check,
        answers=answers,
        whys=whys,
        dropped=[*dropped_declared, *unmapped],
        identifying=flagged,
        notes=list(table.notes),
        columns=columns,
    )


# --------------------------------------------------------------------------- pipeline


@dataclass
class _Run:
    study: Study
    report: ValidationReport
    result: IngestResult | None
    output: OutputFolder | None = None


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in (
        "mentoreval",
        "pandas",
        "numpy",
        "pyarrow",
        "pydantic",
        "scipy",
        "pyreadstat",
        "openpyxl",
    ):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            continue
    return out


def _distinct_numbers(values: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Codes of the text ``values`` (``-1`` when missing) and each distinct text as a
    number (NaN when it is not one; surrounding spaces ignored): converted once each."""
    codes, uniques = pd.factorize(values.astype("string").array, use_na_sentinel=True)  # type: ignore[call-overload]
    return codes, pd.to_numeric(pd.Series(uniques, dtype="string").str.strip(), errors="coerce")


def _numeric_or_text(values: pd.Series) -> pd.Series:
    """Numbers (``Float64``) when every filled cell is one, else the text (``string``)."""
    codes, num = _distinct_numbers(values)
    if len(num) and num.notna().all():
        numbers = num.astype("Float64").array.take(codes, allow_fill=True)
        return pd.Series(numbers, index=values.index, name=values.name, copy=False)
    return values.astype("string")


def _numbers(values: pd.Series) -> np.ndarray:
    """Text → float (NaN when empty or not a number)."""
    codes, num = _distinct_numbers(values)
    return np.append(num.to_numpy(dtype=float, na_value=np.nan), np.nan)[codes]


def _problems_from_quarantine(q: pd.DataFrame) -> list[Problem]:
    out: list[Problem] = []
    # Rows the readers exclude (Qualtrics previews and tests, unfinished LimeSurvey
    # responses, ...): one problem per source and rule, with the count ingest reports.
    read = q[(q["stage"] == "read") & ~q["rule"].isin(["empty_row", "blank_row"])]
    if len(read):
        counts = read.groupby(["source", "rule"], sort=True).agg(
            n=("source_row", "size"), first=("source_row", "min"), reason=("reason", "first")
        )
        for (rsrc, rrule), n, first, rwhy in zip(
            counts.index, counts["n"], counts["first"], counts["reason"], strict=True
        ):
            out.append(
                Problem(
                    f"{rrule}: {n} row(s) excluded when reading ({_READ_RULES.get(str(rrule), str(rwhy))}; "
                    f"first: {rwhy})",
                    file=str(rsrc),
                    row=int(first),
                )
            )
    for rule, part in q.groupby("rule", sort=True):
        if rule in {"empty_row", "blank_row"} or part["stage"].iloc[0] == "read":
            continue
        head = part.head(_LISTED)
        for src, row, col, val, why in zip(
            head["source"],
            head["source_row"],
            head["column"],
            head["value"],
            head["reason"],
            strict=True,
        ):
            value = f" {val!r}" if isinstance(val, str) and rule in CELL_RULES else ""
            out.append(
                Problem(
                    f"{rule}:{value} {why}",
                    file=str(src),
                    row=int(row),
                    column=None if col is None or col is pd.NA else str(col),
                )
            )
        if len(part) > _LISTED:
            out.append(Problem(f"{rule}: ... and {len(part) - _LISTED} more (see quarantine.csv)"))
    return out


_READ_RULES = {
    "qualtrics_preview": "Qualtrics previews",
    "qualtrics_test": "Qualtrics tests",
    "qualtrics_spam": "Qualtrics spam",
    "limesurvey_unfinished": "unfinished LimeSurvey responses",
}


def _source_labels(study: Study, fatal: list[Problem]) -> list[str | None]:
    """Each source's name in the outputs: its file name, or its path (relative to the
    study) when two sources share a file name. A file listed twice (under any spelling)
    is fatal, naming both keys; its later listings get None (not read)."""
    sources = study.config.sources
    paths: list[Path | None] = []
    for i, src in enumerate(sources):
        try:
            paths.append(study.resolve(src.path, key=f"sources[{i}].path").resolve())
        except (MentorevalError, OSError):
            paths.append(None)  # reported by the reader
    names = pd.Series([p.name if p is not None else None for p in paths], dtype="object")
    shared = names.duplicated(keep=False).to_numpy()
    labels: list[str | None] = []
    seen: dict[Path, int] = {}
    for i, (src, p) in enumerate(zip(sources, paths, strict=True)):
        if p is not None and p in seen:
            j = seen[p]
            fatal.append(
                Problem(
                    f"the same file is listed as two sources: sources[{j}].path "
                    f"({sources[j].path!r}) and sources[{i}].path ({src.path!r})",
                    file=p.name,
                    key=f"sources[{i}].path",
                    fix=f"remove sources[{i}] (one export is one source; a file that holds "
                    "several waves is one source with events:)",
                )
            )
            labels.append(None)
            continue
        if p is not None:
            seen[p] = i
        if p is None or not shared[i]:
            labels.append(None if p is None else p.name)
            continue
        try:
            labels.append(p.relative_to(study.base.resolve()).as_posix())
        except ValueError:
            labels.append(f"{p.parent.name}/{p.name}")
    # A source whose path did not resolve is read anyway, so the reader reports it.
    return [
        Path(src.path).name if p is None else lab
        for src, lab, p in zip(sources, labels, paths, strict=True)
    ]


def _check_source_rows(
    study: Study, outs: list[_SourceOut], fatal: list[Problem], warnings: list[Problem]
) -> None:
    """A source with no records (a header-only export) is a warning, and an error when its
    wave is the analysis's pre or post; a source whose every record is excluded is an
    error that says why (e.g. every row a Qualtrics preview, or no id matching the pattern)."""
    cfg = study.config
    needed = {cfg.analysis.pre, cfg.analysis.post}
    for o in outs:
        src = cfg.sources[o.order]
        key = f"sources[{o.order}].path"
        waves = {src.wave} if src.wave is not None else set((src.events or {}).values())
        if o.n_records == 0:
            used = sorted(w for w in waves & needed if w)
            if used:
                fatal.append(
                    Problem(
                        f"no responses: the export has column names but no records, and its "
                        f"wave {used[0]!r} is needed by the analysis (analysis.pre/analysis.post)",
                        file=o.name,
                        key=key,
                        fix="export the wave again once it has responses, or point the source "
                        "at the right file",
                    )
                )
            else:
                warnings.append(
                    Problem(
                        "no responses: the export has column names but no records "
                        f"(wave {src.wave!r})",
                        file=o.name,
                        key=key,
                        fix="export the wave again once it has responses, or remove the source",
                    )
                )
        elif len(o.records) == 0:
            q = pd.concat(o.quarantine, ignore_index=True)
            q = q[~q["rule"].isin(["empty_row", "blank_row"])]
            counts = q.groupby("rule", sort=True).agg(n=("rule", "size"), why=("reason", "first"))
            why = "; ".join(
                f"{n} {_READ_RULES.get(rule, rule)} ({reason})"
                for rule, n, reason in zip(counts.index, counts["n"], counts["why"], strict=True)
            )
            fatal.append(
                Problem(
                    f"all {o.n_records} rows are excluded, none is left to analyse: {why}",
                    file=o.name,
                    key=key,
                    fix="check the export (a test or preview export?) and the rule named",
                )
            )


def _norm_level(values: pd.Series) -> pd.Series:
    """Group labels as compared with the declared levels: NFKC, case-folded, spaces
    collapsed, numbers in one form (``1``, ``1.0`` and `` 1 `` are equal)."""
    text = values.astype("string").str.normalize("NFKC").str.strip().str.casefold()
    text = text.str.replace(r"\s+", " ", regex=True)
    num = pd.to_numeric(text, errors="coerce")
    as_num = num.map(lambda x: f"{x:g}", na_action="ignore").astype("string")
    return as_num.where(num.notna(), text)


def _check_groups(
    study: Study, outs: list[_SourceOut], fatal: list[Problem], warnings: list[Problem]
) -> None:
    """The group column exists; the declared treated and control levels are in the data
    (matched exactly, or after normalising case, spaces and number form, which is said and
    the data recoded to the declared label); undeclared levels are said (not analysed)."""
    cfg = study.config
    spec = cfg.analysis.group
    gcol = cfg.columns.group
    if not outs:
        return
    present = {c for o in outs for c in o.columns}
    for name, key in (
        (gcol, "columns.group"),
        (spec.column if spec else None, "analysis.group.column"),
    ):
        if name and name not in present and not (name == "group" and gcol in present):
            fatal.append(
                Problem(
                    f"the group column {name!r} is absent from every export",
                    key=key,
                    column=name,
                    fix=f"set {key} to the export's group column (the first columns are "
                    f"{sorted(present)[:8]}), or remove it for a single-arm study",
                )
            )
            return
    col = f"col:{gcol or (spec.column if spec else '')}"
    if spec is None or not any(col in o.records for o in outs):
        return
    both = pd.concat(
        [o.records[["raw_id", col]] for o in outs if col in o.records], ignore_index=True
    )
    labels = both[col].astype("string")
    ids = both["raw_id"].astype("string").str.strip().str.casefold()
    students = ids.groupby(labels, dropna=True).nunique()
    norm_of = _norm_level(pd.Series(students.index, dtype="string"))
    norm_of.index = students.index
    recode: dict[str, str] = {}
    for role, level in (("treated", spec.treated), ("control", spec.control)):
        if level in students.index:
            continue
        target = _norm_level(pd.Series([level], dtype="string")).iloc[0]
        alike = [str(v) for v in norm_of.index[(norm_of == target).to_numpy()]]
        if alike:
            recode.update({v: level for v in alike})
            warnings.append(
                Problem(
                    f"group level(s) {', '.join(repr(v) for v in alike)} matched "
                    f"analysis.group.{role} {level!r} after normalising case, spaces and "
                    f"number form; they are analysed as {level!r}",
                    key=f"analysis.group.{role}",
                    column=gcol,
                    fix=f"write analysis.group.{role} exactly as in the data to silence this",
                )
            )
            continue
        listed = ", ".join(f"{v!r} ({int(n)} students)" for v, n in students.items()) or "none"
        fatal.append(
            Problem(
                f"analysis.group.{role} {level!r} is not a level of the group column "
                f"{gcol!r}; the levels present are: {listed}",
                key=f"analysis.group.{role}",
                column=gcol,
                fix=f"set analysis.group.{role} to one of the levels present",
            )
        )
    declared = {spec.treated, spec.control, *recode}
    for level, n in zip(students.index.astype(str), students.to_numpy(), strict=True):
        if level not in declared:
            warnings.append(
                Problem(
                    f"{int(n)} students in group {level!r} are not analysed: not declared "
                    "as treated or control",
                    key="analysis.group",
                    column=gcol,
                    fix="declare the level under analysis.group (treated or control) to "
                    "analyse it, or leave it: the students stay in the processed data",
                )
            )
    if recode:
        for o in outs:
            if col in o.records:
                values = o.records[col].astype("string")
                o.records[col] = values.replace(recode)


def _stopwatch(laps: dict[str, float]) -> Callable[[str], None]:
    """``lap(stage)`` records the seconds since the previous lap (or since creation)."""
    last = [time.perf_counter()]

    def lap(stage: str) -> None:
        now = time.perf_counter()
        laps[stage] = laps.get(stage, 0.0) + now - last[0]
        last[0] = now

    return lap


def _lookalike_ids(records: pd.DataFrame) -> list[Problem]:
    """A warning when ids differ only in look-alike characters (e.g. a Cyrillic 'а' for a
    Latin 'a'): they are not linked, and never merged silently. Pre and post together."""
    alike = confusable_groups(records["raw_id"])
    if not alike.notna().any():
        return []
    n = confusable_collisions(records["raw_id"])
    at = records.loc[alike.notna().to_numpy(), ["source", "source_row"]].head(10)
    where = "; ".join(f"{s} row {r}" for s, r in at.itertuples(index=False))
    return [
        Problem(
            f"{n} participant ids look like another id but differ in look-alike characters "
            f"(e.g. a Cyrillic 'а' for a Latin 'a'), so they are not linked: {where}",
            key="participant_id.column",
            fix="correct the ids in the exports so each student is written one way",
        )
    ]


def _run(
    config_path: str | Path,
    *,
    key: bytes | None,
    out_dir: Path | None,
    strict_key: bool,
    check_previous: bool = True,
    outputs: contextlib.ExitStack | None = None,
) -> _Run:
    """Read, map, pseudonymise, score and link one study.

    With ``outputs`` (an exit stack the caller closes), the processed folder is checked
    and locked before anything is read, and ``responses.parquet`` is written into its
    staging folder as soon as the item tables exist; :attr:`_Run.output` holds it.
    """
    t0 = time.perf_counter()
    laps: dict[str, float] = {}
    lap = _stopwatch(laps)
    study = load_study(config_path)
    cfg = study.config
    fatal: list[Problem] = []
    warnings: list[Problem] = []
    if key is None:
        key_path = resolve_key_file(cfg.key_file, base=study.base)
        try:
            key = load_key(
                key_path,
                study=study.path.name,
                strict=cfg.disclosure.profile == "nhs",
                notices=warnings,
                data_folders=[*study.raw_folders(), *study.data_roots()],
                study_folder=study.base,
            )
        except MentorevalError as exc:
            if strict_key:
                raise
            fatal.append(Problem(str(exc)))
            key = _DUMMY_KEY
    fingerprint = key_fingerprint(key)
    target = out_dir if out_dir is not None else default_out_dir(study)
    output = (
        outputs.enter_context(
            OutputFolder(
                target,
                kind="processed data",
                protected=study.input_files(),
                raw_folders=study.raw_folders(),
                key="--out",
            )
        )
        if outputs is not None
        else None
    )
    previous = target / "manifest.json"
    if check_previous and key is not _DUMMY_KEY and previous.is_file():
        try:
            old = json.loads(previous.read_text(encoding="utf-8")).get("key_fingerprint")
        except (OSError, ValueError):
            old = None
        if old and old != fingerprint:
            problem = Problem(
                f"the pseudonymisation key (fingerprint {fingerprint}) differs from the one used "
                f"for the earlier ingest in {target} (fingerprint {old}); pre and post would not link",
                file=study.path.name,
                key="key_file",
                fix="use the key file of the earlier waves (check key_file and MENTOREVAL_KEY_FILE), "
                "or write to a new output folder with --out for a new study",
            )
            if strict_key:
                raise KeyMismatchError(str(problem), (problem,))
            fatal.append(problem)

    lap("config and key")
    reasons = ReasonTable()
    outs: list[_SourceOut] = []
    labels = _source_labels(study, fatal)
    for i, src in enumerate(cfg.sources):
        if labels[i] is None:
            continue
        out = _read_source(study, i, src, fatal, reasons, label=labels[i])
        if out is not None:
            outs.append(out)
    _check_source_rows(study, outs, fatal, warnings)
    _check_groups(study, outs, fatal, warnings)
    for check in cfg.quality.attention_checks:
        if outs and not any(
            check.column in o.entry.get("column_names", o.records.columns)
            or f"col:{check.column}" in o.records
            for o in outs
        ):
            pass  # presence is checked per source below
    for inst_id in study.instruments:
        if (
            outs
            and len(outs) == len(cfg.sources)
            and not any(inst_id in o.blocks for o in outs)
            and not fatal
        ):
            fatal.append(
                Problem(
                    f"no source has the item columns of {inst_id}",
                    file=study.path.name,
                    key=f"instruments.{inst_id}",
                    fix=f"map {inst_id}'s items to export columns under instruments.{inst_id}.items",
                )
            )
    for o in outs:
        for ident in o.identifying:
            warnings.append(
                Problem(
                    f"column looks identifying ({ident['reason']}) and has no role; it was dropped",
                    file=o.name,
                    column=ident["column"],
                    fix="declare it under columns.drop (or give it a role) in the study config",
                )
            )
        for note in o.notes:
            warnings.append(Problem(note, file=o.name))
    if fatal:
        return _Run(study, ValidationReport(fatal=tuple(fatal), warnings=tuple(warnings)), None)

    # ---- combine sources
    records = pd.concat([o.records for o in outs], ignore_index=True)
    offsets = np.cumsum([0, *[len(o.records) for o in outs]])
    # The exports' text tables are gone (only role columns are kept): hand the memory
    # Arrow's allocator keeps for reuse back to the system.
    pa.default_memory_pool().release_unused()
    lap("read, map and recode")
    warnings.extend(_lookalike_ids(records))
    records["participant_id"] = pseudonymise(records["raw_id"], key)
    lap("pseudonymise")
    records = records.drop(columns="raw_id")
    q_parts = [q for o in outs for q in o.quarantine]

    keep, removed = resolve_duplicates(
        records.rename(columns={f"col:{cfg.columns.submitted_at}": "submitted_at"})
        if cfg.columns.submitted_at
        else records,
        rule=cfg.quality.duplicates,
    )
    if removed.attrs.get("untimed_groups"):
        warnings.append(
            Problem(
                f"{removed.attrs['untimed_groups']} participant(s) answered a wave more than once "
                "with a submission time missing: their duplicates were resolved by source "
                f"order and row ({cfg.quality.duplicates}), not by time",
                key="columns.submitted_at",
                fix="fill the submission times in the exports",
            )
        )
    if len(removed):
        q_parts.append(
            quarantine_frame(
                removed["source_row"].to_numpy(),
                source="",
                stage="link",
                rule="duplicate",
                reason=[
                    f"another submission for the same participant and wave was kept ({cfg.quality.duplicates}): "
                    f"{s} row {r}"
                    for s, r in zip(removed["kept_source"], removed["kept_source_row"], strict=True)
                ],
            ).assign(source=removed["source"].astype("string").to_numpy())
        )
    dup_counts = records.loc[~keep, "participant_id"].value_counts()
    kept_pos = np.flatnonzero(keep)
    # The kept records: no copy when every record is kept (records has a RangeIndex, and
    # neither table is changed after this).
    recs = (
        records if len(kept_pos) == len(records) else records.iloc[kept_pos].reset_index(drop=True)
    )
    new_index = np.full(len(records), -1, dtype=np.int64)
    new_index[kept_pos] = np.arange(len(kept_pos))
    quarantine = pd.concat([empty_quarantine(), *q_parts], ignore_index=True)
    quarantine = quarantine.sort_values(
        ["source", "source_row", "stage"], kind="stable"
    ).reset_index(drop=True)

    pid_codes, pid_cats = pd.factorize(recs["participant_id"])
    wave_codes, wave_cats = pd.factorize(recs["wave"])
    src_codes, src_cats = pd.factorize(recs["source"])
    src_rows = recs["source_row"].to_numpy(dtype=np.int64)

    # ---- responses, scores, quality matrix
    all_items = [f"{i}.{item}" for i, inst in study.instruments.items() for item in inst.item_ids]
    # The item tables of the kept records: answers (NaN when missing) and reason codes.
    # One source, every record kept, every instrument: its item tables are the tables.
    whole = (
        outs[0]
        if len(outs) == 1
        and len(recs) == len(records)
        and all(i in outs[0].blocks for i in study.instruments)
        else None
    )
    if whole is not None:
        assert whole.answers is not None and whole.whys is not None
        matrix, whys = whole.answers, whole.whys
        whole.answers = whole.whys = None
    else:
        matrix = np.full((len(recs), len(all_items)), np.nan)
        whys = np.zeros((len(recs), len(all_items)), dtype=np.int16)
    col0 = 0
    spans: list[tuple[str, np.ndarray, int, int]] = []
    for inst_id, inst in study.instruments.items():
        k = len(inst.item_ids)
        rows_g: list[np.ndarray] = []
        for o, off in zip(outs, offsets[:-1], strict=True):
            b = o.blocks.pop(inst_id, None)
            if b is None:
                continue
            if whole is not None:  # already in place
                rows_g.append(b.rows)
                continue
            pos_new = new_index[off + b.rows]
            ok = pos_new >= 0
            if ok.all():
                matrix[pos_new, col0 : col0 + k] = b.answers
                whys[pos_new, col0 : col0 + k] = b.reasons
                rows_g.append(pos_new)
            else:
                matrix[pos_new[ok], col0 : col0 + k] = b.answers[ok]
                whys[pos_new[ok], col0 : col0 + k] = b.reasons[ok]
                rows_g.append(pos_new[ok])
            del b
        if rows_g:
            spans.append((inst_id, np.sort(np.concatenate(rows_g)), col0, k))
        col0 += k
    for o in outs:  # the sources' own item tables are copied (or taken): let them go
        o.answers = o.whys = None
    parts = _Responses(
        spans=spans,
        matrix=matrix,
        whys=whys,
        items={i: study.instruments[i].item_ids for i, _, _, _ in spans},
        reasons=reasons.labels,
        pid=(pid_codes, pid_cats),
        wave=(wave_codes, wave_cats),
        source=(src_codes, src_cats),
        source_row=src_rows,
    )
    lap("duplicates and item tables")
    if output is not None:
        # Written now, while the scores, quality and linkage tables do not exist yet: the
        # writer's buffers do not add to them (the ingest's peak memory). Into the staging
        # folder: a run that stops early leaves the earlier run's tables as they were.
        _write_parts(parts, output.staging / "responses.parquet")
        pa.default_memory_pool().release_unused()  # the writer's buffers
        lap("write responses")
    scores = _ingest_scores(parts, study)
    lap("score")

    longest = max(
        (len(s.items) for inst in study.instruments.values() for s in inst.scales), default=2
    )
    duration = (
        _numbers(recs[f"col:{cfg.columns.duration}"])
        if cfg.columns.duration and f"col:{cfg.columns.duration}" in recs
        else None
    )
    flags = flag_quality(
        matrix,
        groups=recs["wave"].to_numpy(),
        duration=duration,
        n_items=recs["n_items"].to_numpy(),
        attention_failed=recs["attention_failed"].to_numpy(),
        longstring_at=cfg.quality.longstring or max(longest, 2),
        speeder_seconds_per_item=cfg.quality.speeder_seconds_per_item,
        irv_min_items=cfg.quality.irv_min_items,
        mahalanobis_alpha=cfg.quality.mahalanobis_alpha,
    )
    quality = pd.concat(
        [
            recs[["participant_id", "wave", "source", "source_row"]].astype(
                {"participant_id": "string", "wave": "string", "source": "string"}
            ),
            flags,
        ],
        axis=1,
    )[["participant_id", "wave", "source", "source_row", *QUALITY_COLUMNS]]

    lap("quality flags")
    # ---- participants (pre first, then post, then other waves), sorted by pseudonym
    wave_prio = np.array(
        [{cfg.analysis.pre: 0, cfg.analysis.post: 1}.get(str(w), 2) for w in wave_cats]
    )
    first = np.lexsort((src_rows, recs["source_order"].to_numpy(), wave_prio[wave_codes]))
    pid_text = pid_cats.astype("str").array
    by_pid = np.asarray(pid_text.argsort(kind="stable"))
    participants = pd.DataFrame({"participant_id": pid_text.take(by_pid)})
    for c in [cfg.columns.group, *cfg.columns.covariates]:
        if not c:
            continue
        name = "group" if c == cfg.columns.group else c
        colname = f"col:{c}"
        if colname not in recs:
            participants[name] = pd.array([pd.NA] * len(participants), dtype="string")
            continue
        # The first filled value in that order: another wave fills what the preferred left empty.
        values = recs[colname].astype("string").array
        order = first[~np.asarray(values.isna(), dtype=bool)[first]]
        people, at = np.unique(pid_codes[order], return_index=True)
        row_of = np.full(len(pid_cats), -1, dtype=np.int64)
        row_of[people] = order[at]
        participants[name] = _numeric_or_text(
            pd.Series(values.take(row_of[by_pid], allow_fill=True), copy=False)
        )

    linkage = link_waves(recs, pre=cfg.analysis.pre, post=cfg.analysis.post, duplicates=dup_counts)
    link_counts = linkage_summary(linkage)

    # ---- reconcile every source
    lap("participants and linkage")
    per_source: dict[str, Any] = {}
    for o in outs:
        kept_rows = (
            src_rows[src_codes == src_cats.get_loc(o.name)] if o.name in src_cats else src_rows[:0]
        )
        per_source[o.name] = {
            **o.entry,
            "reconciliation": reconcile(
                o.name, records=o.n_records, kept_rows=kept_rows, quarantine=quarantine
            ),
            "dropped_columns": o.dropped,
            "identifying_columns": [d["column"] for d in o.identifying],
        }
    rows_read = sum(o.n_records for o in outs)
    row_level = ~quarantine["rule"].isin(CELL_RULES)
    summary = {
        "rows_read": int(rows_read),
        "rows_kept": len(recs),
        "rows_quarantined": int(row_level.sum()),
        "answers_quarantined": int((~row_level).sum()),
        "participants": link_counts["participants"],
        "linked_pairs": link_counts["matched"],
        "pre_only": link_counts["pre_only"],
        "post_only": link_counts["post_only"],
        "duplicates_removed": link_counts["duplicates_removed"],
        "quality_flagged": int(flags["any_flag"].sum()),
    }
    lap("reconcile and counts")
    manifest = {
        "study": study.name,
        "title": cfg.title,
        "config": {"file": study.path.name, "sha256": study.sha256},
        "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "key_fingerprint": fingerprint,
        "versions": _versions(),
        "instruments": {
            i: {"version": inst.version, "items": len(inst.item_ids)}
            for i, inst in study.instruments.items()
        },
        "inputs": per_source,
        "counts": {
            "read": int(rows_read),
            "quarantined_by_stage": {
                str(k): int(v)
                for k, v in quarantine.loc[row_level, "stage"].value_counts().sort_index().items()
            },
            "quarantined_by_rule": {
                str(k): int(v) for k, v in quarantine["rule"].value_counts().sort_index().items()
            },
            "kept": len(recs),
            "responses": len(parts),
            "scores": len(scores),
            "linkage": link_counts,
        },
        "summary": summary,
        "seconds": round(time.perf_counter() - t0, 3),
        "seconds_by_stage": {k: round(v, 3) for k, v in laps.items()},
    }
    data_problems = _problems_from_quarantine(quarantine)
    report = ValidationReport(fatal=(), data=tuple(data_problems), warnings=tuple(warnings))
    result = IngestResult(
        parts=parts,
        scores=scores,
        participants=participants,
        quarantine=quarantine[QUARANTINE_COLUMNS],
        quality=quality,
        linkage=linkage,
        manifest=manifest,
        summary=summary,
        out_dir=target,
        warnings=tuple(warnings),
    )
    return _Run(study, report, result, output)


def _from_codes(codes: np.ndarray, categories: Any) -> pd.Categorical:
    """A categorical from codes already in the dtype pandas would choose (no copy)."""
    return pd.Categorical.from_codes(codes, categories=categories, validate=False)


@dataclass(frozen=True)
class _Responses:
    """The long responses table, held as the wide item tables it is made from.

    Rows are instrument-major, then record, then item. :meth:`frame` builds the whole table
    (column by column, straight from codes); :meth:`chunks` yields it in pieces with the
    same columns and categories, so it can be written without being held in memory at once.
    """

    spans: list[tuple[str, np.ndarray, int, int]]  # instrument, records, first column, items
    matrix: np.ndarray  # records × items, answers (NaN when missing)
    whys: np.ndarray  # records × items, ReasonTable codes (0 when answered)
    items: dict[str, list[str]]
    reasons: list[str]
    pid: tuple[np.ndarray, pd.Index]
    wave: tuple[np.ndarray, pd.Index]
    source: tuple[np.ndarray, pd.Index]
    source_row: np.ndarray

    def __len__(self) -> int:
        return sum(len(rows) * k for _, rows, _, k in self.spans)

    def frame(self) -> pd.DataFrame:
        """The whole table."""
        if not self.spans:
            return pd.DataFrame({c: pd.Series(dtype="object") for c in RESPONSE_COLUMNS})
        return self._build([(j, slice(None)) for j in range(len(self.spans))])

    def chunks(self, rows: int = 1 << 20) -> Iterator[pd.DataFrame]:
        """The table in pieces of about ``rows`` rows (whole records), in order."""
        for j, (_, records, _, k) in enumerate(self.spans):
            step = max(rows // max(k, 1), 1)
            for start in range(0, len(records), step):
                yield self._build([(j, slice(start, start + step))])

    def _build(self, pieces: Sequence[tuple[int, slice]]) -> pd.DataFrame:
        inst_ids = [span[0] for span in self.spans]
        item_names = list(dict.fromkeys(i for inst_id in inst_ids for i in self.items[inst_id]))
        item_pos = {name: j for j, name in enumerate(item_names)}
        reason_labels = pd.Index(self.reasons or ["_"])
        (pid_codes, pid_cats), (wave_codes, wave_cats), (src_codes, src_cats) = (
            self.pid,
            self.wave,
            self.source,
        )
        selected = [(j, self.spans[j][1][rows]) for j, rows in pieces]
        total = int(sum(len(r) * self.spans[j][3] for j, r in selected))
        cols: dict[str, np.ndarray] = {
            "participant_id": np.empty(total, dtype=small_int(len(pid_cats))),
            "wave": np.empty(total, dtype=small_int(len(wave_cats))),
            "instrument": np.empty(total, dtype=small_int(len(inst_ids))),
            "item": np.empty(total, dtype=small_int(len(item_names))),
            "value": np.empty(total, dtype=float),
            "missing_reason": np.empty(total, dtype=small_int(len(reason_labels))),
            "source": np.empty(total, dtype=small_int(len(src_cats))),
            "source_row": np.empty(total, dtype=np.int64),
        }
        per_row = {
            "participant_id": pid_codes,
            "wave": wave_codes,
            "source": src_codes,
            "source_row": self.source_row,
        }
        start = 0
        for j, r in selected:
            inst_id, _, col0, k = self.spans[j]
            m = len(r)
            seg = slice(start, start + m * k)
            start += m * k
            for name, codes in per_row.items():
                cols[name][seg].reshape(m, k)[:] = codes[r][:, None]
            cols["instrument"][seg] = j
            item_codes = np.array(
                [item_pos[i] for i in self.items[inst_id]], dtype=cols["item"].dtype
            )
            cols["item"][seg].reshape(m, k)[:] = item_codes[None, :]
            cols["value"][seg].reshape(m, k)[:] = self.matrix[r, col0 : col0 + k]
            np.subtract(
                self.whys[r, col0 : col0 + k],
                1,
                out=cols["missing_reason"][seg].reshape(m, k),
                casting="unsafe",
            )
        data = {
            "participant_id": _from_codes(cols["participant_id"], pid_cats),
            "wave": _from_codes(cols["wave"], wave_cats),
            "instrument": _from_codes(cols["instrument"], pd.Index(inst_ids)),
            "item": _from_codes(cols["item"], pd.Index(item_names)),
            "value": cols["value"],
            "missing_reason": _from_codes(cols["missing_reason"], reason_labels),
            "source": _from_codes(cols["source"], src_cats),
            "source_row": cols["source_row"],
        }
        return pd.DataFrame(data, copy=False)


def _ingest_scores(parts: _Responses, study: Study) -> pd.DataFrame:
    """Score every instrument's answers (no validity checks: answers come recoded).

    Identifiers are categorical, sharing one factorisation of the kept records.
    """
    (pid_codes, pid_cats), (wave_codes, wave_cats) = parts.pid, parts.wave
    n = len(parts.matrix)
    if parts.spans and all(len(r) == n for _, r, _, _ in parts.spans):
        # Every record has every instrument (the usual case): one preallocated table, each
        # instrument scoring its block straight into its rows (no per-instrument parts).
        insts = [study.instruments[inst_id] for inst_id, _, _, _ in parts.spans]
        labels = ScoreLabels(insts)
        ids = {
            "participant_id": (
                pid_codes.astype(small_int(len(pid_cats)), copy=False),
                pd.CategoricalDtype(pid_cats),
            ),
            "wave": (
                wave_codes.astype(small_int(len(wave_cats)), copy=False),
                pd.CategoricalDtype(wave_cats),
            ),
        }
        cols = ScoreColumns(n, insts, labels, ids)
        for inst, (_, _, col0, k) in zip(insts, parts.spans, strict=True):
            views = cols.block(inst)
            # Scoring reads the block in cache-sized pieces and leaves it unchanged.
            score_into(
                parts.matrix[:, col0 : col0 + k].T,
                inst,
                inst.item_ids,
                {name: views[name].T for name in SCORED},
                labels,
                check=False,
            )
        return pd.DataFrame(cols.columns(), columns=SCORE_COLUMNS, copy=False)
    scored_parts: list[dict[str, Any]] = []
    for inst_id, r, col0, k in parts.spans:
        inst = study.instruments[inst_id]
        block = (
            parts.matrix[:, col0 : col0 + k]
            if len(r) == len(parts.matrix)  # every record (rows are sorted and distinct)
            else parts.matrix[r, col0 : col0 + k]
        )
        # Scoring reads the block in cache-sized pieces and leaves it unchanged.
        scored = score_arrays(block, inst, inst.item_ids, with_row=False)
        rr = np.repeat(r, len(inst.scales))  # each record's scales are consecutive rows
        scored_parts.append(
            {
                "participant_id": pid_codes[rr],
                "wave": wave_codes[rr],
                "instrument": inst_id,
                "n": len(rr),
                **scored,
            }
        )
    if not scored_parts:
        return pd.DataFrame(columns=SCORE_COLUMNS)
    out: dict[str, Any] = {}
    out["participant_id"] = _from_codes(
        np.concatenate([p["participant_id"] for p in scored_parts]).astype(
            small_int(len(pid_cats)), copy=False
        ),
        pid_cats,
    )
    out["wave"] = _from_codes(
        np.concatenate([p["wave"] for p in scored_parts]).astype(
            small_int(len(wave_cats)), copy=False
        ),
        wave_cats,
    )
    inst_ids = [p["instrument"] for p in scored_parts]
    out["instrument"] = _from_codes(
        np.repeat(
            np.arange(len(scored_parts), dtype=small_int(len(scored_parts))),
            [p["n"] for p in scored_parts],
        ),
        pd.Index(inst_ids),
    )
    for name in ("scale", "band", "missing_reason"):
        cats = [p[name] for p in scored_parts]
        out[name] = cats[0] if len(cats) == 1 else union_categoricals(cats)
    for name in ("score", "raw_score", "n_answered", "n_items", "prorated"):
        arrays = [p[name] for p in scored_parts]
        out[name] = arrays[0] if len(arrays) == 1 else np.concatenate(arrays)
    return pd.DataFrame(out, columns=SCORE_COLUMNS, copy=False)


def _for_csv(q: pd.DataFrame) -> pd.DataFrame:
    """A processed table with spreadsheet formulas neutralised: raw cells, and labels from the
    config such as wave names, can hold any text.

    Text cells starting with ``= + - @``, a tab, a carriage return or a NUL get a leading
    ``'`` (as :func:`mentoreval.report.tables.write_table` does); every other cell is unchanged, so
    the file is byte-identical whenever nothing needs neutralising.
    """
    out = q
    for column in q.columns:
        series = q[column]
        if isinstance(series.dtype, pd.CategoricalDtype):  # wave, source: labels from a config
            labels = [neutralise_formula(c) for c in series.cat.categories]
            if labels != list(series.cat.categories):
                if out is q:
                    out = q.copy()
                out[column] = series.cat.rename_categories(labels)
            continue
        if not (series.dtype == object or pd.api.types.is_string_dtype(series.dtype)):
            continue
        if any(neutralise_formula(v) != v for v in series.dropna().unique()):
            if out is q:
                out = q.copy()
            out[column] = series.map(neutralise_formula).astype(series.dtype)
    return out


def _write_parts(parts: _Responses, path: Path) -> None:
    """``responses.parquet`` from the item tables, in pieces (row groups): the same file as
    ``parts.frame().to_parquet``, without holding the long table at once."""
    if not parts.spans:
        parts.frame().to_parquet(path, index=False)
        return
    writer: pq.ParquetWriter | None = None
    try:
        for chunk in parts.chunks():
            table = pa.Table.from_pandas(chunk, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema)
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()


def _write(result: IngestResult, output: OutputFolder) -> None:
    """Write the processed tables beside ``responses.parquet`` (written during the run)
    and put the folder in place of the earlier one."""
    out_dir = output.staging
    result.scores.to_parquet(out_dir / "scores.parquet", index=False)
    result.participants.to_parquet(out_dir / "participants.parquet", index=False)
    _for_csv(result.quarantine).to_csv(out_dir / "quarantine.csv", index=False)
    _for_csv(result.quality).to_csv(out_dir / "quality.csv", index=False)
    _for_csv(result.linkage).to_csv(out_dir / "linkage.csv", index=False)
    (out_dir / "manifest.json").write_text(
        json_text(result.manifest, sort_keys=False) + "\n", encoding="utf-8"
    )
    output.commit()


@contextmanager
def _system_arrow_memory() -> Iterator[None]:
    """Arrow allocates through the C library's allocator inside this block.

    The exports' text tables are large and short-lived: freed, the system allocator gives
    their memory back (or to the numeric tables that follow), where Arrow's own allocator
    keeps it for later Arrow use. At 100,000 respondents × 60 items this lowered the
    ingest's peak memory by about a tenth (~380 → ~345 MB, ``benchmarks/ingest.py``) at the
    same speed.
    Arrays made inside stay valid after the block (each buffer frees through its own pool).
    """
    previous = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(previous)


def ingest_study(
    config_path: str | Path,
    *,
    out_dir: str | Path | None = None,
    key: bytes | None = None,
    write: bool = True,
) -> IngestResult:
    """Run the whole ingest for one study config and write the processed tables.

    Parameters
    ----------
    config_path
        The ``study.yaml``.
    out_dir
        Output folder (default ``<project root>/data/processed/<study name>``).
    key
        The pseudonymisation key (default: read from ``key_file`` /
        ``$MENTOREVAL_KEY_FILE``).
    write
        False for a dry run (nothing written; ``out_dir`` of the result is still set). A dry
        run compares the key with an earlier ingest only when ``out_dir`` is given.

    Returns
    -------
    IngestResult

    Raises
    ------
    MentorevalError
        Every fatal problem at once (see the module docstring);
        :class:`~mentoreval.errors.KeyMismatchError` when the key changed.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "pre.csv").write_text("sid,who5_1,who5_2,who5_3,who5_4,who5_5\\n"
    ...     "A1,3,3,4,2,3\\nA2,5,5,5,5,five\\n,1,1,1,1,1\\n")
    >>> _ = (folder / "study.yaml").write_text("title: Demo\\nparticipant_id: {column: sid}\\n"
    ...     "sources: [{path: pre.csv, wave: pre}]\\ninstruments: {who5: {}}\\n"
    ...     "analysis: {pre: pre, post: pre}\\n")
    >>> res = ingest_study(folder / "study.yaml", key=bytes(32), out_dir=folder / "out")
    >>> res.summary["rows_read"], res.summary["rows_kept"], res.summary["rows_quarantined"]
    (3, 2, 1)
    >>> res.quarantine[["source_row", "rule", "column", "value"]].values.tolist()
    [[3, 'unknown_value', 'who5_5', 'five'], [4, 'missing_id', 'sid', <NA>]]
    >>> res.scores["score"].tolist()
    [60.0, nan]
    """
    with _system_arrow_memory(), contextlib.ExitStack() as outputs:
        run = _run(
            config_path,
            key=key,
            out_dir=Path(out_dir) if out_dir is not None else None,
            strict_key=True,
            # A dry run into no folder in particular has no earlier ingest to agree with.
            check_previous=write or out_dir is not None,
            outputs=outputs if write else None,
        )
        if run.result is None:
            raise_problems(
                run.report.fatal, what=f"in {Path(config_path).name}; nothing was written"
            )
            raise AssertionError("unreachable")  # pragma: no cover
        if run.output is not None:
            _write(run.result, run.output)
    return run.result


def check_study(config_path: str | Path, *, out_dir: str | Path | None = None) -> ValidationReport:
    """Read everything, write nothing, and sort what was found into fatal, data and warnings.

    Config errors are returned as fatal problems too (never raised).
    """
    try:
        run = _run(
            config_path,
            key=None,
            out_dir=Path(out_dir) if out_dir is not None else None,
            strict_key=False,
        )
    except MentorevalError as exc:
        return ValidationReport(fatal=tuple(exc.problems) or (Problem(str(exc)),))
    return run.report


def validate_study(config_path: str | Path) -> list[Problem]:
    """Every problem in a study: fatal ones, then rows/answers that would be quarantined,
    then warnings. Reads everything, writes nothing.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "study.yaml").write_text("title: Demo\\nparticipant_id: {column: sid}\\n"
    ...     "sources: [{path: pre.csv, wave: pre}]\\ninstruments: {who5: {}}\\n")
    >>> [p.key for p in validate_study(folder / "study.yaml")]
    ['sources[0].path', 'analysis.post']
    """
    return check_study(config_path).problems
