"""The annual report's figures: participation, forest plots per outcome, trends.

Report stage (how it is drawn), from the disclosure-controlled tables only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from mentoreval.frames import iter_rows
from mentoreval.report.annual.results import AnnualAnalysis
from mentoreval.report.annual.tables import scale_info

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["forest_figures", "plot_annual_participation", "plot_annual_trends"]


def plot_annual_participation(analysis: AnnualAnalysis) -> Figure:
    """Retention (%) per cohort year, one line per programme (suppressed points omitted).

    Examples
    --------
    >>> fig = plot_annual_participation(analysis)  # doctest: +SKIP
    """
    from mentoreval.report.figures.base import OKABE_ITO, new_figure, report_rc

    part = analysis["participation"]
    fig, ax = new_figure(6.0, 3.2)
    with report_rc():
        for i, (programme, g) in enumerate(part.groupby("programme", sort=True)):
            g = g.sort_values("year")
            colour = OKABE_ITO[i % len(OKABE_ITO)]
            ax.plot(g["year"], g["retention_pct"], marker="o", color=colour, label=programme)
            for r in iter_rows(g):
                if pd.notna(r.retention_pct):
                    ax.annotate(f"{r.retention_pct:.0f}%", (r.year, r.retention_pct),
                                textcoords="offset points", xytext=(0, 6), ha="center",
                                fontsize=8, color=colour)  # fmt: skip
        ax.set_xticks(sorted({int(y) for y in part["year"]}))
        ax.set_ylim(0, 105)
        ax.set_ylabel("Retention: linked pairs / pre responses (%)")
        ax.set_title("Participation and retention by cohort", loc="left")
        ax.legend(frameon=False, loc="lower left")
    return fig


def forest_figures(analysis: AnnualAnalysis, *, primary_only: bool = True) -> list[Figure]:
    """One forest plot per programme × outcome (primary outcomes by default).

    Examples
    --------
    >>> display(*forest_figures(analysis))  # doctest: +SKIP
    """
    from mentoreval.report.figures.charts import plot_change_forest

    forest = analysis["forest"]
    wanted = set(analysis.primary)
    figures = []
    for (programme, instrument, scale), g in forest.groupby(
        ["programme", "instrument", "scale"], sort=False
    ):
        if primary_only and wanted and (str(instrument), str(scale)) not in wanted:
            continue
        cohort_rows = g[g["row"] == "cohort"]
        pooled_row = g[g["row"] == "pooled"]
        pooled = None
        if len(pooled_row) and pd.notna(pooled_row["estimate"].iloc[0]):
            p = pooled_row.iloc[0]
            pooled = {"estimate": p["estimate"], "ci_low": p["ci_low"], "ci_high": p["ci_high"]}
        figures.append(
            plot_change_forest(
                cohort_rows,
                label="label",
                estimate="estimate",
                pooled=pooled,
                title=f"{scale_info(str(instrument), str(scale))[0]} — {programme}",
                xlabel=f"Mean change (post − pre) with {analysis.config.confidence:.0%} CI",
                policy=analysis.config.policy,
            )
        )
    return figures


def plot_annual_trends(analysis: AnnualAnalysis) -> list[Figure]:
    """Mean pre and post score by year per primary outcome (unchanged instruments only)."""
    from mentoreval.report.figures.base import OKABE_ITO, new_figure, report_rc

    trends = analysis["trends"]
    wanted = set(analysis.primary)
    figures = []
    for (programme, instrument, scale), g in trends.groupby(
        ["programme", "instrument", "scale"], sort=True
    ):
        if wanted and (str(instrument), str(scale)) not in wanted:
            continue
        g = g.sort_values("year")
        fig, ax = new_figure(6.0, 3.0)
        with report_rc():
            for colour, column, name in (
                (OKABE_ITO[0], "mean_pre", "pre"),
                (OKABE_ITO[1], "mean_post", "post"),
            ):
                ax.plot(g["year"], g[column], marker="o", color=colour, label=name)
            ax.set_xticks(sorted({int(y) for y in g["year"]}))
            ax.set_ylabel("Mean score")
            ax.set_title(
                f"{scale_info(str(instrument), str(scale))[0]} by year — {programme}", loc="left"
            )
            ax.legend(frameon=False)
        figures.append(fig)
    return figures
