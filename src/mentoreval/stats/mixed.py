"""Linear mixed model ``score ~ time * group + (1 | participant)`` with Satterthwaite df.

Students with only one wave stay in the model (REML is valid under MAR). statsmodels'
``MixedLM`` reports large-sample z tests only; like ``lmerTest`` we report t tests with
Satterthwaite degrees of freedom:

    df = 2 (L C L')² / (g' A g)

where C(φ) = (X' V(φ)⁻¹ X)⁻¹ is the covariance of the fixed effects as a function of the
variance parameters φ = (σ²_participant, σ²_residual), g its gradient of L C L' with
respect to φ, and A = 2 H⁻¹ the asymptotic covariance of φ̂ from the Hessian H of the REML
deviance (both by central finite differences).

For a random intercept V is block-diagonal with blocks σ²_e I + σ²_b J, whose inverse and
determinant have closed forms, so the REML fit itself is computed here in vectorised form
(profiled over σ²_e, one-dimensional search over θ = σ_b/σ_e, as ``lme4``). It gives the
same estimates as statsmodels ``MixedLM(reml=True)`` and ``lme4::lmer`` (tested) and scales
to tens of thousands of students.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import patsy
from scipy import optimize, stats

from mentoreval.errors import DataError
from mentoreval.stats._common import check_columns, check_confidence
from mentoreval.stats._design import ModelFrame, is_categorical
from mentoreval.stats.controlled import group_levels

__all__ = ["MixedModel", "fit_mixed", "satterthwaite_df"]


class _RandomIntercept:
    """REML pieces for y = Xβ + b_subject + e with group sums precomputed."""

    def __init__(self, y: np.ndarray, x: np.ndarray, codes: np.ndarray) -> None:
        self.y, self.x, self.codes = y, x, codes
        self.n_obs, self.p = x.shape
        self.n_i = np.bincount(codes).astype(float)
        self.sx = np.zeros((self.n_i.size, self.p))
        np.add.at(self.sx, codes, x)
        self.sy = np.bincount(codes, weights=y)
        self.xtx = x.T @ x
        self.xty = x.T @ y
        self.yty = float(y @ y)

    def _gls(self, var_b: float, var_e: float) -> tuple[np.ndarray, np.ndarray, float, float]:
        """Return (X'V⁻¹X, β̂, r'V⁻¹r, log|V|)."""
        w = var_b / (var_e + self.n_i * var_b)
        xvx = (self.xtx - self.sx.T @ (w[:, None] * self.sx)) / var_e
        xvy = (self.xty - self.sx.T @ (w * self.sy)) / var_e
        beta = np.linalg.solve(xvx, xvy)
        # r'V⁻¹r = y'V⁻¹y − β'X'V⁻¹y for the GLS β
        yvy = (self.yty - float(w @ self.sy**2)) / var_e
        rvr = yvy - float(beta @ xvy)
        logdet_v = float(np.sum((self.n_i - 1) * np.log(var_e) + np.log(var_e + self.n_i * var_b)))
        return xvx, beta, rvr, logdet_v

    def deviance(self, phi: np.ndarray) -> float:
        """REML deviance (−2 log restricted likelihood, without the constant)."""
        var_b, var_e = phi
        xvx, _, rvr, logdet_v = self._gls(var_b, var_e)
        _, logdet_x = np.linalg.slogdet(xvx)
        return logdet_v + logdet_x + rvr

    def vcov(self, phi: np.ndarray) -> np.ndarray:
        xvx, *_ = self._gls(phi[0], phi[1])
        return np.linalg.inv(xvx)

    def fit(self) -> tuple[np.ndarray, np.ndarray, bool]:
        """REML estimates: (β, φ = (σ²_b, σ²_e), on_boundary)."""
        dfree = self.n_obs - self.p

        def profiled(theta: float) -> float:
            g = theta**2
            w = g / (1 + self.n_i * g)
            xhx = self.xtx - self.sx.T @ (w[:, None] * self.sx)
            xhy = self.xty - self.sx.T @ (w * self.sy)
            beta = np.linalg.solve(xhx, xhy)
            rhr = self.yty - float(w @ self.sy**2) - float(beta @ xhy)
            _, logdet_x = np.linalg.slogdet(xhx)
            return dfree * np.log(rhr / dfree) + float(np.sum(np.log1p(self.n_i * g))) + logdet_x

        res = optimize.minimize_scalar(profiled, bounds=(0.0, 50.0), method="bounded",
                                       options={"xatol": 1e-10})  # fmt: skip
        theta = float(res.x)
        if profiled(0.0) <= profiled(theta):
            theta = 0.0
        g = theta**2
        w = g / (1 + self.n_i * g)
        xhy = self.xty - self.sx.T @ (w * self.sy)
        xhx = self.xtx - self.sx.T @ (w[:, None] * self.sx)
        beta = np.linalg.solve(xhx, xhy)
        var_e = (self.yty - float(w @ self.sy**2) - float(beta @ xhy)) / dfree
        return beta, np.array([g * var_e, var_e]), theta < 1e-6


def _num_hess(f: Callable[[np.ndarray], float], x: np.ndarray, rel: float = 1e-4) -> np.ndarray:
    k = x.size
    h = rel * np.maximum(np.abs(x), 1e-3)
    hess = np.empty((k, k))
    for i in range(k):
        for j in range(i, k):
            ei = np.zeros(k)
            ej = np.zeros(k)
            ei[i] = h[i]
            ej[j] = h[j]
            v = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (
                4 * h[i] * h[j]
            )
            hess[i, j] = hess[j, i] = v
    return hess


def satterthwaite_df(model: _RandomIntercept, phi: np.ndarray, lmat: np.ndarray) -> np.ndarray:
    """Satterthwaite df for each row contrast of ``lmat`` (see the module docstring)."""
    if phi[0] <= 0:  # boundary: only σ²_e is free, as lmerTest does with θ = 0
        free = np.array([phi[1]])

        def full(v: np.ndarray) -> np.ndarray:
            return np.array([0.0, v[0]])
    else:
        free = phi.copy()

        def full(v: np.ndarray) -> np.ndarray:
            return v

    hess = _num_hess(lambda v: model.deviance(full(v)), free)
    acov = 2 * np.linalg.inv(hess)
    # dC/dφ_k by central differences of the whole matrix, then g_k = L (dC/dφ_k) L'
    h = 1e-4 * np.maximum(np.abs(free), 1e-3)
    grads = []
    for k in range(free.size):
        e = np.zeros_like(free)
        e[k] = h[k]
        grads.append((model.vcov(full(free + e)) - model.vcov(full(free - e))) / (2 * h[k]))
    c = model.vcov(phi)
    var = np.einsum("ij,jk,ik->i", lmat, c, lmat)
    g = np.stack([np.einsum("ij,jk,ik->i", lmat, dc, lmat) for dc in grads], axis=1)
    return 2 * var**2 / np.einsum("ij,jk,ik->i", g, acov, g)


@dataclass(frozen=True)
class MixedModel:
    """A random-intercept pre/post mixed model with Satterthwaite inference.

    Attributes
    ----------
    coefficients
        ``term``, ``estimate``, ``se``, ``df`` (Satterthwaite), ``t``, ``p_value``,
        ``ci_low``, ``ci_high``, ``df_method``.
    variance_components
        ``component`` (``participant``, ``residual``), ``variance``, ``sd``.
    contrast
        One row for the effect of interest: the time × group interaction (difference in
        change, treated − control) or, without a group, the change over time; columns
        ``contrast``, ``estimate``, ``se``, ``df``, ``t``, ``p_value``, ``ci_low``,
        ``ci_high``, ``n_obs``, ``n_participants``, ``n_single_wave``, ``boundary``,
        ``formula``.
    """

    coefficients: pd.DataFrame
    variance_components: pd.DataFrame
    contrast: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """The contrast of interest (one row)."""
        return self.contrast.copy()

    def _repr_html_(self) -> str:
        return "".join(
            t.to_html(index=False)
            for t in (self.contrast, self.coefficients, self.variance_components)
        )


def fit_mixed(
    data: pd.DataFrame,
    *,
    outcome: str = "score",
    time: str = "wave",
    subject: str = "participant_id",
    pre: str = "pre",
    post: str = "post",
    group: str | None = "group",
    treated: str = "mentored",
    covariates: Sequence[str] = (),
    fixed_effects: Sequence[str] = (),
    confidence: float = 0.95,
) -> MixedModel:
    """Fit ``outcome ~ time * group + covariates + fixed_effects + (1 | subject)`` by REML.

    Parameters
    ----------
    data
        Long table, one row per participant × wave (e.g. one instrument × scale of the
        ``scores`` table joined to the participant table). Rows with a missing outcome
        are dropped; participants with only one wave are kept.
    outcome, time, subject
        Column names; ``time`` holds the wave names ``pre`` and ``post`` (other waves
        are ignored).
    group, treated
        Group column and its treated level; ``group=None`` fits ``outcome ~ time``.
    covariates, fixed_effects
        Further fixed effects (non-numeric covariates and all ``fixed_effects`` are factors).
    confidence
        Level of the t-based CIs.

    Returns
    -------
    MixedModel

    Examples
    --------
    >>> d = pd.DataFrame({
    ...     "participant_id": ["a", "a", "b", "b", "c", "c", "d", "d", "e", "f"],
    ...     "wave": ["pre", "post"] * 4 + ["pre", "pre"],
    ...     "score": [40.0, 48, 50, 55, 60, 66, 45, 46, 52, 58],
    ...     "group": ["mentored"] * 6 + ["comparison"] * 2 + ["mentored", "comparison"]})
    >>> m = fit_mixed(d)
    >>> m.contrast[["contrast", "estimate", "n_obs", "n_single_wave"]].round(3)
                            contrast  estimate  n_obs  n_single_wave
    0  change: mentored - comparison     5.436     10              2
    """
    check_confidence(confidence)
    cols = [outcome, time, subject, *([group] if group else []), *covariates, *fixed_effects]
    check_columns(data, cols, what="data")
    d = data.loc[data[time].isin([pre, post]), cols].dropna().copy()
    if d.duplicated([subject, time]).any():
        raise DataError("more than one row per participant and wave; pass one scale at a time")
    # the formula is written in internal names only (see mentoreval.stats._design); the
    # reference levels (pre, control) are the first level codes
    mf = ModelFrame(d)
    time_term = mf.factor(time, levels=[pre, post])
    terms = [time_term]
    if group:
        treated, control = group_levels(d[group], treated=treated, what=group)
        d[group] = d[group].astype(str)
        group_term = mf.factor(group, levels=[control, treated])
        terms = [f"{time_term} * {group_term}"]
    terms += [mf.factor(c) if is_categorical(d[c]) else mf.numeric(c) for c in covariates]
    terms += [mf.factor(c) for c in fixed_effects]
    y, x = patsy.dmatrices(
        f"{mf.numeric(outcome)} ~ " + " + ".join(terms), mf.frame, return_type="dataframe"
    )
    codes = pd.factorize(d[subject])[0]
    n_subj = int(codes.max() + 1) if codes.size else 0
    if len(d) <= x.shape[1] + 1 or n_subj < 3:
        raise DataError(
            f"too few observations ({len(d)}) or participants ({n_subj}) for the mixed model"
        )
    if np.linalg.matrix_rank(x.to_numpy()) < x.shape[1]:
        raise DataError(
            "the fixed-effects design is rank deficient (e.g. a site with one group only)"
        )
    model = _RandomIntercept(y.to_numpy().ravel(), x.to_numpy(), codes)
    beta, phi, boundary = model.fit()
    vcov = model.vcov(phi)
    se = np.sqrt(np.diag(vcov))
    dfs = satterthwaite_df(model, phi, np.eye(x.shape[1]))
    tvals = beta / se
    q = stats.t.ppf(1 - (1 - confidence) / 2, dfs)
    names = [mf.label(n) for n in x.columns]
    coef = pd.DataFrame(
        {"term": names, "estimate": beta, "se": se, "df": dfs, "t": tvals,
         "p_value": 2 * stats.t.sf(np.abs(tvals), dfs), "ci_low": beta - q * se,
         "ci_high": beta + q * se, "df_method": "Satterthwaite"}
    )  # fmt: skip
    idx = 1  # the time effect
    if group:
        idx = next(i for i, n in enumerate(x.columns) if ":" in n)  # internal names
        label = f"change: {treated} - {control}"
    else:
        label = f"change: {post} - {pre}"
    n_per = np.bincount(codes)
    contrast = coef.iloc[[idx]][
        ["estimate", "se", "df", "t", "p_value", "ci_low", "ci_high"]
    ].copy()
    contrast.insert(0, "contrast", label)
    contrast = contrast.assign(
        n_obs=len(d),
        n_participants=n_subj,
        n_single_wave=int((n_per == 1).sum()),
        boundary=boundary,
        formula=f"{outcome} ~ {time}{' * ' + group if group else ''}"
        + "".join(f" + {c}" for c in [*covariates, *fixed_effects])
        + f" + (1 | {subject})",
    ).reset_index(drop=True)
    vc = pd.DataFrame(
        {"component": ["participant", "residual"], "variance": phi, "sd": np.sqrt(phi)}
    )
    return MixedModel(coefficients=coef, variance_components=vc, contrast=contrast)
