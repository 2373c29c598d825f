"""Pseudonymisation, keys and identifying-column detection."""

from __future__ import annotations

import hashlib
import hmac
import os
import unicodedata
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from mentoreval.errors import ConfigError, Problem
from mentoreval.ingest.protect import (
    KEY_MAX_BYTES,
    KeyPermissionWarning,
    confusable_collisions,
    confusable_groups,
    detect_identifying,
    hmac_sha256_hex,
    key_fingerprint,
    keygen,
    load_key,
    normalise_id,
    pseudonymise,
    skeleton,
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


# ------------------------------------------------------------------------------ key files


def _key(path: Path, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(bytes(range(32)).hex() + "\n", encoding="ascii")
    os.chmod(path, mode)
    return path


def test_key_file_that_is_a_device_is_refused_without_reading_it() -> None:
    with pytest.raises(ConfigError) as info:
        load_key("/dev/zero")
    assert "not a regular file" in str(info.value) and "mentoreval keygen" in str(info.value)


def test_key_file_that_is_a_pipe_is_refused_without_waiting(tmp_path: Path) -> None:
    fifo = tmp_path / "k.key"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match="not a regular file"):
        load_key(fifo)


def test_huge_key_file_is_refused_by_its_size(tmp_path: Path) -> None:
    big = tmp_path / "big.key"
    big.write_bytes(b"0" * (KEY_MAX_BYTES + 1))
    os.chmod(big, 0o600)
    with pytest.raises(ConfigError, match=f"{KEY_MAX_BYTES + 1} bytes"):
        load_key(big)


def test_key_longer_than_64_hex_digits_is_refused(tmp_path: Path) -> None:
    """Two keys pasted into one file were accepted (only a short key was refused)."""
    long = tmp_path / "long.key"
    long.write_text("ab" * 64 + "\n")
    os.chmod(long, 0o600)
    with pytest.raises(ConfigError, match="64-hex-digit"):
        load_key(long)


def test_key_inside_a_repository_or_data_folder_is_refused_like_keygen(tmp_path: Path) -> None:
    repo = tmp_path / "project"
    (repo / ".git").mkdir(parents=True)
    with pytest.raises(ConfigError, match="inside the repository"):
        load_key(_key(repo / "keys" / "k.key"))
    with pytest.raises(ConfigError, match="inside the data folder"):
        load_key(_key(tmp_path / "data" / "k.key"))
    # a link from a safe place to a key inside the repository is the key inside it
    link = tmp_path / "safe" / "k.key"
    link.parent.mkdir()
    link.symlink_to(repo / "keys" / "k.key")
    with pytest.raises(ConfigError, match="inside the repository"):
        load_key(link)
    # the study's own data folders (its exports, data_roots)
    exports = tmp_path / "exports"
    with pytest.raises(ConfigError, match="inside the data folder") as info:
        load_key(_key(exports / "k.key"), data_folders=[exports])
    assert "~/.mentoreval/keys" in str(info.value)
    assert len(load_key(_key(tmp_path / "keys" / "k.key"), data_folders=[exports])) == 32


def test_group_readable_key_is_reported_with_the_chmod_fix(tmp_path: Path) -> None:
    path = _key(tmp_path / "keys" / "k.key", 0o644)
    notices: list[Problem] = []
    assert len(load_key(path, study="study.yaml", notices=notices)) == 32
    (problem,) = notices
    assert problem.key == "key_file" and problem.fix == f"chmod 600 {path}"
    assert "0644" in problem.message
    with pytest.warns(KeyPermissionWarning, match="chmod 600"):
        load_key(path)
    # the nhs disclosure profile refuses it
    with pytest.raises(ConfigError, match="chmod 600"):
        load_key(path, strict=True)
    os.chmod(path, 0o600)
    notices.clear()
    load_key(path, strict=True, notices=notices)
    assert notices == []


# ------------------------------------------------------------------------ look-alike ids


def test_lookalike_ids_are_counted_and_never_merged() -> None:
    latin = "ab12"
    cyrillic = "\u0430b12"  # Cyrillic a
    ids = pd.Series([latin, cyrillic, "AB12", "cd34", None, "\u0441d99", "\u0410\u0412-7", "ab-7"])
    # they stay different people: different pseudonyms
    p = pseudonymise(ids, KEY)
    assert p[0] != p[1] and p[0] == p[2]
    groups = confusable_groups(ids)
    assert groups[0] == groups[1] == groups[2]
    assert groups[6] == groups[7] and groups[6] != groups[0]
    assert groups[[3, 4, 5]].isna().all()
    assert confusable_collisions(ids) == 4  # ab12/аb12 and ab-7/АВ-7 (distinct pseudonyms)
    assert skeleton(cyrillic) == skeleton(latin)


def test_plain_ascii_ids_have_no_lookalikes_and_cost_one_pass() -> None:
    import time

    ids = pd.Series([f"S{i:07d}" for i in range(200_000)])
    start = time.process_time()
    assert confusable_collisions(ids) == 0
    assert time.process_time() - start < 2


def test_lookalike_table_maps_cyrillic_and_greek_letters_to_ascii() -> None:
    from mentoreval.ingest.protect import _LOOKALIKE

    assert len(_LOOKALIKE) > 60
    for source, target in _LOOKALIKE.items():
        name = unicodedata.name(chr(source))
        assert name.startswith(("CYRILLIC", "GREEK")), name
        assert isinstance(target, str) and target.isascii() and target.isalnum()
        # ids are NFKC-normalised before the table applies: every entry must survive it
        assert unicodedata.normalize("NFKC", chr(source)) == chr(source)
