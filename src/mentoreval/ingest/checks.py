"""Checks of the sources against the study config and each other (stage: map).

Run after every source is read and mapped (:mod:`mentoreval.ingest.source`), before the
records are combined: a source with no records, or none left (:func:`check_source_rows`);
an
instrument no source has (:func:`check_instruments`); ids that differ only in look-alike
characters (:func:`lookalike_ids`). Each adds located problems to ``fatal`` (the run stops)
or ``warnings``. :func:`source_warnings` turns what the sources noticed (identifying-looking
columns, reader notes) into warnings, and :func:`problems_from_quarantine` says what the
quarantine holds, as ``validate`` lists it. :func:`source_labels` names each source in the
outputs (its file name, or its path when two sources share a file name) and refuses a file
listed twice.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mentoreval.config.study import Study
from mentoreval.errors import MentorevalError, Problem
from mentoreval.ingest.protect import confusable_collisions, confusable_groups
from mentoreval.ingest.quarantine import CELL_RULES
from mentoreval.ingest.source import SourceOut

__all__ = [
    "check_instruments",
    "check_source_rows",
    "lookalike_ids",
    "problems_from_quarantine",
    "source_labels",
    "source_warnings",
]

_LISTED = 50


_READ_RULES = {
    "qualtrics_preview": "Qualtrics previews",
    "qualtrics_test": "Qualtrics tests",
    "qualtrics_spam": "Qualtrics spam",
    "limesurvey_unfinished": "unfinished LimeSurvey responses",
}


def check_source_rows(
    study: Study, outs: list[SourceOut], fatal: list[Problem], warnings: list[Problem]
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


def check_instruments(study: Study, outs: list[SourceOut], fatal: list[Problem]) -> None:
    """An instrument whose item columns no source has is fatal (when every source was read
    and nothing else is wrong)."""
    for inst_id in study.instruments:
        if (
            outs
            and len(outs) == len(study.config.sources)
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


def source_warnings(outs: list[SourceOut]) -> list[Problem]:
    """What the sources noticed: identifying-looking columns without a role (dropped) and
    the readers' notes."""
    warnings: list[Problem] = []
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
    return warnings


def lookalike_ids(records: pd.DataFrame) -> list[Problem]:
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


def problems_from_quarantine(
    q: pd.DataFrame, duplicates: str = "keep_last"
) -> tuple[list[Problem], list[Problem]]:
    """What ``validate`` lists from the quarantine: the rows and answers set aside against
    the study's wishes (unknown answers, bad ids, ...), and the notes, one per source and
    rule with its count, for rows set aside by a rule the study declares — duplicate
    submissions resolved by ``quality.duplicates``, Qualtrics previews/tests/spam and
    unfinished responses excluded by a source's ``exclude``/``unfinished``."""
    out: list[Problem] = []
    notes: list[Problem] = []
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
            declared = str(rrule) in _READ_RULES
            (notes if declared else out).append(
                Problem(
                    f"{rrule}: {n} row(s) excluded when reading ({_READ_RULES.get(str(rrule), str(rwhy))}; "
                    f"first: {rwhy})",
                    file=str(rsrc),
                    row=int(first),
                )
            )
    dup = q[q["rule"] == "duplicate"]
    for src, rows in dup.groupby("source", sort=True)["source_row"]:
        shown = ", ".join(str(int(r)) for r in sorted(rows)[:5]) + (
            ", ..." if len(rows) > 5 else ""
        )
        notes.append(
            Problem(
                f"duplicate: {len(rows)} submission(s) set aside (row(s) {shown}) because a "
                f"{'later' if duplicates == 'keep_last' else 'earlier'} one of the same "
                f"participant and wave is kept (quality.duplicates: {duplicates}; the rows "
                "go to quarantine.csv)",
                file=str(src),
            )
        )
    q = q[q["rule"] != "duplicate"]
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
    return out, notes


def source_labels(study: Study, fatal: list[Problem]) -> list[str | None]:
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
