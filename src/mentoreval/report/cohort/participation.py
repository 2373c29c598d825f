"""The cohort report's participation tables: the participant flow, responses per wave,
linkage and follow-up by group.

Report stage (what is computed), protected as built (:mod:`mentoreval.report.cohort.release`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
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
)

if TYPE_CHECKING:  # pragma: no cover
    from mentoreval.config.study import Study

__all__ = ["participation_tables"]


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
    """The participation section's tables: flow (with its note and reasons), responses per
    wave, linkage and follow-up by group, protected as they are built (``policy``)."""
    pre, post = study.config.analysis.pre, study.config.analysis.post
    cells = _flow_cells(data, study, comp, is_primary)
    flow, participation, linkage, rounded = _flow_tables(cells, pre, post, policy, release)
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
    if rounded:
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
        "response_rates": _response_rates(data, group_col, policy, release),
    }


def _flow_cells(
    data: Mapping[str, Any], study: Study, comp: pd.DataFrame, is_primary: np.ndarray
) -> dict[str, float]:
    """The participant flow's counts in full: responses read, kept and excluded per wave,
    linkage, the analysed pairs and each exclusion reason (``reason_<pre|post>_<rule>``)."""
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
    for w, tag in ((pre, "pre"), (post, "post")):
        for rule, n in sorted(reasons[w].items()):
            cells[f"reason_{tag}_{rule}"] = n
    if "code_link" in link.columns:  # linked by self-generated codes (ingest/sgic.py)
        how, matched = link["code_link"].astype(str), link["status"].astype(str) == "matched"
        cells |= {
            "code_exact": float((matched & (how == "exact")).sum()),
            "code_tolerant": float((matched & (how == "tolerant")).sum()),
            "code_ambiguous": float((~matched & (how == "ambiguous")).sum()),
        }
    return cells


def _flow_tables(
    cells: Mapping[str, float],
    pre: str,
    post: str,
    policy: DisclosurePolicy,
    release: CohortRelease | None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, bool]:
    """The flow, participation and linkage tables from the protected counts, and whether
    the protection rounded any of them."""
    flow_cells = {k: v for k, v in cells.items() if not k.startswith("code_")}
    by_code = len(flow_cells) < len(cells)  # linked by self-generated codes
    safe, flow_rounded = protect_flow(flow_cells, policy, release=release, table="cohort.flow")

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
                # with self-generated codes a follow-up may exist whose code did not match
                "no follow-up response with a matching code"
                if by_code
                else "no follow-up response",
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
    linkage, link_rounded = _linkage_table(cells, policy, release)
    return flow, participation, linkage, flow_rounded or link_rounded


#: The linkage table's rows: (count, name in the release ledger, measure); the ``code_``
#: rows only with self-generated codes, after the four rows every study has (the registry,
#: ``registry._register_flow``, finds each count by its row).
_LINKAGE_ROWS = (
    ("all", "all", "participants"),
    ("linked", "a", "linked pairs"),
    ("pre_only", "b", "baseline only"),
    ("post_only", "c", "follow-up only"),
    ("code_exact", "code_exact", "linked pairs with the same self-generated code"),
    ("code_tolerant", "code_tolerant", "linked pairs whose codes differ within the tolerance"),
    ("code_ambiguous", "code_ambiguous", "not linked: code ambiguous (two or more candidates)"),
)


def _linkage_table(
    cells: Mapping[str, float], policy: DisclosurePolicy, release: CohortRelease | None
) -> tuple[pd.DataFrame, bool]:
    """Participants, linked pairs, baseline only and follow-up only; with self-generated
    codes also the pairs linked exactly and within the tolerance, and the participants left
    unlinked because their code was ambiguous. All counts are protected together, and the
    linkage rate is worked out from the published (rounded) counts, so it reveals nothing
    they do not. Returns (table, rounded?)."""
    full = dict(cells) | {"all": cells["linked"] + cells["pre_only"] + cells["post_only"]}
    rows = [row for row in _LINKAGE_ROWS if row[0] in full]
    link_cells, rounded = protect_flow(
        {name: full[k] for k, name, _ in rows}, policy, release=release, table="cohort.linkage"
    )
    linkage = pd.DataFrame(
        {"measure": [m for _, _, m in rows], "n": [link_cells[name] for _, name, _ in rows]}
    )
    shown_all, shown_linked = link_cells["all"], link_cells["a"]
    rate = shown_linked / shown_all * 100 if shown_all else np.nan
    linkage["percent"] = [rate if k == "linked" else np.nan for k, _, _ in rows]
    linkage["suppressed"] = linkage["n"].isna()
    linkage = blank_derivable(
        linkage.assign(_n0=shown_all, _n1=shown_linked),
        count_columns=["_n0", "_n1"],
        derived_columns=["percent"],
    )
    return linkage.drop(columns=["_n0", "_n1"]), rounded


def _response_rates(
    data: Mapping[str, Any],
    group_col: str | None,
    policy: DisclosurePolicy,
    release: CohortRelease | None,
) -> pd.DataFrame:
    """Baseline students followed up, by group and for all students (a 100 % group's
    rate is withheld: it tells each of them answered)."""
    # response rates by group (baseline → linked follow-up)
    people = data["participants"].copy()
    people["participant_id"] = people["participant_id"].astype(str)
    link = data["linkage"]
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
    return pd.DataFrame(rows)
