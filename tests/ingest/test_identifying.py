"""Identifying-column detection: false alarms from real exports stay quiet, real ones fire."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mentoreval.ingest.identifying import detect_identifying, header_words
from mentoreval.read import read_export

N = 30


def _found(df: pd.DataFrame) -> dict[str, str]:
    out = detect_identifying(df)
    return dict(zip(out["column"], out["reason"], strict=True))


def test_hotel_and_hostel_are_not_phone_columns() -> None:
    df = pd.DataFrame(
        {
            "Where did you stay: Hotel": ["yes", "no", "yes"] * 10,
            "Hostel": ["1", "0", "1"] * 10,
            "HotelName": ["a", "b", "c"] * 10,  # "name" is a whole word here: flagged
        }
    )
    assert _found(df) == {"HotelName": "header looks like name"}


def test_location_inside_a_word_or_a_question_is_not_a_location_column() -> None:
    df = pd.DataFrame(
        {
            "Allocation": ["A", "B", "C"] * 10,
            "How satisfied were you with the location of the meetings?": ["4"] * N,
            "How well did your mentor address your concerns?": ["3"] * N,
            "Location": ["London", "Leeds", "York"] * 10,  # a short metadata header: flagged
        }
    )
    assert _found(df) == {"Location": "header looks like location"}


def test_clock_times_are_not_ipv6_addresses() -> None:
    times = [f"15:{m:02d}:49" for m in range(N)]
    df = pd.DataFrame({"started": times, "hhmm": [f"0{m % 10}:{m:02d}" for m in range(N)]})
    assert _found(df) == {}


def test_decimal_numbers_are_never_free_text() -> None:
    df = pd.DataFrame(
        {
            "Total time": [f"{1000 + i}.{i:020d}" for i in range(N)],  # long unique numbers
            "Score (comma decimals)": [f"{i},12345678901234567890" for i in range(N)],
        }
    )
    assert _found(df) == {}


def test_timestamps_are_never_free_text() -> None:
    stamps = [f"2022/03/{1 + i % 28:02d} 11:{i:02d}:19 PM AST" for i in range(N)]
    iso = [f"2024-01-{1 + i % 28:02d}T10:{i:02d}:00+01:00" for i in range(N)]
    assert _found(pd.DataFrame({"Timestamp": stamps, "submitted": iso})) == {}


def test_redcap_structural_fields_are_not_names() -> None:
    df = pd.DataFrame({"redcap_event_name": [f"visit_{i}_arm_1" for i in range(N)]})
    assert _found(df) == {}


def test_limesurvey_timing_columns_are_not_matched_by_header() -> None:
    df = pd.DataFrame(
        {
            "Question time: address": ["12.5"] * N,
            "Group time: The second group": ["3.1"] * N,
        }
    )
    assert _found(df) == {}


def test_true_positives_still_fire() -> None:
    df = pd.DataFrame(
        {
            "Email Address": ["x"] * N,
            "contact": [f"user{i}@example.org" for i in range(N)],
            "IP Address": ["x"] * N,
            "client": [f"2001:db8::{i:x}" for i in range(N)],
            "v4": [f"10.0.0.{i}" for i in range(N)],
            "Phone number": ["x"] * N,
            "Mobile": ["x"] * N,
            "tel": ["x"] * N,
            "First Name": ["x"] * N,
            "Last Name": ["x"] * N,
            "Name": ["x"] * N,
            "Please enter your address [Street]": ["x"] * N,
            "Date you are born": ["x"] * N,
            "LocationLatitude": ["51.5"] * N,
            "RecipientEmail": ["x"] * N,
            "ExternalDataReference": ["x"] * N,
            "next_of_kin_contact_name": ["x"] * N,
            "next_of_kin_contact_address": ["x"] * N,
            "What could your mentor do better?": [
                f"More time for questions about rotation {i} please" for i in range(N)
            ],
        }
    )
    found = _found(df)
    assert set(found) == set(df.columns)
    assert found["contact"] == "values look like email values"
    assert found["client"] == "values look like IP address values"
    assert found["v4"] == "values look like IP address values"
    assert found["Phone number"] == "header looks like phone"
    assert found["tel"] == "header looks like phone"
    assert found["RecipientEmail"] == "header looks like email"
    assert found["What could your mentor do better?"].startswith("free text")


def test_header_words_split_camel_case_and_punctuation() -> None:
    assert header_words("LocationLatitude") == "location latitude"
    assert header_words("ExternalDataReference") == "external data reference"
    assert header_words("e-mail_address") == "e mail address"


def test_real_limesurvey_export_warns_only_about_identifying_columns(
    shared_formats: Path,
) -> None:
    exports = sorted(shared_formats.glob("limesurvey_*/*.csv"))
    if not exports:
        pytest.skip("no LimeSurvey export in ../shared/formats")
    for path in exports:
        table = read_export(path)
        found = _found(table.data)
        for column, reason in found.items():
            assert not column.lower().startswith(("question time", "group time")), column
            values = table.data[column].dropna()
            numeric = values.str.fullmatch(r"\s*-?\d+([.,]\d+)?\s*").all()
            assert not (numeric and reason.startswith("free text")), column
            assert "ip address" not in reason.lower() or "ip" in column.lower(), column
