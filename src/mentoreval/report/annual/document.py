"""The notebook-facing annual report: numbered tables and figures, one section a call.

Report stage (how it is shown). The template (``notebooks/templates/annual_report.ipynb``)
calls :func:`open_annual_report` on the analysis and then one ``show_*`` method per
section. Each section opens with a sentence naming its numbered tables and figures, then
shows them: tables through :func:`~mentoreval.report.annual.tables.annual_table_html`,
figures as :func:`~mentoreval.report.layout.figure_html` with the alternative text of
:func:`~mentoreval.report.annual.figures.figure_alt_texts`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mentoreval.report.annual.figures import (
    figure_alt_texts,
    forest_figure_files,
    plot_annual_participation,
    plot_annual_trends,
)
from mentoreval.report.annual.results import AnnualAnalysis
from mentoreval.report.annual.tables import annual_table_html
from mentoreval.report.layout import Numbering, figure_html, figures_html, refs, table_caption

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["AnnualReport", "open_annual_report"]


class AnnualReport:
    """One annual analysis, shown section by section with numbered tables and figures.

    Build it with :func:`open_annual_report`; each ``show_*`` method displays HTML and
    returns ``None``.
    """

    def __init__(self, analysis: AnnualAnalysis):
        self.analysis = analysis
        self.numbers = Numbering()
        self.alt = figure_alt_texts(analysis)
        self.table_numbers: dict[str, int] = {}

    def _show(self, lead: str, blocks: list[str]) -> None:
        from IPython.display import HTML, Markdown, display

        if lead:
            display(Markdown(lead))
        for block in blocks:
            display(HTML(block))

    def _table(self, name: str, caption: str, blocks: list[str]) -> int | None:
        if self.analysis.tables[name].empty:
            blocks.append(annual_table_html(self.analysis, name, caption=caption))
            return None
        number = self.numbers.table()
        self.table_numbers[name] = number
        blocks.append(
            annual_table_html(self.analysis, name, caption=table_caption(number, caption))
        )
        return number

    def _figures(
        self, figures: list[tuple[str, Figure]], caption: str, blocks: list[str]
    ) -> list[int]:
        import matplotlib.pyplot as plt

        from mentoreval.report.figures.saving import figure_files

        titles = {}
        for name, fig in figures:
            titles[name] = fig.axes[0].get_title(loc="left") if fig.axes else ""
            # the PNG and SVG written with the report's files later (write_annual_outputs)
            if name not in self.analysis.drawn:
                self.analysis.drawn[name] = figure_files(fig)
            plt.close(fig)
        return self._drawn(titles, caption, blocks)

    def _drawn(self, titles: dict[str, str], caption: str, blocks: list[str]) -> list[int]:
        """Numbered figures of what :attr:`AnnualAnalysis.drawn` holds, by name, each
        captioned with its title and ``caption``."""
        shown, numbers = [], []
        for name, title in titles.items():
            number = self.numbers.figure()
            text = f"{title}: {caption}" if title else caption
            shown.append(figure_html(self.analysis.drawn[name]["png"], number=number,
                                     alt=self.alt[name], caption=text))  # fmt: skip
            numbers.append(number)
        if shown:
            blocks.append(figures_html(shown))
        return numbers

    def show_title(self) -> None:
        """The report's heading: the config's title naming the programmes and years
        (:attr:`~mentoreval.report.annual.results.AnnualAnalysis.title`)."""
        import html

        self._show("", [f"<h1>{html.escape(self.analysis.title)}</h1>"])

    def show_participation(self) -> None:
        """Participation per cohort (table) and retention by cohort year (figure)."""
        blocks: list[str] = []
        table = self._table("participation", "Participation per cohort (mentored students)",
                            blocks)  # fmt: skip
        part = self.analysis["participation"]
        drawable = "retention_pct" in part.columns and part["retention_pct"].notna().sum() >= 2
        # a line needs two shown years; an empty chart is replaced by a sentence (issue 16)
        figure = self._figures(
            [("participation", plot_annual_participation(self.analysis))] if drawable else [],
            "linked pairs as a share of pre responses",
            blocks,
        )
        said = [f"{refs('Table', [table])} counts the students per cohort" if table else "",
                f"{refs('Figure', figure)} shows the retention by cohort year" if figure
                else "retention by cohort year is not drawn: fewer than two cohorts' linked "
                "pairs can be shown without revealing a small group"]  # fmt: skip
        text = "; ".join(s for s in said if s)
        self._show(text[:1].upper() + text[1:] + ".", blocks)

    def show_outcomes(self) -> None:
        """Each cohort's paired change."""
        blocks: list[str] = []
        table = self._table(
            "outcomes", "Change from the first to the second survey, per cohort", blocks
        )
        self._show(f"{refs('Table', [table])} gives each cohort's change." if table else "",
                   blocks)  # fmt: skip

    def show_pooled(self) -> None:
        """Random-effects pooled change (table) and a forest plot per primary outcome."""
        blocks: list[str] = []
        table = self._table("pooled", "Pooled change over cohorts (random effects)", blocks)
        figures = self._drawn(
            forest_figure_files(self.analysis),  # drawn on two cores when one is free
            "each cohort's mean change and the pooled change (diamond) with their "
            f"{self.analysis.config.confidence:.0%} CIs",
            blocks,
        )
        said = [f"{refs('Table', [table])} gives the pooled estimates" if table else "",
                f"{refs('Figure', figures)} show{'s' if len(figures) == 1 else ''} each "
                "primary outcome cohort by cohort" if figures else ""]  # fmt: skip
        self._show("; ".join(s for s in said if s) + "." if any(said) else "", blocks)

    def show_trends(self) -> None:
        """Trend charts and the instruments without a trend; the year-by-year means are
        those of the per-cohort table (shown once, in :meth:`show_outcomes`, and named here
        by its number)."""
        blocks: list[str] = []
        excluded = self._table("trend_exclusions", "Instruments without a trend, and why", blocks)
        trends = plot_annual_trends(self.analysis)
        figures = self._figures(
            [(f"trend_{i + 1:02d}", fig) for i, fig in enumerate(trends)],
            "mean score at the first and second survey by year",
            blocks,
        )
        outcomes = self.table_numbers.get("outcomes")
        said = [f"the mean scores by year are those of {refs('Table', [outcomes])}"
                if outcomes and not self.analysis.tables["trends"].empty else "",
                f"{refs('Table', [excluded])} lists the instruments without a trend"
                if excluded else "",
                f"{refs('Figure', figures)} draw{'s' if len(figures) == 1 else ''} the "
                "primary outcomes by year" if figures else ""]  # fmt: skip
        lead = "; ".join(s for s in said if s)
        self._show(lead[:1].upper() + lead[1:] + "." if lead else "", blocks)

    def show_dose(self) -> None:
        """Change by thirds of dose and the dose–response slope (exploratory)."""
        blocks: list[str] = []
        thirds = self._table("dose", "Change by thirds of dose (exploratory)", blocks)
        slope = self._table(
            "dose_models", "Dose–response slope, adjusted for baseline (exploratory)", blocks
        )
        said = [f"{refs('Table', [thirds])} by thirds of dose" if thirds else "",
                f"{refs('Table', [slope])} the slope per unit of dose" if slope else ""]  # fmt: skip
        lead = "Change " + " and ".join(s for s in said if s) + "." if any(said) else ""
        self._show(lead, blocks)

    def show_mentor_type(self) -> None:
        """Change by mentor type and mentoring team (exploratory)."""
        blocks: list[str] = []
        table = self._table(
            "mentor_type", "Change by mentor type and mentoring team (exploratory)", blocks
        )
        self._show(f"{refs('Table', [table])} breaks the change down by mentor type." if table
                   else "", blocks)  # fmt: skip


def open_annual_report(analysis: AnnualAnalysis) -> AnnualReport:
    """The annual analysis, ready to be shown section by section.

    Examples
    --------
    >>> report = open_annual_report(annual.analyse_annual("annual.yaml"))  # doctest: +SKIP
    >>> report.show_pooled()  # doctest: +SKIP
    """
    return AnnualReport(analysis)
