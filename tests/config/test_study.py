"""Study config: strict loading, every problem at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from mentoreval.config.study import compile_id_pattern, load_study
from mentoreval.errors import ConfigError

GOOD = """title: Peer mentoring
programme: peer
cohort: "2025"
year: 2025
key_file: ../keys/peer.key
disclosure: {threshold: 10, profile: default}
participant_id: {column: student_id, pattern: "^[0-9]{7}$"}
sources:
  - {path: pre.csv, format: qualtrics, wave: pre, unfinished: exclude}
  - {path: rc.csv, format: redcap, dictionary: dict.csv, events: {baseline_arm_1: pre, followup_arm_1: post}, id_column: record_id}
columns: {group: group, covariates: [year_of_study], meta: [StartDate], drop: [RecipientEmail], duration: "Duration (in seconds)", submitted_at: EndDate}
instruments:
  who5:
    items: {who5_1: Q1_1}
    values: {"No": 0, 5: 5}
    synonyms: {"Some of the time": ["Sometimes"]}
  cbi: {}
analysis: {pre: pre, post: post, group: {column: group, treated: mentored, control: comparison}, primary: [who5.total, cbi.personal], multiplicity: holm, confidence: 0.95}
quality: {duplicates: keep_first, attention_checks: [{column: attn_1, expected: Agree}]}
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for f in ("pre.csv", "rc.csv", "dict.csv"):
        (tmp_path / f).write_text("x\n1\n")
    return tmp_path


def test_study_name_defaults(folder: Path) -> None:
    """id wins; else programme-cohort (two programmes' 2025 cohorts differ); else the folder."""
    (folder / "study.yaml").write_text(GOOD)
    assert load_study(folder / "study.yaml").name == "peer-2025"
    (folder / "study.yaml").write_text("id: my-eval\n" + GOOD)
    assert load_study(folder / "study.yaml").name == "my-eval"
    no_cohort = "\n".join(line for line in GOOD.splitlines() if not line.startswith("cohort:"))
    (folder / "study.yaml").write_text(no_cohort)
    assert load_study(folder / "study.yaml").name == folder.name


def test_agreed_shape_loads(folder: Path) -> None:
    (folder / "study.yaml").write_text(GOOD)
    s = load_study(folder / "study.yaml")
    assert s.config.cohort == "2025" and s.name == f"{s.config.programme}-2025"
    assert (
        s.item_columns("who5")["who5_1"] == "Q1_1" and s.item_columns("who5")["who5_2"] == "who5_2"
    )
    assert s.instrument_map("who5").values == {"No": 0.0, 5: 5.0}  # "No" stays text
    assert s.waves() == ["pre", "post"]
    assert s.resolve("pre.csv") == folder / "pre.csv"


def test_every_problem_at_once(folder: Path) -> None:
    bad = (
        GOOD.replace("cbi.personal", "cbi.nope")
        .replace("pre.csv, format", "gone.csv, format")
        .replace("cbi: {}", "cbi: {items: {cbi_x: A}}")
        .replace("post: post,", "post: later,")
        .replace("drop: [RecipientEmail]", "drop: [group]")
    )
    (folder / "study.yaml").write_text(bad)
    with pytest.raises(ConfigError) as info:
        load_study(folder / "study.yaml")
    keys = [p.key for p in info.value.problems]
    assert keys == [
        "sources[0].path",
        "instruments.cbi.items",
        "analysis.post",
        "analysis.primary[1]",
        "columns.drop",
    ]
    assert all(p.fix for p in info.value.problems)


def test_types_are_strict(folder: Path) -> None:
    (folder / "study.yaml").write_text(
        GOOD.replace('cohort: "2025"', "cohort: 2025").replace("threshold: 10", "threshold: ten")
    )
    with pytest.raises(ConfigError, match="2 problems") as info:
        load_study(folder / "study.yaml")
    assert {p.key for p in info.value.problems} == {"cohort", "disclosure.threshold"}


def test_source_formats_are_the_reader_formats() -> None:
    from typing import get_args

    from mentoreval.config.study import SourceFormat
    from mentoreval.read.base import Format

    assert get_args(SourceFormat) == ("auto", *get_args(Format))


def test_id_pattern_with_catastrophic_backtracking_runs_in_bounded_time() -> None:
    import time

    matches = compile_id_pattern("^(a+)+$")
    ids = ["a" * 36 + "!", "a" * 5000 + "!", "aaaa"]
    start = time.process_time()
    assert matches(ids).tolist() == [False, False, True]
    assert time.process_time() - start < 1  # Python's re takes minutes on the first id


def test_id_pattern_is_a_full_match() -> None:
    matches = compile_id_pattern("[0-9]{7}|S[0-9]+")
    assert matches(["1234567", "x1234567", "S12", "S12x", "1234567\n"]).tolist() == [
        True,
        False,
        True,
        False,
        False,
    ]


@pytest.mark.parametrize("pattern", ["(a)\\1", "(?=a)a", "[0-9", "a)|(b", "(" * 600 + ")" * 600])
def test_id_pattern_that_cannot_run_in_bounded_time_is_refused_naming_the_key(
    folder: Path, pattern: str
) -> None:
    with pytest.raises(ConfigError) as info:
        compile_id_pattern(pattern)
    assert info.value.problems[0].key == "participant_id.pattern"
    body = GOOD.replace('"^[0-9]{7}$"', "'" + pattern + "'")
    (folder / "study.yaml").write_text(body)
    with pytest.raises(ConfigError) as info:
        load_study(folder / "study.yaml")
    assert [p.key for p in info.value.problems] == ["participant_id.pattern"]


def test_column_mapped_into_two_instruments_is_refused_naming_both(folder: Path) -> None:
    """A column has one meaning: who5_1 (who5's default column) mapped as swemwbs_1 too."""
    (folder / "study.yaml").write_text(
        GOOD.replace("cbi: {}", "swemwbs: {items: {swemwbs_1: who5_2}}").replace(
            "cbi.personal", "swemwbs.total"
        )
    )
    with pytest.raises(ConfigError) as info:
        load_study(folder / "study.yaml")
    (problem,) = info.value.problems
    assert problem.key == "instruments.swemwbs.items" and problem.fix
    assert "'who5_2'" in problem.message and "instruments.who5.items" in problem.message


@pytest.mark.parametrize("key", ["programme", "cohort"])
@pytest.mark.parametrize("value", ["peer; touch PWNED", "$(id)", "../../../etc", ".hidden", "a/b"])
def test_programme_and_cohort_labels_are_checked_with_the_store_rule(
    folder: Path, key: str, value: str
) -> None:
    from mentoreval.config.study import LABEL
    from mentoreval.store import parquet

    assert parquet.LABEL is LABEL  # one definition, shared with the store
    old = "programme: peer" if key == "programme" else 'cohort: "2025"'
    (folder / "study.yaml").write_text(GOOD.replace(old, f"{key}: {value!r}"))
    with pytest.raises(ConfigError) as info:
        load_study(folder / "study.yaml")
    (problem,) = info.value.problems
    assert problem.key == key and "letters, digits" in (problem.fix or "")


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("{path: pre.csv,", '{path: "pre\\0.csv",', "sources[0].path"),
        ("dictionary: dict.csv", 'dictionary: "dict\\n.csv"', "sources[1].dictionary"),
        ("key_file: ../keys/peer.key", 'key_file: "peer\\t.key"', "key_file"),
        ("title: Peer mentoring", 'title: x\ndata_roots: ["/data\\0"]', "data_roots[0]"),
    ],
)
def test_paths_with_nul_or_control_characters_are_refused_naming_the_key(
    folder: Path, old: str, new: str, key: str
) -> None:
    (folder / "study.yaml").write_text(GOOD.replace(old, new))
    with pytest.raises(ConfigError) as info:
        load_study(folder / "study.yaml")
    (problem,) = info.value.problems
    assert problem.key == key and "control character" in problem.message


# --------------------------------------------------------------------------- SGIC, then-test

SIMPLE = """title: T
participant_id: {participant_id}
sources: [{sources}]
instruments:
  who5: {who5}
"""
THEN_MAP = "{then: {who5_1: b1, who5_2: b2, who5_3: b3, who5_4: b4, who5_5: b5}}"


def _keys(folder: Path, **parts: str) -> list[str | None]:
    values = {
        "participant_id": "{column: sid}",
        "sources": "{path: pre.csv, wave: pre}, {path: rc.csv, wave: post}",
        "who5": "{}",
        **parts,
    }
    (folder / "study.yaml").write_text(SIMPLE.format(**values))
    try:
        load_study(folder / "study.yaml")
    except ConfigError as exc:
        return [p.key for p in exc.problems]
    return []


def test_a_self_generated_code_loads_from_component_columns_or_widths(folder: Path) -> None:
    columns = "{sgic: {components: [{column: m, kind: letter}, {column: b, kind: month}]}}"
    widths = (
        "{sgic: {column: code, components: [{width: 1, kind: letter}, {width: 2, kind: month}]}}"
    )
    assert _keys(folder, participant_id=columns) == []
    assert _keys(folder, participant_id=widths) == []


@pytest.mark.parametrize(
    ("participant_id", "keys"),
    [
        ("{}", ["participant_id"]),
        (
            "{column: sid, sgic: {components: [{column: m, kind: letter}, {column: b, kind: month}]}}",
            ["participant_id"],
        ),
        (
            "{pattern: x, sgic: {components: [{column: m, kind: letter}, {column: b, kind: month}]}}",
            ["participant_id.pattern"],
        ),
        (
            "{sgic: {components: [{column: m, kind: letter}, {width: 2, kind: month}]}}",
            ["participant_id.sgic.components[1]"],
        ),
        (
            "{sgic: {column: c, components: [{width: 1, kind: letter}, {column: b, kind: month}]}}",
            ["participant_id.sgic.components[1]"],
        ),
        (
            "{sgic: {components: [{column: m, kind: letter}, {column: b, kind: month}], tolerance: 2}}",
            ["participant_id.sgic.tolerance"],
        ),
        (
            "{sgic: {components: [{column: who5_1, kind: letter}, {column: b, kind: month}]}}",
            ["participant_id.sgic"],
        ),
    ],
)
def test_a_self_generated_code_that_cannot_work_is_refused_naming_the_key(
    folder: Path, participant_id: str, keys: list[str]
) -> None:
    found = _keys(folder, participant_id=participant_id)
    assert keys[0] in found or any(k and k.startswith(keys[0]) for k in found), found


def test_a_then_test_source_names_the_retrospective_wave_and_loads(folder: Path) -> None:
    (folder / "study.yaml").write_text(
        SIMPLE.format(
            participant_id="{column: sid}",
            sources="{path: pre.csv, wave: post, then: pre}",
            who5=THEN_MAP,
        )
    )
    study = load_study(folder / "study.yaml")
    assert study.waves() == ["post", "pre"]
    assert study.then_columns("who5")["who5_5"] == "b5"


@pytest.mark.parametrize(
    ("sources", "who5", "key"),
    [
        ("{path: pre.csv, wave: post, then: pre}", "{}", "sources[0].then"),
        (
            "{path: pre.csv, wave: pre}, {path: rc.csv, wave: post}",
            THEN_MAP,
            "instruments.who5.then",
        ),
        ("{path: pre.csv, wave: post, then: post}", THEN_MAP, "sources[0].then"),
        ("{path: pre.csv, wave: post, then: pre}", "{then: {who5_1: b1}}", "instruments.who5.then"),
        (
            "{path: pre.csv, wave: post, then: pre}",
            THEN_MAP.replace("b2", "who5_2"),
            "instruments.who5.then",
        ),
    ],
)
def test_a_then_test_that_cannot_work_is_refused_naming_the_key(
    folder: Path, sources: str, who5: str, key: str
) -> None:
    assert key in _keys(folder, sources=sources, who5=who5)


def test_design_defaults_to_comparison_with_a_group_and_single_arm_without(folder: Path) -> None:
    (folder / "study.yaml").write_text(GOOD)
    assert load_study(folder / "study.yaml").config.analysis.resolved_design == "comparison"
    no_group = GOOD.replace("group: {column: group, treated: mentored, control: comparison}, ", "")
    (folder / "study.yaml").write_text(no_group)
    assert load_study(folder / "study.yaml").config.analysis.resolved_design == "single_arm"
    randomised = GOOD.replace("analysis: {", "analysis: {design: randomised, ")
    (folder / "study.yaml").write_text(randomised)
    assert load_study(folder / "study.yaml").config.analysis.resolved_design == "randomised"


@pytest.mark.parametrize(
    ("design", "with_group", "fix"),
    [
        ("randomised", False, "add analysis.group"),
        ("comparison", False, "add analysis.group"),
        ("single_arm", True, "remove analysis.group"),
    ],
)
def test_design_inconsistent_with_the_group_is_refused_naming_the_key(
    folder: Path, design: str, with_group: bool, fix: str
) -> None:
    text = GOOD.replace("analysis: {", f"analysis: {{design: {design}, ")
    if not with_group:
        text = text.replace("group: {column: group, treated: mentored, control: comparison}, ", "")
    (folder / "study.yaml").write_text(text)
    with pytest.raises(ConfigError) as info:
        load_study(folder / "study.yaml")
    (problem,) = info.value.problems
    assert problem.key == "analysis.design" and design in problem.message
    assert fix in (problem.fix or "")


def test_design_outside_the_three_is_refused(folder: Path) -> None:
    (folder / "study.yaml").write_text(GOOD.replace("analysis: {", "analysis: {design: rct, "))
    with pytest.raises(ConfigError) as info:
        load_study(folder / "study.yaml")
    assert any("analysis.design" in (p.key or "") for p in info.value.problems)
