"""The warm-started HiGHS model per component: the same ranges as ``linprog``, the same
first failure when the audit stops early, and no licence banner on standard output."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from margin_tables import margin_release
from mentoreval.disclose import DisclosurePolicy
from mentoreval.disclose.highs import ComponentLP
from mentoreval.disclose.ranges import free_system, solve_cell
from mentoreval.disclose.release import ReleaseRegistry
from mentoreval.disclose.system import build_system

POLICY = DisclosurePolicy()


def release(seed: int) -> ReleaseRegistry:
    """Six margin tables with a fifth of the cells small (zeros too)."""
    return margin_release(6, seed, small_share=0.2, smallest=0)


def hide_small_and_a_margin(reg: ReleaseRegistry) -> dict[str, str]:
    """Small cells hidden with one margin each: some are pinned, some are not."""
    hidden: dict[str, str] = {k: "small" for k, c in reg.counts.items() if 1 <= c.value <= 9}
    for key in list(hidden)[::2]:
        table, row = key.split(".")[:2]
        hidden[f"{table}.{row}.n"] = "complementary"
    return hidden


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_component_lp_gives_linprogs_range_for_every_hidden_cell(seed: int) -> None:
    reg = release(seed)
    system = build_system([(reg, hide_small_and_a_margin(reg))], policy=POLICY)
    rows, cols, coefs = system._arrays()
    free = free_system(rows, cols, coefs, system.constants, np.asarray(system._low),
                       np.asarray(system._high), len(system.row_names))  # fmt: skip
    compared = 0
    for comp in np.unique(free.label):
        component = free.component(int(comp))
        if component[2] is None:
            continue
        model = ComponentLP(component)
        for position, col in enumerate(component[0]):
            expected = solve_cell("cell", int(col), component)[:2]
            assert model.range(position) == pytest.approx(expected, abs=1e-7)
            compared += 1
    assert compared > 20


def test_first_failure_audit_stops_at_the_full_audits_first_failure() -> None:
    reg = release(0)
    system = build_system([(reg, hide_small_and_a_margin(reg))], policy=POLICY)
    full = system.audit(only_protected=True)
    early = system.audit(only_protected=True, first_failure=True)
    assert len(full.failures) > 1
    assert early.failures == full.failures[:1]
    assert early.ranges == full.ranges[: len(early.ranges)]
    assert early.n_lps < full.n_lps
    # the relations that pin a disclosed cell are linprog's duals, as before
    assert full.failures[0].relations


@pytest.mark.parametrize("seed", [0, 2, 7])  # releases whose greedy pass is not enough
def test_decide_hides_the_same_counts_as_with_linprog_alone(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = release(seed).decide()
    monkeypatch.setattr(ComponentLP, "range", lambda self, position: None)  # linprog only
    slow = release(seed).decide()
    assert fast.rounds > 0 and fast.audit.passed
    assert dict(fast.hidden) == dict(slow.hidden)
    assert fast.rounds == slow.rounds
    assert [(r.key, r.low, r.high) for r in fast.audit.ranges] == [
        (r.key, r.low, r.high) for r in slow.audit.ranges
    ]


def test_highs_licence_banner_never_reaches_standard_output() -> None:
    code = (
        "from mentoreval.disclose.release import ReleaseRegistry\n"
        "from mentoreval.disclose.audit import feasible_ranges\n"
        "reg = ReleaseRegistry()\n"
        "for key, n in {'t': 57, 'low': 44, 'mid': 10, 'high': 3}.items():\n"
        "    reg.add_count(key, n)\n"
        "reg.add_sum('t', ['low', 'mid', 'high'])\n"
        "reg.decide()\n"
        "print([(r.key, r.low, r.high) for r in feasible_ranges(reg).ranges])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout == "[('mid', 0.0, 13.0), ('high', 0.0, 13.0)]\n"
    assert "HiGHS" not in out.stderr
