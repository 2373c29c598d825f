"""Shared pytest configuration: the ``--runslow`` flag and paths to shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent
SHARED_FORMATS = REPO.parent / "shared" / "formats"


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
