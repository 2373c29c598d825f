"""One release model for a whole cohort report: every count it publishes, decided once.

Report stage (what may be released). The tables of :func:`analyse_cohort` are first built
in full (nothing hidden); :func:`register_tables` then registers every count they show in
one :class:`~mentoreval.disclose.release.ReleaseRegistry` under a key that names *what* is
counted, not where it is shown: the 49 mentored students with both WHO-5 scores are one
count ``pairs.who5.total.mentored`` whether the outcome table, the ANCOVA table or the
attrition table shows it. With them go the linear relations a reader could use (a flow's
``received = kept + excluded``, groups that sum to all students, bands and answer options
that sum to their total, a model's n that is the sum of its arms, a part of a whole whose
rest is small). :meth:`ReleaseRegistry.decide` chooses the suppressions once, audits them
with linear programming, and :func:`~mentoreval.report.cohort.publish.apply_release` writes the one decision back into every
table: a count hidden anywhere is hidden everywhere.

Two kinds of numbers rest on counts. Numbers that give a count back (a percentage, a
proportion, ``df = n − 1``) are hidden with any count they rest on. Statistics (means,
differences, effect sizes, p-values) are withheld only when their group is itself small (or
differs from an earlier release by a few students); a group of 62 whose n is hidden to
protect another cell keeps its statistics, as the issue of truthful disclosure asks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mentoreval.disclose.release import ReleaseRegistry
from mentoreval.report.released import ReleasedCells, rows_of

__all__ = ["CohortRegistry", "register_tables", "rows_of"]


@dataclass
class CohortRegistry(ReleasedCells):
    """The registry of one cohort report and where each of its counts is shown
    (:class:`~mentoreval.report.released.ReleasedCells`), with the keys of each exclusion
    rule per wave (the quarantine table's rows sum them)."""

    rule_keys: dict[str, list[str]] = field(default_factory=dict)


def _num(row: pd.Series, column: str) -> float:
    value = row.get(column, np.nan)
    return float("nan") if value is None or pd.isna(value) else float(value)


# ---------------------------------------------------------------------------- flow


def _register_flow(
    reg: CohortRegistry, tables: Mapping[str, pd.DataFrame]
) -> dict[str, str | None]:
    """The participant flow, participation by wave, linkage and exclusion reasons."""
    keys: dict[str, str | None] = {}
    part = tables.get("participation")
    for i, r in rows_of(part):
        w = "pre" if i == 0 else "post"
        for col, name in (("received", "read"), ("excluded", "excl"), ("kept", "kept")):
            at = [("participation", i, col)]
            if name == "read" and w == "pre":
                at.append(("flow", 0, "n"))
            if name == "excl" and w == "pre":
                at.append(("flow", 0, "excluded"))
            if name == "kept" and w == "pre":
                at.append(("flow", 1, "n"))
            keys[f"{name}_{w}"] = reg.count(
                f"flow.{name}.{w}", r[col], at=at, sensitive=name != "excl"
            )
    flow = tables.get("flow")
    link = tables.get("linkage")
    if flow is not None and len(flow) >= 4:
        keys["linked"] = reg.count(
            "flow.linked", flow.at[2, "n"], at=[("flow", 2, "n"), ("linkage", 1, "n")]
        )
        keys["pre_only"] = reg.count(
            "flow.pre_only",
            flow.at[1, "excluded"],
            at=[("flow", 1, "excluded"), ("linkage", 2, "n")],
        )
        keys["analysed"] = reg.count("flow.analysed", flow.at[3, "n"], at=[("flow", 3, "n")])
        keys["not_analysed"] = reg.count(
            "flow.not_analysed", flow.at[2, "excluded"], at=[("flow", 2, "excluded")]
        )
    if link is not None and len(link) >= 4:
        keys["participants"] = reg.count(
            "flow.participants", link.at[0, "n"], at=[("linkage", 0, "n")]
        )
        keys["post_only"] = reg.count("flow.post_only", link.at[3, "n"], at=[("linkage", 3, "n")])
    for w in ("pre", "post"):
        reg.total(keys.get(f"read_{w}"), [keys.get(f"kept_{w}"), keys.get(f"excl_{w}")])
        reg.total(keys.get(f"kept_{w}"), [keys.get("linked"), keys.get(f"{w}_only")])
    reg.total(
        keys.get("participants"), [keys.get("linked"), keys.get("pre_only"), keys.get("post_only")]
    )
    reg.total(keys.get("linked"), [keys.get("analysed"), keys.get("not_analysed")])
    _register_codes(reg, link, keys)
    _register_reasons(reg, tables.get("flow_reasons"), keys)
    return keys


def _register_codes(
    reg: CohortRegistry, link: pd.DataFrame | None, keys: Mapping[str, str | None]
) -> None:
    """A study linked by self-generated codes (linkage rows 4-6): the linked pairs split
    into those with the same code and those within the tolerance, and the participants left
    unlinked by an ambiguous code (a share of all participants)."""
    if link is None or len(link) != 7:
        return
    exact, tolerant, ambiguous = (
        reg.count(f"flow.code_{name}", link.at[i, "n"], at=[("linkage", i, "n")])
        for i, name in ((4, "exact"), (5, "tolerant"), (6, "ambiguous"))
    )
    reg.total(keys.get("linked"), [exact, tolerant])
    reg.share(ambiguous, keys.get("participants"))


def _register_reasons(
    reg: CohortRegistry, reasons: pd.DataFrame | None, keys: Mapping[str, str | None]
) -> None:
    """Exclusion reasons per wave (shown in the flow's text) and the quarantine table."""
    by_rule: dict[str, list[str]] = {}
    for w in ("pre", "post"):
        parts = []
        for i, r in rows_of(reasons):
            if r["wave_role"] == w:
                key = reg.count(
                    f"flow.reason.{w}.{r['rule']}",
                    r["n"],
                    at=[("flow_reasons", i, "n")],
                    sensitive=False,
                )
                if key:
                    parts.append(key)
                    by_rule.setdefault(str(r["rule"]), []).append(key)
        reg.total(keys.get(f"excl_{w}"), parts)
    reg.rule_keys = by_rule


def _register_quarantine(
    reg: CohortRegistry, q: pd.DataFrame | None, keys: Mapping[str, str | None]
) -> None:
    if q is None or q.empty:
        return
    rule_keys = reg.rule_keys
    parts = []
    total = None
    for i, r in rows_of(q):
        rule = str(r["rule"])
        key = reg.count(f"quarantine.{rule}", r["n"], at=[("quarantine", i, "n")], sensitive=False)
        if rule == "total":
            total = key
            continue
        if key:
            parts.append(key)
            reg.total(key, rule_keys.get(rule, []))
    reg.total(total, parts)
    reg.total(total, [keys.get("excl_pre"), keys.get("excl_post")])


# ---------------------------------------------------------------------------- groups


def _register_groups(
    reg: CohortRegistry, rates: pd.DataFrame | None, keys: dict[str, str | None]
) -> dict[str, tuple[str | None, str | None]]:
    """Response rates by group: baseline and followed-up students, groups summing to all."""
    arms: dict[str, tuple[str | None, str | None]] = {}
    for i, r in rows_of(rates):
        g = str(r["group"])
        arm = "all" if g == "all students" else g
        base_key = "flow.kept.pre" if arm == "all" else f"group.{arm}.baseline"
        link_key = "flow.linked" if arm == "all" else f"group.{arm}.linked"
        base = reg.count(base_key, r["n_baseline"], at=[("response_rates", i, "n_baseline")])
        linked = reg.count(
            link_key, r["n_followed_up"], at=[("response_rates", i, "n_followed_up")]
        )
        reg.share(linked, base)
        arms[arm] = (base, linked)
    others = [a for a in arms if a != "all"]
    if "all" in arms and others:
        for j in (0, 1):
            reg.total(arms["all"][j], [arms[a][j] for a in others])
    return arms


def _pairs_key(inst: str, scale: str, arm: str) -> str:
    return f"pairs.{inst}.{scale}.{arm}"


def _arm_of(row: pd.Series) -> str:
    """The arm a descriptive row describes: its ``group``, or "all" (single-arm design)."""
    group = row.get("group")
    return "all" if group is None or pd.isna(group) else str(group)


def _scope(*parts: object, arm: str) -> str:
    """A key prefix naming what is counted, with the arm when it is one of two.

    Examples
    --------
    >>> _scope("bands", "who5", "total", arm="all"), _scope("bands", "who5", "total", arm="mentored")
    ('bands.who5.total', 'bands.who5.total.mentored')
    """
    return ".".join(str(p) for p in (*parts, *([] if arm == "all" else [arm])))


def _register_outcomes(
    reg: CohortRegistry,
    tables: Mapping[str, pd.DataFrame],
    arms: Mapping[str, tuple[str | None, str | None]],
    treated: str,
) -> None:
    """Pairs per outcome and arm (the ledger cell shared with the annual report)."""
    comp = tables.get("comparisons")
    per_scale: dict[tuple[str, str], list[str]] = {}
    for i, r in rows_of(comp):
        inst, scale = str(r["instrument"]), str(r["scale"])
        arm = str(r["group"]) if "group" in r.index and not pd.isna(r["group"]) else "all"
        group = f"{inst} / {scale}" + ("" if arm in ("all", treated) else f" / {arm}")
        key = reg.count(
            _pairs_key(inst, scale, arm), r["n_pairs"], at=[("comparisons", i, "n_pairs")],
            ledger=("outcomes", group, "n_pairs"), keep=True,
        )  # fmt: skip
        reg.share(key, (arms.get(arm) or arms.get("all") or (None, None))[1])
        if key and arm != "all":
            per_scale.setdefault((inst, scale), []).append(key)
    for name in ("bands", "change"):
        for i, r in rows_of(tables.get(name)):
            inst, scale, arm = str(r["instrument"]), str(r["scale"]), _arm_of(r)
            # one arm's pairs (a comparison design describes each arm apart) or all pairs
            pairs = reg.count(_pairs_key(inst, scale, arm), r["n_pairs"], at=[(name, i, "n_pairs")])
            if arm == "all":
                reg.total(pairs, per_scale.get((inst, scale), []))


def _arm_count(
    reg: CohortRegistry, table: str, i: int, r: pd.Series, column: str, arm: str, prefix: str
) -> str | None:
    """An arm's n in a model or balance table: the same key as the arm's pairs (or
    baseline students) when it is the same number, else its own key, a part of them."""
    inst, scale = str(r.get("instrument", "")), str(r.get("scale", ""))
    base = f"{prefix}.{inst}.{scale}.{arm}"
    value = r.get(column, np.nan)
    counts = reg.registry.counts
    if base in counts and not pd.isna(value) and counts[base].value == int(value):
        return reg.count(base, value, at=[(table, i, column)])
    key = reg.count(f"{table}.{inst}.{scale}.{arm}", value, at=[(table, i, column)])
    if base in counts:
        reg.share(key, base)
    return key


def _register_models(
    reg: CohortRegistry, tables: Mapping[str, pd.DataFrame], treated: str, control: str
) -> None:
    """Arms' n in the ANCOVA, IPW, d_ppc2, mixed-model and adjusted-means tables."""
    for name in ("ancova", "ipw", "d_ppc2", "mixed"):
        for i, r in rows_of(tables.get(name)):
            t = _arm_count(reg, name, i, r, "n_treated", treated, "pairs")
            c = _arm_count(reg, name, i, r, "n_control", control, "pairs")
            if name == "ancova":
                n = reg.count(
                    f"ancova.{r['instrument']}.{r['scale']}.n", r.get("n"), at=[(name, i, "n")]
                )
                reg.total(n, [t, c])
            if name == "mixed":
                who = reg.count(
                    f"mixed.{r['instrument']}.{r['scale']}.participants", r.get("n_participants"),
                    at=[(name, i, "n_participants")],
                )  # fmt: skip
                one = reg.count(
                    f"mixed.{r['instrument']}.{r['scale']}.single_wave", r.get("n_single_wave"),
                    at=[(name, i, "n_single_wave")],
                )  # fmt: skip
                reg.share(one, who)
    for i, r in rows_of(tables.get("adjusted_means")):
        arm = str(r["group"])
        _arm_count(reg, "adjusted_means", i, r, "n", arm, "pairs")


def _register_balance(
    reg: CohortRegistry,
    tables: Mapping[str, pd.DataFrame],
    arms: Mapping[str, tuple[str | None, str | None]],
    treated: str,
    control: str,
) -> None:
    """Baseline balance: arms' n and, for a categorical row, the level's head-count that its
    proportion gives back."""
    for name in ("balance", "balance_participants"):
        levels: dict[tuple[str, str, str], list[str]] = {}
        totals: dict[tuple[str, str, str], str | None] = {}
        for i, r in rows_of(tables.get(name)):
            for column, mean, arm in (
                ("n_treated", "mean_treated", treated),
                ("n_control", "mean_control", control),
            ):
                if name == "balance_participants":
                    n = reg.count(f"group.{arm}.baseline", r[column], at=[(name, i, column)])
                else:
                    n = _arm_count(reg, name, i, r, column, arm, "baseline")
                    reg.share(n, (arms.get(arm) or (None, None))[0])
                if str(r.get("type")) != "categorical" or pd.isna(r.get(mean)) or n is None:
                    continue
                scope = (str(r.get("scale", "")), str(r["variable"]), arm)
                level = reg.count(
                    f"{name}.{'.'.join(scope)}.{r['level']}",
                    round(float(r[mean]) * float(r[column])),
                    at=[(name, i, mean)],
                )  # fmt: skip
                reg.resting.add((name, i, mean))  # the cell shows the share, not the count
                if level:
                    levels.setdefault(scope, []).append(level)
                    totals[scope] = n
        for scope, parts in levels.items():
            reg.total(totals[scope], parts, attribute=True)


# ---------------------------------------------------------------------------- domains


def _register_bands(reg: CohortRegistry, bands: pd.DataFrame | None) -> None:
    """Bands at each wave sum to the scale's pairs; post = pre + entered − left."""
    if bands is None or bands.empty:
        return
    arms = bands["group"].astype(str) if "group" in bands.columns else pd.Series("all", bands.index)
    for (inst, scale, arm), rows in bands.groupby([bands["instrument"], bands["scale"], arms],
                                                  sort=False):  # fmt: skip
        total = reg.registry.counts.get(_pairs_key(str(inst), str(scale), str(arm)))
        total_key = total.key if total is not None else None
        base = _scope("bands", inst, scale, arm=str(arm))
        for wave in ("pre", "post"):
            parts = [
                reg.count(
                    f"{base}.{wave}.{r['band']}",
                    r[f"n_{wave}"],
                    at=[("bands", int(i), f"n_{wave}")],  # type: ignore[call-overload]  # a RangeIndex
                )
                for i, r in rows.iterrows()
            ]
            reg.total(total_key, parts, attribute=True)
        for i, r in rows.iterrows():
            row = int(i)  # type: ignore[call-overload]  # a RangeIndex
            into = reg.count(
                f"{base}.entered.{r['band']}", r["n_entered"], at=[("bands", row, "n_entered")]
            )
            out = reg.count(f"{base}.left.{r['band']}", r["n_left"], at=[("bands", row, "n_left")])
            post, pre = f"{base}.post.{r['band']}", f"{base}.pre.{r['band']}"
            counts = reg.registry.counts
            if (
                into
                and out
                and post in counts
                and pre in counts
                and counts[post].value == counts[pre].value + counts[into].value - counts[out].value
            ):
                reg.registry.add_relation({post: 1, pre: -1, into: -1, out: 1})


def _register_change(reg: CohortRegistry, change: pd.DataFrame | None) -> None:
    for i, r in rows_of(change):
        arm = _arm_of(r)
        base = _scope("change", r["instrument"], r["scale"], arm=arm)
        total = reg.registry.counts.get(_pairs_key(str(r["instrument"]), str(r["scale"]), arm))
        parts = [
            reg.count(f"{base}.{c}", r.get(c), at=[("change", i, c)])
            for c in ("improved", "unchanged", "deteriorated")
        ]
        reg.total(total.key if total else None, parts, attribute=True)
        recovered = reg.count(
            f"{base}.recovered", r.get("recovered"), at=[("change", i, "recovered")]
        )
        reg.share(recovered, parts[0])


def _register_likert(reg: CohortRegistry, likert: pd.DataFrame | None) -> None:
    """Answer options of an item at a wave: classes of the students who answered it."""
    if likert is None or likert.empty:
        return
    arms = (
        likert["group"].astype(str) if "group" in likert.columns else pd.Series("all", likert.index)
    )
    for (item, wave, arm), rows in likert.groupby([likert["item"], likert["wave"], arms],
                                                  sort=False):  # fmt: skip
        base = _scope("likert", arm=str(arm))
        parts = []
        for i, r in rows.iterrows():
            parts.append(
                reg.count(
                    f"{base}.{item}.{wave}.{r['level']}",
                    r["n"],
                    at=[("likert", int(i), "n")],  # type: ignore[call-overload]  # a RangeIndex
                )
            )
        shown = [p for p in parts if p is not None]
        if len(shown) == len(parts) and shown:
            value = sum(reg.registry.counts[p].value for p in shown)
            total = reg.count(f"{base}.{item}.{wave}.answered", value, published=False)
            # (not linked to the wave's respondents: who skipped an item is not treated as
            # a sensitive attribute; see docs/disclosure.md)
            reg.total(total, shown, attribute=True)


def _register_parts_of_waves(
    reg: CohortRegistry, tables: Mapping[str, pd.DataFrame], pre: str
) -> None:
    """Reliability's complete cases, quality flags and missingness: parts of a wave."""

    def wave_key(w: object) -> str | None:
        key = f"flow.kept.{'pre' if str(w) == pre else 'post'}"
        return key if key in reg.registry.counts else None

    for i, r in rows_of(tables.get("reliability")):
        arm = _arm_of(r)
        n = reg.count(
            _scope("reliability", r["instrument"], r["scale"], r["wave"], arm=arm),
            r["n_complete"], at=[("reliability", i, "n_complete")],
        )  # fmt: skip
        # an arm's complete cases at baseline are part of its baseline students
        arm_base = f"group.{arm}.baseline" if str(r["wave"]) == pre else None
        reg.share(n, arm_base if arm_base in reg.registry.counts else wave_key(r["wave"]))
    for name, column in (("quality_flags", "n_responses"), ("missingness", "n_responses")):
        for i, r in rows_of(tables.get(name)):
            whole = wave_key(r["wave"])
            if whole and reg.registry.counts[whole].value == _num(r, column):
                n = reg.count(whole, r[column], at=[(name, i, column)])
            else:
                n = reg.count(
                    f"{name}.{r.get('instrument', '')}.{r['wave']}.n",
                    r[column],
                    at=[(name, i, column)],
                )
                reg.share(n, whole)
            if name == "quality_flags":
                flagged = reg.count(
                    f"quality.{r['wave']}.{r['flag']}", r["n_flagged"], at=[(name, i, "n_flagged")]
                )
                reg.share(flagged, n)


def _register_attrition(reg: CohortRegistry, att: pd.DataFrame | None) -> None:
    if att is None or att.empty:
        return
    for _, rows in att.groupby(["instrument", "scale"], sort=False):
        keyed: dict[str, tuple[str | None, str | None]] = {}
        for i, r in rows.iterrows():
            row = int(i)  # type: ignore[call-overload]  # a RangeIndex
            arm = str(r["group"])
            base = _arm_count(reg, "attrition", row, r, "n_baseline", arm, "baseline")
            done = _arm_count(reg, "attrition", row, r, "n_completed", arm, "pairs")
            reg.share(done, base)
            keyed[arm] = (base, done)
        arms = [a for a in keyed if a != "all"]
        if "all" in keyed and arms:
            for j in (0, 1):
                reg.total(keyed["all"][j], [keyed[a][j] for a in arms])


def _register_subgroups(reg: CohortRegistry, sub: pd.DataFrame | None, treated: str) -> None:
    if sub is None or sub.empty:
        return
    for (inst, scale, var), rows in sub.groupby(["instrument", "scale", "variable"], sort=False):
        parts = [
            reg.count(
                f"subgroups.{inst}.{scale}.{var}.{r['level']}",
                r["n_pairs"],
                at=[("subgroups", int(i), "n_pairs")],  # type: ignore[call-overload]  # a RangeIndex
            )
            for i, r in rows.iterrows()
        ]
        shown = [p for p in parts if p is not None]
        if not shown:
            continue
        value = sum(reg.registry.counts[p].value for p in shown)
        total = reg.count(f"subgroups.{inst}.{scale}.{var}.total", value, published=False)
        reg.total(total, shown)
        whole = next(
            (k for k in (_pairs_key(str(inst), str(scale), a) for a in (treated, "all"))
             if k in reg.registry.counts),
            None,
        )  # fmt: skip
        reg.share(total, whole, attribute=False)


def _register_others(reg: CohortRegistry, tables: Mapping[str, pd.DataFrame]) -> None:
    """Every remaining count column (dose thirds, moderation): each a count of its own."""
    for name in ("dose", "moderation"):
        frame = tables.get(name)
        for i, r in rows_of(frame):
            for column in [
                c for c in (frame.columns if frame is not None else []) if c in ("n", "n_pairs")
            ]:
                reg.count(f"{name}.{i}.{column}", r[column], at=[(name, i, column)])


def register_tables(
    tables: Mapping[str, pd.DataFrame],
    *,
    study: str,
    pre: str,
    treated: str,
    control: str | None,
) -> CohortRegistry:
    """Register every count the cohort report's ``tables`` show, with their relations.

    Parameters
    ----------
    tables
        The report's tables, built in full (no suppression yet).
    study
        The cohort's ledger key.
    pre
        The baseline wave's name.
    treated, control
        The arms' labels (``control`` None in a single-arm design).
    """
    reg = CohortRegistry(ReleaseRegistry(f"cohort {study}"), study)
    keys = _register_flow(reg, tables)
    _register_quarantine(reg, tables.get("quarantine"), keys)
    arms = _register_groups(reg, tables.get("response_rates"), keys)
    _register_outcomes(reg, tables, arms, treated)
    if control is not None:
        _register_models(reg, tables, treated, control)
        _register_balance(reg, tables, arms, treated, control)
    _register_bands(reg, tables.get("bands"))
    _register_change(reg, tables.get("change"))
    _register_likert(reg, tables.get("likert"))
    _register_parts_of_waves(reg, tables, pre)
    _register_attrition(reg, tables.get("attrition"))
    _register_subgroups(reg, tables.get("subgroups"), treated)
    _register_others(reg, tables)
    return reg
