"""The cohort report: one ingested study → disclosure-controlled results and report."""

from mentoreval.report.cohort.analysis import (
    COMPARISON_TABLE_COLUMNS,
    TEMPLATE,
    CohortReport,
    CohortResults,
    Finding,
    analyse_cohort,
    format_change,
    format_finding,
    format_headline,
    open_cohort_report,
    policy_for_study,
    run_cohort_report,
    write_cohort_outputs,
)

__all__ = [
    "COMPARISON_TABLE_COLUMNS",
    "TEMPLATE",
    "CohortReport",
    "CohortResults",
    "Finding",
    "analyse_cohort",
    "format_change",
    "format_finding",
    "format_headline",
    "open_cohort_report",
    "policy_for_study",
    "run_cohort_report",
    "write_cohort_outputs",
]
