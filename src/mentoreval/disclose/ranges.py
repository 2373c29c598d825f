"""Solving the attacker's system: the smallest and largest value of a hidden cell (stage:
protect).

Shown cells are known (or bounded, when counts are rounded), so only the unknown cells are
variables: :func:`free_system` moves the known ones to the right-hand side and splits the
unknowns into connected components (a table and the relations around it), so each linear
program holds only the few cells of one component. :func:`solve_cell` then solves two
(``scipy.optimize.linprog``, HiGHS) for one cell, and names the relations that bind it
(non-zero duals in either). :func:`solve_cell_fast` gets the same range from the
component's warm-started model (:class:`~mentoreval.disclose.highs.ComponentLP`) and calls
:func:`solve_cell` only for a cell whose relations will be reported.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog
from scipy.sparse.csgraph import connected_components

from mentoreval.disclose.highs import ComponentLP
from mentoreval.errors import DisclosureError, Problem

__all__ = [
    "Component",
    "FreeSystem",
    "Memo",
    "free_system",
    "solve_cell",
    "solve_cell_fast",
    "solve_cell_once",
]

#: One connected component of unknown cells: its columns, its rows, the equations
#: restricted to it (``None`` when no relation holds it), their right-hand side, and the
#: bounds of its cells.
Component = tuple[
    np.ndarray,
    np.ndarray,
    sp.csr_array | None,
    np.ndarray,
    list[tuple[float, float | None]],
]
#: LP results carried between systems of the same releases: (the unknown cells of a
#: component, cell) → (low, high, binding rows).
Memo = dict[tuple[frozenset[str], str], tuple[float, float, tuple[int, ...]]]


@dataclass(frozen=True)
class FreeSystem:
    """The system over its unknown cells only, labelled by connected component.

    Attributes
    ----------
    free_vars
        The variable of each column.
    col_of
        The column of each variable (``-1`` for a known cell).
    a, b
        The equations ``a @ x == b`` over the unknown cells.
    label
        The component of each column.
    row_label
        The component of each row (``-1`` for a row without unknowns).
    low, high
        Every variable's bounds.
    """

    free_vars: np.ndarray
    col_of: np.ndarray
    a: sp.csr_array
    b: np.ndarray
    label: np.ndarray
    row_label: np.ndarray
    low: np.ndarray
    high: np.ndarray

    def component(self, comp: int) -> Component:
        """The columns, rows, equations and bounds of one component."""
        comp_cols = np.flatnonzero(self.label == comp)
        comp_rows = np.flatnonzero(self.row_label == comp)
        sub = self.a[comp_rows][:, comp_cols].tocsr() if len(comp_rows) else None
        low, high, free_vars = self.low, self.high, self.free_vars
        bounds = [
            (
                low[free_vars[c]],
                None if math.isinf(high[free_vars[c]]) else high[free_vars[c]],
            )
            for c in comp_cols
        ]
        return comp_cols, comp_rows, sub, self.b[comp_rows], bounds


def free_system(
    rows: np.ndarray,
    cols: np.ndarray,
    coefs: np.ndarray,
    constants: Sequence[float],
    low: np.ndarray,
    high: np.ndarray,
    n_rows: int,
) -> FreeSystem:
    """Reduce ``sum(coef * var) == constant`` (as row, column, coefficient triplets) to its
    unknown cells (``low != high``) and label its connected components."""
    n_vars = len(low)
    free = low != high
    col_of = np.full(n_vars, -1, dtype=np.int64)
    free_vars = np.flatnonzero(free)
    col_of[free_vars] = np.arange(len(free_vars))
    on_free = free[cols]
    b = np.asarray(constants, dtype=float) - np.bincount(
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
    return FreeSystem(free_vars, col_of, a, b, label, row_label, low, high)


def solve_cell(name: str, col: int, component: Component) -> tuple[float, float, set[int], int]:
    """Min and max of one cell over its component: (low, high, binding rows, LPs).

    ``name`` names the cell when the system has no solution.
    """
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
                        key=name,
                        fix="check the registered relations",
                    ),
                ),
            )
        values.append(_snap(sign * float(res.fun)))
        marginals = np.asarray(res.eqlin.marginals)
        binding |= {int(comp_rows[i]) for i in np.flatnonzero(np.abs(marginals) > 1e-9)}
    return values[0], values[1], binding, 2


def _snap(value: float) -> float:
    """An LP optimum to 9 decimals (counts and their bounds are multiples of 0.5, so this
    only removes the solver's round-off, the same from either path)."""
    return round(value, 9) + 0.0


def solve_cell_fast(
    name: str,
    col: int,
    component: Component,
    lp: ComponentLP | None,
    explain: Callable[[float, float], bool],
) -> tuple[float, float, set[int], int]:
    """As :func:`solve_cell`, the range from ``lp`` (the component's warm-started model);
    the binding relations only for a cell that ``explain(low, high)`` says will be
    reported (a disclosed one), by :func:`solve_cell` again. Without ``lp``, or when
    HiGHS gives no optimum, :func:`solve_cell` alone."""
    comp_cols, _, sub, _, _ = component
    if lp is None or sub is None:
        return solve_cell(name, col, component)
    found = lp.range(int(np.searchsorted(comp_cols, col)))
    if found is None:
        return solve_cell(name, col, component)
    lo, hi = _snap(found[0]), _snap(found[1])
    if explain(lo, hi):
        lo, hi, binding, solved = solve_cell(name, col, component)
        return lo, hi, binding, solved + 2
    return lo, hi, set(), 2


def solve_cell_once(
    memo: Memo | None,
    cells: frozenset[str],
    name: str,
    col: int,
    component: Component,
    *,
    lp: ComponentLP | None = None,
    explain: Callable[[float, float], bool] = lambda lo, hi: True,
) -> tuple[float, float, set[int], int]:
    """:func:`solve_cell` (or :func:`solve_cell_fast`, given ``lp``), or its earlier
    result for the same cell among the same unknown ``cells`` when ``memo`` holds one
    (0 LPs then)."""
    memo_key = (cells, name)
    if memo is not None and memo_key in memo:
        lo, hi, rows_seen = memo[memo_key]
        return lo, hi, set(rows_seen), 0
    lo, hi, bound_rows, solved = solve_cell_fast(name, col, component, lp, explain)
    if memo is not None:
        memo[memo_key] = (lo, hi, tuple(sorted(bound_rows)))
    return lo, hi, bound_rows, solved
