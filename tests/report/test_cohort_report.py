"""End-to-end tests of the cohort report: study config → HTML + PDF + tables + JSON.

Each report executes the papermill template in a fresh kernel and renders HTML (and PDF),
so these take 10–30 s each on a small synthetic study.
"""

from __future__ import annotations

import html as html_lib
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from cohort_study import raw_ids, write_study
from mentoreval.cli import main
from mentoreval.report.cohort.results import COMPARISON_TABLE_COLUMNS
from mentoreval.report.cohort.runner import run_cohort_report
from mentoreval.report.word import docx_scan_text

SECTIONS = [
    "1. Executive summary",
    "2. Participation",
    "3. Outcomes by domain",
    "4. Comparison-group results",
    "5. Exploratory subgroups and dose",
    "6. Methods appendix",
    "7. Data-quality appendix",
    "8. Item answers appendix",
    "9. Provenance",
]


def _cli(args: list[str]) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    return int(exit_info.value.code or 0)


def _texts(folder: Path) -> dict[Path, str]:
    from pypdf import PdfReader

    out = {}
    for path in folder.rglob("*"):
        if path.suffix == ".pdf":
            out[path] = "\n".join(p.extract_text() or "" for p in PdfReader(path).pages)
        elif path.suffix == ".docx":
            out[path] = docx_scan_text(path)
        elif path.suffix in (".html", ".ipynb", ".csv", ".json", ".svg"):
            out[path] = path.read_text(encoding="utf-8")
    return out


def _pseudonyms(processed: Path) -> list[str]:
    return (
        pd.read_parquet(processed / "participants.parquet")["participant_id"].astype(str).tolist()
    )


def _assert_clean(folder: Path, forbidden: list[str]) -> None:
    texts = _texts(folder)
    assert texts and forbidden
    # every forbidden value as a whole word, in one pass over each file
    alternatives = "|".join(re.escape(v) for v in sorted(set(forbidden), key=len, reverse=True))
    leak = re.compile(rf"(?<![0-9A-Za-z])(?:{alternatives})(?![0-9A-Za-z])")
    for path, text in texts.items():
        assert "Traceback" not in text, path
        assert "<Axes" not in text and "<Figure size" not in text, path
        found = leak.search(text)
        assert found is None, (path, "leak", found and found.group())


def _add_waitlist(folder: Path, students: int) -> None:
    """Put the first ``students`` students of the exports in a group 'waitlist', besides the
    declared mentored and comparison groups."""
    ids = sorted(set(pd.read_csv(folder / "exports" / "pre.csv", dtype=str)["student_id"]))
    for wave in ("pre", "post"):
        path = folder / "exports" / f"{wave}.csv"
        frame = pd.read_csv(path, dtype=str)
        frame.loc[frame["student_id"].isin(ids[:students]), "group"] = "waitlist"
        frame.to_csv(path, index=False)


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory):
    """A comparison-group study reported through the CLI, with the PDF; its exports also
    hold 12 students of a third group ('waitlist'), as real exports sometimes do."""
    folder = tmp_path_factory.mktemp("demo")
    config = write_study(folder, n_students=90, design="comparison", seed=11)
    _add_waitlist(folder, 12)
    out = folder / "reports" / "demo"
    with pytest.MonkeyPatch.context() as patch:
        # as a user runs it: with the helper process (the suite turns it off elsewhere)
        patch.delenv("MENTOREVAL_HELPER", raising=False)
        assert _cli(["report", str(config), "--out", str(out)]) == 0
    (processed,) = (folder / "data" / "processed").iterdir()
    return config, out, processed


def test_report_outputs_exist(demo_report):
    _, out, _ = demo_report
    for name in ("cohort_report.html", "cohort_report.pdf", "cohort_report.ipynb",
                 "results.json", "manifest.json", "tables/comparisons.csv"):  # fmt: skip
        assert (out / name).is_file(), name
    header = (out / "tables" / "comparisons.csv").read_text().splitlines()[0]
    # the demo is a comparison design: one row per group, with a group column, and the
    # Bayes factor of each released paired t
    assert header.split(",") == [*COMPARISON_TABLE_COLUMNS, "group", "bf10"]
    assert list((out / "figures").glob("*.svg")) and list((out / "figures").glob("*.png"))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["key_fingerprint"] and all(len(i["sha256"]) == 64 for i in manifest["inputs"])
    assert not list(out.parent.glob(".*.staging"))


def test_report_publishes_no_local_path(demo_report):
    """Issue 20: provenance named /home/<user>/…; paths are relative to the project."""
    config, out, _ = demo_report
    project = str(config.parent.resolve())
    for path in out.rglob("*"):
        if path.suffix in {".json", ".ipynb", ".html", ".csv", ".svg"}:
            assert project not in path.read_text(encoding="utf-8", errors="replace"), path
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["parameters"]["study_config"] == "study.yaml"
    assert {i["path"] for i in manifest["inputs"]} >= {"study.yaml", "exports/pre.csv"}


def test_report_is_code_free_and_leak_free(demo_report):
    config, out, processed = demo_report
    html = (out / "cohort_report.html").read_text()
    assert "<script" not in html.lower() and "def " not in html and "import " not in html
    for section in SECTIONS:
        assert section in html
    _assert_clean(out, _pseudonyms(processed) + raw_ids(config))


def test_pdf_has_sections_and_headline_numbers(demo_report):
    from pypdf import PdfReader

    _, out, _ = demo_report
    text = " ".join(
        " ".join((p.extract_text() or "").split())
        for p in PdfReader(out / "cohort_report.pdf").pages
    )
    for section in SECTIONS:
        assert section in text, section
    results = json.loads((out / "results.json").read_text())
    shown = [f for f in results["headline"] if not f["suppressed"]]
    assert shown
    for f in shown:
        # the one-line summary gives the number the judgement reads (the adjusted
        # difference in a comparison design); n and d_z are in the outcome tables
        if f.get("adj_diff") is not None:
            assert f"{f['adj_diff']:+.1f}".replace("-", "−") in text
        else:
            assert f"{int(f['n_pairs'])} students" in text
        assert f"{f['d_z']:.2f}".replace("-", "−") in text
        assert f["judgement"].split(";")[0].split(",")[0] in text


def test_no_float_formatted_integer_in_any_table_or_csv(demo_report):
    """Issue 16 (point 7): "Items 5.00", "Unchanged 72.00", "Version 1998.00", level
    "1.0" and CSV cells "57.0" / "3.1272727272727274" are gone; results.json keeps the
    full precision."""
    from number_checks import (
        assert_csvs_rounded_with_full_precision_in_results,
        assert_html_numbers_look_like_numbers,
    )

    _, out, _ = demo_report
    html = (out / "cohort_report.html").read_text(encoding="utf-8")
    assert assert_html_numbers_look_like_numbers(html) >= 10
    assert assert_csvs_rounded_with_full_precision_in_results(out) > 0
    instruments = pd.read_csv(out / "tables" / "instruments.csv", dtype=str)
    assert set(instruments["version"]) >= {"1998", "2005"}


def test_report_run_logs_no_kernel_noise(demo_report):
    """Issue 16 (point 12): the kernel's log (where its start-up and shutdown messages go
    during `mentoreval report`) holds no TCP warning and no shutdown interrupt."""
    _, out, _ = demo_report
    log = out.parent / "logs" / f"{out.name}.kernel.log"
    assert log.is_file()
    text = log.read_text(encoding="utf-8")
    assert "Kernel is running over TCP" not in text
    assert "KeyboardInterrupt caught in kernel" not in text


@pytest.mark.browser
def test_html_in_headless_chromium(demo_report, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    chromium = Path("/usr/bin/chromium")
    if not chromium.is_file():
        pytest.skip("Debian chromium is not installed (.ci/run installs it)")
    _, out, _ = demo_report
    html = (out / "cohort_report.html").resolve()
    errors: list[str] = []
    requests: list[str] = []
    artefacts = tmp_path  # never the checkout: a report of (synthetic) students
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(chromium),
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        page = browser.new_page(viewport={"width": 1100, "height": 1400})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(html.as_uri(), wait_until="load")
        images = page.eval_on_selector_all(
            "img", "els => els.map(e => [e.complete, e.naturalWidth])"
        )
        page.screenshot(path=str(artefacts / "cohort_report.png"), full_page=True)
        browser.close()
    assert errors == []
    assert all(u == html.as_uri() or u.startswith("data:") for u in requests), requests
    assert images and all(done and width > 0 for done, width in images)


@pytest.fixture(scope="module")
def single_arm_reruns(tmp_path_factory):
    """A single-arm study reported, rerun unchanged, then rerun after two students' post
    responses were withdrawn: each run's HTML, comparisons.csv and the project's ledger
    after it (one study for the single-arm and the ledger tests: three reports, not four)."""
    from test_cohort import drop_post_responses

    folder = tmp_path_factory.mktemp("single_arm")
    config = write_study(folder, n_students=40, design="single_arm", seed=6)
    ledger = folder / "data" / "store" / "ledger" / "releases.json"
    runs = {}
    for name in ("first", "again", "later"):
        if name == "later":
            drop_post_responses(folder, 2)
        html = run_cohort_report(config, out_dir=folder / name, pdf=False, progress=False)
        runs[name] = (
            html.read_text(),
            pd.read_csv(folder / name / "tables" / "comparisons.csv"),
            ledger.read_text() if ledger.is_file() else None,
        )
    return folder, config, runs


def test_single_arm_report_states_the_caveat(single_arm_reruns):
    folder, config, runs = single_arm_reruns
    text = runs["first"][0]
    assert "Single-arm design" in text and "no comparison group" in text
    results = json.loads((folder / "first" / "results.json").read_text())
    assert results["design"] == "single_arm"
    processed = next((folder / "data" / "processed").glob("*/participants.parquet")).parent
    _assert_clean(folder / "first", _pseudonyms(processed) + raw_ids(config))


def test_below_threshold_renders_suppressed_and_says_why(tmp_path):
    config = write_study(tmp_path, n_students=11, design="comparison", attrition=0.3, seed=8)
    html = run_cohort_report(config, out_dir=tmp_path / "out", pdf=False, progress=False)
    text = html.read_text()
    assert "Fewer than 10 students answered both surveys" in text
    assert "[c]" in text
    comp = pd.read_csv(tmp_path / "out" / "tables" / "comparisons.csv")
    assert comp["suppressed"].all() and comp[["n_pairs", "d_z", "p_value"]].isna().all().all()
    assert json.loads((tmp_path / "out" / "results.json").read_text())["below_threshold"]


def test_missing_post_wave_exits_2(tmp_path, capsys):
    config = write_study(tmp_path, n_students=20, waves=("pre",))
    assert _cli(["report", str(config), "--out", str(tmp_path / "out"), "--no-pdf"]) == 2
    err = capsys.readouterr().err
    assert "post" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_no_linked_pairs_exits_2(tmp_path, capsys):
    config = write_study(tmp_path, n_students=20)
    post = tmp_path / "exports" / "post.csv"
    frame = pd.read_csv(post, dtype=str)
    frame["student_id"] = ["8" + s[1:] + "z" for s in frame["student_id"]]
    frame.to_csv(post, index=False)
    assert _cli(["report", str(config), "--out", str(tmp_path / "out"), "--no-pdf"]) == 2
    assert "no student answered both" in capsys.readouterr().err


def test_rerun_is_checked_against_the_project_ledger(single_arm_reruns):
    """Released once, rerun unchanged, rerun after two students' post responses were
    withdrawn: the ledger lives in the project's data/store/ledger and withholds cells."""
    _, _, runs = single_arm_reruns
    _, first, recorded = runs["first"]
    assert recorded is not None  # the first run wrote the project's ledger
    html, again, after_again = runs["again"]
    pd.testing.assert_frame_equal(first, again)
    assert "earlier release of this cohort" not in html
    assert after_again == recorded  # nothing new was released

    html, later, after_later = runs["later"]
    assert "earlier release of this cohort had slightly different counts" in html
    assert "Fewer than 10 students answered both surveys" not in html  # not the reason
    moved = later["suppressed"] & first["n_pairs"].notna()
    assert moved.any() and later.loc[moved, ["n_pairs", "mean_diff", "d_z"]].isna().all().all()
    kept = ~later["suppressed"]
    # counts are whole numbers in the CSV: a column with a withheld (empty) cell reads as float
    pd.testing.assert_frame_equal(later[kept], first[kept], check_dtype=False)
    assert after_later != recorded  # the unchanged cells were released again


@pytest.mark.slow
def test_demo_study_report(tmp_path, monkeypatch):
    """The shipped demo study (mentored vs comparison, Qualtrics exports)."""
    from mentoreval.ingest.protect import keygen

    config = Path(__file__).resolve().parents[2] / "data" / "demo" / "peer" / "2025" / "study.yaml"
    if not config.is_file():
        pytest.skip("demo data not present")
    keygen(tmp_path / "demo.key")
    monkeypatch.setenv("MENTOREVAL_KEY_FILE", str(tmp_path / "demo.key"))
    html = run_cohort_report(
        config,
        out_dir=tmp_path / "out",
        pdf=False,
        progress=False,
        processed_dir=tmp_path / "processed",
        store_root=tmp_path / "store",  # never the checkout's data/store
    )
    text = html.read_text()
    for section in SECTIONS:
        assert section in text
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["design"] == "comparison" and 3 <= len(results["headline"]) <= 5
    _assert_clean(tmp_path / "out", _pseudonyms(tmp_path / "processed"))


# --- the documents: brief and full report, HTML + PDF + Word, accessible -------------------

DOCUMENTS = ("brief", "cohort_report")


def _pdf_pages(path: Path) -> list:
    from pypdf import PdfReader

    return list(PdfReader(path).pages)


def _pdf_text(path: Path) -> str:
    return " ".join(" ".join((p.extract_text() or "").split()) for p in _pdf_pages(path))


def test_report_and_brief_come_in_html_pdf_and_word(demo_report):
    _, out, _ = demo_report
    for stem in DOCUMENTS:
        for suffix in (".html", ".pdf", ".docx"):
            assert (out / f"{stem}{suffix}").is_file(), f"{stem}{suffix}"


def test_brief_fits_two_pages_and_says_what_a_committee_needs(demo_report):
    _, out, _ = demo_report
    assert len(_pdf_pages(out / "brief.pdf")) <= 2
    results = json.loads((out / "results.json").read_text())
    text = _pdf_text(out / "brief.pdf")
    assert results["title"] in text  # the title from the config
    assert "comparison group that was not randomised" in text  # the design in one sentence
    primary = [f for f in results["headline"] if f["primary"]]
    assert primary
    for finding in primary:  # one line per primary outcome, with its number and interval
        assert finding["label"] in text
    assert text.count("95% CI") >= len(primary)
    assert "Read with care" in text and "Students chose whether to join" in text
    html = (out / "brief.html").read_text()
    assert '<a href="cohort_report.html">' in html  # where the full report is
    (alt,) = re.findall(r'<img [^>]*alt="([^"]*)"', html)  # one figure, described
    assert alt.startswith("Forest plot of the controlled comparison")


def test_pdfs_are_portrait_tagged_and_bookmarked(demo_report):
    from pypdf import PdfReader

    _, out, _ = demo_report
    for stem in DOCUMENTS:
        reader = PdfReader(out / f"{stem}.pdf")
        sizes = {(float(p.mediabox.width), float(p.mediabox.height)) for p in reader.pages}
        assert all(w < h for w, h in sizes), f"{stem}: one orientation, portrait"
        root = reader.trailer["/Root"]
        assert "/StructTreeRoot" in root and root["/MarkInfo"]["/Marked"], f"{stem}: tagged"
        assert str(root["/Lang"]).startswith("en")
    outline = PdfReader(out / "cohort_report.pdf").outline
    titles = json.dumps([getattr(o, "title", None) for o in outline] + [
        getattr(o, "title", None) for entry in outline if isinstance(entry, list) for o in entry
    ])  # fmt: skip
    for heading in SECTIONS:
        assert heading in titles, heading


def test_full_report_has_contents_and_numbers_every_figure_and_table(demo_report):
    _, out, _ = demo_report
    html = (out / "cohort_report.html").read_text()
    nav = re.search(r'<nav class="mentoreval-toc".*?</nav>', html, re.S)
    assert nav is not None
    for heading_id in re.findall(r'<h2[^>]*id="([^"]+)"', html):
        assert f'href="#{heading_id}"' in nav.group(0)
    captions = re.findall(r"<figcaption>Figure (\d+)\.", html)
    tables = re.findall(r"<caption>Table (\d+)\.", html)
    assert captions == [str(i) for i in range(1, len(captions) + 1)] and captions
    assert tables == [str(i) for i in range(1, len(tables) + 1)] and tables
    # every number is referred to from the text (outside its own caption)
    prose = re.sub(r"<(figcaption|caption)>.*?</\1>", "", html, flags=re.S)
    prose = re.sub(r"<[^>]+>", " ", prose)
    referred: dict[str, set[int]] = {"Figure": set(), "Table": set()}
    for kind, numbers in re.findall(r"(Figure|Table)s? (\d+(?:(?:–|, | and )\d+)*)", prose):
        for part in re.split(r", | and ", numbers):
            first, _, last = part.partition("–")
            referred[kind] |= set(range(int(first), int(last or first) + 1))
    assert set(range(1, len(captions) + 1)) <= referred["Figure"]
    assert set(range(1, len(tables) + 1)) <= referred["Table"]


def test_every_image_is_described_from_its_data(demo_report):
    _, out, _ = demo_report
    results = json.loads((out / "results.json").read_text())
    described = {entry["alt"] for entry in results["figures"].values()}
    for stem in DOCUMENTS:
        alts = re.findall(r'<img [^>]*alt="([^"]*)"', (out / f"{stem}.html").read_text())
        assert alts
        for alt in alts:
            assert "No description" not in alt
            assert html_lib.unescape(alt) in described
    assert any(re.search(r"\d+ students: mean [\d.]+ at pre", a) for a in described)


def test_word_files_have_headings_tables_and_pictures(demo_report):
    import docx

    _, out, _ = demo_report
    results = json.loads((out / "results.json").read_text())
    report = docx.Document(str(out / "cohort_report.docx"))
    headings = [p.text for p in report.paragraphs if p.style.name == "Heading 1"]
    assert headings == SECTIONS
    assert len(report.tables) >= 10
    assert len(report.inline_shapes) == len(results["figures"])
    alts = {s._inline.docPr.get("descr") for s in report.inline_shapes}
    assert alts == {entry["alt"] for entry in results["figures"].values()}
    brief = docx.Document(str(out / "brief.docx"))
    assert [p.text for p in brief.paragraphs if p.style.name == "Title"] == [results["title"]]
    assert [p.text for p in brief.paragraphs if p.style.name == "Heading 1"] == [
        "Design", "What we found", "Read with care", "The full report",
    ]  # fmt: skip
    assert len(brief.inline_shapes) == 1


@pytest.mark.browser
def test_report_and_brief_pass_axe_core(demo_report):
    from axe_check import axe_violations

    _, out, _ = demo_report
    found = axe_violations([out / f"{stem}.html" for stem in DOCUMENTS])
    assert found == {f"{stem}.html": [] for stem in DOCUMENTS}


def test_report_command_says_a_third_group_is_not_analysed(demo_report):
    """Issue 20 (point 6), through the CLI: `mentoreval report` on a study whose exports
    hold a group 'waitlist' besides the declared mentored and comparison groups."""
    _, out, _ = demo_report
    text = " ".join(html_lib.unescape((out / "cohort_report.html").read_text()).split())
    assert "Students in group 'waitlist' are not analysed" in text


def _contents_entries(pdf: Path, first_section: str) -> list[tuple[str, int]]:
    """``(text, printed page)`` of each contents entry, read from the PDF's first page:
    the lines between "Contents" and the first section's heading, left column first."""
    import subprocess
    import xml.etree.ElementTree as ET

    xhtml = subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-bbox-layout", str(pdf), "-"],
                           capture_output=True, text=True, check=True).stdout  # fmt: skip
    page = next(e for e in ET.fromstring(xhtml).iter() if e.tag.endswith("page"))
    half = float(page.get("width", "595")) / 2
    words = [(float(w.get("xMin", 0)), float(w.get("yMin", 0)), w.text or "")
             for w in page.iter() if w.tag.endswith("word")]  # fmt: skip
    top = next(y for _, y, t in words if t == "Contents")
    first = first_section.split()[0]  # "1.": the section heading after the contents
    below = sorted(y for x, y, t in words if y > top + 12 and t == first and x < half)
    bottom = below[1] if len(below) > 1 else 1e9  # below[0] is the contents' own "1."
    rows: dict[tuple[bool, int], list[tuple[float, str]]] = {}
    for x, y, t in words:
        if top < y < bottom - 1:
            rows.setdefault((x >= half, round(y / 4)), []).append((x, t))
    region = [" ".join(t for _, t in sorted(ws)) for _, ws in sorted(rows.items())]
    entries, pending = [], ""
    for line in region:
        found = re.fullmatch(r"(.*?)[\s.]*\.\s*(\d+)", f"{pending} {line}".strip())
        if found:
            entries.append((found.group(1).rstrip(" ."), int(found.group(2))))
            pending = ""
        else:  # an entry wrapped over two lines
            pending = f"{pending} {line}".strip()
    return entries


def _heading_pages(pdf: Path) -> list[tuple[int, str, int]]:
    """``(depth, title, page)`` of every heading in document order, from the PDF's
    bookmarks (depth 0 the title, 1 the sections, 2 their subsections, ...)."""
    from pypdf import PdfReader

    reader = PdfReader(pdf)
    out: list[tuple[int, str, int]] = []

    def walk(items: list, depth: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
            else:
                out.append((depth, " ".join(item.title.split()),
                            reader.get_destination_page_number(item) + 1))  # fmt: skip

    walk(reader.outline, 0)
    return out


def test_pdf_contents_page_numbers_are_the_pages_of_their_headings(demo_report):
    from pypdf import PdfReader

    _, out, _ = demo_report
    pdf = out / "cohort_report.pdf"
    every = _heading_pages(pdf)
    listed = [(t, p) for d, t, p in every if d in (1, 2)]  # the h2 and h3 in the contents
    entries = _contents_entries(pdf, listed[0][0])
    assert [t for t, _ in entries] == [t.rstrip(" .") for t, _ in listed]
    # the case that went wrong: an instrument heading in its domain section and again in
    # the item appendix (one id twice); its appendix entry must give the appendix page
    start = next(i for i, (d, t, _) in enumerate(every) if t == "8. Item answers appendix")
    earlier = {t for _, t, _ in every[:start]}
    repeated = [t for d, t, _ in every[start + 1 :] if d == 2 and t in earlier]
    assert repeated, "the fixture names an instrument in its domain and in the appendix"
    pages = [" ".join((p.extract_text() or "").split()) for p in PdfReader(pdf).pages]
    for (text, printed), (_, page) in zip(entries, listed, strict=True):
        assert printed == page, (text, printed, page)
        assert " ".join(text.split()[:3]) in pages[page - 1], text
