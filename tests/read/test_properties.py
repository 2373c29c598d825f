"""Property-based tests on generated dirty CSVs: nothing is lost, everything reconciles."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mentoreval.errors import MentorevalError
from mentoreval.read import count_records, read_export
from mentoreval.read.text import _valid_utf8

CELL = st.one_of(
    st.sampled_from(["None", "NA", "007", "", " "]),
    st.text(alphabet=st.sampled_from(list('ab ,;"\n\r\t0NA' + "é€")), max_size=12),
)


def _write(rows: list[list[str]], *, bom: bool, crlf: bool, blank_every: int) -> bytes:
    buf = io.StringIO()
    # csv.writer only quotes characters of its own line terminator; with "\n" endings a bare
    # "\r" in a cell would be written unquoted (unreadable by any parser), so quote all.
    writer = csv.writer(
        buf,
        lineterminator="\r\n" if crlf else "\n",
        quoting=csv.QUOTE_MINIMAL if crlf else csv.QUOTE_ALL,
    )
    for i, row in enumerate(rows):
        writer.writerow(row)
        if blank_every and i and i % blank_every == 0:
            buf.write("\r\n" if crlf else "\n")
    data = buf.getvalue().encode("utf-8")
    return (b"\xef\xbb\xbf" + data) if bom else data


def _without_trailing_blanks(records: list[list[str]]) -> list[list[str]]:
    """Blank lines at the end of a file are not records."""
    while records and not records[-1]:
        records = records[:-1]
    return records


@st.composite
def dirty_csv(draw: st.DrawFn) -> tuple[list[list[str]], bytes]:
    ncol = draw(st.integers(1, 5))
    header = [f"c{i}" for i in range(ncol)]
    body = draw(st.lists(st.lists(CELL, min_size=ncol, max_size=ncol), max_size=15))
    raw = _write(
        [header, *body],
        bom=draw(st.booleans()),
        crlf=draw(st.booleans()),
        blank_every=draw(st.integers(0, 4)),
    )
    return [header, *body], raw


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dirty_csv())
def test_reconciliation_and_round_trip(sample: tuple[list[list[str]], bytes]) -> None:
    rows, raw = sample
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "dirty.csv"
        path.write_bytes(raw)
        t = read_export(path, format="csv")
    # reconciliation: kept + excluded == independent record count
    assert len(t.data) + len(t.excluded) == t.record_count_check
    text = raw.decode("utf-8-sig")
    stdlib = len(_without_trailing_blanks(list(csv.reader(io.StringIO(text, newline=""))))) - 1
    assert t.record_count_check == stdlib
    # round trip: every non-empty generated row comes back, text unchanged ("" → NA)
    expected = [r for r in rows[1:] if any(c != "" for c in r)]
    got = t.data.astype(object).where(t.data.notna(), "").to_numpy().tolist()
    assert got == expected
    assert set(t.excluded["rule"]) <= {"blank_row", "empty_row"}
    assert t.data.index.is_monotonic_increasing


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_crash_or_lose_rows(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.csv"
        path.write_bytes(raw)
        try:
            t = read_export(path)
        except MentorevalError:
            return
    assert len(t.data) + len(t.excluded) == t.record_count_check
    assert isinstance(t.data, pd.DataFrame)


@settings(max_examples=100, deadline=None)
@given(dirty_csv())
def test_quote_scan_matches_stdlib(sample: tuple[list[list[str]], bytes]) -> None:
    _, raw = sample
    body = raw.removeprefix(b"\xef\xbb\xbf")
    index = count_records(body)
    assert index is not None
    records = _without_trailing_blanks(
        list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))
    )
    assert index.total == len(records)
    assert index.blank_rows.tolist() == [i + 1 for i, r in enumerate(records) if not r]


@given(st.one_of(st.binary(max_size=64), st.text(max_size=32).map(str.encode)))
def test_utf8_check_agrees_with_python(data: bytes) -> None:
    # Arrow validates in place; it must accept exactly what Python's decoder accepts
    try:
        data.decode("utf-8")
        expected = True
    except UnicodeDecodeError:
        expected = False
    assert _valid_utf8(data) is expected
