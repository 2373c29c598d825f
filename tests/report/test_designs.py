"""End to end: anonymous (unlinked) and single-wave studies through `mentoreval report`."""

from __future__ import annotations

import html as html_lib
import json
import os
import re
from pathlib import Path

import pandas as pd
import pytest

from cohort_study import write_study
from mentoreval.cli import main
from mentoreval.outputs import table_from_json
from mentoreval.stats.equivalence import bayes_factor_t


def _report(tmp_path, **study) -> tuple[str, dict, str]:
    study.setdefault("n_students", 80)
    config = write_study(tmp_path / "study", seed=11, **study)
    out = tmp_path / "report"
    with pytest.raises(SystemExit) as done:
        main(["report", str(config), "--out", str(out)])
    assert done.value.code in (0, None)
    text = html_lib.unescape(re.sub(r"<[^>]+>", " ", (out / "cohort_report.html").read_text()))
    return re.sub(r"\s+", " ", text), json.loads((out / "results.json").read_text()), str(out)


def test_anonymous_survey_is_reported_unlinked_with_no_paired_statistic(tmp_path):
    text, results, out = _report(tmp_path, design="comparison", participant_id="none")
    assert results["design"] == "unlinked"
    assert "people answering may differ between waves" in text
    for paired in ("linked pairs", "McNemar", "Reliable change", "d_z", "Wilcoxon"):
        assert paired not in text, paired
    assert pd.read_csv(f"{out}/tables/comparisons.csv").empty  # no pairs
    unlinked = pd.read_csv(f"{out}/tables/unlinked.csv")
    assert {"n_pre", "n_post", "g_s", "mann_whitney_p"} <= set(unlinked.columns)
    released = table_from_json(results["table_data"]["unlinked"])
    assert released["bf10"].notna().all()
    for r in released.itertuples():  # BF₁₀ of the released pooled t (d_s and n), per arm
        t = r.d_s / (1 / r.n_pre + 1 / r.n_post) ** 0.5
        assert r.bf10 == bayes_factor_t(t, int(r.n_pre), int(r.n_post))
    inter = pd.read_csv(f"{out}/tables/interaction.csv")
    assert set(inter["contrast"]) == {"difference in change: mentored - comparison"}
    # WHO-5 carries its published MID (10 points): the verdict reads the interval against it
    eq = pd.read_csv(f"{out}/tables/equivalence.csv")
    assert list(eq["instrument"]) == ["who5"] and eq["mid"].iloc[0] == 10
    who5 = next(s for s in results["info"]["summary"] if s.startswith("WHO-5"))
    assert "minimal important difference" in who5
    assert "consistent with no change" not in text


def test_small_groups_in_an_unlinked_survey_are_hidden(tmp_path):
    _, _, out = _report(tmp_path, design="comparison", participant_id="none",
                              instruments=("who5",), effects={"who5": 0.4})  # fmt: skip
    desc = pd.read_csv(f"{out}/tables/descriptives.csv")
    shown = desc["n"].dropna()
    assert (shown >= 10).all()  # no count under k reaches a table


def test_post_only_survey_is_described_by_group(tmp_path):
    text, results, out = _report(
        tmp_path, design="comparison", waves=("post",), instruments=("who5", "cbi"),
        effects={"who5": 0.4},
        analysis="  waves: [post]\n  mid: {who5: 5}\n",
    )  # fmt: skip
    assert results["design"] == "single_wave"
    assert results["info"]["waves"] == ["post"]
    desc = pd.read_csv(f"{out}/tables/descriptives.csv")
    assert set(desc["wave"]) == {"post"} and set(desc["group"]) == {"mentored", "comparison"}
    between = pd.read_csv(f"{out}/tables/between_groups.csv")
    assert {"n_treated", "n_control", "g_s"} <= set(between.columns)
    # BF₁₀ of the released comparison: Student's pooled t from its d_s and n (as ttestBF)
    released = table_from_json(results["table_data"]["between_groups"])
    assert released["bf10"].notna().all()
    for r in released.itertuples():
        t = r.d_s / (1 / r.n_treated + 1 / r.n_control) ** 0.5
        assert r.bf10 == bayes_factor_t(t, int(r.n_control), int(r.n_treated))
    assert "BF₁₀ (JZS, r = 0.707)" in text and "Student's pooled t" in text
    eq = pd.read_csv(f"{out}/tables/equivalence.csv")
    assert eq["mid"].iloc[0] == 5  # analysis.mid overrides the published 10
    assert "linked pairs" not in text and "paired t" not in text
    assert not re.search(r"\bnan\b", text)
    # small answer counts are merged into neighbouring options, not blanked from the chart
    likert = pd.read_csv(f"{out}/tables/likert.csv")
    assert likert["n"].notna().all() and (likert["n"] >= 10).all()
    # the brief gives the between-group finding, not a baseline-adjusted comparison
    brief = html_lib.unescape(re.sub(r"<[^>]+>", " ", Path(out, "brief.html").read_text()))
    brief = re.sub(r"\s+", " ", brief)
    assert "What the one survey shows" in brief and "(mentored − comparison; 95% CI" in brief
    assert "baseline" not in brief and "No outcome could be reported" not in brief


def test_equivalence_is_not_shown_for_a_comparison_the_release_withholds(tmp_path):
    # 18 students split over two arms: each arm is under k = 10, so the between-group
    # comparison is withheld; its TOST (estimate ± MID) would give the estimate back
    _, _, out = _report(
        tmp_path / "small", design="comparison", waves=("post",), instruments=("who5",),
        n_students=18, effects={"who5": 0.4}, analysis="  waves: [post]\n  mid: {who5: 5}\n",
    )  # fmt: skip
    between = pd.read_csv(f"{out}/tables/between_groups.csv")
    assert between["mean_diff"].isna().all()  # withheld by the release
    assert between["bf10"].isna().all() and between["d_s"].isna().all()  # and its BF₁₀
    path = f"{out}/tables/equivalence.csv"
    eq = pd.read_csv(path) if os.path.exists(path) else pd.DataFrame(columns=["estimate"])
    assert eq["estimate"].dropna().empty


def test_then_test_report_names_the_design_and_its_recall_caveat(tmp_path, monkeypatch):
    from mentoreval.ingest.protect import keygen

    keygen(tmp_path / "keys" / "k.key")
    monkeypatch.setenv("MENTOREVAL_KEY_FILE", str(tmp_path / "keys" / "k.key"))
    study = tmp_path / "study"
    study.mkdir()
    rng = __import__("numpy").random.default_rng(5)
    now = rng.integers(2, 6, size=(40, 5))
    then = (now - rng.integers(0, 2, size=(40, 5))).clip(0, 5)
    rows = [
        f"MED{i:05d},{','.join(map(str, now[i]))},{','.join(map(str, then[i]))}" for i in range(40)
    ]
    (study / "post.csv").write_text(
        "sid,who5_1,who5_2,who5_3,who5_4,who5_5,b1,b2,b3,b4,b5\n" + "\n".join(rows) + "\n",
        encoding="utf-8",
    )
    (study / "study.yaml").write_text(
        "title: Then-test cohort\nparticipant_id: {column: sid}\n"
        "sources: [{path: post.csv, wave: post, then: pre}]\n"
        "instruments:\n  who5: {then: {who5_1: b1, who5_2: b2, who5_3: b3, who5_4: b4, who5_5: b5}}\n",
        encoding="utf-8",
    )  # fmt: skip
    out = tmp_path / "report"
    with pytest.raises(SystemExit) as done:
        main(["report", str(study / "study.yaml"), "--out", str(out)])
    assert done.value.code in (0, None)
    results = json.loads((out / "results.json").read_text())
    assert results["info"]["retrospective"] == {"then": "pre", "now": "post"}
    assert results["info"]["summary_caveats"][0]["title"] == "Retrospective pre-test"
    text = html_lib.unescape(re.sub(r"<[^>]+>", " ", (out / "cohort_report.html").read_text()))
    assert "Retrospective pre-test" in text and "from memory" in text
    assert "design: single group, pre/post, retrospective pre-post (then-test)" in text
    brief = html_lib.unescape(re.sub(r"<[^>]+>", " ", (out / "brief.html").read_text()))
    assert "then-test" in re.sub(r"\s+", " ", brief)
