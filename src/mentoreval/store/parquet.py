"""The multi-year store: every processed cohort, kept as Parquet and queried with DuckDB.

Stage: *annual*. After ``ingest`` has produced a cohort's tables (responses, scores,
meetings, dose, ...), :func:`add_cohort` files them under the store; annual reports and
researchers read them back with :func:`load_table` or plain SQL through :func:`query`.

Layout (Parquet is the source of truth; DuckDB is only an in-process query engine, so
there is no database file to corrupt or migrate)::

    store_root/
      tables/<table>/programme=<p>/cohort=<c>/year=<y>/data.parquet   hive partitions
      cohorts/programme=<p>/cohort=<c>/year=<y>/manifest.json         one per cohort
      ledger/                                                         released aggregates

A cohort is identified by ``(programme, cohort, year)`` and by the sha256 of the raw
inputs it was built from. Adding the same inputs again changes nothing (``"unchanged"``);
adding different inputs for the same cohort replaces every one of its tables
(``"replaced"``). The manifest is written last and removed first, so a cohort without a
manifest is incomplete and readers ignore it.

The ``ledger/`` folder belongs to :mod:`mentoreval.disclose.suppression` (the release ledger that
blocks differencing between reports); the store only creates it, see :func:`ledger_dir`.

This module gathers the store's API in one import; each part is defined by idea in
:mod:`~mentoreval.store.layout` (folders, partitions, manifests, lock, placement checks),
:mod:`~mentoreval.store.adding` (:func:`add_cohort`), :mod:`~mentoreval.store.reading`
(:func:`list_cohorts`, :func:`load_table`, :func:`query`) and
:mod:`~mentoreval.store.ledger` (the release ledger file).
"""

from __future__ import annotations

# The partition labels follow the study config's rule (one definition, shared).
from mentoreval.config.study import LABEL as LABEL
from mentoreval.config.study import LABEL_FIX as LABEL_FIX
from mentoreval.store.adding import StoreResult, add_cohort
from mentoreval.store.layout import PARTITION_COLUMNS, check_store_root
from mentoreval.store.ledger import (
    LEDGER_FILE,
    ledger_dir,
    ledger_file,
    load_release_ledger,
    merge_release_ledger,
)
from mentoreval.store.reading import list_cohorts, load_table, query

__all__ = [
    "LEDGER_FILE",
    "PARTITION_COLUMNS",
    "StoreResult",
    "add_cohort",
    "check_store_root",
    "ledger_dir",
    "ledger_file",
    "list_cohorts",
    "load_release_ledger",
    "load_table",
    "merge_release_ledger",
    "query",
]
