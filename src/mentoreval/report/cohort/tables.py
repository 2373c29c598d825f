"""The cohort report's descriptive tables: participation, item responses, comparisons,
subgroups and data quality, each disclosure-controlled as it is built.

Report stage (what is computed and what may be released, table by table).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mentoreval.config.disclosure import DisclosurePolicy
from mentoreval.disclose.derived import blank_derivable
from mentoreval.disclose.formatting import format_cell
from mentoreval.report.cohort.release import (
    FLOW_ROUND_TO,
    CohortRelease,
    protect_cells,
    protect_flow,
    suppress_rows,
)

if TYPE_CHECKING:  # pragma: no cover
    from mentoreval.config.study import Study


def likert_counts(
    responses: pd.DataFrame,
    study: Study,
    instrument: str,
    waves: Sequence[str],
    policy: DisclosurePolicy,
    release: CohortRelease | None = None,
) -> tuple[pd.DataFrame, bool]:
    """Items × answer levels per wave, protected; levels are merged into lower / middle /
    upper when full detail would hide small cells (decided without the ledger, so the
    layout does not depend on earlier releases). Returns (long table, merged?)."""
    from mentoreval.disclose.suppression import suppress_counts

    inst = study.instruments[instrument]
    scale_ids = {i.response_scale for i in inst.items}
    rs = inst.response_scales[sorted(scale_ids)[0]] if len(scale_ids) == 1 else None
    if rs is None:
        return pd.DataFrame(), False
    codes = list(rs.codes)
    labels = list(rs.labels)
    sub = responses[responses["instrument"].astype(str) == instrument]
    tables = []
    for wave in waves:
        w = sub[sub["wave"].astype(str) == wave]
        if w.empty:
            continue
        counts = (
            pd.crosstab(w["item"].astype(str), w["value"].astype(float))
            .reindex(columns=codes, fill_value=0)
            .reindex(index=inst.item_ids, fill_value=0)
        )
        counts.columns = labels
        counts.index = [f"{i} · {wave}" for i in counts.index]
        tables.append(counts)
    if not tables:
        return pd.DataFrame(), False
    full = pd.concat(tables)

    def protect(table: pd.DataFrame, ledger: CohortRelease | None = None) -> pd.DataFrame:
        t = table.copy()
        cols = list(t.columns)
        t["total"] = t[cols].sum(axis=1)
        return suppress_counts(
            t, count_columns=cols, total_column="total", policy=policy, ledger=ledger,
            study=ledger.study if ledger else "", table=f"cohort.likert.{instrument}",
        )  # fmt: skip

    merged = False
    layout = full
    if policy.active and protect(full)["suppressed"].any():
        k = len(labels)
        mid = k // 2
        groups: dict[str, list[str]] = {}
        low_label = f"{labels[0]} – {labels[mid - 1]}" if mid > 1 else labels[0]
        groups[low_label] = labels[:mid]
        if k % 2 == 1:
            groups[labels[mid]] = [labels[mid]]
            high = labels[mid + 1 :]
        else:
            high = labels[mid:]
        groups[f"{high[0]} – {high[-1]}" if len(high) > 1 else high[0]] = high
        layout = pd.DataFrame({g: full[ls].sum(axis=1) for g, ls in groups.items()})
        merged = True
    out = protect(layout, release)
    long = out.drop(columns=["total"]).reset_index(names="row")
    long[["item", "wave"]] = long["row"].str.split(" · ", n=1, expand=True)
    texts = {i.id: i.text if inst.licence.ship_item_text and i.text else i.id for i in inst.items}
    long["item_label"] = long["item"].map(texts)
    long.insert(0, "instrument", instrument)
    levels = [c for c in out.columns if c not in ("total", "suppressed")]
    long = long.melt(
        id_vars=["instrument", "item", "item_label", "wave", "suppressed"],
        value_vars=levels,
        var_name="level",
        value_name="n",
    )
    long["level_order"] = long["level"].map({lv: i for i, lv in enumerate(levels)})
    # the instrument's own item order (mes_2 before mes_10), the earlier wave first
    long["_item"] = long["item"].map({i: n for n, i in enumerate(inst.item_ids)})
    long["_wave"] = long["wave"].map({w: n for n, w in enumerate(waves)})
    long = long.sort_values(["_item", "_wave", "level_order"], kind="stable").reset_index(drop=True)
    return long[
        ["instrument", "item", "item_label", "wave", "level_order", "level", "n", "suppressed"]
    ], merged


def group_counts(wide: pd.DataFrame, group: str | None, treated: str) -> pd.DataFrame:
    both = wide.dropna(subset=["pre", "post"])
    if group is None:
        return (
            both.groupby(["instrument", "scale"]).size().rename("n_treated").reset_index()
            .assign(n_control=np.nan)
        )  # fmt: skip
    is_t = both[group].astype(str) == treated
    return (
        both.assign(_t=is_t, _c=~is_t)
        .groupby(["instrument", "scale"])[["_t", "_c"]]
        .sum()
        .rename(columns={"_t": "n_treated", "_c": "n_control"})
        .reset_index()
    )


def participation_tables(
    data: Mapping[str, Any],
    study: Study,
    comp: pd.DataFrame,
    is_primary: np.ndarray,
    group_col: str | None,
    treated: str,
    policy: DisclosurePolicy,
    release: CohortRelease | None = None,
) -> dict[str, pd.DataFrame]:
    cfg = study.config
    pre, post = cfg.analysis.pre, cfg.analysis.post
    wave_of: dict[str, str] = {}
    for src in cfg.sources:
        if src.wave:
            wave_of[Path(src.path).name] = src.wave
    manifest = data.get("manifest") or {}
    read: dict[str, float] = {pre: 0.0, post: 0.0}
    for name, entry in (manifest.get("inputs") or {}).items():
        w = wave_of.get(name)
        if w in read:
            read[w] += float(entry.get("records", 0))
    q = data["quarantine"]
    row_level = q[q["rule"].astype(str) != "unknown_value"] if len(q) else q
    reasons: dict[str, dict[str, float]] = {pre: {}, post: {}}
    for _, r in row_level.iterrows():
        w = wave_of.get(Path(str(r["source"])).name)
        if w in reasons:
            reasons[w][str(r["rule"])] = reasons[w].get(str(r["rule"]), 0) + 1
    link = data["linkage"]
    status = link["status"].astype(str).value_counts()
    linked = float(status.get("matched", 0))
    pre_only = float(status.get("pre_only", 0))
    post_only = float(status.get("post_only", 0))
    kept_pre = linked + pre_only
    kept_post = linked + post_only
    for w, kept in ((pre, kept_pre), (post, kept_post)):
        if read[w] < kept + sum(reasons[w].values()):
            read[w] = kept + sum(reasons[w].values())
    prim = comp.loc[is_primary] if is_primary.any() else comp
    analysed = float(prim["n_pairs"].min()) if len(prim) else 0.0
    analysed = min(analysed, linked)
    cells: dict[str, float] = {
        "read_pre": read[pre], "kept_pre": kept_pre, "excl_pre": read[pre] - kept_pre,
        "read_post": read[post], "kept_post": kept_post, "excl_post": read[post] - kept_post,
        "linked": linked, "pre_only": pre_only, "post_only": post_only,
        "analysed": analysed, "not_analysed": linked - analysed,
    }  # fmt: skip
    lines: list[tuple[str, list[str]]] = [
        ("read_pre", ["kept_pre", "excl_pre"]),
        ("read_post", ["kept_post", "excl_post"]),
        ("kept_pre", ["linked", "pre_only"]),
        ("kept_post", ["linked", "post_only"]),
        ("linked", ["analysed", "not_analysed"]),
    ]
    for w, tag in ((pre, "pre"), (post, "post")):
        names = []
        for rule, n in sorted(reasons[w].items()):
            key = f"reason_{tag}_{rule}"
            cells[key] = n
            names.append(key)
        if names:
            lines.append((f"excl_{tag}", names))
    safe, flow_rounded = protect_flow(cells, policy, release=release, table="cohort.flow")

    def reason_text(tag: str, extra: str | None = None) -> str:
        parts = [
            f"{k.split('_', 2)[2].replace('_', ' ')}: {format_cell(v, suppressed=True, kind='count', policy=policy)}"
            for k, v in safe.items()
            if k.startswith(f"reason_{tag}_")
        ]
        if extra:
            parts.append(extra)
        return "; ".join(parts)

    flow = pd.DataFrame(
        {
            "stage": [
                f"Baseline ({pre}) responses received",
                "Baseline responses kept",
                f"Linked to a follow-up ({post}) response",
                "Analysed (primary outcome scorable at both waves)",
            ],
            "n": [safe["read_pre"], safe["kept_pre"], safe["linked"], safe["analysed"]],
            "excluded": [safe["excl_pre"], safe["pre_only"], safe["not_analysed"], np.nan],
            "reasons": [
                reason_text("pre") or "none",
                "no follow-up response",
                "too many items missing",
                None,
            ],
        }
    )
    participation = pd.DataFrame(
        {
            "wave": [pre, post],
            "received": [safe["read_pre"], safe["read_post"]],
            "excluded": [safe["excl_pre"], safe["excl_post"]],
            "kept": [safe["kept_pre"], safe["kept_post"]],
            "reasons": [reason_text("pre") or "none", reason_text("post") or "none"],
        }
    )
    link_cells, link_rounded = protect_flow(
        {"all": linked + pre_only + post_only, "a": linked, "b": pre_only, "c": post_only},
        policy,
        release=release,
        table="cohort.linkage",
    )
    linkage = pd.DataFrame(
        {
            "measure": ["participants", "linked pairs", "baseline only", "follow-up only"],
            "n": [link_cells[k] for k in ("all", "a", "b", "c")],
        }
    )
    # the rate from the published (rounded) counts, so it reveals nothing they do not
    shown_all, shown_linked = link_cells["all"], link_cells["a"]
    rate = shown_linked / shown_all * 100 if shown_all else np.nan
    linkage["percent"] = [np.nan, rate, np.nan, np.nan]
    linkage["suppressed"] = linkage["n"].isna()
    linkage = blank_derivable(
        linkage.assign(_n0=[shown_all] * 4, _n1=[shown_linked] * 4),
        count_columns=["_n0", "_n1"],
        derived_columns=["percent"],
    )
    linkage = linkage.drop(columns=["_n0", "_n1"])  # fmt: skip

    # response rates by group (baseline → linked follow-up)
    people = data["participants"].copy()
    people["participant_id"] = people["participant_id"].astype(str)
    link2 = link.assign(participant_id=link["participant_id"].astype(str))
    merged = link2.merge(people, on="participant_id", how="left")
    merged = merged[merged["status"].astype(str).isin(["matched", "pre_only"])]
    groups = (
        merged["group"].astype("string").fillna("(not recorded)")
        if "group" in merged.columns and group_col
        else pd.Series("all students", index=merged.index)
    )
    rate_cells: dict[str, float] = {}
    rate_lines: list[tuple[str, list[str]]] = []
    labels = sorted(groups.unique()) if group_col else []
    for g in labels:
        sel = merged[groups == g]
        n_base = float(len(sel))
        n_link = float((sel["status"].astype(str) == "matched").sum())
        rate_cells |= {f"{g}|base": n_base, f"{g}|link": n_link, f"{g}|drop": n_base - n_link}
        rate_lines.append((f"{g}|base", [f"{g}|link", f"{g}|drop"]))
    n_base_all = float(len(merged))
    n_link_all = float((merged["status"].astype(str) == "matched").sum())
    rate_cells |= {
        "all|base": n_base_all,
        "all|link": n_link_all,
        "all|drop": n_base_all - n_link_all,
    }
    rate_lines.append(("all|base", ["all|link", "all|drop"]))
    if labels:
        for part in ("base", "link", "drop"):
            rate_lines.append((f"all|{part}", [f"{g}|{part}" for g in labels]))
    safe_rates = protect_cells(
        rate_cells, rate_lines, policy, release=release, table="cohort.response_rates"
    )
    rows = []
    for g in [*labels, "all"]:
        base, linkd, drop = (safe_rates[f"{g}|{p}"] for p in ("base", "link", "drop"))
        pct = linkd / base * 100 if base and not (math.isnan(base) or math.isnan(linkd)) else np.nan
        if policy.active and drop == 0:
            pct = np.nan  # a 100 % group (class disclosure)
        rows.append(
            {
                "group": "all students" if g == "all" else g,
                "n_baseline": base,
                "n_followed_up": linkd,
                "followed_up_pct": pct,
                "suppressed": any(math.isnan(v) for v in (base, linkd, drop)) or math.isnan(pct),
            }
        )
    flow_reasons = pd.DataFrame(
        [
            {"wave_role": tag, "rule": k.split("_", 2)[2], "n": v}
            for tag in ("pre", "post")
            for k, v in cells.items()
            if k.startswith(f"reason_{tag}_")
        ],
        columns=["wave_role", "rule", "n"],
    )
    notes = []
    if flow_rounded or link_rounded:
        notes.append(
            f"Some exclusion counts are below {policy.threshold}, so they are shown as "
            f"\u201c{policy.label}\u201d and the other counts of the flow are rounded to the "
            f"nearest {policy.round_to or FLOW_ROUND_TO}; totals may therefore not add up "
            "exactly, and no hidden count can be worked out by subtraction."
        )
    flow.attrs["note"] = " ".join(notes)
    participation = participation.assign(suppressed=participation["excluded"].isna())
    return {
        # the last stage has no exclusions (NaN: not applicable, not hidden)
        "flow": flow.assign(
            suppressed=flow["n"].isna() | (flow["excluded"].isna() & (flow.index < len(flow) - 1))
        ),
        "flow_note": pd.DataFrame({"note": notes}),
        "flow_reasons": flow_reasons,
        "participation": participation,
        "linkage": linkage,
        "response_rates": pd.DataFrame(rows),
    }


def comparison_tables(
    raw: Mapping[str, pd.DataFrame],
    ncount: pd.DataFrame,
    policy: DisclosurePolicy,
    release: CohortRelease | None = None,
) -> dict[str, pd.DataFrame]:
    out: dict[str, pd.DataFrame] = {}
    ns = ["n_treated", "n_control"]

    def with_n(name: str) -> pd.DataFrame | None:
        if name not in raw or raw[name].empty:
            return None
        t = raw[name].drop(columns=[c for c in ns if c in raw[name].columns])
        return t.merge(ncount, on=["instrument", "scale"], how="left")

    for name in ("ancova", "mixed", "imputation", "ipw", "d_ppc2"):
        t = with_n(name)
        if t is None:
            continue
        t = t.drop(columns=[c for c in ("formula", "method") if c in t.columns])
        n_cols = [c for c in ("n", "n_participants") if c in t.columns] + ns
        values = [
            c
            for c in t.columns
            if c not in (*n_cols, "instrument", "scale")
            and pd.api.types.is_numeric_dtype(t[c].dtype)
            and not pd.api.types.is_bool_dtype(t[c].dtype)
        ]
        protected = suppress_rows(
            t, policy, n_columns=n_cols, value_columns=values, release=release,
            table=f"cohort.{name}",
        )  # fmt: skip
        for c in ("n_imputed", "n_single_wave"):
            # head-counts of a subset: hidden when small, the estimate stays
            if c in protected.columns:
                protected[c] = protected[c].map(
                    lambda v: np.nan if policy.is_small(v) else policy.round_count(v)
                )
        out[name] = protected
    if "balance" in raw:
        bal = raw["balance"].copy()
        bal = bal.drop(columns=[c for c in ("balanced",) if c in bal.columns])
        out["balance"] = suppress_rows(
            bal, policy, n_columns=ns, release=release, table="cohort.balance"
        )
    if "balance_participants" in raw:
        out["balance_participants"] = suppress_rows(
            raw["balance_participants"], policy, n_columns=ns, release=release,
            table="cohort.balance_participants",
        )  # fmt: skip
    # the adjusted means of the very ANCOVA whose difference the report states
    rows = [] if "adjusted_means" not in raw else [raw["adjusted_means"]]
    if rows:
        am = rows[0][
            ["instrument", "scale", "group", "n", "emmean", "se", "df", "ci_low", "ci_high"]
        ]
        am = am.assign(group=am["group"].astype(str), n=am["n"].astype(float))
        out["adjusted_means"] = suppress_rows(
            am, policy, n_columns=["n"], value_columns=["emmean", "se", "df", "ci_low", "ci_high"],
            blocks=["instrument", "scale"], release=release, table="cohort.adjusted_means",
        )  # fmt: skip
    return out


def subgroups(
    wide: pd.DataFrame,
    covariates: Sequence[str],
    comp: pd.DataFrame,
    is_primary: np.ndarray,
    confidence: float,
    policy: DisclosurePolicy,
    compare_pair: Callable[..., dict[str, Any]],
    release: CohortRelease | None = None,
) -> pd.DataFrame:
    keys = list(zip(comp.loc[is_primary, "instrument"], comp.loc[is_primary, "scale"], strict=True))
    rows = []
    for var in covariates:
        if var not in wide.columns:
            continue
        levels = wide[var].dropna().astype(str)
        if levels.nunique() < 2 or levels.nunique() > 8:
            continue
        for instrument, scale in keys:
            g = wide[(wide["instrument"] == instrument) & (wide["scale"] == scale)]
            g = g.dropna(subset=["pre", "post"])
            for level, sub in g.groupby(
                g[var].astype("string").fillna("(not recorded)"), sort=True
            ):
                if len(sub) < 2:
                    r: dict[str, Any] = {"n_pairs": len(sub)}
                else:
                    r = compare_pair(
                        sub["pre"].to_numpy(), sub["post"].to_numpy(), confidence=confidence
                    )
                rows.append(
                    {
                        "instrument": instrument,
                        "scale": scale,
                        "variable": var,
                        "level": str(level),
                        "n_pairs": float(r["n_pairs"]),
                        "mean_diff": r.get("mean_diff", np.nan),
                        "ci_low": r.get("ci_low", np.nan),
                        "ci_high": r.get("ci_high", np.nan),
                        "d_z": r.get("d_z", np.nan),
                        "d_z_ci_low": r.get("d_z_ci_low", np.nan),
                        "d_z_ci_high": r.get("d_z_ci_high", np.nan),
                    }
                )
    cols = ["instrument", "scale", "variable", "level", "n_pairs", "mean_diff", "ci_low",
            "ci_high", "d_z", "d_z_ci_low", "d_z_ci_high"]  # fmt: skip
    table = pd.DataFrame(rows, columns=cols)
    for c in cols[4:]:
        table[c] = table[c].astype(float)
    return suppress_rows(
        table, policy, n_columns=["n_pairs"], blocks=["instrument", "scale", "variable"],
        release=release, table="cohort.subgroups",
    )  # fmt: skip


def _flag_not_available(g: pd.DataFrame, col: str, min_items: int) -> str | None:
    """Why a wave's quality flag was not computed at all, or ``None`` when it was."""
    if col == "speeder" and "seconds_per_item" in g and g["seconds_per_item"].isna().all():
        return "not available (no duration column)"
    if col == "longstring_flag" and "n_items" in g and (g["n_items"] < min_items).all():
        return f"not applied (fewer than {min_items} items)"
    return None


def data_quality(
    data: Mapping[str, Any],
    study: Study,
    pre: str,
    post: str,
    policy: DisclosurePolicy,
    release: CohortRelease | None = None,
) -> dict[str, pd.DataFrame]:
    out: dict[str, pd.DataFrame] = {}
    quality = data.get("quality")
    if quality is not None and len(quality):
        rows = []
        flags = [
            ("speeder", "too fast"), ("longstring_flag", "same answer in a long run"),
            ("irv_flag", "too little variation"), ("attention_flag", "failed an attention check"),
            ("mahalanobis_flag", "unusual answer pattern"), ("any_flag", "any flag"),
        ]  # fmt: skip
        min_items = study.config.quality.longstring_min_items
        for wave, g in quality.groupby(quality["wave"].astype(str), sort=False):
            n = float(len(g))
            for col, label in flags:
                if col not in g.columns:
                    continue
                absent = _flag_not_available(g, col, min_items)
                if absent is not None:  # a count of 0 would claim nobody was too fast
                    rows.append(
                        {
                            "wave": wave,
                            "flag": f"{label}: {absent}",
                            "n_responses": np.nan,  # shown in the wave's other rows
                            "n_flagged": np.nan,
                            "flagged_pct": np.nan,
                            "suppressed": False,
                        }
                    )
                    continue
                k = float(g[col].astype(bool).sum())
                hide = policy.is_small(n) or policy.is_small(k) or policy.is_small(n - k)
                hide_n = policy.is_small(n)
                if release is not None and policy.active:
                    where = f"{wave} / {label}"
                    counts = {f"{where} / n_responses": n, f"{where} / n_flagged": k}
                    late = release.cells("cohort.quality_flags", counts, policy.threshold)
                    hide_n |= f"{where} / n_responses" in late
                    hide |= bool(late)
                    release.record_cells(
                        "cohort.quality_flags",
                        counts,
                        {
                            f"{where} / n_responses": np.nan if hide_n else n,
                            f"{where} / n_flagged": np.nan if hide else k,
                        },
                    )
                rows.append(
                    {
                        "wave": wave,
                        "flag": label,
                        "n_responses": np.nan if hide_n else n,
                        "n_flagged": np.nan if hide else k,
                        "flagged_pct": np.nan if hide or n == 0 else k / n * 100,
                        "suppressed": hide,
                    }
                )
        out["quality_flags"] = pd.DataFrame(rows)
    resp = data["responses"]
    if len(resp):
        r = resp.assign(
            instrument=resp["instrument"].astype(str),
            wave=resp["wave"].astype(str),
            missing=resp["value"].isna(),
        )
        miss = (
            r.groupby(["instrument", "wave"], sort=True)
            .agg(
                n_responses=("participant_id", "nunique"),
                items_missing_pct=("missing", "mean"),
            )
            .reset_index()
        )
        miss["items_missing_pct"] *= 100
        miss["n_responses"] = miss["n_responses"].astype(float)
        out["missingness"] = suppress_rows(
            miss, policy, n_columns=["n_responses"], release=release, table="cohort.missingness"
        )
    q = data["quarantine"]
    if len(q):
        counts = q["rule"].astype(str).value_counts().sort_index()
        cells = {f"r|{k}": float(v) for k, v in counts.items()}
        safe = protect_cells(
            {**cells, "total": float(counts.sum())}, [("total", list(cells))], policy,
            release=release, table="cohort.quarantine",
        )  # fmt: skip
        out["quarantine"] = pd.DataFrame(
            {
                "rule": [*(k.removeprefix("r|") for k in cells), "total"],
                "n": [safe[k] for k in [*cells, "total"]],
            }
        ).assign(suppressed=lambda d: d["n"].isna())
    else:
        out["quarantine"] = pd.DataFrame({"rule": ["total"], "n": [0.0], "suppressed": [False]})
    return out
