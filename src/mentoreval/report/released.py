"""One release decision for a whole report, written back into the tables that show it.

Report stage (what may be released), shared by the cohort and the annual report. A report's
tables are built in full (nothing hidden); each count a table shows is registered once in a
:class:`~mentoreval.disclose.release.ReleaseRegistry` under a key naming *what* is counted,
with the cells that show it (:class:`ReleasedCells`). The registry decides and audits the
suppressions once, and :func:`write_release` shows that one decision everywhere: counts
hidden for any reason are blanked wherever they appear, numbers that give a count back
(percentages, ``df``) follow them, and statistics are withheld only where their own group is
small (or differs from an earlier release by a few students).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mentoreval.config.disclosure import DisclosurePolicy
from mentoreval.disclose.derived import protect_derived
from mentoreval.disclose.formatting import HIDDEN_COUNTS
from mentoreval.disclose.ledger import ReleaseLedger
from mentoreval.disclose.release import FOOTNOTE, PRIMARY_REASONS, Decision, ReleaseRegistry

__all__ = ["Dependents", "ReleasedCells", "hidden_notice", "rows_of", "write_release"]

#: By table: (counts in the row, numbers resting on them).
Dependents = Mapping[str, list[tuple[list[str], list[str]]]]


@dataclass
class ReleasedCells:
    """The registry of one report and where each of its counts is shown.

    Attributes
    ----------
    registry
        The counts, their relations and (after :meth:`decide`) the decision.
    study
        The ledger's study name of the report's counts (``programme/cohort/year`` for a
        cohort report); a count may name another (the annual report's per-cohort counts).
    cells
        ``(table, row, column) → key`` for every table cell that shows a count.
    default_table
        The ledger's table name of counts registered without one.

    Examples
    --------
    >>> reg = ReleasedCells(ReleaseRegistry("report"), "p/c/2025")
    >>> total = reg.count("all", 70, at=[("groups", 0, "n")])
    >>> parts = [reg.count("a", 62, at=[("groups", 1, "n")]), reg.count("b", 8, at=[("groups", 2, "n")])]
    >>> reg.total(total, parts)
    >>> decision = reg.decide(DisclosurePolicy(), None)
    >>> sorted(decision.hidden)
    ['a', 'b']
    """

    registry: ReleaseRegistry
    study: str
    cells: dict[tuple[str, int, str], str] = field(default_factory=dict)
    #: the ledger's table name of counts registered without one
    default_table: str = "cohort.release"
    #: cells that show a number resting on their count (a level's share, whose head-count
    #: is the count): hidden with it, never overwritten by the (rounded) count
    resting: set[tuple[str, int, str]] = field(default_factory=set)

    def count(
        self,
        key: str,
        value: object,
        *,
        at: Iterable[tuple[str, int, str]] = (),
        ledger: tuple[str, str, str] | None = None,
        study: str | None = None,
        published: bool = True,
        sensitive: bool = True,
        keep: bool = False,
    ) -> str | None:
        """Register ``value`` under ``key`` (a new key when ``key`` holds another value)
        and remember the cells that show it. NaN (not applicable) registers nothing;
        ``sensitive=False`` for counts that are not of students with an attribute (export
        rows set aside as previews or tests): they take part in relations, but are not
        small cells themselves; ``keep`` for an outcome's n, hidden as a complement only
        when nothing else will do; ``study`` names the ledger's study when it is not the
        report's own."""
        if value is None or pd.isna(value):  # type: ignore[call-overload]  # pandas-stubs: a scalar
            return None
        number = float(value)  # type: ignore[arg-type]  # a table cell: float or int
        old = self.registry.counts.get(key)
        if old is not None and old.value != int(number):
            key = f"{key}@{len(self.registry.counts)}"
        table, group, statistic = ledger or (self.default_table, key, "n")
        self.registry.add_count(
            key,
            number,
            published=published,
            sensitive=sensitive,
            ledger_key=None if old is not None else (study or self.study, table, group, statistic),
            keep=keep,
        )
        for cell in at:
            self.cells[cell] = key
        return key

    def total(
        self, total: str | None, parts: Iterable[str | None], *, attribute: bool = False
    ) -> None:
        """``total = sum(parts)``, registered only when the numbers agree (a relation that
        does not hold is no relation a reader can use)."""
        keys = [p for p in parts if p is not None]
        if total is None or not keys or total in keys or len(set(keys)) != len(keys):
            return
        counts = self.registry.counts
        if counts[total].value == sum(counts[p].value for p in keys):
            self.registry.add_sum(total, keys, attribute=attribute)

    def share(self, part: str | None, whole: str | None, *, attribute: bool = False) -> None:
        """``part`` of ``whole`` with an unpublished rest (59 of 60 hides the 1)."""
        if part is None or whole is None or part == whole:
            return
        counts = self.registry.counts
        if counts[part].value <= counts[whole].value:
            self.registry.add_share(part, whole, rest=f"{part}~of~{whole}", attribute=attribute)

    def decide(self, policy: DisclosurePolicy, ledger: ReleaseLedger | None) -> Decision:
        """Decide once; refuse publication when the audit finds a recoverable cell."""
        decision = self.registry.decide(policy, ledger=ledger)
        decision.audit.raise_if_failed()
        return decision

    def tables_with(self, reasons: Iterable[str]) -> set[str]:
        """The tables showing a count hidden for one of ``reasons``."""
        wanted = set(reasons)
        hidden = {k for k, r in self.registry.decision.hidden.items() if r in wanted}
        return {table for (table, _, _), key in self.cells.items() if key in hidden}


def rows_of(frame: pd.DataFrame | None) -> Iterable[tuple[int, pd.Series]]:
    """``(row number, row)`` of a table with a RangeIndex; nothing for None or empty."""
    if frame is None or frame.empty:
        return ()
    return ((int(i), r) for i, r in frame.iterrows())  # type: ignore[call-overload]  # a RangeIndex


def _mask(
    tables: Mapping[str, pd.DataFrame], reg: ReleasedCells, hidden: Iterable[str]
) -> dict[str, pd.DataFrame]:
    """Copies of the tables with every cell of a ``hidden`` key set to NaN and flagged."""
    gone = set(hidden)
    out = {name: frame.copy() for name, frame in tables.items()}
    for (table, row, column), key in reg.cells.items():
        if key not in gone or table not in out:
            continue
        frame = out[table]
        frame[column] = frame[column].astype(float)
        frame.loc[row, column] = np.nan
        if "suppressed" not in frame.columns:
            frame["suppressed"] = False
        frame.loc[row, "suppressed"] = True
    return out


def write_release(
    tables: Mapping[str, pd.DataFrame],
    reg: ReleasedCells,
    *,
    statistics: Dependents,
    revealing: Dependents,
) -> dict[str, pd.DataFrame]:
    """Write the registry's decision into every table.

    Counts hidden for any reason are blanked (NaN) wherever they are shown; ``revealing``
    numbers (that give a count back) follow them; ``statistics`` are withheld only with a
    primary suppression (a small group, or one that differs from an earlier release). A
    row whose statistics are withheld is flagged ``suppressed``; a row that keeps its
    statistics although a count in it is hidden (to protect another cell) is flagged
    ``counts_hidden`` instead.

    Examples
    --------
    >>> reg = ReleasedCells(ReleaseRegistry("report"), "s")
    >>> t = pd.DataFrame({"level": ["all", "a", "b"], "n": [70, 62, 8], "mean": [3.0, 3.1, 2.0]})
    >>> keys = [reg.count(f"g.{lv}", n, at=[("groups", i, "n")]) for i, (lv, n) in enumerate(zip(t["level"], t["n"]))]
    >>> reg.total(keys[0], keys[1:])
    >>> _ = reg.decide(DisclosurePolicy(), None)
    >>> out = write_release({"groups": t}, reg, statistics={"groups": [(["n"], ["mean"])]}, revealing={})
    >>> out["groups"][["n", "mean", "suppressed", "counts_hidden"]]
          n  mean  suppressed  counts_hidden
    0  70.0   3.0       False          False
    1   NaN   3.1       False           True
    2   NaN   NaN        True          False
    """
    decision = reg.registry.decision
    primary = [k for k, r in decision.hidden.items() if r in PRIMARY_REASONS and r != "unpublished"]
    stats = protect_derived(_mask(tables, reg, primary), statistics)
    hidden_all = _mask(stats, reg, decision.hidden)
    for (table, row, column), key in reg.cells.items():  # rounded where the profile asks
        if (
            table in hidden_all
            and key not in decision.hidden
            and (table, row, column) not in reg.resting
        ):
            hidden_all[table].loc[row, column] = reg.registry.value(key)
    out = protect_derived(hidden_all, revealing)
    for name, frame in out.items():  # ``suppressed``: the row's statistics are withheld
        if "suppressed" not in frame.columns:
            continue
        before = stats[name].get("suppressed", False)
        withheld = pd.Series(before, index=frame.index).fillna(False).astype(bool)
        hidden = frame["suppressed"].fillna(False).astype(bool)
        if (hidden & ~withheld).any():
            frame[HIDDEN_COUNTS] = hidden & ~withheld
            frame["suppressed"] = withheld
    return out


def hidden_notice(reg: ReleasedCells, policy: DisclosurePolicy, *, unit: str) -> str | None:
    """The report's one sentence on hidden counts (with the audit's verdict), or None when
    nothing shown is hidden; ``unit`` names what a row's statistics belong to ("group",
    "cohort").

    Examples
    --------
    >>> reg = ReleasedCells(ReleaseRegistry("report"), "s")
    >>> _ = reg.count("n", 4, at=[("t", 0, "n")])
    >>> _ = reg.decide(DisclosurePolicy(), None)
    >>> print(hidden_notice(reg, DisclosurePolicy(), unit="group"))  # doctest: +ELLIPSIS
    [c] not shown, to protect small groups: counts of fewer than 10 students are not shown, ...
    """
    decision = reg.registry.decision
    shown = {k for k, r in decision.hidden.items() if r != "unpublished"}
    if not shown & set(reg.cells.values()):
        return None
    text = (
        f"{FOOTNOTE}: counts of fewer than {policy.threshold} students are not shown, and "
        "where one could be worked out from the numbers around it (a total minus the other "
        f"rows), one or more larger counts are not shown either. Statistics of a {unit} are "
        f"shown when it has at least {policy.threshold} students, even when its count is not."
    )
    if decision.audit.sentence:
        text += " " + decision.audit.sentence
    return text
