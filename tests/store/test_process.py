"""Tests for mentoreval.store.meetings: meeting-log reading, quarantine and dose measures."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import Workbook

from mentoreval.errors import ConfigError, DataError, ReadError
from mentoreval.store.meetings import MENTOR_TYPES, MeetingLog, dose_measures, read_meeting_log

KEY = b"test-key-not-secret-0123456789ab"


def hmac_pseudonymise(ids: pd.Series) -> pd.Series:
    """A tiny stand-in for mentoreval.ingest.protect: HMAC-SHA256 of the case-folded id."""
    return ids.map(
        lambda v: hmac.new(KEY, str(v).strip().casefold().encode(), hashlib.sha256).hexdigest()
    )


def pid(raw: str) -> str:
    return hmac_pseudonymise(pd.Series([raw])).iloc[0]


HEADER = "date,mentee_id,mentor_id,mentor_type,mode,minutes\n"
GOOD_ROWS = [
    "2025-09-03,S001,F10,faculty,in-person,30",
    "2025-09-17,S001,P20,Near peer,Video,45",
    "2025-09-10,S002,F10,FACULTY,phone,20",
]


def write(tmp_path: Path, rows: list[str], name: str = "log.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_valid_csv_is_read_normalised_and_pseudonymised(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_ROWS)
    log = read_meeting_log(path, pseudonymise=hmac_pseudonymise)
    assert isinstance(log, MeetingLog)
    assert log.rows_in == 3 and log.rows_quarantined == 0 and log.quarantine.empty
    assert log.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    m = log.meetings
    assert list(m.columns) == [
        "date",
        "mentee_id",
        "mentor_id",
        "mentor_type",
        "mode",
        "minutes",
        "source",
        "source_row",
    ]
    assert set(m["mentee_id"]) == {pid("S001"), pid("S002")}
    assert set(m["mentor_id"]) == {pid("F10"), pid("P20")}
    assert not m.isin(["S001", "S002", "F10", "P20"]).any().any()  # no raw ids survive
    s1 = m[m["mentee_id"] == pid("S001")]
    assert s1["mentor_type"].tolist() == ["faculty", "near-peer"]
    assert s1["mode"].tolist() == ["in-person", "video"]
    assert s1["source_row"].tolist() == [2, 3]
    assert m["date"].dtype == "datetime64[ns]"
    assert m["minutes"].dtype == "float64"
    assert "3 rows read" in log._repr_html_()


def test_every_bad_row_is_quarantined_with_row_column_value_reason(tmp_path: Path) -> None:
    rows = [
        *GOOD_ROWS,  # rows 2-4
        "2025-02-30,S003,F10,faculty,video,30",  # 5: impossible date
        ",S003,F10,faculty,video,30",  # 6: missing date
        "2025-09-03,,F10,faculty,video,30",  # 7: missing mentee
        "2025-09-03,S003,F10,coach,video,30",  # 8: bad mentor type
        "2025-09-03,S003,F10,peer,carrier pigeon,30",  # 9: bad mode
        "2025-09-03,S003,F10,peer,video,0",  # 10: zero minutes
        "2025-09-03,S003,F10,peer,video,thirty",  # 11: not a number
        "2025-09-03,S003,F10,peer,video,900",  # 12: implausibly long
        ",,,,,",  # 13: blank row
        "2025-09-03,S001,F10,faculty,in-person,30",  # 14: double entry of row 2
        "03/09/2025,S004,,sponsor,video,-1",  # 15: three problems at once
    ]
    path = write(tmp_path, rows)
    log = read_meeting_log(path, pseudonymise=hmac_pseudonymise)
    q = log.quarantine
    assert list(q.columns) == ["source", "source_row", "stage", "rule", "reason", "column", "value"]
    assert log.rows_in == 14
    assert len(log.meetings) == 3
    assert log.rows_quarantined == 11
    assert len(log.meetings) + log.rows_quarantined == log.rows_in
    got = {(r.source_row, r.rule, r.column, r.value) for r in q.itertuples()}
    assert got == {
        (5, "invalid_date", "date", "2025-02-30"),
        (6, "missing", "date", ""),
        (7, "missing", "mentee_id", ""),
        (8, "invalid_mentor_type", "mentor_type", "coach"),
        (9, "invalid_mode", "mode", "carrier pigeon"),
        (10, "invalid_minutes", "minutes", "0"),
        (11, "invalid_minutes", "minutes", "thirty"),
        (12, "invalid_minutes", "minutes", "900"),
        (13, "blank_row", "", ""),
        (14, "duplicate", "", ""),
        (15, "invalid_date", "date", "03/09/2025"),
        (15, "missing", "mentor_id", ""),
        (15, "invalid_minutes", "minutes", "-1"),
    }
    assert (q["stage"] == "process").all() and (q["source"] == "log.csv").all()
    assert (
        q.loc[q["rule"] == "invalid_mentor_type", "reason"]
        .iloc[0]
        .endswith(", ".join(MENTOR_TYPES))
    )
    assert q["source_row"].is_monotonic_increasing


def test_column_mapping_date_format_value_labels_and_modes(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text(
        "When,Student ID,Mentor,Type,How,Mins\n"
        "03/09/2025,007,F1,2,Teams,30\n"
        "17/09/2025,007,F1,9,Teams,30\n"
    )
    log = read_meeting_log(
        path,
        pseudonymise=lambda s: "x" + s,
        columns={
            "date": "When",
            "mentee_id": "Student ID",
            "mentor_id": "Mentor",
            "mentor_type": "Type",
            "mode": "How",
            "minutes": "Mins",
        },
        date_format="%d/%m/%Y",
        value_labels={"mentor_type": {"1": "peer", "2": "near-peer"}},
        modes=None,
    )
    assert log.meetings["date"].tolist() == [pd.Timestamp("2025-09-03")]
    assert log.meetings["mentee_id"].tolist() == ["x007"]  # leading zeros kept
    assert log.meetings["mode"].tolist() == ["teams"]
    assert log.quarantine[["source_row", "column", "value"]].to_numpy().tolist() == [
        [3, "Type", "9"]  # the source column name, so the user can find it
    ]


def test_missing_columns_are_listed_together(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("date,student,mentor_id,mentor_type\n2025-01-01,a,b,peer\n")
    with pytest.raises(ReadError) as info:
        read_meeting_log(path, pseudonymise=hmac_pseudonymise)
    text = str(info.value)
    assert text.startswith("3 problems")
    assert "'mentee_id'" in text and "'mode'" in text and "'minutes'" in text
    assert "student" in text  # lists the columns present


def test_bad_options_and_unreadable_files(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_ROWS)
    with pytest.raises(ConfigError, match="auto, csv, xlsx, redcap"):
        read_meeting_log(path, pseudonymise=hmac_pseudonymise, format="sav")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="unknown field 'mentor'"):
        read_meeting_log(path, pseudonymise=hmac_pseudonymise, columns={"mentor": "x"})
    with pytest.raises(ReadError, match="cannot read"):
        read_meeting_log(tmp_path / "nope.csv", pseudonymise=hmac_pseudonymise)
    with pytest.raises(DataError, match="same length"):
        read_meeting_log(path, pseudonymise=lambda s: s.head(1))


def test_xlsx_with_date_cells(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["date", "mentee_id", "mentor_id", "mentor_type", "mode", "minutes"])
    ws.append([dt.datetime(2025, 9, 3), "S1", "F1", "faculty", "in-person", 30])
    ws.append(["2025-09-17", "S1", "F1", "faculty", "video", 45.5])
    ws.append([None, None, None, None, None, None])
    ws.append([dt.datetime(2025, 10, 1), "S2", "F1", "Research", "video", "n/a"])
    path = tmp_path / "log.xlsx"
    wb.save(path)
    log = read_meeting_log(path, pseudonymise=hmac_pseudonymise)
    assert log.rows_in == 4
    assert log.meetings["date"].tolist() == [pd.Timestamp("2025-09-03"), pd.Timestamp("2025-09-17")]
    assert log.meetings["minutes"].tolist() == [30.0, 45.5]
    assert log.quarantine[["source_row", "rule"]].to_numpy().tolist() == [
        [4, "blank_row"],
        [5, "invalid_minutes"],
    ]


def test_redcap_repeating_instrument(tmp_path: Path) -> None:
    path = tmp_path / "redcap.csv"
    path.write_text(
        "record_id,redcap_repeat_instrument,redcap_repeat_instance,enrolled,"
        "date,mentor_id,mentor_type,mode,minutes\n"
        "101,,,1,,,,,\n"
        "101,meeting_log,1,,2025-09-02,F1,faculty,video,30\n"
        "101,meeting_log,2,,2025-09-16,F1,faculty,video,30\n"
        "102,,,1,,,,,\n"
        "102,meeting_log,1,,2025-09-04,P3,peer,in-person,\n"
        "102,exit_survey,1,,,,,,\n"
    )
    log = read_meeting_log(path, pseudonymise=hmac_pseudonymise, instrument="meeting_log")
    assert log.rows_in == 3 and log.rows_ignored == 3
    assert log.meetings["mentee_id"].unique().tolist() == [pid("101")]
    assert log.meetings["source_row"].tolist() == [3, 4]
    assert log.quarantine[["source_row", "rule", "column"]].to_numpy().tolist() == [
        [6, "missing", "minutes"]
    ]
    # Explicit instrument name; an unknown one is reported with the names found.
    assert (
        read_meeting_log(path, pseudonymise=hmac_pseudonymise, instrument="meeting_log").rows_in
        == 3
    )
    with pytest.raises(ConfigError, match="exit_survey"):
        read_meeting_log(path, pseudonymise=hmac_pseudonymise, instrument="meetings")


def test_redcap_with_several_instruments_needs_a_choice(tmp_path: Path) -> None:
    path = tmp_path / "redcap.csv"
    path.write_text(
        "record_id,redcap_repeat_instrument,redcap_repeat_instance,"
        "date,mentor_id,mentor_type,mode,minutes\n"
        "1,meeting_log,1,2025-09-02,F1,faculty,video,30\n"
        "1,check_in,1,2025-09-02,F1,faculty,video,30\n"
    )
    with pytest.raises(ConfigError, match="instrument"):
        read_meeting_log(path, pseudonymise=hmac_pseudonymise)
    log = read_meeting_log(path, pseudonymise=hmac_pseudonymise, instrument="check_in")
    assert log.rows_in == 1 and log.rows_ignored == 1


def test_ragged_rows_quoted_newlines_and_text_ids(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text(
        HEADER
        + "2025-01-01,NA,007,peer,video,30\n"  # 'NA' and '007' are ids, not missing/7
        + "2025-01-02,S1,F1,peer,video,30,surplus\n"  # too many fields
        + "2025-01-03,S1,F1\n"  # too few
        + '2025-01-04,"S\n2",F1,peer,video,30\n'  # quoted newline: one record
        + "\n"  # blank line
        + "2025-01-05,S3,F1,peer,video,30\n"
    )
    log = read_meeting_log(path, pseudonymise=lambda s: s)
    assert log.rows_in == 6
    assert log.meetings["source_row"].tolist() == [2, 5, 7]
    assert log.meetings["mentor_id"].tolist()[0] == "007"
    assert "NA" in log.meetings["mentee_id"].tolist()
    q = log.quarantine
    assert q.loc[q["rule"] == "wrong_field_count", "source_row"].tolist() == [3, 4]
    assert q.loc[q["source_row"] == 3, "reason"].tolist() == ["7 fields, the header has 6"]
    assert q.loc[q["rule"] == "blank_row", "source_row"].tolist() == [6]
    assert len(log.meetings) + log.rows_quarantined == log.rows_in


# --- dose measures ---------------------------------------------------------------------


def meetings_frame() -> pd.DataFrame:
    rows = [
        # mentee a: faculty every 2 weeks from 1 Sep, plus one peer meeting
        ("2025-09-01", "a", "f1", "faculty", 30),
        ("2025-09-15", "a", "f1", "faculty", 30),
        ("2025-09-29", "a", "f1", "faculty", 30),
        ("2025-09-29", "a", "p1", "peer", 60),
        # mentee b: two peer meetings with two peers, one long gap; peer wins by meetings
        ("2025-09-02", "b", "p1", "peer", 20),
        ("2025-10-20", "b", "p2", "peer", 20),
        ("2025-10-21", "b", "f2", "faculty", 90),
        # mentee c: a single meeting outside the period is ignored
        ("2025-08-01", "c", "f1", "faculty", 30),
        # mentee d: tie on meetings and minutes -> MENTOR_TYPES order (near-peer first)
        ("2025-09-05", "d", "s1", "sponsor", 30),
        ("2025-09-06", "d", "n1", "near-peer", 30),
    ]
    df = pd.DataFrame(rows, columns=["date", "mentee_id", "mentor_id", "mentor_type", "minutes"])
    df["date"] = pd.to_datetime(df["date"])
    df["minutes"] = df["minutes"].astype(float)
    return df


def test_dose_measures_by_hand() -> None:
    dose = dose_measures(
        meetings_frame(),
        target_cadence_days=14,
        period=("2025-09-01", "2025-10-26"),
        mentees=["a", "b", "c", "d", "e"],
    )
    assert dose["mentee_id"].tolist() == ["a", "b", "c", "d", "e"]
    d = dose.set_index("mentee_id")
    # 56 days / 14 = 4 windows: [1-14 Sep], [15-28 Sep], [29 Sep-12 Oct], [13-26 Oct]
    assert (d["n_windows"] == 4).all()
    assert d.loc["a", "n_meetings"] == 4
    assert d.loc["a", "total_minutes"] == 150.0
    assert d.loc["a", "windows_met"] == 3
    assert d.loc["a", "regularity"] == 0.75
    assert d.loc["a", "mean_gap_days"] == 14.0  # distinct dates 1, 15, 29 Sep
    assert d.loc["a", "n_mentors"] == 2
    assert d.loc["a", "mentor_types"] == "faculty, peer"
    assert bool(d.loc["a", "team"]) is True
    assert d.loc["a", "primary_mentor_type"] == "faculty"
    assert d.loc["b", "windows_met"] == 2
    assert d.loc["b", "mean_gap_days"] == 24.5  # gaps 48 and 1
    assert d.loc["b", "max_gap_days"] == 48.0
    assert d.loc["b", "primary_mentor_type"] == "peer"
    assert d.loc["b", "n_mentors"] == 3
    for mentee in ("c", "e"):  # outside the period / never met: zero dose, not missing
        row = d.loc[mentee]
        assert (row["n_meetings"], row["total_minutes"], row["regularity"]) == (0, 0.0, 0.0)
        assert row["mentor_types"] == "" and not row["team"]
        assert pd.isna(row["primary_mentor_type"]) and np.isnan(row["mean_gap_days"])
    assert d.loc["d", "primary_mentor_type"] == "near-peer"
    assert d.loc["d", "mentor_types"] == "near-peer, sponsor"
    assert dose["n_meetings"].dtype == "int64" and dose["team"].dtype == bool


def test_dose_measures_defaults_and_meeting_log_input(tmp_path: Path) -> None:
    log = read_meeting_log(write(tmp_path, GOOD_ROWS), pseudonymise=hmac_pseudonymise)
    dose = dose_measures(log)  # period: first to last meeting (3-17 Sep = 15 days)
    assert dose["n_windows"].tolist() == [2, 2]
    assert dose.set_index("mentee_id").loc[pid("S001"), "n_meetings"] == 2
    weekly = dose_measures(log, target_cadence_days=7)
    assert weekly["n_windows"].tolist() == [3, 3]


def test_dose_measures_bad_options() -> None:
    with pytest.raises(ConfigError, match="positive whole number"):
        dose_measures(meetings_frame(), target_cadence_days=0)
    with pytest.raises(ConfigError, match="before its start"):
        dose_measures(meetings_frame(), period=("2025-10-01", "2025-09-01"))
    with pytest.raises(ConfigError, match="two dates"):
        dose_measures(meetings_frame(), period=("soon", "later"))
    with pytest.raises(DataError, match="mentor_type"):
        dose_measures(meetings_frame().drop(columns="mentor_type"))
    with pytest.raises(ConfigError, match="empty"):
        dose_measures(meetings_frame().head(0))


def test_dose_measures_scales_without_python_loops() -> None:
    rng = np.random.default_rng(1)
    n = 200_000
    df = pd.DataFrame(
        {
            "date": pd.Timestamp("2025-09-01") + pd.to_timedelta(rng.integers(0, 270, n), "D"),
            "mentee_id": rng.integers(0, 20_000, n).astype(str),
            "mentor_id": rng.integers(0, 2_000, n).astype(str),
            "mentor_type": rng.choice(list(MENTOR_TYPES), n),
            "minutes": rng.integers(10, 90, n).astype(float),
        }
    )
    import time

    start = time.process_time()
    dose = dose_measures(df, period=("2025-09-01", "2026-05-28"))
    elapsed = time.process_time() - start
    assert len(dose) == df["mentee_id"].nunique()
    assert dose["n_meetings"].sum() == n
    assert elapsed < 20  # a per-mentee Python loop takes minutes at this size
