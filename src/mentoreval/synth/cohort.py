"""Synthetic mentorship-programme cohorts with known truth (stage: *test data*).

:func:`generate_cohort` turns a :class:`CohortSpec` into a :class:`SyntheticCohort`:
students, a mentored group (and optionally a comparison group), latent outcome scores at
two waves and dropout (drawn in :mod:`mentoreval.synth.population`), item answers from the
measurement model in :mod:`mentoreval.synth.items`, a meeting log from
:mod:`mentoreval.synth.meetings`, and the mess of real exports
(:mod:`mentoreval.synth.waves`). Writers in :mod:`mentoreval.synth.writers` save it as the
survey tools do.

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

from mentoreval.synth.items import ItemModel, expected_scale_score, item_model
from mentoreval.synth.meetings import meetings_pmf
from mentoreval.synth.population import (
    Latent,
    draw_attrition,
    draw_latent,
    draw_mentoring,
    draw_students,
    mean_meetings,
    normalised_modifiers,
)
from mentoreval.synth.spec import CohortSpec
from mentoreval.synth.waves import wave_submissions

__all__ = ["CohortSpec", "SyntheticCohort", "generate_cohort"]

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


def _truth_table(
    spec: CohortSpec,
    models: Mapping[str, ItemModel],
    mu: Mapping[str, float],
    effects: Mapping[str, float],
    trend: Mapping[str, float],
    groups: list[str],
) -> pd.DataFrame:
    mods = normalised_modifiers(spec)
    total = sum(spec.mentor_types.values())
    # the mixture over (mentor type, meeting count) of the relative effect multiplier
    mult_w, mult_v = [], []
    for t, w in spec.mentor_types.items():
        pmf = meetings_pmf(t, programme_days=spec.programme_days, engagement=spec.engagement)
        mult_w.append(w / total * pmf)
        mult_v.append(mods[t] + spec.dose_slope * (np.arange(len(pmf)) - mean_meetings(spec, t)))
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


def generate_cohort(spec: CohortSpec, *, out_dir: str | Path | None = None) -> SyntheticCohort:
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
    # one seeded stream per step, so that no step's draws shift another's
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
    post_only = [i for i in spec.post_only_instruments if i not in spec.instruments]
    models = {i: item_model(i) for i in [*spec.instruments, *post_only]}
    students = draw_students(spec, streams["students"])
    mentoring = draw_mentoring(spec, students, streams["mentoring"])
    latent = draw_latent(spec, models, students.treated, mentoring, streams["latent"])
    baseline_index, dropped = draw_attrition(
        spec, students.treated, latent.z_pre, streams["attrition"]
    )
    theta = _theta(spec, models, latent)
    people = pd.DataFrame(
        {
            "student_id": students.ids,
            "group": students.group,
            "year_of_study": students.year,
            "gender": students.gender,
            "site": students.site,
            "mentor_type": mentoring.mentor_type,
            "team": mentoring.team,
            "engagement": mentoring.engagement,
            "meetings": mentoring.meetings,
            "dropped": dropped,
            "baseline_index": baseline_index,
        }
    )
    blocks = [
        wave_submissions(
            spec,
            wave,
            np.ones(spec.n_students, dtype=bool) if wave == "pre" else ~dropped,
            students.treated,
            students.ids,
            students.group,
            students.year,
            students.gender,
            students.site,
            list(spec.instruments) if wave == "pre" else [*spec.instruments, *post_only],
            models,
            theta,
            streams["items"],
            streams["mess"],
            streams["meta"],
        )
        for wave in WAVES
    ]
    groups = ["mentored", "comparison"] if spec.design == "comparison" else ["mentored"]
    truth = _truth_table(spec, models, latent.mu, latent.effects, latent.trend, groups)
    cohort = SyntheticCohort(
        spec,
        people,
        _latent_frame(students.ids, models, theta, latent),
        truth,
        pd.concat(blocks, ignore_index=True),
        mentoring.plan.log,
    )
    if out_dir is not None:
        cohort = cohort.write(out_dir)
    return cohort


# --------------------------------------------------------------------------- latent tables


def _theta(
    spec: CohortSpec, models: Mapping[str, ItemModel], latent: Latent
) -> dict[tuple[str, str], np.ndarray]:
    """Latent scores per ``(wave, instrument)`` in each scale's own direction."""
    signs = {
        i: np.array([1.0 if hb else -1.0 for hb in models[i].factor_higher_is_better])
        for i in models
    }
    col = 0
    theta: dict[tuple[str, str], np.ndarray] = {}
    for inst in spec.instruments:
        k = len(models[inst].factors)
        theta[("pre", inst)] = latent.z_pre[:, col : col + k] * signs[inst]
        theta[("post", inst)] = latent.z_post[:, col : col + k] * signs[inst]
        col += k
    for inst, z in latent.post_only.items():
        theta[("post", inst)] = z * signs[inst]
    return theta


def _latent_frame(
    ids: np.ndarray,
    models: Mapping[str, ItemModel],
    theta: Mapping[tuple[str, str], np.ndarray],
    latent: Latent,
) -> pd.DataFrame:
    """The ``latent`` table: one row per student × factor of every instrument."""
    n = len(ids)
    parts = []
    for inst, m in models.items():
        for j, f in enumerate(m.factors):
            pre = theta[("pre", inst)][:, j] if ("pre", inst) in theta else np.full(n, np.nan)
            post = theta[("post", inst)][:, j]
            eff = (
                latent.delta[:, latent.factor_ids.index(f)]
                if f in latent.factor_ids
                else np.zeros(n)
            )
            parts.append(
                pd.DataFrame(
                    {"student_id": ids, "factor": f, "pre": pre, "post": post, "effect": eff}
                )
            )
    return pd.concat(parts, ignore_index=True)
