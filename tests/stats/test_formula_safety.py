"""Column names and level labels from users' data never reach a patsy formula.

patsy evaluates formula text as Python. Every model in :mod:`mentoreval.stats` writes its
formulas in internal names (``mentoreval.stats._design``), so a wave name, group or
covariate level, or column name that is Python code is only data: each model gives the
numbers of the same data with a plain label, shows the label as given, and runs nothing
(the payloads would create a marker file in ``tmp_path``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import patsy
import pytest

from mentoreval.stats import fit_ancova, fit_mixed
from mentoreval.stats.dose import fit_dose, fit_moderation
from mentoreval.stats.missing import compare_attrition, impute_ancova
from mentoreval.stats.weighting import fit_ipw

REF = Path(__file__).resolve().parents[1] / "reference"

# the brief's two payloads (the second one writes the marker too, instead of echoing)
PAYLOADS = {
    "treatment_breakout": "pre') if __import__('os').system('touch {marker}') else "
    "Treatment(0) if 1 else Treatment('pre",
    "q_breakout": '") + __import__("os").system("touch {marker}") + ("',
}

Names = Callable[[str], str]
Where = tuple[str, ...]  # ("column", name) or ("level", column, value)


@pytest.fixture(scope="module")
def wide() -> pd.DataFrame:
    d = pd.read_csv(REF / "stats_prepost.csv")
    # a dose that varies within years and sites (exploratory dose models)
    return d.assign(meetings=(d["year_of_study"] * 3 + d.index % 4).astype(float))


@pytest.fixture(scope="module")
def long(wide: pd.DataFrame) -> pd.DataFrame:
    return wide.melt(
        id_vars=["participant_id", "group", "site", "year_of_study", "gender"],
        value_vars=["pre", "post"], var_name="wave", value_name="score",
    )  # fmt: skip


@pytest.fixture(params=sorted(PAYLOADS))
def payload(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)
    return PAYLOADS[request.param].format(marker=tmp_path / "PWNED")


def _ancova(d: pd.DataFrame, n: Names, anova_type: int = 2) -> Any:
    return fit_ancova(
        d, outcome=n("post"), baseline=n("pre"), group=n("group"), treated=n("mentored"),
        covariates=[n("year_of_study"), n("gender")], fixed_effects=[n("site")],
        anova_type=anova_type,  # type: ignore[arg-type]
    )  # fmt: skip


def _mixed(d: pd.DataFrame, n: Names, group: bool = True) -> Any:
    return fit_mixed(
        d, outcome=n("score"), time=n("wave"), subject=n("participant_id"), pre=n("pre"),
        post=n("post"), group=n("group") if group else None, treated=n("mentored"),
        covariates=[n("year_of_study"), n("gender")], fixed_effects=[n("site")],
    )  # fmt: skip


# model → (data fixture, fit, where the label goes)
_WIDE_COLS = ["post", "pre", "group", "year_of_study", "gender", "site"]
_WIDE_LEVELS = [("group", "mentored"), ("group", "comparison"), ("gender", "male"),
                ("site", "west")]  # fmt: skip
_LONG_COLS = ["score", "wave", "participant_id", "group", "year_of_study", "gender", "site"]
_LONG_LEVELS = [("wave", "pre"), ("wave", "post"), ("participant_id", "p001"), *_WIDE_LEVELS]
MODELS: dict[str, tuple[str, Callable[[pd.DataFrame, Names], Any], list[str], list[tuple[str, str]]]] = {
    "ancova_type2": ("wide", _ancova, _WIDE_COLS, _WIDE_LEVELS),
    "ancova_type3": ("wide", lambda d, n: _ancova(d, n, 3), _WIDE_COLS, _WIDE_LEVELS),
    "mixed": ("long", _mixed, _LONG_COLS, _LONG_LEVELS),
    "mixed_single_arm": ("long", lambda d, n: _mixed(d, n, group=False),
                         [c for c in _LONG_COLS if c != "group"], _LONG_LEVELS[:3] + _WIDE_LEVELS[2:]),
    "attrition": ("wide", lambda d, n: compare_attrition(
        d, baseline=n("pre"), outcome=n("post"), group=n("group"), treated=n("mentored"),
        covariates=[n("year_of_study"), n("gender"), n("site")]), _WIDE_COLS, _WIDE_LEVELS),
    "imputation": ("wide", lambda d, n: impute_ancova(
        d, outcome=n("post"), baseline=n("pre"), group=n("group"), treated=n("mentored"),
        covariates=[n("year_of_study"), n("gender")], fixed_effects=[n("site")], m=5, seed=1),
        _WIDE_COLS, _WIDE_LEVELS),
    "ipw": ("wide", lambda d, n: fit_ipw(
        d, outcome=n("post"), baseline=n("pre"), group=n("group"), treated=n("mentored"),
        covariates=[n("year_of_study"), n("gender"), n("site")]), _WIDE_COLS, _WIDE_LEVELS),
    "dose_linear": ("wide", lambda d, n: fit_dose(
        d, dose=n("meetings"), outcome=n("post"), baseline=n("pre"),
        covariates=[n("gender"), n("site")]),
        ["meetings", "post", "pre", "gender", "site"], _WIDE_LEVELS[2:]),
    "dose_spline": ("wide", lambda d, n: fit_dose(
        d, dose=n("meetings"), outcome=n("post"), baseline=n("pre"), form="spline",
        covariates=[n("gender"), n("site")]),
        ["meetings", "post", "pre", "gender", "site"], _WIDE_LEVELS[2:]),
    "moderation": ("wide", lambda d, n: fit_moderation(
        d, moderator=n("site"), outcome=n("post"), baseline=n("pre"), group=n("group"),
        treated=n("mentored"), covariates=[n("gender"), n("year_of_study")]),
        _WIDE_COLS, _WIDE_LEVELS),
}  # fmt: skip

CASES = [
    pytest.param(model, where, id=f"{model}-{'-'.join(where)}")
    for model, (_, _, cols, levels) in MODELS.items()
    for where in [*(("column", c) for c in cols), *(("level", c, v) for c, v in levels)]
]


def _inject(data: pd.DataFrame, where: Where, text: str) -> tuple[pd.DataFrame, Names]:
    """Put ``text`` where ``where`` says; return the data and the argument-name mapping."""
    target = where[-1]

    def names(k: str) -> str:
        return text if k == target else k

    if where[0] == "column":
        return data.rename(columns={target: text}), names
    d = data.copy()
    d[where[1]] = d[where[1]].where(d[where[1]] != target, text)
    return d, names


def _tables(result: Any) -> dict[str, pd.DataFrame]:
    if isinstance(result, pd.DataFrame):
        return {"result": result}
    return {k: v for k, v in vars(result).items() if isinstance(v, pd.DataFrame)}


def _relabel(frame: pd.DataFrame, old: str, new: str) -> pd.DataFrame:
    out = frame.copy()
    for c in out.columns:
        s = out[c]
        if s.map(lambda v: isinstance(v, str)).any():
            out[c] = s.map(lambda v: v.replace(old, new) if isinstance(v, str) else v).astype(
                s.dtype
            )
    return out


def _twin(text: str) -> str:
    """A plain label in the same place as ``text`` when levels are sorted."""
    return re.sub(r"\W", "_", text)


@pytest.mark.parametrize(("model", "where"), CASES)
def test_labels_are_data_not_code(
    model: str, where: Where, payload: str, wide: pd.DataFrame, long: pd.DataFrame,
    tmp_path: Path,
) -> None:  # fmt: skip
    kind, fit, _, _ = MODELS[model]
    data = wide if kind == "wide" else long
    plain = _twin(payload)
    d_code, n_code = _inject(data, where, payload)
    d_plain, n_plain = _inject(data, where, plain)
    if where[0] == "level":  # the plain twin sorts where the payload does
        col = where[1]
        assert sorted(d_code[col].unique()).index(payload) == sorted(d_plain[col].unique()).index(
            plain
        )
    got = _tables(fit(d_code, n_code))
    assert list(tmp_path.iterdir()) == []  # nothing ran
    want = _tables(fit(d_plain, n_plain))
    assert got.keys() == want.keys()
    for name, frame in want.items():
        # the same numbers, and every label as the user wrote it
        pd.testing.assert_frame_equal(got[name], _relabel(frame, plain, payload), check_exact=True)


def test_output_labels_show_the_users_text(
    payload: str, wide: pd.DataFrame, long: pd.DataFrame, tmp_path: Path
) -> None:
    p = payload
    d, n = _inject(wide, ("level", "group", "mentored"), p)
    anc = _ancova(d, n)
    assert f"group[{p}]" in anc.coefficients["term"].tolist()
    assert anc.contrast["contrast"].iloc[0] == f"{p} - comparison"
    assert anc.adjusted_means["group"].tolist() == ["comparison", p]
    imp = MODELS["imputation"][1](d, n)
    assert imp["contrast"].iloc[0] == f"{p} - comparison"
    assert MODELS["ipw"][1](d, n).effect["contrast"].iloc[0] == f"{p} - comparison"

    d, n = _inject(wide, ("column", "gender"), p)
    anc = _ancova(d, n, 3)
    assert f"{p}[male]" in anc.coefficients["term"].tolist()
    assert p in anc.anova["term"].tolist()
    assert f" + {p} + " in anc.contrast["formula"].iloc[0]
    assert f"{p}[male]" in MODELS["attrition"][1](d, n).model["term"].tolist()

    d, n = _inject(wide, ("column", "meetings"), p)
    assert MODELS["dose_linear"][1](d, n)["dose"].iloc[0] == p
    d, n = _inject(wide, ("column", "site"), p)
    assert MODELS["moderation"][1](d, n)["moderator"].iloc[0] == p
    assert {p} <= set(MODELS["ipw"][1](d, n).balance["variable"])

    d, n = _inject(long, ("column", "wave"), p)
    mm = _mixed(d, n)
    assert f"{p}[post]:group[mentored]" in mm.coefficients["term"].tolist()
    assert mm.contrast["formula"].iloc[0].startswith(f"score ~ {p} * group")
    d, n = _inject(long, ("level", "wave", "pre"), p)
    assert _mixed(d, n, group=False).contrast["contrast"].iloc[0] == f"change: post - {p}"
    d, n = _inject(long, ("level", "group", "mentored"), p)
    mm = _mixed(d, n)
    assert "wave[post]:group[" + p + "]" in mm.coefficients["term"].tolist()
    assert mm.contrast["contrast"].iloc[0] == f"change: {p} - comparison"
    assert list(tmp_path.iterdir()) == []


_TOKEN = re.compile(r"C\(x\d+, (?:Treatment|Sum)\)|bs\(x\d+, df=\d+\)|x\d+|[~+:*]")


def test_formulas_hold_internal_names_only(
    payload: str, wide: pd.DataFrame, long: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every formula handed to patsy is made of internal names and constants only."""
    seen: list[str] = []
    for fn in ("dmatrices", "dmatrix"):
        real = getattr(patsy, fn)

        def spy(formula: str, *args: Any, _real: Any = real, **kwargs: Any) -> Any:
            seen.append(formula)
            return _real(formula, *args, **kwargs)

        monkeypatch.setattr(patsy, fn, spy)
    for model, (kind, fit, cols, _) in MODELS.items():
        data = wide if kind == "wide" else long
        for col in cols:
            fit(*_inject(data, ("column", col), payload))
        if model != "mixed_single_arm" and not model.startswith("dose"):
            fit(*_inject(data, ("level", "group", "mentored"), payload))
    assert len(seen) > 50
    for formula in seen:
        assert _TOKEN.sub("", formula).replace(" ", "") == "", formula
