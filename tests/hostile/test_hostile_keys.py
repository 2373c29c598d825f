"""Hostile keys: missing, empty, wrong length, not hex, a folder, world-readable, inside
the project or data folder, a symlink to a system file, ``/dev/zero``, and a key that
differs from the one an earlier ingest used."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from _hostile import REPO, Case, Project, params, run_case

FULL = {"rows_read": 12, "rows_kept": 12, "rows_quarantined": 0}


def key_at(path: str, content: bytes | None = None, *, mode: int = 0o600, env: bool = True) -> Any:
    """Use the key at ``path`` (relative to tmp_path), written with ``content`` (default: a
    copy of the good key) and ``mode``; through MENTOREVAL_KEY_FILE or the config."""

    def place(p: Project) -> None:
        target = p.tmp / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(p.key.read_bytes() if content is None else content)
        os.chmod(target, mode)

    def build(p: Project) -> None:
        p.after_write.append(place)
        if env:
            p.key_env = str(p.tmp / path)
        else:
            p.key_env = None
            p.config["key_file"] = os.path.relpath(p.tmp / path, p.study)

    return build


def key_env(value: str) -> Any:
    def build(p: Project) -> None:
        p.key_env = value

    return build


def key_folder(p: Project) -> None:
    p.after_write.append(lambda q: (q.tmp / "keys" / "dir.key").mkdir())
    p.key_env = str(p.tmp / "keys" / "dir.key")


def key_symlink(p: Project) -> None:
    p.after_write.append(lambda q: (q.tmp / "keys" / "link.key").symlink_to("/etc/passwd"))
    p.key_env = str(p.tmp / "keys" / "link.key")


def in_project(p: Project) -> None:
    """The project holds a ``data/`` folder (so it is the project root) and the key."""
    p.after_write.append(lambda q: (q.root / "data").mkdir(exist_ok=True))


def another_key(p: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    from mentoreval.ingest.protect import keygen

    other = p.tmp / "keys" / "other.key"
    keygen(other)
    monkeypatch.setenv("MENTOREVAL_KEY_FILE", str(other))


GOOD_HEX = b"0123456789abcdef" * 4
EARLIER = (("ingest", "--out", "{out}", "--no-store"),)

CASES = [
    Case(
        "key_env_missing_file",
        key_env("/nonexistent/k.key"),
        exit=2,
        names=("k.key", "mentoreval keygen"),
    ),
    Case("key_not_configured", key_env(None), exit=2, names=("key_file", "mentoreval keygen")),  # type: ignore[arg-type]
    Case(
        "key_not_configured_validate",
        key_env(None),
        command="validate",
        exit=2,
        names=("key_file",),
    ),  # type: ignore[arg-type]
    Case("key_empty", key_at("keys/empty.key", b""), exit=2, names=("empty.key",)),
    Case(
        "key_short",
        key_at("keys/short.key", b"0123456789abcdef\n"),
        exit=2,
        names=("short.key", "64-hex-digit"),
    ),
    Case(
        "key_long",
        key_at("keys/long.key", GOOD_HEX * 2 + b"\n"),
        exit=2,
        names=("long.key",),
    ),
    Case(
        "key_not_hex",
        key_at("keys/text.key", b"correct horse battery staple\n"),
        exit=2,
        names=("text.key",),
    ),
    Case(
        "key_raw_bytes", key_at("keys/raw.key", bytes(range(200, 232))), exit=2, names=("raw.key",)
    ),
    Case(
        "key_with_crlf_and_spaces",
        key_at("keys/crlf.key", b"  " + GOOD_HEX + b"\r\n\r\n"),
        counts=FULL,
    ),
    Case("key_is_a_folder", key_folder, exit=2, names=("dir.key",)),
    Case("key_symlink_to_passwd", key_symlink, exit=2, names=("link.key",)),
    Case("key_via_config_relative", key_at("keys/cfg.key", env=False), counts=FULL),
    Case(
        "key_world_readable",
        key_at("keys/open.key", mode=0o644),
        counts=FULL,
        names=("open.key", "chmod"),
    ),
    Case(
        "key_group_readable",
        key_at("keys/group.key", mode=0o640),
        counts=FULL,
        names=("group.key", "chmod"),
    ),
    Case(
        "key_world_readable_nhs",
        lambda p: (
            key_at("keys/open.key", mode=0o644)(p),
            p.config.update(disclosure={"profile": "nhs"}),
        ),
        exit=2,
        names=("open.key", "chmod"),
    ),
    Case(
        "key_in_study_folder",
        key_at("project/study/keys/study.key", env=False),
        exit=2,
        names=("key_file",),
    ),
    Case(
        "key_in_exports_folder",
        key_at("project/study/exports/k.key"),
        exit=2,
        names=("k.key",),
    ),
    Case(
        "key_in_project_data",
        lambda p: (in_project(p), key_at("project/data/k.key")(p)),
        exit=2,
        names=("k.key", "data"),
    ),
    Case(
        "key_changed_since_earlier_ingest",
        before=EARLIER,
        patch=another_key,
        exit=2,
        names=("fingerprint", "key_file"),
    ),
]


@pytest.mark.parametrize("case", params(CASES))
def test_hostile_key(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run_case(case, tmp_path, capsys, monkeypatch)


def _limit_memory() -> None:  # pragma: no cover - runs in the child
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


@pytest.mark.slow
def test_key_dev_zero_is_refused_in_bounded_time(tmp_path: Path) -> None:
    """``/dev/zero`` as the key file: read with a size limit, refused with exit 2 naming
    it. In a subprocess with 1 GB of address space, so that today's unbounded read ends
    in a MemoryError there instead of eating this machine's memory."""
    project = Project(tmp_path)
    project.materialise()
    env = {
        **os.environ,
        "MENTOREVAL_KEY_FILE": "/dev/zero",
        "PYTHONPATH": str(REPO / "src"),
        "HOME": str(tmp_path / "home"),
    }
    res = subprocess.run(
        [sys.executable, "-m", "mentoreval", "validate", str(project.study_file)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path / "cwd",
        preexec_fn=_limit_memory,
    )
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr and "/dev/zero" in res.stderr
