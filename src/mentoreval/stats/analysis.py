"""The full statistical analysis of one evaluation, from the ``scores`` table.

:func:`run_analysis` chains the modules of :mod:`mentoreval.stats` the way a methodologist
would for the design at hand (single-arm or with a comparison group) and returns every
table the report needs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import numpy as np
import pandas as pd

from mentoreval.errors import DataError, MentorevalError
from mentoreval.stats._common import check_columns, to_prepost
from mentoreval.stats.caveats import assess_caveats
from mentoreval.stats.change import classify_change, summarise_change
from mentoreval.stats.controlled import compare_balance, fit_ancova
from mentoreval.stats.dose import fit_dose, fit_moderation
from mentoreval.stats.effsize import d_ppc2
from mentoreval.stats.meta import pool_effects
from mentoreval.stats.missing import compare_attrition, impute_ancova
from mentoreval.stats.mixed import fit_mixed
from mentoreval.stats.multiplicity import adjust_pvalues
from mentoreval.stats.paired import compare_paired
from mentoreval.stats.weighting import fit_ipw

__all__ = ["Analysis", "run_analysis"]

Key = tuple[str, str]
T = TypeVar("T")


@dataclass(frozen=True)
class Analysis:
    """Every results table of one evaluation, by name.

    ``tables`` keys (present when they apply): ``comparisons`` (the report contract),
    ``multiplicity``, ``change``, ``change_summary``, ``attrition``, ``balance``,
    ``ancova``, ``mixed``, ``d_ppc2``, ``imputation``, ``ipw``, ``dose``, ``moderation``,
    ``pooled``, ``caveats``, ``fit_notes`` (anything that could not be fitted, and why).
    Each table has ``instrument`` and ``scale`` columns where it is per scale.
    """

    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    def to_frame(self) -> pd.DataFrame:
        """The ``comparisons`` table."""
        return self.tables["comparisons"].copy()

    def _repr_html_(self) -> str:
        return "".join(f"<h4>{k}</h4>{v.to_html(index=False)}" for k, v in self.tables.items())


def _stack(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame()
    out = pd.concat(parts, ignore_index=True)
    front = [c for c in ("instrument", "scale") if c in out.columns]
    return out[front + [c for c in out.columns if c not in front]]


def primary_mask(comp: pd.DataFrame, primary: Sequence[str] | None) -> np.ndarray:
    """True for rows of ``comp`` named by ``primary`` (instrument or instrument.scale)."""
    if primary is None:
        return np.ones(len(comp), dtype=bool)
    instruments = {p for p in primary if "." not in p}
    scales = {tuple(p.split(".", 1)) for p in primary if "." in p}
    return np.array(
        [
            i in instruments or (i, s) in scales
            for i, s in zip(comp["instrument"], comp["scale"], strict=True)
        ],
        dtype=bool,
    )


def run_analysis(
    scores: pd.DataFrame,
    participants: pd.DataFrame | None = None,
    *,
    pre: str = "pre",
    post: str = "post",
    group: str | None = "group",
    treated: str = "mentored",
    covariates: Sequence[str] = (),
    fixed_effects: Sequence[str] = (),
    primary: Sequence[str] | None = None,
    multiplicity: Literal["holm", "bh", "bonferroni", "none"] = "holm",
    reliability: Mapping[Key, float] | None = None,
    higher_is_better: Mapping[Key, bool] | None = None,
    score_range: Mapping[Key, tuple[float, float]] | None = None,
    dose: str | None = None,
    moderators: Sequence[str] = (),
    pool_by: str | None = None,
    m: int = 20,
    seed: int = 0,
    mixed: bool = True,
    planned_effect: float = 0.3,
    confidence: float = 0.95,
) -> Analysis:
    """Run the full analysis on a scores table.

    Parameters
    ----------
    scores
        The long ``scores`` contract table.
    participants
        Participant table (``participant_id``, group, covariates, site/cohort, dose).
    pre, post
        Wave names.
    group, treated
        Group column and its treated level; without a participant table or with one
        group level, the single-arm analysis runs.
    covariates, fixed_effects
        ANCOVA/LMM adjustment; ``fixed_effects`` are site/cohort-like factors.
    primary
        The pre-specified primary outcomes, each an instrument (``"who5"``: all its scales)
        or one scale (``"who5.total"``). Other scales are exploratory and adjusted by
        Benjamini–Hochberg. Default: all primary.
    multiplicity
        Adjustment across the primary outcomes (R's ``p.adjust`` methods; Holm by
        default).
    reliability
        Published reliability per ``(instrument, scale)`` for the RCI; scales without it
        are skipped in ``change`` (noted in ``fit_notes``).
    higher_is_better
        Direction per ``(instrument, scale)`` for the RCI classes (default higher).
    score_range
        Possible ``(min, max)`` per scale for ceiling/floor caveats.
    dose, moderators
        Dose column (e.g. meetings) and moderator columns for exploratory models.
    pool_by
        Column (site or cohort) whose per-level effects are pooled by random-effects
        meta-analysis.
    m, seed
        Number of imputations and seed of the multiple-imputation sensitivity analysis.
    mixed
        Fit the linear mixed model.
    planned_effect
        The standardised effect the evaluation was planned to detect (caveats).
    confidence
        CI level throughout.

    Returns
    -------
    Analysis

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ids = [f"p{i}" for i in range(40)]
    >>> pre_s = rng.normal(50, 10, 40)
    >>> scores = pd.DataFrame({"participant_id": ids * 2, "wave": ["pre"] * 40 + ["post"] * 40,
    ...     "instrument": "who5", "scale": "total",
    ...     "score": np.r_[pre_s, pre_s + 3 + rng.normal(0, 6, 40)]})
    >>> people = pd.DataFrame({"participant_id": ids, "group": ["mentored", "comparison"] * 20})
    >>> res = run_analysis(scores, people, m=5)
    >>> sorted(res.tables)[:4]
    ['adjusted_means', 'ancova', 'attrition', 'balance']
    >>> int(res["adjusted_means"]["n"].sum()) == int(res["ancova"]["n"].iloc[0])
    True
    >>> res["comparisons"][["instrument", "scale", "n_pairs"]]
      instrument  scale  n_pairs
    0       who5  total       40
    """
    check_columns(scores, ["participant_id", "wave", "instrument", "scale", "score"], what="scores")
    wide = to_prepost(scores, participants, pre=pre, post=post)
    has_group = bool(group) and group in wide.columns and wide[group].dropna().nunique() == 2
    grp = group if has_group else None
    comp = compare_paired(scores, pre=pre, post=post, confidence=confidence, p_adjust="none")
    tables = _comparisons(comp, primary=primary, multiplicity=multiplicity)
    change = _change_summary(scores, wide, pre=pre, post=post, reliability=reliability,
                             higher_is_better=higher_is_better)  # fmt: skip
    if change is not None:
        tables["change_summary"] = change
    opts = _Options(pre=pre, post=post, group=grp, treated=treated, covariates=covariates,
                    fixed_effects=fixed_effects, confidence=confidence, m=m, seed=seed,
                    moderators=moderators, dose=dose, pool_by=pool_by, mixed=mixed)  # fmt: skip
    fits = _fit_scales(opts, scores, participants, wide)
    tables.update(fits.tables())
    if "ancova" in tables:  # the controlled effect is judged: adjusted like the paired tests
        tables["ancova"] = tables["ancova"].assign(
            p_adj=_adjusted(tables["ancova"], primary=primary, multiplicity=multiplicity)
        )
    if grp:
        cov_cols = [c for c in covariates if c in wide.columns]
        first = wide.drop_duplicates("participant_id")
        if cov_cols and participants is not None:
            tables["balance_participants"] = compare_balance(
                first, group=grp, treated=treated, covariates=cov_cols
            )
    tables["caveats"] = assess_caveats(
        wide, group=grp, attrition=_stack(fits.attr_diff) if fits.attr_diff else None,
        score_range=score_range, planned_effect=planned_effect,
    )  # fmt: skip
    tables["fit_notes"] = fits.notes_frame()
    return Analysis(tables=tables)


# --------------------------------------------------------------------------- sections


def _comparisons(
    comp: pd.DataFrame,
    *,
    primary: Sequence[str] | None,
    multiplicity: Literal["holm", "bh", "bonferroni", "none"],
) -> dict[str, pd.DataFrame]:
    """``comparisons`` with ``p_adj`` and the ``multiplicity`` table.

    The primary family is adjusted by ``multiplicity``, the exploratory one by
    Benjamini–Hochberg.
    """
    is_primary = primary_mask(comp, primary)
    comp["p_adj"] = _adjusted(comp, primary=primary, multiplicity=multiplicity)
    return {
        "comparisons": comp,
        "multiplicity": comp[["instrument", "scale"]].assign(
            family=np.where(is_primary, "primary", "exploratory"),
            method=np.where(is_primary, multiplicity, "bh"),
            n_tests=np.where(is_primary, int(is_primary.sum()), int((~is_primary).sum())),
        ),
    }


def _adjusted(
    table: pd.DataFrame,
    *,
    primary: Sequence[str] | None,
    multiplicity: Literal["holm", "bh", "bonferroni", "none"],
) -> np.ndarray:
    """``p_value`` adjusted within its family: the primary scales by ``multiplicity``, the
    others (exploratory) by Benjamini–Hochberg.

    Examples
    --------
    >>> t = pd.DataFrame({"instrument": ["a", "b", "c"], "scale": ["total"] * 3,
    ...                   "p_value": [0.011, 0.073, 0.1]})
    >>> _adjusted(t, primary=["a.total", "b.total", "c.total"], multiplicity="holm").round(3)
    array([0.033, 0.146, 0.146])
    """
    is_primary = primary_mask(table, primary)
    p = table["p_value"].to_numpy(dtype=float)
    p_adj = np.full(p.shape, np.nan)
    if is_primary.any():
        p_adj[is_primary] = adjust_pvalues(p[is_primary], method=multiplicity)
    if (~is_primary).any():
        p_adj[~is_primary] = adjust_pvalues(p[~is_primary], method="bh")
    return p_adj


def _change_summary(
    scores: pd.DataFrame,
    wide: pd.DataFrame,
    *,
    pre: str,
    post: str,
    reliability: Mapping[Key, float] | None,
    higher_is_better: Mapping[Key, bool] | None,
) -> pd.DataFrame | None:
    """Reliable-change classes of the scales with a published reliability, or None."""
    if not reliability:
        return None
    keys = {k for k in zip(wide["instrument"], wide["scale"], strict=True) if k in reliability}
    if not keys:
        return None
    sub = scores[[k in keys for k in zip(scores["instrument"], scores["scale"], strict=True)]]
    ch = classify_change(sub, pre=pre, post=post, reliability=reliability,
                         higher_is_better=dict(higher_is_better or {}))  # fmt: skip
    return summarise_change(ch)


@dataclass(frozen=True)
class _Options:
    """The settings of :func:`run_analysis` that the per-scale analyses use."""

    pre: str
    post: str
    group: str | None  # None: single-arm (no participant table or one group level)
    treated: str
    covariates: Sequence[str]
    fixed_effects: Sequence[str]
    confidence: float
    m: int
    seed: int
    moderators: Sequence[str]
    dose: str | None
    pool_by: str | None
    mixed: bool


#: The per-scale tables, in the order they are reported.
_PER_SCALE = ("attrition", "balance", "ancova", "adjusted_means", "mixed", "d_ppc2",
              "imputation", "ipw", "dose", "moderation", "pooled")  # fmt: skip


@dataclass
class _Fits:
    """The per-scale tables and fit notes, gathered scale by scale."""

    parts: dict[str, list[pd.DataFrame]] = field(
        default_factory=lambda: {k: [] for k in _PER_SCALE}
    )
    attr_diff: list[pd.DataFrame] = field(default_factory=list)
    notes: list[tuple[str, str, str, str]] = field(default_factory=list)

    def attempt(
        self, ids: dict[str, str], what: str, fn: Callable[..., T], *args: Any, **kwargs: Any
    ) -> T | None:
        """Run one analysis; a failure becomes a fit note instead of stopping the rest."""
        try:
            return fn(*args, **kwargs)
        except (MentorevalError, np.linalg.LinAlgError, ValueError) as exc:
            self.notes.append((ids["instrument"], ids["scale"], what, str(exc).splitlines()[0]))
            return None

    def add(self, name: str, table: pd.DataFrame | None, ids: dict[str, str]) -> None:
        """Keep a per-scale table (when it was fitted), labelled with its scale."""
        if table is not None:
            self.parts[name].append(table.assign(**ids))

    def tables(self) -> dict[str, pd.DataFrame]:
        """Each per-scale table stacked over the scales, when any scale has one."""
        stacked = {name: _stack(frames) for name, frames in self.parts.items()}
        return {name: table for name, table in stacked.items() if len(table)}

    def notes_frame(self) -> pd.DataFrame:
        """``fit_notes``: what could not be fitted, and why."""
        return pd.DataFrame(self.notes, columns=["instrument", "scale", "analysis", "reason"])


def _fit_scales(
    opts: _Options, scores: pd.DataFrame, participants: pd.DataFrame | None, wide: pd.DataFrame
) -> _Fits:
    """Every per-scale analysis, scale by scale (sorted by instrument and scale)."""
    fits = _Fits()
    long_all = None
    if opts.mixed:
        long_all = scores.loc[scores["wave"].isin([opts.pre, opts.post])]
        if participants is not None:
            long_all = long_all.merge(participants, on="participant_id", how="left")
    for (instrument, scale), g in wide.groupby(["instrument", "scale"], sort=True):
        ids: dict[str, str] = {"instrument": str(instrument), "scale": str(scale)}
        att = fits.attempt(ids, "attrition", compare_attrition, g, group=opts.group,
                           treated=opts.treated, covariates=opts.covariates)  # fmt: skip
        if att is not None:
            fits.add("attrition", att.rates, ids)
            fits.attr_diff.append(att.differential.assign(**ids))
        if opts.group:
            _fit_controlled(fits, opts, ids, g, opts.group)
        if opts.dose:
            sub = g[g[opts.group].astype(str) == opts.treated] if opts.group else g
            fits.add("dose", fits.attempt(ids, "dose", fit_dose, sub, dose=opts.dose), ids)
        if opts.mixed and long_all is not None:
            lg = long_all[(long_all["instrument"] == instrument) & (long_all["scale"] == scale)]
            mm = fits.attempt(ids, "mixed", fit_mixed, lg, pre=opts.pre, post=opts.post,
                              group=opts.group, treated=opts.treated, covariates=opts.covariates,
                              fixed_effects=opts.fixed_effects, confidence=opts.confidence)  # fmt: skip
            fits.add("mixed", mm.contrast if mm is not None else None, ids)
        if opts.pool_by and opts.pool_by in g.columns:
            pooled = fits.attempt(ids, "pooled", _pool, g, pool_by=opts.pool_by, group=opts.group,
                                  treated=opts.treated, confidence=opts.confidence)  # fmt: skip
            fits.add("pooled", pooled, ids)
    return fits


def _fit_controlled(
    fits: _Fits, opts: _Options, ids: dict[str, str], g: pd.DataFrame, grp: str
) -> None:
    """One scale against its comparison group: balance, ANCOVA, d_ppc2, MI, IPW, moderators."""
    treated, covariates, confidence = opts.treated, opts.covariates, opts.confidence
    base = g.dropna(subset=["pre"])
    bal = fits.attempt(ids, "balance", compare_balance, base, group=grp, treated=treated,
                       covariates=["pre", *covariates])  # fmt: skip
    fits.add("balance", bal, ids)
    kw: dict[str, Any] = {"group": grp, "treated": treated, "covariates": covariates,
                          "fixed_effects": opts.fixed_effects, "confidence": confidence}  # fmt: skip
    anc = fits.attempt(ids, "ancova", fit_ancova, g, **kw)
    if anc is not None:
        fits.add("ancova", anc.contrast, ids)
        fits.add("adjusted_means", anc.adjusted_means, ids)
    t = g[g[grp].astype(str) == treated]
    c = g[g[grp].astype(str) != treated]
    dp = fits.attempt(ids, "d_ppc2", d_ppc2, t["pre"], t["post"], c["pre"], c["post"],
                      confidence=confidence)  # fmt: skip
    fits.add("d_ppc2", dp, ids)
    mi = fits.attempt(ids, "imputation", impute_ancova, g, m=opts.m, seed=opts.seed, **kw)
    fits.add("imputation", mi, ids)
    if covariates:
        ipw = fits.attempt(ids, "ipw", fit_ipw, g, group=grp, treated=treated,
                           covariates=covariates, confidence=confidence)  # fmt: skip
        fits.add("ipw", ipw.effect if ipw is not None else None, ids)
    for mod in opts.moderators:
        mo = fits.attempt(ids, f"moderation {mod}", fit_moderation, g, moderator=mod, group=grp,
                          treated=treated)  # fmt: skip
        fits.add("moderation", mo, ids)


def _pool(
    g: pd.DataFrame, *, pool_by: str, group: str | None, treated: str, confidence: float
) -> pd.DataFrame:
    """Per-level effects (ANCOVA difference post ~ pre + group, or mean change when
    single-arm) pooled by DerSimonian–Laird."""
    est, se, labels = [], [], []
    for level, sub in g.groupby(pool_by, sort=True):
        both = sub.dropna(subset=["pre", "post"])
        if group:
            if both[group].nunique() < 2 or len(both) < 6:
                continue
            # post ~ 1 + pre + group by least squares (the fit_ancova contrast without its
            # tables; patsy per level would dominate the run time with many sites)
            z = (both[group].astype(str) == treated).to_numpy(dtype=float)
            x = np.column_stack([np.ones(len(both)), both["pre"].to_numpy(dtype=float), z])
            y = both["post"].to_numpy(dtype=float)
            xtx_inv = np.linalg.inv(x.T @ x)
            beta = xtx_inv @ x.T @ y
            s2 = float(np.sum((y - x @ beta) ** 2)) / (len(y) - 3)
            est.append(float(beta[2]))
            se.append(float(np.sqrt(s2 * xtx_inv[2, 2])))
        else:
            if len(both) < 3:
                continue
            d = both["post"] - both["pre"]
            est.append(d.mean())
            se.append(d.std(ddof=1) / np.sqrt(len(d)))
        labels.append(str(level))
    if len(est) < 2:
        raise DataError(f"fewer than 2 levels of {pool_by} with enough data to pool")
    res = pool_effects(est, se, labels=labels, confidence=confidence)
    out = res.to_frame()
    het = res.heterogeneity.iloc[0]
    return out.assign(pool_by=pool_by, tau2=het["tau2"], i2=het["i2"], q_p_value=het["q_p_value"],
                      effect="ancova difference" if group else "mean change")  # fmt: skip
