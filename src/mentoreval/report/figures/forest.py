"""Forest plot of change (effect sizes with confidence intervals, optional pooled row).

Report stage (how it is drawn).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mentoreval.config.disclosure import DisclosurePolicy
from mentoreval.report.figures.base import (
    OKABE_ITO,
    fmt,
    need_columns,
    new_figure,
    report_rc,
)

__all__ = ["plot_change_forest"]


def _row_label(text: str, higher_is_better: object) -> str:
    r"""A row's label, wrapped so the data area keeps most of the width, with its side of
    improvement when known.

    Examples
    --------
    >>> _row_label("CBI: Client/patient-related burnout (0–100)", False)
    'CBI: Client/patient-related\nburnout (0–100)\n← better'
    """
    lines = textwrap.wrap(text, width=28) or [text]
    if higher_is_better is not None and not pd.isna(higher_is_better):  # type: ignore[call-overload]  # a cell: bool or NA
        lines.append("better →" if bool(higher_is_better) else "← better")
    return "\n".join(lines)


def plot_change_forest(  # long by its numpydoc docstring; the drawing itself is ~65 lines
    effects: pd.DataFrame,
    *,
    label: str = "scale",
    estimate: str = "g_av",
    ci_low: str = "ci_low",
    ci_high: str = "ci_high",
    pooled: Mapping[str, float] | None = None,
    title: str | None = None,
    xlabel: str = "Effect size (Hedges' g) with 95% CI",
    policy: DisclosurePolicy | None = None,
    better: str | None = None,
    xlim: tuple[float, float] | None = None,
) -> Figure:
    r"""Forest plot of effect sizes with CIs, one row per scale or cohort.

    Suppressed rows (NaN estimate) are listed with "[c]" instead of a point. Each row is
    labelled directly with its estimate and CI, the same signed number the text gives: a
    scale where lower is better is never flipped; with ``better`` each row says on which
    side of zero its improvement lies ("better →" or "← better").

    Parameters
    ----------
    effects
        One row per scale/cohort with columns ``label``, ``estimate``, ``ci_low``,
        ``ci_high`` (after disclosure control).
    label, estimate, ci_low, ci_high
        Column names.
    pooled
        A random-effects pooled estimate: ``{"estimate": .., "ci_low": .., "ci_high": ..}``
        and optionally ``"label"``; drawn as a diamond in the last row.
    title, xlabel
        Texts.
    policy
        Supplies the "[c]" label.
    better
        A boolean column: whether a higher value is the better outcome on that row's
        scale (``higher_is_better``).
    xlim
        The x range, when several plots are to be read against each other (the parts of
        a split forest plot); default: matplotlib's own.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> e = pd.DataFrame({"scale": ["wellbeing", "burnout"], "g_av": [0.4, float("nan")],
    ...                   "ci_low": [0.1, float("nan")], "ci_high": [0.7, float("nan")]})
    >>> fig = plot_change_forest(e, pooled={"estimate": 0.3, "ci_low": 0.0, "ci_high": 0.6})
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['wellbeing', 'burnout', 'Pooled (random effects)']
    >>> e = e.assign(hib=[True, False])
    >>> fig = plot_change_forest(e, better="hib")
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['wellbeing\nbetter →', 'burnout\n← better']
    """
    policy = policy or DisclosurePolicy()
    need_columns(effects, [label, estimate, ci_low, ci_high], "plot_change_forest")
    rows = effects.reset_index(drop=True)
    n_rows = len(rows) + (1 if pooled else 0)
    per_row = 0.55 if better else 0.42
    fig, ax = new_figure(7.0, 0.9 + per_row * max(n_rows, 1))
    with report_rc():
        ticks: list[str] = []
        text_x = ax.get_yaxis_transform()
        drawn: list[tuple[float, int, float, float]] = []  # estimate, row, low, high
        for i, row in rows.iterrows():
            y = -int(str(i))
            ticks.append(_row_label(str(row[label]), None if better is None else row[better]))
            est, lo, hi = (float(row[c]) for c in (estimate, ci_low, ci_high))
            if math.isnan(est):
                ax.text(1.02, y, f"n {policy.label}", transform=text_x, va="center", fontsize=8)
                continue
            drawn.append((est, y, lo, hi))
            ax.text(
                1.02,
                y,
                f"{fmt(est)} [{fmt(lo)}, {fmt(hi)}]",
                transform=text_x,
                va="center",
                fontsize=8,
            )
        if drawn:  # one errorbar for every row: 200 cohorts are one artist, not 200
            est_, y_, lo_, hi_ = (np.array(v, dtype=float) for v in zip(*drawn, strict=True))
            ax.errorbar(
                est_,
                y_,
                xerr=[est_ - lo_, hi_ - est_],
                fmt="s",
                color=OKABE_ITO[0],
                markersize=5,
                capsize=2.5,
            )
        if pooled:
            y = -len(rows)
            est, lo, hi = (float(pooled[k]) for k in ("estimate", "ci_low", "ci_high"))
            ticks.append(str(pooled.get("label", "Pooled (random effects)")))
            ax.fill([lo, est, hi, est], [y, y + 0.25, y, y - 0.25], color=OKABE_ITO[3])
            ax.text(
                1.02,
                y,
                f"{fmt(est)} [{fmt(lo)}, {fmt(hi)}]",
                transform=text_x,
                va="center",
                fontsize=8,
                fontweight="bold",
            )
            ax.axhline(y + 0.5, color="#999999", linewidth=0.6)
        ax.axvline(0, color="#555555", linewidth=0.8, linestyle="--")
        ax.set_yticks([-i for i in range(n_rows)], ticks)
        ax.set_ylim(-n_rows + 0.5, 0.5)
        if xlim is not None:
            ax.set_xlim(*xlim)
        ax.set_xlabel(xlabel)
        if title:
            ax.set_title(title, loc="left")
    return fig
