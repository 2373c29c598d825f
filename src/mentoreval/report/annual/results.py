"""The annual report's results object: every disclosure-controlled table of one annual report.

Report stage (what is computed); built by :func:`mentoreval.report.annual.analysis.analyse_annual`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from mentoreval.config.annual import AnnualConfig
from mentoreval.disclose.ledger import ReleaseLedger

if TYPE_CHECKING:
    pass

__all__ = ["AnnualAnalysis", "annual_title"]


def annual_title(title: str, programmes: Iterable[str], years: Iterable[int]) -> str:
    """The report's heading: the config's title, naming the programmes and the years the
    report covers (from the stored cohorts) where the title does not already name them.

    Examples
    --------
    >>> annual_title("Peer mentoring: annual report", ["peer"], [2025, 2023, 2024])
    'Peer mentoring: annual report, 2023–2025'
    >>> annual_title("Annual report", ["peer", "faculty"], [2024])
    'Annual report: faculty and peer programmes, 2024'
    >>> annual_title("Peer mentoring 2023–2025", ["peer"], [2023, 2024, 2025])
    'Peer mentoring 2023–2025'
    """
    names = sorted({str(p) for p in programmes})
    ys = sorted({int(y) for y in years})
    head = title.strip().rstrip(".")
    folded = head.casefold()
    extras = []
    if names and not any(n.casefold() in folded for n in names):
        listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
        extras.append(f"{listed} programme{'s' if len(names) > 1 else ''}")
    if ys and not (str(ys[0]) in head and str(ys[-1]) in head):
        extras.append(str(ys[0]) if len(ys) == 1 else f"{ys[0]}–{ys[-1]}")
    if not extras:
        return head
    return head + (": " if len(extras) == 2 else ", ") + ", ".join(extras)


@dataclass(frozen=True)
class AnnualAnalysis:
    """Every disclosure-controlled table of an annual report, by name.

    ``tables``: ``cohorts`` (what was included), ``participation``, ``outcomes`` (per
    cohort), ``pooled`` (random effects, with τ² and I²), ``forest`` (forest-plot rows),
    ``trends``, ``trend_exclusions``, ``dose``, ``dose_models``, ``mentor_type``.
    Numbers stay numbers (NaN where suppressed, with a ``suppressed`` flag);
    :func:`format_annual_table` makes the strings.

    Attributes
    ----------
    config
        The annual config.
    tables
        Name → DataFrame.
    primary
        Primary outcomes as ``(instrument, scale)``.
    notes
        Plain-language notes (exclusions, suppression, ledger decisions).
    ledger
        The release ledger including this report's releases (saved by
        :func:`save_release_ledger`).
    drawn
        The PNG and SVG of each figure already drawn from this analysis (name, as
        :func:`figure_alt_texts` names them → format → bytes). The report's ``show_*``
        methods fill it as they show the figures; :func:`write_annual_outputs` and the
        brief use those bytes, so a figure is drawn once, and the file saved is the picture
        shown.
    """

    config: AnnualConfig
    tables: Mapping[str, pd.DataFrame]
    primary: tuple[tuple[str, str], ...]
    notes: tuple[str, ...] = ()
    ledger: ReleaseLedger = field(default_factory=ReleaseLedger)
    drawn: dict[str, dict[str, bytes]] = field(default_factory=dict, compare=False, repr=False)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    @property
    def title(self) -> str:
        """The heading of the report and its brief (:func:`annual_title` of the cohorts)."""
        cohorts = self.tables.get("cohorts")
        if cohorts is None or cohorts.empty:
            return self.config.title
        return annual_title(self.config.title, cohorts["programme"], cohorts["year"])

    def to_frame(self) -> pd.DataFrame:
        """The ``pooled`` table."""
        return self.tables["pooled"].copy()

    def _repr_html_(self) -> str:
        return "".join(f"<h4>{k}</h4>{v.to_html(index=False)}" for k, v in self.tables.items())
