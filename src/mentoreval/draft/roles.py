"""Role proposals: participant id, waves, group, covariates, meta, duration and drop columns.

Each proposal carries a confidence and the evidence for it, and an undecided one carries a
``todo`` message instead of a guess:

- **participant id** — unique (or nearly: duplicate submissions happen) in its file, answered
  by everyone, id-like values, a header that says *id*, *student*, *participant* or *record*,
  and, with several files, values that recur across them; row counters (1..n) and platform
  response ids (``R_…``) are not participant ids;
- **waves** — REDCap events, else the file name (``pre``, ``baseline``, ``post``,
  ``follow-up``…), else the files' submission dates (earliest file is ``pre``);
- **group** — a column whose header says *group*, *arm*, *programme*, *taking part*… with
  one to three levels (treated/control recognised from *mentored/comparison*, *yes/no*…);
- **covariates** — low-cardinality columns whose header names a demographic;
- **meta** — survey-platform columns (dates, status, progress, language, record ids), with
  the **duration** and **submission time** picked out;
- **drop** — identifying columns, by :func:`mentoreval.ingest.protect.detect_identifying` and the
  REDCap dictionary's *Identifier?* flag.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import cast

import pandas as pd

from mentoreval.ingest.protect import detect_identifying

from .evidence import ExportFile, norm_text, profile_columns
from .stages import stage_waves

__all__ = [
    "ColumnRole",
    "IdChoice",
    "WaveChoice",
    "column_roles",
    "id_pattern",
    "propose_ids",
    "propose_waves",
    "submitted_column",
]

_ID_HEADER = re.compile(
    r"\b(id|ids|sid|pid|uid|identifier|student (number|no)|participant|record|subject|respondent|matric\w*)\b"
)
_ID_MIN = 0.55  # an id header or values shared across files, on top of unique answers
_SYSTEM_ID = {"responseid", "response id", "id", "submission id", "seed", "token"}
_PRE = re.compile(r"\b(pre|baseline|base|before|t0|intake|entry|enrol(l)?(ment)?|screening)\b")
_POST = re.compile(r"\b(post|follow ?up|followup|fu|after|t1|end|exit|final|completion|outcome)\b")
_WAVE_COLUMN = re.compile(r"^(wave|time ?point|visit|phase|occasion|survey round|round)$")
_META = re.compile(
    r"^(start ?date|end ?date|status|progress|finished|recorded ?date|response ?id|"
    r"distribution ?channel|user ?language|start ?time|completion ?time|timestamp|"
    r"submit ?date|date ?submitted|date ?stamp|last ?page|start ?language|seed|id|"
    r"last modified time|redcap survey identifier|response ?set|date ?last ?action|"
    r".* timestamp|.* complete|complete)$"
)
_DURATION = re.compile(r"\b(duration|time taken|seconds|interview ?time|total ?time)\b")
_SUBMITTED = (
    "end date",
    "completion time",
    "timestamp",
    "submit date",
    "date submitted",
    "recorded date",
)
_GROUP = re.compile(
    r"\b(group|arm|condition|programme|program|taking part|enrolled|intervention|mentored|"
    r"mentee|treatment)\b"
)
_TREATED = re.compile(r"^(yes|y|mentored|mentee|intervention|treatment|treated|programme|1)$")
_CONTROL = re.compile(r"^(no|n|comparison|control|waitlist|wait list|usual care|0|none)$")
_COVARIATE = re.compile(
    r"\b(gender|sex|age|year|years|site|campus|ethnic\w*|race|school|stage|level|course|"
    r"degree|nationality|international|first generation|disab\w*|track|entry route|"
    r"graduate|specialty|speciality)\b"
)
_REDCAP_SYSTEM = {
    "redcap_event_name",
    "redcap_repeat_instrument",
    "redcap_repeat_instance",
    "redcap_data_access_group",
}


@dataclass(frozen=True)
class IdChoice:
    """The participant id column proposed for one export."""

    file: str
    column: str | None
    confidence: float
    evidence: str
    todo: str | None = None
    runners_up: tuple[str, ...] = ()


@dataclass(frozen=True)
class WaveChoice:
    """The wave of one export (``wave``), or its REDCap events mapped to waves."""

    file: str
    wave: str | None
    events: dict[str, str] | None
    confidence: float
    evidence: str
    todo: str | None = None


@dataclass(frozen=True)
class ColumnRole:
    """A proposed role for one column of one export."""

    file: str
    column: str
    role: str
    confidence: float
    evidence: str
    levels: tuple[str, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- ids


def _id_score(row: pd.Series, header: str, values: pd.Series) -> tuple[float, list[str]]:
    why: list[str] = []
    if row["n"] == 0 or row["answered"] < 0.9 * row["n"] or row["distinct"] < 0.9 * row["answered"]:
        return 0.0, why
    if row["date"] > 0.5 or (row["numeric"] > 0.5 and row["integer"] < 0.99):
        return 0.0, why
    h = norm_text(header)
    if (_META.match(h) and h != "id") or _DURATION.search(h):
        return 0.0, why
    score = 0.3
    why.append(f"{row['distinct']} distinct values in {row['answered']} answers")
    if _ID_HEADER.search(h):
        score += 0.3
        why.append(f'header "{header}" names an id')
    if row["id_like"] >= 0.8:
        score += 0.2
        why.append("id-like values")
    if row["sequential"]:
        score -= 0.6
        why.append("values are 1..n (a row counter)")
    if h.replace(" ", "") in {s.replace(" ", "") for s in _SYSTEM_ID} or (
        values.str.startswith("R_").mean() > 0.9
    ):
        score -= 0.6
        why.append("a survey platform's response id")
    if values.str.contains("@", regex=False).mean() > 0.5:
        score -= 0.3
        why.append("e-mail addresses (identifying)")
    return score, why


def _candidates(export: ExportFile, exclude: set[str]) -> list[tuple[str, float, list[str]]]:
    data = export.table.data
    prof = profile_columns(export.table).set_index("column")
    keys = [c for c in _REDCAP_SYSTEM if c in data.columns]
    meta = export.table.columns_meta.set_index("column")
    out = []
    for column, row in prof.iterrows():
        if column in exclude or column in _REDCAP_SYSTEM:
            continue
        values = data[column].dropna().astype(str).str.strip()
        if keys:  # REDCap: one row per record and event (and repeat instance)
            row = row.copy()
            row["distinct"] = len(data[[column, *keys]].dropna(subset=[column]).drop_duplicates())
        score, why = _id_score(row, str(column), values)
        if score > 0 and "role" in meta.columns and meta.at[column, "role"] == "record_id":
            score += 0.3
            why.append("the REDCap record id")
        if score > 0:
            out.append((str(column), score, why))
    return out


def propose_ids(exports: Sequence[ExportFile], items: dict[str, set[str]]) -> list[IdChoice]:
    """Propose the participant id column of every export.

    Parameters
    ----------
    exports
        The survey exports.
    items
        File name → columns already proposed as items (never ids).

    Returns
    -------
    list of IdChoice
        One per export; ``column`` is None with a ``todo`` when no column qualifies, and a
        ``todo`` is also set when two candidates are too close to call.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from mentoreval.draft.evidence import collect_exports
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "pre.csv").write_text("n,sid,who5_1\\n1,1234567,3\\n2,2345678,4\\n3,3456789,1\\n")
    >>> _ = (folder / "post.csv").write_text("n,sid,who5_1\\n1,2345678,3\\n2,1234567,2\\n3,9999999,1\\n")
    >>> [(c.file, c.column) for c in propose_ids(collect_exports([folder]).files, {})]
    [('post.csv', 'sid'), ('pre.csv', 'sid')]
    """
    per_file = {e.name: _candidates(e, items.get(e.name, set())) for e in exports}
    sets = {
        (e.name, c): set(e.table.data[c].dropna().astype(str).str.strip())
        for e in exports
        for c, _, _ in per_file[e.name]
    }
    out = []
    for e in exports:
        scored = []
        for column, score, why in per_file[e.name]:
            mine = sets[(e.name, column)]
            overlap = max(
                (len(mine & s) / max(len(mine), 1) for (f, _), s in sets.items() if f != e.name),
                default=0.0,
            )
            if overlap >= 0.2:
                score += 0.2
                why = [*why, f"{overlap:.0%} of its values recur in another file"]
            scored.append((column, round(min(score, 0.99), 2), why))
        out.append(_choose_id(e.name, sorted(scored, key=lambda s: -s[1])))
    return out


def _choose_id(file: str, scored: list[tuple[str, float, list[str]]]) -> IdChoice:
    good = [s for s in scored if s[1] >= _ID_MIN]
    if not good:
        return IdChoice(
            file=file,
            column=None,
            confidence=0.0,
            evidence="no column is unique, answered by everyone and id-like",
            todo="no participant id column found: name the column that identifies a student "
            "in every file (without one, pre and post cannot be linked)",
        )
    best, score, why = good[0]
    close = [c for c, s, _ in good[1:] if s >= score - 0.15]
    todo = None
    if close:
        todo = f"is {best!r} the participant id? {close} look like ids too"
        score = round(score * 0.7, 2)
    return IdChoice(file, best, score, "; ".join(why), todo, tuple(close))


def id_pattern(values: Iterable[str]) -> str | None:
    """A regular expression every id matches, when they all share one shape.

    Examples
    --------
    >>> id_pattern(["1234567", "7654321"]), id_pattern(["S0012", "S0456"])
    ('^[0-9]{7}$', '^S[0-9]{4}$')
    >>> id_pattern(["12", "abc"]) is None
    True
    """
    shapes = set()
    for v in values:
        runs = re.findall(r"[0-9]+|[A-Za-z]+|.", v)
        shapes.add(tuple("9" * len(r) if r.isdigit() else r for r in runs))
    if len(shapes) != 1:
        return None
    (shape,) = shapes
    parts = []
    for run in shape:
        if set(run) == {"9"}:
            parts.append(f"[0-9]{{{len(run)}}}")
        else:
            parts.append(re.escape(run))
    return "^" + "".join(parts) + "$"


# --------------------------------------------------------------------------- waves


def _wave_of(text: str) -> str | None:
    t = norm_text(text)
    pre, post = bool(_PRE.search(t)), bool(_POST.search(t))
    return "pre" if pre and not post else "post" if post and not pre else None


def _event_waves(export: ExportFile) -> WaveChoice:
    events = export.table.data["redcap_event_name"].dropna().astype(str)
    names = list(dict.fromkeys(events))
    mapping: dict[str, str] = {}
    others = []
    stems = {name: re.sub(r"_arm_\d+$", "", name) for name in names}
    staged = stage_waves(stems) or {}  # more than two stages: one wave each
    for name in names:
        stem = stems[name]
        wave = staged.get(name) or (None if staged else _wave_of(stem))
        if wave is None:
            wave = stem
            others.append(name)
        mapping[name] = wave
    ok = {"pre", "post"} <= set(mapping.values())
    why = f"REDCap events {names}"
    todo = "which REDCap event is the pre wave and which the post wave?"
    if staged:
        ok = not others
        why += f"; {len(set(staged.values()))} stages named, each its own wave"
        todo = f"place the REDCap events {others} in time order under analysis.waves"
    if others:
        why += f"; {others} are neither pre nor post (kept as their own waves)"
    return WaveChoice(
        file=export.name,
        wave=None,
        events=mapping,
        confidence=0.9 if ok and not others else 0.6,
        evidence=why,
        todo=None if ok else todo,
    )


def propose_waves(exports: Sequence[ExportFile], submitted: dict[str, str]) -> list[WaveChoice]:
    """Propose each export's wave (or REDCap event → wave map).

    Parameters
    ----------
    exports
        The survey exports.
    submitted
        File name → its submission-time column (for ordering files by date).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from mentoreval.draft.evidence import collect_exports
    >>> folder = Path(tempfile.mkdtemp())
    >>> for name in ("baseline.csv", "follow-up.csv"):
    ...     _ = (folder / name).write_text("sid,who5_1\\n1234567,3\\n")
    >>> [(w.file, w.wave) for w in propose_waves(collect_exports([folder]).files, {})]
    [('baseline.csv', 'pre'), ('follow-up.csv', 'post')]
    """
    out: list[WaveChoice] = []
    files = [e for e in exports if "redcap_event_name" not in e.table.data.columns]
    staged = stage_waves({e.name: e.path.stem for e in files}) or {}
    for e in exports:
        if "redcap_event_name" in e.table.data.columns:
            out.append(_event_waves(e))
            continue
        if staged:  # more than two stages named: each file its own wave
            wave = staged.get(e.name)
            why = f"file name {e.name!r}, one of {len(staged)} waves in time order"
            if wave is not None:
                out.append(WaveChoice(e.name, wave, None, 0.85, why))
                continue
        wave = None if staged else _wave_of(e.path.stem)
        if wave is not None:
            out.append(WaveChoice(e.name, wave, None, 0.9, f"file name {e.name!r}"))
        else:
            out.append(WaveChoice(e.name, None, None, 0.0, "no wave in the file name"))
    return _by_dates(exports, out, submitted)


def _by_dates(
    exports: Sequence[ExportFile], choices: list[WaveChoice], submitted: dict[str, str]
) -> list[WaveChoice]:
    open_ = [c for c in choices if c.wave is None and c.events is None]
    if not open_:
        return choices
    medians: dict[str, pd.Timestamp] = {}
    for e in exports:
        col = submitted.get(e.name)
        if col is None or col not in e.table.data.columns or e.name not in {c.file for c in open_}:
            continue
        cells = (
            e.table.data[col]
            .astype(str)
            .str.replace(r"\s*(AM|PM)?\s*[A-Z]{2,4}[+-]?\d*$", "", regex=True)
        )
        when = pd.to_datetime(cells, errors="coerce", format="mixed")
        if when.notna().mean() > 0.8:
            medians[e.name] = when.median()
    out = []
    if len(open_) == 2 and len(medians) == 2:
        first = min(medians, key=lambda f: medians[f])
        for c in choices:
            if c.file in medians:
                wave = "pre" if c.file == first else "post"
                why = f"submitted around {medians[c.file]:%Y-%m-%d} ({'earlier' if wave == 'pre' else 'later'} file)"
                c = WaveChoice(c.file, wave, None, 0.6, why)
            out.append(c)
        return out
    for c in choices:
        if c.wave is None and c.events is None:
            wave_col = _wave_column(next(e for e in exports if e.name == c.file))
            todo = (
                f"which wave is {c.file}? (pre, post, ...)"
                if wave_col is None
                else f"{c.file} holds several waves in column {wave_col!r}; a source has one "
                "wave: export one file per wave"
            )
            c = WaveChoice(c.file, "TODO", None, 0.0, c.evidence, todo)
        out.append(c)
    return out


def _wave_column(export: ExportFile) -> str | None:
    prof = profile_columns(export.table)
    for _, row in prof.iterrows():
        if _WAVE_COLUMN.match(norm_text(row["column"])) and 2 <= row["distinct"] <= 4:
            return str(row["column"])
    return None


# --------------------------------------------------------------------------- other columns


def _identifying(export: ExportFile, columns: list[str]) -> dict[str, str]:
    found = detect_identifying(export.table.data, columns=columns)
    out = dict(zip(found["column"].astype(str), found["reason"].astype(str), strict=True))
    meta = export.table.columns_meta
    if "identifier" in meta.columns:
        for c, flag in zip(meta["column"], meta["identifier"], strict=True):
            if c in columns and str(flag).strip().lower() in {"y", "yes", "true", "1"}:
                out.setdefault(str(c), "flagged Identifier? in the REDCap dictionary")
    return out


def _group_role(file: str, column: str, levels: list[str]) -> ColumnRole:
    treated = [lv for lv in levels if _TREATED.match(norm_text(lv))]
    control = [lv for lv in levels if _CONTROL.match(norm_text(lv))]
    extra: dict[str, str] = {}
    if len(levels) == 2 and len(treated) == 1 and len(control) == 1:
        extra = {"treated": treated[0], "control": control[0]}
    if len(levels) == 1:
        why = f"header names a group; one level only ({levels[0]!r}): no comparison group here"
        return ColumnRole(file, column, "group", 0.6, why, tuple(levels), extra)
    why = f"header names a group; {len(levels)} levels {levels}"
    return ColumnRole(file, column, "group", 0.9 if extra else 0.7, why, tuple(levels), extra)


def _classify(row: pd.Series) -> tuple[str, float, str] | None:
    column = str(row["column"])
    h = norm_text(column)
    if column in _REDCAP_SYSTEM:
        return "event", 0.99, "REDCap system column (read by mentoreval itself)"
    if _DURATION.search(h) and row["numeric"] > 0.9:
        return "duration", 0.9, f'header "{column}" and numeric answers'
    if _META.match(h):
        return "meta", 0.9, f'survey-platform column "{column}"'
    if row["date"] > 0.9:
        return "meta", 0.8, "dates"
    if row["sequential"]:
        return "meta", 0.7, "values are 1..n (a row counter)"
    return None


def column_roles(export: ExportFile, taken: set[str]) -> list[ColumnRole]:
    """Roles of the columns of one export that are neither its id nor items.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from mentoreval.draft.evidence import collect_exports
    >>> p = Path(tempfile.mkdtemp()) / "pre.csv"
    >>> _ = p.write_text("sid,Email,EndDate,group,Gender,x\\n"
    ...     "1,a@b.org,2024-01-01 10:00,mentored,F,7\\n2,c@d.org,2024-01-02 10:00,comparison,M,8\\n")
    >>> roles = column_roles(collect_exports([p]).files[0], {"sid"})
    >>> [(r.column, r.role) for r in roles]
    [('Email', 'drop'), ('EndDate', 'meta'), ('group', 'group'), ('Gender', 'covariate'), ('x', 'unplaced')]
    >>> roles[2].extra
    {'treated': 'mentored', 'control': 'comparison'}
    """
    rest = [str(c) for c in export.table.data.columns if c not in taken]
    ident = _identifying(export, rest)
    prof = profile_columns(export.table).set_index("column")
    out: list[ColumnRole] = []
    for column in rest:
        row = cast(pd.Series, prof.loc[column]).copy()
        row["column"] = column
        levels = list(row["levels"] or [])
        h = norm_text(column)
        known = _classify(row)
        if known is not None and known[0] == "event":
            continue
        if column in ident and not (known and ident[column].startswith("free text")):
            out.append(
                ColumnRole(export.name, column, "drop", 0.9, f"identifying: {ident[column]}")
            )
        elif known is not None:
            out.append(ColumnRole(export.name, column, known[0], known[1], known[2]))
        elif _GROUP.search(h) and 1 <= len(levels) <= 3 and row["answered"] >= 0.5 * row["n"]:
            out.append(_group_role(export.name, column, levels))
        elif _COVARIATE.search(h) and (row["levels"] is not None or row["integer"] > 0.99):
            why = f'header "{column}" names a characteristic; {row["distinct"]} levels'
            out.append(ColumnRole(export.name, column, "covariate", 0.8, why, tuple(levels)))
        else:
            out.append(ColumnRole(export.name, column, "unplaced", 0.0, _unplaced_why(row)))
    return _one_group(out)


def _unplaced_why(row: pd.Series) -> str:
    if row["answered"] == 0:
        return "empty column"
    if row["mean_length"] > 20 and row["distinct"] > 0.5 * row["answered"]:
        return "free text"
    return f"{row['distinct']} distinct answers; no role recognised"


def _one_group(roles: list[ColumnRole]) -> list[ColumnRole]:
    groups = sorted((r for r in roles if r.role == "group"), key=lambda r: -r.confidence)
    out = []
    for r in roles:
        if r.role == "group" and groups and r is not groups[0]:
            r = ColumnRole(
                r.file, r.column, "covariate", 0.5, r.evidence + "; a second group-like column"
            )
        out.append(r)
    return out


def submitted_column(roles: Sequence[ColumnRole]) -> str | None:
    """The meta column that best tells when a response was submitted.

    Examples
    --------
    >>> submitted_column([ColumnRole("f", "StartDate", "meta", 1, ""),
    ...                   ColumnRole("f", "EndDate", "meta", 1, "")])
    'EndDate'
    """
    meta = {norm_text(r.column): r.column for r in roles if r.role == "meta"}
    for name in _SUBMITTED:
        if name in meta:
            return meta[name]
        if name.replace(" ", "") in meta:
            return meta[name.replace(" ", "")]
    return None
