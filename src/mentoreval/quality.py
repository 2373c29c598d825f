"""Careless-responding flags per participant × wave (stage: check). They **flag, never drop**.

Distressed students genuinely give uniform or extreme answers, and longstring and
Mahalanobis distance correlate with trait level, so excluding flagged rows would bias
wellbeing upward. These indices are reported (``quality.csv``) for a sensitivity analysis.

==================  =========================================================================
index               definition (rule)
==================  =========================================================================
speeder             ``duration / items shown < 2 s`` (Huang et al. 2012), where a duration exists
longstring          longest run of identical consecutive answers over the item sequence
                    (R ``careless::longstring``); flagged at ≥ the items of the longest scale
irv                 intra-individual response variability: the SD of a person's answers
                    (``careless::irv``, ddof 1); flagged when 0 over ≥ 10 answered items
attention           answers to declared attention-check items that differ from the expected one
mahalanobis         D² of complete answer vectors within a wave; p from χ² with df = number of
                    items (not respondents, as ``careless::mahad`` does); flagged at p < .001
==================  =========================================================================

Everything is vectorised over respondents (loops run over items or waves only).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["QUALITY_COLUMNS", "flag_quality", "irv", "longstring", "mahalanobis"]

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


def longstring(values: np.ndarray) -> np.ndarray:
    """Longest run of identical consecutive answers per row (missing answers break a run).

    Examples
    --------
    >>> longstring(np.array([[1, 1, 2, 2, 2], [3, np.nan, 3, 3, 1], [np.nan] * 5]))
    array([3, 2, 0])
    """
    x = np.asarray(values, dtype=float)
    n, k = x.shape
    if k == 0:
        return np.zeros(n, dtype=np.int64)
    # Whole-matrix comparisons once (boolean, 1 byte a cell); runs fit in a small integer.
    ok = ~np.isnan(x)
    same = x[:, 1:] == x[:, :-1]  # NaN never equals, so a missing answer breaks a run
    run_type = np.int16 if k < np.iinfo(np.int16).max else np.int64
    run = ok[:, 0].astype(run_type)
    best = run.copy()
    step = np.empty(n, dtype=run_type)
    for j in range(1, k):
        np.add(run, 1, out=step)
        np.copyto(step, ok[:, j], where=~same[:, j - 1])
        run, step = step, run
        np.maximum(best, run, out=best)
    return best.astype(np.int64)


def irv(values: np.ndarray) -> np.ndarray:
    """Intra-individual response variability: the row SD (ddof 1) of the answered items.

    Examples
    --------
    >>> irv(np.array([[1, 2, 3], [2, 2, np.nan], [4, np.nan, np.nan]])).round(3).tolist()
    [1.0, 0.0, nan]
    """
    x = np.asarray(values, dtype=float)
    missing = np.isnan(x)
    n_ok = x.shape[1] - missing.sum(axis=1)
    # The same sums as nansum (NaN → 0, then a row sum), with one scratch matrix.
    work = np.where(missing, 0.0, x)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = work.sum(axis=1) / n_ok
        np.subtract(x, mean[:, None], out=work)
        np.multiply(work, work, out=work)
        np.copyto(work, 0.0, where=np.isnan(work))
        ss = work.sum(axis=1)
        return np.where(n_ok >= 2, np.sqrt(ss / (n_ok - 1)), np.nan)


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
    n, k = x.shape
    d2 = np.full(n, np.nan)
    complete = ~np.isnan(x).any(axis=1)
    m = int(complete.sum())
    if k == 0 or m <= k + 1:
        return d2, np.full(n, np.nan)
    xc = x if m == n else x[complete]  # no copy when every row is complete
    centred = xc - xc.mean(axis=0)
    cov = centred.T @ centred / (m - 1)
    inv = np.linalg.pinv(cov)
    prod = centred @ inv
    prod *= centred  # in place: the same products, one temporary fewer
    if m == n:
        d2 = prod.sum(axis=1)
    else:
        d2[complete] = prod.sum(axis=1)
    return d2, stats.chi2.sf(d2, df=k)


def flag_quality(
    values: np.ndarray,
    *,
    groups: np.ndarray | None = None,
    duration: np.ndarray | None = None,
    n_items: np.ndarray | None = None,
    attention_failed: np.ndarray | None = None,
    longstring_at: int,
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
    speeder_seconds_per_item, irv_min_items, mahalanobis_alpha
        Thresholds (see the module docstring).

    Returns
    -------
    pandas.DataFrame
        One row per input row, columns :data:`QUALITY_COLUMNS`.

    Examples
    --------
    >>> x = np.array([[1, 1, 1, 1], [1, 2, 3, 4]])
    >>> q = flag_quality(x, duration=np.array([4.0, 60.0]), longstring_at=4, irv_min_items=4)
    >>> q[["speeder", "longstring", "longstring_flag", "irv_flag", "any_flag"]].values.tolist()
    [[True, 4, True, True, True], [False, 1, False, False, False]]
    """
    x = np.asarray(values, dtype=float)
    n, k = x.shape
    answered = (~np.isnan(x)).sum(axis=1)
    if duration is None:
        duration = np.full(n, np.nan)
    shown = (
        np.full(n, k, dtype=np.int64) if n_items is None else np.asarray(n_items, dtype=np.int64)
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        per_item = np.where(
            shown > 0, np.asarray(duration, dtype=float) / np.maximum(shown, 1), np.nan
        )
    speeder = per_item < speeder_seconds_per_item  # NaN compares False
    ls = longstring(x)
    sd = irv(x)
    d2 = np.full(n, np.nan)
    p = np.full(n, np.nan)
    labels = np.zeros(n, dtype=np.int64) if groups is None else pd.factorize(pd.Series(groups))[0]
    uniq = np.unique(labels)
    if len(uniq) == 1:  # one wave: no copy of the matrix
        d2, p = mahalanobis(x)
    else:
        for g in uniq:
            rows = np.flatnonzero(labels == g)
            d2[rows], p[rows] = mahalanobis(x[rows])
    failed = (
        np.zeros(n, dtype=np.int64)
        if attention_failed is None
        else np.asarray(attention_failed, dtype=np.int64)
    )
    out = pd.DataFrame(
        {
            "n_items": shown,
            "n_answered": answered.astype(np.int64),
            "seconds_per_item": per_item,
            "speeder": speeder,
            "longstring": ls,
            "longstring_flag": ls >= longstring_at,
            "irv": sd,
            "irv_flag": (answered >= irv_min_items) & (sd == 0),
            "attention_failed": failed,
            "attention_flag": failed > 0,
            "mahalanobis_d2": d2,
            "mahalanobis_p": p,
            "mahalanobis_flag": p < mahalanobis_alpha,
        }
    )
    flags = ["speeder", "longstring_flag", "irv_flag", "attention_flag", "mahalanobis_flag"]
    out["any_flag"] = out[flags].any(axis=1)
    return out
