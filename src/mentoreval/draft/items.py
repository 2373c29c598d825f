"""Instrument matching: which export column holds which item of which instrument.

Every candidate pairing of an item with a column gets a *base* confidence from the header
evidence, strongest first:

==========================================  ====  =========================================
evidence                                    base  example
==========================================  ====  =========================================
column (or REDCap field) named as the item  0.95  ``who5_1``
a header text is the item's text            0.95  ``WHO-5 [I have felt calm and relaxed]``
a header contains the item's text           0.85  ``Q: I have felt calm and relaxed today``
instrument name and "item k"                0.90  ``MES - Item 3``, ``CAAS-SF item 4``
Qualtrics matrix row k of a question        0.80  ``Q3_4`` under "Career confidence"
  naming the instrument
a block of exactly as many columns as the   0.60  five columns answered with WHO-5 labels
  instrument has items, answered with its
  labels only (matched by position)
==========================================  ====  =========================================

and is then weighed by how well the column's answers fit the item's response scale
(:func:`scale_fit`: the share of answers that are its labels — compared without case,
spacing or punctuation — its codes, its missing codes, or codes whose REDCap/SPSS labels
are its labels): ``confidence = base × (0.5 + 0.5 × fit)``. Pairs are then assigned
greedily, best first, each item and each column once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mentoreval.ingest.recode import normalise_label
from mentoreval.instruments import Instrument, ResponseScale, load_instruments

from .evidence import ExportFile, header_texts, norm_text

__all__ = [
    "ItemMatch",
    "ScaleFit",
    "available_instruments",
    "instrument_names",
    "match_items",
    "scale_fit",
]

_QUALTRICS_ROW = re.compile(r"^Q\d+_(\d+)$")
_ITEM_NUMBER = re.compile(r"\bitem (\d+)\b")
_STEM = re.compile(r"^(.*?)[ _.-]?(\d+)$")
_MIN_CONFIDENCE = 0.45
_MAX_DISTINCT = 30


def _number(text: str) -> float | None:
    try:
        x = float(text)
    except ValueError:
        return None
    return None if np.isnan(x) else x


@dataclass(frozen=True)
class ItemMatch:
    """One proposed item → column pairing in one export."""

    file: str
    instrument: str
    item: str
    column: str
    confidence: float
    evidence: str
    fit: float | None = None
    values: Mapping[str, float] = field(default_factory=dict)
    off_scale: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScaleFit:
    """How a column's answers fit a response scale.

    Attributes
    ----------
    fit
        Share of the answers that are labels, codes or missing codes of the scale (``None``
        when the column has no answers).
    kind
        ``"labels"``, ``"codes"`` or ``"labels and codes"``: what the answers mostly are.
    values
        Export labels that equal a scale label only once punctuation is ignored (a value
        map the study config needs: export label → code).
    off_scale
        Up to five answers that fit nothing, most frequent first.
    """

    fit: float | None
    kind: str
    values: dict[str, float]
    off_scale: tuple[str, ...]


def available_instruments(dirs: Iterable[str | Path] | None = None) -> dict[str, Instrument]:
    """The shipped instruments plus those in ``dirs`` / ``$MENTOREVAL_INSTRUMENTS``.

    Examples
    --------
    >>> "who5" in available_instruments()
    True
    """
    return load_instruments(dirs=dirs)


def instrument_names(inst: Instrument) -> list[str]:
    """The normalised names an export may call an instrument by (id, short title, title).

    Examples
    --------
    >>> from mentoreval.instruments import load_instrument
    >>> instrument_names(load_instrument("who5"))
    ['who5', 'who 5', 'who 5 well being index']
    """
    names = [inst.id.replace("_", " "), norm_text(inst.short_title), norm_text(inst.title)]
    return [n for n in dict.fromkeys(names) if n]


def _names_in(texts: Sequence[str], names: Sequence[str]) -> bool:
    padded = [f" {norm_text(t)} " for t in texts]
    return any(f" {n} " in t for n in names for t in padded)


def scale_fit(
    counts: pd.Series,
    rs: ResponseScale,
    choices: Sequence[tuple[str, str]] | None = None,
) -> ScaleFit:
    """How the distinct answers of a column (with their counts) fit a response scale.

    Parameters
    ----------
    counts
        Answer → number of respondents (``value_counts`` of the stripped, non-empty cells).
    rs
        The response scale.
    choices
        The export's own ``(code, label)`` list for the column (REDCap/SPSS), if any.

    Returns
    -------
    ScaleFit

    Examples
    --------
    >>> from mentoreval.instruments import load_instrument
    >>> rs = load_instrument("cbi").response_scales["default"]
    >>> f = scale_fit(pd.Series({"Always": 8, "never / almost never": 2, "Often.": 1}), rs)
    >>> round(f.fit, 2), f.kind, f.values
    (1.0, 'labels', {'never / almost never': 0.0, 'Often.': 75.0})
    >>> scale_fit(pd.Series({"100": 3, "55": 1}), rs).off_scale
    ('55',)
    """
    if counts.sum() == 0:
        return ScaleFit(None, "labels", {}, ())
    total = float(counts.sum())
    counts = counts.iloc[:_MAX_DISTINCT]  # a response scale has a handful of answers
    exact = {normalise_label(lab): float(c) for c, lab in zip(rs.codes, rs.labels, strict=True)}
    loose = {norm_text(lab): float(c) for c, lab in zip(rs.codes, rs.labels, strict=True)}
    missing_labels = {normalise_label(m.label) for m in rs.missing if m.label}
    codes = {float(c) for c in rs.codes} | {float(m.code) for m in rs.missing}
    chosen = {str(code).strip(): label for code, label in (choices or [])}
    label_hits = code_hits = 0
    values: dict[str, float] = {}
    off: list[str] = []
    for answer, count in counts.items():
        text = str(answer)
        label = chosen.get(text, text)
        number = _number(text)
        if normalise_label(label) in exact or normalise_label(label) in missing_labels:
            label_hits += count
        elif norm_text(label) in loose and label == text:
            label_hits += count
            values[text] = loose[norm_text(label)]
        elif number is not None and number in codes:
            code_hits += count
        else:
            off.append(text)
    kind = "labels" if label_hits >= 0.9 * total else "codes" if code_hits >= 0.9 * total else ""
    return ScaleFit(
        fit=(label_hits + code_hits) / total,
        kind=kind or "labels and codes",
        values=values,
        off_scale=tuple(off[:5]),
    )


@dataclass
class _Column:
    name: str
    texts: list[str]
    counts: pd.Series
    choices: list[tuple[str, str]] | None
    block: str


def _columns(export: ExportFile) -> list[_Column]:
    table = export.table
    meta = table.columns_meta.set_index("column")
    out = []
    for name in table.data.columns:
        cells = table.data[name].astype("string").str.strip()
        counts = cells[cells.notna() & (cells != "")].value_counts()
        choices = meta.at[name, "choices"] if "choices" in meta.columns else None
        texts = header_texts(table, name)
        question = meta.at[name, "question"] if "question" in meta.columns else None
        m = _QUALTRICS_ROW.match(name) or _STEM.match(name)
        block = (
            str(question)
            if isinstance(question, str) and question != name
            else (texts[1] if len(texts) > 2 else m.group(1) if m else name)
        )
        out.append(
            _Column(
                name=name,
                texts=texts,
                counts=counts,
                choices=list(choices) if isinstance(choices, list | tuple) else None,
                block=block,
            )
        )
    return out


def _header_evidence(
    col: _Column, inst: Instrument, names: list[str]
) -> dict[str, tuple[float, str]]:
    """Item id → (base confidence, evidence) from this column's name and header texts."""
    found: dict[str, tuple[float, str]] = {}

    def offer(item: str, base: float, why: str) -> None:
        if base > found.get(item, (0.0, ""))[0]:
            found[item] = (base, why)

    normed = [norm_text(t) for t in col.texts]
    ids = {norm_text(i): i for i in inst.item_ids}
    if norm_text(col.name) in ids:
        offer(ids[norm_text(col.name)], 0.95, f"column named {col.name!r} like the item id")
    short = _short(col.texts[0])
    for item in inst.items:
        if not item.text:
            continue
        text = norm_text(item.text)
        if text in normed:
            offer(item.id, 0.95, f'header "{short}" is the item text')
        elif len(text.split()) >= 4 and any(f" {text} " in f" {t} " for t in normed):
            offer(item.id, 0.85, f'header "{short}" contains the item text')
    named = _names_in(col.texts, names)
    if named:
        number = next((m for t in normed if (m := _ITEM_NUMBER.search(t))), None)
        if number and 1 <= int(number.group(1)) <= len(inst.items):
            k = int(number.group(1))
            offer(inst.item_ids[k - 1], 0.9, f'header "{short}" names {_title(inst)} item {k}')
        row = _QUALTRICS_ROW.match(col.name)
        if row and 1 <= int(row.group(1)) <= len(inst.items):
            k = int(row.group(1))
            offer(
                inst.item_ids[k - 1],
                0.8,
                f"Qualtrics matrix row {k} of a question naming {_title(inst)}",
            )
    return found


def _short(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _title(inst: Instrument) -> str:
    return inst.short_title or inst.id


def _position_evidence(
    cols: list[_Column], inst: Instrument, fits: dict[str, ScaleFit], rivals: set[str]
) -> dict[tuple[str, str], tuple[float, str]]:
    """Blocks of exactly len(items) columns answered only with this instrument's labels."""
    out: dict[tuple[str, str], tuple[float, str]] = {}
    blocks: dict[str, list[_Column]] = {}
    for col in cols:
        blocks.setdefault(col.block, []).append(col)
    for block in blocks.values():
        if len(block) != len(inst.items):
            continue
        ok = all(
            (f := fits.get(c.name)) is not None
            and f.fit is not None
            and f.fit >= 0.99
            and f.kind == "labels"
            and c.name not in rivals
            for c in block
        )
        if ok:
            for item, col in zip(inst.item_ids, block, strict=True):
                out[(item, col.name)] = (
                    0.6,
                    f"block of {len(block)} columns answered with {_title(inst)} labels; "
                    "matched by position",
                )
    return out


def _label_only_columns(
    cols: list[_Column], instruments: Mapping[str, Instrument]
) -> dict[str, set[str]]:
    """Column → instruments whose labels its answers fit entirely (to spot ambiguity)."""
    out: dict[str, set[str]] = {}
    for col in cols:
        for inst_id, inst in instruments.items():
            f = scale_fit(col.counts, inst.response_scales["default"], col.choices)
            if f.fit is not None and f.fit >= 0.99 and f.kind == "labels":
                out.setdefault(col.name, set()).add(inst_id)
    return out


def match_items(export: ExportFile, instruments: Mapping[str, Instrument]) -> list[ItemMatch]:
    """Propose the item → column pairs of every instrument found in one export.

    Parameters
    ----------
    export
        The export (see :func:`mentoreval.draft.evidence.collect_exports`).
    instruments
        Candidate instruments by id.

    Returns
    -------
    list of ItemMatch
        At most one column per item and one item per column, confidence ≥ 0.45.

    Examples
    --------
    >>> import tempfile
    >>> from mentoreval.draft.evidence import collect_exports
    >>> p = Path(tempfile.mkdtemp()) / "pre.csv"
    >>> _ = p.write_text("sid,who5_1,I have felt calm and relaxed\\n1,3,Some of the time\\n")
    >>> found = match_items(collect_exports([p]).files[0], available_instruments())
    >>> [(m.item, m.column) for m in found]
    [('who5_1', 'who5_1'), ('who5_2', 'I have felt calm and relaxed')]
    >>> found[1].evidence
    '100% of answers are WHO-5 labels; header "I have felt calm and relaxed" is the item text'
    """
    cols = _columns(export)
    label_only = _label_only_columns(cols, instruments)
    candidates: list[ItemMatch] = []
    for inst_id, inst in instruments.items():
        names = instrument_names(inst)
        fits = {
            c.name: scale_fit(c.counts, inst.response_scales["default"], c.choices) for c in cols
        }
        rivals = {c for c, ids in label_only.items() if ids - {inst_id}}
        evidence: dict[tuple[str, str], tuple[float, str]] = {}
        for col in cols:
            for item, found in _header_evidence(col, inst, names).items():
                evidence[(item, col.name)] = found
        for key, found in _position_evidence(cols, inst, fits, rivals).items():
            evidence.setdefault(key, found)
        for (item, column), (base, why) in evidence.items():
            col = next(c for c in cols if c.name == column)
            rs = inst.item_response_scale(item)
            f = scale_fit(col.counts, rs, col.choices)
            weight = 0.8 if f.fit is None else 0.5 + 0.5 * f.fit
            candidates.append(
                ItemMatch(
                    file=export.name,
                    instrument=inst_id,
                    item=item,
                    column=column,
                    confidence=round(base * weight, 3),
                    evidence=_describe(f, inst, why),
                    fit=f.fit,
                    values=f.values,
                    off_scale=f.off_scale,
                )
            )
    return _assign(candidates, list(export.table.data.columns))


def _describe(f: ScaleFit, inst: Instrument, why: str) -> str:
    if f.fit is None:
        return f"no answers to check; {why}"
    return f"{f.fit:.0%} of answers are {_title(inst)} {f.kind}; {why}"


def _assign(candidates: list[ItemMatch], columns: list[str]) -> list[ItemMatch]:
    taken_items: set[tuple[str, str]] = set()
    taken_cols: set[str] = set()
    out = []
    ranked = sorted(candidates, key=lambda m: (-m.confidence, m.instrument, m.item))
    for m in ranked:
        if m.confidence < _MIN_CONFIDENCE:
            break
        if (m.instrument, m.item) in taken_items or m.column in taken_cols:
            continue
        taken_items.add((m.instrument, m.item))
        taken_cols.add(m.column)
        out.append(m)
    order = {c: i for i, c in enumerate(columns)}
    return sorted(out, key=lambda m: order[m.column])


def item_codes(
    cells: pd.Series,
    rs: ResponseScale,
    *,
    values: Mapping[str, float] | None = None,
    choices: Sequence[tuple[str, str]] | None = None,
) -> np.ndarray:
    """The answers of one column as codes of a response scale (NaN when not on it),
    vectorised over respondents (only the distinct answers are looked up).

    Examples
    --------
    >>> from mentoreval.instruments import load_instrument
    >>> rs = load_instrument("who5").response_scales["default"]
    >>> item_codes(pd.Series(["At no time", "3", None, "x"], dtype="string"), rs).tolist()
    [0.0, 3.0, nan, nan]
    """
    lookup = {normalise_label(lab): float(c) for c, lab in zip(rs.codes, rs.labels, strict=True)}
    chosen = {str(code).strip(): label for code, label in (choices or [])}
    codes = {float(c) for c in rs.codes}
    text = cells.astype("string").str.strip()
    uniques, inverse = np.unique(text.fillna("\0").to_numpy(dtype=object), return_inverse=True)
    mapped = np.full(len(uniques), np.nan)
    for i, u in enumerate(uniques):
        u = str(u)
        if u == "\0":
            continue
        label = chosen.get(u, u)
        if values and u in values:
            mapped[i] = values[u]
        elif normalise_label(label) in lookup:
            mapped[i] = lookup[normalise_label(label)]
        else:
            number = _number(u)
            if number is not None and number in codes:
                mapped[i] = number
    return mapped[inverse.reshape(-1)]
