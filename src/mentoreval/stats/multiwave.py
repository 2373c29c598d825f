"""More than two waves: ``score ~ wave * group + … + (1 | participant)`` with wave a factor.

The random-intercept REML fit and its Satterthwaite df are those of
:mod:`mentoreval.stats.mixed` (analytic derivatives; the same numbers as ``lmerTest``).
On top of the coefficients this module reports what ``emmeans`` would:

- **contrasts of each wave against baseline** (``emmeans::contrast(emm, "trt.vs.ctrl")``),
  per arm when there is a group, with Holm-adjusted p-values within each arm;
- with a group, the **difference in change** (treated − control) from baseline to each
  wave, i.e. the wave × group interaction coefficients, Holm-adjusted as one family;
- **model-based means** per wave (and arm) on ``emmeans``' reference grid: other factors
  weighted equally over their levels, numeric covariates at their mean;
- **participation** per wave (and arm) and retention relative to baseline.

Every t test uses Satterthwaite df (``emmeans`` with ``lmer.df = "satterthwaite"``; its
default for lmer models is Kenward–Roger when pbkrtest is installed). Confidence intervals
are per contrast (not adjusted for multiplicity).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import patsy

from mentoreval.errors import DataError, Problem
from mentoreval.stats._common import check_columns, check_confidence
from mentoreval.stats._design import ModelFrame, is_categorical
from mentoreval.stats.controlled import group_levels
from mentoreval.stats.mixed import RandomInterceptFit, fit_random_intercept
from mentoreval.stats.multiplicity import PAdjust, adjust_pvalues

__all__ = ["MultiWave", "fit_multiwave"]

_TESTS = ["estimate", "se", "df", "t", "p_value", "ci_low", "ci_high"]


@dataclass(frozen=True)
class MultiWave:
    """A multi-wave random-intercept model with contrasts against baseline.

    Attributes
    ----------
    contrasts
        One row per contrast: ``family`` (``"change from baseline"`` or, with a group,
        ``"difference in change"``), ``group`` (the arm; for the difference in change
        ``"<treated> - <control>"``; empty without a group), ``contrast``
        (``"<wave> - <baseline>"``), ``wave``, ``estimate``, ``se``, ``df``
        (Satterthwaite), ``t``, ``p_value``, ``p_adj`` (within the family and arm),
        ``p_adjust`` (the method), ``ci_low``, ``ci_high`` (unadjusted), ``primary``
        (the named contrast).
    means
        Model-based means: ``wave``, ``group``, ``estimate``, ``se``, ``df``, ``t``,
        ``p_value``, ``ci_low``, ``ci_high`` (``emmeans`` reference grid).
    participation
        ``wave``, ``group``, ``n`` (participants with a score), ``n_baseline`` (of them,
        those also seen at baseline), ``retention`` (``n_baseline`` / n at baseline).
    coefficients
        As :class:`~mentoreval.stats.mixed.MixedModel` (``term`` … ``df_method``).
    variance_components
        ``component`` (``participant``, ``residual``), ``variance``, ``sd``.
    info
        One row: ``formula``, ``waves``, ``baseline``, ``primary``, ``n_obs``,
        ``n_participants``, ``n_single_wave``, ``boundary``.
    """

    contrasts: pd.DataFrame
    means: pd.DataFrame
    participation: pd.DataFrame
    coefficients: pd.DataFrame
    variance_components: pd.DataFrame
    info: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """The contrasts table."""
        return self.contrasts.copy()

    def _repr_html_(self) -> str:
        return "".join(
            t.to_html(index=False)
            for t in (self.contrasts, self.means, self.participation, self.coefficients)
        )


def _check_waves(d: pd.DataFrame, time: str, waves: Sequence[str], primary: str | None) -> str:
    waves = list(waves)
    if len(waves) < 2 or len(set(waves)) != len(waves):
        raise DataError(f"waves must name at least two distinct waves, got {waves}")
    seen = set(d[time].astype(str).unique())
    absent = [w for w in waves if w not in seen]
    if absent:
        raise DataError(
            f"wave(s) {absent} not found in column {time!r}",
            tuple(
                Problem(f"no scores for wave {w!r}", column=time, fix="check analysis.waves")
                for w in absent
            ),
        )
    primary = waves[-1] if primary is None else primary
    if primary not in waves[1:]:
        raise DataError(f"primary={primary!r} must be one of the waves after {waves[0]!r}")
    return primary


def _participation(
    d: pd.DataFrame, *, time: str, subject: str, group: str | None, waves: Sequence[str]
) -> pd.DataFrame:
    seen = pd.crosstab(d[subject], d[time]).reindex(columns=list(waves), fill_value=0) > 0
    arm = (
        d.groupby(subject, sort=False)[group].first().reindex(seen.index).astype(str)
        if group
        else pd.Series("", index=seen.index)
    )
    rows = []
    for label in sorted(arm.unique()):
        sub = seen[arm == label]
        at_base = sub[waves[0]]
        for w in waves:
            n_base = int((sub[w] & at_base).sum())
            rows.append(
                {"wave": w, "group": label, "n": int(sub[w].sum()), "n_baseline": n_base,
                 "retention": n_base / at_base.sum() if at_base.any() else np.nan}
            )  # fmt: skip
    return pd.DataFrame(rows)


def _grid_row(
    x: pd.DataFrame, mf: ModelFrame, own: dict[str, float], fixed: Sequence[str]
) -> np.ndarray:
    """One row of ``emmeans``' reference grid as a linear combination of the columns.

    ``own`` gives the values of the intercept and the wave/group/interaction columns;
    columns of the other factors get 1/k (equal weights over their k levels) and numeric
    columns their mean.
    """
    info = x.design_info
    row = np.zeros(x.shape[1])
    for term, sl in info.term_name_slices.items():
        cols = x.columns[sl]
        if all(c in own for c in cols):
            row[sl] = [own[c] for c in cols]
        elif term.startswith("C("):
            column = next(c for c in fixed if term == mf.factor(c))
            row[sl] = 1 / len(mf.levels(column))
        else:
            row[sl] = x.iloc[:, sl].mean(axis=0).to_numpy()
    return row


def _own_columns(x: pd.DataFrame, mf: ModelFrame, time: str, group: str | None) -> list[str]:
    """The intercept, wave, group and wave × group columns of ``x``."""
    terms = ["Intercept", mf.factor(time)]
    if group:
        terms += [mf.factor(group), f"{mf.factor(time)}:{mf.factor(group)}"]
    slices = x.design_info.term_name_slices
    return [c for t in terms for c in x.columns[slices[t]]]


def _contrast_rows(
    fit: RandomInterceptFit,
    x: pd.DataFrame,
    mf: ModelFrame,
    *,
    time: str,
    waves: Sequence[str],
    arms: Sequence[str],
    group: str | None,
    confidence: float,
) -> pd.DataFrame:
    """Change-from-baseline contrasts per arm, then the difference in change per wave."""
    col = {c: i for i, c in enumerate(x.columns)}
    keys, lmats = [], []

    def add(family: str, label: str, wave: str, columns: Sequence[str]) -> None:
        lrow = np.zeros(x.shape[1])
        lrow[[col[c] for c in columns]] = 1
        keys.append((family, label, f"{wave} - {waves[0]}", wave))
        lmats.append(lrow)

    for arm in arms:
        for w in waves[1:]:
            cols = [mf.dummy(time, w)]
            if group and arm != arms[0]:
                cols.append(f"{mf.dummy(time, w)}:{mf.dummy(group, arm)}")
            add("change from baseline", arm, w, cols)
    if group:
        for w in waves[1:]:
            inter = f"{mf.dummy(time, w)}:{mf.dummy(group, arms[1])}"
            add("difference in change", f"{arms[1]} - {arms[0]}", w, [inter])
    tests = fit.contrasts(np.array(lmats), confidence=confidence)
    out = pd.DataFrame(keys, columns=["family", "group", "contrast", "wave"])
    return pd.concat([out, tests], axis=1)


def _means(
    fit: RandomInterceptFit,
    x: pd.DataFrame,
    mf: ModelFrame,
    *,
    time: str,
    waves: Sequence[str],
    arms: Sequence[str],
    group: str | None,
    fixed: Sequence[str],
    confidence: float,
) -> pd.DataFrame:
    """Means per wave (and arm) on the reference grid (see :func:`_grid_row`)."""
    base = dict.fromkeys(_own_columns(x, mf, time, group), 0.0)
    base["Intercept"] = 1.0
    rows, lmats = [], []
    for arm in arms:
        for w in waves:
            own = dict(base)
            if w != waves[0]:
                own[mf.dummy(time, w)] = 1.0
            if group and arm != arms[0]:
                own[mf.dummy(group, arm)] = 1.0
                if w != waves[0]:
                    own[f"{mf.dummy(time, w)}:{mf.dummy(group, arm)}"] = 1.0
            rows.append((w, arm))
            lmats.append(_grid_row(x, mf, own, fixed))
    tests = fit.contrasts(np.array(lmats), confidence=confidence)
    return pd.concat([pd.DataFrame(rows, columns=["wave", "group"]), tests], axis=1)


def fit_multiwave(
    data: pd.DataFrame,
    *,
    waves: Sequence[str],
    outcome: str = "score",
    time: str = "wave",
    subject: str = "participant_id",
    group: str | None = None,
    treated: str = "mentored",
    covariates: Sequence[str] = (),
    fixed_effects: Sequence[str] = (),
    primary: str | None = None,
    p_adjust: PAdjust = "holm",
    confidence: float = 0.95,
) -> MultiWave:
    """Fit ``outcome ~ wave [* group] + covariates + fixed_effects + (1 | subject)``.

    Parameters
    ----------
    data
        Long table, one row per participant × wave (one instrument × scale). Rows with a
        missing value in a model column are dropped; participants seen at one wave only
        stay in the model.
    waves
        The waves in time order; the first is the baseline (the reference level). Rows of
        other waves are ignored.
    outcome, time, subject
        Column names.
    group, treated
        Optional two-level arm column and its treated level: contrasts are then reported
        per arm, with the difference in change (wave × group interaction).
    covariates, fixed_effects
        Further fixed effects (non-numeric covariates and all ``fixed_effects`` are
        factors).
    primary
        The wave of the primary contrast against baseline (default: the last wave).
    p_adjust
        Multiplicity adjustment within each family and arm (default Holm, as
        ``emmeans::contrast(..., adjust = "holm")``).
    confidence
        Level of the (unadjusted) t-based CIs.

    Returns
    -------
    MultiWave

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> ids = np.repeat(np.arange(30), 3)
    >>> d = pd.DataFrame({"participant_id": ids, "wave": np.tile(["pre", "mid", "post"], 30),
    ...                   "score": 50 + rng.normal(0, 5, 30)[ids] + np.tile([0, 2, 4], 30)
    ...                            + rng.normal(0, 3, 90)})
    >>> m = fit_multiwave(d, waves=["pre", "mid", "post"])
    >>> m.contrasts[["contrast", "estimate", "df", "p_adj", "primary"]].round(2)
         contrast  estimate    df  p_adj  primary
    0   mid - pre      0.78  58.0   0.24    False
    1  post - pre      2.29  58.0   0.00     True
    """
    check_confidence(confidence)
    cols = [outcome, time, subject, *([group] if group else []), *covariates, *fixed_effects]
    check_columns(data, cols, what="data")
    d = data.loc[data[time].astype(str).isin(list(waves)), cols].dropna().copy()
    d[time] = d[time].astype(str)
    primary = _check_waves(d, time, waves, primary)
    if d.duplicated([subject, time]).any():
        raise DataError("more than one row per participant and wave; pass one scale at a time")
    mf = ModelFrame(d)
    terms = [mf.factor(time, levels=list(waves))]
    arms = [""]
    if group:
        treated, control = group_levels(d[group], treated=treated, what=group)
        d[group] = d[group].astype(str)
        terms = [f"{terms[0]} * {mf.factor(group, levels=[control, treated])}"]
        arms = [control, treated]
    factors = list(fixed_effects) + [c for c in covariates if is_categorical(d[c])]
    terms += [mf.factor(c) if c in factors else mf.numeric(c) for c in covariates]
    terms += [mf.factor(c) for c in fixed_effects]
    y, x = patsy.dmatrices(
        f"{mf.numeric(outcome)} ~ " + " + ".join(terms), mf.frame, return_type="dataframe"
    )
    codes = pd.factorize(d[subject])[0]
    fit = fit_random_intercept(
        y.to_numpy().ravel(), x.to_numpy(), codes, [mf.label(n) for n in x.columns],
        confidence=confidence,
    )  # fmt: skip
    contrasts = _contrast_rows(
        fit, x, mf, time=time, waves=waves, arms=arms, group=group, confidence=confidence
    )
    contrasts["p_adj"] = contrasts.groupby(["family", "group"], sort=False)["p_value"].transform(
        lambda p: adjust_pvalues(p.to_numpy(dtype=float), method=p_adjust)
    )
    contrasts["p_adjust"] = p_adjust
    contrasts["primary"] = contrasts["wave"] == primary
    contrasts = contrasts[
        ["family", "group", "contrast", "wave", *_TESTS[:5], "p_adj", "p_adjust", *_TESTS[5:],
         "primary"]
    ]  # fmt: skip
    means = _means(
        fit, x, mf, time=time, waves=waves, arms=arms, group=group, fixed=factors,
        confidence=confidence,
    )  # fmt: skip
    n_per = np.bincount(codes)
    formula = (
        f"{outcome} ~ {time}{' * ' + group if group else ''}"
        + "".join(f" + {c}" for c in [*covariates, *fixed_effects])
        + f" + (1 | {subject})"
    )
    info = pd.DataFrame(
        {"formula": [formula], "waves": [", ".join(waves)], "baseline": [waves[0]],
         "primary": [primary], "n_obs": [len(d)], "n_participants": [int(n_per.size)],
         "n_single_wave": [int((n_per == 1).sum())], "boundary": [fit.boundary]}
    )  # fmt: skip
    vc = pd.DataFrame(
        {"component": ["participant", "residual"], "variance": fit.phi, "sd": np.sqrt(fit.phi)}
    )
    return MultiWave(
        contrasts=contrasts,
        means=means,
        participation=_participation(d, time=time, subject=subject, group=group, waves=waves),
        coefficients=fit.coefficients,
        variance_components=vc,
        info=info,
    )
