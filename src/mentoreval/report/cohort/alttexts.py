"""Alternative text for every cohort-report figure, from the tables the figures are drawn from.

Report stage (how it is said). :func:`cohort_alt_texts` names each figure of a
:class:`~mentoreval.report.cohort.results.CohortResults` by the same ``slug`` the figures
use and describes it with :mod:`mentoreval.report.alttext` from the disclosure-controlled
tables (``flow``, ``comparisons``, ``ancova``, ``bands``, ``likert``); ``write_cohort_outputs``
stores the texts in ``results.json`` next to each figure's files.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from mentoreval.config.disclosure import DisclosurePolicy
from mentoreval.report.alttext import bands_alt, flow_alt, forest_alt, likert_alt, prepost_alt
from mentoreval.report.cohort.figures import slug

__all__ = ["cohort_alt_texts"]


def _labelled(frame: pd.DataFrame, scales: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the scales' ``label`` and ``higher_is_better`` (in its own row order)."""
    meta = scales[["instrument", "scale", "label", "higher_is_better"]].drop_duplicates(
        ["instrument", "scale"]
    )
    out = frame.merge(meta, on=["instrument", "scale"], how="left")
    out["label"] = out["label"].fillna(out["instrument"].astype(str) + " " + out["scale"])
    hib = out["higher_is_better"].map(lambda v: str(v).strip().lower() not in ("false", "0"))
    return out.assign(higher_is_better=hib.astype(bool))


def _forest(
    tables: Mapping[str, pd.DataFrame], design: str, confidence: float, policy: DisclosurePolicy
) -> str:
    scales = tables["scales"]
    if design != "single_arm" and "ancova" in tables:
        rows = _labelled(tables["ancova"], scales)
        rows["label"] = [
            f"{lab}{'' if hib else ' (lower is better)'}"
            for lab, hib in zip(rows["label"], rows["higher_is_better"], strict=True)
        ]
        return forest_alt(
            rows,
            what="the controlled comparison per scale (mentored − comparison at follow-up, "
            "adjusted for the baseline score; drawn in baseline SDs with the same sign, each "
            "row marking its better side), here in each scale's points",
            units="points",
            confidence=confidence,
            decimals=1,
            policy=policy,
        )
    rows = _labelled(tables["comparisons"], scales)
    rows["label"] = [
        f"{lab}{'' if hib else ' (lower is better)'}"
        for lab, hib in zip(rows["label"], rows["higher_is_better"], strict=True)
    ]
    return forest_alt(
        rows,
        what="the standardised change d_z per scale (post − pre)",
        estimate="d_z",
        ci_low="d_z_ci_low",
        ci_high="d_z_ci_high",
        confidence=confidence,
        policy=policy,
    )


def _trajectory_texts(
    tables: Mapping[str, pd.DataFrame],
    scales: pd.DataFrame,
    info: Mapping[str, Any],
    confidence: float,
    policy: DisclosurePolicy,
) -> dict[str, str]:
    """A multi-wave study's trajectory figures, from the released ``wave_means``."""
    from mentoreval.report.figures.trajectory import trajectory_alt

    means = tables.get("wave_means")
    if means is None or means.empty:
        return {}
    waves = [str(w) for w in info.get("waves") or dict.fromkeys(means["wave"])]
    return {
        slug("trajectory", str(i), str(s)): trajectory_alt(
            rows,
            label=str(rows["label"].iloc[0]),
            waves=waves,
            confidence=confidence,
            policy=policy,
        )
        for (i, s), rows in _labelled(means, scales).groupby(["instrument", "scale"], sort=False)
    }


def cohort_alt_texts(
    tables: Mapping[str, pd.DataFrame],
    figures: Mapping[str, Any],
    *,
    design: str,
    info: Mapping[str, Any],
    confidence: float = 0.95,
    policy: DisclosurePolicy | None = None,
) -> dict[str, str]:
    """Alternative text for each figure name in ``figures``, from the report's tables.

    Parameters
    ----------
    tables
        The disclosure-controlled tables of :class:`CohortResults`.
    figures
        The figures by name (only the names are used).
    design
        ``"comparison"`` or ``"single_arm"``.
    info
        Study facts (``pre``, ``post`` wave names).
    confidence
        The CI level.
    policy
        Supplies the threshold named for suppressed numbers.

    Returns
    -------
    dict
        Figure name → text; every name in ``figures`` gets one (a generic sentence naming
        the chart when no table describes it).

    Examples
    --------
    >>> tables = {"flow": pd.DataFrame({"stage": ["Analysed"], "n": [40.0]})}
    >>> cohort_alt_texts(tables, {"consort": None}, design="single_arm", info={})
    {'consort': 'Participant flow diagram, top to bottom: Analysed, 40.'}
    """
    policy = policy or DisclosurePolicy()
    pre, post = str(info.get("pre") or "pre"), str(info.get("post") or "post")
    scales = tables.get("scales", pd.DataFrame(columns=["instrument", "scale", "label"]))
    texts: dict[str, str] = {}
    if "flow" in tables:
        texts["consort"] = flow_alt(tables["flow"], policy=policy)
    if "comparisons" in tables and "scales" in tables:
        texts["forest"] = _forest(tables, design, confidence, policy)
        comp = _labelled(tables["comparisons"], scales)
        group = "group" if "group" in comp.columns else None
        for (i, s), rows in comp.groupby(["instrument", "scale"], sort=False):
            texts[slug("prepost", str(i), str(s))] = prepost_alt(
                rows, label=str(rows["label"].iloc[0]), pre=pre, post=post, group=group,
                policy=policy,
            )  # fmt: skip
    if "bands" in tables and "scales" in tables:
        bands = _labelled(tables["bands"], scales)
        arm = bands["group"] if "group" in bands.columns else pd.Series("", bands.index)
        for (i, s), rows in bands.assign(_arm=arm.fillna("")).groupby(
            ["instrument", "scale"], sort=False
        ):
            # each arm described apart, mentored first, as the chart draws them
            texts[slug("bands", str(i), str(s))] = " ".join(
                (f"{str(a).capitalize()} students: " if a else "")
                + bands_alt(own, label=str(own["label"].iloc[0]), pre=pre, post=post,
                            policy=policy)
                for a, own in rows.groupby("_arm", sort=False)
            )  # fmt: skip
    texts.update(_trajectory_texts(tables, scales, info, confidence, policy))
    if "likert" in tables:
        titles = {}
        if "instruments" in tables:
            inst = tables["instruments"]
            titles = dict(
                zip(inst["instrument"].astype(str), inst["title"].astype(str), strict=True)
            )
        likert = tables["likert"]
        arm = likert["group"] if "group" in likert.columns else pd.Series("", likert.index)
        for (i, a), rows in likert.assign(_arm=arm.fillna("")).groupby(
            ["instrument", "_arm"], sort=False
        ):
            title = titles.get(str(i), str(i)) + (f", {a} students" if a else "")
            name = slug("likert", str(i), *([str(a)] if a else []))
            texts[name] = likert_alt(rows, title=title, policy=policy)
    return {
        name: texts.get(name) or f"Chart: {name.replace('_', ' ')} (numbers in the tables)."
        for name in figures
    }
