"""Linkage: duplicate submissions and pre/post pairing by pseudonym (stage: link).

Pre and post answers are paired by ``participant_id`` — the keyed pseudonym — never by row
order, so a self-generated linkage code (e.g. mother's initials + birth month) works like
any other id. When a participant answered a wave more than once, one submission is kept by
the study's declared rule (``keep_first`` or ``keep_last``) after a **stable** sort on
(submission time, source order, source row); the others go to the quarantine with rule
``duplicate``, naming the row that was kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import combinations
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api.types import infer_dtype

__all__ = [
    "LINKAGE_COLUMNS",
    "MATCH_STATUS",
    "CodeMatch",
    "link_waves",
    "linkage_summary",
    "match_codes",
    "parse_times",
    "resolve_duplicates",
]

LINKAGE_COLUMNS = ["participant_id", "status", "waves", "pre", "post", "duplicates_removed"]


# Text keys are factorized and ordered on integers: a row's first 8 UTF-8 bytes as one
# big-endian integer order the rows as the text does (byte order is code point order);
# only rows whose first 8 bytes tie are compared as text (for pseudonyms: the same id).
_PREFIX = 8


def _text_codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray, pd.Series]:
    """Codes of the text ``values.astype("string")`` in sorted order (NA → -1).

    Also returns, per code, the position of a row with that text, and the text itself:
    ``text.array.take(rows)`` is the sorted distinct values. The same as
    ``pd.factorize(text, sort=True)``, without hashing or sorting 100,000 long strings.
    """
    text = values.astype("string")
    arr = pa.array(text.array)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    arr = arr.cast(pa.large_string())
    n = len(arr)
    rows = np.flatnonzero(~arr.is_null().to_numpy(zero_copy_only=False))
    codes = np.full(n, -1, dtype=np.int64)
    m = len(rows)
    if not m:
        return codes, rows, text
    # The first 8 bytes of each text (0-padded) as a big-endian integer.
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset : arr.offset + n + 1]
    data_buf = arr.buffers()[2]
    data = (
        np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    )
    starts = offsets[rows]
    lengths = offsets[rows + 1] - starts
    if len(data) == 0:
        key = np.zeros(m, dtype=np.uint64)
    elif (
        (lengths == lengths[0]).all()
        and lengths[0] >= _PREFIX
        and (starts[-1] - starts[0] == lengths[0] * (m - 1))
    ):  # equal lengths, back to back (e.g. pseudonyms): a reshape
        block = data[starts[0] : starts[0] + m * lengths[0]].reshape(m, -1)
        key = np.ascontiguousarray(block[:, :_PREFIX]).view(">u8").ravel().astype(np.uint64)
    else:
        at = starts[:, None] + np.arange(_PREFIX)
        head = data[np.minimum(at, len(data) - 1)]
        head[np.arange(_PREFIX) >= lengths[:, None]] = 0
        key = head.view(">u8").ravel().astype(np.uint64)
    order = np.argsort(key)
    key = key[order]
    tie = key[1:] == key[:-1]
    same = np.zeros(m - 1, dtype=bool)  # row equals the previous one in order
    if tie.any():
        # Rows in runs of equal first bytes: compare (and if need be order) their text.
        in_run = np.zeros(m, dtype=bool)
        in_run[1:] = tie
        in_run[:-1] |= tie
        pos = np.flatnonzero(in_run)
        run = np.cumsum(np.concatenate([[True], ~tie]))[pos]
        sub = arr.take(pa.array(rows[order[pos]]))
        head_of_run = np.concatenate([[True], run[1:] != run[:-1]])
        first = np.flatnonzero(head_of_run)[np.cumsum(head_of_run) - 1]
        if not pc.call_function("all", [_equal(sub, sub.take(pa.array(first)))]).as_py():
            # Different texts share their first bytes: order each run by the whole text.
            perm = pc.call_function(
                "sort_indices",
                [pa.table({"run": run, "text": sub})],
                pc.SortOptions([("run", "ascending"), ("text", "ascending")]),
            ).to_numpy()
            order[pos] = order[pos[perm]]
            sub = sub.take(pa.array(perm))
        eq = _equal(sub[1:], sub[:-1]).to_numpy(zero_copy_only=False)
        inner = run[1:] == run[:-1]
        same[pos[1:][inner] - 1] = eq[inner]
    new = np.concatenate([[True], ~same])
    codes[rows[order]] = np.cumsum(new) - 1
    return codes, rows[order[new]], text


def _equal(a: pa.Array, b: pa.Array) -> pa.Array:
    return pc.call_function("equal", [a, b])


def _order_key(values: pd.Series) -> np.ndarray:
    """Integers that sort like ``values`` in ``sort_values(na_position="first")``."""
    dtype = values.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "biu":
        return values.to_numpy()
    return pd.factorize(values, sort=True)[0]  # the categorical codes pandas sorts by


# Google Forms: "2024/03/02 1:00:00 PM GMT+1", "… GMT", "… GMT-05:30".
_GMT = re.compile(r"\s*(?:GMT|UTC)(?:([+-])(\d{1,2})(?::?(\d{2}))?)?$", re.IGNORECASE)
# Excel serial dates that reached the text as numbers (days since the epoch; 1900 system:
# 1899-12-30 because of Lotus's leap-year bug, 1904 system: 1904-01-01). Plausible range
# only (1927-2119 in the 1900 system), so that a small number is not read as a date.
_SERIAL = re.compile(r"^\d{5}(?:\.\d+)?$")
_EPOCH = {1900: "1899-12-30", 1904: "1904-01-01"}


def _gmt_to_offset(text: pd.Series) -> pd.Series:
    def offset(m: re.Match[str]) -> str:
        sign, hours, minutes = m.group(1) or "+", m.group(2) or "0", m.group(3) or "00"
        return f" {sign}{int(hours):02d}:{minutes}"

    return text.str.replace(_GMT, offset, regex=True)


_LOW, _HIGH = pd.Timestamp("1678-01-01", tz="UTC"), pd.Timestamp("2262-01-01", tz="UTC")


def _in_range(times: pd.Series) -> pd.Series:
    """Nanosecond UTC times; a time outside 1678-2261 (e.g. a year 1462) cannot be read."""
    times = pd.Series(times, copy=False)
    ok = times.isna() | ((times >= _LOW) & (times < _HIGH))
    return times.where(ok).astype("datetime64[ns, UTC]")


def parse_times(values: pd.Series, *, date_system: int = 1900) -> tuple[pd.Series, np.ndarray]:
    """Parse ``submitted_at`` texts to UTC times, each distinct text once.

    Accepts ISO 8601 (offsets may differ from row to row, e.g. across a daylight-saving
    change: every time is converted to UTC; a time without an offset is taken as UTC),
    Google Forms' ``2024/03/02 1:00:00 PM GMT+1``, Excel serial dates that arrive as text
    (``45353.5``; ``date_system`` 1900 or 1904, the workbook's) and the common
    ``day/month``-free forms pandas reads (``2024/03/02 13:00``).

    Returns
    -------
    times : pandas.Series
        ``datetime64[ns, UTC]``, NaT where the cell is empty or cannot be read.
    unreadable : numpy.ndarray
        Boolean mask: a non-empty cell that could not be read.

    Examples
    --------
    >>> t, bad = parse_times(pd.Series(["2024-03-31T01:30:00+00:00", "2024-03-31T02:15:00+01:00",
    ...     "2024/03/02 1:00:00 PM GMT+1", "45353.5", None, "yesterday"]))
    >>> [str(x) for x in t], bad.tolist()  # doctest: +NORMALIZE_WHITESPACE
    (['2024-03-31 01:30:00+00:00', '2024-03-31 01:15:00+00:00', '2024-03-02 12:00:00+00:00',
      '2024-03-02 12:00:00+00:00', 'NaT', 'NaT'], [False, False, False, False, False, True])
    """
    if isinstance(values.dtype, pd.DatetimeTZDtype) or (
        isinstance(values.dtype, np.dtype) and values.dtype.kind == "M"
    ):
        out = pd.to_datetime(values, utc=True)
        return out, np.zeros(len(values), dtype=bool)
    stripped = values.astype("string").str.strip()
    codes, uniques = pd.factorize(stripped.mask(stripped == ""))
    text = pd.Series(uniques, dtype="string")
    parsed = _in_range(pd.to_datetime(text, errors="coerce", format="ISO8601", utc=True))
    todo = parsed.isna() & text.notna()
    if todo.any():
        rest = text[todo]
        serial = rest.str.fullmatch(_SERIAL).fillna(False).astype(bool)
        if serial.any():
            days = pd.to_numeric(rest[serial], errors="coerce").astype(float)
            parsed[serial[serial].index] = _in_range(
                pd.to_datetime(days, unit="D", origin=pd.Timestamp(_EPOCH[date_system]), utc=True)
            ).dt.round("s")
        other = rest[~serial]
        if len(other):
            parsed[other.index] = _in_range(
                pd.to_datetime(_gmt_to_offset(other), errors="coerce", format="mixed", utc=True)
            )
    unreadable = np.append((parsed.isna() & text.notna()).to_numpy(dtype=bool), False)[codes]
    key = np.append(parsed.to_numpy(dtype="datetime64[ns]"), np.datetime64("NaT", "ns"))[codes]
    out = pd.Series(pd.DatetimeIndex(key).tz_localize("UTC"), index=values.index)
    return out, unreadable


def _time_key(records: pd.DataFrame) -> np.ndarray:
    """Integers that sort like the parsed ``submitted_at`` (NaT is the smallest integer;
    :func:`resolve_duplicates` orders a group with one by source order only)."""
    if "submitted_at" not in records:
        return np.zeros(len(records), dtype=np.int64)
    times, _ = parse_times(records["submitted_at"])
    return times.to_numpy(dtype="datetime64[ns]").view(np.int64)


def resolve_duplicates(
    records: pd.DataFrame, *, rule: Literal["keep_first", "keep_last"] = "keep_last"
) -> tuple[np.ndarray, pd.DataFrame]:
    """Choose one submission per participant × wave.

    Parameters
    ----------
    records
        One row per submission with ``participant_id``, ``wave``, ``source`` (file name),
        ``source_order`` (position of the source in the config), ``source_row`` and
        optionally ``submitted_at`` (text read by :func:`parse_times`, or times). A
        participant × wave in which a time is empty or unreadable is ordered by source order
        and row only; ``removed.attrs["untimed_groups"]`` counts them.
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
    pid = _text_codes(records["participant_id"])[0]
    wave = pd.factorize(records["wave"].astype("string"))[0]
    group = (pid + 1) * (int(wave.max(initial=-1)) + 2) + (wave + 1)
    when = _time_key(records)  # every value parsed, as before
    # Only participant × wave groups with more than one submission need ordering.
    dense = group if n == 0 or group.max() < 4 * n + 16 else pd.factorize(group)[0]
    several = np.flatnonzero(np.bincount(dense)[dense] > 1)
    # A group in which a time is missing (or unreadable) is ordered by source order only:
    # NaT never sorts first and decides which submission is kept.
    nat = when == np.iinfo(np.int64).min
    untimed = np.bincount(dense[several], weights=nat[several], minlength=1) > 0
    if untimed.any():
        when = when.copy()
        when[several[untimed[dense[several]]]] = 0
    src = _order_key(records["source_order"])[several]
    row = _order_key(records["source_row"])[several]
    # The stable order on (participant, wave, time, source order, source row).
    order = several[np.lexsort((row, src, when[several], group[several]))]
    g = group[order]
    first = np.ones(len(g), dtype=bool)
    last = np.ones(len(g), dtype=bool)
    first[1:] = last[:-1] = g[1:] != g[:-1]
    kept = first if rule == "keep_first" else last
    keep = np.ones(n, dtype=bool)
    keep[order[~kept]] = False
    kept_row = np.empty(n, dtype=np.int64)
    kept_row[order] = order[kept][np.cumsum(first) - 1]
    removed_pos = np.flatnonzero(~keep)
    target = kept_row[removed_pos]
    source = records["source"]
    source_row = records["source_row"]
    out = pd.DataFrame(
        {
            "position": removed_pos,
            "source": source.iloc[removed_pos].to_numpy(),
            "source_row": source_row.iloc[removed_pos].to_numpy(),
            "kept_source": source.iloc[target].to_numpy() if len(target) else [],
            "kept_source_row": source_row.iloc[target].to_numpy() if len(target) else [],
        }
    )
    out.attrs["untimed_groups"] = int(untimed.sum())
    return keep, out  # already in position order


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
    pid, firsts, text = _text_codes(records["participant_id"])
    wave, wave_values = pd.factorize(records["wave"].astype("string"))
    ok = (pid >= 0) & (wave >= 0)  # as the pivot: rows without an id or wave are dropped
    pid, wave = pid[ok], wave[ok]
    # One boolean column per wave seen, in sorted order; one row per participant.
    n_ids = len(firsts)
    seen = {}
    for j in np.flatnonzero(np.bincount(wave, minlength=len(wave_values))):
        on = np.zeros(n_ids, dtype=bool)
        on[pid[wave == j]] = True
        seen[wave_values[int(j)]] = on
    names = sorted(seen)
    listed = np.zeros(n_ids, dtype=bool)
    listed[pid] = True
    people = None if listed.all() else np.flatnonzero(listed)
    present = np.empty((n_ids if people is None else len(people), len(names)), dtype=bool)
    for i, w in enumerate(names):
        present[:, i] = seen[w] if people is None else seen[w][people]
    nowave = np.zeros(len(present), dtype=bool)
    has_pre = present[:, names.index(pre)] if pre in names else nowave
    has_post = present[:, names.index(post)] if post in names else nowave
    # The ";"-list of waves per distinct pattern of waves seen.
    patterns, which = _distinct_rows(present)
    labels = np.full(len(patterns), "", dtype=object)
    for i, w in enumerate(names):
        on = patterns[:, i]
        labels = np.where(on, np.where(labels == "", w, labels + ";" + str(w)), labels)
    status = np.full(len(present), 3)  # other
    status[has_post] = 2  # post_only
    status[has_pre] = 1  # pre_only
    status[has_pre & has_post] = 0  # matched
    # Text columns are built from their few distinct values (converted once), then taken.
    statuses = np.array(["matched", "pre_only", "post_only", "other"])
    participant_id = text.array.take(firsts if people is None else firsts[people])
    out = pd.DataFrame(
        {
            "participant_id": participant_id,
            "status": pd.Series(statuses).array.take(status),
            "waves": pd.Series(labels).array.take(which),
            "pre": has_pre,
            "post": has_post,
            "duplicates_removed": _duplicate_counts(duplicates, participant_id),
        },
        copy=False,
    )
    return out[LINKAGE_COLUMNS]


def _distinct_rows(flags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of a boolean matrix and each row's index among them."""
    if flags.shape[1] > 62:
        distinct, which = np.unique(flags, axis=0, return_inverse=True)
        return distinct, which.reshape(-1)
    bits = np.zeros(len(flags), dtype=np.int64)
    for i in range(flags.shape[1]):
        bits |= flags[:, i].astype(np.int64) << i
    which, distinct = pd.factorize(bits)
    return (distinct[:, None] >> np.arange(flags.shape[1])) & 1 == 1, which


def _duplicate_counts(
    duplicates: pd.Series | None,
    participant_id: pd.api.extensions.ExtensionArray,
) -> np.ndarray:
    """``duplicates`` per participant (0 when absent), as ``reindex(...).fillna(0)``."""
    n = len(participant_id)
    if duplicates is None:
        return np.zeros(n, dtype=np.int64)
    index = duplicates.index
    if index.is_unique and infer_dtype(index) == "string":
        # Look the few labels up in the participants' text (not the reverse).
        found = pc.call_function(
            "index_in",
            [pa.array(participant_id)],
            pc.SetLookupOptions(pa.array(index.astype("string").array)),
        )
        at = found.fill_null(-1).to_numpy(zero_copy_only=False)
        counts = duplicates.to_numpy()
        if counts.dtype.kind in "iu":
            out = np.zeros(n, dtype=np.int64)
            hit = at >= 0
            out[hit] = counts[at[hit]]
            return out
        return duplicates.reset_index(drop=True).reindex(at).fillna(0).to_numpy(dtype=np.int64)
    return duplicates.reindex(pd.Index(participant_id)).fillna(0).to_numpy(dtype=np.int64)


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


MATCH_STATUS = ("exact", "tolerant", "ambiguous", "unlinked")
"""How a self-generated code fared in :func:`match_codes` (codes into this tuple)."""


@dataclass(frozen=True)
class CodeMatch:
    """The links between two waves' distinct codes.

    Attributes
    ----------
    left, right
        Linked pairs: positions in the left and right code tables.
    tolerant
        Per pair, True when the codes differ in some component (linked by the tolerance).
    left_status, right_status
        Per code, its position in :data:`MATCH_STATUS`: linked ``exact`` or ``tolerant``;
        ``ambiguous`` (a candidate within the tolerance, but no unique mutual best one);
        ``unlinked`` (no candidate).
    """

    left: np.ndarray
    right: np.ndarray
    tolerant: np.ndarray
    left_status: np.ndarray
    right_status: np.ndarray


def _candidates(a: np.ndarray, b: np.ndarray, agree: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i, j) of rows of ``a`` and ``b`` equal on at least ``agree`` components (a
    negative code, an empty component, equals nothing): one join per set of ``agree``
    components (blocking), the union of the pairs."""
    k = a.shape[1]
    ii: list[np.ndarray] = []
    jj: list[np.ndarray] = []
    names = [f"c{x}" for x in range(k)]
    left = pd.DataFrame(a, columns=names).assign(i=np.arange(len(a)))
    right = pd.DataFrame(b, columns=names).assign(j=np.arange(len(b)))
    for block in combinations(range(k), agree):
        at = list(block)
        cols = [names[x] for x in at]
        lk = left[(a[:, at] >= 0).all(axis=1)]
        rk = right[(b[:, at] >= 0).all(axis=1)]
        pairs = lk[[*cols, "i"]].merge(rk[[*cols, "j"]], on=cols, how="inner")
        ii.append(pairs["i"].to_numpy(dtype=np.int64))
        jj.append(pairs["j"].to_numpy(dtype=np.int64))
    i, j = np.concatenate(ii), np.concatenate(jj)
    key = np.unique(i * max(len(b), 1) + j)
    return key // max(len(b), 1), key % max(len(b), 1)


def _unique_best(who: np.ndarray, dist: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per code: its smallest distance over the candidate pairs, and whether one pair has it."""
    best = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(best, who, dist)
    at_best = dist == best[who]
    return best, np.bincount(who[at_best], minlength=n) == 1


def match_codes(left: np.ndarray, right: np.ndarray, *, tolerance: int) -> CodeMatch:
    """Link two waves' distinct self-generated codes: exactly, then within ``tolerance``.

    Parameters
    ----------
    left, right
        One row per distinct code, one column per component: integer codes of the
        normalised answers, shared by both tables (equal answer, equal integer); negative
        for an empty component, which agrees with nothing.
    tolerance
        The most components in which two linked codes may differ.

    Returns
    -------
    CodeMatch
        Exact links first: codes equal in every component (none empty). Among the codes
        left, a pair whose codes differ in at most ``tolerance`` components is linked when
        each is the other's *unique* closest candidate; a code with two or more equally
        close candidates — on either side — is never linked (``ambiguous``), nor are they.

    Examples
    --------
    >>> pre = np.array([[0, 3, 2], [1, 5, 0], [2, 7, 1], [4, 1, 1]])
    >>> post = np.array([[0, 3, 2], [1, 5, 9], [2, 8, 1], [2, 7, 3], [5, 5, 5]])
    >>> m = match_codes(pre, post, tolerance=1)
    >>> m.left.tolist(), m.right.tolist(), m.tolerant.tolist()
    ([0, 1], [0, 1], [False, True])
    >>> [MATCH_STATUS[s] for s in m.left_status], [MATCH_STATUS[s] for s in m.right_status]
    (['exact', 'tolerant', 'ambiguous', 'unlinked'], ['exact', 'tolerant', 'ambiguous', 'ambiguous', 'unlinked'])
    """
    left = np.asarray(left, dtype=np.int64)
    right = np.asarray(right, dtype=np.int64)
    k = left.shape[1]
    n_l, n_r = len(left), len(right)
    left_status = np.full(n_l, 3, dtype=np.int8)
    right_status = np.full(n_r, 3, dtype=np.int8)
    # Exact: equal in every component, none empty (distinct codes: at most one partner).
    i, j = _candidates(left, right, k) if n_l and n_r else (np.zeros(0, np.int64),) * 2
    left_status[i] = right_status[j] = 0
    pairs_i, pairs_j, tol = [i], [j], [np.zeros(len(i), dtype=bool)]
    rest_l, rest_r = np.flatnonzero(left_status == 3), np.flatnonzero(right_status == 3)
    if tolerance > 0 and len(rest_l) and len(rest_r):
        a, b = left[rest_l], right[rest_r]
        ci, cj = _candidates(a, b, k - tolerance)
        dist = ((a[ci] != b[cj]) | (a[ci] < 0) | (b[cj] < 0)).sum(axis=1)
        best_l, one_l = _unique_best(ci, dist, len(a))
        best_r, one_r = _unique_best(cj, dist, len(b))
        link = (dist == best_l[ci]) & one_l[ci] & (dist == best_r[cj]) & one_r[cj]
        left_status[rest_l[ci]] = 2  # a candidate: ambiguous unless linked below
        right_status[rest_r[cj]] = 2
        left_status[rest_l[ci[link]]] = right_status[rest_r[cj[link]]] = 1
        pairs_i.append(rest_l[ci[link]])
        pairs_j.append(rest_r[cj[link]])
        tol.append(np.ones(int(link.sum()), dtype=bool))
    return CodeMatch(
        left=np.concatenate(pairs_i),
        right=np.concatenate(pairs_j),
        tolerant=np.concatenate(tol),
        left_status=left_status,
        right_status=right_status,
    )
