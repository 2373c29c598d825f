"""Where a report's noise goes: stdout/stderr redirection and the kernel log of a report run.

Report stage (how it is run), shared by the cohort and annual runners and the batch runner.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    pass


__all__ = ["BENIGN_LINES", "drop_benign_lines", "redirect_output", "skip_iri_grammars"]


#: Kernel messages expected on every run that say nothing about the report: the TCP
#: warning of a kernel started without IPC, and the interrupt a kernel manager sends on
#: shutdown (see :class:`mentoreval.report.kernel.QuietKernelManager`, which avoids both).
BENIGN_LINES: tuple[re.Pattern[str], ...] = (
    re.compile(r"Kernel is running over TCP without encryption"),
    re.compile(r"KeyboardInterrupt caught in kernel"),
)


def drop_benign_lines(text: str) -> str:
    """``text`` without the lines matching :data:`BENIGN_LINES`.

    Examples
    --------
    >>> log = ("[IPKernelApp] WARNING | Kernel is running over TCP without encryption. ...\\n"
    ...        "real problem\\n"
    ...        "[IPKernelApp] ERROR | KeyboardInterrupt caught in kernel.\\n")
    >>> drop_benign_lines(log)
    'real problem\\n'
    """
    return "".join(
        line
        for line in text.splitlines(keepends=True)
        if not any(p.search(line) for p in BENIGN_LINES)
    )


def _drop_benign_since(path: Path, offset: int) -> None:
    """Remove :data:`BENIGN_LINES` from what was appended to ``path`` after ``offset``."""
    with contextlib.suppress(OSError), path.open("r+b") as handle:
        handle.seek(offset)
        added = handle.read().decode("utf-8", errors="surrogateescape")
        kept = drop_benign_lines(added)
        if kept != added:
            handle.seek(offset)
            handle.truncate()
            handle.write(kept.encode("utf-8", errors="surrogateescape"))


@contextlib.contextmanager
def redirect_output(
    path: str | os.PathLike[str], *, keep_python_streams: bool = False
) -> Iterator[Path]:
    """Send this process's stdout and stderr file descriptors to ``path`` (appending).

    Works at the file-descriptor level (``os.dup2``), so child processes started inside
    the block, such as a Jupyter kernel, write there too: its start-up warnings ("Kernel
    is running over TCP without encryption") and shutdown noise go to the job's log, not
    the terminal. The original descriptors are restored on exit, and the known-benign kernel
    lines (:data:`BENIGN_LINES`) written during the block are removed from the log.

    Parameters
    ----------
    path
        The log file; created if missing, appended to.
    keep_python_streams
        Rebind ``sys.stdout``/``sys.stderr`` to the original terminal for the block, so
        Python-level output (a progress bar) still shows while child processes write to
        the log.

    Yields
    ------
    pathlib.Path
        The log file.

    Examples
    --------
    >>> import os, tempfile
    >>> target = Path(tempfile.mkdtemp()) / "job.log"
    >>> with redirect_output(target):
    ...     _ = os.write(2, b"kernel noise\\n")
    >>> target.read_text()
    'kernel noise\\n'
    """
    import sys

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    start = os.fstat(fd).st_size
    saved = [os.dup(1), os.dup(2)]
    streams = (sys.stdout, sys.stderr)
    kept: list[Any] = []
    try:
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        if keep_python_streams:
            kept = [
                open(os.dup(saved[i]), "w", encoding="utf-8", errors="replace", buffering=1)  # noqa: SIM115
                for i in (0, 1)
            ]
            sys.stdout, sys.stderr = kept[0], kept[1]
        yield target
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        if keep_python_streams:
            sys.stdout, sys.stderr = streams
            for handle in kept:
                handle.close()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for f in (*saved, fd):
            os.close(f)
        _drop_benign_since(target, start)


@contextlib.contextmanager
def kernel_log(final: Path, enabled: bool) -> Iterator[None]:
    """While the kernel runs, keep its start-up and shutdown messages off the terminal:
    they go to ``<reports>/logs/<report>.kernel.log`` (only the progress bar is shown).
    Inside a batch worker the output is already in the job's log."""
    import multiprocessing

    if not enabled or multiprocessing.parent_process() is not None:
        yield
        return
    log = final.parent / "logs" / f"{final.name}.kernel.log"
    with redirect_output(log, keep_python_streams=True):
        yield


def skip_iri_grammars() -> None:
    """Keep jsonschema from compiling its IRI grammars when nbformat is first imported.

    nbformat and papermill import jsonschema, whose format checker imports the optional
    ``rfc3987_syntax`` when it is installed (a JupyterLab dependency pulls it in); that
    module compiles 38 lark grammars at import, about 1.4 s of every report process
    (issue 18). No notebook schema uses the ``iri`` format, so this process marks the
    optional module as absent: ``sys.modules[name] = None`` makes its import raise
    ``ImportError``, which jsonschema treats as "not installed". Nothing changes when the
    module was imported already.

    Examples
    --------
    >>> skip_iri_grammars()
    >>> import jsonschema  # doctest: +SKIP
    """
    # None is what the import system itself reads as "not importable" (typeshed types it Module)
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
