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


def test_installed_package_carries_instruments_and_templates() -> None:
    """``mentoreval/_bundled`` links to the repo folders here and is copied into the wheel."""
    import tomllib

    from mentoreval.instruments.definitions import builtin_instrument_dir
    from mentoreval.report import annual, cohort

    repo = TESTS.parent
    assert builtin_instrument_dir() == repo / "surveys" / "instruments"
    assert repo / "notebooks" / "templates" / "cohort_report.ipynb" == cohort.TEMPLATE
    assert repo / "notebooks" / "templates" / "annual_report.ipynb" == annual.TEMPLATE
    setuptools = tomllib.loads((repo / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    patterns = setuptools["setuptools"]["package-data"]["mentoreval"]
    assert {"_bundled/instruments/*.yaml", "_bundled/templates/*.ipynb"} <= set(patterns)
