"""Cut-offs (bands) before and after: proportions and McNemar's test per band.

McNemar is computed as R's ``mcnemar.test`` (chi-squared with continuity correction) by
default; statsmodels' ``mcnemar`` defaults to the exact binomial test instead.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from mentoreval.errors import DataError
from mentoreval.stats._common import check_choice, to_prepost

__all__ = ["McNemarMethod", "compare_bands", "mcnemar_test"]

McNemarMethod = Literal["chisq_corrected", "chisq", "exact"]
_MCNEMAR = ("chisq_corrected", "chisq", "exact")


def mcnemar_test(
    table: npt.ArrayLike, *, method: McNemarMethod = "chisq_corrected"
) -> tuple[float, float]:
    """McNemar's test for a paired 2×2 table ``[[a, b], [c, d]]`` (rows pre, columns post).

    Parameters
    ----------
    table
        2×2 counts.
    method
        ``"chisq_corrected"`` (R's ``mcnemar.test`` default: (|b − c| − 1)² / (b + c)),
        ``"chisq"`` (``correct = FALSE``) or ``"exact"`` (two-sided binomial test of b out
        of b + c, as ``exact2x2``/statsmodels' default; the statistic is then min(b, c)).

    Returns
    -------
    tuple of float
        ``(statistic, p_value)``; NaN when b + c = 0.

    Examples
    --------
    >>> stat, p = mcnemar_test([[794, 86], [150, 570]])
    >>> round(stat, 4), f"{p:.4g}"
    (16.8178, '4.115e-05')
    """
    check_choice(method, name="method", choices=_MCNEMAR)
    t = np.asarray(table, dtype=float)
    if t.shape != (2, 2):
        raise DataError(f"McNemar needs a 2x2 table, got shape {t.shape}")
    b, c = t[0, 1], t[1, 0]
    if b + c == 0:
        return (float("nan"), float("nan"))
    if method == "exact":
        p = stats.binomtest(int(b), int(b + c), 0.5).pvalue
        return (float(min(b, c)), float(p))
    num = (abs(b - c) - 1) ** 2 if method == "chisq_corrected" else (b - c) ** 2
    stat = num / (b + c)
    return (float(stat), float(stats.chi2.sf(stat, 1)))


def compare_bands(
    scores: pd.DataFrame,
    *,
    pre: str = "pre",
    post: str = "post",
    method: McNemarMethod = "chisq_corrected",
) -> pd.DataFrame:
    """Proportion of participants in each band before and after, with McNemar per band.

    Only participants with a band at both waves count (paired proportions). For each band
    the pairs are dichotomised as in the band or not, and McNemar's test compares the
    moves into and out of it.

    Parameters
    ----------
    scores
        The long ``scores`` table; needs ``band``.
    pre, post
        Wave names.
    method
        McNemar variant; see :func:`mcnemar_test`.

    Returns
    -------
    pandas.DataFrame
        One row per instrument × scale × band: ``instrument``, ``scale``, ``band``,
        ``n_pairs``, ``n_pre``, ``prop_pre``, ``n_post``, ``prop_post``, ``n_entered``
        (not in the band before, in it after), ``n_left``, ``statistic``, ``p_value``,
        ``method``.

    Examples
    --------
    >>> s = pd.DataFrame({"participant_id": list("abcdabcd"), "wave": ["pre"] * 4 + ["post"] * 4,
    ...     "instrument": "who5", "scale": "total", "score": [30.0, 40, 60, 70, 60, 45, 65, 80],
    ...     "band": ["low", "low", "ok", "ok", "ok", "low", "ok", "ok"]})
    >>> compare_bands(s)[["band", "n_pairs", "prop_pre", "prop_post", "n_entered", "n_left"]]
      band  n_pairs  prop_pre  prop_post  n_entered  n_left
    0  low        4       0.5       0.25          0       1
    1   ok        4       0.5       0.75          1       0
    """
    check_choice(method, name="method", choices=_MCNEMAR)
    wide = to_prepost(scores, pre=pre, post=post)
    if "band_pre" not in wide.columns:
        raise DataError("scores has no 'band' column; bands come from scoring")
    both = wide.dropna(subset=["band_pre", "band_post"])
    rows = []
    for (instrument, scale), g in both.groupby(["instrument", "scale"], sort=True):
        bands = sorted(set(g["band_pre"].astype(str)) | set(g["band_post"].astype(str)))
        bp = g["band_pre"].astype(str).to_numpy()
        bq = g["band_post"].astype(str).to_numpy()
        n = bp.size
        for band in bands:
            a_pre = bp == band
            a_post = bq == band
            entered = int((~a_pre & a_post).sum())
            left = int((a_pre & ~a_post).sum())
            table = [[int((a_pre & a_post).sum()), left], [entered, int((~a_pre & ~a_post).sum())]]
            stat, p = mcnemar_test(table, method=method)
            rows.append(
                {
                    "instrument": instrument, "scale": scale, "band": band, "n_pairs": n,
                    "n_pre": int(a_pre.sum()), "prop_pre": a_pre.mean(),
                    "n_post": int(a_post.sum()), "prop_post": a_post.mean(),
                    "n_entered": entered, "n_left": left, "statistic": stat, "p_value": p,
                    "method": method,
                }
            )  # fmt: skip
    cols = ["instrument", "scale", "band", "n_pairs", "n_pre", "prop_pre", "n_post", "prop_post",
            "n_entered", "n_left", "statistic", "p_value", "method"]  # fmt: skip
    return pd.DataFrame(rows, columns=cols)
