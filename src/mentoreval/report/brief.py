"""The brief: the two pages a committee member reads when they read nothing else.

Report stage (how it is shown). A :class:`Brief` holds what the brief says — the title, the
design in one sentence, one plain line per primary outcome with its number and interval,
one figure, the caveats that change how to read it and where the full report is — and
:func:`write_brief` writes it as ``brief.html``, ``brief.pdf`` (tagged, A4, at most two
pages) and ``brief.docx``. The cohort and annual reports fill a :class:`Brief` from the
same disclosure-controlled results as the full report (``report.cohort.brief``,
``report.annual.brief``); every text is escaped here, and the runners' egress scan reads
the three files like every other output.
"""

from __future__ import annotations

import html
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mentoreval.report.layout import figure_html

__all__ = ["BRIEF_CSS", "Brief", "BriefFigure", "brief_html", "fits_brief", "write_brief"]


@dataclass(frozen=True)
class BriefFigure:
    """The brief's one figure: a PNG, what it shows in words, and its caption."""

    png: bytes
    alt: str
    caption: str


@dataclass(frozen=True)
class Brief:
    """What a brief says, as plain text (no markup).

    Attributes
    ----------
    title
        The report's title (from the config).
    facts
        One line under the title (programme, cohort, date).
    design
        The design in one sentence.
    findings_intro
        What the numbers below are (one sentence).
    findings
        ``(outcome, sentence)`` per primary outcome: the judgement in words with the number
        and its interval.
    caveats
        ``(title, sentence)`` per caveat that changes how to read the findings.
    notices
        Notices that must be seen first (disclosure off, everything suppressed).
    full_report
        The full report's file stem next to the brief (``cohort_report``).
    figure
        The one figure, or ``None``.
    lang
        The language of the text (HTML ``lang``, PDF and Word language).
    """

    title: str
    facts: str
    design: str
    findings_intro: str
    findings: tuple[tuple[str, str], ...]
    caveats: tuple[tuple[str, str], ...]
    full_report: str
    notices: tuple[str, ...] = ()
    figure: BriefFigure | None = field(default=None, repr=False)
    lang: str = "en"


#: The brief's stylesheet: A4 portrait, compact, high-contrast.
BRIEF_CSS = """
@page { size: A4; margin: 16mm 17mm 16mm 17mm;
  @bottom-right { content: "Brief · page " counter(page) " of " counter(pages);
    font-size: 8pt; color: #444; } }
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: #1a1a1a;
  font-size: 10.5pt; line-height: 1.4; max-width: 46rem; margin: 0 auto; padding: 1rem; }
header p.kicker { text-transform: uppercase; letter-spacing: .08em; font-size: 8.5pt;
  color: #0b4a78; margin: 0; font-weight: bold; }
h1 { font-size: 18pt; margin: .1em 0 .15em; border-bottom: 2px solid #0072B2;
  padding-bottom: .15em; }
p.facts { color: #333; margin: .2em 0 .8em; font-size: 9.5pt; }
h2 { font-size: 12.5pt; color: #0b4a78; margin: 1em 0 .3em; break-after: avoid; }
ul { margin: .2em 0 .4em; padding-left: 1.2em; }
li { margin: .25em 0; }
.mentoreval-warning { border: 3px solid #D55E00; background: #fff2e8; padding: .5em .8em;
  font-weight: bold; margin: .5em 0; }
figure.mentoreval-figure { margin: .6em 0 .4em; break-inside: avoid; }
figure img { max-width: 100%; height: auto; }
figcaption { font-size: 8.5pt; color: #333; margin-top: .2em; }
a { color: #0b4a78; }
"""


# the brief's one figure: at most this tall, so the brief keeps to two pages
_FIGURE_HEIGHT_IN = 4.2


def fits_brief(png: bytes, *, dpi: int = 150) -> bool:
    """Whether a figure can be the brief's: shown at most :data:`_FIGURE_HEIGHT_IN` tall
    without shrinking below the legible :data:`~mentoreval.report.layout.MIN_SCALE` of its
    drawn size (a forest plot of a few dozen cohorts cannot; the brief would spill onto a
    third page).

    Examples
    --------
    >>> def png(w, h):
    ...     head = b"\\x89PNG\\r\\n\\x1a\\n\\0\\0\\0\\rIHDR"
    ...     return head + w.to_bytes(4, "big") + h.to_bytes(4, "big")
    >>> fits_brief(png(1050, 600)), fits_brief(png(1050, 1800))
    (True, False)
    """
    from mentoreval.report.layout import MIN_SCALE, png_size

    return png_size(png)[1] / dpi * MIN_SCALE <= _FIGURE_HEIGHT_IN


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _items(pairs: Sequence[tuple[str, str]]) -> str:
    return "".join(
        f"<li><strong>{_esc(head)}</strong>{' — ' if head else ''}{_esc(body)}</li>"
        for head, body in pairs
    )


def brief_html(brief: Brief) -> str:
    """The brief as one self-contained HTML page (its figure embedded).

    Examples
    --------
    >>> b = Brief(title="Peer mentoring 2025", facts="Programme: peer", design="One group.",
    ...           findings_intro="Change over the year:", findings=(("WHO-5", "+4 points"),),
    ...           caveats=(("No comparison group", "Changes over time."),),
    ...           full_report="cohort_report")
    >>> page = brief_html(b)
    >>> '<html lang="en">' in page, "<h1>Peer mentoring 2025</h1>" in page
    (True, True)
    >>> '<a href="cohort_report.html">' in page, "<strong>WHO-5</strong> — +4 points" in page
    (True, True)
    """
    notices = "".join(
        f'<div class="mentoreval-warning" role="note">{_esc(n)}</div>' for n in brief.notices
    )
    figure = (
        figure_html(
            brief.figure.png,
            number=1,
            alt=brief.figure.alt,
            caption=brief.figure.caption,
            max_height_in=_FIGURE_HEIGHT_IN,
        )
        if brief.figure is not None
        else ""
    )
    stem = _esc(brief.full_report)
    caveats = (
        f"<ul>{_items(brief.caveats)}</ul>"
        if brief.caveats
        else "<p>No caveat beyond those of the design applies.</p>"
    )
    findings = (
        f"<ul>{_items(brief.findings)}</ul>"
        if brief.findings
        else "<p>No outcome could be reported.</p>"
    )
    return (
        f'<!DOCTYPE html>\n<html lang="{_esc(brief.lang)}">\n<head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1.0">'
        f"<title>{_esc(brief.title)} — brief</title>"
        f'<style type="text/css" id="mentoreval-css">{BRIEF_CSS}</style></head>\n<body>\n<main>'
        f'<header><p class="kicker">Brief</p><h1>{_esc(brief.title)}</h1>'
        f'<p class="facts">{_esc(brief.facts)}</p></header>{notices}'
        f'<h2 id="design">Design</h2><p>{_esc(brief.design)}</p>'
        f'<h2 id="findings">What we found</h2><p>{_esc(brief.findings_intro)}</p>{findings}'
        f"{figure}"
        f'<h2 id="caveats">Read with care</h2>{caveats}'
        f'<h2 id="full-report">The full report</h2><p>Methods, every table and figure, the '
        f"data-quality appendix and the provenance of every number are in the full report "
        f'next to this brief: <a href="{stem}.html">{stem}.html</a> (also as '
        f'<a href="{stem}.pdf">PDF</a> and as an editable <a href="{stem}.docx">Word '
        "document</a>).</p>"
        "</main>\n</body>\n</html>\n"
    )


def write_brief(
    brief: Brief,
    folder: str | os.PathLike[str],
    *,
    pdf: bool = True,
    docx: bool = True,
) -> list[Path]:
    """Write ``brief.html`` (+ ``brief.pdf``, tagged, and ``brief.docx``) into ``folder``.

    Parameters
    ----------
    brief
        What the brief says.
    folder
        The report folder (the full report is next to it).
    pdf, docx
        Also write the PDF (WeasyPrint, PDF/UA-1) and the Word file.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    from mentoreval.report.render import render_pdf
    from mentoreval.report.word import html_to_docx

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    page = out / "brief.html"
    page.write_text(brief_html(brief), encoding="utf-8")
    written = [page]
    if pdf:
        written.append(render_pdf(page, out / "brief.pdf"))
    if docx:
        written.append(html_to_docx(page, out / "brief.docx"))
    return written
