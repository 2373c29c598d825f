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
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, cast

import numpy as np
import pandas as pd

from mentoreval.config.disclosure import DisclosurePolicy
from mentoreval.disclose.formatting import format_cell
from mentoreval.disclose.ledger import ReleaseLedger
from mentoreval.disclose.reasons import PRIMARY_REASONS, LedgerKey, Reason
from mentoreval.errors import DisclosureError, Problem

if TYPE_CHECKING:
    from mentoreval.disclose.audit import AuditResult

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

DerivedKind = Literal["count", "percent", "number", "p"]
Follow = Literal["hidden", "primary"]


def _problem(message: str, *, key: str | None = None, fix: str | None = None) -> DisclosureError:
    problem = Problem(message, key=key, fix=fix)
    return DisclosureError(str(problem), (problem,))


def _as_count(key: str, value: object) -> int:
    """A count of students as an ``int``; refuses NaN, negatives and fractions."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _problem(f"count {value!r} is not a number", key=key, fix="register a count")
    number = float(value)
    if math.isnan(number) or number < 0 or number != math.floor(number):
        raise _problem(
            f"count {value!r} is not a non-negative whole number",
            key=key,
            fix="register the true count of distinct students",
        )
    return int(number)


def _relation_name(terms: Mapping[str, int], constant: int) -> str:
    """``"b - a - 2*c = 0"``."""
    words = []
    for i, (key, coef) in enumerate(terms.items()):
        sign = ("-" if coef < 0 else "") if i == 0 else ("- " if coef < 0 else "+ ")
        words.append(f"{sign}{f'{abs(coef)}*' if abs(coef) != 1 else ''}{key}")
    return f"{' '.join(words)} = {constant}"


@dataclass(frozen=True)
class Count:
    """One released count.

    Attributes
    ----------
    key
        Stable key, e.g. ``"flow.linked"`` or ``"bands.who5.pre.poor"``.
    value
        True number of distinct students.
    published
        Whether the report shows it; an unpublished count (e.g. the complement of a share)
        exists only through its relations.
    sensitive
        Whether it counts students (the small-cell rule applies).
    ledger_key
        The cell's key in the :class:`~mentoreval.disclose.ReleaseLedger`
        ``(study, table, group, statistic)``, linking it to other releases of the same
        cell (an earlier run, the annual report).
    """

    key: str
    value: int
    published: bool = True
    sensitive: bool = True
    ledger_key: LedgerKey | None = None


@dataclass(frozen=True)
class Relation:
    """A linear relation between counts: ``sum(coefficient * count) == constant``.

    Attributes
    ----------
    name
        Readable form, e.g. ``"flow.received = flow.kept + flow.excluded"``.
    terms
        ``(key, coefficient)`` pairs.
    constant
        Right-hand side.
    total
        For a sum, the key of its total (the complementary choice prefers inner cells).
    attribute
        The parts are classes of the same students (bands, answer options, yes/no), so a
        part holding everyone of a non-empty total is disclosive (class disclosure).
    """

    name: str
    terms: tuple[tuple[str, int], ...]
    constant: int = 0
    total: str | None = None
    attribute: bool = False

    @property
    def keys(self) -> tuple[str, ...]:
        """The keys of the relation's counts."""
        return tuple(key for key, _ in self.terms)


@dataclass(frozen=True)
class Derived:
    """A number computed from counts, hidden when they are.

    Attributes
    ----------
    key
        Stable key, e.g. ``"outcomes.who5.total.df"``.
    value
        The number (NaN when not defined).
    base
        The counts (or derived numbers) it is computed from.
    kind
        ``"count"``, ``"percent"``, ``"number"`` or ``"p"``: how it is formatted.
    decimals
        Decimal places for ``"number"``.
    follow
        ``"hidden"``: hidden whenever a base is hidden (percentages, df, anything from
        which the count can be worked back). ``"primary"``: hidden only when a base is a
        primary suppression, for statistics that do not reveal their n (an effect size of a
        group of 62 hidden as a complement may be shown).
    """

    key: str
    value: float
    base: tuple[str, ...]
    kind: DerivedKind = "number"
    decimals: int = 2
    follow: Follow = "hidden"


@dataclass(frozen=True)
class Decision:
    """What :meth:`ReleaseRegistry.decide` chose.

    Attributes
    ----------
    policy
        The disclosure policy applied.
    hidden
        Every hidden count → its :data:`Reason` (unpublished counts included).
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


class ReleaseRegistry:
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

    def __init__(self, name: str = "report") -> None:
        self.name = str(name)
        self._counts: dict[str, Count] = {}
        self._relations: dict[tuple[tuple[tuple[str, int], ...], int], Relation] = {}
        self._derived: dict[str, Derived] = {}
        self._decision: Decision | None = None

    # ------------------------------------------------------------------ registering

    @property
    def counts(self) -> Mapping[str, Count]:
        """Every registered count by key."""
        return dict(self._counts)

    @property
    def relations(self) -> tuple[Relation, ...]:
        """Every registered relation."""
        return tuple(self._relations.values())

    @property
    def derived(self) -> Mapping[str, Derived]:
        """Every registered derived number by key."""
        return dict(self._derived)

    def _require(self, keys: Iterable[str], *, derived: bool = False) -> None:
        missing = [
            k for k in keys if k not in self._counts and not (derived and k in self._derived)
        ]
        if missing:
            raise DisclosureError(
                f"{len(missing)} key(s) not registered as counts",
                tuple(
                    Problem("not registered", key=k, fix="register it with add_count first")
                    for k in missing
                ),
            )

    def add_count(
        self,
        key: str,
        value: float,
        *,
        published: bool = True,
        sensitive: bool = True,
        ledger_key: Sequence[Hashable] | None = None,
    ) -> str:
        """Register a count (again: the same key shown in another place is one count).

        Parameters
        ----------
        key
            Stable key, e.g. ``"groups.control.n"``; the same count shown in several tables
            is registered under one key, so it is hidden everywhere or nowhere.
        value
            The true number of distinct students.
        published
            Whether it is shown (``False``: implied only, e.g. a share's complement).
        sensitive
            Whether it counts students (``False`` exempts it from the small-cell rule).
        ledger_key
            ``(study, table, group, statistic)`` of the cell in the release ledger.

        Returns
        -------
        str
            The key.

        Raises
        ------
        DisclosureError
            The key is registered with another value or ledger key, or the value is not a
            non-negative whole number.

        Examples
        --------
        >>> reg = ReleaseRegistry()
        >>> reg.add_count("groups.control.n", 62)
        'groups.control.n'
        >>> reg.add_count("groups.control.n", 62)  # shown again in the ANCOVA table
        'groups.control.n'
        >>> reg.add_count("groups.control.n", 61)
        Traceback (most recent call last):
        ...
        mentoreval.errors.DisclosureError: groups.control.n: registered as 62 and again as 61 (fix: one key is one count: give different counts different keys)
        """
        if not isinstance(key, str) or not key:
            raise _problem(f"key {key!r} is not a non-empty string", fix="use a dotted path")
        if key in self._derived:
            raise _problem("already registered as a derived number", key=key)
        number = _as_count(key, value)
        lkey: LedgerKey | None = None
        if ledger_key is not None:
            parts = tuple(str(p) for p in ledger_key)
            if len(parts) != 4:
                raise _problem(
                    f"ledger key {ledger_key!r} is not (study, table, group, statistic)", key=key
                )
            lkey = (parts[0], parts[1], parts[2], parts[3])
        old = self._counts.get(key)
        if old is not None:
            if old.value != number:
                raise _problem(
                    f"registered as {old.value} and again as {number}",
                    key=key,
                    fix="one key is one count: give different counts different keys",
                )
            if old.ledger_key is not None and lkey is not None and old.ledger_key != lkey:
                raise _problem(f"ledger key {old.ledger_key} and again {lkey}", key=key)
            published = published or old.published
            sensitive = sensitive or old.sensitive
            lkey = lkey or old.ledger_key
        self._counts[key] = Count(key, number, bool(published), bool(sensitive), lkey)
        self._decision = None
        return key

    def add_relation(
        self,
        terms: Mapping[str, int],
        constant: int = 0,
        *,
        name: str | None = None,
        total: str | None = None,
        attribute: bool = False,
    ) -> Relation:
        """Register ``sum(terms[key] * count[key]) == constant``; it must hold exactly.

        Examples
        --------
        >>> reg = ReleaseRegistry()
        >>> for key, n in {"a": 30, "b": 39, "c": 9}.items():
        ...     _ = reg.add_count(key, n)
        >>> reg.add_relation({"b": 1, "a": -1, "c": -1}).name
        'b - a - c = 0'
        >>> reg.add_relation({"b": 1, "a": -1}, 8)
        Traceback (most recent call last):
        ...
        mentoreval.errors.DisclosureError: b - a = 8: the true counts give 9, not 8 (fix: register the relation the counts really satisfy)
        """
        clean = {str(k): int(c) for k, c in terms.items() if int(c) != 0}
        if not clean:
            raise _problem("a relation needs at least one count")
        self._require(clean)
        if total is not None and total not in clean:
            raise _problem("the total is not a term of the relation", key=total)
        if name is None:
            name = _relation_name(clean, int(constant))
        lhs = sum(c * self._counts[k].value for k, c in clean.items())
        if lhs != int(constant):
            raise _problem(
                f"the true counts give {lhs}, not {int(constant)}",
                key=name,
                fix="register the relation the counts really satisfy",
            )
        terms_t = tuple(sorted(clean.items()))
        ident = (terms_t, int(constant))
        old = self._relations.get(ident)
        relation = Relation(
            name,
            tuple(clean.items()),
            int(constant),
            total if old is None else (old.total or total),
            attribute or (old is not None and old.attribute),
        )
        if old is not None:
            relation = Relation(
                old.name, old.terms, old.constant, relation.total, relation.attribute
            )
        self._relations[ident] = relation
        self._decision = None
        return relation

    def add_sum(
        self, total: str, parts: Sequence[str], *, attribute: bool = False, name: str | None = None
    ) -> Relation:
        """Register ``total = sum(parts)`` (a margin, groups of a total, waves, bands …).

        Parameters
        ----------
        total
            Key of the total.
        parts
            Keys of the parts.
        attribute
            ``True`` when the parts are classes of the same students (bands, answer options,
            yes/no), so that a part holding everyone is a class disclosure (100 %).
        name
            Readable name for messages (default ``"total = a + b"``).

        Examples
        --------
        >>> reg = ReleaseRegistry()
        >>> for key, n in {"bands.pre.total": 57, "bands.pre.low": 44, "bands.pre.mid": 10,
        ...                "bands.pre.high": 3}.items():
        ...     _ = reg.add_count(key, n)
        >>> reg.add_sum("bands.pre.total", ["bands.pre.low", "bands.pre.mid", "bands.pre.high"],
        ...             attribute=True).name
        'bands.pre.total = bands.pre.low + bands.pre.mid + bands.pre.high'
        """
        parts = [str(p) for p in parts]
        if not parts or total in parts or len(set(parts)) != len(parts):
            raise _problem(
                "a sum needs distinct parts, none of them the total",
                key=total,
                fix="list each part once",
            )
        terms = {total: 1, **dict.fromkeys(parts, -1)}
        return self.add_relation(
            terms,
            0,
            name=name or f"{total} = {' + '.join(parts)}",
            total=total,
            attribute=attribute,
        )

    def add_difference(self, difference: str, minuend: str, subtrahend: str) -> Relation:
        """Register ``difference = minuend − subtrahend`` (``linked = received − excluded``).

        Examples
        --------
        >>> reg = ReleaseRegistry()
        >>> for key, n in {"flow.received": 60, "flow.excluded": 5, "flow.linked": 55}.items():
        ...     _ = reg.add_count(key, n)
        >>> reg.add_difference("flow.linked", "flow.received", "flow.excluded").name
        'flow.linked = flow.received - flow.excluded'
        """
        return self.add_sum(
            minuend,
            [subtrahend, difference],
            name=f"{difference} = {minuend} - {subtrahend}",
        )

    def add_equal(self, a: str, b: str) -> Relation:
        """Register that two keys hold the same count (prefer one key for one count)."""
        return self.add_relation({a: 1, b: -1}, 0, name=f"{a} = {b}")

    def add_share(
        self, part: str, whole: str, *, rest: str | None = None, attribute: bool = True
    ) -> str:
        """Register ``part`` of ``whole`` (59 of 60 with meetings) and its unpublished rest.

        The rest (``whole − part``, 1 in the example) is registered as an unpublished count
        so that the decision protects it like any other: a small rest is a primary
        suppression, and ``part`` of ``whole`` would reveal it.

        Returns
        -------
        str
            The key of the rest (default ``part + "~rest"``).

        Examples
        --------
        >>> reg = ReleaseRegistry()
        >>> _ = reg.add_count("meetings.any", 59); _ = reg.add_count("meetings.n", 60)
        >>> reg.add_share("meetings.any", "meetings.n")
        'meetings.any~rest'
        >>> reg.decide().hidden
        {'meetings.any~rest': 'small', 'meetings.any': 'complementary'}
        >>> reg.display("meetings.any"), reg.display("meetings.n")
        ('[c]', '60')
        """
        self._require([part, whole])
        rest_key = rest or f"{part}~rest"
        value = self._counts[whole].value - self._counts[part].value
        if value < 0:
            raise _problem(f"{part} is larger than {whole}", key=part)
        self.add_count(rest_key, value, published=False)
        self.add_sum(whole, [part, rest_key], attribute=attribute)
        return rest_key

    def add_derived(
        self,
        key: str,
        value: float,
        *,
        base: Sequence[str],
        kind: DerivedKind = "number",
        decimals: int = 2,
        follow: Follow = "hidden",
    ) -> str:
        """Register a number computed from counts (df = n − 1, a mean, d, p …).

        Examples
        --------
        >>> reg = ReleaseRegistry()
        >>> _ = reg.add_count("ancova.n", 7)
        >>> reg.add_derived("ancova.df", 4, base=["ancova.n"], kind="count")
        'ancova.df'
        >>> _ = reg.decide()
        >>> reg.display("ancova.df")
        '[c]'
        """
        if key in self._counts:
            raise _problem("already registered as a count", key=key)
        if not base:
            raise _problem("a derived number needs the counts it rests on", key=key)
        if kind not in ("count", "percent", "number", "p") or follow not in ("hidden", "primary"):
            raise _problem(f"unknown kind {kind!r} or follow {follow!r}", key=key)
        self._require(base, derived=True)
        number = float("nan") if value is None or pd.isna(value) else float(value)
        self._derived[key] = Derived(key, number, tuple(base), kind, int(decimals), follow)
        self._decision = None
        return key

    def add_percent(self, key: str, part: str, whole: str, *, follow: Follow = "hidden") -> str:
        """Register ``100 * part / whole`` (NaN when ``whole`` is 0), hidden with either."""
        self._require([part, whole])
        whole_n = self._counts[whole].value
        pct = 100.0 * self._counts[part].value / whole_n if whole_n else float("nan")
        return self.add_derived(key, pct, base=[part, whole], kind="percent", follow=follow)

    def add_table(
        self,
        name: str,
        frame: pd.DataFrame,
        *,
        count_columns: Sequence[str],
        total_column: str | None = None,
        total_row: Hashable | None = None,
        attribute: bool = False,
    ) -> dict[tuple[str, str], str]:
        """Register a count table: keys ``name.row.column``, its row and column margins.

        Parameters
        ----------
        name
            The table's key prefix.
        frame
            Rows are groups (or items); columns hold counts.
        count_columns
            The inner cells.
        total_column
            A column of row totals (each row is then ``total = sum(cells)``).
        total_row
            Index label of a row of column totals.
        attribute
            The row's cells are classes of the row's students (class disclosure).

        Returns
        -------
        dict
            ``(row, column)`` (labels as strings) → key.

        Examples
        --------
        >>> t = pd.DataFrame({"agree": [30, 3], "other": [26, 45]}, index=["y1", "y2"])
        >>> t["total"] = t.sum(axis=1)
        >>> reg = ReleaseRegistry()
        >>> keys = reg.add_table("likert", t, count_columns=["agree", "other"],
        ...                      total_column="total", attribute=True)
        >>> keys[("y2", "agree")], len(reg.relations)
        ('likert.y2.agree', 2)
        """
        cells = [str(c) for c in count_columns]
        columns = [*cells, *([str(total_column)] if total_column is not None else [])]
        if not frame.index.is_unique:
            raise _problem("row labels are not unique", key=name, fix="label each row once")
        rows = [str(r) for r in frame.index]
        keys: dict[tuple[str, str], str] = {}
        for label, row in zip(rows, frame.index, strict=True):
            for column in columns:
                key = f"{name}.{label}.{column}"
                keys[(label, column)] = self.add_count(key, cast(float, frame.at[row, column]))
        inner = rows if total_row is None else [r for r in rows if r != str(total_row)]
        if total_column is not None:
            for label in rows:
                self.add_sum(
                    keys[(label, str(total_column))],
                    [keys[(label, c)] for c in cells],
                    attribute=attribute,
                )
        if total_row is not None:
            for column in columns:
                self.add_sum(keys[(str(total_row), column)], [keys[(r, column)] for r in inner])
        return keys

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
        hidden: dict[str, Reason] = {}
        if not policy.active:
            return hidden
        k = policy.threshold
        for key, count in self._counts.items():
            if count.sensitive and policy.is_small(count.value):
                hidden[key] = "small"
            elif count.ledger_key is not None and any(
                1 <= abs(count.value - old) <= k - 1
                for old in (earlier_values or {}).get(count.ledger_key, ())
            ):
                hidden[key] = "differencing"
        if class_disclosure:
            for relation in self._relations.values():
                if not relation.attribute or relation.total is None:
                    continue
                whole = self._counts[relation.total].value
                for key in relation.keys:
                    if key != relation.total and whole > 0 and self._counts[key].value == whole:
                        hidden.setdefault(key, "class")
        for key, count in self._counts.items():
            if not count.published:
                hidden.setdefault(key, "unpublished")
        return hidden

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
        from mentoreval.disclose.audit import build_system, earlier_values

        policy = policy or DisclosurePolicy()
        for other in earlier:
            if other is self:
                raise _problem("a release cannot be earlier than itself", key=self.name)
            other.decision  # noqa: B018 - raises when not decided
        known = earlier_values(ledger, earlier)
        hidden = self.primary(policy, earlier_values=known, class_disclosure=class_disclosure)
        releases = [*((o, o.decision.hidden) for o in earlier), (self, hidden)]
        memo: dict[tuple[frozenset[str], str], tuple[float, float, tuple[int, ...]]] = {}
        added = rounds = 0
        while True:
            system = build_system(releases, policy=policy, ledger=ledger, current=len(earlier))
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
                result = system.audit(only_protected=True, memo=memo)
                if result.passed:
                    result = system.audit(memo=memo)
                    break
                pick = system.lp_pick(result.failures[0])
                if pick is None:
                    result.raise_if_failed()
                rounds += 1
            if pick is None:
                raise _problem(
                    f"{stuck} can be worked out from numbers this release cannot hide "
                    "(an earlier release, or a relation of unpublished counts)",
                    key=stuck,
                    fix="withhold the earlier release's counts or merge the small group",
                )
            hidden[pick] = "complementary"
            releases[-1] = (self, hidden)
            added += 1
            if added > max_rounds:
                raise _problem("complementary suppression did not settle", key=self.name)
        if prune and added:
            hidden, result = self._prune(releases, hidden, policy, ledger, len(earlier), memo)
        unpublished = frozenset(k for k, c in self._counts.items() if not c.published)
        self._decision = Decision(policy, dict(hidden), result, rounds, unpublished)
        return self._decision

    def _prune(
        self,
        releases: list[tuple[ReleaseRegistry, Mapping[str, Reason]]],
        hidden: dict[str, Reason],
        policy: DisclosurePolicy,
        ledger: ReleaseLedger | None,
        current: int,
        memo: dict[tuple[frozenset[str], str], tuple[float, float, tuple[int, ...]]],
    ) -> tuple[dict[str, Reason], AuditResult]:
        """Show again each complement whose return keeps the audit passing."""
        from mentoreval.disclose.audit import build_system

        complements = [k for k, r in hidden.items() if r == "complementary"]
        complements.sort(key=lambda k: (-self._counts[k].value, k))
        for key in complements:
            trial = {k: r for k, r in hidden.items() if k != key}
            releases[-1] = (self, trial)
            system = build_system(releases, policy=policy, ledger=ledger, current=current)
            if policy.round_to is None and system.propagation_pick() is not None:
                continue
            if system.audit(only_protected=True, memo=memo).passed:
                hidden = trial
        releases[-1] = (self, hidden)
        system = build_system(releases, policy=policy, ledger=ledger, current=current)
        return hidden, system.audit(memo=memo)

    # ------------------------------------------------------------------ reading back

    @property
    def decision(self) -> Decision:
        """The last decision; raises when counts were added since (or never decided)."""
        if self._decision is None:
            raise _problem(
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
                raise _problem("an unpublished count has no published value", key=key)
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
        """Record every shown count with a ledger key in ``ledger`` (its true value).

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
            if count.ledger_key is not None and count.published and key not in decision.hidden:
                ledger.record(count.ledger_key, count.value)

    def table_values(self, keys: Mapping[tuple[str, str], str]) -> pd.DataFrame:
        """A table's published values (NaN when hidden) from :meth:`add_table`'s keys."""
        rows = list(dict.fromkeys(r for r, _ in keys))
        cols = list(dict.fromkeys(c for _, c in keys))
        data = np.full((len(rows), len(cols)), np.nan)
        for (r, c), key in keys.items():
            data[rows.index(r), cols.index(c)] = self.value(key)
        return pd.DataFrame(data, index=rows, columns=cols)
