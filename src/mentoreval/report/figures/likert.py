"""Diverging stacked bars of Likert responses, centred on the neutral category.

Report stage (how it is drawn).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from mentoreval.config.disclosure import DisclosurePolicy
from mentoreval.report.figures.base import (
    NEUTRAL,
    TEXT,
    fail,
    legend_on_top,
    new_figure,
    report_rc,
)

__all__ = ["plot_likert_diverging"]


def plot_likert_diverging(
    counts: pd.DataFrame,
    *,
    neutral: str | None = None,
    title: str | None = None,
    sort: bool = True,
    show_n: bool = True,
    policy: DisclosurePolicy | None = None,
    ends: tuple[str, str] | None = None,
) -> Figure:
    """Diverging stacked bars of Likert answers, centred on the neutral level.

    Robbins & Heiberger (2011) style: disagreeing levels extend left of zero, agreeing
    levels right, the neutral level is split across zero; items are sorted by net
    agreement. Rows holding a suppressed (NaN) level are listed as "[c]" and not drawn;
    small cells are the caller's job (see :func:`mentoreval.disclose.suppress_counts`).

    Parameters
    ----------
    counts
        Items × levels; columns in scale order (most negative first), values are counts.
    neutral
        The neutral level; defaults to the middle column when there is an odd number of
        levels, none otherwise.
    title
        Figure title.
    sort
        Sort items by net agreement (most positive on top).
    show_n
        Append "(n = ..)" to each item label.
    policy
        Supplies the "[c]" label.
    ends
        The response scale's own end labels for the axis caption ("At no time ← | → All
        of the time" on a frequency scale); default: the first and last level's outer
        labels (a merged level "A – B" gives A at the low end, B at the high end).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame([[2, 5, 10, 20, 13], [10, 12, 8, 15, 5]],
    ...                  index=["I feel supported", "I have a career plan"],
    ...                  columns=["SD", "D", "N", "A", "SA"])
    >>> fig = plot_likert_diverging(c)
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['I feel supported (n = 50)', 'I have a career plan (n = 50)']
    """
    policy = policy or DisclosurePolicy()
    lay = _layout(counts, neutral=neutral, sort=sort)
    colours = _colours(lay)
    names = {item: _wrapped(str(item)) for item in lay.ordered}
    lines = sum(names[item].count("\n") + 1 for item in lay.ordered)
    fig, ax = new_figure(7.0, 1.3 + max(0.45 * len(lay.ordered), 0.16 * lines))
    with report_rc():
        ticks = []
        for pos, item in enumerate(lay.ordered):
            y = -pos
            n_text = f" (n = {int(lay.totals[item])})" if show_n and lay.complete[item] else ""
            ticks.append(f"{names[item]}{n_text}")
            if not lay.complete[item] or lay.totals[item] <= 0:
                ax.text(
                    0,
                    y,
                    f"n {policy.label} in some answers: not shown",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color=TEXT,
                )
                continue
            _draw_bar(ax, y, lay.share.loc[item], lay, colours, legend=pos == 0)
        ax.axvline(0, color="#333333", linewidth=0.8)
        ax.set_yticks([-i for i in range(len(lay.ordered))], ticks)
        ax.set_xlim(-100, 100)
        ax.set_xticks([-100, -50, 0, 50, 100], ["100%", "50%", "0", "50%", "100%"])
        low, high = ends or (lay.levels[0].split(" – ")[0], lay.levels[-1].split(" – ")[-1])
        ax.set_xlabel(f"Share of answers ({low} ← | → {high})")
        legend_on_top(ax, ncol=len(lay.levels), fontsize=7)
        if title:
            ax.set_title(title, loc="left", pad=22)
    return fig


def _wrapped(label: str, width: int = 48) -> str:
    r"""An item's label wrapped at word boundaries (never cut), each given line kept.

    Examples
    --------
    >>> _wrapped("I have felt cheerful and in good spirits, most days of the last two weeks")
    'I have felt cheerful and in good spirits, most\ndays of the last two weeks'
    """
    return "\n".join(textwrap.fill(line, width) for line in label.split("\n"))


@dataclass(frozen=True)
class _Layout:
    """The levels split around the neutral one, the shares and the item order."""

    levels: list[str]
    neutral: str | None
    negative: list[str]  # drawn left of zero, most negative first
    positive: list[str]  # drawn right of zero
    share: pd.DataFrame  # percentages of each item's answers
    totals: pd.Series
    complete: pd.Series  # no suppressed (NaN) level
    ordered: list[Any]  # items (index labels) top to bottom


def _layout(counts: pd.DataFrame, *, neutral: str | None, sort: bool) -> _Layout:
    """Check the levels and the neutral one; shares per item; items by net agreement."""
    levels = [str(c) for c in counts.columns]
    if len(levels) < 2:
        raise fail("a Likert chart needs at least two levels", fix="pass items × levels")
    if neutral is None and len(levels) % 2 == 1:
        neutral = levels[len(levels) // 2]
    if neutral is not None and neutral not in levels:
        raise fail(f"neutral level {neutral!r} is not a column", fix=f"use one of {levels}")
    table = counts.copy()
    table.columns = levels
    table = table.apply(pd.to_numeric, errors="raise").astype(float)
    mid = levels.index(neutral) if neutral is not None else len(levels) // 2
    negative = levels[:mid]
    positive = levels[mid + 1 :] if neutral is not None else levels[mid:]
    complete = table.notna().all(axis=1)
    totals = table.sum(axis=1)
    share = table.div(totals.where(totals > 0), axis=0) * 100
    net = share[positive].sum(axis=1) - share[negative].sum(axis=1)
    ordered = list(table.index)
    if sort:
        key = net.where(complete, -np.inf)
        ordered = list(key.sort_values(ascending=False, kind="stable").index)
    return _Layout(levels, neutral, negative, positive, share, totals, complete, ordered)


def _colours(lay: _Layout) -> dict[str, str]:
    """A diverging red–blue colour per level, grey for the neutral one."""
    import seaborn as sns

    n_side = max(len(lay.negative), len(lay.positive))
    div = sns.color_palette("RdBu", 2 * n_side + 1).as_hex()
    colours = {lvl: div[i] for i, lvl in enumerate(lay.negative)}
    colours.update({lvl: div[-len(lay.positive) + i] for i, lvl in enumerate(lay.positive)})
    if lay.neutral is not None:
        colours[lay.neutral] = NEUTRAL
    return colours


def _draw_bar(
    ax: Axes, y: float, row: pd.Series, lay: _Layout, colours: dict[str, str], *, legend: bool
) -> None:
    """One item's stacked bar, the neutral share split across zero; shares of 8% or more
    are written on their segment."""
    neutral, negative, positive = lay.neutral, lay.negative, lay.positive
    half = row[neutral] / 2 if neutral is not None else 0.0
    left = -(row[negative].sum() + half)
    for lvl in lay.levels:
        width = float(row[lvl])
        ax.barh(
            y,
            width,
            left=left,
            height=0.7,
            color=colours[lvl],
            edgecolor="white",
            linewidth=0.5,
            label=lvl if legend else None,
        )
        if width >= 8:
            ink = (
                "white" if lvl not in (neutral,) and lvl in (negative[:1] + positive[-1:]) else TEXT
            )
            ax.text(
                left + width / 2,
                y,
                f"{width:.0f}%",
                ha="center",
                va="center",
                fontsize=7,
                color=ink,
            )
        left += width
