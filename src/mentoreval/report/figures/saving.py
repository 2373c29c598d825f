"""Saving report figures: PNG and SVG, byte-for-byte reproducible (fixed ``svg.hashsalt``,
no dates in the metadata).

Each ``savefig`` of a figure with a layout engine first lays it out again in a draw of its
own, and ``bbox_inches="tight"`` measures it there: two draws per file. The figure is laid
out and measured once instead (at the PNG's resolution), and both files are drawn with that
layout and bounding box: three draws for the pair instead of four (issue 18).

Report stage (how it is drawn).
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import matplotlib as mpl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

from mentoreval.report.figures.base import (
    HASHSALT,
    fail,
    report_rc,
)

__all__ = ["figure_files", "save_figure", "write_figure_files"]


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
    >>> import pandas as pd
    >>> from mentoreval.report.figures.bands import plot_bands
    >>> fig = plot_bands(pd.DataFrame({"low": [20], "high": [30]}, index=["pre"]))
    >>> with tempfile.TemporaryDirectory() as d:
    ...     [p.name for p in save_figure(fig, Path(d) / "bands")]
    ['bands.png', 'bands.svg']
    """
    return write_figure_files(figure_files(fig, formats=formats, dpi=dpi), path_stem)


def write_figure_files(files: Mapping[str, bytes], path_stem: str | os.PathLike[str]) -> list[Path]:
    """Write :func:`figure_files`' bytes as ``<path_stem>.<format>``; folders are created.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     [p.name for p in write_figure_files({"svg": b"<svg/>"}, Path(d) / "f" / "x")]
    ['x.svg']
    """
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt, data in files.items():
        target = stem.with_name(stem.name + f".{fmt}")
        target.write_bytes(data)
        written.append(target)
    return written


def figure_files(
    fig: Figure,
    *,
    formats: Sequence[Literal["png", "svg"]] = ("png", "svg"),
    dpi: int = 150,
) -> dict[str, bytes]:
    """The bytes :func:`save_figure` writes, by format (one layout for both files).

    A report that shows a figure and later saves it keeps these bytes, so the figure is
    drawn once for both, and the picture shown is the file saved.

    Examples
    --------
    >>> import pandas as pd
    >>> from mentoreval.report.figures.bands import plot_bands
    >>> fig = plot_bands(pd.DataFrame({"low": [20], "high": [30]}, index=["pre"]))
    >>> files = figure_files(fig)
    >>> list(files), files["png"][:4]
    (['png', 'svg'], b'\x89PNG')
    """
    allowed = ("png", "svg")
    bad = [f for f in formats if f not in allowed]
    if bad:
        raise fail(f"unknown figure format(s) {bad}", fix=f"use {allowed}")
    metadata: dict[str, dict[str, Any]] = {
        "svg": {"Date": None, "Creator": "mentoreval"},
        "png": {"Software": "mentoreval"},
    }
    files: dict[str, bytes] = {}
    engine = fig.get_layout_engine()
    with report_rc({"svg.hashsalt": HASHSALT, "svg.fonttype": "none"}):
        bbox = _laid_out_bbox(fig, dpi)
        # no layout engine: savefig then draws once, with the layout just computed
        with mpl.rc_context({"figure.autolayout": False, "figure.constrained_layout.use": False}):
            fig.set_layout_engine(None)
        try:
            for fmt in formats:
                buffer = io.BytesIO()
                fig.savefig(buffer, format=fmt, dpi=dpi, metadata=metadata[fmt], bbox_inches=bbox)
                files[fmt] = buffer.getvalue()
        finally:
            fig.set_layout_engine(engine)
    return files


def _laid_out_bbox(fig: Figure, dpi: int) -> Bbox:
    """Lay ``fig`` out at ``dpi`` once; its tight bounding box (inches), padded as
    ``savefig`` pads it."""
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    original = fig.dpi
    fig.set_dpi(dpi)
    try:
        fig.draw_without_rendering()
        bbox = fig.get_tightbbox(canvas.get_renderer())
    finally:
        fig.set_dpi(original)
    pad = float(mpl.rcParams["savefig.pad_inches"])
    return bbox.padded(pad)
