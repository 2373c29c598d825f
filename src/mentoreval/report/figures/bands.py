"""Band shifts: stacked bars of score bands (e.g. low/moderate/high) per wave.

Report stage (how it is drawn).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
from matplotlib.figure import Figure

from mentoreval.config.disclosure import DisclosurePolicy
from mentoreval.report.figures.base import (
    TEXT,
    legend_on_top,
    new_figure,
    report_rc,
)

__all__ = ["plot_bands"]


def plot_bands(  # long by its numpydoc docstring; the drawing itself is ~65 lines
    counts: pd.DataFrame,
    *,
    title: str | None = None,
    labels: Mapping[str, str] | None = None,
    policy: DisclosurePolicy | None = None,
) -> Figure:
    """Stacked 100 % bars of band proportions per wave (e.g. pre vs post).

    Parameters
    ----------
    counts
        Waves × bands (columns in band order, e.g. low → high); values are counts after
        disclosure control. A wave with a suppressed (NaN) band is listed as "[c]".
    title
        Figure title.
    labels
        Display names of the waves (default: capitalised).
    policy
        Supplies the "[c]" label.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({"low": [20, 12], "moderate": [25, 24], "high": [15, 24]},
    ...                  index=["pre", "post"])
    >>> fig = plot_bands(c)
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['Pre (n = 60)', 'Post (n = 60)']
    """
    policy = policy or DisclosurePolicy()
    bands = [str(c) for c in counts.columns]
    table = counts.copy()
    table.columns = bands
    table = table.apply(pd.to_numeric, errors="raise").astype(float)
    names = dict(labels or {})
    import seaborn as sns

    colours = sns.color_palette("cividis", len(bands)).as_hex()
    # narrow enough to share a row with another chart (report/layout.py)
    fig, ax = new_figure(5.0, 1.1 + 0.5 * len(table))
    with report_rc():
        ticks = []
        for pos, (wave, row) in enumerate(table.iterrows()):
            y = -pos
            name = names.get(str(wave), str(wave).capitalize())
            total = row.sum()
            if row.isna().any() or total <= 0:
                ticks.append(name)
                ax.text(
                    50,
                    y,
                    f"n {policy.label} in some bands: not shown",
                    ha="center",
                    va="center",
                    fontsize=8,
                )
                continue
            ticks.append(f"{name} (n = {int(total)})")
            left = 0.0
            for j, band in enumerate(bands):
                width = float(row[band] / total * 100)
                ax.barh(
                    y,
                    width,
                    left=left,
                    height=0.6,
                    color=colours[j],
                    edgecolor="white",
                    label=band if pos == 0 else None,
                )
                if width >= 7:
                    ink = "white" if j < len(bands) / 2 else TEXT
                    ax.text(
                        left + width / 2,
                        y,
                        f"{width:.0f}%",
                        ha="center",
                        va="center",
                        fontsize=7.5,
                        color=ink,
                    )
                left += width
        ax.set_yticks([-i for i in range(len(table))], ticks)
        ax.set_xlim(0, 100)
        ax.set_xlabel("Share of students (%)")
        legend_on_top(ax, ncol=len(bands), fontsize=7.5)
        if title:
            ax.set_title(title, loc="left", pad=20)
    return fig
