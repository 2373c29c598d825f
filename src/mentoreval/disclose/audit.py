"""The attacker's audit: can any hidden count be worked out from what was published?

Everything one or more releases publish becomes one linear system, as an attacker holding
the reports would write it down:

* every shown count is known (an interval ``[r − b/2, r + b/2]`` when counts are rounded
  to ``b``, as in the NHS profile);
* every relation of a release (margins, ``linked = received − excluded``, groups summing
  to the total) holds;
* the same cell in several releases (same ledger key: a cohort report, its rerun, the
  annual report containing it) is one unknown when its value did not change, and otherwise
  differs by an unknown ``d ≥ 0``, the students who came or went; earlier releases known
  only through a :class:`~mentoreval.disclose.ReleaseLedger` enter as constants;
* every count is non-negative; integrality is relaxed (the ranges are then slightly wider
  than an integer attacker's, and are rounded inwards before the verdict).

For each hidden cell, two linear programs (``scipy.optimize.linprog``, HiGHS) give the
smallest and largest value it can take. The system is decomposed into connected
components of hidden cells first, so each LP holds only the few cells and relations around
one table. A primary cell (1..k−1 students, a 100 % class, or a differencing count) whose
range is a single value or lies within 1..k−1 is **disclosed**, and publication is
refused, naming the cell and the relations that pin it (the constraints with non-zero
duals in either LP).

Limits: the audit knows only what is registered. Means, SDs and CIs are not modelled (a
CI and an SD together give n back), nor knowledge from outside the reports (a reader who
knows who withdrew); and it protects counts, not the attributes of a group of 10 who all
answered alike (class disclosure is a primary rule, not an audit result).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog
from scipy.sparse.csgraph import connected_components

from mentoreval.config.disclosure import DisclosurePolicy
from mentoreval.disclose.ledger import ReleaseLedger
from mentoreval.disclose.reasons import PRIMARY_REASONS, LedgerKey, Reason
from mentoreval.errors import DisclosureError, Problem

if TYPE_CHECKING:  # release imports this module to audit its decisions
    from mentoreval.disclose.release import ReleaseRegistry

__all__ = [
    "AUDIT_SENTENCE",
    "AuditResult",
    "CellRange",
    "LinearSystem",
    "audit",
    "build_system",
    "earlier_values",
    "feasible_ranges",
]

#: What a report may print about its hidden counts, only when the audit passed.
AUDIT_SENTENCE = "No hidden count can be worked out from the published numbers."

_TOL = 1e-7


def _disclosed(low: float, high: float, k: int) -> bool:
    """Whether an integer in ``[low, high]`` is pinned or known to be within 1..k−1."""
    lo = math.ceil(low - _TOL)
    hi = math.floor(high + _TOL) if math.isfinite(high) else math.inf
    return hi <= lo or (lo >= 1 and hi <= k - 1)


@dataclass(frozen=True)
class CellRange:
    """The values a hidden cell can take given everything published.

    Attributes
    ----------
    name
        The cell, prefixed by its release's name when several releases are audited.
    release, key
        Its release and key (``release`` is ``""`` for a difference between releases).
    reason
        Why it is hidden (see :data:`~mentoreval.disclose.release.Reason`).
    low, high
        Its feasible range (``high`` may be infinite).
    protected
        Whether it is a primary cell, whose value must stay unknown.
    disclosed
        Protected, and its range is a single value or lies within 1..k−1.
    relations
        The relations that bound it (non-zero duals), for the message.
    """

    name: str
    release: str
    key: str
    reason: str
    low: float
    high: float
    protected: bool
    disclosed: bool
    relations: tuple[str, ...] = ()


@dataclass(frozen=True)
class AuditResult:
    """The audit's verdict.

    Attributes
    ----------
    k
        The threshold.
    active
        Whether disclosure control was on.
    ranges
        One :class:`CellRange` per hidden cell checked.
    n_counts, n_relations
        Size of the system (counts and difference cells; relations and links).
    n_lps
        Linear programs solved.
    seconds
        Wall time of the audit.
    """

    k: int
    active: bool
    ranges: tuple[CellRange, ...]
    n_counts: int = 0
    n_relations: int = 0
    n_lps: int = 0
    seconds: float = 0.0

    @property
    def failures(self) -> tuple[CellRange, ...]:
        """The disclosed cells."""
        return tuple(r for r in self.ranges if r.disclosed)

    @property
    def passed(self) -> bool:
        """Whether no primary cell can be worked out."""
        return not self.failures

    @property
    def sentence(self) -> str | None:
        """:data:`AUDIT_SENTENCE` when the audit passed with disclosure control on."""
        return AUDIT_SENTENCE if self.passed and self.active else None

    def raise_if_failed(self) -> None:
        """Raise :class:`~mentoreval.errors.DisclosureError` naming each disclosed cell."""
        failures = self.failures
        if not failures:
            return
        problems = []
        for cell in failures:
            how = (
                "is pinned to one value"
                if _disclosed(cell.low, cell.high, 2)
                else f"is known to lie between 1 and {self.k - 1}"
            )
            via = "; ".join(cell.relations) or "its published bounds"
            problems.append(
                Problem(
                    f"the hidden count {how}, through: {via}",
                    key=cell.name,
                    fix="hide another count of those relations, or merge the small group",
                )
            )
        raise DisclosureError(
            f"publication refused: {len(failures)} hidden count(s) can be worked out "
            "from the published numbers",
            tuple(problems),
        )


def earlier_values(
    ledger: ReleaseLedger | None, earlier: Sequence[ReleaseRegistry] = ()
) -> dict[LedgerKey, set[int]]:
    """Ledger key → every value released before (ledger entries, shown earlier counts).

    Examples
    --------
    >>> ledger = ReleaseLedger(); ledger.record(("s", "t", "g", "n"), 52)
    >>> earlier_values(ledger)
    {('s', 't', 'g', 'n'): {52}}
    """
    out: dict[LedgerKey, set[int]] = {}
    if ledger is not None:
        for lkey, values in ledger.entries.items():
            out.setdefault(lkey, set()).update(int(v) for v in values)
    for registry in earlier:
        hidden = registry.decision.hidden
        for key, count in registry.counts.items():
            if count.ledger_key is not None and count.published and key not in hidden:
                out.setdefault(count.ledger_key, set()).add(count.value)
    return out


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
    ) -> int:
        """Add a cell; a shown one is known (an interval when counts are rounded)."""
        base = self.policy.round_to
        if shown and base is not None and base > 1 and value != 0:
            rounded = self.policy.round_count(value)
            low, high = max(rounded - base / 2, 0.0), rounded + base / 2
        elif shown:
            low = high = float(value)
        else:
            low, high = 0.0, math.inf
        self.names.append(name)
        self.releases.append(release)
        self.keys.append(key)
        self.reasons.append(reason)
        self._values.append(float(value))
        self._low.append(low)
        self._high.append(high)
        self._protected.append(protected)
        self._editable.append(editable and shown)
        self._hidden.append(not shown)
        return len(self.names) - 1

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
        for group in ([m for m in members if m != total], [m for m in members if m == total]):
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

    def _solve(
        self,
        var: int,
        col: int,
        component: tuple[
            np.ndarray,
            np.ndarray,
            sp.csr_array | None,
            np.ndarray,
            list[tuple[float, float | None]],
        ],
    ) -> tuple[float, float, set[int], int]:
        """Min and max of one cell over its component: (low, high, binding rows, LPs)."""
        comp_cols, comp_rows, sub, rhs, bounds = component
        position = int(np.searchsorted(comp_cols, col))
        if sub is None:
            low, high = bounds[position]
            return low, math.inf if high is None else high, set(), 0
        objective = np.zeros(len(comp_cols))
        values: list[float] = []
        binding: set[int] = set()
        for sign in (1.0, -1.0):
            objective[position] = sign
            res = linprog(objective, A_eq=sub, b_eq=rhs, bounds=bounds, method="highs")
            if res.status == 3:
                values.append(-sign * math.inf)
                continue
            if res.status != 0:
                raise DisclosureError(
                    f"the audit could not solve the system ({res.message})",
                    (
                        Problem(
                            "the published numbers contradict each other",
                            key=self.names[var],
                            fix="check the registered relations",
                        ),
                    ),
                )
            values.append(sign * float(res.fun))
            marginals = np.asarray(res.eqlin.marginals)
            binding |= {int(comp_rows[i]) for i in np.flatnonzero(np.abs(marginals) > 1e-9)}
        return values[0], values[1], binding, 2

    def audit(
        self,
        *,
        only_protected: bool = False,
        memo: dict[tuple[frozenset[str], str], tuple[float, float, tuple[int, ...]]] | None = None,
    ) -> AuditResult:
        """Feasible range of every hidden cell (``only_protected``: of primary cells only).

        ``memo`` carries LP results between systems of the same releases (as while
        :meth:`~mentoreval.disclose.release.ReleaseRegistry.decide` hides one more cell
        at a time): a cell whose component has the same hidden cells is not solved again.
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
        rows, cols, coefs = self._arrays()
        free = low != high
        col_of = np.full(n_vars, -1, dtype=np.int64)
        free_vars = np.flatnonzero(free)
        col_of[free_vars] = np.arange(len(free_vars))
        n_rows = len(self.row_names)
        on_free = free[cols]
        b = np.asarray(self.constants, dtype=float) - np.bincount(
            rows[~on_free], weights=coefs[~on_free] * low[cols[~on_free]], minlength=n_rows
        )
        a = sp.csr_array(
            (coefs[on_free], (rows[on_free], col_of[cols[on_free]])),
            shape=(n_rows, len(free_vars)),
        )
        pattern = abs(a).astype(bool).astype(float)
        graph = (pattern.T @ pattern).tocsr()
        _, label = connected_components(graph, directed=False)
        row_has = np.asarray(pattern.sum(axis=1)).ravel() > 0
        row_label = np.full(n_rows, -1, dtype=np.int64)
        first = pattern.tocsr()
        for r in np.flatnonzero(row_has):
            row_label[r] = label[first.indices[first.indptr[r]]]
        cache: dict[
            int,
            tuple[
                np.ndarray,
                np.ndarray,
                sp.csr_array | None,
                np.ndarray,
                list[tuple[float, float | None]],
            ],
        ] = {}
        members: dict[int, frozenset[str]] = {}
        ranges = []
        n_lps = 0
        for index in np.flatnonzero(checked):
            var = int(index)
            comp = int(label[col_of[var]])
            if comp not in cache:
                comp_cols = np.flatnonzero(label == comp)
                comp_rows = np.flatnonzero(row_label == comp)
                sub = a[comp_rows][:, comp_cols].tocsr() if len(comp_rows) else None
                bounds = [
                    (
                        low[free_vars[c]],
                        None if math.isinf(high[free_vars[c]]) else high[free_vars[c]],
                    )
                    for c in comp_cols
                ]
                cache[comp] = (comp_cols, comp_rows, sub, b[comp_rows], bounds)
                members[comp] = frozenset(self.names[free_vars[c]] for c in comp_cols)
            comp_rows = cache[comp][1]
            memo_key = (members[comp], self.names[var])
            if memo is not None and memo_key in memo:
                lo, hi, rows_seen = memo[memo_key]
                bound_rows = set(rows_seen)
            else:
                lo, hi, bound_rows, solved = self._solve(var, col_of[var], cache[comp])
                n_lps += solved
                if memo is not None:
                    memo[memo_key] = (lo, hi, tuple(sorted(bound_rows)))
            binding = sorted(bound_rows)
            self._binding[var] = (binding, [int(r) for r in comp_rows])
            ranges.append(
                CellRange(
                    name=self.names[var],
                    release=self.releases[var],
                    key=self.keys[var],
                    reason=self.reasons[var],
                    low=float(lo),
                    high=float(hi),
                    protected=bool(protected[var]),
                    disclosed=bool(protected[var]) and _disclosed(lo, hi, k),
                    relations=tuple(self.row_names[r] for r in binding),
                )
            )
        return AuditResult(
            k,
            True,
            tuple(ranges),
            n_vars,
            n_rows,
            n_lps,
            time.perf_counter() - start,
        )


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
        index: dict[str, int] = {}
        for key, count in registry.counts.items():
            reason = hidden.get(key, "")
            shown = count.published and key not in hidden
            protected = reason in PRIMARY_REASONS or (
                reason == "unpublished" and count.sensitive and policy.is_small(count.value)
            )
            index[key] = system.add_var(
                f"{registry.name}: {key}" if several else key,
                release=registry.name,
                key=key,
                value=count.value,
                shown=shown,
                reason="small" if reason == "unpublished" and protected else reason,
                protected=protected and policy.active,
                editable=i == current,
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

    def difference(a_name: str, value: float, terms: dict[int, float], constant: float) -> None:
        """``terms + sign * d == constant`` with d the unknown number who came or went."""
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

    for lkey, members in by_ledger.items():
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
                    difference(
                        f"{system.names[a]} vs {system.names[bvar]}",
                        va - vb,
                        {a: 1.0, bvar: -1.0},
                        0.0,
                    )
        if ledger is None:
            continue
        for old in sorted(ledger.entries.get(lkey, ())):
            for a in members:
                va = system._values[a]
                if va == old:
                    system.add_row({a: 1.0}, float(old), f"{system.names[a]} = earlier {lkey}")
                else:
                    difference(
                        f"{system.names[a]} vs earlier {lkey}", va - old, {a: 1.0}, float(old)
                    )
    return system


def _releases(
    releases: ReleaseRegistry | Sequence[ReleaseRegistry],
) -> list[ReleaseRegistry]:
    items = list(releases) if isinstance(releases, Sequence) else [releases]
    if not items:
        raise DisclosureError("nothing to audit", (Problem("no release given"),))
    names = [r.name for r in items]
    if len(set(names)) != len(names):
        raise DisclosureError(
            "releases need distinct names",
            (Problem(f"names {names}", fix="name each ReleaseRegistry"),),
        )
    return items


def feasible_ranges(
    releases: ReleaseRegistry | Sequence[ReleaseRegistry],
    *,
    ledger: ReleaseLedger | None = None,
    policy: DisclosurePolicy | None = None,
) -> AuditResult:
    """The attacker's audit of decided releases, without raising.

    Parameters
    ----------
    releases
        One decided registry, or several (earliest first) released about the same cohort.
    ledger
        Earlier releases known only by their ledger entries.
    policy
        The threshold to judge by (default: the last release's decision policy).

    Returns
    -------
    AuditResult

    Examples
    --------
    >>> from mentoreval.disclose.release import ReleaseRegistry
    >>> reg = ReleaseRegistry()
    >>> for key, n in {"t": 57, "low": 44, "mid": 10, "high": 3}.items():
    ...     _ = reg.add_count(key, n)
    >>> _ = reg.add_sum("t", ["low", "mid", "high"])
    >>> _ = reg.decide()
    >>> result = feasible_ranges(reg)
    >>> [(r.key, r.low, r.high) for r in result.ranges]
    [('mid', 0.0, 13.0), ('high', 0.0, 13.0)]
    """
    items = _releases(releases)
    policy = policy or items[-1].decision.policy
    system = build_system([(r, r.decision.hidden) for r in items], policy=policy, ledger=ledger)
    return system.audit()


def audit(
    releases: ReleaseRegistry | Sequence[ReleaseRegistry],
    *,
    ledger: ReleaseLedger | None = None,
    policy: DisclosurePolicy | None = None,
) -> AuditResult:
    """Refuse publication when any primary hidden cell can be worked out.

    As :func:`feasible_ranges`, but raises when the audit fails.

    Raises
    ------
    DisclosureError
        Naming each disclosed cell and the relations that pin it.

    Examples
    --------
    A cohort's n of 52 released in March and 50 now: the 2 who withdrew are disclosed.

    >>> from mentoreval.disclose.release import ReleaseRegistry
    >>> march = ReleaseRegistry("March")
    >>> _ = march.add_count("outcomes.n", 52, ledger_key=("c", "outcomes", "who5", "n"))
    >>> _ = march.decide()
    >>> june = ReleaseRegistry("June")
    >>> _ = june.add_count("outcomes.n", 50, ledger_key=("c", "outcomes", "who5", "n"))
    >>> _ = june.decide(earlier=[march])
    >>> june.display("outcomes.n")
    '[c]'
    >>> audit([march, june]).sentence
    'No hidden count can be worked out from the published numbers.'
    """
    result = feasible_ranges(releases, ledger=ledger, policy=policy)
    result.raise_if_failed()
    return result
