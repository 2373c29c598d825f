"""Every real sample in ../shared/formats is detected and read with the right shape.

The expected counts were worked out by reading the files by hand (header rows, records,
trailing separators); see the comments.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mentoreval.read import TEXT_DTYPE, detect_format, read_export, read_redcap_dictionary

# (relative path, format, kept rows, excluded rows, columns, first source row, header rows)
SAMPLES = [
    # 4 lines: names, German labels, ImportId JSON, one response (Status 0).
    ("qualtrics_qualtRics/sample.csv", "qualtrics", 1, 0, 20, 4, 3),
    # BOM; V1..V10 + 5 named columns + a trailing comma (empty 16th column dropped).
    ("qualtrics_qualtRics/sample_legacy.csv", "qualtrics_legacy", 1, 0, 15, 3, 2),
    # 18 lines: 3 header rows + 15 generated responses, all Status 2 = Survey Test.
    (
        "qualtrics_QualtricsTools/No_Basis_for_Evaluation (Insights).csv",
        "qualtrics_insights",
        0,
        15,
        49,
        None,
        3,
    ),
    # 18 records x 125 columns over 12 events in 2 arms (formats.md 2.1).
    ("redcap_REDCapR_longitudinal/data.csv", "redcap", 18, 0, 125, 2, 1),
    ("redcap_REDCapR_repeating-instruments/data.csv", "redcap", 6, 0, 15, 2, 1),
    ("redcap_REDCapR_survey/data.csv", "redcap", 2, 0, 33, 2, 1),
    ("googleforms_survey-analysis/rating-options-survey.csv", "googleforms", 3, 0, 11, 2, 1),
    ("spss_pyreadstat/sample_missing.sav", "spss", 7, 0, 7, 1, 0),
    ("spss_pyreadstat/simple_alltypes.sav", "spss", 6, 0, 12, 1, 0),
]


@pytest.mark.parametrize(("rel", "fmt", "kept", "excluded", "ncol", "first", "hdr"), SAMPLES)
def test_sample_read(
    shared_formats: Path,
    rel: str,
    fmt: str,
    kept: int,
    excluded: int,
    ncol: int,
    first: int | None,
    hdr: int,
) -> None:
    path = shared_formats / rel
    assert detect_format(path) == fmt
    t = read_export(path)
    assert t.format == fmt
    assert (len(t.data), len(t.excluded), t.data.shape[1]) == (kept, excluded, ncol)
    assert t.header_rows == hdr
    assert t.record_count_check == kept + excluded
    assert t.size_bytes == path.stat().st_size
    assert len(t.sha256) == 64
    assert list(t.columns_meta["column"]) == list(t.data.columns)
    assert all(t.data[c].dtype == TEXT_DTYPE for c in t.data.columns)
    if first is not None:
        assert t.source_row[0] == first


def test_qualtrics_current_metadata(shared_formats: Path) -> None:
    t = read_export(shared_formats / "qualtrics_qualtRics/sample.csv")
    meta = t.columns_meta.set_index("column")
    assert meta.loc["Q1", "import_id"] == "QID1"
    assert meta.loc["Status", "label"] == "Antworttyp"
    assert meta.loc["ResponseId", "import_id"] == "_recordId"
    row = t.data.loc[4]
    assert row["ResponseId"] == "R_2YPOQ602ER1jkf1"
    assert row["Q2"] == "Hello World!"
    assert row["Q2 - Topics"] is pd.NA


def test_qualtrics_legacy_names(shared_formats: Path) -> None:
    t = read_export(shared_formats / "qualtrics_qualtRics/sample_legacy.csv")
    assert t.encoding == "utf-8-sig"
    assert list(t.data.columns[:3]) == ["ResponseID", "ResponseSet", "Name"]
    assert list(t.columns_meta["header"][:3]) == ["V1", "V2", "V3"]
    assert any("trailing separator" in n for n in t.notes)
    assert t.data.loc[3, "Q1"] == "2"


def test_qualtrics_insights_test_rows_are_excluded_not_lost(shared_formats: Path) -> None:
    path = shared_formats / "qualtrics_QualtricsTools/No_Basis_for_Evaluation (Insights).csv"
    t = read_export(path)
    assert set(t.excluded["rule"]) == {"qualtrics_test"}
    assert t.excluded["source_row"].tolist() == list(range(4, 19))
    assert len(t.excluded_rows) == 15
    kept = read_export(path, exclude=())
    assert len(kept.data) == 15
    meta = kept.columns_meta.set_index("column")
    assert meta.loc["Q2_-1", "import_id"] == "QID2-4"
    assert kept.data.loc[4, "Q2_-2"] is pd.NA
    assert kept.data.loc[4, "Q3_1"] == "-1"


def test_redcap_longitudinal_with_dictionary(shared_formats: Path) -> None:
    folder = shared_formats / "redcap_REDCapR_longitudinal"
    t = read_export(folder / "data.csv", dictionary=folder / "dictionary.csv")
    meta = t.columns_meta.set_index("column")
    assert meta.loc["redcap_event_name", "role"] == "event"
    assert meta.loc["gym___1", "role"] == "checkbox"
    assert meta.loc["gym___1", "field"] == "gym"
    assert meta.loc["sex", "choices"] == [("0", "Female"), ("1", "Male")]
    assert meta.loc["first_name", "identifier"] is True
    assert meta.loc["demographics_complete", "role"] == "form_complete"
    events = t.data["redcap_event_name"]
    assert events.nunique() == 12
    assert events.str.endswith("arm_2").any()


def test_redcap_repeating_and_survey(shared_formats: Path) -> None:
    t = read_export(shared_formats / "redcap_REDCapR_repeating-instruments/data.csv")
    assert t.data["redcap_repeat_instrument"].isna().sum() == 2
    assert t.data["redcap_repeat_instance"].dropna().tolist() == ["1", "2", "3", "1"]
    s = read_export(shared_formats / "redcap_REDCapR_survey/data.csv")
    meta = s.columns_meta.set_index("column")
    assert meta.loc["prescreening_survey_timestamp", "role"] == "survey_timestamp"
    assert s.data.loc[2, "participant_morale_questionnaire_timestamp"] == "[not completed]"


def test_redcap_dictionary_sample(shared_formats: Path) -> None:
    d = read_redcap_dictionary(shared_formats / "redcap_REDCapR_longitudinal/dictionary.csv")
    assert len(d) == 95
    assert d["source_row"].iloc[0] == 2
    race = d.set_index("field_name").loc["race", "choices"]
    assert race[0] == ("0", "American Indian/Alaska Native")
    assert len(race) == 7
    slider = d.loc[d["field_type"] == "slider", "slider_labels"].iloc[0]
    assert slider == ["Very sad", "Indifferent", "Very happy"]


def test_spss_labels_and_user_missing(shared_formats: Path) -> None:
    t = read_export(shared_formats / "spss_pyreadstat/sample_missing.sav")
    meta = t.columns_meta.set_index("column")
    # coded order, never alphabetical ('high' < 'low' < 'medium' alphabetically)
    assert meta.loc["myord", "choices"] == [
        ("-1", "missing"),
        ("1", "low"),
        ("2", "medium"),
        ("3", "high"),
    ]
    assert meta.loc["mylabl", "missing_values"] == [("-1", "undetermined")]
    assert meta.loc["mynum", "missing_ranges"] == [("2000", "3000")]
    # user-missing codes stay in the data instead of becoming blanks
    assert t.data.loc[6, "mylabl"] == "-1"
    assert t.data.loc[7, "mynum"] == "2500"
    assert t.data.loc[7, "mylabl"] is pd.NA
    assert t.data.loc[1, "mydate"] == "2018-05-06"
    assert t.data.loc[3, "mynum"] == "-1000.3"
    alltypes = read_export(shared_formats / "spss_pyreadstat/simple_alltypes.sav")
    m2 = alltypes.columns_meta.set_index("column")
    assert m2.loc["bool1", "sub_item"] == "mymrset"
    assert m2.loc["z", "missing_ranges"] == [("-999", "0")]
    assert m2.loc["z", "missing_values"] == [("999", "skipped")]


def test_googleforms_sample(shared_formats: Path) -> None:
    t = read_export(shared_formats / "googleforms_survey-analysis/rating-options-survey.csv")
    assert t.data.loc[2, "Timestamp"] == "2022/03/26 11:00:19 PM AST"
    assert t.data.loc[2, "What do you DISLIKE about option 2?"] == "Colors, navigation"
    assert t.data.loc[2, "Are there any other comments you'd like to make?"] is pd.NA
