"""What defines a synthetic cohort: :class:`CohortSpec` (frozen; its fields are the knobs of
:func:`~mentoreval.synth.cohort.generate_cohort`) (stage: *test data*).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Literal

from mentoreval.errors import ConfigError, Problem, raise_problems
from mentoreval.synth.meetings import (
    CADENCE_DAYS,
)

__all__ = ["CohortSpec", "Design", "Values"]

Design = Literal["single_arm", "comparison"]
Values = Literal["codes", "labels"]


@dataclass(frozen=True)
class CohortSpec:
    """Everything that defines a synthetic cohort. Frozen; build a new one to change it.

    Parameters
    ----------
    n_students
        Students in the cohort (both groups).
    seed
        Seed of :func:`numpy.random.default_rng`; the same spec gives the same cohort.
        Each stage draws from its own child stream, so changing e.g. the attrition rate
        does not change the latent scores.
    design
        ``"single_arm"`` (everyone mentored) or ``"comparison"`` (a non-mentored group too).
    treated_fraction
        Share of students mentored in the comparison design.
    programme, cohort, year
        Labels written to the exports and configs (``year`` = academic-year start).
    instruments
        Instruments given at both waves (ids of shipped instruments).
    post_only_instruments
        Instruments given to mentees at follow-up only (mentor ratings: ``mes``).
    baseline_smd
        Self-selection: mentees' baseline latent mean minus the comparison group's, SD
        units, benefit direction (positive = mentees better off at baseline).
    effects
        True average latent effect among mentees, SD units, **benefit direction**
        (positive = improvement: higher wellbeing, lower burnout). Keys are an instrument
        id (all its factors) or ``"instrument.scale"`` (that scale's factors); more specific
        keys win. Missing outcomes have no effect.
    pre_post_r
        Correlation of a factor's latent score at baseline and follow-up within a group.
    secular_trend
        Change everyone shows (both groups), SD units, benefit direction; e.g. -0.2 for the
        usual fall in wellbeing over the academic year.
    mentor_types
        Mix of primary mentor types (weights): peer, near-peer, faculty, research,
        specialty, sponsor.
    mentor_type_modifiers
        Relative effect by mentor type (e.g. ``{"faculty": 1.3, "research": 0.7}``);
        missing types count 1; normalised to average 1 over the mix.
    dose_slope
        Relative change of a mentee's effect per meeting above the count expected for
        their mentor type (0.05 = each extra meeting adds 5 % of the average effect).
    engagement
        Mean probability that a planned meeting happens.
    programme_days
        Days from the baseline survey to the follow-up survey.
    team_rate
        Share of mentees with a mentoring team (a second mentor of another type).
    attrition
        Share of mentees who do not answer the follow-up survey.
    attrition_comparison
        The same for the comparison group (``None``: same as ``attrition``); a different
        value gives differential attrition by arm.
    attrition_smd
        Informative dropout: baseline standardised mean difference between completers
        and dropouts (completers minus dropouts, benefit direction) on the person's
        *baseline index* — the standardised within-group mean of their baseline latent
        scores. Positive = those who drop out were worse off.
    item_nonresponse
        Probability that an item is skipped (MCAR). For instruments with missing codes
        (MES "N/A"), a third of the skipped items carry that code instead of a blank.
    straightliners, speeders
        Probability that a submission is straight-lined (every item at the same answer
        position) or sped through (random answers in well under a minute).
    duplicates
        Probability that a submission is submitted a second time (a later extra row with
        answers drawn afresh from the same latent scores).
    preview_rows, test_rows
        Survey-tool preview and test rows (Qualtrics Status 1 and 2; no student id).
    values
        Default for writers: export answer codes or answer labels.
    start_date
        ISO date of the baseline survey (default 15 September of ``year``).
    """

    n_students: int = 200
    seed: int = 0
    design: Design = "single_arm"
    treated_fraction: float = 0.5
    programme: str = "peer"
    cohort: str = "2025"
    year: int = 2025
    instruments: tuple[str, ...] = ("who5", "cbi", "career_confidence")
    post_only_instruments: tuple[str, ...] = ("mes",)
    baseline_smd: float = 0.0
    effects: Mapping[str, float] = field(default_factory=dict)
    pre_post_r: float = 0.6
    secular_trend: float | Mapping[str, float] = 0.0
    mentor_types: Mapping[str, float] = field(default_factory=lambda: {"peer": 1.0})
    mentor_type_modifiers: Mapping[str, float] = field(default_factory=dict)
    dose_slope: float = 0.0
    engagement: float = 0.7
    programme_days: int = 240
    team_rate: float = 0.0
    attrition: float = 0.0
    attrition_comparison: float | None = None
    attrition_smd: float = 0.0
    item_nonresponse: float = 0.0
    straightliners: float = 0.0
    speeders: float = 0.0
    duplicates: float = 0.0
    preview_rows: int = 0
    test_rows: int = 0
    values: Values = "codes"
    start_date: str | None = None

    def __post_init__(self) -> None:
        problems: list[Problem] = []

        def bad(key: str, message: str, fix: str) -> None:
            problems.append(Problem(message, key=key, fix=fix))

        if self.n_students < 2:
            bad("n_students", f"{self.n_students} is too small", "use at least 2")
        if self.design not in ("single_arm", "comparison"):
            bad("design", f"unknown design {self.design!r}", "use 'single_arm' or 'comparison'")
        if self.values not in ("codes", "labels"):
            bad("values", f"unknown value {self.values!r}", "use 'codes' or 'labels'")
        for name in ("treated_fraction",):
            v = getattr(self, name)
            if not 0 < v < 1:
                bad(name, f"{v} is not strictly between 0 and 1", "use e.g. 0.5")
        for name in (
            "attrition",
            "item_nonresponse",
            "straightliners",
            "speeders",
            "duplicates",
            "team_rate",
        ):
            v = getattr(self, name)
            if not 0 <= v < 1:
                bad(name, f"{v} is not in [0, 1)", "use a probability")
        if self.attrition_comparison is not None and not 0 <= self.attrition_comparison < 1:
            bad(
                "attrition_comparison",
                f"{self.attrition_comparison} is not in [0, 1)",
                "use a probability",
            )
        if self.straightliners + self.speeders >= 1:
            bad("speeders", "straightliners + speeders must stay below 1", "lower them")
        if not -1 < self.pre_post_r < 1:
            bad("pre_post_r", f"{self.pre_post_r} is not a correlation", "use a value in (-1, 1)")
        if not 0 < self.engagement < 1:
            bad("engagement", f"{self.engagement} is not in (0, 1)", "use e.g. 0.7")
        if self.programme_days < 14:
            bad("programme_days", f"{self.programme_days} is too short", "use at least 14")
        unknown = sorted(set(self.mentor_types) - set(CADENCE_DAYS))
        if unknown or not self.mentor_types:
            bad(
                "mentor_types",
                f"unknown or no mentor types {unknown}",
                f"use {sorted(CADENCE_DAYS)}",
            )
        elif any(w < 0 for w in self.mentor_types.values()) or sum(self.mentor_types.values()) <= 0:
            bad(
                "mentor_types",
                "weights must be non-negative with a positive sum",
                "fix the weights",
            )
        unknown = sorted(set(self.mentor_type_modifiers) - set(CADENCE_DAYS))
        if unknown:
            bad(
                "mentor_type_modifiers",
                f"unknown mentor types {unknown}",
                f"use {sorted(CADENCE_DAYS)}",
            )
        if self.start_date is not None:
            try:
                dt.date.fromisoformat(self.start_date)
            except ValueError:
                bad("start_date", f"{self.start_date!r} is not an ISO date", "write YYYY-MM-DD")
        known = set(self.instruments) | set(self.post_only_instruments)
        for key in [
            *self.effects,
            *(self.secular_trend if isinstance(self.secular_trend, Mapping) else {}),
        ]:
            if key.split(".")[0] not in known:
                bad(
                    "effects",
                    f"{key!r} names no instrument of the cohort",
                    f"use one of {sorted(known)}",
                )
        raise_problems(problems, error=ConfigError, what="in the cohort spec")

    @property
    def start(self) -> dt.date:
        """The baseline survey date."""
        if self.start_date is not None:
            return dt.date.fromisoformat(self.start_date)
        return dt.date(self.year, 9, 15)

    def replace(self, **changes: object) -> CohortSpec:
        """A copy with some fields changed (``dataclasses.replace``).

        Examples
        --------
        >>> CohortSpec(n_students=50).replace(seed=3).seed
        3
        """
        names = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise ConfigError(
                f"unknown CohortSpec field(s) {unknown} (fix: use one of {sorted(names)})"
            )
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return CohortSpec(**values)
