"""The students of a synthetic cohort and what happens to them (stage: *test data*): groups
and covariates, mentoring and meetings, latent scores with each mentee's individual effect,
and dropout; called by :func:`~mentoreval.synth.cohort.generate_cohort`, whose module
docstring states the latent model.

Each ``draw_*`` function takes its own seeded random stream, so that no step's draws shift
another's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri
from scipy.stats import norm

from mentoreval.errors import ConfigError
from mentoreval.synth.items import ItemModel
from mentoreval.synth.meetings import (
    CADENCE_DAYS,
    MentoringPlan,
    draw_meetings,
    planned_meetings,
)
from mentoreval.synth.spec import CohortSpec

__all__ = [
    "Latent",
    "Mentoring",
    "Students",
    "draw_attrition",
    "draw_latent",
    "draw_mentoring",
    "draw_students",
    "mean_meetings",
    "normalised_modifiers",
]

#: Correlation of latent factors of different instruments / within one instrument.
GENERAL_R = 0.4
WITHIN_R = 0.6
GENDERS = ("Female", "Male", "Non-binary", "Prefer not to say")
GENDER_P = (0.56, 0.41, 0.02, 0.01)
SITES = ("City", "North", "Coast")
SITE_P = (0.5, 0.3, 0.2)
YEAR_P = (0.3, 0.25, 0.2, 0.15, 0.1)


@dataclass(frozen=True)
class Students:
    """Who is in the cohort: one entry per student."""

    ids: np.ndarray
    treated: np.ndarray  # mentored
    group: np.ndarray
    year: np.ndarray
    gender: np.ndarray
    site: np.ndarray


def draw_students(spec: CohortSpec, rng: np.random.Generator) -> Students:
    """Ids, groups (a random ``treated_fraction`` mentored) and covariates.

    Examples
    --------
    >>> s = draw_students(CohortSpec(n_students=10, design="comparison"), np.random.default_rng(0))
    >>> int(s.treated.sum()), len(set(s.ids))
    (5, 10)
    """
    n = spec.n_students
    ids = _student_ids(n, rng)
    if spec.design == "comparison":
        n_t = round(n * spec.treated_fraction)
        treated = np.zeros(n, dtype=bool)
        treated[rng.permutation(n)[:n_t]] = True
    else:
        treated = np.ones(n, dtype=bool)
    group = np.where(treated, "mentored", "comparison").astype(object)
    year = 1 + rng.choice(len(YEAR_P), size=n, p=YEAR_P)
    gender = np.array(GENDERS, dtype=object)[rng.choice(len(GENDERS), size=n, p=GENDER_P)]
    site = np.array(SITES, dtype=object)[rng.choice(len(SITES), size=n, p=SITE_P)]
    return Students(ids, treated, group, year, gender, site)


@dataclass(frozen=True)
class Mentoring:
    """The mentees' plan (meeting log included), and its facts spread over all students."""

    plan: MentoringPlan
    tidx: np.ndarray  # positions of the mentees among the students
    mentor_type: np.ndarray  # None for comparison students
    meetings: np.ndarray
    team: np.ndarray
    engagement: np.ndarray  # NaN for comparison students


def draw_mentoring(spec: CohortSpec, students: Students, rng: np.random.Generator) -> Mentoring:
    """Mentor types, teams, engagement and meetings of the mentees."""
    n = spec.n_students
    tidx = np.flatnonzero(students.treated)
    plan: MentoringPlan = draw_meetings(
        students.ids[tidx],
        rng,
        mentor_types=spec.mentor_types,
        programme_days=spec.programme_days,
        engagement=spec.engagement,
        team_rate=spec.team_rate,
        start=spec.start,
    )
    mentor_type = np.full(n, None, dtype=object)
    mentor_type[tidx] = plan.mentor_type
    meetings = np.zeros(n, dtype=np.int64)
    meetings[tidx] = plan.meetings
    team = np.zeros(n, dtype=bool)
    team[tidx] = plan.team
    engagement = np.full(n, np.nan)
    engagement[tidx] = plan.engagement
    return Mentoring(plan, tidx, mentor_type, meetings, team, engagement)


@dataclass(frozen=True)
class Latent:
    """Latent scores in the benefit direction, SD units (see the module docstring)."""

    factor_ids: list[str]  # the factors of the pre/post instruments, in column order
    mu: dict[str, float]  # baseline mean per group
    effects: dict[str, float]  # per factor
    trend: dict[str, float]  # per factor
    z_pre: np.ndarray  # students × factor_ids
    z_post: np.ndarray
    delta: np.ndarray  # the individual effects, students × factor_ids
    post_only: dict[str, np.ndarray]  # post-only instrument → students × its factors


def draw_latent(
    spec: CohortSpec,
    models: Mapping[str, ItemModel],
    treated: np.ndarray,
    mentoring: Mentoring,
    rng: np.random.Generator,
) -> Latent:
    """Baseline and follow-up latent scores, with each mentee's individual effect."""
    n = spec.n_students
    pp = [(i, len(models[i].factors)) for i in spec.instruments]
    factor_ids = [f for i in spec.instruments for f in models[i].factors]
    mu = {"mentored": spec.baseline_smd, "comparison": 0.0}
    mu_i = np.where(treated, spec.baseline_smd, 0.0)
    effects = _resolve(spec.effects, {i: models[i] for i in spec.instruments})
    trend = _resolve(spec.secular_trend, {i: models[i] for i in spec.instruments})
    mult = _effect_multiplier(spec, mentoring)
    eff_f = np.array([effects[f] for f in factor_ids])
    trend_f = np.array([trend[f] for f in factor_ids])
    r = spec.pre_post_r
    z_pre = mu_i[:, None] + _latent_block(rng, n, pp)
    delta = mult[:, None] * eff_f[None, :]
    z_post = (
        mu_i[:, None]
        + trend_f[None, :]
        + delta
        + r * (z_pre - mu_i[:, None])
        + np.sqrt(1 - r**2) * _latent_block(rng, n, pp)
    )
    extra = _post_only_latent(spec, models, treated, mentoring, mult, rng)
    return Latent(factor_ids, mu, effects, trend, z_pre, z_post, delta, extra)


def _effect_multiplier(spec: CohortSpec, mentoring: Mentoring) -> np.ndarray:
    """Each student's relative effect: mentor-type modifier plus dose (0 if not mentored)."""
    mods = normalised_modifiers(spec)
    mult = np.zeros(spec.n_students)
    plan, tidx = mentoring.plan, mentoring.tidx
    if len(tidx):
        expected = {t: mean_meetings(spec, t) for t in spec.mentor_types}
        mult[tidx] = np.array([mods[t] for t in plan.mentor_type]) + spec.dose_slope * (
            plan.meetings - np.array([expected[t] for t in plan.mentor_type])
        )
    return mult


def _post_only_latent(
    spec: CohortSpec,
    models: Mapping[str, ItemModel],
    treated: np.ndarray,
    mentoring: Mentoring,
    mult: np.ndarray,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Latent scores of the post-only instruments (mentor ratings): better with more
    meetings and with more effective mentor types."""
    post_only = [i for i in spec.post_only_instruments if i not in spec.instruments]
    extra: dict[str, np.ndarray] = {}
    if not post_only:
        return extra
    n = spec.n_students
    plan, tidx = mentoring.plan, mentoring.tidx
    dose_z = np.zeros(n)
    if len(tidx) > 1 and plan.meetings.std() > 0:
        dose_z[tidx] = (plan.meetings - plan.meetings.mean()) / plan.meetings.std()
    type_shift = np.where(treated, mult - 1.0, 0.0)
    for inst in post_only:
        k = len(models[inst].factors)
        base = 0.4 * dose_z + 0.3 * type_shift
        extra[inst] = base[:, None] + np.sqrt(0.84) * _latent_block(rng, n, [(inst, k)])
    return extra


def draw_attrition(
    spec: CohortSpec, treated: np.ndarray, z_pre: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``(baseline_index, dropped)``: informative dropout on the standardised baseline."""
    n = spec.n_students
    baseline_index = np.zeros(n)
    dropped = np.zeros(n, dtype=bool)
    for g, sel in (("mentored", treated), ("comparison", ~treated)):
        if not sel.any():
            continue
        x = z_pre[sel].mean(axis=1)
        sd = x.std()
        baseline_index[sel] = (x - x.mean()) / (sd if sd > 0 else 1.0)
        q = (
            spec.attrition
            if g == "mentored" or spec.attrition_comparison is None
            else spec.attrition_comparison
        )
        if q == 0:
            continue
        rho = _solve_dropout_r(q, spec.attrition_smd)
        u = rho * baseline_index[sel] + np.sqrt(1 - rho**2) * rng.standard_normal(int(sel.sum()))
        dropped[sel] = u < ndtri(q)
    return baseline_index, dropped


# --------------------------------------------------------------------------- also used by the truth table


def normalised_modifiers(spec: CohortSpec) -> dict[str, float]:
    """Relative effect per mentor type, scaled to average 1 over the spec's mentor-type mix.

    Examples
    --------
    >>> spec = CohortSpec(mentor_types={"peer": 0.5, "faculty": 0.5},
    ...                   mentor_type_modifiers={"faculty": 3.0})
    >>> m = normalised_modifiers(spec)
    >>> m["peer"], m["faculty"]
    (0.5, 1.5)
    """
    weights = {t: w / sum(spec.mentor_types.values()) for t, w in spec.mentor_types.items()}
    raw = {t: float(spec.mentor_type_modifiers.get(t, 1.0)) for t in CADENCE_DAYS}
    mean = sum(weights[t] * raw[t] for t in weights)
    return {t: v / mean for t, v in raw.items()}


def mean_meetings(spec: CohortSpec, mentor_type: str) -> float:
    """Expected meetings of a mentee whose primary mentor has ``mentor_type``.

    Examples
    --------
    >>> round(mean_meetings(CohortSpec(programme_days=240, engagement=0.7), "peer"), 6)
    11.9
    """
    return planned_meetings(mentor_type, spec.programme_days) * spec.engagement


# --------------------------------------------------------------------------- helpers


def _resolve(
    spec_values: Mapping[str, float] | float, models: Mapping[str, ItemModel]
) -> dict[str, float]:
    """Per factor id, the value of an effect/trend mapping (instrument or instrument.scale keys)."""
    out: dict[str, float] = {}
    for m in models.values():
        for f in m.factors:
            out[f] = 0.0 if isinstance(spec_values, Mapping) else float(spec_values)
    if not isinstance(spec_values, Mapping):
        return out
    for key in sorted(spec_values, key=lambda k: k.count(".")):  # instrument keys first
        inst, _, scale = key.partition(".")
        m = models[inst]
        if scale:
            try:
                idx = m.factor_of_scale(scale)
            except KeyError:
                raise ConfigError(
                    f"effects: {key!r}: {inst} has no scale {scale!r} "
                    f"(fix: use one of {[s.id for s in m.instrument.scales]})"
                ) from None
            targets = [m.factors[i] for i in idx]
        else:
            targets = list(m.factors)
        for f in targets:
            out[f] = float(spec_values[key])
    return out


def _student_ids(n: int, rng: np.random.Generator) -> np.ndarray:
    """n distinct random-looking 7-digit ids (an affine permutation of 1000000–9999999)."""
    span = 9_000_000
    mult = int(rng.integers(1_000_000, span))
    while np.gcd(mult, span) != 1:
        mult += 1
    add = int(rng.integers(0, span))
    ids = 1_000_000 + (np.arange(n, dtype=np.int64) * mult + add) % span
    return ids.astype(str).astype(object)


def _latent_block(
    rng: np.random.Generator, n: int, instruments: list[tuple[str, int]]
) -> np.ndarray:
    """n × factors standard normals with GENERAL_R across and WITHIN_R within instruments."""
    g = rng.standard_normal(n)
    cols = []
    for _, k in instruments:
        shared = rng.standard_normal(n)
        own = rng.standard_normal((n, k))
        if k == 1:
            cols.append((np.sqrt(GENERAL_R) * g + np.sqrt(1 - GENERAL_R) * shared)[:, None])
        else:
            cols.append(
                np.sqrt(GENERAL_R) * g[:, None]
                + np.sqrt(WITHIN_R - GENERAL_R) * shared[:, None]
                + np.sqrt(1 - WITHIN_R) * own
            )
    return np.concatenate(cols, axis=1)


def _solve_dropout_r(q: float, smd: float) -> float:
    """Weight of the baseline index in the dropout propensity that gives completers and
    dropouts a baseline SMD of ``smd`` at attrition ``q``."""
    if smd == 0 or q == 0:
        return 0.0
    c = ndtri(q)
    r = smd * q * (1 - q) / norm.pdf(c)
    if abs(r) >= 1:
        best = norm.pdf(c) / (q * (1 - q))
        raise ConfigError(
            f"attrition_smd {smd} is not reachable with attrition {q} "
            f"(fix: use |attrition_smd| < {best:.2f})"
        )
    return float(r)
