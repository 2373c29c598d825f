"""The test suite's own layout: every test module has a unique basename.

pytest's default import mode puts each test folder on ``sys.path``, so two ``test_x.py``
in different folders collide when the whole suite is collected (as CI does), even though
each runs fine alone.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_test_module_names_are_unique() -> None:
    names = Counter(p.name for p in TESTS.rglob("test_*.py"))
    assert [n for n, c in names.items() if c > 1] == []
