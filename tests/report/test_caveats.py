"""The report's caveats: one row per kind, with numbers only where the release shows them."""

from __future__ import annotations

import pandas as pd

from mentoreval.config.disclosure import DisclosurePolicy
from mentoreval.report.cohort.caveats import group_caveats

META = pd.DataFrame(
    {
        "instrument": ["who5", "cbi"],
        "scale": ["total", "personal"],
        "label": ["WHO-5", "CBI personal burnout"],
    }
).set_index(["instrument", "scale"])


def _cav(kind: str, details: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"caveat": kind, "instrument": ["who5", "cbi"][: len(details)],
                         "scale": ["total", "personal"][: len(details)], "severity": "moderate",
                         "detail": details, "applies": True})  # fmt: skip


def test_power_caveat_hides_a_small_or_ledger_withheld_n_and_skips_unmeasured_scales():
    power = ("{n} participants have both waves; detecting a standardised effect of 0.3 with "
             "80% power needs 90 (paired design)")  # fmt: skip
    cav = _cav("underpowered", [power.format(n=40), power.format(n=8)])
    policy = DisclosurePolicy()
    row = group_caveats(cav, META, {}, policy).iloc[0]
    assert "WHO-5: 40 (about 90 needed)" in row["detail"]
    assert f"CBI personal burnout: {policy.label} (about 90 needed)" in row["detail"]  # 8 < k
    withheld = group_caveats(cav, META, {}, policy, withheld=[("who5", "total")]).iloc[0]
    assert "40" not in withheld["detail"]
    unmeasured = _cav("underpowered", [power.format(n=0)])
    assert group_caveats(unmeasured, META, {}, policy).empty


def test_attrition_rates_are_given_only_when_the_attrition_table_shows_both_groups():
    text = "Attrition was 38% among mentored and 17% among comparison (21 points)"
    cav = _cav("differential_attrition", [text])
    att = pd.DataFrame({"instrument": "who5", "scale": "total",
                        "group": ["mentored", "comparison"], "attrition": [0.38, 0.17]})  # fmt: skip
    shown = group_caveats(cav, META, {"attrition": att}, DisclosurePolicy()).iloc[0]["detail"]
    assert "38% of mentored and 17% of comparison students dropped out" in shown
    att.loc[1, "attrition"] = float("nan")  # the release hid the comparison group's rate
    hidden = group_caveats(cav, META, {"attrition": att}, DisclosurePolicy()).iloc[0]["detail"]
    assert "38%" not in hidden and "exact rates withheld" in hidden


def test_regression_to_the_mean_lists_each_scales_correlation_and_never_nan():
    cav = _cav("regression_to_mean", ["r(pre, post) = 0.45", "r(pre, post) = nan"])
    detail = group_caveats(cav, META, {}, DisclosurePolicy()).iloc[0]["detail"]
    assert "WHO-5 0.45" in detail and "nan" not in detail
