"""Derived values: blanking what could be worked back to a suppressed cell, and checking it.

Disclosure stage: after small cells are suppressed, a total, difference or percentage next
to them can reveal them again; these functions blank and verify.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mentoreval.errors import DisclosureError, Problem

if TYPE_CHECKING:  # pragma: no cover
    pass

__all__ = ["blank_derivable", "check_no_derivable", "check_rounded_lines", "protect_derived"]


def _derivable_rows(
    df: pd.DataFrame, count_columns: Sequence[str], derived_columns: Sequence[str]
) -> pd.DataFrame:
    """Boolean frame: True where a derived cell is published although a count is hidden."""
    counts = [c for c in count_columns if c in df.columns]
    derived = [c for c in derived_columns if c in df.columns]
    if not counts or not derived or df.empty:
        return pd.DataFrame(False, index=df.index, columns=derived)
    hidden = df[counts].apply(pd.to_numeric, errors="coerce").isna().any(axis=1)
    if "suppressed" in df.columns:
        # a count that is simply not applicable (NaN in an unsuppressed row) hides nothing
        hidden &= df["suppressed"].fillna(False).astype(bool)
    shown = df[derived].apply(pd.to_numeric, errors="coerce").notna()
    return shown.mul(hidden, axis=0)


def blank_derivable(
    df: pd.DataFrame, *, count_columns: Sequence[str], derived_columns: Sequence[str]
) -> pd.DataFrame:
    """Hide every rate, share or mean computed from a count hidden in the same row.

    A proportion next to a suppressed count gives the count back (attrition 0.17 of a
    published baseline of 64 is 11 drop-outs), so when any of ``count_columns`` is NaN in
    a row flagged ``suppressed``, every ``derived_columns`` cell of that row is set to NaN.

    Parameters
    ----------
    df
        A protected table (NaN where suppressed, bool ``suppressed`` column); not modified.
    count_columns
        The counts the derived values are computed from (numerators and denominators).
    derived_columns
        Rates, percentages, proportions, means … computed from those counts.

    Returns
    -------
    pandas.DataFrame
        A copy that passes :func:`check_no_derivable`.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"group": ["a", "b"], "n_baseline": [64.0, 70.0],
    ...                   "n_completed": [53.0, float("nan")], "attrition": [0.17, 0.38],
    ...                   "suppressed": [False, True]})
    >>> blank_derivable(t, count_columns=["n_baseline", "n_completed"],
    ...                 derived_columns=["attrition"])
      group  n_baseline  n_completed  attrition  suppressed
    0     a        64.0         53.0       0.17       False
    1     b        70.0          NaN        NaN        True
    """
    out = df.copy()
    leaks = _derivable_rows(out, count_columns, derived_columns)
    for column in leaks.columns:
        out.loc[leaks[column].to_numpy(dtype=bool), column] = np.nan
    return out


def check_no_derivable(
    df: pd.DataFrame,
    *,
    count_columns: Sequence[str],
    derived_columns: Sequence[str],
    table: str = "",
) -> None:
    """Fail when a published rate/share/mean would reveal a suppressed count in its row.

    Parameters
    ----------
    df
        A protected table with a bool ``suppressed`` column.
    count_columns, derived_columns
        As in :func:`blank_derivable`.
    table
        The table's name, for the message.

    Raises
    ------
    DisclosureError
        Naming each row and column that leaks, with the fix.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"n_completed": [float("nan")], "attrition": [0.38],
    ...                   "suppressed": [True]})
    >>> check_no_derivable(t, count_columns=["n_completed"], derived_columns=["attrition"],
    ...                    table="attrition")
    Traceback (most recent call last):
    ...
    mentoreval.errors.DisclosureError: attrition: 1 derived value(s) would reveal a suppressed count (fix: suppress them with blank_derivable)
      - row 0: column 'attrition': attrition is published although a count of its row is suppressed (fix: suppress them with blank_derivable)
    >>> check_no_derivable(blank_derivable(t, count_columns=["n_completed"],
    ...                    derived_columns=["attrition"]), count_columns=["n_completed"],
    ...                    derived_columns=["attrition"])
    """
    leaks = _derivable_rows(df, count_columns, derived_columns)
    if not leaks.to_numpy().any():
        return
    problems = tuple(
        Problem(
            f"{column} is published although a count of its row is suppressed",
            row=int(i) if isinstance(i, int | np.integer) else None,
            column=str(column),
            fix="suppress them with blank_derivable",
        )
        for column in leaks.columns
        for i in leaks.index[leaks[column].to_numpy(dtype=bool)]
    )
    where = f"{table}: " if table else ""
    raise DisclosureError(
        f"{where}{len(problems)} derived value(s) would reveal a suppressed count "
        "(fix: suppress them with blank_derivable)",
        problems,
    )


def check_rounded_lines(
    published: dict[str, float],
    lines: Sequence[tuple[str, Sequence[str]]],
    *,
    base: int = 5,
    limit: int = 200_000,
) -> dict[str, set[int]]:
    """Every exact value of each suppressed cell consistent with the published ones.

    For a flow of counts linked by ``total = sum(parts)`` where shown counts are rounded to
    ``base`` and suppressed ones are NaN, enumerate the exact counts an attacker could
    reconstruct. A suppressed cell is safe when more than one value remains.

    Parameters
    ----------
    published
        Cell name → published count (NaN when suppressed; rounded otherwise).
    lines
        ``(total, parts)`` relations between the cells.
    base
        The rounding base of the shown counts (1: shown exactly).
    limit
        Upper bound on the number of candidate combinations enumerated.

    Returns
    -------
    dict
        Suppressed cell → the set of feasible exact values (empty when no line pins it
        down at all, which is safe too).

    Examples
    --------
    >>> feasible = check_rounded_lines({"read": 145.0, "kept": 135.0, "excl": float("nan")},
    ...                                [("read", ["kept", "excl"])])
    >>> sorted(feasible["excl"])
    [6, 7, 8, 9, 10, 11, 12, 13, 14]
    """
    import itertools

    half = base // 2
    shown = {k: v for k, v in published.items() if not pd.isna(v)}
    hidden = [k for k, v in published.items() if pd.isna(v)]
    names = list(shown)
    ranges = [
        range(max(0, int(shown[k]) - half), int(shown[k]) + half + 1)
        if shown[k] != 0
        else range(0, 1)
        for k in names
    ]
    total = 1
    for r in ranges:
        total *= len(r)
    if total > limit:
        raise DisclosureError(f"too many combinations to check ({total} > {limit})")
    feasible: dict[str, set[int]] = {k: set() for k in hidden}
    for combo in itertools.product(*ranges):
        exact: dict[str, float] = dict(zip(names, combo, strict=True))
        # solve hidden cells line by line where exactly one unknown remains
        progress = True
        while progress:
            progress = False
            for t, parts in lines:
                members = [t, *parts]
                unknown = [m for m in members if m not in exact]
                if len(unknown) != 1:
                    continue
                u = unknown[0]
                known = sum(exact[p] for p in parts if p in exact)
                exact[u] = known if u == t else exact[t] - known
                progress = True
        ok = all(
            exact.get(t) is None
            or any(p not in exact for p in parts)
            or exact[t] == sum(exact[p] for p in parts)
            for t, parts in lines
        )
        if not ok or any(exact.get(h, 0) < 0 for h in hidden):
            continue
        for h in hidden:
            if h in exact:
                feasible[h].add(int(exact[h]))
    return feasible


def protect_derived(
    tables: Mapping[str, pd.DataFrame],
    rules: Mapping[str, Sequence[tuple[Sequence[str], Sequence[str]]]],
) -> dict[str, pd.DataFrame]:
    """Hide rates, shares and means whose count is hidden in the same row, then check.

    Applies :func:`~mentoreval.disclose.blank_derivable` with ``rules`` (default
    each report's ``DERIVED_COLUMNS``: table → (count columns, derived columns)) to every table and
    verifies the result with :func:`~mentoreval.disclose.check_no_derivable`.

    Examples
    --------
    >>> t = pd.DataFrame({"group": ["mentored"], "n_baseline": [63.0],
    ...                   "n_completed": [float("nan")], "attrition": [0.38],
    ...                   "suppressed": [True]})
    >>> rules = {"attrition": [(["n_baseline", "n_completed"], ["attrition"])]}
    >>> bool(protect_derived({"attrition": t}, rules)["attrition"]["attrition"].isna().all())
    True
    """
    out = dict(tables)
    for name, table_rules in rules.items():
        if name not in out or out[name].empty:
            continue
        frame = out[name]
        for counts, derived in table_rules:
            frame = blank_derivable(frame, count_columns=counts, derived_columns=derived)
        for counts, derived in table_rules:
            check_no_derivable(frame, count_columns=counts, derived_columns=derived, table=name)
        out[name] = frame
    return out
