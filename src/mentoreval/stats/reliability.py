"""Scale reliability per scale and wave: Cronbach's α (Feldt CI), McDonald's ω_t, item analysis.

Matches ``psych::alpha`` (pairwise covariances, Feldt interval, α if item deleted, item–rest
``r.drop``) and ``psych::omega(nfactors = 1)`` (one minres factor on the pairwise
correlation matrix, ω_t = 1 − Σu² / ΣR). Items must be keyed in the same direction; pass
``reverse`` to key them here. An item with a negative item–rest correlation is flagged as
probably mis-keyed (psych prints the same warning).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

from mentoreval.errors import DataError, Problem
from mentoreval.stats._common import check_confidence

__all__ = ["Reliability", "fit_reliability", "fit_reliability_many", "omega_total"]

OMEGA_FORMULA = "omega_t = 1 - sum(u2) / sum(R); one-factor minres on pairwise R (psych::omega)"


@dataclass(frozen=True)
class Reliability:
    """Reliability of one scale at one wave.

    Attributes
    ----------
    summary
        One row: ``n_obs``, ``n_complete``, ``n_items``, ``alpha``, ``alpha_ci_low``,
        ``alpha_ci_high``, ``alpha_ci_method``, ``alpha_std``, ``omega_total``,
        ``omega_formula``, ``n_flagged_items``.
    items
        One row per item: ``item``, ``reversed``, ``mean``, ``sd``, ``n``,
        ``r_item_rest`` (corrected item–total, psych's ``r.drop``),
        ``alpha_if_deleted``, ``loading`` (one-factor minres), ``flag``.
    warnings
        Plain-language warnings (e.g. a probably mis-keyed item).
    """

    summary: pd.DataFrame
    items: pd.DataFrame
    warnings: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """The one-row summary."""
        return self.summary.copy()

    def _repr_html_(self) -> str:
        warn = "".join(f"<p><b>Warning:</b> {w}</p>" for w in self.warnings)
        return self.summary.to_html(index=False) + self.items.to_html(index=False) + warn


def _alpha_from_cov(c: np.ndarray) -> float:
    k = c.shape[0]
    return float(k / (k - 1) * (1 - np.trace(c) / c.sum()))


def omega_total(corr: np.ndarray) -> tuple[float, np.ndarray]:
    """ω_t and loadings from a one-factor minres fit to a correlation matrix.

    Minres as ``psych::fa(fm = "minres")``: the uniquenesses Ψ minimise the sum of squared
    residuals of R − Ψ after its first principal axis (i.e. the sum of squares of all but
    the largest eigenvalue), with 0.005 ≤ Ψ ≤ 1 (L-BFGS-B from the squared multiple
    correlations). Then ω_t = 1 − Σ(1 − λ²) / ΣR (McDonald 1999; ``psych::omega``).

    Examples
    --------
    >>> r = np.array([[1, .5, .4], [.5, 1, .45], [.4, .45, 1]])
    >>> om, lam = omega_total(r)
    >>> round(om, 4), lam.round(3).tolist()
    (0.7135, [0.667, 0.75, 0.6])
    """
    r = np.asarray(corr, dtype=float)
    k = r.shape[0]
    try:
        start = np.clip(1 / np.diag(np.linalg.inv(r)), 0.005, 1.0)
    except np.linalg.LinAlgError:
        start = np.full(k, 0.5)

    def resid(psi: np.ndarray) -> float:
        e = np.linalg.eigvalsh(r - np.diag(psi))
        return float((e[:-1] ** 2).sum())

    fit = optimize.minimize(
        resid, start, method="L-BFGS-B", bounds=[(0.005, 1.0)] * k,
        options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 2000},
    )  # fmt: skip
    vals, vecs = np.linalg.eigh(r - np.diag(fit.x))
    lam = vecs[:, -1] * np.sqrt(max(vals[-1], 0.0))
    if lam.sum() < 0:
        lam = -lam
    return float(1 - (1 - lam**2).sum() / r.sum()), lam


def fit_reliability(
    items: pd.DataFrame,
    *,
    reverse: Sequence[str] = (),
    response_range: tuple[float, float] | None = None,
    confidence: float = 0.95,
) -> Reliability:
    """Cronbach's α with Feldt CI, McDonald's ω_t and item analysis for one scale.

    Parameters
    ----------
    items
        Wide frame: one row per respondent, one numeric column per item of the scale.
        Missing responses are NaN; covariances use pairwise-complete observations, as
        ``psych::alpha`` does.
    reverse
        Items still to be reverse-keyed here, as (min + max) − x. Leave empty when the
        frame is already keyed (the scoring output).
    response_range
        ``(min, max)`` of the response scale, needed with ``reverse``.
    confidence
        Level of the Feldt (1965) interval for α.

    Returns
    -------
    Reliability
        ``summary`` (one row), ``items`` (one row per item), ``warnings``.

    Examples
    --------
    R: ``psych::alpha(x, keys = "i1")``

    >>> x = pd.DataFrame({"i1": [5, 4, 2, 1, 2, 4], "i2": [1, 2, 4, 5, 4, 3],
    ...                   "i3": [2, 2, 5, 4, 4, 3], "i4": [1, 3, 4, 5, 5, 2]})
    >>> rel = fit_reliability(x, reverse=["i1"], response_range=(1, 5))
    >>> rel.summary[["n_obs", "n_items", "alpha", "alpha_ci_low", "alpha_ci_high"]].round(3)
       n_obs  n_items  alpha  alpha_ci_low  alpha_ci_high
    0      6        4  0.964          0.87          0.994
    >>> fit_reliability(x).warnings[0][:40]
    "item 'i1' correlates negatively with the"
    """
    check_confidence(confidence)
    x = _keyed_items(items, reverse=reverse, response_range=response_range)
    cov = x.cov().to_numpy()
    if np.isnan(cov).any():
        raise DataError(
            "some item pairs have fewer than 2 joint responses; reliability needs more data"
        )
    k = cov.shape[0]
    n_obs = len(x)
    alpha = _alpha_from_cov(cov)
    sd = np.sqrt(np.diag(cov))
    corr = cov / np.outer(sd, sd)
    alpha_std = float(k / (k - 1) * (1 - k / corr.sum()))
    # Feldt (1965) interval, as psych::alpha.ci
    a = 1 - confidence
    df1, df2 = n_obs - 1, (n_obs - 1) * (k - 1)
    ci_low = 1 - (1 - alpha) * stats.f.ppf(1 - a / 2, df1, df2)
    ci_high = 1 - (1 - alpha) * stats.f.ppf(a / 2, df1, df2)
    drop, r_rest = _item_analysis(cov)
    om, lam = omega_total(x.corr().to_numpy())  # pairwise correlations, as psych::omega
    names = [str(c) for c in items.columns]
    flags = np.where(r_rest < 0, "negative item-rest correlation: probably mis-keyed", "")
    warnings = tuple(
        f"item {names[i]!r} correlates negatively with the rest of the scale "
        f"(r = {r_rest[i]:.2f}); it is probably mis-keyed (check the reverse key)"
        for i in np.flatnonzero(r_rest < 0)
    )
    summary = pd.DataFrame(
        {
            "n_obs": [n_obs], "n_complete": [int(x.notna().all(axis=1).sum())], "n_items": [k],
            "alpha": [alpha], "alpha_ci_low": [ci_low], "alpha_ci_high": [ci_high],
            "alpha_ci_method": ["Feldt"], "alpha_std": [alpha_std], "omega_total": [om],
            "omega_formula": [OMEGA_FORMULA], "n_flagged_items": [int((r_rest < 0).sum())],
        }
    )  # fmt: skip
    item_table = pd.DataFrame(
        {
            "item": names, "reversed": [c in set(reverse) for c in items.columns],
            "mean": x.mean().to_numpy(), "sd": sd, "n": x.notna().sum().to_numpy(),
            "r_item_rest": r_rest, "alpha_if_deleted": drop, "loading": lam, "flag": flags,
        }
    )  # fmt: skip
    return Reliability(summary=summary, items=item_table, warnings=warnings)


def _keyed_items(
    items: pd.DataFrame, *, reverse: Sequence[str], response_range: tuple[float, float] | None
) -> pd.DataFrame:
    """The items as floats, reverse-keyed where asked; every problem raised at once."""
    if not isinstance(items, pd.DataFrame):
        raise DataError(f"items must be a wide pandas DataFrame, got {type(items).__name__}")
    problems = []
    if items.shape[1] < 2:
        problems.append(
            Problem(
                f"only {items.shape[1]} item column(s)", fix="reliability needs at least 2 items"
            )
        )
    unknown = [c for c in reverse if c not in items.columns]
    problems += [Problem(f"reverse item {c!r} is not a column of items", column=c) for c in unknown]
    if reverse and response_range is None:
        problems.append(
            Problem("reverse given without response_range", fix="pass response_range=(min, max)")
        )
    x = items.apply(pd.to_numeric, errors="coerce")
    text = [c for c in items.columns if (x[c].isna() & items[c].notna()).any()]
    problems += [
        Problem("non-numeric values", column=str(c), fix="recode to numbers") for c in text
    ]
    if problems:
        raise DataError(f"{len(problems)} problem(s) with the items frame", tuple(problems))
    x = x.astype(float)
    if reverse:
        assert response_range is not None  # checked above
        lo, hi = response_range
        x[list(reverse)] = (lo + hi) - x[list(reverse)]
    return x


def _item_analysis(cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """α if each item is deleted (NaN with two items) and item–rest r, from the covariances."""
    k = cov.shape[0]
    keep = ~np.eye(k, dtype=bool)
    if k > 2:
        drop = np.array([_alpha_from_cov(cov[np.ix_(keep[i], keep[i])]) for i in range(k)])
    else:
        drop = np.full(k, np.nan)
    cs = cov.sum(axis=0)
    cii = np.diag(cov)
    r_rest = (cs - cii) / np.sqrt(cii * (cov.sum() - 2 * cs + cii))
    return drop, r_rest


def fit_reliability_many(
    frames: Mapping[tuple[str, str, str], pd.DataFrame],
    *,
    reverse: Mapping[tuple[str, str], Sequence[str]] | None = None,
    response_range: Mapping[str, tuple[float, float]] | None = None,
    confidence: float = 0.95,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`fit_reliability` for many scales and waves, stacked.

    Parameters
    ----------
    frames
        ``{(instrument, scale, wave): wide items frame}``.
    reverse
        ``{(instrument, scale): items to reverse here}`` (omit when already keyed).
    response_range
        ``{instrument: (min, max)}``, needed with ``reverse``.

    Returns
    -------
    tuple of pandas.DataFrame
        ``(summary, items)``, each with ``instrument``, ``scale``, ``wave`` in front.

    Examples
    --------
    >>> x = pd.DataFrame({"a": [1, 2, 3, 4], "b": [1, 3, 3, 4], "c": [2, 2, 4, 4]})
    >>> summary, items = fit_reliability_many({("who5", "total", "pre"): x})
    >>> summary[["instrument", "wave", "alpha"]].round(3)
      instrument wave  alpha
    0       who5  pre  0.939
    """
    summaries, item_tables = [], []
    for (instrument, scale, wave), frame in frames.items():
        rev = (reverse or {}).get((instrument, scale), ())
        rng = (response_range or {}).get(instrument)
        rel = fit_reliability(frame, reverse=rev, response_range=rng, confidence=confidence)
        ids = {"instrument": instrument, "scale": scale, "wave": wave}
        summaries.append(rel.summary.assign(**ids))
        item_tables.append(rel.items.assign(**ids))
    front = ["instrument", "scale", "wave"]

    def stack(parts: list[pd.DataFrame]) -> pd.DataFrame:
        out = pd.concat(parts, ignore_index=True)
        return out[front + [c for c in out.columns if c not in front]]

    if not summaries:
        return pd.DataFrame(columns=front), pd.DataFrame(columns=front)
    return stack(summaries), stack(item_tables)
