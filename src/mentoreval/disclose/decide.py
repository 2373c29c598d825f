"""Deciding a release's suppressions once: primary cells, then complements until the
attacker's audit passes (stage: protect).

:func:`primary_suppressions` finds the counts that must stay unknown: 1..k−1 distinct
students (``"small"``), a class holding everyone of its group (``"class"``) and a count
differing by 1..k−1 from an earlier release of the same cell (``"differencing"``).
:func:`decide_release` then hides complements: the next-smallest cell of each relation in
which a hidden primary count would be the only unknown (the greedy pass), then whatever
the audit's linear programs ask for, and finally shows again every complement the audit
can spare. :meth:`~mentoreval.disclose.release.ReleaseRegistry.decide` calls it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mentoreval.config.disclosure import DisclosurePolicy
from mentoreval.disclose.audit import earlier_values
from mentoreval.disclose.ledger import ReleaseLedger
from mentoreval.disclose.reasons import PRIMARY_REASONS, LedgerKey, Reason
from mentoreval.disclose.registry import CountRegistry, registry_error
from mentoreval.disclose.system import SystemBuilder

if TYPE_CHECKING:
    from mentoreval.disclose.ranges import Memo
    from mentoreval.disclose.release import ReleaseRegistry
    from mentoreval.disclose.verdict import AuditResult

__all__ = ["Decision", "decide_release", "primary_suppressions"]


@dataclass(frozen=True)
class Decision:
    """What :meth:`~mentoreval.disclose.release.ReleaseRegistry.decide` chose.

    Attributes
    ----------
    policy
        The disclosure policy applied.
    hidden
        Every hidden count → its :data:`~mentoreval.disclose.reasons.Reason` (unpublished
        counts included).
    audit
        The attacker's audit of the decision (passed, or ``decide`` would have raised).
    unpublished
        The counts never shown (in ``hidden`` too, as ``"unpublished"`` or, when small,
        as ``"small"``).
    rounds
        How many complementary suppressions the audit's linear programs asked for, beyond
        the greedy pass (which hides the next-smallest cell of each relation whose only
        unknown would be a primary cell).
    """

    policy: DisclosurePolicy
    hidden: Mapping[str, Reason]
    audit: AuditResult
    rounds: int = 0
    unpublished: frozenset[str] = frozenset()

    @property
    def primary(self) -> tuple[str, ...]:
        """Published counts hidden as primary suppressions, sorted."""
        return tuple(
            sorted(
                k
                for k, r in self.hidden.items()
                if r in PRIMARY_REASONS and k not in self.unpublished
            )
        )

    @property
    def complementary(self) -> tuple[str, ...]:
        """Published counts hidden only to protect others, sorted."""
        return tuple(sorted(k for k, r in self.hidden.items() if r == "complementary"))


def primary_suppressions(
    registry: CountRegistry,
    policy: DisclosurePolicy,
    *,
    earlier_values: Mapping[LedgerKey, set[int]] | None = None,
    class_disclosure: bool = True,
) -> dict[str, Reason]:
    """Primary suppressions (and unpublished counts) under ``policy``, before complements.

    See :meth:`~mentoreval.disclose.release.ReleaseRegistry.primary`.
    """
    hidden: dict[str, Reason] = {}
    if not policy.active:
        return hidden
    k = policy.threshold
    counts = registry.counts
    for key, count in counts.items():
        if count.sensitive and policy.is_small(count.value):
            hidden[key] = "small"
        elif count.ledger_key is not None and any(
            1 <= abs(count.value - old) <= k - 1
            for old in (earlier_values or {}).get(count.ledger_key, ())
        ):
            hidden[key] = "differencing"
    if class_disclosure:
        for relation in registry.relations:
            if not relation.attribute or relation.total is None:
                continue
            whole = counts[relation.total].value
            for key in relation.keys:
                if key != relation.total and whole > 0 and counts[key].value == whole:
                    hidden.setdefault(key, "class")
    for key, count in counts.items():
        if not count.published:
            hidden.setdefault(key, "unpublished")
    return hidden


def decide_release(
    registry: ReleaseRegistry,
    policy: DisclosurePolicy | None = None,
    *,
    ledger: ReleaseLedger | None = None,
    earlier: Sequence[ReleaseRegistry] = (),
    class_disclosure: bool = True,
    prune: bool = True,
    max_rounds: int = 1000,
) -> Decision:
    """Decide primary and complementary suppression once for the whole release.

    See :meth:`~mentoreval.disclose.release.ReleaseRegistry.decide`, which keeps the
    returned decision on the registry.
    """
    policy = policy or DisclosurePolicy()
    for other in earlier:
        if other is registry:
            raise registry_error("a release cannot be earlier than itself", key=registry.name)
        other.decision  # noqa: B018 - raises when not decided
    known = earlier_values(ledger, earlier)
    hidden = primary_suppressions(
        registry, policy, earlier_values=known, class_disclosure=class_disclosure
    )
    releases = [*((o, o.decision.hidden) for o in earlier), (registry, hidden)]
    memo: Memo = {}
    added = rounds = 0
    builder = SystemBuilder(releases, policy=policy, ledger=ledger, current=len(earlier))
    while True:
        system = builder.build(hidden)
        if not policy.active:
            result = system.audit()
            break
        pick: str | None = None
        stuck = None
        if policy.round_to is None:
            found = system.propagation_pick()
            if found is not None:
                pick, stuck = found
        if pick is None and stuck is None:
            result = system.audit(only_protected=True, memo=memo, first_failure=True)
            if result.passed:
                result = system.audit(memo=memo)
                break
            pick = system.lp_pick(result.failures[0])
            if pick is None:  # name every disclosed cell, not only the first
                system.audit(only_protected=True, memo=memo).raise_if_failed()
            rounds += 1
        if pick is None:
            raise registry_error(
                f"{stuck} can be worked out from numbers this release cannot hide "
                "(an earlier release, or a relation of unpublished counts)",
                key=stuck,
                fix="withhold the earlier release's counts or merge the small group",
            )
        hidden[pick] = "complementary"
        added += 1
        if added > max_rounds:
            raise registry_error("complementary suppression did not settle", key=registry.name)
    if prune and added:
        hidden, result = _prune(registry, builder, hidden, policy, memo)
    unpublished = frozenset(k for k, c in registry.counts.items() if not c.published)
    return Decision(policy, dict(hidden), result, rounds, unpublished)


def _prune(
    registry: ReleaseRegistry,
    builder: SystemBuilder,
    hidden: dict[str, Reason],
    policy: DisclosurePolicy,
    memo: Memo,
) -> tuple[dict[str, Reason], AuditResult]:
    """Show again each complement whose return keeps the audit passing."""
    counts = registry.counts
    complements = [k for k, r in hidden.items() if r == "complementary"]
    complements.sort(key=lambda k: (-counts[k].value, k))
    for key in complements:
        trial = {k: r for k, r in hidden.items() if k != key}
        system = builder.build(trial)
        if policy.round_to is None and system.propagation_pick() is not None:
            continue
        if system.audit(only_protected=True, memo=memo, first_failure=True).passed:
            hidden = trial
    return hidden, builder.build(hidden).audit(memo=memo)
