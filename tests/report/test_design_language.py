"""Issue 16, points 2–4, on generated cohorts: the words follow the declared design, one
sign everywhere, and the verdicts follow the report's own multiplicity adjustment."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from cohort_study import write_study
from mentoreval.config.study import load_study
from mentoreval.disclose.ledger import ReleaseLedger
from mentoreval.ingest.pipeline import ingest_study
from mentoreval.report.cohort.analysis import analyse_cohort
from mentoreval.report.cohort.brief import cohort_brief
from mentoreval.report.cohort.document import CohortReport, open_cohort_report
from mentoreval.report.cohort.outputs import write_cohort_outputs
from mentoreval.report.wording import format_finding, format_headline

PRIMARY = "  primary: [who5.total, cbi.personal, career_confidence.total]\n"


@pytest.fixture(scope="module")
def studies(tmp_path_factory):
    """One generated comparison cohort, analysed as declared non-randomised and randomised."""
    folder = tmp_path_factory.mktemp("design") / "study"
    config = write_study(folder, n_students=70, design="comparison", seed=5)
    text = config.read_text(encoding="utf-8").replace("  primary: [who5.total]\n", PRIMARY)
    config.write_text(text, encoding="utf-8")
    randomised = folder / "randomised.yaml"
    randomised.write_text(text.replace("  pre: pre\n", "  design: randomised\n  pre: pre\n"))
    ingested = ingest_study(config, out_dir=folder / "processed")
    out = {}
    for design, path in (("comparison", config), ("randomised", randomised)):
        results = analyse_cohort(ingested, load_study(path), imputations=5, ledger=ReleaseLedger())
        target = folder.parent / f"out-{design}"
        write_cohort_outputs(results, target)
        out[design] = (results, target)
    return out


def _markdown(report: CohortReport, *sections: str) -> str:
    """The Markdown the report shows in ``sections``, captured instead of displayed."""
    shown: list[str] = []

    def flush() -> None:
        shown.extend(content for kind, content in report._out or [] if kind == "md")

    report._flush = flush  # type: ignore[method-assign]
    for name in sections:
        getattr(report, name)()
    return "\n".join(shown)


def test_design_is_recorded_as_declared(studies):
    assert studies["comparison"][0].design == "comparison"
    assert studies["randomised"][0].design == "randomised"


def test_non_randomised_summary_never_speaks_of_the_programmes_effect(studies):
    _, folder = studies["comparison"]
    report = open_cohort_report(folder)
    text = _markdown(report, "show_title", "show_summary", "show_outcomes",
                     "show_comparison_group", "show_methods")  # fmt: skip
    assert "programme's effect" not in text.replace("\u2019", "'")
    assert "compared with students who did not join" in text
    brief = cohort_brief(open_cohort_report(folder))
    brief_text = " ".join([brief.design, brief.findings_intro, *(f for _, f in brief.findings)])
    assert "programme's effect" not in brief_text
    # the first caution, in the summary and the brief, names self-selection
    summary = _markdown(open_cohort_report(folder), "show_summary")
    cautions = summary.split("Read these results with care.", 1)[1]
    assert cautions.split("- ", 1)[1].startswith("**Not randomised.** Students chose")
    assert brief.caveats[0][0] == "Not randomised"


def test_randomised_summary_may_speak_of_the_programmes_effect(studies):
    _, folder = studies["randomised"]
    text = _markdown(open_cohort_report(folder), "show_summary")
    assert "The programme's effect" in text
    assert "Students chose whether to join" not in text


def test_signs_agree_between_results_json_the_text_and_the_forest_plot(studies):
    results, folder = studies["comparison"]
    headline = {(f.instrument, f.scale): f for f in results.headline}
    burnout = [f for f in results.headline if not f.higher_is_better]
    assert burnout, "the generated cohort has a lower-is-better scale in its summary"
    ax = results.figures["forest"].axes[0]
    drawn = {}
    for text in ax.texts:
        m = re.match(r"^([\u2212-]?[\d.]+) \[", text.get_text())  # a true minus sign
        if m:
            drawn[round(text.get_position()[1])] = float(m.group(1).replace("\u2212", "-"))
    labels = [t.get_text().split("\n")[0] for t in ax.get_yticklabels()]
    assert drawn, "the forest plot labels each row with its estimate"
    saved = open_cohort_report(folder).results["headline"]
    for f in headline.values():
        row = next(y for y, lab in enumerate(labels) if f.label.startswith(lab.split(" (")[0][:10]))
        assert (drawn[-row] > 0) == (f.adj_std > 0), f.label
        in_text = format_headline(f)
        sign = "−" if f.adj_std < 0 else "+"
        assert f"{sign}{abs(f.adj_std):.2f} baseline SDs" in in_text
        json_row = next(
            s for s in saved if (s["instrument"], s["scale"]) == (f.instrument, f.scale)
        )
        assert (json_row["adj_std"] > 0) == (f.adj_std > 0)
    for t in ax.get_yticklabels():
        assert t.get_text().endswith(("better →", "← better")), t.get_text()


def test_verdicts_of_primary_outcomes_follow_the_adjusted_p(studies):
    for results, _ in studies.values():
        alpha = 1 - results.confidence
        for f in results.headline:
            if not f.primary or pd.isna(f.p_adj):
                continue
            clear = "probably real" in f.judgement or "at least" in f.judgement
            assert clear == (f.p_adj < alpha) or "no meaningful" in f.judgement, (
                f.label, f.judgement, f.p_adj,
            )  # fmt: skip
    anc = studies["comparison"][0].tables["ancova"]
    assert "p_adj" in anc.columns and (anc["p_adj"].dropna() >= anc["p_value"].dropna()).all()


def test_a_clear_interval_with_an_adjusted_p_above_alpha_is_not_called_real():
    assert format_finding(0.45, 0.11, 0.79, p_adjusted=0.129) == (
        "a small improvement, consistent with no change once adjusted for the other primary "
        "outcomes"
    )
    assert "probably real" in format_finding(0.45, 0.11, 0.79, p_adjusted=0.01)
    assert "probably real" in format_finding(0.45, 0.11, 0.79)  # exploratory: unadjusted


def test_the_summary_says_once_that_primary_verdicts_read_the_adjusted_p(studies):
    text = _markdown(open_cohort_report(studies["comparison"][1]), "show_summary")
    assert text.count("Holm-adjusted p-value") == 1


def test_no_nan_in_any_summary_or_brief_text(studies):
    for _, folder in studies.values():
        report = open_cohort_report(folder)
        text = _markdown(report, "show_title", "show_summary", "show_methods")
        brief = cohort_brief(open_cohort_report(folder))
        words = " ".join([text, brief.design, *(f for _, f in brief.findings),
                          *(c for _, c in brief.caveats)]).split()  # fmt: skip
        assert not [w for w in words if w.strip(".,;:()*").lower() in ("nan", "inf")]


def test_summary_cautions_are_one_sentence_each(studies):
    for results, _ in studies.values():
        for caution in results.info["summary_caveats"]:
            body = caution["text"].replace("e.g.", "")
            assert body.count(". ") == 0 and body.endswith("."), caution


def test_randomised_design_without_a_group_is_refused(tmp_path: Path):
    folder = tmp_path / "s"
    config = write_study(folder, design="single_arm", seed=2)
    config.write_text(
        config.read_text().replace("  pre: pre\n", "  design: randomised\n  pre: pre\n")
    )
    from mentoreval.errors import ConfigError

    with pytest.raises(ConfigError, match=r"analysis\.design"):
        load_study(config)
