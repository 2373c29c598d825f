"""The multi-year store: Parquet partitioned by programme/cohort/year with DuckDB views,
the release ledger, and meeting-log processing.
"""

from mentoreval.store.adding import StoreResult, add_cohort
from mentoreval.store.cohorts import store_cohort, study_inputs_sha256, update_store
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
    "store_cohort",
    "study_inputs_sha256",
    "update_store",
]
