"""SPSS value labels that cover only a scale's end points (issue 13).

Numeric codes are the data; labels are checked against the instrument and never used to
re-map codes they do not fully cover.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from mentoreval.errors import DataError, MentorevalError
from mentoreval.ingest import ingest_study
from mentoreval.ingest.recode import ReasonTable, recode_items
from mentoreval.instruments import load_instrument
from mentoreval.read import read_export

WHO5 = [f"who5_{i}" for i in range(1, 6)]


def _sav(path: Path, codes: np.ndarray, labels: dict[float, str]) -> Path:
    df = pd.DataFrame({"sid": [f"S{i:03d}" for i in range(len(codes))]})
    for j, item in enumerate(WHO5):
        df[item] = codes[:, j].astype(float)
    pyreadstat.write_sav(df, str(path), variable_value_labels=dict.fromkeys(WHO5, labels))
    return path


def _recode(path: Path) -> np.ndarray:
    table = read_export(path)
    meta = table.columns_meta.set_index("column")
    out = recode_items(
        table.data,
        WHO5,
        load_instrument("who5"),
        WHO5,
        reasons=ReasonTable(),
        choices={c: meta.loc[c, "choices"] for c in WHO5},
    )
    return out.values  # noqa: PD011


def test_end_point_labels_decode_on_the_instruments_scale(tmp_path: Path) -> None:
    # true WHO-5 mean 40 (item mean 2): every answer 2, labels only on 0 and 5
    codes = np.full((12, 5), 2)
    p = _sav(tmp_path / "pre.sav", codes, {0.0: "At no time", 5.0: "All of the time"})
    values = _recode(p)
    assert (values == 2).all()
    assert values.sum(axis=1).mean() * 4 == 40


def test_end_point_labels_off_the_instruments_codes_stop_instead_of_shifting(
    tmp_path: Path,
) -> None:
    # coded 1..6 with only 1 = "At no time" and 6 = "All of the time" labelled: the codes
    # 2..5 cannot be placed; mentoreval used to read them a point too high (mean 60)
    codes = np.full((12, 5), 3)
    p = _sav(tmp_path / "pre.sav", codes, {1.0: "At no time", 6.0: "All of the time"})
    with pytest.raises(DataError) as info:
        _recode(p)
    assert {q.column for q in info.value.problems} == set(WHO5)
    assert all(q.key == "instruments.who5.values" for q in info.value.problems)


def _study(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, start: int) -> Path:
    from mentoreval.ingest.protect import keygen

    key = tmp_path / "keys" / "k.key"
    keygen(key)
    monkeypatch.setenv("MENTOREVAL_KEY_FILE", str(key))
    study = tmp_path / "study"
    study.mkdir()
    labels = {float(start): "At no time", float(start + 5): "All of the time"}
    _sav(study / "pre.sav", np.full((12, 5), 2 + start), labels)
    (study / "study.yaml").write_text(
        "title: SPSS end points\nparticipant_id: {column: sid}\n"
        "sources: [{path: pre.sav, wave: pre}]\ninstruments: {who5: {}}\n"
        "analysis: {pre: pre, post: pre}\n",
        encoding="utf-8",
    )
    return study


def test_end_point_labels_through_ingest_give_mean_40(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    study = _study(tmp_path, monkeypatch, start=0)
    try:
        result = ingest_study(study / "study.yaml", write=False)
    except MentorevalError as exc:  # pragma: no cover - shows what went wrong
        pytest.fail(str(exc))
    scores = result.scores
    total = scores[(scores["instrument"] == "who5") & (scores["scale"] == "total")]
    assert total["score"].mean() == pytest.approx(40)


def test_end_point_labels_off_scale_stop_the_ingest_naming_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    study = _study(tmp_path, monkeypatch, start=1)
    with pytest.raises(MentorevalError, match=r"instruments\.who5\.values"):
        ingest_study(study / "study.yaml", write=False)
