"""Statistical disclosure control: nothing leaves the library without it.

Protect stage, between ``results`` and ``reports/``. Every published number (count, %,
mean, SD, effect size, CI, p) rests on *n distinct students* (for paired statistics,
n = linked pairs); when n is below the policy's threshold *k* the number is replaced by
NaN and the row's ``suppressed`` flag is set. Count tables with totals get complementary
(secondary) suppression so a total never reveals a suppressed cell, and 0 %/100 % groups
are masked (class disclosure). A :class:`ReleaseLedger` remembers what was released so a
rerun after a few late responses cannot be differenced against the earlier report.

Profiles (see ``privacy-and-reliability.md`` §1):

``"default"``
    k = 10 distinct students for every number.
``"nhs"``
    NHS Digital style: counts 1–7 suppressed, other counts rounded to the nearest 5,
    means and other statistics need n ≥ 8.
``"off"``
    No suppression, for internal use only; :attr:`DisclosurePolicy.warning` holds a
    message the report must show prominently.

Numbers stay numbers here; :func:`format_cell` and :func:`format_table` make the strings
("< 10" for a suppressed cell).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence

import numpy as np
import pandas as pd

from mentoreval.config.disclosure import DisclosurePolicy, policy_or_default
from mentoreval.disclose.ledger import ReleaseLedger
from mentoreval.errors import DisclosureError, Problem

__all__ = ["suppress_counts", "suppress_table"]


def _as_list(columns: str | Sequence[str] | None) -> list[str]:
    if columns is None:
        return []
    if isinstance(columns, str):
        return [columns]
    return list(columns)


def _check_columns(df: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        problems = [
            Problem(f"column {c!r} not in the table", key=what, fix="pass an existing column")
            for c in missing
        ]
        raise DisclosureError(f"{len(missing)} unknown column(s) for {what}", problems)


# ------------------------------------------------------------------ result tables


def _group_label(row: pd.Series, group_columns: list[str], index_label: Hashable) -> str:
    if group_columns:
        return " / ".join(str(row[c]) for c in group_columns)
    return str(index_label)


def suppress_table(
    df: pd.DataFrame,
    *,
    n_columns: str | Sequence[str] = "n",
    value_columns: Sequence[str] | None = None,
    count_columns: Sequence[str] = (),
    policy: DisclosurePolicy | None = None,
    ledger: ReleaseLedger | None = None,
    study: str = "",
    table: str = "",
    group_columns: Sequence[str] = (),
) -> pd.DataFrame:
    """Suppress every statistic resting on fewer than k distinct students.

    For tidy result tables, one row per comparison/group (e.g. the comparisons table).

    Parameters
    ----------
    df
        The table; it is not modified.
    n_columns
        Column(s) with the number of distinct students behind the row's statistics (for
        paired statistics, the number of pairs). If any is in 1..k−1 the row's
        statistics are suppressed, and so are those small n values.
    value_columns
        The statistics to suppress (means, SDs, effect sizes, CIs, p …). Defaults to
        every numeric column not in ``n_columns`` or ``group_columns``.
    count_columns
        Numerator counts whose denominator is the first n column (e.g. students
        reporting burnout). The row is also suppressed when the count or its complement
        ``n - count`` is in 1..k−1, or when the group is 0 % or 100 % (class disclosure).
    policy
        The disclosure policy (default k = 10).
    ledger, study, table
        When a ledger is given, a row whose n would difference against an earlier
        release of the same (study, table, group, statistic) is suppressed, and the
        released cells are recorded in the ledger.
    group_columns
        Columns naming the row's group for the ledger (default: the index label).

    Returns
    -------
    pandas.DataFrame
        A copy with suppressed numbers set to NaN (counts in NHS style rounded to 5) and
        a bool column ``suppressed`` (True when anything in the row was suppressed).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"scale": ["total", "sub"], "n_pairs": [40, 6],
    ...                   "mean_diff": [0.4, 1.2], "p_value": [0.01, 0.2]})
    >>> suppress_table(t, n_columns="n_pairs")
       scale  n_pairs  mean_diff  p_value  suppressed
    0  total     40.0        0.4     0.01       False
    1    sub      NaN        NaN      NaN        True
    """
    policy = policy_or_default(policy)
    n_cols = _as_list(n_columns)
    counts = list(count_columns)
    groups = list(group_columns)
    values = _value_columns(df, n_cols, counts, groups, value_columns)
    number_cols = [*n_cols, *counts, *[v for v in values if v not in n_cols + counts]]

    out = df.copy()
    for column in number_cols:
        out[column] = pd.to_numeric(out[column], errors="raise").astype("float64")
    flags = (
        out["suppressed"].fillna(False).astype(bool).to_numpy().copy()
        if "suppressed" in out.columns
        else np.zeros(len(out), dtype=bool)
    )
    if not policy.active:
        out["suppressed"] = flags
        return out

    k = policy.threshold
    arrays = {c: out[c].to_numpy(dtype="float64", copy=True) for c in number_cols}
    for i, label in enumerate(out.index):
        ns = {c: arrays[c][i] for c in n_cols}
        small_n = [c for c in n_cols if policy.is_small(ns[c])]
        row_out = bool(small_n) or _disclosive_count(policy, arrays, i, counts, ns[n_cols[0]])
        known = [v for v in ns.values() if not np.isnan(v)]
        governing_n = min(known) if known else np.nan
        group = _group_label(out.iloc[i], groups, label)
        statistics = [*n_cols, *counts, *[v for v in values if v not in n_cols + counts]]
        differenced = (
            not row_out
            and ledger is not None
            and any(
                ledger.conflicts((study, table, group, s), governing_n, k=k) for s in statistics
            )
        )
        if row_out or differenced:
            # an n that passed the threshold stays published, unless it would difference
            blank = statistics if differenced else [*values, *counts, *small_n]
            for c in blank:
                arrays[c][i] = np.nan
            flags[i] = True
        if ledger is not None:
            for s in statistics:
                if not np.isnan(arrays[s][i]):
                    ledger.record((study, table, group, s), governing_n)
    for c in number_cols:
        out[c] = arrays[c]
    if policy.round_to is not None:
        for c in [*n_cols, *counts]:
            out[c] = out[c].map(policy.round_count)
    out["suppressed"] = flags
    return out


def _value_columns(
    df: pd.DataFrame,
    n_cols: list[str],
    counts: list[str],
    groups: list[str],
    value_columns: Sequence[str] | None,
) -> list[str]:
    """Check the named columns; the statistics to suppress (by default every numeric
    column that is not an n, a count, a group or the ``suppressed`` flag)."""
    if not n_cols:
        problem = Problem("no n column given", key="n_columns", fix="name the n column(s)")
        raise DisclosureError(str(problem), (problem,))
    _check_columns(df, n_cols, "n_columns")
    _check_columns(df, counts, "count_columns")
    _check_columns(df, groups, "group_columns")
    if value_columns is None:
        excluded = {*n_cols, *counts, *groups, "suppressed"}
        return [
            c
            for c in df.columns
            if c not in excluded
            and pd.api.types.is_numeric_dtype(df[c].dtype)
            and not pd.api.types.is_bool_dtype(df[c].dtype)
        ]
    values = list(value_columns)
    _check_columns(df, values, "value_columns")
    return values


def _disclosive_count(
    policy: DisclosurePolicy,
    arrays: dict[str, np.ndarray],
    i: int,
    counts: list[str],
    denominator: float,
) -> bool:
    """Whether a count of row ``i``, or its complement ``denominator - count``, is in
    1..k−1, or the group is 0 % or 100 % (class disclosure)."""
    row_out = False
    for c in counts:
        count = arrays[c][i]
        if np.isnan(count):
            continue
        complement = denominator - count
        if (
            policy.is_small(count)
            or policy.is_small(complement)
            or (denominator > 0 and count in (0, denominator))
        ):
            row_out = True
    return row_out


# ------------------------------------------------------------------- count tables


def _secondary(values: np.ndarray, mask: np.ndarray, lines: list[list[tuple[int, int]]]) -> None:
    """Suppress next-smallest cells until every line has 0 or >= 2 suppressed cells."""
    changed = True
    while changed:
        changed = False
        for line in lines:
            hidden = [cell for cell in line if mask[cell]]
            if len(hidden) != 1:
                continue
            # the total is the last cell of a line; prefer an inner cell, smallest positive
            candidates = [cell for cell in line[:-1] if not mask[cell]]
            positive = [cell for cell in candidates if values[cell] > 0]
            pool = positive or candidates or [line[-1]]
            choice = min(pool, key=lambda cell: (values[cell], cell))
            mask[choice] = True
            changed = True


def suppress_counts(
    df: pd.DataFrame,
    *,
    count_columns: Sequence[str],
    total_column: str | None = None,
    total_row: Hashable | None = None,
    policy: DisclosurePolicy | None = None,
    ledger: ReleaseLedger | None = None,
    study: str = "",
    table: str = "",
) -> pd.DataFrame:
    """Suppress small counts in a count table, with complementary suppression.

    Rows are groups (or items), ``count_columns`` are the cells (e.g. Likert levels), an
    optional ``total_column`` holds each row's published total and an optional
    ``total_row`` (an index label) holds column totals.

    Rules, in order:

    1. primary: a count (or total) in 1..k−1 is suppressed;
    2. class disclosure: a cell equal to its row's total (a 100 % group) is suppressed;
    3. differencing: with a ledger, a cell whose count differs from an earlier release
       of the same cell by 1..k−1 is suppressed;
    4. complementary: every line with a total (each row when ``total_column`` is given,
       each column when ``total_row`` is given) ends with 0 or ≥ 2 suppressed cells,
       suppressing the next-smallest cell until nothing changes;
    5. NHS profile: published counts are rounded to 5 (totals after calculation).

    Parameters
    ----------
    df
        Count table (non-negative integers); it is not modified.
    count_columns
        The cell columns.
    total_column
        Column with row totals, if published.
    total_row
        Index label of a row of column totals, if published.
    policy
        The disclosure policy (default k = 10).
    ledger, study, table
        Optional release ledger; released cells are recorded with their counts.

    Returns
    -------
    pandas.DataFrame
        A float copy with suppressed cells set to NaN and a bool ``suppressed`` column
        (True when a cell of that row was suppressed).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"agree": [30, 3], "neutral": [12, 20], "disagree": [14, 25]},
    ...                  index=["year 1", "year 2"])
    >>> t["total"] = t.sum(axis=1)
    >>> suppress_counts(t, count_columns=["agree", "neutral", "disagree"], total_column="total")
            agree  neutral  disagree  total  suppressed
    year 1   30.0     12.0      14.0   56.0       False
    year 2    NaN      NaN      25.0   48.0        True
    """
    policy = policy_or_default(policy)
    cells = list(count_columns)
    _check_columns(df, cells, "count_columns")
    if total_column is not None:
        _check_columns(df, [total_column], "total_column")
    if total_row is not None and total_row not in df.index:
        problem = Problem(f"total row {total_row!r} not in the index", key="total_row")
        raise DisclosureError(str(problem), (problem,))
    if not df.index.is_unique:
        problem = Problem("row labels are not unique", fix="give each row a unique label")
        raise DisclosureError(str(problem), (problem,))
    columns = [*cells, *([total_column] if total_column is not None else [])]
    numbers = df[columns].apply(pd.to_numeric, errors="raise").astype("float64")
    if (numbers < 0).any().any():
        problem = Problem("negative count", fix="pass counts of students")
        raise DisclosureError(str(problem), (problem,))
    values = numbers.to_numpy(copy=True)
    mask = np.zeros(values.shape, dtype=bool)
    out = df.copy()
    if not policy.active:
        out[columns] = numbers
        out["suppressed"] = False
        return out

    k = policy.threshold
    n_rows, n_cells = len(out), len(cells)
    row_labels = list(out.index)
    t_col = n_cells if total_column is not None else None
    t_row = row_labels.index(total_row) if total_row is not None else None
    for r in range(n_rows):
        for c in range(len(columns)):
            v = values[r, c]
            if policy.is_small(v):
                mask[r, c] = True
            elif t_col is not None and c < n_cells and v > 0 and v == values[r, t_col]:
                mask[r, c] = True  # a 100 % group: everyone in the row gave this answer
            elif ledger is not None and ledger.conflicts(
                (study, table, str(row_labels[r]), columns[c]), v, k=k
            ):
                mask[r, c] = True
    lines: list[list[tuple[int, int]]] = []
    if t_col is not None:
        lines += [[(r, c) for c in range(n_cells)] + [(r, t_col)] for r in range(n_rows)]
    if t_row is not None:
        inner = [r for r in range(n_rows) if r != t_row]
        lines += [[(r, c) for r in inner] + [(t_row, c)] for c in range(len(columns))]
    _secondary(values, mask, lines)

    published = np.where(mask, np.nan, values)
    if policy.round_to is not None:
        published = np.vectorize(policy.round_count, otypes=[float])(published)
    out[columns] = published
    out["suppressed"] = np.asarray(mask.any(axis=1), dtype=bool).tolist()
    if ledger is not None:
        for r in range(n_rows):
            for c in range(len(columns)):
                if not mask[r, c]:
                    ledger.record((study, table, str(row_labels[r]), columns[c]), values[r, c])
    return out
