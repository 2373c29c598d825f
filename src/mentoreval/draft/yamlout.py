"""YAML writing: a :class:`~mentoreval.draft.model.StudyDraft` as a commented ``study.yaml``.

Every proposal is followed or preceded by a comment with its confidence and evidence
(``# 95%: 100% of answers are WHO-5 labels; header "I have felt calm and relaxed" is the
item text``). Every open decision is a ``TODO:`` key inside the mapping it concerns (or a
``TODO`` value where a value is needed): the study config is validated strictly, so
``mentoreval validate`` (and :func:`mentoreval.config.study.load_study`) refuses the file, naming
each ``...TODO`` key, until the user has decided and deleted it. Paths are written relative
to the config's folder; export folders outside it are listed under ``data_roots``.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from .stages import in_time_order

if TYPE_CHECKING:  # model imports this module to write itself
    from .model import StudyDraft

__all__ = ["render_yaml", "yaml_scalar"]

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.()/-]*( [A-Za-z0-9_.()/-]+)*$")
_RESERVED = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"}


def yaml_scalar(value: object) -> str:
    """A YAML scalar for ``value``: plain when unambiguous text, else double-quoted.

    Examples
    --------
    >>> yaml_scalar("who5_1"), yaml_scalar("Duration (in seconds)"), yaml_scalar("NO")
    ('who5_1', 'Duration (in seconds)', '"NO"')
    >>> yaml_scalar('How often: "tired"?\\n'), yaml_scalar(75.0), yaml_scalar("2023")
    ('"How often: \\\\"tired\\\\"?\\\\n"', '75', '"2023"')
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"{value:g}"
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _RESERVED and not text.endswith(":"):
        return text
    return json.dumps(text, ensure_ascii=False)


def _comment(confidence: float | None, evidence: str) -> str:
    text = " ".join(evidence.split())
    return f"# {confidence:.0%}: {text}" if confidence is not None else f"# {text}"


def _rel(path: Path, base: Path) -> str:
    """``path`` relative to ``base`` when inside it (or one level up), else absolute."""
    p, b = path.resolve(), base.resolve()
    rel = Path(os.path.relpath(p, b))
    if rel.parts[:2] == ("..", ".."):
        return p.as_posix()
    return rel.as_posix()


class _Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, indent: int, text: str) -> None:
        self.lines.append("  " * indent + text)

    def todo(self, indent: int, todos: list[str] | tuple[str, ...]) -> None:
        if len(todos) == 1:
            self.add(indent, f"TODO: {yaml_scalar(todos[0])}")
        elif todos:
            self.add(indent, "TODO:")
            for t in todos:
                self.add(indent + 1, f"- {yaml_scalar(t)}")


def render_yaml(draft: StudyDraft, out: Path) -> str:
    """The commented ``study.yaml`` for ``draft``, paths relative to ``out``'s folder.

    Examples
    --------
    >>> import tempfile
    >>> from mentoreval.draft import draft_study
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "cohort.csv").write_text("sid,who5_1,who5_2,who5_3,who5_4,who5_5\\n"
    ...     + "".join(f"{1000 + i},3,3,4,2,{i % 6}\\n" for i in range(12)))
    >>> text = render_yaml(draft_study([folder / "cohort.csv"]), folder / "study.yaml")
    >>> print("\\n".join(x for x in text.splitlines() if "TODO" in x and not x.startswith("#")))
        wave: TODO
        TODO: "which wave is cohort.csv? (pre, post, ...)"
      pre: TODO   # no source gives a 'pre' wave: name one
      post: TODO   # no source gives a 'post' wave: name one
    """
    base = out.parent
    w = _Lines()
    _header(w, draft, out)
    _identity(w, draft)
    _participant(w, draft)
    _sources(w, draft, base)
    _columns(w, draft)
    _instruments(w, draft)
    _analysis(w, draft)
    _tail(w, draft, base)
    return "\n".join(w.lines) + "\n"


def _header(w: _Lines, draft: StudyDraft, out: Path) -> None:
    w.add(0, f"# Drafted by `mentoreval init` from {len(draft.sources)} export(s).")
    w.add(0, "# Each proposal carries its confidence and evidence in a comment: check them.")
    w.add(0, "# Every TODO is a decision left to you: mentoreval validate refuses this file")
    w.add(0, "# until each is decided and its TODO line deleted. Then run:")
    w.add(0, f"#   mentoreval validate {out.name}")
    todos = draft.todos
    w.add(0, f"# {len(todos)} TODO(s) left" + (":" if todos else "."))
    for t in todos:
        w.add(0, f"#   - {' '.join(t.split())}")
    if not draft.instruments:
        w.add(0, f"TODO: {yaml_scalar(todos[-1] if todos else 'add an instrument')}")


def _identity(w: _Lines, draft: StudyDraft) -> None:
    w.add(0, f"title: {yaml_scalar(draft.title)}   # shown on the report: change it")
    w.add(0, "# programme: my-programme   # the programme's id (the multi-year store's partition)")
    if draft.cohort:
        w.add(0, f"cohort: {yaml_scalar(draft.cohort)}   # from the folder name")
        w.add(0, f"year: {draft.cohort}   # academic year start: check it")
    w.add(
        0,
        "# key_file: ~/.mentoreval/keys/my-programme.key   # ingest needs it: mentoreval keygen PATH",
    )


def _participant(w: _Lines, draft: StudyDraft) -> None:
    w.add(0, "participant_id:")
    w.add(1, _comment(draft.id_confidence, draft.id_evidence or "no candidate"))
    w.add(1, f"column: {yaml_scalar(draft.id_column or 'TODO')}")
    if draft.id_pattern:
        w.add(
            1,
            f"pattern: {yaml_scalar(draft.id_pattern)}   # every id in the exports has this shape",
        )
    if draft.id_todo or draft.id_column is None:
        w.add(1, f"TODO: {yaml_scalar(draft.id_todo or 'no participant id column found')}")


def _sources(w: _Lines, draft: StudyDraft, base: Path) -> None:
    w.add(0, "sources:")
    for s in draft.sources:
        w.add(1, _comment(s.confidence, s.evidence))
        w.add(1, f"- path: {yaml_scalar(_rel(s.path, base))}")
        w.add(2, f"format: {s.format}")
        if s.dictionary is not None:
            w.add(2, f"dictionary: {yaml_scalar(_rel(s.dictionary, base))}")
        if s.events is not None:
            w.add(2, "events:")
            for event, wave in s.events.items():
                w.add(3, f"{yaml_scalar(event)}: {yaml_scalar(wave)}")
        else:
            w.add(2, f"wave: {yaml_scalar(s.wave or 'TODO')}")
        if s.id_column:
            w.add(2, f"id_column: {yaml_scalar(s.id_column)}   # this file's participant id")
        if s.unfinished:
            w.add(2, f"unfinished: {s.unfinished}   # partial responses set aside (quarantined)")
        if s.todo:
            w.add(2, f"TODO: {yaml_scalar(s.todo)}")


def _columns(w: _Lines, draft: StudyDraft) -> None:
    cols = draft.columns
    ev = draft.column_evidence
    if not any(
        cols.get(k) for k in ("group", "duration", "submitted_at", "covariates", "meta", "drop")
    ):
        w.add(0, "columns: {}")
    else:
        w.add(0, "columns:")
    for key in ("group", "duration", "submitted_at"):
        if cols.get(key):
            column = cols[key][0]
            conf, why = ev.get(column, (None, ""))
            if key == "submitted_at":
                conf, why = None, "when a response was submitted (for the duplicate rule)"
            w.add(1, _comment(conf, why))
            w.add(1, f"{key}: {yaml_scalar(column)}")
    for key in ("covariates", "meta", "drop"):
        if cols.get(key):
            w.add(1, f"{key}:")
            for column in cols[key]:
                conf, why = ev[column]
                w.add(2, f"- {yaml_scalar(column)}   {_comment(conf, why)}")
    if cols.get("unplaced"):
        w.add(0, "# Not placed (listed, not mapped: ingest drops them and names them; give a role")
        w.add(0, "# under columns: to keep one):")
        for column in cols["unplaced"]:
            w.add(0, f"#   - {yaml_scalar(' '.join(column.split()))}: {ev[column][1]}")


def _instruments(w: _Lines, draft: StudyDraft) -> None:
    if not draft.instruments:
        w.add(0, "instruments: {}   # none of the known instruments was found (see the TODO above)")
        return
    w.add(0, "instruments:")
    for inst in draft.instruments.values():
        w.add(1, f"# {inst.confidence:.0%} (weakest item); in {', '.join(inst.files)}")
        identity = all(item == column for item, column in inst.items.items())
        if identity and not inst.values and not inst.todos:
            first = next(iter(inst.evidence.values()), "")
            w.add(1, f"# every column is named as its item id; e.g. {first}")
            w.add(1, f"{inst.id}: {{}}")
            continue
        w.add(1, f"{inst.id}:")
        if not identity:
            w.add(2, "items:")
            for item, column in inst.items.items():
                w.add(3, _comment(inst.item_confidence.get(item), inst.evidence[item]))
                w.add(3, f"{item}: {yaml_scalar(column)}")
        if inst.values:
            w.add(2, "values:   # export labels that differ from the scale's only in punctuation")
            for label, code in inst.values.items():
                w.add(3, f"{yaml_scalar(label)}: {code:g}")
        w.todo(2, inst.todos)


def _analysis(w: _Lines, draft: StudyDraft) -> None:
    waves: list[str] = []
    for s in draft.sources:
        names = [s.wave] if s.wave else list((s.events or {}).values())
        waves += [x for x in names if x and x not in waves]
    w.add(0, "analysis:")
    named = in_time_order(x for x in waves if x != "TODO")
    if len(named) > 2:
        _waves(w, named)
    else:
        for which in ("pre", "post"):
            value = which if which in waves else "TODO"
            note = "" if value != "TODO" else f"   # no source gives a {which!r} wave: name one"
            w.add(1, f"{which}: {value}{note}")
    g = draft.group
    if g and "treated" in g:
        w.add(
            1,
            f"group: {{column: {yaml_scalar(g['column'])}, treated: {yaml_scalar(g['treated'])}, "
            f"control: {yaml_scalar(g['control'])}}}",
        )
    scales = [f"{i.id}.{i.scales[0]}" for i in draft.instruments.values() if i.scales]
    if scales:
        w.add(1, f"# primary: [{', '.join(scales[:3])}]   # choose the primary outcomes")


def _waves(w: _Lines, waves: list[str]) -> None:
    """More than two waves: ``analysis.waves`` in time order and the primary contrast."""
    w.add(1, f"waves: [{', '.join(yaml_scalar(x) for x in waves)}]   # in time order, "
             "from the file (or event) names: check it")  # fmt: skip
    w.add(1, "# the primary contrast [earlier, later]: by default the last wave against the")
    w.add(1, "# first; to change it, name two other waves of analysis.waves "
             f"(e.g. [{yaml_scalar(waves[0])}, {yaml_scalar(waves[-2])}])")  # fmt: skip
    w.add(1, f"contrast: [{yaml_scalar(waves[0])}, {yaml_scalar(waves[-1])}]")


def _tail(w: _Lines, draft: StudyDraft, base: Path) -> None:
    if draft.keying:
        w.add(0, "# Keying check (answers correlated with the rest of their scale):")
        for k in draft.keying:
            w.add(0, f"#   - {k.file}: {k.instrument}.{k.item} (column {k.column!r}): {k.message}")
    if draft.meetings is not None:
        w.add(0, "meetings:   # a meeting log (mentee and mentor columns)")
        w.add(1, f"path: {yaml_scalar(_rel(draft.meetings, base))}")
        w.add(1, "target_cadence_days: 14   # the programme's intended meeting interval: check it")
    if draft.instrument_dirs:
        w.add(0, "instrument_dirs:")
        for d in draft.instrument_dirs:
            w.add(1, f"- {yaml_scalar(_rel(d, base))}")
    roots = _roots(draft, base)
    if roots:
        w.add(0, "data_roots:   # export folders outside this file's folder")
        for r in roots:
            w.add(1, f"- {yaml_scalar(r)}")


def _roots(draft: StudyDraft, base: Path) -> list[str]:
    folders = [s.path.parent for s in draft.sources]
    folders += [s.dictionary.parent for s in draft.sources if s.dictionary is not None]
    folders += [draft.meetings.parent] if draft.meetings is not None else []
    folders += list(draft.instrument_dirs)
    b = base.resolve()
    out = []
    for f in folders:
        r = f.resolve()
        if r != b and b not in r.parents:
            rel = _rel(r, b)
            if rel not in out:
                out.append(rel)
    return out
