"""The demo runner's pieces (the full run is `make demo`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mentoreval.run.demo import demo_data_dir, demo_key_file, describe_outputs

REPO = Path(__file__).resolve().parents[2]


def test_demo_data_is_the_checkouts(tmp_path: Path) -> None:
    assert demo_data_dir(work=tmp_path) == REPO / "data" / "demo"
    assert not any(tmp_path.iterdir())  # nothing built when the checkout has the data


def test_demo_key_from_env_or_created_once_in_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MENTOREVAL_KEY_FILE", str(tmp_path / "given.key"))
    assert demo_key_file() == tmp_path / "given.key"
    monkeypatch.delenv("MENTOREVAL_KEY_FILE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    key = demo_key_file()
    assert key == tmp_path / "cache" / "mentoreval" / "demo.key"
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    text = key.read_text()
    assert demo_key_file() == key and key.read_text() == text  # reused, not regenerated
    assert "MENTOREVAL_KEY_FILE" not in os.environ


def test_describe_outputs_lists_reports_only(tmp_path: Path) -> None:
    for name in ("a/cohort_report.html", "a/cohort_report.pdf", "b/annual_report.html",
                 "a/tables/comparisons.csv"):  # fmt: skip
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    assert describe_outputs(tmp_path) == [
        "a/cohort_report.html", "a/cohort_report.pdf", "b/annual_report.html"
    ]  # fmt: skip
