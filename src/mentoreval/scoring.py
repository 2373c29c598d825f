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

Everything is vectorised over respondents: one array pass per scale.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from mentoreval.errors import DataError, Problem, raise_problems
from mentoreval.instruments import Instrument, Scale, load_instrument

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


def _all_valid_item_major(kt: np.ndarray, inst: Instrument, items: Sequence[str]) -> bool:
    """:func:`_all_valid` on an items × respondents array (the same test, fewer passes).

    Item by item (contiguous rows, scratch buffers reused). A value is whole exactly when
    ``rint(v) - v`` is 0, so two NaN-skipping reductions of that difference replace the
    comparison and the NaN count.
    """
    n = kt.shape[1] if kt.ndim == 2 else 0
    if n == 0:
        return True
    scaled_buf = np.empty(n)
    diff = np.empty(n)
    for name, rs in inst.response_scales.items():
        cols = [j for j, i in enumerate(items) if inst.item(i).response_scale == name]
        if not cols:
            continue
        codes = np.sort(np.array(rs.codes, dtype=float))
        steps = np.diff(codes)
        if rs.missing or not np.allclose(steps, steps[0]):
            return False
        first, step = codes[0], steps[0]
        for j in cols:
            row = kt[j]
            low = np.fmin.reduce(row)
            if np.isnan(low):  # nothing answered
                continue
            if low < first or np.fmax.reduce(row) > codes[-1]:
                return False
            with np.errstate(invalid="ignore"):
                if first == 0 and step == 1:
                    scaled = row
                else:
                    scaled = np.subtract(row, first, out=scaled_buf)
                    np.divide(scaled, step, out=scaled)
                np.rint(scaled, out=diff)
                np.subtract(diff, scaled, out=diff)
            if np.fmax.reduce(diff) != 0 or np.fmin.reduce(diff) != 0:
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
    return pd.DataFrame(_score_arrays(values, inst, items))


def _integral_codes(inst: Instrument) -> bool:
    """True when every code (answer or missing) is a whole number, so sums are exact."""
    for rs in inst.response_scales.values():
        for c in [*rs.codes, rs.low, rs.high, *(m.code for m in rs.missing)]:
            if not float(c).is_integer() or abs(float(c)) > 2**20:
                return False
    return True


def _small_int(size: int) -> type[np.signedinteger[Any]]:
    """The smallest signed integer type holding codes ``-1 .. size`` (as pandas would pick)."""
    for t in (np.int8, np.int16, np.int32):
        if size < np.iinfo(t).max:
            return t
    return np.int64


def _code_dtype(inst: Instrument) -> type[np.signedinteger[Any]]:
    """A code type large enough for the band labels and missing reasons of ``inst``."""
    bands = sum(len(s.bands.cuts) for s in inst.scales if s.bands is not None)
    return _small_int(max(bands, sum(s.min_answered for s in inst.scales)) + 1)


def _scale_rows(scale_items: Sequence[str], col: Mapping[str, int]) -> slice | list[int]:
    """The item rows of a scale: a slice when they are contiguous (no copy), else a list."""
    idx = [col[i] for i in scale_items]
    if idx and idx == list(range(idx[0], idx[0] + len(idx))):
        return slice(idx[0], idx[0] + len(idx))
    return idx


def _score_arrays(
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
    may modify (no copy is then made); otherwise ``values`` (respondents × items) is copied.
    With whole-number codes every sum is exact, so summing item by item (contiguous rows)
    gives the same numbers as summing each respondent's answers.
    """
    if not _integral_codes(inst):
        if values is None:
            assert item_major is not None
            values = item_major.T
        return _score_arrays_rows(values, inst, items, with_row=with_row)
    if item_major is None:
        assert values is not None
        kt = np.array(np.asarray(values, dtype=float).T, dtype=float, order="C")
    else:
        kt = item_major
    col = {item: j for j, item in enumerate(items)}
    for j, item_id in enumerate(items):
        item = inst.item(item_id)
        rs = inst.response_scales[item.response_scale]
        row = kt[j]
        if rs.missing:
            row[np.isin(row, [m.code for m in rs.missing])] = np.nan
        if item.reverse:
            np.subtract(rs.low + rs.high, row, out=row)
    missing = np.isnan(kt)
    np.copyto(kt, 0.0, where=missing)  # kt now holds the filled (keyed) answers
    answered_all = np.logical_not(missing, out=missing)
    sums = []
    for scale in inst.scales:
        rows = _scale_rows(scale.items, col)
        sums.append((answered_all[rows].sum(axis=0, dtype="int64"), kt[rows].sum(axis=0)))
    return _scale_results(inst, sums, kt.shape[1], with_row=with_row)


def _scale_results(
    inst: Instrument,
    sums: Sequence[tuple[np.ndarray, np.ndarray]],
    n: int,
    *,
    with_row: bool,
) -> dict[str, Any]:
    """From each scale's (answered count, sum of keyed answers) to the scored columns."""
    n_scales = len(inst.scales)
    shape = (n, n_scales)
    score = np.empty(shape)
    raw_score = np.empty(shape)
    n_answered = np.empty(shape, dtype="int64")
    n_items = np.tile(np.array([len(sc.items) for sc in inst.scales], dtype="int64"), (n, 1))
    prorated = np.empty(shape, dtype=bool)
    band_code = np.full(shape, -1, dtype=_code_dtype(inst))
    reason_code = np.full(shape, -1, dtype=_code_dtype(inst))
    band_labels: list[str] = []
    reasons: list[str] = []
    for k, (scale, (n_ans, total)) in enumerate(zip(inst.scales, sums, strict=True)):
        size = len(scale.items)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = total / n_ans
        ok = n_ans >= scale.min_answered
        if scale.method == "sum":
            # Complete answers keep the exact sum; only prorated sums are mean × n_items.
            raw = np.where(n_ans == size, total, mean * size)
        else:
            raw = mean
        raw = np.where(ok, raw, np.nan)
        sc = _apply_transform(scale, raw)
        raw_score[:, k] = raw
        score[:, k] = sc
        n_answered[:, k] = n_ans
        prorated[:, k] = ok & (n_ans < size)
        if scale.bands is not None:
            assigned = np.isnan(sc)
            codes_k = np.full(n, -1, dtype=band_code.dtype)
            for band in scale.bands.cuts:
                upper = sc <= band.upper if band.include_upper else sc < band.upper
                take = upper & ~assigned
                if band.label not in band_labels:
                    band_labels.append(band.label)
                np.copyto(codes_k, band_labels.index(band.label), where=take)
                assigned |= take
            band_code[:, k] = codes_k
        # One reason per possible answered count below the minimum: a small category list.
        offset = len(reasons)
        reasons += [
            f"{m} of {size} items answered; {scale.min_answered} needed"
            for m in range(scale.min_answered)
        ]
        if not ok.all():
            reason_code[~ok, k] = offset + n_ans[~ok]
    return _pack(
        n,
        inst,
        score,
        raw_score,
        n_answered,
        n_items,
        prorated,
        band_code,
        band_labels,
        reason_code,
        reasons,
        with_row=with_row,
    )


def _pack(
    n: int,
    inst: Instrument,
    score: np.ndarray,
    raw_score: np.ndarray,
    n_answered: np.ndarray,
    n_items: np.ndarray,
    prorated: np.ndarray,
    band_code: np.ndarray,
    band_labels: list[str],
    reason_code: np.ndarray,
    reasons: list[str],
    *,
    with_row: bool = True,
) -> dict[str, Any]:
    n_scales = len(inst.scales)
    scale_ids = [s.id for s in inst.scales]
    unique_reasons = list(dict.fromkeys(reasons))
    if unique_reasons != reasons:
        # Map each reason code to its first occurrence; -1 (no reason) stays -1.
        lut = np.array([unique_reasons.index(r) for r in reasons] + [-1])
        reason_code = lut.astype(reason_code.dtype)[reason_code]
    # Codes are valid by construction (-1 or an index into their labels): no validation.
    out: dict[str, Any] = {"row": np.repeat(np.arange(n), n_scales)} if with_row else {}
    out |= {
        "scale": pd.Categorical.from_codes(
            np.tile(np.arange(n_scales, dtype=_small_int(n_scales)), n),
            pd.Index(scale_ids),
            validate=False,
        ),
        "score": score.ravel(),
        "raw_score": raw_score.ravel(),
        "n_answered": n_answered.ravel(),
        "n_items": n_items.ravel(),
        "prorated": prorated.ravel(),
        "band": pd.Categorical.from_codes(
            band_code.ravel(), pd.Index(band_labels, dtype=str), validate=False
        ),
        "missing_reason": pd.Categorical.from_codes(
            reason_code.ravel(), pd.Index(unique_reasons, dtype=str), validate=False
        ),
    }
    return out


def _score_arrays_rows(
    values: np.ndarray, inst: Instrument, items: Sequence[str], *, with_row: bool = True
) -> dict[str, Any]:
    """Row-major scoring; used when codes are not whole numbers (summation order matters)."""
    col = {item: j for j, item in enumerate(items)}
    keyed = _keyed(np.asarray(values, dtype=float), inst, items)
    answered_all = ~np.isnan(keyed)
    filled = np.where(answered_all, keyed, 0.0)
    sums = []
    for scale in inst.scales:
        idx = [col[i] for i in scale.items]
        sums.append((answered_all[:, idx].sum(axis=1), filled[:, idx].sum(axis=1)))
    return _scale_results(inst, sums, keyed.shape[0], with_row=with_row)


def _id_codes(values: pd.Series) -> tuple[np.ndarray, pd.CategoricalDtype]:
    """Codes and categorical dtype of an id column (categories in order of appearance)."""
    n = len(values)
    if n > 1000 and values.dtype != object:
        # Usually all distinct (participant ids): the values are the categories, and the
        # uniqueness check inside is the only hashing pass; NA or repeats fall through.
        try:
            dtype = pd.CategoricalDtype(pd.Index(values.array))
        except ValueError:
            pass
        else:
            return np.arange(n, dtype=_small_int(n)), dtype
    codes, uniques = pd.factorize(values)
    return codes.astype(_small_int(len(uniques)), copy=False), pd.CategoricalDtype(uniques)


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
    dtype = _small_int(len(categories) + 1)
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
    frames = [
        _score_wide_one(wide, inst, ids, source=source, first_row=first_row) for inst in insts
    ]
    return _concat_scores(frames)


def _score_wide_one(
    wide: pd.DataFrame, inst: Instrument, ids: _IdCodes, *, source: str, first_row: int
) -> pd.DataFrame:
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
        if _integral_codes(inst):
            # The item-major copy scoring makes anyway; checked there, then scored in place.
            kt = np.array(values.T, dtype=float, order="C")
            if _all_valid_item_major(kt, inst, inst.item_ids):
                scored = _score_arrays(None, inst, inst.item_ids, item_major=kt, with_row=False)
                return _finish(ids, scored, inst)
            del kt
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
    return _finish(ids, _score_arrays(values, inst, inst.item_ids, with_row=False), inst)


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
            _finish(ids, _score_arrays(values, inst, inst.item_ids, with_row=False), inst)
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
