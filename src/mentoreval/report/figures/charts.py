"""Report figures: colour-blind-safe, directly labelled, and never showing individuals.

Report stage. Every function draws from aggregated or person-level data but publishes
only summaries: no individual points or lines, no minima, maxima or outliers. Box
whiskers and violins stop at percentiles (5th–95th by default); a group below the
disclosure threshold is not drawn but labelled "[c]". Figures are built on
:class:`matplotlib.figure.Figure` directly (not pyplot), so notebooks show each exactly
once (end the cell with the figure or ``display(fig)``; a ``;`` hides it) and nothing
needs closing.

:func:`save_figure` writes PNG and SVG byte-for-byte reproducibly (fixed
``svg.hashsalt``, no dates in the metadata).
"""

from __future__ import annotations

from mentoreval.report.figures.bands import plot_bands
from mentoreval.report.figures.base import OKABE_ITO, ReportFigure, style
from mentoreval.report.figures.consort import plot_consort
from mentoreval.report.figures.forest import plot_change_forest
from mentoreval.report.figures.likert import plot_likert_diverging
from mentoreval.report.figures.prepost import plot_prepost
from mentoreval.report.figures.saving import save_figure

__all__ = [
    "OKABE_ITO",
    "ReportFigure",
    "plot_bands",
    "plot_change_forest",
    "plot_consort",
    "plot_likert_diverging",
    "plot_prepost",
    "save_figure",
    "style",
]
