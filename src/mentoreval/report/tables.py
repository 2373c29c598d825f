"""Report tables for people: one set of human column labels, one number format, one way of
putting an estimate and its CI in a single cell, so the cohort and annual reports read alike.

Report stage (how it is said, in tables). :func:`format_report_table` and
:func:`report_table_html` use :data:`COLUMN_LABELS` and the reports' one number policy,
:mod:`mentoreval.report.numbers`; writing files is :mod:`mentoreval.outputs`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence

import pandas as pd

from mentoreval.config.disclosure import DisclosurePolicy
from mentoreval.report.numbers import NumberKind, format_numbers

__all__ = [
    "COLUMN_LABELS",
    "column_label",
    "format_report_table",
    "report_table_html",
    "typographic_minus",
]


# ------------------------------------------------------------------- tables for people

#: Human labels of the columns of report tables (snake_case names never reach a reader).
COLUMN_LABELS: dict[str, str] = {
    "instrument": "Instrument", "scale": "Scale", "n_pairs": "n (pairs)", "mean_pre": "Mean pre",
    "sd_pre": "SD pre", "mean_post": "Mean post", "sd_post": "SD post",
    "mean_diff": "Change", "ci_low": "CI low", "ci_high": "CI high", "t": "t", "df": "df",
    "p_value": "p", "p_adj": "p (adjusted)", "d_z": "d_z", "d_z_ci_low": "d_z CI low",
    "d_z_ci_high": "d_z CI high", "d_av": "d_av", "g_av": "g_av", "wilcoxon_p": "Wilcoxon p",
    "rank_biserial": "Rank-biserial r", "wave": "Wave", "n_complete": "n (complete)",
    "n_items": "Items", "alpha": "Cronbach's α", "alpha_ci_low": "α CI low",
    "alpha_ci_high": "α CI high", "omega_total": "ω total", "band": "Band",
    "n_pre": "n pre", "prop_pre": "Share pre", "n_post": "n post", "prop_post": "Share post",
    "n_entered": "Moved in", "n_left": "Moved out", "group": "Group",
    "n_baseline": "n at baseline", "n_followed_up": "n followed up",
    "followed_up_pct": "Followed up", "estimate": "Estimate", "se": "SE", "n": "n",
    "n_treated": "n mentored", "n_control": "n comparison", "emmean": "Adjusted mean",
    "variable": "Variable", "level": "Level", "smd": "Std. difference",
    "mean_treated": "Mean mentored", "mean_control": "Mean comparison",
    "sd_treated": "SD mentored", "sd_control": "SD comparison", "contrast": "Contrast",
    "value": "Value", "effect_size": "Effect size", "attrition": "Attrition",
    "n_completed": "n completed", "flag": "Flag", "n_responses": "Responses",
    "n_flagged": "Flagged", "flagged_pct": "Flagged (%)", "items_missing_pct": "Items missing (%)",
    "rule": "Reason", "received": "Received", "excluded": "Excluded", "kept": "Kept",
    "reasons": "Reasons", "measure": "Measure", "percent": "%", "improved": "Improved",
    "unchanged": "Unchanged", "deteriorated": "Deteriorated", "recovered": "Recovered",
    "family": "Family", "method": "Method", "n_tests": "Tests", "title": "Title",
    "citation": "Citation", "domain": "Domain", "version": "Version", "items": "Items",
    "licence": "Licence", "min_answered": "Min. answered", "bands": "Bands",
    "n_participants": "n participants", "riv": "RIV", "fmi": "FMI", "m": "Imputations",
    "n_imputed": "n imputed", "ess_treated": "ESS mentored", "ess_control": "ESS comparison",
    "z": "z", "estimand": "Estimand", "r_prepost": "r pre–post", "label": "Scale",
    "range_low": "Lowest score", "range_high": "Highest score", "stage": "Stage",
    "programme": "Programme", "cohort": "Cohort", "year": "Year", "outcome": "Outcome",
    "enrolled": "Enrolled", "with_meetings": "With meetings", "pre_responses": "Pre responses",
    "post_responses": "Post responses", "linked_pairs": "Linked pairs",
    "retention_pct": "Retention", "k": "Cohorts", "pi": "Prediction interval", "tau2": "τ²",
    "i2": "I²", "median_dose": "Median dose", "mean_change": "Mean change", "slope": "Slope",
    "breakdown": "Breakdown", "versions": "Versions by year", "reason": "Reason", "dose": "Dose",
    "bf10": "BF₁₀ (JZS, r = 0.707)",
}  # fmt: skip

_NEGATIVE_ZERO = re.compile(r"-0(\.0*)?%?")
_HYPHEN_MINUS = re.compile(r"(?<![\w])-(?=\d)")


def column_label(
    column: str, confidence: float = 0.95, *, labels: Mapping[str, str] | None = None
) -> str:
    """Human column label (``n_pairs`` → ``n (pairs)``; ``*__ci`` adds the CI level).

    Parameters
    ----------
    column
        The column name; a name ending in ``__ci`` is an estimate with its CI in one cell.
    confidence
        The CI level named by ``__ci`` labels.
    labels
        Labels that take precedence over :data:`COLUMN_LABELS` (e.g. one report's wording).

    Examples
    --------
    >>> column_label("mean_diff__ci"), column_label("n_pairs"), column_label("some_thing")
    ('Change (95% CI)', 'n (pairs)', 'Some thing')
    >>> column_label("estimate__ci", 0.9, labels={"estimate": "Pooled change"})
    'Pooled change (90% CI)'
    """
    if column.endswith("__ci"):
        core = column_label(column.removesuffix("__ci"), confidence, labels=labels)
        return f"{core} ({confidence:.0%} CI)"
    text = (labels or {}).get(column) or COLUMN_LABELS.get(column)
    if text is None:
        text = column.replace("_", " ")
        text = text[:1].upper() + text[1:]
    return text


def typographic_minus(text: object) -> object:
    """Typographic minus for negative numbers in text, and never a negative zero.

    Examples
    --------
    >>> typographic_minus("-0.42 (-1.10 to 0.26)"), typographic_minus("-0.0%")
    ('−0.42 (−1.10 to 0.26)', '0.0%')
    >>> typographic_minus("well-being 2023-24"), typographic_minus(3)
    ('well-being 2023-24', 3)
    """
    if not isinstance(text, str):
        return text
    if _NEGATIVE_ZERO.fullmatch(text):
        text = text[1:]
    return _HYPHEN_MINUS.sub("−", text)


def format_report_table(
    df: pd.DataFrame,
    *,
    policy: DisclosurePolicy | None = None,
    confidence: float = 0.95,
    decimals: int | None = None,
    kinds: Mapping[str, NumberKind] | None = None,
    ci: Mapping[str, tuple[str, str]] | None = None,
    labels: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """A protected table as the strings a reader sees, with human column labels.

    Numbers are formatted by :func:`~mentoreval.report.numbers.format_numbers` (counts as
    whole numbers, statistics to a fixed number of decimals per column, ``"[c]"`` where
    suppressed, no negative zero); each estimate named in ``ci`` gets its interval in the
    same cell (``"0.26 (0.10 to 0.42)"``, the bounds' columns dropped); minus signs become
    typographic; columns are renamed with :func:`column_label`.

    Parameters
    ----------
    df
        A protected table (NaN where suppressed, optional bool ``suppressed`` column).
    policy
        Supplies the suppression label.
    confidence
        The CI level named in the headers of merged columns.
    decimals, kinds
        As in :func:`~mentoreval.report.numbers.format_numbers` (exceptions to the policy).
    ci
        Estimate column → ``(low, high)`` columns to merge into it.
    labels
        Labels that take precedence over :data:`COLUMN_LABELS`.

    Returns
    -------
    pandas.DataFrame
        Strings only, with a fresh ``RangeIndex``.

    Examples
    --------
    >>> t = pd.DataFrame({"scale": ["a", "b"], "n_pairs": [40.0, float("nan")],
    ...                   "mean_diff": [-0.4, float("nan")], "ci_low": [-0.9, float("nan")],
    ...                   "ci_high": [0.001, float("nan")], "suppressed": [False, True]})
    >>> format_report_table(t, ci={"mean_diff": ("ci_low", "ci_high")})
      Scale n (pairs)        Change (95% CI)
    0     a        40  −0.40 (−0.90 to 0.00)
    1     b       [c]                    [c]
    """
    label = (policy or DisclosurePolicy()).label
    text = format_numbers(df.reset_index(drop=True), policy=policy, decimals=decimals, kinds=kinds)
    for est, (lo, hi) in (ci or {}).items():
        if {est, lo, hi} <= set(text.columns):
            text[est] = [
                e if e in ("–", label) else f"{e} ({a} to {b})"
                for e, a, b in zip(text[est], text[lo], text[hi], strict=True)
            ]
            text = text.drop(columns=[lo, hi]).rename(columns={est: f"{est}__ci"})
    for column in text.columns:
        text[column] = text[column].map(typographic_minus)
    text.columns = pd.Index([column_label(str(c), confidence, labels=labels) for c in text.columns])
    return text


def report_table_html(
    text: pd.DataFrame,
    *,
    caption: str | None = None,
    wide_at: int = 11,
    blank_repeats: Sequence[str] = (),
    text_columns: int = 0,
) -> str:
    """HTML of a formatted table; more than ``wide_at`` columns prints on a landscape page.

    Parameters
    ----------
    text
        From :func:`format_report_table` (strings; the index is not shown).
    caption
        Shown above the table (escaped).
    wide_at
        Tables with more columns get ``class="mentoreval-wide"`` (landscape in print).
    blank_repeats
        Leading grouping columns whose value is shown only where it changes (a cohort or
        an outcome named once for its block of rows).
    text_columns
        How many leading columns are text (1–4): they are left-aligned and wrap, while the
        numbers after them never break inside a cell (``class="mentoreval-lead-N"``).

    Examples
    --------
    >>> t = pd.DataFrame({"Cohort": ["2023", "2023", "2024"], "n": ["40", "38", "< 10"]})
    >>> html = report_table_html(t, caption="A & B", blank_repeats=["Cohort"])
    >>> html.count("<td>2023</td>"), "<caption>A &amp; B</caption>" in html
    (1, True)
    >>> "mentoreval-wide" in report_table_html(t, wide_at=1)
    True
    >>> "mentoreval-lead-1" in report_table_html(t, text_columns=1)
    True
    """
    shown = text.reset_index(drop=True).copy()
    keys = [c for c in blank_repeats if c in shown.columns]
    if keys and len(shown):
        block = shown[keys].astype(str)
        # a value repeats when it and every grouping value to its left equal the row above
        same = pd.DataFrame(False, index=shown.index, columns=keys)
        prefix = pd.Series(True, index=shown.index)
        for c in keys:
            prefix &= block[c].eq(block[c].shift())
            same[c] = prefix
        for c in keys:
            shown.loc[same[c].to_numpy(dtype=bool), c] = ""
    classes = ["mentoreval-table", *(["mentoreval-wide"] if len(shown.columns) > wide_at else [])]
    if text_columns > 0:
        classes.append(f"mentoreval-lead-{min(text_columns, 4)}")
    out = shown.to_html(index=False, escape=True, border=0, classes=classes)
    if caption:
        out = out.replace(">", f"><caption>{html.escape(caption, quote=True)}</caption>", 1)
    return out
