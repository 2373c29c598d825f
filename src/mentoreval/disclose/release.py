"""One registry of every count a report releases, with suppression decided once.

A report registers each count it shows (in the text, the flow, every table, figure label,
``results.json`` and CSV) under one stable key, with its true value and the linear
relations between counts: a margin is the sum of its cells, ``linked = received −
excluded``, groups sum to the total, a model's n is the sum of its groups' n. Numbers
derived from counts (percentages, ``df = n − 1``, means and effect sizes of a group)
register as functions of their counts, so that hiding a count hides them.

:meth:`ReleaseRegistry.decide` then chooses, once for the whole report:

* **primary** suppressions: counts of 1..k−1 distinct students (``"small"``), a class
  holding everyone of its group (``"class"``, 100 %), and counts whose value differs by
  1..k−1 from an earlier release of the same cell (``"differencing"``);
* **complementary** suppressions, so that no primary cell can be recovered: next-smallest
  cell of each relation in which a hidden primary count would be the only unknown, then
  verified by the attacker's audit (:mod:`mentoreval.disclose.audit`, linear programming)
  and repeated until the audit passes.

Every place that shows a count reads it back with :meth:`ReleaseRegistry.value` (a number,
NaN when hidden) or :meth:`ReleaseRegistry.display` (a string, :data:`MARK` when hidden).
Primary and complementary suppressions get the same neutral mark, explained once by
:data:`FOOTNOTE`, as the UK Government Statistical Service's ``[c]``: a reader cannot tell
which hidden cell was the small one, and no hidden count of 62 is labelled "< 10".

Registering is :class:`~mentoreval.disclose.registry.CountRegistry`'s part, deciding
:mod:`~mentoreval.disclose.decide`'s; this module reads the decision back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from mentoreval.config.disclosure import DisclosurePolicy
from mentoreval.disclose.decide import Decision, decide_release, primary_suppressions
from mentoreval.disclose.formatting import format_cell
from mentoreval.disclose.ledger import ReleaseLedger
from mentoreval.disclose.reasons import PRIMARY_REASONS, LedgerKey, Reason
from mentoreval.disclose.registry import Count, CountRegistry, Derived, Relation, registry_error

__all__ = [
    "FOOTNOTE",
    "MARK",
    "PRIMARY_REASONS",
    "Count",
    "Decision",
    "Derived",
    "LedgerKey",
    "Reason",
    "Relation",
    "ReleaseRegistry",
]

#: The one mark shown for every hidden number, primary or complementary.
MARK = "[c]"
#: The footnote explaining :data:`MARK`, printed once per report.
FOOTNOTE = "[c] not shown, to protect small groups"


class ReleaseRegistry(CountRegistry):
    """Every count a report publishes, their relations, and one suppression decision.

    Parameters
    ----------
    name
        The release's name in messages when several releases are audited together (e.g.
        ``"cohort 2025 (March)"``).

    Examples
    --------
    A flow ``received = kept + excluded`` whose exclusions are few: the smallest other
    count of the line is hidden too, and both show the same mark.

    >>> reg = ReleaseRegistry("cohort")
    >>> for key, n in {"flow.received": 62, "flow.kept": 58, "flow.excluded": 4}.items():
    ...     _ = reg.add_count(key, n)
    >>> _ = reg.add_sum("flow.received", ["flow.kept", "flow.excluded"])
    >>> _ = reg.add_percent("flow.kept_pct", "flow.kept", "flow.received")
    >>> decision = reg.decide()
    >>> decision.primary, decision.complementary
    (('flow.excluded',), ('flow.kept',))
    >>> [reg.display(k) for k in ("flow.received", "flow.kept", "flow.excluded", "flow.kept_pct")]
    ['62', '[c]', '[c]', '[c]']
    >>> decision.audit.sentence
    'No hidden count can be worked out from the published numbers.'
    """

    # ------------------------------------------------------------------ deciding

    def primary(
        self,
        policy: DisclosurePolicy,
        *,
        earlier_values: Mapping[LedgerKey, set[int]] | None = None,
        class_disclosure: bool = True,
    ) -> dict[str, Reason]:
        """Primary suppressions (and unpublished counts) under ``policy``, before complements.

        ``earlier_values``: ledger key → values released before; a count differing from one
        of them by 1..k−1 is ``"differencing"``.

        Examples
        --------
        >>> reg = ReleaseRegistry()
        >>> _ = reg.add_count("n", 50, ledger_key=("s", "outcomes", "who5", "n_pairs"))
        >>> reg.primary(DisclosurePolicy(), earlier_values={("s", "outcomes", "who5", "n_pairs"): {52}})
        {'n': 'differencing'}
        """
        return primary_suppressions(
            self, policy, earlier_values=earlier_values, class_disclosure=class_disclosure
        )

    def decide(
        self,
        policy: DisclosurePolicy | None = None,
        *,
        ledger: ReleaseLedger | None = None,
        earlier: Sequence[ReleaseRegistry] = (),
        class_disclosure: bool = True,
        prune: bool = True,
        max_rounds: int = 1000,
    ) -> Decision:
        """Decide primary and complementary suppression once for the whole release.

        Parameters
        ----------
        policy
            The disclosure policy (default k = 10). With ``round_to`` (NHS profile) shown
            counts are rounded and the audit treats them as intervals.
        ledger
            Earlier releases of the same cells (by ``ledger_key``): a count differing from
            one by 1..k−1 is hidden, and the audit includes them.
        earlier
            Decided registries published before (a cohort report before its rerun); their
            published counts are as good as known, and the audit spans them.
        class_disclosure
            Hide a class holding everyone of its group (``attribute`` sums).
        prune
            After the greedy pass, show again every complement (largest first) whose
            return the audit still passes: one line at a time, the greedy pass builds
            chains where a rectangle would do.
        max_rounds
            Upper bound on added complementary suppressions.

        Returns
        -------
        Decision
            Also kept on the registry for :meth:`value` and :meth:`display`.

        Raises
        ------
        DisclosureError
            When no choice of complements from this release protects a primary cell (e.g.
            it was published exactly in an earlier release).
        """
        self._decision = decide_release(
            self,
            policy,
            ledger=ledger,
            earlier=earlier,
            class_disclosure=class_disclosure,
            prune=prune,
            max_rounds=max_rounds,
        )
        return self._decision

    # ------------------------------------------------------------------ reading back

    @property
    def decision(self) -> Decision:
        """The last decision; raises when counts were added since (or never decided)."""
        if self._decision is None:
            raise registry_error(
                "suppression not decided (or counts registered since)",
                key=self.name,
                fix="call decide() after registering every count",
            )
        return self._decision

    def reason(self, key: str) -> Reason | None:
        """Why a count is hidden (``None`` when shown); internal, never for display."""
        self._require([key])
        return self.decision.hidden.get(key)

    def is_hidden(self, key: str) -> bool:
        """Whether a count or derived number is hidden.

        Examples
        --------
        >>> reg = ReleaseRegistry()
        >>> _ = reg.add_count("g.n", 62); _ = reg.add_count("g.mean_n", 3)
        >>> _ = reg.add_derived("g.d", 0.4, base=["g.n"], follow="primary")
        >>> _ = reg.decide()
        >>> reg.is_hidden("g.d"), reg.is_hidden("g.mean_n")
        (False, True)
        """
        decision = self.decision
        if key in self._counts:
            return key in decision.hidden
        if key not in self._derived:
            self._require([key], derived=True)
        item = self._derived[key]
        for base in item.base:
            if base in self._derived:
                if self.is_hidden(base):
                    return True
                continue
            reason = decision.hidden.get(base)
            if reason is None:
                continue
            if item.follow == "hidden" or reason in PRIMARY_REASONS:
                return True
        return False

    def value(self, key: str) -> float:
        """The published number: NaN when hidden, rounded per the policy for counts.

        Examples
        --------
        >>> reg = ReleaseRegistry()
        >>> _ = reg.add_count("n", 12)
        >>> _ = reg.decide(DisclosurePolicy(profile="nhs"))
        >>> reg.value("n")
        10.0
        """
        if key in self._counts:
            count = self._counts[key]
            if not count.published:
                raise registry_error("an unpublished count has no published value", key=key)
            if self.is_hidden(key):
                return float("nan")
            return float(self.decision.policy.round_count(float(count.value)))
        if self.is_hidden(key):
            return float("nan")
        item = self._derived[key]
        return item.value

    def display(self, key: str) -> str:
        """The number as printed: :data:`MARK` when hidden (never ``"< k"``).

        Examples
        --------
        >>> reg = ReleaseRegistry()
        >>> _ = reg.add_count("all", 70); _ = reg.add_count("a", 62); _ = reg.add_count("b", 8)
        >>> _ = reg.add_sum("all", ["a", "b"])
        >>> _ = reg.decide()
        >>> reg.display("a"), reg.display("b"), reg.display("all")
        ('[c]', '[c]', '70')
        """
        number = self.value(key)
        if self.is_hidden(key):
            return MARK
        if key in self._counts:
            return format_cell(number, kind="count")
        item = self._derived[key]
        return format_cell(number, kind=item.kind, decimals=item.decimals)

    def summary(self) -> dict[str, int]:
        """Published counts: ``shown``, ``primary`` and ``complementary`` hidden."""
        decision = self.decision
        published = [k for k, c in self._counts.items() if c.published]
        return {
            "shown": sum(k not in decision.hidden for k in published),
            "primary": sum(decision.hidden.get(k) in PRIMARY_REASONS for k in published),
            "complementary": sum(decision.hidden.get(k) == "complementary" for k in published),
        }

    def record(self, ledger: ReleaseLedger) -> None:
        """Record every shown count with a ledger key in ``ledger`` (its true value), and
        every count hidden as a complement among the ledger's hidden values.

        Examples
        --------
        >>> reg = ReleaseRegistry()
        >>> _ = reg.add_count("n", 52, ledger_key=("s", "outcomes", "who5", "n_pairs"))
        >>> _ = reg.decide()
        >>> ledger = ReleaseLedger(); reg.record(ledger); ledger.entries
        {('s', 'outcomes', 'who5', 'n_pairs'): {52}}
        """
        decision = self.decision
        for key, count in self._counts.items():
            if count.ledger_key is None or not count.published:
                continue
            reason = decision.hidden.get(key)
            if reason is None:
                ledger.record(count.ledger_key, count.value)
            elif reason == "complementary":  # not shown, but it may follow from the rest
                ledger.record(count.ledger_key, count.value, shown=False)

    def table_values(self, keys: Mapping[tuple[str, str], str]) -> pd.DataFrame:
        """A table's published values (NaN when hidden) from :meth:`add_table`'s keys."""
        rows = list(dict.fromkeys(r for r, _ in keys))
        cols = list(dict.fromkeys(c for _, c in keys))
        data = np.full((len(rows), len(cols)), np.nan)
        for (r, c), key in keys.items():
            data[rows.index(r), cols.index(c)] = self.value(key)
        return pd.DataFrame(data, index=rows, columns=cols)
