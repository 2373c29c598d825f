"""Synthetic mentorship-programme cohorts with known truth, their exports and the demo set.

Stage: *test data*. Every test, benchmark, example and the demo need data that behaves
like real survey exports, and no school can share its students' answers. This sub-package:

- :mod:`~mentoreval.synth.cohort` — :class:`CohortSpec` → :func:`generate_cohort` →
  :class:`SyntheticCohort` (students, groups, latent model, effects, attrition, mess, truth);
- :mod:`~mentoreval.synth.items` — latent scores → item answers, expected scale scores;
- :mod:`~mentoreval.synth.meetings` — meeting logs consistent with the dose model;
- :mod:`~mentoreval.synth.writers` — Qualtrics, REDCap (+ dictionary), SPSS, Excel,
  Google Forms and plain CSV exports, written byte-deterministically;
- :mod:`~mentoreval.synth.demo` — the committed demo set under ``data/demo/``;
- :mod:`~mentoreval.synth.sgic` — self-generated identification code answers at two waves,
  with typos and the true person behind each row;
- :mod:`~mentoreval.synth.thentest` — a retrospective pre-post ("then-test") study.

Examples
--------
>>> from mentoreval.synth import CohortSpec, generate_cohort
>>> cohort = generate_cohort(CohortSpec(n_students=40, effects={"who5": 0.3}, seed=1))
>>> cohort
<SyntheticCohort peer 2025: 40 students (40 mentored), 80 submissions, ... meetings>
"""

from mentoreval.synth.cohort import CohortSpec, SyntheticCohort, generate_cohort
from mentoreval.synth.items import ItemModel, draw_items, expected_scale_score, item_model

__all__ = [
    "CohortSpec",
    "ItemModel",
    "SyntheticCohort",
    "draw_items",
    "expected_scale_score",
    "generate_cohort",
    "item_model",
]
