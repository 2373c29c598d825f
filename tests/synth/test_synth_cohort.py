"""Cohort generator: determinism, design, self-selection, attrition, mess, speed."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from mentoreval.errors import ConfigError
from mentoreval.synth import CohortSpec, generate_cohort


def test_same_spec_same_cohort():
    spec = CohortSpec(
        n_students=80, seed=3, duplicates=0.1, speeders=0.05, item_nonresponse=0.05, attrition=0.2
    )
    a, b = generate_cohort(spec), generate_cohort(spec)
    pd.testing.assert_frame_equal(a.submissions, b.submissions)
    pd.testing.assert_frame_equal(a.meetings, b.meetings)
    pd.testing.assert_frame_equal(a.truth, b.truth)
    c = generate_cohort(spec.replace(seed=4))
    assert not a.submissions["student_id"].equals(c.submissions["student_id"])


def test_mess_options_do_not_change_the_latent_draws():
    base = CohortSpec(n_students=60, seed=9)
    a = generate_cohort(base)
    b = generate_cohort(base.replace(attrition=0.3, speeders=0.1, duplicates=0.1))
    pd.testing.assert_frame_equal(a.latent, b.latent)


def test_spec_validation_lists_every_problem():
    with pytest.raises(ConfigError) as err:
        CohortSpec(n_students=1, attrition=1.5, design="rct", mentor_types={"coach": 1})  # type: ignore[arg-type]
    keys = {p.key for p in err.value.problems}
    assert {"n_students", "attrition", "design", "mentor_types"} <= keys
    with pytest.raises(ConfigError, match="names no instrument"):
        CohortSpec(effects={"phq9": 0.2})
    with pytest.raises(ConfigError, match="has no scale"):
        generate_cohort(CohortSpec(n_students=10, effects={"cbi.teachers": 0.2}))
    with pytest.raises(ConfigError, match="not reachable"):
        generate_cohort(CohortSpec(n_students=10, attrition=0.05, attrition_smd=3.0))


def test_people_and_groups():
    c = generate_cohort(
        CohortSpec(n_students=400, design="comparison", treated_fraction=0.4, seed=2)
    )
    p = c.people
    assert p["student_id"].is_unique and p["student_id"].str.fullmatch(r"[0-9]{7}").all()
    assert (p["group"] == "mentored").sum() == 160
    assert p.loc[p["group"] == "comparison", "mentor_type"].isna().all()
    assert (p.loc[p["group"] == "comparison", "meetings"] == 0).all()
    assert set(p["year_of_study"]) <= {1, 2, 3, 4, 5}
    assert set(p["gender"]) <= {"Female", "Male", "Non-binary", "Prefer not to say"}
    # mentor ratings only from mentees, only at follow-up
    post = c.responses("post")
    assert post.loc[post["group"] == "comparison", "mes_1"].isna().all()
    assert "mes_1" not in c.responses("pre").columns


def test_self_selection_baseline_smd():
    c = generate_cohort(CohortSpec(n_students=6000, design="comparison", baseline_smd=0.4, seed=5))
    lat = c.latent.merge(c.people[["student_id", "group"]], on="student_id")
    who = lat[lat["factor"] == "who5.total"]
    diff = who.groupby("group")["pre"].mean()
    assert diff["mentored"] - diff["comparison"] == pytest.approx(0.4, abs=0.08)
    cbi = lat[lat["factor"] == "cbi.personal"]  # burnout: higher = worse, so mentees lower
    d2 = cbi.groupby("group")["pre"].mean()
    assert d2["mentored"] - d2["comparison"] == pytest.approx(-0.4, abs=0.08)


def test_pre_post_correlation_and_trend():
    c = generate_cohort(CohortSpec(n_students=6000, pre_post_r=0.7, secular_trend=-0.2, seed=8))
    who = c.latent[c.latent["factor"] == "who5.total"]
    assert np.corrcoef(who["pre"], who["post"])[0, 1] == pytest.approx(0.7, abs=0.03)
    assert (who["post"] - who["pre"]).mean() == pytest.approx(-0.2, abs=0.04)
    t = c.truth.set_index(["instrument", "scale", "group"])
    assert t.loc[("who5", "total", "mentored"), "expected_change"] < 0
    assert t.loc[("who5", "total", "mentored"), "effect"] == pytest.approx(0.0, abs=1e-9)


def test_effects_dose_and_mentor_type_modification():
    spec = CohortSpec(
        n_students=4000,
        seed=12,
        effects={"who5": 0.4},
        dose_slope=0.1,
        mentor_types={"peer": 0.5, "faculty": 0.5},
        mentor_type_modifiers={"faculty": 2.0},
    )
    c = generate_cohort(spec)
    who = c.latent[c.latent["factor"] == "who5.total"].merge(c.people, on="student_id")
    # average latent effect among mentees equals the requested effect
    assert who["effect"].mean() == pytest.approx(0.4, abs=0.02)
    by_type = who.groupby("mentor_type")["effect"].mean()
    assert by_type["faculty"] > 1.5 * by_type["peer"]
    # dose-response: within a mentor type, more meetings → larger effect
    peer = who[who["mentor_type"] == "peer"]
    assert np.corrcoef(peer["meetings"], peer["effect"])[0, 1] > 0.9
    # no effect on outcomes without one
    assert c.truth.query("instrument == 'cbi'")["effect"].abs().max() < 1e-9


def test_meeting_log_matches_dose():
    c = generate_cohort(
        CohortSpec(n_students=300, team_rate=0.3, mentor_types={"faculty": 1.0}, seed=4)
    )
    log = c.meetings
    assert list(log.columns) == ["date", "mentee_id", "mentor_id", "mentor_type", "mode", "minutes"]
    counts = log.groupby("mentee_id").size()
    people = c.people.set_index("student_id")
    assert (counts == people.loc[counts.index, "meetings"]).all()
    assert set(log["mentor_type"]) <= {"faculty", "research"}  # research = team partner
    team_ids = set(people.index[people["team"]])
    research = set(log.loc[log["mentor_type"] == "research", "mentee_id"])
    assert research and research <= team_ids
    assert log["minutes"].min() >= 10
    assert log["date"].is_monotonic_increasing
    assert set(log["mode"]) <= {"in-person", "video", "phone"}


def test_attrition_rate_and_differential_smd():
    spec = CohortSpec(
        n_students=8000,
        design="comparison",
        attrition=0.3,
        attrition_comparison=0.1,
        attrition_smd=0.5,
        seed=21,
    )
    c = generate_cohort(spec)
    p = c.people
    rate = p.groupby("group")["dropped"].mean()
    assert rate["mentored"] == pytest.approx(0.3, abs=0.03)
    assert rate["comparison"] == pytest.approx(0.1, abs=0.02)
    m = p[p["group"] == "mentored"]
    smd = (
        m.loc[~m["dropped"], "baseline_index"].mean() - m.loc[m["dropped"], "baseline_index"].mean()
    )
    assert smd == pytest.approx(0.5, abs=0.08)
    # dropouts have no follow-up submission
    post_ids = set(c.submissions.loc[c.submissions["wave"] == "post", "student_id"])
    assert not post_ids & set(p.loc[p["dropped"], "student_id"])


def test_careless_duplicates_nonresponse_rates():
    spec = CohortSpec(
        n_students=3000,
        straightliners=0.05,
        speeders=0.04,
        duplicates=0.06,
        item_nonresponse=0.03,
        seed=6,
    )
    c = generate_cohort(spec)
    s = c.submissions
    real = s[~s["duplicate"]]
    assert (real["careless"] == "straightliner").mean() == pytest.approx(0.05, abs=0.01)
    assert (real["careless"] == "speeder").mean() == pytest.approx(0.04, abs=0.01)
    assert s["duplicate"].sum() / len(real) == pytest.approx(0.06, abs=0.01)
    assert s["response_id"].is_unique
    assert s.loc[s["careless"] == "speeder", "duration_s"].max() < 60
    assert s.loc[s["careless"] == "", "duration_s"].median() > 200
    pre = c.responses("pre")
    sl = pre[pre["careless"] == "straightliner"]
    assert (
        sl[["who5_1", "who5_2", "who5_3", "who5_4", "who5_5"]].nunique(axis=1, dropna=True) == 1  # noqa: PD101
    ).all()
    items = c.items_at("pre")
    assert pre[items].isna().to_numpy().mean() == pytest.approx(0.03, abs=0.005)
    post = c.responses("post")
    mes = post.loc[post["group"] == "mentored", [f"mes_{k}" for k in range(1, 13)]].to_numpy()
    assert (mes == 9).mean() == pytest.approx(0.01, abs=0.005)  # a third of skips are "N/A"
    # duplicates come after the original submission of the same student
    dup = s[s["duplicate"]].merge(real, on=["student_id", "wave"], suffixes=("", "_orig"))
    assert (dup["submitted_at"] > dup["submitted_at_orig"]).all()


def _timed_generation(n: int) -> float:
    spec = CohortSpec(
        n_students=n,
        instruments=("who5", "cbi", "olbi", "career_confidence", "pss10"),
        post_only_instruments=(),
        duplicates=0.02,
        speeders=0.02,
        item_nonresponse=0.02,
        seed=1,
    )
    t0 = time.process_time()
    c = generate_cohort(spec)
    elapsed = time.process_time() - t0
    assert len(c.items_at("pre")) == 58
    return elapsed


def test_generation_speed_short():
    assert _timed_generation(20_000) < 10  # generous: CI machines are shared


@pytest.mark.slow
def test_generation_speed_100k_students():
    # ~60 items × 100,000 students: about 4 s on an idle 2-core machine
    assert _timed_generation(100_000) < 30
