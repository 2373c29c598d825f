"""Pooling per-cohort or per-site effects: DerSimonian–Laird random-effects meta-analysis.

Hand-derived (DerSimonian & Laird 1986) and checked against ``metafor::rma(method =
"DL")``: τ² by the method of moments, I² = (Q − df)/Q, H² = Q/df, a z-based CI for the
pooled effect and the prediction interval as ``predict.rma`` (normal quantile).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from mentoreval.errors import DataError
from mentoreval.stats._common import as_float_array, check_confidence

__all__ = ["Pooled", "pool_effects"]


@dataclass(frozen=True)
class Pooled:
    """Random-effects pooling result.

    Attributes
    ----------
    studies
        Forest-plot data, one row per cohort/site: ``label``, ``estimate``, ``se``,
        ``ci_low``, ``ci_high``, ``weight_fixed``, ``weight_random`` (percent).
    pooled
        Two rows (``model`` = ``fixed``, ``random``): ``estimate``, ``se``, ``ci_low``,
        ``ci_high``, ``z``, ``p_value``, ``pi_low``, ``pi_high`` (prediction interval,
        random only), ``method``.
    heterogeneity
        One row: ``k``, ``q``, ``df``, ``q_p_value``, ``tau2``, ``tau``, ``i2`` (percent),
        ``h2``.
    """

    studies: pd.DataFrame
    pooled: pd.DataFrame
    heterogeneity: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """Forest-plot rows followed by the pooled rows."""
        pooled = self.pooled.rename(columns={"model": "label"})
        return pd.concat([self.studies, pooled], ignore_index=True)

    def _repr_html_(self) -> str:
        return "".join(
            t.to_html(index=False) for t in (self.pooled, self.heterogeneity, self.studies)
        )


def pool_effects(
    estimates: npt.ArrayLike,
    se: npt.ArrayLike,
    *,
    labels: npt.ArrayLike | None = None,
    confidence: float = 0.95,
) -> Pooled:
    """DerSimonian–Laird random-effects pooling of per-cohort (or per-site) effects.

    Parameters
    ----------
    estimates, se
        Effect estimates (e.g. each cohort's adjusted difference or d) and their
        standard errors.
    labels
        Cohort/site names for the forest plot.
    confidence
        Level of the CIs and the prediction interval.

    Returns
    -------
    Pooled

    Examples
    --------
    >>> res = pool_effects([0.30, 0.10, 0.55, 0.20], [0.12, 0.15, 0.10, 0.20],
    ...                    labels=["2021", "2022", "2023", "2024"])
    >>> res.heterogeneity[["k", "tau2", "i2"]].round(4)
       k    tau2       i2
    0  4  0.0271  60.0121
    >>> res.pooled[["model", "estimate", "ci_low", "ci_high"]].round(3)
        model  estimate  ci_low  ci_high
    0   fixed     0.357   0.230    0.484
    1  random     0.314   0.103    0.525
    """
    check_confidence(confidence)
    y = as_float_array(estimates, name="estimates")
    s = as_float_array(se, name="se")
    if y.shape != s.shape or y.size < 2:
        raise DataError(f"need at least 2 estimates with one se each (got {y.size} and {s.size})")
    ok = np.isfinite(y) & np.isfinite(s) & (s > 0)
    if ok.sum() < 2:
        raise DataError("fewer than 2 estimates with a finite, positive standard error")
    lab = np.asarray(
        labels if labels is not None else [f"study {i + 1}" for i in range(y.size)], dtype=object
    )
    y, s, lab = y[ok], s[ok], lab[ok]
    v = s**2
    k = y.size
    z = stats.norm.ppf(1 - (1 - confidence) / 2)
    w = 1 / v
    mu_f = float(np.sum(w * y) / w.sum())
    se_f = float(np.sqrt(1 / w.sum()))
    q = float(np.sum(w * (y - mu_f) ** 2))
    df = k - 1
    c = w.sum() - np.sum(w**2) / w.sum()
    tau2 = max(0.0, (q - df) / c)
    wr = 1 / (v + tau2)
    mu_r = float(np.sum(wr * y) / wr.sum())
    se_r = float(np.sqrt(1 / wr.sum()))
    i2 = max(0.0, (q - df) / q) * 100 if q > 0 else 0.0
    h2 = q / df if q > 0 else 1.0
    pi_half = z * np.sqrt(se_r**2 + tau2)
    studies = pd.DataFrame(
        {"label": lab.astype(str), "estimate": y, "se": s, "ci_low": y - z * s, "ci_high": y + z * s,
         "weight_fixed": 100 * w / w.sum(), "weight_random": 100 * wr / wr.sum()}
    )  # fmt: skip
    pooled = pd.DataFrame(
        {
            "model": ["fixed", "random"], "estimate": [mu_f, mu_r], "se": [se_f, se_r],
            "ci_low": [mu_f - z * se_f, mu_r - z * se_r], "ci_high": [mu_f + z * se_f, mu_r + z * se_r],
            "z": [mu_f / se_f, mu_r / se_r],
            "p_value": [2 * stats.norm.sf(abs(mu_f / se_f)), 2 * stats.norm.sf(abs(mu_r / se_r))],
            "pi_low": [np.nan, mu_r - pi_half], "pi_high": [np.nan, mu_r + pi_half],
            "method": ["inverse variance", "DerSimonian-Laird"],
        }
    )  # fmt: skip
    het = pd.DataFrame(
        {"k": [k], "q": [q], "df": [df], "q_p_value": [float(stats.chi2.sf(q, df))], "tau2": [tau2],
         "tau": [np.sqrt(tau2)], "i2": [i2], "h2": [h2]}
    )  # fmt: skip
    return Pooled(studies=studies, pooled=pooled, heterogeneity=het)
