"""Behaviour of the issue-17 design functions: table contracts, errors, hostile labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mentoreval.errors import DataError
from mentoreval.stats import (
    TOST_COLUMNS,
    UNLINKED_COLUMNS,
    compare_independent,
    compare_unlinked,
    fit_group_by_wave,
    fit_multiwave,
    tost_independent,
    tost_paired,
)

REF = Path(__file__).resolve().parents[1] / "reference"
WAVES = ["baseline", "mid", "end", "followup"]
PAYLOAD = "pre') if __import__('os').system('touch {marker}') else Treatment(0) if 1 else ('"


@pytest.fixture(scope="module")
def mw() -> pd.DataFrame:
    return pd.read_csv(REF / "stats_multiwave.csv")


def test_multiwave_tables(mw: pd.DataFrame) -> None:
    m = fit_multiwave(mw, waves=WAVES, group="group", primary="end")
    c = m.contrasts
    assert list(c.columns) == [
        "family", "group", "contrast", "wave", "estimate", "se", "df", "t", "p_value", "p_adj",
        "p_adjust", "ci_low", "ci_high", "primary",
    ]  # fmt: skip
    assert len(c) == 3 * 2 + 3  # three waves x two arms, plus the difference in change
    assert c.loc[c["primary"], "wave"].unique().tolist() == ["end"]
    assert (c["p_adj"] >= c["p_value"] - 1e-15).all()
    # the difference in change is the treated arm's change minus the control arm's
    ch = c[c["family"] == "change from baseline"].set_index(["group", "wave"])["estimate"]
    did = c[c["family"] == "difference in change"].set_index("wave")["estimate"]
    for w in WAVES[1:]:
        assert did[w] == pytest.approx(ch[("mentored", w)] - ch[("comparison", w)])
    assert len(m.means) == 8
    # participation counts the rows of the data
    p = m.participation.set_index(["group", "wave"])
    counts = mw.groupby(["group", "wave"])["participant_id"].nunique()
    for key, n in counts.items():
        assert p.at[key, "n"] == n
    assert (p.xs("baseline", level="wave")["retention"] == 1).all()
    assert m.info["primary"].iloc[0] == "end"


def test_multiwave_two_waves_is_fit_mixed(mw: pd.DataFrame) -> None:
    """With two waves the multi-wave model is the pre/post model of fit_mixed."""
    from mentoreval.stats import fit_mixed

    two = fit_multiwave(mw, waves=["baseline", "followup"], group="group")
    pp = fit_mixed(mw, pre="baseline", post="followup")
    did = two.contrasts[two.contrasts["family"] == "difference in change"].iloc[0]
    for col in ("estimate", "se", "df", "p_value"):
        assert did[col] == pytest.approx(pp.contrast[col].iloc[0], rel=1e-10)


def test_multiwave_errors(mw: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="not found"):
        fit_multiwave(mw, waves=["baseline", "six_months"])
    with pytest.raises(DataError, match="at least two"):
        fit_multiwave(mw, waves=["baseline"])
    with pytest.raises(DataError, match="primary"):
        fit_multiwave(mw, waves=WAVES, primary="baseline")
    with pytest.raises(DataError, match="more than one row"):
        fit_multiwave(pd.concat([mw, mw.head(3)]), waves=WAVES)


def test_hostile_wave_and_group_labels(mw: pd.DataFrame, tmp_path: Path) -> None:
    bad = PAYLOAD.format(marker=tmp_path / "PWNED")
    d = mw.replace({"wave": {"baseline": bad}, "group": {"mentored": bad}})
    m = fit_multiwave(d, waves=[bad, *WAVES[1:]], group="group", treated=bad)
    ref = fit_multiwave(mw, waves=WAVES, group="group")
    np.testing.assert_allclose(m.contrasts["estimate"], ref.contrasts["estimate"])
    assert m.contrasts["contrast"].iloc[0] == f"mid - {bad}"
    u = pd.read_csv(REF / "stats_unlinked.csv")
    g = u[u["set"] == "groups"].replace({"wave": {"pre": bad}, "group": {"mentored": bad}})
    fit = fit_group_by_wave(g, pre=bad, treated=bad)
    plain = fit_group_by_wave(u[u["set"] == "groups"])
    np.testing.assert_allclose(fit.coefficients["estimate"], plain.coefficients["estimate"])
    assert not (tmp_path / "PWNED").exists()


def test_unlinked_contract_and_edge_cases() -> None:
    s = pd.DataFrame({"participant_id": [f"r{i}" for i in range(9)],
                      "wave": ["pre"] * 4 + ["post"] * 5, "instrument": "who5",
                      "scale": "total", "score": [40.0, 52, np.nan, 60, 48, 56, 47, 72, 44]})  # fmt: skip
    out = compare_unlinked(s, details=True)
    assert list(out.columns[: len(UNLINKED_COLUMNS)]) == UNLINKED_COLUMNS
    assert out["n_pre"].iloc[0] == 3 and out["n_post"].iloc[0] == 5
    assert "bf10" in out.columns
    with pytest.raises(DataError, match="not found"):
        compare_unlinked(s, post="followup")
    one = compare_independent([50.0], [40.0, 45.0])
    assert np.isnan(one["t"]) and np.isnan(one["g_s"]) and one["n_pre"] == 1
    with pytest.raises(DataError):
        fit_group_by_wave(pd.DataFrame({"wave": ["pre", "post"], "group": ["a", "b"],
                                        "score": [1.0, 2.0]}), treated="a")  # fmt: skip


def test_tost_contract() -> None:
    a = tost_paired([1.0, 2, 3, 4], [1.5, 2.2, 3.1, 4.4], mid=2)
    b = tost_independent([1.0, 2, 3, 4], [1.5, 2.2, 3.1, 4.4], mid=2)
    assert list(a.columns) == list(b.columns) == TOST_COLUMNS
    assert a["design"].iloc[0] == "paired" and b["design"].iloc[0] == "independent (Welch)"
    tiny = tost_paired([1.0], [2.0], mid=1).iloc[0]
    assert tiny["verdict"] == "inconclusive" and not tiny["equivalent"]
