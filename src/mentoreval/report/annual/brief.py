"""The annual brief: the pooled primary outcomes, the design and the caveats on two pages.

Report stage (how it is said, briefly). :func:`annual_brief` fills a
:class:`~mentoreval.report.brief.Brief` from the annual analysis — the same pooled
estimates and judgements as the annual report's summary
(:func:`~mentoreval.report.annual.wording.pooled_judgement`) — and the template's last cell
calls :func:`write_annual_brief` to write ``brief.html|pdf|docx`` next to
``annual_report.*``, before the runner's egress scan reads them.
"""

from __future__ import annotations

import os
from pathlib import Path

from mentoreval.disclose.formatting import format_cell
from mentoreval.frames import iter_rows
from mentoreval.report.annual.figures import annual_figure_files, figure_alt_texts
from mentoreval.report.annual.results import AnnualAnalysis
from mentoreval.report.annual.tables import decimals, scale_info
from mentoreval.report.annual.wording import pooled_judgement
from mentoreval.report.brief import Brief, BriefFigure, fits_brief, write_brief
from mentoreval.report.wording import format_change

__all__ = ["annual_brief", "write_annual_brief"]

#: Below this many cohorts, between-cohort heterogeneity (τ², I²) is too imprecise to read.
FEW_COHORTS = 5


def _findings(analysis: AnnualAnalysis) -> tuple[tuple[str, str], ...]:
    cfg = analysis.config
    pooled = analysis["pooled"]
    primary = pooled[pooled["primary"].astype(bool)]
    out = []
    for r in iter_rows(primary):
        instrument, scale = str(r.instrument), str(r.scale)
        label = f"{scale_info(instrument, scale)[0]}, {r.programme}"
        if r.estimate != r.estimate:  # NaN: suppressed or not poolable
            out.append((label, "not reported (see the notes of the full report)."))
            continue
        change = format_change(r.estimate, r.ci_low, r.ci_high, confidence=cfg.confidence,
                               decimals=decimals(instrument, scale))  # fmt: skip
        judgement = pooled_judgement(analysis["outcomes"], str(r.programme), instrument, scale,
                                     r.estimate, r.ci_low, r.ci_high,
                                     p_adjusted=float(getattr(r, "p_adj", float("nan"))),
                                     alpha=1 - cfg.confidence)  # fmt: skip
        lower = "" if scale_info(instrument, scale)[1] is not False else "; lower is better"
        pairs = format_cell(r.n_pairs, kind="count", policy=cfg.policy)
        out.append((label, f"{judgement}: mean change {change} pooled over {r.k} cohorts "
                           f"({pairs} students with both surveys{lower})."))  # fmt: skip
    return tuple(out)


def annual_brief(analysis: AnnualAnalysis) -> Brief:
    """The brief of an annual report.

    Returns
    -------
    mentoreval.report.brief.Brief
        Title from the config; the cohorts and how they are combined in one sentence; one
        line per pooled primary outcome (judgement, change, CI, cohorts, students); the
        first primary outcome's forest plot when it fits two pages legibly (a dozen
        cohorts or so; with more, the design says the full report has them); the caveats
        (changes over time, few cohorts, the analysis' own notes).

    Examples
    --------
    >>> annual_brief(analysis).findings[0]  # doctest: +SKIP
    ('WHO-5: Wellbeing (0–100) (peer)', 'a small improvement, consistent with no change: …')
    """
    cfg = analysis.config
    cohorts = analysis["cohorts"]
    years = sorted({int(y) for y in cohorts["year"]})
    span = str(years[0]) if len(years) == 1 else f"{years[0]}–{years[-1]}"
    programmes = sorted({str(p) for p in cohorts["programme"]})
    k = len(cohorts)
    facts = f"Programme{'s' if len(programmes) > 1 else ''}: {', '.join(programmes)} · " \
            f"{k} cohort{'s' if k != 1 else ''} · {span}"  # fmt: skip
    design = (
        f"{k} cohort{'s' if k != 1 else ''} of mentored students ({span}), each surveyed "
        "before and after the programme; each outcome's change is pooled over the cohorts "
        "(random-effects meta-analysis)."
    )
    caveats = [(
        "Changes over time, not effects",
        "These are changes between two surveys of the same students, with no comparison "
        "group in this report: they include whatever changes over an academic year anyway.",
    )]  # fmt: skip
    if k < FEW_COHORTS:
        caveats.append((
            "Few cohorts",
            f"With {k} cohort{'s' if k != 1 else ''}, how much cohorts differ (τ², I²) is "
            "estimated imprecisely; the prediction interval in the full report shows the range "
            "a new cohort might fall in.",
        ))  # fmt: skip
    caveats += [("", str(note)) for note in analysis.notes]
    figure = None
    files = annual_figure_files(analysis, kinds=("forest_",))  # as the report showed it
    if "forest_01" in files and fits_brief(files["forest_01"]["png"]):
        figure = BriefFigure(
            png=files["forest_01"]["png"],
            alt=figure_alt_texts(analysis)["forest_01"],
            caption=f"Each cohort's mean change and the pooled change (diamond) with their "
            f"{cfg.confidence:.0%} CIs.",
        )
    elif "forest_01" in files:  # too many cohorts to show legibly in two pages
        design += " The full report's forest plots show each cohort's change."
    notices = (cfg.policy.warning,) if cfg.policy.warning else ()
    adjusted = analysis["pooled"]["primary"].astype(bool).sum() > 1
    intro = "Change between the two surveys, pooled over the cohorts" + (
        " (judged with p-values adjusted over the primary outcomes by Holm's method):"
        if adjusted
        else ":"
    )
    return Brief(
        title=analysis.title,
        facts=facts,
        design=design,
        findings_intro=intro,
        findings=_findings(analysis),
        caveats=tuple(caveats),
        full_report="annual_report",
        notices=notices,
        figure=figure,
    )


def write_annual_brief(
    analysis: AnnualAnalysis, out_dir: str | os.PathLike[str], *, pdf: bool = True
) -> None:
    """Write ``brief.html`` (+ ``.pdf``) and ``brief.docx`` into the annual report folder.

    Returns ``None`` so the template cell that calls it shows nothing.

    Examples
    --------
    >>> write_annual_brief(analysis, out_dir)  # doctest: +SKIP
    """
    write_brief(annual_brief(analysis), Path(out_dir), pdf=pdf)
