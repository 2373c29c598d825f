"""Synthetic mentorship-programme cohorts with known truth (stage: *test data*).

:func:`generate_cohort` turns a :class:`CohortSpec` into a :class:`SyntheticCohort`:
students, a mentored group (and optionally a comparison group), latent outcome scores at
two waves, item answers from the measurement model in :mod:`mentoreval.synth.items`, a
meeting log from :mod:`mentoreval.synth.meetings`, and the mess of real exports. Writers in
:mod:`mentoreval.synth.writers` save it as the survey tools do.

The latent model (all latent scores in SD units, oriented so that *higher is better*
("benefit direction") while generating; they are flipped to the scale's own direction,
e.g. higher = more burnout, before items are drawn):

- every outcome factor (see :mod:`~mentoreval.synth.items`) at baseline is
  ``N(mu_g, 1)`` with ``mu_comparison = 0`` and ``mu_mentored = baseline_smd``
  (self-selection); factors correlate 0.6 within an instrument and 0.4 across instruments;
- at follow-up ``theta_post = mu_g + trend + delta_i + r * (theta_pre - mu_g) + sqrt(1 - r**2) * eps``
  with ``r = pre_post_r`` and ``trend = secular_trend`` (everyone, both groups);
- the individual effect of a mentee is
  ``delta_i = effect * (modifier[t_i] + dose_slope * (meetings_i - E[meetings | t_i]))``
  where ``t_i`` is the mentee's primary mentor type, modifiers are normalised to average 1
  over the mentor-type mix and ``E[meetings | t]`` is the expected count for that type's
  cadence, so the average latent effect among mentees is exactly ``effect`` and the dose
  effect is not confounded with the type effect; comparison students have ``delta_i = 0``.

**The true paired effect.** :attr:`SyntheticCohort.truth` holds, per scale and group, the
*expected observed scale score* at each wave: the expectation, over the population latent
distribution (a normal mixture over mentor types and meeting counts) and over item-level
noise, of the score a complete answer set receives (see
:func:`~mentoreval.synth.items.expected_scale_score`; exact, no simulation).
``expected_change = expected_post - expected_pre`` is what a paired pre/post analysis of
that group estimates (it includes the secular trend); ``effect = expected_post -
counterfactual_post`` is the causal programme effect in scale units (the counterfactual
removes ``delta_i``). These are population values: attrition, careless answering and
item non-response are *not* in them, so an analysis of messy data may be biased away from
them — which is what the mess is for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import ndtri
from scipy.stats import norm

from mentoreval.errors import ConfigError
from mentoreval.synth.items import ItemModel, expected_scale_score, item_model
from mentoreval.synth.meetings import (
    CADENCE_DAYS,
    MentoringPlan,
    draw_meetings,
    meetings_pmf,
    planned_meetings,
)
from mentoreval.synth.spec import CohortSpec
from mentoreval.synth.waves import wave_submissions

__all__ = ["CohortSpec", "SyntheticCohort", "generate_cohort"]

#: Correlation of latent factors of different instruments / within one instrument.
GENERAL_R = 0.4
WITHIN_R = 0.6
GENDERS = ("Female", "Male", "Non-binary", "Prefer not to say")
GENDER_P = (0.56, 0.41, 0.02, 0.01)
SITES = ("City", "North", "Coast")
SITE_P = (0.5, 0.3, 0.2)
YEAR_P = (0.3, 0.25, 0.2, 0.15, 0.1)
WAVES = ("pre", "post")
_STREAMS = ("students", "mentoring", "latent", "items", "attrition", "mess", "meta")


@dataclass(frozen=True, eq=False)
class SyntheticCohort:
    """A generated cohort: person-level truth, submissions, meeting log, export paths.

    Attributes
    ----------
    spec
        The spec it was generated from.
    people
        One row per student: ``student_id``, ``group`` (mentored | comparison),
        ``year_of_study``, ``gender``, ``site``, ``mentor_type`` (NA for comparison),
        ``team``, ``engagement``, ``meetings``, ``dropped`` (no follow-up survey),
        ``baseline_index`` (what informative dropout acts on).
    latent
        One row per student × factor: ``student_id``, ``factor``, ``pre``, ``post``
        (latent scores in the scale's own direction; NaN where not measured) and
        ``effect`` (the individual latent effect, benefit direction, SD units).
    truth
        One row per instrument × scale × group: ``latent_effect`` (SD, benefit direction),
        ``expected_pre``, ``expected_post``, ``counterfactual_post``,
        ``expected_change`` (what a paired analysis estimates) and ``effect``
        (causal, scale units); see the module docstring.
    submissions
        One row per submitted survey (duplicates included; preview/test rows are added
        by the writers): ``response_id``, ``student_id``, ``wave``, ``group``, covariates,
        ``started_at``, ``submitted_at``, ``duration_s``, the truth flags ``careless``
        (``""``, ``"straightliner"``, ``"speeder"``) and ``duplicate``, then one column per
        item id holding the stored code (NaN = skipped; missing codes such as MES 9 kept).
    meetings
        The meeting log (see :mod:`mentoreval.synth.meetings`).
    exports
        Paths written by :meth:`write` (empty until then), by name.
    """

    spec: CohortSpec
    people: pd.DataFrame
    latent: pd.DataFrame
    truth: pd.DataFrame
    submissions: pd.DataFrame
    meetings: pd.DataFrame
    exports: Mapping[str, Path] = field(default_factory=dict)

    def instruments_at(self, wave: str) -> tuple[str, ...]:
        """Instruments given at ``wave`` (``pre`` or ``post``)."""
        if wave == "pre":
            return tuple(self.spec.instruments)
        return (*self.spec.instruments, *self.spec.post_only_instruments)

    def items_at(self, wave: str) -> list[str]:
        """Item columns of ``wave`` in questionnaire order."""
        return [i for inst in self.instruments_at(wave) for i in item_model(inst).items]

    def responses(self, wave: str) -> pd.DataFrame:
        """Submissions of one wave with only its items (wide): the item-level answers."""
        sub = self.submissions[self.submissions["wave"] == wave]
        keep = [c for c in self.submissions.columns if c not in self._all_items()]
        return sub[keep + self.items_at(wave)].reset_index(drop=True)

    def _all_items(self) -> set[str]:
        return set(self.items_at("post"))

    def true_change(self, instrument: str, scale: str, group: str = "mentored") -> float:
        """The true paired effect: the expected change of the scale score in ``group``.

        Examples
        --------
        >>> c = generate_cohort(CohortSpec(n_students=20, effects={"who5": 0.5}))
        >>> round(c.true_change("who5", "total"), 2)
        9.24
        """
        t = self.truth
        row = t[(t["instrument"] == instrument) & (t["scale"] == scale) & (t["group"] == group)]
        if row.empty:
            raise KeyError(f"{instrument}.{scale} / {group}")
        return float(row["expected_change"].iloc[0])

    def write(
        self,
        out_dir: str | Path,
        formats: Mapping[str, str] | None = None,
        **options: object,
    ) -> SyntheticCohort:
        """Write exports into ``out_dir``; return a copy whose ``exports`` lists them.

        ``formats`` maps an export name to a format (see
        :func:`mentoreval.synth.writers.write_exports`); options go to the writers.
        """
        from mentoreval.synth.writers import write_exports

        paths = write_exports(self, out_dir, formats=formats, **options)  # type: ignore[arg-type]
        return SyntheticCohort(
            self.spec,
            self.people,
            self.latent,
            self.truth,
            self.submissions,
            self.meetings,
            {**self.exports, **paths},
        )

    def __repr__(self) -> str:
        s = self.spec
        n_m = int((self.people["group"] == "mentored").sum())
        return (
            f"<SyntheticCohort {s.programme} {s.cohort}: {len(self.people)} students "
            f"({n_m} mentored), {len(self.submissions)} submissions, {len(self.meetings)} meetings>"
        )


# ---------------------------------------------------------------------------------------


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


def _normalised_modifiers(spec: CohortSpec) -> dict[str, float]:
    weights = {t: w / sum(spec.mentor_types.values()) for t, w in spec.mentor_types.items()}
    raw = {t: float(spec.mentor_type_modifiers.get(t, 1.0)) for t in CADENCE_DAYS}
    mean = sum(weights[t] * raw[t] for t in weights)
    return {t: v / mean for t, v in raw.items()}


def _mean_meetings(spec: CohortSpec, mentor_type: str) -> float:
    """Expected meetings of a mentee whose primary mentor has ``mentor_type``."""
    return planned_meetings(mentor_type, spec.programme_days) * spec.engagement


def _truth_table(
    spec: CohortSpec,
    models: Mapping[str, ItemModel],
    mu: Mapping[str, float],
    effects: Mapping[str, float],
    trend: Mapping[str, float],
    groups: list[str],
) -> pd.DataFrame:
    mods = _normalised_modifiers(spec)
    total = sum(spec.mentor_types.values())
    # the mixture over (mentor type, meeting count) of the relative effect multiplier
    mult_w, mult_v = [], []
    for t, w in spec.mentor_types.items():
        pmf = meetings_pmf(t, programme_days=spec.programme_days, engagement=spec.engagement)
        mult_w.append(w / total * pmf)
        mult_v.append(mods[t] + spec.dose_slope * (np.arange(len(pmf)) - _mean_meetings(spec, t)))
    weights = np.concatenate(mult_w)
    multiplier = np.concatenate(mult_v)
    keep = weights > 1e-12
    weights, multiplier = weights[keep] / weights[keep].sum(), multiplier[keep]
    one = np.array([1.0])

    rows = []
    for inst_id in spec.instruments:
        m = models[inst_id]
        signs = [1.0 if hb else -1.0 for hb in m.factor_higher_is_better]
        for scale in m.instrument.scales:
            fidx = m.factor_of_scale(scale.id)
            for g in groups:
                pre = [(one, np.array([s * mu[g]])) for s in signs]
                cf = [
                    (one, np.array([s * (mu[g] + trend[f])]))
                    for s, f in zip(signs, m.factors, strict=True)
                ]
                if g == "mentored":
                    post = [
                        (weights, s * (mu[g] + trend[f] + effects[f] * multiplier))
                        for s, f in zip(signs, m.factors, strict=True)
                    ]
                    latent_effect = float(np.mean([effects[m.factors[i]] for i in fidx]))
                else:
                    post, latent_effect = cf, 0.0
                e_pre = expected_scale_score(m, scale.id, pre)
                e_post = expected_scale_score(m, scale.id, post)
                e_cf = expected_scale_score(m, scale.id, cf)
                rows.append(
                    {
                        "instrument": inst_id,
                        "scale": scale.id,
                        "group": g,
                        "latent_effect": latent_effect,
                        "expected_pre": e_pre,
                        "expected_post": e_post,
                        "counterfactual_post": e_cf,
                        "expected_change": e_post - e_pre,
                        "effect": e_post - e_cf,
                    }
                )
    return pd.DataFrame(rows)


def _solve_dropout_r(q: float, smd: float) -> float:
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


def generate_cohort(  # one draw per seeded stream in a fixed order; not yet split (issue 12)
    spec: CohortSpec, *, out_dir: str | Path | None = None
) -> SyntheticCohort:
    """Generate a synthetic cohort (and optionally write its default exports).

    Parameters
    ----------
    spec
        What to generate.
    out_dir
        When given, the default exports (Qualtrics CSV per wave and the meeting log) are
        written there and listed in ``exports``; use :meth:`SyntheticCohort.write` for
        other formats.

    Returns
    -------
    SyntheticCohort
        Truth, submissions and meeting log.

    Examples
    --------
    >>> spec = CohortSpec(n_students=120, design="comparison", effects={"who5": 0.3},
    ...                   attrition=0.2, seed=7)
    >>> cohort = generate_cohort(spec)
    >>> cohort.people["group"].value_counts().sort_index().to_dict()
    {'comparison': 60, 'mentored': 60}
    >>> cohort.truth.query("instrument == 'who5'")[["group", "latent_effect"]].to_numpy().tolist()
    [['mentored', 0.3], ['comparison', 0.0]]
    """
    streams = dict(
        zip(
            _STREAMS,
            (
                np.random.default_rng(s)
                for s in np.random.SeedSequence(spec.seed).spawn(len(_STREAMS))
            ),
            strict=True,
        )
    )
    n = spec.n_students
    all_inst = [
        *spec.instruments,
        *[i for i in spec.post_only_instruments if i not in spec.instruments],
    ]
    models = {i: item_model(i) for i in all_inst}

    # -- students ---------------------------------------------------------------------
    rng = streams["students"]
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

    # -- mentoring and meetings ------------------------------------------------------
    tidx = np.flatnonzero(treated)
    plan: MentoringPlan = draw_meetings(
        ids[tidx],
        streams["mentoring"],
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

    # -- latent scores (benefit direction) -------------------------------------------
    rng = streams["latent"]
    pp = [(i, len(models[i].factors)) for i in spec.instruments]
    factor_ids = [f for i in spec.instruments for f in models[i].factors]
    mu = {"mentored": spec.baseline_smd, "comparison": 0.0}
    mu_i = np.where(treated, spec.baseline_smd, 0.0)
    effects = _resolve(spec.effects, {i: models[i] for i in spec.instruments})
    trend = _resolve(spec.secular_trend, {i: models[i] for i in spec.instruments})
    mods = _normalised_modifiers(spec)
    mult = np.zeros(n)
    if len(tidx):
        expected = {t: _mean_meetings(spec, t) for t in spec.mentor_types}
        mult[tidx] = np.array([mods[t] for t in plan.mentor_type]) + spec.dose_slope * (
            plan.meetings - np.array([expected[t] for t in plan.mentor_type])
        )
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
    post_only = [i for i in spec.post_only_instruments if i not in spec.instruments]
    extra_latent: dict[str, np.ndarray] = {}
    if post_only:
        # mentor ratings: better with more meetings and with more effective mentor types
        dose_z = np.zeros(n)
        if len(tidx) > 1 and plan.meetings.std() > 0:
            dose_z[tidx] = (plan.meetings - plan.meetings.mean()) / plan.meetings.std()
        type_shift = np.where(treated, mult - 1.0, 0.0)
        for inst in post_only:
            k = len(models[inst].factors)
            base = 0.4 * dose_z + 0.3 * type_shift
            extra_latent[inst] = base[:, None] + np.sqrt(0.84) * _latent_block(rng, n, [(inst, k)])

    # -- attrition ------------------------------------------------------------------
    rng = streams["attrition"]
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

    # -- items ------------------------------------------------------------------------
    rng = streams["items"]
    signs = {
        i: np.array([1.0 if hb else -1.0 for hb in models[i].factor_higher_is_better])
        for i in all_inst
    }
    col = 0
    theta: dict[tuple[str, str], np.ndarray] = {}
    for inst in spec.instruments:
        k = len(models[inst].factors)
        theta[("pre", inst)] = z_pre[:, col : col + k] * signs[inst]
        theta[("post", inst)] = z_post[:, col : col + k] * signs[inst]
        col += k
    for inst, z in extra_latent.items():
        theta[("post", inst)] = z * signs[inst]

    people = pd.DataFrame(
        {
            "student_id": ids,
            "group": group,
            "year_of_study": year,
            "gender": gender,
            "site": site,
            "mentor_type": mentor_type,
            "team": team,
            "engagement": engagement,
            "meetings": meetings,
            "dropped": dropped,
            "baseline_index": baseline_index,
        }
    )
    latent_parts = []
    for inst in all_inst:
        m = models[inst]
        for j, f in enumerate(m.factors):
            pre = theta[("pre", inst)][:, j] if ("pre", inst) in theta else np.full(n, np.nan)
            post = theta[("post", inst)][:, j]
            eff = delta[:, factor_ids.index(f)] if f in factor_ids else np.zeros(n)
            latent_parts.append(
                pd.DataFrame(
                    {"student_id": ids, "factor": f, "pre": pre, "post": post, "effect": eff}
                )
            )
    latent = pd.concat(latent_parts, ignore_index=True)

    mess_rng, meta_rng = streams["mess"], streams["meta"]
    blocks = []
    for wave in WAVES:
        who = np.ones(n, dtype=bool) if wave == "pre" else ~dropped
        insts = list(spec.instruments) if wave == "pre" else [*spec.instruments, *post_only]
        blocks.append(
            wave_submissions(
                spec,
                wave,
                who,
                treated,
                ids,
                group,
                year,
                gender,
                site,
                insts,
                models,
                theta,
                rng,
                mess_rng,
                meta_rng,
            )
        )
    submissions = pd.concat(blocks, ignore_index=True)
    groups = ["mentored", "comparison"] if spec.design == "comparison" else ["mentored"]
    truth = _truth_table(spec, models, mu, effects, trend, groups)
    cohort = SyntheticCohort(spec, people, latent, truth, submissions, plan.log)
    if out_dir is not None:
        cohort = cohort.write(out_dir)
    return cohort
