"""The cohort report's figures: pre/post, forest, Likert, bands and the participant flow.

Report stage (how it is drawn), from the disclosure-controlled tables only.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping
from typing import TYPE_CHECKING, cast

import numpy as np
import pandas as pd

from mentoreval.config.disclosure import DisclosurePolicy

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from mentoreval.config.study import Study


def slug(*parts: str) -> str:
    return "_".join(re.sub(r"[^A-Za-z0-9]+", "-", p).strip("-").lower() for p in parts)


def _hidden_pairs(tables: Mapping[str, pd.DataFrame], instrument: str, scale: str) -> list[str]:
    """The arms ("all" in a single-arm design) whose pair count the release hides."""
    comp = tables.get("comparisons")
    if comp is None or "n_pairs" not in comp:
        return []
    rows = comp[(comp["instrument"] == instrument) & (comp["scale"] == scale)]
    rows = rows[rows["n_pairs"].isna()]
    if "group" not in rows:
        return ["all"] * bool(len(rows))
    return [str(g) for g in rows["group"]]


def draw_figures(
    tables: Mapping[str, pd.DataFrame],
    wide: pd.DataFrame,
    meta: pd.DataFrame,
    study: Study,
    pre: str,
    post: str,
    confidence: float,
    policy: DisclosurePolicy,
    *,
    group_col: str | None = None,
    treated: str = "mentored",
    controlled: pd.DataFrame | None = None,
) -> dict[str, Figure]:
    """Every figure of a cohort report, from its disclosure-controlled tables (the pre/post
    distributions from ``wide``, drawn without points or extremes)."""
    from mentoreval.report.figures.charts import plot_consort

    figs: dict[str, Figure] = {}
    figs["consort"] = plot_consort(tables["flow"], title="Participant flow", policy=policy)
    figs["forest"] = _forest_figure(tables, meta, confidence, policy, controlled)
    figs.update(_prepost_figures(tables, wide, meta, pre, post, confidence, policy,
                                 group_col=group_col, treated=treated))  # fmt: skip
    figs.update(_band_figures(tables, meta, pre, post, policy))
    figs.update(_likert_figures(tables, study, policy))
    return figs


def _arm_label(wave: str, arm: object) -> str:
    """A row of a per-arm chart: "pre · mentored", or the wave alone (single arm)."""
    return wave if arm is None or pd.isna(arm) else f"{wave} · {arm}"  # type: ignore[call-overload]  # a cell


def _band_figures(
    tables: Mapping[str, pd.DataFrame],
    meta: pd.DataFrame,
    pre: str,
    post: str,
    policy: DisclosurePolicy,
) -> dict[str, Figure]:
    """One band chart per scale: each arm's pre and post (mentored first), never pooled.
    A scale none of whose rows can be drawn gets no chart (the report says so in words)."""
    from mentoreval.report.figures.charts import plot_bands

    figs: dict[str, Figure] = {}
    bands = tables.get("bands")
    if bands is None or bands.empty:
        return figs
    arm = bands["group"] if "group" in bands.columns else pd.Series(None, bands.index, dtype=object)
    for key, g in bands.assign(_arm=arm).groupby(["instrument", "scale"], sort=False):
        instrument, scale = cast(tuple[str, str], key)  # the groupby keys are text columns
        bands_order = g["band"].astype(str).drop_duplicates().tolist()
        rows, names = {}, {}
        for a in dict.fromkeys(g["_arm"]):
            own = g[g["_arm"].isna()] if a is None or pd.isna(a) else g[g["_arm"] == a]
            for wave, column in ((pre, "n_pre"), (post, "n_post")):
                label = _arm_label(wave, a)
                # a band no student of this arm is in at either wave counts 0
                rows[label] = own.set_index(own["band"].astype(str))[column].reindex(
                    bands_order, fill_value=0.0
                )
                names[label] = label.replace(" · ", ", ").capitalize()
        counts = pd.DataFrame(rows).T.astype(float)
        if counts.isna().any(axis=1).all():
            continue
        figs[slug("bands", instrument, scale)] = plot_bands(
            counts, title=f"{meta.at[(instrument, scale), 'label']!s}: bands", labels=names,
            policy=policy,
        )  # fmt: skip
    return figs


def _likert_figures(
    tables: Mapping[str, pd.DataFrame], study: Study, policy: DisclosurePolicy
) -> dict[str, Figure]:
    """One item chart per instrument and arm (``likert_<instrument>[_<arm>]``), items in
    the instrument's order, the earlier wave above the later."""
    from mentoreval.report.figures.charts import plot_likert_diverging

    figs: dict[str, Figure] = {}
    likert = tables.get("likert")
    if likert is None or likert.empty:
        return figs
    arm = likert["group"] if "group" in likert.columns else pd.Series("", likert.index)
    for (inst, a), g in likert.assign(_arm=arm.fillna("")).groupby(["instrument", "_arm"],
                                                                   sort=False):  # fmt: skip
        # the whole item text, wrapped (never cut mid-word), then its wave
        g = g.assign(row=[f"{textwrap.fill(str(t), 48)} ({w})"
                          for t, w in zip(g["item_label"], g["wave"], strict=True)])  # fmt: skip
        counts = g.pivot_table(index="row", columns="level_order", values="n",
                               aggfunc="first", dropna=False, sort=False)  # fmt: skip
        levels = g.drop_duplicates("level_order").sort_values("level_order")["level"].tolist()
        counts.columns = levels
        counts.index.name = None
        instrument = study.instruments[str(inst)]
        title = instrument.title + (f": {a} students" if a else "")
        name = slug("likert", str(inst), *([str(a)] if a else []))
        figs[name] = plot_likert_diverging(counts, title=title, sort=False, policy=policy)
    return figs


def _forest_figure(
    tables: Mapping[str, pd.DataFrame],
    meta: pd.DataFrame,
    confidence: float,
    policy: DisclosurePolicy,
    controlled: pd.DataFrame | None,
) -> Figure:
    """The summary forest plot: the controlled comparison (mentored − comparison, adjusted
    for baseline) when there is one, else d_z of each scale's change."""
    from mentoreval.report.figures.charts import plot_change_forest

    comp = tables["comparisons"]
    forest = comp.merge(meta.reset_index()[["instrument", "scale", "label", "higher_is_better"]],
                        on=["instrument", "scale"], how="left")  # fmt: skip
    # one sign everywhere: the same post − pre (or mentored − comparison) number as the
    # text, each row saying on which side its improvement lies
    forest = forest.assign(higher_is_better=forest["higher_is_better"].astype(bool))
    if controlled is None or not len(controlled):
        return plot_change_forest(
            forest, label="label", estimate="d_z", ci_low="d_z_ci_low", ci_high="d_z_ci_high",
            title="Standardised change per scale (post − pre)",
            xlabel=f"d_z with {confidence:.0%} CI", policy=policy, better="higher_is_better",
        )  # fmt: skip
    fitted = tables.get("ancova", pd.DataFrame(columns=["instrument", "scale"]))
    keys = set(zip(fitted["instrument"].astype(str), fitted["scale"].astype(str), strict=True))
    c = controlled[
        [(i, s) in keys for i, s in zip(controlled["instrument"], controlled["scale"], strict=True)]
    ]
    num = ["adj_std", "adj_std_ci_low", "adj_std_ci_high"]
    c = c.assign(**{k: pd.to_numeric(c[k], errors="coerce").astype(float) for k in num})
    return plot_change_forest(
        c.assign(higher_is_better=c["higher_is_better"].astype(bool)), label="label",
        estimate="adj_std", ci_low="adj_std_ci_low", ci_high="adj_std_ci_high",
        title="Mentored − comparison at follow-up, adjusted for baseline",
        xlabel=f"Difference in baseline SDs ({confidence:.0%} CI)", policy=policy,
        better="higher_is_better",
    )  # fmt: skip


def _prepost_figures(
    tables: Mapping[str, pd.DataFrame],
    wide: pd.DataFrame,
    meta: pd.DataFrame,
    pre: str,
    post: str,
    confidence: float,
    policy: DisclosurePolicy,
    *,
    group_col: str | None,
    treated: str,
) -> dict[str, Figure]:
    """One pre/post chart per scale of the students with both waves; in a comparison
    design each arm's own pre and post, side by side (mentored first), never pooled."""
    from mentoreval.report.figures.charts import plot_prepost

    figs: dict[str, Figure] = {}
    both = wide.dropna(subset=["pre", "post"])
    arms: list[str] = []
    if group_col:
        both = both.dropna(subset=[group_col])
        arms = [treated, *sorted(set(both[group_col].astype(str)) - {treated})]
    for key, g in both.groupby(["instrument", "scale"], sort=True):
        instrument, scale = cast(tuple[str, str], key)  # the groupby keys are text columns
        m = cast(pd.Series, meta.loc[(instrument, scale)])  # one row: (instrument, scale) is unique
        if group_col:
            arm = g[group_col].astype(str).to_numpy()
            long = pd.DataFrame(
                {
                    "wave": np.r_[[f"{pre} · {a}" for a in arm], [f"{post} · {a}" for a in arm]],
                    "score": np.r_[g["pre"], g["post"]],
                }
            )
            order = [f"{w} · {a}" for a in arms for w in (pre, post)]
            labels: dict[str, str] | None = {o: o.replace(" · ", "\n") for o in order}
            hidden = [
                f"{w} · {a}" for a in _hidden_pairs(tables, instrument, scale) for w in (pre, post)
            ]
        else:
            long = pd.DataFrame(
                {"wave": [pre] * len(g) + [post] * len(g), "score": np.r_[g["pre"], g["post"]]}
            )
            order, labels = [pre, post], None
            hidden = [pre, post] if _hidden_pairs(tables, instrument, scale) else []
        figs[slug("prepost", instrument, scale)] = plot_prepost(
            long, order=order, labels=labels, title=str(m["label"]), ylabel="Score",
            limits=(float(m["range_low"]), float(m["range_high"])), confidence=confidence,
            policy=policy, hidden_n=hidden,
        )  # fmt: skip
    return figs
