"""The ``scores`` table's frame: :data:`SCORE_COLUMNS`, categorical id codes for the
respondent columns, and assembling / concatenating scored frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from mentoreval.instruments.definitions import Instrument
from mentoreval.instruments.keying import small_int

__all__ = ["SCORE_COLUMNS", "IdCodes", "concat_scores", "finish_scores", "id_codes"]

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


def _repeats_early(values: pd.Series, head: int = 64) -> bool:
    """True when one of the first ``head`` values repeats (so not every value is distinct)."""
    first = values.iloc[:head].tolist()
    try:
        return len(set(first)) < len(first)
    except TypeError:  # unhashable values: let the full check decide
        return False


def id_codes(values: pd.Series) -> tuple[np.ndarray, pd.CategoricalDtype]:
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


IdCodes = dict[str, tuple[np.ndarray, pd.CategoricalDtype]]


def finish_scores(ids: IdCodes, scored: dict[str, Any], inst: Instrument) -> pd.DataFrame:
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


def concat_scores(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
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
