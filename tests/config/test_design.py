"""Tests for mentoreval.config.design: the design a study config implies."""

from __future__ import annotations

from mentoreval.config.design import study_design
from mentoreval.config.study_model import StudyConfig


def config(analysis: dict | None = None, participant_id: object = None) -> StudyConfig:
    return StudyConfig.model_validate(
        {
            "title": "T",
            "participant_id": participant_id or {"column": "student_id"},
            "sources": [{"path": "a.csv", "wave": "post"}],
            "instruments": {"who5": None},
            **({"analysis": analysis} if analysis is not None else {}),
        }
    )


def test_one_wave_in_every_source_is_a_single_wave_survey_when_no_wave_is_named():
    design = study_design(config())
    assert design.waves == ("post",) and design.single_wave


def test_a_named_pre_or_post_wave_is_never_switched_to_a_single_wave_design():
    """The config names both waves: a missing wave is the export's fault, and the report
    must stop on it (exit 2) rather than silently describe one wave."""
    for analysis in ({"pre": "pre", "post": "post"}, {"post": "post"}, {"pre": "baseline"}):
        design = study_design(config(analysis))
        assert len(design.waves) == 2 and not design.single_wave, analysis


def test_declared_waves_win_over_the_sources():
    design = study_design(config({"waves": ["pre", "mid", "post"]}))
    assert design.waves == ("pre", "mid", "post")


def test_anonymous_surveys_are_not_linked():
    assert not study_design(config(participant_id="none")).linked
