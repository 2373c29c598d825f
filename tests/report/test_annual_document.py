"""The annual report's heading, its Holm-adjusted pooled p-values and the verdicts that
read them (issue 16), without rendering a report (test_annual.py renders one)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mentoreval.report.annual.pooling import holm_within_scope, pooled_and_forest
from mentoreval.report.annual.results import annual_title
from mentoreval.report.annual.wording import holm_statement, pooled_judgement

REFERENCE = Path(__file__).parents[1] / "reference" / "annual_holm.json"


def _reference_outcomes() -> tuple[pd.DataFrame, pd.DataFrame, set[tuple[str, str]]]:
    ref = json.loads(REFERENCE.read_text())
    cohorts = pd.DataFrame(ref["cohorts"])
    outcomes = cohorts.assign(
        programme="peer", instrument="x", cohort=cohorts["year"].astype(str), n_pairs=50.0,
        ci_low=cohorts["mean_diff"] - 1.96 * cohorts["se"],
        ci_high=cohorts["mean_diff"] + 1.96 * cohorts["se"], suppressed=False,
    )  # fmt: skip
    primary = {("x", s) for s in cohorts.loc[cohorts["primary"], "scale"]}
    return outcomes, pd.DataFrame(ref["pooled"]), primary


def test_pooled_p_adj_is_holm_over_the_primary_outcomes_as_in_r() -> None:
    """R: metafor::rma(method = "DL") per scale, p.adjust(holm) over the three primary
    scales (tests/reference/annual_holm.R); the secondary scale is neither adjusted nor
    counted in the family, though its p (0.002) is the second smallest."""
    outcomes, expected, primary = _reference_outcomes()
    versions = pd.DataFrame({"programme": ["peer"], "instrument": ["x"], "version": ["1"]})
    pooled, _ = pooled_and_forest(
        outcomes, versions, {("peer", "x"): True}, multi=False, primary_set=primary,
        conf=0.95, notes=[],
    )  # fmt: skip
    got = pooled.set_index("scale").loc[expected["scale"]]
    np.testing.assert_allclose(got["estimate"], expected["estimate"], rtol=1e-9)
    np.testing.assert_allclose(got["p_value"], expected["p_value"], rtol=1e-9)
    want = expected["p_adj"].astype(float).to_numpy()
    np.testing.assert_allclose(got["p_adj"].to_numpy(dtype=float), want, rtol=1e-9)
    assert np.isnan(got.loc["d", "p_adj"]) and not got.loc["d", "primary"]


def test_holm_family_is_each_programme_apart() -> None:
    # by hand: peer {0.01, 0.04} → {0.02, 0.04}; faculty {0.03} alone → 0.03
    pooled = pd.DataFrame({"programme": ["peer", "peer", "faculty", "peer"],
                           "primary": [True, True, True, False],
                           "p_value": [0.01, 0.04, 0.03, 0.001]})  # fmt: skip
    adj = holm_within_scope(pooled)
    assert adj[:3].tolist() == pytest.approx([0.02, 0.04, 0.03])
    assert np.isnan(adj[3])


def test_verdict_defers_to_the_adjusted_p() -> None:
    """The unadjusted interval clears zero; with the Holm-adjusted p at 0.09 the verdict
    no longer calls the change probably real (issue 16, point 4)."""
    out = pd.DataFrame({"programme": ["peer"] * 3, "instrument": ["who5"] * 3,
                        "scale": ["total"] * 3, "se": [2.0] * 3, "n_pairs": [50] * 3})  # fmt: skip
    raw = pooled_judgement(out, "peer", "who5", "total", 4.0, 1.0, 7.0)
    kept = pooled_judgement(out, "peer", "who5", "total", 4.0, 1.0, 7.0, p_adjusted=0.01)
    held = pooled_judgement(out, "peer", "who5", "total", 4.0, 1.0, 7.0, p_adjusted=0.09)
    assert "probably real" in raw and kept == raw
    assert "probably real" not in held and "consistent with no change" in held
    assert "adjusted for the other primary outcomes" in held


def test_holm_statement_names_the_family_size_once() -> None:
    said = holm_statement(pd.DataFrame({"programme": ["peer"] * 3}), 0.05)
    assert "adjusted for 3 outcomes by Holm's method" in said
    two = holm_statement(pd.DataFrame({"programme": ["peer", "peer", "faculty"]}), 0.05)
    assert "adjusted for 1 or 2 outcomes within each programme" in two


@pytest.mark.parametrize(
    ("title", "programmes", "years", "heading"),
    [
        ("Peer mentoring: annual report", ["peer"], [2023, 2024, 2025],
         "Peer mentoring: annual report, 2023–2025"),
        ("Annual report", ["peer"], [2025], "Annual report: peer programme, 2025"),
        ("Annual report", ["peer", "faculty"], [2024, 2023],
         "Annual report: faculty and peer programmes, 2023–2024"),
        ("Peer mentoring 2023 to 2025", ["peer"], [2023, 2025], "Peer mentoring 2023 to 2025"),
    ],
)  # fmt: skip
def test_heading_names_the_programme_and_years(
    title: str, programmes: list[str], years: list[int], heading: str
) -> None:
    assert annual_title(title, programmes, years) == heading
