"""The annual report's results object: every disclosure-controlled table of one annual report.

Report stage (what is computed); built by :func:`mentoreval.report.annual.analysis.analyse_annual`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from mentoreval.config.annual import AnnualConfig
from mentoreval.disclose.ledger import ReleaseLedger

if TYPE_CHECKING:
    pass

__all__ = ["AnnualAnalysis"]


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
    """

    config: AnnualConfig
    tables: Mapping[str, pd.DataFrame]
    primary: tuple[tuple[str, str], ...]
    notes: tuple[str, ...] = ()
    ledger: ReleaseLedger = field(default_factory=ReleaseLedger)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    def to_frame(self) -> pd.DataFrame:
        """The ``pooled`` table."""
        return self.tables["pooled"].copy()

    def _repr_html_(self) -> str:
        return "".join(f"<h4>{k}</h4>{v.to_html(index=False)}" for k, v in self.tables.items())
