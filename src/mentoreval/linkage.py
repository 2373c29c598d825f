"""Linkage: duplicate submissions and pre/post pairing by pseudonym (stage: link).

Pre and post answers are paired by ``participant_id`` — the keyed pseudonym — never by row
order, so a self-generated linkage code (e.g. mother's initials + birth month) works like
any other id. When a participant answered a wave more than once, one submission is kept by
the study's declared rule (``keep_first`` or ``keep_last``) after a **stable** sort on
(submission time, source order, source row); the others go to the quarantine with rule
``duplicate``, naming the row that was kept.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

__all__ = ["LINKAGE_COLUMNS", "link_waves", "linkage_summary", "resolve_duplicates"]

LINKAGE_COLUMNS = ["participant_id", "status", "waves", "pre", "post", "duplicates_removed"]


def resolve_duplicates(
    records: pd.DataFrame, *, rule: Literal["keep_first", "keep_last"] = "keep_last"
) -> tuple[np.ndarray, pd.DataFrame]:
    """Choose one submission per participant × wave.

    Parameters
    ----------
    records
        One row per submission with ``participant_id``, ``wave``, ``source`` (file name),
        ``source_order`` (position of the source in the config), ``source_row`` and
        optionally ``submitted_at`` (ISO 8601 text; unparseable or empty sorts first).
    rule
        ``"keep_first"`` or ``"keep_last"`` in the stable order.

    Returns
    -------
    keep : numpy.ndarray
        Boolean mask over ``records`` rows.
    removed : pandas.DataFrame
        One row per removed submission: ``position``, ``source``, ``source_row``,
        ``kept_source``, ``kept_source_row``.

    Examples
    --------
    >>> recs = pd.DataFrame({"participant_id": ["a", "a", "b"], "wave": "pre",
    ...     "source": "pre.csv", "source_order": 0, "source_row": [2, 3, 4],
    ...     "submitted_at": ["2025-01-02 10:00", "2025-01-01 09:00", None]})
    >>> keep, removed = resolve_duplicates(recs, rule="keep_last")
    >>> keep.tolist(), removed[["source_row", "kept_source_row"]].values.tolist()
    ([True, False, True], [[3, 2]])
    """
    if rule not in ("keep_first", "keep_last"):
        raise ValueError(f"rule must be 'keep_first' or 'keep_last', not {rule!r}")
    n = len(records)
    when = (
        pd.to_datetime(records["submitted_at"], errors="coerce", format="ISO8601")
        if "submitted_at" in records
        else pd.Series(pd.NaT, index=records.index)
    )
    order_frame = pd.DataFrame(
        {
            "pid": records["participant_id"].astype("string").to_numpy(),
            "wave": records["wave"].astype("string").to_numpy(),
            "when": when.to_numpy(),
            "src": records["source_order"].to_numpy(),
            "row": records["source_row"].to_numpy(),
            "pos": np.arange(n),
        }
    )
    order_frame = order_frame.sort_values(
        ["pid", "wave", "when", "src", "row"], kind="stable", na_position="first"
    )
    keep_which: Literal["first", "last"] = "first" if rule == "keep_first" else "last"
    dup = order_frame.duplicated(["pid", "wave"], keep=keep_which).to_numpy()
    keep = np.ones(n, dtype=bool)
    keep[order_frame["pos"].to_numpy()[dup]] = False
    kept_pos = order_frame.drop_duplicates(["pid", "wave"], keep=keep_which).set_index(
        ["pid", "wave"]
    )["pos"]
    removed_pos = order_frame["pos"].to_numpy()[dup]
    removed = order_frame.loc[dup, ["pid", "wave"]]
    target = kept_pos.reindex(pd.MultiIndex.from_frame(removed)).to_numpy()
    out = pd.DataFrame(
        {
            "position": removed_pos,
            "source": records["source"].to_numpy()[removed_pos],
            "source_row": records["source_row"].to_numpy()[removed_pos],
            "kept_source": records["source"].to_numpy()[target.astype(np.int64)]
            if len(target)
            else [],
            "kept_source_row": records["source_row"].to_numpy()[target.astype(np.int64)]
            if len(target)
            else [],
        }
    )
    return keep, out.sort_values("position", kind="stable").reset_index(drop=True)


def link_waves(
    records: pd.DataFrame,
    *,
    pre: str = "pre",
    post: str = "post",
    duplicates: pd.Series | None = None,
) -> pd.DataFrame:
    """The participant-level link report.

    Parameters
    ----------
    records
        Kept submissions (one per participant × wave): ``participant_id``, ``wave``.
    pre, post
        The wave names to pair.
    duplicates
        Removed duplicate submissions per participant (index participant_id).

    Returns
    -------
    pandas.DataFrame
        One row per participant, columns :data:`LINKAGE_COLUMNS`: ``status`` is
        ``matched`` (both waves), ``pre_only``, ``post_only`` or ``other`` (neither);
        ``waves`` lists every wave seen, ``;``-separated.

    Examples
    --------
    >>> recs = pd.DataFrame({"participant_id": ["a", "a", "b", "c"],
    ...                      "wave": ["pre", "post", "pre", "post"]})
    >>> link_waves(recs)[["participant_id", "status"]].values.tolist()
    [['a', 'matched'], ['b', 'pre_only'], ['c', 'post_only']]
    """
    pid = records["participant_id"].astype("string")
    wave = records["wave"].astype("string")
    frame = pd.DataFrame({"participant_id": pid.to_numpy(), "wave": wave.to_numpy()})
    present = (
        frame.assign(seen=True)
        .pivot_table(
            index="participant_id", columns="wave", values="seen", aggfunc="any", fill_value=False
        )
        .astype(bool)
    )
    present = present[sorted(present.columns)]
    nowave = pd.Series(False, index=present.index)
    has_pre = present.get(pre, nowave)
    has_post = present.get(post, nowave)
    waves = np.full(len(present), "", dtype=object)
    for w in present.columns:
        on = present[w].to_numpy()
        waves = np.where(on, np.where(waves == "", w, waves + ";" + str(w)), waves)
    status = np.select(
        [has_pre & has_post, has_pre, has_post],
        ["matched", "pre_only", "post_only"],
        default="other",
    )
    out = pd.DataFrame(
        {
            "participant_id": has_pre.index.astype("string"),
            "status": status,
            "waves": waves,
            "pre": has_pre.to_numpy(dtype=bool),
            "post": has_post.to_numpy(dtype=bool),
        }
    )
    dups = (
        duplicates.reindex(out["participant_id"]).fillna(0).to_numpy(dtype=np.int64)
        if duplicates is not None
        else np.zeros(len(out), dtype=np.int64)
    )
    out["duplicates_removed"] = dups
    return out[LINKAGE_COLUMNS]


def linkage_summary(linkage: pd.DataFrame) -> dict[str, int]:
    """Counts from a link report: participants, matched, pre_only, post_only, duplicates.

    Examples
    --------
    >>> rep = pd.DataFrame({"status": ["matched", "pre_only"], "duplicates_removed": [1, 0]})
    >>> linkage_summary(rep)
    {'participants': 2, 'matched': 1, 'pre_only': 1, 'post_only': 0, 'other': 0, 'duplicates_removed': 1}
    """
    counts = linkage["status"].value_counts()
    return {
        "participants": len(linkage),
        **{s: int(counts.get(s, 0)) for s in ("matched", "pre_only", "post_only", "other")},
        "duplicates_removed": int(linkage["duplicates_removed"].sum()),
    }
