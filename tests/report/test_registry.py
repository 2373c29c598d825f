"""One release model per cohort report (report/cohort/registry.py, publish.py): a count is hidden
everywhere or nowhere, the attacker's audit passes, rare labels never leave data/."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from cohort_study import write_study
from mentoreval.config.disclosure import DisclosurePolicy
from mentoreval.disclose.ledger import ReleaseLedger
from mentoreval.disclose.release import MARK
from mentoreval.errors import DisclosureError
from mentoreval.ingest.pipeline import ingest_study
from mentoreval.report.cohort import publish as P
from mentoreval.report.cohort import registry as R
from mentoreval.report.cohort.analysis import analyse_cohort


def _flow_tables(pre_only: int) -> dict[str, pd.DataFrame]:
    linked = 60
    kept = linked + pre_only
    return {
        "participation": pd.DataFrame(
            {"wave": ["pre", "post"], "received": [kept + 3, linked + 2],
             "excluded": [3, 2], "kept": [kept, linked], "reasons": ["", ""]}
        ),
        "flow": pd.DataFrame(
            {"stage": ["read", "kept", "linked", "analysed"],
             "n": [kept + 3, kept, linked, 45], "excluded": [3, pre_only, 15, np.nan],
             "reasons": ["", "", "", None]}
        ),
        "linkage": pd.DataFrame(
            {"measure": ["participants", "linked", "baseline only", "follow-up only"],
             "n": [kept, linked, pre_only, 0], "percent": [np.nan, 100 * linked / kept,
                                                           np.nan, np.nan]}
        ),
        "flow_reasons": pd.DataFrame(
            {"wave_role": ["pre", "post"], "rule": ["qualtrics_test", "duplicate"], "n": [3, 2]}
        ),
    }  # fmt: skip


def _decided(tables: dict[str, pd.DataFrame]) -> tuple[P.Released, R.CohortRegistry]:
    out = P.release_tables(
        tables, study="s", ledger=ReleaseLedger(), policy=DisclosurePolicy(), pre="pre",
        treated="mentored", control=None, derived={},
    )  # fmt: skip
    assert out.registry is not None
    return out, out.registry


def test_a_small_count_shown_in_two_tables_is_hidden_in_both():
    out, reg = _decided(_flow_tables(pre_only=4))
    # "baseline only" (4) is the flow's exclusions at the kept stage and a linkage row
    assert math.isnan(out.tables["flow"].at[1, "excluded"])
    assert math.isnan(out.tables["linkage"].at[2, "n"])
    # and the numbers that would give it back are hidden too: kept − linked = 4
    kept_shown = not math.isnan(out.tables["flow"].at[1, "n"])
    linked_shown = not math.isnan(out.tables["flow"].at[2, "n"])
    assert not (kept_shown and linked_shown)
    assert reg.registry.decision.audit.passed


def test_a_percentage_that_gives_a_hidden_count_back_is_hidden_with_it():
    out, _ = _decided(_flow_tables(pre_only=4))
    link = out.tables["linkage"]
    if math.isnan(link.at[0, "n"]) or math.isnan(link.at[1, "n"]):
        assert math.isnan(link.at[1, "percent"])


def test_nothing_is_hidden_when_every_count_is_large():
    out, reg = _decided(_flow_tables(pre_only=25))
    assert not out.tables["flow"]["n"].isna().any()
    assert reg.registry.summary()["primary"] == 0


def test_exclusion_reasons_are_rebuilt_from_the_decision():
    out, _ = _decided(_flow_tables(pre_only=25))
    assert out.tables["flow"].at[0, "reasons"] == "qualtrics test: 3"
    assert out.tables["participation"].at[1, "reasons"] == "duplicate: 2"


def test_the_mark_is_one_neutral_label_for_every_hidden_number():
    assert DisclosurePolicy().label == MARK == "[c]"
    assert DisclosurePolicy(profile="nhs").label == MARK


def test_rare_covariate_labels_are_recoded_to_other():
    people = pd.DataFrame(
        {"participant_id": [f"p{i}" for i in range(31)],
         "site": ["north"] * 15 + ["south"] * 15 + ["Jo Bloggs"], "year": [1.0] * 31}
    )  # fmt: skip
    out = P.collapse_rare_levels(people, ["site", "year"], DisclosurePolicy())
    assert "Jo Bloggs" not in set(out["site"])
    assert out["year"].tolist() == people["year"].tolist()  # numbers are not labels
    off = P.collapse_rare_levels(people, ["site"], DisclosurePolicy(profile="off"))
    assert "Jo Bloggs" in set(off["site"])


@pytest.fixture(scope="module")
def named_cohort(tmp_path_factory):
    """A comparison cohort where one student typed their name as their site."""
    folder = tmp_path_factory.mktemp("named")
    config = write_study(folder, n_students=70, design="comparison", seed=5)
    for wave in ("pre", "post"):
        path = folder / "exports" / f"{wave}.csv"
        frame = pd.read_csv(path, dtype=str)
        frame.loc[frame.index[0], "site"] = "Jo Bloggs"
        frame.to_csv(path, index=False)
    ingested = ingest_study(config, out_dir=folder / "processed")
    return analyse_cohort(ingested, config, imputations=2, ledger=ReleaseLedger())


def test_a_name_typed_into_a_covariate_reaches_no_table(named_cohort):
    for name, table in named_cohort.tables.items():
        text = table.to_csv(index=False)
        assert "Jo Bloggs" not in text, name


def test_every_hidden_count_is_small_or_a_complement_and_the_audit_passes(named_cohort):
    notices = " ".join(named_cohort.notices)
    assert "No hidden count can be worked out from the published numbers." in notices
    for table in named_cohort.tables.values():
        for column in table.columns:
            if table[column].dtype == object:
                assert not table[column].astype(str).str.contains("< 10").any()


def test_statistics_of_a_large_group_stay_when_only_its_count_is_hidden(named_cohort):
    comp = named_cohort.tables["comparisons"]
    hidden_n = comp["n_pairs"].isna() & comp["mean_diff"].notna()
    # a hidden n with a shown mean is a complement (the group is large), never a small one
    for _, row in comp[hidden_n].iterrows():
        assert not math.isnan(row["ci_low"])


def test_an_audit_that_fails_refuses_publication(monkeypatch):
    tables = _flow_tables(pre_only=4)
    reg = R.register_tables(tables, study="s", pre="pre", treated="mentored", control=None)

    class Failing:
        passed = False

        def raise_if_failed(self) -> None:
            raise DisclosureError("flow.pre_only can be worked out", ())

    decision = dataclasses.replace(reg.registry.decide(DisclosurePolicy()), audit=Failing())
    monkeypatch.setattr(reg.registry, "decide", lambda *a, **k: decision)
    with pytest.raises(DisclosureError, match="worked out"):
        reg.decide(DisclosurePolicy(), None)


def test_release_tables_records_published_counts_in_the_ledger():
    ledger = ReleaseLedger()
    P.release_tables(
        _flow_tables(pre_only=25), study="s", ledger=ledger, policy=DisclosurePolicy(),
        pre="pre", treated="mentored", control=None, derived={},
    )  # fmt: skip
    frame = ledger.to_frame()
    assert ("s", "cohort.release", "flow.linked", "n") in {
        tuple(r) for r in frame[["study", "table", "group", "statistic"]].itertuples(index=False)
    }
    # a rerun after two late withdrawals: the linked count differs by 2 and is withheld
    again = _flow_tables(pre_only=25)
    again["flow"].loc[2, "n"] = 58
    out = P.release_tables(
        again, study="s", ledger=ledger, policy=DisclosurePolicy(), pre="pre",
        treated="mentored", control=None, derived={},
    )  # fmt: skip
    assert math.isnan(out.tables["flow"].at[2, "n"])
    assert any("earlier release" in n for n in out.notices)
