"""The corpus itself: large enough, every family present, every pending case labelled."""

from __future__ import annotations

import re

import test_hostile_configs
import test_hostile_faults
import test_hostile_files
import test_hostile_injection
import test_hostile_keys
import test_hostile_semantics

FAMILIES = {
    "files": test_hostile_files.CASES,
    "configs": test_hostile_configs.CASES,
    "semantics": test_hostile_semantics.CASES,
    "injection": test_hostile_injection.CASES,
    "keys": test_hostile_keys.CASES,
    "faults": test_hostile_faults.CASES,
}


def test_the_corpus_has_at_least_100_cases_over_six_families() -> None:
    assert all(len(cases) >= 10 for cases in FAMILIES.values())
    assert sum(len(cases) for cases in FAMILIES.values()) >= 100


def test_every_case_id_is_unique() -> None:
    ids = [c.id for cases in FAMILIES.values() for c in cases]
    assert len(ids) == len(set(ids))


def test_every_pending_case_names_its_class_and_issue() -> None:
    """``<stage>: <class> (... issue 13|20 ...)`` or a new class, said as ``(new...)``."""
    for cases in FAMILIES.values():
        for c in cases:
            if c.pending:
                assert re.fullmatch(r"[a-z]+: .+ \((new|.*issue (13|20)).*\)", c.pending), c.pending
