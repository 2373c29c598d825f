"""The multi-year store: Parquet partitioned by programme/cohort/year with DuckDB views,
the release ledger, and meeting-log processing.
"""

from mentoreval.store.cohorts import store_cohort, study_inputs_sha256, update_store
from mentoreval.store.parquet import (
    LEDGER_FILE,
    PARTITION_COLUMNS,
    StoreResult,
    add_cohort,
    check_store_root,
    ledger_dir,
    ledger_file,
    list_cohorts,
    load_release_ledger,
    load_table,
    merge_release_ledger,
    query,
)

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
