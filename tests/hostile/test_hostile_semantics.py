"""Hostile data semantics: ids (blank, padded, look-alike, duplicates with awkward
timestamps), sources listed twice, empty and fully excluded waves, undeclared and absent
group levels, answers off the scale."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from _hostile import (
    HEADER,
    Case,
    Project,
    Result,
    default_rows,
    ids,
    params,
    qualtrics_text,
    run_case,
    xlsx_bytes,
)

PRE, POST = "exports/pre.csv", "exports/post.csv"
FULL = {"rows_read": 12, "rows_kept": 12, "rows_quarantined": 0}


def rows_edit(wave: str, change: Any, *, header: list[str] | None = None) -> Any:
    """Rewrite the ``wave`` export after ``change(rows)`` edits its rows in place."""

    def build(p: Project) -> None:
        rows = default_rows(wave)
        change(rows)
        p.csv(f"exports/{wave}.csv", header or HEADER, rows)

    return build


def set_cell(row: int, col: int, value: Any) -> Any:
    def change(rows: list[list[Any]]) -> None:
        rows[row][col] = value

    return change


def add_row(row: list[Any]) -> Any:
    def change(rows: list[list[Any]]) -> None:
        rows.append(row)

    return change


def quarantined(*where: tuple[str, int, str]) -> Any:
    """A check: quarantine.csv holds these (source, row, rule) entries."""

    def check(r: Result) -> None:
        got = {(q["source"], int(q["source_row"]), q["rule"]) for q in r.quarantine()}
        for entry in where:
            assert entry in got, (entry, got)

    return check


# -- duplicates whose order only the timestamps tell: the later submission is in row 2,
# the earlier one in the last row, so keep_last by source order would keep the wrong one.


def dup_times(first: str, last: str, others: str = "2024-01-10 10:00:00") -> Any:
    def change(rows: list[list[Any]]) -> None:
        for r in rows:
            r[2] = others
        rows[0][2] = first
        rows.append([rows[0][0], rows[0][1], last, 0, 0, 0, 0, 0])

    return rows_edit("pre", change)


def excel_serial_dates(p: Project) -> None:
    rows = default_rows("pre")
    for j, r in enumerate(rows):
        r[2] = 45300 + j
    rows[0][2] = 45353.75  # 2024-03-02 18:00, the later one
    rows.append([rows[0][0], rows[0][1], 45353.5, 0, 0, 0, 0, 0])  # 12:00 the same day
    p.drop(PRE)
    p.write("exports/pre.xlsx", xlsx_bytes([("Responses", [HEADER, *rows])]))
    p.note_ids(HEADER, rows, "sid")
    p.source(0, path="exports/pre.xlsx")


def unreadable_times(r: Result) -> None:
    if r.code == 2:
        assert "pre.csv" in r.err and "row" in r.err and "yesterday" in r.err, r.err
    else:
        assert "source order" in r.text, "an unreadable time decided silently: " + r.text


def same_file_twice(p: Project) -> None:
    p.config["sources"].append({"path": "exports/pre.csv", "wave": "pre"})


def same_file_via_other_spelling(p: Project) -> None:
    p.config["sources"].append({"path": "exports/../exports/pre.csv", "wave": "post"})


def same_name_two_folders(p: Project) -> None:
    p.csv("exports/a/pre.csv", HEADER, default_rows("pre"))
    other = default_rows("pre")
    for j, r in enumerate(other):
        r[0] = ids(1, start=100 + j)[0]
    p.csv("exports/b/pre.csv", HEADER, other)
    p.drop(PRE)
    p.config["sources"][0]["path"] = "exports/a/pre.csv"
    p.config["sources"].append({"path": "exports/b/pre.csv", "wave": "pre"})


def same_name_two_folders_check(r: Result) -> None:
    if r.code == 0:
        assert r.manifest()["summary"]["rows_read"] == 18
        assert len(r.manifest()["inputs"]) == 3, "both files named pre.csv are listed"
    else:
        assert "pre.csv" in r.err and "sources[" in r.err, r.err


def qualtrics(statuses: list[str], *, post: bool = True) -> Any:
    def build(p: Project) -> None:
        rows = default_rows("pre")
        p.drop(PRE)
        p.write("exports/pre_qualtrics.csv", qualtrics_text(rows, statuses))
        p.note_ids(HEADER, rows, "sid")
        p.source(0, path="exports/pre_qualtrics.csv")

    return build


def group_level(level: str, n: int = 2) -> Any:
    def build(p: Project) -> None:
        for wave in ("pre", "post"):
            rows = default_rows(wave)
            for r in rows[:n]:
                r[1] = level
            p.csv(f"exports/{wave}.csv", HEADER, rows)

    return build


def only_mentored(p: Project) -> None:
    for wave in ("pre", "post"):
        rows = default_rows(wave)
        for r in rows:
            r[1] = "mentored"
        p.csv(f"exports/{wave}.csv", HEADER, rows)


def group_column_absent(p: Project) -> None:
    p.config["columns"]["group"] = "arm"
    p.config["analysis"]["group"]["column"] = "arm"


def lookalike_ids(p: Project) -> None:
    rows = default_rows("post")
    rows[0][0] = "\u0405" + rows[0][0][1:]  # CYRILLIC CAPITAL LETTER DZE looks like S
    p.csv(POST, HEADER, rows)


def lookalike_warned(r: Result) -> None:
    said = r.text.lower()
    assert any(w in said for w in ("look-alike", "lookalike", "confusable")), r.text
    assert "1" in said


def leading_zero_ids(p: Project) -> None:
    pre, post = default_rows("pre"), default_rows("post")
    pre[0][0], post[0][0] = "00123456", "123456"
    p.csv(PRE, HEADER, pre)
    p.csv(POST, HEADER, post)


def every_id_invalid(p: Project) -> None:
    p.config["participant_id"]["pattern"] = "^X[0-9]+$"


CASES = [
    # ids
    Case(
        "blank_id",
        rows_edit("pre", set_cell(2, 0, "")),
        counts={"rows_read": 12, "rows_kept": 11, "rows_quarantined": 1},
        check=quarantined(("pre.csv", 4, "missing_id")),
    ),
    Case(
        "blank_id_validate",
        rows_edit("pre", set_cell(2, 0, "")),
        command="validate",
        exit=2,
        names=("pre.csv", "row 4", "missing_id"),
    ),
    Case(
        "whitespace_id",
        rows_edit("pre", set_cell(3, 0, " \t ")),
        counts={"rows_read": 12, "rows_kept": 11, "rows_quarantined": 1},
        check=quarantined(("pre.csv", 5, "missing_id")),
    ),
    Case(
        "zero_width_id",
        rows_edit("pre", set_cell(3, 0, "\u200b")),
        counts={"rows_read": 12, "rows_kept": 11, "rows_quarantined": 1},
    ),
    Case(
        "padded_id_links",
        rows_edit("post", set_cell(0, 0, "  S7000001 ")),
        counts={**FULL, "linked_pairs": 6},
    ),
    Case(
        "lower_case_id_links",
        rows_edit("post", set_cell(0, 0, "s7000001")),
        counts={**FULL, "linked_pairs": 6},
    ),
    Case("leading_zero_ids_stay_distinct", leading_zero_ids, counts={**FULL, "linked_pairs": 5}),
    Case(
        "lookalike_cyrillic_id_warned",
        lookalike_ids,
        command="validate",
        exit=0,
        check=lookalike_warned,
    ),
    Case(
        "lookalike_cyrillic_id_not_merged",
        lookalike_ids,
        counts={**FULL, "linked_pairs": 5, "participants": 7},
    ),
    Case(
        "invalid_id_pattern",
        lambda p: (
            p.config["participant_id"].update(pattern="^S7[0-9]{6}$"),
            rows_edit("pre", set_cell(1, 0, "S7-000002"))(p),
        ),
        counts={"rows_read": 12, "rows_kept": 11, "rows_quarantined": 1},
        check=quarantined(("pre.csv", 3, "invalid_id")),
    ),
    Case(
        "every_id_invalid",
        every_id_invalid,
        exit=2,
        names=("pre.csv", "participant_id.pattern"),
    ),
    # duplicates and their timestamps
    Case(
        "duplicate_same_time",
        rows_edit("pre", add_row(["S7000003", "mentored", "2024-01-10 10:02:00", 1, 1, 1, 1, 1])),
        counts={"rows_read": 13, "rows_kept": 12, "duplicates_removed": 1},
    ),
    Case(
        "duplicate_iso_times",
        dup_times("2024-03-02 18:00:00", "2024-03-02 12:00:00"),
        counts={"rows_read": 13, "rows_kept": 12, "duplicates_removed": 1},
        check=quarantined(("pre.csv", 8, "duplicate")),
    ),
    Case(
        "duplicate_mixed_time_zones",
        dup_times(
            "2024-03-31T01:30:00+00:00", "2024-03-31T02:15:00+01:00", "2024-03-30T10:00:00+00:00"
        ),
        counts={"rows_read": 13, "rows_kept": 12, "duplicates_removed": 1},
        check=quarantined(("pre.csv", 8, "duplicate")),
    ),
    Case(
        "duplicate_google_forms_gmt",
        dup_times(
            "2024/03/02 1:00:00 PM GMT+1", "2024/03/02 11:30:00 AM GMT", "2024/01/10 9:00:00 AM GMT"
        ),
        counts={"rows_read": 13, "rows_kept": 12, "duplicates_removed": 1},
        check=quarantined(("pre.csv", 8, "duplicate")),
    ),
    Case(
        "duplicate_excel_serial_dates",
        excel_serial_dates,
        counts={"rows_read": 13, "rows_kept": 12, "duplicates_removed": 1},
        check=quarantined(("pre.xlsx", 8, "duplicate")),
    ),
    Case(
        "duplicate_unreadable_times",
        dup_times("yesterday", "last week"),
        exit=(2, 0),
        check=unreadable_times,
    ),
    # sources
    Case(
        "same_file_listed_twice",
        same_file_twice,
        exit=2,
        names=("pre.csv", "sources[2]"),
    ),
    Case(
        "same_file_other_spelling",
        same_file_via_other_spelling,
        exit=2,
        names=("pre.csv", "sources[2]"),
    ),
    Case(
        "same_name_two_folders",
        same_name_two_folders,
        exit=(0, 2),
        check=same_name_two_folders_check,
    ),
    Case(
        "qualtrics_one_preview_row",
        qualtrics(["IP Address"] * 5 + ["Survey Preview"]),
        counts={"rows_read": 12, "rows_kept": 11, "rows_quarantined": 1},
    ),
    Case(  # a preview set aside by the source's own exclude rule is a note, not an error
        "qualtrics_preview_row_validate",
        qualtrics(["IP Address"] * 5 + ["Survey Preview"]),
        command="validate",
        exit=0,
        names=("pre_qualtrics.csv", "preview"),
    ),
    Case(
        "qualtrics_preview_only",
        qualtrics(["Survey Preview"] * 3 + ["Survey Test"] * 3),
        exit=2,
        names=("pre_qualtrics.csv",),
    ),
    Case(
        "qualtrics_preview_only_validate",
        qualtrics(["Survey Preview"] * 3 + ["Survey Test"] * 3),
        command="validate",
        exit=2,
        names=("pre_qualtrics.csv", "preview"),
    ),
    # groups
    Case(
        "third_group_level_validate",
        group_level("waitlist"),
        command="validate",
        exit=0,
        names=("waitlist",),
    ),
    Case("third_group_level_ingest", group_level("waitlist"), counts=FULL),
    Case(
        "declared_group_absent",
        only_mentored,
        command="validate",
        exit=2,
        names=("comparison", "analysis.group"),
    ),
    Case(
        "group_column_absent",
        group_column_absent,
        command="validate",
        exit=2,
        names=("arm",),
    ),
    Case("group_labels_padded", group_level(" mentored "), counts=FULL),
    # answers
    Case(
        "unknown_label",
        rows_edit("pre", set_cell(1, 4, "Sometimes")),
        counts={**FULL, "answers_quarantined": 1},
        check=quarantined(("pre.csv", 3, "unknown_value")),
    ),
    Case(
        "unknown_label_validate",
        rows_edit("pre", set_cell(1, 4, "Sometimes")),
        command="validate",
        exit=2,
        names=("pre.csv", "row 3", "who5_2", "Sometimes"),
    ),
    Case(
        "out_of_range_code",
        rows_edit("pre", set_cell(1, 7, 9)),
        command="validate",
        exit=2,
        names=("pre.csv", "row 3", "who5_5", "'9'"),
    ),
    Case("label_instead_of_code", rows_edit("pre", set_cell(0, 3, "All of the time")), counts=FULL),
    Case(
        "all_answers_blank",
        rows_edit("pre", lambda rows: rows[0].__setitem__(slice(3, 8), [""] * 5)),
        counts=FULL,
    ),
    Case(
        "no_one_links",
        lambda p: rows_edit(
            "post", lambda rows: [r.__setitem__(0, r[0].replace("S7", "S8")) for r in rows]
        )(p),
        counts={**FULL, "linked_pairs": 0},
    ),
    Case(
        "id_column_absent",
        lambda p: p.config["participant_id"].update(column="student"),
        exit=2,
        names=("pre.csv", "'student'", "participant_id.column"),
    ),
    Case(
        "item_column_absent",
        rows_edit("pre", lambda rows: [r.pop() for r in rows], header=HEADER[:-1]),
        exit=2,
        names=("pre.csv", "who5_5", "absent"),
    ),
]


@pytest.mark.parametrize("case", params(CASES))
def test_hostile_semantics(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run_case(case, tmp_path, capsys, monkeypatch)
