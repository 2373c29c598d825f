"""Scoring: item answers → validated scale scores (the ``score`` stage of the data flow).

Input is either the ``responses`` table (long: participant_id · wave · instrument · item ·
value · …) or a wide table with one column per item. Output is the ``scores`` table (long):

=================  ==========================================================================
column             meaning
=================  ==========================================================================
participant_id     the (pseudonymised) participant
wave               survey wave, e.g. ``pre`` / ``post``
instrument         instrument id (``who5``)
scale              scale id (``total``)
score              reported score after transform (NaN when not scorable)
raw_score          mean or (prorated) sum of the keyed items, before any transform
n_answered         items answered
n_items            items in the scale
prorated           True when the score was computed from fewer than all items
band               band label from the instrument's cut-offs (NA when no bands or no score)
missing_reason     why ``score`` is NaN (NA when there is a score)
=================  ==========================================================================

Rules, all from the instrument definition:

- missing codes become missing (their reason stays in ``responses``);
- reverse-keyed items are reflected within their response scale: ``low + high - x``;
- a scale is scored when at least ``min_answered`` items are answered; a sum is prorated as
  ``mean(answered) × n_items`` (flagged ``prorated``); otherwise the score is missing with a
  reason;
- a lookup table needs a whole raw score, so a prorated raw sum is rounded half up first;
- bands follow the ordered cut-offs: the first band whose upper limit holds.

Everything is vectorised over respondents: the answers are checked, keyed and summed a
cache-sized chunk of respondents at a time, and each output column is written once, in place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any, NamedTuple, cast

import numpy as np
import pandas as pd

from mentoreval.errors import DataError, Problem, raise_problems
from mentoreval.instruments.definitions import Instrument, Item, Scale, load_instrument

__all__ = ["SCORE_COLUMNS", "score_matrix", "score_responses", "score_wide"]

SCORE_COLUMNS = [
    "participant_id",
    "wave",
    "instrument",
    "scale",
    "score",
    "raw_score",
    "n_answered",
    "n_items",
    "prorated",
    "band",
    "missing_reason",
]
_MAX_LISTED = 20


def _invalid_mask(values: np.ndarray, inst: Instrument, items: Sequence[str]) -> np.ndarray:
    """True where a non-missing value is neither an answer code nor a missing code."""
    bad = np.zeros(values.shape, dtype=bool)
    for name, rs in inst.response_scales.items():
        cols = [j for j, i in enumerate(items) if inst.item(i).response_scale == name]
        if not cols:
            continue
        block = values[:, cols]
        codes = np.sort(np.array(rs.codes, dtype=float))
        steps = np.diff(codes)
        with np.errstate(invalid="ignore"):
            if np.allclose(steps, steps[0]):
                # Evenly spaced codes (nearly always): one arithmetic test, no search.
                k = (block - codes[0]) / steps[0]
                ok = (k == np.round(k)) & (k >= 0) & (k <= len(codes) - 1)
            else:
                pos = np.clip(np.searchsorted(codes, block), 0, len(codes) - 1)
                ok = codes[pos] == block
        for m in rs.missing:
            ok |= block == m.code
        bad[:, cols] = ~ok & ~np.isnan(block)
    return bad


def _all_valid(values: np.ndarray, inst: Instrument, items: Sequence[str]) -> bool:
    """Fast check with whole-block reductions only; False means: compute :func:`_invalid_mask`."""
    for name, rs in inst.response_scales.items():
        cols = [j for j, i in enumerate(items) if inst.item(i).response_scale == name]
        if not cols:
            continue
        codes = np.sort(np.array(rs.codes, dtype=float))
        steps = np.diff(codes)
        if rs.missing or not np.allclose(steps, steps[0]):
            return False
        lo, hi = min(cols), max(cols) + 1
        block = values[:, lo:hi] if hi - lo == len(cols) else values[:, cols]
        if block.size == 0:
            continue
        low = np.fmin.reduce(block, axis=None)
        if np.isnan(low):  # nothing answered
            continue
        if low < codes[0] or np.fmax.reduce(block, axis=None) > codes[-1]:
            return False
        with np.errstate(invalid="ignore"):
            scaled = (block - codes[0]) / steps[0]
            # A whole number equals its rounding; NaN never does (so count those back).
            off = np.count_nonzero(scaled != np.rint(scaled))
            if off and off != np.count_nonzero(np.isnan(scaled)):
                return False
    return True


def _keyed(values: np.ndarray, inst: Instrument, items: Sequence[str]) -> np.ndarray:
    """Missing codes → NaN, then reverse-keyed items reflected (returns a new array)."""
    out = values.astype(float, copy=True)
    for j, item_id in enumerate(items):
        item = inst.item(item_id)
        rs = inst.response_scales[item.response_scale]
        if rs.missing:
            out[np.isin(out[:, j], [m.code for m in rs.missing]), j] = np.nan
        if item.reverse:
            out[:, j] = rs.low + rs.high - out[:, j]
    return out


def _apply_transform(scale: Scale, raw: np.ndarray) -> np.ndarray:
    tr = scale.transform
    if tr is None:
        return raw
    if tr.linear is not None:
        return raw * tr.linear.multiply + tr.linear.add
    assert tr.lookup is not None  # guaranteed by instrument validation
    keys = np.array(sorted(tr.lookup), dtype=float)
    table = np.array([tr.lookup[int(k)] for k in keys], dtype=float)
    whole = np.floor(raw + 0.5)  # round half up, not to even
    pos = np.clip(np.searchsorted(keys, whole), 0, len(keys) - 1)
    return np.where(~np.isnan(raw) & (keys[pos] == whole), table[pos], np.nan)


def score_matrix(values: np.ndarray, inst: Instrument, items: Sequence[str]) -> pd.DataFrame:
    """Score a respondents × items array for every scale of ``inst``.

    Parameters
    ----------
    values
        Float array, one row per respondent, one column per entry of ``items``; codes as
        stored (before reverse keying), NaN or a missing code where unanswered.
    inst
        The instrument definition.
    items
        The item id of each column; every item of every scale must be present.

    Returns
    -------
    pandas.DataFrame
        One row per respondent × scale (respondent-major order), with the columns ``row``
        (row index into ``values``), ``scale``, ``score``, ``raw_score``, ``n_answered``,
        ``n_items``, ``prorated``, ``band`` and ``missing_reason`` (the last three
        categorical, NA where not applicable).

    Examples
    --------
    >>> who5 = load_instrument("who5")
    >>> x = np.array([[5, 5, 5, 5, 5], [3, 2, 4, 1, 0], [3, 2, np.nan, 1, 0]])
    >>> score_matrix(x, who5, who5.item_ids)[["score", "band", "missing_reason"]]
       score                band                   missing_reason
    0  100.0  adequate wellbeing                              NaN
    1   40.0      poor wellbeing                              NaN
    2    NaN                 NaN  4 of 5 items answered; 5 needed
    """
    return pd.DataFrame(score_arrays(values, inst, items))


def _integral_codes(inst: Instrument) -> bool:
    """True when every code (answer or missing) is a whole number, so sums are exact."""
    for rs in inst.response_scales.values():
        for c in [*rs.codes, rs.low, rs.high, *(m.code for m in rs.missing)]:
            if not float(c).is_integer() or abs(float(c)) > 2**20:
                return False
    return True


def small_int(size: int) -> type[np.signedinteger[Any]]:
    """The smallest signed integer type holding codes ``-1 .. size`` (as pandas would pick)."""
    for t in (np.int8, np.int16, np.int32):
        if size < np.iinfo(t).max:
            return t
    return np.int64


def _code_dtype(inst: Instrument) -> type[np.signedinteger[Any]]:
    """A code type large enough for the band labels and missing reasons of ``inst``."""
    bands = sum(len(s.bands.cuts) for s in inst.scales if s.bands is not None)
    return small_int(max(bands, sum(s.min_answered for s in inst.scales)) + 1)


def _repeats_early(values: pd.Series, head: int = 64) -> bool:
    """True when one of the first ``head`` values repeats (so not every value is distinct)."""
    first = values.iloc[:head].tolist()
    try:
        return len(set(first)) < len(first)
    except TypeError:  # unhashable values: let the full check decide
        return False


def _id_codes(values: pd.Series) -> tuple[np.ndarray, pd.CategoricalDtype]:
    """Codes and categorical dtype of an id column (categories in order of appearance)."""
    n = len(values)
    if n > 1000 and values.dtype != object and not _repeats_early(values):
        # Usually all distinct (participant ids): the values are the categories, and the
        # uniqueness check inside is the only hashing pass; NA or repeats fall through
        # (repeats among the first values, as in wave, skip the attempt).
        try:
            dtype = pd.CategoricalDtype(pd.Index(values.array))
        except ValueError:
            pass
        else:
            return np.arange(n, dtype=small_int(n)), dtype
    codes, uniques = pd.factorize(values)
    return codes.astype(small_int(len(uniques)), copy=False), pd.CategoricalDtype(uniques)


_IdCodes = dict[str, tuple[np.ndarray, pd.CategoricalDtype]]


def _finish(ids: _IdCodes, scored: dict[str, Any], inst: Instrument) -> pd.DataFrame:
    """Attach participant_id, wave and instrument (categorical) to the scored arrays."""
    scored.pop("row", None)
    per_row = len(inst.scales)
    out: dict[str, Any] = {}
    total = 0
    for name in ("participant_id", "wave"):
        codes, dtype = ids[name]
        out[name] = pd.Categorical.from_codes(
            np.repeat(codes, per_row), dtype=dtype, validate=False
        )
        total = len(codes) * per_row
    out["instrument"] = pd.Categorical.from_codes(
        np.zeros(total, dtype=np.int8), pd.Index([inst.id]), validate=False
    )
    out.update(scored)
    return pd.DataFrame(out, columns=SCORE_COLUMNS, copy=False)


def _union_by_codes(parts: Sequence[pd.Series]) -> pd.Categorical:
    """Concatenate categoricals with small category lists by remapping their codes."""
    categories = list(dict.fromkeys(c for p in parts for c in p.cat.categories))
    position = {c: i for i, c in enumerate(categories)}
    dtype = small_int(len(categories) + 1)
    codes = []
    for p in parts:
        # index 0 of the map is for code -1 (missing), which stays -1
        mapping = np.array([-1, *(position[c] for c in p.cat.categories)], dtype=dtype)
        codes.append(mapping[p.cat.codes.to_numpy() + 1])
    return pd.Categorical.from_codes(
        np.concatenate(codes),
        pd.Index(categories, dtype=parts[0].cat.categories.dtype),
        validate=False,
    )


def _concat_scores(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate scores tables column by column, keeping label columns categorical."""
    if len(frames) == 1:
        return frames[0]
    out: dict[str, Any] = {}
    for name in SCORE_COLUMNS:
        parts = [f[name] for f in frames]
        first = parts[0].dtype
        if isinstance(first, pd.CategoricalDtype) and all(p.dtype is first for p in parts):
            # one shared dtype (the ids prepared once): join the codes, no re-hashing
            codes = np.concatenate([p.cat.codes.to_numpy() for p in parts])
            out[name] = pd.Categorical.from_codes(codes, dtype=first, validate=False)
        elif isinstance(first, pd.CategoricalDtype):
            out[name] = _union_by_codes(parts)
        else:
            out[name] = np.concatenate([p.to_numpy() for p in parts])
    return pd.DataFrame(out, columns=SCORE_COLUMNS, copy=False)


# Answers per pass of the item-major path (about 1 MB of float64): one instrument's answers
# for a chunk of respondents stay in cache while they are checked, keyed and summed.
_CHUNK_VALUES = 1 << 17
_MIN_CHUNK = 1024


class _Layout(NamedTuple):
    """Rows of the per-chunk answer buffer: each scale's items are consecutive when possible.

    ``order`` holds the source column of each buffer row (scale items first, in scale order,
    then any other columns, which are only checked); the other fields refer to buffer rows.
    """

    order: list[int]
    scale_rows: list[slice | list[int]]
    missing: list[tuple[int, list[float]]]  # rows with missing codes, and the codes
    reverse: list[tuple[int, float]]  # reverse-keyed rows, and low + high of their scale
    response_scales: list[str]  # the response scale of each row


def _rows(idx: list[int]) -> slice | list[int]:
    """A slice when the rows are consecutive and increasing (a view, no copy), else the list."""
    if idx and idx == list(range(idx[0], idx[0] + len(idx))):
        return slice(idx[0], idx[0] + len(idx))
    return idx


def _layout(inst: Instrument, items: Sequence[str]) -> _Layout:
    col = {item: j for j, item in enumerate(items)}
    by_id: dict[str, Item] = {}
    for it in inst.items:
        by_id.setdefault(it.id, it)
    order: list[int] = []
    pos: dict[int, int] = {}
    for scale in inst.scales:
        for item_id in scale.items:
            j = col[item_id]
            if j not in pos:
                pos[j] = len(order)
                order.append(j)
    for j in range(len(items)):
        if j not in pos:
            pos[j] = len(order)
            order.append(j)
    scale_rows = [_rows([pos[col[i]] for i in scale.items]) for scale in inst.scales]
    missing: list[tuple[int, list[float]]] = []
    reverse: list[tuple[int, float]] = []
    response_scales: list[str] = []
    for r, j in enumerate(order):
        if items[j] not in by_id:
            raise KeyError(items[j])
        item = by_id[items[j]]
        rs = inst.response_scales[item.response_scale]
        if rs.missing:
            missing.append((r, [m.code for m in rs.missing]))
        if item.reverse:
            reverse.append((r, rs.low + rs.high))
        response_scales.append(item.response_scale)
    return _Layout(order, scale_rows, missing, reverse, response_scales)


_Check = tuple[slice | list[int], float, float, float]  # rows, first code, step, last code


def _checks(inst: Instrument, layout: _Layout) -> list[_Check] | None:
    """Row groups for the quick validity test; None when it cannot decide (missing codes or
    unevenly spaced codes: then :func:`_invalid_mask` decides)."""
    groups: dict[tuple[float, float, float], list[int]] = {}
    for name, rs in inst.response_scales.items():
        rows = [r for r, s in enumerate(layout.response_scales) if s == name]
        if not rows:
            continue
        codes = np.sort(np.array(rs.codes, dtype=float))
        steps = np.diff(codes)
        if rs.missing or not np.allclose(steps, steps[0]):
            return None
        groups.setdefault((float(codes[0]), float(steps[0]), float(codes[-1])), []).extend(rows)
    return [
        (_rows(sorted(rows)), first, step, last) for (first, step, last), rows in groups.items()
    ]


def _chunks(n: int, k: int) -> list[tuple[int, int]]:
    """Respondent ranges of about equal size (none tiny, so every pass sums the same way)."""
    size = max(_MIN_CHUNK, _CHUNK_VALUES // max(k, 1))
    count = max(1, n // size)
    edges = [n * i // count for i in range(count + 1)]
    return [(a, b) for a, b in pairwise(edges) if b > a]


def _count_dtype(inst: Instrument) -> type[np.unsignedinteger[Any]]:
    """Answered counts fit one byte unless a scale has 255 items or more."""
    return np.uint8 if max(len(s.items) for s in inst.scales) < 255 else np.uint64


def _item_sums(
    src: np.ndarray,
    inst: Instrument,
    items: Sequence[str],
    *,
    check: bool,
    in_place: bool = False,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Each scale's answered count and sum of keyed answers, from items × respondents.

    Returns two scales × respondents arrays (counts as :func:`_count_dtype`). With
    ``check``, returns None as soon as a value is neither a code nor empty (the caller then
    finds and reports it). Each chunk of respondents is checked, keyed and summed while in
    cache: in ``src`` itself when ``in_place`` (it is then modified) and the items are in
    scale order, else in a small buffer (rows in scale order). The additions per respondent
    are those of summing the scale's items in order, so the sums are the same as from one
    whole-array pass.
    """
    layout = _layout(inst, items)
    checks = _checks(inst, layout) if check else []
    if checks is None:
        return None
    k, n = len(layout.order), src.shape[1]
    counts = np.empty((len(inst.scales), n), dtype=_count_dtype(inst))
    totals = np.empty((len(inst.scales), n))
    spans = _chunks(n, k)
    width = max((b - a for a, b in spans), default=0)
    identity = layout.order == list(range(k))
    in_place = in_place and identity and src.dtype == np.float64
    buf = np.empty((0, 0) if in_place else (k, width))
    miss = np.empty((k, width), dtype=bool)
    if checks:
        scaled, whole, off = np.empty((k, width)), np.empty((k, width)), np.empty_like(miss)
    sizes = [len(s.items) for s in inst.scales]
    for a, b in spans:
        c = b - a
        m = miss[:, :c]
        if in_place:
            x = src[:, a:b]
        elif identity:
            x = buf[:, :c]
            np.copyto(x, src[:, a:b])
        else:
            x = buf[:, :c]
            for r, j in enumerate(layout.order):
                np.copyto(x[r], src[j, a:b])
        for r, codes in layout.missing:
            row = x[r]
            row[np.isin(row, codes)] = np.nan
        np.isnan(x, out=m)
        for rows, first, step, last in checks:
            block = x[rows]
            low = np.fmin.reduce(block, axis=None)
            if np.isnan(low):  # nothing answered
                continue
            if low < first or np.fmax.reduce(block, axis=None) > last:
                return None
            h = block.shape[0]
            s = block
            # (x - first) / step; subtracting a whole first >= 0 from x in [first, last]
            # is exact and keeps whether x is whole, so with step 1 it can be left out.
            if first != 0 and (step != 1 or first < 0):
                s = np.subtract(block, first, out=scaled[:h, :c])
            if step != 1:
                s = np.divide(s, step, out=scaled[:h, :c])
            # A whole number equals its rounding; NaN never does (so count those back).
            np.not_equal(np.rint(s, out=whole[:h, :c]), s, out=off[:h, :c])
            if np.count_nonzero(off[:h, :c]) != np.count_nonzero(m[rows]):
                return None
        for r, low_high in layout.reverse:
            np.subtract(low_high, x[r], out=x[r])
        np.copyto(x, 0.0, where=m)
        for i, (rows, size) in enumerate(zip(layout.scale_rows, sizes, strict=True)):
            np.add.reduce(x[rows], axis=0, out=totals[i, a:b])
            unanswered = np.add.reduce(m[rows].view(np.uint8), axis=0, dtype=counts.dtype)
            np.subtract(size, unanswered, out=counts[i, a:b])
    return counts, totals


def _row_sums(
    values: np.ndarray, inst: Instrument, items: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_item_sums` respondent by respondent; for codes that are not whole numbers
    (then the summation order matters)."""
    col = {item: j for j, item in enumerate(items)}
    keyed = _keyed(np.asarray(values, dtype=float), inst, items)
    answered_all = ~np.isnan(keyed)
    filled = np.where(answered_all, keyed, 0.0)
    counts = np.empty((len(inst.scales), keyed.shape[0]), dtype="int64")
    totals = np.empty((len(inst.scales), keyed.shape[0]))
    for i, scale in enumerate(inst.scales):
        idx = [col[item] for item in scale.items]
        counts[i] = answered_all[:, idx].sum(axis=1)
        totals[i] = filled[:, idx].sum(axis=1)
    return counts, totals


def _band_codes(scale: Scale, score: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """Band codes (``lut`` entries; its last one, -1, for no band) of one scale's scores."""
    assert scale.bands is not None
    cuts = scale.bands.cuts
    # ``x < u`` is ``x <= (the float below u)``: with every cut inclusive and the limits
    # increasing, the cuts that hold are the last ones, so their count gives the first.
    uppers = [b.upper if b.include_upper else np.nextafter(b.upper, -np.inf) for b in cuts]
    if np.isfinite(uppers).all() and (np.diff(uppers) >= 0).all() and len(cuts) < 127:
        held = np.less_equal(score, uppers[0]).view(np.int8)
        for upper in uppers[1:]:
            held += np.less_equal(score, upper).view(np.int8)
        return lut[::-1].take(held)  # none held (or NaN): the last entry, -1
    codes = np.full(score.shape, -1, dtype=lut.dtype)
    assigned = np.isnan(score)
    for i, band in enumerate(cuts):
        upper = score <= band.upper if band.include_upper else score < band.upper
        take = upper & ~assigned
        np.copyto(codes, lut[i], where=take)
        assigned |= take
    return codes


def _reason(scale: Scale, m: int) -> str:
    return f"{m} of {len(scale.items)} items answered; {scale.min_answered} needed"


def _band_labels(inst: Instrument) -> list[str]:
    cuts = [b for s in inst.scales if s.bands is not None for b in s.bands.cuts]
    return list(dict.fromkeys(b.label for b in cuts))


def _reasons(inst: Instrument) -> list[str]:
    """One reason per possible answered count below the minimum: a small category list."""
    return list(dict.fromkeys(_reason(s, m) for s in inst.scales for m in range(s.min_answered)))


class ScoreLabels:
    """Categories and code types of the label columns of one scores table.

    One instrument: the categories and code types its own scoring gives. Several: the union
    of those categories in order of appearance, with one code type for each column (as
    concatenating the instruments' tables would give).
    """

    def __init__(self, insts: Sequence[Instrument]) -> None:
        first = insts[0]
        self.single = len(insts) == 1
        lists = {
            "instrument": [i.id for i in insts],
            "scale": [s.id for i in insts for s in i.scales],
            "band": [b for i in insts for b in _band_labels(i)],
            "missing_reason": [r for i in insts for r in _reasons(i)],
        }
        if self.single:
            self.categories: dict[str, pd.Index] = {
                "instrument": pd.Index([first.id]),
                "scale": pd.Index(lists["scale"]),
                "band": pd.Index(lists["band"], dtype=str),
                "missing_reason": pd.Index(lists["missing_reason"], dtype=str),
            }
            self.dtypes: dict[str, type[np.signedinteger[Any]]] = {
                "instrument": np.int8,
                "scale": small_int(len(first.scales)),
                "band": _code_dtype(first),
                "missing_reason": _code_dtype(first),
            }
        else:
            first_dtypes = {
                "instrument": pd.Index([first.id]).dtype,
                "scale": pd.Index([s.id for s in first.scales]).dtype,
                "band": pd.Index(_band_labels(first), dtype=str).dtype,
                "missing_reason": pd.Index(_reasons(first), dtype=str).dtype,
            }
            self.categories = {
                name: pd.Index(list(dict.fromkeys(labels)), dtype=first_dtypes[name])
                for name, labels in lists.items()
            }
            self.dtypes = {name: small_int(len(c) + 1) for name, c in self.categories.items()}
        self.position = {
            name: {label: i for i, label in enumerate(c)} for name, c in self.categories.items()
        }

    def instrument_code(self, inst: Instrument) -> int:
        return self.position["instrument"][inst.id]

    def scale_codes(self, inst: Instrument) -> np.ndarray:
        if self.single:
            codes = list(range(len(inst.scales)))  # one instrument: scale k has code k
        else:
            codes = [self.position["scale"][s.id] for s in inst.scales]
        return np.array(codes, dtype=self.dtypes["scale"])

    def band_lut(self, scale: Scale) -> np.ndarray:
        assert scale.bands is not None
        pos = self.position["band"]
        return np.array([pos[b.label] for b in scale.bands.cuts] + [-1], self.dtypes["band"])

    def reason_luts(self, inst: Instrument) -> list[np.ndarray]:
        """Per scale: the reason code by answered count up to the minimum (then -1)."""
        pos = self.position["missing_reason"]
        return [
            np.array(
                [pos[_reason(s, m)] for m in range(s.min_answered)] + [-1],
                dtype=self.dtypes["missing_reason"],
            )
            for s in inst.scales
        ]

    def categorical(self, name: str, codes: np.ndarray) -> pd.Categorical:
        # Codes are valid by construction (-1 or an index into the categories).
        return pd.Categorical.from_codes(codes, self.categories[name], validate=False)


SCORED = ("score", "raw_score", "n_answered", "prorated", "band", "missing_reason")


def score_into(
    src: np.ndarray,
    inst: Instrument,
    items: Sequence[str],
    out: Mapping[str, np.ndarray],
    labels: ScoreLabels,
    *,
    check: bool,
    in_place: bool = False,
) -> bool:
    """Score items × respondents ``src`` into the scales × respondents arrays ``out``.

    ``out`` maps the names in ``SCORED`` to arrays of shape (scales, respondents), usually
    transposed views of the output columns, so results land in place, respondent-major;
    each is written once. Band and reason codes are those of ``labels``. With ``check``,
    returns False (``out`` untouched) when a value is neither a code nor empty.
    ``in_place`` allows modifying ``src``.
    """
    if _integral_codes(inst):
        sums = _item_sums(src, inst, items, check=check, in_place=in_place)
        if sums is None:
            return False
        n_ans, totals = sums
    else:
        n_ans, totals = _row_sums(src.T, inst, items)
    scales = inst.scales
    needed = np.array([s.min_answered for s in scales], dtype=n_ans.dtype)[:, None]
    sizes = np.array([len(s.items) for s in scales], dtype=n_ans.dtype)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        raw = np.divide(totals, n_ans)  # the mean
    for k, scale in enumerate(scales):
        if scale.method == "sum":
            # Complete answers keep the exact sum; only prorated sums are mean × n_items.
            size = len(scale.items)
            np.multiply(raw[k], size, out=raw[k])
            np.copyto(raw[k], totals[k], where=n_ans[k] == size)
    short = n_ans < needed
    np.copyto(raw, np.nan, where=short)
    out["raw_score"][...] = raw
    out["n_answered"][...] = n_ans
    prorated = n_ans < sizes
    prorated &= ~short
    out["prorated"][...] = prorated
    reasons = labels.reason_luts(inst)
    for k, scale in enumerate(scales):
        score = raw[k] if scale.transform is None else _apply_transform(scale, raw[k])
        out["score"][k] = score
        out["band"][k] = (
            -1 if scale.bands is None else _band_codes(scale, score, labels.band_lut(scale))
        )
        if short[k].any():
            out["missing_reason"][k] = reasons[k].take(np.minimum(n_ans[k], needed[k]))
        else:
            out["missing_reason"][k] = -1
    return True


class ScoreColumns:
    """The preallocated columns of a scores table; instruments write into their row blocks."""

    def __init__(
        self,
        n: int,
        insts: Sequence[Instrument],
        labels: ScoreLabels,
        ids: _IdCodes | None = None,
    ) -> None:
        total = n * sum(len(i.scales) for i in insts)
        self.n, self.labels, self.ids = n, labels, ids or {}
        self.id_arrays = {
            name: np.empty(total, dtype=codes.dtype) for name, (codes, _) in self.ids.items()
        }
        self.arrays: dict[str, np.ndarray] = {
            "instrument": np.empty(total, dtype=labels.dtypes["instrument"]),
            "scale": np.empty(total, dtype=labels.dtypes["scale"]),
            "score": np.empty(total),
            "raw_score": np.empty(total),
            "n_answered": np.empty(total, dtype="int64"),
            "n_items": np.empty(total, dtype="int64"),
            "prorated": np.empty(total, dtype=bool),
            "band": np.empty(total, dtype=labels.dtypes["band"]),
            "missing_reason": np.empty(total, dtype=labels.dtypes["missing_reason"]),
        }
        self.start = 0

    def block(self, inst: Instrument) -> dict[str, np.ndarray]:
        """The next instrument's rows as (respondents × scales) views; the fixed columns
        (ids, instrument, scale, n_items) are filled."""
        width = len(inst.scales)
        rows = slice(self.start, self.start + self.n * width)
        self.start = rows.stop
        for name, (codes, _) in self.ids.items():
            self.id_arrays[name][rows].reshape(self.n, width)[...] = codes[:, None]
        views = {name: a[rows].reshape(self.n, width) for name, a in self.arrays.items()}
        self.arrays["instrument"][rows] = self.labels.instrument_code(inst)
        views["scale"][...] = self.labels.scale_codes(inst)
        views["n_items"][...] = [len(s.items) for s in inst.scales]
        return views

    def columns(self) -> dict[str, Any]:
        a = self.arrays
        ids = {
            name: pd.Categorical.from_codes(self.id_arrays[name], dtype=dtype, validate=False)
            for name, (_, dtype) in self.ids.items()
        }
        return ids | {
            "instrument": self.labels.categorical("instrument", a["instrument"]),
            "scale": self.labels.categorical("scale", a["scale"]),
            "score": a["score"],
            "raw_score": a["raw_score"],
            "n_answered": a["n_answered"],
            "n_items": a["n_items"],
            "prorated": a["prorated"],
            "band": self.labels.categorical("band", a["band"]),
            "missing_reason": self.labels.categorical("missing_reason", a["missing_reason"]),
        }


def score_arrays(
    values: np.ndarray | None,
    inst: Instrument,
    items: Sequence[str],
    *,
    item_major: np.ndarray | None = None,
    with_row: bool = True,
) -> dict[str, Any]:
    """The columns of :func:`score_matrix`, as arrays (respondent-major).

    ``with_row=False`` leaves out the ``row`` array (each respondent's rows are the
    ``len(inst.scales)`` consecutive ones, so callers that know this need not build it).

    ``item_major`` may give the answers as an items × respondents array that this function
    may modify (it then needs no copy); otherwise ``values`` (respondents × items) is read
    chunk by chunk and not modified.
    """
    in_place = item_major is not None
    if item_major is None:
        assert values is not None
        item_major = np.asarray(values, dtype=float).T
    n = item_major.shape[1]
    labels = ScoreLabels([inst])
    cols = ScoreColumns(n, [inst], labels)
    views = cols.block(inst)
    scored_into = {k: views[k].T for k in SCORED}
    score_into(item_major, inst, items, scored_into, labels, check=False, in_place=in_place)
    out: dict[str, Any] = {"row": np.repeat(np.arange(n), len(inst.scales))} if with_row else {}
    scored = cols.columns()
    del scored["instrument"]
    return out | scored


def score_wide(
    wide: pd.DataFrame,
    instrument: Instrument | str | Sequence[Instrument | str],
    *,
    source: str = "<table>",
    first_row: int = 2,
) -> pd.DataFrame:
    """Score a wide table: ``participant_id``, ``wave``, then one column per item id.

    Parameters
    ----------
    wide
        The table; item columns hold codes on the instrument's response scale (numbers or
        numeric text; empty cells are unanswered).
    instrument
        An :class:`~mentoreval.instruments.Instrument` or its id, or several: one export
        usually holds every instrument, and its ids are then prepared only once.
    source
        File name used in error messages.
    first_row
        The file row number of the table's first data row (2 for a CSV with one header row).

    Returns
    -------
    pandas.DataFrame
        The ``scores`` table (see the module docstring).

    Raises
    ------
    DataError
        Naming row and column for every value that is not a code of the response scale
        (up to 20 listed) and for missing id/item columns.

    Examples
    --------
    >>> wide = pd.DataFrame({"participant_id": ["a", "b"], "wave": ["pre", "pre"],
    ...     **{f"pss_{i}": [2, 2] for i in range(1, 11)}})
    >>> wide.loc[1, "pss_4"] = 0   # a reverse-keyed item: 0 counts as 4
    >>> score_wide(wide, "pss10")[["participant_id", "score", "band"]]
      participant_id  score             band
    0              a   20.0  moderate stress
    1              b   22.0  moderate stress
    """
    refs: Sequence[Instrument | str] = (
        [instrument] if isinstance(instrument, str | Instrument) else instrument
    )
    insts = [load_instrument(i) if isinstance(i, str) else i for i in refs]
    absent = [c for c in ("participant_id", "wave") if c not in wide.columns]
    if absent:
        raise DataError(
            f"{source}: missing column(s) {absent} (fix: the table needs participant_id, wave "
            "and one column per item)"
        )
    ids = {name: _id_codes(wide[name]) for name in ("participant_id", "wave")}
    labels = ScoreLabels(insts)
    # One preallocated table; each instrument writes its rows in place.
    cols = ScoreColumns(len(wide), insts, labels, ids)
    for inst in insts:
        block = cols.block(inst)
        out = {name: block[name].T for name in SCORED}
        _score_wide_one(wide, inst, out, labels, source=source, first_row=first_row)
    return pd.DataFrame(cols.columns(), columns=SCORE_COLUMNS, copy=False)


def _score_wide_one(
    wide: pd.DataFrame,
    inst: Instrument,
    out: Mapping[str, np.ndarray],
    labels: ScoreLabels,
    *,
    source: str,
    first_row: int,
) -> None:
    needed = ["participant_id", "wave", *inst.item_ids]
    absent = [c for c in needed if c not in wide.columns]
    if absent:
        raise DataError(
            f"{source}: missing column(s) {absent} (fix: the table needs participant_id, wave "
            f"and one column per item of {inst.id}: {inst.item_ids})"
        )
    items = wide[inst.item_ids]
    if all(pd.api.types.is_numeric_dtype(t) for t in items.dtypes):
        values = items.to_numpy(dtype=float, na_value=np.nan)
        # Checked while scored (chunk by chunk); only a failed check looks closer.
        if _integral_codes(inst) and score_into(
            values.T, inst, inst.item_ids, out, labels, check=True
        ):
            return
        text = items
        not_number = np.zeros(values.shape, dtype=bool)
    else:
        text = items.astype("string").apply(lambda s: s.str.strip())
        values = text.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        not_number = (text.notna() & (text != "")).to_numpy() & np.isnan(values)
    bad = not_number
    if not _all_valid(values, inst, inst.item_ids):
        bad = bad | _invalid_mask(values, inst, inst.item_ids)
    if bad.any():
        rows, cols = np.nonzero(bad)
        problems = []
        for r, c in zip(rows[:_MAX_LISTED], cols[:_MAX_LISTED], strict=True):
            item = inst.item_ids[c]
            rs = inst.item_response_scale(item)
            problems.append(
                Problem(
                    f"value {text.iat[r, c]!r} is not a code of the response scale",
                    file=source,
                    row=int(r) + first_row,
                    column=item,
                    fix=f"use one of {[f'{x:g}' for x in rs.codes]} or leave it empty",
                )
            )
        more = f" (first {_MAX_LISTED} listed)" if len(rows) > _MAX_LISTED else ""
        raise DataError(f"{len(rows)} invalid value(s) in {source}{more}", tuple(problems))
    score_into(values.T, inst, inst.item_ids, out, labels, check=False)


def score_responses(
    responses: pd.DataFrame,
    instruments: Mapping[str, Instrument] | None = None,
) -> pd.DataFrame:
    """Score the long ``responses`` table for every instrument it contains.

    Parameters
    ----------
    responses
        The ``responses`` contract table (participant_id, wave, instrument, item, value, …).
        Each participant × wave × instrument gets one row per scale, even when some or all
        answers are missing.
    instruments
        Definitions by id; missing ones are loaded with
        :func:`~mentoreval.instruments.load_instrument`.

    Returns
    -------
    pandas.DataFrame
        The ``scores`` table, ordered by instrument, then participant and wave as they first
        appear.

    Raises
    ------
    DataError
        For unknown items, repeated participant × wave × item rows, or values that are not
        codes of the response scale (with source and source_row when present).

    Examples
    --------
    >>> r = pd.DataFrame({"participant_id": "p1", "wave": "pre", "instrument": "who5",
    ...                   "item": [f"who5_{i}" for i in range(1, 6)], "value": [3, 3, 4, 2, 3]})
    >>> score_responses(r)[["instrument", "scale", "score", "raw_score", "band"]]
      instrument  scale  score  raw_score                band
    0       who5  total   60.0       15.0  adequate wellbeing
    """
    needed = {"participant_id", "wave", "instrument", "item", "value"}
    absent = sorted(needed - set(responses.columns))
    if absent:
        raise DataError(f"responses table lacks column(s) {absent} (fix: see docs/architecture.md)")
    known = dict(instruments or {})
    outputs = []
    problems: list[Problem] = []
    for inst_id, part in responses.groupby("instrument", sort=True, observed=True):
        inst = known.get(str(inst_id)) or load_instrument(str(inst_id))
        item_pos = {item: j for j, item in enumerate(inst.item_ids)}
        item_codes = part["item"].map(item_pos)
        unknown = part.loc[item_codes.isna(), "item"].unique()
        if len(unknown):
            problems.append(
                Problem(
                    f"{inst.id}: unknown item(s) {sorted(map(str, unknown))[:10]}",
                    fix=f"use the item ids of {inst.id}: {inst.item_ids}",
                )
            )
            continue
        keys = part[["participant_id", "wave"]].astype("string")
        row_codes, uniques = pd.MultiIndex.from_frame(keys).factorize()
        uniques = cast(pd.MultiIndex, uniques)
        cols = item_codes.to_numpy(dtype="int64")
        flat = row_codes.astype("int64") * len(inst.item_ids) + cols
        if len(np.unique(flat)) != len(flat):
            dup = pd.Series(flat).duplicated(keep=False).to_numpy()
            first = part.loc[dup].head(3)
            problems.append(
                Problem(
                    f"{inst.id}: {int(dup.sum())} rows repeat a participant × wave × item, e.g. "
                    f"items {first['item'].tolist()}",
                    fix="resolve duplicate submissions (linkage does this) before scoring",
                )
            )
            continue
        values = np.full((len(uniques), len(inst.item_ids)), np.nan)
        values[row_codes, cols] = pd.to_numeric(part["value"], errors="coerce").to_numpy(
            dtype=float, na_value=np.nan
        )
        bad = (
            np.zeros(values.shape, dtype=bool)
            if _all_valid(values, inst, inst.item_ids)
            else _invalid_mask(values, inst, inst.item_ids)
        )
        if bad.any():
            r, c = np.nonzero(bad)
            problems.append(
                Problem(
                    f"{inst.id}: {len(r)} value(s) are not codes of the response scale, e.g. "
                    f"{values[r[0], c[0]]:g} for item {inst.item_ids[c[0]]}",
                    fix="recode answers to the instrument's codes before scoring",
                )
            )
            continue
        ids = {
            "participant_id": _id_codes(pd.Series(uniques.get_level_values(0))),
            "wave": _id_codes(pd.Series(uniques.get_level_values(1))),
        }
        outputs.append(
            _finish(ids, score_arrays(values, inst, inst.item_ids, with_row=False), inst)
        )
    raise_problems(problems, error=DataError, what="in the responses table")
    if not outputs:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in SCORE_COLUMNS})
    return _concat_scores(outputs)


def read_wide_csv(path: str | Path) -> pd.DataFrame:
    """Read a wide item CSV as text (ids keep leading zeros; nothing is guessed)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found (fix: check the path)")
    try:
        return pd.read_csv(
            path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig"
        )
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{path}: cannot read as CSV: {exc} (fix: save it as UTF-8 CSV)") from None
