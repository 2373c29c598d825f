"""What the cohort report computes: :func:`analyse_cohort` assembles the statistics, the
disclosure-controlled tables, the findings and the figures into a :class:`CohortResults`.

Report stage (what is computed). The package docstring (:mod:`mentoreval.report.cohort`) shows
how the parts fit.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from mentoreval.config.disclosure import DisclosurePolicy
from mentoreval.config.study import GroupSpec
from mentoreval.disclose.ledger import ReleaseLedger
from mentoreval.errors import DataError, Problem
from mentoreval.frames import iter_rows
from mentoreval.report.cohort.arms import Arms, describe_arms, describe_once, measured_once, without
from mentoreval.report.cohort.caveats import group_caveats
from mentoreval.report.cohort.comparisons import cohort_findings, per_group_comparisons
from mentoreval.report.cohort.figures import draw_figures
from mentoreval.report.cohort.inputs import (
    check_waves,
    instrument_meta,
    load_processed,
    scale_meta,
)
from mentoreval.report.cohort.participation import participation_tables
from mentoreval.report.cohort.publish import collapse_rare_levels, release_tables
from mentoreval.report.cohort.release import (
    DERIVED_COLUMNS,
    LEDGER_OFF,
    open_release,
    policy_for_study,
    suppress_rows,
)
from mentoreval.report.cohort.results import COMPARISON_TABLE_COLUMNS, CohortResults
from mentoreval.report.cohort.summary import summary_caveats
from mentoreval.report.cohort.tables import (
    comparison_tables,
    data_quality,
    group_counts,
    subgroups,
)

if TYPE_CHECKING:  # pragma: no cover
    from mentoreval.config.study import Study
    from mentoreval.ingest.pipeline import IngestResult

__all__ = ["analyse_cohort"]


# ------------------------------------------------------------------------- results


def _declared_levels_present(
    participants: pd.DataFrame, group: GroupSpec, config: Path
) -> pd.Series:
    """The group levels of the processed data, when they hold the declared treated and
    control levels; a study that declares a group is never reported as single-arm."""
    levels = (
        participants["group"].dropna().astype(str)
        if "group" in participants.columns
        else pd.Series([], dtype=str)
    )
    if not {group.treated, group.control} <= set(levels):
        present = sorted(set(levels))
        raise DataError(
            f"{config.name}: analysis.group declares {group.treated!r} and {group.control!r} "
            f"but the processed data hold the group levels {present}",
            (
                Problem(
                    f"the processed data hold the group levels {present}, not "
                    f"{group.treated!r} and {group.control!r}",
                    file=config.name,
                    key="analysis.group",
                    fix="run 'mentoreval ingest' on the study again: the processed data "
                    "were written before this group config (or by an older mentoreval)",
                ),
            ),
        )
    return levels


def _undeclared_groups(
    levels: pd.Series, treated: str, control: str, policy: DisclosurePolicy
) -> list[str]:
    """One sentence per group level that is neither treated nor control: those students are
    not analysed. The count is not given (it could be worked out against the group counts
    the release hides), and a level held by fewer than k students is not named (its label
    could identify them).

    Examples
    --------
    >>> levels = pd.Series(["mentored"] * 30 + ["comparison"] * 30 + ["waitlist"] * 12 + ["x"])
    >>> for line in _undeclared_groups(levels, "mentored", "comparison", DisclosurePolicy()):
    ...     print(line)
    Students in group 'waitlist' are not analysed: that group is declared neither as treated nor as control (analysis.group in study.yaml).
    Students in one more group, too small to name, are not analysed: that group is declared neither as treated nor as control (analysis.group in study.yaml).
    """
    counts = levels[~levels.isin([treated, control])].value_counts()
    why = "declared neither as treated nor as control (analysis.group in study.yaml)."
    named = [str(v) for v, n in counts.items() if not policy.is_small(int(n))]
    lines = [
        f"Students in group {v!r} are not analysed: that group is {why}" for v in sorted(named)
    ]
    small = len(counts) - len(named)
    if small:
        which = "one more group" if small == 1 else f"{small} more groups"
        lines.append(
            f"Students in {which}, too small to name, are not analysed: "
            f"{'that group is' if small == 1 else 'those groups are'} {why}"
        )
    return lines


def analyse_cohort(
    processed: IngestResult | str | os.PathLike[str],
    study_config: Study | str | os.PathLike[str],
    *,
    policy: DisclosurePolicy | None = None,
    imputations: int = 20,
    seed: int = 0,
    ledger: ReleaseLedger | None = None,
    use_ledger: bool = True,
    extra_tables: Mapping[str, pd.DataFrame] | None = None,
) -> CohortResults:
    """Analyse one ingested study and apply disclosure control to every table.

    Parameters
    ----------
    processed
        The :class:`~mentoreval.ingest.IngestResult`, or the folder ingest wrote
        (``data/processed/<study>/``).
    study_config
        The ``study.yaml`` (or a loaded :class:`~mentoreval.config.study.Study`).
    policy
        Disclosure policy; default: the study's ``disclosure:`` setting.
    imputations, seed
        Multiple-imputation sensitivity analysis (comparison designs only).
    ledger
        Earlier releases to check against (not modified); default: the release ledger of
        the study's project store (``<project>/data/store/ledger/releases.json``, shared
        with the annual report). A count that differs by 1..k−1 from an earlier release of
        the same cell is suppressed, with a notice. ``CohortResults.ledger`` holds it with
        this report's releases added; nothing is saved here (see
        :func:`mentoreval.store.merge_release_ledger`, called by
        :func:`run_cohort_report` once the report passed its egress scan).
    use_ledger
        ``False`` skips the ledger, for internal use only: allowed only when the
        disclosure profile is ``"off"``, and reported as a notice.
    extra_tables
        Further tables built in full (a multi-wave study's), released with the others.

    Returns
    -------
    CohortResults

    Raises
    ------
    DataError
        When a wave is missing or no pre/post pair could be linked.
    DisclosureError
        ``use_ledger=False`` while disclosure control is on.

    Examples
    --------
    >>> res = analyse_cohort("data/processed/demo", "data/demo/study.yaml")  # doctest: +SKIP
    >>> res.headline[0].judgement  # doctest: +SKIP
    'a small improvement; probably real, but it could be negligible'
    """
    from mentoreval.stats._common import to_prepost

    study, data, scores = _inputs(processed, study_config)
    cfg = study.config
    policy = policy or policy_for_study(study)
    pre, post, confidence = cfg.analysis.pre, cfg.analysis.post, float(cfg.analysis.confidence)
    meta = scale_meta(study)
    notices: list[str] = [policy.warning] if policy.warning else []
    release = open_release(study, ledger, use_ledger=use_ledger, policy=policy)
    if release is None:
        notices.append(LEDGER_OFF)
    # Tables are built in full; what may be released is decided once, on all of them
    # together (registry.py). Only the item charts merge answer options as they are built.
    full = DisclosurePolicy(profile="off") if policy.active else policy
    arms = _arms(data["participants"], study, policy)
    notices.extend(arms.notices)
    raw = _run_stats(scores, arms, study, meta, imputations=imputations, seed=seed)
    wide = to_prepost(scores, arms.people, pre=pre, post=post)
    comp = raw["comparisons"].copy()
    is_primary = (raw["multiplicity"]["family"] == "primary").to_numpy()
    tables = _outcome_tables(raw, scores, data, study, arms, meta, full)
    # participation: flow and response rates
    tables.update(
        participation_tables(data, study, comp, is_primary, arms.group_col, arms.treated, full)
    )
    # bands, item answers, reliable change and reliability: one arm at a time
    once, merged_any = _descriptive_tables(tables, scores, data, study, arms, meta, policy, full)
    tables.update(_comparison_group_tables(raw, wide, comp, is_primary, arms, confidence, full))
    tables.update({k: without(t, once) for k, t in tables.items() if k in _PAIRED_MODELS})
    # data quality, then one release decision over every table
    tables.update(data_quality(data, study, pre, post, full))
    tables.update(extra_tables or {})
    decided = release_tables(
        tables, study=release.study if release is not None else study.name, ledger=release,
        policy=policy, pre=pre, treated=arms.treated, derived=DERIVED_COLUMNS,
        control=arms.control,
    )  # fmt: skip
    tables = decided.tables
    notices.extend(decided.notices)
    # caveats (each stated once, listing its scales) and notes
    meta_idx = meta.set_index(["instrument", "scale"])
    cav = without(_applying(raw.get("caveats")), once)
    tables["caveats"] = group_caveats(cav, meta_idx, tables, policy, decided.withheld_scales)
    tables["fit_notes"] = without(raw.get("fit_notes", pd.DataFrame()), once)
    notices = _closing_notices(
        notices, tables["comparisons"], arms.design, policy,
        merged_items=merged_any, ledger_withheld=bool(decided.withheld_scales),
    )  # fmt: skip
    info = _result_info(study, arms, data)
    headline, controlled = cohort_findings(
        tables, comp, wide, meta_idx, is_primary, policy, group_col=arms.group_col,
        treated=arms.treated, design=arms.design, alpha=1 - confidence,
    )  # fmt: skip
    info["headline_effect"] = "ancova" if arms.group_col else "paired change"
    info["summary_caveats"] = summary_caveats(
        tables, arms.design, info["group"], retrospective=info["retrospective"] is not None
    )
    figures = draw_figures(
        tables, wide, meta_idx, study, pre, post, confidence, policy,
        group_col=arms.group_col, treated=arms.treated, controlled=controlled,
    )  # fmt: skip
    return CohortResults(
        study=study.name, title=cfg.title, design=arms.design, policy=policy,
        confidence=confidence, tables=tables, headline=headline, notices=tuple(notices),
        figures=figures, info=info,
        ledger=None if release is None else ReleaseLedger(release.entries, release.hidden),
    )  # fmt: skip


def _inputs(
    processed: IngestResult | str | os.PathLike[str], study_config: Study | str | os.PathLike[str]
) -> tuple[Study, dict[str, Any], pd.DataFrame]:
    """The study, its processed data and its scores (keys as text), with both waves present."""
    from mentoreval.config.study import load_study

    study = (
        study_config
        if not isinstance(study_config, str | os.PathLike)
        else load_study(Path(study_config))
    )
    data = load_processed(processed)
    scores = data["scores"].copy()
    for c in ("participant_id", "wave", "instrument", "scale"):
        scores[c] = scores[c].astype(str)
    opts = study.config.analysis
    check_waves(scores, data["linkage"], opts.pre, opts.post, str(study.path))
    return study, data, scores


def _applying(caveats: pd.DataFrame | None) -> pd.DataFrame:
    """The caveats that apply to this cohort."""
    if caveats is None or not len(caveats):
        return pd.DataFrame() if caveats is None else caveats
    return caveats[caveats["applies"].astype(bool)].reset_index(drop=True)


@dataclass(frozen=True)
class _Arms:
    """Who is analysed and how: the participants kept (with group and covariates), the
    group column (``None`` single-arm), the treated and control levels and the design."""

    people: pd.DataFrame
    group_col: str | None
    treated: str
    control: str | None
    design: str
    covariates: list[str]
    notices: list[str]


def _arms(participants: pd.DataFrame, study: Study, policy: DisclosurePolicy) -> _Arms:
    """The design's arms: the declared group levels (else the report stops: never single-arm
    when a group is declared), undeclared levels left out with a notice, rare covariate
    levels collapsed."""
    cfg = study.config
    opts = cfg.analysis
    participants = participants.copy()
    participants["participant_id"] = participants["participant_id"].astype(str)
    group_col: str | None = None
    treated, control = "mentored", None
    notices: list[str] = []
    if opts.group is not None:
        levels = _declared_levels_present(participants, opts.group, study.path)
        treated, control = opts.group.treated, opts.group.control
        notices.extend(_undeclared_groups(levels, treated, control, policy))
        participants["group"] = participants["group"].astype("string")
        participants = participants[
            participants["group"].isna() | participants["group"].isin([treated, control])
        ]
        group_col = "group"
    covariates = [c for c in cfg.columns.covariates if c in participants.columns]
    people = participants[["participant_id", *([group_col] if group_col else []), *covariates]]
    return _Arms(
        people=collapse_rare_levels(people, covariates, policy),
        group_col=group_col,
        treated=treated,
        control=control,
        design=opts.resolved_design if group_col else "single_arm",
        covariates=covariates,
        notices=notices,
    )


def _run_stats(
    scores: pd.DataFrame, arms: _Arms, study: Study, meta: pd.DataFrame, *,
    imputations: int, seed: int,
) -> dict[str, pd.DataFrame]:  # fmt: skip
    """Every statistic of the linked pre/post design (:func:`mentoreval.stats.run_analysis`)."""
    from mentoreval.stats.analysis import run_analysis

    opts = study.config.analysis
    rows = list(iter_rows(meta))
    analysis = run_analysis(
        scores,
        arms.people,
        pre=opts.pre,
        post=opts.post,
        group=arms.group_col,
        treated=arms.treated,
        covariates=arms.covariates if arms.group_col else (),
        primary=list(opts.primary) or None,
        multiplicity=opts.multiplicity,
        reliability={
            (r.instrument, r.scale): float(r.reliability)
            for r in rows
            if not pd.isna(r.reliability)
        },
        higher_is_better={(r.instrument, r.scale): bool(r.higher_is_better) for r in rows},
        score_range={(r.instrument, r.scale): (r.range_low, r.range_high) for r in rows},
        m=imputations,
        seed=seed,
        mixed=True,
        confidence=float(opts.confidence),
    )
    return dict(analysis.tables)


def _outcome_tables(
    raw: dict[str, pd.DataFrame], scores: pd.DataFrame, data: dict[str, Any], study: Study,
    arms: _Arms, meta: pd.DataFrame, full: DisclosurePolicy,
) -> dict[str, pd.DataFrame]:  # fmt: skip
    """The pre/post comparisons (per arm in a comparison design), built in full."""
    opts = study.config.analysis
    comp_cols = [c for c in COMPARISON_TABLE_COLUMNS if c != "suppressed"]
    tables: dict[str, pd.DataFrame] = {}
    if arms.group_col and arms.control is not None:
        # within-group pre/post per arm (mentored first): pooling the arms would read as
        # the programme's effect
        by_group = per_group_comparisons(
            scores, arms.people, arms.group_col, [arms.treated, arms.control], pre=opts.pre,
            post=opts.post, confidence=float(opts.confidence),
            primary=list(opts.primary) or None, multiplicity=opts.multiplicity,
        )  # fmt: skip
        # the mentored rows share their ledger key with the annual report's outcomes
        per_arm = by_group[[*comp_cols, "group"]].assign(
            _arm=lambda d: d["group"].astype(str).where(d["group"].astype(str) != arms.treated, "")
        )
        tables["comparisons"] = suppress_rows(
            per_arm, full, n_columns=["n_pairs"], keys=["instrument", "scale", "_arm"],
        )[[*COMPARISON_TABLE_COLUMNS, "group"]]  # fmt: skip
    else:
        tables["comparisons"] = suppress_rows(
            raw["comparisons"][comp_cols], full, n_columns=["n_pairs"],
            keys=["instrument", "scale"],
        )  # fmt: skip
    tables["multiplicity"] = raw["multiplicity"]
    tables["scales"] = meta
    tables["instruments"] = instrument_meta(study)
    return tables


#: Tables of a before/after model: no row for a measure taken at one wave only.
_PAIRED_MODELS = ("ancova", "mixed", "imputation", "ipw", "d_ppc2", "attrition", "balance")


def _descriptive_tables(
    tables: dict[str, pd.DataFrame], scores: pd.DataFrame, data: dict[str, Any], study: Study,
    arms: _Arms, meta: pd.DataFrame, policy: DisclosurePolicy, full: DisclosurePolicy,
) -> tuple[set[tuple[str, str]], bool]:  # fmt: skip
    """Add the bands, item answers, reliable change and reliability of each arm (never both
    arms pooled), and describe a measure taken at one wave once (``descriptives``) instead
    of comparing it. Returns the scales measured once and whether item answer options
    were merged."""
    opts = study.config.analysis
    order = [arms.treated, arms.control] if arms.group_col and arms.control else []
    described = describe_arms(
        Arms.from_people(arms.people, arms.group_col, order), scores, data["responses"], study,
        meta, pre=opts.pre, post=opts.post, confidence=float(opts.confidence), policy=policy,
        full=full,
    )  # fmt: skip
    tables.update(described.tables)
    once = measured_once(scores, opts.pre, opts.post)
    if once:
        tables["comparisons"] = without(tables["comparisons"], once)
        tables["descriptives"] = describe_once(
            scores, Arms.from_people(arms.people, arms.group_col, order), once,
            float(opts.confidence), full,
        )  # fmt: skip
    return once, described.merged


def _comparison_group_tables(
    raw: dict[str, pd.DataFrame], wide: pd.DataFrame, comp: pd.DataFrame, is_primary: Any,
    arms: _Arms, confidence: float, full: DisclosurePolicy,
) -> dict[str, pd.DataFrame]:  # fmt: skip
    """The comparison-group models, attrition, exploratory subgroups, dose and moderation."""
    from mentoreval.stats.paired import compare_pair

    tables: dict[str, pd.DataFrame] = {}
    if arms.group_col:
        ncount = group_counts(wide, arms.group_col, arms.treated)
        tables.update(comparison_tables(raw, ncount, full))
    if "attrition" in raw:
        tables["attrition"] = suppress_rows(
            raw["attrition"].copy(), full, n_columns=["n_baseline"],
            count_columns=["n_completed"], value_columns=["attrition"],
            blocks=["instrument", "scale"],
        )  # fmt: skip
    # exploratory subgroups (the mentored students' own change in a comparison design)
    g = arms.group_col
    sub_wide = wide if not g else wide[wide[g].astype(str) == arms.treated]
    tables["subgroups"] = subgroups(
        sub_wide, arms.covariates, comp, is_primary, confidence, full, compare_pair
    )
    if "dose" in raw:
        tables["dose"] = suppress_rows(raw["dose"], full, n_columns=["n"])
    if "moderation" in raw and "n" in raw["moderation"].columns:
        tables["moderation"] = suppress_rows(raw["moderation"], full, n_columns=["n"])
    return tables


def _closing_notices(
    notices: list[str], comparisons: pd.DataFrame, design: str, policy: DisclosurePolicy, *,
    merged_items: bool, ledger_withheld: bool,
) -> list[str]:  # fmt: skip
    """The notices after the release: single-arm design, merged answer options, and (first)
    that every pair count is under k."""
    out = list(notices)
    if design == "single_arm":
        out.append(
            "Single-arm design: there is no comparison group, so the changes shown cannot be "
            "attributed to the programme. Students' wellbeing usually changes over an "
            "academic year anyway (maturation, the calendar), and extreme baseline scores "
            "drift back towards the average (regression to the mean)."
        )
    if merged_items:
        out.append(
            "In the item charts, answer options were combined into lower / middle / upper "
            "groups so that no answer count rests on fewer than "
            f"{policy.threshold} students."
        )
    if (comparisons.empty or comparisons["suppressed"].all()) and not ledger_withheld:
        out.insert(
            0 if not policy.warning else 1,
            f"Fewer than {policy.threshold} students answered both surveys on every outcome, "
            f"so every number that rests on them is suppressed (shown as "
            f"\u201c{policy.label}\u201d). The disclosure threshold protects individual "
            "students in a small cohort; pool this cohort with another, or wait for more "
            "responses, before reporting results.",
        )
    return out


def _result_info(study: Study, arms: _Arms, data: dict[str, Any]) -> dict[str, Any]:
    """What the notebook and the brief need besides the tables."""
    cfg = study.config
    opts = cfg.analysis
    manifest = data.get("manifest") or {}
    design = manifest.get("design") or {}
    return {
        "programme": cfg.programme,
        "cohort": cfg.cohort,
        "year": cfg.year,
        "pre": opts.pre,
        "post": opts.post,
        "primary": list(opts.primary),
        "multiplicity": opts.multiplicity,
        "covariates": arms.covariates,
        "group": (
            {"treated": arms.treated, "control": arms.control}
            if arms.group_col and arms.control is not None
            else None
        ),
        "key_fingerprint": manifest.get("key_fingerprint"),
        # an anonymous survey whose waves were linked by self-generated codes
        "linked_by_code": getattr(cfg.participant_id, "sgic", None) is not None,
        # a then-test: the 'before' wave was asked after the programme, in the same survey
        "retrospective": (
            {"then": design.get("then"), "now": design.get("now")}
            if design.get("kind") == "then_test"
            else None
        ),
    }
