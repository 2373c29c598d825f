"""The attacker's linear system over one or more releases, and the choice of the next
complement to hide (stage: protect).

:func:`build_system` writes down what the releases publish, as an attacker holding the
reports would (see :mod:`mentoreval.disclose.audit`): one variable per count (known when
shown, an interval when counts are rounded), one equation per registered relation, and
links between the same cell in several releases (equal, or differing by an unknown number
who came or went). :class:`LinearSystem` also picks complements: the greedy pass
(:meth:`~LinearSystem.propagation_pick`: a primary cell that is the only unknown of a
relation) and, after an audit failure, :meth:`~LinearSystem.lp_pick`.
:meth:`~LinearSystem.audit` solves it (:mod:`mentoreval.disclose.ranges`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from mentoreval.config.disclosure import DisclosurePolicy
from mentoreval.disclose.highs import ComponentLP
from mentoreval.disclose.ledger import ReleaseLedger
from mentoreval.disclose.ranges import Component, Memo, free_system, solve_cell_once
from mentoreval.disclose.reasons import PRIMARY_REASONS, LedgerKey, Reason
from mentoreval.disclose.verdict import AuditResult, CellRange, is_disclosed

if TYPE_CHECKING:  # release imports this module (through decide) to audit its decisions
    from mentoreval.disclose.release import ReleaseRegistry

__all__ = ["LinearSystem", "SystemBuilder", "build_system"]


class LinearSystem:
    """The attacker's linear system over one or more releases (see the module docstring).

    Build it with :func:`build_system`; :meth:`audit` solves it.
    """

    def __init__(self, policy: DisclosurePolicy) -> None:
        self.policy = policy
        self.names: list[str] = []
        self.releases: list[str] = []
        self.keys: list[str] = []
        self.reasons: list[str] = []
        self._values: list[float] = []
        self._low: list[float] = []
        self._high: list[float] = []
        self._protected: list[bool] = []
        self._editable: list[bool] = []
        self._keep: list[bool] = []
        self._hidden: list[bool] = []
        self._row_ids: list[int] = []
        self._var_ids: list[int] = []
        self._coefs: list[float] = []
        self.constants: list[float] = []
        self.row_names: list[str] = []
        self.row_totals: list[int] = []
        self._binding: dict[int, tuple[list[int], list[int]]] = {}

    # --------------------------------------------------------------- building

    def add_var(
        self,
        name: str,
        *,
        release: str,
        key: str,
        value: float,
        shown: bool,
        reason: str = "",
        protected: bool = False,
        editable: bool = False,
        keep: bool = False,
    ) -> int:
        """Add a cell; a shown one is known (an interval when counts are rounded); a
        ``keep`` cell is hidden as a complement only when no other cell will do."""
        low, high = self._interval(value, shown)
        self.names.append(name)
        self.releases.append(release)
        self.keys.append(key)
        self.reasons.append(reason)
        self._values.append(float(value))
        self._low.append(low)
        self._high.append(high)
        self._protected.append(protected)
        self._editable.append(editable and shown)
        self._keep.append(keep)
        self._hidden.append(not shown)
        return len(self.names) - 1

    def _interval(self, value: float, shown: bool) -> tuple[float, float]:
        """What an attacker knows of a cell: its value (an interval when counts are
        rounded) when shown, else only that it is not negative."""
        base = self.policy.round_to
        if shown and base is not None and base > 1 and value != 0:
            rounded = self.policy.round_count(value)
            return max(rounded - base / 2, 0.0), rounded + base / 2
        if shown:
            return float(value), float(value)
        return 0.0, math.inf

    def _set_var(
        self, index: int, *, shown: bool, reason: str, protected: bool, editable: bool
    ) -> None:
        """Change what is shown of cell ``index`` (as :meth:`add_var` would have set it)."""
        self._low[index], self._high[index] = self._interval(self._values[index], shown)
        self.reasons[index] = reason
        self._protected[index] = protected
        self._editable[index] = editable and shown
        self._hidden[index] = not shown

    def _copy(self) -> LinearSystem:
        """A copy whose cells can be changed with :meth:`_set_var`; the relations (never
        changed once built) are shared."""
        new = LinearSystem.__new__(LinearSystem)
        new.__dict__.update(self.__dict__)
        for name in ("reasons", "_low", "_high", "_protected", "_editable", "_hidden"):
            setattr(new, name, list(getattr(self, name)))
        new._binding = {}
        return new

    def add_row(
        self, terms: Mapping[int, float], constant: float, name: str, total: int = -1
    ) -> None:
        """Add ``sum(coef * var) == constant``."""
        row = len(self.row_names)
        for var, coef in terms.items():
            self._row_ids.append(row)
            self._var_ids.append(var)
            self._coefs.append(float(coef))
        self.constants.append(float(constant))
        self.row_names.append(name)
        self.row_totals.append(total)

    def _arrays(self) -> tuple[np.ndarray, ...]:
        return (
            np.asarray(self._row_ids, dtype=np.int64),
            np.asarray(self._var_ids, dtype=np.int64),
            np.asarray(self._coefs, dtype=float),
        )

    def _matrix(self) -> sp.csr_array:
        rows, cols, coefs = self._arrays()
        shape = (len(self.row_names), len(self.names))
        return sp.csr_array((coefs, (rows, cols)), shape=shape)

    # --------------------------------------------------------------- choosing

    def _choose(
        self,
        candidates: Sequence[int],
        total: int = -1,
        *,
        row: int = -1,
        unknown: np.ndarray | None = None,
        matrix: sp.csr_array | None = None,
        by_var: sp.csr_array | None = None,
    ) -> int:
        """The next-smallest positive inner cell; among those, one whose other relations
        already hold an unknown (hiding it then exposes no new single unknown)."""
        values = self._values
        candidates = [m for m in candidates if not self._keep[m]] or list(candidates)
        parts = [m for m in candidates if m != total]
        pool = [m for m in parts if values[m] > 0] or parts or list(candidates)

        def exposes(m: int) -> int:
            if unknown is None or matrix is None or by_var is None:
                return 0
            count = 0
            for r in by_var.indices[by_var.indptr[m] : by_var.indptr[m + 1]]:
                if r == row:
                    continue
                members = matrix.indices[matrix.indptr[r] : matrix.indptr[r + 1]]
                count += not any(unknown[o] for o in members if o != m)
            return count

        return min(pool, key=lambda m: (exposes(m), values[m], self.names[m]))

    def propagation_pick(self) -> tuple[str | None, str] | None:
        """The greedy pass: a hidden primary cell that is the only unknown of a relation
        (after solving every such relation in turn) → the next-smallest shown cell of this
        release to hide with it, or ``(None, cell)`` when none can be hidden; ``None`` when
        no primary cell is recoverable by elimination."""
        if not self.row_names:
            return None
        matrix = self._matrix()
        by_var = matrix.T.tocsr()
        low = np.asarray(self._low)
        unknown = low != np.asarray(self._high)
        pattern = matrix.copy()
        pattern.data = np.ones_like(pattern.data)
        counts = np.asarray(pattern @ unknown.astype(float)).round().astype(np.int64)
        stack = list(np.flatnonzero(counts == 1)[::-1])
        derived_by: dict[int, int] = {}
        while stack:
            row = int(stack.pop())
            if counts[row] != 1:
                continue
            members = matrix.indices[matrix.indptr[row] : matrix.indptr[row + 1]]
            free = [int(m) for m in members if unknown[m]]
            if len(free) != 1:
                continue
            var = free[0]
            unknown[var] = False
            derived_by[var] = row
            if self._protected[var]:
                pick = self._cut(var, derived_by, matrix, {var}, unknown, by_var)
                return (None if pick is None else self.keys[pick]), self.names[var]
            for other in by_var.indices[by_var.indptr[var] : by_var.indptr[var + 1]]:
                counts[other] -= 1
                if counts[other] == 1:
                    stack.append(int(other))
        return None

    def _cut(
        self,
        var: int,
        derived_by: Mapping[int, int],
        matrix: sp.csr_array,
        seen: set[int],
        unknown: np.ndarray,
        by_var: sp.csr_array,
    ) -> int | None:
        row = derived_by[var]
        members = [
            int(m)
            for m in matrix.indices[matrix.indptr[row] : matrix.indptr[row + 1]]
            if int(m) != var
        ]
        total = self.row_totals[row]
        # inner cells first (shown, else one a hidden inner cell was worked out from),
        # the total last: a flow keeps its headline numbers where it can
        # a headline count (keep) only when neither another inner cell nor the total will do
        inner = [m for m in members if m != total]
        groups = [
            [m for m in inner if not self._keep[m]],
            [m for m in members if m == total and not self._keep[m]],
            [m for m in inner if self._keep[m]],
            [m for m in members if m == total and self._keep[m]],
        ]
        for group in groups:
            candidates = [m for m in group if self._editable[m]]
            if candidates:
                return self._choose(
                    candidates, total, row=row, unknown=unknown, matrix=matrix, by_var=by_var
                )
            for member in sorted(group, key=lambda m: (self._values[m], self.names[m])):
                if member in derived_by and member not in seen:
                    seen.add(member)
                    pick = self._cut(member, derived_by, matrix, seen, unknown, by_var)
                    if pick is not None:
                        return pick
        return None

    def lp_pick(self, failure: CellRange) -> str | None:
        """A shown cell of this release to hide so ``failure`` gets a wider range: the
        smallest in the relations that bound it, else anywhere around it."""
        var = self.names.index(failure.name)
        binding, around = self._binding.get(var, ([], []))
        matrix = self._matrix()
        for rows in (binding, around):
            pool = sorted(
                {
                    int(m)
                    for r in rows
                    for m in matrix.indices[matrix.indptr[r] : matrix.indptr[r + 1]]
                    if self._editable[m]
                }
            )
            if pool:
                return self.keys[self._choose(pool)]
        return None

    # --------------------------------------------------------------- solving

    def audit(
        self,
        *,
        only_protected: bool = False,
        memo: Memo | None = None,
        first_failure: bool = False,
    ) -> AuditResult:
        """Feasible range of every hidden cell (``only_protected``: of primary cells only).

        ``memo`` carries LP results between systems of the same releases (as while
        :meth:`~mentoreval.disclose.release.ReleaseRegistry.decide` hides one more cell
        at a time): a cell whose component has the same hidden cells is not solved again.
        ``first_failure`` stops at the first disclosed cell: ``passed`` and
        ``failures[0]`` are as for the whole audit, and the cells after it are not solved
        (what the search for the next complement needs, at a fraction of the LPs).
        """
        start = time.perf_counter()
        k = self.policy.threshold
        n_vars = len(self.names)
        low = np.asarray(self._low, dtype=float)
        high = np.asarray(self._high, dtype=float)
        protected = np.asarray(self._protected, dtype=bool)
        hidden = np.asarray(self._hidden, dtype=bool)
        checked = hidden & (
            protected
            if only_protected
            else (protected | (np.asarray(self.reasons, dtype=object) == "complementary"))
        )
        if not self.policy.active or not checked.any():
            return AuditResult(k, self.policy.active, (), n_vars, len(self.row_names), 0, 0.0)
        n_rows = len(self.row_names)
        rows, cols, coefs = self._arrays()
        free = free_system(rows, cols, coefs, self.constants, low, high, n_rows)
        cache: dict[int, Component] = {}
        models: dict[int, ComponentLP] = {}
        members: dict[int, frozenset[str]] = {}
        ranges = []
        n_lps = 0
        for index in np.flatnonzero(checked):
            var = int(index)
            comp = int(free.label[free.col_of[var]])
            if comp not in cache:
                cache[comp] = free.component(comp)
                members[comp] = frozenset(self.names[free.free_vars[c]] for c in cache[comp][0])
                models[comp] = ComponentLP(cache[comp])
            is_protected = bool(protected[var])
            lo, hi, bound_rows, solved = solve_cell_once(
                memo,
                members[comp],
                self.names[var],
                free.col_of[var],
                cache[comp],
                lp=models[comp],
                explain=partial(_reported, protected=is_protected, k=k),
            )
            n_lps += solved
            binding = sorted(bound_rows)
            self._binding[var] = (binding, [int(r) for r in cache[comp][1]])
            ranges.append(
                CellRange(
                    name=self.names[var],
                    release=self.releases[var],
                    key=self.keys[var],
                    reason=self.reasons[var],
                    low=float(lo),
                    high=float(hi),
                    protected=bool(protected[var]),
                    disclosed=bool(protected[var]) and is_disclosed(lo, hi, k),
                    relations=tuple(self.row_names[r] for r in binding),
                )
            )
            if first_failure and ranges[-1].disclosed:
                break
        return AuditResult(
            k,
            True,
            tuple(ranges),
            n_vars,
            n_rows,
            n_lps,
            time.perf_counter() - start,
        )


def _reported(low: float, high: float, *, protected: bool, k: int) -> bool:
    """Whether a cell's range will be reported with the relations that bind it (a
    disclosed primary cell, named by the refusal and by the next complement's choice)."""
    return protected and is_disclosed(low, high, k)


def build_system(
    releases: Sequence[tuple[ReleaseRegistry, Mapping[str, Reason]]],
    *,
    policy: DisclosurePolicy,
    ledger: ReleaseLedger | None = None,
    current: int | None = None,
) -> LinearSystem:
    """The attacker's system for releases (registry, hidden counts → reason).

    ``current``: index of the release being decided, whose shown cells may still be hidden.
    """
    system = LinearSystem(policy)
    several = len(releases) > 1
    by_ledger: dict[LedgerKey, list[int]] = {}
    for i, (registry, hidden) in enumerate(releases):
        _add_release(
            system, registry, hidden, several=several, editable=i == current, by_ledger=by_ledger
        )
    for lkey, members in by_ledger.items():
        _link_releases(system, lkey, members)
        if ledger is not None:
            _link_ledger(system, lkey, members, sorted(ledger.entries.get(lkey, ())))
    return system


def _add_release(
    system: LinearSystem,
    registry: ReleaseRegistry,
    hidden: Mapping[str, Reason],
    *,
    several: bool,
    editable: bool,
    by_ledger: dict[LedgerKey, list[int]],
) -> None:
    """One release's counts (as variables) and relations (as rows); its variables with a
    ledger key are added to ``by_ledger``."""
    policy = system.policy
    index: dict[str, int] = {}
    for key, count in registry.counts.items():
        index[key] = system.add_var(
            f"{registry.name}: {key}" if several else key,
            release=registry.name,
            key=key,
            value=count.value,
            editable=editable,
            keep=count.keep,
            **_cell_state(count, hidden.get(key), policy),
        )
        if count.ledger_key is not None:
            by_ledger.setdefault(count.ledger_key, []).append(index[key])
    for relation in registry.relations:
        name = f"{registry.name}: {relation.name}" if several else relation.name
        system.add_row(
            {index[k]: c for k, c in relation.terms},
            relation.constant,
            name,
            index[relation.total] if relation.total is not None else -1,
        )


def _cell_state(count: Any, reason: Reason | None, policy: DisclosurePolicy) -> dict[str, Any]:
    """How a count of a release enters the system, given why it is hidden (``None``:
    not hidden): ``shown``, ``reason`` and ``protected``."""
    why = reason or ""
    protected = why in PRIMARY_REASONS or (
        why == "unpublished" and count.sensitive and policy.is_small(count.value)
    )
    return {
        "shown": count.published and reason is None,
        "reason": "small" if why == "unpublished" and protected else why,
        "protected": protected and policy.active,
    }


class SystemBuilder:
    """:func:`build_system` for the many trials of one decision, where only the hidden
    counts of the release being decided change: the system is built once, and each trial
    is a copy with those cells changed (issue 18: a decision of the demo cohort built its
    system 158 times, 640 cells each).

    :meth:`build` gives the same system as :func:`build_system` with the current release
    hiding ``hidden`` (a test compares them field by field).
    """

    def __init__(
        self,
        releases: Sequence[tuple[ReleaseRegistry, Mapping[str, Reason]]],
        *,
        policy: DisclosurePolicy,
        ledger: ReleaseLedger | None = None,
        current: int,
    ) -> None:
        self._base = build_system(releases, policy=policy, ledger=ledger, current=current)
        registry = releases[current][0]
        # the releases' cells come first, in order; the current release's from here
        start = sum(len(r.counts) for r, _ in releases[:current])
        self._cells = list(enumerate(registry.counts.items(), start=start))
        self._policy = policy

    def build(self, hidden: Mapping[str, Reason]) -> LinearSystem:
        """The system with the current release hiding ``hidden`` (count key → reason)."""
        system = self._base._copy()
        for index, (key, count) in self._cells:
            system._set_var(
                index, editable=True, **_cell_state(count, hidden.get(key), self._policy)
            )
        return system


def _add_difference(
    system: LinearSystem, a_name: str, value: float, terms: dict[int, float], constant: float
) -> None:
    """``terms + sign * d == constant`` with d the unknown number who came or went."""
    policy = system.policy
    diff = abs(value)
    d = system.add_var(
        a_name,
        release="",
        key=a_name,
        value=diff,
        shown=False,
        reason="differencing",
        protected=policy.active and policy.is_small(diff),
    )
    terms[d] = -1.0 if value > 0 else 1.0
    system.add_row(terms, constant, f"{a_name} = |difference|")


def _link_releases(system: LinearSystem, lkey: LedgerKey, members: Sequence[int]) -> None:
    """The same cell in several releases: one unknown when its value did not change, else
    differing by an unknown ``d ≥ 0``."""
    for x, a in enumerate(members):
        for bvar in members[x + 1 :]:
            va, vb = system._values[a], system._values[bvar]
            if va == vb:
                system.add_row(
                    {a: 1.0, bvar: -1.0},
                    0.0,
                    f"{system.names[a]} = {system.names[bvar]} (same cell {lkey})",
                )
            else:
                _add_difference(
                    system,
                    f"{system.names[a]} vs {system.names[bvar]}",
                    va - vb,
                    {a: 1.0, bvar: -1.0},
                    0.0,
                )


def _link_ledger(
    system: LinearSystem, lkey: LedgerKey, members: Sequence[int], earlier: Sequence[int]
) -> None:
    """The cell's values in earlier releases known only from the ledger, as constants."""
    for old in earlier:
        for a in members:
            va = system._values[a]
            if va == old:
                system.add_row({a: 1.0}, float(old), f"{system.names[a]} = earlier {lkey}")
            else:
                _add_difference(
                    system, f"{system.names[a]} vs earlier {lkey}", va - old, {a: 1.0}, float(old)
                )
