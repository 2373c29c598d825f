"""Each record's raw id (ingest stage): the participant id column, a self-generated code,
or, in an unlinked survey, a response key of its own; rows with an empty or invalid id are
quarantined.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd

from mentoreval.config.study import Source, StudyConfig, compile_id_pattern
from mentoreval.errors import Problem
from mentoreval.ingest.columns import absent_id_column
from mentoreval.ingest.mapping import SourceMapping
from mentoreval.ingest.protect import map_ids
from mentoreval.ingest.quarantine import quarantine_frame, response_keys
from mentoreval.ingest.sgic import read_codes

__all__ = ["add_code_parts", "check_ids", "clean_id", "read_ids"]

_EMPTY_ID = "the participant id cell is empty"
_EMPTY_CODE = "every part of the self-generated code is empty or unreadable"


def clean_id(text: str) -> str:
    """The id as compared with ``participant_id.pattern``: normalised but not case-folded."""
    t = unicodedata.normalize("NFKC", text)
    t = re.sub("[\u200b-\u200d\ufeff]", "", t)
    return re.sub(r"\s+", " ", t).strip()


def check_ids(raw_ids: pd.Series, cfg: StudyConfig, id_col: str, m: SourceMapping) -> None:
    """Set aside (and quarantine) the rows whose id is empty or does not match the pattern."""
    codes, uniques = pd.factorize(raw_ids, use_na_sentinel=True)
    cleaned = map_ids(uniques, clean_id, lower=False)  # plain ASCII ids are already clean
    u_empty = np.append(cleaned == "", True)
    u_bad = np.zeros(len(cleaned) + 1, dtype=bool)
    if cfg.participant_id.pattern:
        # RE2 (no backtracking): a pattern runs in time linear in the ids.
        u_bad[:-1] = ~compile_id_pattern(cfg.participant_id.pattern)(cleaned)
        u_bad[:-1] &= ~u_empty[:-1]
    empty = u_empty[codes] & ~m.set_aside
    bad = u_bad[codes] & ~m.set_aside & ~empty
    for mask, rule, reason in (
        (empty, "missing_id", _EMPTY_CODE if cfg.participant_id.sgic else _EMPTY_ID),
        (
            bad,
            "invalid_id",
            f"the participant id does not match participant_id.pattern {cfg.participant_id.pattern!r}",
        ),
    ):
        if mask.any():
            m.quarantine.append(
                quarantine_frame(
                    m.rows[mask],
                    source=m.name,
                    stage="map",
                    rule=rule,
                    reason=reason,
                    column=id_col,
                )
            )
            m.set_aside |= mask


def read_ids(
    data: pd.DataFrame, cfg: StudyConfig, src: Source, m: SourceMapping
) -> tuple[pd.Series, list[str], pd.DataFrame | None] | None:
    """Each row's raw id (a response key of its own in an unlinked survey), the columns it
    is read from, and (for a self-generated code) its normalised components; None when a
    column is absent (a fatal problem)."""
    sgic = cfg.participant_id.sgic
    if sgic is None:
        id_col = src.id_column or cfg.participant_id.column
        if id_col is not None and id_col not in m.columns:
            m.fatal.append(absent_id_column(m.name, m.key, m.columns, id_col))
            return None
        if not cfg.participant_id.linked or id_col is None:  # each response its own key
            return response_keys(m.name, m.rows), [id_col] if id_col else [], None
        return data[id_col].astype("string"), [id_col], None
    cols = [sgic.column] if sgic.column else [c.column or "" for c in sgic.components]
    absent = [c for c in cols if c not in m.columns]
    for c in absent:
        m.fatal.append(
            Problem(
                f"the self-generated code's column {c!r} is absent",
                file=m.name,
                column=c,
                key="participant_id.sgic",
                fix=f"name export columns under participant_id.sgic; the first are {m.columns[:8]}",
            )
        )
    if absent:
        return None
    codes = read_codes(data, sgic)
    bad = codes.bad_length & ~m.set_aside
    if bad.any():
        width = sum(c.width or 0 for c in sgic.components)
        m.quarantine.append(
            quarantine_frame(
                m.rows[bad],
                source=m.name,
                stage="map",
                rule="invalid_id",
                reason=f"the self-generated code does not have {width} letters and digits",
                column=cols[0],
            )
        )
        m.set_aside |= bad
    for comp, n in zip(sgic.components, codes.unreadable, strict=True):
        if n:
            where = comp.column or f"{sgic.column} (a {comp.width}-character part)"
            m.notes.append(
                f"{n} answer(s) in {where} cannot be read as a {comp.kind} (e.g. month 13): "
                "that part of the code agrees with no other code"
            )
    return codes.code, cols, codes.components


def add_code_parts(
    records: pd.DataFrame, components: pd.DataFrame | None, keep: np.ndarray
) -> None:
    """A self-generated code's normalised components as ``sgic:<j>`` columns of the kept
    ``records``, for linkage (they are dropped before anything is written)."""
    if components is None:
        return
    for j, column in enumerate(components.columns):
        records[f"sgic:{j}"] = components[column].to_numpy()[keep]
