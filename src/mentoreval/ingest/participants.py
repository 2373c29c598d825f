"""The participants table: one row per student, sorted by pseudonym (stage: link).

Each student's group and covariates come from the first filled value in the order pre,
post, other waves (then source order and row): another wave fills what the preferred one
left empty. The group is text (the declared level names, :mod:`mentoreval.ingest.groups`);
a covariate whose every filled value is a number is numeric (``Float64``), else text
(``string``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mentoreval.config.study import StudyConfig
from mentoreval.ingest.records import KeptRecords

__all__ = ["numbers", "participants_table"]


def _distinct_numbers(values: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Codes of the text ``values`` (``-1`` when missing) and each distinct text as a
    number (NaN when it is not one; surrounding spaces ignored): converted once each."""
    codes, uniques = pd.factorize(values.astype("string").array, use_na_sentinel=True)  # type: ignore[call-overload]
    return codes, pd.to_numeric(pd.Series(uniques, dtype="string").str.strip(), errors="coerce")


def _numeric_or_text(values: pd.Series) -> pd.Series:
    """Numbers (``Float64``) when every filled cell is one, else the text (``string``)."""
    codes, num = _distinct_numbers(values)
    if len(num) and num.notna().all():
        numbers = num.astype("Float64").array.take(codes, allow_fill=True)
        return pd.Series(numbers, index=values.index, name=values.name, copy=False)
    return values.astype("string")


def numbers(values: pd.Series) -> np.ndarray:
    """Text → float (NaN when empty or not a number)."""
    codes, num = _distinct_numbers(values)
    return np.append(num.to_numpy(dtype=float, na_value=np.nan), np.nan)[codes]


def participants_table(kept: KeptRecords, cfg: StudyConfig) -> pd.DataFrame:
    """One row per participant (``participant_id``, ``group``, covariates) from the kept
    records (see the module docstring)."""
    recs, src_rows = kept.records, kept.source_row
    (pid_codes, pid_cats), (wave_codes, wave_cats) = kept.pid, kept.wave
    # pre first, then post, then other waves
    wave_prio = np.array(
        [{cfg.analysis.pre: 0, cfg.analysis.post: 1}.get(str(w), 2) for w in wave_cats]
    )
    first = np.lexsort((src_rows, recs["source_order"].to_numpy(), wave_prio[wave_codes]))
    pid_text = pid_cats.astype("str").array
    by_pid = np.asarray(pid_text.argsort(kind="stable"))
    participants = pd.DataFrame({"participant_id": pid_text.take(by_pid)})
    for c in [cfg.columns.group, *cfg.columns.covariates]:
        if not c:
            continue
        name = "group" if c == cfg.columns.group else c
        colname = f"col:{c}"
        if colname not in recs:
            participants[name] = pd.array([pd.NA] * len(participants), dtype="string")
            continue
        # The first filled value in that order: another wave fills what the preferred left empty.
        values = recs[colname].astype("string").array
        order = first[~np.asarray(values.isna(), dtype=bool)[first]]
        people, at = np.unique(pid_codes[order], return_index=True)
        row_of = np.full(len(pid_cats), -1, dtype=np.int64)
        row_of[people] = order[at]
        first_values = pd.Series(values.take(row_of[by_pid], allow_fill=True), copy=False)
        # the group is a level's name, never a number ('1', not 1.0)
        participants[name] = (
            first_values.astype("string") if name == "group" else _numeric_or_text(first_values)
        )
    return participants
