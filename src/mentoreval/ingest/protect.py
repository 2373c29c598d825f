"""Protection: keyed pseudonyms, key files and identifying-column detection (stage: protect).

A participant id never leaves ingestion as itself. It is *normalised* (Unicode NFKC,
zero-width characters stripped, whitespace — NBSP included — collapsed, case folded) and
replaced by ``HMAC-SHA256(key, normalised id)`` in hex, so ``" José.Smith@Uni.ac.uk"`` and
``"jose\u0301.smith@uni.ac.uk"`` link while nobody without the key can enumerate student
numbers back from the pseudonyms (an unkeyed hash of an 8-digit number is reversed in
about a minute).

The key is 32 random bytes written as hex by :func:`keygen` to a file with owner-only
permissions, *outside* the repository and the data folder. Its :func:`key_fingerprint` —
never the key — goes into ``manifest.json`` so a different key at a later wave stops the
run instead of silently matching nobody.

:func:`detect_identifying` is the safety net behind the study config's declared roles:
a column with no role whose header or values look like emails, IP addresses, names,
locations, phone numbers, postcodes or free text is dropped and reported by *name* (never
its values).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import unicodedata
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from mentoreval.errors import ConfigError, MentorevalError

__all__ = [
    "KEY_ENV",
    "detect_identifying",
    "hmac_sha256_hex",
    "key_fingerprint",
    "keygen",
    "load_key",
    "make_pseudonymiser",
    "map_ids",
    "normalise_id",
    "pseudonymise",
    "resolve_key_file",
]

KEY_ENV = "MENTOREVAL_KEY_FILE"
"""Environment variable naming the key file; it overrides the study config's ``key_file``."""

_ZERO_WIDTH = re.compile("[\u200b-\u200d\ufeff]")
_SPACES = re.compile(r"\s+")  # str patterns match Unicode whitespace, NBSP included
_KEY_BYTES = 32


def normalise_id(raw: str) -> str:
    """Normalise an identifier before it is pseudonymised.

    Unicode NFKC, zero-width characters (U+200B–U+200D, U+FEFF) removed, runs of whitespace
    (NBSP included) collapsed to one space and trimmed, then case-folded. Repeated until
    stable, so the result is idempotent.

    Examples
    --------
    >>> normalise_id("  Jose\\u0301.SMITH@Uni.ac.uk\\u200b ")
    'josé.smith@uni.ac.uk'
    >>> normalise_id("AB\\u00a0 12") == normalise_id("ab 12")
    True
    """
    text = raw
    for _ in range(4):
        new = unicodedata.normalize("NFKC", text)
        new = _ZERO_WIDTH.sub("", new)
        new = _SPACES.sub(" ", new).strip().casefold()
        if new == text:
            break
        text = new
    return text


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


_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


def hmac_sha256_hex(key: bytes, messages: Iterable[bytes]) -> list[str]:
    """``HMAC-SHA256(key, m)`` in hex for every message (RFC 2104), fast for many messages.

    The keyed inner and outer SHA-256 states are computed once and copied per message,
    which halves the cost of :func:`hmac.digest` called per message (that one re-keys every
    time). The results are the standard HMAC.

    Examples
    --------
    >>> key = bytes(range(32))
    >>> hmac_sha256_hex(key, [b"abc"]) == [hmac.new(key, b"abc", hashlib.sha256).hexdigest()]
    True
    """
    if len(key) > 64:  # the SHA-256 block size
        key = hashlib.sha256(key).digest()
    padded = key.ljust(64, b"\0")
    inner = hashlib.sha256(padded.translate(_IPAD)).copy
    outer = hashlib.sha256(padded.translate(_OPAD)).copy
    out = []
    for message in messages:
        h = inner()
        h.update(message)
        o = outer()
        o.update(h.digest())
        out.append(o.hexdigest())
    return out


_PLAIN = "^[!-~]+$"  # printable ASCII without spaces: NFKC, zero-width and spacing leave it as is


def map_ids(uniques: Any, func: Callable[[str], str], *, lower: bool) -> np.ndarray:
    """``func`` of every (non-missing) id text, as an object array of ``str``.

    ``func`` must leave plain ASCII ids without spaces unchanged, apart from lower-casing
    them when ``lower``: those are converted in Arrow, vectorised, and only the rest go
    through ``func`` one by one.

    Examples
    --------
    >>> map_ids(["AB12", " ab\u00a012"], normalise_id, lower=True).tolist()
    ['ab12', 'ab 12']
    """
    arr = pa.chunked_array([pa.array(uniques, type=pa.large_string())]).combine_chunks()
    if len(arr) == 0:
        return np.zeros(0, dtype=object)
    plain_text = pc.call_function("utf8_lower", [arr]) if lower else arr
    out = plain_text.to_numpy(zero_copy_only=False)
    plain = pc.call_function(
        "match_substring_regex", [arr], pc.MatchSubstringOptions(_PLAIN)
    ).to_numpy(zero_copy_only=False)
    odd = np.flatnonzero(~plain.astype(bool))
    if odd.size:
        out[odd] = [func(v) for v in arr.take(pa.array(odd)).to_pylist()]
    return out


def pseudonymise(ids: pd.Series, key: bytes) -> pd.Series:
    """Replace identifiers by their keyed pseudonyms (HMAC-SHA256 hex of the normalised id).

    Only the distinct ids are hashed; the result is mapped back, so cost grows with the
    number of people, not of rows. Empty ids (after normalisation) become ``<NA>``.

    Parameters
    ----------
    ids
        Raw identifiers (text; ``<NA>`` allowed).
    key
        The secret key (see :func:`load_key`).

    Returns
    -------
    pandas.Series
        Pseudonyms (64 hex digits), same index as ``ids``, dtype ``string``.

    Raises
    ------
    MentorevalError
        In the (astronomically unlikely) case two different ids share a pseudonym.

    Examples
    --------
    >>> ids = pd.Series(["AB12", " ab12 ", "ab\\u200b12", "cd34", None])
    >>> p = pseudonymise(ids, bytes(32))
    >>> p.nunique(), len(p[0]), p[4] is pd.NA
    (2, 64, True)
    """
    codes, uniques = pd.factorize(ids.astype("string").array, use_na_sentinel=True)  # type: ignore[call-overload]
    normal = map_ids(uniques, normalise_id, lower=True)
    filled = normal.astype(bool)  # an id that normalises to "" is no id
    digests = np.full(len(normal), None, dtype=object)
    digests[filled] = hmac_sha256_hex(key, [v.encode("utf-8") for v in normal[filled]])
    # Distinct normalised ids must keep distinct pseudonyms (full-length digest, checked).
    if len(set(digests[filled])) != len(set(normal[filled])):
        raise MentorevalError("two different ids share a pseudonym; please report this bug")
    table = pa.array(digests, type=pa.large_string())
    taken = table.take(pa.array(codes, mask=codes < 0))
    return pd.Series(pd.arrays.ArrowStringArray(taken), index=ids.index, name=ids.name, copy=False)


def make_pseudonymiser(key: bytes) -> Callable[[pd.Series], pd.Series]:
    """A ``Series → Series`` pseudonymiser bound to ``key`` (for :mod:`mentoreval.process`).

    Examples
    --------
    >>> f = make_pseudonymiser(bytes(32))
    >>> int(f(pd.Series(["x"])).str.len().iloc[0])
    64
    """

    def apply(ids: pd.Series) -> pd.Series:
        return pseudonymise(ids, key)

    return apply


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


def load_key(path: str | Path | None, *, study: str | None = None) -> bytes:
    """Read a key written by :func:`keygen`.

    Raises
    ------
    ConfigError
        When no key file is configured, the file is missing, or it does not hold 64 hex
        digits — with the ``mentoreval keygen PATH`` fix.

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
    path = Path(path)
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise ConfigError(
            f"{where}key file {path} not found (fix: run 'mentoreval keygen {path}' for a new "
            "study, or point key_file / MENTOREVAL_KEY_FILE at the key used for earlier waves)"
        ) from None
    except (UnicodeDecodeError, OSError) as exc:
        raise ConfigError(
            f"{where}key file {path} cannot be read ({exc.__class__.__name__}) (fix: use a key "
            f"written by 'mentoreval keygen {path}')"
        ) from None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < _KEY_BYTES:
        raise ConfigError(
            f"{where}key file {path} does not hold a 64-hex-digit key (fix: use a key written "
            "by 'mentoreval keygen PATH')"
        )
    return key


# --------------------------------------------------------------------------- detection

_HEADER_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("email", re.compile(r"e-?mail", re.I)),
    ("ip address", re.compile(r"(^|[^a-z])ip([^a-z]|$)|ip_?addr|ipaddress", re.I)),
    (
        "name",
        re.compile(r"(^|[^a-z])(first|last|full|sur|given|family|user)?_? ?name($|[^a-z])", re.I),
    ),
    ("recipient", re.compile(r"recipient", re.I)),
    ("address", re.compile(r"address|street|city|town", re.I)),
    ("phone", re.compile(r"phone|mobile|tel(ephone)?($|[^a-z])", re.I)),
    ("postcode", re.compile(r"post_?code|zip_?code|postal", re.I)),
    (
        "location",
        re.compile(r"latitude|longitude|(^|[^a-z])(lat|lon|lng)($|[^a-z])|location", re.I),
    ),
    ("token", re.compile(r"token|external_?(data_?)?ref", re.I)),
    ("date of birth", re.compile(r"birth|(^|[^a-z])dob($|[^a-z])", re.I)),
]
_EMAIL = r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}"
_IPV4 = r"(?:\d{1,3}\.){3}\d{1,3}"
_IPV6 = r"(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}"
_UK_POSTCODE = r"[A-Za-z]{1,2}\d[A-Za-z\d]? ?\d[A-Za-z]{2}"
_VALUE_PATTERNS = [
    ("email values", re.compile(rf"^\s*{_EMAIL}\s*$")),
    ("IP address values", re.compile(rf"^\s*(?:{_IPV4}|{_IPV6})\s*$")),
    ("postcode values", re.compile(rf"^\s*{_UK_POSTCODE}\s*$")),
]
_SAMPLE = 500


def detect_identifying(data: pd.DataFrame, *, columns: Iterable[str] | None = None) -> pd.DataFrame:
    """Find columns that look identifying, by header, by value, or as free text.

    Parameters
    ----------
    data
        Text cells (one column per export column).
    columns
        Columns to check (default: all).

    Returns
    -------
    pandas.DataFrame
        One row per suspicious column: ``column``, ``reason`` (e.g. ``"header looks like
        email"``, ``"free text"``). Values are never reported.

    Examples
    --------
    >>> df = pd.DataFrame({"RecipientEmail": ["a@b.org"], "contact": ["x@y.com"],
    ...                    "q1": ["3"], "IPAddress": ["10.0.0.1"]})
    >>> detect_identifying(df)
               column                         reason
    0  RecipientEmail        header looks like email
    1         contact  values look like email values
    2       IPAddress   header looks like ip address
    """
    rows = []
    for col in data.columns if columns is None else columns:
        if col not in data.columns:
            continue
        header = str(col)
        reason = next(
            (f"header looks like {what}" for what, pat in _HEADER_PATTERNS if pat.search(header)),
            None,
        )
        if reason is None:
            values = data[col].dropna().astype(str)
            values = values[values.str.strip() != ""]
            if len(values):
                sample = values.drop_duplicates().head(_SAMPLE)
                for what, pat in _VALUE_PATTERNS:
                    if sample.str.match(pat).mean() > 0.5:
                        reason = f"values look like {what}"
                        break
                if reason is None:
                    ratio = values.nunique() / len(values)
                    if len(values) >= 3 and ratio > 0.9 and values.str.len().mean() > 20:
                        reason = "free text (mostly unique long answers)"
        if reason:
            rows.append({"column": header, "reason": reason})
    return pd.DataFrame(rows, columns=["column", "reason"])
