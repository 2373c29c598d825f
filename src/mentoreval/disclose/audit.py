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

The system is written down in :mod:`~mentoreval.disclose.system`, solved in
:mod:`~mentoreval.disclose.ranges` and judged in :mod:`~mentoreval.disclose.verdict`; this
module audits decided releases.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from mentoreval.config.disclosure import DisclosurePolicy
from mentoreval.disclose.ledger import ReleaseLedger
from mentoreval.disclose.reasons import LedgerKey
from mentoreval.disclose.system import LinearSystem, build_system
from mentoreval.disclose.verdict import AUDIT_SENTENCE, AuditResult, CellRange
from mentoreval.errors import DisclosureError, Problem

if TYPE_CHECKING:  # release imports this module (through decide) to audit its decisions
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


def earlier_values(
    ledger: ReleaseLedger | None, earlier: Sequence[ReleaseRegistry] = ()
) -> dict[LedgerKey, set[int]]:
    """Ledger key → every value released before (ledger entries, shown or hidden as a
    complement; shown earlier counts).

    Examples
    --------
    >>> ledger = ReleaseLedger(); ledger.record(("s", "t", "g", "n"), 52)
    >>> earlier_values(ledger)
    {('s', 't', 'g', 'n'): {52}}
    """
    out: dict[LedgerKey, set[int]] = {}
    if ledger is not None:
        for source in (ledger.entries, ledger.hidden):
            for lkey, values in source.items():
                out.setdefault(lkey, set()).update(int(v) for v in values)
    for registry in earlier:
        hidden = registry.decision.hidden
        for key, count in registry.counts.items():
            if count.ledger_key is not None and count.published and key not in hidden:
                out.setdefault(count.ledger_key, set()).add(count.value)
    return out


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
