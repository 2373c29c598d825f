"""Figures a committee can read (issue 16, point 8), checked on the drawn matplotlib objects:
text extents do not overlap, the forest plot's data area takes half the width, a true minus
sign, scale-end captions from the response scale, items in order with the earlier wave on
top, and whole item texts."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from mentoreval.report.figures.base import fmt
from mentoreval.report.figures.charts import (
    plot_change_forest,
    plot_likert_diverging,
    plot_prepost,
)


def _texts(fig: Figure) -> list[tuple[str, Bbox]]:
    """Every visible, non-empty text of the figure with its extent in pixels."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    found = []
    for artist in fig.findobj(Text):
        if artist.get_visible() and artist.get_text().strip():
            found.append((artist.get_text(), artist.get_window_extent(renderer)))
    return found


def _arms_prepost() -> Figure:
    rng = np.random.default_rng(3)
    order = [f"{w} · {a}" for a in ("mentored", "comparison") for w in ("pre", "post")]
    data = pd.DataFrame(
        {"wave": np.repeat(order, 40), "score": rng.normal(-3.0, 10.0, 160).clip(-50, 50)}
    )
    return plot_prepost(data, order=order, labels={o: o.replace(" · ", "\n") for o in order},
                        title="Change", limits=(-50, 50))  # fmt: skip


def test_prepost_value_labels_sit_under_their_own_violin_and_overlap_nothing() -> None:
    fig = _arms_prepost()
    texts = _texts(fig)
    for (a, box_a), (b, box_b) in itertools.combinations(texts, 2):
        assert not box_a.overlaps(box_b), (a, b)
    ax = fig.axes[0]
    ax_box = ax.get_window_extent(fig.canvas.get_renderer())  # type: ignore[attr-defined]
    ticks = ax.get_xticklabels()
    assert all("mean" in t.get_text() and "n = 40" in t.get_text() for t in ticks)
    for tick in ticks:  # below the data area, centred on its wave
        box = tick.get_window_extent()
        assert box.y1 <= ax_box.y0
    # nothing but the title and the tick labels is written inside or over the axes
    inside = [t for t, box in texts if box.overlaps(ax_box) and "mean" in t]
    assert inside == []


def test_figure_numbers_use_a_true_minus_sign() -> None:
    assert fmt(-3.25) == "\u22123.25" and "-" not in fmt(-0.5)
    labels = " ".join(t.get_text() for t in _arms_prepost().axes[0].get_xticklabels())
    assert "\u2212" in labels and "-" not in labels.replace("–", "")


def test_forest_data_area_takes_at_least_half_the_width() -> None:
    labels = [
        "CBI: Client/patient-related burnout (0–100)",
        "Career confidence: Specialty-choice confidence (single item 1–5)",
        "WHO-5: Wellbeing (0–100)",
    ]
    e = pd.DataFrame({"label": labels, "d": [-0.44, 0.31, 0.33], "lo": [-0.81, -0.17, -0.06],
                      "hi": [-0.07, 0.8, 0.71], "hib": [False, True, True]})  # fmt: skip
    fig = plot_change_forest(e, label="label", estimate="d", ci_low="lo", ci_high="hi",
                             better="hib")  # fmt: skip
    texts = _texts(fig)
    ax_box = fig.axes[0].get_window_extent()
    # the saved image is cut to everything drawn ("tight"): the axes and every text
    drawn = Bbox.union([fig.get_tightbbox().transformed(fig.dpi_scale_trans), ax_box])
    assert ax_box.width >= 0.5 * drawn.width
    fig_box = fig.get_window_extent()
    right = [box for t, box in texts if "[" in t]
    assert right and all(box.x1 <= fig_box.x1 + 1 for box in right)  # inside the figure
    for (a, box_a), (b, box_b) in itertools.combinations(texts, 2):
        assert not box_a.overlaps(box_b), (a, b)
    assert any("\u2212" in t for t, _ in texts)


def test_likert_caption_reads_the_scale_ends_not_agree_on_a_frequency_scale() -> None:
    levels = ["At no time – Less than half of the time", "More than half of the time – All of the time"]  # fmt: skip
    c = pd.DataFrame([[20, 30], [25, 25]], index=["calm (pre)", "calm (post)"], columns=levels)
    fig = plot_likert_diverging(c, sort=False)
    label = fig.axes[0].get_xlabel()
    assert "At no time" in label and "All of the time" in label
    assert "agree" not in label
    own = plot_likert_diverging(c, sort=False, ends=("Never", "Always")).axes[0].get_xlabel()
    assert own == "Share of answers (Never ← | → Always)"


def test_likert_keeps_the_given_order_earlier_wave_on_top() -> None:
    rows = [f"item {i} ({w})" for i in (1, 2, 10) for w in ("pre", "post")]
    c = pd.DataFrame(np.full((6, 2), 20), index=rows, columns=["No", "Yes"])
    ax = plot_likert_diverging(c, sort=False).axes[0]
    by_height = sorted(ax.get_yticklabels(), key=lambda t: -t.get_position()[1])
    assert [t.get_text().split(" (n")[0] for t in by_height] == rows
