"""Rendering an executed report notebook to HTML and PDF, then scanning every output.

Report stage, after :mod:`mentoreval.report.notebook` has executed the template. The HTML comes
from nbconvert's ``HTMLExporter`` with no code (``exclude_input``), sanitised outputs and
the ``mentoreval`` template shipped in this package, which loads nothing from the network
(no require.js, MathJax or Mermaid from a CDN) and carries print CSS (A4 portrait only,
headings kept with what follows them, narrow figures two to a row); a table of contents
made from the report's headings is put before its first section
(:mod:`mentoreval.report.contents`). The PDF is made from that HTML by WeasyPrint, tagged
(PDF/UA-1), with a URL fetcher that refuses anything but ``data:`` and files next to the
HTML.

The egress scan, the last gate, is :mod:`mentoreval.report.egress`; :func:`egress_scan`,
:class:`EgressScan` and :func:`pdf_text` are importable from here too.
"""

from __future__ import annotations

import os
import re
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from mentoreval.errors import Problem, ReportError
from mentoreval.report.contents import add_contents, two_column_contents
from mentoreval.report.egress import EgressScan, egress_scan, pdf_text
from mentoreval.report.runtime import skip_iri_grammars

skip_iri_grammars()  # nbformat/papermill import 1.4 s faster (see its docstring)

__all__ = [
    "REMOVED_TAGS",
    "TEMPLATE_DIR",
    "EgressScan",
    "egress_scan",
    "pdf_text",
    "render_html",
    "render_pdf",
]

#: Cells with these tags never reach the report.
REMOVED_TAGS: tuple[str, ...] = ("injected-parameters", "parameters", "remove-cell", "remove_cell")

#: Folder holding the ``mentoreval`` nbconvert template.
TEMPLATE_DIR = Path(str(files("mentoreval") / "templates" / "nbconvert"))

_STYLE = re.compile(r"<style[^>]*>.*?</style>", re.DOTALL | re.IGNORECASE)
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)


_ALLOWED_TAGS = set(
    [
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "caption",
        "code",
        "col",
        "colgroup",
        "dd",
        "div",
        "dl",
        "dt",
        "em",
        "figcaption",
        "figure",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "img",
        "li",
        "ol",
        "p",
        "pre",
        "small",
        "span",
        "strong",
        "sub",
        "sup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "u",
        "ul",
    ]
)
_ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "*": {"class", "id", "title"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
}
_EXECUTABLE = re.compile(r"<(script|style|iframe|object|embed)\b[^>]*>.*?</\1\s*>", re.S | re.I)


def _clean_html(element: object) -> str:
    """Sanitise HTML from markdown cells and outputs, keeping what a report needs.

    nbconvert's own ``clean_html`` escapes headings, paragraphs and table headers, which
    turns a report into visible markup. This allow-list keeps document structure,
    tables and ``data:`` images, removes scripts, styles and frames with their content,
    drops every other tag (keeping its text), every comment, every attribute not listed
    and every link that leaves the page. The sanitiser is nh3 (Rust's ammonia, an HTML5
    parser); bleach, which nbconvert uses, gave the same document, read as HTML, 7x slower.

    Examples
    --------
    >>> _clean_html('<h2 onclick="x()">Summary</h2><script>alert(1)</script>')
    '<h2>Summary</h2>'
    >>> _clean_html('<a href="https://example.org/x">cite</a> <img src="https://t.co/p.png">')
    '<a>cite</a> <img>'
    >>> _clean_html('<a href="#s2">see</a><!-- note --><blink>!</blink>')
    '<a href="#s2">see</a>!'
    """
    import nh3

    text = element.decode() if isinstance(element, bytes) else str(element)
    text = _EXECUTABLE.sub("", text)
    return nh3.clean(
        text,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"data"},  # relative links (#section, figures/x.png) are kept
        strip_comments=True,
        link_rel=None,  # no rel= added: every kept link is inside the page
    )


def _fail(message: str, *, file: str | None = None, fix: str | None = None) -> ReportError:
    problem = Problem(message, file=file, fix=fix)
    return ReportError(str(problem), (problem,))


# ------------------------------------------------------------------------- HTML


def render_html(
    executed_ipynb: str | os.PathLike[str],
    out_html: str | os.PathLike[str],
    *,
    title: str | None = None,
) -> Path:
    """Render an executed notebook as a code-free, offline, sanitised HTML report.

    Parameters
    ----------
    executed_ipynb
        The notebook written by :func:`mentoreval.report.notebook.run_notebook`.
    out_html
        Where to write the HTML; parent folders are created.
    title
        The HTML ``<title>``; defaults to the notebook's ``metadata.title`` or file name.

    Returns
    -------
    pathlib.Path
        The HTML written. It contains no input cells, no ``parameters`` or
        ``injected-parameters`` cells, no stderr output and no external URL to load, and
        it opens with a linked table of contents (``<nav class="mentoreval-toc">``).

    Raises
    ------
    ReportError
        If the notebook cannot be read or still holds an error output.
    """
    import nbformat
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    source = Path(executed_ipynb)
    try:
        nb = nbformat.read(source, as_version=4)
    except (OSError, ValueError) as exc:
        raise _fail(f"cannot read the notebook: {exc}", file=str(source)) from exc
    for index, cell in enumerate(nb.cells):
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            raise _fail(
                f"cell {index} holds an error; a failed run is never rendered",
                file=str(source),
                fix="fix the failing section and run the report again",
            )
    if title is not None:
        nb.metadata["title"] = title

    config = Config()
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_cell_tags = set(REMOVED_TAGS)
    config.HTMLExporter.exclude_input = True
    config.HTMLExporter.exclude_input_prompt = True
    config.HTMLExporter.exclude_output_prompt = True
    config.HTMLExporter.sanitize_html = True
    config.HTMLExporter.embed_images = False
    config.HTMLExporter.extra_template_basedirs = [str(TEMPLATE_DIR)]
    config.HTMLExporter.template_name = "mentoreval"
    exporter = HTMLExporter(config=config)
    exporter.register_filter("clean_html", _clean_html)
    body, _resources = exporter.from_notebook_node(
        nb, resources={"metadata": {"name": source.stem}}
    )
    # the lab CSS credits its sources in comments; drop them so no URL is left at all
    body = _STYLE.sub(lambda m: _CSS_COMMENT.sub("", m.group(0)), body)
    body = add_contents(body)
    target = Path(out_html)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(body, encoding="utf-8")
    return target


# -------------------------------------------------------------------------- PDF


_OTHER_STYLE = re.compile(r"<style(?![^>]*id=\"mentoreval-css\")[^>]*>.*?</style>", re.DOTALL)


def _print_html(html: str) -> str:
    """The HTML for print: only the report's own stylesheet, the contents in two lists.

    The JupyterLab theme CSS (hundreds of kB of screen rules) is what makes WeasyPrint
    slow; the report's print CSS styles everything the PDF shows. The contents are split
    into two lists side by side (:func:`~mentoreval.report.contents.two_column_contents`),
    which WeasyPrint lays out once, where a CSS two-column list is laid out again and again.

    Examples
    --------
    >>> _print_html('<style>.jp{}</style><style type="text/css" id="mentoreval-css">t{}</style>')
    '<style type="text/css" id="mentoreval-css">t{}</style>'
    """
    return two_column_contents(_OTHER_STYLE.sub("", html))


def render_pdf(
    html: str | os.PathLike[str],
    out_pdf: str | os.PathLike[str],
) -> Path:
    """Print the HTML report to a tagged A4 PDF (PDF/UA-1) with WeasyPrint, offline.

    The PDF carries the HTML's structure (headings as bookmarks and tags, tables, figures
    with their alternative text), its language and its title.

    Only ``data:`` URLs and files inside the HTML's folder may be loaded; any other
    resource (``http(s):``, ``ftp:``, files elsewhere) stops the rendering.

    Parameters
    ----------
    html
        The HTML written by :func:`render_html`.
    out_pdf
        Where to write the PDF; parent folders are created.

    Returns
    -------
    pathlib.Path
        The PDF written.

    Raises
    ------
    ReportError
        If the HTML is missing or tries to load a resource from elsewhere.
    """
    import weasyprint
    from weasyprint.urls import FatalURLFetchingError, URLFetcher

    source = Path(html).resolve()
    if not source.is_file():
        raise _fail("HTML report not found", file=str(source), fix="run render_html first")
    root = source.parent
    refused: list[str] = []

    class _OfflineFetcher(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            scheme = urlparse(url).scheme.lower()
            if scheme == "data":
                return super().fetch(url, headers)
            if scheme == "file":
                path = Path(unquote(urlparse(url).path)).resolve()
                if path.is_relative_to(root):
                    return super().fetch(url, headers)
            refused.append(url[:120])
            raise FatalURLFetchingError(f"refused to load {url[:120]!r}: reports are offline")

    target = Path(out_pdf)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        document = weasyprint.HTML(
            string=_print_html(source.read_text(encoding="utf-8")),
            base_url=str(source),
            url_fetcher=_OfflineFetcher(allowed_protocols=("data", "file")),
        )
        # PDF/UA-1: tagged (headings, tables, figures with their alt text), language and
        # title set, so a screen reader can read the PDF as it reads the HTML
        # presentational hints: figures keep the width and height the report gives them
        document.write_pdf(target, pdf_variant="pdf/ua-1", presentational_hints=True)
    except FatalURLFetchingError as exc:
        raise _fail(
            f"the report tries to load {refused[0] if refused else 'a remote resource'}",
            file=str(source),
            fix="embed the resource; reports must not load anything from the network",
        ) from exc
    return target
