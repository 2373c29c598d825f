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

import json
import math
import os
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

import numpy as np
import pandas as pd

from mentoreval.errors import DisclosureError, Problem

__all__ = [
    "DisclosurePolicy",
    "Profile",
    "ReleaseLedger",
    "blank_derivable",
    "check_no_derivable",
    "check_rounded_lines",
    "format_cell",
    "format_table",
    "suppress_counts",
    "suppress_table",
]

Profile = Literal["default", "nhs", "off"]
CellKind = Literal["number", "count", "percent", "p"]

_PROFILE_K: dict[str, int] = {"default": 10, "nhs": 8, "off": 0}
_PROFILE_ROUND: dict[str, int | None] = {"default": None, "nhs": 5, "off": None}
_OFF_WARNING = (
    "DISCLOSURE CONTROL IS OFF: small cells, 0%/100% groups and exact counts are shown. "
    "This report is for internal use only and must not be shared outside the team."
)


@dataclass(frozen=True)
class DisclosurePolicy:
    """How small cells are protected.

    Parameters
    ----------
    profile
        ``"default"`` (k = 10), ``"nhs"`` (suppress 1–7, round other counts to 5, means
        need n ≥ 8) or ``"off"`` (nothing suppressed; loudly reported).
    k
        Minimum number of distinct students behind any published number. Defaults to
        the profile's value; must be at least 2 unless the profile is ``"off"``.
    round_to
        Round published counts to this base (NHS: 5). Defaults to the profile's value.

    Examples
    --------
    >>> DisclosurePolicy().k, DisclosurePolicy().label
    (10, '< 10')
    >>> p = DisclosurePolicy(profile="nhs")
    >>> p.k, p.round_to, p.round_count(12), p.round_count(0)
    (8, 5, 10.0, 0.0)
    >>> DisclosurePolicy(profile="off").warning.startswith("DISCLOSURE CONTROL IS OFF")
    True
    >>> DisclosurePolicy(profile="hesa")
    Traceback (most recent call last):
    ...
    mentoreval.errors.DisclosureError: unknown disclosure profile 'hesa' (fix: use one of 'default', 'nhs', 'off')
    """

    profile: Profile = "default"
    k: int | None = None
    round_to: int | None = None

    def __post_init__(self) -> None:
        if self.profile not in _PROFILE_K:
            choices = ", ".join(repr(c) for c in get_args(Profile))
            problem = Problem(
                f"unknown disclosure profile {self.profile!r}", fix=f"use one of {choices}"
            )
            raise DisclosureError(str(problem), (problem,))
        if self.k is None:
            object.__setattr__(self, "k", _PROFILE_K[self.profile])
        if self.round_to is None:
            object.__setattr__(self, "round_to", _PROFILE_ROUND[self.profile])
        k = self.k
        if isinstance(k, bool) or not isinstance(k, int | np.integer):
            problem = Problem(f"threshold k={k!r} is not an integer", key="disclosure.k")
            raise DisclosureError(str(problem), (problem,))
        if self.profile != "off" and k < 2:
            problem = Problem(
                f"threshold k={k} would publish single students",
                key="disclosure.k",
                fix="use k >= 2, or profile 'off' for internal use",
            )
            raise DisclosureError(str(problem), (problem,))
        if self.round_to is not None and self.round_to < 1:
            problem = Problem(f"round_to={self.round_to} must be >= 1", key="disclosure")
            raise DisclosureError(str(problem), (problem,))

    @property
    def threshold(self) -> int:
        """The threshold k as an ``int`` (0 when the profile is ``"off"``)."""
        return 0 if self.k is None else int(self.k)

    @property
    def active(self) -> bool:
        """Whether anything is suppressed at all."""
        return self.profile != "off"

    @property
    def label(self) -> str:
        """How a suppressed cell is shown, e.g. ``"< 10"``."""
        return f"< {self.threshold}"

    @property
    def warning(self) -> str | None:
        """The message a report must show when disclosure control is off, else ``None``."""
        return _OFF_WARNING if not self.active else None

    def is_small(self, n: float) -> bool:
        """Whether a count or an n lies in ``1 .. k-1`` (NaN is not small).

        Examples
        --------
        >>> p = DisclosurePolicy()
        >>> p.is_small(0), p.is_small(3), p.is_small(10)
        (False, True, False)
        """
        if not self.active or n is None or pd.isna(n):
            return False
        return 1 <= float(n) < self.threshold

    def round_count(self, n: float) -> float:
        """Round a published count to :attr:`round_to` (halves up); others unchanged."""
        if self.round_to is None or pd.isna(n):
            return n
        base = self.round_to
        return float(base * math.floor(float(n) / base + 0.5))


def _policy_or_default(policy: DisclosurePolicy | None) -> DisclosurePolicy:
    return DisclosurePolicy() if policy is None else policy


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


# --------------------------------------------------------------------------- ledger


LedgerKey = tuple[str, str, str, str]


@dataclass
class ReleaseLedger:
    """Aggregates released so far, to block differencing across reruns.

    Each entry is a key ``(study, table, group, statistic)`` and the n it was released
    with. A new release of the same cell whose n differs from a previously released n
    by 1 to k−1 would reveal those few students (52 in March, 50 in June) and is
    suppressed instead.

    Examples
    --------
    >>> ledger = ReleaseLedger()
    >>> ledger.record(("s", "comparisons", "total", "mean_diff"), 52)
    >>> ledger.conflicts(("s", "comparisons", "total", "mean_diff"), 50, k=10)
    True
    >>> ledger.conflicts(("s", "comparisons", "total", "mean_diff"), 52, k=10)
    False
    >>> ledger.conflicts(("s", "comparisons", "total", "mean_diff"), 70, k=10)
    False
    """

    entries: dict[LedgerKey, set[int]] = field(default_factory=dict)

    def record(self, key: LedgerKey, n: float) -> None:
        """Remember that ``key`` was released with ``n`` students."""
        if n is None or pd.isna(n):
            return
        self.entries.setdefault(tuple(str(part) for part in key), set()).add(int(n))  # type: ignore[arg-type]

    def conflicts(self, key: LedgerKey, n: float, *, k: int) -> bool:
        """Whether releasing ``key`` with ``n`` would difference against an earlier n."""
        if n is None or pd.isna(n) or k < 2:
            return False
        previous = self.entries.get(tuple(str(part) for part in key), set())  # type: ignore[arg-type]
        return any(1 <= abs(int(n) - old) <= k - 1 for old in previous)

    def to_frame(self) -> pd.DataFrame:
        """The ledger as a tidy table: study · table · group · statistic · n."""
        rows = [(*key, n) for key, ns in sorted(self.entries.items()) for n in sorted(ns)]
        return pd.DataFrame(rows, columns=["study", "table", "group", "statistic", "n"]).astype(
            {"n": "int64"}
        )

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Save as ``.json`` (list of records) or ``.parquet``, chosen by the suffix."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        frame = self.to_frame()
        if target.suffix == ".parquet":
            frame.to_parquet(target, index=False)
        elif target.suffix == ".json":
            records = [
                {**{k: str(v) for k, v in r.items() if k != "n"}, "n": int(r["n"])}
                for r in frame.to_dict(orient="records")
            ]
            target.write_text(json.dumps(records, indent=1) + "\n", encoding="utf-8")
        else:
            raise DisclosureError(
                f"cannot save a ledger as {target.suffix!r}",
                (Problem("unsupported suffix", file=str(target), fix="use .json or .parquet"),),
            )
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ReleaseLedger:
        """Load a ledger saved by :meth:`save`; a missing file gives an empty ledger."""
        source = Path(path)
        if not source.exists():
            return cls()
        if source.suffix == ".parquet":
            frame = pd.read_parquet(source)
        else:
            try:
                frame = pd.DataFrame(
                    json.loads(source.read_text(encoding="utf-8")),
                    columns=["study", "table", "group", "statistic", "n"],
                )
            except (json.JSONDecodeError, ValueError, TypeError) as exc:
                raise DisclosureError(
                    "the release ledger is not valid JSON",
                    (Problem(str(exc), file=str(source), fix="restore it from a backup"),),
                ) from exc
        ledger = cls()
        for row in frame.itertuples(index=False):
            ledger.record((row.study, row.table, row.group, row.statistic), row.n)  # type: ignore[arg-type]
        return ledger


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
    policy = _policy_or_default(policy)
    n_cols = _as_list(n_columns)
    counts = list(count_columns)
    groups = list(group_columns)
    if not n_cols:
        problem = Problem("no n column given", key="n_columns", fix="name the n column(s)")
        raise DisclosureError(str(problem), (problem,))
    _check_columns(df, n_cols, "n_columns")
    _check_columns(df, counts, "count_columns")
    _check_columns(df, groups, "group_columns")
    if value_columns is None:
        excluded = {*n_cols, *counts, *groups, "suppressed"}
        values = [
            c
            for c in df.columns
            if c not in excluded
            and pd.api.types.is_numeric_dtype(df[c].dtype)
            and not pd.api.types.is_bool_dtype(df[c].dtype)
        ]
    else:
        values = list(value_columns)
        _check_columns(df, values, "value_columns")
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
        row_out = bool(small_n)
        denominator = ns[n_cols[0]]
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
    policy = _policy_or_default(policy)
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


# --------------------------------------------------------------------- formatting


def format_cell(
    value: float | None,
    *,
    suppressed: bool = False,
    kind: CellKind = "number",
    decimals: int = 2,
    policy: DisclosurePolicy | None = None,
) -> str:
    """Format one published number; a suppressed cell becomes ``"< k"``.

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
        Supplies the label (default ``"< 10"``).

    Examples
    --------
    >>> format_cell(float("nan"), suppressed=True)
    '< 10'
    >>> format_cell(0.0004, kind="p"), format_cell(12.0, kind="count")
    ('< 0.001', '12')
    >>> format_cell(-0.4567), format_cell(None), format_cell(41.25, kind="percent")
    ('-0.46', '–', '41.2%')
    >>> format_cell(-0.001), format_cell(-0.04, kind="percent")
    ('0.00', '0.0%')
    """
    policy = _policy_or_default(policy)
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
    """Format a suppressed table for display: strings, ``"< k"`` where suppressed.

    Columns named ``n`` / ``n_*`` are counts and ``p_*`` / ``*_p`` are p-values unless
    ``kinds`` says otherwise; the ``suppressed`` column is dropped.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"scale": ["a", "b"], "n_pairs": [40.0, float("nan")],
    ...                   "d_z": [0.41, float("nan")], "suppressed": [False, True]})
    >>> format_table(t)
      scale n_pairs   d_z
    0     a      40  0.41
    1     b    < 10  < 10
    """
    policy = _policy_or_default(policy)
    kinds = dict(kinds or {})
    flags = (
        df["suppressed"].fillna(False).astype(bool)
        if "suppressed" in df.columns
        else pd.Series(False, index=df.index)
    )
    out = pd.DataFrame(index=df.index)
    for column in df.columns:
        if column == "suppressed":
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


# ------------------------------------------------------------- derived statistics


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
