"""The cohort report's analysis layer: one ingested study → disclosure-controlled results.

Report stage, between ``stats`` and the papermill template. :func:`analyse_cohort` runs the
whole analysis once (in the calling process, not in the report kernel), applies disclosure
control to every table *before* anything is written, draws the figures, and returns a
frozen :class:`CohortResults`. :func:`write_cohort_outputs` saves it as ``tables/*.csv``,
``results.json`` and ``figures/*.png|svg``. The template
(``notebooks/templates/cohort_report.ipynb``) then only loads those files with
:func:`open_cohort_report` and shows them, one library call per cell, so the kernel does
no statistics.

Plain-language text comes from the ``format_*`` functions: :func:`format_finding` turns an
effect size and its confidence interval into a calibrated judgement ("a small improvement,
consistent with no change"); numbers stay numbers until then.

:func:`run_cohort_report` is what ``mentoreval report`` runs: ingest → analyse → write →
execute the template → HTML → PDF → manifest → egress scan (every pseudonym and raw id is
a forbidden string), under one progress bar.

Modules: ``analysis`` (assembly), ``inputs``, ``comparisons``, ``tables``, ``release``
(disclosure and the release ledger), ``caveats`` and :mod:`mentoreval.report.wording` (words),
``figures``, ``results``, ``outputs`` (files), ``document`` (the notebook-facing
:class:`CohortReport`), ``runner`` (:func:`run_cohort_report`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from mentoreval.report.cohort.document import CohortReport, open_cohort_report

if TYPE_CHECKING:  # pragma: no cover
    from mentoreval.report.cohort.analysis import analyse_cohort
    from mentoreval.report.cohort.outputs import write_cohort_outputs
    from mentoreval.report.cohort.release import policy_for_study
    from mentoreval.report.cohort.results import COMPARISON_TABLE_COLUMNS, CohortResults
    from mentoreval.report.cohort.runner import TEMPLATE, run_cohort_report
    from mentoreval.report.wording import (
        Finding,
        format_change,
        format_finding,
        format_headline,
    )

#: Where each name lives; imported on first use. The report kernel imports only
#: :func:`open_cohort_report` from here, so it must not pay for the analysis stack
#: (statistics, disclosure control's linear programs, the runner): seconds per report.
_LAZY = {
    "analyse_cohort": "mentoreval.report.cohort.analysis",
    "write_cohort_outputs": "mentoreval.report.cohort.outputs",
    "policy_for_study": "mentoreval.report.cohort.release",
    "COMPARISON_TABLE_COLUMNS": "mentoreval.report.cohort.results",
    "CohortResults": "mentoreval.report.cohort.results",
    "TEMPLATE": "mentoreval.report.cohort.runner",
    "run_cohort_report": "mentoreval.report.cohort.runner",
    "Finding": "mentoreval.report.wording",
    "format_change": "mentoreval.report.wording",
    "format_finding": "mentoreval.report.wording",
    "format_headline": "mentoreval.report.wording",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
