"""Hostile study configs: YAML bombs, anchors, Python tags, paths leading out of the
study's folder, wrong types, unknown and duplicate keys."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from _hostile import HEADER, REPO, Case, Project, default_config, default_rows, params, run_case

STUDY = "study.yaml"


def text(extra: str = "", *, drop: tuple[str, ...] = ()) -> Any:
    """The default config as YAML text, without ``drop`` top-level keys, plus ``extra``."""

    def build(p: Project) -> None:
        cfg = {k: v for k, v in default_config().items() if k not in drop}
        p.config_text = yaml.safe_dump(cfg, sort_keys=False) + extra

    return build


def edit(change: Any) -> Any:
    def build(p: Project) -> None:
        change(p.config)

    return build


def set_path(path: str, value: Any) -> Any:
    """Set a dotted config key (``sources.0.path``)."""

    def change(cfg: dict[str, Any]) -> None:
        *head, last = path.split(".")
        node: Any = cfg
        for part in head:
            node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
        node[int(last) if last.isdigit() else last] = value

    return edit(change)


LAUGHS = "".join(
    f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi", strict=True)
)
BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + LAUGHS


def billion_laughs(where: str) -> Any:
    def build(p: Project) -> None:
        cfg = default_config()
        body = yaml.safe_dump(cfg, sort_keys=False)
        body = body.replace("title: Hostile corpus", f"title: {'*i' if where == 'title' else 'x'}")
        if where == "covariates":
            body = body.replace("columns:\n", "columns:\n  covariates: *i\n")
        p.config_text = (
            BOMB.replace("a: &a", "x-a: &a") + body
            if where == "key"
            else ("# anchors under an unknown key\n" + BOMB + body)
        )

    return build


def anchors_legit(p: Project) -> None:
    p.config_text = (
        "title: &t Anchors\n"
        "participant_id: {column: sid}\n"
        "sources:\n"
        "  - {path: exports/pre.csv, wave: &pre pre}\n"
        "  - {path: exports/post.csv, wave: post}\n"
        "columns: &cols {group: group, submitted_at: submitted_at}\n"
        "instruments: {who5: {}}\n"
        "analysis: {pre: *pre, post: post, group: {column: group, treated: mentored, "
        "control: comparison}}\n"
    )


def deep_nesting(p: Project) -> None:
    text("title_extra: " + "[" * 5000 + "]" * 5000 + "\n")(p)


def symlink_source(target: str) -> Any:
    def build(p: Project) -> None:
        p.drop("exports/pre.csv")
        p.after_write.append(lambda q: (q.study / "exports" / "pre.csv").symlink_to(target))

    return build


def outside_file(p: Project) -> None:
    p.write("../elsewhere/pre.csv", p.files["exports/pre.csv"])
    p.source(0, path="../elsewhere/pre.csv")


def dictionary_outside(p: Project) -> None:
    p.source(0, format="redcap", dictionary="/etc/passwd")


def meetings_system_file(p: Project) -> None:
    p.config["meetings"] = {"path": "/etc/hostname"}


def meetings_symlink(p: Project) -> None:
    p.config["meetings"] = {"path": "exports/meetings.csv"}
    p.after_write.append(lambda q: (q.study / "exports" / "meetings.csv").symlink_to("/etc/hosts"))


def same_column_two_instruments(p: Project) -> None:
    """who5_1 is also swemwbs_1; the other SWEMWBS items have their own columns."""
    extra = [f"swemwbs_{i}" for i in range(2, 8)]
    for wave in ("pre", "post"):
        rows = [[*r[:3], 3, *r[4:], *[3] * 6] for r in default_rows(wave)]  # valid for both
        p.csv(f"exports/{wave}.csv", [*HEADER, *extra], rows)
    p.config["instruments"]["swemwbs"] = {"items": {"swemwbs_1": "who5_1"}}


def catastrophic_pattern(p: Project) -> None:
    p.config["participant_id"]["pattern"] = "^(a+)+$"
    rows = [["a" * 40 + "!", "mentored", "2024-01-10 10:00:00", 1, 1, 1, 1, 1]]
    p.csv(
        "exports/pre.csv",
        ["sid", "group", "submitted_at", *[f"who5_{i}" for i in range(1, 6)]],
        rows,
    )


CASES = [
    # YAML bombs and anchors
    Case(
        "billion_laughs_title",
        billion_laughs("title"),
        command="validate",
        exit=2,
        names=(STUDY, "title"),
    ),
    Case(
        "billion_laughs_covariates",
        billion_laughs("covariates"),
        command="validate",
        exit=2,
        names=(STUDY, "columns.covariates"),
    ),
    Case("billion_laughs_unknown_key", billion_laughs("key"), exit=2, names=(STUDY, "x-a")),
    Case("anchors_and_merge_keys", anchors_legit, counts={"rows_read": 12, "rows_kept": 12}),
    Case(
        "merge_key",
        lambda p: setattr(
            p,
            "config_text",
            "title: x\nparticipant_id: {column: sid}\nsources:\n"
            "  - &s {path: exports/pre.csv, wave: pre}\n  - {<<: *s, wave: post}\n",
        ),
        exit=2,
        names=(STUDY, "line 5"),
    ),
    Case(
        "deep_nesting",
        deep_nesting,
        command="validate",
        exit=2,
        names=(STUDY,),
    ),
    # tags
    Case(
        "python_object_apply",
        text("extra: !!python/object/apply:os.system ['touch PWNED']\n"),
        exit=2,
        names=(STUDY,),
    ),
    Case(
        "python_object_in_title",
        text("title: !!python/object/new:os.system ['touch PWNED']\n", drop=("title",)),
        command="validate",
        exit=2,
        names=(STUDY,),
    ),
    Case("python_name", text("extra: !!python/name:os.system\n"), exit=2, names=(STUDY,)),
    Case("python_module", text("extra: !!python/module:os\n"), exit=2, names=(STUDY,)),
    Case("custom_include_tag", text("extra: !include /etc/passwd\n"), exit=2, names=(STUDY,)),
    Case(
        "binary_tag_title",
        text("title: !!binary aGVsbG8=\n", drop=("title",)),
        exit=2,
        names=(STUDY, "title"),
    ),
    # paths
    Case(
        "path_dotdot",
        set_path("sources.0.path", "../../../../etc/passwd"),
        exit=2,
        names=("sources[0].path",),
    ),
    Case(
        "path_absolute_system",
        set_path("sources.0.path", "/etc/passwd"),
        exit=2,
        names=("sources[0].path",),
    ),
    Case("path_outside_study_folder", outside_file, exit=2, names=("sources[0].path",)),
    Case("path_symlink_to_etc", symlink_source("/etc/passwd"), exit=2, names=("sources[0].path",)),
    Case(
        "path_home_tilde",
        set_path("sources.0.path", "~/pre.csv"),
        exit=2,
        names=("sources[0].path",),
    ),
    Case("dictionary_system_file", dictionary_outside, exit=2, names=("sources[0].dictionary",)),
    Case("meetings_system_file", meetings_system_file, exit=2, names=("meetings.path",)),
    Case("meetings_symlink_to_etc", meetings_symlink, exit=2, names=("meetings.path",)),
    Case(
        "instrument_dirs_etc",
        set_path("instrument_dirs", ["/etc"]),
        exit=2,
        names=("instrument_dirs[0]",),
    ),
    Case("path_is_empty", set_path("sources.0.path", ""), exit=2, names=("sources[0].path",)),
    Case(
        "path_with_nul",
        set_path("sources.0.path", "exports/pre\x00.csv"),
        exit=2,
        names=("sources[0].path",),
    ),
    # types, unknown and duplicate keys, shapes
    Case("cohort_number", set_path("cohort", 2025), exit=2, names=(STUDY, "cohort")),
    Case("year_text", set_path("year", "NO"), exit=2, names=("year", "'NO'")),
    Case("sources_not_a_list", set_path("sources", "exports/pre.csv"), exit=2, names=("sources",)),
    Case(
        "threshold_negative",
        set_path("disclosure", {"threshold": -1}),
        exit=2,
        names=("disclosure.threshold",),
    ),
    Case(
        "confidence_above_one",
        set_path("analysis.confidence", 1.5),
        exit=2,
        names=("analysis.confidence",),
    ),
    Case("unknown_top_key", set_path("colour", "red"), exit=2, names=(STUDY, "colour")),
    Case(
        "unknown_nested_key", set_path("sources.0.sheeet", 1), exit=2, names=("sources[0].sheeet",)
    ),
    Case("duplicate_top_key", text("title: Again\n"), exit=2, names=("duplicate key 'title'",)),
    Case(
        "duplicate_nested_key",
        lambda p: setattr(
            p,
            "config_text",
            yaml.safe_dump(default_config(), sort_keys=False).replace(
                "  column: sid\n", "  column: sid\n  column: other\n", 1
            ),
        ),
        exit=2,
        names=("duplicate key 'column'",),
    ),
    Case(
        "config_is_a_list",
        lambda p: setattr(p, "config_text", "- a\n- b\n"),
        exit=2,
        names=(STUDY, "mapping"),
    ),
    Case("config_empty", lambda p: setattr(p, "config_text", ""), exit=2, names=(STUDY,)),
    Case(
        "config_bad_yaml",
        lambda p: setattr(p, "config_text", "title: [unclosed\n"),
        exit=2,
        names=(STUDY,),
    ),
    Case(
        "config_tab_indent",
        lambda p: setattr(p, "config_text", "title: x\nsources:\n\t- a\n"),
        exit=2,
        names=(STUDY,),
    ),
    Case(
        "unknown_format",
        set_path("sources.0.format", "stata"),
        exit=2,
        names=("sources[0].format",),
    ),
    Case("no_sources", set_path("sources", []), exit=2, names=("sources",)),
    Case(
        "bad_regex",
        set_path("participant_id.pattern", "(["),
        exit=2,
        names=("participant_id.pattern",),
    ),
    Case("study_id_traversal", set_path("id", "../../etc"), exit=2, names=("id",)),
    Case(
        "column_in_two_instruments",
        same_column_two_instruments,
        command="validate",
        exit=2,
        names=("who5_1", "instruments.who5", "instruments.swemwbs"),
    ),
]


@pytest.mark.parametrize("case", params(CASES))
def test_hostile_config(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run_case(case, tmp_path, capsys, monkeypatch)


@pytest.mark.slow
def test_catastrophic_id_pattern_is_bounded(tmp_path: Path) -> None:
    """``^(a+)+$`` against ``aaaa…a!`` backtracks for minutes: validate must stop in bounded
    time with a message naming participant_id.pattern (run in a subprocess with a timeout,
    so a hang fails this test instead of the suite)."""
    project = Project(tmp_path)
    catastrophic_pattern(project)
    project.materialise()
    env = {
        **os.environ,
        "MENTOREVAL_KEY_FILE": str(project.key),
        "PYTHONPATH": str(REPO / "src"),
        "HOME": str(tmp_path / "home"),
    }
    try:
        res = subprocess.run(
            [sys.executable, "-m", "mentoreval", "validate", str(project.study_file)],
            capture_output=True,
            text=True,
            timeout=20,
            env=env,
            cwd=tmp_path / "cwd",
        )
    except subprocess.TimeoutExpired:
        pytest.fail("validate did not finish within 20 s on a catastrophic pattern")
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    assert "participant_id.pattern" in res.stderr
