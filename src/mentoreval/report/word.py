"""The report as an editable Word document, made from the rendered HTML.

Report stage (how it is shown). Annual reports are finished in Word, so every report and
brief is also written as ``.docx`` (python-docx) with real structure: the HTML's ``h1`` is
the document title and ``h2``–``h4`` are Word headings 1–3 (so Word's navigation pane and
table of contents work), paragraphs keep their bold and italics, lists are Word lists,
tables are Word tables (header row repeated on each page, caption above), and figures are
embedded pictures with their alternative text and caption. The HTML's table of contents
becomes a Word TOC field (listing the headings until Word updates it with page numbers).
Nothing is added that the HTML does not hold, so the egress scan of the HTML holds for the
Word file too, and :func:`mentoreval.report.egress.egress_scan` reads the ``.docx`` as well.
"""

from __future__ import annotations

import base64
import io
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from docx.document import Document as DocxDocument
    from docx.table import _Cell
    from docx.text.paragraph import Paragraph

__all__ = ["docx_scan_text", "docx_text", "html_to_docx"]

_HEADINGS = {"h1": 0, "h2": 1, "h3": 2, "h4": 3, "h5": 4, "h6": 4}
_SKIPPED = {"script", "style", "head", "title", "meta", "link", "noscript", "template"}
_BLOCKS = {"p", "ul", "ol", "table", "figure", "blockquote", "pre", "nav", "dl", "hr"}
_SPACES = re.compile(r"\s+")
_PAGE_WIDTH_IN = 6.3  # A4 with 20 mm margins


def _classes(el: Any) -> set[str]:
    return set((el.get("class") or "").split())


def _text(el: Any) -> str:
    return _SPACES.sub(" ", el.text_content()).strip()


class _Writer:
    """Walks the HTML body and writes Word blocks; one instance per document."""

    def __init__(self, doc: DocxDocument):
        self.doc = doc

    # -- inline content
    def inline(self, par: Paragraph, el: Any, bold: bool = False, italic: bool = False) -> None:
        """Runs for ``el``'s text and children (not its tail)."""
        tag = el.tag if isinstance(el.tag, str) else ""
        if "anchor-link" in _classes(el):
            return
        bold = bold or tag in ("strong", "b", "th")
        italic = italic or tag in ("em", "i")
        if tag == "br":
            par.add_run().add_break()
            return
        self._run(par, el.text, bold, italic, code=tag == "code")
        for child in el:
            if isinstance(child.tag, str) and child.tag not in _SKIPPED:
                self.inline(par, child, bold, italic)
            self._run(par, child.tail, bold, italic)

    def _run(self, par: Paragraph, text: str | None, bold: bool, italic: bool, *,
             code: bool = False) -> None:  # fmt: skip
        if not text:
            return
        text = _SPACES.sub(" ", text)
        if not par.runs:
            text = text.lstrip()
        if not text:
            return
        run = par.add_run(text)
        run.bold = bold or None
        run.italic = italic or None
        if code:
            run.font.name = "Consolas"

    # -- blocks
    def block(self, el: Any) -> None:
        tag = el.tag if isinstance(el.tag, str) else ""
        classes = _classes(el)
        if tag in _SKIPPED or "jp-Collapser" in classes or "anchor-link" in classes:
            return
        if "mentoreval-page-break" in classes:
            self.doc.add_page_break()
        elif tag in _HEADINGS:
            text = _SPACES.sub(" ", "".join(_heading_text(el))).strip()
            if text:
                self.doc.add_heading(text, level=_HEADINGS[tag])
        elif tag == "nav" and "mentoreval-toc" in classes:
            self.contents(el)
        elif tag == "p":
            self.paragraph(el)
        elif tag in ("ul", "ol"):
            self.listing(el, tag, 1)
        elif tag == "blockquote":
            for child in el:
                par = self.doc.add_paragraph(style="Quote")
                self.inline(par, child)
        elif tag == "table":
            self.table(el)
        elif tag == "figure":
            self.figure(el)
        elif tag == "img":
            self.picture(el, self.doc.add_paragraph())
        elif tag == "pre":
            par = self.doc.add_paragraph()
            self._run(par, el.text_content(), False, False, code=True)
        else:
            self.container(el)

    def container(self, el: Any) -> None:
        """A ``div`` and the like: its block children, and loose text as paragraphs."""
        loose: Paragraph | None = None

        def text(value: str | None) -> None:
            nonlocal loose
            if value and value.strip():
                loose = loose or self.doc.add_paragraph()
                self._run(loose, value, False, False)

        text(el.text)
        for child in el:
            tag = child.tag if isinstance(child.tag, str) else ""
            if (
                tag in _HEADINGS
                or tag in _BLOCKS
                or tag in ("div", "section", "main", "img", "article", "header", "footer")
            ):
                loose = None
                self.block(child)
            elif tag and tag not in _SKIPPED:
                loose = loose or self.doc.add_paragraph()
                self.inline(loose, child)
            text(child.tail)

    def paragraph(self, el: Any, style: str | None = None) -> None:
        if not _text(el) and el.find(".//img") is None:
            return
        if el.find(".//img") is not None:
            self.container(el)
            return
        par = self.doc.add_paragraph(style=style)
        self.inline(par, el)

    def listing(self, el: Any, tag: str, level: int) -> None:
        base = "List Bullet" if tag == "ul" else "List Number"
        style = base if level == 1 else f"{base} {min(level, 3)}"
        for item in el:
            if not isinstance(item.tag, str) or item.tag != "li":
                continue
            par = self.doc.add_paragraph(style=style)
            self._run(par, item.text, False, False)
            for child in item:
                if child.tag in ("ul", "ol"):
                    self.listing(child, child.tag, level + 1)
                elif isinstance(child.tag, str):
                    self.inline(par, child)
                self._run(par, child.tail, False, False)

    def contents(self, nav: Any) -> None:
        """A Word TOC field; until Word updates it, it lists the HTML contents' entries."""
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn

        title = nav.find(".//p")
        self.doc.add_paragraph(_text(title) if title is not None else "Contents", "TOC Heading")
        entries = [_text(a) for a in nav.iter("a")]
        par = self.doc.add_paragraph()

        def field(kind: str) -> None:
            char = OxmlElement("w:fldChar")
            char.set(qn("w:fldCharType"), kind)
            par.add_run()._r.append(char)

        field("begin")
        instr = OxmlElement("w:instrText")
        instr.set(qn("xml:space"), "preserve")
        instr.text = 'TOC \\o "1-3" \\h \\z \\u'
        par.add_run()._r.append(instr)
        field("separate")
        for i, entry in enumerate(entries):
            run = par.add_run(entry)
            if i < len(entries) - 1:
                run.add_break()
        field("end")
        settings = self.doc.settings.element
        if settings.find(qn("w:updateFields")) is None:
            update = OxmlElement("w:updateFields")
            update.set(qn("w:val"), "true")
            settings.append(update)

    def table(self, el: Any) -> None:
        """A Word table, built row by row on the table's XML.

        Each ``w:tr`` is appended once and its cells are made in place (a spanning cell
        gets ``w:gridSpan``, short rows are padded with empty cells). Looking cells up
        through ``Table.cell`` rebuilds the table's whole cell list on every call, which made
        a table of a few hundred rows take minutes (quadratic in its size).
        """
        from docx.enum.text import WD_ALIGN_PARAGRAPH
        from docx.shared import Pt
        from docx.table import _Cell

        caption = el.find("caption")
        if caption is not None and _text(caption):
            self.doc.add_paragraph(_text(caption), style="Caption")
        rows = [[c for c in tr if c.tag in ("td", "th")] for tr in el.iter("tr")]
        if not rows:
            return
        widths = [sum(int(c.get("colspan") or 1) for c in cells) for cells in rows]
        n_cols = max(widths)
        table = self.doc.add_table(rows=0, cols=n_cols, style="Table Grid")
        grid = [col.w for col in table._tbl.tblGrid.gridCol_lst]
        size = Pt(7 if n_cols > 10 else 8.5)
        for r, cells in enumerate(rows):
            tr = table._tbl.add_tr()
            col = 0
            for cell_el in cells:
                span = int(cell_el.get("colspan") or 1)
                cell = _Cell(_add_tc(tr, grid[col : col + span]), table)
                self._cell(cell, cell_el, size)
                if col > 0:
                    for par in cell.paragraphs:
                        par.alignment = WD_ALIGN_PARAGRAPH.RIGHT
                col += span
            for pad in range(col, n_cols):
                _add_tc(tr, grid[pad : pad + 1])
            if r == 0 and all(c.tag == "th" for c in cells):
                _repeat_header(tr)

    def _cell(self, cell: _Cell, el: Any, size: Any) -> None:
        par = cell.paragraphs[0]
        self.inline(par, el, bold=el.tag == "th")
        for run in par.runs:
            run.font.size = size

    def figure(self, el: Any) -> None:
        img = el.find(".//img")
        if img is not None:
            self.picture(img, self.doc.add_paragraph())
        caption = el.find(".//figcaption")
        if caption is not None and _text(caption):
            self.doc.add_paragraph(_text(caption), style="Caption")

    def picture(self, img: Any, par: Paragraph) -> None:
        from docx.shared import Inches

        src = img.get("src") or ""
        if not src.startswith("data:image/") or ";base64," not in src:
            return  # reports embed their images; anything else is not ours to fetch
        data = base64.b64decode(src.split(";base64,", 1)[1])
        width_px = float(img.get("width") or 0) or 600.0
        half = "mentoreval-half" in _classes(img.getparent())
        width = min(width_px / 96.0, _PAGE_WIDTH_IN / 2 if half else _PAGE_WIDTH_IN)
        shape = par.add_run().add_picture(io.BytesIO(data), width=Inches(width))
        alt = img.get("alt") or ""
        shape._inline.docPr.set("descr", alt)
        shape._inline.docPr.set("title", alt[:120])


def _heading_text(el: Any) -> list[str]:
    """A heading's text without its permalink ("¶")."""
    parts = [el.text or ""]
    for child in el:
        if "anchor-link" not in _classes(child):
            parts.extend(_heading_text(child))
        parts.append(child.tail or "")
    return parts


def _add_tc(tr: Any, grid: list[Any]) -> Any:
    """A new cell at the end of the row ``tr``, spanning the grid columns ``grid``."""
    tc = tr.add_tc()
    if all(w is not None for w in grid):
        tc.width = sum(grid)
    if len(grid) > 1:
        tc.grid_span = len(grid)
    return tc


def _repeat_header(tr: Any) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    props = tr.get_or_add_trPr()
    flag = OxmlElement("w:tblHeader")
    flag.set(qn("w:val"), "true")
    props.append(flag)


def html_to_docx(
    html: str | os.PathLike[str],
    out_docx: str | os.PathLike[str],
) -> Path:
    """Write a rendered report (HTML file) as an editable Word document.

    Parameters
    ----------
    html
        The HTML written by :func:`mentoreval.report.render.render_html` or a brief; its
        images must be embedded (``data:`` URLs), as the report's are.
    out_docx
        Where to write the ``.docx``; parent folders are created.

    Returns
    -------
    pathlib.Path
        The Word file: A4 portrait, title and language from the HTML, headings, lists,
        tables and pictures (with their alternative text) as Word structures.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     page = Path(d) / "r.html"
    ...     _ = page.write_text('<html lang="en-GB"><head><title>Report</title></head><body>'
    ...         '<h1>Report</h1><h2 id="s">1. Summary</h2><p>A <strong>small</strong> change.</p>'
    ...         '<table><caption>Table 1. Counts</caption><tr><th>Wave</th><th>n</th></tr>'
    ...         '<tr><td>pre</td><td>40</td></tr></table></body></html>')
    ...     print(docx_text(html_to_docx(page, Path(d) / "r.docx")))
    Report
    1. Summary
    A small change.
    Table 1. Counts
    Wave | n
    pre | 40
    """
    import docx
    import lxml.html
    from docx.shared import Mm

    source = Path(html)
    tree = lxml.html.fromstring(source.read_bytes())
    doc = docx.Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Mm(20))
    title = tree.find(".//title")
    doc.core_properties.title = _text(title) if title is not None else source.stem
    doc.core_properties.language = tree.get("lang") or "en"
    doc.core_properties.author = "mentoreval"
    body = tree.find(".//main")
    if body is None:
        body = tree.find(".//body")
    _Writer(doc).container(body if body is not None else tree)
    target = Path(out_docx)
    target.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(target))
    return target


def docx_text(path: str | os.PathLike[str]) -> str:
    """The visible text of a Word file: paragraphs and table rows (cells joined by ``|``),
    in document order.

    Examples
    --------
    >>> docx_text("brief.docx")  # doctest: +SKIP
    'Peer mentoring 2025: brief\\n...'
    """
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    doc = docx.Document(str(path))
    lines: list[str] = []
    for block in doc.iter_inner_content():
        if isinstance(block, Paragraph):
            if block.text.strip():
                lines.append(block.text)
        elif isinstance(block, Table):
            for row in block.rows:
                lines.append(" | ".join(c.text for c in row.cells))
    return "\n".join(lines)


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_TEXT_ATTRIBUTES = ("descr", "title", "name")


def docx_scan_text(path: str | os.PathLike[str]) -> str:
    """Every text a Word file holds, for the egress scan: each paragraph's runs joined (a
    word split over runs is found whole), headers, footers, notes, comments, document
    properties and pictures' alternative texts and titles.

    Attribute values other than those texts (sizes, ids) are not read: a seven-digit
    picture size must not look like a student number.

    Examples
    --------
    >>> import tempfile
    >>> import docx
    >>> with tempfile.TemporaryDirectory() as d:
    ...     doc = docx.Document()
    ...     par = doc.add_paragraph("id p-7f")
    ...     _ = par.add_run("3a9c")
    ...     doc.save(f"{d}/t.docx")
    ...     "p-7f3a9c" in docx_scan_text(f"{d}/t.docx")
    True
    """
    import zipfile

    from defusedxml import ElementTree

    out: list[str] = []
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise ValueError(f"not a Word file: {exc}") from exc
    with archive:
        for name in archive.namelist():
            if not name.endswith(".xml"):
                continue
            try:
                root = ElementTree.fromstring(archive.read(name))
            except ElementTree.ParseError as exc:
                raise ValueError(f"{name} is not well-formed XML: {exc}") from exc
            for el in root.iter():
                if el.tag == _W + "p":
                    out.append("".join(t.text or "" for t in el.iter(_W + "t")))
                elif el.tag != _W + "t" and el.text and el.text.strip():
                    out.append(el.text)
                out.extend(v for k, v in el.attrib.items() if k in _TEXT_ATTRIBUTES)
    return "\n".join(out)
