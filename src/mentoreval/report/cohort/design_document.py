"""The report sections of the unlinked and single-wave designs (outcomes and methods).

Report stage (how it is shown). :class:`~mentoreval.report.cohort.document.CohortReport`
calls these for ``design`` ``"unlinked"`` or ``"single_wave"``: no paired table, no
linkage; each instrument's scores at each wave, the design's comparison and, where a
minimal important difference exists, the equivalence test. :func:`show_waves` adds a
multi-wave study's trajectory, participation, model-based means and contrasts before the
paired comparison of its primary contrast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from mentoreval.report.cohort.figures import slug
from mentoreval.report.cohort.methods_text import bf_reading
from mentoreval.report.sections import ref_list

if TYPE_CHECKING:  # pragma: no cover
    from mentoreval.report.cohort.document import CohortReport

__all__ = ["DESIGNS", "METHODS_TEXT", "show_design_outcomes", "show_waves"]

#: The designs these sections show.
DESIGNS = ("unlinked", "single_wave")

METHODS_TEXT = (
    """\
**Independent samples.** Responses cannot be linked across waves (or there is one wave), so
no paired statistic is computed. Waves (or groups) are compared as independent samples:
Welch's t with its {conf} confidence interval (R's `t.test(var.equal = FALSE)`), Hedges'
g_s with a noncentral-t interval (`effectsize::hedges_g`) and the Mann–Whitney test with
the rank-biserial correlation (`wilcox.test`). With a comparison group and two waves, the
difference in change is the group × wave interaction of `lm(score ~ wave * group)` with
HC3 robust standard errors (`sandwich::vcovHC(type = "HC3")`). The people answering may
differ between waves: a difference can reflect who responded as well as change.

**Minimal important difference.** Where a scale has one (the instrument's published value,
or `analysis.mid`), two one-sided tests (TOST; Schuirmann 1987, Lakens 2017) test whether the
difference lies inside ±MID; it is called "smaller than the minimal important difference"
only when the whole {conf} interval lies inside ±MID.

**Multiplicity.** {method} adjustment of the Welch p-values across the scales.

"""
    + bf_reading(
        "two-sample t test",
        "the pooled standardised difference d_s and the two n",
        "difference",
        "As `ttestBF` does, it uses Student's pooled t, d_s / √(1/n₁ + 1/n₂), not the Welch "
        "t of the tables; the group × wave interaction has none.",
    )
    .replace("{", "{{")
    .replace("}", "}}")
    + """

**Disclosure control.** {disclosure}"""
)

_TABLES = (
    ("descriptives", ["scale", "wave", "group", "n", "mean", "sd", "ci_low", "ci_high"],
     {"mean": ("ci_low", "ci_high")}, "scores at each wave (all responses)"),
    ("unlinked", ["scale", "group", "n_pre", "n_post", "mean_pre", "mean_post", "mean_diff",
                  "ci_low", "ci_high", "df", "p_value", "p_adj", "g_s", "g_s_ci_low",
                  "g_s_ci_high", "mann_whitney_p", "rank_biserial", "bf10"],
     {"mean_diff": ("ci_low", "ci_high"), "g_s": ("g_s_ci_low", "g_s_ci_high")},
     "waves compared as independent samples (Welch t, Hedges' g_s, Mann–Whitney)"),
    ("interaction", ["scale", "n", "estimate", "ci_low", "ci_high", "df", "p_value"],
     {"estimate": ("ci_low", "ci_high")},
     "difference in change, mentored − comparison (group × wave, HC3)"),
    ("between_groups", ["scale", "wave", "n_treated", "n_control", "mean_diff", "ci_low",
                        "ci_high", "df", "p_value", "g_s", "g_s_ci_low", "g_s_ci_high",
                        "mann_whitney_p", "rank_biserial", "bf10"],
     {"mean_diff": ("ci_low", "ci_high"), "g_s": ("g_s_ci_low", "g_s_ci_high")},
     "mentored − comparison (Welch t, Hedges' g_s, Mann–Whitney)"),
    ("equivalence", ["scale", "group", "mid", "estimate", "ci_low", "ci_high", "p_tost",
                     "statement", "mid_source"], {"estimate": ("ci_low", "ci_high")},
     "equivalence test against the minimal important difference (TOST)"),
    ("wave_bands", ["scale", "wave", "band", "n", "prop"], None, "students per score band"),
)  # fmt: skip


def show_design_outcomes(report: CohortReport, instrument: str, title: str) -> bool:
    """One instrument's outcome figures and tables in an unlinked or single-wave design
    (``True``: nothing more to show); in a linked design, a multi-wave study's
    :func:`show_waves` (``False``: the paired comparison follows)."""
    if report.results["design"] not in DESIGNS:
        show_waves(report, instrument, title)
        _show_equivalence(report, instrument, title)
        return False
    scales = report.tables["scales"]
    labels = scales[scales["instrument"] == instrument].set_index("scale")["label"]
    lead_at = report._mark()
    figs = [
        report._figure(slug("waves", instrument, str(s)), f"{labels[s]}: scores at each wave")
        for s in labels.index
    ]
    said = [(ref_list(figs, "Figure"), "scores at each wave")]
    said += _show_tables(report, _TABLES, labels, instrument, title)
    parts = [f"{w} ({where})" for where, w in said if where]
    if slug("likert", instrument) in report.results["figures"]:
        parts.append("the answers to each item in the item answers appendix")
    if parts:
        text = ", ".join(parts)
        report._md(text[:1].upper() + text[1:] + ".", at=lead_at)
    return True


_WAVE_TABLES = (
    ("wave_participation", ["scale", "group", "wave", "n", "n_baseline", "retention",
                            "attrition"], None,
     "students with a score at each wave, those of them seen at baseline, and retention"),
    ("wave_means", ["scale", "group", "wave", "n", "estimate", "ci_low", "ci_high"],
     {"estimate": ("ci_low", "ci_high")}, "model-based means at each wave"),
    ("multiwave", ["scale", "family", "group", "contrast", "n", "estimate", "ci_low",
                   "ci_high", "df", "p_value", "p_adj"], {"estimate": ("ci_low", "ci_high")},
     "each wave against baseline (mixed model, Satterthwaite df, Holm-adjusted)"),
)  # fmt: skip


def _show_tables(
    report: CohortReport, specs: Any, labels: pd.Series, instrument: str, title: str
) -> list[tuple[str, str]]:
    """Each table of ``specs`` (name, columns, CI columns, what it shows) for one instrument,
    with its scales labelled; returns (its reference, what it shows) for the lead sentence."""
    said = []
    for name, columns, ci, what in specs:
        table = report.tables.get(name)
        if table is None or table.empty or "instrument" not in table:
            continue
        shown = table.assign(scale=[str(labels.get(s, s)) for s in table["scale"]])
        report.tables = {**report.tables, f"{name}_shown": shown}
        number = report._table(f"{name}_shown", columns=columns, ci=ci,
                               where={"instrument": instrument}, caption=f"{title}: {what}")  # fmt: skip
        said.append((ref_list([number], "Table"), what.split(" (")[0]))
    return said


def show_waves(report: CohortReport, instrument: str, title: str) -> None:
    """A multi-wave study's trajectory figures and tables for one instrument (nothing for
    a two-wave study), with a sentence saying how they were made and what is primary."""
    if "multiwave" not in report.tables and "wave_means" not in report.tables:
        return
    info = report.results.get("info") or {}
    scales = report.tables["scales"]
    labels = scales[scales["instrument"] == instrument].set_index("scale")["label"]
    lead_at = report._mark()
    figs = [
        report._figure(slug("trajectory", instrument, str(s)),
                       f"{labels[s]}: model-based mean at each wave with its "
                       f"{report.confidence:.0%} confidence interval")
        for s in labels.index
    ]  # fmt: skip
    said = [(ref_list(figs, "Figure"), "the trajectory over the waves")]
    said += _show_tables(report, _WAVE_TABLES, labels, instrument, title)
    parts = [f"{w} ({where})" for where, w in said if where]
    waves = info.get("waves") or []
    text = (
        f"{len(waves)} waves ({', '.join(waves)}). A mixed model with a random intercept per "
        "student and the wave as a factor uses every score a student gave; each later wave "
        "is compared with the first (Satterthwaite df, Holm adjustment within each group). "
        f"The primary result is the paired comparison of {info.get('post')} with "
        f"{info.get('pre')} below. Shown: " + "; ".join(parts) + "."
    )
    report._md(text, at=lead_at)
    lines = info.get("multiwave_summary") or []
    mine = [line for line in lines if line.startswith(tuple(str(x) for x in labels))]
    if mine:
        report._md("\n".join(f"- {line}" for line in mine))


def _show_equivalence(report: CohortReport, instrument: str, title: str) -> None:
    """A linked study's TOST of the paired change against the scale's MID, if any."""
    table = report.tables.get("equivalence")
    if table is None or table.empty or not (table["instrument"] == instrument).any():
        return
    scales = report.tables["scales"]
    labels = scales[scales["instrument"] == instrument].set_index("scale")["label"]
    shown = table.assign(scale=[str(labels.get(s, s)) for s in table["scale"]])
    report.tables = {**report.tables, "equivalence_shown": shown}
    lead_at = report._mark()
    number = report._table(
        "equivalence_shown", where={"instrument": instrument},
        columns=["scale", "group", "mid", "estimate", "ci_low", "ci_high", "p_tost", "verdict",
                 "mid_source"], ci={"estimate": ("ci_low", "ci_high")},
        caption=f"{title}: the paired change tested against the minimal important difference "
        "(TOST)",
    )  # fmt: skip
    report._md(
        f"{ref_list([number], 'Table')} tests the paired change against the minimal important "
        f"difference (two one-sided tests): a change is called smaller than it only when the "
        f"whole {report.confidence:.0%} interval lies inside ±MID.",
        at=lead_at,
    )
