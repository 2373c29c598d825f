"""Recoding labels and export codes to instrument codes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mentoreval.errors import DataError
from mentoreval.ingest.recode import QUARANTINED, ReasonTable, _factorize_text, recode_items
from mentoreval.instruments.definitions import load_instrument


def run(
    cells: list[str | None], **kw: object
) -> tuple[list[float], list[str | None], pd.DataFrame, ReasonTable]:
    inst = load_instrument(kw.pop("inst", "who5"))  # type: ignore[arg-type]
    item = kw.pop("item", inst.item_ids[0])
    r = ReasonTable()
    out = recode_items(
        pd.DataFrame({"c": pd.array(cells, dtype="string")}), ["c"], inst, [item], reasons=r, **kw
    )  # type: ignore[arg-type]
    reasons = [r.labels[c - 1] if c else None for c in out.reasons[:, 0]]
    return out.values[:, 0].tolist(), reasons, out.quarantine, r  # noqa: PD011


def test_codes_labels_and_unknowns() -> None:
    vals, why, q, _ = run(["0", "5.0", " most of  the TIME ", "", None, "6", "-1", "Often"])
    assert vals[:3] == [0, 5, 4] and all(np.isnan(vals[3:]))
    assert why[3:5] == ["not answered", "not answered"]
    assert why[5:] == [QUARANTINED] * 3
    assert q["position"].tolist() == [5, 6, 7] and q["value"].tolist() == ["6", "-1", "Often"]


def test_value_map_and_synonyms() -> None:
    vals, _, q, _ = run(
        ["1", "6", "Sometimes"], values={1: 0, 6: 5}, synonyms={"Some of the time": ["Sometimes"]}
    )
    assert vals == [0, 5, 1] and q.empty


def test_missing_codes_and_platform_codes() -> None:
    vals, why, q, _ = run(["9", "N/A", "2"], inst="mes")
    assert why[:2] == ["not applicable", "not applicable"] and vals[2] == 2
    vals, why, q, _ = run(["UNK", "NASK", "3"], platform="redcap")
    assert why[:2] == ["unknown (UNK)", "not asked (NASK)"] and q.empty
    vals, why, q, _ = run(["-99"], platform="qualtrics")
    assert why == ["seen but not answered (-99)"]


def test_export_choice_list_translates_codes() -> None:
    # The export numbers WHO-5's labels 1..6; its choice list says which label each is.
    labels = [
        "At no time",
        "Some of the time",
        "Less than half of the time",
        "More than half of the time",
        "Most of the time",
        "All of the time",
    ]
    choices = {"c": [(str(i + 1), lab) for i, lab in enumerate(labels)]}
    vals, _, q, _ = run(["1", "6", "3"], choices=choices)
    assert vals == [0, 5, 2] and q.empty
    vals, why, _, _ = run(["-9"], source_missing={"c": [("-9", "Refused")]})
    assert why == ["missing: Refused"]


@given(st.lists(st.one_of(st.none(), st.text(max_size=2)), max_size=30), st.integers(0, 3))
def test_factorize_text_matches_pandas(cells: list[str | None], start: int) -> None:
    # the one-byte fast path and the general path; a sliced series has an Arrow offset
    series = pd.Series(["x"] * start + cells, dtype="string").iloc[start:]
    codes, uniques = _factorize_text(series)
    got = [uniques[c] if c >= 0 else None for c in codes]
    expected = [None if c is None or c == "" else c for c in cells]
    assert [None if g == "" else g for g in got] == expected
    _, p_uniques = pd.factorize(series)
    seen = [str(u) for u in p_uniques if str(u) != ""]
    assert [u for u in uniques if u != ""] == seen  # first-appearance order, as pandas


def test_recodes_into_columns_of_a_wider_table() -> None:
    """``out``/``why`` views (columns of a wider table) receive the same results, and the
    columns around them are left alone."""
    inst = load_instrument("who5")
    cells = pd.DataFrame(
        {
            f"q{i}": pd.array(["1", "x", None, "All of the time"][i:] + ["2"] * i, dtype="string")
            for i in range(4)
        }
    )
    items = inst.item_ids[:4]
    plain = recode_items(cells, list(cells.columns), inst, items, reasons=ReasonTable())
    table = np.full((4, 7), -7.0)
    codes = np.full((4, 7), -7, dtype=np.int16)
    into = recode_items(
        cells,
        list(cells.columns),
        inst,
        items,
        reasons=ReasonTable(),
        out=table[:, 2:6],
        why=codes[:, 2:6],
    )
    np.testing.assert_array_equal(table[:, 2:6], plain.values)
    np.testing.assert_array_equal(codes[:, 2:6], plain.reasons)
    assert (table[:, [0, 1, 6]] == -7).all() and (codes[:, [0, 1, 6]] == -7).all()
    pd.testing.assert_frame_equal(into.quarantine, plain.quarantine)
    assert np.isnan(plain.values).sum() == 5 and len(plain.quarantine) == 2  # "x" twice


def test_refuses_out_arrays_of_the_wrong_shape_or_type() -> None:
    import pytest

    inst = load_instrument("who5")
    cells = pd.DataFrame({"q": pd.array(["1", "2"], dtype="string")})
    good_why = np.zeros((2, 1), dtype=np.int16)
    for out, why in (
        (np.zeros((2, 1), dtype=np.int64), good_why),  # answers must hold NaN
        (np.zeros((2, 1)), np.zeros((2, 1), dtype=np.int32)),
        (np.zeros((3, 1)), good_why),
    ):
        with pytest.raises(ValueError, match="float64 and int16"):
            recode_items(cells, ["q"], inst, ["who5_1"], reasons=ReasonTable(), out=out, why=why)


def test_end_point_labels_on_the_instruments_codes_leave_codes_as_data() -> None:
    # SPSS labels only the end points (0 and 5), on WHO-5's own codes: the numbers are
    # the data, the labels only agree with them
    choices = {"c": [("0", "At no time"), ("5", "All of the time")]}
    vals, _, q, _ = run(["0", "1", "2", "3", "4", "5"], choices=choices)
    assert vals == [0, 1, 2, 3, 4, 5] and q.empty


def test_end_point_labels_never_remap_codes_they_do_not_cover() -> None:
    # Codes 1..6 with only 1 = "At no time" and 6 = "All of the time" labelled: re-mapping
    # the end points and passing 2..5 through read WHO-5 a point too high (mean 60, not 40).
    choices = {"c": [("1", "At no time"), ("6", "All of the time")]}
    with pytest.raises(DataError) as info:
        run(["1", "3", "4", "6"], choices=choices)
    problems = info.value.problems
    assert [p.column for p in problems] == ["c", "c"]
    assert "'At no time'" in problems[0].message and "codes 0" in problems[0].message
    assert problems[0].key == "instruments.who5.values"
    # the study's value map decides, and then nothing contradicts it
    values = {1: 0, 2: 1, 3: 2, 4: 3, 5: 4, 6: 5}
    vals, _, q, _ = run(["1", "3", "4", "6"], choices=choices, values=values)
    assert vals == [0, 2, 3, 5] and q.empty


def test_a_full_choice_list_does_not_pass_unlisted_numbers_through() -> None:
    labels = ["At no time", "Some of the time", "Less than half of the time"]
    labels += ["More than half of the time", "Most of the time", "All of the time"]
    choices = {"c": [(str(i + 1), lab) for i, lab in enumerate(labels)]}
    vals, why, q, _ = run(["0", "2"], choices=choices)  # 0 is no export code
    assert np.isnan(vals[0]) and why[0] == QUARANTINED and vals[1] == 1
    assert q["value"].tolist() == ["0"]


def test_letter_codes_of_an_export_choice_list_take_the_code_of_their_label() -> None:
    # REDCap "a, At no time | b, Some of the time | ...": the codes are letters.
    labels = [
        "At no time",
        "Some of the time",
        "Less than half of the time",
        "More than half of the time",
        "Most of the time",
        "All of the time",
    ]
    choices = {"c": [(chr(97 + i), lab) for i, lab in enumerate(labels)]}
    vals, _, q, _ = run(["a", "F", " c ", "3"], choices=choices)
    assert vals == [0, 5, 2, 3] and q.empty  # numbers are still the instrument's codes
    vals, why, q, _ = run(["z"], choices=choices)
    assert why == [QUARANTINED] and q["value"].tolist() == ["z"]
    vals, why, _, _ = run(["x"], inst="mes", choices={"c": [("x", "N/A")]})
    assert why == ["not applicable"]
