"""Numbered figures and tables, laid out for a page: the building blocks of a report's body.

Report stage (how it is shown). A report numbers its figures and tables in reading order
(:class:`Numbering`), refers to them by number from the text (:func:`refs`) and shows each
figure as an HTML ``<figure>`` with its alternative text, its caption and a width taken from
the image itself (:func:`figure_html`): a chart drawn up to :data:`HALF_WIDTH_IN` inches
wide sits beside the next one (two to a row on an A4 page), a wider one takes the row at
:data:`FULL_SCALE`, and a tall one shrinks towards :data:`MAX_HEIGHT_IN` but never so far
that its labels become unreadable (:data:`MIN_SCALE`). The stylesheet in
``templates/nbconvert/mentoreval`` styles the classes used here; the PDF, the Word file and
the brief read the same markup.
"""

from __future__ import annotations

import base64
import html
import struct
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "FULL_SCALE",
    "HALF_WIDTH_IN",
    "MAX_HEIGHT_IN",
    "MIN_SCALE",
    "PAGE_HEIGHT_IN",
    "Numbering",
    "figure_html",
    "figures_html",
    "png_size",
    "refs",
    "table_caption",
]

#: Charts drawn up to this width (inches) are shown two to a row.
HALF_WIDTH_IN = 5.4

#: No chart is shown taller than this (inches at print size); wider ones shrink to fit.
MAX_HEIGHT_IN = 5.2

#: Charts that take a whole row are shown at this share of their drawn size (an A4 text
#: column is 7 inches wide; their 8–9 pt labels stay above 7 pt).
FULL_SCALE = 0.85

#: A tall chart shrinks towards :data:`MAX_HEIGHT_IN`, but never below this share of its
#: drawn size (8 pt labels stay above 5.5 pt) unless it would not fit on a page.
MIN_SCALE = 0.7

#: The tallest a chart can be shown (inches): an A4 page's text height less a caption.
PAGE_HEIGHT_IN = 8.8

_CSS_PX_PER_IN = 96


@dataclass
class Numbering:
    """Figure and table numbers, handed out in reading order.

    Examples
    --------
    >>> n = Numbering()
    >>> n.figure(), n.figure(), n.table()
    (1, 2, 1)
    """

    figures: int = 0
    tables: int = 0

    def figure(self) -> int:
        """The next figure number."""
        self.figures += 1
        return self.figures

    def table(self) -> int:
        """The next table number."""
        self.tables += 1
        return self.tables


def refs(kind: str, numbers: Sequence[int]) -> str:
    """How the text names some figures or tables: ``Figure 3``, ``Figures 3–5``, ``Tables 1 and 4``.

    Examples
    --------
    >>> refs("Figure", [3]), refs("Figure", [3, 4, 5]), refs("Table", [1, 4]), refs("Table", [])
    ('Figure 3', 'Figures 3–5', 'Tables 1 and 4', '')
    >>> refs("Table", [1, 2, 5])
    'Tables 1, 2 and 5'
    """
    ns = sorted(set(numbers))
    if not ns:
        return ""
    if len(ns) == 1:
        return f"{kind} {ns[0]}"
    if len(ns) > 2 and ns == list(range(ns[0], ns[-1] + 1)):
        return f"{kind}s {ns[0]}–{ns[-1]}"
    return f"{kind}s " + ", ".join(str(n) for n in ns[:-1]) + f" and {ns[-1]}"


def table_caption(number: int, caption: str) -> str:
    """A table's caption with its number.

    Examples
    --------
    >>> table_caption(2, "Responses per wave")
    'Table 2. Responses per wave'
    """
    return f"Table {number}. {caption}"


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height in pixels of a PNG, from its header.

    Examples
    --------
    >>> png_size(b"\\x89PNG\\r\\n\\x1a\\n" + b"\\0\\0\\0\\rIHDR" + (640).to_bytes(4, "big")
    ...          + (480).to_bytes(4, "big"))
    (640, 480)
    """
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG image")
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def figure_html(
    png: bytes,
    *,
    number: int,
    alt: str,
    caption: str | None = None,
    dpi: int = 150,
    max_height_in: float = MAX_HEIGHT_IN,
) -> str:
    """A numbered figure: the image inline, its alternative text, its caption.

    Parameters
    ----------
    png
        The image (as saved by :func:`~mentoreval.report.figures.saving.save_figure`).
    number
        Its figure number (from :class:`Numbering`).
    alt
        What the figure shows, in words (from :mod:`mentoreval.report.alttext`).
    caption
        Shown under the figure after "Figure n."; defaults to nothing more.
    dpi
        The resolution the PNG was saved at, to recover its drawn size.
    max_height_in
        The tallest it should be shown (inches): a taller chart shrinks towards it, but
        not below :data:`MIN_SCALE` of its drawn size unless it would not fit on a page
        (:data:`PAGE_HEIGHT_IN`), so its labels stay legible.

    Returns
    -------
    str
        ``<figure class="mentoreval-figure">`` (plus ``mentoreval-half`` when it is narrow
        enough to share a row), the ``<img>`` with ``alt``, ``width`` and ``height`` in CSS
        pixels (see ``max_height_in``).

    Examples
    --------
    >>> png = (b"\\x89PNG\\r\\n\\x1a\\n\\0\\0\\0\\rIHDR" + (720).to_bytes(4, "big")
    ...        + (540).to_bytes(4, "big"))
    >>> out = figure_html(png, number=3, alt="Chart of <x>", caption="Wellbeing")
    >>> 'class="mentoreval-figure mentoreval-half"' in out, 'alt="Chart of &lt;x&gt;"' in out
    (True, True)
    >>> 'width="461" height="346"' in out, "<figcaption>Figure 3. Wellbeing</figcaption>" in out
    (True, True)
    """
    width, height = png_size(png)
    w_in, h_in = width / dpi, height / dpi
    half = w_in <= HALF_WIDTH_IN
    scale = 1.0 if half else FULL_SCALE
    if h_in * scale > max_height_in:
        scale = max(max_height_in / h_in, min(MIN_SCALE, scale))
    if h_in * scale > PAGE_HEIGHT_IN:
        scale = PAGE_HEIGHT_IN / h_in
    w_in, h_in = w_in * scale, h_in * scale
    classes = "mentoreval-figure" + (" mentoreval-half" if half else "")
    text = f"Figure {number}." + (f" {caption}" if caption else "")
    source = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return (
        f'<figure class="{classes}"><img src="{source}" alt="{html.escape(alt, quote=True)}" '
        f'width="{round(w_in * _CSS_PX_PER_IN)}" height="{round(h_in * _CSS_PX_PER_IN)}">'
        f"<figcaption>{html.escape(text, quote=False)}</figcaption></figure>"
    )


def figures_html(figures: Sequence[str]) -> str:
    """Figures in one block, so narrow ones sit two to a row.

    Examples
    --------
    >>> figures_html(["<figure>a</figure>", "<figure>b</figure>"])
    '<div class="mentoreval-figures"><figure>a</figure><figure>b</figure></div>'
    """
    return '<div class="mentoreval-figures">' + "".join(figures) + "</div>"
