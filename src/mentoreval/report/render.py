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

:func:`egress_scan` is the last gate: it reads every output (HTML, PDF text, Word text,
notebook, CSV, JSON, SVG) and fails if a pseudonym, raw identifier or free-text answer appears, or
a traceback, warning or ``<Axes …>`` repr slipped into the report.
"""

from __future__ import annotations

import html as html_lib
import json
import os
import re
from collections.abc import Iterable, Mapping
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from mentoreval.errors import DisclosureError, Problem, ReportError
from mentoreval.report.contents import add_contents, two_column_contents
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

_SCANNED_SUFFIXES = (
    ".html", ".htm", ".pdf", ".docx", ".ipynb", ".csv", ".json", ".svg", ".txt", ".md",
)  # fmt: skip

# Generic leaks: text that must never appear in a rendered output.
_GENERIC: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("Python traceback", re.compile(r"Traceback \(most recent call last\)")),
    ("Python traceback", re.compile(r"^\s*File \"[^\"]+\", line \d+", re.MULTILINE)),
    ("matplotlib repr", re.compile(r"<(?:Axes|AxesSubplot|Figure size|matplotlib\.)")),
    ("Python warning", re.compile(r"\b[A-Z]\w*Warning: ")),
    ("object repr", re.compile(r"<[\w.]+ object at 0x[0-9a-fA-F]+>")),
)


_STYLE = re.compile(r"<style[^>]*>.*?</style>", re.DOTALL | re.IGNORECASE)
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)


_ALLOWED_TAGS = frozenset(
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
_ALLOWED_ATTRIBUTES: dict[str, list[str]] = {
    "*": ["class", "id", "title"],
    "a": ["href"],
    "img": ["src", "alt", "width", "height"],
    "td": ["colspan", "rowspan"],
    "th": ["colspan", "rowspan", "scope"],
}
_EXECUTABLE = re.compile(r"<(script|style|iframe|object|embed)\b[^>]*>.*?</\1\s*>", re.S | re.I)


def _clean_html(element: object) -> str:
    """Sanitise HTML from markdown cells and outputs, keeping what a report needs.

    nbconvert's own ``clean_html`` escapes headings, paragraphs and table headers, which
    turns a report into visible markup. This allow-list keeps document structure,
    tables and ``data:`` images, removes scripts, styles and frames with their content,
    drops every other tag and every link that leaves the page.

    Examples
    --------
    >>> _clean_html('<h2 onclick="x()">Summary</h2><script>alert(1)</script>')
    '<h2>Summary</h2>'
    >>> _clean_html('<a href="https://example.org/x">cite</a> <img src="https://t.co/p.png">')
    '<a>cite</a> <img>'
    """
    import bleach

    text = element.decode() if isinstance(element, bytes) else str(element)
    text = _EXECUTABLE.sub("", text)
    return str(
        bleach.clean(
            text,
            tags=_ALLOWED_TAGS,
            attributes=_ALLOWED_ATTRIBUTES,
            protocols=["data"],
            strip=True,
            strip_comments=True,
        )
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


# ------------------------------------------------------------------ egress scan


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def _notebook_texts(raw: str) -> tuple[str, str]:
    """(all text, visible text) of a notebook: visible skips fallback reprs of images."""
    nb = json.loads(raw)
    everything = json.dumps(nb, ensure_ascii=False)
    visible: list[str] = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            visible.append("".join(cell.get("source", "")))
        for output in cell.get("outputs", []):
            kind = output.get("output_type")
            if kind == "error":
                visible.append("Traceback (most recent call last) [error output]")
                visible.extend(output.get("traceback", []))
            elif kind == "stream":
                visible.append("".join(output.get("text", "")))
            elif kind in ("display_data", "execute_result"):
                data = output.get("data", {})
                for mime, value in data.items():
                    if mime == "text/plain" and len(data) > 1:
                        continue  # the fallback of an image or HTML table, never shown
                    if mime.startswith("text/") or mime.endswith("+xml") or mime.endswith("json"):
                        visible.append(value if isinstance(value, str) else "".join(value))
    return everything, "\n".join(visible)


def pdf_text(path: str | os.PathLike[str]) -> str:
    """The text of every page of a PDF, as PDFium (``pypdfium2``) reads it, pages joined by
    newlines.

    PDFium reads a 22-page report in well under a second (pypdf took about 2 s), and it
    keeps every character of the page's text layer, so the scan sees what a reader copying
    from the PDF would get.

    Raises
    ------
    ValueError
        If the file is not a PDF PDFium can open.

    Examples
    --------
    >>> import tempfile, weasyprint
    >>> with tempfile.TemporaryDirectory() as d:
    ...     pdf = Path(d) / "t.pdf"
    ...     weasyprint.HTML(string="<p>Cohort 2025: 40 students</p>").write_pdf(pdf)
    ...     pdf_text(pdf).strip()
    'Cohort 2025: 40 students'
    """
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(Path(path))
    except pdfium.PdfiumError as exc:
        raise ValueError(f"not a readable PDF ({exc})") from exc
    try:
        pages = []
        for index in range(len(document)):
            page = document[index]
            textpage = page.get_textpage()
            pages.append(textpage.get_text_range())
            textpage.close()
            page.close()
        return "\n".join(pages)
    finally:
        document.close()


def _texts(path: Path) -> tuple[str, str]:
    """(text searched for forbidden strings, text searched for generic leaks)."""
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        text = pdf_text(path)
        return text, text
    if suffix == ".docx":
        from mentoreval.report.word import docx_scan_text

        text = docx_scan_text(path)
        return text, text
    raw = path.read_text(encoding="utf-8", errors="replace")
    if suffix == ".ipynb":
        return _notebook_texts(raw)
    if suffix == ".json":
        try:
            decoded = json.dumps(json.loads(raw), ensure_ascii=False)
        except json.JSONDecodeError:
            decoded = raw
        return raw + "\n" + decoded, raw
    if suffix in (".html", ".htm", ".svg"):
        unescaped = html_lib.unescape(raw)
        return raw + "\n" + unescaped, unescaped
    return raw, raw


def _collect(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    found: list[Path] = []
    for entry in paths:
        path = Path(entry)
        if path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*") if p.suffix.lower() in _SCANNED_SUFFIXES)
            )
        elif path.is_file():
            found.append(path)
        else:
            raise _fail("output to scan not found", file=str(path))
    return found


_TOKEN = re.compile(r"[0-9a-z]+")


def _patterns(
    forbidden: Iterable[str] | Mapping[str, Iterable[str]],
) -> list[tuple[str, int, frozenset[str], re.Pattern[str]]]:
    """(kind, index, ASCII word tokens, exact pattern) per forbidden string.

    Every token of a forbidden string is a whole word wherever the string matches (its
    ends carry word boundaries), so a file whose word set lacks one of them cannot match:
    that set test skips the regex for almost every string, which keeps the scan one pass
    per file however many students there are.
    """
    groups: Mapping[str, Iterable[str]] = (
        forbidden if isinstance(forbidden, Mapping) else {"forbidden string": forbidden}
    )
    compiled = []
    for kind, values in groups.items():
        for index, value in enumerate(values):
            text = _normalise(str(value)).strip()
            if not text:
                continue
            # word boundaries only where the token itself starts/ends with a word character
            left = r"(?<![0-9A-Za-z])" if text[0].isalnum() else ""
            right = r"(?![0-9A-Za-z])" if text[-1].isalnum() else ""
            compiled.append(
                (
                    kind,
                    index,
                    frozenset(_TOKEN.findall(text.lower())),
                    re.compile(left + re.escape(text) + right, re.IGNORECASE),
                )
            )
    return compiled


def egress_scan(
    paths: Iterable[str | os.PathLike[str]],
    *,
    forbidden: Iterable[str] | Mapping[str, Iterable[str]] = (),
) -> list[Path]:
    """Fail if any output contains a forbidden string, a traceback or a repr.

    Parameters
    ----------
    paths
        Files or folders (searched recursively) to scan: ``.html``, ``.pdf`` (its text,
        via PDFium), ``.docx`` (its text, alternative texts and properties), ``.ipynb``,
        ``.csv``, ``.json``, ``.svg`` (plus ``.txt``/``.md``).
        Other files in a folder (PNG) are skipped; a named file is always scanned.
    forbidden
        Strings that must not appear (case-insensitive, whitespace-normalised, not
        inside a longer word): pseudonyms, raw identifiers, free-text answers. Either a
        plain list, or a mapping from the kind of string (``"pseudonym"``, ``"raw id"``,
        ``"free text"``) to a list, so the error names the kind of leak.

    Returns
    -------
    list of pathlib.Path
        The files scanned.

    Raises
    ------
    DisclosureError
        Listing each file and the kind of leak; the forbidden value itself is not
        repeated (only its kind and position in the list).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = (Path(d) / "t.csv").write_text("scale,n\\ntotal,40\\n")
    ...     [p.name for p in egress_scan([d], forbidden={"pseudonym": ["p-7f3a9c"]})]
    ['t.csv']
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = (Path(d) / "t.csv").write_text("id,n\\nP-7F3A9C,1\\n")
    ...     egress_scan([d], forbidden={"pseudonym": ["p-7f3a9c"]})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mentoreval.errors.DisclosureError: egress scan failed: 1 leak in 1 file
      - ...t.csv: pseudonym #1 found (fix: remove it from the output and rerun)
    """
    scan = EgressScan(forbidden)
    scan.add(paths)
    scan.check()
    return scan.scanned


class EgressScan:
    """An egress scan done in parts, reported once: :meth:`add` scans files as they are
    finished, :meth:`check` fails with every leak found in any part.

    The cohort runner scans the report folder while the helper process prints the PDF,
    then the PDF and the manifest (:meth:`pending` lists what is left), then checks.
    :func:`egress_scan` is the one-part form; see it for what is searched and reported.

    Parameters
    ----------
    forbidden
        As for :func:`egress_scan`.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "t.csv").write_text("scale,n\\ntotal,40\\n")
    >>> scan = EgressScan({"pseudonym": ["p-7f3a9c"]})
    >>> scan.add([d / "t.csv"])
    >>> _ = (d / "u.json").write_text('{"id": "P-7F3A9C"}')
    >>> [p.name for p in scan.pending([d])]
    ['u.json']
    >>> scan.add(scan.pending([d]))
    >>> scan.check()  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mentoreval.errors.DisclosureError: egress scan failed: 1 leak in 1 file
      - ...u.json: pseudonym #1 found (fix: remove it from the output and rerun)
    >>> import shutil; shutil.rmtree(d)
    """

    def __init__(self, forbidden: Iterable[str] | Mapping[str, Iterable[str]] = ()) -> None:
        self._patterns = _patterns(forbidden)
        self.scanned: list[Path] = []
        self.problems: list[Problem] = []
        self._leaky: set[Path] = set()

    def pending(self, paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
        """The files in ``paths`` (as :func:`egress_scan` collects them) not scanned yet."""
        done = set(self.scanned)
        return [p for p in _collect(paths) if p not in done]

    def add(self, paths: Iterable[str | os.PathLike[str]]) -> None:
        """Scan ``paths`` (files, or folders searched recursively); remember any leak."""
        for path in _collect(paths):
            self.scanned.append(path)
            self._scan_file(path)

    def _scan_file(self, path: Path) -> None:
        try:
            search_text, generic_text = _texts(path)
        except (OSError, ValueError) as exc:
            self._report(Problem(f"cannot be read for scanning: {exc}", file=str(path)))
            return
        search_text = _normalise(search_text)
        words = set(_TOKEN.findall(search_text.lower()))
        for kind, index, tokens, pattern in self._patterns:
            if tokens <= words and pattern.search(search_text):
                self._report(
                    Problem(
                        f"{kind} #{index + 1} found",
                        file=str(path),
                        fix="remove it from the output and rerun",
                    )
                )
        seen: set[str] = set()
        for kind, pattern in _GENERIC:
            if kind not in seen and pattern.search(generic_text):
                seen.add(kind)
                self._report(
                    Problem(
                        f"{kind} found",
                        file=str(path),
                        fix="end plot cells with ';' and let no error or warning reach the report",
                    )
                )

    def _report(self, problem: Problem) -> None:
        self.problems.append(problem)
        self._leaky.add(Path(str(problem.file)))

    def check(self) -> None:
        """Raise :class:`~mentoreval.errors.DisclosureError` listing every leak found."""
        if self.problems:
            count, files = len(self.problems), len(self._leaky)
            noun = "leak" if count == 1 else "leaks"
            files_noun = "file" if files == 1 else "files"
            raise DisclosureError(
                f"egress scan failed: {count} {noun} in {files} {files_noun}", self.problems
            )
