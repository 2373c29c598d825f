"""The demo studies of the SGIC-linked and the randomised design (issue 17): each validates
with its design named, and its report's results.json and brief state that design.

Analysis only (ingest without writing, then ``write_cohort_outputs``): the notebook and
PDF of a full report add nothing these checks read and take seconds per study.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from mentoreval.cli import main
from mentoreval.config.study import load_study
from mentoreval.disclose.ledger import ReleaseLedger
from mentoreval.ingest.pipeline import IngestResult, ingest_study
from mentoreval.ingest.protect import keygen
from mentoreval.report.cohort.brief import cohort_brief
from mentoreval.report.cohort.designs import analyse_study
from mentoreval.report.cohort.document import open_cohort_report
from mentoreval.report.cohort.outputs import write_cohort_outputs
from mentoreval.synth.sgic import write_sgic_study

DESIGNS = Path(__file__).resolve().parents[2] / "data" / "demo" / "designs"


def _report(name: str, folder: Path) -> tuple[IngestResult, dict, str]:
    """Ingest (nothing written) and analyse one demo; its results.json and brief text."""
    config = DESIGNS / name / "study.yaml"
    processed = ingest_study(config, out_dir=folder / "processed", key=bytes(32), write=False)
    results = analyse_study(processed, load_study(config), ledger=ReleaseLedger())
    write_cohort_outputs(results, folder / "out")
    saved = json.loads((folder / "out" / "results.json").read_text(encoding="utf-8"))
    brief = cohort_brief(open_cohort_report(folder / "out"))
    text = " ".join([brief.design, brief.findings_intro, *(f for _, f in brief.findings)])
    return processed, saved, text.replace("\u2019", "'")


def _validate(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """``mentoreval validate`` on a copy of the demo, beside the ``../../demo.key`` it names
    (in the checkout that key would sit in the data folder, and an earlier demo run's
    ``data/processed`` would hold another key's fingerprint)."""
    shutil.copytree(DESIGNS / name, tmp_path / "designs" / name)
    keygen(tmp_path / "demo.key")
    with pytest.raises(SystemExit) as done:
        main(["validate", str(tmp_path / "designs" / name / "study.yaml")])
    out = capsys.readouterr()
    assert done.value.code in (0, None), out.err
    return out.out


def test_sgic_demo_validates_as_linked_by_self_generated_code(tmp_path, capsys):
    out = _validate("sgic-2025", tmp_path, capsys)
    assert out.startswith(
        "Design: 2 waves (pre, post), linked by self-generated code, single group."
    )
    assert "self-generated codes (6 components, tolerance 1): 65 linked exactly" in out


def test_sgic_demo_links_its_known_pairs_and_is_reported_as_a_single_group(tmp_path):
    processed, saved, brief = _report("sgic-2025", tmp_path)
    # the known truth: the same generator and parameters as the committed demo
    truth = write_sgic_study(tmp_path / "truth", n_students=130, seed=2029).errors
    assert processed.manifest["design"]["linkage"] == {
        "method": "sgic",
        "exact": int((truth == 0).sum()),  # 65
        "tolerant": int((truth == 1).sum()),  # 27
        "ambiguous": 0,
        # unlinked records: 26 students who never answered the follow-up, and both waves of
        # the 12 whose follow-up code is two components off (beyond the tolerance)
        "unlinked": 130 - len(truth) + 2 * int((truth == 2).sum()),  # 50
        "tolerance": 1,
        "components": 6,
    }
    assert saved["design"] == "single_arm"
    assert "programme's effect" not in brief and "not effects of the programme" in brief
    # the design says the survey was anonymous and how it was linked, and who may be missing
    assert saved["info"]["linked_by_code"] is True
    assert "linked by a code made up from personal facts" in brief
    assert "codes did not match are left out" in brief
    flow = saved["table_data"]["flow"]
    reasons = pd.DataFrame(flow["rows"], columns=flow["columns"])["reasons"].tolist()
    assert "no follow-up response with a matching code" in reasons
    # the report's linkage table names the code's linkage
    table = saved["table_data"]["linkage"]
    shown = dict(zip(*(pd.DataFrame(table["rows"], columns=table["columns"])[c]
                       for c in ("measure", "n")), strict=True))  # fmt: skip
    assert shown == {
        "participants": 142, "linked pairs": 92, "baseline only": 38, "follow-up only": 12,
        "linked pairs with the same self-generated code": 65,
        "linked pairs whose codes differ within the tolerance": 27,
        "not linked: code ambiguous (two or more candidates)": 0,
    }  # fmt: skip


def test_a_small_count_of_tolerant_code_links_is_hidden_with_a_complement(tmp_path):
    """7 pairs linked within the tolerance: hidden, and so is the exact count (linked
    pairs minus it), while the linked pairs stay readable."""
    study = write_sgic_study(tmp_path, n_students=130, seed=5, one_error=0.05)
    processed = ingest_study(study.config, out_dir=tmp_path / "o", key=bytes(32), write=False)
    assert processed.manifest["design"]["linkage"]["tolerant"] == 7
    results = analyse_study(processed, load_study(study.config), ledger=ReleaseLedger())
    link = results.tables["linkage"].set_index("measure")["n"]
    assert pd.isna(link["linked pairs whose codes differ within the tolerance"])
    assert pd.isna(link["linked pairs with the same self-generated code"])
    assert link["linked pairs"] == 94


def test_randomised_demo_validates_as_randomised(tmp_path, capsys):
    out = _validate("randomised-2025", tmp_path, capsys)
    assert out.startswith(
        "Design: 2 waves (pre, post), linked by id, randomised groups "
        "(treated 'mentored', control 'waitlist')."
    )


def test_randomised_demo_speaks_of_the_programmes_effect_and_recovers_it(tmp_path):
    _, saved, brief = _report("randomised-2025", tmp_path)
    assert saved["design"] == "randomised"
    assert "randomly allocated" in brief and "The programme's effect" in brief
    assert saved["info"]["linked_by_code"] is False and "personal facts" not in brief
    # the control arm is named as the config names it: a waitlist, not "comparison" students
    assert "compared with waitlist students" in brief and "waitlist group" in brief
    assert "comparison students" not in brief
    truth = pd.read_csv(DESIGNS / "randomised-2025" / "truth.csv")
    change = truth[truth["wave"] == "post"].set_index("group")["change"]
    effect = change["mentored"] - change["waitlist"]  # 5.56 points
    table = saved["table_data"]["ancova"]
    ancova = pd.DataFrame(table["rows"], columns=table["columns"])
    assert ancova.loc[0, "ci_low"] < effect < ancova.loc[0, "ci_high"]
