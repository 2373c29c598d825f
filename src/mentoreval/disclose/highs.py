"""One warm-started HiGHS model per component, for the ranges of its cells (stage: protect).

:func:`~mentoreval.disclose.ranges.solve_cell` asks ``scipy.optimize.linprog`` for each
bound of each cell, and every call builds, presolves and solves the component's linear
program from scratch. :class:`ComponentLP` passes the component to HiGHS (``highspy``, the
same solver ``linprog`` uses) once and changes only the objective between solves, so each
LP starts from the previous optimal basis: about seven times faster on the demo reports'
components, with the same optima. It gives ranges only; the relations that bind a cell
(its LP's dual values) still come from ``linprog``, for the cells whose range is reported
(see :func:`~mentoreval.disclose.ranges.solve_cell_fast`).

Each component has its own solver (making one takes about 0.1 ms). HiGHS prints its
licence banner to the C-level standard output the first time a solver is made in a
process; :func:`_solver` makes that first one with file descriptor 1 pointed at
``os.devnull``, so the banner never reaches a report's console or log.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
import sys
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from mentoreval.disclose.ranges import Component

__all__ = ["ComponentLP"]

_LOCK = threading.Lock()
_BANNER_SHOWN = False


@contextlib.contextmanager
def _quiet_stdout_fd() -> Iterator[None]:
    """Point file descriptor 1 at ``os.devnull`` (C-level writes included) for a moment."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
        with contextlib.suppress(OSError, AttributeError, TypeError):
            ctypes.CDLL(None).fflush(None)  # C stdio buffers, where the platform has them
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def _solver() -> Any:
    """A new silent HiGHS solver (the process's first one made with its banner muted)."""
    global _BANNER_SHOWN
    import highspy

    with _LOCK:
        if not _BANNER_SHOWN:
            with _quiet_stdout_fd():
                highspy.Highs()
            _BANNER_SHOWN = True
    solver = highspy.Highs()
    solver.setOptionValue("output_flag", False)
    return solver


class ComponentLP:
    """The linear program of one component, passed to HiGHS on the first :meth:`range`.

    Parameters
    ----------
    component
        The component's columns, rows, equations, right-hand side and bounds (as
        :meth:`~mentoreval.disclose.ranges.FreeSystem.component` gives them; its equations
        must not be ``None``).

    Examples
    --------
    Three hidden cells summing to 13, the first at most 5:

    >>> import scipy.sparse as sp
    >>> comp = (np.arange(3), np.arange(1), sp.csr_array(np.ones((1, 3))), np.array([13.0]),
    ...         [(0.0, 5.0), (0.0, None), (0.0, None)])
    >>> lp = ComponentLP(comp)
    >>> lp.range(0), lp.range(1)
    ((0.0, 5.0), (0.0, 13.0))
    """

    def __init__(self, component: Component) -> None:
        self._component = component
        self._solver: Any = None
        self._objective = -1

    def _load(self) -> Any:
        import highspy

        comp_cols, comp_rows, sub, rhs, bounds = self._component
        assert sub is not None
        csc = sub.tocsc()
        n_cols, n_rows = len(comp_cols), len(comp_rows)
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = n_cols, n_rows
        lp.col_cost_ = np.zeros(n_cols)
        lp.col_lower_ = np.array([lo for lo, _ in bounds], dtype=float)
        lp.col_upper_ = np.array(
            [highspy.kHighsInf if hi is None else hi for _, hi in bounds], dtype=float
        )
        lp.row_lower_ = lp.row_upper_ = np.asarray(rhs, dtype=float)
        matrix = lp.a_matrix_
        matrix.format_ = highspy.MatrixFormat.kColwise
        matrix.num_col_, matrix.num_row_ = n_cols, n_rows
        matrix.start_, matrix.index_, matrix.value_ = csc.indptr, csc.indices, csc.data
        lp.a_matrix_ = matrix
        solver = _solver()
        solver.passModel(lp)
        self._solver = solver
        return solver

    def range(self, position: int) -> tuple[float, float] | None:
        """Smallest and largest value of the cell at ``position`` (``high`` may be
        infinite), or ``None`` when HiGHS does not report an optimum or an unbounded
        maximum (the caller then asks ``linprog``, which explains the failure)."""
        import highspy

        solver = self._solver if self._solver is not None else self._load()
        if self._objective >= 0:
            solver.changeColCost(self._objective, 0.0)
        solver.changeColCost(position, 1.0)
        self._objective = position
        status = highspy.HighsModelStatus
        values: list[float] = []
        for sense in (highspy.ObjSense.kMinimize, highspy.ObjSense.kMaximize):
            solver.changeObjectiveSense(sense)
            solver.run()
            state = solver.getModelStatus()
            if state == status.kOptimal:
                values.append(float(solver.getInfo().objective_function_value))
            elif state == status.kUnbounded and sense == highspy.ObjSense.kMaximize:
                values.append(math.inf)
            else:
                return None
        return values[0], values[1]
