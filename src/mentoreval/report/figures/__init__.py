"""Report figures: colour-blind-safe, directly labelled, deterministic SVG."""

from mentoreval.report.figures.charts import (
    OKABE_ITO,
    ReportFigure,
    plot_bands,
    plot_change_forest,
    plot_consort,
    plot_likert_diverging,
    plot_prepost,
    save_figure,
    style,
)

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
