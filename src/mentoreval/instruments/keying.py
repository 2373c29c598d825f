"""Scoring core: answer validation, reverse keying and the chunked item sums behind
:mod:`mentoreval.instruments.scoring` (vectorised over respondents, a cache-sized chunk of
respondents at a time).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any, NamedTuple

import numpy as np

from mentoreval.instruments.definitions import Instrument, Item, Scale

__all__ = [
    "all_valid",
    "apply_transform",
    "code_dtype",
    "integral_codes",
    "invalid_mask",
    "item_sums",
    "key_items",
    "row_sums",
    "small_int",
]


def invalid_mask(values: np.ndarray, inst: Instrument, items: Sequence[str]) -> np.ndarray:
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


def all_valid(values: np.ndarray, inst: Instrument, items: Sequence[str]) -> bool:
    """Fast check with whole-block reductions only; False means: compute :func:`invalid_mask`."""
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


def key_items(values: np.ndarray, inst: Instrument, items: Sequence[str]) -> np.ndarray:
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


def apply_transform(scale: Scale, raw: np.ndarray) -> np.ndarray:
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


def integral_codes(inst: Instrument) -> bool:
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


def code_dtype(inst: Instrument) -> type[np.signedinteger[Any]]:
    """A code type large enough for the band labels and missing reasons of ``inst``."""
    bands = sum(len(s.bands.cuts) for s in inst.scales if s.bands is not None)
    return small_int(max(bands, sum(s.min_answered for s in inst.scales)) + 1)


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
    unevenly spaced codes: then :func:`invalid_mask` decides)."""
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


def item_sums(
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


def row_sums(
    values: np.ndarray, inst: Instrument, items: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`item_sums` respondent by respondent; for codes that are not whole numbers
    (then the summation order matters)."""
    col = {item: j for j, item in enumerate(items)}
    keyed = key_items(np.asarray(values, dtype=float), inst, items)
    answered_all = ~np.isnan(keyed)
    filled = np.where(answered_all, keyed, 0.0)
    counts = np.empty((len(inst.scales), keyed.shape[0]), dtype="int64")
    totals = np.empty((len(inst.scales), keyed.shape[0]))
    for i, scale in enumerate(inst.scales):
        idx = [col[item] for item in scale.items]
        counts[i] = answered_all[:, idx].sum(axis=1)
        totals[i] = filled[:, idx].sum(axis=1)
    return counts, totals
