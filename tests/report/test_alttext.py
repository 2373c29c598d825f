"""Alternative text is written from the numbers a figure is drawn from, and hides what
disclosure control hides."""

from __future__ import annotations

import math

import pandas as pd

from mentoreval.config.disclosure import DisclosurePolicy
from mentoreval.report.alttext import bands_alt, flow_alt, forest_alt, likert_alt, prepost_alt
from mentoreval.report.cohort.alttexts import cohort_alt_texts


def test_forest_alt_gives_each_estimate_with_its_interval_and_the_pooled_row() -> None:
    rows = pd.DataFrame(
        {"label": ["2023", "2024"], "estimate": [4.06, -1.25], "ci_low": [-2.5, -3.0],
         "ci_high": [10.6, 0.5]}
    )  # fmt: skip
    text = forest_alt(rows, what="mean change", units="points", decimals=1,
                      pooled={"estimate": 1.2, "ci_low": -0.4, "ci_high": 2.8})  # fmt: skip
    assert text.startswith("Forest plot of mean change:")
    assert "2023 +4.1 points (95% CI −2.5 to 10.6)" in text
    assert "2024 −1.2 points (95% CI −3.0 to 0.5)" in text  # typographic minus, no "-"
    assert "pooled (random effects) +1.2 points (95% CI −0.4 to 2.8)" in text
    assert "-" not in text.replace("post − pre", "")


def test_suppressed_rows_are_named_never_given_a_number() -> None:
    policy = DisclosurePolicy(k=15)
    rows = pd.DataFrame({"label": ["small"], "estimate": [math.nan], "ci_low": [math.nan],
                         "ci_high": [math.nan]})  # fmt: skip
    assert (
        "small not shown ([c]: fewer than 15 students, or hidden to protect such a group)"
        in forest_alt(rows, what="x", policy=policy)
    )
    comp = pd.DataFrame({"group": ["comparison"], "n_pairs": [math.nan],
                         "mean_pre": [math.nan], "mean_post": [math.nan]})  # fmt: skip
    assert (
        "Comparison: not shown ([c]: fewer than 15 students, or hidden to protect such a group)"
        in prepost_alt(comp, label="WHO-5", policy=policy)
    )
    bands = pd.DataFrame({"band": ["high"], "n_pairs": [40.0], "prop_pre": [math.nan],
                          "prop_post": [math.nan]})  # fmt: skip
    assert "high not shown" in bands_alt(bands, label="CBI", policy=policy)
    flow = pd.DataFrame({"stage": ["Analysed"], "n": [math.nan]})
    assert flow_alt(flow, policy=policy).endswith("Analysed, fewer than 15.")


def test_likert_alt_gives_the_top_answer_share_per_item_and_wave() -> None:
    rows = pd.DataFrame({
        "item_label": ["Calm"] * 4 + ["Rested"] * 4,
        "wave": ["pre", "pre", "post", "post"] * 2,
        "level_order": [0, 1] * 4,
        "level": ["Rarely", "Often"] * 4,
        "n": [40, 60, 30, 70, 50, 50, math.nan, 20],
    })  # fmt: skip
    text = likert_alt(rows, title="WHO-5")
    assert "the 2 items of WHO-5" in text and "from Rarely to Often" in text
    assert "Calm 60% at pre, 70% at post" in text
    assert (
        "Rested 50% at pre, not shown ([c]: fewer than 10 students, or hidden to protect such a group) at post"
        in text
    )


def _cohort_tables(design: str) -> dict[str, pd.DataFrame]:
    scales = pd.DataFrame({"instrument": ["who5", "cbi"], "scale": ["total", "personal"],
                           "label": ["WHO-5: Wellbeing (0–100)", "CBI: Personal burnout (0–100)"],
                           "higher_is_better": [True, False]})  # fmt: skip
    comp = pd.DataFrame({
        "instrument": ["who5", "cbi"], "scale": ["total", "personal"], "n_pairs": [51.0, 51.0],
        "mean_pre": [50.0, 45.0], "mean_post": [54.1, 41.0], "d_z": [0.3, -0.2],
        "d_z_ci_low": [0.02, -0.48], "d_z_ci_high": [0.58, 0.08],
    })  # fmt: skip
    tables = {"scales": scales, "comparisons": comp}
    if design == "comparison":
        tables["ancova"] = pd.DataFrame({"instrument": ["who5"], "scale": ["total"],
                                         "estimate": [4.06], "ci_low": [-2.5],
                                         "ci_high": [10.6]})  # fmt: skip
    return tables


def test_single_arm_forest_alt_keeps_the_texts_sign_and_says_which_way_is_better() -> None:
    """Issue 16, point 3: one sign everywhere. Burnout's d_z of −0.2 is drawn and described
    as −0.2 (never silently flipped), its row saying lower is better."""
    texts = cohort_alt_texts(_cohort_tables("single_arm"), {"forest": None}, design="single_arm",
                             info={})  # fmt: skip
    assert "WHO-5: Wellbeing (0–100) +0.30 (95% CI 0.02 to 0.58)" in texts["forest"]
    assert (
        "CBI: Personal burnout (0–100) (lower is better) −0.20 (95% CI −0.48 to 0.08)"
        in texts["forest"]
    )


def test_comparison_forest_alt_gives_the_controlled_effect_in_points() -> None:
    texts = cohort_alt_texts(_cohort_tables("comparison"), {"forest": None}, design="comparison",
                             info={})  # fmt: skip
    assert "WHO-5: Wellbeing (0–100) +4.1 points (95% CI −2.5 to 10.6)" in texts["forest"]


def test_every_figure_gets_a_text() -> None:
    tables = _cohort_tables("single_arm")
    names = {"forest": None, "prepost_who5_total": None, "prepost_cbi_personal": None}
    texts = cohort_alt_texts(tables, names, design="single_arm", info={"pre": "T1", "post": "T2"})
    assert set(texts) == set(names)
    assert texts["prepost_cbi_personal"].startswith(
        "Distribution chart of CBI: Personal burnout (0–100) at T1 and T2"
    )
    assert "51 students: mean 45.0 at T1, 41.0 at T2" in texts["prepost_cbi_personal"]


def test_a_figure_no_table_describes_still_says_what_it_is() -> None:
    texts = cohort_alt_texts({}, {"mystery_chart": None}, design="single_arm", info={})
    assert texts["mystery_chart"] == "Chart: mystery chart (numbers in the tables)."


def test_prepost_alt_keeps_a_groups_means_when_only_its_count_is_hidden() -> None:
    """Issue 15: a group of 49 whose n is hidden to protect another cell keeps its means
    in the alt text; its n reads [c] and it is not called "fewer than 10"."""
    rows = pd.DataFrame(
        {"group": ["mentored"], "n_pairs": [float("nan")], "mean_pre": [45.7], "mean_post": [45.6]}
    )
    text = prepost_alt(rows, label="CBI", policy=DisclosurePolicy())
    assert "Mentored, [c] students: mean 45.7 at pre, 45.6 at post." in text
    assert "fewer than" not in text
