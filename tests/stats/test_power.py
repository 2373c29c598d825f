"""Tests for mentoreval.stats.power: sample-size planning at the edges."""

from __future__ import annotations

import pytest

from mentoreval.errors import MentorevalError
from mentoreval.stats.power import plan_sample_size


def test_a_pre_post_correlation_near_one_needs_the_smallest_test_not_a_crash():
    """Degenerate cohorts (post equal to pre) gave a correlation of ~1: the root finder
    had no sign change and the report stopped with a traceback."""
    plan = plan_sample_size(0.3, design="ancova", r_prepost=0.999999)
    assert int(plan["n_required"].iloc[0]) == 2


def test_an_unreachable_power_is_a_located_error():
    with pytest.raises(MentorevalError, match="no sample size up to 100,000"):
        plan_sample_size(0.001, design="two_sample", power=0.99)
