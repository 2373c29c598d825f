"""Linear mixed model ``score ~ time * group + (1 | participant)`` with Satterthwaite df.

Students with only one wave stay in the model (REML is valid under MAR). statsmodels'
``MixedLM`` reports large-sample z tests only; like ``lmerTest`` we report t tests with
Satterthwaite degrees of freedom:

    df = 2 (L C L')² / (g' A g)

where C(φ) = (X' V(φ)⁻¹ X)⁻¹ is the covariance of the fixed effects as a function of the
variance parameters φ = (σ²_participant, σ²_residual), g its gradient of L C L' with
respect to φ, and A = 2 H⁻¹ the asymptotic covariance of φ̂ from the Hessian H of the REML
deviance. lmerTest takes both derivatives numerically (Richardson extrapolation); here they
are analytic (see :meth:`_RandomIntercept.derivatives`), so the df depend neither on a step
size nor, beyond rounding, on the order of the rows.

For a random intercept V is block-diagonal with blocks σ²_e I + σ²_b J, whose inverse and
determinant have closed forms, so the REML fit itself is computed here in vectorised form
(profiled over σ²_e, one-dimensional search over θ = σ_b/σ_e, as ``lme4``). It gives the
same estimates as statsmodels ``MixedLM(reml=True)`` and ``lme4::lmer`` (tested) and scales
to tens of thousands of students.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import patsy
from scipy import optimize, stats

from mentoreval.errors import DataError
from mentoreval.stats._common import check_columns, check_confidence
from mentoreval.stats._design import ModelFrame, is_categorical
from mentoreval.stats.controlled import group_levels

__all__ = [
    "MixedModel",
    "RandomInterceptFit",
    "fit_mixed",
    "fit_random_intercept",
    "satterthwaite_df",
]

# an operator a I + b_i J on the blocks of V (see _RandomIntercept)
_Block = tuple[float, np.ndarray]


class _RandomIntercept:
    """REML pieces for y = Xβ + b_subject + e with group sums precomputed.

    V = σ²_e I + σ²_b ZZ' is block-diagonal with blocks σ²_e I + σ²_b J (J = 11'). Every
    matrix built from V, V⁻¹, I and ZZ' is, block by block, a I + b_i J; such an operator
    is held as the pair ``(a, b)`` (a scalar, b one value per subject), so products,
    traces and quadratic forms in X cost O(n p²) and never form an n × n matrix.
    """

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

    # --- the a I + b J algebra ------------------------------------------------------------
    def _mul(self, f: _Block, g: _Block) -> _Block:
        return (f[0] * g[0], f[0] * g[1] + f[1] * g[0] + self.n_i * f[1] * g[1])

    def _xfx(self, f: _Block) -> np.ndarray:
        """X' F X."""
        return f[0] * self.xtx + self.sx.T @ (f[1][:, None] * self.sx)

    def _apply(self, f: _Block, v: np.ndarray) -> np.ndarray:
        """F v for an n-vector v."""
        return (
            f[0] * v
            + (f[1] * np.bincount(self.codes, weights=v, minlength=self.n_i.size))[self.codes]
        )

    def _trace(self, f: _Block) -> float:
        return float(np.sum(self.n_i * (f[0] + f[1])))

    def _vinv(self, phi: np.ndarray) -> _Block:
        var_b, var_e = phi
        return (1 / var_e, -var_b / (var_e * (var_e + self.n_i * var_b)))

    def _dv(self) -> tuple[_Block, _Block]:
        """∂V/∂σ²_b = ZZ' and ∂V/∂σ²_e = I."""
        zero, one = np.zeros_like(self.n_i), np.ones_like(self.n_i)
        return ((0.0, one), (1.0, zero))

    # --- REML -----------------------------------------------------------------------------
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

    def derivatives(self, phi: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        """Analytic derivatives in φ = (σ²_b, σ²_e) of the REML deviance and of C(φ).

        With P = V⁻¹ − V⁻¹X C X'V⁻¹ and V_k = ∂V/∂φ_k (V is linear in φ):

        - gradient  ∂dev/∂φ_k = tr(P V_k) − y'P V_k P y,
        - Hessian   ∂²dev/∂φ_k∂φ_l = −tr(P V_k P V_l) + 2 y'P V_k P V_l P y,
        - ∂C/∂φ_k = C X'V⁻¹ V_k V⁻¹X C.

        Returns
        -------
        tuple
            ``(gradient, hessian, [∂C/∂φ_k])``.
        """
        q = self._vinv(phi)
        c = np.linalg.inv(self._xfx(q))
        dv = self._dv()
        qv = [self._mul(q, v) for v in dv]  # V⁻¹ V_k
        f = [self._xfx(self._mul(m, q)) for m in qv]  # X'V⁻¹V_kV⁻¹X
        dc = [c @ fk @ c for fk in f]
        beta = c @ (self.x.T @ self._apply(q, self.y))
        s = self._apply(q, self.y - self.x @ beta)  # P y
        u = [self._apply(v, s) for v in dv]  # V_k P y
        qu = [self._apply(q, uk) for uk in u]
        xqu = [self.x.T @ quk for quk in qu]
        k = len(dv)
        grad = np.empty(k)
        hess = np.empty((k, k))
        for i in range(k):
            # tr(P V_i) = tr(V⁻¹V_i) − tr(C X'V⁻¹V_iV⁻¹X)
            grad[i] = self._trace(qv[i]) - float(np.sum(c * f[i])) - float(s @ u[i])
            for j in range(i, k):
                qaqb = self._mul(qv[i], qv[j])
                tr_papb = (
                    self._trace(qaqb)
                    - 2 * float(np.sum(c * self._xfx(self._mul(qaqb, q))))
                    + float(np.sum((c @ f[i]) * (c @ f[j]).T))
                )
                ypy = float(u[i] @ qu[j]) - float(xqu[i] @ c @ xqu[j])  # (V_i P y)' P (V_j P y)
                hess[i, j] = hess[j, i] = -tr_papb + 2 * ypy
        return grad, hess, dc

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
        phi = np.array([g * var_e, var_e])
        if theta >= 1e-6:
            phi = self._polish(phi)
            beta = self._gls(phi[0], phi[1])[1]
        return beta, phi, theta < 1e-6

    def _polish(self, phi: np.ndarray, steps: int = 4) -> np.ndarray:
        """Newton steps on the analytic REML gradient from an interior optimum.

        The bounded search stops at a relative tolerance of about 1e-8 in θ, which leaves
        the estimates (and the df) depending on the row order in the 7th digit; a few
        Newton steps take φ̂ to rounding level. A step that would leave the interior or
        move φ by more than 1e-3 relative is not taken.
        """
        for _ in range(steps):
            grad, hess, _ = self.derivatives(phi)
            try:
                step = np.linalg.solve(hess, grad)
            except np.linalg.LinAlgError:
                break
            if not np.all(np.isfinite(step)) or np.any(np.abs(step) > 1e-3 * phi):
                break
            phi = phi - step
            if np.all(np.abs(step) <= 1e-13 * phi):
                break
        return phi


def satterthwaite_df(model: _RandomIntercept, phi: np.ndarray, lmat: np.ndarray) -> np.ndarray:
    """Satterthwaite df for each row contrast of ``lmat`` (see the module docstring).

    The Hessian of the REML deviance and the gradient of C(φ) are analytic
    (:meth:`_RandomIntercept.derivatives`), so the df do not depend on a step size and
    move with row order only at rounding level.
    """
    _, hess, dc = model.derivatives(phi)
    # on the boundary (σ²_b = 0) only σ²_e is free, as lmerTest does with θ = 0
    free = [0, 1] if phi[0] > 0 else [1]
    acov = 2 * np.linalg.inv(hess[np.ix_(free, free)])
    c = model.vcov(phi)
    var = np.einsum("ij,jk,ik->i", lmat, c, lmat)
    g = np.stack([np.einsum("ij,jk,ik->i", lmat, dc[k], lmat) for k in free], axis=1)
    return 2 * var**2 / np.einsum("ij,jk,ik->i", g, acov, g)


@dataclass(frozen=True)
class RandomInterceptFit:
    """The REML fit of ``y = Xβ + b_subject + e`` (shared by the two- and multi-wave models).

    Attributes
    ----------
    model
        The REML pieces (for further contrasts with :func:`satterthwaite_df`).
    beta, phi, vcov
        Fixed effects, variance parameters (σ²_subject, σ²_residual) and cov(β̂).
    boundary
        True when σ²_subject is estimated at 0.
    coefficients
        ``term``, ``estimate``, ``se``, ``df`` (Satterthwaite), ``t``, ``p_value``,
        ``ci_low``, ``ci_high``, ``df_method``.
    """

    model: _RandomIntercept
    beta: np.ndarray
    phi: np.ndarray
    vcov: np.ndarray
    boundary: bool
    coefficients: pd.DataFrame

    def contrasts(self, lmat: np.ndarray, *, confidence: float = 0.95) -> pd.DataFrame:
        """t tests of the rows of ``lmat`` with Satterthwaite df.

        Columns ``estimate``, ``se``, ``df``, ``t``, ``p_value``, ``ci_low``, ``ci_high``.
        """
        return _t_tests(self.model, self.beta, self.phi, self.vcov, lmat, confidence)


def _t_tests(
    model: _RandomIntercept,
    beta: np.ndarray,
    phi: np.ndarray,
    vcov: np.ndarray,
    lmat: np.ndarray,
    confidence: float,
) -> pd.DataFrame:
    lmat = np.atleast_2d(np.asarray(lmat, dtype=float))
    est = lmat @ beta
    se = np.sqrt(np.einsum("ij,jk,ik->i", lmat, vcov, lmat))
    dfs = satterthwaite_df(model, phi, lmat)
    tvals = est / se
    q = stats.t.ppf(1 - (1 - confidence) / 2, dfs)
    return pd.DataFrame(
        {"estimate": est, "se": se, "df": dfs, "t": tvals,
         "p_value": 2 * stats.t.sf(np.abs(tvals), dfs), "ci_low": est - q * se,
         "ci_high": est + q * se}
    )  # fmt: skip


def fit_random_intercept(
    y: np.ndarray,
    x: np.ndarray,
    codes: np.ndarray,
    names: Sequence[str],
    *,
    confidence: float = 0.95,
) -> RandomInterceptFit:
    """REML fit with Satterthwaite t tests of each coefficient.

    ``codes`` are the subjects as integer codes 0..m−1; ``names`` label the columns of
    ``x``. Raises :class:`DataError` when there are too few rows or subjects or ``x`` is
    rank deficient.
    """
    n_subj = int(codes.max() + 1) if codes.size else 0
    if len(y) <= x.shape[1] + 1 or n_subj < 3:
        raise DataError(
            f"too few observations ({len(y)}) or participants ({n_subj}) for the mixed model"
        )
    if np.linalg.matrix_rank(x) < x.shape[1]:
        raise DataError(
            "the fixed-effects design is rank deficient (e.g. a site with one group only)"
        )
    model = _RandomIntercept(y, x, codes)
    beta, phi, boundary = model.fit()
    vcov = model.vcov(phi)
    coef = _t_tests(model, beta, phi, vcov, np.eye(x.shape[1]), confidence)
    coef.insert(0, "term", list(names))
    coef["df_method"] = "Satterthwaite"
    return RandomInterceptFit(model, beta, phi, vcov, boundary, coef)


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
    fit = fit_random_intercept(
        y.to_numpy().ravel(), x.to_numpy(), codes, [mf.label(n) for n in x.columns],
        confidence=confidence,
    )  # fmt: skip
    coef, boundary, phi = fit.coefficients, fit.boundary, fit.phi
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
