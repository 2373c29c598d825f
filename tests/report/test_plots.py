"""Figures: deterministic files, no individual values, suppressed groups, direct labels."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection

from mentoreval.errors import ReportError
from mentoreval.report.figures.charts import (
    OKABE_ITO,
    plot_bands,
    plot_change_forest,
    plot_consort,
    plot_likert_diverging,
    plot_prepost,
    save_figure,
    style,
)


def scores(n: int = 40, outlier: float | None = None) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    pre = rng.normal(50, 8, n)
    post = pre + rng.normal(5, 5, n)
    if outlier is not None:
        pre[0] = outlier
    return pd.DataFrame({"wave": ["pre"] * n + ["post"] * n, "score": np.r_[pre, post]})


def all_y(fig) -> np.ndarray:
    values = []
    for ax in fig.axes:
        for line in ax.lines:
            values.append(np.asarray(line.get_ydata(), dtype=float).ravel())
        for collection in ax.collections:
            for path in collection.get_paths():
                values.append(path.vertices[:, 1])
    return np.concatenate(values)


def test_prepost_hides_extremes_and_points() -> None:
    data = scores(outlier=400.0)
    fig = plot_prepost(data, title="WHO-5")
    ys = all_y(fig)
    assert ys.max() < 100  # neither the outlier nor the maximum is drawn
    pre = data.loc[data.wave == "pre", "score"]
    assert ys.min() > pre.min()  # the minimum is not drawn either
    ax = fig.axes[0]
    assert not [c for c in ax.collections if isinstance(c, PathCollection)]  # no scatter
    markers = [ln for ln in ax.lines if ln.get_marker() not in (None, "None", "", " ")]
    assert all(len(ln.get_xdata()) <= 2 for ln in markers)  # only the two mean markers
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert any("\nmean " in t and "n = 40" in t for t in labels)  # labelled under each wave
    assert plt.get_fignums() == []  # not registered with pyplot


def test_prepost_small_wave_not_drawn() -> None:
    data = pd.concat([scores(30).query("wave == 'pre'"), scores(6).query("wave == 'post'")])
    fig = plot_prepost(data)
    assert any("not shown" in t.get_text() for t in fig.axes[0].texts)
    assert sum(1 for t in fig.axes[0].get_xticklabels() if "mean" in t.get_text()) == 1


def test_prepost_missing_column() -> None:
    with pytest.raises(ReportError, match="missing column"):
        plot_prepost(pd.DataFrame({"x": [1]}))


def test_forest_suppressed_and_pooled() -> None:
    effects = pd.DataFrame(
        {
            "scale": ["a", "b", "c"],
            "g_av": [0.2, np.nan, -0.1],
            "ci_low": [0.0, np.nan, -0.4],
            "ci_high": [0.4, np.nan, 0.2],
        }
    )
    fig = plot_change_forest(effects, pooled={"estimate": 0.1, "ci_low": -0.1, "ci_high": 0.3})
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "n [c]" in texts
    assert "0.20 [0.00, 0.40]" in texts
    assert "0.10 [\u22120.10, 0.30]" in texts  # a true minus sign


def test_forest_draws_every_row_in_one_errorbar_at_its_estimate_and_interval() -> None:
    """Issue 18: a consortium's forest plot of 200 cohorts is one errorbar artist, not 200
    (drawing time); a suppressed row has no marker."""
    est = np.linspace(-1.0, 2.0, 40)
    est[5] = np.nan
    effects = pd.DataFrame({"scale": [f"c{i}" for i in range(40)], "g_av": est,
                            "ci_low": est - 0.5, "ci_high": est + 0.75})  # fmt: skip
    fig = plot_change_forest(effects)
    (bars,) = fig.axes[0].containers
    marker, _, (lines,) = bars.lines
    shown = ~np.isnan(est)
    assert marker.get_xdata().tolist() == est[shown].tolist()
    assert marker.get_ydata().tolist() == [-i for i in range(40) if i != 5]
    spans = np.array([(s[0][0], s[1][0]) for s in lines.get_segments()])
    np.testing.assert_allclose(spans, np.column_stack([est[shown] - 0.5, est[shown] + 0.75]))


def test_likert_centred_on_neutral() -> None:
    counts = pd.DataFrame(
        [[10, 10, 10, 10, 10], [0, 0, 10, 20, 20], [5, 5, np.nan, 5, 5]],
        index=["balanced", "positive", "suppressed"],
        columns=["SD", "D", "N", "A", "SA"],
    )
    fig = plot_likert_diverging(counts)
    ax = fig.axes[0]
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks[0].startswith("positive")  # sorted by net agreement
    assert ticks[-1] == "suppressed"
    bars = [p for p in ax.patches if p.get_height() > 0]
    # the balanced item: neutral bar centred on zero, extending 10 % to each side
    neutral = [p for p in bars if abs(p.get_width() - 20) < 1e-9 and abs(p.get_x() + 10) < 1e-9]
    assert neutral
    assert any("not shown" in t.get_text() for t in ax.texts)


def test_likert_needs_levels() -> None:
    with pytest.raises(ReportError):
        plot_likert_diverging(pd.DataFrame({"only": [3]}))
    with pytest.raises(ReportError, match="neutral"):
        plot_likert_diverging(pd.DataFrame({"a": [3], "b": [4]}), neutral="c")


def test_consort_and_bands_labels() -> None:
    flow = pd.DataFrame(
        {
            "stage": ["Pre", "Pairs"],
            "n": [50, np.nan],
            "excluded": [np.nan, np.nan],
            "reasons": ["no post: < 10", None],
        }
    )
    fig = plot_consort(flow)
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    assert "Pre\nn = 50" in texts
    assert "Pairs\nn = [c]" in texts
    assert "no post" in texts
    bands = plot_bands(pd.DataFrame({"low": [5, np.nan], "high": [20, 9]}, index=["pre", "post"]))
    ticks = [t.get_text() for t in bands.axes[0].get_yticklabels()]
    assert ticks == ["Pre (n = 25)", "Post"]


def test_style_palette() -> None:
    style()
    assert matplotlib.rcParams["svg.hashsalt"] == "mentoreval"
    assert OKABE_ITO[0] == "#0072B2"
    matplotlib.rcdefaults()


def test_save_figure_is_deterministic(tmp_path: Path) -> None:
    first = save_figure(plot_prepost(scores(), title="X"), tmp_path / "a" / "fig")
    second = save_figure(plot_prepost(scores(), title="X"), tmp_path / "b" / "fig")
    for one, two in zip(first, second, strict=True):
        assert one.read_bytes() == two.read_bytes(), one.name
    svg = first[1].read_text()
    assert "<dc:date>" not in svg
    assert ">X<" in svg or "X</text>" in svg  # text kept as text for the egress scan
    with pytest.raises(ReportError):
        save_figure(plot_bands(pd.DataFrame({"a": [20]})), tmp_path / "c", formats=("gif",))  # type: ignore[arg-type]


def test_save_figure_lays_out_once_for_both_files_with_tights_pixels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from matplotlib.layout_engine import ConstrainedLayoutEngine
    from PIL import Image, ImageChops

    reference = plot_prepost(scores(), title="X")
    reference.savefig(tmp_path / "tight.png", dpi=150, bbox_inches="tight",
                      metadata={"Software": "mentoreval"})  # fmt: skip
    fig = plot_prepost(scores(), title="X")
    draws = []
    original = type(fig).draw
    monkeypatch.setattr(type(fig), "draw", lambda self, r: (draws.append(1), original(self, r)))
    png, _ = save_figure(fig, tmp_path / "fig")
    assert len(draws) == 3  # one layout, then one draw per file (was two per file)
    assert isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine)
    ours, tight = Image.open(png).convert("RGB"), Image.open(tmp_path / "tight.png").convert("RGB")
    assert ours.size == tight.size
    assert ImageChops.difference(ours, tight).getbbox() is None


def test_repr_is_safe() -> None:
    fig = plot_bands(pd.DataFrame({"a": [20]}), title="Bands")
    assert repr(fig) == "[figure: Bands]"
    assert fig._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"
    # the text form IPython shows next to the PNG: a label, never "<Figure size ...>"
    assert repr(plot_bands(pd.DataFrame({"a": [20]}))) == "[figure: untitled]"
    assert plt.get_fignums() == []  # nothing registered with pyplot to display twice


def test_prepost_label_shows_the_mark_where_the_release_hides_the_count():
    """A pair count hidden in the tables (to protect another cell) is hidden in the
    chart too: the label reads "n = [c]", never the number."""
    data = scores(49)
    shown = [t.get_text() for t in plot_prepost(data).axes[0].get_xticklabels()]
    assert sum("n = 49" in t for t in shown) == 2
    hidden = plot_prepost(data, hidden_n=["pre", "post"]).axes[0].get_xticklabels()
    labels = [t.get_text() for t in hidden]
    assert sum("n = [c]" in t for t in labels) == 2
    assert not any("n = 49" in t for t in labels)
    plt.close("all")


def test_prepost_hides_the_pairs_of_the_arms_the_comparisons_table_hides():
    from mentoreval.report.cohort.figures import _hidden_pairs

    comp = pd.DataFrame(
        {
            "instrument": ["who5", "who5", "cbi"],
            "scale": ["total", "total", "personal"],
            "group": ["mentored", "comparison", "mentored"],
            "n_pairs": [np.nan, 62.0, np.nan],
        }
    )
    assert _hidden_pairs({"comparisons": comp}, "who5", "total") == ["mentored"]
    single = comp.drop(columns="group").iloc[[1, 2]]
    assert _hidden_pairs({"comparisons": single}, "cbi", "personal") == ["all"]
    assert _hidden_pairs({"comparisons": single}, "who5", "total") == []
