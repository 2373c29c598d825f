"""The annual report's tables as shown: titles, column choice, decimals, HTML.

Report stage (how it is said, in tables): formats the disclosure-controlled tables of an
:class:`~mentoreval.report.annual.results.AnnualAnalysis`; never changes a number.
"""

from __future__ import annotations

import functools
import html
from typing import TYPE_CHECKING

import pandas as pd

from mentoreval.errors import (
    ConfigError,
    MentorevalError,
    Problem,
)
from mentoreval.report.annual.inputs import (
    cohort_label,
)
from mentoreval.report.annual.results import AnnualAnalysis
from mentoreval.report.numbers import format_numbers
from mentoreval.report.tables import column_label, format_report_table, report_table_html

if TYPE_CHECKING:
    from mentoreval.instruments.definitions import Instrument

__all__ = ["WIDE_AT", "annual_table", "annual_table_html", "format_annual_table"]


_TITLES = {
    "participation": ["programme", "cohort", "year"],
    "outcomes": ["programme", "cohort", "year", "instrument", "scale"],
    "pooled": ["programme", "instrument", "scale"],
    "trends": ["programme", "instrument", "scale", "year"],
    "trend_exclusions": ["programme", "instrument"],
    "dose": ["programme", "instrument", "scale", "measure", "level"],
    "dose_models": ["programme", "instrument", "scale"],
    "mentor_type": ["programme", "instrument", "scale", "breakdown", "level"],
}


_SHOWN = {
    "participation": ["enrolled", "with_meetings", "pre_responses", "post_responses",
                      "linked_pairs", "retention_pct"],
    "outcomes": ["n_pairs", "mean_pre", "mean_post", "mean_diff", "ci_low", "ci_high",
                 "p_value", "d_z", "g_av"],
    "pooled": ["k", "n_pairs", "estimate", "ci_low", "ci_high", "pi_low", "pi_high", "p_value",
               "p_adj", "tau2", "i2"],
    "trends": ["version", "n_pairs", "mean_pre", "mean_post", "mean_diff", "ci_low", "ci_high"],
    "trend_exclusions": ["versions", "reason"],
    "dose": ["n_pairs", "median_dose", "mean_change", "ci_low", "ci_high", "label"],
    "dose_models": ["n", "slope", "slope_ci_low", "slope_ci_high", "p_value", "label"],
    "mentor_type": ["n_pairs", "mean_change", "ci_low", "ci_high", "label"],
}  # fmt: skip


def format_annual_table(analysis: AnnualAnalysis, name: str) -> pd.DataFrame:
    """One table of the analysis as strings for the report (``"[c]"`` where suppressed).

    The identifying columns (programme, cohort, year, instrument, scale, ...) become the
    index, so the rendered table groups rows.

    Examples
    --------
    >>> display(format_annual_table(analysis, "pooled"))  # doctest: +SKIP
    """
    if name not in _TITLES:
        raise ConfigError(
            f"unknown annual table {name!r}",
            (Problem(f"unknown table {name!r}", fix=f"use one of: {', '.join(_TITLES)}"),),
        )
    df = analysis.tables[name]
    index = [c for c in _TITLES[name] if c in df.columns]
    shown = [c for c in _SHOWN[name] if c in df.columns]
    if df.empty:
        return pd.DataFrame({"": ["(nothing to show)"]}).set_index("")
    keep = [*index, *shown, *(["suppressed"] if "suppressed" in df.columns else [])]
    body = df[keep].copy()
    for column in index:
        body[column] = body[column].astype(str)
    out = format_numbers(body, policy=analysis.config.policy)
    return out.set_index(index) if index else out


@functools.cache
def _instrument(instrument: str) -> Instrument | None:
    """The instrument definition, or ``None`` when it is not found (a custom one)."""
    from mentoreval.instruments.definitions import load_instrument

    try:
        return load_instrument(instrument)
    except (MentorevalError, OSError):
        return None


def _instrument_name(instrument: str) -> str:
    inst = _instrument(instrument)
    return (inst.short_title or inst.title) if inst is not None else instrument


def scale_info(instrument: str, scale: str) -> tuple[str, bool | None]:
    """The scale's label (``"WHO-5: Wellbeing (0–100)"``) and whether higher is better."""
    inst = _instrument(instrument)
    name = _instrument_name(instrument)
    for s in inst.scales if inst is not None else ():
        if s.id == scale:
            same = s.title.casefold().startswith(name.casefold())
            return (s.title if same else f"{name}: {s.title}"), bool(s.higher_is_better)
    return f"{name}: {scale}", None


def decimals(instrument: str, scale: str) -> int:
    """Decimals of a change in points: 2 on a short scale (e.g. mean 1–5), else 1."""
    inst = _instrument(instrument)
    for s in inst.scales if inst is not None else ():
        if s.id == scale:
            return 2 if float(s.range[1]) - float(s.range[0]) <= 10 else 1
    return 1


_MEASURES = {"meetings": "Meetings attended", "regularity": "Regularity of meetings"}


_TEXT_COLUMNS = {"programme", "cohort", "outcome", "measure", "level", "breakdown", "dose",
                 "instrument", "version", "versions", "reason"}  # fmt: skip


#: Tables with more columns than this print on a landscape page.
WIDE_AT = 10


def _unknown_table(name: str) -> ConfigError:
    return ConfigError(
        f"unknown annual table {name!r}",
        (Problem(f"unknown table {name!r}", fix=f"use one of: {', '.join(VIEWS)}"),),
    )


def annual_table(analysis: AnnualAnalysis, name: str) -> pd.DataFrame:
    """One table of the analysis as a reader sees it: human labels, formatted numbers.

    Cohorts are named once (``"2023"``, or ``"spring (2024)"`` when the cohort is not its
    year), outcomes by their instrument and scale titles, the programme only when the
    table has more than one; each estimate carries its CI in one cell; numbers are
    formatted by the reports' one policy, :mod:`mentoreval.report.numbers` (``"[c]"``
    where suppressed).

    Parameters
    ----------
    analysis
        From :func:`analyse_annual`.
    name
        ``participation``, ``outcomes``, ``pooled``, ``trends``, ``trend_exclusions``,
        ``dose``, ``dose_models`` or ``mentor_type``.

    Returns
    -------
    pandas.DataFrame
        Strings only, columns labelled for people.

    Raises
    ------
    ConfigError
        An unknown table name.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from mentoreval.config.annual import load_annual_config
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = (Path(tmp) / "annual.yaml").write_text("title: A\\nprogramme: peer\\n")
    ...     cfg = load_annual_config(Path(tmp) / "annual.yaml")
    >>> nan = float("nan")
    >>> outcomes = pd.DataFrame({
    ...     "programme": ["peer", "peer"], "cohort": ["2023", "2024"], "year": [2023, 2024],
    ...     "instrument": ["who5", "who5"], "scale": ["total", "total"],
    ...     "n_pairs": [57.0, nan], "mean_pre": [50.2, nan], "mean_post": [54.3, nan],
    ...     "mean_diff": [4.08, nan], "ci_low": [-2.47, nan], "ci_high": [10.63, nan],
    ...     "p_value": [0.216, nan], "d_z": [0.18, nan], "g_av": [0.21, nan],
    ...     "suppressed": [False, True]})
    >>> shown = annual_table(AnnualAnalysis(cfg, {"outcomes": outcomes}, ()), "outcomes")
    >>> shown.columns.tolist()
    ['Cohort', 'Outcome', 'n (pairs)', 'Mean pre', 'Mean post', 'Change (95% CI)', 'p', 'd_z', 'g_av']
    >>> shown.iloc[:, [0, 2, 5]].to_numpy().tolist()
    [['2023', '57', '4.08 (−2.47 to 10.63)'], ['2024', '[c]', '[c]']]
    """
    return _annual_view(analysis, name)[0]


def _annual_view(analysis: AnnualAnalysis, name: str) -> tuple[pd.DataFrame, int]:
    """:func:`annual_table` and how many of its leading columns are text."""
    if name not in VIEWS:
        raise _unknown_table(name)
    columns, ci, _, labels = VIEWS[name]
    df = analysis.tables[name]
    if df.empty:
        return pd.DataFrame({"": ["(nothing to show)"]}), 1
    body = df.copy()
    if {"programme", "cohort", "year"} <= set(body.columns):
        body["cohort"] = [
            cohort_label(str(p), str(c), int(y), with_programme=False)
            for p, c, y in zip(body["programme"], body["cohort"], body["year"], strict=True)
        ]
    if {"instrument", "scale"} <= set(body.columns):
        body["outcome"] = [
            scale_info(str(i), str(s))[0]
            for i, s in zip(body["instrument"], body["scale"], strict=True)
        ]
    elif "instrument" in body.columns:
        body["instrument"] = body["instrument"].astype(str).map(_instrument_name)
    if "measure" in body.columns:
        body["measure"] = body["measure"].astype(str).replace(_MEASURES)
    for column in ("level", "breakdown"):
        if column in body.columns:
            body[column] = body[column].astype(str).str.capitalize()
    flagged = "suppressed" in body.columns and bool(body["suppressed"].any())
    keep = [
        c
        for c in columns
        if c in body.columns
        and not (c == "programme" and len(set(body[c])) < 2)
        # a count that does not apply anywhere (no meeting log) is left out, not "–"
        and not (body[c].isna().all() and not flagged)
    ]
    shown = body[[*keep, *(["suppressed"] if "suppressed" in body.columns else [])]]
    text = format_report_table(
        shown,
        policy=analysis.config.policy,
        confidence=analysis.config.confidence,
        ci=ci,
        labels=labels,
    )
    if {"PI low", "PI high"} <= set(text.columns):
        hidden = ("–", analysis.config.policy.label)
        text["PI low"] = [
            a if a in hidden else f"{a} to {b}"
            for a, b in zip(text["PI low"], text["PI high"], strict=True)
        ]
        text = text.drop(columns=["PI high"]).rename(
            columns={"PI low": f"Prediction interval ({analysis.config.confidence:.0%})"}
        )
    lead = 0
    while lead < len(keep) and keep[lead] in _TEXT_COLUMNS:
        lead += 1
    return text, lead


def annual_table_html(analysis: AnnualAnalysis, name: str, *, caption: str | None = None) -> str:
    """:func:`annual_table` as HTML for the report: each cohort or outcome named once.

    More than :data:`WIDE_AT` columns print on a landscape page (``mentoreval-wide``).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from mentoreval.config.annual import load_annual_config
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = (Path(tmp) / "annual.yaml").write_text("title: A\\nprogramme: peer\\n")
    ...     cfg = load_annual_config(Path(tmp) / "annual.yaml")
    >>> dose = pd.DataFrame({
    ...     "programme": ["peer"] * 2, "instrument": ["who5"] * 2, "scale": ["total"] * 2,
    ...     "measure": ["meetings"] * 2, "level": ["low third", "high third"],
    ...     "n_pairs": [40.0, 41.0], "median_dose": [2.0, 7.0], "mean_change": [-0.5, 3.1],
    ...     "ci_low": [-4.0, -0.2], "ci_high": [3.0, 6.4], "suppressed": [False, False]})
    >>> html = annual_table_html(AnnualAnalysis(cfg, {"dose": dose}, ()), "dose")
    >>> html.count("WHO-5: Wellbeing (0–100)"), "Mean change (95% CI)" in html, "n_pairs" in html
    (1, True, False)
    >>> annual_table_html(AnnualAnalysis(cfg, {"dose": dose[:0]}, ()), "dose", caption="Dose")
    '<p><em>Dose: none.</em></p>'
    """
    if name in VIEWS and analysis.tables[name].empty:
        return f"<p><em>{html.escape(caption or name.replace('_', ' '))}: none.</em></p>"
    text, lead = _annual_view(analysis, name)
    _, _, groups, labels = VIEWS[name]
    return report_table_html(
        text,
        caption=caption,
        wide_at=WIDE_AT,
        blank_repeats=[column_label(g, labels=labels) for g in groups],
        text_columns=lead,
    )


# columns shown, estimate → CI columns merged into it, grouping columns (named once per
# block of rows) and labels particular to the table; "cohort" and "outcome" are made
# from programme/cohort/year and instrument/scale
VIEWS: dict[str, tuple[list[str], dict[str, tuple[str, str]], list[str], dict[str, str]]] = {
    "participation": (
        ["programme", "cohort", "enrolled", "with_meetings", "pre_responses", "post_responses",
         "linked_pairs", "retention_pct"], {}, ["programme"], {}),
    "outcomes": (
        ["programme", "cohort", "outcome", "n_pairs", "mean_pre", "mean_post", "mean_diff",
         "ci_low", "ci_high", "p_value", "d_z", "g_av"],
        {"mean_diff": ("ci_low", "ci_high")}, ["programme", "cohort"], {}),
    "pooled": (
        ["programme", "outcome", "k", "n_pairs", "estimate", "ci_low", "ci_high", "pi_low",
         "pi_high", "p_value", "p_adj", "tau2", "i2"],
        {"estimate": ("ci_low", "ci_high")}, ["programme"],
        {"estimate": "Pooled change", "pi_low": "PI low", "pi_high": "PI high",
         "p_adj": "p (Holm)"}),
    "trends": (
        ["programme", "outcome", "cohort", "version", "n_pairs", "mean_pre", "mean_post",
         "mean_diff", "ci_low", "ci_high"],
        {"mean_diff": ("ci_low", "ci_high")}, ["programme", "outcome"], {"cohort": "Year"}),
    "trend_exclusions": (["programme", "instrument", "versions", "reason"], {}, ["programme"], {}),
    "dose": (
        ["programme", "outcome", "measure", "level", "n_pairs", "median_dose", "mean_change",
         "ci_low", "ci_high"],
        {"mean_change": ("ci_low", "ci_high")}, ["programme", "outcome", "measure"], {}),
    "dose_models": (
        ["programme", "outcome", "dose", "n", "slope", "slope_ci_low", "slope_ci_high",
         "p_value"],
        {"slope": ("slope_ci_low", "slope_ci_high")}, ["programme"],
        {"slope": "Change per unit of dose"}),
    "mentor_type": (
        ["programme", "outcome", "breakdown", "level", "n_pairs", "mean_change", "ci_low",
         "ci_high"],
        {"mean_change": ("ci_low", "ci_high")}, ["programme", "outcome", "breakdown"], {}),
}  # fmt: skip
