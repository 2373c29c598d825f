"""Pseudonymisation, keys and identifying-column detection."""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from mentoreval.errors import ConfigError
from mentoreval.ingest.protect import (
    detect_identifying,
    hmac_sha256_hex,
    key_fingerprint,
    keygen,
    load_key,
    normalise_id,
    pseudonymise,
)

KEY = bytes(range(32))


@given(st.binary(max_size=200), st.lists(st.binary(max_size=300), max_size=5))
def test_fast_hmac_is_the_standard_hmac(key: bytes, messages: list[bytes]) -> None:
    # keys shorter than, equal to and longer than the 64-byte block; empty messages too
    expected = [hmac.new(key, m, hashlib.sha256).hexdigest() for m in messages]
    assert hmac_sha256_hex(key, messages) == expected


def test_pseudonym_is_hmac_of_the_normalised_id() -> None:
    ids = pd.Series([" Jose\u0301.SMITH ", "2000123", None])
    got = pseudonymise(ids, KEY)
    assert got[0] == hmac.new(KEY, "josé.smith".encode(), hashlib.sha256).hexdigest()
    assert got[1] == hmac.new(KEY, b"2000123", hashlib.sha256).hexdigest()
    assert got[2] is pd.NA and str(got.dtype) == "string"


@given(st.text())
def test_normalise_is_idempotent(s: str) -> None:
    once = normalise_id(s)
    assert normalise_id(once) == once


ids = st.text(alphabet=st.characters(categories=("Lu", "Ll", "Nd")), min_size=1, max_size=12)


@given(ids, st.sampled_from([" ", "\u00a0", "\u200b", "\ufeff", "\t"]))
def test_pseudonym_same_for_variants(s: str, junk: str) -> None:
    # Case variants are those casefold treats as equal (Turkish dotless i is not one).
    assume(s.upper().casefold() == s.casefold() == s.lower().casefold())
    variants = [s, s.upper(), s.lower(), f" {s}{junk}", unicodedata.normalize("NFD", s), junk + s]
    p = pseudonymise(pd.Series(variants), KEY)
    assert p.nunique() == 1  # noqa: PD101


@given(ids, ids)
def test_pseudonym_differs_for_different_ids(a: str, b: str) -> None:
    p = pseudonymise(pd.Series([a, b]), KEY)
    assert (p[0] == p[1]) == (normalise_id(a) == normalise_id(b))


def test_lookalike_emails_link() -> None:
    variants = [
        "José.Smith@Uni.ac.uk",
        "Jose\u0301.Smith@Uni.ac.uk",
        "José.Smith@Uni.ac.uk ",
        "José.Smith@Uni.ac.uk".replace(".S", ".\u00a0S").replace("\u00a0", ""),
        "José.Smith\u200b@Uni.ac.uk",
    ]
    assert pseudonymise(pd.Series(variants), KEY).nunique() == 1  # noqa: PD101
    assert pseudonymise(pd.Series(["x"]), KEY)[0] != pseudonymise(pd.Series(["x"]), bytes(32))[0]


def test_keygen_and_load(tmp_path: Path) -> None:
    path = tmp_path / "k" / "a.key"
    fp = keygen(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert key_fingerprint(load_key(path)) == fp
    with pytest.raises(ConfigError, match="already exists"):
        keygen(path)
    with pytest.raises(ConfigError, match="data folder"):
        keygen(tmp_path / "data" / "a.key")
    (tmp_path / "bad.key").write_text("nothex")
    with pytest.raises(ConfigError, match="64-hex-digit"):
        load_key(tmp_path / "bad.key")
    with pytest.raises(ConfigError, match="mentoreval keygen"):
        load_key(tmp_path / "none.key")


def test_detect_identifying() -> None:
    n = 30
    df = pd.DataFrame(
        {
            "LocationLatitude": ["51.5"] * n,
            "Q9": [f"I really enjoyed the sessions number {i} a lot" for i in range(n)],
            "contact": [f"user{i}@example.org" for i in range(n)],
            "where": ["SW1A 1AA"] * n,
            "q1": ["3"] * n,
            "comment": ["ok"] * n,
        }
    )
    found = dict(
        zip(detect_identifying(df)["column"], detect_identifying(df)["reason"], strict=True)
    )
    assert set(found) == {"LocationLatitude", "Q9", "contact", "where"}
    assert found["Q9"].startswith("free text")
