"""Report figures: colour-blind-safe, directly labelled, and never showing individuals.

Report stage. Every function draws from aggregated or person-level data but publishes
only summaries: no individual points or lines, no minima, maxima or outliers. Box
whiskers and violins stop at percentiles (5th–95th by default); a group below the
disclosure threshold is not drawn but labelled "< k". Figures are built on
:class:`matplotlib.figure.Figure` directly (not pyplot), so notebooks show each exactly
once (end the cell with the figure or ``display(fig)``; a ``;`` hides it) and nothing
needs closing.

:func:`save_figure` writes PNG and SVG byte-for-byte reproducibly (fixed
``svg.hashsalt``, no dates in the metadata).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import matplotlib as mpl
import numpy as np
import pandas as pd
from cycler import cycler
from matplotlib import cbook
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch
from scipy import stats

from mentoreval.config.disclosure import DisclosurePolicy
from mentoreval.errors import Problem, ReportError

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

#: Okabe & Ito (2008) colour-blind-safe palette (black first dropped for fills).
OKABE_ITO: tuple[str, ...] = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#56B4E9",
    "#CC79A7",
    "#F0E442",
    "#000000",
)
_NEUTRAL = "#BBBBBB"
_TEXT = "#222222"
_HASHSALT = "mentoreval"

_RC: dict[str, Any] = {
    "svg.hashsalt": _HASHSALT,
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": cycler(color=list(OKABE_ITO)),
    "axes.edgecolor": "#444444",
    "axes.grid": False,
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "image.cmap": "cividis",
}


def style() -> None:
    """Apply the report style globally (seaborn ``colorblind`` palette, fixed SVG salt).

    Call once at the top of a notebook; the ``plot_*`` functions use the same settings
    whether or not it was called.

    Examples
    --------
    >>> style()
    >>> import matplotlib as mpl
    >>> mpl.rcParams["svg.hashsalt"]
    'mentoreval'
    """
    import seaborn as sns

    sns.set_theme(context="paper", style="ticks", palette="colorblind", rc=_RC)
    rc: Any = _RC
    mpl.rcParams.update(rc)


def report_rc(settings: Mapping[str, Any] | None = None) -> Any:
    """``matplotlib.rc_context`` with the report settings (typed loosely for mypy)."""
    rc: Any = dict(_RC if settings is None else settings)
    return mpl.rc_context(rc)


class ReportFigure(Figure):
    """A :class:`~matplotlib.figure.Figure` that shows itself once in a notebook as PNG.

    It is not registered with pyplot (nothing to close, no double display); its text
    form is a short label rather than the ``<Figure size …>`` repr.
    """

    def _repr_png_(self) -> bytes:
        import io

        buffer = io.BytesIO()
        with report_rc({"svg.hashsalt": _HASHSALT}):
            self.savefig(
                buffer,
                format="png",
                dpi=120,
                bbox_inches="tight",
                metadata={"Software": "mentoreval"},
            )
        return buffer.getvalue()

    def __repr__(self) -> str:
        titles = [ax.get_title(loc="left") or ax.get_title() for ax in self.axes]
        label = next((t for t in titles if t), "untitled")
        return f"[figure: {label}]"


def new_figure(width: float, height: float) -> tuple[Figure, Axes]:
    with report_rc():
        fig = ReportFigure(figsize=(width, height), layout="constrained")
        ax = fig.add_subplot()
    return fig, ax


def _fail(message: str, *, fix: str, key: str | None = None) -> ReportError:
    problem = Problem(message, key=key, fix=fix)
    return ReportError(str(problem), (problem,))


def _need_columns(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise _fail(
            f"{what}: missing column(s) {', '.join(map(repr, missing))}",
            fix=f"pass a table with columns {', '.join(columns)}",
        )


def _fmt(value: float, decimals: int = 2) -> str:
    return f"{value:.{decimals}f}"


# ----------------------------------------------------------------- pre/post figure


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
) -> Figure:
    """Raincloud-like pre/post figure: half-violin, box and mean ± CI per wave.

    Violins and whiskers stop at the ``whis`` percentiles and no outliers, points or
    individual lines are drawn, so no student's value can be read off. A wave with
    fewer than k scores is not drawn but labelled "< k".

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
    >>> [t.get_text() for t in fig.axes[0].get_xticklabels()]
    ['Pre', 'Post']
    """
    policy = policy or DisclosurePolicy()
    _need_columns(data, [value, wave], "plot_prepost")
    if not 0 < confidence < 1:
        raise _fail(f"confidence={confidence} outside (0, 1)", fix="use e.g. 0.95")
    names = dict(labels or {})
    fig, ax = new_figure(4.8, 3.6)
    with report_rc():
        for i, name in enumerate(order):
            color = OKABE_ITO[i % len(OKABE_ITO)]
            column = pd.to_numeric(data.loc[data[wave] == name, value], errors="coerce")
            values = column.dropna().to_numpy(dtype=float)
            n = values.size
            x = float(i)
            if n == 0 or policy.is_small(n):
                ax.text(
                    x,
                    0.5,
                    f"n {policy.label}\nnot shown",
                    transform=ax.get_xaxis_transform(),
                    ha="center",
                    va="center",
                    color=_TEXT,
                )
                continue
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
                color=_TEXT,
                markersize=5,
                capsize=3,
                linewidth=1.2,
            )
            ax.annotate(
                f"mean {_fmt(mean)}\n[{_fmt(mean - half)}, {_fmt(mean + half)}]\nn = {n}",
                xy=(x + 0.2, mean),
                xytext=(4, 0),
                textcoords="offset points",
                ha="left",
                va="center",
                fontsize=8,
                color=_TEXT,
            )
        ax.set_xticks(range(len(order)), [names.get(w, str(w).capitalize()) for w in order])
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


# ------------------------------------------------------------------- forest plot


def plot_change_forest(
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
) -> Figure:
    """Forest plot of effect sizes with CIs, one row per scale or cohort.

    Suppressed rows (NaN estimate) are listed with "< k" instead of a point. Each row is
    labelled directly with its estimate and CI.

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
        Supplies the "< k" label.

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
    """
    policy = policy or DisclosurePolicy()
    _need_columns(effects, [label, estimate, ci_low, ci_high], "plot_change_forest")
    rows = effects.reset_index(drop=True)
    n_rows = len(rows) + (1 if pooled else 0)
    fig, ax = new_figure(6.0, 0.9 + 0.42 * max(n_rows, 1))
    with report_rc():
        ticks: list[str] = []
        text_x = ax.get_yaxis_transform()
        for i, row in rows.iterrows():
            y = -int(str(i))
            ticks.append(str(row[label]))
            est, lo, hi = (float(row[c]) for c in (estimate, ci_low, ci_high))
            if math.isnan(est):
                ax.text(1.02, y, f"n {policy.label}", transform=text_x, va="center", fontsize=8)
                continue
            ax.errorbar(
                [est],
                [y],
                xerr=[[est - lo], [hi - est]],
                fmt="s",
                color=OKABE_ITO[0],
                markersize=5,
                capsize=2.5,
            )
            ax.text(
                1.02,
                y,
                f"{_fmt(est)} [{_fmt(lo)}, {_fmt(hi)}]",
                transform=text_x,
                va="center",
                fontsize=8,
            )
        if pooled:
            y = -len(rows)
            est, lo, hi = (float(pooled[k]) for k in ("estimate", "ci_low", "ci_high"))
            ticks.append(str(pooled.get("label", "Pooled (random effects)")))
            ax.fill([lo, est, hi, est], [y, y + 0.25, y, y - 0.25], color=OKABE_ITO[3])
            ax.text(
                1.02,
                y,
                f"{_fmt(est)} [{_fmt(lo)}, {_fmt(hi)}]",
                transform=text_x,
                va="center",
                fontsize=8,
                fontweight="bold",
            )
            ax.axhline(y + 0.5, color="#999999", linewidth=0.6)
        ax.axvline(0, color="#555555", linewidth=0.8, linestyle="--")
        ax.set_yticks([-i for i in range(n_rows)], ticks)
        ax.set_ylim(-n_rows + 0.5, 0.5)
        ax.set_xlabel(xlabel)
        if title:
            ax.set_title(title, loc="left")
    return fig


# ------------------------------------------------------------ diverging Likert


def plot_likert_diverging(
    counts: pd.DataFrame,
    *,
    neutral: str | None = None,
    title: str | None = None,
    sort: bool = True,
    show_n: bool = True,
    policy: DisclosurePolicy | None = None,
) -> Figure:
    """Diverging stacked bars of Likert answers, centred on the neutral level.

    Robbins & Heiberger (2011) style: disagreeing levels extend left of zero, agreeing
    levels right, the neutral level is split across zero; items are sorted by net
    agreement. Rows holding a suppressed (NaN) level are listed as "< k" and not drawn;
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
        Supplies the "< k" label.

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
    levels = [str(c) for c in counts.columns]
    if len(levels) < 2:
        raise _fail("a Likert chart needs at least two levels", fix="pass items × levels")
    if neutral is None and len(levels) % 2 == 1:
        neutral = levels[len(levels) // 2]
    if neutral is not None and neutral not in levels:
        raise _fail(f"neutral level {neutral!r} is not a column", fix=f"use one of {levels}")
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

    import seaborn as sns

    n_side = max(len(negative), len(positive))
    div = sns.color_palette("RdBu", 2 * n_side + 1).as_hex()
    colours = {lvl: div[i] for i, lvl in enumerate(negative)}
    colours.update({lvl: div[-len(positive) + i] for i, lvl in enumerate(positive)})
    if neutral is not None:
        colours[neutral] = _NEUTRAL

    fig, ax = new_figure(7.0, 1.2 + 0.45 * len(ordered))
    with report_rc():
        ticks = []
        for pos, item in enumerate(ordered):
            y = -pos
            n_text = f" (n = {int(totals[item])})" if show_n and complete[item] else ""
            ticks.append(f"{item}{n_text}")
            if not complete[item] or totals[item] <= 0:
                ax.text(
                    0,
                    y,
                    f"n {policy.label} in some answers: not shown",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color=_TEXT,
                )
                continue
            row = share.loc[item]
            half = row[neutral] / 2 if neutral is not None else 0.0
            left = -(row[negative].sum() + half)
            for lvl in levels:
                width = float(row[lvl])
                ax.barh(
                    y,
                    width,
                    left=left,
                    height=0.7,
                    color=colours[lvl],
                    edgecolor="white",
                    linewidth=0.5,
                    label=lvl if pos == 0 else None,
                )
                if width >= 8:
                    ink = (
                        "white"
                        if lvl not in (neutral,) and lvl in (negative[:1] + positive[-1:])
                        else _TEXT
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
        ax.axvline(0, color="#333333", linewidth=0.8)
        ax.set_yticks([-i for i in range(len(ordered))], ticks)
        ax.set_xlim(-100, 100)
        ax.set_xticks([-100, -50, 0, 50, 100], ["100%", "50%", "0", "50%", "100%"])
        ax.set_xlabel("Share of answers (disagree ← | → agree)")
        _legend_on_top(ax, ncol=len(levels), fontsize=7)
        if title:
            ax.set_title(title, loc="left", pad=22)
    return fig


def _legend_on_top(ax: Any, *, ncol: int, fontsize: float) -> None:
    """One-row legend above the axes (stacked bars read left to right like it)."""
    handles, names = ax.get_legend_handles_labels()
    if handles:
        ax.legend(
            handles,
            names,
            loc="lower center",
            bbox_to_anchor=(0.5, 1.0),
            ncol=ncol,
            frameon=False,
            fontsize=fontsize,
        )


# --------------------------------------------------------------- CONSORT flow


def _flow_number(value: object, policy: DisclosurePolicy) -> str:
    if value is None or pd.isna(value):  # type: ignore[call-overload]
        return policy.label
    return f"{int(float(value)):d}"  # type: ignore[arg-type]


def plot_consort(
    flow: pd.DataFrame,
    *,
    title: str | None = None,
    policy: DisclosurePolicy | None = None,
) -> Figure:
    """CONSORT-style participant flow drawn from a tidy flow table.

    Parameters
    ----------
    flow
        One row per stage, top to bottom, with columns ``stage`` (text) and ``n``
        (count; NaN when suppressed) and optionally ``excluded`` (count leaving after
        this stage) and ``reasons`` (text, e.g. ``"duplicate: 3; no consent: 12"``).
        Counts must already be disclosure-controlled.
    title
        Figure title.
    policy
        Supplies the "< k" label for suppressed counts.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> flow = pd.DataFrame({"stage": ["Pre responses", "Linked pairs", "Analysed"],
    ...                      "n": [120, 80, 78], "excluded": [40, 2, None],
    ...                      "reasons": ["no post response", "< 10 incomplete", None]})
    >>> fig = plot_consort(flow)
    >>> sum("Analysed" in t.get_text() for t in fig.axes[0].texts)
    1
    """
    policy = policy or DisclosurePolicy()
    _need_columns(flow, ["stage", "n"], "plot_consort")
    rows = flow.reset_index(drop=True)
    has_excl = "excluded" in rows.columns
    has_reason = "reasons" in rows.columns
    n_stages = len(rows)
    height = 1.0 + 1.25 * n_stages
    fig, ax = new_figure(7.0, height)
    with report_rc():
        ax.set_xlim(0, 10)
        ax.set_ylim(-height + 0.4, 0.6)
        ax.axis("off")
        step = 1.25
        for i, row in rows.iterrows():
            idx = int(str(i))
            y = -idx * step
            text = f"{row['stage']}\nn = {_flow_number(row['n'], policy)}"
            ax.add_patch(
                FancyBboxPatch(
                    (0.5, y - 0.35),
                    4.2,
                    0.7,
                    boxstyle="round,pad=0.02",
                    facecolor="#EAF2FA",
                    edgecolor=OKABE_ITO[0],
                )
            )
            ax.text(2.6, y, text, ha="center", va="center", fontsize=8.5, color=_TEXT)
            if idx < n_stages - 1:
                ax.annotate(
                    "",
                    xy=(2.6, y - step + 0.37),
                    xytext=(2.6, y - 0.37),
                    arrowprops={"arrowstyle": "-|>", "color": "#444444"},
                )
            excluded = row["excluded"] if has_excl else None
            reasons = row["reasons"] if has_reason else None
            if (excluded is not None and not pd.isna(excluded)) or (
                isinstance(reasons, str) and reasons
            ):
                ym = y - step / 2
                lines = [f"Excluded: n = {_flow_number(excluded, policy)}"]
                if isinstance(reasons, str) and reasons:
                    lines += [f"  {part.strip()}" for part in reasons.split(";") if part.strip()]
                ax.annotate(
                    "",
                    xy=(5.4, ym),
                    xytext=(2.6, ym),
                    arrowprops={"arrowstyle": "-|>", "color": "#444444"},
                )
                box_h = 0.18 * len(lines) + 0.2
                ax.add_patch(
                    FancyBboxPatch(
                        (5.4, ym - box_h / 2),
                        4.3,
                        box_h,
                        boxstyle="round,pad=0.02",
                        facecolor="#FDF1E3",
                        edgecolor=OKABE_ITO[1],
                    )
                )
                ax.text(
                    5.55, ym, "\n".join(lines), ha="left", va="center", fontsize=7.5, color=_TEXT
                )
        if title:
            ax.set_title(title, loc="left")
    return fig


# ----------------------------------------------------------------- band shifts


def plot_bands(
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
        disclosure control. A wave with a suppressed (NaN) band is listed as "< k".
    title
        Figure title.
    labels
        Display names of the waves (default: capitalised).
    policy
        Supplies the "< k" label.

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
    fig, ax = new_figure(6.5, 1.1 + 0.55 * len(table))
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
                    ink = "white" if j < len(bands) / 2 else _TEXT
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
        _legend_on_top(ax, ncol=len(bands), fontsize=7.5)
        if title:
            ax.set_title(title, loc="left", pad=20)
    return fig


# ----------------------------------------------------------------------- saving


def save_figure(
    fig: Figure,
    path_stem: str | os.PathLike[str],
    *,
    formats: Sequence[Literal["png", "svg"]] = ("png", "svg"),
    dpi: int = 150,
) -> list[Path]:
    """Save a figure as PNG and SVG, byte-for-byte reproducibly.

    Parameters
    ----------
    fig
        The figure.
    path_stem
        Path without suffix, e.g. ``reports/s/figures/who5_prepost``; folders are created.
    formats
        Which files to write.
    dpi
        Resolution of the PNG.

    Returns
    -------
    list of pathlib.Path
        The files written, in ``formats`` order.

    Examples
    --------
    >>> import tempfile
    >>> fig = plot_bands(pd.DataFrame({"low": [20], "high": [30]}, index=["pre"]))
    >>> with tempfile.TemporaryDirectory() as d:
    ...     [p.name for p in save_figure(fig, Path(d) / "bands")]
    ['bands.png', 'bands.svg']
    """
    allowed = ("png", "svg")
    bad = [f for f in formats if f not in allowed]
    if bad:
        raise _fail(f"unknown figure format(s) {bad}", fix=f"use {allowed}")
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    written = []
    metadata: dict[str, dict[str, Any]] = {
        "svg": {"Date": None, "Creator": "mentoreval"},
        "png": {"Software": "mentoreval"},
    }
    for fmt in formats:
        target = stem.with_name(stem.name + f".{fmt}")
        with report_rc({"svg.hashsalt": _HASHSALT, "svg.fonttype": "none"}):
            fig.savefig(target, format=fmt, dpi=dpi, metadata=metadata[fmt], bbox_inches="tight")
        written.append(target)
    return written
