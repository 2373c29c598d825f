"""Score bands and labels: band codes from an instrument's ordered cut-offs, the missing-score
reasons, and :class:`ScoreLabels` (the categorical labels of the scored columns).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from mentoreval.instruments.definitions import Instrument, Scale
from mentoreval.instruments.keying import code_dtype, small_int

__all__ = ["ScoreLabels", "band_codes"]


def band_codes(scale: Scale, score: np.ndarray, lut: np.ndarray) -> np.ndarray:
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
                "band": code_dtype(first),
                "missing_reason": code_dtype(first),
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
