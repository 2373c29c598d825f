"""What the cohort report computes: :func:`analyse_cohort` assembles the statistics, the
disclosure-controlled tables, the findings and the figures into a :class:`CohortResults`.

Report stage (what is computed). The package docstring (:mod:`mentoreval.report.cohort`) shows
how the parts fit.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from mentoreval.config.disclosure import DisclosurePolicy
from mentoreval.config.study import GroupSpec
from mentoreval.disclose.ledger import ReleaseLedger
from mentoreval.errors import DataError, Problem
from mentoreval.frames import iter_rows
from mentoreval.report.cohort.caveats import attempt, group_caveats
from mentoreval.report.cohort.comparisons import cohort_findings, per_group_comparisons
from mentoreval.report.cohort.figures import draw_figures
from mentoreval.report.cohort.inputs import (
    check_waves,
    instrument_meta,
    load_processed,
    scale_meta,
    wide_items,
)
from mentoreval.report.cohort.publish import collapse_rare_levels, release_tables
from mentoreval.report.cohort.release import (
    DERIVED_COLUMNS,
    LEDGER_OFF,
    open_release,
    policy_for_study,
    protect_bands,
    protect_classes,
    suppress_rows,
)
from mentoreval.report.cohort.results import COMPARISON_TABLE_COLUMNS, CohortResults
from mentoreval.report.cohort.summary import summary_caveats
from mentoreval.report.cohort.tables import (
    comparison_tables,
    data_quality,
    group_counts,
    likert_counts,
    participation_tables,
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
    from mentoreval.config.study import load_study
    from mentoreval.stats._common import to_prepost
    from mentoreval.stats.analysis import run_analysis
    from mentoreval.stats.cutoffs import compare_bands
    from mentoreval.stats.paired import compare_pair
    from mentoreval.stats.reliability import fit_reliability_many

    study = (
        study_config
        if not isinstance(study_config, str | os.PathLike)
        else load_study(Path(study_config))
    )
    cfg = study.config
    policy = policy or policy_for_study(study)
    opts = cfg.analysis
    pre, post, confidence = opts.pre, opts.post, float(opts.confidence)
    data = load_processed(processed)
    scores = data["scores"].copy()
    for c in ("participant_id", "wave", "instrument", "scale"):
        scores[c] = scores[c].astype(str)
    check_waves(scores, data["linkage"], pre, post, str(study.path))
    participants = data["participants"].copy()
    participants["participant_id"] = participants["participant_id"].astype(str)
    meta = scale_meta(study)
    meta_idx = meta.set_index(["instrument", "scale"])
    notices: list[str] = []
    if policy.warning:
        notices.append(policy.warning)
    release = open_release(study, ledger, use_ledger=use_ledger, policy=policy)
    if release is None:
        notices.append(LEDGER_OFF)
    # Tables are built in full; what may be released is decided once, on all of them
    # together (registry.py). Only the item charts merge answer options as they are built.
    full = DisclosurePolicy(profile="off") if policy.active else policy

    # design
    group_col: str | None = None
    treated = "mentored"
    if opts.group is not None:
        levels = _declared_levels_present(participants, opts.group, study.path)
        treated = opts.group.treated
        # the declared levels are there (else the report stops: never single-arm)
        notices.extend(_undeclared_groups(levels, treated, opts.group.control, policy))
        participants["group"] = participants["group"].astype("string")
        participants = participants[
            participants["group"].isna() | participants["group"].isin([treated, opts.group.control])
        ]
        group_col = "group"
    design = opts.resolved_design if group_col else "single_arm"
    covariates = [c for c in cfg.columns.covariates if c in participants.columns]
    people = participants[["participant_id", *([group_col] if group_col else []), *covariates]]
    people = collapse_rare_levels(people, covariates, policy)
    primary = list(opts.primary)
    reliability = {
        (r.instrument, r.scale): float(r.reliability)
        for r in iter_rows(meta)
        if not pd.isna(r.reliability)
    }
    hib = {(r.instrument, r.scale): bool(r.higher_is_better) for r in iter_rows(meta)}
    ranges = {(r.instrument, r.scale): (r.range_low, r.range_high) for r in iter_rows(meta)}

    analysis = run_analysis(
        scores,
        people,
        pre=pre,
        post=post,
        group=group_col,
        treated=treated,
        covariates=covariates if group_col else (),
        primary=list(opts.primary) or None,
        multiplicity=opts.multiplicity,
        reliability=reliability,
        higher_is_better=hib,
        score_range=ranges,
        m=imputations,
        seed=seed,
        mixed=True,
        confidence=confidence,
    )
    raw = dict(analysis.tables)
    wide = to_prepost(scores, people, pre=pre, post=post)
    ncount = group_counts(wide, group_col, treated)

    comp = raw["comparisons"].copy()
    multiplicity = raw["multiplicity"]
    is_primary = (multiplicity["family"] == "primary").to_numpy()
    tables: dict[str, pd.DataFrame] = {}
    comp_cols = [c for c in COMPARISON_TABLE_COLUMNS if c != "suppressed"]
    if group_col and opts.group is not None:
        # within-group pre/post per arm (mentored first): pooling the arms would read as
        # the programme's effect
        by_group = per_group_comparisons(
            scores, people, group_col, [treated, opts.group.control], pre=pre, post=post,
            confidence=confidence, primary=primary or None, multiplicity=opts.multiplicity,
        )  # fmt: skip
        # the mentored rows share their ledger key with the annual report's outcomes
        arms = by_group[[*comp_cols, "group"]].assign(
            _arm=lambda d: d["group"].astype(str).where(d["group"].astype(str) != treated, "")
        )
        tables["comparisons"] = suppress_rows(
            arms, full, n_columns=["n_pairs"], keys=["instrument", "scale", "_arm"],
        )[[*COMPARISON_TABLE_COLUMNS, "group"]]  # fmt: skip
    else:
        tables["comparisons"] = suppress_rows(
            comp[comp_cols], full, n_columns=["n_pairs"], keys=["instrument", "scale"]
        )
    tables["multiplicity"] = multiplicity
    tables["scales"] = meta
    tables["instruments"] = instrument_meta(study)

    # participation: flow and response rates
    tables.update(participation_tables(data, study, comp, is_primary, group_col, treated, full))

    # outcome domains: bands, Likert, reliability, change classes
    if "band" in scores.columns and scores["band"].notna().any():
        bands = compare_bands(scores[scores["band"].notna()], pre=pre, post=post)
        order = {
            (r.instrument, r.scale): [b.strip() for b in r.bands.split(";")]
            for r in iter_rows(meta)
            if r.bands
        }
        bands["band_order"] = [
            order.get((i, s), []).index(b) if b in order.get((i, s), []) else 99
            for i, s, b in zip(bands["instrument"], bands["scale"], bands["band"], strict=True)
        ]
        bands = bands.sort_values(["instrument", "scale", "band_order"], kind="stable")
        bands = bands.drop(columns=["band_order", "statistic"]).reset_index(drop=True)
        bands = protect_bands(bands, full)
        tables["bands"] = bands
    likert_parts = []
    merged_any = False
    for inst_id in study.instruments:
        long, merged = likert_counts(data["responses"], study, inst_id, [pre, post], policy)
        merged_any |= merged
        if len(long):
            likert_parts.append(long)
    if likert_parts:
        tables["likert"] = pd.concat(likert_parts, ignore_index=True)
    frames = {}
    reverse = {}
    ranges_items = {}
    for inst_id, inst in study.instruments.items():
        for wave in (pre, post):
            items = wide_items(data["responses"], inst_id, wave)
            if items.empty:
                continue
            for s in inst.scales:
                cols = [c for c in s.items if c in items.columns]
                if len(cols) >= 2:
                    frames[(inst_id, s.id, wave)] = items[cols]
                    reverse[(inst_id, s.id)] = [i for i in cols if inst.item(i).reverse]
        rs = next(iter(inst.response_scales.values()))
        ranges_items[inst_id] = (rs.low, rs.high)
    if frames:
        rel = attempt(
            lambda: fit_reliability_many(
                frames, reverse=reverse, response_range=ranges_items, confidence=confidence
            )[0]
        )
        if rel is not None:
            keep = [
                c
                for c in (
                    "instrument",
                    "scale",
                    "wave",
                    "n_complete",
                    "n_items",
                    "alpha",
                    "alpha_ci_low",
                    "alpha_ci_high",
                    "omega_total",
                )
                if c in rel.columns
            ]
            tables["reliability"] = suppress_rows(
                rel[keep], full, n_columns=["n_complete"], value_columns=[c for c in keep[5:]]
            )
    if "change_summary" in raw:
        tables["change"] = protect_classes(raw["change_summary"], full)

    # comparison group
    if group_col:
        tables.update(comparison_tables(raw, ncount, full))
    if "attrition" in raw:
        att = raw["attrition"].copy()
        tables["attrition"] = suppress_rows(
            att, full, n_columns=["n_baseline"], count_columns=["n_completed"],
            value_columns=["attrition"], blocks=["instrument", "scale"],
        )  # fmt: skip

    # exploratory subgroups (the mentored students' own change in a comparison design)
    sub_wide = wide if not group_col else wide[wide[group_col].astype(str) == treated]
    tables["subgroups"] = subgroups(
        sub_wide, covariates, comp, is_primary, confidence, full, compare_pair
    )
    if "dose" in raw:
        tables["dose"] = suppress_rows(raw["dose"], full, n_columns=["n"])
    if "moderation" in raw and "n" in raw["moderation"].columns:
        tables["moderation"] = suppress_rows(raw["moderation"], full, n_columns=["n"])

    # data quality, then one release decision over every table
    tables.update(data_quality(data, study, pre, post, full))
    decided = release_tables(
        tables, study=release.study if release is not None else study.name, ledger=release,
        policy=policy, pre=pre, treated=treated, derived=DERIVED_COLUMNS,
        control=opts.group.control if group_col and opts.group else None,
    )  # fmt: skip
    tables = decided.tables
    notices.extend(decided.notices)

    # caveats (each stated once, listing its scales) and notes
    cav = raw.get("caveats", pd.DataFrame())
    if len(cav):
        cav = cav[cav["applies"].astype(bool)].reset_index(drop=True)
    withheld_scales = decided.withheld_scales
    tables["caveats"] = group_caveats(cav, meta_idx, tables, policy, withheld_scales)
    notes = raw.get("fit_notes", pd.DataFrame())
    tables["fit_notes"] = notes
    if design == "single_arm":
        notices.append(
            "Single-arm design: there is no comparison group, so the changes shown cannot be "
            "attributed to the programme. Students' wellbeing usually changes over an "
            "academic year anyway (maturation, the calendar), and extreme baseline scores "
            "drift back towards the average (regression to the mean)."
        )
    if merged_any:
        notices.append(
            "In the item charts, answer options were combined into lower / middle / upper "
            "groups so that no answer count rests on fewer than "
            f"{policy.threshold} students."
        )

    comparisons = tables["comparisons"]
    result_info = {
        "programme": cfg.programme,
        "cohort": cfg.cohort,
        "year": cfg.year,
        "pre": pre,
        "post": post,
        "primary": primary,
        "multiplicity": opts.multiplicity,
        "covariates": covariates,
        "group": (
            {"treated": opts.group.treated, "control": opts.group.control}
            if group_col and opts.group
            else None
        ),
        "key_fingerprint": (data.get("manifest") or {}).get("key_fingerprint"),  # type: ignore[call-overload]  # pandas-stubs: a cell or groupby key is typed as any scalar; here it is the column's str/float
    }
    ledger_withheld = bool(decided.withheld_scales)
    if (comparisons.empty or comparisons["suppressed"].all()) and not ledger_withheld:
        notices.insert(
            0 if not policy.warning else 1,
            f"Fewer than {policy.threshold} students answered both surveys on every outcome, "
            f"so every number that rests on them is suppressed (shown as "
            f"\u201c{policy.label}\u201d). The disclosure threshold protects individual "
            "students in a small cohort; pool this cohort with another, or wait for more "
            "responses, before reporting results.",
        )
    headline, controlled = cohort_findings(
        tables, comp, wide, meta_idx, is_primary, policy, group_col=group_col,
        treated=treated, design=design, alpha=1 - confidence,
    )  # fmt: skip
    result_info["headline_effect"] = "ancova" if group_col else "paired change"
    result_info["summary_caveats"] = summary_caveats(tables, design, result_info["group"])
    figures = draw_figures(
        tables, wide, meta_idx, study, pre, post, confidence, policy,
        group_col=group_col, treated=treated, controlled=controlled,
    )  # fmt: skip
    return CohortResults(
        study=study.name,
        title=cfg.title,
        design=design,
        policy=policy,
        confidence=confidence,
        tables=tables,
        headline=headline,
        notices=tuple(notices),
        figures=figures,
        info=result_info,
        ledger=None if release is None else ReleaseLedger(release.entries, release.hidden),
    )
