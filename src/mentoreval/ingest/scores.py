"""Scores of the ingested answers: one row per participant × wave × instrument × scale (stage: score).

:func:`ingest_scores` scores the item tables of :class:`~mentoreval.ingest.responses.Responses`
with :mod:`mentoreval.instruments.scoring`, without validity checks (the answers come
recoded). Identifiers are categorical, sharing one factorisation of the kept records. When
every record has every instrument (the usual case) each instrument scores its block straight
into one preallocated table; otherwise each instrument is scored on its own records and the
parts are joined.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals

from mentoreval.config.study import Study
from mentoreval.ingest.responses import Responses, from_codes
from mentoreval.instruments.scoring import (
    SCORE_COLUMNS,
    SCORED,
    ScoreColumns,
    ScoreLabels,
    score_arrays,
    score_into,
    small_int,
)

__all__ = ["ingest_scores"]


def _score_every_record(parts: Responses, study: Study) -> pd.DataFrame:
    """Every record has every instrument: one preallocated table, each instrument scoring
    its block straight into its rows (no per-instrument parts)."""
    (pid_codes, pid_cats), (wave_codes, wave_cats) = parts.pid, parts.wave
    insts = [study.instruments[inst_id] for inst_id, _, _, _ in parts.spans]
    labels = ScoreLabels(insts)
    ids = {
        "participant_id": (
            pid_codes.astype(small_int(len(pid_cats)), copy=False),
            pd.CategoricalDtype(pid_cats),
        ),
        "wave": (
            wave_codes.astype(small_int(len(wave_cats)), copy=False),
            pd.CategoricalDtype(wave_cats),
        ),
    }
    cols = ScoreColumns(len(parts.matrix), insts, labels, ids)
    for inst, (_, _, col0, k) in zip(insts, parts.spans, strict=True):
        views = cols.block(inst)
        # Scoring reads the block in cache-sized pieces and leaves it unchanged.
        score_into(
            parts.matrix[:, col0 : col0 + k].T,
            inst,
            inst.item_ids,
            {name: views[name].T for name in SCORED},
            labels,
            check=False,
        )
    return pd.DataFrame(cols.columns(), columns=SCORE_COLUMNS, copy=False)


def _score_each_instrument(parts: Responses, study: Study) -> list[dict[str, Any]]:
    """Each instrument scored on its own records: identifier codes and score columns."""
    pid_codes, wave_codes = parts.pid[0], parts.wave[0]
    scored_parts: list[dict[str, Any]] = []
    for inst_id, r, col0, k in parts.spans:
        inst = study.instruments[inst_id]
        block = (
            parts.matrix[:, col0 : col0 + k]
            if len(r) == len(parts.matrix)  # every record (rows are sorted and distinct)
            else parts.matrix[r, col0 : col0 + k]
        )
        # Scoring reads the block in cache-sized pieces and leaves it unchanged.
        scored = score_arrays(block, inst, inst.item_ids, with_row=False)
        rr = np.repeat(r, len(inst.scales))  # each record's scales are consecutive rows
        scored_parts.append(
            {
                "participant_id": pid_codes[rr],
                "wave": wave_codes[rr],
                "instrument": inst_id,
                "n": len(rr),
                **scored,
            }
        )
    return scored_parts


def _join_parts(
    scored_parts: list[dict[str, Any]], pid_cats: pd.Index, wave_cats: pd.Index
) -> pd.DataFrame:
    """One scores table from the instruments' parts (categories shared or united)."""
    out: dict[str, Any] = {}
    out["participant_id"] = from_codes(
        np.concatenate([p["participant_id"] for p in scored_parts]).astype(
            small_int(len(pid_cats)), copy=False
        ),
        pid_cats,
    )
    out["wave"] = from_codes(
        np.concatenate([p["wave"] for p in scored_parts]).astype(
            small_int(len(wave_cats)), copy=False
        ),
        wave_cats,
    )
    inst_ids = [p["instrument"] for p in scored_parts]
    out["instrument"] = from_codes(
        np.repeat(
            np.arange(len(scored_parts), dtype=small_int(len(scored_parts))),
            [p["n"] for p in scored_parts],
        ),
        pd.Index(inst_ids),
    )
    for name in ("scale", "band", "missing_reason"):
        cats = [p[name] for p in scored_parts]
        out[name] = cats[0] if len(cats) == 1 else union_categoricals(cats)
    for name in ("score", "raw_score", "n_answered", "n_items", "prorated"):
        arrays = [p[name] for p in scored_parts]
        out[name] = arrays[0] if len(arrays) == 1 else np.concatenate(arrays)
    return pd.DataFrame(out, columns=SCORE_COLUMNS, copy=False)


def ingest_scores(parts: Responses, study: Study) -> pd.DataFrame:
    """Score every instrument's answers (no validity checks: answers come recoded).

    Identifiers are categorical, sharing one factorisation of the kept records.
    """
    n = len(parts.matrix)
    if parts.spans and all(len(r) == n for _, r, _, _ in parts.spans):
        return _score_every_record(parts, study)
    scored_parts = _score_each_instrument(parts, study)
    if not scored_parts:
        return pd.DataFrame(columns=SCORE_COLUMNS)
    return _join_parts(scored_parts, parts.pid[1], parts.wave[1])
