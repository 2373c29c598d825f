"""`mentoreval init`: drafting a study config from exports (mentoreval.draft)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from cli_run import run_mentoreval
from mentoreval.config.study import Study, load_study
from mentoreval.draft import draft_study
from mentoreval.errors import ConfigError
from mentoreval.ingest import check_study
from mentoreval.ingest.protect import keygen

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "data" / "demo"
#: The programme demos. The design demos under designs/ are not what init drafts today: an
#: anonymous survey has no id column to find (exports of more than two waves: see the end).
STUDIES = sorted(
    p.parent.relative_to(DEMO).as_posix()
    for p in DEMO.glob("*/*/study.yaml")
    if p.parent.parent.name != "designs"
)

# Differences from the shipped demo configs that init cannot know from the exports, with why.
ACCEPTED = {
    "title/programme/key_file/primary": "names and choices, not roles: left for the user",
    "meetings.target_cadence_days": "the programme's intended interval is not in the log",
}


@pytest.fixture(scope="module")
def key_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("key") / "init.key"
    keygen(path)
    return path


def _effective(study: Study) -> dict[str, object]:
    """What a study config says about roles and items (what init must reproduce)."""
    cfg = study.config
    sources = sorted(
        (
            Path(s.path).name,
            s.format,
            s.wave,
            tuple(sorted((s.events or {}).items())),
            s.id_column or cfg.participant_id.column,
            s.unfinished,
            Path(s.dictionary).name if s.dictionary else None,
        )
        for s in cfg.sources
    )
    c = cfg.columns
    return {
        "participant_id": cfg.participant_id,
        "sources": sources,
        "group": c.group,
        "covariates": sorted(c.covariates),
        "meta": sorted(c.meta),
        "drop": sorted(c.drop),
        "duration": c.duration,
        "submitted_at": c.submitted_at,
        "instruments": list(cfg.instruments),
        "items": {i: study.item_columns(i) for i in cfg.instruments},
        "values": {i: study.instrument_map(i).values for i in cfg.instruments},
        "analysis": (cfg.analysis.pre, cfg.analysis.post, cfg.analysis.group),
        "meetings": Path(cfg.meetings.path).name if cfg.meetings else None,
    }


@pytest.mark.parametrize("name", STUDIES)
def test_init_reproduces_each_demo_config(name: str, tmp_path: Path) -> None:
    folder = DEMO / name
    draft = draft_study([folder / "exports"])
    assert draft.todos == []
    out = draft.write(tmp_path / "study.yaml")
    mine, shipped = load_study(out), load_study(folder / "study.yaml")
    assert _effective(mine) == _effective(shipped)
    # Only what ACCEPTED names differs, e.g. the meeting cadence of the faculty programme:
    assert mine.config.meetings is not None and shipped.config.meetings is not None
    assert mine.config.meetings.target_cadence_days == 14
    table = draft.table()
    assert set(table["role"]) <= {"id", "item", "group", "covariate", "meta", "duration", "drop"}
    assert table.loc[table["role"] == "item", "confidence"].min() >= 0.9


@pytest.mark.parametrize("name", ["peer/2025", "faculty/2023"])
def test_demo_draft_validates_like_the_shipped_config(
    name: str, tmp_path: Path, key_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MENTOREVAL_KEY_FILE", str(key_env))
    out = draft_study([DEMO / name / "exports"]).write(tmp_path / "study.yaml")
    mine, shipped = check_study(out), check_study(DEMO / name / "study.yaml")
    assert mine.fatal == ()
    assert [p.message for p in mine.data] == [p.message for p in shipped.data]


def test_yaml_is_commented_with_confidence_and_evidence(tmp_path: Path) -> None:
    text = draft_study([DEMO / "peer/2024/exports"]).to_yaml(tmp_path / "study.yaml")
    assert re.search(r'# 95%: 100% of answers are WHO-5 labels; header "I have felt cheerful', text)
    assert "- Email address   # 90%: identifying: header looks like email" in text
    assert "# 0 TODO(s) left." in text


# --------------------------------------------------------------------------- TODOs


def _resolve_todos(text: str, *, id_column: str, instrument: str = "who5") -> str:
    """Decide every TODO the way a user would: pick values, delete the TODO lines."""
    out = []
    lines = text.splitlines()
    skip_list = False
    for line in lines:
        stripped = line.strip()
        if skip_list and stripped.startswith("- "):
            continue
        skip_list = False
        if stripped.startswith("TODO:"):
            skip_list = stripped == "TODO:"
            continue
        line = line.replace("column: TODO", f"column: {id_column}")
        line = re.sub(r"(wave|pre|post): TODO.*", r"\1: pre", line)
        line = re.sub(r"^instruments: \{\}.*", f"instruments: {{{instrument}: {{}}}}", line)
        out.append(line)
    return "\n".join(out) + "\n"


def test_a_todo_is_refused_by_load_study_and_validate(tmp_path: Path) -> None:
    (tmp_path / "cohort.csv").write_text(
        "sid,who5_1,who5_2,who5_3,who5_4,who5_5\n"
        + "".join(f"{1000 + i},3,3,4,2,{i % 6}\n" for i in range(12))
    )
    out = draft_study([tmp_path / "cohort.csv"]).write(tmp_path / "study.yaml")
    with pytest.raises(ConfigError, match=r"sources\[0\]\.TODO: Extra inputs are not permitted"):
        load_study(out)
    res = _cli("validate", out, cwd=tmp_path)
    assert res.returncode == 2 and "TODO" in res.stderr and "Traceback" not in res.stderr
    out.write_text(_resolve_todos(out.read_text(), id_column="sid"))
    assert load_study(out).config.sources[0].wave == "pre"


def test_values_map_for_punctuation_and_labels_matched_by_position(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    labels = ["Always", "Often", "Sometimes", "Seldom", "Never / almost never"]
    rows = [
        ",".join([str(1000 + r)] + [labels[int(v)] for v in rng.integers(0, 5, 6)])
        for r in range(30)
    ]
    head = "student_id," + ",".join(f"B{k}" for k in range(1, 7))
    (tmp_path / "baseline.csv").write_text("\n".join([head, *rows]) + "\n")
    draft = draft_study([tmp_path / "baseline.csv"])
    # Six columns answered only with CBI labels: not a whole instrument (19 items), so listed.
    assert "cbi" not in draft.instruments
    assert set(draft.table()["role"]) == {"id", "unplaced"}
    # A WHO-5-sized block answered with WHO-5 labels is matched by position, with a value map
    # for a label that differs only in punctuation.
    who5 = ["At no time", "Some of the time.", "Less than half of the time", "All of the time"]
    rows = [
        ",".join([str(1000 + r)] + [who5[int(v)] for v in rng.integers(0, 4, 5)]) for r in range(30)
    ]
    (tmp_path / "baseline.csv").write_text("\n".join(["student_id,W1,W2,W3,W4,W5", *rows]) + "\n")
    draft = draft_study([tmp_path / "baseline.csv"])
    inst = draft.instruments["who5"]
    assert inst.items == {f"who5_{k}": f"W{k}" for k in range(1, 6)}
    assert inst.values == {"Some of the time.": 1.0}
    assert "matched by position" in inst.evidence["who5_1"]
    out = draft.write(tmp_path / "study.yaml")
    text = out.read_text()
    assert "      Some of the time.: 1" in text
    out.write_text(_resolve_todos(text, id_column="student_id"))
    assert load_study(out).instrument_map("who5").values == {"Some of the time.": 1.0}


def test_keying_check_flags_a_non_reverse_item_running_against_its_scale(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    level = rng.integers(0, 6, 60)
    cols = {f"who5_{i}": np.clip(level + rng.integers(-1, 2, 60), 0, 5) for i in range(1, 6)}
    cols["who5_4"] = 5 - cols["who5_4"]
    lines = [",".join(["sid", *cols])]
    lines += [",".join([str(10000 + r), *(str(cols[c][r]) for c in cols)]) for r in range(60)]
    (tmp_path / "pre.csv").write_text("\n".join(lines) + "\n")
    draft = draft_study([tmp_path / "pre.csv"])
    assert [(k.item, k.r < 0) for k in draft.keying] == [("who5_4", True)]
    assert "possible mis-key" in draft.to_yaml(tmp_path / "study.yaml")


# --------------------------------------------------------------------------- real exports

REAL = [
    # (exports, id column, waves/events, identifying columns that must be dropped)
    ("qualtrics_qualtRics/sample.csv", None, None, {"IPAddress", "RecipientEmail"}),
    ("qualtrics_qualtRics/sample_legacy.csv", None, None, {"EmailAddress", "IPAddress"}),
    (
        "qualtrics_QualtricsTools/No_Basis_for_Evaluation (Insights).csv",
        None,
        None,
        {"IPAddress", "RecipientEmail", "RecipientLastName"},
    ),
    (
        "redcap_REDCapR_longitudinal",
        "study_id",
        {"enrollment_arm_1": "pre", "final_visit_arm_1": "post", "final_visit_arm_2": "post"},
        {"first_name", "last_name", "email", "dob", "telephone_1"},
    ),
    ("redcap_REDCapR_repeating-instruments", "record_id", None, {"first_name", "dob"}),
    ("redcap_REDCapR_survey", "participant_id", None, {"email", "first_name", "address"}),
    ("spss_pyreadstat/sample_missing.sav", None, None, set()),
    ("spss_pyreadstat/simple_alltypes.sav", None, None, set()),
    ("googleforms_survey-analysis", None, None, set()),
]


@pytest.mark.parametrize(("rel", "id_column", "events", "identifying"), REAL)
def test_real_exports_draft_then_load_after_resolving_todos(
    shared_formats: Path,
    tmp_path: Path,
    rel: str,
    id_column: str | None,
    events: dict[str, str] | None,
    identifying: set[str],
) -> None:
    draft = draft_study([shared_formats / rel])
    assert draft.id_column == id_column
    (source,) = draft.sources
    if events is not None:
        assert source.events is not None and events.items() <= source.events.items()
    assert identifying <= set(draft.columns["drop"])
    assert draft.instruments == {}  # none of the shipped instruments is in these files
    out = draft.write(tmp_path / "study.yaml")
    with pytest.raises(ConfigError, match="TODO"):
        load_study(out)
    table = draft.table()
    chosen = id_column or str(table.loc[table["role"] == "unplaced", "column"].iloc[0])
    out.write_text(_resolve_todos(out.read_text(), id_column=chosen))
    study = load_study(out)
    assert study.config.participant_id.column == chosen


def test_real_redcap_with_a_user_instrument_validates(
    shared_formats: Path, tmp_path: Path, key_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MENTOREVAL_KEY_FILE", str(key_env))
    folder = tmp_path / "instruments"
    folder.mkdir()
    (folder / "pmq.yaml").write_text(PMQ)
    draft = draft_study([shared_formats / "redcap_REDCapR_longitudinal"], instrument_dirs=[folder])
    assert draft.instruments["pmq"].items == {f"pmq{k}": f"pmq{k}" for k in range(1, 5)}
    assert draft.todos == []
    report = check_study(draft.write(tmp_path / "study.yaml"))
    assert report.fatal == ()


PMQ = """\
id: pmq
version: "1"
title: Patient morale questionnaire (REDCapR test project)
citation: OuhscBbmc/REDCapR test data
licence: {name: MIT, ship_item_text: true}
domain: other
response_scales:
  default: {codes: [0, 1, 2, 3], labels: [less than 5, 5-10, 6-15, over 15]}
  level: {codes: [0, 1, 2, 3, 4, 5], labels: ["0", "1", "2", "3", "4", "5"]}
  yesno: {codes: [0, 1], labels: ["No", "Yes"]}
  open: {codes: [0, 1, 2], labels: [not open, undecided, very open]}
items:
  - {id: pmq1, text: "On average, how many pills did you take each day last week?"}
  - {id: pmq2, text: null, response_scale: level}
  - {id: pmq3, text: null, response_scale: yesno}
  - {id: pmq4, text: "How open are you to further testing?", response_scale: open}
scales:
  - {id: total, title: Morale, items: [pmq1, pmq2, pmq3, pmq4], method: mean, min_answered: 1,
     range: [0, 5], higher_is_better: true}
"""


# --------------------------------------------------------------------------- command line


def _cli(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``mentoreval ARGS`` in the working folder ``cwd`` (in this process)."""
    return run_mentoreval(*args, cwd=cwd)


def test_cli_writes_then_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    out = tmp_path / "study.yaml"
    exports = DEMO / "faculty/2024/exports"
    first = _cli("init", exports, "--out", out, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    # the console wraps long lines (a longer tmp_path, e.g. under pytest-xdist, moves the break)
    printed = " ".join(first.stdout.split())
    assert "mentoreval validate" in printed and "who5.who5_1" in printed
    out.write_text("# mine\n")
    again = _cli("init", exports, "--out", out, cwd=tmp_path)
    assert again.returncode == 2
    assert "already exists" in again.stderr and "--force" in again.stderr
    assert "Traceback" not in again.stderr and out.read_text() == "# mine\n"
    forced = _cli("init", exports, "--out", out, "--force", cwd=tmp_path)
    assert forced.returncode == 0 and out.read_text().startswith("# Drafted by `mentoreval init`")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "is empty"),
        ("junk.csv", bytes(range(256)) * 8, "not a text export"),
        ("missing.csv", None, "file not found"),
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), ".xls"),
        (
            "dictionary.csv",
            b"Variable / Field Name,Form Name,Field Type,Field Label\nrecord_id,a,text,ID\n",
            "none of the files given is a survey export",
        ),
    ],
)
def test_cli_bad_input_exits_2_without_traceback(
    tmp_path: Path, name: str, content: bytes | None, message: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    res = _cli("init", path, "--out", tmp_path / "study.yaml", cwd=tmp_path)
    assert res.returncode == 2
    assert message in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "study.yaml").exists()


# --------------------------------------------------------------------------- more than two waves


def _four_waves(folder: Path, key: Path) -> Path:
    """Four linked exports (pre, mid, post, followup) from the multi-wave generator."""
    from mentoreval.synth.multiwave import write_waves_study

    config, _ = write_waves_study(folder, key_file=str(key), n_students=40, seed=4)
    return config.parent / "exports"


def test_init_on_four_wave_exports_lists_the_waves_in_time_order_and_validates(
    tmp_path: Path, key_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MENTOREVAL_KEY_FILE", str(key_env))
    exports = _four_waves(tmp_path / "study", key_env)
    # the file names sort followup, mid, post, pre: the order comes from what they name
    out = tmp_path / "draft.yaml"
    made = _cli("init", exports, "--out", out, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    text = out.read_text()
    assert "TODO" not in text.split("# 0 TODO(s) left.")[1]
    assert "the last wave against the\n  # first; to change it" in text
    cfg = load_study(out).config
    assert cfg.analysis.waves == ["pre", "mid", "post", "followup"]
    assert cfg.analysis.contrast == ["pre", "followup"]
    assert {Path(s.path).name: s.wave for s in cfg.sources} == {
        "pre.csv": "pre", "mid.csv": "mid", "post.csv": "post", "followup.csv": "followup"
    }  # fmt: skip
    assert check_study(out).fatal == ()
    said = _cli("validate", out, cwd=tmp_path)
    assert said.returncode == 0, said.stderr
    assert "Design: 4 waves (pre, mid, post, followup), linked by id, comparison group" in (
        " ".join(said.stdout.split())
    )
    assert "primary contrast followup vs pre" in " ".join(said.stdout.split())


def test_init_maps_four_redcap_events_to_waves_in_time_order(
    tmp_path: Path, key_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pandas as pd

    monkeypatch.setenv("MENTOREVAL_KEY_FILE", str(key_env))
    exports = _four_waves(tmp_path / "study", key_env)
    events = {"followup": "6_month_follow_up_arm_1", "post": "end_of_year_arm_1",
              "mid": "mid_year_arm_1", "pre": "baseline_arm_1"}  # fmt: skip
    frames = [  # the export's rows in reverse time order: the events' order is not time order
        pd.read_csv(exports / f"{wave}.csv").assign(redcap_event_name=event)
        for wave, event in events.items()
    ]
    (tmp_path / "redcap").mkdir()
    pd.concat(frames).rename(columns={"student_id": "record_id"}).to_csv(
        tmp_path / "redcap" / "export.csv", index=False
    )
    draft = draft_study([tmp_path / "redcap"])
    (source,) = draft.sources
    assert source.events == {e: w for w, e in events.items()}
    out = draft.write(tmp_path / "study.yaml")
    cfg = load_study(out).config
    assert cfg.analysis.waves == ["pre", "mid", "post", "followup"]
    assert cfg.analysis.contrast == ["pre", "followup"]
    assert check_study(out).fatal == ()
