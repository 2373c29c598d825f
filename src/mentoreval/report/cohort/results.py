"""The cohort report's results object: every disclosure-controlled table, figure and finding.

Report stage (what is computed); built by :func:`mentoreval.report.cohort.analysis.analyse_cohort`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from mentoreval.config.disclosure import DisclosurePolicy
from mentoreval.disclose.ledger import ReleaseLedger
from mentoreval.report.numbers import format_numbers
from mentoreval.report.wording import Finding, format_headline

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["COMPARISON_TABLE_COLUMNS", "CohortResults"]


#: Columns of ``tables/comparisons.csv`` (the report contract). In a comparison design the
#: table has one row per group and scale (mentored first) and a last column ``group``; a
#: single-arm study has exactly these columns.
COMPARISON_TABLE_COLUMNS: list[str] = [
    "instrument", "scale", "pre", "post", "n_pairs", "mean_pre", "sd_pre", "mean_post",
    "sd_post", "mean_diff", "ci_low", "ci_high", "t", "df", "p_value", "p_adj", "d_z",
    "d_z_ci_low", "d_z_ci_high", "d_av", "g_av", "wilcoxon_p", "rank_biserial", "suppressed",
]  # fmt: skip


#: 2: ``table_data`` holds every table at full precision; ``tables/*.csv`` are rounded.
RESULTS_VERSION = 2


@dataclass(frozen=True)
class CohortResults:
    """Everything the cohort report shows, already disclosure-controlled.

    Attributes
    ----------
    study, title
        The study's name and its title.
    design
        ``"comparison"`` when a comparison group was analysed, else ``"single_arm"``.
    policy
        The disclosure policy applied.
    confidence
        CI level.
    tables
        Tidy tables by name (``comparisons`` with :data:`COMPARISON_TABLE_COLUMNS`,
        ``flow``, ``response_rates``, ``bands``, ``likert``, ``reliability``, ``balance``,
        ``ancova``, ``adjusted_means``, ``mixed``, ``imputation``, ``ipw``, ``d_ppc2``,
        ``attrition``, ``subgroups``, ``change``, ``multiplicity``, ``caveats``,
        ``instruments``, ``scales``, ``quality_flags``, ``missingness``,
        ``quarantine``, ``linkage``, ...). Every number resting on fewer than k students
        is NaN and its row has ``suppressed = True``.
    headline
        3–5 :class:`Finding` for the executive summary.
    notices
        Plain-language notices the report must show (disclosure off, cohort below the
        threshold, single-arm design, fits that failed).
    figures
        Figures by name (drawn from protected summaries; no individual points).
    info
        Study facts for the text: programme, cohort, waves, primary outcomes, options.
    ledger
        The release ledger checked, with this report's releases added (``None`` when no
        ledger was used); :func:`run_cohort_report` saves it once the report is released.
    """

    study: str
    title: str
    design: str
    policy: DisclosurePolicy
    confidence: float
    tables: Mapping[str, pd.DataFrame]
    headline: tuple[Finding, ...]
    notices: tuple[str, ...]
    figures: Mapping[str, Figure] = field(default_factory=dict, repr=False)
    info: Mapping[str, Any] = field(default_factory=dict)
    ledger: ReleaseLedger | None = field(default=None, repr=False)

    @property
    def below_threshold(self) -> bool:
        """Whether no outcome had k students with both waves (everything suppressed); for
        an unlinked or single-wave design, k responses at a wave."""
        if self.design in ("unlinked", "single_wave"):
            desc = self.tables.get("descriptives")
            return desc is None or desc.empty or bool(desc["n"].isna().all())
        comp = self.tables.get("comparisons")
        return comp is None or comp.empty or bool(comp["suppressed"].all())

    def to_frame(self) -> pd.DataFrame:
        """The ``comparisons`` table."""
        return self.tables["comparisons"].copy()

    def _repr_html_(self) -> str:
        items = "".join(f"<li>{format_headline(f, policy=self.policy)}</li>" for f in self.headline)
        return f"<h4>{self.title}</h4><ul>{items}</ul>" + format_numbers(
            self.tables["comparisons"], policy=self.policy
        ).to_html(index=False)
