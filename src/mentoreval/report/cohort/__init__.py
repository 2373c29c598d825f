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

from mentoreval.report.cohort.analysis import analyse_cohort
from mentoreval.report.cohort.document import CohortReport, open_cohort_report
from mentoreval.report.cohort.outputs import write_cohort_outputs
from mentoreval.report.cohort.release import policy_for_study
from mentoreval.report.cohort.results import COMPARISON_TABLE_COLUMNS, CohortResults
from mentoreval.report.cohort.runner import TEMPLATE, run_cohort_report
from mentoreval.report.wording import Finding, format_change, format_finding, format_headline

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
