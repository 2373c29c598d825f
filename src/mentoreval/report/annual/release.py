"""What an annual report publishes: every count it shows, decided once (issue 15).

Report stage (what may be released). The annual tables are built in full; every count they
show is registered in one :class:`~mentoreval.disclose.release.ReleaseRegistry`
(:class:`~mentoreval.report.released.ReleasedCells`) with the relations a reader could use:

- per cohort: students enrolled, with meetings, answering before and after, linked pairs
  (``with_meetings`` a part of ``enrolled``, ``linked_pairs`` a part of each wave);
- per cohort and scale: the pairs behind each change (the same ledger cell as the cohort
  report's mentored arm, so the two reports are audited together), a part of the cohort's
  linked pairs; the forest and trend rows show the same counts;
- pooled: the pairs of a pooled estimate are the sum of its cohorts' pairs;
- exploratory: dose thirds and mentor types sum to the pairs with a meeting log, which the
  dose slope's n shows and which is the sum of the programme's cohorts' pairs.

The one decision (primary: fewer than k students, or a count differing by 1..k−1 from an
earlier release in the store's ledger; complementary: chosen so that no primary cell can be
worked out) is audited with linear programming and written back into every table by
:func:`~mentoreval.report.released.write_release`. Cohort rows whose statistics are withheld
are left out of pooling before the pooled estimates are made (:func:`withheld_outcomes`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from mentoreval.config.disclosure import DisclosurePolicy
from mentoreval.disclose.audit import earlier_values
from mentoreval.disclose.ledger import ReleaseLedger
from mentoreval.disclose.release import PRIMARY_REASONS, ReleaseRegistry
from mentoreval.report.released import (
    Dependents,
    ReleasedCells,
    hidden_notice,
    rows_of,
    write_release,
)

__all__ = [
    "OUTCOME_STATS",
    "REVEALING",
    "STATISTICS",
    "AnnualRegistry",
    "new_registry",
    "register_cohort_counts",
    "release_annual",
    "withheld_outcomes",
]

#: The statistics of a cohort × scale row (withheld when its pairs are a primary cell).
OUTCOME_STATS = ["mean_pre", "sd_pre", "mean_post", "sd_post", "mean_diff", "ci_low",
                 "ci_high", "se", "p_value", "d_z", "d_z_ci_low", "d_z_ci_high", "g_av"]  # fmt: skip

#: Statistics by table: withheld with a primary suppression of a count they rest on.
STATISTICS: Dependents = {
    "outcomes": [(["n_pairs"], OUTCOME_STATS)],
    "trends": [(["n_pairs"], ["mean_pre", "mean_post", "mean_diff", "ci_low", "ci_high"])],
    "forest": [(["n_pairs"], ["estimate", "ci_low", "ci_high", "weight_random"])],
    "pooled": [(["n_pairs"], ["estimate", "se", "ci_low", "ci_high", "p_value", "p_adj",
                              "pi_low", "pi_high", "tau2", "i2", "q", "q_p_value"])],
    "dose": [(["n_pairs"], ["median_dose", "mean_change", "ci_low", "ci_high"])],
    "dose_models": [(["n"], ["slope", "slope_ci_low", "slope_ci_high", "p_value"])],
    "mentor_type": [(["n_pairs"], ["mean_change", "ci_low", "ci_high"])],
}  # fmt: skip

#: Numbers that give a count back: hidden with any count they rest on.
REVEALING: Dependents = {
    "participation": [(["pre_responses", "linked_pairs"], ["retention_pct"])],
}

_PARTICIPATION = ["enrolled", "with_meetings", "pre_responses", "post_responses", "linked_pairs"]
#: The counts behind each cohort's retention: hidden as complements only when nothing else
#: will do (like an outcome's pairs), so the retention line survives where it can.
_HEADLINE = {"pre_responses", "linked_pairs"}


def _cohort(r: pd.Series, programme: str = "programme") -> str:
    """The cohort's ledger study (``programme/cohort/year``) of a row; ``programme`` names
    the row's programme column (a forest row's own is its scope)."""
    return f"{r[programme]}/{r['cohort']}/{int(r['year'])}"


class AnnualRegistry(ReleasedCells):
    """The annual report's counts, with the key of each cohort × scale's pairs."""

    def pairs_key(self, cohort: str, instrument: str, scale: str) -> str:
        """The key of a cohort × scale's pairs."""
        return f"pairs.{cohort}.{instrument}.{scale}"


def register_cohort_counts(
    reg: AnnualRegistry, participation: pd.DataFrame, outcomes: pd.DataFrame
) -> None:
    """Participation and per-cohort pairs (enough to know which rows are withheld)."""
    for i, r in rows_of(participation):
        cohort = _cohort(r)
        keys = {
            col: reg.count(
                f"participation.{cohort}.{col}",
                r[col],
                at=[("participation", i, col)],
                ledger=("annual.participation", col, "n"),
                study=cohort,
                keep=col in _HEADLINE,
            )
            for col in _PARTICIPATION
        }
        reg.share(keys["with_meetings"], keys["enrolled"])
        reg.share(keys["linked_pairs"], keys["pre_responses"])
        reg.share(keys["linked_pairs"], keys["post_responses"])
    for i, r in rows_of(outcomes):
        cohort, inst, scale = _cohort(r), str(r["instrument"]), str(r["scale"])
        key = reg.count(
            reg.pairs_key(cohort, inst, scale), r["n_pairs"], at=[("outcomes", i, "n_pairs")],
            ledger=("outcomes", f"{inst} / {scale}", "n_pairs"), study=cohort, keep=True,
        )  # fmt: skip
        reg.share(key, f"participation.{cohort}.linked_pairs")


def withheld_outcomes(
    reg: AnnualRegistry,
    outcomes: pd.DataFrame,
    policy: DisclosurePolicy,
    ledger: ReleaseLedger | None,
) -> pd.DataFrame:
    """``outcomes`` with the statistics of primary-suppressed rows blanked and flagged
    ``suppressed`` (they are not pooled); the primary cells do not depend on which
    complements are chosen later."""
    out = outcomes.copy()
    out["suppressed"] = False
    if not policy.active:
        return out
    earlier = earlier_values(ledger)  # shown, or hidden as complements, before
    primary = {
        k for k, why in reg.registry.primary(policy, earlier_values=earlier).items()
        if why in PRIMARY_REASONS and why != "unpublished"
    }  # fmt: skip
    rows = [
        row for (table, row, _), key in reg.cells.items() if table == "outcomes" and key in primary
    ]
    out.loc[rows, "suppressed"] = True
    out.loc[rows, OUTCOME_STATS] = np.nan
    return out


def _outcome_key(reg: AnnualRegistry, r: pd.Series, programme: str = "programme") -> str:
    return reg.pairs_key(_cohort(r, programme), str(r["instrument"]), str(r["scale"]))


def _register_views(reg: AnnualRegistry, tables: Mapping[str, pd.DataFrame]) -> None:
    """Trends and forest rows show the cohorts' pairs; a pooled n is their sum."""
    for i, r in rows_of(tables.get("trends")):
        reg.count(_outcome_key(reg, r), r["n_pairs"], at=[("trends", i, "n_pairs")])
    pooled_parts: dict[tuple[str, str, str], list[str]] = {}
    for i, r in rows_of(tables.get("forest")):
        where = (str(r["programme"]), str(r["instrument"]), str(r["scale"]))
        if r["row"] != "cohort":
            continue
        key = reg.count(
            _outcome_key(reg, r, "cohort_programme"), r["n_pairs"], at=[("forest", i, "n_pairs")]
        )
        if key is not None and not pd.isna(r["weight_random"]):
            pooled_parts.setdefault(where, []).append(key)
    for i, r in rows_of(tables.get("pooled")):
        where = (str(r["programme"]), str(r["instrument"]), str(r["scale"]))
        key = reg.count(
            "pooled.{}.{}.{}".format(*where), r["n_pairs"], at=[("pooled", i, "n_pairs")],
            ledger=("pooled", " / ".join(where), "n_pairs"),
        )  # fmt: skip
        reg.total(key, pooled_parts.get(where, []))
    for i, r in rows_of(tables.get("forest")):
        if r["row"] == "pooled":
            where = (str(r["programme"]), str(r["instrument"]), str(r["scale"]))
            reg.count("pooled.{}.{}.{}".format(*where), r["n_pairs"], at=[("forest", i, "n_pairs")])


def _register_exploratory(
    reg: AnnualRegistry, tables: Mapping[str, pd.DataFrame], outcomes: pd.DataFrame
) -> None:
    """Dose thirds, dose slopes and mentor types of each programme × primary scale."""
    totals: dict[tuple[str, str, str], str | None] = {}
    parts: dict[tuple[str, ...], list[str]] = {}

    def total_of(where: tuple[str, str, str], n: float) -> str | None:
        if where not in totals:
            key = reg.count("dose.{}.{}.{}".format(*where), n, published=False)
            mine = outcomes[
                (outcomes["programme"].astype(str) == where[0])
                & (outcomes["instrument"].astype(str) == where[1])
                & (outcomes["scale"].astype(str) == where[2])
            ]
            reg.total(key, [_outcome_key(reg, r) for _, r in rows_of(mine.reset_index(drop=True))])
            totals[where] = key
        return totals[where]

    for name, by in (("dose", "measure"), ("mentor_type", "breakdown")):
        for i, r in rows_of(tables.get(name)):
            where = (str(r["programme"]), str(r["instrument"]), str(r["scale"]))
            key = reg.count(
                f"{name}.{'.'.join(where)}.{r[by]}.{r['level']}", r["n_pairs"],
                at=[(name, i, "n_pairs")],
            )  # fmt: skip
            if key is not None:
                parts.setdefault((*where, name, str(r[by])), []).append(key)
    for i, r in rows_of(tables.get("dose_models")):
        where = (str(r["programme"]), str(r["instrument"]), str(r["scale"]))
        whole = total_of(where, r["n"])
        key = reg.count("dose.{}.{}.{}".format(*where), r["n"], at=[("dose_models", i, "n")])
        if key != whole:
            reg.share(key, whole)
    for (programme, instrument, scale, _, _), keys in parts.items():
        n = sum(reg.registry.counts[p].value for p in keys)
        reg.total(total_of((programme, instrument, scale), n), keys)


def _notices(reg: AnnualRegistry, policy: DisclosurePolicy) -> list[str]:
    text = hidden_notice(reg, policy, unit="cohort")
    if text is None:
        return []
    notes = [text]
    late = reg.tables_with(["differencing"])
    if late:
        notes.append(
            "Some numbers are withheld because an earlier report from this store released "
            "slightly different counts for the same cohort (for example after late or "
            "withdrawn responses): publishing both would let a reader work out a few "
            "students' answers by subtraction. Affected: "
            f"{', '.join(sorted(t.replace('_', ' ') for t in late))}."
        )
    return notes


def release_annual(
    tables: Mapping[str, pd.DataFrame],
    reg: AnnualRegistry,
    *,
    policy: DisclosurePolicy,
    ledger: ReleaseLedger | None,
) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Register the views and exploratory tables (cohort counts are already in ``reg``),
    decide and audit once, write the decision into every table, and record the release in
    ``ledger``.

    Returns
    -------
    tuple
        The published tables and the notices their protection needs.

    Raises
    ------
    DisclosureError
        When the attacker's audit finds a hidden count that can still be worked out.
    """
    if not policy.active:
        return dict(tables), []
    _register_views(reg, tables)
    _register_exploratory(reg, tables, tables["outcomes"])
    reg.decide(policy, ledger)
    out = write_release(tables, reg, statistics=STATISTICS, revealing=REVEALING)
    if ledger is not None:
        reg.registry.record(ledger)
    return out, _notices(reg, policy)


def new_registry(year_span: str) -> AnnualRegistry:
    """An empty registry for the annual report over ``year_span``."""
    return AnnualRegistry(
        ReleaseRegistry(f"annual {year_span}"), f"annual:{year_span}", default_table="annual"
    )
