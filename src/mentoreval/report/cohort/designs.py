"""The cohort report of every design: :func:`analyse_study` chooses the analysis a study's
design allows (:func:`mentoreval.config.design.study_design`).

Report stage (what is computed). Linked pre/post studies go to
:func:`~mentoreval.report.cohort.analysis.analyse_cohort` (paired statistics, ANCOVA).
Unlinked surveys (``participant_id: none``) and single-wave surveys go to
:func:`analyse_design`: waves compared as independent samples (Welch t, Hedges' g_s,
Mann–Whitney; with a group, the group × wave interaction with HC3 SEs), or one wave
described (by group, with the between-group comparison). No paired statistic is computed:
no pairs, no reliable change, no band shifts, no linkage table. Where a scale has a minimal
important difference (the instrument's published one, or ``analysis.mid``) the difference
is tested for equivalence (TOST) and the summary says when it is smaller than that.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pandas as pd

from mentoreval.config.design import Design, study_design
from mentoreval.config.disclosure import DisclosurePolicy
from mentoreval.disclose.ledger import ReleaseLedger
from mentoreval.errors import DataError, Problem
from mentoreval.frames import iter_rows
from mentoreval.report.cohort import design_tables as dt
from mentoreval.report.cohort.analysis import analyse_cohort
from mentoreval.report.cohort.bayes import with_bayes_factors
from mentoreval.report.cohort.design_wording import DESIGN_TEXT, difference_line
from mentoreval.report.cohort.inputs import instrument_meta, load_processed, scale_meta
from mentoreval.report.cohort.mid import mid_source_text
from mentoreval.report.cohort.publish import release_tables
from mentoreval.report.cohort.release import LEDGER_OFF, open_release, policy_for_study
from mentoreval.report.cohort.results import COMPARISON_TABLE_COLUMNS, CohortResults
from mentoreval.report.cohort.tables import data_quality, likert_counts

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from mentoreval.config.study import Study
    from mentoreval.ingest.pipeline import IngestResult

__all__ = ["analyse_design", "analyse_study", "scale_mids"]


def analyse_study(
    processed: IngestResult | str | os.PathLike[str],
    study_config: Study | str | os.PathLike[str],
    **options: Any,
) -> CohortResults:
    """The cohort analysis the study's design allows (see the module docstring); the
    options are :func:`~mentoreval.report.cohort.analysis.analyse_cohort`'s."""
    from mentoreval.config.study import load_study

    study = (
        load_study(Path(study_config))
        if isinstance(study_config, str | os.PathLike)
        else study_config
    )
    design = study_design(study.config)
    if design.paired:
        from mentoreval.report.cohort.mid import with_mid_verdicts
        from mentoreval.report.cohort.multiwave import analyse_multiwave

        res = (
            analyse_multiwave(processed, study, design, **options)
            if design.multiwave
            else analyse_cohort(processed, study, **options)
        )
        return with_bayes_factors(with_mid_verdicts(res, scale_mids(study)))
    keep = {k: v for k, v in options.items() if k in ("policy", "ledger", "use_ledger")}
    return with_bayes_factors(analyse_design(processed, study, design, **keep))


def scale_mids(study: Study) -> dict[tuple[str, str], tuple[float, str]]:
    """Each scale's minimal important difference and its source: ``analysis.mid`` (by
    ``instrument.scale``, then by instrument) over the instrument's published value."""
    out: dict[tuple[str, str], tuple[float, str]] = {}
    given = study.config.analysis.mid
    for inst_id, inst in study.instruments.items():
        for s in inst.scales:
            mine = given.get(f"{inst_id}.{s.id}", given.get(inst_id))
            if mine is not None:
                out[(inst_id, s.id)] = (float(mine), "analysis.mid in study.yaml")
            elif s.mcid is not None:
                source = mid_source_text(s.mcid_source or inst.citation or "")
                out[(inst_id, s.id)] = (float(s.mcid), source)
    return out


def _reliability(
    data: dict[str, Any], study: Study, waves: list[str], confidence: float
) -> pd.DataFrame | None:
    from mentoreval.report.cohort.caveats import attempt
    from mentoreval.report.cohort.inputs import wide_items
    from mentoreval.stats.reliability import fit_reliability_many

    frames, reverse, ranges = {}, {}, {}
    for inst_id, inst in study.instruments.items():
        for wave in waves:
            items = wide_items(data["responses"], inst_id, wave)
            for s in inst.scales if not items.empty else []:
                cols = [c for c in s.items if c in items.columns]
                if len(cols) >= 2:
                    frames[(inst_id, s.id, wave)] = items[cols]
                    reverse[(inst_id, s.id)] = [i for i in cols if inst.item(i).reverse]
        rs = next(iter(inst.response_scales.values()))
        ranges[inst_id] = (rs.low, rs.high)
    if not frames:
        return None
    rel = attempt(lambda: fit_reliability_many(frames, reverse=reverse, response_range=ranges,
                                               confidence=confidence)[0])  # fmt: skip
    keep = ["instrument", "scale", "wave", "n_complete", "n_items", "alpha", "alpha_ci_low",
            "alpha_ci_high", "omega_total"]  # fmt: skip
    return None if rel is None else rel[[c for c in keep if c in rel.columns]]


def _people(data: dict[str, Any], design: Design) -> tuple[pd.DataFrame, str | None]:
    """The responses' group (one row per response key), and the group column if analysed."""
    people = data["participants"].copy()
    people["participant_id"] = people["participant_id"].astype(str)
    g = design.group
    if g is None or "group" not in people.columns:
        return people[["participant_id"]], None
    levels = set(people["group"].dropna().astype(str))
    if not {g.treated, g.control} <= levels:
        return people[["participant_id"]], None
    people = people[people["group"].astype(str).isin([g.treated, g.control])]
    return people[["participant_id", "group"]].assign(
        group=lambda d: d["group"].astype(str)
    ), "group"


def _tables(scores: pd.DataFrame, data: dict[str, Any], study: Study, design: Design,
            waves: list[str], group: str | None, policy: DisclosurePolicy,
            confidence: float, items: DisclosurePolicy) -> dict[str, pd.DataFrame]:  # fmt: skip
    """Every table of the design, built in full; only the item charts merge answer options
    as they are built (under the release's policy ``items``), as the linked report's do."""
    g = design.group
    treated, control = (g.treated, g.control) if g else ("mentored", "")
    meta = scale_meta(study)
    tables = {**dt.participation(data, study, waves), "scales": meta,
              "instruments": instrument_meta(study),
              "descriptives": dt.descriptives(scores, group, confidence)}  # fmt: skip
    tables["comparisons"] = pd.DataFrame(columns=COMPARISON_TABLE_COLUMNS)  # no pairs
    if len(waves) == 2:
        pre, post = waves
        adjust = study.config.analysis.multiplicity
        tables["unlinked"] = dt.unlinked_comparisons(
            scores, pre, post, group, [treated, control], confidence, adjust
        )
        if group:
            tables["interaction"] = dt.interaction(scores, pre, post, group, treated, confidence)
    elif group:
        tables["between_groups"] = dt.between_groups(scores, group, treated, control, confidence)
    order = {(r.instrument, r.scale): [b.strip() for b in r.bands.split(";")]
             for r in iter_rows(meta) if r.bands}  # fmt: skip
    tables["wave_bands"] = dt.wave_bands(scores, order)
    likert = [
        likert_counts(data["responses"], study, i, waves, items)[0] for i in study.instruments
    ]
    if any(len(x) for x in likert):
        tables["likert"] = pd.concat([x for x in likert if len(x)], ignore_index=True)
    rel = _reliability(data, study, waves, confidence)
    if rel is not None:
        tables["reliability"] = rel
    tables.update(data_quality(data, study, waves[0], waves[-1], policy))
    return {k: v for k, v in tables.items() if v is not None}


def analyse_design(
    processed: IngestResult | str | os.PathLike[str],
    study: Study,
    design: Design,
    *,
    policy: DisclosurePolicy | None = None,
    ledger: ReleaseLedger | None = None,
    use_ledger: bool = True,
) -> CohortResults:
    """The cohort report of an unlinked or single-wave study (see the module docstring).

    Returns
    -------
    CohortResults
        ``design`` is ``"unlinked"`` or ``"single_wave"``; ``comparisons`` is empty (no
        pairs); the outcome tables are ``descriptives``, ``unlinked`` (and
        ``interaction``) or ``between_groups``, ``equivalence``, ``wave_bands``.

    Raises
    ------
    DataError
        When no wave of the design has a score.
    """
    cfg = study.config
    policy = policy or policy_for_study(study)
    confidence = float(cfg.analysis.confidence)
    data = load_processed(processed)
    scores = data["scores"].copy()
    for c in ("participant_id", "wave", "instrument", "scale"):
        scores[c] = scores[c].astype(str)
    waves = [w for w in design.waves if (scores["wave"] == w).any()]
    if not waves:
        raise DataError(f"{study.path}: no scores at the design's waves {list(design.waves)}",
                        (Problem("no scores", file=str(study.path), key="analysis.waves",
                                 fix="name the waves the sources give"),))  # fmt: skip
    people, group = _people(data, design)
    scores = scores[scores["wave"].isin(waves)].merge(people, on="participant_id")
    notices = [policy.warning] if policy.warning else []
    release = open_release(study, ledger, use_ledger=use_ledger, policy=policy)
    if release is None:
        notices.append(LEDGER_OFF)
    full = DisclosurePolicy(profile="off") if policy.active else policy
    tables = _tables(scores, data, study, design, waves, group, full, confidence, policy)
    g = design.group if group else None
    decided = release_tables(
        tables, study=release.study if release is not None else study.name, ledger=release,
        policy=policy, pre=waves[0], treated=g.treated if g else "mentored",
        control=g.control if g else None, derived={},
    )  # fmt: skip
    tables = decided.tables
    kind = "single_wave" if len(waves) == 1 else "unlinked"
    equivalence = _equivalence(tables, study, confidence)
    if equivalence is not None:
        tables["equivalence"] = equivalence
    notices = [DESIGN_TEXT[kind], *notices, *decided.notices]
    tables["caveats"] = _caveats(kind, group is not None)
    info = {
        "programme": cfg.programme, "cohort": cfg.cohort, "year": cfg.year,
        "pre": waves[0], "post": waves[-1], "waves": waves,
        "design_text": DESIGN_TEXT[kind], "design_sentence": design.describe(),
        "group": {"treated": g.treated, "control": g.control} if g else None,
        "summary": _summary(tables, kind, group is not None, confidence),
        "multiplicity": cfg.analysis.multiplicity,
        "key_fingerprint": (data.get("manifest") or {}).get("key_fingerprint"),  # type: ignore[call-overload]  # a dict
    }  # fmt: skip
    return CohortResults(
        study=study.name, title=cfg.title, design=kind, policy=policy, confidence=confidence,
        tables=tables, headline=(), notices=tuple(notices),
        figures=_figures(tables, scores, study, waves, group, confidence, policy), info=info,
        ledger=None if release is None else ReleaseLedger(release.entries, release.hidden),
    )  # fmt: skip


def _equivalence(
    released: dict[str, pd.DataFrame], study: Study, confidence: float
) -> pd.DataFrame | None:
    """TOST against ±MID for the design's main comparison, computed from the *released*
    table: a row whose estimate or SE the release withheld (a small arm) gets no test, so
    the equivalence table cannot show what the release hid."""
    mids = scale_mids(study)
    main = next((n for n in ("interaction", "unlinked", "between_groups") if n in released), None)
    if not mids or main is None or released[main].empty:
        return None
    alpha = (1 - confidence) / 2  # the TOST interval is the report's CI
    tested = dt.equivalence(released[main], mids, alpha)
    return tested if len(tested) else None


def _caveats(kind: str, grouped: bool) -> pd.DataFrame:
    rows = [("design", "Unlinked waves" if kind == "unlinked" else "One wave", "", "high",
             DESIGN_TEXT[kind])]  # fmt: skip
    if grouped:
        rows.append(("selection", "Groups not randomised", "", "high",
                     "Students chose (or were chosen for) mentoring, so the groups may differ "
                     "in ways the survey does not measure."))  # fmt: skip
    return pd.DataFrame(rows, columns=["caveat", "title", "scales", "severity", "detail"])


def _summary(
    tables: dict[str, pd.DataFrame], kind: str, grouped: bool, confidence: float
) -> list[str]:
    """One plain-language line per scale of the design's main comparison."""
    meta = tables["scales"].set_index(["instrument", "scale"])
    eq = tables.get("equivalence", pd.DataFrame(columns=["instrument", "scale", "mid"]))
    mids = {(r.instrument, r.scale): float(r.mid) for r in iter_rows(eq)}
    name, what, who = (
        ("interaction", "difference", "difference in change, mentored − comparison")
        if kind == "unlinked" and grouped
        else ("unlinked", "change", "later − earlier wave, all responses")
        if kind == "unlinked"
        else ("between_groups", "difference", "mentored − comparison")
    )
    lines = []
    for r in tables.get(name, pd.DataFrame()).to_dict("records"):
        key = (str(r["instrument"]), str(r["scale"]))
        if key not in meta.index:
            continue
        lines.append(difference_line(
            str(meta.at[key, "label"]), {str(k): v for k, v in r.items()}, what=what, who=who, mid=mids.get(key),
            higher_is_better=bool(meta.at[key, "higher_is_better"]), confidence=confidence))  # fmt: skip
    return lines


def _figures(tables: dict[str, pd.DataFrame], scores: pd.DataFrame, study: Study,
             waves: list[str], group: str | None, confidence: float,
             policy: DisclosurePolicy) -> dict[str, Figure]:  # fmt: skip
    """Scores at each wave (all responses; per arm with a group) and the item charts."""
    from mentoreval.report.cohort.figures import slug
    from mentoreval.report.figures.charts import plot_likert_diverging, plot_prepost

    figs: dict[str, Figure] = {}
    meta = tables["scales"].set_index(["instrument", "scale"])
    desc = tables["descriptives"]
    for (inst, scale), s in scores.dropna(subset=["score"]).groupby(["instrument", "scale"]):
        m = cast(pd.Series, meta.loc[(str(inst), str(scale))])  # one row per scale
        cells = s["wave"] + (" · " + s[group] if group else "")
        order = [w + (f" · {a}" if group else "") for w in waves
                 for a in (sorted(s[group].unique()) if group else [""])]  # fmt: skip
        d = desc[(desc["instrument"] == inst) & (desc["scale"] == scale) & desc["n"].isna()]
        hidden = [
            w + (f" · {a}" if group else "") for w, a in zip(d["wave"], d["group"], strict=True)
        ]
        figs[slug("waves", str(inst), str(scale))] = plot_prepost(
            pd.DataFrame({"wave": cells, "score": s["score"]}), order=order,
            labels={o: o.replace(" · ", "\n") for o in order}, title=str(m["label"]),
            ylabel="Score", limits=(float(m["range_low"]), float(m["range_high"])),
            confidence=confidence, policy=policy, hidden_n=hidden,
        )  # fmt: skip
    for inst, g in tables.get("likert", pd.DataFrame(columns=["instrument"])).groupby(
        "instrument", sort=False
    ):
        g = g.assign(row=g["item_label"].astype(str) + " (" + g["wave"].astype(str) + ")")
        counts = g.pivot_table(index="row", columns="level_order", values="n", aggfunc="first",
                               dropna=False, sort=False)  # fmt: skip
        counts.columns = (
            g.drop_duplicates("level_order").sort_values("level_order")["level"].tolist()
        )
        counts.index.name = None
        figs[slug("likert", str(inst))] = plot_likert_diverging(
            counts, title=study.instruments[str(inst)].title, sort=False, policy=policy
        )
    return figs
