"""Registering a release: the counts a report shows, the relations between them and the
numbers derived from them (stage: protect).

:class:`CountRegistry` holds what :class:`~mentoreval.disclose.release.ReleaseRegistry`
decides on: every count under one stable key with its true value (:class:`Count`), the
linear relations between counts (:class:`Relation`: margins, ``linked = received −
excluded``, groups summing to the total) and the numbers computed from counts
(:class:`Derived`: percentages, ``df = n − 1``, means and effect sizes of a group). Every
relation must hold exactly for the true counts; registering again invalidates a decision.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, cast

import pandas as pd

from mentoreval.disclose.reasons import LedgerKey
from mentoreval.errors import DisclosureError, Problem

if TYPE_CHECKING:
    from mentoreval.disclose.decide import Decision

__all__ = [
    "Count",
    "CountRegistry",
    "Derived",
    "DerivedKind",
    "Follow",
    "Relation",
    "registry_error",
]

DerivedKind = Literal["count", "percent", "number", "p"]
Follow = Literal["hidden", "primary"]


def registry_error(
    message: str, *, key: str | None = None, fix: str | None = None
) -> DisclosureError:
    """A :class:`~mentoreval.errors.DisclosureError` holding one problem.

    Examples
    --------
    >>> str(registry_error("not decided", key="cohort", fix="call decide()"))
    'cohort: not decided (fix: call decide())'
    """
    problem = Problem(message, key=key, fix=fix)
    return DisclosureError(str(problem), (problem,))


def _as_count(key: str, value: object) -> int:
    """A count of students as an ``int``; refuses NaN, negatives and fractions."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise registry_error(f"count {value!r} is not a number", key=key, fix="register a count")
    number = float(value)
    if math.isnan(number) or number < 0 or number != math.floor(number):
        raise registry_error(
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
    keep
        A headline count (the n of an outcome): complementary suppression hides it only
        when no other cell of the relation will do.
    """

    key: str
    value: int
    published: bool = True
    sensitive: bool = True
    ledger_key: LedgerKey | None = None
    keep: bool = False


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


class CountRegistry:
    """The counts, relations and derived numbers of one release (the registering half of
    :class:`~mentoreval.disclose.release.ReleaseRegistry`, which decides and reads back).

    Parameters
    ----------
    name
        The release's name in messages when several releases are audited together (e.g.
        ``"cohort 2025 (March)"``).
    """

    def __init__(self, name: str = "report") -> None:
        self.name = str(name)
        self._counts: dict[str, Count] = {}
        self._relations: dict[tuple[tuple[tuple[str, int], ...], int], Relation] = {}
        self._derived: dict[str, Derived] = {}
        self._decision: Decision | None = None

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
        keep: bool = False,
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
        keep
            A headline count: hidden as a complement only when nothing else will do.

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
        >>> from mentoreval.disclose.release import ReleaseRegistry
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
            raise registry_error(f"key {key!r} is not a non-empty string", fix="use a dotted path")
        if key in self._derived:
            raise registry_error("already registered as a derived number", key=key)
        number = _as_count(key, value)
        lkey: LedgerKey | None = None
        if ledger_key is not None:
            parts = tuple(str(p) for p in ledger_key)
            if len(parts) != 4:
                raise registry_error(
                    f"ledger key {ledger_key!r} is not (study, table, group, statistic)", key=key
                )
            lkey = (parts[0], parts[1], parts[2], parts[3])
        old = self._counts.get(key)
        if old is not None:
            if old.value != number:
                raise registry_error(
                    f"registered as {old.value} and again as {number}",
                    key=key,
                    fix="one key is one count: give different counts different keys",
                )
            if old.ledger_key is not None and lkey is not None and old.ledger_key != lkey:
                raise registry_error(f"ledger key {old.ledger_key} and again {lkey}", key=key)
            published = published or old.published
            sensitive = sensitive or old.sensitive
            lkey = lkey or old.ledger_key
            keep = keep or old.keep
        self._counts[key] = Count(key, number, bool(published), bool(sensitive), lkey, keep)
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
        >>> from mentoreval.disclose.release import ReleaseRegistry
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
            raise registry_error("a relation needs at least one count")
        self._require(clean)
        if total is not None and total not in clean:
            raise registry_error("the total is not a term of the relation", key=total)
        if name is None:
            name = _relation_name(clean, int(constant))
        lhs = sum(c * self._counts[k].value for k, c in clean.items())
        if lhs != int(constant):
            raise registry_error(
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
        >>> from mentoreval.disclose.release import ReleaseRegistry
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
            raise registry_error(
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
        >>> from mentoreval.disclose.release import ReleaseRegistry
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
        >>> from mentoreval.disclose.release import ReleaseRegistry
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
            raise registry_error(f"{part} is larger than {whole}", key=part)
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
        >>> from mentoreval.disclose.release import ReleaseRegistry
        >>> reg = ReleaseRegistry()
        >>> _ = reg.add_count("ancova.n", 7)
        >>> reg.add_derived("ancova.df", 4, base=["ancova.n"], kind="count")
        'ancova.df'
        >>> _ = reg.decide()
        >>> reg.display("ancova.df")
        '[c]'
        """
        if key in self._counts:
            raise registry_error("already registered as a count", key=key)
        if not base:
            raise registry_error("a derived number needs the counts it rests on", key=key)
        if kind not in ("count", "percent", "number", "p") or follow not in ("hidden", "primary"):
            raise registry_error(f"unknown kind {kind!r} or follow {follow!r}", key=key)
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
        >>> from mentoreval.disclose.release import ReleaseRegistry
        >>> reg = ReleaseRegistry()
        >>> keys = reg.add_table("likert", t, count_columns=["agree", "other"],
        ...                      total_column="total", attribute=True)
        >>> keys[("y2", "agree")], len(reg.relations)
        ('likert.y2.agree', 2)
        """
        cells = [str(c) for c in count_columns]
        columns = [*cells, *([str(total_column)] if total_column is not None else [])]
        if not frame.index.is_unique:
            raise registry_error("row labels are not unique", key=name, fix="label each row once")
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
