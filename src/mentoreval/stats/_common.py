"""Shared helpers for :mod:`mentoreval.stats`: input checks and the pre/post reshaping.

Everything here is internal except :func:`to_prepost`, which turns the long ``scores``
table into the one-row-per-participant-and-scale frame most analyses start from.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar

import numpy as np
import pandas as pd

from mentoreval.errors import DataError, MentorevalError, Problem

__all__ = ["to_prepost"]

T = TypeVar("T", bound=str)

SCORES_COLUMNS = ("participant_id", "wave", "instrument", "scale", "score")


def check_choice(value: T, *, name: str, choices: Sequence[str]) -> T:
    """Return ``value`` if it is one of ``choices``; otherwise raise listing them."""
    if value not in choices:
        valid = ", ".join(repr(c) for c in choices)
        raise MentorevalError(
            f"{name}={value!r} is not a valid choice",
            (
                Problem(
                    f"{name}={value!r} is not one of {valid}", key=name, fix=f"use one of {valid}"
                ),
            ),
        )
    return value


def check_columns(data: pd.DataFrame, required: Iterable[str], *, what: str) -> None:
    """Raise :class:`DataError` naming every column of ``required`` missing from ``data``."""
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"{what} must be a pandas DataFrame, got {type(data).__name__}")
    missing = [c for c in required if c not in data.columns]
    if missing:
        problems = tuple(
            Problem(
                f"column {c!r} is missing from {what}",
                column=c,
                fix=f"{what} needs columns {', '.join(required)}; found {', '.join(map(str, data.columns))}",
            )
            for c in missing
        )
        raise DataError(f"{len(missing)} missing column(s) in {what}", problems)


def check_confidence(confidence: float) -> float:
    """Validate a confidence level in (0, 1)."""
    if not 0 < confidence < 1:
        raise MentorevalError(
            f"confidence={confidence!r} must be between 0 and 1",
            (Problem(f"confidence={confidence!r}", key="confidence", fix="use e.g. 0.95"),),
        )
    return float(confidence)


def as_float_array(values: object, *, name: str) -> np.ndarray:
    """Convert a 1-d array-like to float, raising :class:`DataError` on text."""
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise DataError(
            f"{name} must be numeric",
            (
                Problem(
                    f"{name} holds non-numeric values ({exc})", fix="recode text to numbers first"
                ),
            ),
        ) from exc
    if arr.ndim != 1:
        raise DataError(f"{name} must be one-dimensional, got shape {arr.shape}")
    return arr


def to_prepost(
    scores: pd.DataFrame,
    participants: pd.DataFrame | None = None,
    *,
    pre: str = "pre",
    post: str = "post",
) -> pd.DataFrame:
    """Reshape the long ``scores`` table to one row per participant × instrument × scale.

    Parameters
    ----------
    scores
        The ``scores`` contract table (long): at least ``participant_id``, ``wave``,
        ``instrument``, ``scale``, ``score``. ``band`` is carried when present.
    participants
        Optional participant-level table keyed by ``participant_id`` (group, covariates);
        its columns are joined on.
    pre, post
        The wave names of the baseline and follow-up.

    Returns
    -------
    pandas.DataFrame
        Columns ``participant_id``, ``instrument``, ``scale``, ``pre``, ``post`` (floats,
        NaN when that wave is missing or unscorable), ``band_pre`` and ``band_post`` when
        ``scores`` has ``band``, then the participant columns. A participant with only one
        wave keeps a row.

    Raises
    ------
    DataError
        When a column is missing, a wave name is absent, or a participant has two scores
        for the same wave and scale.

    Examples
    --------
    >>> s = pd.DataFrame({"participant_id": ["a", "a", "b"], "wave": ["pre", "post", "pre"],
    ...                   "instrument": "who5", "scale": "total", "score": [40.0, 52.0, 60.0]})
    >>> to_prepost(s)
      participant_id instrument  scale   pre  post
    0              a       who5  total  40.0  52.0
    1              b       who5  total  60.0   NaN
    """
    check_columns(scores, SCORES_COLUMNS, what="scores")
    waves = set(scores["wave"].astype(str).unique())
    absent = [w for w in (pre, post) if w not in waves]
    if absent:
        raise DataError(
            f"wave(s) {', '.join(map(repr, absent))} not found in scores",
            tuple(
                Problem(
                    f"no rows with wave == {w!r}",
                    column="wave",
                    fix=f"pass pre=/post= as one of {', '.join(sorted(map(repr, waves)))}",
                )
                for w in absent
            ),
        )
    keys = ["participant_id", "instrument", "scale", "wave"]
    sub = scores.loc[scores["wave"].isin([pre, post])]
    dup = sub.duplicated(keys, keep=False)
    if dup.any():
        first = sub.loc[dup, keys].drop_duplicates().head(5)
        problems = tuple(
            Problem(
                f"participant {r.participant_id!r} has more than one {r.wave!r} score on "
                f"{r.instrument}/{r.scale}",
                fix="resolve duplicates in linkage before the statistics",
            )
            for r in first.itertuples()
        )
        raise DataError(f"{int(dup.sum())} duplicated score rows", problems)
    values = ["score", "band"] if "band" in sub.columns else ["score"]
    wide = sub.set_index(keys)[values].unstack("wave")
    out = pd.DataFrame(index=wide.index)
    out["pre"] = (
        pd.to_numeric(wide[("score", pre)], errors="coerce") if ("score", pre) in wide else np.nan
    )
    out["post"] = (
        pd.to_numeric(wide[("score", post)], errors="coerce") if ("score", post) in wide else np.nan
    )
    if "band" in values:
        out["band_pre"] = wide.get(("band", pre), pd.NA)
        out["band_post"] = wide.get(("band", post), pd.NA)
    out = out.reset_index()
    out.columns.name = None
    if participants is not None:
        check_columns(participants, ["participant_id"], what="participants")
        if participants["participant_id"].duplicated().any():
            raise DataError(
                "participants has duplicated participant_id values",
                (Problem("one row per participant is expected", column="participant_id"),),
            )
        clash = [c for c in participants.columns if c in out.columns and c != "participant_id"]
        if clash:
            raise DataError(
                f"participants columns clash with score columns: {clash}",
                tuple(Problem("reserved column name", column=c, fix="rename it") for c in clash),
            )
        out = out.merge(participants, on="participant_id", how="left", validate="many_to_one")
    return out
