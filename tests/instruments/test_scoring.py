"""Scoring against hand-computed cases.

Every expected number below was worked out by hand from the scoring rules in
../shared/reference/instruments.md, not by running the code.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mentoreval.errors import DataError
from mentoreval.instruments.definitions import load_instrument
from mentoreval.instruments.scoring import (
    SCORE_COLUMNS,
    score_arrays,
    score_matrix,
    score_responses,
    score_wide,
)


def one(inst_id: str, answers: dict[str, float], scale: str) -> pd.Series:
    """Score one respondent (answers by item id; others missing) and return one scale's row."""
    inst = load_instrument(inst_id)
    row = np.array([[answers.get(i, np.nan) for i in inst.item_ids]], dtype=float)
    out = score_matrix(row, inst, inst.item_ids)
    return out.loc[out["scale"] == scale].iloc[0]


# -- WHO-5 --------------------------------------------------------------------------------


def test_who5_times_four() -> None:
    r = one(
        "who5", dict(zip([f"who5_{i}" for i in range(1, 6)], [3, 4, 2, 5, 1], strict=True)), "total"
    )
    assert r["raw_score"] == 15 and r["score"] == 60 and r["band"] == "adequate wellbeing"


@pytest.mark.parametrize(
    ("raw", "band"),
    [
        (7, "likely depression"),
        (8, "poor wellbeing"),
        (12, "poor wellbeing"),
        (13, "adequate wellbeing"),
    ],
)
def test_who5_band_edges(raw: int, band: str) -> None:
    # raw 7 → 28 (≤28 likely depression); 8 → 32; 12 → 48 (<50 poor); 13 → 52.
    answers = [min(5, raw - 5 * k) if raw - 5 * k > 0 else 0 for k in range(5)]
    assert sum(answers) == raw
    r = one("who5", dict(zip([f"who5_{i}" for i in range(1, 6)], answers, strict=True)), "total")
    assert r["score"] == raw * 4 and r["band"] == band


def test_who5_needs_all_five() -> None:
    r = one("who5", {"who5_1": 5, "who5_2": 5, "who5_3": 5, "who5_4": 5}, "total")
    assert np.isnan(r["score"]) and r["missing_reason"] == "4 of 5 items answered; 5 needed"
    assert r["n_answered"] == 4 and not r["prorated"] and pd.isna(r["band"])


# -- SWEMWBS: the full conversion table, transcribed independently from the reference -----

SWEMWBS_TABLE = {
    7: 7.00, 8: 9.51, 9: 11.25, 10: 12.40, 11: 13.33, 12: 14.08, 13: 14.75, 14: 15.32,
    15: 15.84, 16: 16.36, 17: 16.88, 18: 17.43, 19: 17.98, 20: 18.59, 21: 19.25, 22: 19.98,
    23: 20.73, 24: 21.54, 25: 22.35, 26: 23.21, 27: 24.11, 28: 25.03, 29: 26.02, 30: 27.03,
    31: 28.13, 32: 29.31, 33: 30.70, 34: 32.55, 35: 35.00,
}  # fmt: skip


def swemwbs_answers(raw: int) -> list[int]:
    base, extra = divmod(raw - 7, 7)
    return [1 + base + (1 if k < extra else 0) for k in range(7)]


def test_swemwbs_full_conversion_table() -> None:
    inst = load_instrument("swemwbs")
    rows = np.array([swemwbs_answers(raw) for raw in SWEMWBS_TABLE], dtype=float)
    assert rows.sum(axis=1).tolist() == list(SWEMWBS_TABLE)
    out = score_matrix(rows, inst, inst.item_ids)
    assert out["raw_score"].tolist() == list(SWEMWBS_TABLE)
    np.testing.assert_allclose(out["score"], list(SWEMWBS_TABLE.values()), atol=1e-12)
    assert not out["prorated"].any()


def test_swemwbs_prorated_raw_is_rounded_before_lookup() -> None:
    # Six answers summing to 17: mean 17/6 × 7 = 19.83 → rounded to 20 → metric 18.59.
    r = one(
        "swemwbs",
        dict(zip([f"swemwbs_{i}" for i in range(1, 7)], [3, 3, 3, 3, 3, 2], strict=True)),
        "total",
    )
    assert r["raw_score"] == pytest.approx(119 / 6)
    assert r["score"] == 18.59 and bool(r["prorated"]) and r["band"] == "possible depression"
    # Six answers summing to 15: 15/6 × 7 = 17.5 → half rounds up to 18 → 17.43.
    r = one(
        "swemwbs",
        dict(zip([f"swemwbs_{i}" for i in range(1, 7)], [3, 3, 3, 2, 2, 2], strict=True)),
        "total",
    )
    assert r["raw_score"] == 17.5 and r["score"] == 17.43


def test_swemwbs_min_answered_boundary() -> None:
    five = {f"swemwbs_{i}": 3 for i in range(1, 6)}
    r = one("swemwbs", five, "total")
    assert np.isnan(r["score"]) and r["missing_reason"] == "5 of 7 items answered; 6 needed"
    six = {f"swemwbs_{i}": 3 for i in range(1, 7)}  # 18/6 × 7 = 21 → metric 19.25
    r = one("swemwbs", six, "total")
    assert r["raw_score"] == 21 and r["score"] == 19.25 and bool(r["prorated"])


def test_swemwbs_band_edges_by_hand() -> None:
    # raw 17 → 16.88 ≤ 17: probable; raw 18 → 17.43: possible; raw 21 → 19.25: possible;
    # raw 22 → 19.98 ≤ 20: possible; raw 23 → 20.73: no indication.
    expected = {17: "probable depression", 18: "possible depression", 21: "possible depression",
                22: "possible depression", 23: "no indication"}  # fmt: skip
    for raw, band in expected.items():
        r = one(
            "swemwbs",
            dict(zip([f"swemwbs_{i}" for i in range(1, 8)], swemwbs_answers(raw), strict=True)),
            "total",
        )
        assert r["band"] == band, raw


# -- CBI: 100/75/50/25/0 coding, the reverse-keyed item, mean, half-the-items rule ---------


def test_cbi_reverse_item_and_mean() -> None:
    work = {f"cbi_w{i}": 75 for i in range(1, 7)}
    work["cbi_w7"] = 75  # "often" enough energy → reversed to 25
    r = one("cbi", work, "work")
    assert r["score"] == pytest.approx((6 * 75 + 25) / 7)
    work["cbi_w7"] = 0  # "never" enough energy → 100
    assert one("cbi", work, "work")["score"] == pytest.approx((6 * 75 + 100) / 7)


@pytest.mark.parametrize(
    ("scale", "prefix", "n", "needed"),
    [("personal", "p", 6, 3), ("work", "w", 7, 4), ("client", "c", 6, 3)],
)
def test_cbi_min_answered_boundary(scale: str, prefix: str, n: int, needed: int) -> None:
    just_met = {f"cbi_{prefix}{i}": 50 for i in range(1, needed + 1)}
    r = one("cbi", just_met, scale)
    assert r["score"] == 50 and bool(r["prorated"]) and r["n_answered"] == needed
    just_missed = {f"cbi_{prefix}{i}": 50 for i in range(1, needed)}
    r = one("cbi", just_missed, scale)
    assert (
        np.isnan(r["score"])
        and r["missing_reason"] == f"{needed - 1} of {n} items answered; {needed} needed"
    )


@pytest.mark.parametrize(
    ("values", "band"),
    [
        ([50, 50, 25, 50, 50, 50], "low"),  # 45.83
        ([50] * 6, "moderate"),  # exactly 50
        ([75, 75, 75, 75, 75, 50], "moderate"),  # 70.83
        ([75] * 6, "high"),  # exactly 75
        ([100, 100, 100, 100, 100, 75], "high"),  # 95.83
        ([100] * 6, "severe"),  # exactly 100
    ],
)
def test_cbi_band_edges(values: list[int], band: str) -> None:
    r = one("cbi", {f"cbi_p{i}": v for i, v in enumerate(values, start=1)}, "personal")
    assert r["score"] == pytest.approx(sum(values) / 6) and r["band"] == band


# -- OLBI: keying relative to the stored coding (1 = strongly agree … 4 = strongly disagree)


def test_olbi_reverse_keys_make_high_mean_burnout() -> None:
    inst = load_instrument("olbi")
    # A burned-out student agrees (1) with every negative statement and disagrees (4) with
    # every positive one: after keying every item is 4, so both scales are 4.
    answers = {i.id: (1 if i.reverse else 4) for i in inst.items}
    assert one("olbi", answers, "exhaustion")["score"] == 4
    assert one("olbi", answers, "disengagement")["score"] == 4
    opposite = {i.id: (4 if i.reverse else 1) for i in inst.items}
    assert one("olbi", opposite, "exhaustion")["score"] == 1


def test_olbi_band_edges_and_min_answered() -> None:
    # Exhaustion items 2,4,5,8,10,12,14,16; reversed: 2,4,8,12 (keyed = 5 - x).
    # Target keyed mean 2.25 → keyed values [2,2,2,2,2,2,3,3]: items 2,4,8,12 keyed 2 → raw 3.
    raw = {
        "olbi_2": 3,
        "olbi_4": 3,
        "olbi_8": 3,
        "olbi_12": 3,
        "olbi_5": 2,
        "olbi_10": 2,
        "olbi_14": 3,
        "olbi_16": 3,
    }
    r = one("olbi", raw, "exhaustion")
    assert r["score"] == 2.25 and r["band"] == "high exhaustion"
    raw["olbi_16"] = 2  # keyed mean 2.125 < 2.25
    assert one("olbi", raw, "exhaustion")["band"] == "not high"
    del raw["olbi_16"]  # 7 of 8: just met, prorated mean
    r = one("olbi", raw, "exhaustion")
    assert r["n_answered"] == 7 and bool(r["prorated"]) and r["score"] == pytest.approx(15 / 7)
    del raw["olbi_14"]  # 6 of 8: just missed
    assert np.isnan(one("olbi", raw, "exhaustion")["score"])


# -- PSS-10: items 4, 5, 7, 8 reversed; sum 0–40; 8 of 10 prorated ---------------------------


@pytest.mark.parametrize("item", [4, 5, 7, 8])
def test_pss10_each_reverse_item(item: int) -> None:
    answers = {f"pss_{i}": 0 for i in range(1, 11)}
    base = one("pss10", answers, "total")["score"]  # four reversed items at 0 count 4 each
    assert base == 16
    answers[f"pss_{item}"] = 4
    assert one("pss10", answers, "total")["score"] == 12


def test_pss10_prorating_and_bands() -> None:
    answers = {f"pss_{i}": 2 for i in range(1, 9)}  # 8 of 10 answered, all 2 → mean 2 × 10
    r = one("pss10", answers, "total")
    assert r["score"] == 20 and bool(r["prorated"]) and r["band"] == "moderate stress"
    del answers["pss_8"]
    assert np.isnan(one("pss10", answers, "total")["score"])
    # Reversed items 4, 5, 7, 8 answered 4 count 0; answered 2 count 2 each (8 in all).
    for total, band in [
        (13, "low stress"),
        (14, "moderate stress"),
        (26, "moderate stress"),
        (27, "high stress"),
    ]:
        reversed_answer = 4 if total <= 24 else 2
        carried = total - (0 if total <= 24 else 8)
        a = {f"pss_{i}": reversed_answer for i in (4, 5, 7, 8)}
        for k, i in enumerate([1, 2, 3, 6, 9, 10]):
            a[f"pss_{i}"] = min(4, max(0, carried - 4 * k))
        r = one("pss10", a, "total")
        assert r["score"] == total and r["band"] == band


# -- career confidence and MES -----------------------------------------------------------


def test_career_confidence_reverse_item() -> None:
    answers = {f"cc_{i}": 4 for i in range(1, 8)} | {"cc_8": 5}  # "strongly agree" unsure → 1
    assert one("career_confidence", answers, "total")["score"] == pytest.approx((7 * 4 + 1) / 8)


def test_mes_not_applicable_code_is_missing() -> None:
    answers = {f"mes_{i}": 6 for i in range(1, 13)} | {"mes_3": 9, "mes_4": 9}
    r = one("mes", answers, "total")
    assert r["score"] == 6 and r["n_answered"] == 10 and bool(r["prorated"])
    answers["mes_5"] = 9
    assert np.isnan(one("mes", answers, "total")["score"])


# -- the long responses path and the wide CSV path ---------------------------------------------


def test_score_responses_long() -> None:
    who5 = [("p1", "pre", f"who5_{i}", v) for i, v in enumerate([1, 2, 3, 4, 5], start=1)]
    who5 += [("p1", "post", f"who5_{i}", 5) for i in range(1, 6)]
    who5 += [("p2", "pre", "who5_1", np.nan)]
    responses = pd.DataFrame(who5, columns=["participant_id", "wave", "item", "value"]).assign(
        instrument="who5"
    )
    out = score_responses(responses)
    assert list(out.columns) == SCORE_COLUMNS
    got = out.set_index(["participant_id", "wave"])["score"]
    assert got[("p1", "pre")] == 60 and got[("p1", "post")] == 100
    assert np.isnan(got[("p2", "pre")])


def test_score_responses_rejects_duplicates_and_bad_codes() -> None:
    base = pd.DataFrame({"participant_id": "p", "wave": "pre", "instrument": "who5",
                         "item": ["who5_1", "who5_1"], "value": [1, 2]})  # fmt: skip
    with pytest.raises(DataError, match="repeat a participant"):
        score_responses(base)
    bad = base.iloc[:1].assign(value=7)
    with pytest.raises(DataError, match="not codes of the response scale"):
        score_responses(bad)


def test_score_wide_names_row_and_column() -> None:
    wide = pd.DataFrame({"participant_id": ["a", "b", "c"], "wave": "pre",
                         **{f"who5_{i}": ["1", "2", "3"] for i in range(1, 6)}})  # fmt: skip
    wide.loc[1, "who5_3"] = "6"
    wide.loc[2, "who5_5"] = "often"
    with pytest.raises(DataError) as info:
        score_wide(wide, "who5", source="in.csv")
    problems = {(p.row, p.column) for p in info.value.problems}
    assert problems == {(3, "who5_3"), (4, "who5_5")}
    assert all(p.file == "in.csv" for p in info.value.problems)


def test_score_wide_missing_column() -> None:
    with pytest.raises(DataError, match=r"missing column\(s\) \['who5_5'\]"):
        score_wide(
            pd.DataFrame(columns=["participant_id", "wave", *[f"who5_{i}" for i in range(1, 5)]]),
            "who5",
        )


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([0, 1, 2, 3, 4]), min_size=10, max_size=10))
def test_reverse_keying_is_an_involution(answers: list[int]) -> None:
    """Reflecting every item twice gives back the original total (PSS-10)."""
    inst = load_instrument("pss10")
    x = np.array([answers], dtype=float)
    reflected = x.copy()
    rev = [j for j, i in enumerate(inst.item_ids) if inst.item(i).reverse]
    reflected[:, rev] = 4 - reflected[:, rev]
    total = score_matrix(x, inst, inst.item_ids)["score"].iloc[0]
    assert total == sum(4 - a if j in rev else a for j, a in enumerate(answers))
    twice = reflected.copy()
    twice[:, rev] = 4 - twice[:, rev]
    np.testing.assert_array_equal(twice, x)


def test_vectorised_equals_row_by_row() -> None:
    rng = np.random.default_rng(1)
    inst = load_instrument("cbi")
    x = rng.choice([0, 25, 50, 75, 100, np.nan], size=(200, len(inst.item_ids)))
    all_at_once = score_matrix(x, inst, inst.item_ids)
    singly = pd.concat([score_matrix(x[i : i + 1], inst, inst.item_ids) for i in range(len(x))])
    np.testing.assert_allclose(all_at_once["score"], singly["score"].to_numpy(), equal_nan=True)


def test_score_wide_several_instruments_equals_one_by_one() -> None:
    rng = np.random.default_rng(4)
    insts = [load_instrument(i) for i in ("who5", "pss10", "cbi")]
    cols: dict[str, object] = {"participant_id": [f"p{i}" for i in range(30)], "wave": "pre"}
    for inst in insts:
        for item in inst.items:
            cols[item.id] = rng.choice(inst.response_scales[item.response_scale].codes, 30)
    wide = pd.DataFrame(cols)
    together = score_wide(wide, insts)
    apart = pd.concat([score_wide(wide, i) for i in insts], ignore_index=True)
    # One call, one id preparation: the same table as scoring each instrument on its own.
    pd.testing.assert_frame_equal(together.astype(str), apart.astype(str))


def test_olbi_disengagement_band_edge() -> None:
    # Disengagement items 1,3,6,7,9,11,13,15; reversed (keyed = 5 - x): 3, 6, 9, 11.
    # Keyed values summing to 16.8 are impossible; use mean 2.125 vs 2.25 around the 2.10 cut.
    # Keyed [2,2,2,2,2,2,2,3] → mean 2.125 ≥ 2.10: high. Keyed all 2 → 2.0 < 2.10: not high.
    raw = {
        "olbi_1": 2,
        "olbi_7": 2,
        "olbi_13": 2,
        "olbi_15": 3,  # positive: keyed = raw
        "olbi_3": 3,
        "olbi_6": 3,
        "olbi_9": 3,
        "olbi_11": 3,
    }  # negative: keyed 5 - 3 = 2
    r = one("olbi", raw, "disengagement")
    assert r["score"] == 2.125 and r["band"] == "high disengagement"
    raw["olbi_15"] = 2
    r = one("olbi", raw, "disengagement")
    assert r["score"] == 2.0 and r["band"] == "not high"


def test_half_point_codes_use_the_row_path(tmp_path) -> None:
    """Codes that are not whole numbers are scored row by row; checked by hand."""
    from pathlib import Path

    (Path(tmp_path) / "halves.yaml").write_text(
        "id: halves\nversion: '1'\ntitle: Halves\ncitation: test\n"
        "licence: {name: test, ship_item_text: true}\ndomain: other\n"
        "response_scales:\n  default: {codes: [0, 0.5, 1], labels: [no, partly, yes]}\n"
        "items:\n  - {id: h1, text: a}\n  - {id: h2, text: b, reverse: true}\n"
        "  - {id: h3, text: c}\n"
        "scales:\n  - id: total\n    title: Total\n    items: [h1, h2, h3]\n    method: sum\n"
        "    min_answered: 2\n    range: [0, 3]\n    higher_is_better: true\n"
        "    bands: {source: test, cuts: [{label: low, upper: 1.5, include_upper: false},"
        " {label: high, upper: 3}]}\n",
        encoding="utf-8",
    )
    inst = load_instrument(Path(tmp_path) / "halves.yaml")
    x = np.array([[0.5, 0.0, 1.0], [0.5, np.nan, 0.5], [np.nan, np.nan, 1.0]])
    out = score_matrix(x, inst, inst.item_ids)
    # row 1: 0.5 + (1 - 0) + 1 = 2.5 → high; row 2: (0.5 + 0.5) / 2 × 3 = 1.5 prorated → high
    # (1.5 is not < 1.5); row 3: one answer < 2 needed
    assert out["score"].tolist()[:2] == [2.5, 1.5] and np.isnan(out["score"].iloc[2])
    assert out["band"].tolist()[:2] == ["high", "high"]
    assert out["prorated"].tolist() == [False, True, False]
    assert out["missing_reason"].iloc[2] == "1 of 3 items answered; 2 needed"


# -- Large tables: scored a chunk of respondents at a time ---------------------------------


def random_answers(inst_id: str, n: int, missing: float, seed: int) -> np.ndarray:
    inst = load_instrument(inst_id)
    rng = np.random.default_rng(seed)
    x = np.column_stack(
        [rng.choice(inst.item_response_scale(i).codes, n).astype(float) for i in inst.item_ids]
    )
    x[rng.random(x.shape) < missing] = np.nan
    return x


@pytest.mark.parametrize("inst_id", ["olbi", "cbi", "who5", "mes"])
def test_many_rows_score_as_small_pieces(inst_id: str) -> None:
    """Tens of thousands of rows (several chunks) give exactly what 1,000-row pieces give."""
    inst = load_instrument(inst_id)
    x = random_answers(inst_id, 60_000, missing=0.2, seed=5)
    whole = score_matrix(x, inst, inst.item_ids).drop(columns="row")
    pieces = [score_matrix(x[a : a + 1000], inst, inst.item_ids) for a in range(0, len(x), 1000)]
    apart = pd.concat(pieces, ignore_index=True).drop(columns="row")
    for c in ("band", "missing_reason"):
        apart[c] = apart[c].astype(whole[c].dtype)
    pd.testing.assert_frame_equal(whole, apart, check_exact=True)


def test_invalid_value_in_a_late_chunk_is_found() -> None:
    x = random_answers("who5", 50_000, missing=0.0, seed=2)
    wide = pd.DataFrame({"participant_id": [f"p{i}" for i in range(len(x))], "wave": "pre"})
    wide = pd.concat([wide, pd.DataFrame(x, columns=load_instrument("who5").item_ids)], axis=1)
    wide.loc[45_000, "who5_3"] = 2.5
    with pytest.raises(DataError) as info:
        score_wide(wide, "who5")
    assert {(p.row, p.column) for p in info.value.problems} == {(45_002, "who5_3")}


@pytest.mark.parametrize("inst_id", ["olbi", "mes", "pss10"])
def test_item_major_input_scores_like_rows(inst_id: str) -> None:
    """The ingest path (items × respondents, scored in place) equals the respondent-major one."""
    inst = load_instrument(inst_id)
    x = random_answers(inst_id, 20_000, missing=0.1, seed=3)
    rows = pd.DataFrame(score_arrays(x, inst, inst.item_ids))
    item_major = np.ascontiguousarray(x.T)
    cols = pd.DataFrame(score_arrays(None, inst, inst.item_ids, item_major=item_major))
    pd.testing.assert_frame_equal(rows, cols, check_exact=True)


def test_equal_band_limits_take_the_first_band_that_holds(tmp_path) -> None:
    """Two cuts at the same limit: the earlier one wins where both hold; checked by hand."""
    from pathlib import Path

    def cuts(first: str, second: str) -> str:
        return (
            f"    bands: {{source: test, cuts: [{{label: a, upper: 10{first}}},"
            f" {{label: b, upper: 10{second}}}, {{label: c, upper: 20}}]}}\n"
        )

    scale = (
        "  - id: {id}\n    title: T\n    items: [q1, q2, q3, q4, q5]\n    method: sum\n"
        "    min_answered: 5\n    range: [0, 20]\n    higher_is_better: true\n"
    )
    (Path(tmp_path) / "ties.yaml").write_text(
        "id: ties\nversion: '1'\ntitle: Ties\ncitation: test\n"
        "licence: {name: test, ship_item_text: true}\ndomain: other\n"
        "response_scales:\n  default: {codes: [0, 1, 2, 3, 4], labels: [a, b, c, d, e]}\n"
        "items:\n" + "".join(f"  - {{id: q{i}, text: t}}\n" for i in range(1, 6)) + "scales:\n"
        + scale.format(id="incl_first") + cuts("", ", include_upper: false")
        + scale.format(id="excl_first") + cuts(", include_upper: false", ""),
        encoding="utf-8",
    )  # fmt: skip
    inst = load_instrument(Path(tmp_path) / "ties.yaml")
    x = np.array([[1, 2, 2, 2, 2], [2, 2, 2, 2, 2], [3, 2, 2, 2, 2]], dtype=float)  # 9, 10, 11
    out = score_matrix(x, inst, inst.item_ids)
    # incl_first: a is x <= 10 (9, 10), b is x < 10 (never first), c up to 20 (11)
    assert out.loc[out["scale"] == "incl_first", "band"].tolist() == ["a", "a", "c"]
    # excl_first: a is x < 10 (9), b is x <= 10 (10), c (11)
    assert out.loc[out["scale"] == "excl_first", "band"].tolist() == ["a", "b", "c"]


def test_score_arrays_leaves_a_respondent_major_block_unchanged() -> None:
    # ingest scores column blocks of its answer matrix, then builds responses from it
    cbi = load_instrument("cbi")  # has a reverse-keyed item
    rng = np.random.default_rng(3)
    codes = np.array(cbi.item_response_scale(cbi.item_ids[0]).codes, dtype=float)
    matrix = rng.choice(codes, size=(3000, len(cbi.item_ids) + 2))
    matrix[rng.random(matrix.shape) < 0.1] = np.nan
    block = matrix[:, 1 : 1 + len(cbi.item_ids)]  # a strided view, as ingest passes it
    before = matrix.copy()
    out = score_arrays(block, cbi, cbi.item_ids, with_row=False)
    np.testing.assert_array_equal(matrix, before)
    ref = score_arrays(np.ascontiguousarray(block), cbi, cbi.item_ids, with_row=False)
    np.testing.assert_array_equal(out["score"], ref["score"])
