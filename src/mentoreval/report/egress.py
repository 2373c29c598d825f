"""The egress scan: the last gate before a report folder is published.

Report stage, after rendering (:mod:`mentoreval.report.render`). :func:`egress_scan` reads
every output (HTML, PDF text, Word text, notebook, CSV, JSON, SVG) and fails if a
pseudonym, raw identifier or free-text answer appears, or a traceback, warning or
``<Axes …>`` repr slipped into the report. :class:`EgressScan` does the same in parts
(the cohort runner scans while the PDF prints) with one verdict at the end.
"""

from __future__ import annotations

import html as html_lib
import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from mentoreval.errors import DisclosureError, Problem, ReportError

__all__ = ["EgressScan", "egress_scan", "files_to_scan", "pdf_text"]

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


def _fail(message: str, *, file: str | None = None) -> ReportError:
    problem = Problem(message, file=file)
    return ReportError(str(problem), (problem,))


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


def files_to_scan(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The files :func:`egress_scan` reads of ``paths``: named files, and the files of the
    kinds it reads (not PNG) in named folders, searched recursively."""
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
) -> list[tuple[str, int, frozenset[str], str]]:
    """(kind, index, ASCII word tokens, exact pattern's source) per forbidden string.

    Every token of a forbidden string is a whole word wherever the string matches (its
    ends carry word boundaries), so a file whose word set lacks one of them cannot match:
    that set test skips the regex for almost every string, which keeps the scan one pass
    per file however many students there are. The regex is compiled only when the test
    passes: compiling one per student up front took 15 s for a consortium's 50,000.
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
                    left + re.escape(text) + right,
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
        return [p for p in files_to_scan(paths) if p not in done]

    def add(self, paths: Iterable[str | os.PathLike[str]]) -> None:
        """Scan ``paths`` (files, or folders searched recursively); remember any leak."""
        for path in files_to_scan(paths):
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
        for kind, index, tokens, source in self._patterns:
            if tokens <= words and re.search(source, search_text, re.IGNORECASE):
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
