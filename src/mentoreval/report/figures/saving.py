"""Saving report figures: PNG and SVG, byte-for-byte reproducible (fixed ``svg.hashsalt``,
no dates in the metadata).

Report stage (how it is drawn).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from matplotlib.figure import Figure

from mentoreval.report.figures.base import (
    HASHSALT,
    fail,
    report_rc,
)

__all__ = ["save_figure"]


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
    allowed = ("png", "svg")
    bad = [f for f in formats if f not in allowed]
    if bad:
        raise fail(f"unknown figure format(s) {bad}", fix=f"use {allowed}")
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    written = []
    metadata: dict[str, dict[str, Any]] = {
        "svg": {"Date": None, "Creator": "mentoreval"},
        "png": {"Software": "mentoreval"},
    }
    for fmt in formats:
        target = stem.with_name(stem.name + f".{fmt}")
        with report_rc({"svg.hashsalt": HASHSALT, "svg.fonttype": "none"}):
            fig.savefig(target, format=fmt, dpi=dpi, metadata=metadata[fmt], bbox_inches="tight")
        written.append(target)
    return written
