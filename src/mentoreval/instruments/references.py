"""Cross-reference checks of an instrument definition, which pydantic cannot express
(stage: instruments).

:func:`check_references` returns **every** problem, each with its file and key: response
scales (one label per code, unique codes and labels, missing codes outside the answers),
items (unique ids, known response scales, item text only when the licence allows) and
scales (known items listed once, a reachable ``min_answered``, a transform with exactly one
of linear or lookup and a lookup covering every raw score, a range holding the transformed
raw range, bands increasing inside it up to its top).
:func:`~mentoreval.instruments.definitions.load_instrument` refuses a definition with any.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from mentoreval.errors import Problem

if TYPE_CHECKING:  # definitions calls these checks on every instrument it loads
    from mentoreval.instruments.definitions import Bands, Instrument, Scale

__all__ = ["check_references"]


def check_references(inst: Instrument, file: str) -> list[Problem]:
    """Cross-reference checks pydantic cannot express; every problem is returned."""
    problems: list[Problem] = []

    def add(message: str, key: str, fix: str) -> None:
        problems.append(Problem(message, file=file, key=key, fix=fix))

    _check_response_scales(inst, add)
    seen = _check_items(inst, add)
    if problems:
        return problems  # later checks need valid items and response scales
    scale_ids: dict[str, int] = {}
    for sidx, scale in enumerate(inst.scales):
        key = f"scales[{sidx}]"
        if scale.id in scale_ids:
            add(f"duplicate scale id {scale.id!r}", f"{key}.id", "give every scale a unique id")
        scale_ids.setdefault(scale.id, sidx)
        if _check_scale_items(inst, scale, key, seen, add):
            continue
        raw_low, raw_high = inst.raw_range(scale)
        _check_transform(scale, key, raw_low, raw_high, add)
        _check_score_range(scale, key, raw_low, raw_high, add)
        if scale.bands is not None:
            _check_bands(scale, scale.bands, key, add)
    return problems


#: Records one problem: (message, key, fix).
_Add = Callable[[str, str, str], None]


def _check_response_scales(inst: Instrument, add: _Add) -> None:
    """One label per code, codes and labels unique, missing codes outside the answers."""
    for name, rs in inst.response_scales.items():
        key = f"response_scales.{name}"
        if len(rs.codes) != len(rs.labels):
            add(
                f"{len(rs.codes)} codes but {len(rs.labels)} labels",
                key,
                "give exactly one label per code, in the same order",
            )
        if len(set(rs.codes)) != len(rs.codes):
            add("codes repeat", f"{key}.codes", "make every code unique")
        folded = [label.strip().casefold() for label in rs.labels]
        if len(set(folded)) != len(folded):
            add("labels repeat (ignoring case)", f"{key}.labels", "make every label unique")
        clash = {m.code for m in rs.missing} & set(rs.codes)
        if clash:
            add(
                f"missing code(s) {sorted(clash)} are also answer codes",
                f"{key}.missing",
                "use codes outside the answer range for missing values",
            )


def _check_items(inst: Instrument, add: _Add) -> dict[str, int]:
    """Unique item ids, known response scales, item text only when the licence allows;
    the position of every item id."""
    seen: dict[str, int] = {}
    for idx, item in enumerate(inst.items):
        if item.id in seen:
            add(
                f"duplicate item id {item.id!r} (also items[{seen[item.id]}])",
                f"items[{idx}].id",
                "give every item a unique id",
            )
        seen.setdefault(item.id, idx)
        if item.response_scale not in inst.response_scales:
            add(
                f"unknown response scale {item.response_scale!r}",
                f"items[{idx}].response_scale",
                f"use one of {sorted(inst.response_scales)}",
            )
        if item.text is not None and not inst.licence.ship_item_text:
            add(
                "item text given but the licence does not allow shipping it",
                f"items[{idx}].text",
                "set text: null, or set licence.ship_item_text: true if the licence allows",
            )
    return seen


def _check_scale_items(
    inst: Instrument, scale: Scale, key: str, seen: dict[str, int], add: _Add
) -> bool:
    """Known items listed once, a reachable ``min_answered``, a non-empty range; whether an
    item is unknown (the scale's scores cannot be checked then)."""
    unknown = [i for i in scale.items if i not in seen]
    for i in unknown:
        add(
            f"unknown item {i!r}",
            f"{key}.items",
            f"use ids defined under items: {inst.item_ids}",
        )
    repeated = sorted({i for i in scale.items if scale.items.count(i) > 1})
    if repeated:
        add(f"items listed twice: {repeated}", f"{key}.items", "list each item once")
    if scale.min_answered > len(scale.items):
        add(
            f"min_answered {scale.min_answered} exceeds the {len(scale.items)} items",
            f"{key}.min_answered",
            f"use a number from 1 to {len(scale.items)}",
        )
    if scale.range[0] >= scale.range[1]:
        add(f"range {list(scale.range)} is empty", f"{key}.range", "write [low, high]")
    return bool(unknown)


def _check_transform(scale: Scale, key: str, raw_low: float, raw_high: float, add: _Add) -> None:
    """One of linear or lookup; a lookup covers every raw score, and only those, increasing."""
    tr = scale.transform
    if tr is not None and (tr.linear is None) == (tr.lookup is None):
        add(
            "transform needs exactly one of linear or lookup",
            f"{key}.transform",
            "keep either 'linear:' or 'lookup:'",
        )
    elif tr is not None and tr.lookup is not None:
        if scale.method != "sum":
            add(
                "a lookup table needs method: sum (whole-number raw scores)",
                f"{key}.method",
                "set method: sum",
            )
        needed = set(range(int(np.ceil(raw_low)), int(np.floor(raw_high)) + 1))
        missing = sorted(needed - set(tr.lookup))
        extra = sorted(set(tr.lookup) - needed)
        if missing:
            add(
                f"lookup table lacks raw score(s) {missing}",
                f"{key}.transform.lookup",
                f"give a value for every raw score from {raw_low:g} to {raw_high:g}",
            )
        if extra:
            add(
                f"lookup table has raw score(s) {extra} outside {raw_low:g}–{raw_high:g}",
                f"{key}.transform.lookup",
                "remove them",
            )
        values = [tr.lookup[k] for k in sorted(tr.lookup)]
        if any(b < a for a, b in itertools.pairwise(values)):
            add("lookup values are not increasing", f"{key}.transform.lookup", "check the table")


def _check_score_range(scale: Scale, key: str, raw_low: float, raw_high: float, add: _Add) -> None:
    """The reported range must hold the transformed raw range."""
    low, high = _transform_scalar(scale, raw_low), _transform_scalar(scale, raw_high)
    lo, hi = min(low, high), max(low, high)
    if not (np.isnan(lo) or np.isnan(hi)) and (
        lo < scale.range[0] - 1e-9 or hi > scale.range[1] + 1e-9
    ):
        add(
            f"scores run {lo:g}–{hi:g} but range is {list(scale.range)}",
            f"{key}.range",
            f"set range: [{lo:g}, {hi:g}]",
        )


def _check_bands(scale: Scale, bands: Bands, key: str, add: _Add) -> None:
    """Band limits increasing and inside the range, the last reaching its top, concerning
    bands among the labels."""
    uppers = [b.upper for b in bands.cuts]
    if any(b < a for a, b in itertools.pairwise(uppers)):
        add(
            "band upper limits are not in increasing order",
            f"{key}.bands.cuts",
            "list bands from the lowest scores to the highest",
        )
    for bidx, band in enumerate(bands.cuts):
        if not scale.range[0] <= band.upper <= scale.range[1]:
            add(
                f"band upper limit {band.upper:g} is outside the range {list(scale.range)}",
                f"{key}.bands.cuts[{bidx}].upper",
                "use a limit inside the scale's range",
            )
    last = bands.cuts[-1]
    if last.upper < scale.range[1] or not last.include_upper:
        add(
            "the last band does not reach the top of the range",
            f"{key}.bands.cuts[{len(bands.cuts) - 1}]",
            f"end with upper: {scale.range[1]:g} and include_upper: true",
        )
    labels = [b.label for b in bands.cuts]
    for label in bands.concerning:
        if label not in labels:
            add(
                f"concerning band {label!r} is not a band label",
                f"{key}.bands.concerning",
                f"use one of {labels}",
            )


def _transform_scalar(scale: Scale, raw: float) -> float:
    tr = scale.transform
    if tr is None:
        return raw
    if tr.linear is not None:
        return raw * tr.linear.multiply + tr.linear.add
    if tr.lookup is not None:
        return tr.lookup.get(round(raw), float("nan"))
    return raw
