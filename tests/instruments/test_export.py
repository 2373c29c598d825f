"""instruments export: REDCap dictionary and Qualtrics TXT; a REDCap export round-trips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from mentoreval.cli import app
from mentoreval.ingest.pipeline import ingest_study
from mentoreval.instruments.definitions import load_instrument
from mentoreval.instruments.export import (
    REDCAP_DICTIONARY_HEADER,
    to_qualtrics_txt,
    to_redcap_dictionary,
)


def test_redcap_dictionary_shape() -> None:
    d = to_redcap_dictionary(["who5", "mes", "cbi"])
    assert list(d.columns) == REDCAP_DICTIONARY_HEADER
    assert d.iloc[0]["Variable / Field Name"] == "record_id" and d.iloc[0]["Identifier?"] == "y"
    items = d[d["Field Type"] == "radio"]
    assert items["Variable / Field Name"].tolist() == [
        *load_instrument("who5").item_ids,
        *load_instrument("mes").item_ids,
        *load_instrument("cbi").item_ids,
    ]
    mes = items[items["Form Name"] == "mes"]
    assert mes["Field Label"].str.contains("enter the licensed wording").all()  # text not shipped
    assert (
        mes["Choices, Calculations, OR Slider Labels"].str.contains("9, N/A").all()
    )  # missing code offered
    # Matrix groups are contiguous runs and never mix response scales.
    cbi = items[items["Form Name"] == "cbi"]
    for _, grp in cbi.groupby("Matrix Group Name"):
        assert grp["Choices, Calculations, OR Slider Labels"].nunique() == 1  # noqa: PD101


def test_qualtrics_txt() -> None:
    txt = to_qualtrics_txt(["who5", "mes"])
    assert txt.startswith("[[AdvancedFormat]]")
    assert txt.count("[[Question:MC:SingleAnswer:Horizontal]]") == 5 + 12
    assert "[[ID:mes_12]]" in txt and "[MES item 12 — enter the licensed wording]" in txt


def test_cli_export(tmp_path: Path) -> None:
    r = CliRunner().invoke(
        app,
        [
            "instruments",
            "export",
            "who5,cbi",
            "--to",
            "qualtrics",
            "--out",
            str(tmp_path / "s.txt"),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "[[ID:cbi_c6]]" in (tmp_path / "s.txt").read_text()


@pytest.mark.parametrize("with_dictionary", [True, False])
def test_redcap_export_round_trips_without_item_map(tmp_path: Path, with_dictionary: bool) -> None:
    dict_path = tmp_path / "dict.csv"
    r = CliRunner().invoke(
        app, ["instruments", "export", "who5", "mes", "--to", "redcap", "--out", str(dict_path)]
    )
    assert r.exit_code == 0, r.output
    d = pd.read_csv(dict_path, dtype=str, keep_default_na=False)
    fields = d["Variable / Field Name"].tolist()
    rng = np.random.default_rng(3)
    # A records export of that project: record_id, every field, one <form>_complete per form.
    rows = []
    for i in range(20):
        row = {"record_id": f"{1000 + i}"}
        for f in fields[1:]:
            choices = d.loc[
                d["Variable / Field Name"] == f, "Choices, Calculations, OR Slider Labels"
            ].iloc[0]
            codes = [c.split(",")[0].strip() for c in choices.split("|")]
            row[f] = str(rng.choice(codes))
        row["who5_complete"] = "2"
        row["mes_complete"] = "2"
        rows.append(row)
    pd.DataFrame(rows).to_csv(tmp_path / "records.csv", index=False)
    extra = "    dictionary: dict.csv\n" if with_dictionary else ""
    (tmp_path / "study.yaml").write_text(
        "title: RT\nparticipant_id: {column: record_id}\nsources:\n  - path: records.csv\n    format: redcap\n"
        f"    wave: pre\n{extra}instruments: {{who5: {{}}, mes: {{}}}}\nanalysis: {{pre: pre, post: pre}}\n"
    )
    res = ingest_study(tmp_path / "study.yaml", key=bytes(32), out_dir=tmp_path / "out")
    assert res.summary["rows_kept"] == 20 and res.summary["answers_quarantined"] == 0
    assert len(res.responses) == 20 * (5 + 12)
    mes = res.responses[res.responses["instrument"] == "mes"]
    nine = np.array([r["mes_1"] == "9" for r in rows])
    assert (mes[mes["item"] == "mes_1"]["missing_reason"].notna().to_numpy() == nine).all()
    assert res.scores["score"].notna().any()
