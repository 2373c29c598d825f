"""End to end on a fixture notebook: execute, HTML, PDF, egress scan, real browser.

The fixture notebook (tests/fixtures/notebooks/report_fixture.ipynb) uses plots.py
figures and a suppressed table, so the machinery is proven before the real template.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from pypdf import PdfReader

from mentoreval.errors import DisclosureError, ReportError
from mentoreval.report.notebook import ReportOutputs, build_report
from mentoreval.report.render import egress_scan, render_html, render_pdf

TEMPLATE = Path(__file__).parents[1] / "fixtures" / "notebooks" / "report_fixture.ipynb"
CHROMIUM = Path("/usr/bin/chromium")
SEED = 7
PSEUDONYMS = [f"PS{SEED:02d}X{i:04d}" for i in range(40)]
SECTIONS = ["1. Executive summary", "2. Participation", "3. Wellbeing", "4. Provenance"]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> ReportOutputs:
    out = tmp_path_factory.mktemp("report")
    return build_report(
        TEMPLATE,
        out,
        parameters={"out_dir": str(out), "seed": SEED},
        forbidden={"pseudonym": PSEUDONYMS},
        progress=False,
    )


def test_outputs_exist(built: ReportOutputs) -> None:
    folder = built.html.parent
    assert built.notebook.is_file() and built.html.is_file()
    assert built.pdf is not None and built.pdf.is_file()
    figures = sorted(p.name for p in (folder / "figures").iterdir())
    assert "wellbeing_prepost.png" in figures and "wellbeing_prepost.svg" in figures
    assert (folder / "tables" / "comparisons.csv").is_file()
    assert folder / "results.json" in built.scanned


def test_html_is_offline_codeless_and_sanitised(built: ReportOutputs) -> None:
    html = built.html.read_text(encoding="utf-8")
    assert not re.search(r"https?://", html)
    assert "<script" not in html.lower()
    assert "cdnjs" not in html and "require.js" not in html and "MathJax" not in html
    assert "import numpy" not in html  # no input cells
    assert "fail_in" not in html and "deliberate failure" not in html  # no parameters cells
    assert "<h2" in html and "&lt;h2" not in html  # markdown survives sanitising as markup
    assert html.count("<img") == 5
    assert "[c]" in html  # the suppressed cell is shown with the neutral mark


def test_pdf_has_sections_and_headline_numbers(built: ReportOutputs) -> None:
    assert built.pdf is not None
    reader = PdfReader(built.pdf)
    text = "\n".join(page.extract_text() for page in reader.pages)
    for section in SECTIONS:
        assert section in text
    results = json.loads((built.html.parent / "results.json").read_text())
    assert f"{results['mean_diff']:.2f} points" in text
    assert f"d_z = {results['d_z']:.2f}" in text
    assert "[c]" in text
    assert "¶" not in text  # heading permalinks never reach paper
    # sections flow on (no page for each small section) and every page is A4 portrait
    assert len(reader.pages) < len(SECTIONS)
    assert {
        (round(float(p.mediabox.width)), round(float(p.mediabox.height))) for p in reader.pages
    } == {(595, 842)}


def test_egress_scan_passes_then_catches_leaks(built: ReportOutputs, tmp_path: Path) -> None:
    egress_scan([built.html.parent], forbidden={"pseudonym": PSEUDONYMS})
    leaky = tmp_path / "leaky.html"
    shutil.copy(built.html, leaky)
    with leaky.open("a", encoding="utf-8") as handle:
        handle.write(f"<p>{PSEUDONYMS[3].lower()}</p>")
    with pytest.raises(DisclosureError) as info:
        egress_scan([leaky], forbidden={"pseudonym": PSEUDONYMS, "raw id": ["S1234567"]})
    text = str(info.value)
    assert "leaky.html: pseudonym #4 found" in text
    assert PSEUDONYMS[3] not in text  # the error does not repeat the value


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        ('Traceback (most recent call last):\n  File "x.py", line 1', "Python traceback"),
        ("<Axes: title={'center': 'x'}>", "matplotlib repr"),
        ("<Figure size 640x480 with 1 Axes>", "matplotlib repr"),
        ("/x.py:3: FutureWarning: deprecated", "Python warning"),
    ],
)
def test_egress_generic_leaks(tmp_path: Path, content: str, kind: str) -> None:
    path = tmp_path / "out.csv"
    path.write_text(f"label\n{content}\n")
    with pytest.raises(DisclosureError, match=f"out.csv: {kind} found"):
        egress_scan([path])


def test_egress_scans_pdf_and_ipynb_and_free_text(built: ReportOutputs) -> None:
    assert built.pdf is not None
    with pytest.raises(DisclosureError, match="free text #1 found"):
        egress_scan([built.pdf], forbidden={"free text": ["Wellbeing   improved by"]})
    with pytest.raises(DisclosureError, match=r"cohort_report\.ipynb: raw id #1 found"):
        egress_scan([built.notebook], forbidden={"raw id": ["deliberate failure"]})


def test_egress_pdf_text_keeps_every_word_pypdf_reads(built: ReportOutputs) -> None:
    # the scan reads PDFs with PDFium; it must see every word pypdf (the reader it replaced)
    # sees, so no identifier that pypdf would have found is missed
    from pypdf import PdfReader

    from mentoreval.report.render import pdf_text

    assert built.pdf is not None
    words = re.compile(r"[0-9a-z]+")
    ours = set(words.findall(pdf_text(built.pdf).lower()))
    theirs = set(
        words.findall("\n".join(p.extract_text() for p in PdfReader(built.pdf).pages).lower())
    )
    assert len(theirs) > 30
    assert theirs <= ours


def test_egress_names_a_pdf_it_cannot_read(tmp_path: Path) -> None:
    broken = tmp_path / "report.pdf"
    broken.write_bytes(b"%PDF-1.7\nnot really a pdf")
    with pytest.raises(DisclosureError, match=r"report\.pdf: cannot be read for scanning"):
        egress_scan([broken])


def test_render_html_refuses_failed_notebook(built: ReportOutputs, tmp_path: Path) -> None:
    nb = nbformat.read(built.notebook, as_version=4)
    code = next(c for c in nb.cells if c.cell_type == "code")
    code.outputs = [
        nbformat.v4.new_output("error", ename="ValueError", evalue="x", traceback=["tb"])
    ]
    failed = tmp_path / "failed.ipynb"
    nbformat.write(nb, failed)
    with pytest.raises(ReportError, match="error"):
        render_html(failed, tmp_path / "failed.html")


def test_render_pdf_refuses_network(tmp_path: Path) -> None:
    html = tmp_path / "r.html"
    html.write_text('<html><body><h1>x</h1><img src="http://127.0.0.1:9/x.png"></body></html>')
    with pytest.raises(ReportError, match=re.escape("load http://127.0.0.1:9/x.png")):
        render_pdf(html, tmp_path / "r.pdf")


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")
def test_html_in_headless_chromium(built: ReportOutputs, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    url = built.html.resolve().as_uri()
    requests: list[str] = []
    console_errors: list[str] = []
    artefacts = tmp_path  # never the checkout: a report of (synthetic) students
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 1400})
            page.on("request", lambda request: requests.append(request.url))
            page.on(
                "console",
                lambda message: (
                    console_errors.append(message.text) if message.type == "error" else None
                ),
            )
            page.on("pageerror", lambda error: console_errors.append(str(error)))
            page.goto(url, wait_until="load")
            widths = page.eval_on_selector_all(
                "img", "imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)"
            )
            headings = page.eval_on_selector_all("h2", "hs => hs.map(h => h.textContent)")
            page.screenshot(path=str(artefacts / "cohort_report_fixture.png"), full_page=True)
        finally:
            browser.close()
    assert console_errors == []
    others = [u for u in requests if u != url and not u.startswith("data:")]
    assert others == []
    assert len(widths) == 5 and all(w > 0 for w in widths)
    assert [h.rstrip("¶") for h in headings] == SECTIONS
    assert (artefacts / "cohort_report_fixture.png").stat().st_size > 10_000


def test_egress_scan_is_one_pass_for_many_students(tmp_path: Path) -> None:
    """A consortium's 50,000 forbidden strings: still exact (word boundaries, case) and
    fast (a regex per student compiled up front took 15 s: only matches are compiled)."""
    import time

    forbidden = {"pseudonym": [f"{i:064x}" for i in range(50_000)], "raw id": ["1234567"]}
    text = "<p>" + " ".join(f"cell {i} 12345678 x1234567" for i in range(20000)) + "</p>"
    (tmp_path / "big.html").write_text(text)
    start = time.process_time()
    egress_scan([tmp_path / "big.html"], forbidden=forbidden)  # 1234567 only inside words
    assert time.process_time() - start < 5
    (tmp_path / "leak.html").write_text(text + f"<td>{5:064X}</td><td>1234567</td>")
    with pytest.raises(DisclosureError) as info:
        egress_scan([tmp_path / "leak.html"], forbidden=forbidden)
    kinds = sorted(p.message for p in info.value.problems)
    assert kinds == ["pseudonym #6 found", "raw id #1 found"]
