"""Category labels are data too: rare levels are recoded to "other" before tabulation.

A covariate's free-text level (a student's name typed into "other, please specify"), a
site with three students or a mentor type held by one person identifies its students by
its *label*, whatever happens to its count. :func:`collapse_levels` recodes every level
with fewer than k distinct students into one ``"other"`` level (global recoding, the step
before cell suppression), and when that ``"other"`` is itself small, merges the smallest
remaining level into it until it is not, so that no label of a small level survives.

The returned mapping's keys are the original labels: it stays in ``data/`` and is never
published; only :attr:`LevelCollapse.labels` are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from mentoreval.config.disclosure import DisclosurePolicy
from mentoreval.errors import DisclosureError, Problem

__all__ = ["OTHER", "LevelCollapse", "collapse_levels"]

#: The label of the merged rare levels.
OTHER = "other"


@dataclass(frozen=True)
class LevelCollapse:
    """How a categorical variable's levels are published.

    Attributes
    ----------
    mapping
        Every observed level → its published label (internal: the keys include the rare
        labels themselves).
    counts
        Published label → distinct students.
    collapsed
        The original levels recoded to the other level (internal).
    other
        The label of the merged level.
    """

    mapping: Mapping[str, str]
    counts: Mapping[str, int]
    collapsed: tuple[str, ...]
    other: str = OTHER

    @property
    def labels(self) -> tuple[str, ...]:
        """The labels that may be published, sorted, the other level last."""
        shown = set(self.mapping.values())
        return (*sorted(shown - {self.other}), *([self.other] if self.other in shown else []))

    def apply(self, values: pd.Series) -> pd.Series:
        """Recode a column; missing values stay missing, unseen levels become other.

        Examples
        --------
        >>> c = collapse_levels(pd.Series(["a"] * 12 + ["b"] * 11 + ["Jo Bloggs"]), 10)
        >>> c.apply(pd.Series(["a", "Jo Bloggs", None])).tolist()
        ['a', 'other', <NA>]
        """
        text = values.astype("string")
        out = text.map(lambda v: v if pd.isna(v) else self.mapping.get(str(v), self.other))
        return out.astype("string")


def collapse_levels(
    values: pd.Series,
    k: int | DisclosurePolicy | None = None,
    *,
    ids: pd.Series | None = None,
    other: str = OTHER,
) -> LevelCollapse:
    """Recode levels with fewer than k distinct students to ``other`` (recursively).

    Parameters
    ----------
    values
        The level of each row (missing values are left out).
    k
        The threshold, or a policy (default k = 10); a policy that is off collapses
        nothing.
    ids
        Student of each row, aligned with ``values`` (default: each row is a student).
    other
        The merged level's label; an existing level of that name is merged into it.

    Returns
    -------
    LevelCollapse

    Examples
    --------
    >>> site = pd.Series(["north"] * 30 + ["south"] * 12 + ["east"] * 6 + ["west"] * 4
    ...                  + ["Jo Bloggs"])
    >>> c = collapse_levels(site, 10)
    >>> c.labels, dict(c.counts)
    (('north', 'south', 'other'), {'north': 30, 'other': 11, 'south': 12})

    When the rare levels together are still fewer than k, the smallest other level joins
    them, so neither "east" nor "Jo Bloggs" is named:

    >>> c = collapse_levels(pd.Series(["north"] * 30 + ["south"] * 12 + ["east"] * 4), 10)
    >>> c.labels, c.mapping["south"], dict(c.counts)
    (('north', 'other'), 'other', {'north': 30, 'other': 16})
    """
    if isinstance(k, DisclosurePolicy):
        threshold = k.threshold if k.active else 0
    else:
        threshold = 10 if k is None else int(k)
    if ids is not None and len(ids) != len(values):
        problem = Problem("ids and values differ in length", fix="pass aligned columns")
        raise DisclosureError(str(problem), (problem,))
    frame = pd.DataFrame(
        {
            "level": values.astype("string").to_numpy(),
            "id": (pd.Series(range(len(values))) if ids is None else ids).astype(str).to_numpy(),
        }
    ).dropna(subset=["level"])
    frame["level"] = frame["level"].astype(str)
    members: dict[str, set[str]] = {
        str(level): set(group["id"]) for level, group in frame.groupby("level", sort=True)
    }
    small = sorted(lvl for lvl, who in members.items() if len(who) < threshold)
    merged = set(small)
    if small and other in members:
        merged.add(other)

    def pooled() -> int:
        return len(set().union(*(members[lvl] for lvl in merged))) if merged else 0

    while merged and pooled() < threshold:
        rest = [lvl for lvl in members if lvl not in merged]
        if not rest:
            break
        merged.add(min(rest, key=lambda lvl: (len(members[lvl]), lvl)))
    mapping = {lvl: (other if lvl in merged else lvl) for lvl in members}
    counts: dict[str, int] = {}
    for label in sorted(set(mapping.values())):
        group = [lvl for lvl, out in mapping.items() if out == label]
        counts[label] = len(set().union(*(members[lvl] for lvl in group)))
    return LevelCollapse(mapping, counts, tuple(sorted(merged - {other})), other)
