"""Multiplicity adjustment as R's ``p.adjust`` computes it.

statsmodels' ``multipletests`` defaults to Holm–Šidák, not Holm; these functions name the
method explicitly and return adjusted p-values (never only reject flags).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from mentoreval.stats._common import as_float_array, check_choice

__all__ = ["PAdjust", "adjust_pvalues"]

PAdjust = Literal["holm", "bh", "bonferroni", "none"]
_METHODS = ("holm", "bh", "bonferroni", "none")


def adjust_pvalues(p: npt.ArrayLike, *, method: PAdjust = "holm") -> np.ndarray:
    """Adjust p-values for multiple testing, matching R's ``p.adjust``.

    Parameters
    ----------
    p
        The unadjusted p-values (one family). NaN entries are left NaN and do not count
        towards the family size, as in R.
    method
        ``"holm"`` (Holm 1979 step-down; use for the pre-specified primary outcomes),
        ``"bh"`` (Benjamini–Hochberg false discovery rate; exploratory analyses),
        ``"bonferroni"`` or ``"none"``.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values in the input order, capped at 1.

    Examples
    --------
    R: ``p.adjust(c(.01, .02, .03, .04, .05, .20), "holm")``

    >>> adjust_pvalues([.01, .02, .03, .04, .05, .20], method="holm").round(4).tolist()
    [0.06, 0.1, 0.12, 0.12, 0.12, 0.2]
    >>> adjust_pvalues([.01, .02, .03, .04, .05, .20], method="bh").round(4).tolist()
    [0.06, 0.06, 0.06, 0.06, 0.06, 0.2]
    """
    check_choice(method, name="method", choices=_METHODS)
    arr = as_float_array(np.atleast_1d(np.asarray(p, dtype=float)), name="p")
    out = np.full_like(arr, np.nan)
    ok = ~np.isnan(arr)
    q = arr[ok]
    m = q.size
    if m == 0:
        return out
    if method == "none":
        adj = q.copy()
    elif method == "bonferroni":
        adj = np.minimum(q * m, 1.0)
    elif method == "holm":
        order = np.argsort(q, kind="mergesort")
        stepped = np.maximum.accumulate((m - np.arange(m)) * q[order])
        adj = np.empty(m)
        adj[order] = np.minimum(stepped, 1.0)
    else:  # bh
        order = np.argsort(q, kind="mergesort")[::-1]
        stepped = np.minimum.accumulate(m / np.arange(m, 0, -1) * q[order])
        adj = np.empty(m)
        adj[order] = np.minimum(stepped, 1.0)
    out[ok] = adj
    return out
