"""Ingest stage: study exports → pseudonymised, recoded, checked and scored tables.

The pipeline (:mod:`mentoreval.ingest.pipeline`) runs map → recode → protect → check →
link → score; each step is a module here.
"""

from mentoreval.config.paths import default_out_dir, project_root
from mentoreval.ingest.pipeline import (
    RESPONSE_COLUMNS,
    IngestResult,
    ValidationReport,
    check_study,
    ingest_study,
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
