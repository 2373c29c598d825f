"""``mentoreval`` commands run in the test's own process, as a subprocess would run them.

A fresh ``python -m mentoreval`` spends about two seconds importing the stack before it
does anything; tests that only check what a command prints, returns and writes run it
here instead (``mentoreval.cli.main``), with the same environment, working folder, exit
code and captured output. Tests about processes themselves (a killed run, two at once)
keep real subprocesses.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest

from mentoreval.cli import main


def exit_code(argv: list[str]) -> int:
    """``mentoreval.cli.main(argv)`` here, and the exit code a shell would see."""
    try:
        main(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0  # pragma: no cover - main always exits


def run_mentoreval(
    *args: str | os.PathLike[str],
    env: Mapping[str, str | None] | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``mentoreval ARGS`` in this process: ``env`` sets (a string) or removes (None)
    environment variables for the run, ``cwd`` is its working folder; stdout and stderr
    are captured as text, and the exit code is the ``returncode``."""
    argv = [str(a) for a in args]
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        for name, value in (env or {}).items():
            if value is None:
                patch.delenv(name, raising=False)
            else:
                patch.setenv(name, value)
        if cwd is not None:
            patch.chdir(Path(cwd))
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = exit_code(argv)
    return subprocess.CompletedProcess(
        ["mentoreval", *argv], code, stdout=out.getvalue(), stderr=err.getvalue()
    )
