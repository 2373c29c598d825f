"""SystemBuilder: a decision's trial systems, each a patched copy of one built system, are
the systems build_system builds from scratch (issue 18)."""

from __future__ import annotations

import numpy as np
import pytest

from margin_tables import margin_release
from mentoreval.config.disclosure import DisclosurePolicy
from mentoreval.disclose.decide import primary_suppressions
from mentoreval.disclose.system import LinearSystem, SystemBuilder, build_system

FIELDS = ("names", "releases", "keys", "reasons", "_values", "_low", "_high", "_protected",
          "_editable", "_keep", "_hidden", "_row_ids", "_var_ids", "_coefs", "constants",
          "row_names", "row_totals")  # fmt: skip


def _fields(system: LinearSystem) -> dict[str, list[object]]:
    return {name: list(getattr(system, name)) for name in FIELDS}


@pytest.mark.parametrize("profile", ["default", "nhs"])
def test_built_trials_equal_systems_built_from_scratch(profile: str) -> None:
    policy = DisclosurePolicy(profile=profile)
    earlier = margin_release(2, seed=3)
    earlier.decide(policy)
    registry = margin_release(3, seed=4)
    primary = primary_suppressions(registry, policy)
    releases = [(earlier, earlier.decision.hidden), (registry, dict(primary))]
    builder = SystemBuilder(releases, policy=policy, current=1)
    rng = np.random.default_rng(0)
    keys = sorted(registry.counts)
    trials = [dict(primary), {}]
    for _ in range(6):  # primary cells plus a few complements, then some shown again
        extra = rng.choice(keys, size=8, replace=False)
        trials.append({**primary, **{str(k): "complementary" for k in extra}})
    for hidden in trials:
        expected = build_system([releases[0], (registry, hidden)], policy=policy, current=1)
        got = builder.build(hidden)
        assert _fields(got) == _fields(expected)
        # the trial's audit is the fresh system's audit
        assert got.audit().passed == expected.audit().passed


def test_a_trial_does_not_change_the_next() -> None:
    policy = DisclosurePolicy()
    registry = margin_release(2, seed=5)
    primary = primary_suppressions(registry, policy)
    builder = SystemBuilder([(registry, primary)], policy=policy, current=0)
    first = _fields(builder.build(primary))
    builder.build({k: "complementary" for k in list(registry.counts)[:10]})
    assert _fields(builder.build(primary)) == first
