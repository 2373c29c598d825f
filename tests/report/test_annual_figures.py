"""The annual report's forest plots: a consortium's many cohorts split into legible parts."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from mentoreval.disclose.system import DisclosurePolicy
from mentoreval.report.annual import figures as annual_figures
from mentoreval.report.annual.figures import (
    FOREST_ROWS,
    figure_alt_texts,
    forest_figures,
)
from mentoreval.report.annual.results import AnnualAnalysis


def _consortium(n_cohorts: int) -> AnnualAnalysis:
    """A forest table of ``n_cohorts`` cohorts of one primary outcome, the 7th withheld."""
    rng = np.random.default_rng(7)
    est = rng.normal(5.0, 3.0, n_cohorts)
    est[6] = np.nan
    cohorts = pd.DataFrame({
        "programme": "peer", "instrument": "who5", "scale": "wellbeing", "row": "cohort",
        "label": [f"site {i // 5:02d} {2021 + i % 5}" for i in range(n_cohorts)],
        "estimate": est, "ci_low": est - 4.0, "ci_high": est + 4.0,
    })  # fmt: skip
    cohorts.loc[0, "ci_high"] = 30.0  # the widest interval sits in the first part only
    pooled = pd.DataFrame({
        "programme": ["peer"], "instrument": ["who5"], "scale": ["wellbeing"], "row": ["pooled"],
        "label": ["Pooled"], "estimate": [5.0], "ci_low": [4.0], "ci_high": [6.0],
    })  # fmt: skip
    config = SimpleNamespace(confidence=0.95, policy=DisclosurePolicy())
    return AnnualAnalysis(
        config=config,  # type: ignore[arg-type]
        tables={"forest": pd.concat([cohorts, pooled], ignore_index=True),
                "participation": pd.DataFrame(columns=["programme", "year", "retention_pct"]),
                "trends": pd.DataFrame(columns=["programme", "instrument", "scale", "year"])},
        primary=(("who5", "wellbeing"),),
    )  # fmt: skip


def test_a_forest_plot_of_200_cohorts_is_split_into_legible_parts_on_one_x_range() -> None:
    figures = forest_figures(_consortium(200))
    assert len(figures) == 8  # 200 / 25
    axes = [fig.axes[0] for fig in figures]
    first, last = axes[0], axes[-1]
    assert first.get_title(loc="left").endswith("peer, cohorts 1–25 of 200")
    assert last.get_title(loc="left").endswith("peer, cohorts 176–200 of 200")
    labels = [[t.get_text() for t in ax.get_yticklabels()] for ax in axes]
    assert all(len(rows) == FOREST_ROWS + 1 for rows in labels)  # + the pooled row
    assert all(rows[-1] == "Pooled, all 200 cohorts" for rows in labels)
    cohorts = [label for rows in labels for label in rows[:-1]]
    assert cohorts == [f"site {i // 5:02d} {2021 + i % 5}" for i in range(200)]
    # one x range for all parts, wide enough for the widest interval (in part 1) and zero
    assert {ax.get_xlim() for ax in axes} == {first.get_xlim()}
    assert first.get_xlim()[0] < 0 and first.get_xlim()[1] > 30.0
    heights = {round(fig.get_figheight(), 3) for fig in figures}
    assert heights == {round(figures[0].get_figheight(), 3)} and max(heights) < 12


def test_uneven_parts_are_balanced_and_their_alt_texts_name_their_cohorts() -> None:
    analysis = _consortium(FOREST_ROWS + 3)  # 28 → two parts of 14, not 25 + 3
    figures = forest_figures(analysis)
    assert [len(fig.axes[0].get_yticklabels()) - 1 for fig in figures] == [14, 14]
    alts = figure_alt_texts(analysis)
    forests = {k: v for k, v in alts.items() if k.startswith("forest_")}
    assert sorted(forests) == ["forest_01", "forest_02"]
    assert "by cohort, cohorts 1–14 of 28:" in forests["forest_01"]
    assert "by cohort, cohorts 15–28 of 28:" in forests["forest_02"]
    assert "site 01 2022 not shown" in forests["forest_01"]  # the 7th cohort, withheld
    assert forests["forest_02"].endswith(
        "pooled over all 28 cohorts (random effects) +5.0 points (95% CI 4.0 to 6.0)."
    )


@pytest.mark.parametrize("n", [7, FOREST_ROWS])
def test_a_forest_plot_that_fits_one_page_is_not_split(n: int) -> None:
    figures = forest_figures(_consortium(n))
    assert len(figures) == 1
    title = figures[0].axes[0].get_title(loc="left")
    assert "cohorts" not in title and title.endswith("— peer")
    ticks = [t.get_text() for t in figures[0].axes[0].get_yticklabels()]
    assert ticks[-1] == "Pooled (random effects)"


def test_split_parts_are_named_in_order_for_the_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(annual_figures, "FOREST_ROWS", 3)
    analysis = _consortium(7)
    names = [n for n in figure_alt_texts(analysis) if n.startswith("forest_")]
    assert names == ["forest_01", "forest_02", "forest_03"]
    assert len(forest_figures(analysis)) == 3


def test_the_brief_takes_a_forest_plot_of_ten_cohorts_but_not_one_of_25() -> None:
    """At 25 rows the plot cannot be shown in the brief's figure box at a legible size: a
    consortium's brief spilled onto a third page with it."""
    from mentoreval.report.brief import fits_brief
    from mentoreval.report.figures.saving import figure_files

    ten = figure_files(forest_figures(_consortium(10))[0], formats=("png",))["png"]
    many = figure_files(forest_figures(_consortium(FOREST_ROWS))[0], formats=("png",))["png"]
    assert fits_brief(ten)
    assert not fits_brief(many)


@pytest.mark.parametrize("workers", [0, 1])
def test_forest_plots_drawn_on_two_cores_are_the_bytes_drawn_on_one(workers: int) -> None:
    """A spawned worker draws from the last plot backwards, this process from the first:
    every file is the one this process draws alone, named and titled in order."""
    from mentoreval.report.annual.figures import forest_figure_files
    from mentoreval.report.figures.saving import figure_files

    analysis = _consortium(3 * FOREST_ROWS)  # three parts
    titles = forest_figure_files(analysis, workers=workers)
    assert list(titles) == ["forest_01", "forest_02", "forest_03"]
    assert titles["forest_02"].endswith("peer, cohorts 26–50 of 75")
    alone = [figure_files(fig) for fig in forest_figures(analysis)]
    assert [analysis.drawn[name] for name in titles] == alone


def test_forest_plots_already_drawn_are_not_drawn_again(monkeypatch: pytest.MonkeyPatch) -> None:
    analysis = _consortium(FOREST_ROWS + 3)
    analysis.drawn["forest_01"] = {"png": b"shown", "svg": b"shown"}
    drawn: list[str] = []
    real = annual_figures._forest_files
    monkeypatch.setattr(annual_figures, "_forest_files",
                        lambda kwargs, rc=None: drawn.append(kwargs["title"]) or real(kwargs, rc))  # fmt: skip
    annual_figures.forest_figure_files(analysis, workers=0)
    assert analysis.drawn["forest_01"]["png"] == b"shown"
    assert len(drawn) == 1 and drawn[0].endswith("— peer, cohorts 15–28 of 28")
