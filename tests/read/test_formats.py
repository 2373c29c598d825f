"""Format-specific behaviour on small synthetic files generated into tmp_path."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from mentoreval.read import detect_format, read_export, read_redcap_dictionary

HEAD = (
    "StartDate\tStatus\tProgress\tFinished\tResponseId\tDistributionChannel\tQ1\n"
    "Start Date\tResponse Type\tProgress\tFinished\tResponse ID\tChannel\tMood - Today\n"
    '{"ImportId":"startDate","timeZone":"Europe/Zurich"}\t{"ImportId":"status"}\t'
    '{"ImportId":"progress"}\t{"ImportId":"finished"}\t{"ImportId":"_recordId"}\t'
    '{"ImportId":"distributionChannel"}\t{"ImportId":"QID1","choiceId":"2"}\n'
)
ROWS = [
    "2024-01-01\t0\t100\t1\tR_1\tanonymous\tNA",
    "2024-01-01\t1\t100\t1\tR_2\tpreview\t3",
    "2024-01-01\t2\t100\t1\tR_3\ttest\t3",
    "2024-01-01\t8\t100\t1\tR_4\tanonymous\t3",
    "2024-01-01\t0\t40\t0\tR_5\tanonymous\t",
    "2024-01-01\t0\t100\t1\tR_6\tpreview\t2",
    "2024-01-01\t42\t100\t1\tR_7\tanonymous\t2",
]


@pytest.fixture
def qualtrics_tsv(tmp_path: Path) -> Path:
    p = tmp_path / "survey.tsv"
    p.write_bytes((HEAD + "\n".join(ROWS) + "\n").encode("utf-16"))
    return p


def test_qualtrics_utf16_tsv_exclusions(qualtrics_tsv: Path) -> None:
    t = read_export(qualtrics_tsv)
    assert (t.format, t.encoding, t.delimiter) == ("qualtrics", "utf-16", "\t")
    assert t.data["ResponseId"].tolist() == ["R_1", "R_5"]
    assert t.data.loc[4, "Q1"] == "NA"  # literal NA kept as text
    ex = t.excluded.set_index("source_row")
    assert ex["rule"].to_dict() == {
        5: "qualtrics_preview",
        6: "qualtrics_test",
        7: "qualtrics_spam",
        9: "qualtrics_preview",
        10: "qualtrics_status_unknown",
    }
    assert ex.loc[9, "column"] == "DistributionChannel"
    assert ex.loc[10, "value"] == "42"
    assert t.excluded_rows.index.tolist() == [5, 6, 7, 9, 10]
    meta = t.columns_meta.set_index("column")
    assert meta.loc["Q1", ["import_id", "choice_id", "question", "sub_item"]].tolist() == [
        "QID1",
        "2",
        "Mood",
        "Today",
    ]
    assert meta.loc["StartDate", "time_zone"] == "Europe/Zurich"


def test_qualtrics_unfinished_rule(qualtrics_tsv: Path) -> None:
    t = read_export(qualtrics_tsv, unfinished="exclude", exclude=("spam",))
    ex = t.excluded.set_index("source_row")
    assert ex.loc[8, "rule"] == "qualtrics_unfinished"
    assert ex.loc[8, "reason"] == "response not finished (Progress 40%)"
    assert t.data["ResponseId"].tolist() == ["R_1", "R_2", "R_3", "R_6"]
    assert t.n_records == t.record_count_check == 7


def test_cp1252_fallback_is_recorded(tmp_path: Path) -> None:
    p = tmp_path / "old.csv"
    p.write_bytes("id,name\n007,Zoë\n".encode("cp1252"))
    t = read_export(p)
    assert t.encoding == "cp1252"
    assert t.data.loc[2, "name"] == "Zoë"
    assert t.data.loc[2, "id"] == "007"
    assert any("cp1252" in n for n in t.notes)


def test_redcap_label_export_duplicate_headers(tmp_path: Path) -> None:
    p = tmp_path / "P_DATA_LABELS_2024.csv"
    p.write_text(
        "\ufeffRecord ID,Event Name,Sex,Complete?,Mood (choice=Low),Complete?\n"
        "001,Baseline (Arm 1: A),Female,Complete,Checked,Incomplete\n",
        encoding="utf-8",
    )
    t = read_export(p)
    assert t.format == "redcap_labels"
    assert list(t.data.columns) == [
        "Record ID",
        "Event Name",
        "Sex",
        "Complete?",
        "Mood (choice=Low)",
        "Complete?__2",
    ]
    meta = t.columns_meta.set_index("column")
    assert meta.loc["Complete?__2", "duplicate_of"] == "Complete?"
    assert meta.loc["Complete?__2", "role"] == "form_complete"
    assert meta.loc["Event Name", "role"] == "event"
    assert meta.loc["Mood (choice=Low)", "choice_id"] == "Low"


def test_dictionary_api_and_ui_headers_agree(tmp_path: Path) -> None:
    ui = tmp_path / "ui.csv"
    ui.write_text(
        "\ufeff“Variable / Field Name”,Form Name,Field Type,Field Label,"
        '"Choices, Calculations, OR Slider Labels",Identifier?\n'
        'mood,pre,radio,Mood,"-7, Refused|1,Low| 2 ,High, very",\n'
        "email,pre,text,Email,,y\n",
        encoding="utf-8",
    )
    api = tmp_path / "api.csv"
    api.write_text(
        "field_name,form_name,field_type,field_label,select_choices_or_calculations,identifier\n"
        'mood,pre,radio,Mood,"-7, Refused|1,Low| 2 ,High, very",\n'
        "email,pre,text,Email,,y\n"
    )
    a, b = read_redcap_dictionary(ui), read_redcap_dictionary(api)
    assert list(a.columns) == list(b.columns)
    assert a.loc[0, "choices"] == [("-7", "Refused"), ("1", "Low"), ("2", "High, very")]
    assert a["choices"].tolist() == b["choices"].tolist()
    assert a.loc[1, "identifier"] == "y"


def test_redcap_records_with_dictionary(tmp_path: Path) -> None:
    dd = tmp_path / "dd.csv"
    dd.write_text(
        "field_name,form_name,field_type,field_label,select_choices_or_calculations\n"
        "record_id,pre,text,ID,\n"
        'race,pre,checkbox,Race,"1, Asian | -99, Unknown | abc, Other"\n'
        "age,pre,text,Age,\n"
    )
    data = tmp_path / "data.csv"
    data.write_text(
        "record_id,redcap_event_name,race___1,race____99,race___abc,age,pre_complete\n"
        "0012,pre_arm_1,1,0,0,UNK,2\n"
    )
    t = read_export(data, dictionary=dd)
    meta = t.columns_meta.set_index("column")
    assert meta.loc["race____99", ["field", "choice_id", "sub_item"]].tolist() == [
        "race",
        "-99",
        "Unknown",
    ]
    assert meta.loc["race___abc", "choice_id"] == "abc"
    assert t.data.loc[2, "age"] == "UNK"  # missing-data code kept as text
    assert t.data.loc[2, "record_id"] == "0012"


def test_xlsx_formulas_cached_values(tmp_path: Path) -> None:
    # a workbook with a cached value needs Excel; simulate by writing the cached <v> by hand
    p = tmp_path / "edited.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["id", "q1", "q2"])
    wb.active.append(["001", 3, "=B2*2"])
    wb.save(p)
    import io
    import zipfile

    src = zipfile.ZipFile(p)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name in src.namelist():
            data = src.read(name)
            if name == "xl/worksheets/sheet1.xml":
                data = data.replace(b"<f>B2*2</f><v></v>", b"<f>B2*2</f><v>6</v>")
                data = (
                    data.replace(b"<f>B2*2</f>", b"<f>B2*2</f><v>6</v>")
                    if b"<v>6" not in data
                    else data
                )
            z.writestr(name, data)
    p.write_bytes(out.getvalue())
    t = read_export(p, formulas="cached")
    assert t.data.loc[2, "q2"] == "6"
    assert any("cached" in n for n in t.notes)


def test_msforms_xlsx_and_trailing_empty_rows(tmp_path: Path) -> None:
    p = tmp_path / "Mentoring survey(1-2).xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["ID", "Start time", "Completion time", "Email", "Name", "Mood", "Points - Mood"])
    ws.append(
        [
            1,
            pd.Timestamp("2024-03-01 10:00:05").to_pydatetime(),
            None,
            "anonymous",
            None,
            "Agree",
            0.5,
        ]
    )
    ws.append([None] * 7)
    ws.append([2, None, None, "anonymous", None, "Disagree", 1])
    wb.save(p)
    assert detect_format(p) == "msforms"
    t = read_export(p)
    assert t.data.index.tolist() == [2, 4]
    assert t.data.loc[2, "Start time"] == "2024-03-01 10:00:05"
    assert t.data.loc[2, "Points - Mood"] == "0.5"
    assert t.data.loc[4, "Points - Mood"] == "1"
    assert t.excluded[["source_row", "rule"]].to_numpy().tolist() == [[3, "empty_row"]]
    meta = t.columns_meta.set_index("column")
    assert meta.loc["Points - Mood", ["role", "question"]].tolist() == ["points", "Mood"]


def test_limesurvey_semicolon_bom_crlf(tmp_path: Path) -> None:
    p = tmp_path / "results-survey998192.csv"
    p.write_bytes(
        '\ufeff"Response ID";"Date submitted";"Last page";"G02Q02[SQ001]";"Q1[other]"\r\n'
        '"1";"2024-01-02 10:00:00";"2";"A1";"x; y"\r\n"2";"";"1";"-oth-";""\r\n\r\n'.encode()
    )
    t = read_export(p)
    assert (t.format, t.delimiter) == ("limesurvey", ";")
    assert t.data.loc[2, "Q1[other]"] == "x; y"
    meta = t.columns_meta.set_index("column")
    assert meta.loc["G02Q02[SQ001]", ["question", "sub_item"]].tolist() == ["G02Q02", "SQ001"]
    # LimeSurvey's trailing blank line is not a record
    assert t.excluded.empty and t.record_count_check == 2


def test_files_are_never_written(qualtrics_tsv: Path) -> None:
    before = (qualtrics_tsv.read_bytes(), qualtrics_tsv.stat().st_mtime_ns)
    t = read_export(qualtrics_tsv)
    assert (qualtrics_tsv.read_bytes(), qualtrics_tsv.stat().st_mtime_ns) == before
    import hashlib

    assert t.sha256 == hashlib.sha256(before[0]).hexdigest()


def test_a_record_longer_than_a_parse_block(tmp_path: Path) -> None:
    # pyarrow parses 1 MiB blocks in parallel; a longer record (free text with line
    # breaks) is re-read with larger blocks instead of failing
    note = ("word " * 100 + "\n") * 5000  # 2.5 MB in one quoted cell
    path = tmp_path / "long.csv"
    path.write_text(f'id,note\n1,"{note}"\n2,short\n', encoding="utf-8")
    table = read_export(path)
    assert table.data["note"].tolist() == [note, "short"]
    assert table.data.index.tolist() == [2, 3]
