"""One exception hierarchy for every stage of the data flow.

Every error a user can cause (a bad export, a broken config, a missing key) is a
:class:`MentorevalError`. Its message names *where* (file, row, column or key), *what* was
wrong and *how to fix it*; the CLI prints it on one line and exits with code 2. Anything
else escaping the library is a bug and keeps its traceback.

Several problems found together are raised at once as one error whose ``problems`` list
holds each of them, so a user fixes everything in one pass.
"""

from __future__ import annotations

import errno
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = [
    "ConfigError",
    "DataError",
    "DisclosureError",
    "InstrumentError",
    "KeyMismatchError",
    "MentorevalError",
    "Problem",
    "ReadError",
    "ReportError",
    "describe_os_error",
    "raise_problems",
]


@dataclass(frozen=True)
class Problem:
    """One located problem: where it is, what is wrong, and how to fix it.

    Parameters
    ----------
    message
        What is wrong, with the offending value.
    file
        The file the problem is in, if any.
    key
        The YAML key path (``scales.total.items[2]``) for configuration problems.
    row
        The 1-based row number in the source file, as a spreadsheet shows it.
    column
        The column name in the source file.
    fix
        What the user should do about it.

    Examples
    --------
    >>> str(Problem("unknown item 'q9'", file="who5.yaml", key="scales.total.items",
    ...             fix="use one of the ids under items"))
    "who5.yaml: scales.total.items: unknown item 'q9' (fix: use one of the ids under items)"
    """

    message: str
    file: str | None = None
    key: str | None = None
    row: int | None = None
    column: str | None = None
    fix: str | None = None

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(str(self.file))
        if self.key:
            where.append(self.key)
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column!r}")
        text = ": ".join([*where, self.message]) if where else self.message
        if self.fix:
            text += f" (fix: {self.fix})"
        return text


@dataclass
class MentorevalError(Exception):
    """Base class for every error a user can cause and fix.

    Parameters
    ----------
    message
        The headline, e.g. ``"3 problems in surveys/instruments/who5.yaml"``.
    problems
        Every located problem found (possibly one). The message plus the problems are
        what the CLI prints.
    """

    message: str
    problems: Sequence[Problem] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        if not self.problems:
            return self.message
        if len(self.problems) == 1 and str(self.problems[0]) == self.message:
            return self.message
        lines = [self.message, *(f"  - {p}" for p in self.problems)]
        return "\n".join(lines)


class InstrumentError(MentorevalError):
    """An instrument definition (``surveys/instruments/*.yaml``) is malformed."""


class ConfigError(MentorevalError):
    """A study, batch or annual configuration file is malformed."""


class ReadError(MentorevalError):
    """An export file cannot be read as the format it claims to be."""


class DataError(MentorevalError):
    """The data contradicts the instrument or the config (e.g. a value out of range)."""


class KeyMismatchError(MentorevalError):
    """The pseudonymisation key differs from the one used for earlier waves."""


class DisclosureError(MentorevalError):
    """An output would disclose a small cell, a pseudonym or a raw identifier."""


class ReportError(MentorevalError):
    """A report could not be executed or rendered."""


def raise_problems(
    problems: Iterable[Problem],
    *,
    error: type[MentorevalError] = MentorevalError,
    what: str,
) -> None:
    """Raise ``error`` listing every problem, or return if there are none.

    Parameters
    ----------
    problems
        The problems found.
    error
        The exception class to raise.
    what
        What was being checked, used in the headline (``"in who5.yaml"``).

    Examples
    --------
    >>> raise_problems([], error=ConfigError, what="in study.yaml")
    >>> raise_problems([Problem("x", key="a")], error=ConfigError, what="in study.yaml")
    Traceback (most recent call last):
    ...
    mentoreval.errors.ConfigError: 1 problem in study.yaml
      - a: x
    """
    found = list(problems)
    if found:
        noun = "problem" if len(found) == 1 else "problems"
        raise error(f"{len(found)} {noun} {what}", tuple(found))


# ------------------------------------------------------------------ system errors

_OS_FIXES = {
    errno.ENOSPC: "the disk is full: free some space, or write to another folder with --out",
    errno.EDQUOT: "the disk quota is used up: free some space, or write elsewhere with --out",
    errno.EFBIG: "the file would be larger than allowed here: write elsewhere with --out",
    errno.EROFS: "the folder is read-only: choose another output folder with --out",
    errno.EACCES: "permission denied: check the folder's permissions, or choose another",
    errno.EPERM: "permission denied: check the folder's permissions, or choose another",
    errno.ENOTDIR: "a path that should be a folder is a file: check the path",
    errno.EISDIR: "a path that should be a file is a folder: check the path",
    errno.EEXIST: "something already exists at this path: move it, or choose another path",
    errno.ENOENT: "no such file or folder: check the path",
    errno.ENAMETOOLONG: "the path is too long: use a shorter folder or file name",
}


def describe_os_error(exc: OSError) -> tuple[str, int]:
    """A one-line message for an operating-system error and the exit code to use.

    Errors of the machine (disk full, read-only or forbidden folder, a file where a
    folder should be) are the user's to fix: exit 2, naming the path and the fix. Any
    other ``OSError`` is probably a bug: exit 1, asking for ``--debug``.

    Examples
    --------
    >>> import errno
    >>> describe_os_error(OSError(errno.ENOSPC, "No space left on device", "out/a.csv"))
    ('out/a.csv: No space left on device (fix: the disk is full: free some space, or write to another folder with --out); outputs of earlier runs are intact', 2)
    """
    where = " -> ".join(str(f) for f in (exc.filename, exc.filename2) if f is not None)
    what = exc.strerror or type(exc).__name__
    located = f"{where}: {what}" if where else what
    fix = _OS_FIXES.get(exc.errno) if exc.errno is not None else None
    if fix is not None:
        return f"{located} (fix: {fix}); outputs of earlier runs are intact", 2
    return (
        f"{located} (an unexpected system error; fix: rerun with --debug and report the traceback)",
        1,
    )
