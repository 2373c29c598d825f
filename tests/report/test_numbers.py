"""The reports' one number policy (issue 16, point 7): counts and years as whole numbers,
statistics to a fixed number of decimals, CSVs rounded for pasting."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from mentoreval.outputs import write_table
from mentoreval.report.numbers import column_kinds, format_numbers, round_for_paste
from mentoreval.report.tables import format_report_table

NAN = float("nan")


def _table() -> pd.DataFrame:
    """Counts, years and labels as the analysis holds them: floats, "1.0" text."""
    return pd.DataFrame({
        "level": ["1.0", "2.0", "low"], "version": ["1998", "1.0", "2005"],
        "year": [2023.0, 2024.0, 2025.0], "n_pairs": [57.0, 40.0, NAN], "items": [5.0, 19.0, 8.0],
        "unchanged": [72.0, 31.0, NAN], "df": [56.0, 39.0, NAN], "range_high": [100.0, 5.0, 6.0],
        "mean_pre": [3.1272727272727274, 45.0, NAN], "d_z": [1.0, -0.0004, NAN],
        "p_value": [0.00002, 0.04567, NAN], "prop_pre": [0.41234, 0.5, NAN],
        "suppressed": [False, False, True],
    })  # fmt: skip


def test_counts_years_and_levels_are_shown_as_whole_numbers() -> None:
    shown = format_numbers(_table())
    assert shown["year"].tolist() == ["2023", "2024", "2025"]
    assert shown["n_pairs"].tolist() == ["57", "40", "[c]"]
    assert shown["items"].tolist() == ["5", "19", "8"]
    assert shown["unchanged"].tolist() == ["72", "31", "[c]"]
    assert shown["df"].tolist() == ["56", "39", "[c]"]  # a paired t test's df is whole
    assert shown["range_high"].tolist() == ["100", "5", "6"]
    assert shown["level"].tolist() == ["1", "2", "low"]
    assert shown["version"].tolist() == ["1998", "1.0", "2005"]  # a version is its own name


def test_statistics_keep_their_decimals_even_when_whole() -> None:
    shown = format_numbers(_table())
    assert shown["mean_pre"].tolist()[:2] == ["3.13", "45.00"]
    assert shown["d_z"].tolist()[:2] == ["1.00", "0.00"]  # never "-0.00"
    assert shown["p_value"].tolist()[:2] == ["< 0.001", "0.046"]
    assert shown["prop_pre"].tolist()[:2] == ["41.2%", "50.0%"]


def test_a_non_whole_df_gets_one_decimal() -> None:
    shown = format_numbers(pd.DataFrame({"df": [78.8239, 99.0]}))
    assert shown["df"].tolist() == ["78.8", "99.0"]


def test_report_tables_use_the_policy_for_merged_intervals() -> None:
    t = pd.DataFrame({"scale": ["total"], "n_pairs": [57.0], "unchanged": [72.0],
                      "mean_diff": [4.08], "ci_low": [-2.47], "ci_high": [10.0]})  # fmt: skip
    shown = format_report_table(t, ci={"mean_diff": ("ci_low", "ci_high")})
    assert shown.iloc[0].tolist() == ["total", "57", "72", "4.08 (−2.47 to 10.00)"]


def test_kinds_can_be_overridden() -> None:
    t = pd.DataFrame({"score_band": [3.0, 4.0], "rate": [0.25, 0.5]})
    assert column_kinds(t) == {"score_band": "count", "rate": "number"}
    assert column_kinds(t, {"rate": "share"})["rate"] == "share"
    assert format_numbers(t, kinds={"rate": "share"})["rate"].tolist() == ["25.0%", "50.0%"]


def test_csv_for_pasting_is_rounded(tmp_path: Path) -> None:
    path = write_table(round_for_paste(_table()), tmp_path / "t.csv")
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    first, second, suppressed = rows
    assert first["year"] == "2023" and first["n_pairs"] == "57" and first["items"] == "5"
    assert first["unchanged"] == "72" and first["df"] == "56" and first["level"] == "1"
    assert first["mean_pre"] == "3.127" and first["d_z"] == "1.0"
    assert first["p_value"] == "<0.001" and second["p_value"] == "0.046"
    assert second["d_z"] == "0.0"  # rounded, and no negative zero
    assert first["prop_pre"] == "0.412" and second["version"] == "1.0"
    assert suppressed["n_pairs"] == "" and suppressed["mean_pre"] == ""


def test_paste_rounding_never_changes_the_full_precision_table() -> None:
    table = _table()
    before = table.copy()
    pasted = round_for_paste(table)
    pd.testing.assert_frame_equal(table, before)
    assert pasted["n_pairs"].dtype == "Int64" and pasted["n_pairs"].isna().tolist()[-1]
    assert np.isclose(table.at[0, "mean_pre"], 3.1272727272727274, rtol=0, atol=0)
