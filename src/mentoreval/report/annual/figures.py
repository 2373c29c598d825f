"""The annual report's figures: participation, forest plots per outcome, trends.

Report stage (how it is drawn), from the disclosure-controlled tables only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from mentoreval.frames import iter_rows
from mentoreval.report.annual.results import AnnualAnalysis
from mentoreval.report.annual.tables import decimals, scale_info

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "FOREST_ROWS",
    "ForestPart",
    "annual_figure_files",
    "figure_alt_texts",
    "forest_figure_files",
    "forest_figures",
    "forest_parts",
    "plot_annual_participation",
    "plot_annual_trends",
]


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


#: The most cohorts one forest plot shows: more are split into figures of at most this
#: many rows each, so a consortium's 200 cohorts stay legible on a printed page (a row's
#: label and interval at 8 pt) instead of one figure shrunk to a strip.
FOREST_ROWS = 25


@dataclass(frozen=True)
class ForestPart:
    """One forest plot: a programme × outcome's cohorts, or a run of them when there are
    more than :data:`FOREST_ROWS` (one of ``parts``, cohorts ``first``–``last`` of
    ``total``, on the x range ``xlim`` shared by the parts)."""

    programme: str
    instrument: str
    scale: str
    rows: pd.DataFrame
    pooled: dict[str, float] | None
    parts: int = 1
    first: int = 1
    last: int = 1
    total: int = 1
    xlim: tuple[float, float] | None = None

    @property
    def span(self) -> str:
        """``", cohorts 1–25 of 200"`` for a part of a split plot, else ``""``."""
        if self.parts == 1:
            return ""
        if self.first == self.last:
            return f", cohort {self.first} of {self.total}"
        return f", cohorts {self.first}–{self.last} of {self.total}"


def _shared_xlim(rows: pd.DataFrame, pooled: dict[str, float] | None) -> tuple[float, float]:
    """One x range for every part of a split forest plot: all intervals, the pooled one and
    zero, with a margin, so the parts can be read against each other."""
    values = [*pd.concat([rows["ci_low"], rows["ci_high"]]).dropna().tolist(), 0.0]
    if pooled:
        values += [pooled["ci_low"], pooled["ci_high"]]
    low, high = min(values), max(values)
    pad = 0.05 * (high - low or 1.0)
    return (low - pad, high + pad)


def _split_forest(
    programme: str, instrument: str, scale: str, rows: pd.DataFrame,
    pooled: dict[str, float] | None,
) -> list[ForestPart]:  # fmt: skip
    """A programme × outcome's forest plot, split into balanced parts of at most
    :data:`FOREST_ROWS` cohorts when it has more."""
    total = len(rows)
    parts = max(1, -(-total // FOREST_ROWS))
    if parts == 1:
        return [ForestPart(programme, instrument, scale, rows, pooled, first=1, last=total,
                           total=total)]  # fmt: skip
    xlim = _shared_xlim(rows, pooled)
    size, extra = divmod(total, parts)
    out, start = [], 0
    for k in range(parts):
        stop = start + size + (1 if k < extra else 0)
        out.append(
            ForestPart(programme, instrument, scale, rows.iloc[start:stop], pooled, parts=parts,
                       first=start + 1, last=stop, total=total, xlim=xlim)
        )  # fmt: skip
        start = stop
    return out


def forest_parts(analysis: AnnualAnalysis, primary_only: bool = True) -> list[ForestPart]:
    """Each forest plot, in order (``forest_01`` …): per programme × outcome, split when it
    has more than :data:`FOREST_ROWS` cohorts.

    Examples
    --------
    >>> [(f.scale, f.span) for f in forest_parts(analysis)][:2]  # doctest: +SKIP
    [('total', ', cohorts 1–25 of 200'), ('total', ', cohorts 26–50 of 200')]
    """
    forest = analysis["forest"]
    wanted = set(analysis.primary)
    groups: list[ForestPart] = []
    for (programme, instrument, scale), g in forest.groupby(
        ["programme", "instrument", "scale"], sort=False
    ):
        if primary_only and wanted and (str(instrument), str(scale)) not in wanted:
            continue
        pooled_row = g[g["row"] == "pooled"]
        pooled = None
        if len(pooled_row) and pd.notna(pooled_row["estimate"].iloc[0]):
            p = pooled_row.iloc[0]
            pooled = {k: float(p[k]) for k in ("estimate", "ci_low", "ci_high")}
        groups += _split_forest(
            str(programme), str(instrument), str(scale), g[g["row"] == "cohort"], pooled
        )
    return groups


def _forest_kwargs(analysis: AnnualAnalysis, f: ForestPart) -> dict[str, Any]:
    """The :func:`~mentoreval.report.figures.forest.plot_change_forest` arguments of one
    forest plot (picklable: a worker process draws it from them as this one would)."""
    pooled: dict[str, Any] | None = f.pooled
    if pooled is not None and f.parts > 1:
        pooled = {**pooled, "label": f"Pooled, all {f.total} cohorts"}
    return {
        "effects": f.rows,
        "label": "label",
        "estimate": "estimate",
        "pooled": pooled,
        "title": f"{scale_info(f.instrument, f.scale)[0]} — {f.programme}{f.span}",
        "xlabel": f"Mean change (post − pre) with {analysis.config.confidence:.0%} CI",
        "policy": analysis.config.policy,
        "xlim": f.xlim,
    }


def forest_figures(analysis: AnnualAnalysis, *, primary_only: bool = True) -> list[Figure]:
    """One forest plot per programme × outcome (primary outcomes by default), split into
    parts of at most :data:`FOREST_ROWS` cohorts on one x range, each with the pooled
    estimate of all the cohorts.

    Examples
    --------
    >>> display(*forest_figures(analysis))  # doctest: +SKIP
    """
    from mentoreval.report.figures.charts import plot_change_forest

    return [
        plot_change_forest(**_forest_kwargs(analysis, f))
        for f in forest_parts(analysis, primary_only)
    ]


def _forest_files(kwargs: dict[str, Any], rc: dict[str, Any] | None = None) -> dict[str, bytes]:
    """PNG and SVG of one forest plot drawn from its arguments, in the matplotlib style
    ``rc`` when given (a worker's task: the style of the process that asked)."""
    import matplotlib as mpl
    import matplotlib.pyplot as plt

    from mentoreval.report.figures.charts import plot_change_forest
    from mentoreval.report.figures.saving import figure_files

    settings: Any = rc  # rc_context's stubs want literal keys
    with mpl.rc_context(settings):
        fig = plot_change_forest(**kwargs)
        try:
            return figure_files(fig)
        finally:
            plt.close(fig)


def forest_figure_files(analysis: AnnualAnalysis, *, workers: int | None = None) -> dict[str, str]:
    """Draw every forest plot not drawn yet into :attr:`AnnualAnalysis.drawn` (PNG and
    SVG) and return each plot's name and title (``forest_01`` …, in order).

    The plots are drawn with :func:`~mentoreval.report.worker.shared`: on a second core
    too when :func:`~mentoreval.report.worker.start_worker` started one (``workers``
    None), on a new one (1) or on this one only (0). A worker draws in this process's
    ``rcParams``: the bytes are those this process would draw.

    Examples
    --------
    >>> forest_figure_files(analysis)["forest_01"]  # doctest: +SKIP
    'WHO-5: Wellbeing (0–100) — peer'
    """
    import matplotlib as mpl

    from mentoreval.report.worker import shared

    plots = {f"forest_{i + 1:02d}": _forest_kwargs(analysis, f)
             for i, f in enumerate(forest_parts(analysis))}  # fmt: skip
    todo = [name for name in plots if name not in analysis.drawn]
    # this process's style, for a worker to draw in
    rc: dict[str, Any] = {str(k): v for k, v in mpl.rcParams.items() if k != "backend"}
    calls = [(plots[name], rc) for name in todo]
    for name, files in zip(todo, shared(_forest_files, calls, workers=workers), strict=True):
        analysis.drawn[name] = files
    return {name: kwargs["title"] for name, kwargs in plots.items()}


def _trend_groups(analysis: AnnualAnalysis) -> list[tuple[str, str, str, pd.DataFrame]]:
    """``(programme, instrument, scale, rows by year)`` of each trend chart, in order."""
    trends = analysis["trends"]
    wanted = set(analysis.primary)
    groups = []
    for (programme, instrument, scale), g in trends.groupby(
        ["programme", "instrument", "scale"], sort=True
    ):
        if wanted and (str(instrument), str(scale)) not in wanted:
            continue
        groups.append((str(programme), str(instrument), str(scale), g.sort_values("year")))
    return groups


def figure_alt_texts(analysis: AnnualAnalysis) -> dict[str, str]:
    """Alternative text of each annual figure, named as :func:`write_annual_outputs` saves
    them (``participation``, ``forest_01`` …, ``trend_01`` …), from the plotted tables.

    Examples
    --------
    >>> figure_alt_texts(analysis)["forest_01"]  # doctest: +SKIP
    'Forest plot of mean change (post − pre) of WHO-5: Wellbeing (0–100), peer: 2023 …'
    """
    from mentoreval.report.alttext import forest_alt, series_alt

    policy = analysis.config.policy
    confidence = analysis.config.confidence
    retention = series_alt(
        analysis["participation"],
        what="retention (linked pairs as a share of pre responses) by cohort year, one line "
        "per programme",
        x="year",
        series=[("retention_pct", "retention")],
        by="programme",
        percent=True,
        decimals=0,
        policy=policy,
    )
    texts = {"participation": retention}
    for i, f in enumerate(forest_parts(analysis)):
        label = scale_info(f.instrument, f.scale)[0]
        pooled: dict[str, Any] | None = f.pooled
        if pooled is not None and f.parts > 1:
            pooled = {**pooled, "label": f"pooled over all {f.total} cohorts (random effects)"}
        texts[f"forest_{i + 1:02d}"] = forest_alt(
            f.rows.assign(label=f.rows["label"].astype(str)),
            what=f"mean change (post − pre) of {label}, {f.programme}, by cohort{f.span}",
            units="points", confidence=confidence, decimals=decimals(f.instrument, f.scale),
            pooled=pooled, policy=policy,
        )  # fmt: skip
    for i, (programme, instrument, scale, rows) in enumerate(_trend_groups(analysis)):
        label = scale_info(instrument, scale)[0]
        texts[f"trend_{i + 1:02d}"] = series_alt(
            rows, what=f"mean {label} at pre and post by year, {programme}", x="year",
            series=[("mean_pre", "pre"), ("mean_post", "post")],
            decimals=decimals(instrument, scale), policy=policy,
        )  # fmt: skip
    return texts


def plot_annual_trends(analysis: AnnualAnalysis) -> list[Figure]:
    """Mean pre and post score by year per primary outcome (unchanged instruments only)."""
    from mentoreval.report.figures.base import OKABE_ITO, new_figure, report_rc

    figures = []
    for programme, instrument, scale, g in _trend_groups(analysis):
        fig, ax = new_figure(6.0, 3.0)
        with report_rc():
            for colour, column, name in (
                (OKABE_ITO[0], "mean_pre", "pre"),
                (OKABE_ITO[1], "mean_post", "post"),
            ):
                ax.plot(g["year"], g[column], marker="o", color=colour, label=name)
            ax.set_xticks(sorted({int(y) for y in g["year"]}))
            ax.set_ylabel("Mean score")
            ax.set_title(f"{scale_info(instrument, scale)[0]} by year — {programme}", loc="left")
            ax.legend(frameon=False)
        figures.append(fig)
    return figures


def annual_figure_files(
    analysis: AnnualAnalysis, *, kinds: tuple[str, ...] = ("participation", "forest_", "trend_")
) -> dict[str, dict[str, bytes]]:
    """PNG and SVG of every figure of the annual report (name → format → bytes), named as
    :func:`figure_alt_texts` names them: those the report has shown
    (:attr:`AnnualAnalysis.drawn`), the others drawn now and kept there too.

    ``kinds`` limits it to the figures whose names start so (the brief needs the forest
    plots only).

    Examples
    --------
    >>> sorted(annual_figure_files(analysis))  # doctest: +SKIP
    ['forest_01', 'participation', 'trend_01']
    """
    import matplotlib.pyplot as plt

    from mentoreval.report.figures.saving import figure_files

    names = [n for n in figure_alt_texts(analysis) if n.startswith(kinds)]
    if any(n.startswith("forest_") for n in names):
        forest_figure_files(analysis)  # the missing ones, drawn on two cores when free
    drawers: list[tuple[str, Callable[[], list[Figure]]]] = [
        ("participation", lambda: [plot_annual_participation(analysis)]),
        ("trend_", lambda: plot_annual_trends(analysis)),
    ]
    for prefix, draw in drawers:
        kind = [n for n in names if n.startswith(prefix)]
        if not kind or all(n in analysis.drawn for n in kind):
            continue
        for name, fig in zip(kind, draw(), strict=True):
            if name not in analysis.drawn:  # one shown already keeps the bytes shown
                analysis.drawn[name] = figure_files(fig)
            plt.close(fig)
    return {name: analysis.drawn[name] for name in names}
