"""End-to-end ingest: Qualtrics-style and REDCap exports → processed tables."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mentoreval.errors import KeyMismatchError, MentorevalError
from mentoreval.ingest.pipeline import check_study, ingest_study, validate_study
from mentoreval.ingest.protect import keygen, pseudonymise

WHO5 = [f"who5_{i}" for i in range(1, 6)]
LABELS = [
    "At no time",
    "Some of the time",
    "Less than half of the time",
    "More than half of the time",
    "Most of the time",
    "All of the time",
]


def qualtrics_csv(path: Path, rows: list[dict[str, str]], items: list[str] = WHO5) -> None:
    """A current-layout Qualtrics export (3 header rows) with the given answers."""
    meta = [
        "StartDate",
        "EndDate",
        "Status",
        "IPAddress",
        "Duration (in seconds)",
        "Finished",
        "ResponseId",
        "RecipientEmail",
        "student_id",
        "group",
        "year_of_study",
    ]
    cols = meta + items
    head2 = cols
    head3 = [f'{{"ImportId":"{c}"}}' for c in cols]
    lines = [cols, head2, head3]
    for k, r in enumerate(rows):
        base = {
            "StartDate": "2025-01-01 10:00:00",
            "EndDate": f"2025-01-01 10:{k % 60:02d}:00",
            "Status": "0",
            "IPAddress": f"10.0.0.{k % 250}",
            "Duration (in seconds)": "300",
            "Finished": "1",
            "ResponseId": f"R_{k}",
            "RecipientEmail": f"s{k}@uni.ac.uk",
            "group": "mentored",
            "year_of_study": "2",
        }
        base.update(r)
        lines.append([base.get(c, "") for c in cols])

    def q(v: str) -> str:
        return '"' + v.replace('"', '""') + '"' if any(ch in v for ch in ',"\n') else v

    path.write_text(
        "\n".join(",".join(q(v) for v in line) for line in lines) + "\n", encoding="utf-8"
    )


def write_study(folder: Path, body: str) -> Path:
    p = folder / "study.yaml"
    p.write_text(body, encoding="utf-8")
    return p


STUDY = """title: Test study
id: teststudy
participant_id: {column: student_id}
sources:
  - {path: pre.csv, wave: pre}
  - {path: post.csv, wave: post}
columns:
  group: group
  covariates: [year_of_study]
  meta: [StartDate, EndDate, Status, Finished, ResponseId]
  drop: [RecipientEmail]
  duration: "Duration (in seconds)"
  submitted_at: EndDate
instruments:
  who5: {}
"""


@pytest.fixture
def key_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> bytes:
    key_file = tmp_path_factory.mktemp("keys") / "k.key"  # outside the study folder
    keygen(key_file)
    monkeypatch.setenv("MENTOREVAL_KEY_FILE", str(key_file))
    return bytes.fromhex(key_file.read_text().strip())


@pytest.fixture
def study(tmp_path: Path, key_env: bytes) -> Path:
    pre = [
        {"student_id": f"S{i:03d}", **{it: str((i + j) % 6) for j, it in enumerate(WHO5)}}
        for i in range(12)
    ]
    pre[3]["who5_2"] = "Most of the time"  # label → 4
    pre[4]["who5_3"] = "sometimes"  # unknown → quarantined cell
    pre[5]["student_id"] = ""  # missing id → quarantined row
    pre.append(
        {"student_id": "s000 ", **dict.fromkeys(WHO5, "5"), "EndDate": "2025-01-02 09:00:00"}
    )  # dup, later
    post = [
        {"student_id": f"S{i:03d}", "year_of_study": "3", **dict.fromkeys(WHO5, "3")}
        for i in range(8)
    ]
    post.append({"student_id": "S100", "Status": "1", **dict.fromkeys(WHO5, "3")})  # preview
    qualtrics_csv(tmp_path / "pre.csv", pre)
    qualtrics_csv(tmp_path / "post.csv", post)
    return write_study(tmp_path, STUDY)


def test_ingest_writes_every_output(study: Path, tmp_path: Path, key_env: bytes) -> None:
    res = ingest_study(study)
    out = tmp_path / "data" / "processed" / "teststudy"
    assert res.out_dir == out
    for name in (
        "responses.parquet",
        "scores.parquet",
        "participants.parquet",
        "quarantine.csv",
        "quality.csv",
        "linkage.csv",
        "manifest.json",
    ):
        assert (out / name).is_file(), name
    s = res.summary
    assert s["rows_read"] == 13 + 9
    assert s["rows_kept"] + s["rows_quarantined"] == s["rows_read"]
    assert s["linked_pairs"] == 7  # S000..S007 minus S005 (no id in pre)
    rules = res.quarantine.groupby("rule").size().to_dict()
    assert rules == {
        "duplicate": 1,
        "missing_id": 1,
        "qualtrics_preview": 1,
        "unknown_value": 1,
    } or (rules["duplicate"] == 1 and rules["missing_id"] == 1 and rules["unknown_value"] == 1)
    cell = res.quarantine[res.quarantine["rule"] == "unknown_value"].iloc[0]
    assert (cell["source"], int(cell["source_row"]), cell["column"], cell["value"]) == (
        "pre.csv",
        8,
        "who5_3",
        "sometimes",
    )
    # The cell is missing with a reason; the person is kept.
    r = res.responses
    pid4 = pseudonymise(pd.Series(["S004"]), key_env).iloc[0]
    row = r[(r["participant_id"] == pid4) & (r["wave"] == "pre") & (r["item"] == "who5_3")]
    assert (
        np.isnan(row["value"].iloc[0])
        and row["missing_reason"].iloc[0] == "quarantined: unknown value"
    )
    pid3 = pseudonymise(pd.Series(["S003"]), key_env).iloc[0]
    assert (
        r[(r["participant_id"] == pid3) & (r["wave"] == "pre") & (r["item"] == "who5_2")][
            "value"
        ].iloc[0]
        == 4
    )
    # keep_last by EndDate: the later " s000 " submission (all 5s) wins for S000.
    pid0 = pseudonymise(pd.Series(["S000"]), key_env).iloc[0]
    sc = res.scores[(res.scores["participant_id"] == pid0) & (res.scores["wave"] == "pre")]
    assert sc["score"].iloc[0] == 100
    # Nothing identifying in the outputs.
    text = "".join(
        (out / n).read_text()
        for n in ("quarantine.csv", "quality.csv", "linkage.csv", "manifest.json")
    )
    assert "S001" not in text and "@uni.ac.uk" not in text and "10.0.0." not in text
    assert "RecipientEmail" in res.manifest["inputs"]["pre.csv"]["dropped_columns"]
    assert "IPAddress" in res.manifest["inputs"]["pre.csv"]["identifying_columns"]
    # Contract columns.
    assert list(r.columns) == [
        "participant_id",
        "wave",
        "instrument",
        "item",
        "value",
        "missing_reason",
        "source",
        "source_row",
    ]
    # Written in pieces before the table was ever built; it reads back as the same table.
    back = pd.read_parquet(out / "responses.parquet")
    r.to_parquet(tmp_path / "whole.parquet", index=False)
    pd.testing.assert_frame_equal(
        back, pd.read_parquet(tmp_path / "whole.parquet"), check_exact=True
    )
    pieces = list(res.parts.chunks(rows=7))  # whole records of 5 items: 5 rows per piece
    assert len(pieces) > 3 and all(len(p) == 5 for p in pieces)
    pd.testing.assert_frame_equal(
        pd.concat(pieces, ignore_index=True), r, check_exact=True, check_categorical=True
    )
    people = pd.read_parquet(out / "participants.parquet")
    assert people["participant_id"].is_unique
    assert set(people.columns) == {"participant_id", "group", "year_of_study"}
    # Covariates from the pre wave.
    assert people.set_index("participant_id").loc[pid3, "year_of_study"] == 2
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["inputs"]["pre.csv"]["reconciliation"]["records"] == 13
    assert len(manifest["key_fingerprint"]) == 16
    assert len(manifest["inputs"]["pre.csv"]["sha256"]) == 64
    assert res.to_frame().shape[1] == 2 and "<table" in res._repr_html_()


def test_changed_key_stops_the_run(
    study: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest_study(study)
    other = tmp_path_factory.mktemp("keys") / "other.key"
    keygen(other)
    monkeypatch.setenv("MENTOREVAL_KEY_FILE", str(other))
    with pytest.raises(KeyMismatchError, match="fingerprint"):
        ingest_study(study)


def test_validate_writes_nothing_and_reports(study: Path, tmp_path: Path) -> None:
    report = check_study(study)
    assert not report.fatal
    rules = {p.message.split(":")[0] for p in report.data}
    assert {"unknown_value", "missing_id"} <= rules and "duplicate" not in rules
    # a duplicate resolved by the study's own quality.duplicates rule is a counted note
    said = _messages(report.notes)
    assert "duplicate: 1 submission(s) set aside" in said and "keep_last" in said
    assert any(p.column == "IPAddress" for p in report.warnings)
    assert not (tmp_path / "data").exists()
    assert validate_study(study)


def test_redcap_longitudinal_events(tmp_path: Path, key_env: bytes) -> None:
    lines = [
        "record_id,redcap_event_name,redcap_repeat_instrument,redcap_repeat_instance,"
        + ",".join(WHO5)
        + ",wellbeing_complete"
    ]
    for i in range(6):
        lines.append(f"{i},baseline_arm_1,,," + ",".join(["3"] * 5) + ",2")
        if i < 4:
            lines.append(f"{i},followup_arm_1,,," + ",".join(["UNK", "4", "4", "4", "4"]) + ",2")
    lines.append("1,enrolment_arm_1,,," + ",,,," + ",0")
    (tmp_path / "rc.csv").write_text("\n".join(lines) + "\n")
    study = write_study(
        tmp_path,
        """title: R
participant_id: {column: record_id}
sources:
  - path: rc.csv
    format: redcap
    events: {baseline_arm_1: pre, followup_arm_1: post, enrolment_arm_1: null}
instruments: {who5: {}}
""",
    )
    res = ingest_study(study, out_dir=tmp_path / "out")
    assert res.summary["linked_pairs"] == 4
    assert res.summary["rows_quarantined"] == 1
    reasons = res.responses["missing_reason"].dropna().unique().tolist()
    assert reasons == ["unknown (UNK)"]
    assert res.scores["score"].notna().sum() == 6  # WHO-5 needs all 5 items


def test_redcap_letter_codes_recode_through_the_dictionary(tmp_path: Path, key_env: bytes) -> None:
    labels = [
        "At no time",
        "Some of the time",
        "Less than half of the time",
        "More than half of the time",
        "Most of the time",
        "All of the time",
    ]
    choices = " | ".join(f"{chr(97 + i)}, {lab}" for i, lab in enumerate(labels))
    dictionary = [
        '"Variable / Field Name","Form Name","Field Type","Field Label",'
        '"Choices, Calculations, OR Slider Labels"',
        'record_id,wellbeing,text,"Record ID",',
        *(f'{item},wellbeing,radio,"Item {item}","{choices}"' for item in WHO5),
    ]
    (tmp_path / "dict.csv").write_text("\n".join(dictionary) + "\n")
    lines = ["record_id,redcap_event_name," + ",".join(WHO5) + ",wellbeing_complete"]
    for i in range(6):
        lines.append(f"{i},baseline_arm_1," + ",".join(["c", "d", "e", "f", "a"]) + ",2")
        lines.append(f"{i},followup_arm_1," + ",".join(["f"] * 5) + ",2")
    (tmp_path / "rc.csv").write_text("\n".join(lines) + "\n")
    study = write_study(
        tmp_path,
        """title: R
participant_id: {column: record_id}
sources:
  - path: rc.csv
    format: redcap
    dictionary: dict.csv
    events: {baseline_arm_1: pre, followup_arm_1: post}
instruments: {who5: {}}
""",
    )
    res = ingest_study(study, out_dir=tmp_path / "out")
    assert res.summary["answers_quarantined"] == 0
    assert res.summary["linked_pairs"] == 6
    pre = res.responses[res.responses["wave"] == "pre"]
    assert sorted(pre["value"].unique().tolist()) == [0, 2, 3, 4, 5]
    assert res.scores["score"].notna().sum() == 12


def _dirty_value(draw: st.DrawFn) -> str:
    return draw(
        st.sampled_from(
            [
                "0",
                "1",
                "5",
                " 3 ",
                "Most of the time",
                "ALL OF THE TIME",
                "",
                "7",
                "x,y",
                'say "hi"',
                "a\nb",
                "NA",
            ]
        )
    )


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_reconciliation_holds_on_dirty_csv(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    folder = tmp_path_factory.mktemp("dirty")
    n = data.draw(st.integers(0, 12))
    ids = data.draw(
        st.lists(
            st.sampled_from(["A1", "a1 ", "B2", "", "C3", "Ｃ3", "D\u200b4"]),
            min_size=n,
            max_size=n,
        )
    )

    def q(v: str) -> str:
        return '"' + v.replace('"', '""') + '"' if any(ch in v for ch in ',"\n') else v

    lines = ["sid," + ",".join(WHO5)]
    for i in range(n):
        lines.append(",".join([q(ids[i]), *(q(_dirty_value(data.draw)) for _ in WHO5)]))
        if data.draw(st.booleans()) and data.draw(st.booleans()):
            lines.append("")  # blank line
    bom = "\ufeff" if data.draw(st.booleans()) else ""
    (folder / "pre.csv").write_text(bom + "\n".join(lines) + "\n", encoding="utf-8")
    study = write_study(
        folder,
        "title: D\nparticipant_id: {column: sid}\nsources: [{path: pre.csv, wave: pre}]\n"
        "instruments: {who5: {}}\nanalysis: {pre: pre, post: pre}\n",
    )
    try:
        res = ingest_study(study, key=bytes(32), write=False)
    except MentorevalError as exc:
        # No record at all, or every record excluded: the run stops, naming the source.
        assert exc.problems and all(
            p.file == "pre.csv" and ("no responses" in p.message or "are excluded" in p.message)
            for p in exc.problems
        ), exc.problems
        return
    rec = res.manifest["inputs"]["pre.csv"]["reconciliation"]
    assert rec["records"] == rec["kept"] + rec["quarantined"]
    assert res.summary["rows_kept"] == len(res.responses) // 5
    assert res.summary["rows_read"] >= n


def test_quarantine_csv_neutralises_spreadsheet_formulas(tmp_path: Path, key_env: bytes) -> None:
    """An unknown answer like '=1+2' is quarantined with its value, but never as a formula."""
    pre = [{"student_id": f"S{i:03d}", **dict.fromkeys(WHO5, "3")} for i in range(4)]
    pre[1]["who5_1"] = "=1+2"
    pre[2]["who5_2"] = "@SUM(A1)"
    post = [{"student_id": f"S{i:03d}", **dict.fromkeys(WHO5, "4")} for i in range(4)]
    qualtrics_csv(tmp_path / "pre.csv", pre)
    qualtrics_csv(tmp_path / "post.csv", post)
    res = ingest_study(write_study(tmp_path, STUDY))
    assert set(res.quarantine["value"].dropna()) >= {"=1+2", "@SUM(A1)"}  # kept as read
    text = (res.out_dir / "quarantine.csv").read_text(encoding="utf-8")
    assert "'=1+2" in text and "'@SUM(A1)" in text
    assert ",=1+2" not in text and ",@SUM" not in text


CC = [f"cc_{i}" for i in range(1, 9)]


def test_scores_when_sources_hold_different_instruments(tmp_path: Path, key_env: bytes) -> None:
    """Pre has WHO-5 and career confidence, post only WHO-5: each instrument is scored for
    the records that have it, exactly as score_wide scores the same answers."""
    pre = [
        {
            "student_id": f"S{i:03d}",
            **{it: str((i + j) % 6) for j, it in enumerate(WHO5)},
            **{it: str(1 + (i * j) % 5) for j, it in enumerate(CC)},
        }
        for i in range(15)
    ]
    pre[2]["cc_3"] = ""  # one unanswered item: prorated
    post = [
        {"student_id": f"S{i:03d}", **{it: str((2 * i + j) % 6) for j, it in enumerate(WHO5)}}
        for i in range(10)
    ]
    qualtrics_csv(tmp_path / "pre.csv", pre, items=WHO5 + CC)
    qualtrics_csv(tmp_path / "post.csv", post)
    study = write_study(
        tmp_path,
        STUDY.replace("  who5: {}", "  who5: {}\n  career_confidence: {}").replace(
            "id: teststudy", "id: mixed"
        ),
    )
    res = ingest_study(study, write=False)
    sc = res.scores
    assert sc.groupby(["instrument", "wave"], observed=True).size().to_dict() == {
        ("who5", "pre"): 15,
        ("who5", "post"): 10,
        ("career_confidence", "pre"): 30,  # two scales
    }
    wide = (
        res.responses.pivot_table(
            index=["participant_id", "wave"],
            columns="item",
            values="value",
            observed=True,
            dropna=False,
        )
        .reset_index()
        .astype({"participant_id": "string", "wave": "string"})
    )
    from mentoreval.instruments.scoring import score_wide

    for inst, items in (("who5", WHO5), ("career_confidence", CC)):
        rows = wide.dropna(subset=items, how="all")
        want = score_wide(rows[["participant_id", "wave", *items]], inst)
        got = sc[sc["instrument"] == inst]
        key = ["participant_id", "wave", "scale"]
        merged = got.astype({k: "string" for k in key}).merge(
            want.astype({k: "string" for k in key}), on=key, suffixes=("", "_want")
        )
        assert len(merged) == len(got) == len(want)
        np.testing.assert_array_equal(merged["score"], merged["score_want"])
        assert merged["prorated"].tolist() == merged["prorated_want"].tolist()
    assert sc[sc["instrument"] == "career_confidence"]["prorated"].sum() == 1


def test_arrow_allocator_is_restored(
    study: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ingest allocates Arrow memory with the system allocator and puts the caller's
    default pool back afterwards, also when the ingest fails."""
    import pyarrow as pa

    import mentoreval.ingest.pipeline as ingest_module
    from mentoreval.errors import MentorevalError

    seen: list[str] = []
    real_run = ingest_module._run

    def spy(*args: object, **kwargs: object) -> object:
        seen.append(pa.default_memory_pool().backend_name)
        return real_run(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ingest_module, "_run", spy)
    caller = pa.mimalloc_memory_pool()
    previous = pa.default_memory_pool()
    pa.set_memory_pool(caller)
    try:
        ingest_study(study, write=False)
        assert pa.default_memory_pool().backend_name == "mimalloc"
        with pytest.raises(MentorevalError):
            ingest_study(tmp_path / "absent.yaml", write=False)
        assert pa.default_memory_pool().backend_name == "mimalloc"
    finally:
        pa.set_memory_pool(previous)
    assert seen == ["system", "system"]


def test_a_run_that_stops_leaves_the_earlier_outputs_whole(
    study: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """responses.parquet is written early, into a staging folder: a run that stops after
    writing it leaves the earlier run's folder byte-identical and nothing beside it."""
    import mentoreval.ingest.pipeline as ingest_module

    out = tmp_path / "out"
    ingest_study(study, out_dir=out)
    before = {f.name: f.read_bytes() for f in out.iterdir()}
    # The next export differs (so would its responses) and the run stops after writing them.
    pre = (tmp_path / "pre.csv").read_text().replace("S001", "S901")
    (tmp_path / "pre.csv").write_text(pre)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("stopped")

    real = ingest_module.flag_quality
    monkeypatch.setattr(ingest_module, "flag_quality", broken)
    with pytest.raises(RuntimeError, match="stopped"):
        ingest_study(study, out_dir=out)
    assert {f.name: f.read_bytes() for f in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.glob(".out*")) == []  # no staging, no lock
    monkeypatch.setattr(ingest_module, "flag_quality", real)
    ingest_study(study, out_dir=out)  # a later run replaces everything
    assert (out / "responses.parquet").read_bytes() != before["responses.parquet"]


# -- sources listed twice, emptied sources, timestamps, group levels (issues 13 and 20)


def _csv(path: Path, rows: list[list[str]], header: tuple[str, ...] = ()) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    head = list(header) or ["sid", "group", "submitted_at", *WHO5]
    path.write_text(
        "\n".join(",".join(r) for r in [head, *rows]) + "\n", encoding="utf-8", newline=""
    )


def _rows(
    ids: list[str], group: str = "mentored", when: str = "2024-01-10 10:00"
) -> list[list[str]]:
    return [[i, group, when, "3", "3", "3", "3", "3"] for i in ids]


def _study(folder: Path, sources: str, extra: str = "") -> Path:
    return write_study(
        folder,
        "title: T\nparticipant_id: {column: sid}\n"
        "columns: {group: group, submitted_at: submitted_at}\n"
        f"sources: {sources}\ninstruments: {{who5: {{}}}}\n"
        "analysis: {pre: pre, post: post" + extra + "}\n",
    )


def _messages(problems: Sequence[object]) -> str:
    return "\n".join(str(p) for p in problems)


def test_same_file_listed_twice_under_another_spelling_is_an_error_naming_both_keys(
    tmp_path: Path,
) -> None:
    _csv(tmp_path / "exports" / "pre.csv", _rows(["A1", "A2"]))
    _csv(tmp_path / "exports" / "post.csv", _rows(["A1", "A2"]))
    study = _study(
        tmp_path,
        "[{path: exports/pre.csv, wave: pre}, {path: exports/post.csv, wave: post},"
        " {path: exports/../exports/pre.csv, wave: post}]",
    )
    with pytest.raises(MentorevalError) as info:
        ingest_study(study, key=bytes(32), write=False)
    said = _messages(info.value.problems)
    assert "sources[0].path" in said and "sources[2].path" in said and "pre.csv" in said


def test_two_files_with_the_same_name_in_different_folders_are_two_sources(
    tmp_path: Path,
) -> None:
    _csv(tmp_path / "a" / "pre.csv", _rows(["A1", "A2"]))
    _csv(tmp_path / "b" / "pre.csv", _rows(["B1", "B2", "B3"]))
    _csv(tmp_path / "post.csv", _rows(["A1", "B1"]))
    study = _study(
        tmp_path,
        "[{path: a/pre.csv, wave: pre}, {path: b/pre.csv, wave: pre},"
        " {path: post.csv, wave: post}]",
    )
    res = ingest_study(study, key=bytes(32), write=False)
    assert sorted(res.manifest["inputs"]) == ["a/pre.csv", "b/pre.csv", "post.csv"]
    assert res.summary["rows_read"] == 7 and res.summary["rows_kept"] == 7
    assert res.summary["linked_pairs"] == 2


def test_source_with_every_row_excluded_stops_saying_why(tmp_path: Path, key_env: bytes) -> None:
    _csv(tmp_path / "pre.csv", _rows(["A1", "A2", "A3"]))
    _csv(tmp_path / "post.csv", _rows(["A1"]))
    study = _study(
        tmp_path, "[{path: pre.csv, wave: pre}, {path: post.csv, wave: post}]"
    ).read_text()
    (tmp_path / "study.yaml").write_text(
        study.replace(
            "participant_id: {column: sid}", "participant_id: {column: sid, pattern: '^X[0-9]+$'}"
        )
    )
    report = check_study(tmp_path / "study.yaml")
    said = _messages(report.fatal)
    assert "all 3 rows are excluded" in said and "participant_id.pattern" in said, said
    assert "pre.csv" in said and "post.csv" in said


def test_qualtrics_preview_rows_are_counted_by_validate_and_an_all_preview_export_stops(
    tmp_path: Path,
    key_env: bytes,
) -> None:
    rows = [{"student_id": f"S{i}", **dict.fromkeys(WHO5, "3")} for i in range(4)]
    rows[3]["Status"] = "1"  # a preview
    qualtrics_csv(tmp_path / "pre.csv", rows)
    qualtrics_csv(tmp_path / "post.csv", rows[:3])
    study = write_study(
        tmp_path,
        "title: T\nparticipant_id: {column: student_id}\n"
        "sources: [{path: pre.csv, wave: pre}, {path: post.csv, wave: post}]\n"
        "instruments: {who5: {}}\ncolumns: {drop: [RecipientEmail, IPAddress]}\n",
    )
    report = check_study(study)
    assert not report.fatal and not report.data, report.fatal
    said = _messages(report.notes)  # excluded by the source's own exclude: setting
    assert "qualtrics_preview: 1 row(s) excluded when reading" in said and "pre.csv" in said
    qualtrics_csv(tmp_path / "pre.csv", [{**r, "Status": "1"} for r in rows])
    said = _messages(check_study(study).fatal)
    assert "all 4 rows are excluded" in said and "Qualtrics previews" in said, said


def test_header_only_source_warns_and_stops_when_its_wave_is_analysed(
    tmp_path: Path, key_env: bytes
) -> None:
    _csv(tmp_path / "pre.csv", _rows(["A1", "A2"]))
    _csv(tmp_path / "post.csv", _rows(["A1", "A2"]))
    _csv(tmp_path / "followup.csv", [])
    study = _study(
        tmp_path,
        "[{path: pre.csv, wave: pre}, {path: post.csv, wave: post},"
        " {path: followup.csv, wave: followup}]",
    )
    report = check_study(study)
    assert not report.fatal and "no responses" in _messages(report.warnings)
    _csv(tmp_path / "post.csv", [])
    said = _messages(check_study(study).fatal)
    assert "post.csv" in said and "no responses" in said and "'post'" in said, said
    with pytest.raises(MentorevalError):
        ingest_study(study, key=bytes(32), write=False)


def test_parse_times_reads_offsets_google_forms_and_excel_serials() -> None:
    from mentoreval.ingest.linkage import parse_times

    times, bad = parse_times(
        pd.Series(
            [
                "2024-03-31T01:30:00+00:00",
                "2024-03-31T02:15:00+01:00",  # after the change to summer time: 01:15 UTC
                "2024/03/02 1:00:00 PM GMT+1",
                "2024/03/02 11:30:00 AM GMT",
                "45353.75",
                "",
                "yesterday",
            ]
        )
    )
    assert [str(t) for t in times[:5]] == [
        "2024-03-31 01:30:00+00:00",
        "2024-03-31 01:15:00+00:00",
        "2024-03-02 12:00:00+00:00",
        "2024-03-02 11:30:00+00:00",
        "2024-03-02 18:00:00+00:00",
    ]
    assert bad.tolist() == [False] * 6 + [True]
    later, bad = parse_times(pd.Series(["43891.5", "1462.5"]), date_system=1904)
    assert str(later.iloc[0]) == "2024-03-02 12:00:00+00:00"
    assert bad.tolist() == [False, True]  # not a serial (too small), and not a usable year


def test_duplicates_with_mixed_offsets_keep_the_later_submission(tmp_path: Path) -> None:
    pre = _rows(["A1", "A2"])
    pre[0][2] = "2024-03-31T02:15:00+01:00"  # 01:15 UTC: the earlier one
    pre.append(["A1", "mentored", "2024-03-31T01:30:00+00:00", "1", "1", "1", "1", "1"])
    _csv(tmp_path / "pre.csv", pre)
    _csv(tmp_path / "post.csv", _rows(["A1", "A2"]))
    study = _study(tmp_path, "[{path: pre.csv, wave: pre}, {path: post.csv, wave: post}]")
    res = ingest_study(study, key=bytes(32), write=False)
    q = res.quarantine
    assert q.loc[q["rule"] == "duplicate", "source_row"].tolist() == [2]


def test_unreadable_submission_time_stops_naming_row_and_value(tmp_path: Path) -> None:
    pre = _rows(["A1", "A2"])
    pre[1][2] = "yesterday"
    _csv(tmp_path / "pre.csv", pre)
    _csv(tmp_path / "post.csv", _rows(["A1", "A2"]))
    study = _study(tmp_path, "[{path: pre.csv, wave: pre}, {path: post.csv, wave: post}]")
    with pytest.raises(MentorevalError) as info:
        ingest_study(study, key=bytes(32), write=False)
    said = _messages(info.value.problems)
    assert "pre.csv" in said and "row 3" in said and "'yesterday'" in said, said


def test_duplicates_with_an_empty_time_are_resolved_by_source_order_and_said(
    tmp_path: Path,
    key_env: bytes,
) -> None:
    pre = _rows(["A1", "A2"])
    pre[0][2] = ""
    pre.append(["A1", "mentored", "2024-01-01 09:00", "1", "1", "1", "1", "1"])
    _csv(tmp_path / "pre.csv", pre)
    _csv(tmp_path / "post.csv", _rows(["A1", "A2"]))
    study = _study(tmp_path, "[{path: pre.csv, wave: pre}, {path: post.csv, wave: post}]")
    res = ingest_study(study, key=bytes(32), write=False)
    q = res.quarantine
    assert q.loc[q["rule"] == "duplicate", "source_row"].tolist() == [2]  # keep_last: row 4
    assert "source order" in _messages(check_study(study).warnings)


GROUPS = ", group: {column: group, treated: mentored, control: comparison}"


def test_undeclared_group_level_is_said_in_validate(tmp_path: Path, key_env: bytes) -> None:
    rows = _rows(["A1", "A2"]) + _rows(["B1"], "comparison") + _rows(["C1", "C2"], "waitlist")
    _csv(tmp_path / "pre.csv", rows)
    _csv(tmp_path / "post.csv", rows)
    study = _study(tmp_path, "[{path: pre.csv, wave: pre}, {path: post.csv, wave: post}]", GROUPS)
    report = check_study(study)
    assert not report.fatal and not report.data
    assert (
        "2 students in group 'waitlist' are not analysed: not declared as treated or control"
        in _messages(report.warnings)
    )


def test_declared_group_level_absent_lists_the_levels_present(
    tmp_path: Path, key_env: bytes
) -> None:
    rows = _rows(["A1", "A2"]) + _rows(["B1"], "waitlist")
    _csv(tmp_path / "pre.csv", rows)
    _csv(tmp_path / "post.csv", rows)
    study = _study(tmp_path, "[{path: pre.csv, wave: pre}, {path: post.csv, wave: post}]", GROUPS)
    said = _messages(check_study(study).fatal)
    assert "analysis.group.control 'comparison'" in said
    assert "'mentored' (2 students)" in said and "'waitlist' (1 students)" in said, said


def test_group_level_differing_in_case_or_number_form_is_matched_and_said(
    tmp_path: Path,
    key_env: bytes,
) -> None:
    rows = _rows(["A1", "A2"], " Mentored ") + _rows(["B1", "B2"], "1.0")
    _csv(tmp_path / "pre.csv", rows)
    _csv(tmp_path / "post.csv", rows)
    study = _study(
        tmp_path,
        "[{path: pre.csv, wave: pre}, {path: post.csv, wave: post}]",
        ", group: {column: group, treated: mentored, control: '1'}",
    )
    report = check_study(study)
    assert not report.fatal, report.fatal
    assert "after normalising case, spaces and number form" in _messages(report.warnings)
    res = ingest_study(study, key=bytes(32), write=False)
    assert sorted(res.participants["group"].astype(str).unique()) == ["1", "mentored"]


def test_group_column_absent_from_every_export_is_an_error_naming_the_key(
    tmp_path: Path,
    key_env: bytes,
) -> None:
    _csv(tmp_path / "pre.csv", _rows(["A1"]))
    _csv(tmp_path / "post.csv", _rows(["A1"]))
    study = _study(
        tmp_path,
        "[{path: pre.csv, wave: pre}, {path: post.csv, wave: post}]",
        ", group: {column: arm, treated: mentored, control: comparison}",
    )
    said = _messages(check_study(study).fatal)
    assert "'arm'" in said and "analysis.group.column" in said, said
