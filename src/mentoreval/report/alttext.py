"""Alternative text for report figures, written from the numbers each figure is drawn from.

Report stage (how it is said, for people who cannot see the chart). A screen reader reads an
image's ``alt`` attribute; "No description has been provided for this image" tells its user
nothing. Each function here takes the disclosure-controlled table a chart is drawn from and
says what the chart shows — its kind, what is plotted and every published number — so the
description cannot drift from the data. Suppressed numbers stay suppressed: a row resting on
fewer than k students is named with the policy's label ("fewer than 10 students"), never
with a value.

The functions know nothing of matplotlib, so they stay true when the drawing changes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from mentoreval.config.disclosure import DisclosurePolicy

__all__ = [
    "bands_alt",
    "flow_alt",
    "forest_alt",
    "likert_alt",
    "number",
    "prepost_alt",
    "series_alt",
]


def _finite(value: Any) -> bool:
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def number(value: Any, decimals: int = 1, *, signed: bool = False) -> str:
    """A number as a reader sees it: typographic minus, never ``−0.0``, ``–`` when missing.

    Examples
    --------
    >>> number(4.06, signed=True), number(-2.54), number(-0.01, 1), number(float("nan"))
    ('+4.1', '−2.5', '0.0', '–')
    >>> number(12.0, 0)
    '12'
    """
    if not _finite(value):
        return "–"
    v = float(value)
    if round(v, decimals) == 0:
        return f"{0:.{decimals}f}"
    text = f"{v:+.{decimals}f}" if signed else f"{v:.{decimals}f}"
    return text.replace("-", "−")


def _count(value: Any) -> str:
    return f"{round(float(value))}" if _finite(value) else "–"


def _share(value: Any) -> str:
    return f"{float(value):.0%}"


def _few(policy: DisclosurePolicy) -> str:
    """What a hidden number is called: hidden because small, or to protect a small one."""
    return (
        f"not shown ({policy.label}: fewer than {policy.threshold} students, or hidden to "
        "protect such a group)"
    )


def _interval(low: Any, high: Any, confidence: float, decimals: int) -> str:
    return f"{confidence:.0%} CI {number(low, decimals)} to {number(high, decimals)}"


def forest_alt(
    rows: pd.DataFrame,
    *,
    what: str,
    label: str = "label",
    estimate: str = "estimate",
    ci_low: str = "ci_low",
    ci_high: str = "ci_high",
    units: str = "",
    confidence: float = 0.95,
    decimals: int = 2,
    pooled: Mapping[str, Any] | None = None,
    policy: DisclosurePolicy | None = None,
) -> str:
    """Describe a forest plot: one estimate with its interval per row, then the pooled one.

    Parameters
    ----------
    rows
        One row per plotted line (after disclosure control: NaN where suppressed).
    what
        What the estimates are, e.g. ``"mean change (post − pre)"``.
    label, estimate, ci_low, ci_high
        Column names.
    units
        Words after each estimate (``"points"``), or a column of ``rows`` holding them.
    confidence, decimals
        The CI level and the digits shown.
    pooled
        ``{"estimate", "ci_low", "ci_high"}`` of a pooled row (random effects), if drawn,
        and optionally its ``"label"`` (default "pooled (random effects)").
    policy
        Supplies the threshold named for suppressed rows.

    Examples
    --------
    >>> rows = pd.DataFrame({"label": ["WHO-5", "CBI personal"], "estimate": [4.06, None],
    ...                      "ci_low": [-2.5, None], "ci_high": [10.6, None]})
    >>> forest_alt(rows, what="mean change (post − pre)", units="points", decimals=1)
    'Forest plot of mean change (post − pre): WHO-5 +4.1 points (95% CI −2.5 to 10.6); CBI personal not shown ([c]: fewer than 10 students, or hidden to protect such a group).'
    """
    policy = policy or DisclosurePolicy()
    parts = []
    for r in rows.to_dict("records"):
        unit = str(r.get(units, "")) if units in rows.columns else units
        name = str(r[label])
        if not _finite(r[estimate]):
            parts.append(f"{name} {_few(policy)}")
            continue
        value = number(r[estimate], decimals, signed=True) + (f" {unit}" if unit else "")
        parts.append(f"{name} {value} ({_interval(r[ci_low], r[ci_high], confidence, decimals)})")
    if pooled and _finite(pooled.get("estimate")):
        unit = units if units not in rows.columns else ""
        value = number(pooled["estimate"], decimals, signed=True) + (f" {unit}" if unit else "")
        interval = _interval(pooled.get("ci_low"), pooled.get("ci_high"), confidence, decimals)
        name = str(pooled.get("label", "pooled (random effects)"))
        parts.append(f"{name} {value} ({interval})")
    body = "; ".join(parts) if parts else "no rows"
    return f"Forest plot of {what}: {body}."


def prepost_alt(
    rows: pd.DataFrame,
    *,
    label: str,
    pre: str = "pre",
    post: str = "post",
    group: str | None = "group",
    decimals: int = 1,
    policy: DisclosurePolicy | None = None,
) -> str:
    """Describe a before/after distribution chart from its paired-comparison rows.

    Parameters
    ----------
    rows
        The scale's rows of the paired comparison table (one per group, or one):
        ``n_pairs``, ``mean_pre``, ``mean_post`` (NaN where suppressed) and ``group``.
    label
        The scale's display name.
    pre, post
        The waves' names.
    group
        The column naming each row's group (``None``: one group).
    decimals
        Digits of the means.
    policy
        Supplies the threshold named for suppressed rows.

    Examples
    --------
    >>> rows = pd.DataFrame({"group": ["mentored", "comparison"], "n_pairs": [49.0, None],
    ...                      "mean_pre": [45.66, None], "mean_post": [45.63, None]})
    >>> prepost_alt(rows, label="CBI: Personal burnout (0–100)")
    'Distribution chart of CBI: Personal burnout (0–100) at pre and post for students who answered both surveys (no individual values shown). Mentored, 49 students: mean 45.7 at pre, 45.6 at post. Comparison: not shown ([c]: fewer than 10 students, or hidden to protect such a group).'
    """
    policy = policy or DisclosurePolicy()
    parts = [
        f"Distribution chart of {label} at {pre} and {post} for students who answered both "
        "surveys (no individual values shown)."
    ]
    for r in rows.to_dict("records"):
        who = str(r.get(group) or "") if group and group in rows.columns else ""
        head = who[:1].upper() + who[1:] if who else "Students"
        if not _finite(r.get("mean_pre")):
            parts.append(f"{head}: {_few(policy)}.")
            continue
        n = _count(r["n_pairs"]) if _finite(r.get("n_pairs")) else policy.label
        parts.append(
            f"{head}, {n} students: mean {number(r['mean_pre'], decimals)} "
            f"at {pre}, {number(r.get('mean_post'), decimals)} at {post}."
        )
    return " ".join(parts)


def bands_alt(
    rows: pd.DataFrame,
    *,
    label: str,
    pre: str = "pre",
    post: str = "post",
    policy: DisclosurePolicy | None = None,
) -> str:
    """Describe a band chart (share of students in each score band at each wave).

    Examples
    --------
    >>> rows = pd.DataFrame({"band": ["low", "high"], "n_pairs": [111, 111],
    ...                      "prop_pre": [0.79, None], "prop_post": [0.77, None]})
    >>> bands_alt(rows, label="CBI: Client burnout")
    'Bar chart of the share of students in each band of CBI: Client burnout at pre and post (111 students with both surveys): low 79% at pre, 77% at post; high not shown ([c]: fewer than 10 students, or hidden to protect such a group).'
    """
    policy = policy or DisclosurePolicy()
    n = next((v for v in rows.get("n_pairs", pd.Series(dtype=float)) if _finite(v)), None)
    who = f" ({_count(n)} students with both surveys)" if n is not None else ""
    parts = []
    for r in rows.to_dict("records"):
        a, b = r.get("prop_pre"), r.get("prop_post")
        if not (_finite(a) and _finite(b)):
            parts.append(f"{r['band']} {_few(policy)}")
        else:
            parts.append(f"{r['band']} {_share(a)} at {pre}, {_share(b)} at {post}")
    return (
        f"Bar chart of the share of students in each band of {label} at {pre} and {post}{who}: "
        + "; ".join(parts)
        + "."
    )


def likert_alt(
    rows: pd.DataFrame,
    *,
    title: str,
    policy: DisclosurePolicy | None = None,
) -> str:
    """Describe stacked answer bars: per item and wave, the share giving the top answer group.

    Parameters
    ----------
    rows
        The instrument's answer counts: ``item_label``, ``wave``, ``level_order``,
        ``level``, ``n`` (NaN where suppressed), in the order the chart lists them.
    title
        The instrument's name.
    policy
        Supplies the threshold named for suppressed rows.

    Examples
    --------
    >>> rows = pd.DataFrame({"item_label": ["Calm"] * 4, "wave": ["pre", "pre", "post", "post"],
    ...                      "level_order": [0, 1, 0, 1], "level": ["Rarely", "Often"] * 2,
    ...                      "n": [40, 60, 30, 70]})
    >>> likert_alt(rows, title="WHO-5")
    'Stacked bar chart of the answers to the 1 item of WHO-5 at each wave, from Rarely to Often. Share answering Often: Calm 60% at pre, 70% at post.'
    """
    policy = policy or DisclosurePolicy()
    levels = rows.drop_duplicates("level_order").sort_values("level_order")["level"].astype(str)
    top = levels.iloc[-1] if len(levels) else ""
    waves = list(dict.fromkeys(rows["wave"].astype(str)))
    items = list(dict.fromkeys(rows["item_label"].astype(str)))
    parts = []
    for item in items:
        shares = []
        for wave in sorted(waves, key=lambda w: (w != "pre", w)):
            cell = rows[
                (rows["item_label"].astype(str) == item) & (rows["wave"].astype(str) == wave)
            ]
            counts = pd.to_numeric(cell["n"], errors="coerce")
            if cell.empty or counts.isna().any() or counts.sum() <= 0:
                shares.append(f"{_few(policy)} at {wave}")
                continue
            top_n = counts[cell["level"].astype(str) == top].sum()
            shares.append(f"{top_n / counts.sum():.0%} at {wave}")
        parts.append(f"{item} " + ", ".join(shares))
    noun = "item" if len(items) == 1 else "items"
    span = f", from {levels.iloc[0]} to {top}" if len(levels) > 1 else ""
    return (
        f"Stacked bar chart of the answers to the {len(items)} {noun} of {title} at each "
        f"wave{span}. Share answering {top}: " + "; ".join(parts) + "."
    )


def flow_alt(flow: pd.DataFrame, *, policy: DisclosurePolicy | None = None) -> str:
    """Describe a participant-flow diagram: each stage's count and what left after it.

    Examples
    --------
    >>> flow = pd.DataFrame({"stage": ["Responses", "Analysed"], "n": [145.0, None],
    ...                      "excluded": [30.0, None], "reasons": ["no follow-up", None]})
    >>> flow_alt(flow)
    'Participant flow diagram, top to bottom: Responses, 145 (30 excluded: no follow-up); Analysed, fewer than 10.'
    """
    policy = policy or DisclosurePolicy()
    parts = []
    for r in flow.to_dict("records"):
        n = _count(r["n"]) if _finite(r.get("n")) else f"fewer than {policy.threshold}"
        text = f"{r['stage']}, {n}"
        excluded, reasons = r.get("excluded"), r.get("reasons")
        reason = reasons if isinstance(reasons, str) and reasons else ""
        if _finite(excluded) or reason:
            gone = _count(excluded) if _finite(excluded) else "some"
            text += f" ({gone} excluded" + (f": {reason})" if reason else ")")
        parts.append(text)
    return "Participant flow diagram, top to bottom: " + "; ".join(parts) + "."


def series_alt(
    rows: pd.DataFrame,
    *,
    what: str,
    x: str,
    series: Sequence[tuple[str, str]],
    by: str | None = None,
    percent: bool = False,
    decimals: int = 1,
    policy: DisclosurePolicy | None = None,
) -> str:
    """Describe a line chart: the value of each series at each x, per line group.

    Parameters
    ----------
    rows
        The plotted table.
    what
        What the chart shows.
    x
        The x column (e.g. ``year``).
    series
        ``(column, name)`` of each plotted series.
    by
        A column splitting the rows into separate lines (e.g. ``programme``).
    percent
        Values are percentages.
    decimals, policy
        Digits shown; the threshold named for suppressed points.

    Examples
    --------
    >>> t = pd.DataFrame({"year": [2023, 2024], "retention_pct": [71.0, None]})
    >>> series_alt(t, what="Retention by year", x="year", series=[("retention_pct", "retention")],
    ...            percent=True)
    'Line chart: Retention by year. retention: 2023 71.0%, 2024 not shown ([c]: fewer than 10 students, or hidden to protect such a group).'
    """
    policy = policy or DisclosurePolicy()
    groups = [(None, rows)] if by is None else list(rows.groupby(by, sort=True))
    parts = []
    for key, g in groups:
        g = g.sort_values(x)
        for column, name in series:
            points = []
            for at, v in zip(g[x], g[column], strict=True):
                shown = (
                    number(v, decimals) + ("%" if percent else "") if _finite(v) else _few(policy)
                )
                points.append(f"{at} {shown}")
            head = name if key is None else f"{key!s} {name}"
            parts.append(f"{head}: " + ", ".join(points))
    return f"Line chart: {what}. " + "; ".join(parts) + "."
