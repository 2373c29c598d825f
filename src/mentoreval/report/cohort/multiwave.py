"""The cohort report of a linked study with more than two waves.

Report stage (what is computed). :func:`analyse_multiwave` runs the paired report
(:func:`~mentoreval.report.cohort.analysis.analyse_cohort`) on the two waves of the primary
contrast (``analysis.contrast``, default last vs first: ``pre``/``post`` follow it), so the
headline is the paired comparison of those waves, and adds, per scale, the multi-wave
random-intercept model (:func:`~mentoreval.stats.multiwave.fit_multiwave`):

- ``wave_participation``: students with a score at each wave (per arm), those of them also
  seen at baseline, and the retention (attrition is one minus it);
- ``wave_means``: model-based means per wave (and arm) with their CIs;
- ``multiwave``: each wave against baseline (per arm; with a group, the difference in
  change too), Satterthwaite df, Holm-adjusted within each family and arm.

These tables go through the same release decision as every other table (registered in
:mod:`~mentoreval.report.cohort.design_registry`); the trajectory figure is drawn from the
released ``wave_means``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

import pandas as pd

from mentoreval.config.design import Design
from mentoreval.errors import DataError
from mentoreval.report.cohort.analysis import analyse_cohort
from mentoreval.report.cohort.inputs import load_processed
from mentoreval.report.cohort.results import CohortResults
from mentoreval.stats.multiwave import MultiWave, fit_multiwave

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from mentoreval.config.study import Study
    from mentoreval.ingest.pipeline import IngestResult

__all__ = ["analyse_multiwave", "multiwave_lines", "multiwave_tables"]

_KEYS = ["instrument", "scale"]


def _long_scores(data: Mapping[str, pd.DataFrame], design: Design) -> tuple[pd.DataFrame, bool]:
    """The scores at the design's waves with each student's arm (when there is a group)."""
    scores = data["scores"].copy()
    for c in ("participant_id", "wave", "instrument", "scale"):
        scores[c] = scores[c].astype(str)
    scores = scores[scores["wave"].isin(design.waves)].dropna(subset=["score"])
    people = data["participants"].copy()
    people["participant_id"] = people["participant_id"].astype(str)
    g = design.group
    if g is None or "group" not in people.columns:
        return scores, False
    people = people[people["group"].astype(str).isin([g.treated, g.control])]
    arms = people[["participant_id", "group"]].assign(group=lambda d: d["group"].astype(str))
    return scores.merge(arms, on="participant_id"), True


def _scale_tables(fit: MultiWave, contrast: tuple[str, str]) -> dict[str, pd.DataFrame]:
    """The three tables of one scale's fit (without the instrument and scale columns)."""
    part = fit.participation.copy()
    first = part[part["wave"] == part["wave"].iloc[0]].set_index("group")["n"]
    part["n_first"] = part["group"].map(first)
    part["attrition"] = 1 - part["retention"]
    both = {(str(w), str(g)): float(v) for w, g, v in
            zip(part["wave"], part["group"], part["n_baseline"], strict=True)}  # fmt: skip
    means = fit.means.merge(part[["wave", "group", "n"]], on=["wave", "group"], how="left")
    tests = fit.contrasts.copy()
    tests["n"] = [  # an arm's students at the wave and baseline; both arms' for a difference
        both.get((w, g), sum(v for (w2, _), v in both.items() if w2 == w))
        for w, g in zip(tests["wave"].astype(str), tests["group"].astype(str), strict=True)
    ]
    tests["primary"] = tests["primary"] & (contrast[0] == str(fit.info["baseline"].iloc[0]))
    return {
        "wave_participation": part[["wave", "group", "n", "n_baseline", "n_first", "retention",
                                    "attrition"]],
        "wave_means": means[["wave", "group", "n", "estimate", "se", "df", "ci_low", "ci_high"]],
        "multiwave": tests[["family", "group", "contrast", "wave", "n", "estimate", "se", "df",
                            "t", "p_value", "p_adj", "p_adjust", "ci_low", "ci_high", "primary"]],
    }  # fmt: skip


def multiwave_tables(
    data: Mapping[str, pd.DataFrame], design: Design, *, confidence: float = 0.95
) -> dict[str, pd.DataFrame]:
    """``wave_participation``, ``wave_means`` and ``multiwave`` of every scale, in full
    (before the release); a scale whose model cannot be fitted is left out."""
    scores, grouped = _long_scores(data, design)
    waves = [w for w in design.waves if (scores["wave"] == w).any()]
    later = design.primary[1] if design.primary[0] == waves[0] else None
    g = design.group
    parts: dict[str, list[pd.DataFrame]] = {}
    for (inst, scale), d in scores.groupby(_KEYS, sort=False):
        try:
            fit = fit_multiwave(
                d, waves=waves, group="group" if grouped else None,
                treated=g.treated if g else "mentored", primary=later, confidence=confidence,
            )  # fmt: skip
        except (DataError, ValueError, ArithmeticError):
            continue
        first = {g.treated if g else "": 0, g.control if g else "": 1}
        for name, t in _scale_tables(fit, design.primary).items():
            t = t.sort_values("group", key=lambda s: s.map(first).fillna(2), kind="stable")
            parts.setdefault(name, []).append(t.assign(instrument=str(inst), scale=str(scale)))
    return {
        name: pd.concat(frames, ignore_index=True)[
            [*_KEYS, *[c for c in frames[0].columns if c not in _KEYS]]
        ]
        for name, frames in parts.items()
    }


def multiwave_lines(
    tables: Mapping[str, pd.DataFrame], labels: Mapping[tuple[str, str], str], confidence: float
) -> list[str]:
    """One plain-language sentence per scale and arm: the model-based change from baseline
    at each later wave, with its interval and the adjusted p-value.

    Examples
    --------
    >>> t = pd.DataFrame({"instrument": ["who5"] * 2, "scale": ["total"] * 2,
    ...     "family": ["change from baseline"] * 2, "group": ["", ""],
    ...     "contrast": ["mid - pre", "post - pre"], "wave": ["mid", "post"],
    ...     "estimate": [1.2, 6.4], "ci_low": [-1.5, 3.1], "ci_high": [3.9, 9.7],
    ...     "p_adj": [0.38, 0.0004]})
    >>> multiwave_lines({"multiwave": t}, {("who5", "total"): "WHO-5"}, 0.95)[0]
    'WHO-5: change from pre (model-based) at mid +1.2 points (95% CI −1.5 to 3.9; Holm-adjusted p = 0.38), post +6.4 points (95% CI 3.1 to 9.7; Holm-adjusted p < 0.001).'
    """
    from mentoreval.report.alttext import number

    t = tables.get("multiwave")
    if t is None or t.empty:
        return []
    lines = []
    change = t[t["family"] == "change from baseline"]
    for (inst, scale, arm), rows in change.groupby([*_KEYS, "group"], sort=False):
        base = str(rows["contrast"].iloc[0]).split(" - ")[-1]
        said = []
        for r in rows.to_dict("records"):
            if pd.isna(r["estimate"]):
                said.append(f"{r['wave']} not shown (withheld to protect small groups)")
                continue
            p = float(r["p_adj"])
            ptext = "p < 0.001" if p < 0.001 else f"p = {p:.2g}"
            said.append(
                f"{r['wave']} {number(r['estimate'], signed=True)} points ({confidence:.0%} CI "
                f"{number(r['ci_low'])} to {number(r['ci_high'])}; Holm-adjusted {ptext})"
            )
        who = f", {arm} students" if arm else ""
        label = labels.get((str(inst), str(scale)), f"{inst} {scale}")
        lines.append(f"{label}{who}: change from {base} (model-based) at {', '.join(said)}.")
    return lines


def _trajectories(
    tables: Mapping[str, pd.DataFrame], waves: list[str], policy: Any
) -> dict[str, Figure]:
    from mentoreval.report.cohort.figures import slug
    from mentoreval.report.figures.trajectory import plot_trajectory

    means = tables.get("wave_means")
    if means is None:
        return {}
    meta = tables["scales"].set_index(_KEYS)
    figs: dict[str, Figure] = {}
    for (inst, scale), rows in means.groupby(_KEYS, sort=False):
        m = cast(pd.Series, meta.loc[(str(inst), str(scale))])  # one row per scale
        figs[slug("trajectory", str(inst), str(scale))] = plot_trajectory(
            rows, waves=waves, title=str(m["label"]), ylabel="Score (model-based mean)",
            limits=(float(m["range_low"]), float(m["range_high"])), policy=policy,
        )  # fmt: skip
    return figs


def analyse_multiwave(
    processed: IngestResult | str | os.PathLike[str],
    study: Study,
    design: Design,
    **options: Any,
) -> CohortResults:
    """The cohort report of a linked multi-wave study (see the module docstring); the
    options are :func:`~mentoreval.report.cohort.analysis.analyse_cohort`'s.

    Returns
    -------
    CohortResults
        As the paired report of the primary contrast's waves, with ``wave_participation``,
        ``wave_means`` and ``multiwave`` tables, a trajectory figure per scale and
        ``info["waves"]``, ``info["design_sentence"]``, ``info["multiwave_summary"]``.
    """
    confidence = float(study.config.analysis.confidence)
    extra = multiwave_tables(load_processed(processed), design, confidence=confidence)
    res = analyse_cohort(processed, study, extra_tables=extra, **options)
    waves = list(design.waves)
    labels = {
        (str(r["instrument"]), str(r["scale"])): str(r["label"])
        for r in res.tables["scales"].to_dict("records")
    }
    n = len(waves)
    arms = "comparison group" if res.info.get("group") else "single group"
    first, last = design.primary
    info = {
        **res.info,
        "waves": waves,
        "design_sentence": design.describe(),
        "design_words": f"{n} waves, linked by id, {arms} (primary contrast: {last} vs {first})",
        "multiwave_summary": multiwave_lines(res.tables, labels, confidence),
    }
    figures = {**res.figures, **_trajectories(res.tables, waves, res.policy)}
    return dataclasses.replace(res, info=info, figures=figures)
