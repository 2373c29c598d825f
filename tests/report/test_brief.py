"""The brief page, the table of contents and the figure layout, on hand-made inputs."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from mentoreval.report.brief import Brief, BriefFigure, brief_html, write_brief
from mentoreval.report.contents import add_contents
from mentoreval.report.layout import (
    FULL_SCALE,
    MAX_HEIGHT_IN,
    MIN_SCALE,
    PAGE_HEIGHT_IN,
    figure_html,
    png_size,
)


def _png(width: float, height: float) -> bytes:
    buffer = io.BytesIO()
    fig = Figure(figsize=(width, height))
    fig.add_subplot().plot([0, 1], [1, 0])
    fig.savefig(buffer, format="png", dpi=150)
    return buffer.getvalue()


def _brief(**changes: object) -> Brief:
    fields: dict[str, object] = {
        "title": "Peer mentoring, 2025 cohort",
        "facts": "Programme: peer · cohort: 2025",
        "design": "One group of students surveyed before and after the programme.",
        "findings_intro": "Change between the two surveys:",
        "findings": (("WHO-5: Wellbeing (0–100)", "a small improvement: +4.1 points."),),
        "caveats": (("No comparison group", "Changes over time, not effects."),),
        "full_report": "cohort_report",
        "figure": BriefFigure(_png(6, 3), "Forest plot of d_z: WHO-5 +0.30.", "Every scale."),
    }
    fields.update(changes)
    return Brief(**fields)  # type: ignore[arg-type]


def test_brief_text_is_escaped_never_markup() -> None:
    page = brief_html(_brief(title="<script>alert(1)</script> & co",
                             findings=(("<b>x</b>", "1 < 2"),)))  # fmt: skip
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page
    assert "<strong>&lt;b&gt;x&lt;/b&gt;</strong> — 1 &lt; 2" in page


def test_brief_says_so_when_nothing_could_be_reported() -> None:
    page = brief_html(_brief(findings=(), caveats=(), figure=None,
                             notices=("Disclosure control is off.",)))  # fmt: skip
    assert "No outcome could be reported." in page and "<img" not in page
    assert '<div class="mentoreval-warning" role="note">Disclosure control is off.</div>' in page


def test_write_brief_writes_html_pdf_and_word_on_at_most_two_pages(tmp_path: Path) -> None:
    import docx
    from pypdf import PdfReader

    written = write_brief(_brief(), tmp_path)
    assert [p.name for p in written] == ["brief.html", "brief.pdf", "brief.docx"]
    assert len(PdfReader(tmp_path / "brief.pdf").pages) <= 2
    doc = docx.Document(str(tmp_path / "brief.docx"))
    assert doc.inline_shapes[0]._inline.docPr.get("descr") == "Forest plot of d_z: WHO-5 +0.30."
    assert write_brief(_brief(), tmp_path / "no-pdf", pdf=False, docx=False)[0].name == "brief.html"
    assert sorted(p.name for p in (tmp_path / "no-pdf").iterdir()) == ["brief.html"]


def test_contents_link_every_section_and_subsection_in_order() -> None:
    body = (
        '<h1 id="t">Title</h1><p>Notice</p>'
        '<h2 id="1.-Executive-summary">1. Executive summary<a class="anchor-link" '
        'href="#1.-Executive-summary">¶</a></h2>'
        '<h2 id="3.-Outcomes">3. Outcomes</h2><h3 id="Wellbeing">Wellbeing</h3>'
        '<h3 id="Burnout">Burn &amp; out</h3><h2 id="8.-Provenance">8. Provenance</h2>'
    )
    out = add_contents(body)
    assert out.index("<nav") > out.index("Notice") and out.index("<nav") < out.index("<h2")
    nav = out[out.index("<nav") : out.index("</nav>")]
    assert "¶" not in nav
    assert nav.count("<li>") == 5 and nav.count("<ol>") == 2  # subsections nested once
    assert '<a href="#Burnout">Burn &amp; out</a>' in nav


@pytest.mark.parametrize(
    ("size", "half", "scale"),
    [
        ((4.8, 3.6), True, 1.0),
        ((6.5, 2.2), False, FULL_SCALE),
        ((7.0, 7.0), False, MAX_HEIGHT_IN / 7.0),
        ((7.0, 9.0), False, MIN_SCALE),
        ((7.0, 16.0), False, PAGE_HEIGHT_IN / 16.0),
    ],
    ids=["narrow chart two to a row", "wide chart takes the row", "tall chart shrinks to fit",
         "taller chart keeps legible labels", "very tall chart fits the page"],
)  # fmt: skip
def test_figures_are_sized_from_their_own_image(
    size: tuple[float, float], half: bool, scale: float
) -> None:
    png = _png(*size)
    width_px, height_px = png_size(png)
    assert width_px == round(size[0] * 150)
    html = figure_html(png, number=4, alt="chart", caption="A chart")
    assert ("mentoreval-half" in html) is half
    assert "<figcaption>Figure 4. A chart</figcaption>" in html
    shown_height = int(html.split('height="')[1].split('"')[0]) / 96
    assert shown_height == pytest.approx(height_px / 150 * scale, abs=0.02)


def test_cohort_brief_shows_a_hidden_count_with_the_mark_and_a_true_reason() -> None:
    """A count hidden to protect another cell reads "[c]", never a dash; a withheld
    finding never claims "fewer than 10" when it may have been withheld for differencing."""
    from mentoreval.config.disclosure import DisclosurePolicy
    from mentoreval.report.cohort.brief import _finding

    base = {"label": "WHO-5", "units": "points", "judgement": "a small improvement",
            "design": "comparison", "adj_diff": 4.1, "adj_ci_low": -2.5, "adj_ci_high": 10.6,
            "n_pairs": None, "n_control": 53.0}  # fmt: skip
    _, text = _finding(base, 0.95, DisclosurePolicy())
    assert "[c] mentored and 53 comparison students" in text and "–" not in text
    _, withheld = _finding({**base, "adj_diff": None}, 0.95, DisclosurePolicy())
    assert withheld.startswith("not reported: withheld to protect small groups")
    assert "or the count differs by a few students from an earlier report" in withheld
