"""Issue 16, point 5: a comparison-design report describes each arm apart (bands and their
McNemar tests, item answers, reliable change, reliability), never both arms pooled."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats

from mentoreval.config.disclosure import DisclosurePolicy
from mentoreval.disclose.ledger import ReleaseLedger
from mentoreval.ingest.pipeline import ingest_study
from mentoreval.ingest.protect import keygen
from mentoreval.report.cohort.analysis import analyse_cohort
from mentoreval.report.cohort.results import CohortResults

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo" / "peer" / "2025" / "study.yaml"
DESCRIPTIVE = ("bands", "likert", "change", "reliability")


@pytest.fixture(scope="module")
def processed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    if not DEMO.is_file():
        pytest.skip("demo data not present")
    base = tmp_path_factory.mktemp("arms")
    keygen(base / "demo.key")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MENTOREVAL_KEY_FILE", str(base / "demo.key"))
        ingest_study(DEMO, out_dir=base / "processed")
        yield base / "processed"


@pytest.fixture(scope="module")
def unprotected(processed: Path) -> CohortResults:
    """The demo comparison cohort with disclosure control off: every number visible."""
    return analyse_cohort(processed, DEMO, policy=DisclosurePolicy(profile="off"),
                          imputations=2, use_ledger=False)  # fmt: skip


@pytest.fixture(scope="module")
def released(processed: Path) -> CohortResults:
    """The same cohort as published (the study's own disclosure policy, no earlier release)."""
    return analyse_cohort(processed, DEMO, imputations=2, ledger=ReleaseLedger())


def _hand_mcnemar(scores: pd.DataFrame, ids: set[str], band: str) -> float:
    """Continuity-corrected McNemar p of one band, counted by hand from the scores."""
    s = scores[scores["participant_id"].astype(str).isin(ids)]
    s = s[(s["instrument"] == "who5") & (s["scale"] == "total") & s["band"].notna()]
    wide = s.pivot_table(index="participant_id", columns="wave", values="band", aggfunc="first",
                         observed=True).dropna()  # fmt: skip
    entered = int(((wide["pre"] != band) & (wide["post"] == band)).sum())
    left = int(((wide["pre"] == band) & (wide["post"] != band)).sum())
    statistic = (abs(entered - left) - 1) ** 2 / (entered + left)
    return float(stats.chi2.sf(statistic, 1))


def test_every_descriptive_row_names_its_arm(unprotected: CohortResults) -> None:
    for name in DESCRIPTIVE:
        table = unprotected.tables[name]
        assert "group" in table.columns, name
        assert list(dict.fromkeys(table["group"])) == ["mentored", "comparison"], name


def test_mentored_mcnemar_is_the_mentored_students_own_not_the_pooled_one(
    processed: Path, unprotected: CohortResults
) -> None:
    scores = pd.read_parquet(processed / "scores.parquet")
    people = pd.read_parquet(processed / "participants.parquet")
    arm = dict(zip(people["participant_id"].astype(str), people["group"].astype(str), strict=True))
    mentored = {p for p, g in arm.items() if g == "mentored"}
    both = {p for p, g in arm.items() if g in ("mentored", "comparison")}
    bands = unprotected.tables["bands"]
    row = bands[(bands["instrument"] == "who5") & (bands["band"] == "poor wellbeing")]
    shown = row.set_index("group")["p_value"]
    mine, pooled = (
        _hand_mcnemar(scores, mentored, "poor wellbeing"),
        _hand_mcnemar(scores, both, "poor wellbeing"),
    )
    assert shown["mentored"] == pytest.approx(mine, abs=1e-12)
    assert abs(mine - pooled) > 0.01  # the pooled test would tell another story
    # and the pooled test is nowhere in the table
    assert not any(abs(p - pooled) < 1e-9 for p in bands["p_value"].dropna())


def test_arm_counts_add_up_to_the_arm_pairs(unprotected: CohortResults) -> None:
    comp = unprotected.tables["comparisons"].set_index(["instrument", "scale", "group"])
    for (inst, scale, group), rows in unprotected.tables["bands"].groupby(
        ["instrument", "scale", "group"]
    ):
        pairs = comp.at[(inst, scale, group), "n_pairs"]
        assert rows["n_pre"].sum() == rows["n_post"].sum() == pairs == rows["n_pairs"].iloc[0]


def test_released_arm_tables_hide_small_arm_cells(released: CohortResults) -> None:
    """Each arm's counts go through the release: no shown count below the threshold."""
    for name, columns in (("bands", ["n_pre", "n_post", "n_entered", "n_left"]),
                          ("likert", ["n"]), ("change", ["improved", "unchanged",
                                                         "deteriorated"])):  # fmt: skip
        table = released.tables[name]
        assert set(table["group"]) == {"mentored", "comparison"}
        values = table[columns].to_numpy(dtype=float).ravel()
        shown = values[~pd.isna(values)]
        assert ((shown == 0) | (shown >= 10)).all(), name


def test_a_measure_taken_once_is_described_once(
    processed: Path, unprotected: CohortResults
) -> None:
    """Mentoring quality (MES) is asked after the programme only: one descriptive row per
    arm that answered it, no paired row, no model, no caveat (issue 16, point 6)."""
    mes = ("mes", "total")
    for name in ("comparisons", "ancova", "d_ppc2", "attrition", "caveats", "fit_notes"):
        table = unprotected.tables.get(name, pd.DataFrame())
        if {"instrument", "scale"} <= set(table.columns):
            keys = set(zip(table["instrument"], table["scale"], strict=True))
            assert mes not in keys, name
    assert not unprotected.tables["caveats"]["scales"].astype(str).str.contains("MES").any()
    scores = pd.read_parquet(processed / "scores.parquet")
    people = pd.read_parquet(processed / "participants.parquet")
    mentored = set(
        people.loc[people["group"].astype(str) == "mentored", "participant_id"].astype(str)
    )
    own = scores[(scores["instrument"] == "mes") & scores["score"].notna()
                 & scores["participant_id"].astype(str).isin(mentored)]  # fmt: skip
    desc = unprotected.tables["descriptives"]
    row = desc[desc["instrument"] == "mes"].set_index("group").loc["mentored"]
    assert row["wave"] == "post" and row["n"] == len(own)
    assert row["mean"] == pytest.approx(own["score"].mean(), abs=1e-12)
    assert row["sd"] == pytest.approx(own["score"].std(ddof=1), abs=1e-12)
    half = stats.t.ppf(0.975, len(own) - 1) * own["score"].std(ddof=1) / len(own) ** 0.5
    assert row["ci_low"] == pytest.approx(own["score"].mean() - half, abs=1e-12)


def test_item_answers_follow_the_instrument_order_earlier_wave_first(
    unprotected: CohortResults,
) -> None:
    likert = unprotected.tables["likert"]
    mes = likert[(likert["instrument"] == "mes") & (likert["group"] == "mentored")]
    assert list(dict.fromkeys(mes["item"])) == [f"mes_{i}" for i in range(1, 13)]
    who5 = likert[(likert["instrument"] == "who5") & (likert["group"] == "mentored")]
    assert list(dict.fromkeys(zip(who5["item"], who5["wave"], strict=True)))[:2] == [
        ("who5_1", "pre"),
        ("who5_1", "post"),
    ]
    assert not who5["item_label"].str.endswith("…").any()  # whole texts; charts wrap them


def test_released_balance_levels_show_shares_not_head_counts(released: CohortResults) -> None:
    """A categorical level's share rests on its head-count (hidden with it), but the cell
    keeps the share: it was overwritten by the count (41.00 instead of 0.59)."""
    for name in ("balance", "balance_participants"):
        table = released.tables[name]
        levels = table[table["type"].astype(str) == "categorical"]
        shares = levels[["mean_treated", "mean_control"]].to_numpy(dtype=float).ravel()
        shown = shares[~pd.isna(shares)]
        assert len(shown) and ((shown >= 0) & (shown <= 1)).all(), name


def test_a_single_arm_report_with_a_measure_taken_once_gives_its_findings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The faculty demo has no comparison group and asks mentoring quality after the
    programme only. The summary's primary flags were matched to the comparisons by position,
    and the comparisons leave that measure out, so the analysis stopped with a length error
    (``make demo`` failed on faculty/2025)."""
    study = DEMO.parents[2] / "faculty" / "2025" / "study.yaml"
    if not study.is_file():
        pytest.skip("demo data not present")
    keygen(tmp_path / "demo.key")
    monkeypatch.setenv("MENTOREVAL_KEY_FILE", str(tmp_path / "demo.key"))
    ingest_study(study, out_dir=tmp_path / "processed")
    results = analyse_cohort(tmp_path / "processed", study, imputations=2,
                             policy=DisclosurePolicy(profile="off"), use_ledger=False)  # fmt: skip
    measured_once = set(results.tables["descriptives"]["instrument"])
    shown = {f.instrument for f in results.headline}
    assert measured_once and shown and not shown & measured_once
    primary = {(f.instrument, f.scale) for f in results.headline if f.primary}
    assert primary == {("who5", "total"), ("olbi", "exhaustion"), ("caas_sf", "total")}
