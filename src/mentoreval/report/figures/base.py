"""Shared pieces of the report figures: the Okabe–Ito palette, the report style and rc
settings, :class:`ReportFigure`, the figure factory and the argument checks.

Report stage (how it is drawn); every chart module of :mod:`mentoreval.report.figures` uses it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import matplotlib as mpl
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from mentoreval.errors import Problem, ReportError

if TYPE_CHECKING:  # pragma: no cover - pandas only for the annotations
    import pandas as pd

__all__ = [
    "HASHSALT",
    "NEUTRAL",
    "OKABE_ITO",
    "TEXT",
    "ReportFigure",
    "fail",
    "fmt",
    "legend_on_top",
    "need_columns",
    "new_figure",
    "report_rc",
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
NEUTRAL = "#BBBBBB"
TEXT = "#222222"
HASHSALT = "mentoreval"

_RC: dict[str, Any] = {
    "svg.hashsalt": HASHSALT,
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
        with report_rc({"svg.hashsalt": HASHSALT}):
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


def fail(message: str, *, fix: str, key: str | None = None) -> ReportError:
    problem = Problem(message, key=key, fix=fix)
    return ReportError(str(problem), (problem,))


def need_columns(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise fail(
            f"{what}: missing column(s) {', '.join(map(repr, missing))}",
            fix=f"pass a table with columns {', '.join(columns)}",
        )


def fmt(value: float, decimals: int = 2) -> str:
    """A number for figure text, with a true minus sign (U+2212) as the tick labels have.

    Examples
    --------
    >>> fmt(-0.071), fmt(3.14159, 1), fmt(-0.001)
    ('−0.07', '3.1', '0.00')
    """
    text = f"{value:.{decimals}f}"
    if text.startswith("-") and float(text) == 0:  # no "−0.00"
        text = text[1:]
    return text.replace("-", "\u2212")


def legend_on_top(ax: Any, *, ncol: int, fontsize: float) -> None:
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
