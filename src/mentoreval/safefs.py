"""Safe file-system use: inputs stay inside declared folders, outputs go only where
mentoreval may write, and a folder is replaced whole or not at all.

Three promises, each kept here once for every stage that writes (ingest's processed
folder, cohort and annual reports, the store, batch logs):

* **Never delete a file mentoreval did not write.** An output folder is one that
  mentoreval created — it holds a marker file, :data:`MARKER`, listing the files it
  wrote — or an empty one. Anything else is refused before any work, as is a folder that
  is, or lies above, the study's folder, lies inside a raw-export folder, or would hold a
  source file (:func:`check_output_dir`).
* **Whole or not at all.** A run writes into a fresh staging folder beside the target and
  swaps it in at the end (:class:`OutputFolder`); a run that stops (an error, Ctrl-C,
  ``kill -9``) leaves the earlier outputs as they were, and the next run cleans up after it.
* **One writer at a time.** A lock file per output folder names the process holding it; a
  lock whose process is gone is taken over (:func:`folder_lock`).

Inputs: :func:`resolve_input` resolves a path from a config (after symlinks) and refuses
one outside the study's folder and the data roots the user declared.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType

from mentoreval.errors import MentorevalError, Problem

__all__ = [
    "MARKER",
    "OutputFolder",
    "check_output_dir",
    "folder_lock",
    "mark_container",
    "resolve_input",
]

MARKER = ".mentoreval-output.json"
"""The file that marks a folder as written by mentoreval, with the files it wrote."""

_STAGING = ".staging-"
_OLD = ".old-"
_LOCK = ".lock"


def _refuse(path: Path, message: str, fix: str, *, key: str | None = None) -> MentorevalError:
    return MentorevalError(
        f"{path}: {message}", (Problem(message, file=str(path), key=key, fix=fix),)
    )


def _is_within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


# --------------------------------------------------------------------------- inputs


def resolve_input(
    value: str | os.PathLike[str], *, base: Path, roots: Iterable[Path] = (), key: str
) -> Path:
    """Resolve a path named in a config and check it stays inside the allowed folders.

    Relative paths start from ``base`` (the study file's folder). After following
    symlinks, the path must lie inside ``base`` or one of ``roots`` (the config's
    ``data_roots``); a path that leads anywhere else on the machine is refused, naming
    the config key, so that a config cannot make mentoreval read (and publish) a system
    file.

    Parameters
    ----------
    value
        The path as written in the config.
    base
        The study's folder.
    roots
        Further folders the user declared as holding data.
    key
        The config key that named the path (for the message).

    Returns
    -------
    pathlib.Path
        The resolved path (which need not exist).

    Raises
    ------
    MentorevalError
        When the path resolves outside ``base`` and every root.

    Examples
    --------
    >>> import tempfile
    >>> base = Path(tempfile.mkdtemp())
    >>> resolve_input("exports/pre.csv", base=base, key="sources[0].path") == (
    ...     base.resolve() / "exports" / "pre.csv")
    True
    >>> try:
    ...     resolve_input("/etc/passwd", base=base, key="meetings.path")
    ... except MentorevalError as exc:
    ...     print(exc.problems[0].key, "|", exc.problems[0].message)
    meetings.path | /etc/passwd resolves to /etc/passwd, outside the study's folder and its data roots
    """
    raw = Path(value).expanduser()
    target = (raw if raw.is_absolute() else base / raw).resolve()
    allowed = [base.resolve(), *(Path(r).expanduser().resolve() for r in roots)]
    if any(_is_within(target, folder) for folder in allowed):
        return target
    message = "outside the study's folder and its data roots"
    raise MentorevalError(
        f"{value}: {message}",
        (
            Problem(
                f"{value} resolves to {target}, {message}",
                key=key,
                fix="move the file into the study's folder, or declare the folder that holds "
                "it under data_roots: in the study config",
            ),
        ),
    )


# --------------------------------------------------------------------------- outputs


def _marker(folder: Path) -> dict[str, object] | None:
    try:
        data = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("tool") == "mentoreval" else None


def _files(folder: Path) -> list[str]:
    return sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if (p.is_file() or p.is_symlink()) and p.name != MARKER
    )


_FIX = "choose another output folder (a new one, or one mentoreval wrote earlier)"


def _check_place(
    path: Path,
    *,
    kind: str,
    protected: Iterable[Path],
    raw_folders: Iterable[Path],
    key: str | None,
) -> Path:
    """``path`` resolved, refused when it holds an input, lies in a raw-data folder or is
    not a folder."""
    folder = path.expanduser().resolve()
    for item in protected:
        item = Path(item).resolve()
        if _is_within(item, folder):
            raise _refuse(
                folder,
                f"would hold or replace {item.name or item}, an input of the study",
                _FIX + "; outputs never go to the folder of the study or of its exports",
                key=key,
            )
    for raw in raw_folders:
        raw = Path(raw).resolve()
        if _is_within(folder, raw):
            raise _refuse(
                folder,
                f"is inside the raw-data folder {raw}, which mentoreval never writes to",
                _FIX,
                key=key,
            )
    if (folder.exists() or path.is_symlink()) and (not folder.is_dir() or path.is_symlink()):
        raise _refuse(folder, f"is not a folder (the {kind} needs a folder)", _FIX, key=key)
    return folder


def check_output_dir(
    path: str | os.PathLike[str],
    *,
    kind: str,
    protected: Iterable[Path] = (),
    raw_folders: Iterable[Path] = (),
    key: str | None = None,
) -> Path:
    """Check that mentoreval may write (and later replace) the output folder ``path``.

    Allowed: a folder that does not exist yet, an empty folder, or a folder mentoreval
    wrote (its :data:`MARKER` lists its files) holding no other file. Refused, before any
    work: a file; a folder with files mentoreval did not write; a folder equal to or above
    any ``protected`` path (the study file, its folder, the source files); a folder inside
    any of ``raw_folders``.

    Parameters
    ----------
    path
        The output folder.
    kind
        What goes there (``"processed"``, ``"cohort report"``, …), for the messages.
    protected
        Files and folders an output folder must never contain or replace.
    raw_folders
        Folders no output may go into (the raw-export folders).
    key
        The option or config key that named the folder.

    Returns
    -------
    pathlib.Path
        The folder, resolved.

    Raises
    ------
    MentorevalError
        Naming the folder, the reason and the fix.

    Examples
    --------
    >>> import tempfile
    >>> home = Path(tempfile.mkdtemp())
    >>> _ = (home / "pre.csv").write_text("id\\n1\\n")
    >>> check_output_dir(home / "report", kind="cohort report") == (home / "report").resolve()
    True
    >>> try:
    ...     check_output_dir(home, kind="cohort report")
    ... except MentorevalError as exc:
    ...     print(exc.problems[0].message)
    holds 1 file mentoreval did not write (pre.csv)
    """
    folder = _check_place(
        Path(path), kind=kind, protected=protected, raw_folders=raw_folders, key=key
    )
    if folder.exists():
        owned = _marker(folder)
        written = set(owned.get("files", [])) if owned else set()  # type: ignore[call-overload]
        foreign = [f for f in _files(folder) if f not in written]
        if foreign:
            shown = ", ".join(foreign[:3]) + (", …" if len(foreign) > 3 else "")
            noun = "file" if len(foreign) == 1 else "files"
            raise _refuse(
                folder,
                f"holds {len(foreign)} {noun} mentoreval did not write ({shown})",
                _FIX + "; mentoreval replaces only folders it created, and never deletes "
                "files it did not write",
                key=key,
            )
    return folder


@contextlib.contextmanager
def folder_lock(
    folder: Path, *, timeout: float = 0.0, what: str = "output folder"
) -> Iterator[Path]:
    """Hold ``<parent>/.<name>.lock`` while writing ``folder``; one writer at a time.

    The lock file holds the process id and host name. A lock whose process has gone (a
    run killed with ``kill -9``) is taken over; a live one is waited for up to
    ``timeout`` seconds, then refused with a message naming the process.

    Examples
    --------
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "out"
    >>> with folder_lock(target) as lock:
    ...     lock.is_file()
    True
    >>> lock.exists()
    False
    """
    folder = Path(folder).absolute()
    made = [p for p in (folder.parent, *folder.parent.parents) if not p.exists()]
    folder.parent.mkdir(parents=True, exist_ok=True)
    lock = folder.parent / f".{folder.name}{_LOCK}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            holder = _lock_holder(lock)
            if holder is None:  # stale: its process is gone
                lock.unlink(missing_ok=True)
                continue
            if time.monotonic() >= deadline:
                raise MentorevalError(
                    f"{folder}: another run is writing here (pid {holder})",
                    (
                        Problem(
                            f"another mentoreval run (pid {holder}) is writing this {what}",
                            file=str(folder),
                            fix="wait for it to finish and run again; if no mentoreval "
                            f"process is running, delete {lock}",
                        ),
                    ),
                ) from None
            time.sleep(0.05)
            continue
        with os.fdopen(fd, "w") as handle:
            handle.write(f"{os.getpid()} {socket.gethostname()}\n")
        break
    try:
        yield lock
    finally:
        lock.unlink(missing_ok=True)
        for parent in made:  # a run that wrote nothing leaves no empty folders behind
            with contextlib.suppress(OSError):
                parent.rmdir()


def _lock_holder(lock: Path) -> str | None:
    """The live holder of ``lock`` as text, or ``None`` when the lock is stale."""
    try:
        text = lock.read_text(encoding="utf-8").split()
        age = time.time() - lock.stat().st_mtime
    except (OSError, UnicodeDecodeError):
        return None  # gone meanwhile, or not ours to read: retry creates or reports it
    if not text or not text[0].isdigit():
        return None if age > 5 else "unknown"  # a lock being written right now is young
    pid, host = int(text[0]), (text[1] if len(text) > 1 else "")
    if (host and host != socket.gethostname()) or sys.platform == "win32":
        # Another machine's process cannot be asked; on Windows os.kill(pid, 0) would
        # end the process. An hour-old lock there is taken to be stale.
        return None if age > 3600 else f"{pid} on {host}"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, another user's
    return str(pid)


def _write_marker(folder: Path, kind: str) -> None:
    data = {"tool": "mentoreval", "kind": kind, "files": _files(folder)}
    (folder / MARKER).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def _remove_owned(folder: Path) -> None:
    """Delete ``folder`` if mentoreval wrote everything in it; otherwise leave it."""
    owned = _marker(folder)
    if owned is None and any(folder.iterdir()):
        return
    written = set(owned.get("files", [])) if owned else set()  # type: ignore[call-overload]
    if any(f not in written for f in _files(folder)):
        return
    shutil.rmtree(folder, ignore_errors=True)


class OutputFolder:
    """Write an output folder whole or not at all, one writer at a time.

    On entry: the folder is checked (:func:`check_output_dir`), locked
    (:func:`folder_lock`), what an interrupted run left beside it is cleaned up, and a
    fresh :attr:`staging` folder is made beside it. Write everything into
    :attr:`staging`, then call :meth:`commit`, which moves the earlier folder aside,
    moves the staging folder into place and deletes the earlier one. Leaving the block
    without :meth:`commit` (an error, Ctrl-C) deletes the staging folder and leaves the
    earlier outputs untouched.

    Examples
    --------
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "report"
    >>> with OutputFolder(target, kind="report") as out:
    ...     _ = (out.staging / "a.csv").write_text("x\\n1\\n")
    ...     _ = out.commit()
    >>> sorted(p.name for p in target.iterdir())
    ['.mentoreval-output.json', 'a.csv']
    >>> with OutputFolder(target, kind="report") as out:
    ...     _ = (out.staging / "b.csv").write_text("x\\n2\\n")
    ...     raise RuntimeError("stopped half-way")
    Traceback (most recent call last):
    RuntimeError: stopped half-way
    >>> sorted(p.name for p in target.iterdir())
    ['.mentoreval-output.json', 'a.csv']
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        kind: str,
        protected: Iterable[Path] = (),
        raw_folders: Iterable[Path] = (),
        key: str | None = None,
        lock_timeout: float = 0.0,
    ) -> None:
        self.kind = kind
        self.final = check_output_dir(
            path, kind=kind, protected=protected, raw_folders=raw_folders, key=key
        )
        self._lock_timeout = lock_timeout
        self._stack = contextlib.ExitStack()
        self._staging: Path | None = None
        self._made: list[Path] = []
        self.committed = False

    @property
    def staging(self) -> Path:
        """The folder to write into."""
        if self._staging is None:
            raise RuntimeError("OutputFolder is used outside its with-block")
        return self._staging

    def __enter__(self) -> OutputFolder:
        # folders above the output that this run creates (removed again, if still empty,
        # when the run fails: a failed run leaves nothing behind)
        self._made = [p for p in self.final.parents if not p.exists()]
        self._stack.enter_context(
            folder_lock(self.final, timeout=self._lock_timeout, what=self.kind)
        )
        try:
            self._recover()
            staging = self.final.parent / f".{self.final.name}{_STAGING}{uuid.uuid4().hex[:12]}"
            staging.mkdir(parents=True)
            _write_marker(staging, self.kind)
            self._staging = staging
        except BaseException:
            self._stack.close()
            raise
        return self

    def _leftovers(self, tag: str) -> list[Path]:
        return sorted(self.final.parent.glob(f".{self.final.name}{tag}*"))

    def _recover(self) -> None:
        """Undo what an interrupted run left: a moved-aside folder goes back when the new
        one never arrived; staging and moved-aside folders of ours are deleted."""
        old = [p for p in self._leftovers(_OLD) if _marker(p) is not None]
        if old and not self.final.exists():
            os.replace(old[-1], self.final)
        for leftover in self._leftovers(_STAGING):
            # A staging folder is made fresh, marked, by a run; all it holds is that run's.
            if leftover.is_dir() and _marker(leftover) is not None:
                shutil.rmtree(leftover, ignore_errors=True)
        for leftover in self._leftovers(_OLD):
            if leftover.is_dir():
                _remove_owned(leftover)

    def commit(self) -> Path:
        """Move the staging folder into place; the earlier outputs go only now."""
        staging = self.staging
        _write_marker(staging, self.kind)
        old: Path | None = None
        if self.final.exists():
            # Checked again: a file may have been added since the run began.
            check_output_dir(self.final, kind=self.kind)
            old = self.final.parent / f".{self.final.name}{_OLD}{uuid.uuid4().hex[:12]}"
            os.replace(self.final, old)
        os.replace(staging, self.final)
        self._staging = None
        self.committed = True
        if old is not None:
            _remove_owned(old)
        return self.final

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._staging is not None:  # made fresh by this run: everything in it is ours
                shutil.rmtree(self._staging, ignore_errors=True)
                self._staging = None
        finally:
            self._stack.close()
        if not self.committed:
            for parent in self._made:  # deepest first; only while empty
                try:
                    parent.rmdir()
                except OSError:
                    break


def mark_container(
    path: str | os.PathLike[str],
    *,
    kind: str,
    protected: Iterable[Path] = (),
    raw_folders: Iterable[Path] = (),
    key: str | None = None,
    legacy: Iterable[str] = (),
) -> Path:
    """Check and create a folder mentoreval adds files to over time (the store, a batch's
    log folder) without replacing it whole.

    Placed like :func:`check_output_dir`. An existing, non-empty folder is accepted when
    it carries :data:`MARKER`, or when every entry is one of ``legacy`` (the layout an
    earlier release wrote without a marker); the marker is written when missing.

    Examples
    --------
    >>> import tempfile
    >>> home = Path(tempfile.mkdtemp())
    >>> (mark_container(home / "store", kind="store") / MARKER).is_file()
    True
    >>> _ = (home / "notes.txt").write_text("mine")
    >>> try:
    ...     mark_container(home, kind="store")
    ... except MentorevalError as exc:
    ...     print(exc.problems[0].message)
    holds entries mentoreval did not write (notes.txt, store)
    """
    folder = _check_place(
        Path(path), kind=kind, protected=protected, raw_folders=raw_folders, key=key
    )
    if folder.is_dir() and _marker(folder) is None:
        allowed = set(legacy)
        foreign = sorted(p.name for p in folder.iterdir() if p.name not in allowed)
        if foreign:
            shown = ", ".join(foreign[:3]) + (", …" if len(foreign) > 3 else "")
            raise _refuse(
                folder,
                f"holds entries mentoreval did not write ({shown})",
                f"choose another folder for the {kind} (a new one, or one mentoreval wrote "
                "earlier)",
                key=key,
            )
    folder.mkdir(parents=True, exist_ok=True)
    if _marker(folder) is None:
        data = {"tool": "mentoreval", "kind": kind, "container": True}
        (folder / MARKER).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return folder
