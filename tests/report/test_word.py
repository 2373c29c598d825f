"""The Word file is an editable document: real headings, tables, pictures with alt text, a
TOC field; and the egress scan reads it."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import docx
import pytest
from matplotlib.figure import Figure

from mentoreval.errors import DisclosureError
from mentoreval.report.layout import figure_html, figures_html
from mentoreval.report.render import egress_scan
from mentoreval.report.word import docx_scan_text, html_to_docx


def _png() -> bytes:
    fig = Figure(figsize=(4, 3))
    fig.add_subplot().plot([0, 1], [0, 1])
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=150)
    return buffer.getvalue()


def _page(body: str, title: str = "Cohort report") -> str:
    return (
        f'<!DOCTYPE html><html lang="en-GB"><head><title>{title}</title>'
        f"<style>p{{color:red}}</style></head><body><main>{body}</main></body></html>"
    )


@pytest.fixture()
def report_docx(tmp_path: Path) -> Path:
    figure = figure_html(_png(), number=1, alt="Line chart: scores rise from 1 to 2.",
                         caption="Scores by wave")  # fmt: skip
    body = (
        "<h1>Peer mentoring 2025</h1>"
        '<nav class="mentoreval-toc"><p>Contents</p><ol><li><a href="#s1">1. Summary</a></li>'
        "</ol></nav>"
        '<div class="jp-Cell"><h2 id="s1">1. Summary<a class="anchor-link" href="#s1">¶</a></h2>'
        "<p>The change was <strong>small</strong> and <em>uncertain</em>.</p>"
        "<ul><li>WHO-5: +4 points<ul><li>nested detail</li></ul></li></ul></div>"
        f"{figures_html([figure])}"
        '<div class="mentoreval-page-break"></div><h2 id="a">6. Methods appendix</h2>'
        '<h3 id="b">Instruments</h3>'
        '<table class="mentoreval-table"><caption>Table 1. Responses per wave</caption>'
        "<thead><tr><th>Wave</th><th>n</th></tr></thead>"
        '<tbody><tr><td>pre</td><td>145</td></tr><tr><td colspan="2">note</td></tr></tbody>'
        "</table>"
    )
    page = tmp_path / "cohort_report.html"
    page.write_text(_page(body), encoding="utf-8")
    return html_to_docx(page, tmp_path / "cohort_report.docx")


def test_headings_become_word_headings(report_docx: Path) -> None:
    doc = docx.Document(str(report_docx))
    styled = [
        (p.style.name, p.text)
        for p in doc.paragraphs
        if p.style.name.startswith(("Heading", "Title"))
    ]
    assert styled == [
        ("Title", "Peer mentoring 2025"),
        ("Heading 1", "1. Summary"),  # the permalink "¶" is not part of the heading
        ("Heading 1", "6. Methods appendix"),
        ("Heading 2", "Instruments"),
    ]


def test_tables_are_word_tables_with_a_caption_and_repeated_header(report_docx: Path) -> None:
    doc = docx.Document(str(report_docx))
    (table,) = doc.tables
    assert [c.text for c in table.rows[0].cells] == ["Wave", "n"]
    assert [c.text for c in table.rows[1].cells] == ["pre", "145"]
    assert table.rows[2].cells[0].text == "note"  # a merged (colspan) cell
    assert table.rows[0]._tr.trPr is not None and "tblHeader" in table.rows[0]._tr.trPr.xml
    captions = [p.text for p in doc.paragraphs if p.style.name == "Caption"]
    assert captions == ["Figure 1. Scores by wave", "Table 1. Responses per wave"]


def test_figures_are_embedded_pictures_with_their_alt_text(report_docx: Path) -> None:
    doc = docx.Document(str(report_docx))
    (shape,) = doc.inline_shapes
    assert shape._inline.docPr.get("descr") == "Line chart: scores rise from 1 to 2."
    # a narrow (4-inch) chart sits in half the A4 text width, as two to a row in print
    assert shape.width.inches == pytest.approx(6.3 / 2, abs=0.01)


def test_text_keeps_emphasis_lists_title_and_language(report_docx: Path) -> None:
    doc = docx.Document(str(report_docx))
    para = next(p for p in doc.paragraphs if p.text.startswith("The change was"))
    assert [(r.text, bool(r.bold), bool(r.italic)) for r in para.runs] == [
        ("The change was ", False, False), ("small", True, False), (" and ", False, False),
        ("uncertain", False, True), (".", False, False),
    ]  # fmt: skip
    lists = [(p.style.name, p.text) for p in doc.paragraphs if p.style.name.startswith("List")]
    assert lists == [("List Bullet", "WHO-5: +4 points"), ("List Bullet 2", "nested detail")]
    assert doc.core_properties.title == "Cohort report"
    assert doc.core_properties.language == "en-GB"
    section = doc.sections[0]
    assert section.page_width < section.page_height  # A4 portrait, one orientation
    assert "color:red" not in docx_scan_text(report_docx)  # styles never become text


def test_contents_become_a_word_toc_field(report_docx: Path) -> None:
    doc = docx.Document(str(report_docx))
    xml = doc.element.body.xml
    assert 'TOC \\o "1-3"' in xml and "1. Summary" in xml
    assert doc.settings.element.xml.count("updateFields") == 1  # Word fills in page numbers


def test_page_break_marker_starts_a_new_page(report_docx: Path) -> None:
    assert 'w:type="page"' in docx.Document(str(report_docx)).element.body.xml


def test_egress_scan_finds_a_pseudonym_split_over_runs_and_in_alt_text(tmp_path: Path) -> None:
    doc = docx.Document()
    par = doc.add_paragraph("student p-7f")
    par.add_run("3a9c").bold = True
    doc.save(str(tmp_path / "a.docx"))
    with pytest.raises(DisclosureError, match="pseudonym #1 found"):
        egress_scan([tmp_path], forbidden={"pseudonym": ["p-7f3a9c"]})
    clean = tmp_path / "clean"
    clean.mkdir()
    png = base64.b64encode(_png()).decode()
    page = clean / "r.html"
    page.write_text(
        _page(f'<figure><img src="data:image/png;base64,{png}" alt="id 1234567"></figure>')
    )
    html_to_docx(page, clean / "r.docx")
    page.unlink()  # only the Word file is scanned
    with pytest.raises(DisclosureError, match="raw id #1 found"):
        egress_scan([clean], forbidden={"raw id": ["1234567"]})


def test_picture_sizes_never_look_like_student_numbers(tmp_path: Path) -> None:
    """EMU sizes are seven-digit numbers; only texts, alt texts and titles are scanned."""
    png = base64.b64encode(_png()).decode()
    page = tmp_path / "r.html"
    page.write_text(_page(f'<img src="data:image/png;base64,{png}" alt="chart" width="400">'))
    target = html_to_docx(page, tmp_path / "r.docx")
    sizes = docx.Document(str(target)).inline_shapes[0].width
    page.unlink()
    assert egress_scan([tmp_path], forbidden={"raw id": [str(int(sizes))]}) == [target]


def test_a_broken_word_file_is_reported_not_crashed_on(tmp_path: Path) -> None:
    (tmp_path / "x.docx").write_bytes(b"not a zip")
    with pytest.raises(DisclosureError, match="cannot be read for scanning"):
        egress_scan([tmp_path])


def test_a_large_table_is_written_in_bounded_time_with_every_cell(tmp_path: Path) -> None:
    # Looking cells up through python-docx's Table.cell made this quadratic: 500 rows took
    # over a minute of CPU. Built row by row it takes well under a second.
    import time

    from mentoreval.report.word import docx_text

    rows = "".join(
        f"<tr><td>site {i}</td><td>{i}</td><td>{2 * i}</td><td>x</td><td>y</td></tr>"
        + (f'<tr><td colspan="3">note {i}</td><td>1</td></tr>' if i % 100 == 0 else "")
        for i in range(600)
    )
    page = tmp_path / "big.html"
    page.write_text(
        _page(
            "<table><caption>Table 9. Sites</caption><thead><tr><th>Site</th><th>n</th>"
            f"<th>m</th><th>a</th><th>b</th></tr></thead><tbody>{rows}</tbody></table>"
        ),
        encoding="utf-8",
    )
    start = time.process_time()
    out = html_to_docx(page, tmp_path / "big.docx")
    assert time.process_time() - start < 15
    table = docx.Document(str(out)).tables[0]
    assert len(table.rows) == 1 + 600 + 6
    lines = docx_text(out).splitlines()
    assert lines[:3] == ["Table 9. Sites", "Site | n | m | a | b", "site 0 | 0 | 0 | x | y"]
    assert lines[3] == "note 0 | note 0 | note 0 | 1 | "
    assert lines[-1] == "site 599 | 599 | 1198 | x | y"
    assert table.rows[0]._tr.trPr is not None  # the header row repeats on each page
