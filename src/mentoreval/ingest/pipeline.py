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
8. **score** (:mod:`mentoreval.ingest.scores`) and **reconcile** every source
   (:mod:`mentoreval.ingest.manifest`).

Each step lives in its own module: :mod:`~mentoreval.ingest.source` reads and maps one
source (steps 1–4), :mod:`~mentoreval.ingest.checks` checks the sources against the config
and each other, :mod:`~mentoreval.ingest.records` combines their records and resolves
duplicates, :mod:`~mentoreval.ingest.responses` holds the item tables (the long responses
table), :mod:`~mentoreval.ingest.participants` makes the participants table and
:mod:`~mentoreval.ingest.writing` writes the outputs. This module runs them in order
(:func:`ingest_study`, :func:`check_study`).

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
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from mentoreval.config.paths import default_out_dir
from mentoreval.config.study import Study, StudyConfig, load_study
from mentoreval.errors import KeyMismatchError, MentorevalError, Problem, raise_problems
from mentoreval.ingest.checks import (
    check_instruments,
    check_source_rows,
    lookalike_ids,
    problems_from_quarantine,
    source_labels,
    source_warnings,
)
from mentoreval.ingest.groups import label_covariates, map_groups
from mentoreval.ingest.linkage import link_waves, linkage_summary
from mentoreval.ingest.manifest import (
    ingest_manifest,
    ingest_summary,
    previous_key_problem,
    reconcile_sources,
    study_design,
)
from mentoreval.ingest.participants import numbers, participants_table
from mentoreval.ingest.protect import key_fingerprint, load_key, pseudonymise, resolve_key_file
from mentoreval.ingest.quality import QUALITY_COLUMNS, flag_quality
from mentoreval.ingest.quarantine import QUARANTINE_COLUMNS
from mentoreval.ingest.recode import ReasonTable
from mentoreval.ingest.records import KeptRecords, combine_records, keep_records
from mentoreval.ingest.responses import RESPONSE_COLUMNS, Responses, item_tables, write_responses
from mentoreval.ingest.scores import ingest_scores
from mentoreval.ingest.sgic import link_records, participant_status, sgic_line
from mentoreval.ingest.source import SourceOut, read_source
from mentoreval.ingest.writing import write_processed
from mentoreval.safefs import OutputFolder

__all__ = [
    "RESPONSE_COLUMNS",
    "IngestResult",
    "ValidationReport",
    "check_study",
    "ingest_study",
    "validate_study",
]

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
    parts: Responses = field(repr=False)
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
        Rows or answers ``ingest`` would quarantine against the study's wishes (unknown
        values, invalid ids).
    warnings
        Worth knowing, harmless: identifying columns without a role (dropped), unmapped
        columns (dropped), reader notes.
    notes
        Worth a line, harmless: rows set aside by a rule the study declares, counted
        (duplicates resolved by ``quality.duplicates``, previews/tests excluded by a source's
        ``exclude``), and the self-generated codes' linkage report.
    """

    fatal: tuple[Problem, ...] = ()
    data: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = ()
    notes: tuple[Problem, ...] = ()

    @property
    def problems(self) -> list[Problem]:
        """Fatal problems, then data problems, then warnings, then notes."""
        return [*self.fatal, *self.data, *self.warnings, *self.notes]


# --------------------------------------------------------------------------- the run


@dataclass
class _Run:
    study: Study
    report: ValidationReport
    result: IngestResult | None
    output: OutputFolder | None = None


@dataclass
class _Setup:
    """The loaded study, its key and where the outputs go; what is wrong so far."""

    study: Study
    key: bytes
    target: Path
    output: OutputFolder | None
    fatal: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def _stopwatch(laps: dict[str, float]) -> Callable[[str], None]:
    """``lap(stage)`` records the seconds since the previous lap (or since creation)."""
    last = [time.perf_counter()]

    def lap(stage: str) -> None:
        now = time.perf_counter()
        laps[stage] = laps.get(stage, 0.0) + now - last[0]
        last[0] = now

    return lap


def _study_key(
    study: Study, *, strict_key: bool, fatal: list[Problem], warnings: list[Problem]
) -> bytes:
    """The study's key (``key_file`` / ``$MENTOREVAL_KEY_FILE``). Without ``strict_key`` a
    key that cannot be loaded is a fatal problem and a dummy key lets the check go on."""
    cfg = study.config
    key_path = resolve_key_file(cfg.key_file, base=study.base)
    try:
        return load_key(
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
        return _DUMMY_KEY


def _setup(
    config_path: str | Path,
    key: bytes | None,
    out_dir: Path | None,
    strict_key: bool,
    check_previous: bool,
    outputs: contextlib.ExitStack | None,
) -> _Setup:
    """Load the study and its key; with ``outputs``, check and lock the output folder; check
    the key against the one an earlier ingest into that folder used."""
    study = load_study(config_path)
    fatal: list[Problem] = []
    warnings: list[Problem] = []
    if key is None:
        key = _study_key(study, strict_key=strict_key, fatal=fatal, warnings=warnings)
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
    if check_previous and key is not _DUMMY_KEY:
        problem = previous_key_problem(target, key_fingerprint(key), study)
        if problem is not None:
            if strict_key:
                raise KeyMismatchError(str(problem), (problem,))
            fatal.append(problem)
    return _Setup(study, key, target, output, fatal, warnings)


def _read_sources(
    study: Study, reasons: ReasonTable, fatal: list[Problem], warnings: list[Problem]
) -> list[SourceOut]:
    """Read and map every source, then check them against the config and each other."""
    outs: list[SourceOut] = []
    labels = source_labels(study, fatal)
    for i, src in enumerate(study.config.sources):
        if labels[i] is None:
            continue
        out = read_source(study, i, src, fatal, reasons, label=labels[i])
        if out is not None:
            outs.append(out)
    check_source_rows(study, outs, fatal, warnings)
    map_groups(study, outs, fatal, warnings)
    label_covariates(study, outs)
    check_instruments(study, outs, fatal)
    warnings.extend(source_warnings(outs))
    return outs


def _responses(
    study: Study, outs: list[SourceOut], kept: KeptRecords, reasons: ReasonTable
) -> Responses:
    """The responses of the kept records, as the study's item tables."""
    matrix, whys, spans = item_tables(study, outs, kept.new_index, len(kept.records))
    return Responses(
        spans=spans,
        matrix=matrix,
        whys=whys,
        items={i: study.instruments[i].item_ids for i, _, _, _ in spans},
        reasons=reasons.labels,
        pid=kept.pid,
        wave=kept.wave,
        source=kept.source,
        source_row=kept.source_row,
    )


def _link_report(kept: KeptRecords, cfg: StudyConfig, *, coded: bool) -> pd.DataFrame:
    """The link report (``linkage.csv``); with self-generated codes, each participant's
    ``code_link`` (exact, tolerant, ambiguous or unlinked)."""
    linkage = link_waves(
        kept.records, pre=cfg.analysis.pre, post=cfg.analysis.post, duplicates=kept.duplicates
    )
    if coded:
        recs = kept.records
        linkage["code_link"] = participant_status(
            recs["participant_id"], recs["code_link"].to_numpy(), linkage["participant_id"]
        )
    return linkage


def _quality(
    study: Study, kept: KeptRecords, matrix: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The quality table (one row per kept record) and the flags it is made of."""
    cfg = study.config
    recs = kept.records
    longest = max(
        (len(s.items) for inst in study.instruments.values() for s in inst.scales), default=2
    )
    duration = (
        numbers(recs[f"col:{cfg.columns.duration}"])
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
        longstring_min_items=cfg.quality.longstring_min_items,
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
    return quality, flags


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
    setup = _setup(config_path, key, out_dir, strict_key, check_previous, outputs)
    study, cfg, warnings = setup.study, setup.study.config, setup.warnings
    lap("config and key")
    reasons = ReasonTable()
    outs = _read_sources(study, reasons, setup.fatal, warnings)
    if setup.fatal:
        report = ValidationReport(fatal=tuple(setup.fatal), warnings=tuple(warnings))
        return _Run(study, report, None)
    records = combine_records(outs)
    lap("read, map and recode")
    if cfg.participant_id.linked:  # response keys of an unlinked survey are not ids
        warnings.extend(lookalike_ids(records))
    records, code_counts = link_records(records, cfg)
    records["participant_id"] = pseudonymise(records["raw_id"], setup.key)
    lap("pseudonymise")
    records = records.drop(columns="raw_id")
    kept = keep_records(records, outs, cfg, warnings)
    parts = _responses(study, outs, kept, reasons)
    lap("duplicates and item tables")
    if setup.output is not None:
        # Written now, while the scores, quality and linkage tables do not exist yet: the
        # writer's buffers do not add to them (the ingest's peak memory). Into the staging
        # folder: a run that stops early leaves the earlier run's tables as they were.
        write_responses(parts, setup.output.staging / "responses.parquet")
        pa.default_memory_pool().release_unused()  # the writer's buffers
        lap("write responses")
    scores = ingest_scores(parts, study)
    lap("score")
    quality, flags = _quality(study, kept, parts.matrix)
    lap("quality flags")
    participants = participants_table(kept, cfg)
    linkage = _link_report(kept, cfg, coded=code_counts is not None)
    link_counts = linkage_summary(linkage)
    lap("participants and linkage")
    inputs = reconcile_sources(outs, kept)
    summary = ingest_summary(outs, kept, link_counts, flags, code_counts)
    lap("reconcile and counts")
    manifest = ingest_manifest(
        study,
        fingerprint=key_fingerprint(setup.key),
        inputs=inputs,
        quarantine=kept.quarantine,
        summary=summary,
        tables={"responses": len(parts), "scores": len(scores)},
        link_counts=link_counts,
        design=study_design(study, code_counts),
        seconds=time.perf_counter() - t0,
        laps=laps,
    )
    data, notes = problems_from_quarantine(kept.quarantine, cfg.quality.duplicates)
    if code_counts is not None:
        notes.append(Problem(sgic_line(code_counts)))
    report = ValidationReport(
        fatal=(), data=tuple(data), warnings=tuple(warnings), notes=tuple(notes)
    )
    result = IngestResult(
        parts=parts,
        scores=scores,
        participants=participants,
        quarantine=kept.quarantine[QUARANTINE_COLUMNS],
        quality=quality,
        linkage=linkage,
        manifest=manifest,
        summary=summary,
        out_dir=setup.target,
        warnings=tuple(warnings),
    )
    return _Run(study, report, result, setup.output)


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
            res = run.result
            write_processed(
                run.output,
                scores=res.scores,
                participants=res.participants,
                quarantine=res.quarantine,
                quality=res.quality,
                linkage=res.linkage,
                manifest=res.manifest,
            )
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
    ...     "sources: [{path: pre.csv, wave: pre}]\\ninstruments: {who5: {}}\\n"
    ...     "analysis: {pre: pre, post: post}\\n")
    >>> [p.key for p in validate_study(folder / "study.yaml")]
    ['sources[0].path', 'analysis.post']
    """
    return check_study(config_path).problems
