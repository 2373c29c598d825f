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
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from mentoreval.errors import DataError, Problem, raise_problems
from mentoreval.instruments.bands import ScoreLabels, band_codes
from mentoreval.instruments.definitions import Instrument, load_instrument
from mentoreval.instruments.idcodes import (
    SCORE_COLUMNS,
    IdCodes,
    concat_scores,
    finish_scores,
    id_codes,
)
from mentoreval.instruments.keying import (
    all_valid,
    apply_transform,
    integral_codes,
    invalid_mask,
    item_sums,
    row_sums,
)
from mentoreval.instruments.keying import (
    small_int as small_int,  # re-exported: ingest.pipeline imports it from here
)

__all__ = ["SCORE_COLUMNS", "score_matrix", "score_responses", "score_wide"]

_MAX_LISTED = 20


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
    if integral_codes(inst):
        sums = item_sums(src, inst, items, check=check, in_place=in_place)
        if sums is None:
            return False
        n_ans, totals = sums
    else:
        n_ans, totals = row_sums(src.T, inst, items)
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
        score = raw[k] if scale.transform is None else apply_transform(scale, raw[k])
        out["score"][k] = score
        out["band"][k] = (
            -1 if scale.bands is None else band_codes(scale, score, labels.band_lut(scale))
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
        ids: IdCodes | None = None,
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
    ids = {name: id_codes(wide[name]) for name in ("participant_id", "wave")}
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
        if integral_codes(inst) and score_into(
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
    if not all_valid(values, inst, inst.item_ids):
        bad = bad | invalid_mask(values, inst, inst.item_ids)
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


def score_responses(  # long by its numpydoc docstring; the body is ~70 lines
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
            if all_valid(values, inst, inst.item_ids)
            else invalid_mask(values, inst, inst.item_ids)
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
            "participant_id": id_codes(pd.Series(uniques.get_level_values(0))),
            "wave": id_codes(pd.Series(uniques.get_level_values(1))),
        }
        outputs.append(
            finish_scores(ids, score_arrays(values, inst, inst.item_ids, with_row=False), inst)
        )
    raise_problems(problems, error=DataError, what="in the responses table")
    if not outputs:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in SCORE_COLUMNS})
    return concat_scores(outputs)


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
