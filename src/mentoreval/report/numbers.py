"""The reports' one number policy: what each column of a table holds, how it is shown, and
how it is rounded in the ``tables/*.csv`` a reader pastes.

Report stage (how it is said, in numbers). Every report table — HTML, PDF and the CSVs — is
formatted from the kinds decided here, so a count is never ``57.0``, a year never
``2025.00``, and a statistic always has the same number of decimals in the same column.

=========  ==============================================  ===========  ===============
kind       columns                                         shown        ``tables/*.csv``
=========  ==============================================  ===========  ===============
count      ``n``, ``n_*``, ``*_n``, :data:`COUNT_COLUMNS`  ``57``       ``57``
p          ``p_value``, ``p_*``, ``*_p``                   ``0.046``,   ``0.046``,
                                                           ``< 0.001``  ``<0.001``
percent    ``*_pct``, ``percent``, ``i2`` (0–100)          ``41.2%``    ``41.2``
share      ``prop_*``, ``attrition`` (0–1)                 ``41.2%``    ``0.412``
number     :data:`STATISTICS` and any other column         ``0.26``     ``0.262``
bf         :data:`BAYES_FACTORS` (``bf10``)                ``0.31``,    ``0.312``,
                                                           ``4.7``,     ``4.72``,
                                                           ``> 1000``   ``1230.0``
=========  ==============================================  ===========  ===============

A Bayes factor spans orders of magnitude, so it is shown with two significant digits
(never fewer than two decimals below 1), ``< 0.001`` and ``> 1000`` beyond; the CSVs keep
three significant digits. Statistics are shown with :data:`DECIMALS` places (2 unless listed) and written to the CSVs
with one more; a numeric column that is none of the above and holds only whole numbers
(a ``df`` of a paired t test, a scale's range) is a count. Text columns naming a level, a
cohort or a year show a whole number written as a float (``"1.0"``) as ``"1"``. The
full-precision values stay in ``results.json`` (:func:`mentoreval.outputs.table_json`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Literal

import numpy as np
import pandas as pd

from mentoreval.config.disclosure import DisclosurePolicy, policy_or_default
from mentoreval.disclose.formatting import FLAG_COLUMNS, format_cell, hidden_flags

__all__ = [
    "BAYES_FACTORS",
    "COUNT_COLUMNS",
    "DECIMALS",
    "STATISTICS",
    "NumberKind",
    "bf_text",
    "column_kinds",
    "format_numbers",
    "round_for_paste",
    "whole_label",
]


NumberKind = Literal["count", "p", "percent", "share", "number", "bf"]

#: Bayes factors (BF₁₀), shown with significant digits rather than fixed decimals.
BAYES_FACTORS: frozenset[str] = frozenset({"bf10"})


#: Whole numbers of students, responses, items, cohorts, tests or imputations, and the
#: whole-number identifiers (``year``); besides ``n``, ``n_*`` and ``*_n``.
COUNT_COLUMNS: frozenset[str] = frozenset({
    "received", "excluded", "kept", "improved", "unchanged", "deteriorated", "recovered",
    "enrolled", "with_meetings", "pre_responses", "post_responses", "linked_pairs", "k",
    "items", "m", "min_answered", "year", "level_order",
})  # fmt: skip


#: Estimates, always shown with decimals, even when a value happens to be whole.
STATISTICS: frozenset[str] = frozenset({
    "mean_pre", "sd_pre", "mean_post", "sd_post", "mean_diff", "ci_low", "ci_high", "t", "z",
    "d_z", "d_z_ci_low", "d_z_ci_high", "d_av", "g_av", "rank_biserial", "alpha",
    "alpha_ci_low", "alpha_ci_high", "omega_total", "estimate", "se", "emmean", "smd",
    "mean_treated", "mean_control", "sd_treated", "sd_control", "value", "r_prepost", "riv",
    "fmi", "ess_treated", "ess_control", "max_abs_smd_after", "slope", "slope_ci_low",
    "slope_ci_high", "mean_change", "pi_low", "pi_high", "tau2", "q", "weight_random",
    "reliability", "mcid", "median_dose", "score", "raw_score",
})  # fmt: skip


#: Decimal places shown where 2 would be too many or too few (the CSVs keep one more).
DECIMALS: dict[str, int] = {
    "df": 1, "ess_treated": 1, "ess_control": 1, "median_dose": 1, "tau2": 3,
}  # fmt: skip


#: Text columns whose values may be whole numbers written as floats (``"1.0"`` → ``"1"``).
LABEL_COLUMNS: frozenset[str] = frozenset({"level", "cohort", "year", "wave"})


_PERCENT = frozenset({"percent", "i2"})
_SHARE = frozenset({"attrition"})
_FLOAT_WHOLE = re.compile(r"^([+-]?\d+)\.0+$")


def _is_numeric(series: pd.Series) -> bool:
    dtype = series.dtype
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def _named_kind(name: str) -> NumberKind | None:
    """The kind a column's name alone decides, or ``None``."""
    if name == "n" or name.startswith("n_") or name.endswith("_n") or name in COUNT_COLUMNS:
        return "count"
    if name.startswith("p_") or name.endswith(("_p", "_p_value")):
        return "p"
    if name.endswith("_pct") or name in _PERCENT:
        return "percent"
    if name.startswith("prop_") or name in _SHARE:
        return "share"
    if name in STATISTICS:
        return "number"
    if name in BAYES_FACTORS:
        return "bf"
    return None


def column_kinds(
    df: pd.DataFrame, kinds: Mapping[str, NumberKind] | None = None
) -> dict[str, NumberKind]:
    """The kind of every numeric column of ``df`` (see the module docstring).

    Parameters
    ----------
    df
        A table; text and boolean columns get no kind.
    kinds
        Kinds that take precedence over the policy (a column the policy cannot know).

    Examples
    --------
    >>> t = pd.DataFrame({"scale": ["a"], "n_pairs": [40.0], "unchanged": [72.0],
    ...                   "df": [39.0], "d_z": [1.0], "p_adj": [0.2], "prop_pre": [0.4],
    ...                   "range_high": [100.0], "smd": [0.123]})
    >>> column_kinds(t)
    {'n_pairs': 'count', 'unchanged': 'count', 'df': 'count', 'd_z': 'number', 'p_adj': 'p', 'prop_pre': 'share', 'range_high': 'count', 'smd': 'number'}
    """
    out: dict[str, NumberKind] = {}
    chosen = dict(kinds or {})
    for column in df.columns:
        name = str(column)
        if name == "suppressed" or not _is_numeric(df[column]):
            continue
        kind = chosen.get(name) or _named_kind(name)
        if kind is None:
            values = pd.to_numeric(df[column], errors="coerce").dropna().to_numpy(dtype=float)
            whole = bool(len(values)) and bool(np.all(np.isfinite(values) & (values % 1 == 0)))
            kind = "count" if whole else "number"
        out[name] = kind
    return out


def whole_label(value: object) -> object:
    """A whole number written as a float (``"1.0"``, ``2025.0``) as a whole number's text.

    Examples
    --------
    >>> whole_label("1.0"), whole_label(2025.0), whole_label("1.5"), whole_label("low")
    ('1', '2025', '1.5', 'low')
    """
    if isinstance(value, float | np.floating) and math.isfinite(value) and float(value) % 1 == 0:
        return str(int(value))
    if isinstance(value, str):
        match = _FLOAT_WHOLE.match(value.strip())
        if match:
            return match.group(1)
    return value


def bf_text(value: float) -> str:
    """A Bayes factor as a reader sees it: two significant digits (at least two decimals
    below 1), ``< 0.001`` and ``> 1000`` beyond.

    Examples
    --------
    >>> [bf_text(v) for v in (0.0004, 0.0312, 0.3149, 1.0, 4.712, 17.26, 312.4, 24000.0)]
    ['< 0.001', '0.031', '0.31', '1.0', '4.7', '17', '310', '> 1000']
    """
    if value < 0.001:
        return "< 0.001"
    if value > 1000:
        return "> 1000"
    rounded = float(f"{value:.2g}")
    places = max(0, 1 - math.floor(math.log10(rounded)))
    return f"{rounded:.{places}f}"


def _paste_bf(value: float) -> float:
    return value if not math.isfinite(value) or value == 0 else float(f"{value:.3g}")


def _decimals(name: str, default: int | None) -> int:
    return DECIMALS.get(name, 2 if default is None else default)


def format_numbers(
    df: pd.DataFrame,
    *,
    policy: DisclosurePolicy | None = None,
    kinds: Mapping[str, NumberKind] | None = None,
    decimals: int | None = None,
) -> pd.DataFrame:
    """A protected table as the text a reader sees: ``"[c]"`` where hidden, ``"–"``
    where missing, every number formatted by its kind.

    Parameters
    ----------
    df
        A protected table (NaN where suppressed, optional bool ``suppressed`` column,
        which is dropped).
    policy
        Supplies the suppression label.
    kinds
        Kinds that take precedence over :func:`column_kinds`.
    decimals
        Places of a statistic not listed in :data:`DECIMALS` (default 2).

    Returns
    -------
    pandas.DataFrame
        Strings only, same index.

    Examples
    --------
    >>> t = pd.DataFrame({"level": ["1.0", "2.0"], "n_pairs": [40.0, float("nan")],
    ...                   "unchanged": [31.0, float("nan")], "d_z": [0.4123, float("nan")],
    ...                   "p_value": [0.0004, float("nan")], "prop_pre": [0.412, float("nan")],
    ...                   "suppressed": [False, True]})
    >>> format_numbers(t)
      level n_pairs unchanged   d_z  p_value prop_pre
    0     1      40        31  0.41  < 0.001    41.2%
    1     2     [c]       [c]   [c]      [c]      [c]
    """
    policy = policy_or_default(policy)
    flags = hidden_flags(df)
    chosen = column_kinds(df, kinds)
    out = pd.DataFrame(index=df.index)
    for column in df.columns:
        name = str(column)
        if name in FLAG_COLUMNS:
            continue
        series = df[column]
        if name not in chosen:
            text = series.astype(object).where(series.notna(), "–")
            if name in LABEL_COLUMNS:
                text = text.map(whole_label)
            out[column] = text.astype(str)
            continue
        kind = chosen[name]
        values = series.astype(float) * (100 if kind == "share" else 1)
        cell = "percent" if kind == "share" else "number" if kind == "bf" else kind
        places = _decimals(name, decimals)
        out[column] = [
            bf_text(float(v)) if kind == "bf" and math.isfinite(v)
            else format_cell(v, suppressed=bool(s), kind=cell, decimals=places, policy=policy)
            for v, s in zip(values, flags, strict=True)
        ]  # fmt: skip
    return out


def _paste_p(value: float) -> object:
    if math.isnan(value):
        return value
    return "<0.001" if value < 0.001 else round(value, 3) + 0.0


def round_for_paste(
    df: pd.DataFrame, kinds: Mapping[str, NumberKind] | None = None
) -> pd.DataFrame:
    """``df`` rounded for ``tables/*.csv``: counts as whole numbers, statistics with one
    decimal more than the report shows, p-values to 3 decimals (``"<0.001"`` below),
    percentages to 1 decimal; suppressed and missing cells stay empty.

    Parameters
    ----------
    df
        A protected table at full precision (what ``results.json`` keeps).
    kinds
        Kinds that take precedence over :func:`column_kinds`.

    Returns
    -------
    pandas.DataFrame
        Same columns and index; counts are ``Int64``, a p-value column holding
        ``"<0.001"`` is text, other numbers are floats; no negative zero.

    Examples
    --------
    >>> t = pd.DataFrame({"level": ["1.0"], "n_pairs": [57.0], "mean_pre": [3.1272727272727274],
    ...                   "d_z": [-0.0004], "p_value": [0.00002], "p_adj": [0.04567],
    ...                   "percent": [79.2857], "prop_pre": [0.41234]})
    >>> round_for_paste(t).to_dict(orient="records")
    [{'level': '1', 'n_pairs': 57, 'mean_pre': 3.127, 'd_z': 0.0, 'p_value': '<0.001', 'p_adj': 0.046, 'percent': 79.3, 'prop_pre': 0.412}]
    """
    out = df.copy()
    chosen = column_kinds(df, kinds)
    for column in df.columns:
        name = str(column)
        series = df[column]
        if name not in chosen:
            if name in LABEL_COLUMNS and not pd.api.types.is_bool_dtype(series.dtype):
                out[column] = series.map(whole_label)
            continue
        values = series.astype(float)
        kind = chosen[name]
        if kind == "count":
            out[column] = values.round().astype("Int64")
        elif kind == "bf":
            out[column] = values.map(_paste_bf).astype(float)
        elif kind == "p":
            pasted = values.map(_paste_p)
            text = any(isinstance(v, str) for v in pasted)
            out[column] = pasted.astype(object) if text else pasted.astype(float)
        else:
            places = 1 if kind == "percent" else 3 if kind == "share" else _decimals(name, None) + 1
            out[column] = values.round(places) + 0.0  # + 0.0: no "-0.0"
    return out
