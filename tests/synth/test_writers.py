"""Export writers: structure against the formats reference, determinism, read-back."""

from __future__ import annotations

import csv
import json

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from mentoreval.synth import CohortSpec, generate_cohort
from mentoreval.synth.writers import (
    REDCAP_DICTIONARY_HEADER,
    column_map,
    study_config,
    write_csv,
    write_exports,
    write_googleforms,
    write_qualtrics,
    write_redcap,
    write_spss,
    write_xlsx,
)

META = [
    "StartDate",
    "EndDate",
    "Status",
    "IPAddress",
    "Progress",
    "Duration (in seconds)",
    "Finished",
    "RecordedDate",
    "ResponseId",
    "RecipientLastName",
    "RecipientFirstName",
    "RecipientEmail",
    "ExternalReference",
    "LocationLatitude",
    "LocationLongitude",
    "DistributionChannel",
    "UserLanguage",
]


@pytest.fixture(scope="module")
def cohort():
    return generate_cohort(
        CohortSpec(
            n_students=60,
            design="comparison",
            instruments=("who5", "cbi", "pss10"),
            seed=17,
            attrition=0.2,
            duplicates=0.1,
            item_nonresponse=0.05,
            preview_rows=2,
            test_rows=1,
        )
    )


def read_rows(path):
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


@pytest.mark.parametrize("values", ["codes", "labels"])
def test_qualtrics_layout(cohort, tmp_path, values):
    p = write_qualtrics(cohort, tmp_path / "pre.csv", wave="pre", values=values)
    raw = p.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf") and b"\r\n" not in raw
    rows = read_rows(p)
    header, text, ids = rows[0], rows[1], rows[2]
    assert header[:17] == META
    assert text[2] == "Response Type" and text[5] == "Duration (in seconds)"
    parsed = [json.loads(x) for x in ids]
    assert parsed[0] == {"ImportId": "startDate", "timeZone": "Europe/London"}
    assert parsed[8] == {"ImportId": "_recordId"}
    qmap = column_map(cohort, "qualtrics")
    assert header[17:22] == list(qmap["who5"].values())
    assert parsed[17] == {"ImportId": "QID1_1"}
    assert header[-5:] == ["student_id", "group", "year_of_study", "gender", "site"]
    assert parsed[-5] == {"ImportId": "student_id"}
    data = pd.DataFrame(rows[3:], columns=header)
    n_pre = (cohort.submissions["wave"] == "pre").sum()
    assert len(data) == n_pre + 3
    status = data["Status"].tolist()
    if values == "codes":
        assert status[:3] == ["1", "1", "2"] and set(status[3:]) == {"0"}
        assert set(data["Finished"]) == {"1"}
        assert set(data["Q1_1"]) <= {"", "0", "1", "2", "3", "4", "5"}
    else:
        assert status[:3] == ["Survey Preview", "Survey Preview", "Survey Test"]
        assert set(status[3:]) == {"IP Address"} and set(data["Finished"]) == {"True"}
        assert "Sometimes" in set(data["Q2_1"])
    assert data["DistributionChannel"].tolist()[:3] == ["preview", "preview", "test"]
    assert (data["student_id"].iloc[:3] == "").all()
    assert data["ResponseId"].str.fullmatch(r"R_[0-9A-Za-z]{15}").all()
    assert data["StartDate"].str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d").all()
    real = data.iloc[3:]
    assert real["RecipientEmail"].str.endswith("@students.example.ac.uk").all()
    assert (real["student_id"].value_counts() > 1).any()  # duplicate submissions


def test_redcap_longitudinal(cohort, tmp_path):
    p = write_redcap(cohort, tmp_path / "redcap.csv", dictionary=tmp_path / "dict.csv")
    data = pd.read_csv(p, dtype=str, keep_default_na=False)
    assert list(data.columns[:2]) == ["record_id", "redcap_event_name"]
    assert set(data["redcap_event_name"]) == {"baseline_arm_1", "followup_arm_1"}
    assert not data.duplicated(["record_id", "redcap_event_name"]).any()
    for form in ("participant", "who5", "cbi", "pss10", "mes"):
        assert f"{form}_complete" in data.columns
    base = data[data["redcap_event_name"] == "baseline_arm_1"]
    fol = data[data["redcap_event_name"] == "followup_arm_1"]
    assert set(base["participant_complete"]) == {"2"} and set(fol["participant_complete"]) == {""}
    assert set(base["mes_complete"]) == {""} and set(fol["group"]) == {""}
    comp = fol[fol["record_id"].isin(base.loc[base["group"] == "comparison", "record_id"])]
    assert set(comp["mes_complete"]) == {"0"}
    assert len(fol) == (~cohort.people["dropped"]).sum()
    # checkbox-free, raw codes; CBI codes are 0–100
    assert set(base["cbi_p1"]) <= {"", "0", "25", "50", "75", "100"}
    d = read_rows(tmp_path / "dict.csv")
    assert tuple(d[0]) == REDCAP_DICTIONARY_HEADER
    fields = {r[0]: r for r in d[1:]}
    assert fields["record_id"][1] == "participant"
    assert fields["mes_1"][5].endswith("9, N/A")
    assert fields["cbi_w1"][5].startswith("100, To a very high degree")
    assert all(len(r) == 18 for r in d)


def test_redcap_labels(cohort, tmp_path):
    p = write_redcap(cohort, tmp_path / "r.csv", values="labels")
    data = pd.read_csv(p, dtype=str, keep_default_na=False)
    assert "Baseline (Arm 1: Arm 1)" in set(data["redcap_event_name"])
    assert {"Complete", ""} >= set(data["participant_complete"])
    assert "Female" in set(data["gender"])


def test_spss_labels_and_user_missing(tmp_path):
    c = generate_cohort(CohortSpec(n_students=200, item_nonresponse=0.1, seed=2))
    p = write_spss(c, tmp_path / "post.sav", wave="post")
    df, meta = pyreadstat.read_sav(p, user_missing=True)
    assert meta.variable_value_labels["cbi_p1"][100.0] == "Always"
    assert meta.variable_value_labels["mes_1"][9.0] == "N/A"
    assert meta.missing_ranges["mes_1"] == [{"lo": 9.0, "hi": 9.0}]
    assert (df["mes_1"] == 9).any()
    assert meta.column_names_to_labels["who5_1"].endswith(
        "I have felt cheerful and in good spirits"
    )
    assert df["student_id"].str.fullmatch(r"[0-9]{7}").all()
    df2, _ = pyreadstat.read_sav(p)
    assert not (df2["mes_1"] == 9).any()  # user-missing becomes NaN by default


def test_xlsx_and_msforms(cohort, tmp_path):
    plain = write_xlsx(cohort, tmp_path / "pre.xlsx", wave="pre")
    df = pd.read_excel(plain, dtype=str)
    assert list(df.columns[:8]) == [
        "student_id",
        "group",
        "year_of_study",
        "gender",
        "site",
        "StartDate",
        "EndDate",
        "Duration",
    ]
    forms = write_xlsx(cohort, tmp_path / "pre_forms.xlsx", wave="post", layout="msforms")
    df = pd.read_excel(forms)
    assert list(df.columns[:5]) == ["ID", "Start time", "Completion time", "Email", "Name"]
    assert pd.api.types.is_datetime64_any_dtype(df["Start time"])
    assert "I have felt calm and relaxed" in df.columns


def test_googleforms(cohort, tmp_path):
    p = write_googleforms(cohort, tmp_path / "g.csv", wave="pre")
    text = p.read_text(encoding="utf-8")
    first = text.splitlines()[1]
    assert first.startswith('"20') and all(f.startswith('"') for f in first.split('","')[:1])
    rows = read_rows(p)
    assert rows[0][0] == "Timestamp" and rows[0][1] == "Email address"
    assert "CBI [How often do you feel tired?]" in rows[0]
    assert rows[1][0].endswith(("AM GMT+1", "PM GMT+1"))
    df = pd.DataFrame(rows[1:], columns=rows[0])
    assert set(df["WHO-5: over the last two weeks [I have felt calm and relaxed]"]) <= {
        "",
        "At no time",
        "Some of the time",
        "Less than half of the time",
        "More than half of the time",
        "Most of the time",
        "All of the time",
    }


def test_writers_are_byte_deterministic(cohort, tmp_path):
    fmts = ["qualtrics", "redcap", "spss", "xlsx", "msforms", "googleforms", "csv", "meetings"]
    a = write_exports(cohort, tmp_path / "a", formats=fmts)
    b = write_exports(generate_cohort(cohort.spec), tmp_path / "b", formats=fmts)
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].read_bytes() == b[k].read_bytes(), k


def test_csv_codes_and_labels(cohort, tmp_path):
    codes = pd.read_csv(
        write_csv(cohort, tmp_path / "c.csv", wave="pre"), dtype=str, keep_default_na=False
    )
    labels = pd.read_csv(
        write_csv(cohort, tmp_path / "l.csv", wave="pre", values="labels"),
        dtype=str,
        keep_default_na=False,
    )
    assert set(codes["pss_1"]) <= {"", "0", "1", "2", "3", "4"}
    assert set(labels["pss_1"]) <= {
        "",
        "Never",
        "Almost never",
        "Sometimes",
        "Fairly often",
        "Very often",
    }


def test_study_config_rejects_mixed_naming(cohort, tmp_path):
    from mentoreval.errors import ConfigError

    paths = write_exports(cohort, tmp_path, formats={"pre": "qualtrics", "post": "csv"})
    with pytest.raises(ConfigError, match="different column namings"):
        study_config(cohort, paths, config_dir=tmp_path)


@pytest.mark.parametrize(
    "formats",
    [
        {"pre": "qualtrics", "post": "qualtrics", "meetings": "meetings"},
        ("redcap",),
        {"pre": "spss", "post": "csv"},
        {"pre": "xlsx", "post": "xlsx"},
        {"pre": "msforms", "post": "msforms"},
        {"pre": "googleforms", "post": "googleforms"},
    ],
    ids=["qualtrics", "redcap", "spss+csv", "xlsx", "msforms", "googleforms"],
)
def test_ingest_reads_exports_without_special_casing(tmp_path, formats):
    ingest = pytest.importorskip("mentoreval.ingest.pipeline")
    from mentoreval.synth.writers import write_study_config

    c = generate_cohort(
        CohortSpec(
            n_students=50,
            design="comparison",
            seed=23,
            attrition=0.2,
            values="labels" if "xlsx" in str(formats) else "codes",
        )
    )
    paths = write_exports(c, tmp_path / "exports", formats=formats)
    cfg = write_study_config(study_config(c, paths, config_dir=tmp_path), tmp_path / "study.yaml")
    res = ingest.ingest_study(cfg, key=bytes(32), write=False)
    assert res.summary["participants"] == 50
    assert res.summary["linked_pairs"] == int((~c.people["dropped"]).sum())
    assert res.summary["answers_quarantined"] == 0
    # the scores equal scoring the generated answers directly
    from mentoreval.instruments.scoring import score_wide

    sub = c.submissions[~c.submissions["duplicate"]]
    wide = sub[["student_id", "wave", *[f"who5_{k}" for k in range(1, 6)]]].rename(
        columns={"student_id": "participant_id"}
    )
    direct = score_wide(wide.reset_index(drop=True), "who5")
    got = res.scores[(res.scores["instrument"] == "who5")]
    assert np.isclose(np.nanmean(got["score"].astype(float)), np.nanmean(direct["score"]))
