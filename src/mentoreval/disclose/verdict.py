"""The audit's verdict: the feasible range of each hidden cell, whether a primary cell is
disclosed, and the one sentence a report may print about its hidden counts (stage: protect).

A primary cell (1..k−1 students, a 100 % class, or a differencing count) whose range is a
single value or lies within 1..k−1 is **disclosed**; :meth:`AuditResult.raise_if_failed`
then refuses publication, naming the cell and the relations that pin it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mentoreval.errors import DisclosureError, Problem

__all__ = ["AUDIT_SENTENCE", "AuditResult", "CellRange", "is_disclosed"]

#: What a report may print about its hidden counts, only when the audit passed.
AUDIT_SENTENCE = "No hidden count can be worked out from the published numbers."

_TOL = 1e-7


def is_disclosed(low: float, high: float, k: int) -> bool:
    """Whether an integer in ``[low, high]`` is pinned or known to be within 1..k−1.

    Examples
    --------
    >>> is_disclosed(3.0, 3.0, 10), is_disclosed(0.4, 6.2, 10), is_disclosed(0.0, 13.0, 10)
    (True, True, False)
    """
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
                if is_disclosed(cell.low, cell.high, 2)
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
