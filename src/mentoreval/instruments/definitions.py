"""Instrument definitions: load, validate and describe ``surveys/instruments/*.yaml``.

An instrument is data, not code: its items, response scale(s), reverse keys, scales with
their scoring method, minimum-answered rule, transform or lookup table, bands with their
source, licence and outcome domain. :func:`load_instrument` reads one definition and checks
every reference (scale → item, lookup coverage, band ranges, duplicate ids), reporting
**all** problems at once with file and key (the checks are in
:mod:`mentoreval.instruments.references`). Scoring itself lives in
:mod:`mentoreval.instruments.scoring`.

The shipped definitions live in the repository's ``surveys/instruments/`` folder. A user's
own definitions (e.g. a licensed inventory whose text we may not ship) can live anywhere and
are found through the ``MENTOREVAL_INSTRUMENTS`` environment variable (folders separated by
``os.pathsep``) or an explicit ``dirs=`` argument.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mentoreval.errors import InstrumentError, Problem, raise_problems
from mentoreval.instruments.local import local_defaults
from mentoreval.instruments.references import check_references
from mentoreval.resources import bundled_path
from mentoreval.yamlio import load_yaml, pydantic_problems

__all__ = [
    "Band",
    "Instrument",
    "Item",
    "ResponseScale",
    "Scale",
    "builtin_instrument_dir",
    "check_definition_text",
    "instrument_dirs",
    "list_instruments",
    "load_instrument",
    "load_instruments",
]

Domain = Literal["wellbeing", "burnout", "career", "mentoring", "other"]
Marker = Literal["V", "S", "U"]
Id = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
ItemId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$", max_length=64)]
"""An item id: like :data:`Id`, and R-style dotted names (``at.ease``) too. Item ids are
data (values of the responses table, keys of the study config); no formula or query text is
ever built from them."""


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

    id: ItemId
    text: str | None = None
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
    items: list[ItemId] = Field(min_length=1)
    method: Literal["mean", "sum"] = "mean"
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
    version: str = "1"
    title: str
    short_title: str | None = None
    citation: str | None = None
    licence: Licence
    domain: Domain = "other"
    recall_period: str | None = None
    notes: str | None = None
    response_scales: dict[Id, ResponseScale] = Field(min_length=1)
    items: list[Item] = Field(min_length=1)
    scales: list[Scale] = Field(min_length=1)
    source_file: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _local_defaults(cls, data: Any) -> Any:
        """Defaults for a local instrument: ``licence: local`` (text shipped), the title is
        the id, a scale's ``min_answered`` is all its items and its ``range`` the range of
        its items (see ``docs/instruments.md``)."""
        return local_defaults(data)

    @cached_property
    def item_ids(self) -> list[str]:
        """Item ids in definition order."""
        return [item.id for item in self.items]

    def subset(self, scale_ids: Sequence[str]) -> Instrument:
        """The instrument with only the scales ``scale_ids`` and the items they use (a study
        that uses, e.g., only the CBI's personal burnout scale).

        >>> cbi = load_instrument("cbi").subset(["personal"])
        >>> [s.id for s in cbi.scales], len(cbi.items)
        (['personal'], 6)
        """
        scales = [s for s in self.scales if s.id in set(scale_ids)]
        used = {i for s in scales for i in s.items}
        return Instrument.model_validate(
            {
                **self.model_dump(exclude={"scales", "items"}),
                "scales": [s.model_dump() for s in scales],
                "items": [i.model_dump() for i in self.items if i.id in used],
            }
        )

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


def _id_fix(problem: Problem, error: Any) -> Problem:
    """An id that does not match the id rule: say the rule and a name that would do."""
    if error["type"] != "string_pattern_mismatch":
        return problem
    bad = str(error["input"])
    suggestion = re.sub(r"_+", "_", re.sub(r"[^a-z0-9_.]", "_", bad.strip().lower()))
    suggestion = re.sub(r"^[^a-z]+", "", suggestion).strip("._") or "item_1"
    return replace(
        problem,
        message=f"{bad!r} is not a valid id",
        fix="ids are lower-case letters, digits and '_', starting with a letter (item ids "
        f"may also have dots, e.g. at.ease): rename it, e.g. {suggestion!r}, here and "
        "wherever it is listed",
    )


def _parse(data: Any, file: str) -> Instrument:
    if not isinstance(data, dict):
        raise InstrumentError(
            f"{file}: expected a mapping of keys (id, title, items, scales, ...) but found "
            f"{type(data).__name__} (fix: see docs/instruments.md for the format)"
        )
    try:
        inst = Instrument.model_validate({**data, "source_file": file})
    except ValidationError as exc:
        problems = [
            _id_fix(p, e)
            for p, e in zip(
                pydantic_problems(exc, file=file), exc.errors(include_url=False), strict=True
            )
        ]
        raise_problems(problems, error=InstrumentError, what=f"in {file}")
        raise  # pragma: no cover - raise_problems always raises here
    raise_problems(check_references(inst, file), error=InstrumentError, what=f"in {file}")
    return inst


def check_definition_text(text: str, file: str) -> Instrument:
    """Validate a definition given as YAML text (as :func:`load_instrument` does a file)."""
    return _parse(load_yaml(file, text=text, error=InstrumentError), file)


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
