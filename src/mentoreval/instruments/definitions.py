"""Instrument definitions: load, validate and describe ``surveys/instruments/*.yaml``.

An instrument is data, not code: its items, response scale(s), reverse keys, scales with
their scoring method, minimum-answered rule, transform or lookup table, bands with their
source, licence and outcome domain. :func:`load_instrument` reads one definition and checks
every reference (scale → item, lookup coverage, band ranges, duplicate ids), reporting
**all** problems at once with file and key. Scoring itself lives in
:mod:`mentoreval.instruments.scoring`.

The shipped definitions live in the repository's ``surveys/instruments/`` folder. A user's
own definitions (e.g. a licensed inventory whose text we may not ship) can live anywhere and
are found through the ``MENTOREVAL_INSTRUMENTS`` environment variable (folders separated by
``os.pathsep``) or an explicit ``dirs=`` argument.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Sequence
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mentoreval.errors import InstrumentError, Problem, raise_problems
from mentoreval.resources import bundled_path
from mentoreval.yamlio import load_yaml, pydantic_problems

__all__ = [
    "Band",
    "Instrument",
    "Item",
    "ResponseScale",
    "Scale",
    "builtin_instrument_dir",
    "instrument_dirs",
    "list_instruments",
    "load_instrument",
    "load_instruments",
]

Domain = Literal["wellbeing", "burnout", "career", "mentoring", "other"]
Marker = Literal["V", "S", "U"]
Id = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Licence(_Strict):
    """Licence facts: may the item text be shipped, and where does the permission come from."""

    name: str
    ship_item_text: bool
    source: str | None = None
    marker: Marker | None = None


class MissingCode(_Strict):
    """A code in an export that means 'no answer', with the reason recorded for it."""

    code: float
    reason: str
    label: str | None = None


class ResponseScale(_Strict):
    """Ordered response options: ``codes[i]`` is the stored code of ``labels[i]``."""

    codes: list[float] = Field(min_length=2)
    labels: list[str] = Field(min_length=2)
    missing: list[MissingCode] = Field(default_factory=list)

    @property
    def low(self) -> float:
        """The smallest code."""
        return min(self.codes)

    @property
    def high(self) -> float:
        """The largest code."""
        return max(self.codes)


class Item(_Strict):
    """One item: its id, text (``None`` when the licence forbids shipping it) and keying."""

    id: Id
    text: str | None
    reverse: bool = False
    response_scale: Id = "default"


class Linear(_Strict):
    """``score = raw * multiply + add``."""

    multiply: float = 1.0
    add: float = 0.0


class Transform(_Strict):
    """Either a linear transform or a lookup table from raw score to reported score."""

    linear: Linear | None = None
    lookup: dict[int, float] | None = None
    source: str | None = None
    marker: Marker | None = None


class Band(_Strict):
    """A band: scores up to ``upper`` (inclusive when ``include_upper``) not in an earlier band."""

    label: str
    upper: float
    include_upper: bool = True


class Bands(_Strict):
    """Ordered bands (cut-offs) with the source that defines them."""

    source: str
    marker: Marker | None = None
    cuts: list[Band] = Field(min_length=1)
    concerning: list[str] = Field(
        default_factory=list,
        description="labels of bands that indicate a problem (e.g. 'high burnout')",
    )


class Reliability(_Strict):
    """A published reliability coefficient used for the reliable change index."""

    value: float = Field(gt=0, lt=1)
    kind: Literal["alpha", "omega", "test_retest"] = "alpha"
    source: str
    marker: Marker | None = None


class Scale(_Strict):
    """A scale: which items, how they combine, and how the raw score is reported."""

    id: Id
    title: str
    items: list[Id] = Field(min_length=1)
    method: Literal["mean", "sum"]
    min_answered: int = Field(ge=1)
    min_answered_marker: Marker | None = None
    transform: Transform | None = None
    range: list[float] = Field(min_length=2, max_length=2)
    higher_is_better: bool
    bands: Bands | None = None
    reliability: Reliability | None = None
    mcid: float | None = Field(default=None, description="minimal important change, scale units")
    mcid_source: str | None = None


class Instrument(_Strict):
    """A validated instrument definition (see ``docs/instruments.md`` for the YAML format)."""

    id: Id
    version: str
    title: str
    short_title: str | None = None
    citation: str
    licence: Licence
    domain: Domain
    recall_period: str | None = None
    notes: str | None = None
    response_scales: dict[Id, ResponseScale] = Field(min_length=1)
    items: list[Item] = Field(min_length=1)
    scales: list[Scale] = Field(min_length=1)
    source_file: str | None = None

    @cached_property
    def item_ids(self) -> list[str]:
        """Item ids in definition order."""
        return [item.id for item in self.items]

    def item(self, item_id: str) -> Item:
        """Return the item with id ``item_id``."""
        for item in self.items:
            if item.id == item_id:
                return item
        raise KeyError(item_id)

    def scale(self, scale_id: str) -> Scale:
        """Return the scale with id ``scale_id``."""
        for scale in self.scales:
            if scale.id == scale_id:
                return scale
        raise KeyError(scale_id)

    def item_response_scale(self, item_id: str) -> ResponseScale:
        """The response scale an item is answered on."""
        return self.response_scales[self.item(item_id).response_scale]

    def raw_range(self, scale: Scale) -> tuple[float, float]:
        """The possible raw (pre-transform) range of a complete answer set for ``scale``."""
        lows = [self.item_response_scale(i).low for i in scale.items]
        highs = [self.item_response_scale(i).high for i in scale.items]
        if scale.method == "sum":
            return float(sum(lows)), float(sum(highs))
        return float(np.mean(lows)), float(np.mean(highs))

    def items_frame(self) -> pd.DataFrame:
        """Items as a table: item, text, reverse, response_scale, low, high, scales."""
        in_scales: dict[str, list[str]] = {i: [] for i in self.item_ids}
        for scale in self.scales:
            for i in scale.items:
                in_scales[i].append(scale.id)
        return pd.DataFrame(
            {
                "item": self.item_ids,
                "text": [i.text for i in self.items],
                "reverse": [i.reverse for i in self.items],
                "response_scale": [i.response_scale for i in self.items],
                "low": [self.response_scales[i.response_scale].low for i in self.items],
                "high": [self.response_scales[i.response_scale].high for i in self.items],
                "scales": [", ".join(in_scales[i.id]) for i in self.items],
            }
        )

    def scales_frame(self) -> pd.DataFrame:
        """Scales as a table: scale, title, n_items, method, min_answered, transform, range, bands."""
        rows = []
        for s in self.scales:
            if s.transform and s.transform.lookup:
                transform = "lookup table"
            elif s.transform and s.transform.linear:
                lin = s.transform.linear
                transform = f"raw × {lin.multiply:g} + {lin.add:g}"
            else:
                transform = "none"
            rows.append(
                {
                    "scale": s.id,
                    "title": s.title,
                    "n_items": len(s.items),
                    "method": s.method,
                    "min_answered": s.min_answered,
                    "transform": transform,
                    "range": f"{s.range[0]:g}–{s.range[1]:g}",
                    "higher_is_better": s.higher_is_better,
                    "bands": ", ".join(b.label for b in s.bands.cuts) if s.bands else "",
                }
            )
        return pd.DataFrame(rows)


def _check_references(inst: Instrument, file: str) -> list[Problem]:
    """Cross-reference checks pydantic cannot express; every problem is returned."""
    problems: list[Problem] = []

    def add(message: str, key: str, fix: str) -> None:
        problems.append(Problem(message, file=file, key=key, fix=fix))

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
    if problems:
        return problems  # later checks need valid items and response scales

    scale_ids: dict[str, int] = {}
    for sidx, scale in enumerate(inst.scales):
        key = f"scales[{sidx}]"
        if scale.id in scale_ids:
            add(f"duplicate scale id {scale.id!r}", f"{key}.id", "give every scale a unique id")
        scale_ids.setdefault(scale.id, sidx)
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
        if unknown:
            continue

        raw_low, raw_high = inst.raw_range(scale)
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
                add(
                    "lookup values are not increasing", f"{key}.transform.lookup", "check the table"
                )
        # The reported range must hold the transformed raw range.
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
        if scale.bands is not None:
            uppers = [b.upper for b in scale.bands.cuts]
            if any(b < a for a, b in itertools.pairwise(uppers)):
                add(
                    "band upper limits are not in increasing order",
                    f"{key}.bands.cuts",
                    "list bands from the lowest scores to the highest",
                )
            for bidx, band in enumerate(scale.bands.cuts):
                if not scale.range[0] <= band.upper <= scale.range[1]:
                    add(
                        f"band upper limit {band.upper:g} is outside the range {list(scale.range)}",
                        f"{key}.bands.cuts[{bidx}].upper",
                        "use a limit inside the scale's range",
                    )
            last = scale.bands.cuts[-1]
            if last.upper < scale.range[1] or not last.include_upper:
                add(
                    "the last band does not reach the top of the range",
                    f"{key}.bands.cuts[{len(scale.bands.cuts) - 1}]",
                    f"end with upper: {scale.range[1]:g} and include_upper: true",
                )
            labels = [b.label for b in scale.bands.cuts]
            for label in scale.bands.concerning:
                if label not in labels:
                    add(
                        f"concerning band {label!r} is not a band label",
                        f"{key}.bands.concerning",
                        f"use one of {labels}",
                    )
    return problems


def _transform_scalar(scale: Scale, raw: float) -> float:
    tr = scale.transform
    if tr is None:
        return raw
    if tr.linear is not None:
        return raw * tr.linear.multiply + tr.linear.add
    if tr.lookup is not None:
        return tr.lookup.get(round(raw), float("nan"))
    return raw


def builtin_instrument_dir() -> Path:
    """The folder of the instruments shipped with mentoreval.

    ``mentoreval/_bundled/instruments`` is a link to ``surveys/instruments`` in a source
    checkout and a copy of it in an installed wheel, so both find the same files.

    Examples
    --------
    >>> (builtin_instrument_dir() / "who5.yaml").is_file()
    True
    """
    return bundled_path("instruments")


def instrument_dirs(dirs: Iterable[str | Path] | None = None) -> list[Path]:
    """Folders searched for instrument definitions, in order of precedence.

    Parameters
    ----------
    dirs
        Extra folders (searched first), e.g. a study's own instrument folder.
    """
    out = [Path(d) for d in (dirs or [])]
    env = os.environ.get("MENTOREVAL_INSTRUMENTS")
    if env:
        out += [Path(p) for p in env.split(os.pathsep) if p]
    out.append(builtin_instrument_dir())
    return out


def _parse(data: Any, file: str) -> Instrument:
    if not isinstance(data, dict):
        raise InstrumentError(
            f"{file}: expected a mapping of keys (id, title, items, scales, ...) but found "
            f"{type(data).__name__} (fix: see docs/instruments.md for the format)"
        )
    try:
        inst = Instrument.model_validate({**data, "source_file": file})
    except ValidationError as exc:
        raise_problems(pydantic_problems(exc, file=file), error=InstrumentError, what=f"in {file}")
        raise  # pragma: no cover - raise_problems always raises here
    raise_problems(_check_references(inst, file), error=InstrumentError, what=f"in {file}")
    return inst


def load_instrument(ref: str | Path, *, dirs: Iterable[str | Path] | None = None) -> Instrument:
    """Load and validate one instrument definition.

    Parameters
    ----------
    ref
        An instrument id (``"who5"``), looked up in :func:`instrument_dirs`, or a path to a
        YAML file.
    dirs
        Extra folders to search first.

    Returns
    -------
    Instrument
        The validated definition.

    Raises
    ------
    InstrumentError
        Listing every problem (file and key) when the definition is invalid, or when no
        instrument has that id.

    Examples
    --------
    >>> who5 = load_instrument("who5")
    >>> who5.title, len(who5.items), who5.scale("total").transform.linear.multiply
    ('WHO-5 Well-Being Index', 5, 4.0)
    """
    path = Path(ref)
    if path.suffix in {".yaml", ".yml"} or path.is_file():
        if not path.is_file():
            raise InstrumentError(f"{path}: file not found (fix: check the path)")
        return _parse(load_yaml(path, error=InstrumentError), str(path))
    ref = str(ref)
    searched = instrument_dirs(dirs)
    for folder in searched:
        for suffix in (".yaml", ".yml"):
            cand = folder / f"{ref}{suffix}"
            if cand.is_file():
                inst = _parse(load_yaml(cand, error=InstrumentError), str(cand))
                if inst.id != ref:
                    raise InstrumentError(
                        f"{cand}: id: the file defines {inst.id!r}, not {ref!r} "
                        f"(fix: name the file {inst.id}.yaml or change its id)"
                    )
                return inst
    known = sorted({p.stem for d in searched if d.is_dir() for p in d.glob("*.y*ml")})
    raise InstrumentError(
        f"unknown instrument {ref!r} (fix: use one of {known}, or add {ref}.yaml to a folder "
        "in MENTOREVAL_INSTRUMENTS)"
    )


def load_instruments(
    refs: Sequence[str | Path] | None = None, *, dirs: Iterable[str | Path] | None = None
) -> dict[str, Instrument]:
    """Load several instruments (all available ones when ``refs`` is None).

    Every file is checked and all problems in all files are reported together.

    Examples
    --------
    >>> sorted(load_instruments(["who5", "pss10"]))
    ['pss10', 'who5']
    """
    if refs is None:
        found: dict[str, Path] = {}
        for folder in reversed(instrument_dirs(dirs)):  # earlier folders win
            if folder.is_dir():
                for p in sorted(folder.glob("*.y*ml")):
                    found[p.stem] = p
        refs = [found[k] for k in sorted(found)]
    out: dict[str, Instrument] = {}
    problems: list[Problem] = []
    for ref in refs:
        try:
            inst = load_instrument(ref, dirs=dirs)
        except InstrumentError as exc:
            problems.extend(exc.problems or [Problem(exc.message)])
            continue
        out[inst.id] = inst
    raise_problems(problems, error=InstrumentError, what="in instrument definitions")
    return out


def list_instruments(*, dirs: Iterable[str | Path] | None = None) -> pd.DataFrame:
    """One row per available instrument: id, title, domain, items, scales, licence, text shipped.

    Examples
    --------
    >>> table = list_instruments()
    >>> {"who5", "swemwbs", "cbi", "olbi", "pss10", "caas_sf", "career_confidence", "mes"} <= set(table["id"])
    True
    """
    rows = [
        {
            "id": inst.id,
            "title": inst.title,
            "domain": inst.domain,
            "n_items": len(inst.items),
            "scales": ", ".join(s.id for s in inst.scales),
            "licence": inst.licence.name,
            "item_text_shipped": inst.licence.ship_item_text,
        }
        for inst in load_instruments(dirs=dirs).values()
    ]
    return pd.DataFrame(rows)
