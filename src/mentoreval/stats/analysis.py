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
    notes: list[tuple[str, str, str, str]] = []
    tables: dict[str, pd.DataFrame] = {}

    comp = compare_paired(scores, pre=pre, post=post, confidence=confidence, p_adjust="none")
    is_primary = primary_mask(comp, primary)
    p = comp["p_value"].to_numpy(dtype=float)
    p_adj = np.full(p.shape, np.nan)
    if is_primary.any():
        p_adj[is_primary] = adjust_pvalues(p[is_primary], method=multiplicity)
    if (~is_primary).any():
        p_adj[~is_primary] = adjust_pvalues(p[~is_primary], method="bh")
    comp["p_adj"] = p_adj
    tables["comparisons"] = comp
    tables["multiplicity"] = comp[["instrument", "scale"]].assign(
        family=np.where(is_primary, "primary", "exploratory"),
        method=np.where(is_primary, multiplicity, "bh"),
        n_tests=np.where(is_primary, int(is_primary.sum()), int((~is_primary).sum())),
    )

    if reliability:
        keys = {k for k in zip(wide["instrument"], wide["scale"], strict=True) if k in reliability}
        if keys:
            sub = scores[
                [k in keys for k in zip(scores["instrument"], scores["scale"], strict=True)]
            ]
            ch = classify_change(sub, pre=pre, post=post, reliability=reliability,
                                 higher_is_better=dict(higher_is_better or {}))  # fmt: skip
            tables["change_summary"] = summarise_change(ch)

    parts: dict[str, list[pd.DataFrame]] = {
        k: []
        for k in (
            "attrition",
            "balance",
            "ancova",
            "adjusted_means",
            "mixed",
            "d_ppc2",
            "imputation",
            "ipw",
            "dose",
            "moderation",
            "pooled",
        )
    }
    attr_diff: list[pd.DataFrame] = []
    long_all = None
    if mixed:
        long_all = scores.loc[scores["wave"].isin([pre, post])]
        if participants is not None:
            long_all = long_all.merge(participants, on="participant_id", how="left")

    def attempt(
        ids: dict[str, str], what: str, fn: Callable[..., T], *args: Any, **kwargs: Any
    ) -> T | None:
        """Run one analysis; a failure becomes a fit note instead of stopping the rest."""
        try:
            return fn(*args, **kwargs)
        except (MentorevalError, np.linalg.LinAlgError, ValueError) as exc:
            notes.append((ids["instrument"], ids["scale"], what, str(exc).splitlines()[0]))
            return None

    for (instrument, scale), g in wide.groupby(["instrument", "scale"], sort=True):
        ids: dict[str, str] = {"instrument": str(instrument), "scale": str(scale)}

        att = attempt(
            ids,
            "attrition",
            compare_attrition,
            g,
            group=grp,
            treated=treated,
            covariates=covariates,
        )
        if att is not None:
            parts["attrition"].append(att.rates.assign(**ids))
            attr_diff.append(att.differential.assign(**ids))
        if grp:
            base = g.dropna(subset=["pre"])
            bal = attempt(
                ids,
                "balance",
                compare_balance,
                base,
                group=grp,
                treated=treated,
                covariates=["pre", *covariates],
            )
            if bal is not None:
                parts["balance"].append(bal.assign(**ids))
            kw: dict[str, Any] = {"group": grp, "treated": treated, "covariates": covariates,
                                  "fixed_effects": fixed_effects, "confidence": confidence}  # fmt: skip
            anc = attempt(ids, "ancova", fit_ancova, g, **kw)
            if anc is not None:
                parts["ancova"].append(anc.contrast.assign(**ids))
                parts["adjusted_means"].append(anc.adjusted_means.assign(**ids))
            t = g[g[grp].astype(str) == treated]
            c = g[g[grp].astype(str) != treated]
            dp = attempt(
                ids,
                "d_ppc2",
                d_ppc2,
                t["pre"],
                t["post"],
                c["pre"],
                c["post"],
                confidence=confidence,
            )
            if dp is not None:
                parts["d_ppc2"].append(dp.assign(**ids))
            mi = attempt(ids, "imputation", impute_ancova, g, m=m, seed=seed, **kw)
            if mi is not None:
                parts["imputation"].append(mi.assign(**ids))
            if covariates:
                ipw = attempt(ids, "ipw", fit_ipw, g, group=grp, treated=treated, covariates=covariates,
                              confidence=confidence)  # fmt: skip
                if ipw is not None:
                    parts["ipw"].append(ipw.effect.assign(**ids))
            for mod in moderators:
                mo = attempt(
                    ids,
                    f"moderation {mod}",
                    fit_moderation,
                    g,
                    moderator=mod,
                    group=grp,
                    treated=treated,
                )
                if mo is not None:
                    parts["moderation"].append(mo.assign(**ids))
        if dose:
            sub = g[g[grp].astype(str) == treated] if grp else g
            ds = attempt(ids, "dose", fit_dose, sub, dose=dose)
            if ds is not None:
                parts["dose"].append(ds.assign(**ids))
        if mixed and long_all is not None:
            lg = long_all[(long_all["instrument"] == instrument) & (long_all["scale"] == scale)]
            mm = attempt(ids, "mixed", fit_mixed, lg, pre=pre, post=post, group=grp, treated=treated,
                         covariates=covariates, fixed_effects=fixed_effects, confidence=confidence)  # fmt: skip
            if mm is not None:
                parts["mixed"].append(mm.contrast.assign(**ids))
        if pool_by and pool_by in g.columns:
            pooled = attempt(
                ids,
                "pooled",
                _pool,
                g,
                pool_by=pool_by,
                group=grp,
                treated=treated,
                confidence=confidence,
            )
            if pooled is not None:
                parts["pooled"].append(pooled.assign(**ids))
    for name, frames in parts.items():
        stacked = _stack(frames)
        if len(stacked):
            tables[name] = stacked
    if grp:
        cov_cols = [c for c in covariates if c in wide.columns]
        first = wide.drop_duplicates("participant_id")
        if cov_cols and participants is not None:
            tables["balance_participants"] = compare_balance(
                first, group=grp, treated=treated, covariates=cov_cols
            )
    tables["caveats"] = assess_caveats(
        wide, group=grp, attrition=_stack(attr_diff) if attr_diff else None, score_range=score_range,
        planned_effect=planned_effect,
    )  # fmt: skip
    tables["fit_notes"] = pd.DataFrame(notes, columns=["instrument", "scale", "analysis", "reason"])
    return Analysis(tables=tables)


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
