"""Tests for mentoreval.report.annual.analysis: config, store update, analysis, trends, ledger, rendering."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mentoreval.config.annual import load_annual_config
from mentoreval.config.paths import project_root
from mentoreval.disclose.derived import check_no_derivable
from mentoreval.disclose.ledger import ReleaseLedger
from mentoreval.errors import ConfigError, DataError, DisclosureError
from mentoreval.ingest.protect import keygen
from mentoreval.report.annual.analysis import DERIVED_COLUMNS, analyse_annual
from mentoreval.report.annual.document import open_annual_report
from mentoreval.report.annual.outputs import save_release_ledger
from mentoreval.report.annual.results import AnnualAnalysis
from mentoreval.report.annual.runner import run_annual_report
from mentoreval.report.annual.tables import annual_table, annual_table_html, format_annual_table
from mentoreval.report.notebook import ReportOutputs
from mentoreval.report.render import egress_scan
from mentoreval.store.cohorts import study_inputs_sha256, update_store
from mentoreval.store.parquet import add_cohort, list_cohorts, load_table
from number_checks import (
    assert_csvs_rounded_with_full_precision_in_results,
    assert_html_numbers_look_like_numbers,
)

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "data" / "demo" / "peer"
YEARS = (2023, 2024, 2025)
#: Column names of the analysis tables that must never reach a reader as headers (d_z and
#: g_av are the effect sizes' own symbols, shown as in the cohort report).
RAW_NAMES = {
    "programme", "cohort", "year", "instrument", "scale", "enrolled", "with_meetings",
    "pre_responses", "post_responses", "linked_pairs", "retention_pct", "n_pairs", "mean_pre",
    "mean_post", "mean_diff", "ci_low", "ci_high", "p_value", "estimate", "k",
    "pi_low", "pi_high", "tau2", "i2", "version", "versions", "reason", "measure", "level",
    "median_dose", "mean_change", "label", "dose", "slope", "slope_ci_low",
    "slope_ci_high", "breakdown", "suppressed",
}  # fmt: skip
SHOWN_TABLES = ("participation", "outcomes", "pooled", "trends", "trend_exclusions", "dose",
                "dose_models", "mentor_type")  # fmt: skip
PER_COHORT = [
    "scores",
    "participants",
    "linkage",
    "responses",
    "summary",
    "instruments",
    "cohort_info",
    "meetings",
    "dose",
]


def write_annual(folder: Path, store: Path, **extra: object) -> Path:
    lines = [
        "title: Peer mentoring, annual report",
        "programme: peer",
        f"store: {store}",
        "studies:",
        *[f"  - {DEMO / str(y) / 'study.yaml'}" for y in YEARS],
        *[f"{k}: {json.dumps(v)}" for k, v in extra.items()],
    ]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "annual.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def demo_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    key = tmp_path_factory.mktemp("keys") / "demo.key"
    keygen(key)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MENTOREVAL_KEY_FILE", str(key))
        yield key


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory, demo_key: Path) -> Path:
    """The three peer demo cohorts, ingested into a store once for the module."""
    base = tmp_path_factory.mktemp("annual")
    store = base / "store"
    config = load_annual_config(write_annual(base, store))
    results = update_store(config, echo=False)
    assert [r.status for r in results] == ["added"] * 3
    return store


def copy_store(store: Path, tmp_path: Path) -> Path:
    target = tmp_path / "store"
    shutil.copytree(store, target)
    shutil.rmtree(target / "ledger", ignore_errors=True)
    return target


def cohort_tables(store: Path, year: int) -> dict[str, pd.DataFrame]:
    return {
        name: load_table(store, name, programme="peer", years=[year]).drop(
            columns=["programme", "cohort", "year"]
        )
        for name in PER_COHORT
    }


# --- config ------------------------------------------------------------------------------


def test_demo_annual_configs_load() -> None:
    for programme in ("peer", "faculty"):
        config = load_annual_config(REPO / "data" / "demo" / programme / "annual.yaml")
        assert config.programmes == (programme,)
        assert config.studies is not None and len(config.studies) == 3
        # the demo's own store (issue 16): `studies: all` over the project's data/store
        # never pools demo cohorts
        assert config.store_root.resolve() == (REPO / "reports" / "demo" / "store").resolve()
        assert config.store_root.resolve() != (REPO / "data" / "store").resolve()


def test_annual_config_reports_every_problem_at_once(tmp_path: Path) -> None:
    (tmp_path / "annual.yaml").write_text(
        "title: A\nprogramme: peer\nprogrammes: [faculty]\nstudies: [nope.yaml]\n"
        "disclosure: {threshold: 1}\nprimary: [who5]\n"
    )
    with pytest.raises(ConfigError) as info:
        load_annual_config(tmp_path / "annual.yaml")
    keys = {p.key for p in info.value.problems}
    assert {"programmes", "studies[0]", "primary[0]", "disclosure.threshold"} <= keys


def test_update_store_skips_unchanged_studies(demo_store: Path, tmp_path: Path) -> None:
    config = load_annual_config(write_annual(tmp_path, demo_store))
    assert update_store(config, echo=False) == []
    stored = list_cohorts(demo_store)
    assert stored["year"].tolist() == list(YEARS)
    expected = study_inputs_sha256(DEMO / "2024" / "study.yaml")
    assert tuple(stored.loc[stored["year"] == 2024, "inputs_sha256"].iloc[0].split()) == expected


# --- analysis ----------------------------------------------------------------------------


def test_analysis_over_three_years(demo_store: Path, tmp_path: Path) -> None:
    analysis = analyse_annual(
        load_annual_config(write_annual(tmp_path, copy_store(demo_store, tmp_path)))
    )
    part = analysis["participation"].set_index("year")
    assert part.loc[2023, "enrolled"] == 70 and part.loc[2023, "linked_pairs"] == 57
    # 57 linked pairs of whom 50 have both WHO-5 scores: the 7 without would follow from
    # 57 − 50. The retention counts are kept (they carry the participation figure), so the
    # WHO-5 pairs are hidden instead, as a complement: the change itself is still shown
    who5 = analysis["outcomes"].query("instrument == 'who5' and year == 2023").iloc[0]
    assert pd.isna(who5["n_pairs"]) and who5["counts_hidden"] and not who5["suppressed"]
    assert who5["mean_diff"] == pytest.approx(4.08)
    assert not part["suppressed"].any()
    # peer 2025 has a comparison group: only the 70 mentored students are the programme's
    assert part.loc[2025, "enrolled"] == 70
    retention = 100 * part["linked_pairs"] / part["pre_responses"]
    assert part["retention_pct"].equals(retention)  # hidden (NaN) with the linked count
    pooled = analysis["pooled"].set_index(["instrument", "scale"])
    who5 = pooled.loc[("who5", "total")]
    assert who5["k"] == 3 and who5["ci_low"] < who5["estimate"] < who5["ci_high"]
    # DerSimonian-Laird by hand from the three published cohort estimates
    cohorts = analysis["outcomes"]
    cohorts = cohorts[(cohorts["instrument"] == "who5") & (cohorts["scale"] == "total")]
    y, v = cohorts["mean_diff"].to_numpy(), cohorts["se"].to_numpy() ** 2
    w = 1 / v
    q = float(np.sum(w * (y - np.sum(w * y) / np.sum(w)) ** 2))
    tau2 = max(0.0, (q - 2) / (np.sum(w) - np.sum(w**2) / np.sum(w)))
    assert who5["q"] == pytest.approx(q)
    assert who5["tau2"] == pytest.approx(tau2)
    assert who5["i2"] == pytest.approx(max(0.0, 100 * (q - 2) / q))
    w_star = 1 / (v + tau2)
    assert who5["estimate"] == pytest.approx(np.sum(w_star * y) / np.sum(w_star))
    forest = analysis["forest"]
    rows = forest[(forest["instrument"] == "who5") & (forest["scale"] == "total")]
    assert rows["row"].tolist() == ["cohort"] * 3 + ["pooled"]
    assert rows["label"].tolist()[:3] == ["2023", "2024", "2025"]
    assert analysis["trend_exclusions"].empty
    assert set(analysis["trends"]["year"]) == set(YEARS)
    assert set(analysis["dose"]["label"]) == {"exploratory"}
    assert set(analysis["dose"]["measure"]) == {"meetings", "regularity"}
    assert set(analysis["mentor_type"]["label"]) == {"exploratory"}
    shown = format_annual_table(analysis, "pooled")
    assert shown.index.names == ["programme", "instrument", "scale"]
    assert shown.map(lambda v: isinstance(v, str)).all().all()


def test_trends_exclude_an_instrument_whose_version_changed(
    demo_store: Path, tmp_path: Path
) -> None:
    store = copy_store(demo_store, tmp_path)
    tables = cohort_tables(store, 2024)
    versions = tables["instruments"]
    versions.loc[versions["instrument"] == "who5", "version"] = "2024-revised"
    add_cohort(
        store,
        programme="peer",
        cohort="2024",
        year=2024,
        tables=tables,
        inputs_sha256=["f" * 64],
    )
    analysis = analyse_annual(load_annual_config(write_annual(tmp_path, store)))
    excluded = analysis["trend_exclusions"]
    assert excluded[["programme", "instrument"]].to_numpy().tolist() == [["peer", "who5"]]
    reason = excluded["reason"].iloc[0]
    assert "version changed" in reason and "1998 → 2024-revised" in reason
    assert "2024: 2024-revised" in excluded["versions"].iloc[0]
    assert "who5" not in set(analysis["trends"]["instrument"])
    assert "who5" not in set(analysis["pooled"]["instrument"])
    assert {"cbi", "career_confidence"} <= set(analysis["trends"]["instrument"])
    # per-cohort change is still reported, and the note says why the trend is missing
    assert (analysis["outcomes"]["instrument"] == "who5").sum() == 3
    assert any("who5 excluded" in n for n in analysis.notes)


def test_ledger_blocks_differencing_against_an_earlier_report(
    demo_store: Path, tmp_path: Path
) -> None:
    store = copy_store(demo_store, tmp_path)
    config = load_annual_config(write_annual(tmp_path, store))
    first = analyse_annual(config)
    assert not first["participation"]["suppressed"].any()
    ledger_file = save_release_ledger(first)
    assert ledger_file == store / "ledger" / "releases.json" and ledger_file.is_file()

    # The same report again releases the same numbers: nothing is blocked.
    again = analyse_annual(config)
    assert not again["outcomes"]["suppressed"].any()

    # Three late withdrawals from 2024 are re-ingested: 2024's numbers now differ by 3
    # from the released ones, which would reveal those three students.
    tables = cohort_tables(store, 2024)
    gone = set(tables["linkage"].query("status == 'matched'")["participant_id"].head(3))
    for name in ("scores", "participants", "linkage", "responses"):
        tables[name] = tables[name][~tables[name]["participant_id"].isin(gone)]
    tables["dose"] = tables["dose"][~tables["dose"]["mentee_id"].isin(gone)]
    result = add_cohort(
        store, programme="peer", cohort="2024", year=2024, tables=tables,
        inputs_sha256=["e" * 64],
    )  # fmt: skip
    assert result.status == "replaced"
    later = analyse_annual(config)
    part = later["participation"].set_index("year")
    assert part.loc[2024, "suppressed"] and pd.isna(part.loc[2024, "enrolled"])
    assert not part.loc[[2023, 2025], "suppressed"].any()
    outcomes = later["outcomes"]
    assert outcomes.loc[outcomes["year"] == 2024, "suppressed"].all()
    assert not outcomes.loc[outcomes["year"] != 2024, "suppressed"].any()
    # 2024 is left out of the pooled estimate rather than leaking through it
    who5 = later["pooled"].set_index(["instrument", "scale"]).loc[("who5", "total")]
    assert who5["k"] == 2
    assert any("differ" in n for n in later.notes)


def test_figures_the_report_showed_are_written_as_shown_and_drawn_once(
    demo_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 18: write_annual_outputs and the brief reuse the PNG and SVG the report drew
    for its pages; the files equal those of a run that draws every figure afresh."""
    import matplotlib

    from mentoreval.report.annual import figures as annual_figures
    from mentoreval.report.annual.brief import annual_brief
    from mentoreval.report.annual.figures import figure_alt_texts
    from mentoreval.report.annual.outputs import write_annual_outputs

    matplotlib.use("Agg")
    config = load_annual_config(write_annual(tmp_path, copy_store(demo_store, tmp_path)))
    fresh = analyse_annual(config)
    write_annual_outputs(fresh, tmp_path / "fresh")
    shown = analyse_annual(config)
    report = open_annual_report(shown)
    for show in (report.show_participation, report.show_pooled, report.show_trends):
        show()
    assert {"participation", "forest_01", "trend_01"} <= set(shown.drawn)

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("a figure the report showed was drawn again")

    for name in ("plot_annual_participation", "forest_figures", "plot_annual_trends"):
        monkeypatch.setattr(annual_figures, name, never)
    write_annual_outputs(shown, tmp_path / "shown")
    assert annual_brief(shown).figure.png == shown.drawn["forest_01"]["png"]
    files = sorted(p.name for p in (tmp_path / "fresh" / "figures").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "shown" / "figures").iterdir())
    assert len(files) == 2 * len(shown.drawn)
    for name in files:
        written = (tmp_path / "shown" / "figures" / name).read_bytes()
        assert written == (tmp_path / "fresh" / "figures" / name).read_bytes(), name
        stem, fmt = name.rsplit(".", 1)
        assert written == shown.drawn[stem][fmt]  # the picture shown is the file saved
    listed = json.loads((tmp_path / "shown" / "results.json").read_text())["figures"]
    alt = figure_alt_texts(shown)
    assert listed == {
        name: {"png": f"figures/{name}.png", "svg": f"figures/{name}.svg", "alt": alt[name]}
        for name in shown.drawn
    }


def test_a_brief_whose_forest_plot_would_not_fit_leaves_it_to_the_full_report(
    demo_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mentoreval.report.annual import brief as annual_brief_module

    analysis = analyse_annual(
        load_annual_config(write_annual(tmp_path, copy_store(demo_store, tmp_path)))
    )
    assert annual_brief_module.annual_brief(analysis).figure is not None  # 3 cohorts fit
    monkeypatch.setattr(annual_brief_module, "fits_brief", lambda png: False)
    brief = annual_brief_module.annual_brief(analysis)
    assert brief.figure is None
    assert brief.design.endswith("The full report's forest plots show each cohort's change.")


def test_the_analysis_shared_with_a_second_process_is_the_same_analysis(
    demo_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The template's annual.start_worker(): cohorts analysed by a worker process (from
    the last backwards) give every table and note exactly as one process does."""
    import os

    from mentoreval.report import worker
    from mentoreval.report.annual import start_worker

    config = load_annual_config(write_annual(tmp_path, copy_store(demo_store, tmp_path)))
    alone = analyse_annual(config)
    monkeypatch.setenv("MENTOREVAL_HELPER", "1")
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    start_worker()
    try:
        assert worker._WORKER is not None
        worker._WORKER.submit(int).result()  # ready: it takes cohorts from the start
        shared = analyse_annual(config)
    finally:
        worker.stop_worker()
    assert shared.notes == alone.notes
    assert set(shared.tables) == set(alone.tables)
    for name, table in alone.tables.items():
        pd.testing.assert_frame_equal(shared.tables[name], table, check_exact=True)


def test_paired_rows_compare_every_scale_and_name_the_one_that_cannot_be() -> None:
    """All of a cohort's scales in one comparison, each equal to its own; a scale with a
    duplicated score is named in a note and the other scales keep their rows."""
    from mentoreval.report.annual.inputs import paired_rows
    from mentoreval.stats import compare_paired

    rng = np.random.default_rng(3)
    ids = [f"p{i:02d}" for i in range(12)]
    frames = [
        pd.DataFrame({"participant_id": ids, "wave": wave, "instrument": instrument,
                      "scale": scale, "score": rng.normal(50, 10, len(ids))})
        for instrument, scale in (("cbi", "personal"), ("who5", "total"))
        for wave in ("pre", "post")
    ] + [pd.DataFrame({"participant_id": ids[:5], "wave": "post", "instrument": "mq",
                       "scale": "total", "score": 3.0})]  # fmt: skip
    scores = pd.concat(frames, ignore_index=True)
    notes: list[str] = []
    rows = paired_rows(scores, pre="pre", post="post", confidence=0.95, notes=notes, where="c")
    assert rows[["instrument", "scale"]].to_numpy().tolist() == [
        ["cbi", "personal"], ["who5", "total"]]  # fmt: skip
    assert notes == []  # mq: measured at the second survey only, not compared
    for (instrument, scale), row in rows.groupby(["instrument", "scale"]):
        alone = compare_paired(
            scores[(scores["instrument"] == instrument) & (scores["scale"] == scale)],
            p_adjust="none", details=True,
        )  # fmt: skip
        pd.testing.assert_frame_equal(row.reset_index(drop=True), alone, check_exact=True)
    twice = pd.concat([scores, scores[(scores["instrument"] == "who5")].head(1)])
    rows = paired_rows(twice, pre="pre", post="post", confidence=0.95, notes=notes, where="c")
    assert rows["instrument"].tolist() == ["cbi"]
    assert len(notes) == 1 and notes[0].startswith("c who5.total: no paired comparison")


def test_missing_cohorts_are_named(tmp_path: Path) -> None:
    path = write_annual(tmp_path, tmp_path / "empty-store", update_store=False)
    with pytest.raises(DataError, match="3 listed cohort"):
        analyse_annual(path)


def test_pseudonym_scan_finds_leaks(tmp_path: Path) -> None:
    """The annual report passes every pseudonym to the egress scan (render.egress_scan)."""
    leak = "ab" * 32
    others = [f"{i:064x}" for i in range(2000)]
    (tmp_path / "ok.csv").write_text("n\n40\n")
    (tmp_path / "bad.html").write_text(f"<p>{leak.upper()}</p>")
    egress_scan([tmp_path / "ok.csv"], forbidden={"pseudonym": [*others, leak]})
    with pytest.raises(DisclosureError, match="1 leak in 1 file"):
        egress_scan(
            [tmp_path / "ok.csv", tmp_path / "bad.html"], forbidden={"pseudonym": [*others, leak]}
        )


def assert_no_derivable(analysis: AnnualAnalysis) -> None:
    """check_no_derivable over every table the annual report publishes."""
    assert set(SHOWN_TABLES) - {"trend_exclusions"} <= set(DERIVED_COLUMNS)
    for name, rules in DERIVED_COLUMNS.items():
        table = analysis[name]
        for counts, derived in rules:
            assert set(counts) <= set(table.columns) and set(derived) <= set(table.columns)
            check_no_derivable(table, count_columns=counts, derived_columns=derived, table=name)


def test_no_derivable_values_in_any_demo_table(demo_store: Path, tmp_path: Path) -> None:
    store = copy_store(demo_store, tmp_path)
    assert_no_derivable(analyse_annual(load_annual_config(write_annual(tmp_path, store))))
    # a high threshold hides many counts (dose thirds, mentor types, smaller cohorts): the
    # means, CIs and shares of those rows go with them
    strict = analyse_annual(
        load_annual_config(write_annual(tmp_path / "strict", store, disclosure={"threshold": 60}))
    )
    assert strict["dose"]["suppressed"].any() and strict["outcomes"]["suppressed"].any()
    assert_no_derivable(strict)
    part = strict["participation"]
    hidden = part[["enrolled", "pre_responses", "linked_pairs"]].isna().any(axis=1)
    assert part.loc[hidden & part["suppressed"], "retention_pct"].isna().all()


def test_display_tables_are_for_people(demo_store: Path, tmp_path: Path) -> None:
    store = copy_store(demo_store, tmp_path)
    analysis = analyse_annual(
        load_annual_config(write_annual(tmp_path, store, disclosure={"threshold": 60}))
    )
    for name in SHOWN_TABLES:
        text = annual_table(analysis, name)
        assert not set(text.columns) & RAW_NAMES, name
        assert text.map(lambda v: isinstance(v, str)).all().all()
        cells = set(text.to_numpy().ravel())
        assert not {"-0.0", "−0.0", "-0.00", "−0.00", "nan", "NaN"} & cells, name
    outcomes = annual_table(analysis, "outcomes")
    assert "Change (95% CI)" in outcomes.columns and "Programme" not in outcomes.columns
    assert "[c]" in set(outcomes["n (pairs)"])  # one neutral mark, whatever the threshold
    assert "(nothing to show)" in set(annual_table(analysis, "pooled").iloc[:, 0])
    analysis = analyse_annual(load_annual_config(write_annual(tmp_path / "default", store)))
    pooled = annual_table(analysis, "pooled")
    assert {"Pooled change (95% CI)", "Prediction interval (95%)", "I²"} <= set(pooled.columns)
    # the cohort is named once per block of rows, and cohort equals year: no "2023 2023"
    html = annual_table_html(analysis, "outcomes", caption="Change")
    assert html.count("<td>2023</td>") == 1 and "2023 (2023)" not in html
    assert "mentoreval-lead-2" in html  # cohort and outcome left-aligned, numbers unbroken


# --- the rendered report -----------------------------------------------------------------


@pytest.fixture(scope="module")
def annual_report(
    demo_store: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, ReportOutputs]:
    """The annual report of the three demo years, rendered once (HTML, PDF, Word, brief)."""
    folder = tmp_path_factory.mktemp("annual-report")
    store = copy_store(demo_store, folder)
    config = write_annual(folder, store)
    return store, run_annual_report(config, out_dir=folder / "report", pdf=True, progress=False)


def test_annual_report_over_three_demo_years_renders(
    annual_report: tuple[Path, ReportOutputs],
) -> None:
    store, outputs = annual_report
    out = outputs.html.parent
    assert outputs.html.is_file() and outputs.pdf is not None and outputs.pdf.is_file()
    html = outputs.html.read_text()
    for heading in ("Participation and retention", "Pooled estimates", "Trends across years",
                    "Dose (exploratory)", "Mentor type (exploratory)", "Provenance"):  # fmt: skip
        assert heading in html
    pooled = pd.read_csv(out / "tables" / "pooled.csv")
    assert pooled.query("instrument == 'who5' and scale == 'total'")["k"].tolist() == [3]
    assert len(pd.read_csv(out / "tables" / "participation.csv")) == 3
    manifest = json.loads((out / "manifest.json").read_text())
    assert [c["year"] for c in manifest["extra"]["cohorts"]] == list(YEARS)
    assert len(manifest["inputs"]) == 4  # annual.yaml and the three study configs
    results = json.loads((out / "results.json").read_text())
    assert results["years"] == list(YEARS)
    assert (store / "ledger" / "releases.json").is_file()
    # tables have human headers only, and the summary names the comparison-group cohort
    headers = {re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(r"<th[^>]*>(.*?)</th>", html)}
    assert headers and not headers & RAW_NAMES
    cells = re.findall(r"<td[^>]*>(.*?)</td>", html)
    assert cells and not [c for c in cells if re.fullmatch(r"[−-]0(\.0+)?%?", c.strip())]
    assert "Cohort 2025 was evaluated against a comparison group" in html
    assert "mentored students" in html
    # numbers look like numbers; CSVs rounded, results.json at full precision (issue 16)
    assert assert_html_numbers_look_like_numbers(html) >= 5
    assert assert_csvs_rounded_with_full_precision_in_results(out) > 0
    # issue 16: the heading names the programme and the years, as the HTML title does
    assert "<h1>Peer mentoring, annual report, 2023–2025</h1>" in html
    assert "<title>Peer mentoring, annual report, 2023–2025</title>" in html
    # the summary opens with what the report covers, not the title the heading just gave
    assert html.count("Peer mentoring, annual report") == 2  # <title> and <h1>
    assert "This report covers 3 cohorts of the peer programme, 2023 to 2025." in html
    # the pooled primary p-values are Holm-adjusted, said once, and the verdicts read them
    assert (
        len(re.findall(r"adjusted for 3 outcomes by Holm(?:'|&#x27;|&#39;|’)s method", html)) == 1
    )
    assert "p (Holm)" in headers
    assert pooled.loc[pooled["primary"], "p_adj"].notna().all()
    assert pooled.loc[~pooled["primary"], "p_adj"].isna().all()
    # the year-by-year means are the per-cohort table's, shown once and referred to
    start = html.index('<h2 id="5.-Trends-across-years"')
    trends = html[start : html.index('<h2 id="6.-Dose', start)]
    assert "Mean scores by year" not in html and "<caption>" not in trends
    assert "The mean scores by year are those of Table 2" in trends
    # the executed notebook keeps no pseudonym and no error output
    nb = json.loads(outputs.notebook.read_text())
    assert not any(
        o.get("output_type") == "error" for c in nb["cells"] for o in c.get("outputs", [])
    )


def test_annual_report_reads_the_store_it_is_given_not_the_configured_one(
    demo_store: Path, tmp_path: Path
) -> None:
    """Issue 16 (point 11): `mentoreval demo` hands its annual reports a store of its own;
    the configured store (a user's data/store) is neither read nor written."""
    store = copy_store(demo_store, tmp_path)
    configured = tmp_path / "data" / "store"
    config = write_annual(tmp_path / "config", configured)
    outputs = run_annual_report(
        config, out_dir=tmp_path / "report", pdf=False, progress=False, store_root=store
    )
    assert outputs.html.is_file() and not configured.exists()
    assert (store / "ledger" / "releases.json").is_file()
    manifest = json.loads((tmp_path / "report" / "manifest.json").read_text())
    root = project_root(config)
    assert (root / manifest["extra"]["store"]).resolve() == store.resolve()
    assert [c["year"] for c in manifest["extra"]["cohorts"]] == list(YEARS)


def test_annual_report_and_brief_come_in_html_pdf_and_word(
    annual_report: tuple[Path, ReportOutputs],
) -> None:
    import docx
    from pypdf import PdfReader

    _, outputs = annual_report
    out = outputs.html.parent
    for stem in ("annual_report", "brief"):
        for suffix in (".html", ".pdf", ".docx"):
            assert (out / f"{stem}{suffix}").is_file(), f"{stem}{suffix}"
    assert outputs.docx == out / "annual_report.docx"
    brief = " ".join((p.extract_text() or "") for p in PdfReader(out / "brief.pdf").pages)
    assert len(PdfReader(out / "brief.pdf").pages) <= 2
    brief = " ".join(brief.split())
    assert "Peer mentoring, annual report, 2023–2025" in brief  # the config's title and years
    assert "pooled over 3 cohorts" in brief and "Few cohorts" in brief
    report = docx.Document(str(out / "annual_report.docx"))
    assert report.core_properties.title == "Peer mentoring, annual report, 2023–2025"
    assert "4. Pooled estimates (random effects)" in [
        p.text for p in report.paragraphs if p.style.name == "Heading 1"
    ]
    results = json.loads((out / "results.json").read_text())
    assert len(report.tables) >= 6
    assert len(report.inline_shapes) == len(results["figures"])
    for shape in report.inline_shapes:
        assert shape._inline.docPr.get("descr") in {f["alt"] for f in results["figures"].values()}
    assert results["figures"]["forest_01"]["alt"].startswith("Forest plot of mean change")
    html = outputs.html.read_text()
    assert re.findall(r"<figcaption>Figure (\d+)\.", html) == [
        str(i) for i in range(1, len(results["figures"]) + 1)
    ]
    assert "No description" not in html


@pytest.mark.browser
def test_annual_report_and_brief_pass_axe_core(annual_report: tuple[Path, ReportOutputs]) -> None:
    from axe_check import axe_violations

    _, outputs = annual_report
    pages = [outputs.html, outputs.html.with_name("brief.html")]
    assert axe_violations(pages) == {"annual_report.html": [], "brief.html": []}


def test_annual_release_is_decided_once_and_audited_with_the_cohort_reports(
    demo_store: Path, tmp_path: Path
) -> None:
    """One decision over every annual table, checked against what the cohort reports of
    the same cohorts released (their ledger cells are the annual's per-cohort cells)."""
    store = copy_store(demo_store, tmp_path)
    config = load_annual_config(write_annual(tmp_path, store))
    first = analyse_annual(config, ledger=ReleaseLedger())
    assert any("No hidden count can be worked out" in n for n in first.notes)
    outcomes = first["outcomes"]
    full = analyse_annual(
        load_annual_config(write_annual(tmp_path / "off", store, disclosure={"profile": "off"}))
    )["outcomes"]
    who5 = full[(full["instrument"] == "who5") & (full["year"] == 2024)].iloc[0]
    # a count hidden anywhere is hidden everywhere: the same cohort × scale in the trends
    for name in ("trends", "forest"):
        shown = first[name]
        cohort_rows = shown[shown.get("row", "cohort") == "cohort"] if "row" in shown else shown
        merged = cohort_rows.merge(
            outcomes, on=["cohort", "year", "instrument", "scale"], suffixes=("", "_o")
        )
        assert merged["n_pairs"].isna().equals(merged["n_pairs_o"].isna()), name
    # a cohort report of peer 2024 released its mentored WHO-5 pairs as 3 more than now
    # (before three withdrawals): the annual must not publish the new number beside it
    cohort_report = ReleaseLedger()
    cohort_report.record(
        ("peer/2024/2024", "outcomes", "who5 / total", "n_pairs"), int(who5["n_pairs"]) + 3
    )
    later = analyse_annual(config, ledger=cohort_report)
    rows = later["outcomes"]
    row = rows[(rows["instrument"] == "who5") & (rows["year"] == 2024)].iloc[0]
    assert pd.isna(row["n_pairs"]) and row["suppressed"] and pd.isna(row["mean_diff"])
    pooled = later["pooled"].set_index(["instrument", "scale"]).loc[("who5", "total")]
    assert pooled["k"] == 2  # left out of pooling, not leaking through the pooled n
    assert any("earlier report" in n for n in later.notes)
    # the other cohorts' WHO-5 rows are untouched by the 2024 conflict
    others = rows[(rows["instrument"] == "who5") & (rows["year"] != 2024)]
    assert not others["suppressed"].any()


def test_annual_config_outside_a_project_with_no_cohorts_names_the_store_key(
    tmp_path: Path,
) -> None:
    from cli_run import run_mentoreval

    (tmp_path / "annual.yaml").write_text("title: A\nprogramme: peer\n", encoding="utf-8")
    done = run_mentoreval("annual", tmp_path / "annual.yaml")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"no cohorts in the store {tmp_path / 'data' / 'store'}" in done.stderr
    assert "name it with store: in the annual config" in done.stderr


def _design_studies(tmp_path: Path) -> Path:
    """A linked (2024), an anonymous unlinked (2025) and a post-only (2023) peer cohort."""
    from cohort_study import write_study

    specs = {
        2023: {"waves": ("post",), "analysis": "  waves: [post]\n"},
        2024: {},
        2025: {"participant_id": "none"},
    }
    studies = []
    for year, spec in specs.items():
        config = write_study(tmp_path / f"y{year}", n_students=80, seed=year, **spec)  # type: ignore[arg-type]
        text = config.read_text().replace('cohort: "2025"', f'cohort: "{year}"')
        config.write_text(text.replace("year: 2025", f"year: {year}"))
        studies.append(f"  - {config}")
    path = tmp_path / "annual.yaml"
    path.write_text(
        "title: Peer annual\nprogramme: peer\n"
        f"store: {tmp_path / 'store'}\nstudies:\n" + "\n".join(studies) + "\n"
    )
    return path


def test_unlinked_and_single_wave_cohorts_get_no_retention_or_paired_change(
    tmp_path: Path,
) -> None:
    config = load_annual_config(_design_studies(tmp_path))
    assert [r.status for r in update_store(config, echo=False)] == ["added"] * 3
    analysis = analyse_annual(config)
    part = analysis["participation"].set_index("year")
    # without linkage there are no pairs (not 0 pairs) and no count of students enrolled;
    # a wave that was not surveyed has no responses to count (not 0 responses)
    assert pd.isna(part.loc[2025, "linked_pairs"]) and pd.isna(part.loc[2025, "enrolled"])
    assert part.loc[2025, "pre_responses"] > 0 and pd.isna(part.loc[2025, "retention_pct"])
    assert pd.isna(part.loc[2023, "pre_responses"]) and pd.isna(part.loc[2023, "linked_pairs"])
    assert set(analysis["outcomes"]["year"]) <= {2024}
    note = next(n for n in analysis.notes if n.startswith("No retention or paired change"))
    assert "peer 2025 (its waves are not linked" in note and "peer 2023 (one survey wave)" in note


def test_a_retention_chart_with_fewer_than_two_years_shown_is_one_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only the 2024 cohort here has linked pairs; a demo annual report whose linked-pair
    # counts the ledger withheld drew an empty chart with a lone legend (issue 16, point 8)
    config = load_annual_config(_design_studies(tmp_path))
    update_store(config, echo=False)
    analysis = analyse_annual(config)
    assert analysis["participation"]["retention_pct"].notna().sum() < 2
    report = open_annual_report(analysis)
    shown: list[tuple[str, list[str]]] = []
    monkeypatch.setattr(report, "_show", lambda lead, blocks: shown.append((lead, blocks)))
    report.show_participation()
    lead, blocks = shown[0]
    assert lead.startswith("Table 1 counts the students per cohort; retention by cohort year")
    assert "is not drawn" in lead and not any("<figure" in b for b in blocks)


def test_a_multi_wave_cohort_is_pooled_by_its_primary_contrast_with_a_note(
    tmp_path: Path, demo_key: Path
) -> None:
    from mentoreval.synth.multiwave import write_waves_study

    config, _ = write_waves_study(tmp_path / "waves", key_file=str(demo_key), n_students=80, seed=4)
    text = config.read_text().replace(
        "title:", 'programme: peer\ncohort: "2025"\nyear: 2025\ntitle:', 1
    )
    config.write_text(text)
    annual = tmp_path / "annual.yaml"
    annual.write_text(
        f"title: Waves\nprogramme: peer\nstore: {tmp_path / 'store'}\nstudies:\n  - {config}\n"
    )
    loaded = load_annual_config(annual)
    update_store(loaded, echo=False)
    analysis = analyse_annual(loaded)
    assert len(analysis["outcomes"]) > 0  # paired change of the contrast's two waves
    assert any(
        "has 4 waves (pre, mid, post, followup)" in n and "followup vs pre" in n
        for n in analysis.notes
    )
