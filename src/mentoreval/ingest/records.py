"""The study's records: every source's records in one table, one kept per participant and wave (stage: link).

:func:`combine_records` puts the sources' records (one per submission, with their role
columns) in one table. Once the ids are pseudonymised, :func:`keep_records` resolves
duplicate submissions by the study's rule (:func:`mentoreval.ingest.linkage.resolve_duplicates`),
quarantines the others naming the submission kept, and returns the kept records with their
identifiers as codes (:class:`KeptRecords`), which the responses, scores, participants and
reconciliation share.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from mentoreval.config.study import StudyConfig
from mentoreval.errors import Problem
from mentoreval.ingest.linkage import resolve_duplicates
from mentoreval.ingest.quarantine import empty_quarantine, quarantine_frame
from mentoreval.ingest.source import SourceOut

__all__ = ["KeptRecords", "combine_records", "keep_records"]


@dataclass(frozen=True)
class KeptRecords:
    """The records kept (one per participant and wave) and what was set aside.

    Attributes
    ----------
    records
        The kept records: ``participant_id``, ``wave``, ``source``, ``source_order``,
        ``source_row``, ``n_items``, ``attention_failed`` and the role columns
        (``col:<name>``).
    new_index
        For each combined record (sources in order), its row in ``records``; -1 when it was
        not kept.
    quarantine
        Every source's quarantine and the duplicates removed, sorted by source, row and stage.
    duplicates
        Submissions removed per participant.
    pid, wave, source
        The kept records' pseudonyms, waves and sources as codes and categories.
    source_row
        The kept records' source rows.
    """

    records: pd.DataFrame
    new_index: np.ndarray
    quarantine: pd.DataFrame
    duplicates: pd.Series
    pid: tuple[np.ndarray, pd.Index]
    wave: tuple[np.ndarray, pd.Index]
    source: tuple[np.ndarray, pd.Index]
    source_row: np.ndarray


def combine_records(outs: list[SourceOut]) -> pd.DataFrame:
    """Every source's records, in source order, in one table (a fresh ``RangeIndex``)."""
    records = pd.concat([o.records for o in outs], ignore_index=True)
    # The exports' text tables are gone (only role columns are kept): hand the memory
    # Arrow's allocator keeps for reuse back to the system.
    pa.default_memory_pool().release_unused()
    return records


def _duplicates_quarantine(removed: pd.DataFrame, rule: str) -> pd.DataFrame:
    # A then-test row holds two records (two waves), removed together: quarantined once.
    removed = removed.drop_duplicates(["source", "source_row"])
    return quarantine_frame(
        removed["source_row"].to_numpy(),
        source="",
        stage="link",
        rule="duplicate",
        reason=[
            f"another submission for the same participant and wave was kept ({rule}): {s} row {r}"
            for s, r in zip(removed["kept_source"], removed["kept_source_row"], strict=True)
        ],
    ).assign(source=removed["source"].astype("string").to_numpy())


def keep_records(
    records: pd.DataFrame,
    outs: list[SourceOut],
    cfg: StudyConfig,
    warnings: list[Problem],
) -> KeptRecords:
    """Resolve duplicate submissions of the pseudonymised ``records`` (see the module
    docstring); a duplicate resolved without a submission time is a warning."""
    keep, removed = resolve_duplicates(
        records.rename(columns={f"col:{cfg.columns.submitted_at}": "submitted_at"})
        if cfg.columns.submitted_at
        else records,
        rule=cfg.quality.duplicates,
    )
    if removed.attrs.get("untimed_groups"):
        warnings.append(
            Problem(
                f"{removed.attrs['untimed_groups']} participant(s) answered a wave more than once "
                "with a submission time missing: their duplicates were resolved by source "
                f"order and row ({cfg.quality.duplicates}), not by time",
                key="columns.submitted_at",
                fix="fill the submission times in the exports",
            )
        )
    q_parts = [q for o in outs for q in o.quarantine]
    if len(removed):
        q_parts.append(_duplicates_quarantine(removed, cfg.quality.duplicates))
    removed_rows = records.loc[~keep, ["participant_id", "source", "source_row"]]
    # per participant, the export rows removed (a then-test row's two records count once)
    dup_counts = removed_rows.drop_duplicates(["source", "source_row"])[
        "participant_id"
    ].value_counts()
    kept_pos = np.flatnonzero(keep)
    # The kept records: no copy when every record is kept (records has a RangeIndex, and
    # neither table is changed after this).
    recs = (
        records if len(kept_pos) == len(records) else records.iloc[kept_pos].reset_index(drop=True)
    )
    new_index = np.full(len(records), -1, dtype=np.int64)
    new_index[kept_pos] = np.arange(len(kept_pos))
    quarantine = pd.concat([empty_quarantine(), *q_parts], ignore_index=True)
    quarantine = quarantine.sort_values(
        ["source", "source_row", "stage"], kind="stable"
    ).reset_index(drop=True)
    return KeptRecords(
        records=recs,
        new_index=new_index,
        quarantine=quarantine,
        duplicates=dup_counts,
        pid=pd.factorize(recs["participant_id"]),
        wave=pd.factorize(recs["wave"]),
        source=pd.factorize(recs["source"]),
        source_row=recs["source_row"].to_numpy(dtype=np.int64),
    )
