"""The cohort report's measures taken once (mentoring quality, asked after the programme):
described at their one wave, never as a before/after change (issue 16, point 6).

Report stage (how it is shown), for :class:`~mentoreval.report.cohort.document.CohortReport`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mentoreval.report.cohort.arms import likert_figures
from mentoreval.report.sections import ref_list

if TYPE_CHECKING:  # pragma: no cover
    from mentoreval.report.cohort.document import CohortReport

__all__ = ["show_measured_once"]


def show_measured_once(report: CohortReport) -> None:
    """A subsection of the outcomes for the scales scored at one wave only: their
    descriptive table (n, mean, SD, CI per group), pointing to their reliability and item
    answers; nothing when every scale was scored at both waves."""
    table = report.tables.get("descriptives")
    if table is None or table.empty:
        return
    report._md("### Measures taken once")
    at = report._mark()
    shown = table.assign(
        scale=[report._scale_label(str(i), str(s))
               for i, s in zip(table["instrument"], table["scale"], strict=True)]
    )  # fmt: skip
    report.tables = {**report.tables, "descriptives_once": shown}
    grouped = shown["group"].astype(str).ne("all").any()
    number = report._table(
        "descriptives_once",
        columns=["scale", *(["group"] if grouped else []), "wave", "n", "mean", "sd",
                 "ci_low", "ci_high"],
        ci={"mean": ("ci_low", "ci_high")},
        caption="Measures taken at one wave only: students who answered, mean and SD",
    )  # fmt: skip
    items = [
        name
        for instrument in dict.fromkeys(table["instrument"].astype(str))
        for name, _ in likert_figures(report.results["figures"], instrument)
    ]
    where = ref_list([number], "Table")
    if where:
        extra = "; the answers to each item are in the item answers appendix" if items else ""
        report._md(
            f"These measures were asked at one survey only, so they describe the students at "
            f"that time and show no change ({where}; their reliability is in the methods "
            f"appendix{extra}).",
            at=at,
        )
