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


# Project-wide tests that belong to no single package stay at the top of tests/.
TOP_LEVEL = {
    "test_cli.py",
    "test_environment.py",
    "test_layering.py",
    "test_layout.py",
    "test_notebooks.py",
    "test_sizes.py",
}
# Folders of tests that span packages: the hostile-input corpus, reference files, fixtures.
CROSS_CUTTING = {"hostile", "reference", "fixtures", "base", "__pycache__"}


def test_test_folders_mirror_the_package_stages() -> None:
    """Each stage package has its tests in ``tests/<stage>/``; base modules in ``tests/base``."""
    package = TESTS.parent / "src" / "mentoreval"
    stages = {p.name for p in package.iterdir() if (p / "__init__.py").is_file()}
    folders = {p.name for p in TESTS.iterdir() if p.is_dir()} - CROSS_CUTTING
    assert folders <= stages, f"test folders without a package: {sorted(folders - stages)}"
    untested = {s for s in stages if not any((TESTS / s).glob("test_*.py"))}
    assert untested == set(), f"packages without a tests/<stage>/ folder: {sorted(untested)}"
    loose = {p.name for p in TESTS.glob("test_*.py")} - TOP_LEVEL
    assert loose == set(), f"move these into their stage's folder: {sorted(loose)}"
