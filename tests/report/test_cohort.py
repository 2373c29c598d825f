"""Tests of the cohort analysis layer: judgements, disclosure control, result tables."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cohort_study import write_study
from mentoreval.config.disclosure import DisclosurePolicy
from mentoreval.disclose.ledger import ReleaseLedger
from mentoreval.errors import DataError, DisclosureError, MentorevalError
from mentoreval.ingest.pipeline import ingest_study
from mentoreval.report.cohort.analysis import analyse_cohort
from mentoreval.report.cohort.document import open_cohort_report
from mentoreval.report.cohort.outputs import write_cohort_outputs
from mentoreval.report.cohort.release import protect_cells as _protect_cells
from mentoreval.report.cohort.results import COMPARISON_TABLE_COLUMNS
from mentoreval.report.wording import format_finding, format_headline


@pytest.mark.parametrize(
    ("d", "lo", "hi", "hib", "expected"),
    [
        (0.3, -0.05, 0.65, True, "a small improvement, consistent with no change"),
        (-0.3, -0.65, 0.05, False, "a small improvement, consistent with no change"),
        (0.9, 0.55, 1.25, True, "a large improvement; at least a moderate one"),
        (-0.6, -0.9, -0.3, True, "a moderate worsening; at least a small one"),
        (0.45, 0.1, 0.8, True, "a small improvement; probably real, but it could be negligible"),
        (0.0, -0.1, 0.1, True, "no meaningful change (the interval rules out even a small effect)"),
    ],
)
def test_format_finding_reads_effect_and_ci(d, lo, hi, hib, expected):
    assert format_finding(d, lo, hi, higher_is_better=hib) == expected


def test_format_finding_never_mentions_p():
    for d in np.linspace(-1.2, 1.2, 13):
        text = format_finding(d, d - 0.3, d + 0.3)
        assert "p =" not in text and "signific" not in text


def test_protect_cells_complements_a_lone_small_cell():
    policy = DisclosurePolicy()
    out = _protect_cells(
        {"total": 60, "kept": 51, "dropped": 9}, [("total", ["kept", "dropped"])], policy
    )
    assert math.isnan(out["dropped"]) and math.isnan(out["kept"]) and out["total"] == 60
    off = _protect_cells({"total": 60, "kept": 51, "dropped": 9}, [("total", ["kept", "dropped"])],
                         DisclosurePolicy(profile="off"))  # fmt: skip
    assert off == {"total": 60, "kept": 51, "dropped": 9}


@pytest.fixture(scope="module")
def comparison_study(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cmp")
    config = write_study(folder, n_students=70, design="comparison", seed=5)
    ingested = ingest_study(config, out_dir=folder / "processed")
    return config, ingested


@pytest.fixture(scope="module")
def comparison_results(comparison_study):
    config, ingested = comparison_study
    return analyse_cohort(ingested, config, imputations=5)


#: Counts of export rows set aside (duplicates, previews, ids missing): not students with
#: an attribute, so not small cells (docs/disclosure.md); they still take part in the audit.
EXPORT_ROW_TABLES = {"flow_reasons", "quarantine"}


def _numbers_ok(table: pd.DataFrame, policy: DisclosurePolicy, name: str = "") -> None:
    if name in EXPORT_ROW_TABLES:
        return
    for c in table.columns:
        if (c == "n" or c.startswith("n_")) and c not in ("n_tests", "n_items", "n_obs"):
            values = pd.to_numeric(table[c], errors="coerce").dropna()
            assert not any(policy.is_small(v) for v in values), c


def test_comparisons_table_contract(comparison_results):
    comp = comparison_results.tables["comparisons"]
    # a comparison design: the contract columns plus the group, one row per group
    assert list(comp.columns) == [*COMPARISON_TABLE_COLUMNS, "group"]
    assert comp["group"].iloc[0] == "mentored"
    assert set(comp["group"]) == {"mentored", "comparison"}
    assert comparison_results.design == "comparison"
    assert 3 <= len(comparison_results.headline) <= 5
    assert comparison_results.headline[0].primary  # who5.total is the primary outcome
    for name, table in comparison_results.tables.items():
        _numbers_ok(table, comparison_results.policy, name)
    assert {"ancova", "adjusted_means", "mixed", "balance", "flow"} <= set(
        comparison_results.tables
    )


def test_headline_text_has_n_change_effect_and_no_p(comparison_results):
    text = format_headline(comparison_results.headline[0])
    f = comparison_results.headline[0]
    assert f"{int(f.n_pairs)} students" in text
    assert "d_z =" in text and "CI" in text and f.judgement in text
    assert "p =" not in text and "p-value" not in text
    # led by the comparison between the groups, not the pooled change; a non-randomised
    # comparison never speaks of the programme's effect (issue 16, point 2)
    assert text.index("compared with students who did not join") < text.index("own change")
    assert "programme's effect" not in text
    assert "d_ppc2 =" in text and f.design == "comparison"


def test_written_outputs_round_trip(comparison_results, tmp_path):
    written = write_cohort_outputs(comparison_results, tmp_path)
    assert (tmp_path / "results.json").is_file()
    header = (tmp_path / "tables" / "comparisons.csv").read_text().splitlines()[0]
    assert header.split(",") == [*COMPARISON_TABLE_COLUMNS, "group"]
    assert any(k.endswith(":svg") for k in written) and any(k.endswith(":png") for k in written)
    report = open_cohort_report(tmp_path)
    comp = report.tables["comparisons"]
    assert comp["n_pairs"].tolist() == comparison_results.tables["comparisons"]["n_pairs"].tolist()


def test_figures_saved_by_the_helper_process_are_the_same_files(comparison_results, tmp_path):
    """Issue 18: every second figure is pickled to the helper process and saved there; the
    PNG and SVG files must be byte-for-byte those this process writes."""
    import dataclasses
    import pickle

    from mentoreval.report.helper import Helper

    # a figure is laid out when saved, and a second layout can move it by a pixel: each
    # run gets figures never saved before (copies for the helper run, as in a report)
    fresh = {
        name: pickle.loads(pickle.dumps(fig)) for name, fig in comparison_results.figures.items()
    }
    with Helper(enabled=True) as helper:
        copies = dataclasses.replace(comparison_results, figures=fresh)
        there = write_cohort_outputs(copies, tmp_path / "there", helper=helper)
    here = write_cohort_outputs(comparison_results, tmp_path / "here")
    figures = sorted(k for k in here if k.startswith("figure:"))
    assert len(figures) >= 4 and figures == sorted(k for k in there if k.startswith("figure:"))
    for key in figures:
        assert here[key].read_bytes() == there[key].read_bytes(), key
    results = [(tmp_path / run / "results.json").read_text() for run in ("here", "there")]
    assert results[0] == results[1]


def test_results_json_keeps_every_table_at_full_precision_and_csvs_are_rounded(
    comparison_results, tmp_path
):
    """Issue 16 (point 7): tables/*.csv are rounded for pasting; results.json keeps the
    unrounded tables, and the report is drawn from those."""
    from number_checks import assert_csvs_rounded_with_full_precision_in_results

    write_cohort_outputs(comparison_results, tmp_path)
    report = open_cohort_report(tmp_path)
    assert set(report.tables) == set(comparison_results.tables)
    for name, table in comparison_results.tables.items():
        expected = table[report.tables[name].columns].reset_index(drop=True)
        pd.testing.assert_frame_equal(
            report.tables[name], expected, check_dtype=False, check_exact=True,
            check_names=False, obj=name,
        )  # fmt: skip
    assert assert_csvs_rounded_with_full_precision_in_results(tmp_path) > 0
    first = (tmp_path / "tables" / "comparisons.csv").read_text().splitlines()[1]
    assert ".0," not in first  # n_pairs and df are whole numbers: "57", not "57.0"


def test_below_threshold_suppresses_everything(tmp_path):
    config = write_study(tmp_path, n_students=14, design="single_arm", attrition=0.3, seed=2)
    res = analyse_cohort(ingest_study(config, out_dir=tmp_path / "p"), config)
    comp = res.tables["comparisons"]
    assert res.below_threshold and comp["suppressed"].all()
    assert comp[["n_pairs", "mean_diff", "d_z", "p_value"]].isna().all().all()
    assert any("Fewer than 10 students" in n for n in res.notices)
    assert all(f.suppressed for f in res.headline)
    assert "not reported" in format_headline(res.headline[0])
    flow = res.tables["flow"]
    assert not any(DisclosurePolicy().is_small(v) for v in flow["n"].dropna())


def test_disclosure_off_is_loud(comparison_study):
    config, ingested = comparison_study
    res = analyse_cohort(ingested, config, policy=DisclosurePolicy(profile="off"), imputations=2)
    assert res.notices[0].startswith("DISCLOSURE CONTROL IS OFF")
    assert not res.tables["comparisons"]["suppressed"].any()


def test_missing_post_wave_is_a_clear_error(tmp_path):
    config = write_study(tmp_path, n_students=20, waves=("pre",))
    with pytest.raises(MentorevalError, match="post"):
        ingested = ingest_study(config, out_dir=tmp_path / "p")
        analyse_cohort(ingested, config)


def test_no_linked_pairs_is_a_clear_error(tmp_path):
    config = write_study(tmp_path, n_students=30)
    post = tmp_path / "exports" / "post.csv"
    frame = pd.read_csv(post, dtype=str)
    frame["student_id"] = ["9" + s[1:] + "x" for s in frame["student_id"]]
    frame.to_csv(post, index=False)
    ingested = ingest_study(config, out_dir=tmp_path / "p")
    with pytest.raises(DataError, match="no student answered both"):
        analyse_cohort(ingested, config)


def test_processed_folder_is_accepted(comparison_study):
    config, ingested = comparison_study
    res = analyse_cohort(Path(ingested.out_dir), config, imputations=2)
    assert list(res.tables["comparisons"].columns) == [*COMPARISON_TABLE_COLUMNS, "group"]


def test_comparison_headline_is_the_controlled_effect(comparison_results):
    anc = comparison_results.tables["ancova"]
    comp = comparison_results.tables["comparisons"]
    shown = [f for f in comparison_results.headline if not f.suppressed]
    assert shown, "the comparison fixture must publish at least one finding"
    for f in shown:
        a = anc[(anc["instrument"] == f.instrument) & (anc["scale"] == f.scale)].iloc[0]
        assert f.adj_diff == pytest.approx(a["estimate"])
        assert (f.adj_ci_low, f.adj_ci_high) == pytest.approx((a["ci_low"], a["ci_high"]))
        own = comp[(comp["instrument"] == f.instrument) & (comp["scale"] == f.scale)
                   & (comp["group"] == "mentored")].iloc[0]  # fmt: skip
        assert f.n_pairs == own["n_pairs"] and f.mean_diff == pytest.approx(own["mean_diff"])
        expected = format_finding(f.adj_std, f.adj_std_ci_low, f.adj_std_ci_high,
                                  higher_is_better=f.higher_is_better, contrast=True)  # fmt: skip
        assert f.judgement == expected


def test_within_group_rows_are_not_pooled(comparison_results):
    comp = comparison_results.tables["comparisons"]
    balance = comparison_results.tables["adjusted_means"]
    checked = 0
    for (i, s), g in comp.groupby(["instrument", "scale"]):
        assert sorted(g["group"]) == ["comparison", "mentored"]  # one row per group, never pooled
        per = dict(zip(g["group"], g["n_pairs"], strict=True))
        am = balance[(balance["instrument"] == i) & (balance["scale"] == s)]
        if len(am) == 2 and not am["n"].isna().any():
            assert per == dict(zip(am["group"], am["n"], strict=True))
            checked += 1
    assert checked >= 1, "no scale had published adjusted-mean n's to compare with"


def test_no_derivable_values_in_any_table(comparison_results):
    """Issue 15: a number that gives a count back (a percentage, a proportion, df) is
    blank wherever a count of its row is hidden, for whatever reason; a statistic is blank
    where its group is itself small (a primary suppression, flagged ``suppressed``)."""
    from mentoreval.disclose.derived import check_no_derivable
    from mentoreval.disclose.formatting import hidden_flags
    from mentoreval.report.cohort.publish import REVEALING

    checked = []
    for name, rules in REVEALING.items():
        table = comparison_results.tables.get(name)
        if table is None or table.empty:
            continue
        any_hidden = table.assign(suppressed=hidden_flags(table))
        for counts, derived in rules:
            check_no_derivable(
                any_hidden, count_columns=counts, derived_columns=derived, table=name
            )
        checked.append(name)
    assert {"attrition", "response_rates", "bands"} <= set(checked), checked
    comp = comparison_results.tables["comparisons"]
    stats = ["mean_diff", "d_z", "p_value"]
    assert comp.loc[comp["suppressed"].astype(bool), stats].isna().all().all()
    balance = comparison_results.tables["balance"]
    level = balance["type"].eq("categorical") & hidden_flags(balance)
    counts = balance[["n_treated", "n_control", "mean_treated", "mean_control"]]
    assert balance.loc[level & counts.isna().any(axis=1), "smd"].isna().all()


def test_caveats_stated_once(comparison_results):
    cav = comparison_results.tables["caveats"]
    assert cav["caveat"].is_unique
    for text in cav["detail"]:
        assert "cbi client" not in text  # human labels, not ids


# ------------------------------------------------------------------ release ledger


def drop_post_responses(folder: Path, count: int) -> list[str]:
    """Remove every post-wave row of ``count`` students who also answered pre."""
    pre = pd.read_csv(folder / "exports" / "pre.csv", dtype=str)
    post_path = folder / "exports" / "post.csv"
    post = pd.read_csv(post_path, dtype=str)
    both = sorted(set(pre["student_id"]) & set(post["student_id"]))
    gone = both[:count]
    post[~post["student_id"].isin(gone)].to_csv(post_path, index=False)
    return gone


@pytest.fixture(scope="module")
def ledger_runs(tmp_path_factory):
    """A single-arm cohort released once, rerun unchanged, and rerun after 2 students'
    post responses were withdrawn (each time against the ledger of the runs before)."""
    folder = tmp_path_factory.mktemp("ledger")
    config = write_study(folder, n_students=60, design="single_arm", seed=21)
    first = analyse_cohort(ingest_study(config, out_dir=folder / "p1"), config,
                           ledger=ReleaseLedger())  # fmt: skip
    again = analyse_cohort(ingest_study(config, out_dir=folder / "p1"), config,
                           ledger=first.ledger)  # fmt: skip
    drop_post_responses(folder, 2)
    later = ingest_study(config, out_dir=folder / "p2")
    fresh = analyse_cohort(later, config, ledger=ReleaseLedger())
    rerun = analyse_cohort(later, config, ledger=again.ledger)
    return first, again, fresh, rerun


def test_ledger_identical_rerun_releases_identical_numbers(ledger_runs):
    first, again, _, _ = ledger_runs
    assert first.ledger is not None and first.ledger.entries
    assert set(first.tables) == set(again.tables)
    for name, table in first.tables.items():
        pd.testing.assert_frame_equal(table, again.tables[name], obj=name)
    assert first.notices == again.notices
    assert not any("earlier release" in n for n in again.notices)


def test_ledger_keys_match_the_annual_report(ledger_runs):
    first = ledger_runs[0]
    assert first.ledger is not None
    # same (study, table, group, statistic) as analyse_annual's per-cohort outcomes
    assert ("peer/2025/2025", "outcomes", "who5 / total", "n_pairs") in first.ledger.entries
    # the ledger holds counts: a difference between releases is a count of students
    assert not any(key[3] == "mean_diff" for key in first.ledger.entries)


def test_ledger_withholds_counts_that_differ_by_a_few_students(ledger_runs):
    first, _, fresh, rerun = ledger_runs
    policy = first.policy
    before = first.tables["comparisons"].set_index(["instrument", "scale"])
    now = fresh.tables["comparisons"].set_index(["instrument", "scale"])
    shown = rerun.tables["comparisons"].set_index(["instrument", "scale"])
    changed = 0
    for key in before.index:
        diff = abs(now.at[key, "n_pairs"] - before.at[key, "n_pairs"])
        if 1 <= diff < policy.threshold:
            changed += 1
            assert shown.at[key, "suppressed"], key
            assert shown.loc[[key], ["n_pairs", "mean_diff", "d_z", "p_value"]].isna().all().all()
        elif diff == 0:
            pd.testing.assert_series_equal(shown.loc[key], before.loc[key], check_names=False)
    assert changed  # the withdrawn students were in at least one comparison
    # the participant flow: the post-wave counts changed by 2, so they are withheld
    flow_after = rerun.tables["flow"]
    linked = flow_after["stage"].str.startswith("Linked")
    assert flow_after.loc[linked, "n"].isna().all()
    rates = rerun.tables["response_rates"]
    assert rates["n_followed_up"].isna().all()
    for name, table in rerun.tables.items():
        _numbers_ok(table, policy, name)
    notice = [n for n in rerun.notices if "earlier release of this cohort" in n]
    assert len(notice) == 1 and "outcome comparisons" in notice[0]
    assert not any("earlier release" in n for n in fresh.notices)  # an empty ledger


def test_ledger_records_only_published_cells(ledger_runs):
    _, _, _, rerun = ledger_runs
    assert rerun.ledger is not None
    key = ("peer/2025/2025", "outcomes", "who5 / total", "n_pairs")
    # the withheld n of the rerun is not recorded as released
    assert len(rerun.ledger.entries[key]) == 1


def test_ledger_can_only_be_switched_off_without_disclosure_control(comparison_study):
    config, ingested = comparison_study
    with pytest.raises(DisclosureError, match="ledger can only be switched off"):
        analyse_cohort(ingested, config, use_ledger=False, imputations=2)
    res = analyse_cohort(ingested, config, policy=DisclosurePolicy(profile="off"),
                         use_ledger=False, imputations=2)  # fmt: skip
    assert res.ledger is None
    assert any(n.startswith("RELEASE LEDGER NOT USED") for n in res.notices)


def test_a_third_group_level_is_said_in_the_report_not_dropped_silently(tmp_path):
    """Issue 20 (point 6): students of a group declared neither treated nor control are not
    analysed, and the report says so; a level too small to name is not named."""
    config = write_study(tmp_path, n_students=90, design="comparison", seed=11)
    frames = {w: pd.read_csv(tmp_path / "exports" / f"{w}.csv", dtype=str) for w in ("pre", "post")}
    ids = sorted(set(frames["pre"]["student_id"]))
    waitlist, rare = ids[:12], ids[12:13]
    for wave, frame in frames.items():
        frame.loc[frame["student_id"].isin(waitlist), "group"] = "waitlist"
        frame.loc[frame["student_id"].isin(rare), "group"] = "Jo Bloggs"
        frame.to_csv(tmp_path / "exports" / f"{wave}.csv", index=False)
    ingested = ingest_study(config, out_dir=tmp_path / "processed")
    result = analyse_cohort(ingested, config, imputations=2)
    said = " ".join(result.notices)
    assert "Students in group 'waitlist' are not analysed" in said
    assert "one more group, too small to name, are not analysed" in said
    assert "Jo Bloggs" not in said


def test_no_duration_column_reports_speeders_not_available(tmp_path):
    """Without a duration the speeder flag is unknown: never "too fast 0 (0.0%)"."""
    config = write_study(tmp_path, n_students=60, design="single_arm", seed=4)
    text = config.read_text(encoding="utf-8").replace("  duration: duration_s\n", "")
    config.write_text(text.replace("drop: [response_id]", "drop: [response_id, duration_s]"))
    res = analyse_cohort(ingest_study(config, out_dir=tmp_path / "p"), config, imputations=2)
    flags = res.tables["quality_flags"]
    speeder = flags[flags["flag"].str.startswith("too fast")]
    assert set(speeder["flag"]) == {"too fast: not available (no duration column)"}
    assert speeder[["n_responses", "n_flagged", "flagged_pct"]].isna().all().all()
    # the demo's instruments are longer than 10 items: the longstring row is a real count
    runs = flags[flags["flag"] == "same answer in a long run"]
    assert len(runs) == 2  # computed (a small count may still be suppressed)
