"""The annual report: cohorts, years and programme types compared from the store.

Stage: *annual*. A programme lead's annual report reads every processed cohort it needs
from the multi-year store (:mod:`mentoreval.store.parquet`) and compares them:

- **participation and retention** per cohort (enrolled, pre and post responses, linked
  pairs, retention %);
- **outcome change** per cohort (paired, as in the cohort report) and per programme type,
  with **random-effects pooled** estimates (DerSimonian–Laird: τ², I², prediction
  interval) and forest-plot data;
- **trends** across years, only for instruments whose version is the same in every
  cohort (the others are listed with the reason);
- **dose** (meetings and regularity thirds, dose–response slope) and **mentor type**
  breakdowns, labelled exploratory.

Every published number passes disclosure control (:mod:`mentoreval.disclose.suppression`), and the
release ledger in ``<store>/ledger/`` blocks a later report from being subtracted from an
earlier one (a cohort re-ingested with a few students fewer is suppressed, not
republished).

``annual.yaml``::

    title: Peer mentoring, annual report 2025   # shown on the report
    id: peer-annual-2025         # optional; names the output folder
    programme: peer              # or programmes: [peer, faculty]
    years: [2023, 2024, 2025]    # optional; default every year of the studies/store
    store: ../../store           # optional; default <project>/data/store
    studies:                     # study configs (relative to this file), or "all":
      - 2023/study.yaml          #   every cohort of the programme(s) in the store
      - 2024/study.yaml
    update_store: true           # ingest listed studies missing from (or changed in) the store
    disclosure: {threshold: 10, profile: default}
    primary: [who5.total, cbi.personal]   # optional; default: the studies' primary outcomes
    confidence: 0.95

Run it with ``mentoreval annual annual.yaml`` (:func:`run_annual_report`); the batch
runner calls :func:`run_annual_job`. :func:`store_cohort` files one ingested cohort in
the store (``mentoreval ingest`` calls it).

Modules: ``analysis`` (assembly), ``inputs`` (cohorts from the store), ``results``,
``tables`` (shown tables), ``wording``, ``figures`` (and their alternative texts),
``document`` (the notebook-facing :class:`AnnualReport`: numbered tables and figures),
``brief`` (the two-page brief), ``outputs`` (files and ledger), ``runner``
(:func:`run_annual_report`). The config is :mod:`mentoreval.config.annual`; filing cohorts
in the store is :mod:`mentoreval.store.cohorts`.
"""

from mentoreval.config.annual import AnnualConfig, load_annual_config
from mentoreval.report.annual.analysis import DERIVED_COLUMNS, analyse_annual, start_worker
from mentoreval.report.annual.brief import annual_brief, write_annual_brief
from mentoreval.report.annual.document import AnnualReport, open_annual_report
from mentoreval.report.annual.figures import (
    figure_alt_texts,
    forest_figures,
    plot_annual_participation,
    plot_annual_trends,
)
from mentoreval.report.annual.outputs import save_release_ledger, write_annual_outputs
from mentoreval.report.annual.results import AnnualAnalysis
from mentoreval.report.annual.runner import TEMPLATE, annual_forbidden, run_annual_report
from mentoreval.report.annual.tables import (
    WIDE_AT,
    annual_table,
    annual_table_html,
    format_annual_table,
)
from mentoreval.report.annual.wording import (
    format_annual_methods,
    format_annual_summary,
    format_provenance,
)

__all__ = [
    "DERIVED_COLUMNS",
    "TEMPLATE",
    "WIDE_AT",
    "AnnualAnalysis",
    "AnnualConfig",
    "AnnualReport",
    "analyse_annual",
    "annual_brief",
    "annual_forbidden",
    "annual_table",
    "annual_table_html",
    "figure_alt_texts",
    "forest_figures",
    "format_annual_methods",
    "format_annual_summary",
    "format_annual_table",
    "format_provenance",
    "load_annual_config",
    "open_annual_report",
    "plot_annual_participation",
    "plot_annual_trends",
    "run_annual_report",
    "save_release_ledger",
    "start_worker",
    "write_annual_brief",
    "write_annual_outputs",
]
