"""The attacker's audit: hand-made releases where a hidden count can and cannot be worked
out (the cases found in the demo reports), across reports, and a property test."""

from __future__ import annotations

import re
from collections.abc import Mapping

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from margin_tables import margin_release
from mentoreval.disclose import DisclosurePolicy, ReleaseLedger
from mentoreval.disclose.audit import (
    AUDIT_SENTENCE,
    AuditResult,
    audit,
    build_system,
    feasible_ranges,
)
from mentoreval.disclose.release import MARK, PRIMARY_REASONS, Reason, ReleaseRegistry
from mentoreval.errors import DisclosureError

POLICY = DisclosurePolicy()


def registry(counts: Mapping[str, int], name: str = "report") -> ReleaseRegistry:
    reg = ReleaseRegistry(name)
    for key, value in counts.items():
        reg.add_count(key, value)
    return reg


def naive(reg: ReleaseRegistry, hidden: Mapping[str, Reason]) -> AuditResult:
    """The audit of a hand-chosen suppression (as a table-by-table report would choose)."""
    return build_system([(reg, hidden)], policy=POLICY).audit()


def refused(result: AuditResult, cell: str, relation: str) -> None:
    assert not result.passed
    assert cell in {c.name for c in result.failures}
    with pytest.raises(DisclosureError) as info:
        result.raise_if_failed()
    text = str(info.value)
    assert "publication refused" in text
    assert cell in text
    assert relation in text


def decided_passes(reg: ReleaseRegistry, **kwargs: object) -> AuditResult:
    decision = reg.decide(**kwargs)  # type: ignore[arg-type]
    result = audit(reg, ledger=kwargs.get("ledger"))  # type: ignore[arg-type]
    assert result.passed and decision.audit.passed
    assert result.sentence == AUDIT_SENTENCE
    for key in decision.hidden:
        if reg.counts[key].published:
            assert reg.display(key) == MARK
    return result


# ------------------------------------------------------- the cases from the issue


def test_group_hidden_in_one_table_printed_in_another() -> None:
    # the 62 (of 70) hidden in the group table and printed in the ANCOVA table
    reg = registry({"groups.all.n": 70, "groups.mentored.n": 8, "groups.control.n": 62,
                    "ancova.control.n": 62})  # fmt: skip
    reg.add_sum("groups.all.n", ["groups.mentored.n", "groups.control.n"])
    reg.add_equal("ancova.control.n", "groups.control.n")
    bad = naive(reg, {"groups.mentored.n": "small", "groups.control.n": "complementary"})
    refused(bad, "groups.mentored.n", "ancova.control.n = groups.control.n")
    decided_passes(reg)
    assert reg.display("ancova.control.n") == MARK


def test_flow_linked_55_against_tables_57() -> None:
    # 57 pairs in the tables, 55 linked in the flow: 2 students between them
    reg = registry({"flow.linked": 55, "outcomes.n_pairs": 57})
    reg.add_count("outcomes.extra", 2, published=False)
    reg.add_sum("outcomes.n_pairs", ["flow.linked", "outcomes.extra"])
    refused(naive(reg, {"outcomes.extra": "small"}), "outcomes.extra", "outcomes.n_pairs")
    result = decided_passes(reg)
    assert reg.decision.complementary == ("flow.linked",)
    (extra,) = [r for r in result.ranges if r.key == "outcomes.extra"]
    assert (extra.low, extra.high) == (0.0, 57.0)


def test_band_counts_44_plus_10_of_57_leave_3() -> None:
    reg = registry({"bands.who5.pre.n": 57, "bands.who5.pre.poor": 44,
                    "bands.who5.pre.moderate": 10, "bands.who5.pre.high": 3})  # fmt: skip
    reg.add_sum("bands.who5.pre.n", ["bands.who5.pre.poor", "bands.who5.pre.moderate",
                                     "bands.who5.pre.high"], attribute=True)  # fmt: skip
    refused(naive(reg, {"bands.who5.pre.high": "small"}), "bands.who5.pre.high", "bands.who5.pre.n")
    decided_passes(reg)
    assert reg.decision.complementary == ("bands.who5.pre.moderate",)


def test_39_minus_30_is_9_from_two_tables() -> None:
    # n_complete in the reliability table, n_treated in the d_ppc2 table
    reg = registry({"reliability.who5.pre.n_complete": 39, "d_ppc2.who5.n_treated": 30,
                    "d_ppc2.who5.n_control": 9})  # fmt: skip
    reg.add_sum("reliability.who5.pre.n_complete",
                ["d_ppc2.who5.n_treated", "d_ppc2.who5.n_control"])  # fmt: skip
    refused(
        naive(reg, {"d_ppc2.who5.n_control": "small"}),
        "d_ppc2.who5.n_control",
        "reliability.who5.pre.n_complete",
    )
    decided_passes(reg)
    assert reg.display("d_ppc2.who5.n_treated") == MARK
    assert reg.display("reliability.who5.pre.n_complete") == "39"


def test_linked_483_minus_ancova_478_is_5() -> None:
    reg = registry({"flow.linked": 483, "ancova.n": 478, "ancova.n_treated": 240,
                    "ancova.n_control": 238})  # fmt: skip
    reg.add_count("flow.not_analysed", 5, published=False)
    reg.add_sum("flow.linked", ["ancova.n", "flow.not_analysed"])
    reg.add_sum("ancova.n", ["ancova.n_treated", "ancova.n_control"])
    refused(naive(reg, {"flow.not_analysed": "small"}), "flow.not_analysed", "flow.linked")
    # hiding the model's n alone is not enough: its groups add up to it
    refused(
        naive(reg, {"flow.not_analysed": "small", "ancova.n": "complementary"}),
        "flow.not_analysed",
        "ancova.n = ancova.n_treated + ancova.n_control",
    )
    decided_passes(reg)


def test_59_of_60_with_meetings() -> None:
    reg = registry({"meetings.any": 59, "meetings.n": 60})
    rest = reg.add_share("meetings.any", "meetings.n")
    refused(naive(reg, {rest: "unpublished"}), rest, "meetings.n")
    decided_passes(reg)


# ------------------------------------------------------- verdicts on other shapes


def test_lp_catches_what_elimination_misses() -> None:
    # three pairwise sums of three small groups pin all three, with no single unknown
    reg = registry({"x": 8, "y": 6, "z": 4, "xy": 14, "xz": 12, "yz": 10})
    reg.add_sum("xy", ["x", "y"])
    reg.add_sum("xz", ["x", "z"])
    reg.add_sum("yz", ["y", "z"])
    bad = naive(reg, {"x": "small", "y": "small", "z": "small"})
    assert {c.key for c in bad.failures} == {"x", "y", "z"}
    assert all(c.low == c.high for c in bad.failures)
    decision = reg.decide()
    assert decision.complementary == ("yz",)
    assert decision.rounds == 1
    assert decision.audit.passed


def test_non_negativity_alone_can_disclose() -> None:
    # 0 ≤ cells and a total of 12 = a + b with a ≥ 3 known from another relation
    reg = registry({"t": 12, "a": 5, "b": 7, "u": 8, "c": 3})
    reg.add_sum("t", ["a", "b"])
    reg.add_sum("u", ["a", "c"])
    ok = naive(reg, {"a": "small", "b": "small", "c": "small", "u": "complementary"})
    assert ok.passed  # a ∈ [0, 12], b ∈ [0, 12], c ∈ [0, ∞)
    a = next(r for r in ok.ranges if r.key == "a")
    assert (a.low, a.high) == (0.0, 12.0)
    # with u shown, a ≤ 8 and a ≤ 12 and b ≥ 4: a's range [0, 8] still holds 0 → passes;
    # with b shown too, a = 5 is pinned
    refused(naive(reg, {"a": "small", "c": "small"}), "a", "t = a + b")


def test_rectangle_in_a_two_way_table_is_protected() -> None:
    reg = ReleaseRegistry()
    import pandas as pd

    t = pd.DataFrame({"a": [4, 30, 34], "b": [6, 20, 26]}, index=["y1", "y2", "all"])
    t["n"] = t["a"] + t["b"]
    keys = reg.add_table("t", t, count_columns=["a", "b"], total_column="n", total_row="all")
    decision = reg.decide()
    assert set(decision.primary) == {"t.y1.a", "t.y1.b"}
    assert set(decision.complementary) == {"t.y2.a", "t.y2.b"}
    result = decided_passes(reg)
    assert all(not r.disclosed for r in result.ranges)
    shown = reg.table_values(keys)
    assert int(shown.isna().to_numpy().sum()) == 4
    assert shown.to_numpy()[-1].tolist() == [34.0, 26.0, 60.0]


def test_unbounded_cell_and_empty_release() -> None:
    reg = registry({"lonely": 3, "big": 40})
    result = decided_passes(reg)
    (lonely,) = result.ranges
    assert lonely.low == 0.0 and lonely.high == float("inf")
    empty = registry({"n": 40})
    assert decided_passes(empty).ranges == ()


def test_contradictory_relations_are_reported() -> None:
    reg = registry({"t": 20, "a": 5, "b": 15})
    reg.add_sum("t", ["a", "b"])
    system = build_system([(reg, {"a": "small", "b": "complementary"})], policy=POLICY)
    system.constants[0] = 50.0  # a relation that the published total contradicts
    with pytest.raises(DisclosureError, match="contradict"):
        system.audit()


# ------------------------------------------------------- across reports


LEDGER_KEY = ("prog/c1/2025", "outcomes", "who5 / total", "n_pairs")


def cohort_release(name: str, n: int, withdrawn: int | None = None) -> ReleaseRegistry:
    reg = ReleaseRegistry(name)
    reg.add_count("outcomes.who5.total.n_pairs", n, ledger_key=LEDGER_KEY)
    reg.add_count("groups.total.n", n + 30)
    reg.add_count("groups.other.n", 30)
    reg.add_sum("groups.total.n", ["outcomes.who5.total.n_pairs", "groups.other.n"])
    if withdrawn is not None:
        reg.add_count("flow.withdrawn", withdrawn, published=False)
    return reg


def test_rerun_52_then_50_is_caught_and_then_protected() -> None:
    march = cohort_release("March", 52)
    march.decide()
    june = cohort_release("June", 50)
    june.decide()  # decided without knowing March: publishes 50
    with pytest.raises(
        DisclosureError, match=re.escape("March: outcomes.who5.total.n_pairs vs June")
    ):
        audit([march, june])
    decision = june.decide(earlier=[march])
    assert decision.hidden["outcomes.who5.total.n_pairs"] == "differencing"
    # the total 80 and the other group's 30 would give the 50 back
    assert june.display("groups.other.n") == MARK
    assert audit([march, june]).passed


def test_rerun_against_the_ledger_alone() -> None:
    ledger = ReleaseLedger()
    ledger.record(LEDGER_KEY, 52)
    june = cohort_release("June", 50)
    june.decide()
    with pytest.raises(DisclosureError, match="earlier"):
        audit(june, ledger=ledger)
    june.decide(ledger=ledger)
    assert audit(june, ledger=ledger).passed


def test_same_value_published_earlier_cannot_be_hidden_now() -> None:
    # the annual report printed the cohort's group of 4; the cohort report cannot hide it
    annual = ReleaseRegistry("annual")
    annual.add_count(
        "cohorts.c1.rare", 4, ledger_key=("c1", "groups", "rare", "n"), sensitive=False
    )
    annual.decide()
    cohort = ReleaseRegistry("cohort")
    cohort.add_count("groups.rare.n", 4, ledger_key=("c1", "groups", "rare", "n"))
    with pytest.raises(DisclosureError, match="earlier release"):
        cohort.decide(earlier=[annual])


def test_annual_report_containing_the_cohort() -> None:
    key_all = ("c1", "groups", "all", "n")
    key_mentored = ("c1", "groups", "mentored", "n")
    cohort = ReleaseRegistry("cohort")
    cohort.add_count("groups.all.n", 70, ledger_key=key_all)
    cohort.add_count("groups.mentored.n", 64, ledger_key=key_mentored)
    cohort.add_count("groups.control.n", 6)
    cohort.add_sum("groups.all.n", ["groups.mentored.n", "groups.control.n"])
    cohort.decide()
    assert cohort.display("groups.mentored.n") == MARK
    # the annual report shows the cohort's mentored students next to its total
    annual = ReleaseRegistry("annual")
    annual.add_count("cohorts.c1.n", 70, ledger_key=key_all)
    annual.add_count("cohorts.c1.mentored", 64, ledger_key=key_mentored)
    annual.decide()
    with pytest.raises(DisclosureError, match=re.escape("cohort: groups.control.n")):
        audit([cohort, annual])
    annual.decide(earlier=[cohort])
    assert annual.display("cohorts.c1.mentored") == MARK
    assert audit([cohort, annual]).passed


def test_releases_need_distinct_names() -> None:
    a, b = registry({"n": 40}, "x"), registry({"n": 40}, "x")
    a.decide()
    b.decide()
    with pytest.raises(DisclosureError, match="distinct names"):
        audit([a, b])


# ------------------------------------------------------- size and a property


def test_a_report_sized_release_is_protected() -> None:
    reg = margin_release()
    assert len(reg.counts) == 17 * 30
    decision = reg.decide()
    result = feasible_ranges(reg)
    assert result.passed
    assert len(result.ranges) == len(decision.hidden)
    assert result.n_lps == 2 * len(result.ranges)


@st.composite
def margin_tables(draw: st.DrawFn) -> tuple[list[list[int]], bool]:
    rows = draw(st.integers(1, 4))
    cols = draw(st.integers(2, 4))
    value = st.one_of(st.integers(0, 12), st.integers(10, 40))
    cells = [[draw(value) for _ in range(cols)] for _ in range(rows)]
    return cells, draw(st.booleans())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(margin_tables())
def test_after_decide_the_audit_passes(case: tuple[list[list[int]], bool]) -> None:
    import pandas as pd

    cells, attribute = case
    cols = [f"c{j}" for j in range(len(cells[0]))]
    frame = pd.DataFrame(cells, columns=cols, index=[f"r{i}" for i in range(len(cells))])
    frame.loc["all"] = frame.sum()
    frame["n"] = frame[cols].sum(axis=1)
    reg = ReleaseRegistry()
    reg.add_table("t", frame, count_columns=cols, total_column="n", total_row="all",
                  attribute=attribute)  # fmt: skip
    decision = reg.decide()
    assert feasible_ranges(reg).passed
    for key, reason in decision.hidden.items():
        value = reg.counts[key].value
        assert reg.display(key) == MARK
        if reason == "small":
            assert 1 <= value <= 9
        elif reason == "complementary":
            assert key not in decision.primary
        else:
            assert reason in PRIMARY_REASONS
    for key, count in reg.counts.items():
        if 1 <= count.value <= 9:
            assert decision.hidden.get(key) == "small"
        if key not in decision.hidden:
            assert reg.display(key) == str(count.value)
