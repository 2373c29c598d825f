"""The cohort report's figures: pre/post, forest, Likert, bands and the participant flow.

Report stage (how it is drawn), from the disclosure-controlled tables only.
"""

from __future__ import annotations

import re
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
    from mentoreval.report.figures.charts import (
        plot_bands,
        plot_change_forest,
        plot_consort,
        plot_likert_diverging,
        plot_prepost,
    )

    figs: dict[str, Figure] = {}
    figs["consort"] = plot_consort(tables["flow"], title="Participant flow", policy=policy)
    comp = tables["comparisons"]
    forest = comp.merge(meta.reset_index()[["instrument", "scale", "label", "higher_is_better"]],
                        on=["instrument", "scale"], how="left")  # fmt: skip
    # one sign everywhere: the same post − pre (or mentored − comparison) number as the
    # text, each row saying on which side its improvement lies
    forest = forest.assign(higher_is_better=forest["higher_is_better"].astype(bool))
    if controlled is not None and len(controlled):
        fitted = tables.get("ancova", pd.DataFrame(columns=["instrument", "scale"]))
        keys = set(zip(fitted["instrument"].astype(str), fitted["scale"].astype(str), strict=True))
        c = controlled[
            [
                (i, s) in keys
                for i, s in zip(controlled["instrument"], controlled["scale"], strict=True)
            ]
        ]
        num = ["adj_std", "adj_std_ci_low", "adj_std_ci_high"]
        c = c.assign(**{k: pd.to_numeric(c[k], errors="coerce").astype(float) for k in num})
        figs["forest"] = plot_change_forest(
            c.assign(higher_is_better=c["higher_is_better"].astype(bool)), label="label",
            estimate="adj_std", ci_low="adj_std_ci_low", ci_high="adj_std_ci_high",
            title="Mentored − comparison at follow-up, adjusted for baseline",
            xlabel=f"Difference in baseline SDs ({confidence:.0%} CI)", policy=policy,
            better="higher_is_better",
        )  # fmt: skip
    else:
        figs["forest"] = plot_change_forest(
            forest, label="label", estimate="d_z", ci_low="d_z_ci_low", ci_high="d_z_ci_high",
            title="Standardised change per scale (post − pre)",
            xlabel=f"d_z with {confidence:.0%} CI", policy=policy, better="higher_is_better",
        )  # fmt: skip
    both = wide.dropna(subset=["pre", "post"])
    if group_col:
        both = both.dropna(subset=[group_col])
        arms = [treated, *sorted(set(both[group_col].astype(str)) - {treated})]
    for key, g in both.groupby(["instrument", "scale"], sort=True):
        instrument, scale = cast(tuple[str, str], key)  # the groupby keys are text columns
        m = cast(pd.Series, meta.loc[(instrument, scale)])  # one row: (instrument, scale) is unique
        if group_col:
            # each arm's own pre and post, side by side (mentored first): never pooled
            arm = g[group_col].astype(str).to_numpy()
            long = pd.DataFrame(
                {
                    "wave": np.r_[[f"{pre} · {a}" for a in arm], [f"{post} · {a}" for a in arm]],
                    "score": np.r_[g["pre"], g["post"]],
                }
            )
            order = [f"{w} · {a}" for a in arms for w in (pre, post)]
            labels = {o: o.replace(" · ", "\n") for o in order}
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
    if "bands" in tables:
        for key, g in tables["bands"].groupby(["instrument", "scale"], sort=False):
            instrument, scale = cast(tuple[str, str], key)  # the groupby keys are text columns
            counts = pd.DataFrame(
                [g["n_pre"].to_numpy(), g["n_post"].to_numpy()],
                index=[pre, post],
                columns=g["band"].astype(str).tolist(),
            )
            figs[slug("bands", instrument, scale)] = plot_bands(
                counts,
                title=f"{meta.at[(instrument, scale), 'label']!s}: bands",
                policy=policy,
            )
    if "likert" in tables:
        for inst, g in tables["likert"].groupby("instrument", sort=False):
            g = g.assign(row=g["item_label"].astype(str) + " (" + g["wave"].astype(str) + ")")
            counts = g.pivot_table(index="row", columns="level_order", values="n",
                                   aggfunc="first", dropna=False, sort=False)  # fmt: skip
            levels = g.drop_duplicates("level_order").sort_values("level_order")["level"].tolist()
            counts.columns = levels
            counts.index.name = None
            figs[slug("likert", str(inst))] = plot_likert_diverging(
                counts, title=study.instruments[str(inst)].title, sort=False, policy=policy
            )
    return figs
