"""How protected numbers are shown: one cell or a whole table, with ``[c]`` where hidden.

Disclosure stage: formatting never un-suppresses; a NaN that was suppressed is shown as the
policy's label, and so is a NaN in a row flagged ``counts_hidden`` (a count hidden to
protect another cell while the row's statistics are shown).
"""

from __future__ import annotations

from typing import get_args

import pandas as pd

from mentoreval.config.disclosure import CellKind, DisclosurePolicy, policy_or_default
from mentoreval.errors import DisclosureError, Problem

__all__ = ["HIDDEN_COUNTS", "format_cell", "format_table", "hidden_flags"]

#: Column flagging rows whose statistics are shown although a count in them is hidden.
HIDDEN_COUNTS = "counts_hidden"
#: Flag columns, never shown as columns of their own.
FLAG_COLUMNS = frozenset({"suppressed", HIDDEN_COUNTS})


def hidden_flags(df: pd.DataFrame) -> pd.Series:
    """Per row: does a blank (NaN) number in it stand for a hidden one?

    Examples
    --------
    >>> t = pd.DataFrame({"suppressed": [True, False, False],
    ...                   "counts_hidden": [False, True, False]})
    >>> hidden_flags(t).tolist()
    [True, True, False]
    """
    flags = pd.Series(False, index=df.index)
    for column in FLAG_COLUMNS & set(df.columns):
        flags |= df[column].fillna(False).astype(bool)
    return flags


def format_cell(
    value: float | None,
    *,
    suppressed: bool = False,
    kind: CellKind = "number",
    decimals: int = 2,
    policy: DisclosurePolicy | None = None,
) -> str:
    """Format one published number; a suppressed cell becomes ``"[c]"``.

    Parameters
    ----------
    value
        The number (NaN or None when missing or suppressed).
    suppressed
        Whether the cell was suppressed; a NaN in a suppressed cell shows the label.
    kind
        ``"number"`` (``decimals`` places), ``"count"`` (integer), ``"percent"``
        (one decimal and ``%``) or ``"p"`` (three decimals, ``< 0.001``).
    decimals
        Decimal places for ``"number"``.
    policy
        Supplies the label (``"[c]"``).

    Examples
    --------
    >>> format_cell(float("nan"), suppressed=True)
    '[c]'
    >>> format_cell(0.0004, kind="p"), format_cell(12.0, kind="count")
    ('< 0.001', '12')
    >>> format_cell(-0.4567), format_cell(None), format_cell(41.25, kind="percent")
    ('-0.46', '–', '41.2%')
    >>> format_cell(-0.001), format_cell(-0.04, kind="percent")
    ('0.00', '0.0%')
    """
    policy = policy_or_default(policy)
    kinds = get_args(CellKind)
    if kind not in kinds:
        problem = Problem(f"unknown kind {kind!r}", fix=f"use one of {', '.join(kinds)}")
        raise DisclosureError(str(problem), (problem,))
    if value is None or pd.isna(value):
        return policy.label if suppressed else "–"
    number = float(value)
    if kind == "count":
        text = f"{round(number):d}"
    elif kind == "percent":
        text = f"{number:.1f}%"
    elif kind == "p":
        text = "< 0.001" if number < 0.001 else f"{number:.3f}"
    else:
        text = f"{number:.{decimals}f}"
    if text.startswith("-") and not any(ch in "123456789" for ch in text):
        text = text[1:]  # "-0.00" is a rounded zero, not a negative number
    return text


def format_table(
    df: pd.DataFrame,
    *,
    policy: DisclosurePolicy | None = None,
    decimals: int = 2,
    kinds: dict[str, CellKind] | None = None,
) -> pd.DataFrame:
    """Format a suppressed table for display: strings, ``"[c]"`` where suppressed.

    Columns named ``n`` / ``n_*`` are counts and ``p_*`` / ``*_p`` are p-values unless
    ``kinds`` says otherwise; the ``suppressed`` and ``counts_hidden`` flags are dropped.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"scale": ["a", "b"], "n_pairs": [40.0, float("nan")],
    ...                   "d_z": [0.41, float("nan")], "suppressed": [False, True]})
    >>> format_table(t)
      scale n_pairs   d_z
    0     a      40  0.41
    1     b     [c]   [c]
    """
    policy = policy_or_default(policy)
    kinds = dict(kinds or {})
    flags = hidden_flags(df)
    out = pd.DataFrame(index=df.index)
    for column in df.columns:
        if column in FLAG_COLUMNS:
            continue
        series = df[column]
        if not pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(
            series.dtype
        ):
            out[column] = series.astype(object).where(series.notna(), "–").astype(str)
            continue
        name = str(column)
        kind = kinds.get(name)
        if kind is None:
            if name == "n" or name.startswith("n_") or name.endswith("_n"):
                kind = "count"
            elif name.startswith("p_") or name.endswith("_p"):
                kind = "p"
            else:
                kind = "number"
        out[column] = [
            format_cell(v, suppressed=bool(s), kind=kind, decimals=decimals, policy=policy)
            for v, s in zip(series, flags, strict=True)
        ]
    return out
