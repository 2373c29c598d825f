"""The cohort report's comparisons: per-group paired change, controlled findings, headline.

Report stage (what is computed), from the statistics in :mod:`mentoreval.stats`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mentoreval.config.disclosure import DisclosurePolicy
from mentoreval.frames import iter_rows
from mentoreval.report.wording import Finding, format_finding

if TYPE_CHECKING:  # pragma: no cover
    pass


def per_group_comparisons(
    scores: pd.DataFrame,
    people: pd.DataFrame,
    group_col: str,
    groups: Sequence[str],
    *,
    pre: str,
    post: str,
    confidence: float,
    primary: Sequence[str] | None,
    multiplicity: str,
) -> pd.DataFrame:
    """Paired pre/post comparisons within each group, with the multiplicity families
    (primary: ``multiplicity``; exploratory: BH) applied within each group."""
    from mentoreval.stats.analysis import primary_mask
    from mentoreval.stats.multiplicity import adjust_pvalues
    from mentoreval.stats.paired import compare_paired

    parts = []
    member = people[group_col].astype("string")
    for g in groups:
        ids = set(people.loc[(member == g).fillna(False).to_numpy(bool), "participant_id"])
        sub = scores[scores["participant_id"].isin(ids)]
        if sub.empty:
            continue
        c = compare_paired(sub, pre=pre, post=post, confidence=confidence, p_adjust="none")
        prim = primary_mask(c, primary)
        p = c["p_value"].to_numpy(dtype=float)
        p_adj = np.full(p.shape, np.nan)
        if prim.any():
            p_adj[prim] = adjust_pvalues(p[prim], method=multiplicity)  # type: ignore[arg-type]  # checked by the study config (Literal there)
        if (~prim).any():
            p_adj[~prim] = adjust_pvalues(p[~prim], method="bh")
        parts.append(c.assign(p_adj=p_adj, group=str(g)))
    return pd.concat(parts, ignore_index=True)


def _pooled_baseline_sd(wide: pd.DataFrame, group_col: str) -> dict[tuple[str, str], float]:
    """SD of the baseline score pooled over the groups, among students with both waves."""
    out = {}
    both = wide.dropna(subset=["pre", "post", group_col])
    for (instrument, scale), g in both.groupby(["instrument", "scale"], sort=False):
        stats = g.groupby(g[group_col].astype(str))["pre"].agg(["count", "var"]).dropna()
        dof = float((stats["count"] - 1).sum())
        if len(stats) == 2 and dof > 0:
            out[(str(instrument), str(scale))] = math.sqrt(
                float(((stats["count"] - 1) * stats["var"]).sum()) / dof
            )
    return out


def controlled_findings(
    tables: Mapping[str, pd.DataFrame],
    pooled_comp: pd.DataFrame,
    wide: pd.DataFrame,
    meta: pd.DataFrame,
    is_primary: np.ndarray,
    group_col: str,
    treated: str,
    policy: DisclosurePolicy,
    *,
    every_scale: bool = False,
    design: str = "comparison",
    alpha: float = 0.05,
) -> tuple[Finding, ...]:
    """Headline findings of a comparison design: the controlled effect (ANCOVA adjusted
    difference, standardised by the pooled baseline SD, and d_ppc2) judged, plus the
    mentored group's own change; primary outcomes first. A primary outcome's judgement
    defers to its multiplicity-adjusted p (``p_adj`` of the ``ancova`` table)."""
    anc = tables.get("ancova", pd.DataFrame(columns=["instrument", "scale"]))
    sds = _pooled_baseline_sd(wide, group_col)
    nan = float("nan")
    candidates = []
    for pos, r in enumerate(iter_rows(pooled_comp)):
        i, s = str(r.instrument), str(r.scale)
        est = float(_row(anc, i, s).get("estimate", nan))
        sd = sds.get((i, s), nan)
        std = est / sd if sd and math.isfinite(sd) else nan
        candidates.append((bool(is_primary[pos]), abs(std) if math.isfinite(std) else -1.0, i, s))
    candidates.sort(key=lambda c: (not c[0], -c[1]))
    n_primary = sum(c[0] for c in candidates)
    chosen = [c for c in candidates if c[0]][:5] if n_primary > 5 else candidates[:5]
    if every_scale:
        chosen = sorted(candidates, key=lambda c: (c[2], c[3]))
    kw: dict[str, Any] = {"treated": treated, "design": design, "alpha": alpha}
    return tuple(
        _controlled_finding(tables, meta, i, s, primary=p, sd=sds.get((i, s), nan), **kw)
        for p, _, i, s in chosen
    )


def _row(frame: pd.DataFrame, i: str, s: str, **where: str) -> Mapping[str, Any]:
    """The first row of ``frame`` for one scale (and ``where``), as a mapping; ``{}`` if none."""
    sel = frame[(frame["instrument"] == i) & (frame["scale"] == s)]
    for k, v in where.items():
        sel = sel[sel[k].astype(str) == v]
    return {str(k): v for k, v in sel.iloc[0].items()} if len(sel) else {}


def _controlled_finding(
    tables: Mapping[str, pd.DataFrame],
    meta: pd.DataFrame,
    i: str,
    s: str,
    *,
    primary: bool,
    treated: str,
    sd: float,
    design: str,
    alpha: float,
) -> Finding:
    """One scale's controlled finding (see :func:`controlled_findings`)."""
    nan = float("nan")
    comp = tables["comparisons"]
    m = meta.loc[(i, s)]
    hib = bool(m["higher_is_better"])  # type: ignore[call-overload,index]  # pandas-stubs: a cell or groupby key is typed as any scalar; here it is the column's str/float
    a = _row(tables.get("ancova", pd.DataFrame(columns=["instrument", "scale"])), i, s)
    d = _row(tables.get("d_ppc2", pd.DataFrame(columns=["instrument", "scale"])), i, s)
    own = _row(comp, i, s, group=treated)
    other = [g for g in comp.loc[comp["group"] != treated, "group"].astype(str).unique()]
    ctrl = _row(comp, i, s, group=other[0]) if other else {}
    est = float(a.get("estimate", nan))
    lo, hi = float(a.get("ci_low", nan)), float(a.get("ci_high", nan))
    scaled = [v / sd if math.isfinite(sd) and sd > 0 else nan for v in (est, lo, hi)]
    p_adj = float(a.get("p_adj", nan)) if primary else None
    judgement = format_finding(*scaled, higher_is_better=hib, contrast=True,
                               p_adjusted=p_adj, alpha=alpha)  # fmt: skip
    return Finding(
        instrument=i,
        scale=s,
        label=str(m["label"]),  # type: ignore[call-overload,index]  # pandas-stubs: a cell or groupby key is typed as any scalar; here it is the column's str/float
        primary=primary,
        n_pairs=float(own.get("n_pairs", nan)),
        mean_diff=float(own.get("mean_diff", nan)),
        ci_low=float(own.get("ci_low", nan)),
        ci_high=float(own.get("ci_high", nan)),
        d_z=float(own.get("d_z", nan)),
        d_z_ci_low=float(own.get("d_z_ci_low", nan)),
        d_z_ci_high=float(own.get("d_z_ci_high", nan)),
        higher_is_better=hib,
        units=f"points on a {m['range_low']:g}–{m['range_high']:g} scale",  # type: ignore[call-overload,index]  # pandas-stubs: a cell or groupby key is typed as any scalar; here it is the column's str/float
        judgement=judgement,
        suppressed=bool(a.get("suppressed", True)) or not math.isfinite(est),
        design=design,
        n_control=float(ctrl.get("n_pairs", nan)),
        adj_diff=est,
        adj_ci_low=lo,
        adj_ci_high=hi,
        adj_std=scaled[0],
        adj_std_ci_low=scaled[1],
        adj_std_ci_high=scaled[2],
        p_adj=float(a.get("p_adj", nan)),
        d_ppc2=float(d.get("value", nan)),
        d_ppc2_ci_low=float(d.get("ci_low", nan)),
        d_ppc2_ci_high=float(d.get("ci_high", nan)),
    )


def cohort_findings(
    tables: Mapping[str, pd.DataFrame],
    pooled_comp: pd.DataFrame,
    wide: pd.DataFrame,
    meta: pd.DataFrame,
    is_primary: np.ndarray,
    policy: DisclosurePolicy,
    *,
    group_col: str | None,
    treated: str,
    design: str,
    alpha: float,
) -> tuple[tuple[Finding, ...], pd.DataFrame | None]:
    """The summary's findings and, with a group, every scale's controlled finding (for the
    forest plot): controlled effects with a group, paired changes without."""
    if not group_col:
        comp = tables["comparisons"]
        primary = _primary_rows(comp, pooled_comp, is_primary)
        return headline_findings(comp, meta, primary, policy, alpha=alpha), None
    kw: dict[str, Any] = {"design": design, "alpha": alpha}
    args = (tables, pooled_comp, wide, meta, is_primary, group_col, treated, policy)
    headline = controlled_findings(*args, **kw)
    every = controlled_findings(*args, every_scale=True, **kw)
    return headline, pd.DataFrame([f.to_dict() for f in every])


def _primary_rows(
    frame: pd.DataFrame, pooled_comp: pd.DataFrame, is_primary: np.ndarray
) -> np.ndarray:
    """``is_primary`` (one flag per row of ``pooled_comp``) for the rows of ``frame``, matched
    by instrument and scale: the released comparisons leave out a measure taken once."""
    keys = zip(pooled_comp["instrument"].astype(str), pooled_comp["scale"].astype(str), strict=True)
    flags = dict(zip(keys, np.asarray(is_primary, dtype=bool), strict=True))
    rows = zip(frame["instrument"].astype(str), frame["scale"].astype(str), strict=True)
    return np.array([flags.get(k, False) for k in rows], dtype=bool)


def headline_findings(
    comp: pd.DataFrame,
    meta: pd.DataFrame,
    is_primary: np.ndarray,
    policy: DisclosurePolicy,
    *,
    alpha: float = 0.05,
) -> tuple[Finding, ...]:
    """Headline findings of a single-arm design: the paired change, primary outcomes first;
    a primary outcome's judgement defers to its multiplicity-adjusted p (``p_adj``)."""
    ranked = comp.assign(primary_=is_primary, size_=comp["d_z"].abs().fillna(-1.0))
    ranked = ranked.sort_values(["primary_", "size_"], ascending=[False, False], kind="stable")
    chosen = ranked.head(5) if is_primary.sum() <= 5 else ranked[ranked["primary_"]].head(5)
    out = []
    for r in iter_rows(chosen):
        m = meta.loc[(r.instrument, r.scale)]
        hib = bool(m["higher_is_better"])
        units = f"points on a {m['range_low']:g}–{m['range_high']:g} scale"
        p_adj = float(getattr(r, "p_adj", float("nan")))
        judgement = format_finding(r.d_z, r.d_z_ci_low, r.d_z_ci_high, higher_is_better=hib,
                                   p_adjusted=p_adj if r.primary_ else None, alpha=alpha)  # fmt: skip
        out.append(
            Finding(
                instrument=str(r.instrument),
                scale=str(r.scale),
                label=str(m["label"]),
                primary=bool(r.primary_),
                n_pairs=float(r.n_pairs),
                mean_diff=float(r.mean_diff),
                ci_low=float(r.ci_low),
                ci_high=float(r.ci_high),
                d_z=float(r.d_z),
                d_z_ci_low=float(r.d_z_ci_low),
                d_z_ci_high=float(r.d_z_ci_high),
                higher_is_better=hib,
                units=units,
                judgement=judgement,
                suppressed=bool(r.suppressed),
                p_adj=p_adj,
            )
        )
    return tuple(out)
