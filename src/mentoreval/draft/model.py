"""The draft itself: :class:`StudyDraft`, what ``mentoreval init`` proposes for a study.

A draft is plain data — sources with their waves, the participant id, column roles,
instrument item maps, keying flags and open decisions (``todos``) — with three views: a
tidy table of every proposal (:meth:`StudyDraft.table`), an HTML table for notebooks and
the commented ``study.yaml`` (:meth:`StudyDraft.to_yaml`, written by
:mod:`mentoreval.draft.yamlout`).
"""

from __future__ import annotations

import html
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from mentoreval.errors import ConfigError, Problem

from .keying import KeyFlag

__all__ = ["TABLE_COLUMNS", "InstrumentDraft", "Proposal", "SourceDraft", "StudyDraft"]

TABLE_COLUMNS = ["file", "column", "role", "instrument", "item", "confidence", "evidence"]
"""Columns of :meth:`StudyDraft.table`."""


@dataclass(frozen=True)
class Proposal:
    """One row of the mapping table: a column of a file and what it is proposed to be."""

    file: str
    column: str
    role: str
    confidence: float
    evidence: str
    instrument: str | None = None
    item: str | None = None


@dataclass(frozen=True)
class SourceDraft:
    """One export as a ``sources:`` entry."""

    path: Path
    format: str
    wave: str | None
    events: dict[str, str] | None
    dictionary: Path | None
    id_column: str | None
    unfinished: str | None
    confidence: float
    evidence: str
    todo: str | None = None

    @property
    def name(self) -> str:
        """The file name."""
        return self.path.name


@dataclass(frozen=True)
class InstrumentDraft:
    """One instrument found in the exports.

    Attributes
    ----------
    id
        The instrument id.
    items
        Item id → export column (the same in every file holding the instrument).
    values
        Export answer → code, for labels that differ from the scale's only by punctuation.
    confidence
        The weakest item's confidence.
    evidence
        Item id → the evidence for its column.
    files
        Files holding the instrument.
    todos
        Decisions left to the user (missing items, columns that differ between files,
        answers off the scale).
    scales
        The instrument's scale ids (for the suggested primary outcomes).
    item_confidence
        Item id → the confidence of its column (the weakest file's).
    """

    id: str
    items: dict[str, str]
    values: dict[str, float]
    confidence: float
    evidence: dict[str, str]
    files: tuple[str, ...]
    todos: tuple[str, ...] = ()
    scales: tuple[str, ...] = ()
    item_confidence: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class StudyDraft:
    """A proposed study config with the evidence for every proposal.

    Build one with :func:`mentoreval.draft.draft_study`; write it with :meth:`write`.
    """

    title: str
    sources: tuple[SourceDraft, ...]
    id_column: str | None
    id_pattern: str | None
    id_confidence: float
    id_evidence: str
    id_todo: str | None
    columns: dict[str, list[str]]
    column_evidence: dict[str, tuple[float, str]]
    group: dict[str, str] | None
    instruments: dict[str, InstrumentDraft]
    proposals: tuple[Proposal, ...]
    keying: tuple[KeyFlag, ...] = ()
    meetings: Path | None = None
    cohort: str | None = None
    programme: str | None = None
    instrument_dirs: tuple[Path, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def todos(self) -> list[str]:
        """Every decision left to the user, in the order the YAML shows them."""
        out = [self.id_todo] if self.id_todo else []
        out += [f"{s.name}: {s.todo}" for s in self.sources if s.todo]
        if not self.instruments:
            out.append(_NO_INSTRUMENT)
        for inst in self.instruments.values():
            out += [f"{inst.id}: {t}" for t in inst.todos]
        if self.id_column is None and not self.id_todo:
            out.append("no participant id column")
        return out

    def table(self) -> pd.DataFrame:
        """Every proposal, one row per column of each file (tidy).

        Returns
        -------
        pandas.DataFrame
            Columns :data:`TABLE_COLUMNS`; ``role`` is one of ``id``, ``item``, ``group``,
            ``covariate``, ``meta``, ``duration``, ``drop``, ``unplaced``.
        """
        rows = [
            {
                "file": p.file,
                "column": p.column,
                "role": p.role,
                "instrument": p.instrument,
                "item": p.item,
                "confidence": p.confidence,
                "evidence": p.evidence,
            }
            for p in self.proposals
        ]
        return pd.DataFrame(rows, columns=TABLE_COLUMNS)

    def to_yaml(self, out: str | Path = "study.yaml") -> str:
        """The commented ``study.yaml`` text, with paths relative to ``out``'s folder."""
        from .yamlout import render_yaml

        return render_yaml(self, Path(out))

    def write(self, out: str | Path, *, force: bool = False) -> Path:
        """Write the commented ``study.yaml`` to ``out``.

        Raises
        ------
        ConfigError
            When ``out`` exists and ``force`` is False (nothing is written).
        """
        path = Path(out)
        if path.exists() and not force:
            raise ConfigError(
                f"{path} already exists; nothing was written",
                (
                    Problem(
                        "already exists; nothing was written",
                        file=str(path),
                        fix="use --force to replace it, or --out to write elsewhere",
                    ),
                ),
            )
        text = self.to_yaml(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def _repr_html_(self) -> str:
        todo = "".join(f"<li>{html.escape(t)}</li>" for t in self.todos)
        head = f"<p><b>mentoreval init</b>: {len(self.sources)} export(s), "
        head += f"{len(self.instruments)} instrument(s), {len(self.todos)} TODO(s)</p>"
        return head + (f"<ul>{todo}</ul>" if todo else "") + self.table().to_html(index=False)

    def __repr__(self) -> str:
        return (
            f"StudyDraft(sources={[s.name for s in self.sources]}, id={self.id_column!r}, "
            f"instruments={list(self.instruments)}, todos={len(self.todos)})"
        )


_NO_INSTRUMENT = (
    "no known instrument found: add the instrument (a shipped id, or your own definition "
    "under instrument_dirs) and map its items"
)
