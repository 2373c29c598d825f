"""Self-generated identification codes: normalising, linking across waves, the CLI through
validate and ingest, and the simulation of linkage on codes with typos."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mentoreval.config.study_model import Sgic
from mentoreval.ingest.linkage import MATCH_STATUS
from mentoreval.ingest.protect import keygen
from mentoreval.ingest.sgic import link_codes, normalise_component, read_codes
from mentoreval.synth.sgic import SGIC_COMPONENTS, generate_codes, sgic_config

THREE = Sgic.model_validate(
    {
        "components": [
            {"column": "mother", "kind": "letter"},
            {"column": "month", "kind": "month"},
            {"column": "sibs", "kind": "number"},
        ],
        "tolerance": 1,
    }
)


@pytest.mark.parametrize(
    ("kind", "typed", "expected"),
    [
        ("letter", ["Anna", " a", "Ä", "å", "\u00c1ngela", "a\u0301"], "a"),
        ("month", ["März", "maerz", "MAR", "3", "03", "march", "Mars", " 3. "], "3"),
        ("month", ["Dezember", "déc", "12", "December"], "12"),
        ("number", ["2", "02", "two", "Zwei", "deux", "2."], "2"),
        ("text", ["Saint-Étienne", "saint etienne", "SAINTETIENNE"], "saintetienne"),
    ],
)
def test_the_same_answer_typed_differently_normalises_to_one_value(
    kind: str, typed: list[str], expected: str
) -> None:
    assert {normalise_component(t, kind) for t in typed} == {expected}


@pytest.mark.parametrize(
    ("kind", "typed"),
    [("month", "13"), ("month", "0"), ("month", "soon"), ("number", "-1"), ("letter", "42")],
)
def test_an_answer_that_cannot_be_read_leaves_its_component_empty(kind: str, typed: str) -> None:
    assert normalise_component(typed, kind) == ""


def test_codes_from_component_columns_count_unreadable_answers() -> None:
    data = pd.DataFrame(
        {
            "mother": ["Érika", "e", None, "k"],
            "month": ["März", "3", "", "13"],
            "sibs": list("2201"),
        }
    )
    codes = read_codes(data, THREE)
    assert codes.code.tolist() == ["e|3|2", "e|3|2", "||0", "k||1"]
    assert codes.unreadable == [0, 1, 0] and not codes.bad_length.any()


def test_a_code_read_from_one_column_is_cut_by_widths_and_a_wrong_length_is_flagged() -> None:
    one = Sgic.model_validate(
        {
            "column": "code",
            "components": [{"width": 2, "kind": "text"}, {"width": 2, "kind": "month"}],
        }
    )
    codes = read_codes(pd.DataFrame({"code": ["AB-04", "ab 4", "Cd 12", None]}), one)
    assert codes.code.tolist() == ["ab|4", pd.NA, "cd|12", pd.NA]
    assert codes.bad_length.tolist() == [False, True, False, False]


def test_every_later_wave_links_to_the_reference_wave_and_takes_its_code() -> None:
    codes = pd.Series(["a|3|2", "b|5|0", "a|3|2", "b|5|1", "a|3|3", "b|6|0", "z|1|1"])
    comps = codes.str.split("|", expand=True)
    waves = pd.Series(["pre", "pre", "post", "post", "follow", "follow", "follow"])
    links = link_codes(codes, comps, waves, reference="pre", tolerance=1)
    assert links.code.tolist() == ["a|3|2", "b|5|0", "a|3|2", "b|5|0", "a|3|2", "b|5|0", "z|1|1"]
    assert [MATCH_STATUS[s] for s in links.status] == [
        "tolerant",  # a reference code: its strongest link over the waves (tolerant first)
        "tolerant",
        "exact",
        "tolerant",
        "tolerant",
        "tolerant",
        "unlinked",
    ]
    assert {k: links.counts[k] for k in MATCH_STATUS} == {
        "exact": 1,
        "tolerant": 3,
        "ambiguous": 0,
        "unlinked": 1,
    }


# --------------------------------------------------------------------------- CLI


def _main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[object, str, str]:
    from mentoreval.cli import main

    with pytest.raises(SystemExit) as info:
        main(argv)
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


WHO5 = ",who5_1,who5_2,who5_3,who5_4,who5_5"


def _sgic_study(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sgic: str) -> Path:
    keygen(tmp_path / "keys" / "k.key")
    monkeypatch.setenv("MENTOREVAL_KEY_FILE", str(tmp_path / "keys" / "k.key"))
    study = tmp_path / "study"
    study.mkdir()
    (study / "pre.csv").write_text(
        "mother,month,sibs" + WHO5 + "\n"
        "Anna,März,2,3,3,4,2,3\n"  # exact partner at post ('a', '03', 'two')
        "b,5,0,2,2,2,2,2\n"  # one component off at post (9 siblings)
        "C,7,1,1,1,1,1,1\n"  # two post codes one component away: ambiguous
        "d,1,1,4,4,4,4,4\n"  # no partner
        ",,,4,4,4,4,4\n",  # no code at all: quarantined
        encoding="utf-8",
    )
    (study / "post.csv").write_text(
        "mother,month,sibs" + WHO5 + "\n"
        "a,03,two,4,4,4,4,4\nB,5,9,3,3,3,3,3\nc,8,1,2,2,2,2,2\nc,7,3,2,2,2,2,2\nx,2,2,1,1,1,1,1\n",
        encoding="utf-8",
    )
    (study / "study.yaml").write_text(
        f"title: SGIC\nparticipant_id:\n  sgic: {sgic}\n"
        "sources: [{path: pre.csv, wave: pre}, {path: post.csv, wave: post}]\n"
        "instruments: {who5: {}}\n",
        encoding="utf-8",
    )
    return study / "study.yaml"


SGIC3 = (
    "{components: [{column: mother, kind: letter}, {column: month, kind: month}, "
    "{column: sibs, kind: number}], tolerance: 1}"
)


def test_validate_and_ingest_report_exact_tolerant_ambiguous_and_unlinked_codes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    study = _sgic_study(tmp_path, monkeypatch, SGIC3)
    line = (
        "self-generated codes (3 components, tolerance 1): 1 linked exactly, 1 linked with up "
        "to 1 differing component(s), 3 ambiguous (not linked), 2 unlinked"
    )
    code, out, err = _main(["validate", str(study), "--lenient"], capsys)
    assert code in (0, None) and f"note: {line}" in out
    assert "pre.csv: row 6: column 'mother': missing_id: every part of the self-generated" in err
    code, out, err = _main(
        ["ingest", str(study), "--out", str(tmp_path / "out"), "--no-store"], capsys
    )
    assert code in (0, None), err
    assert f"Linkage: {line}." in out and "2 linked pre/post pairs" in out
    link = pd.read_csv(tmp_path / "out" / "linkage.csv")
    assert link.groupby(["status", "code_link"]).size().to_dict() == {
        ("matched", "exact"): 1,
        ("matched", "tolerant"): 1,
        ("pre_only", "ambiguous"): 1,
        ("pre_only", "unlinked"): 1,
        ("post_only", "ambiguous"): 2,
        ("post_only", "unlinked"): 1,
    }
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["design"]["linkage"] == {
        "method": "sgic",
        "exact": 1,
        "tolerant": 1,
        "ambiguous": 3,
        "unlinked": 2,
        "tolerance": 1,
        "components": 3,
    }
    assert manifest["summary"]["sgic_tolerant"] == 1
    # The tolerant pair shares one pseudonym: its two waves are scored under one id.
    scores = pd.read_parquet(tmp_path / "out" / "scores.parquet")
    assert scores.groupby("participant_id", observed=True)["wave"].nunique().max() == 2


def test_the_raw_code_and_its_answers_never_reach_the_processed_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    study = _sgic_study(tmp_path, monkeypatch, SGIC3)
    code, _, err = _main(
        ["ingest", str(study), "--out", str(tmp_path / "out"), "--no-store"], capsys
    )
    assert code in (0, None), err
    texts = []
    for f in sorted((tmp_path / "out").iterdir()):
        if f.suffix == ".parquet":
            texts.append(pd.read_parquet(f).astype(str).to_csv())
        else:
            texts.append(f.read_text(encoding="utf-8"))
    blob = "\n".join(texts)
    for raw in ("a|3|2", "b|5|0", "c|7|1", "Anna", "März"):
        assert raw not in blob
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert "mother" not in manifest["inputs"]["pre.csv"]["dropped_columns"]


@pytest.mark.parametrize(
    ("sgic", "key"),
    [
        (
            "{components: [{column: mother, kind: letter}, {column: month, kind: month}], "
            "tolerance: 2}",
            "participant_id.sgic.tolerance",
        ),
        (
            "{components: [{column: mother, kind: letter}, {width: 2, kind: month}]}",
            "participant_id.sgic.components[1]",
        ),
        (
            "{components: [{column: mother, kind: letter}, {column: nope, kind: month}]}",
            "participant_id.sgic",
        ),
    ],
)
def test_a_code_that_cannot_be_read_stops_validate_naming_the_key(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    sgic: str,
    key: str,
) -> None:
    study = _sgic_study(tmp_path, monkeypatch, sgic)
    code, _, err = _main(["validate", str(study)], capsys)
    assert code == 2 and key in err and "Traceback" not in err


# --------------------------------------------------------------------------- simulation


def _recovery(n: int, seed: int) -> tuple[int, int, int, int]:
    """True pairs, true pairs linked, linked pairs, false links of one simulated cohort."""
    sim = generate_codes(n, seed=seed, errors_per_code=1)
    sgic = Sgic.model_validate(sgic_config(SGIC_COMPONENTS)["sgic"])
    data = pd.concat([sim.pre, sim.post], ignore_index=True)
    waves = pd.Series(["pre"] * len(sim.pre) + ["post"] * len(sim.post))
    codes = read_codes(data, sgic)
    links = link_codes(codes.code, codes.components, waves, reference="pre", tolerance=1)
    frame = pd.DataFrame({"code": links.code, "person": data["person"], "wave": waves})
    pre, post = frame[frame["wave"] == "pre"], frame[frame["wave"] == "post"]
    # Two students of one wave with one code are one participant (as duplicates are).
    pairs = pre.drop_duplicates("code").merge(post.drop_duplicates("code"), on="code")
    right = int((pairs["person_x"] == pairs["person_y"]).sum())
    true_pairs = int(post["person"].isin(pre["person"]).sum())
    return true_pairs, right, len(pairs), len(pairs) - right


def _check_rates(n: int, seeds: range) -> None:
    totals = np.array([_recovery(n, s) for s in seeds]).sum(axis=0)
    true_pairs, right, linked, false = totals
    assert right / true_pairs >= 0.95, f"recovered {right / true_pairs:.3f} of true pairs"
    assert false / linked <= 0.01, f"false links {false / linked:.4f}"


def test_short_simulation_one_error_per_code_recovers_95_percent_with_1_percent_false_links() -> (
    None
):
    _check_rates(250, range(3))


@pytest.mark.slow
def test_long_simulation_one_error_per_code_recovers_95_percent_with_1_percent_false_links() -> (
    None
):
    _check_rates(250, range(200))
