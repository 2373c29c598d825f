"""Key files: writing, finding and reading the pseudonymisation key (stage: protect).

The key is 32 random bytes written as hex by :func:`keygen` to a file with owner-only
permissions, *outside* the repository and the data folder. Its :func:`key_fingerprint` —
never the key — goes into ``manifest.json`` so a different key at a later wave stops the
run instead of silently matching nobody. :func:`load_key` reads at most
:data:`KEY_MAX_BYTES` from a regular file (a device such as ``/dev/zero`` or a pipe is
refused), refuses a key inside a repository, a ``data`` folder or one of the study's data
folders (the rule :func:`keygen` applies), and reports a key others can read (``chmod
600``), refusing it under the ``nhs`` disclosure profile (``strict=True``).

:mod:`mentoreval.ingest.protect` uses the key (pseudonyms) and re-exports these names.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
import warnings
from collections.abc import Iterable
from pathlib import Path

from mentoreval.errors import ConfigError, Problem

__all__ = [
    "KEY_ENV",
    "KEY_MAX_BYTES",
    "KeyPermissionWarning",
    "key_fingerprint",
    "keygen",
    "load_key",
    "resolve_key_file",
]

KEY_ENV = "MENTOREVAL_KEY_FILE"
"""Environment variable naming the key file; it overrides the study config's ``key_file``."""

_KEY_BYTES = 32
KEY_MAX_BYTES = 4096
"""A key file is 64 hex digits and a line break; anything over this is not a key."""
_USE_KEYGEN = (
    "point key_file / MENTOREVAL_KEY_FILE at the key file written by 'mentoreval keygen PATH'"
)
_MOVE = (
    "move the key outside the repository and every data folder, e.g. to "
    "~/.mentoreval/keys/<programme>.key, and point key_file / MENTOREVAL_KEY_FILE at it"
)


class KeyPermissionWarning(UserWarning):
    """A key file that other users can read (``chmod 600`` fixes it)."""


def key_fingerprint(key: bytes) -> str:
    """A short public fingerprint of ``key`` (16 hex digits) for provenance.

    ``HMAC-SHA256(key, b"mentoreval-key-check")``, first 8 bytes, in hex: enough to tell two
    keys apart, useless for recovering the key.

    Examples
    --------
    >>> key_fingerprint(bytes(32))
    '61faa68b035a8c1b'
    """
    return hmac.new(key, b"mentoreval-key-check", hashlib.sha256).digest()[:8].hex()


def _inside_protected(path: Path) -> str | None:
    """Why ``path`` is not a safe place for a key, or None."""
    for parent in path.parents:
        if parent.name == "data":
            return f"it is inside the data folder {parent}"
        if (parent / "pyproject.toml").is_file() or (parent / ".git").exists():
            return f"it is inside the repository {parent}"
    return None


def keygen(path: str | Path) -> str:
    """Write a new random key (32 bytes, hex) to ``path`` with owner-only permissions.

    Parameters
    ----------
    path
        Where to write the key: outside the repository and any ``data`` folder, e.g.
        ``~/.mentoreval/keys/peer.key``. Missing parent folders are created (mode 0700).

    Returns
    -------
    str
        The key's fingerprint (safe to share; it is recorded in manifests).

    Raises
    ------
    ConfigError
        When the file exists (a key is never overwritten: that would break linkage with
        earlier waves) or the path lies inside a repository or a ``data`` folder.

    Examples
    --------
    >>> import tempfile
    >>> where = Path(tempfile.mkdtemp()) / "keys" / "peer.key"
    >>> len(keygen(where)), oct(where.stat().st_mode & 0o777)
    (16, '0o600')
    """
    path = Path(path).expanduser().absolute()
    if path.exists():
        raise ConfigError(
            f"{path}: a file already exists (fix: keep the existing key — replacing it breaks "
            "linkage with earlier waves — or choose another path)"
        )
    why = _inside_protected(path)
    if why:
        raise ConfigError(
            f"{path}: refusing to write a key here because {why} (fix: keep keys outside the "
            "repository and the data folder, e.g. ~/.mentoreval/keys/<programme>.key)"
        )
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_bytes(_KEY_BYTES)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key.hex() + "\n")
    os.chmod(path, 0o600)
    return key_fingerprint(key)


def resolve_key_file(configured: str | Path | None, *, base: Path | None = None) -> Path | None:
    """The key file to use: ``$MENTOREVAL_KEY_FILE`` if set, else ``configured`` (relative
    paths resolved from ``base``, the folder of the study file), else None."""
    env = os.environ.get(KEY_ENV)
    if env:
        return Path(env).expanduser()
    if configured is None:
        return None
    p = Path(configured).expanduser()
    return p if p.is_absolute() or base is None else base / p


def _key_problem(where: str, path: Path, what: str, fix: str) -> ConfigError:
    return ConfigError(f"{where}key file {path} {what} (fix: {fix})")


def _unsafe_place(
    real: Path, *, data_folders: Iterable[str | Path], study_folder: str | Path | None
) -> str | None:
    """Why the resolved key path ``real`` is not a safe place for a key, or None: inside a
    repository, a ``data`` folder, the study folder or one of the study's data folders."""
    why = _inside_protected(real)
    if why is None and study_folder is not None:
        top = Path(study_folder).expanduser().resolve()
        if top in real.parents:
            why = f"it is inside the study folder {top}, which is shared with the study"
    if why is None:
        for folder in data_folders:
            top = Path(folder).expanduser().resolve()
            if real == top or top in real.parents:
                why = f"it is inside the data folder {top}"
                break
    return why


def _read_key_file(path: Path, where: str) -> tuple[bytes, os.stat_result]:
    """The bytes of a regular key file (at most :data:`KEY_MAX_BYTES`) and its status."""
    try:
        # O_NONBLOCK: opening a pipe must not wait for a writer; O_NOCTTY: nor a terminal
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise ConfigError(
            f"{where}key file {path} not found (fix: run 'mentoreval keygen {path}' for a new "
            "study, or point key_file / MENTOREVAL_KEY_FILE at the key used for earlier waves)"
        ) from None
    except OSError as exc:
        raise _key_problem(
            where,
            path,
            f"cannot be opened ({exc.strerror or exc.__class__.__name__})",
            "use a key written by 'mentoreval keygen PATH' that you can read",
        ) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _key_problem(
                where, path, "is not a regular file (a device, folder or pipe)", _USE_KEYGEN
            )
        if info.st_size > KEY_MAX_BYTES:
            raise _key_problem(
                where,
                path,
                f"is {info.st_size} bytes; a key file holds 64 hex digits",
                _USE_KEYGEN,
            )
        chunks: list[bytes] = []
        size = 0
        while size <= KEY_MAX_BYTES and (chunk := os.read(fd, KEY_MAX_BYTES + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise _key_problem(
            where,
            path,
            f"cannot be read ({exc.strerror or exc.__class__.__name__})",
            f"use a key written by 'mentoreval keygen {path}'",
        ) from None
    finally:
        os.close(fd)
    if size > KEY_MAX_BYTES:
        raise _key_problem(
            where,
            path,
            f"holds more than {KEY_MAX_BYTES} bytes; a key file holds 64 hex digits",
            _USE_KEYGEN,
        )
    return b"".join(chunks), info


def _parse_key(data: bytes) -> bytes:
    """The key written as hex in ``data`` (empty when it is not hex text)."""
    try:
        text = data.decode("ascii").strip()
    except UnicodeDecodeError:
        text = ""
    try:
        return bytes.fromhex(text)
    except ValueError:
        return b""


def load_key(
    path: str | Path | None,
    *,
    study: str | None = None,
    strict: bool = False,
    notices: list[Problem] | None = None,
    data_folders: Iterable[str | Path] = (),
    study_folder: str | Path | None = None,
) -> bytes:
    """Read a key written by :func:`keygen`, refusing anything that is not a safe key file.

    Parameters
    ----------
    path
        The key file (see :func:`resolve_key_file`).
    study
        The study file's name, to say where the key was configured.
    strict
        Refuse a key file that group or other users can read (the ``nhs`` disclosure
        profile) instead of reporting it.
    notices
        Where to report a group/other-readable key as a located :class:`Problem` (key
        ``key_file``, fix ``chmod 600 PATH``); without a list it is a
        :class:`KeyPermissionWarning`.
    data_folders
        The study's data folders (its export folders, ``data_roots``): a key inside one is
        refused, as is one inside a repository or a folder named ``data`` (the rule
        :func:`keygen` applies).
    study_folder
        The folder of the study file: a key inside it is refused too, since that folder is
        shared, copied and archived with the study (the key must not travel with the data).

    Raises
    ------
    ConfigError
        When no key file is configured; the file is missing, not a regular file (a device
        such as ``/dev/zero``, a folder, a pipe), larger than :data:`KEY_MAX_BYTES`, or does
        not hold 64 hex digits; it lies inside a repository or a data folder; or (with
        ``strict``) others can read it — each with its fix.

    Examples
    --------
    >>> load_key(None)
    Traceback (most recent call last):
    ...
    mentoreval.errors.ConfigError: no pseudonymisation key file is configured (fix: create one with 'mentoreval keygen ~/.mentoreval/keys/<programme>.key' and set key_file: in the study config or the MENTOREVAL_KEY_FILE environment variable)
    """
    where = f"{study}: key_file: " if study else ""
    if path is None:
        raise ConfigError(
            f"{where}no pseudonymisation key file is configured (fix: create one with "
            "'mentoreval keygen ~/.mentoreval/keys/<programme>.key' and set key_file: in the "
            f"study config or the {KEY_ENV} environment variable)"
        )
    path = Path(path).expanduser()
    why = _unsafe_place(path.resolve(), data_folders=data_folders, study_folder=study_folder)
    if why:
        raise _key_problem(where, path, f"is refused because {why}", _MOVE)
    data, info = _read_key_file(path, where)
    key = _parse_key(data)
    if len(key) != _KEY_BYTES:  # longer is a paste of two keys, or not a key at all
        raise ConfigError(
            f"{where}key file {path} does not hold a 64-hex-digit key (fix: use a key written "
            "by 'mentoreval keygen PATH')"
        )
    if info.st_mode & 0o077:
        mode = stat.S_IMODE(info.st_mode)
        message = (
            f"key file {path} can be used by other users (permissions {mode:04o}); only its "
            "owner should be able to read it"
        )
        fix = f"chmod 600 {path}"
        if strict:
            raise ConfigError(
                f"{where}{message}; the nhs disclosure profile refuses it (fix: {fix})"
            )
        if notices is not None:
            notices.append(Problem(message, file=study, key="key_file", fix=fix))
        else:
            warnings.warn(f"{where}{message} (fix: {fix})", KeyPermissionWarning, stacklevel=2)
    return key
