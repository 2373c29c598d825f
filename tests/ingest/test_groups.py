"""Group levels by code or by label (issue 14): REDCap ``yesno`` fields with their
dictionary, Qualtrics ``Yes``/``No`` answers, SPSS value labels, named levels; declared
levels that match nothing stop ``validate`` and ``ingest`` (exit 2) listing the levels
present. Through the command line, as a user runs it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cli_run import run_mentoreval
from mentoreval.ingest.protect import keygen

WHO5 = [f"who5_{i}" for i in range(1, 6)]
DICT_HEADER = (
    '"Variable / Field Name","Form Name","Section Header","Field Type","Field Label",'
    '"Choices, Calculations, OR Slider Labels","Field Note",'
    '"Text Validation Type OR Show Slider Number","Text Validation Min",'
    '"Text Validation Max","Identifier?","Branching Logic (Show field only if...)",'
    '"Required Field?","Custom Alignment","Question Number (surveys only)",'
    '"Matrix Group Name","Matrix Ranking?","Field Annotation"'
)
WHO5_CHOICES = (
    '"0, At no time | 1, Some of the time | 2, Less than half of the time | '
    '3, More than half of the time | 4, Most of the time | 5, All of the time"'
)


@pytest.fixture
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "k.key"  # outside the study folder
    keygen(path)
    return path


def run(key_file: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return run_mentoreval(*args, env={"MENTOREVAL_KEY_FILE": str(key_file)})


def _answers(i: int, wave: int) -> list[str]:
    rng = np.random.default_rng([i, wave])
    return [str(v) for v in rng.integers(0, 6, size=5)]


def redcap_study(folder: Path, group: str, *, sex: bool = False) -> Path:
    """A REDCap raw export (events pre/post) whose group field ``mentored`` is ``yesno``
    (stored 1/0, six students each), its data dictionary and a study config with the
    given ``analysis.group`` body."""
    head = ["record_id", "redcap_event_name", "mentored", *(["sex"] if sex else []), *WHO5]
    rows = [",".join(head)]
    for i in range(12):
        for w, event in enumerate(("pre_arm_1", "post_arm_1")):
            cells = [f"R{i:02d}", event, "1" if i < 6 else "0"]
            rows.append(",".join([*cells, *([str(i % 2 + 1)] if sex else []), *_answers(i, w)]))
    (folder / "export.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    fields = [
        "record_id,baseline,,text,Record ID" + "," * 13,
        "mentored,baseline,,yesno,Mentored this year?" + "," * 13,
        *(['sex,baseline,,radio,Sex,"1, Female | 2, Male"' + "," * 12] if sex else []),
        *(f"{c},who5,,radio,Item {c},{WHO5_CHOICES}" + "," * 12 for c in WHO5),
    ]
    (folder / "dictionary.csv").write_text(
        "\n".join([DICT_HEADER, *fields]) + "\n", encoding="utf-8"
    )
    study = folder / "study.yaml"
    study.write_text(
        "title: REDCap yesno group\nparticipant_id: {column: record_id}\n"
        "sources:\n  - {path: export.csv, format: redcap, dictionary: dictionary.csv,"
        " events: {pre_arm_1: pre, post_arm_1: post}}\n"
        + ("columns: {covariates: [sex]}\n" if sex else "")
        + "instruments: {who5: {}}\n"
        f"analysis: {{group: {group}}}\n",
        encoding="utf-8",
    )
    return study


def qualtrics_study(folder: Path, group: str) -> Path:
    """Two current-layout Qualtrics exports (pre, post; 3 header rows) whose embedded
    ``mentored`` field holds ``Yes``/``No`` (six students each)."""
    cols = ["ResponseId", "student_id", "mentored", *WHO5]
    for w, wave in enumerate(("pre", "post")):
        lines = [cols, cols, [f'{{"ImportId":"{c}"}}' for c in cols]]
        lines += [
            [f"R_{w}{i}", f"S{i:02d}", "Yes" if i < 6 else "No", *_answers(i, w)] for i in range(12)
        ]
        (folder / f"{wave}.csv").write_text(
            "\n".join(",".join(line) for line in lines) + "\n", encoding="utf-8"
        )
    study = folder / "study.yaml"
    study.write_text(
        "title: Qualtrics Yes/No group\nparticipant_id: {column: student_id}\n"
        "sources: [{path: pre.csv, wave: pre}, {path: post.csv, wave: post}]\n"
        "columns: {meta: [ResponseId]}\ninstruments: {who5: {}}\n"
        f"analysis: {{group: {group}}}\n",
        encoding="utf-8",
    )
    return study


def ingested_groups(key_file: Path, study: Path) -> dict[str, int]:
    out = study.parent / "processed"
    done = run(key_file, "ingest", study, "--out", out, "--no-store")
    assert done.returncode == 0, done.stderr
    people = pd.read_parquet(out / "participants.parquet")
    return {str(k): int(v) for k, v in people["group"].value_counts().items()}


@pytest.mark.parametrize(
    "group",
    [
        "{column: mentored, treated: '1', control: '0'}",
        "{column: mentored, treated: 1, control: 0}",
        "{column: mentored, treated: 'Yes', control: 'No'}",
    ],
)
def test_redcap_yesno_group_is_matched_by_code_or_by_dictionary_label(
    tmp_path: Path, key_file: Path, group: str
) -> None:
    study = redcap_study(tmp_path, group)
    checked = run(key_file, "validate", study)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "not analysed" not in checked.stderr
    treated = "Yes" if "Yes" in group else "1"
    control = "No" if "Yes" in group else "0"
    assert ingested_groups(key_file, study) == {treated: 6, control: 6}


def test_named_levels_give_the_comparison_design_under_their_names(
    tmp_path: Path, key_file: Path
) -> None:
    from mentoreval.disclose import DisclosurePolicy
    from mentoreval.report.cohort.analysis import analyse_cohort

    study = redcap_study(
        tmp_path,
        "{column: mentored, levels: {mentored: ['1', 'Yes'], comparison: ['0', 'No']},"
        " treated: mentored, control: comparison}",
    )
    assert ingested_groups(key_file, study) == {"mentored": 6, "comparison": 6}
    res = analyse_cohort(
        tmp_path / "processed",
        study,
        policy=DisclosurePolicy(profile="off"),
        imputations=2,
        use_ledger=False,
    )
    assert res.design == "comparison"
    assert sorted(res.tables["comparisons"]["group"].astype(str)) == ["comparison", "mentored"]


@pytest.mark.parametrize("command", ["validate", "ingest"])
def test_redcap_group_levels_not_in_the_data_stop_listing_the_levels_present(
    tmp_path: Path, key_file: Path, command: str
) -> None:
    study = redcap_study(tmp_path, "{column: mentored, treated: Mentored, control: '0'}")
    args = ["--out", tmp_path / "processed", "--no-store"] if command == "ingest" else []
    done = run(key_file, command, study, *args)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "analysis.group.treated 'Mentored' matches no value of the group column" in done.stderr
    assert "'0' = 'No' (6 students), '1' = 'Yes' (6 students)" in done.stderr, done.stderr
    assert not (tmp_path / "processed").exists()


@pytest.mark.parametrize(
    "group",
    [
        "{column: mentored, treated: 'Yes', control: 'No'}",
        "{column: mentored, treated: yes, control: NO}",
        "{column: mentored, levels: {mentored: ['1', 'Yes'], comparison: ['0', 'No']},"
        " treated: mentored, control: comparison}",
    ],
)
def test_qualtrics_yes_no_group_is_matched_by_label_or_named_level(
    tmp_path: Path, key_file: Path, group: str
) -> None:
    study = qualtrics_study(tmp_path, group)
    checked = run(key_file, "validate", study)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    names = ("mentored", "comparison") if "levels" in group else group.split("treated: ")[1]
    counts = ingested_groups(key_file, study)
    if "levels" in group:
        assert counts == {"mentored": 6, "comparison": 6}
    else:
        assert sorted(counts.values()) == [6, 6] and len(counts) == 2, (names, counts)


@pytest.mark.parametrize("command", ["validate", "ingest"])
def test_qualtrics_group_code_without_labels_stops_listing_the_labels_present(
    tmp_path: Path, key_file: Path, command: str
) -> None:
    study = qualtrics_study(tmp_path, "{column: mentored, treated: '1', control: '2'}")
    args = ["--out", tmp_path / "processed", "--no-store"] if command == "ingest" else []
    done = run(key_file, command, study, *args)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "the levels present are: 'No' (6 students), 'Yes' (6 students)" in done.stderr


def test_spss_value_labels_name_the_group(tmp_path: Path, key_file: Path) -> None:
    import pyreadstat

    frame = pd.DataFrame(
        {
            "sid": [f"S{i:02d}" for i in range(12)] * 2,
            "wave": [1.0] * 12 + [2.0] * 12,
            "arm": [1.0 if i < 6 else 2.0 for i in range(12)] * 2,
            **{c: [float((i + k) % 6) for i in range(24)] for k, c in enumerate(WHO5)},
        }
    )
    for wave in (1.0, 2.0):
        pyreadstat.write_sav(
            frame[frame["wave"] == wave].drop(columns="wave"),
            str(tmp_path / f"w{int(wave)}.sav"),
            variable_value_labels={"arm": {1.0: "Mentored", 2.0: "Waiting list"}},
        )
    study = tmp_path / "study.yaml"
    study.write_text(
        "title: SPSS\nparticipant_id: {column: sid}\n"
        "sources: [{path: w1.sav, wave: pre}, {path: w2.sav, wave: post}]\n"
        "instruments: {who5: {}}\n"
        "analysis: {group: {column: arm, treated: mentored, control: '2'}}\n",
        encoding="utf-8",
    )
    checked = run(key_file, "validate", study)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert ingested_groups(key_file, study) == {"mentored": 6, "2": 6}


def test_coded_covariate_is_analysed_under_its_labels(tmp_path: Path, key_file: Path) -> None:
    study = redcap_study(tmp_path, "{column: mentored, treated: '1', control: '0'}", sex=True)
    ingested_groups(key_file, study)
    people = pd.read_parquet(tmp_path / "processed" / "participants.parquet")
    assert people["sex"].value_counts().to_dict() == {"Female": 6, "Male": 6}


def test_named_level_missing_or_listed_twice_is_a_config_error(
    tmp_path: Path, key_file: Path
) -> None:
    study = redcap_study(
        tmp_path,
        "{column: mentored, levels: {mentored: ['1', 'Yes'], comparison: ['0', 'yes']},"
        " treated: mentored, control: waitlist}",
    )
    done = run(key_file, "validate", study)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "analysis.group.control" in done.stderr and "'waitlist'" in done.stderr
    assert "'yes' is listed under two levels, 'mentored' and 'comparison'" in done.stderr


def test_covariate_with_labels_for_some_codes_only_stays_numeric(
    tmp_path: Path, key_file: Path
) -> None:
    import pyreadstat

    frame = pd.DataFrame(
        {
            "sid": [f"S{i:02d}" for i in range(12)],
            "arm": ["m" if i < 6 else "c" for i in range(12)],
            "age": [float(20 + i) for i in range(11)] + [99.0],
            **{c: [float((i + k) % 6) for i in range(12)] for k, c in enumerate(WHO5)},
        }
    )
    for wave in ("pre", "post"):
        pyreadstat.write_sav(
            frame, str(tmp_path / f"{wave}.sav"), variable_value_labels={"age": {99.0: "refused"}}
        )
    study = tmp_path / "study.yaml"
    study.write_text(
        "title: SPSS\nparticipant_id: {column: sid}\n"
        "sources: [{path: pre.sav, wave: pre}, {path: post.sav, wave: post}]\n"
        "columns: {covariates: [age]}\ninstruments: {who5: {}}\n"
        "analysis: {group: {column: arm, treated: m, control: c}}\n",
        encoding="utf-8",
    )
    ingested_groups(key_file, study)
    people = pd.read_parquet(tmp_path / "processed" / "participants.parquet")
    assert str(people["age"].dtype) in {"Float64", "double[pyarrow]", "float64"}


def test_report_on_processed_data_without_the_declared_levels_stops_not_single_arm(
    tmp_path: Path, key_file: Path
) -> None:
    from mentoreval.disclose import DisclosurePolicy
    from mentoreval.errors import DataError
    from mentoreval.report.cohort.analysis import analyse_cohort

    study = redcap_study(tmp_path, "{column: mentored, treated: '1', control: '0'}")
    ingested_groups(key_file, study)
    # the config changed after the ingest: the processed data hold '1'/'0', not the names
    study.write_text(
        study.read_text().replace(
            "treated: '1', control: '0'",
            "levels: {mentored: ['1'], comparison: ['0']}, treated: mentored, control: comparison",
        )
    )
    with pytest.raises(DataError) as info:
        analyse_cohort(
            tmp_path / "processed", study, policy=DisclosurePolicy(profile="off"), use_ledger=False
        )
    said = str(info.value.problems[0])
    assert "analysis.group" in said and "['0', '1']" in said and "mentoreval ingest" in said
