"""Recoding: export answers (codes or labels, as text) → instrument codes (stage: recode).

Every distinct answer text in an item column is looked up once (the lookup is mapped back
to the rows, so cost grows with distinct answers, not with cells), in this order:

1. the study config's value map (``instruments.<id>.values``: export code/label → code);
2. the export's own choice list where it has one (REDCap dictionary choices, SPSS value
   labels), **only when its labels name every code of the response scale**: an export
   code then takes the code of its label, so an export that numbers ``Never … Always`` as
   1–5 is read right for a 0–4 scale (and a number the list does not name is not taken as
   an instrument code). Numeric codes are the data: a list that names only some of the
   scale's labels (``0 = "At no time"``, ``5 = "All of the time"``) re-maps nothing; its
   labels are only *checked* against the instrument, and one that puts a label at another
   code than the instrument does stops the run (:class:`~mentoreval.errors.DataError`
   naming the column, the label and both codes), because the codes it does not name
   cannot be placed — unless the study config's value map covers that code. Codes that
   are no numbers (REDCap ``a, Carnation | b, Tulip``) always take the code of their label:
   they cannot be mistaken for an instrument code;
3. a number that is a code of the item's response scale passes through;
4. a missing code of the instrument (or an SPSS user-missing value) → missing, with its
   reason;
5. a label of the response scale (case- and whitespace-insensitive) or a configured synonym
   → its code; a missing-code label → missing with its reason;
6. platform missing codes — REDCap's project missing-data codes (``UNK``, ``NASK``, …) and
   Qualtrics' seen-but-unanswered ``-99`` — → missing with a reason naming the code;
7. an empty cell → missing, reason ``not answered``.

Anything else is **quarantined**: the answer becomes missing with reason
``quarantined: unknown value`` and a quarantine entry names the row, column and value. It
is never silently turned into a missing value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from mentoreval.errors import DataError, MentorevalError, Problem
from mentoreval.instruments import Instrument, ResponseScale

__all__ = [
    "NOT_ANSWERED",
    "QUARANTINED",
    "REDCAP_MISSING_CODES",
    "ReasonTable",
    "Recoded",
    "normalise_label",
    "recode_items",
]

NOT_ANSWERED = "not answered"
QUARANTINED = "quarantined: unknown value"

REDCAP_MISSING_CODES: dict[str, str] = {
    "NI": "no information",
    "INV": "invalid",
    "UNK": "unknown",
    "NASK": "not asked",
    "ASKU": "asked but unknown",
    "NAV": "temporarily unavailable",
    "MSK": "masked",
    "NA": "not applicable",
    "NAVU": "not available",
    "NP": "not present",
    "QS": "sufficient quantity",
    "QI": "insufficient quantity",
    "TRC": "trace",
    "UNC": "unencoded",
    "DER": "derived",
    "PINF": "positive infinity",
    "NINF": "negative infinity",
    "OTH": "other",
    "-99": "missing",
}
"""REDCap project-level missing-data codes (they appear as literal text in any field)."""

_QUALTRICS_MISSING = {"-99": "seen but not answered"}
_SPACES = re.compile(r"\s+")


def normalise_label(text: str) -> str:
    """The form labels are compared in: trimmed, whitespace collapsed, case-folded.

    Examples
    --------
    >>> normalise_label("  Some  of the\\u00a0TIME ")
    'some of the time'
    """
    return _SPACES.sub(" ", str(text)).strip().casefold()


def _number_key(text: str) -> float | None:
    try:
        x = float(text.strip().replace(",", ".")) if text.strip() else None
    except ValueError:
        return None
    return None if x is None or math.isnan(x) else x


class ReasonTable:
    """A small vocabulary of missing reasons; code 0 means 'no reason' (answered).

    Examples
    --------
    >>> r = ReasonTable()
    >>> r.code("not answered"), r.code("x"), r.code("not answered"), r.labels
    (1, 2, 1, ['not answered', 'x'])
    """

    def __init__(self) -> None:
        self.labels: list[str] = []
        self._index: dict[str, int] = {}

    def code(self, reason: str) -> int:
        """The code of ``reason`` (added when new; at most 32,767 distinct reasons)."""
        if reason not in self._index:
            if len(self.labels) >= np.iinfo(np.int16).max:
                raise MentorevalError(
                    f"more than {np.iinfo(np.int16).max} distinct missing-value reasons; "
                    "the export declares an implausible number of missing codes"
                )
            self.labels.append(reason)
            self._index[reason] = len(self.labels)
        return self._index[reason]

    def to_categorical(self, codes: np.ndarray) -> pd.Categorical:
        """Reason codes → a categorical (NaN where the code is 0)."""
        return pd.Categorical.from_codes(  # type: ignore[return-value]
            np.asarray(codes, dtype=np.int32) - 1, categories=pd.Index(self.labels or ["_"])
        )


@dataclass
class Recoded:
    """Recoded answers for one instrument in one source.

    Attributes
    ----------
    values
        Float array, rows × items: codes as stored on the response scale; NaN when missing.
    reasons
        ``int16`` array of the same shape: :class:`ReasonTable` codes (0 where answered).
    quarantine
        One row per quarantined cell: ``position`` (row position in the input), ``column``,
        ``item``, ``value``, ``reason``.
    """

    values: np.ndarray
    reasons: np.ndarray
    quarantine: pd.DataFrame = field(default_factory=pd.DataFrame)


def _factorize_text(cells: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Codes (``-1`` for an empty cell) and the distinct texts of a text column.

    Like :func:`pandas.factorize`; a column whose cells are all one byte long (the usual
    single-digit answer codes) is factorised from the Arrow bytes directly, without hashing.

    Examples
    --------
    >>> codes, uniques = _factorize_text(pd.Series(["3", None, "1", "3"], dtype="string"))
    >>> codes.tolist(), uniques
    ([0, -1, 1, 0], ['3', '1'])
    >>> _factorize_text(pd.Series(["10", "x", None], dtype="string"))[0].tolist()
    [0, 1, -1]
    """
    arr = pa.array(cells.array) if isinstance(cells.dtype, pd.StringDtype) else None
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    if isinstance(arr, pa.Array) and pa.types.is_large_string(arr.type) and len(arr) > 0:
        _, offsets, data = arr.buffers()
        pos = np.frombuffer(offsets, dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
        length = np.diff(pos)
        if arr.null_count:  # a null slot may span bytes; it has no value
            length[~arr.is_valid().to_numpy(zero_copy_only=False)] = 0
        if length.max() <= 1:
            nbytes = 0 if data is None else data.size
            # Each cell's byte, or 256 ("no byte") for an empty or null cell (length 0).
            padded = np.full(nbytes + 1, 256, dtype=np.int16)
            if data is not None:
                padded[:-1] = np.frombuffer(data, dtype=np.uint8)
            b = padded[np.where(length == 1, pos[:-1], nbytes)]
            seen = np.bincount(b, minlength=257)
            # Distinct bytes in order of first appearance, as pandas.factorize gives them.
            present = np.flatnonzero(seen[:256])
            first_pos = np.array([np.argmax(b == v) for v in present], dtype=np.int64)
            order = present[np.argsort(first_pos, kind="stable")]
            lut = np.full(257, -1, dtype=np.int64)
            lut[order] = np.arange(order.size)
            return lut[b], [bytes([int(v)]).decode("latin-1") for v in order]
    codes, uniques = pd.factorize(cells, use_na_sentinel=True)
    return np.asarray(codes, dtype=np.int64), [str(u) for u in uniques]


def _scale_lookup(
    rs: ResponseScale, synonyms: Mapping[str, Sequence[str]]
) -> tuple[dict[str, float], dict[str, str], dict[float, float], dict[float, str]]:
    """Label → code, missing label → reason, code → code, missing code → reason."""
    labels = {normalise_label(lab): float(c) for c, lab in zip(rs.codes, rs.labels, strict=True)}
    missing_labels = {normalise_label(m.label): m.reason for m in rs.missing if m.label}
    for label, alternatives in synonyms.items():
        key = normalise_label(label)
        for alt in alternatives:
            if key in labels:
                labels.setdefault(normalise_label(alt), labels[key])
            elif key in missing_labels:
                missing_labels.setdefault(normalise_label(alt), missing_labels[key])
    codes = {float(c): float(c) for c in rs.codes}
    missing_codes = {float(m.code): m.reason for m in rs.missing}
    return labels, missing_labels, codes, missing_codes


def _label_conflict(
    column: str,
    item: str,
    instrument: Instrument,
    num: float,
    mapped: float,
    label: str,
    n_named: int,
    n_codes: int,
) -> Problem:
    """The problem of an export label placed at another code than the instrument's."""
    return Problem(
        f"{item}: the export labels code {num:g} {label!r}, which {instrument.id} codes "
        f"{mapped:g}; the labels name only {n_named} of the scale's {n_codes} codes, so the "
        "other codes cannot be placed and the answers would be read on the wrong scale",
        column=column,
        key=f"instruments.{instrument.id}.values",
        fix=f"map every export code to its {instrument.id} code under "
        f"instruments.{instrument.id}.values (e.g. {{{num:g}: {mapped:g}, ...}}), or label "
        "every code in the export",
    )


_Lookup = tuple[dict[str, float], dict[str, str], dict[float, float], dict[float, str]]


def _platform_missing(platform: str | None) -> dict[str, str]:
    """The platform's own missing codes: REDCap's project codes, Qualtrics' ``-99``."""
    return (
        REDCAP_MISSING_CODES
        if platform and platform.startswith("redcap")
        else _QUALTRICS_MISSING
        if platform and platform.startswith("qualtrics")
        else {}
    )


def _value_maps(
    values: Mapping[str | int | float, float] | None,
) -> tuple[dict[str, float], dict[float, float]]:
    """The study config's value map by label (normalised) and by number."""
    value_map: dict[str, float] = {}
    value_num: dict[float, float] = {}
    for k, v in (values or {}).items():
        if isinstance(k, int | float) and not isinstance(k, bool):
            value_num[float(k)] = float(v)
        else:
            num = _number_key(str(k))
            if num is not None:
                value_num[num] = float(v)
            value_map[normalise_label(str(k))] = float(v)
    return value_map, value_num


@dataclass(frozen=True)
class _Rules:
    """How the answers of one column are looked up (steps 1–6 of the module docstring)."""

    value_map: dict[str, float]
    value_num: dict[float, float]
    own: dict[float, float]  # the export's choice list, when it names every code
    own_missing: dict[str, str]
    own_text: dict[str, float]  # the choice list's non-numeric codes (a, b, ...), always
    own_text_missing: dict[str, str]
    remapped: bool
    lookup: _Lookup  # the response scale's labels and codes (see _scale_lookup)
    platform_missing: dict[str, str]

    def answer(self, text: str) -> tuple[float | None, str | None]:
        """The instrument code of a non-empty answer, or its missing reason; (None,
        None) when it is unknown (quarantined)."""
        labels, missing_labels, codes, missing_codes = self.lookup
        key = normalise_label(text)
        num = _number_key(text)
        target: float | None = None
        reason: str | None = None
        if key in self.value_map:
            target = self.value_map[key]
        elif num is not None and num in self.value_num:
            target = self.value_num[num]
        elif num is not None and num in self.own:
            target = self.own[num]
        elif num is not None and str(num) in self.own_missing:
            reason = self.own_missing[str(num)]
        elif num is None and key in self.own_text:
            target = self.own_text[key]
        elif num is None and key in self.own_text_missing:
            reason = self.own_text_missing[key]
        elif num is not None and num in codes and not self.remapped:
            target = codes[num]
        elif num is not None and num in missing_codes:
            reason = missing_codes[num]
        elif key in labels:
            target = labels[key]
        elif key in missing_labels:
            reason = missing_labels[key]
        elif text.strip() in self.platform_missing or key.upper() in self.platform_missing:
            code_text = text.strip() if text.strip() in self.platform_missing else key.upper()
            reason = f"{self.platform_missing[code_text]} ({code_text})"
        if target is not None and target in missing_codes:
            reason, target = missing_codes[target], None
        return target, reason


def _column_rules(
    col: str,
    item: str,
    instrument: Instrument,
    lookup: _Lookup,
    *,
    choices: Mapping[str, Sequence[tuple[str, str]]] | None,
    source_missing: Mapping[str, Sequence[tuple[str, str]]] | None,
    value_maps: tuple[dict[str, float], dict[float, float]],
    platform_missing: dict[str, str],
    conflicts: list[Problem],
) -> _Rules:
    """The rules for one column; an export label placed at another code than the
    instrument's is added to ``conflicts``."""
    labels, missing_labels, codes, _ = lookup
    value_map, value_num = value_maps
    # The export's own choice list: export code -> label -> instrument code, used only
    # when it names every code of the scale; otherwise its labels are only checked.
    own: dict[float, float] = {}
    own_missing: dict[str, str] = {}
    named: list[tuple[float, float, str]] = []
    # A code that is no number (REDCap "a, Carnation | b, Tulip") can never be mistaken
    # for an instrument code: it always takes the code of its label.
    own_text: dict[str, float] = {}
    own_text_missing: dict[str, str] = {}
    for code_text, label in (choices or {}).get(col, ()) or ():
        num = _number_key(str(code_text))
        mapped = labels.get(normalise_label(label))
        if num is None and mapped is not None:
            own_text[normalise_label(str(code_text))] = mapped
        elif num is None and normalise_label(label) in missing_labels:
            own_text_missing[normalise_label(str(code_text))] = missing_labels[
                normalise_label(label)
            ]
        elif num is not None and mapped is not None:
            named.append((num, mapped, str(label)))
        elif num is not None and normalise_label(label) in missing_labels:
            own_missing[str(num)] = missing_labels[normalise_label(label)]
    remapped = bool(named) and {m for _, m, _ in named} >= set(codes.values())
    if remapped:
        own = {num: mapped for num, mapped, _ in named}
    else:
        conflicts.extend(
            _label_conflict(col, item, instrument, num, mapped, label, len(named), len(codes))
            for num, mapped, label in named
            if num != mapped and num not in value_num
        )
    for code_text, label in (source_missing or {}).get(col, ()) or ():
        num = _number_key(str(code_text))
        if num is not None:
            own_missing[str(num)] = f"missing: {label}" if label else "missing (declared in export)"
    return _Rules(
        value_map,
        value_num,
        own,
        own_missing,
        own_text,
        own_text_missing,
        remapped,
        lookup,
        platform_missing,
    )


def _recode_column(
    cells: pd.Series, rules: _Rules, reasons: ReasonTable, out: np.ndarray, why: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """Recode one column into ``out`` and ``why`` (each distinct text looked up once); the
    positions and texts of the quarantined cells, or None when there are none."""
    not_answered = reasons.code(NOT_ANSWERED)
    quarantined = reasons.code(QUARANTINED)
    codes_idx, uniques = _factorize_text(cells)
    u_val = np.full(len(uniques) + 1, np.nan)
    u_why = np.zeros(len(uniques) + 1, dtype=np.int16)
    u_why[-1] = not_answered  # index -1: empty cell
    bad: list[int] = []
    for u, raw in enumerate(uniques):
        text = str(raw)
        if normalise_label(text) == "":
            u_why[u] = not_answered
            continue
        target, reason = rules.answer(text)
        if target is not None:
            u_val[u] = target
        elif reason is not None:
            u_why[u] = reasons.code(reason)
        else:
            u_why[u] = quarantined
            bad.append(u)
    out[:] = u_val[codes_idx]
    why[:] = u_why[codes_idx]
    if not bad:
        return None
    pos = np.flatnonzero(np.isin(codes_idx, bad))
    return pos, np.asarray(uniques, dtype=object)[codes_idx[pos]]


def _unknown_answers(
    positions: np.ndarray, values: np.ndarray, col: str, item: str, instrument: Instrument
) -> pd.DataFrame:
    """The quarantine rows of one column's unknown answers."""
    return pd.DataFrame(
        {
            "position": positions,
            "column": col,
            "item": item,
            "value": values,
            "reason": (
                f"{item}: answer is neither a code nor a label of the response "
                "scale; add it to instruments."
                f"{instrument.id}.values or .synonyms in the study config"
            ),
        }
    )


def recode_items(
    data: pd.DataFrame,
    columns: Sequence[str],
    instrument: Instrument,
    items: Sequence[str],
    *,
    reasons: ReasonTable,
    values: Mapping[str | int | float, float] | None = None,
    synonyms: Mapping[str, Sequence[str]] | None = None,
    choices: Mapping[str, Sequence[tuple[str, str]]] | None = None,
    source_missing: Mapping[str, Sequence[tuple[str, str]]] | None = None,
    platform: str | None = None,
    out: np.ndarray | None = None,
    why: np.ndarray | None = None,
) -> Recoded:
    """Recode the answer columns of one instrument (see the module docstring for the rules).

    Parameters
    ----------
    data
        Text cells (``pd.NA`` when empty), one row per record.
    columns
        The export column of each item, in the order of ``items``.
    instrument
        The instrument definition.
    items
        Item ids, one per column.
    reasons
        The shared missing-reason vocabulary.
    values
        The study config's value map (export code or label → instrument code).
    synonyms
        Extra labels per response-scale label.
    choices
        Per export column, the export's own ``(code, label)`` list (REDCap dictionary
        choices, SPSS value labels).
    source_missing
        Per export column, ``(code, label)`` pairs the export declares missing (SPSS
        user-missing values).
    platform
        The export format (``"redcap"`` enables REDCap missing-data codes, ``"qualtrics"``
        the seen-but-unanswered ``-99``).
    out, why
        Where to write the answers (float) and reason codes (``int16``): rows × items arrays
        (or views, e.g. columns of a wider table). Default: new arrays.

    Returns
    -------
    Recoded

    Raises
    ------
    DataError
        When the export's choice list names only some of the scale's labels and puts one
        of them at another code than the instrument (the codes would be read on the wrong
        scale), for every such column, naming the label, both codes and the fix.

    Examples
    --------
    >>> from mentoreval.instruments import load_instrument
    >>> who5 = load_instrument("who5")
    >>> df = pd.DataFrame({"q1": ["3", " all of the TIME", None, "Sometimes", "often"]},
    ...                   dtype="string")
    >>> r = ReasonTable()
    >>> out = recode_items(df, ["q1"], who5, ["who5_1"], reasons=r,
    ...                    synonyms={"Some of the time": ["Sometimes"]})
    >>> out.values[:, 0].tolist()
    [3.0, 5.0, nan, 1.0, nan]
    >>> [r.labels[c - 1] if c else None for c in out.reasons[:, 0]]
    [None, None, 'not answered', None, 'quarantined: unknown value']
    >>> out.quarantine[["position", "column", "value"]].values.tolist()
    [[4, 'q1', 'often']]
    """
    n = len(data)
    shape = (n, len(items))
    if out is None:  # item-major buffers (one contiguous row per item), viewed rows × items
        out = np.empty(shape[::-1]).T
    if why is None:
        why = np.empty(shape[::-1], dtype=np.int16).T
    if out.shape != shape or why.shape != shape or out.dtype != float or why.dtype != np.int16:
        raise ValueError(f"out and why must be {shape} arrays of float64 and int16")
    reasons.code(NOT_ANSWERED)  # the first two reason codes, whatever the answers
    reasons.code(QUARANTINED)
    platform_missing = _platform_missing(platform)
    value_maps = _value_maps(values)
    q_parts: list[pd.DataFrame] = []
    conflicts: list[Problem] = []
    lookups: dict[str, _Lookup] = {}
    for j, (col, item) in enumerate(zip(columns, items, strict=True)):
        rs_name = instrument.item(item).response_scale
        if rs_name not in lookups:
            lookups[rs_name] = _scale_lookup(instrument.response_scales[rs_name], synonyms or {})
        rules = _column_rules(
            col,
            item,
            instrument,
            lookups[rs_name],
            choices=choices,
            source_missing=source_missing,
            value_maps=value_maps,
            platform_missing=platform_missing,
            conflicts=conflicts,
        )
        bad = _recode_column(data[col], rules, reasons, out[:, j], why[:, j])
        if bad is not None:
            q_parts.append(_unknown_answers(*bad, col, item, instrument))
    if conflicts:
        noun = "column" if len({p.column for p in conflicts}) == 1 else "columns"
        raise DataError(
            f"{instrument.id}: the export's value labels contradict the instrument's codes "
            f"in {len({p.column for p in conflicts})} {noun}",
            tuple(conflicts),
        )
    quarantine = (
        pd.concat(q_parts, ignore_index=True)
        if q_parts
        else pd.DataFrame(
            {c: pd.Series(dtype=object) for c in ("position", "column", "item", "value", "reason")}
        )
    )
    return Recoded(values=out, reasons=why, quarantine=quarantine)
