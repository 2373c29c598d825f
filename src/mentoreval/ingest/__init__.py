"""Ingest stage: study exports → pseudonymised, recoded, checked and scored tables.

The pipeline (:mod:`mentoreval.ingest.pipeline`) runs map → recode → protect → check →
link → score; each step is a module here.
"""

from mentoreval.ingest.pipeline import (
    RESPONSE_COLUMNS,
    IngestResult,
    ValidationReport,
    check_study,
    default_out_dir,
    ingest_study,
    project_root,
    validate_study,
)

__all__ = [
    "RESPONSE_COLUMNS",
    "IngestResult",
    "ValidationReport",
    "check_study",
    "default_out_dir",
    "ingest_study",
    "project_root",
    "validate_study",
]
