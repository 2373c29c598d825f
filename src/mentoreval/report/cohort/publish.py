"""What a cohort report publishes: the one release decision written into every table.

Report stage (what may be released). :func:`release_tables` registers the report's tables
(:func:`~mentoreval.report.cohort.registry.register_tables`), decides and audits the
suppressions once, and :func:`apply_release` shows that one decision everywhere: counts
hidden for any reason are blanked wherever they appear, numbers that give a count back
(percentages, proportions, ``df``) follow them, and statistics are withheld only where their
own group is small. :func:`collapse_rare_levels` recodes rare covariate labels to "other"
before any table is made.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mentoreval.config.disclosure import DisclosurePolicy
from mentoreval.disclose.derived import protect_derived
from mentoreval.disclose.formatting import HIDDEN_COUNTS
from mentoreval.disclose.labels import collapse_levels
from mentoreval.disclose.ledger import ReleaseLedger
from mentoreval.report.cohort.design_registry import register_design_tables
from mentoreval.report.cohort.registry import CohortRegistry, register_tables
from mentoreval.report.released import hidden_notice, rows_of, write_release

__all__ = [
    "Released",
    "apply_release",
    "collapse_rare_levels",
    "differencing_tables",
    "reasons_text",
    "release_tables",
]


#: Numbers that give a count back, by table: (counts in the row, such numbers).
REVEALING: dict[str, list[tuple[list[str], list[str]]]] = {
    "attrition": [(["n_baseline", "n_completed"], ["attrition"])],
    "response_rates": [(["n_baseline", "n_followed_up"], ["followed_up_pct"])],
    "linkage": [(["n"], ["percent"])],
    "bands": [(["n_pairs", "n_pre"], ["prop_pre"]), (["n_pairs", "n_post"], ["prop_post"])],
    "quality_flags": [(["n_responses", "n_flagged"], ["flagged_pct"])],
    "comparisons": [(["n_pairs"], ["df"])],
    "unlinked": [(["n_pre", "n_post"], ["df"])],
    "between_groups": [(["n_control", "n_treated"], ["df"])],
    "interaction": [(["n"], ["df"])],
    "wave_bands": [(["n"], ["prop"])],
    "ancova": [(["n_treated", "n_control", "n"], ["df"])],
    "adjusted_means": [(["n"], ["df"])],
    "wave_participation": [(["n_first", "n_baseline"], ["retention", "attrition"])],
    "wave_means": [(["n"], ["df"])],
    "multiwave": [(["n"], ["df"])],
}

#: Statistics, by table: withheld when a count they rest on is a *primary* suppression.
STATISTICS: dict[str, list[tuple[list[str], list[str]]]] = {
    "bands": [(["n_entered", "n_left"], ["p_value"])],
    "missingness": [(["n_responses"], ["items_missing_pct"])],
    "comparisons": [(["n_pairs"], ["mean_pre", "sd_pre", "mean_post", "sd_post", "mean_diff",
                                   "ci_low", "ci_high", "t", "p_value", "p_adj", "d_z",
                                   "d_z_ci_low", "d_z_ci_high", "d_av", "g_av"])],
    "subgroups": [(["n_pairs"], ["mean_diff", "ci_low", "ci_high", "d_z", "d_z_ci_low",
                                 "d_z_ci_high"])],
    "reliability": [(["n_complete"], ["alpha", "alpha_ci_low", "alpha_ci_high", "omega_total"])],
    "adjusted_means": [(["n"], ["emmean", "se", "ci_low", "ci_high"])],
    "balance": [(["n_treated", "n_control"], ["mean_treated", "mean_control", "sd_treated",
                                              "sd_control", "smd"])],
    "balance_participants": [(["n_treated", "n_control"], ["mean_treated", "mean_control",
                                                           "sd_treated", "sd_control", "smd"])],
    "ancova": [(["n_treated", "n_control"], ["estimate", "se", "t", "p_value", "p_adj",
                                             "ci_low", "ci_high"])],
    "ipw": [(["n_treated", "n_control"], ["estimate", "se", "z", "p_value", "ci_low",
                                          "ci_high"])],
    "mixed": [(["n_treated", "n_control"], ["estimate", "se", "df", "t", "p_value", "ci_low",
                                            "ci_high"])],
    "d_ppc2": [(["n_treated", "n_control"], ["value", "se", "ci_low", "ci_high"])],
    "dose": [(["n"], [])],
    "descriptives": [(["n"], ["mean", "sd", "ci_low", "ci_high"])],
    "unlinked": [(["n_pre", "n_post"], ["mean_pre", "sd_pre", "mean_post", "sd_post",
                                        "mean_diff", "se", "ci_low", "ci_high", "t", "p_value",
                                        "p_adj", "g_s", "g_s_ci_low", "g_s_ci_high",
                                        "mann_whitney_p", "rank_biserial", "d_s", "d_s_ci_low",
                                        "d_s_ci_high", "rank_biserial_ci_low",
                                        "rank_biserial_ci_high", "mann_whitney_w", "bf10"])],
    "between_groups": [(["n_control", "n_treated"], ["mean_diff", "se", "ci_low", "ci_high", "t",
                                                     "p_value", "g_s", "g_s_ci_low",
                                                     "g_s_ci_high", "mann_whitney_p",
                                                     "rank_biserial", "d_s"])],
    "interaction": [(["n"], ["estimate", "se", "t", "p_value", "ci_low", "ci_high"])],
    "wave_participation": [(["n_baseline"], ["retention", "attrition"])],
    "wave_means": [(["n"], ["estimate", "se", "ci_low", "ci_high"])],
    "multiwave": [(["n"], ["estimate", "se", "t", "p_value", "p_adj", "ci_low", "ci_high"])],
}  # fmt: skip


def apply_release(
    tables: Mapping[str, pd.DataFrame], reg: CohortRegistry
) -> dict[str, pd.DataFrame]:
    """Write the registry's decision into every table
    (:func:`~mentoreval.report.released.write_release` with the cohort report's
    :data:`STATISTICS` and :data:`REVEALING`); a categorical level's SMD follows its shares.
    """
    out = write_release(tables, reg, statistics=STATISTICS, revealing=REVEALING)
    for name in ("balance", "balance_participants"):
        if name in out and "type" in out[name].columns:
            _blank_level_smd(out[name])
    return out


def _blank_level_smd(balance: pd.DataFrame) -> None:
    """A categorical level's SMD is a function of its two shares: with one share shown it
    gives the other back, so it is blanked whenever a count of its row is hidden."""
    counts = [c for c in ("n_treated", "n_control", "mean_treated", "mean_control") if c in balance]
    flags = [c for c in ("suppressed", HIDDEN_COUNTS) if c in balance]
    hidden = balance[flags].fillna(False).astype(bool).any(axis=1) if flags else False
    level = balance["type"].astype(str).eq("categorical") & balance[counts].isna().any(axis=1)
    balance.loc[level & hidden, "smd"] = np.nan


def reasons_text(
    reasons: pd.DataFrame | None, wave_role: str, reg: CohortRegistry, *, extra: str | None = None
) -> str:
    """The flow's "qualtrics test: 3; duplicate: 4" text, read from the decision."""
    parts = []
    for i, r in rows_of(reasons):
        if r["wave_role"] == wave_role:
            key = reg.cells.get(("flow_reasons", i, "n"))
            shown = reg.registry.display(key) if key else "0"
            parts.append(f"{str(r['rule']).replace('_', ' ')}: {shown}")
    if extra:
        parts.append(extra)
    return "; ".join(parts)


def differencing_tables(reg: CohortRegistry) -> set[str]:
    """Tables holding a count withheld because an earlier release differs by a few."""
    return reg.tables_with(["differencing"])


@dataclass(frozen=True)
class Released:
    """The tables as published, the notices their protection needs, and the outcomes
    withheld because an earlier release differs by a few students."""

    tables: dict[str, pd.DataFrame]
    notices: tuple[str, ...]
    withheld_scales: frozenset[tuple[str, str]]
    registry: CohortRegistry | None = None


#: How the notices name a table.
_TABLE_NAMES = {
    "comparisons": "outcome comparisons",
    "flow": "participant flow",
    "participation": "participant flow",
    "linkage": "participant flow",
    "response_rates": "response rates",
    "bands": "score bands",
    "change": "reliable change",
    "likert": "item answers",
    "reliability": "reliability",
    "attrition": "attrition",
    "subgroups": "subgroups",
    "quality_flags": "data quality",
    "missingness": "data quality",
    "adjusted_means": "controlled comparisons",
    "ancova": "controlled comparisons",
    "d_ppc2": "controlled comparisons",
    "mixed": "controlled comparisons",
    "ipw": "controlled comparisons",
    "balance": "group balance",
    "balance_participants": "group balance",
    "wave_participation": "participation at each wave",
    "wave_means": "model-based means per wave",
    "multiwave": "multi-wave comparisons",
}


def _notices(reg: CohortRegistry, policy: DisclosurePolicy) -> list[str]:
    text = hidden_notice(reg, policy, unit="group")
    if text is None:
        return []
    notes = [text]
    late = differencing_tables(reg)
    if late:
        notes.append(
            "Some numbers are withheld because an earlier release of this cohort had "
            "slightly different counts (for example after late or withdrawn responses): "
            "publishing both would let a reader work out a few students' answers by "
            "subtraction. They are shown as \u201c[c]\u201d although the group itself may be "
            f"larger. Affected: {', '.join(sorted({_TABLE_NAMES.get(t, t.replace('_', ' ')) for t in late}))}."
        )
    return notes


def release_tables(
    tables: Mapping[str, pd.DataFrame],
    *,
    study: str,
    ledger: ReleaseLedger | None,
    policy: DisclosurePolicy,
    pre: str,
    treated: str,
    control: str | None,
    derived: Mapping[str, list[tuple[list[str], list[str]]]],
) -> Released:
    """Decide once what the report's ``tables`` may show, and show it everywhere.

    With disclosure control off, only ``derived`` blanking applies (nothing is hidden).
    Otherwise every count is registered (:func:`register_tables`), the decision is made
    and audited against ``ledger`` (earlier releases; this release is recorded into it),
    written back (:func:`apply_release`), and the flow's reason texts are rebuilt from it.

    Raises
    ------
    DisclosureError
        When the attacker's audit finds a hidden count that can still be worked out.
    """
    if not policy.active:
        return Released(protect_derived(dict(tables), derived), (), frozenset())
    reg = register_tables(tables, study=study, pre=pre, treated=treated, control=control)
    register_design_tables(reg, tables, treated, control)
    reg.decide(policy, ledger)
    out = apply_release(tables, reg)
    reasons = tables.get("flow_reasons")
    if "flow" in out and len(out["flow"]):
        out["flow"].loc[0, "reasons"] = reasons_text(reasons, "pre", reg) or "none"
    if "participation" in out:
        for i, role in enumerate(("pre", "post")[: len(out["participation"])]):
            out["participation"].loc[i, "reasons"] = reasons_text(reasons, role, reg) or "none"
    if ledger is not None:
        reg.registry.record(ledger)
    late = {
        (str(out["comparisons"].at[row, "instrument"]), str(out["comparisons"].at[row, "scale"]))
        for (table, row, _), key in reg.cells.items()
        if table == "comparisons" and reg.registry.reason(key) == "differencing"
    }
    return Released(out, tuple(_notices(reg, policy)), frozenset(late), reg)


def collapse_rare_levels(
    people: pd.DataFrame, columns: Iterable[str], policy: DisclosurePolicy
) -> pd.DataFrame:
    """Recode every categorical level held by fewer than k students to "other" (global
    recoding, before any table, figure or model is made), so that a rare level's *label*
    (a name typed into a free-text "other" field) never leaves ``data/``.

    Numeric columns (year of study) are left as they are: their levels are numbers, not
    labels, and small groups of them are suppressed like any count.

    Examples
    --------
    >>> site = ["north"] * 14 + ["south"] * 11 + ["east"] * 10 + ["Jo Bloggs"]
    >>> people = pd.DataFrame({"participant_id": [f"p{i}" for i in range(36)], "site": site})
    >>> shown = collapse_rare_levels(people, ["site"], DisclosurePolicy())["site"]
    >>> sorted(shown.value_counts().items())
    [('north', 14), ('other', 11), ('south', 11)]
    """
    out = people.copy()
    for column in columns:
        values = out[column]
        if not policy.active or pd.api.types.is_numeric_dtype(values.dtype):
            continue
        plan = collapse_levels(values, policy, ids=out["participant_id"])
        out[column] = plan.apply(values)
    return out
