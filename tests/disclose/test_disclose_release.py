"""Release registry: relations, the suppression decision, the one mark, derived numbers,
and rare category labels."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from mentoreval.disclose import DisclosurePolicy, ReleaseLedger
from mentoreval.disclose.labels import collapse_levels
from mentoreval.disclose.release import FOOTNOTE, MARK, ReleaseRegistry
from mentoreval.errors import DisclosureError


def registry(counts: dict[str, int], name: str = "report") -> ReleaseRegistry:
    reg = ReleaseRegistry(name)
    for key, value in counts.items():
        reg.add_count(key, value)
    return reg


# ----------------------------------------------------------------- registering


def test_one_key_is_one_count_and_conflicts_are_refused() -> None:
    reg = registry({"groups.control.n": 62})
    assert reg.add_count("groups.control.n", 62.0) == "groups.control.n"
    with pytest.raises(DisclosureError, match="registered as 62 and again as 61"):
        reg.add_count("groups.control.n", 61)
    for bad in (-1, 2.5, float("nan"), "7", True):
        with pytest.raises(DisclosureError):
            reg.add_count("x", bad)  # type: ignore[arg-type]


def test_relations_must_hold_and_name_their_counts() -> None:
    reg = registry({"flow.received": 60, "flow.excluded": 5, "flow.linked": 55})
    rel = reg.add_difference("flow.linked", "flow.received", "flow.excluded")
    assert rel.name == "flow.linked = flow.received - flow.excluded"
    assert dict(rel.terms) == {"flow.received": 1, "flow.excluded": -1, "flow.linked": -1}
    assert rel.total == "flow.received"
    with pytest.raises(DisclosureError, match="true counts give"):
        reg.add_sum("flow.received", ["flow.linked"])
    with pytest.raises(DisclosureError, match="not registered"):
        reg.add_sum("flow.received", ["flow.kept", "flow.excluded"])
    with pytest.raises(DisclosureError, match="distinct parts"):
        reg.add_sum("flow.received", ["flow.received", "flow.excluded"])
    # registering the same relation twice keeps one
    reg.add_difference("flow.linked", "flow.received", "flow.excluded")
    assert len(reg.relations) == 1


def test_table_registers_cells_and_both_margins() -> None:
    t = pd.DataFrame({"a": [5, 20, 25], "b": [15, 10, 25]}, index=["y1", "y2", "all"])
    t["total"] = t["a"] + t["b"]
    reg = ReleaseRegistry()
    keys = reg.add_table("t", t, count_columns=["a", "b"], total_column="total", total_row="all")
    assert len(keys) == 9
    names = {r.name for r in reg.relations}
    assert "t.y1.total = t.y1.a + t.y1.b" in names
    assert "t.all.total = t.y1.total + t.y2.total" in names
    assert len(names) == 3 + 3  # three rows, three columns


def test_decide_is_needed_before_reading_and_again_after_new_counts() -> None:
    reg = registry({"n": 40})
    with pytest.raises(DisclosureError, match="not decided"):
        reg.display("n")
    reg.decide()
    assert reg.display("n") == "40"
    reg.add_count("m", 41)
    with pytest.raises(DisclosureError, match="not decided"):
        reg.value("n")


# ----------------------------------------------------------------- deciding


def test_complement_is_the_smallest_positive_inner_cell() -> None:
    reg = registry({"t": 80, "a": 3, "b": 0, "c": 17, "d": 60})
    reg.add_sum("t", ["a", "b", "c", "d"])
    decision = reg.decide()
    assert decision.primary == ("a",)
    assert decision.complementary == ("c",)  # not the zero, not the total, not 60
    assert reg.display("t") == "80"


def test_complement_cascades_through_linked_relations() -> None:
    # linked 483 − ANCOVA n 478 = 5: the model's n, and then one of its groups, go too
    reg = registry({"flow.linked": 483, "ancova.n": 478, "ancova.n_t": 240, "ancova.n_c": 238})
    reg.add_count("flow.not_analysed", 5, published=False)
    reg.add_sum("flow.linked", ["ancova.n", "flow.not_analysed"])
    reg.add_sum("ancova.n", ["ancova.n_t", "ancova.n_c"])
    reg.add_derived("ancova.df", 476, base=["ancova.n"], kind="count")
    decision = reg.decide()
    assert decision.hidden["flow.not_analysed"] == "small"
    assert decision.primary == ()  # the 5 is never shown
    assert decision.unpublished == {"flow.not_analysed"}
    assert decision.complementary == ("ancova.n", "ancova.n_c")
    assert reg.display("ancova.df") == MARK
    assert reg.display("flow.linked") == "483"
    assert reg.summary() == {"shown": 2, "primary": 0, "complementary": 2}
    assert decision.audit.passed


def test_same_count_in_two_tables_is_hidden_in_both() -> None:
    # a comparison group's 62 (of 70): one key, so no table can print it
    reg = registry({"groups.all.n": 70, "groups.mentored.n": 8, "groups.control.n": 62})
    reg.add_sum("groups.all.n", ["groups.mentored.n", "groups.control.n"])
    reg.add_count("groups.control.n", 62)  # the ANCOVA table shows it again
    reg.add_derived("ancova.control.mean", 51.3, base=["groups.control.n"], follow="primary")
    reg.add_derived("ancova.control.sd", 9.1, base=["groups.control.n"])
    reg.decide()
    assert reg.display("groups.control.n") == MARK
    # an estimate on a group of 62 hidden as a complement may be shown; one that can give
    # n back (default) is hidden with it
    assert reg.display("ancova.control.mean") == "51.30"
    assert reg.display("ancova.control.sd") == MARK


def test_mark_is_one_neutral_symbol_never_less_than_k() -> None:
    reg = registry({"all": 144, "a": 70, "b": 49, "c": 21})
    reg.add_count("d", 0)
    reg.add_count("e", 0)
    reg.add_count("tiny", 4)
    reg.add_sum("all", ["a", "b", "c", "tiny", "d", "e"])
    decision = reg.decide()
    assert decision.complementary == ("c",)
    shown = {key: reg.display(key) for key in reg.counts}
    assert shown["c"] == shown["tiny"] == MARK == "[c]"
    assert not any(text.startswith("<") for text in shown.values())
    assert math.isnan(reg.value("c"))
    assert FOOTNOTE == "[c] not shown, to protect small groups"


def test_percentage_follows_its_count() -> None:
    reg = registry({"base": 64, "followed": 58, "dropped": 6, "other_base": 80})
    reg.add_sum("base", ["followed", "dropped"])
    reg.add_percent("followed_pct", "followed", "base")
    reg.add_percent("dropped_pct", "dropped", "base")
    reg.add_derived("attrition", 0.09, base=["dropped_pct"])
    reg.add_count("fine", 40)
    reg.add_percent("fine_pct", "fine", "other_base")
    reg.decide()
    assert reg.display("followed_pct") == reg.display("dropped_pct") == MARK
    assert reg.display("attrition") == MARK
    assert reg.display("fine_pct") == "50.0%"


def test_hundred_percent_class_is_primary() -> None:
    reg = registry({"bands.pre.n": 57, "bands.pre.poor": 57, "bands.pre.good": 0})
    reg.add_sum("bands.pre.n", ["bands.pre.poor", "bands.pre.good"], attribute=True)
    decision = reg.decide()
    assert decision.hidden["bands.pre.poor"] == "class"
    assert reg.display("bands.pre.good") == MARK  # else 57 − 0 gives it back
    no_class = registry({"n": 57, "poor": 57, "good": 0})
    no_class.add_sum("n", ["poor", "good"], attribute=True)
    assert no_class.decide(class_disclosure=False).hidden == {}


def test_share_protects_its_unpublished_rest() -> None:
    # "59 of 60 with meetings" reveals 1
    reg = registry({"meetings.any": 59, "meetings.n": 60})
    rest = reg.add_share("meetings.any", "meetings.n")
    decision = reg.decide()
    assert decision.hidden[rest] == "small"
    assert reg.display("meetings.any") == MARK
    with pytest.raises(DisclosureError, match="unpublished"):
        reg.display(rest)


def test_policy_off_hides_nothing() -> None:
    reg = registry({"t": 12, "a": 3, "b": 9})
    reg.add_sum("t", ["a", "b"])
    decision = reg.decide(DisclosurePolicy(profile="off"))
    assert decision.hidden == {}
    assert reg.display("a") == "3"
    assert decision.audit.sentence is None


def test_nhs_rounding_shows_rounded_counts_and_relies_on_intervals() -> None:
    reg = registry({"received": 62, "kept": 58, "excluded": 4})
    reg.add_sum("received", ["kept", "excluded"])
    decision = reg.decide(DisclosurePolicy(profile="nhs"))
    assert decision.primary == ("excluded",)
    assert decision.complementary == ()
    assert (reg.value("received"), reg.value("kept")) == (60.0, 60.0)
    assert decision.audit.passed


def test_ledger_differencing_hides_the_rerun_count() -> None:
    key = ("c", "outcomes", "who5 / total", "n_pairs")
    ledger = ReleaseLedger()
    ledger.record(key, 52)
    reg = ReleaseRegistry()
    reg.add_count("outcomes.who5.total.n_pairs", 50, ledger_key=key)
    reg.add_derived("outcomes.who5.total.mean_diff", 0.4, base=["outcomes.who5.total.n_pairs"], follow="primary")  # fmt: skip
    decision = reg.decide(ledger=ledger)
    assert decision.hidden == {"outcomes.who5.total.n_pairs": "differencing"}
    # the mean of 50 against the mean of 52 would give the two students' mean
    assert reg.display("outcomes.who5.total.mean_diff") == MARK
    recorded = ReleaseLedger()
    reg.record(recorded)
    assert recorded.entries == {}


# ----------------------------------------------------------------- labels


def test_rare_labels_are_collapsed_and_never_published() -> None:
    values = pd.Series(
        ["north"] * 30 + ["south"] * 12 + ["east"] * 6 + ["west"] * 4 + ["Jo Bloggs"]
    )
    c = collapse_levels(values, DisclosurePolicy())
    assert c.labels == ("north", "south", "other")
    assert set(c.collapsed) == {"east", "west", "Jo Bloggs"}
    assert "Jo Bloggs" not in set(c.apply(values).dropna())
    assert min(c.counts.values()) >= 10


def test_small_other_takes_the_next_smallest_level() -> None:
    values = pd.Series(["a"] * 30 + ["b"] * 12 + ["c"] * 11 + ["Jo Bloggs"] * 2)
    c = collapse_levels(values, 10)
    assert c.mapping == {"Jo Bloggs": "other", "a": "a", "b": "b", "c": "other"}
    assert c.counts["other"] == 13


def test_labels_count_distinct_students_and_merge_an_existing_other() -> None:
    # one student answering twice is one student
    values = pd.Series(["x"] * 10 + ["other"] * 9 + ["rare"] * 3)
    ids = pd.Series([f"s{i}" for i in range(10)] + ["o"] * 9 + ["r1", "r2", "r3"])
    c = collapse_levels(values, 10, ids=ids)
    # "other" (1 student) and "rare" (3) pool to 4 distinct students < 10, so x joins them
    assert c.mapping == {"other": "other", "rare": "other", "x": "other"}
    assert c.counts == {"other": 14}
    assert c.labels == ("other",)
    # with k = 3 the existing "other" (1 student) is small itself and takes "rare" along
    c = collapse_levels(values, 3, ids=ids)
    assert c.mapping == {"other": "other", "rare": "other", "x": "x"}
    assert c.counts == {"other": 4, "x": 10}


def test_labels_off_policy_and_all_small() -> None:
    values = pd.Series(["a", "b", None])
    assert collapse_levels(values, DisclosurePolicy(profile="off")).labels == ("a", "b")
    assert collapse_levels(values, 10).labels == ("other",)
    assert collapse_levels(pd.Series(["a"] * 10 + ["b"] * 10), 10).collapsed == ()
