"""The cohort report's descriptive tables: participation, item responses, comparisons,
subgroups and data quality, each disclosure-controlled as it is built.

Report stage (what is computed and what may be released, table by table).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mentoreval.config.disclosure import DisclosurePolicy
from mentoreval.report.cohort.release import (
    CohortRelease,
    protect_cells,
    suppress_rows,
)

if TYPE_CHECKING:  # pragma: no cover
    from mentoreval.config.study import Study


def _merge_levels(counts: pd.DataFrame, labels: Sequence[str]) -> pd.DataFrame:
    """Answer options merged into lower / (middle) / upper groups, named by their ends.

    Examples
    --------
    >>> c = pd.DataFrame([[1, 2, 3, 4, 5]], columns=["SD", "D", "N", "A", "SA"])
    >>> _merge_levels(c, list(c.columns)).to_dict("records")
    [{'SD – D': 3, 'N': 3, 'A – SA': 9}]
    """
    k = len(labels)
    mid = k // 2
    groups: dict[str, list[str]] = {}
    low_label = f"{labels[0]} – {labels[mid - 1]}" if mid > 1 else labels[0]
    groups[low_label] = list(labels[:mid])
    if k % 2 == 1:
        groups[labels[mid]] = [labels[mid]]
        high = list(labels[mid + 1 :])
    else:
        high = list(labels[mid:])
    groups[f"{high[0]} – {high[-1]}" if len(high) > 1 else high[0]] = high
    return pd.DataFrame({g: counts[ls].sum(axis=1) for g, ls in groups.items()})


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

    merged = policy.active and bool(protect(full)["suppressed"].any())
    layout = _merge_levels(full, labels) if merged else full
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


def _quality_flags(
    quality: pd.DataFrame,
    study: Study,
    policy: DisclosurePolicy,
    release: CohortRelease | None,
) -> pd.DataFrame:
    """Responses flagged by each quality check, per wave (a check that could not run says
    why, instead of a count of 0)."""
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
    return pd.DataFrame(rows)


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
        out["quality_flags"] = _quality_flags(quality, study, policy, release)
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
