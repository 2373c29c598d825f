"""Protection: keyed pseudonyms, look-alike ids and identifying-column detection (stage: protect).

A participant id never leaves ingestion as itself. It is *normalised* (Unicode NFKC,
zero-width characters stripped, whitespace — NBSP included — collapsed, case folded) and
replaced by ``HMAC-SHA256(key, normalised id)`` in hex, so ``" José.Smith@Uni.ac.uk"`` and
``"jose\u0301.smith@uni.ac.uk"`` link while nobody without the key can enumerate student
numbers back from the pseudonyms (an unkeyed hash of an 8-digit number is reversed in
about a minute).

:func:`detect_identifying` (the safety net behind the study config's declared roles) lives in
:mod:`mentoreval.ingest.identifying` and is re-exported here.

The key itself — writing it (:func:`keygen`), finding it (:func:`resolve_key_file`),
reading and checking it (:func:`load_key`) and its public :func:`key_fingerprint` — lives in
:mod:`mentoreval.ingest.keys`; those names are re-exported here.

Ids that differ only by look-alike letters (a Cyrillic ``а`` for a Latin ``a``) get
different pseudonyms and do not link; :func:`confusable_groups` and
:func:`confusable_collisions` find them through a UTS #39-style :func:`skeleton` so that
they can be reported — they are never merged.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from mentoreval.errors import MentorevalError
from mentoreval.ingest.identifying import detect_identifying, identifying_columns
from mentoreval.ingest.keys import (
    KEY_ENV,
    KEY_MAX_BYTES,
    KeyPermissionWarning,
    key_fingerprint,
    keygen,
    load_key,
    resolve_key_file,
)

__all__ = [
    "KEY_ENV",
    "KEY_MAX_BYTES",
    "KeyPermissionWarning",
    "confusable_collisions",
    "confusable_groups",
    "detect_identifying",
    "hmac_sha256_hex",
    "identifying_columns",
    "key_fingerprint",
    "keygen",
    "load_key",
    "make_pseudonymiser",
    "map_ids",
    "normalise_id",
    "pseudonymise",
    "resolve_key_file",
    "skeleton",
]

_ZERO_WIDTH = re.compile("[\u200b-\u200d\ufeff]")
_SPACES = re.compile(r"\s+")  # str patterns match Unicode whitespace, NBSP included


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


_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


def hmac_sha256_hex(key: bytes, messages: Iterable[bytes]) -> list[str]:
    """``HMAC-SHA256(key, m)`` in hex for every message (RFC 2104), fast for many messages.

    The keyed inner and outer SHA-256 states are computed once and copied per message,
    which halves the cost of :func:`hmac.digest` called per message (that one re-keys every
    time). The results are the standard HMAC.

    Examples
    --------
    >>> import hmac
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


# ----------------------------------------------------------------- look-alike ids

# Cyrillic and Greek letters that look like a Latin letter or a digit, with the character
# they look like. Source: Unicode Technical Standard #39 (Unicode Security Mechanisms),
# data file confusables.txt (https://www.unicode.org/Public/security/latest/confusables.txt):
# the entries whose source is a Cyrillic or Greek letter and whose prototype is one ASCII
# letter or digit. TR39 maps letters that look like a capital I (Greek Iota, Cyrillic I,
# Palochka) to "l"; they map to "I" here because ids are compared case-insensitively, so
# what they must meet is a Latin "I" (= "i"). Letters that NFKC already turns into other
# letters (lunate sigma, rho symbol) are left out: ids are NFKC-normalised first.
_LOOKALIKE = str.maketrans(
    {
        "\u0391": "A",  # GREEK CAPITAL LETTER ALPHA
        "\u0392": "B",  # GREEK CAPITAL LETTER BETA
        "\u0395": "E",  # GREEK CAPITAL LETTER EPSILON
        "\u0396": "Z",  # GREEK CAPITAL LETTER ZETA
        "\u0397": "H",  # GREEK CAPITAL LETTER ETA
        "\u0399": "I",  # GREEK CAPITAL LETTER IOTA
        "\u039a": "K",  # GREEK CAPITAL LETTER KAPPA
        "\u039c": "M",  # GREEK CAPITAL LETTER MU
        "\u039d": "N",  # GREEK CAPITAL LETTER NU
        "\u039f": "O",  # GREEK CAPITAL LETTER OMICRON
        "\u03a1": "P",  # GREEK CAPITAL LETTER RHO
        "\u03a4": "T",  # GREEK CAPITAL LETTER TAU
        "\u03a5": "Y",  # GREEK CAPITAL LETTER UPSILON
        "\u03a7": "X",  # GREEK CAPITAL LETTER CHI
        "\u037f": "J",  # GREEK CAPITAL LETTER YOT
        "\u03dc": "F",  # GREEK LETTER DIGAMMA
        "\u03b1": "a",  # GREEK SMALL LETTER ALPHA
        "\u03b3": "y",  # GREEK SMALL LETTER GAMMA
        "\u03b9": "i",  # GREEK SMALL LETTER IOTA
        "\u03bd": "v",  # GREEK SMALL LETTER NU
        "\u03bf": "o",  # GREEK SMALL LETTER OMICRON
        "\u03c1": "p",  # GREEK SMALL LETTER RHO
        "\u03c3": "o",  # GREEK SMALL LETTER SIGMA
        "\u03c5": "u",  # GREEK SMALL LETTER UPSILON
        "\u03f3": "j",  # GREEK LETTER YOT
        "\u0410": "A",  # CYRILLIC CAPITAL LETTER A
        "\u0412": "B",  # CYRILLIC CAPITAL LETTER VE
        "\u0415": "E",  # CYRILLIC CAPITAL LETTER IE
        "\u0417": "3",  # CYRILLIC CAPITAL LETTER ZE
        "\u041a": "K",  # CYRILLIC CAPITAL LETTER KA
        "\u041c": "M",  # CYRILLIC CAPITAL LETTER EM
        "\u041d": "H",  # CYRILLIC CAPITAL LETTER EN
        "\u041e": "O",  # CYRILLIC CAPITAL LETTER O
        "\u0420": "P",  # CYRILLIC CAPITAL LETTER ER
        "\u0421": "C",  # CYRILLIC CAPITAL LETTER ES
        "\u0422": "T",  # CYRILLIC CAPITAL LETTER TE
        "\u0423": "Y",  # CYRILLIC CAPITAL LETTER U
        "\u0425": "X",  # CYRILLIC CAPITAL LETTER HA
        "\u0405": "S",  # CYRILLIC CAPITAL LETTER DZE
        "\u0406": "I",  # CYRILLIC CAPITAL LETTER BYELORUSSIAN-UKRAINIAN I
        "\u0408": "J",  # CYRILLIC CAPITAL LETTER JE
        "\u04ae": "Y",  # CYRILLIC CAPITAL LETTER STRAIGHT U
        "\u04c0": "I",  # CYRILLIC LETTER PALOCHKA
        "\u050c": "G",  # CYRILLIC CAPITAL LETTER KOMI SJE
        "\u051c": "W",  # CYRILLIC CAPITAL LETTER WE
        "\u0474": "V",  # CYRILLIC CAPITAL LETTER IZHITSA
        "\u042c": "b",  # CYRILLIC CAPITAL LETTER SOFT SIGN
        "\u0430": "a",  # CYRILLIC SMALL LETTER A
        "\u0431": "6",  # CYRILLIC SMALL LETTER BE
        "\u0433": "r",  # CYRILLIC SMALL LETTER GHE
        "\u0435": "e",  # CYRILLIC SMALL LETTER IE
        "\u043e": "o",  # CYRILLIC SMALL LETTER O
        "\u0440": "p",  # CYRILLIC SMALL LETTER ER
        "\u0441": "c",  # CYRILLIC SMALL LETTER ES
        "\u0443": "y",  # CYRILLIC SMALL LETTER U
        "\u0445": "x",  # CYRILLIC SMALL LETTER HA
        "\u0455": "s",  # CYRILLIC SMALL LETTER DZE
        "\u0456": "i",  # CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I
        "\u0458": "j",  # CYRILLIC SMALL LETTER JE
        "\u04af": "y",  # CYRILLIC SMALL LETTER STRAIGHT U
        "\u04bb": "h",  # CYRILLIC SMALL LETTER SHHA
        "\u04cf": "i",  # CYRILLIC SMALL LETTER PALOCHKA
        "\u0501": "d",  # CYRILLIC SMALL LETTER KOMI DE
        "\u051b": "q",  # CYRILLIC SMALL LETTER QA
        "\u051d": "w",  # CYRILLIC SMALL LETTER WE
        "\u0475": "v",  # CYRILLIC SMALL LETTER IZHITSA
        "\u0461": "w",  # CYRILLIC SMALL LETTER OMEGA
        "\u04bd": "e",  # CYRILLIC SMALL LETTER ABKHASIAN CHE
    }
)
_NON_ASCII = "[^\\x00-\\x7f]"


def skeleton(raw: str) -> str:
    """The form two ids take when they differ only by look-alike letters (UTS #39 style).

    Like :func:`normalise_id` (NFKC, zero-width characters removed, whitespace collapsed,
    case folded), with Cyrillic and Greek letters that look like Latin letters or digits
    replaced by those (after NFD, so accents stay comparable). Two ids with the same
    skeleton and different :func:`normalise_id` forms look the same but get different
    pseudonyms: they are never merged, only counted (:func:`confusable_collisions`).

    Examples
    --------
    >>> skeleton("\u0410\u0412-12"), skeleton("AB-12"), normalise_id("\u0410\u0412-12")
    ('ab-12', 'ab-12', 'ав-12')
    >>> skeleton("j\u043ese\u0301") == skeleton("JOSÉ")
    True
    """
    text = raw
    for _ in range(4):
        new = unicodedata.normalize("NFKC", text)
        new = _ZERO_WIDTH.sub("", new)
        new = _SPACES.sub(" ", new).strip()
        if new == text:
            break
        text = new
    text = unicodedata.normalize("NFD", text).translate(_LOOKALIKE)
    return unicodedata.normalize("NFC", text).casefold()


def confusable_groups(ids: pd.Series) -> pd.Series:
    """For each id, a group number when it looks like a *different* id, else ``<NA>``.

    Two ids look alike when their :func:`skeleton` is equal but their :func:`normalise_id`
    forms (what is pseudonymised) differ — e.g. ``"ab12"`` typed once with a Cyrillic
    ``а``. Such ids get different pseudonyms and do not link; this only finds them, so that
    a warning can say how many and where (never merge them silently). Only distinct ids
    are examined, and only ids with a non-ASCII character can look like another one, so
    plain ASCII ids cost one vectorised pass.

    Returns
    -------
    pandas.Series
        ``Int64``, same index as ``ids``: equal numbers for ids that look alike.

    Examples
    --------
    >>> ids = pd.Series(["ab12", "\u0430b12", "AB12", "cd34", None, "\u0441d99"])
    >>> confusable_groups(ids).tolist()
    [0, 0, 0, <NA>, <NA>, <NA>]
    """
    codes, uniques = pd.factorize(ids.astype("string").array, use_na_sentinel=True)  # type: ignore[call-overload]
    out = np.full(len(ids), -1, dtype=np.int64)
    if len(uniques):
        arr = pa.chunked_array([pa.array(uniques, type=pa.large_string())]).combine_chunks()
        odd = pc.call_function(
            "match_substring_regex", [arr], pc.MatchSubstringOptions(_NON_ASCII)
        ).to_numpy(zero_copy_only=False)
        if odd.any():
            normal = map_ids(uniques, normalise_id, lower=True)
            skel = normal.copy()
            where = np.flatnonzero(odd)
            skel[where] = [skeleton(v) for v in arr.take(pa.array(where)).to_pylist()]
            filled = normal.astype(bool)
            frame = pd.DataFrame({"skel": skel[filled], "normal": normal[filled]})
            shared = frame.groupby("skel", sort=False)["normal"].transform("nunique") > 1
            group = np.full(len(uniques), -1, dtype=np.int64)
            if shared.any():
                labels, _ = pd.factorize(frame.loc[shared, "skel"])
                group[np.flatnonzero(filled)[shared.to_numpy()]] = labels
            out = np.where(codes >= 0, group[np.maximum(codes, 0)], -1)
    result = pd.array(out, dtype="Int64")
    result[out < 0] = pd.NA
    return pd.Series(result, index=ids.index, name=ids.name)


def confusable_collisions(ids: pd.Series) -> int:
    """How many distinct ids look like another distinct id (see :func:`confusable_groups`).

    Counted as distinct :func:`normalise_id` forms, i.e. distinct pseudonyms: ``"ab12"``,
    ``"AB12"`` and ``"аb12"`` (Cyrillic ``а``) are 2.

    Examples
    --------
    >>> confusable_collisions(pd.Series(["ab12", "AB12", "\u0430b12", "x"]))
    2
    """
    groups = confusable_groups(ids)
    hit = groups.notna().to_numpy()
    if not hit.any():
        return 0
    normal = map_ids(pd.unique(ids[hit].astype("string").to_numpy()), normalise_id, lower=True)
    return len(set(normal.tolist()))
