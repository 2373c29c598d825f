"""Pre/post figure: box (percentile whiskers) over half-violin per wave, never individuals.

Report stage (how it is drawn).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib import cbook
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from scipy import stats

from mentoreval.config.disclosure import DisclosurePolicy
from mentoreval.report.figures.base import (
    OKABE_ITO,
    TEXT,
    fail,
    fmt,
    need_columns,
    new_figure,
    report_rc,
)

__all__ = ["plot_prepost"]


def _half_violin(
    ax: Axes, values: np.ndarray, x: float, lo: float, hi: float, color: str, width: float
) -> None:
    if hi <= lo or np.unique(values).size < 2:
        return
    grid = np.linspace(lo, hi, 128)
    density = stats.gaussian_kde(values)(grid)
    density = density / density.max() * width
    ax.fill_betweenx(grid, x - density, x, color=color, alpha=0.45, linewidth=0)


def plot_prepost(
    data: pd.DataFrame,
    *,
    value: str = "score",
    wave: str = "wave",
    order: Sequence[str] = ("pre", "post"),
    labels: Mapping[str, str] | None = None,
    title: str | None = None,
    ylabel: str | None = None,
    limits: tuple[float, float] | None = None,
    whis: tuple[float, float] = (5.0, 95.0),
    confidence: float = 0.95,
    policy: DisclosurePolicy | None = None,
    hidden_n: Collection[str] = (),
) -> Figure:
    """Raincloud-like pre/post figure: half-violin, box and mean ± CI per wave.

    Violins and whiskers stop at the ``whis`` percentiles and no outliers, points or
    individual lines are drawn, so no student's value can be read off. A wave with
    fewer than k scores is not drawn but labelled "[c]".

    Parameters
    ----------
    data
        Long table with one score per student and wave (e.g. one scale of ``scores``).
    value, wave
        Column names of the score and the wave.
    order
        Waves to show, left to right.
    labels
        Display names of the waves (default: capitalised wave names).
    title, ylabel
        Figure title and y-axis label.
    limits
        The scale's possible range, used for the y-axis (e.g. ``(0, 100)``).
    whis
        Percentiles for whiskers and violin ends.
    confidence
        Level of the t-based confidence interval of the mean.
    policy
        Disclosure policy (default k = 10).
    hidden_n
        Waves whose n the report's release hides (to protect another count): drawn, with
        their n shown as the policy's label.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> d = pd.DataFrame({"wave": ["pre"] * 30 + ["post"] * 30,
    ...                   "score": np.r_[rng.normal(50, 10, 30), rng.normal(56, 10, 30)]})
    >>> fig = plot_prepost(d, title="WHO-5", limits=(0, 100))
    >>> [t.get_text().splitlines()[0] for t in fig.axes[0].get_xticklabels()]
    ['Pre', 'Post']
    """
    policy = policy or DisclosurePolicy()
    need_columns(data, [value, wave], "plot_prepost")
    if not 0 < confidence < 1:
        raise fail(f"confidence={confidence} outside (0, 1)", fix="use e.g. 0.95")
    names = dict(labels or {})
    ticks = [names.get(w, str(w).capitalize()) for w in order]
    # narrow enough to share a row with another chart (report/layout.py), even with 4 waves
    fig, ax = new_figure(4.8 if len(order) <= 2 else 5.0, 3.6)
    with report_rc():
        for i, name in enumerate(order):
            column = pd.to_numeric(data.loc[data[wave] == name, value], errors="coerce")
            values = column.dropna().to_numpy(dtype=float)
            x = float(i)
            if values.size == 0 or policy.is_small(values.size):
                ax.text(
                    x,
                    0.5,
                    f"n {policy.label}\nnot shown",
                    transform=ax.get_xaxis_transform(),
                    ha="center",
                    va="center",
                    color=TEXT,
                )
                continue
            color = OKABE_ITO[i % len(OKABE_ITO)]
            n_text = policy.label if name in hidden_n else str(values.size)
            stat = _draw_wave(ax, values, x, color, whis=whis, confidence=confidence)
            # under the wave's own violin, never beside it over the neighbour
            ticks[i] = f"{ticks[i]}\n{stat}\nn = {n_text}"
        ax.set_xticks(range(len(order)), ticks, fontsize=8)
        ax.set_xlim(-0.6, len(order) - 0.1)
        if limits is not None:
            ax.set_ylim(*limits)
        ax.set_ylabel(ylabel or value)
        if title:
            ax.set_title(title, loc="left")
        fig.text(
            0.01,
            -0.02,
            f"Violins and whiskers: {whis[0]:g}th–{whis[1]:g}th percentiles; "
            f"diamond: mean with {confidence:.0%} CI.",
            fontsize=7,
            color="#555555",
        )
    return fig


def _draw_wave(
    ax: Axes,
    values: np.ndarray,
    x: float,
    color: str,
    *,
    whis: tuple[float, float],
    confidence: float,
) -> str:
    """One wave at ``x``: half-violin, box without fliers, and the mean with its t CI;
    returns the mean and CI in words, for the wave's label under the axis."""
    n = values.size
    lo, hi = np.percentile(values, whis)
    _half_violin(ax, values, x - 0.05, lo, hi, color, 0.35)
    box = cbook.boxplot_stats(values, whis=whis)[0]
    box["fliers"] = np.array([])
    ax.bxp(
        [box],
        positions=[x + 0.02],
        widths=0.08,
        showfliers=False,
        patch_artist=True,
        boxprops={"facecolor": "white", "edgecolor": color},
        medianprops={"color": color, "linewidth": 1.5},
        whiskerprops={"color": color},
        capprops={"color": color},
    )
    mean = float(values.mean())
    half = (
        float(stats.t.ppf(0.5 + confidence / 2, n - 1) * values.std(ddof=1) / math.sqrt(n))
        if n > 1
        else float("nan")
    )
    ax.errorbar(
        [x + 0.16],
        [mean],
        yerr=[[half], [half]],
        fmt="D",
        color=TEXT,
        markersize=5,
        capsize=3,
        linewidth=1.2,
    )
    return f"mean {fmt(mean)}\n[{fmt(mean - half)}, {fmt(mean + half)}]"
