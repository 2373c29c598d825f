"""Multi-wave configs: ``analysis.waves`` with a named primary contrast, validated with
located errors, and the design ``validate`` prints."""

from __future__ import annotations

from pathlib import Path

import pytest

from mentoreval.config.design import study_design
from mentoreval.config.study import load_study
from mentoreval.errors import ConfigError

STUDY = """title: Waves
participant_id: {{column: student_id}}
sources:
  - {{path: a.csv, wave: pre}}
  - {{path: b.csv, wave: mid}}
  - {{path: c.csv, wave: post}}
  - {{path: d.csv, wave: followup}}
instruments: {{who5: null}}
analysis: {analysis}
"""


def write(tmp_path: Path, analysis: str) -> Path:
    for f in "abcd":
        (tmp_path / f"{f}.csv").write_text("x\n1\n")
    path = tmp_path / "study.yaml"
    path.write_text(STUDY.format(analysis=analysis))
    return path


def problems(tmp_path: Path, analysis: str) -> list[tuple[str | None, str]]:
    with pytest.raises(ConfigError) as info:
        load_study(write(tmp_path, analysis))
    return [(p.key, p.message) for p in info.value.problems]


def test_four_waves_default_to_last_versus_first_as_the_primary_contrast(tmp_path: Path):
    study = load_study(write(tmp_path, "{waves: [pre, mid, post, followup]}"))
    design = study_design(study.config)
    assert design.primary == ("pre", "followup") and design.multiwave
    assert (study.config.analysis.pre, study.config.analysis.post) == ("pre", "followup")
    assert design.describe() == (
        "Design: 4 waves (pre, mid, post, followup), linked by id, single group; "
        "primary contrast followup vs pre."
    )


def test_a_named_contrast_sets_the_paired_waves(tmp_path: Path):
    study = load_study(
        write(tmp_path, "{waves: [pre, mid, post, followup], contrast: [pre, post]}")
    )
    assert (study.config.analysis.pre, study.config.analysis.post) == ("pre", "post")
    assert study_design(study.config).describe().endswith("primary contrast post vs pre.")


def test_a_contrast_wave_not_among_the_waves_is_located(tmp_path: Path):
    found = problems(tmp_path, "{waves: [pre, mid, post], contrast: [pre, followup]}")
    assert [k for k, _ in found] == ["analysis.contrast[1]"]
    assert "'followup' is not one of analysis.waves" in found[0][1]


def test_a_contrast_naming_the_later_wave_first_is_an_error(tmp_path: Path):
    found = problems(tmp_path, "{waves: [pre, mid, post], contrast: [post, pre]}")
    assert [k for k, _ in found] == ["analysis.contrast"]
    assert "earlier wave first" in found[0][1]


def test_a_wave_listed_twice_is_located_at_its_second_mention(tmp_path: Path):
    found = problems(tmp_path, "{waves: [pre, mid, pre, post]}")
    assert ("analysis.waves[2]", "wave 'pre' is listed twice") in found


def test_a_contrast_without_waves_is_an_error(tmp_path: Path):
    assert [k for k, _ in problems(tmp_path, "{contrast: [pre, post]}")] == ["analysis.contrast"]


def test_pre_and_post_that_contradict_the_contrast_are_an_error(tmp_path: Path):
    found = problems(tmp_path, "{waves: [pre, mid, post], contrast: [pre, mid], post: post}")
    assert [k for k, _ in found] == ["analysis.pre"]


def test_pre_and_post_without_a_contrast_name_it(tmp_path: Path):
    study = load_study(write(tmp_path, "{waves: [pre, mid, post, followup], post: post}"))
    assert study_design(study.config).primary == ("pre", "post")


def test_two_waves_say_nothing_of_a_primary_contrast(tmp_path: Path):
    study = load_study(write(tmp_path, "{waves: [pre, post]}"))
    assert study_design(study.config).describe() == (
        "Design: 2 waves (pre, post), linked by id, single group."
    )


def test_validate_prints_the_inferred_multiwave_design_first(tmp_path: Path, capsys):
    from mentoreval.cli import main
    from mentoreval.ingest.protect import keygen
    from mentoreval.synth.multiwave import write_waves_study

    keygen(tmp_path / "k.key")
    config, _ = write_waves_study(tmp_path / "s", key_file="../k.key", n_students=24, seed=1,
                                  waves=("pre", "mid", "post"),
                                  trajectory={"mentored": (0, 0.2, 0.4), "comparison": (0, 0, 0)},
                                  retention=(1.0, 0.9, 0.9))  # fmt: skip
    with pytest.raises(SystemExit) as done:
        main(["validate", str(config)])
    assert done.value.code in (0, None)
    out = capsys.readouterr().out
    assert out.startswith(
        "Design: 3 waves (pre, mid, post), linked by id, comparison group (treated "
        "'mentored', control 'comparison'); primary contrast post vs pre."
    )
