"""Writing tables, JSON and the manifest."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mentoreval.errors import ReportError
from mentoreval.outputs import build_manifest, write_json, write_table


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@", "\t", "\r", "\0"])
def test_formula_prefixes_neutralised(tmp_path: Path, prefix: str) -> None:
    df = pd.DataFrame({"label": [f"{prefix}HYPERLINK(1)", "plain"], "mean_diff": [-1.5, 2.0]})
    path = write_table(df, tmp_path / "t.csv")
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[1][0] == f"'{prefix}HYPERLINK(1)"
    assert rows[1][1] == "-1.5"  # numbers untouched
    assert rows[2] == ["plain", "2.0"]


def test_numbers_and_missing_untouched(tmp_path: Path) -> None:
    df = pd.DataFrame({"n": [-3, 4], "d": [np.nan, -0.25], "s": pd.array(["-x", None], "string")})
    back = pd.read_csv(write_table(df, tmp_path / "x" / "t.csv"))
    assert back["n"].tolist() == [-3, 4]
    assert back["d"].isna().tolist() == [True, False]
    assert back.loc[0, "s"] == "'-x"


def test_write_json_types(tmp_path: Path) -> None:
    obj = {
        "n": np.int64(3),
        "x": np.float32(0.5),
        "nan": float("nan"),
        "inf": np.inf,
        "flag": np.bool_(False),
        "arr": np.array([1, 2]),
        "path": Path("a/b"),
        "na": pd.NA,
        "table": pd.DataFrame({"a": [1.0, np.nan]}),
    }
    data = json.loads(write_json(obj, tmp_path / "r.json").read_text())
    assert data == {
        "n": 3,
        "x": 0.5,
        "nan": None,
        "inf": None,
        "flag": False,
        "arr": [1, 2],
        "path": "a/b",
        "na": None,
        "table": [{"a": 1.0}, {"a": None}],
    }


def test_write_json_rejects_unknown(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="JSON"):
        write_json({"x": object()}, tmp_path / "r.json")


def test_manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    data = tmp_path / "export.csv"
    data.write_bytes(b"id,q1\n1,2\n")
    manifest = build_manifest(
        inputs=[data],
        parameters={"cohort": "2025", "out": Path("reports/x")},
        key_fingerprint="sha256:abcd",
        extra={"config_sha256": "ff"},
        repo=tmp_path,
    )
    assert manifest["created_at"] == "2023-11-14T22:13:20Z"
    assert manifest["inputs"] == [
        {
            "path": str(data),
            "name": "export.csv",
            "sha256": hashlib.sha256(b"id,q1\n1,2\n").hexdigest(),
            "size": 10,
        }
    ]
    assert manifest["git_commit"] is None  # tmp_path is not a repository
    assert manifest["key_fingerprint"] == "sha256:abcd"
    assert manifest["parameters"] == {"cohort": "2025", "out": "reports/x"}
    for name in (
        "mentoreval",
        "pandas",
        "numpy",
        "scipy",
        "statsmodels",
        "pingouin",
        "seaborn",
        "matplotlib",
        "papermill",
        "nbconvert",
        "weasyprint",
    ):
        assert name in manifest["packages"]
    assert manifest["packages"]["pandas"] == pd.__version__
    json.loads(write_json(manifest, tmp_path / "manifest.json").read_text())


def test_manifest_missing_input(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="missing"):
        build_manifest(inputs=[tmp_path / "nope.csv"], parameters={}, key_fingerprint=None)


def test_table_json_round_trips_types_and_full_precision() -> None:
    from mentoreval.outputs import table_from_json, table_json

    df = pd.DataFrame({
        "scale": ["total", None], "n_pairs": [np.nan, np.nan], "items": [5, 19],
        "mean_pre": [3.1272727272727274, -0.041666666666666664], "suppressed": [True, False],
    })  # fmt: skip
    text = json.dumps(table_json(df))
    back = table_from_json(json.loads(text))
    assert back.columns.tolist() == df.columns.tolist()
    # a column suppressed throughout is still a column of numbers, not of text
    assert back["n_pairs"].dtype == "float64" and back["n_pairs"].isna().all()
    assert back["items"].tolist() == [5, 19] and back["suppressed"].tolist() == [True, False]
    assert back["mean_pre"].tolist() == df["mean_pre"].tolist()  # bit for bit
    assert back["scale"].isna().tolist() == [False, True]
