"""Shared pytest configuration (``tests/`` and the doctests in ``src/``): the ``--runslow``
flag, paths to shared fixtures, and where doctests make their temporary folders."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from _pytest.doctest import DoctestItem

REPO = Path(__file__).resolve().parent
SHARED_FORMATS = REPO.parent / "shared" / "formats"

if os.environ.get("PYTEST_XDIST_WORKER"):
    # make test runs one pytest worker per core: a report's helper process (its second
    # core) would only compete with the other worker. Tests that need the helper turn it on.
    os.environ.setdefault("MENTOREVAL_HELPER", "0")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", default=False, help="run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--runslow"):
        return
    skip_slow = pytest.mark.skip(reason="slow: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root."""
    return REPO


@pytest.fixture(scope="session")
def shared_formats() -> Path:
    """``../shared/formats`` with real export samples; skips the test when absent."""
    if not SHARED_FORMATS.is_dir():
        pytest.skip("../shared/formats is not present")
    return SHARED_FORMATS


@pytest.fixture(autouse=True)
def _doctest_temp_folders_inside_pytest(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Docstring examples make folders with ``tempfile.mkdtemp()`` (what a reader would
    type); under pytest those folders go inside the test's own ``tmp_path``, which pytest
    cleans up, instead of accumulating in the system's temporary folder."""
    if isinstance(request.node, DoctestItem):
        monkeypatch.setattr(tempfile, "tempdir", str(request.getfixturevalue("tmp_path")))
