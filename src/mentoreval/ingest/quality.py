"""Careless-responding flags per participant × wave (stage: check). They **flag, never drop**.

Distressed students genuinely give uniform or extreme answers, and longstring and
Mahalanobis distance correlate with trait level, so excluding flagged rows would bias
wellbeing upward. These indices are reported (``quality.csv``) for a sensitivity analysis.

==================  =========================================================================
index               definition (rule)
==================  =========================================================================
speeder             ``duration / items shown < 2 s`` (Huang et al. 2012), where a duration exists
                    (without one ``seconds_per_item`` is NaN and nobody is flagged: the
                    reports say "not available (no duration column)", never "0 too fast")
longstring          longest run of identical consecutive answers over the item sequence
                    (R ``careless::longstring``); flagged at ≥ the items of the longest scale,
                    only for responses shown at least ``longstring_min_items`` (10) items
irv                 intra-individual response variability: the SD of a person's answers
                    (``careless::irv``, ddof 1); flagged when 0 over ≥ 10 answered items
attention           answers to declared attention-check items that differ from the expected one
mahalanobis         D² of complete answer vectors within a wave; p from χ² with df = number of
                    items (not respondents, as ``careless::mahad`` does); flagged at p < .001
==================  =========================================================================

Why a minimum for longstring: a run of identical answers is evidence of careless
responding only when attentive people rarely produce one, i.e. on long questionnaires
whose items change direction (Johnson 2005 and Meade & Craig 2012, doi:10.1037/a0028085,
used it on inventories of hundreds of items; Curran 2016, doi:10.1016/j.jesp.2015.07.006,
recommends conservative cut-offs and counting runs across reverse-keyed items). On a 2- or
3-item scale, answering "agree" twice is the ordinary answer of a consistent respondent
(half of a real 500-respondent cohort was flagged), so the flag is not applied to
responses shown fewer than 10 items — the same floor as the IRV flag, whose row SD is
equally uninformative on a handful of items. ``quality.longstring_min_items`` changes it.

Everything is vectorised over respondents (loops run over items, waves or blocks of rows
only); the row indices share one pass over the answer matrix.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd
from scipy import special

from mentoreval.config.study_model import AttentionCheck
from mentoreval.ingest.recode import normalise_label

__all__ = [
    "QUALITY_COLUMNS",
    "attention_failures",
    "flag_quality",
    "irv",
    "longstring",
    "mahalanobis",
]

QUALITY_COLUMNS = [
    "n_items",
    "n_answered",
    "seconds_per_item",
    "speeder",
    "longstring",
    "longstring_flag",
    "irv",
    "irv_flag",
    "attention_failed",
    "attention_flag",
    "mahalanobis_d2",
    "mahalanobis_p",
    "mahalanobis_flag",
    "any_flag",
]


# The per-row indices are computed from row blocks of about this many cells (256 KiB of
# float64, which stay in the CPU cache): the answer matrix is read once and no
# matrix-sized temporaries are made.
_BLOCK_CELLS = 1 << 15
# The longest-run loop over items runs on about this many rows at a time.
_RUN_ROWS = 1 << 14


def _blocks(n: int, rows: int) -> list[tuple[int, int]]:
    """Consecutive [start, stop) row blocks of ``rows`` rows; the last one takes the rest."""
    starts = list(range(0, n, rows)) or [0]
    if len(starts) > 1 and n - starts[-1] < rows:
        starts.pop()  # merge a short tail into the previous block
    return [(a, starts[i + 1] if i + 1 < len(starts) else n) for i, a in enumerate(starts)]


def _row_stats(
    x: np.ndarray, *, runs: bool = True, sd: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Missing answers, longest identical run and SD (ddof 1) of every row of ``x``.

    One pass over row blocks: each block's NaN mask (and the flat positions of its few
    missing cells) is computed once and shared. The SD adds in the same order as
    whole-matrix row sums (its work block has the layout of ``x``).
    """
    n, k = x.shape
    n_missing = np.zeros(n, dtype=np.int64)
    longest = np.zeros(n, dtype=np.int64)
    ss = np.zeros(n)
    if n and k:
        blocks = _blocks(n, max(1, _BLOCK_CELLS // k))
        size = max(b - a for a, b in blocks)
        miss_buf = np.empty((size, k), dtype=bool)
        brk_buf = np.empty((size, k), dtype=bool)
        work_buf = np.empty((size, k)) if x.flags.c_contiguous else None
        # Run starts of several blocks, items × rows, so the loop over items is short.
        group = size * max(1, _RUN_ROWS // size)
        starts = np.empty((k, group), dtype=bool)
        pending = 0  # rows in starts, ending before row a
        with np.errstate(invalid="ignore", divide="ignore"):
            for a, b in blocks:
                xb = x[a:b]
                m = b - a
                miss = np.isnan(xb, out=miss_buf[:m])
                flat = np.flatnonzero(miss)
                nm = n_missing[a:b]
                nm[:] = np.bincount(flat // k, minlength=m)
                if runs:
                    if pending + m > group:
                        longest[a - pending : a] = _longest_runs(starts[:, :pending])
                        pending = 0
                    # A run starts where an answer differs from the previous one (NaN
                    # differs from everything, so a missing answer is a run of one).
                    xf = np.ascontiguousarray(xb).reshape(-1)
                    brk = brk_buf[:m]
                    np.not_equal(xf[1:], xf[:-1], out=brk.reshape(-1)[1:])
                    brk[:, 0] = True
                    np.copyto(starts[:, pending : pending + m], brk.T)
                    pending += m
                if sd:
                    work = np.empty_like(xb) if work_buf is None else work_buf[:m]
                    ss[a:b] = _sum_squares(xb, work, miss, flat, k - nm)
        if runs:
            longest[n - pending :] = _longest_runs(starts[:, :pending])
            longest[n_missing == k] = 0  # every answer missing: no run at all
    n_ok = k - n_missing
    with np.errstate(invalid="ignore", divide="ignore"):
        sds = np.where(n_ok >= 2, np.sqrt(ss / (n_ok - 1)), np.nan)
    return n_missing, longest, sds


def _longest_runs(starts: np.ndarray) -> np.ndarray:
    """Longest run per row from where runs start (items × rows, booleans)."""
    k = starts.shape[0]
    run_type = np.int8 if k < 127 else np.int16 if k < 32767 else np.int64
    col = np.arange(1, k + 1, dtype=run_type)[:, None]
    # last[j]: the item where the run through item j started (the latest start so far);
    # that run is j + 1 - last[j] answers long.
    last = np.multiply(starts, col - 1, dtype=run_type)
    for j in range(1, k):
        np.maximum(last[j - 1], last[j], out=last[j])
    np.subtract(col, last, out=last)
    return last.max(axis=0)


def _sum_squares(
    xb: np.ndarray, work: np.ndarray, miss: np.ndarray, flat: np.ndarray, n_ok: np.ndarray
) -> np.ndarray:
    """Per row: the sum of squared deviations of the answered items from their mean."""

    def zero_missing() -> None:
        if work.flags.c_contiguous:
            work.reshape(-1)[flat] = 0.0
        else:
            np.copyto(work, 0.0, where=miss)

    np.copyto(work, xb)
    zero_missing()  # NaN → 0: the row sums of nansum
    sums = work.sum(axis=1)
    mean = sums / n_ok
    if np.isfinite(sums).all():  # no infinite answers: the missing cells are the NaN ones
        np.subtract(work, mean[:, None], out=work)
        np.multiply(work, work, out=work)
        zero_missing()
    else:  # inf - inf is NaN too, and counts as 0
        np.subtract(xb, mean[:, None], out=work)
        np.multiply(work, work, out=work)
        np.copyto(work, 0.0, where=np.isnan(work))
    return work.sum(axis=1)


def longstring(values: np.ndarray) -> np.ndarray:
    """Longest run of identical consecutive answers per row (missing answers break a run).

    Examples
    --------
    >>> longstring(np.array([[1, 1, 2, 2, 2], [3, np.nan, 3, 3, 1], [np.nan] * 5]))
    array([3, 2, 0])
    """
    return _row_stats(np.asarray(values, dtype=float), sd=False)[1]


def irv(values: np.ndarray) -> np.ndarray:
    """Intra-individual response variability: the row SD (ddof 1) of the answered items.

    Examples
    --------
    >>> irv(np.array([[1, 2, 3], [2, 2, np.nan], [4, np.nan, np.nan]])).round(3).tolist()
    [1.0, 0.0, nan]
    """
    return _row_stats(np.asarray(values, dtype=float), runs=False)[2]


# Mahalanobis distances are computed on row blocks of about this many cells (512 KiB of
# float64): the centred block and its product with the inverse covariance stay in the CPU
# cache, and no matrix-sized copy is made.
_MAHA_CELLS = 1 << 16


def _centred_blocks(
    x: np.ndarray,
    use: np.ndarray | None,
    mean: np.ndarray,
    blocks: list[tuple[int, int]],
    buf: np.ndarray,
) -> Iterator[tuple[np.ndarray, np.ndarray | None, int, int]]:
    """Yield ``(block - mean, rows used, a, b)`` for the row ``blocks`` [a, b) of ``x`` (only
    the rows where ``use`` is true, when given), each written into ``buf``."""
    for a, b in blocks:
        if use is None:
            rows = None
            block = x[a:b]
        else:
            rows = np.flatnonzero(use[a:b])
            block = x[a:b][rows]
        yield np.subtract(block, mean, out=buf[: len(block)]), rows, a, b


def _mahalanobis_group(x: np.ndarray, use: np.ndarray | None, m: int) -> np.ndarray:
    """D² of the rows of ``x`` where ``use`` is true (every row when None), against their own
    mean and covariance; NaN elsewhere.

    Two passes over row blocks: the first sums the cross-products of the centred rows
    (the covariance), the second forms ``(c @ inv) * c`` per block and sums each row.
    """
    n, k = x.shape
    blocks = _blocks(n, max(1, _MAHA_CELLS // max(k, 1)))
    size = max(b - a for a, b in blocks)
    buf = np.empty((size, k))
    prod = np.empty((size, k))
    if use is None:
        mean = x.mean(axis=0)
    else:
        total = np.zeros(k)
        for a, b in blocks:
            total += x[a:b][use[a:b]].sum(axis=0)
        mean = total / m
    cov = np.zeros((k, k))
    for c, _, _, _ in _centred_blocks(x, use, mean, blocks, buf):
        cov += c.T @ c
    inv = np.linalg.pinv(cov / (m - 1))
    d2 = np.full(n, np.nan)
    for c, sel, a, b in _centred_blocks(x, use, mean, blocks, buf):
        p = np.matmul(c, inv, out=prod[: len(c)])
        p *= c
        if sel is None:
            np.add.reduce(p, axis=1, out=d2[a:b])
        else:
            d2[a:b][sel] = p.sum(axis=1)
    return d2


def _mahalanobis_within(
    x: np.ndarray, complete: np.ndarray, labels: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """D² and p of the complete rows within each group of ``labels`` (None: one group)."""
    n, k = x.shape
    d2 = np.full(n, np.nan)
    codes = [0] if labels is None else np.flatnonzero(np.bincount(labels + 1)) - 1
    for code in codes:
        use = complete if labels is None or len(codes) == 1 else complete & (labels == code)
        m = int(np.count_nonzero(use))
        if k == 0 or m <= k + 1:
            continue  # no more complete rows than items: nothing is computed
        part = _mahalanobis_group(x, None if m == n else use, m)
        if m == n:
            d2 = part
        else:
            d2[use] = part[use]
    p = special.chdtrc(k, d2)  # the χ² survival function, as scipy.stats.chi2.sf; NaN stays NaN
    return d2, p


def mahalanobis(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Squared Mahalanobis distance of each complete row, and its χ²(df = items) p-value.

    Rows with a missing answer get NaN. The covariance uses the complete rows (a
    pseudo-inverse guards against singular matrices); with no more complete rows than
    items, nothing is computed.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> x = rng.normal(size=(200, 4))
    >>> x[0] = [6, -6, 6, -6]
    >>> d2, p = mahalanobis(x)
    >>> bool(p[0] < 0.001), int((p < 0.001).sum())
    (True, 1)
    """
    x = np.asarray(values, dtype=float)
    n_missing = _row_stats(x, runs=False, sd=False)[0]
    return _mahalanobis_within(x, n_missing == 0, None)


def flag_quality(
    values: np.ndarray,
    *,
    groups: np.ndarray | None = None,
    duration: np.ndarray | None = None,
    n_items: np.ndarray | None = None,
    attention_failed: np.ndarray | None = None,
    longstring_at: int,
    longstring_min_items: int = 10,
    speeder_seconds_per_item: float = 2.0,
    irv_min_items: int = 10,
    mahalanobis_alpha: float = 0.001,
) -> pd.DataFrame:
    """Compute every quality index and flag for a respondents × items answer matrix.

    Parameters
    ----------
    values
        Answers as stored (NaN when missing), one row per participant × wave.
    groups
        Group label per row (the wave); Mahalanobis distance is computed within groups.
    duration
        Seconds per row (NaN when unknown); the speeder flag needs it.
    n_items
        Items shown per row (default: every column of ``values``).
    attention_failed
        Number of failed attention checks per row.
    longstring_at
        Flag a longest identical run of at least this many answers.
    longstring_min_items
        Apply the longstring flag only to rows shown at least this many items.
    speeder_seconds_per_item, irv_min_items, mahalanobis_alpha
        Thresholds (see the module docstring).

    Returns
    -------
    pandas.DataFrame
        One row per input row, columns :data:`QUALITY_COLUMNS`.

    Examples
    --------
    >>> x = np.array([[1, 1, 1, 1], [1, 2, 3, 4]])
    >>> q = flag_quality(x, duration=np.array([4.0, 60.0]), longstring_at=4,
    ...                  longstring_min_items=4, irv_min_items=4)
    >>> q[["speeder", "longstring", "longstring_flag", "irv_flag", "any_flag"]].values.tolist()
    [[True, 4, True, True, True], [False, 1, False, False, False]]
    """
    x = np.asarray(values, dtype=float)
    n, k = x.shape
    if duration is None:
        duration = np.full(n, np.nan)
    shown = np.full(n, k, dtype=np.int64) if n_items is None else np.array(n_items, dtype=np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_item = np.where(
            shown > 0, np.asarray(duration, dtype=float) / np.maximum(shown, 1), np.nan
        )
    speeder = per_item < speeder_seconds_per_item  # NaN compares False
    # One pass over the matrix gives every row's missing count, longest run and SD.
    n_missing, ls, sd = _row_stats(x)
    answered = k - n_missing
    labels = (
        None
        if groups is None
        else pd.factorize(groups if isinstance(groups, np.ndarray) else pd.Series(groups))[0]
    )
    d2, p = _mahalanobis_within(x, n_missing == 0, labels)
    failed = (
        np.zeros(n, dtype=np.int64)
        if attention_failed is None
        else np.array(attention_failed, dtype=np.int64)
    )
    ls_flag = (ls >= longstring_at) & (shown >= longstring_min_items)
    irv_flag = (answered >= irv_min_items) & (sd == 0)
    attention_flag = failed > 0
    mahalanobis_flag = p < mahalanobis_alpha
    return pd.DataFrame(
        {
            "n_items": shown,
            "n_answered": answered,
            "seconds_per_item": per_item,
            "speeder": speeder,
            "longstring": ls,
            "longstring_flag": ls_flag,
            "irv": sd,
            "irv_flag": irv_flag,
            "attention_failed": failed,
            "attention_flag": attention_flag,
            "mahalanobis_d2": d2,
            "mahalanobis_p": p,
            "mahalanobis_flag": mahalanobis_flag,
            "any_flag": speeder | ls_flag | irv_flag | attention_flag | mahalanobis_flag,
        },
        copy=False,  # every column is a fresh array (no consolidating copy)
    )


def attention_failures(
    kept: pd.DataFrame, checks: Sequence[AttentionCheck], columns: list[str]
) -> np.ndarray:
    """Failed attention checks per record (``quality.attention_checks``) of an export's
    text cells; a check whose column is not in ``columns`` is skipped."""
    failed = np.zeros(len(kept), dtype=np.int64)
    for check in checks:
        if check.column not in columns:
            continue
        cells = kept[check.column].astype("string")
        expected = normalise_label(str(check.expected))
        norm = cells.fillna("").map(normalise_label)
        num = pd.to_numeric(norm, errors="coerce")
        exp_num = pd.to_numeric(pd.Series([expected]), errors="coerce").iloc[0]
        same = (norm == expected) | (num == exp_num if not pd.isna(exp_num) else False)
        failed += ((norm != "") & ~same).to_numpy(dtype=bool)
    return failed
