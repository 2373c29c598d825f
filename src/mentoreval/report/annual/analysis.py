"""What the annual report computes: :func:`analyse_annual` builds every disclosure-controlled
table of the annual report from the store (participation, per-cohort and pooled change,
trends, dose, mentor type).

Report stage (what is computed). The package docstring (:mod:`mentoreval.report.annual`)
shows how the parts fit.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from mentoreval.config.annual import AnnualConfig, load_annual_config
from mentoreval.disclose.ledger import ReleaseLedger
from mentoreval.frames import iter_rows
from mentoreval.report.annual.exploratory import dose_and_mentor_type
from mentoreval.report.annual.inputs import (
    mentored_people,
    paired_rows,
    select_cohorts,
    store_table,
)
from mentoreval.report.annual.pooling import pooled_and_forest
from mentoreval.report.annual.release import (
    OUTCOME_STATS,
    new_registry,
    register_cohort_counts,
    release_annual,
    withheld_outcomes,
)
from mentoreval.report.annual.results import AnnualAnalysis
from mentoreval.report.worker import shared
from mentoreval.report.worker import start_worker as _start_worker
from mentoreval.store.parquet import (
    load_release_ledger,
)

if TYPE_CHECKING:
    from mentoreval.config.disclosure import DisclosurePolicy

__all__ = ["DERIVED_COLUMNS", "analyse_annual", "start_worker"]

_STATS = OUTCOME_STATS

#: For each table: (counts, values derived from them). A derived value is published only
#: when every count of its row is published (``cohort.protect_derived``).
DERIVED_COLUMNS: dict[str, list[tuple[list[str], list[str]]]] = {
    "participation": [(["enrolled", "with_meetings", "pre_responses", "post_responses",
                        "linked_pairs"], ["retention_pct"])],
    "outcomes": [(["n_pairs"], _STATS)],
    "pooled": [(["n_pairs"], ["estimate", "se", "ci_low", "ci_high", "p_value", "p_adj",
                              "pi_low", "pi_high", "tau2", "i2", "q", "q_p_value"])],
    "forest": [(["n_pairs"], ["estimate", "ci_low", "ci_high", "weight_random"])],
    "trends": [(["n_pairs"], ["mean_pre", "mean_post", "mean_diff", "ci_low", "ci_high"])],
    "dose": [(["n_pairs"], ["median_dose", "mean_change", "ci_low", "ci_high"])],
    "dose_models": [(["n"], ["slope", "slope_ci_low", "slope_ci_high", "p_value"])],
    "mentor_type": [(["n_pairs"], ["mean_change", "ci_low", "ci_high"])],
}  # fmt: skip


# --------------------------------------------------------------------------- analysis


@dataclass
class _Run:
    """What every step of one :func:`analyse_annual` call shares."""

    config: AnnualConfig
    policy: DisclosurePolicy
    conf: float
    ledger: ReleaseLedger
    notes: list[str]
    year_span: str
    primary_set: set[tuple[str, str]]

    @property
    def study(self) -> str:
        """The ledger's study name of the report's pooled and exploratory tables."""
        return f"annual:{self.year_span}"


def analyse_annual(
    config: AnnualConfig | str | os.PathLike[str],
    *,
    ledger: ReleaseLedger | None = None,
    store_root: str | os.PathLike[str] | None = None,
) -> AnnualAnalysis:
    """Build every disclosure-controlled table of the annual report from the store.

    Parameters
    ----------
    config
        The :class:`AnnualConfig` or the path of ``annual.yaml``.
    ledger
        The release ledger to check against and record into; default the store's own
        (``<store>/ledger/releases.json``). Nothing is saved here: see
        :func:`save_release_ledger` (called by :func:`write_annual_outputs`).
    store_root
        A store to read instead of the config's (``store:``, default
        ``<project>/data/store``); ``mentoreval demo`` uses a store of its own.

    Returns
    -------
    AnnualAnalysis

    Raises
    ------
    DataError
        No cohort of the store matches, or listed cohorts are missing from it.

    Notes
    -----
    Per-cohort change is the paired change of the mentored students (the treated group
    when a cohort has a comparison group). Pooling uses each cohort's mean change and its
    standard error (from the paired-t CI) in DerSimonian–Laird random effects, within a
    programme and, for instruments shared by programmes, across them; only cohorts whose
    estimate was published (not suppressed) are pooled, and only instruments whose
    version is the same in every cohort involved. Dose thirds are thirds of the ranked
    dose (ties split by mentee order) within a programme, over the report's years.

    Examples
    --------
    >>> analysis = analyse_annual("data/demo/peer/annual.yaml")  # doctest: +SKIP
    >>> analysis["pooled"][["programme", "instrument", "scale", "k", "estimate", "i2"]]  # doctest: +SKIP
    """
    if not isinstance(config, AnnualConfig):
        config = load_annual_config(config)
    if store_root is not None:
        config = replace(config, store_root=Path(store_root).resolve())
    if ledger is None:
        ledger = load_release_ledger(config.store_root)
    cohorts = select_cohorts(config)
    cohorts = cohorts.sort_values(["programme", "year", "cohort"], ignore_index=True)
    store = _load_store(config, cohorts)
    primary = _primary_outcomes(config, store["cohort_info"])
    run = _Run(
        config=config,
        policy=config.policy,
        conf=config.confidence,
        ledger=ledger,
        notes=[],
        year_span=f"{cohorts['year'].min()}-{cohorts['year'].max()}",
        primary_set={(str(a), str(b)) for a, b in primary},
    )
    per_cohort = _per_cohort(run, cohorts, store)
    run.notes.extend(n for n in [unpaired_note(per_cohort.unpaired)] if n)
    participation = _participation(per_cohort.part_rows)
    raw_outcomes = _outcomes(run, per_cohort.outcome_parts, store["instruments"])
    reg = new_registry(run.year_span)
    if run.policy.active:
        register_cohort_counts(reg, participation, raw_outcomes)
    outcomes = withheld_outcomes(reg, raw_outcomes, run.policy, ledger)
    consistent, trend_exclusions = _version_consistency(run, store["instruments"])
    multi = len(set(cohorts["programme"])) > 1
    pooled, forest = pooled_and_forest(
        outcomes,
        store["instruments"],
        consistent,
        multi=multi,
        primary_set=run.primary_set,
        conf=run.conf,
        notes=run.notes,
    )
    trends = _trends(outcomes, consistent)
    dose_table, dose_models, mentor_type = dose_and_mentor_type(
        per_cohort.change(),
        store["dose"],
        primary_set=run.primary_set,
        conf=run.conf,
        notes=run.notes,
    )
    tables = {
        "participation": participation,
        "outcomes": outcomes,
        "pooled": pooled,
        "forest": forest,
        "trends": trends,
        "dose": dose_table,
        "dose_models": dose_models,
        "mentor_type": mentor_type,
    }
    # one decision over every count the report shows, audited, written into every table
    published, notices = release_annual(tables, reg, policy=run.policy, ledger=ledger)
    run.notes.extend(notices)
    # rates, shares and means never outlive a suppressed count of their row
    from mentoreval.disclose.derived import protect_derived

    tables = {
        "cohorts": _included(cohorts, per_cohort.comparison),
        **protect_derived(published, DERIVED_COLUMNS),
        "trend_exclusions": trend_exclusions,
    }
    return AnnualAnalysis(
        config=config,
        tables=tables,
        primary=tuple((str(a), str(b)) for a, b in primary),
        notes=tuple(run.notes),
        ledger=ledger,
    )


def _load_store(config: AnnualConfig, cohorts: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The store tables the report reads, for the selected cohorts."""
    return {
        name: store_table(config, name, cohorts)
        for name in ("cohort_info", "participants", "linkage", "scores", "instruments", "dose")
    }


def _included(cohorts: pd.DataFrame, comparison: list[str]) -> pd.DataFrame:
    """The ``cohorts`` table: each cohort included, with its inputs' hashes."""
    included = cohorts[["programme", "cohort", "year", "inputs_sha256", "added_at"]].copy()
    # the treated group's label where the cohort had a comparison group, else ""
    included["comparison_group"] = comparison
    return included


# --------------------------------------------------------------------------- primary outcomes


def _primary_outcomes(config: AnnualConfig, info: pd.DataFrame) -> list[tuple[str, ...]]:
    """The report's primary ``(instrument, scale)`` pairs: configured, else the cohorts'."""
    if config.primary:
        return [tuple(p.split(".", 1)) for p in config.primary]
    listed = [
        p.strip() for text in info.get("primary", pd.Series(dtype=str)).dropna()
        for p in str(text).split(",") if p.strip()
    ]  # fmt: skip
    return [tuple(p.split(".", 1)) for p in dict.fromkeys(listed)]


# --------------------------------------------------------------------------- per cohort


@dataclass
class _PerCohort:
    """Participation rows, paired outcomes and per-person change, cohort by cohort."""

    part_rows: list[dict[str, Any]] = field(default_factory=list)
    outcome_parts: list[pd.DataFrame] = field(default_factory=list)
    change_parts: list[pd.DataFrame] = field(default_factory=list)
    comparison: list[str] = field(default_factory=list)
    #: cohorts whose waves are not linked (or with one wave), with their design
    unpaired: list[tuple[str, str]] = field(default_factory=list)

    def change(self) -> pd.DataFrame:
        """Every cohort's per-person pre and post scores, stacked (empty without any)."""
        if not self.change_parts:
            return pd.DataFrame()
        return pd.concat(self.change_parts, ignore_index=True)


def _by_cohort(df: pd.DataFrame) -> tuple[dict[tuple[Any, ...], pd.DataFrame], pd.DataFrame]:
    """``df``'s rows per ``(programme, cohort, year)``, in their order, and the empty table
    (what a cohort with no rows gets).

    Examples
    --------
    >>> df = pd.DataFrame({"programme": ["p", "p", "p"], "cohort": ["a", "b", "a"],
    ...                    "year": [2025, 2025, 2025], "x": [1, 2, 3]})
    >>> parts, empty = _by_cohort(df)
    >>> parts[("p", "a", 2025)]["x"].tolist(), len(empty)
    ([1, 3], 0)
    """
    empty = df.iloc[0:0]
    if df.empty:
        return {}, empty
    groups = df.groupby(["programme", "cohort", "year"], sort=False, observed=True)
    return {tuple(k): g for k, g in groups}, empty


def start_worker() -> None:
    """Start the annual report's second process (when a core is free), importing this
    module and the forest plots' before the analysis: it then analyses half the cohorts
    and draws half the forest plots (:func:`mentoreval.report.worker.shared`). Nothing
    to show: the template cell calling it leaves no output.

    Examples
    --------
    >>> start_worker()  # doctest: +SKIP
    """
    _start_worker(__name__, "mentoreval.report.annual.figures")


def _per_cohort(run: _Run, cohorts: pd.DataFrame, store: dict[str, pd.DataFrame]) -> _PerCohort:
    """Participation, paired outcomes and per-person change of each cohort, in order."""
    out = _PerCohort()
    # each store table split by cohort once (a mask per cohort and table re-read every row
    # of the table for every cohort: 10 of 24 s of the analysis at a consortium's 200)
    split = {name: _by_cohort(store[name])
             for name in ("cohort_info", "participants", "linkage", "dose", "scores")}  # fmt: skip
    calls: list[tuple[Any, ...]] = []
    contrast: list[list[str]] = []
    for c in iter_rows(cohorts):
        key: tuple[Any, Any, Any] = (c.programme, c.cohort, c.year)

        def of(name: str, key: tuple[Any, Any, Any] = key) -> pd.DataFrame:
            return split[name][0].get(key, split[name][1])

        ci = of("cohort_info")
        row_info = ci.iloc[0] if len(ci) else pd.Series(dtype=object)
        pre = str(row_info.get("pre_wave", "pre") or "pre")
        post = str(row_info.get("post_wave", "post") or "post")
        design = _design(row_info)
        people = mentored_people(row_info, of("participants"))
        treated = row_info.get("treated")
        out.comparison.append(str(treated) if isinstance(treated, str) and treated else "")
        ids = set(people["participant_id"].astype(str))
        row = _participation_row(c, ids, of("linkage"), of("dose"))
        out.part_rows.append(_unpaired(row, design) if design != "linked" else row)
        name = f"{c.programme} {c.cohort}"
        name = name if str(c.cohort) == str(c.year) else f"{name} ({c.year})"
        if design != "linked":
            out.unpaired.append((name, design))
            continue  # no pairs: retention and paired change do not apply
        contrast.append(_contrast_note(name, row_info, pre, post))
        cohort_scores = of("scores")
        cohort_scores = cohort_scores[cohort_scores["participant_id"].astype(str).isin(ids)]
        calls.append(((c.programme, c.cohort, c.year), cohort_scores, pre, post, run.conf))
    # each cohort's paired change and per-person scores: independent, so shared with a
    # second process when one was started (worker.start_worker), in the same order
    for before, (paired, notes, change) in zip(
        contrast, shared(_cohort_outcomes, calls), strict=True
    ):
        run.notes.extend(before + notes)
        if paired is not None:
            out.outcome_parts.append(paired)
        if change is not None:
            out.change_parts.append(change)
    return out


def _cohort_outcomes(
    key: tuple[Any, Any, Any], cohort_scores: pd.DataFrame, pre: str, post: str, conf: float
) -> tuple[pd.DataFrame | None, list[str], pd.DataFrame | None]:
    """One linked cohort's paired change per scale (or None), the notes it needs, and its
    per-person pre and post scores (or None)."""
    programme, cohort, year = key
    notes: list[str] = []
    paired = paired_rows(cohort_scores, pre=pre, post=post, confidence=conf, notes=notes,
                         where=f"{programme}/{cohort}/{year}")  # fmt: skip
    if len(paired):
        paired.insert(0, "year", int(year))
        paired.insert(0, "cohort", cohort)
        paired.insert(0, "programme", programme)
    change = _change_rows(key, cohort_scores, pre=pre, post=post)
    return (paired if len(paired) else None), notes, change


def _design(info: pd.Series) -> str:
    """A stored cohort's design: ``linked``, ``unlinked`` or ``single_wave`` (cohorts filed
    before the store kept it were linked pre/post studies)."""
    design = info.get("design")
    return str(design) if isinstance(design, str) and design else "linked"


def _contrast_note(name: str, info: pd.Series, pre: str, post: str) -> list[str]:
    """For a cohort of more than two waves, the note that its change here is its primary
    contrast."""
    waves = [w for w in str(info.get("waves") or "").split(", ") if w]
    if len(waves) <= 2:
        return []
    return [
        f"{name} has {len(waves)} waves ({', '.join(waves)}): its change here is its primary "
        f"contrast, {post} vs {pre}; every wave is in its cohort report."
    ]


def _unpaired(row: dict[str, Any], design: str) -> dict[str, Any]:
    """A participation row of a cohort without linked waves: its responses per wave (a wave
    not surveyed is blank, not 0) and no linked pairs (not applicable, not 0). Without
    linkage each response is counted on its own, so the students enrolled are unknown."""
    out = {**row, "linked_pairs": math.nan}
    if design == "unlinked":
        out["enrolled"] = math.nan
    for wave in ("pre_responses", "post_responses"):
        if out[wave] == 0:
            out[wave] = math.nan
    return out


def unpaired_note(unpaired: list[tuple[str, str]]) -> str | None:
    """The note naming the cohorts without retention or paired change, and why.

    Examples
    --------
    >>> unpaired_note([("peer 2025", "unlinked"), ("peer 2023", "single_wave")])
    'No retention or paired change for peer 2025 (its waves are not linked: an anonymous survey or ids that cannot be linked) and peer 2023 (one survey wave); their own cohort reports describe them.'
    """
    if not unpaired:
        return None
    why = {
        "unlinked": "its waves are not linked: an anonymous survey or ids that cannot be linked",
        "single_wave": "one survey wave",
    }
    named = [f"{name} ({why.get(design, design)})" for name, design in unpaired]
    listed = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]
    return f"No retention or paired change for {listed}; their own cohort reports describe them."


def _participation_row(
    c: Any, ids: set[str], link: pd.DataFrame, cohort_dose: pd.DataFrame
) -> dict[str, Any]:
    """One cohort's participation counts (before disclosure control)."""
    link = link[link["participant_id"].astype(str).isin(ids)]
    enrolled_ids = ids | set(cohort_dose.get("mentee_id", pd.Series(dtype=str)).astype(str))
    with_meetings = int((cohort_dose["n_meetings"] > 0).sum()) if len(cohort_dose) else math.nan
    return {
        "programme": c.programme,
        "cohort": c.cohort,
        "year": int(c.year),
        "enrolled": len(enrolled_ids),
        "with_meetings": with_meetings,
        "pre_responses": int(link["pre"].astype(bool).sum()),
        "post_responses": int(link["post"].astype(bool).sum()),
        "linked_pairs": int((link["status"] == "matched").sum()),
    }


def _change_rows(
    key: tuple[Any, Any, Any], cohort_scores: pd.DataFrame, *, pre: str, post: str
) -> pd.DataFrame | None:
    """One cohort's (programme, cohort, year) per-person pre and post scores (both waves
    present), or None."""
    wide = (
        cohort_scores[cohort_scores["wave"].isin([pre, post])]
        .pivot_table(
            index=["participant_id", "instrument", "scale"],
            columns="wave",
            values="score",
            aggfunc="first",
            observed=True,
        )
        .reset_index()
    )
    if not (pre in wide and post in wide):
        return None
    wide = wide.dropna(subset=[pre, post])
    programme, cohort, year = key
    return pd.DataFrame(
        {
            "programme": programme,
            "cohort": cohort,
            "year": int(year),
            "participant_id": wide["participant_id"].astype(str),
            "instrument": wide["instrument"].astype(str),
            "scale": wide["scale"].astype(str),
            "pre": wide[pre].astype(float),
            "post": wide[post].astype(float),
        }
    )


# --------------------------------------------------------------------------- participation


def _participation(part_rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Participation counts per cohort, in full (the release decides what is shown)."""
    count_cols = ["enrolled", "with_meetings", "pre_responses", "post_responses", "linked_pairs"]
    participation = pd.DataFrame(part_rows)
    participation["retention_pct"] = (
        100 * participation["linked_pairs"] / participation["pre_responses"]
    )
    participation["suppressed"] = False
    return participation[
        ["programme", "cohort", "year", *count_cols, "retention_pct", "suppressed"]
    ].reset_index(drop=True)


# --------------------------------------------------------------------------- outcomes


def _outcomes(run: _Run, outcome_parts: list[pd.DataFrame], versions: pd.DataFrame) -> pd.DataFrame:
    """Outcomes per cohort, in full (the release decides what is shown)."""
    version_of = {
        (r.programme, r.cohort, int(r.year), str(r.instrument)): str(r.version)
        for r in iter_rows(versions)
    }
    if outcome_parts:
        raw_outcomes = pd.concat(outcome_parts, ignore_index=True)
    else:
        raw_outcomes = pd.DataFrame(
            columns=["programme", "cohort", "year", "instrument", "scale", "n_pairs", "df", "t"]
            + [s for s in _STATS if s != "se"]
        )
    crit = stats.t.ppf(1 - (1 - run.conf) / 2, raw_outcomes["df"].astype(float).clip(lower=1))
    raw_outcomes["se"] = (raw_outcomes["ci_high"] - raw_outcomes["ci_low"]) / (2 * crit)
    raw_outcomes["version"] = [
        version_of.get((r.programme, r.cohort, int(r.year), str(r.instrument)), "")
        for r in iter_rows(raw_outcomes)
    ]
    raw_outcomes["primary"] = [
        (str(i), str(s)) in run.primary_set
        for i, s in zip(raw_outcomes["instrument"], raw_outcomes["scale"], strict=True)
    ]
    out_cols = ["programme", "cohort", "year", "instrument", "scale", "version", "primary"]
    return raw_outcomes[[*out_cols, "n_pairs", *_STATS]].reset_index(drop=True)


# --------------------------------------------------------------------------- instrument versions


def _version_consistency(
    run: _Run, versions: pd.DataFrame
) -> tuple[dict[tuple[str, str], bool], pd.DataFrame]:
    """Which instruments may be trended and pooled, and why the others are excluded."""
    exclusions = []
    consistent: dict[tuple[str, str], bool] = {}
    for (programme, instrument), g in versions.groupby(["programme", "instrument"], sort=True):
        per_year = g.sort_values(["year", "cohort"])
        distinct = list(dict.fromkeys(per_year["version"].astype(str)))
        consistent[(str(programme), str(instrument))] = len(distinct) == 1
        listed = "; ".join(f"{r.year}: {r.version}" for r in iter_rows(per_year))
        if len(distinct) > 1:
            exclusions.append(
                {
                    "programme": programme,
                    "instrument": instrument,
                    "versions": listed,
                    "reason": (
                        f"the instrument version changed ({' → '.join(distinct)}): scores are "
                        "not comparable across years, so no trend or pooled estimate is shown"
                    ),
                }
            )
        elif g["year"].nunique() < 2:
            exclusions.append(
                {
                    "programme": programme,
                    "instrument": instrument,
                    "versions": listed,
                    "reason": "measured in one year only: no trend",
                }
            )
    trend_exclusions = pd.DataFrame(
        exclusions, columns=["programme", "instrument", "versions", "reason"]
    )
    for r in iter_rows(trend_exclusions):
        run.notes.append(f"Trends: {r.programme} {r.instrument} excluded — {r.reason}.")
    return consistent, trend_exclusions


# --------------------------------------------------------------------------- trends


def _trends(outcomes: pd.DataFrame, consistent: dict[tuple[str, str], bool]) -> pd.DataFrame:
    """Trends over years, for unchanged instruments measured in two years or more."""
    keep = [
        consistent.get((str(p), str(i)), False)
        for p, i in zip(outcomes["programme"], outcomes["instrument"], strict=True)
    ]
    years_per = outcomes.groupby(["programme", "instrument"])["year"].transform("nunique")
    trends = outcomes[np.array(keep, dtype=bool) & (years_per >= 2).to_numpy()]
    return trends[
        ["programme", "instrument", "scale", "version", "year", "cohort", "n_pairs", "mean_pre",
         "mean_post", "mean_diff", "ci_low", "ci_high", "suppressed"]
    ].sort_values(["programme", "instrument", "scale", "year", "cohort"], ignore_index=True)  # fmt: skip
