"""Tests for mentoreval.store.parquet: idempotence, replacement, partitions, queries."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from mentoreval.errors import ConfigError, DataError, MentorevalError
from mentoreval.store.parquet import add_cohort, ledger_dir, list_cohorts, load_table, query


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def scores(n: int = 3, shift: float = 0.0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "participant_id": [f"p{i}" for i in range(n)],
            "wave": "pre",
            "scale": "total",
            "score": [float(i) + shift for i in range(n)],
        }
    )


def meetings() -> pd.DataFrame:
    return pd.DataFrame({"mentee_id": ["p0", "p1"], "minutes": [30.0, 45.0]})


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under root with its inode and mtime (ns): unchanged means not rewritten."""
    return {
        str(p.relative_to(root)): (p.stat().st_ino, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def add(root: Path, **kw):
    args = {
        "programme": "md-peer",
        "cohort": "2025",
        "year": 2025,
        "tables": {"scores": scores(), "meetings": meetings()},
        "inputs_sha256": [sha("pre.csv"), sha("post.csv")],
    }
    args.update(kw)
    return add_cohort(root, **args)


def test_add_writes_hive_partitions_and_manifest(tmp_path: Path) -> None:
    result = add(tmp_path, metadata={"config_sha256": sha("study.yaml")})
    assert result.status == "added"
    assert result.tables == ("meetings", "scores")
    part = Path("programme=md-peer", "cohort=2025", "year=2025")
    assert (tmp_path / "tables" / "scores" / part / "data.parquet").is_file()
    assert (tmp_path / "tables" / "meetings" / part / "data.parquet").is_file()
    manifest = json.loads(result.manifest.read_text())
    assert result.manifest == tmp_path / "cohorts" / part / "manifest.json"
    assert manifest["inputs_sha256"] == sorted([sha("pre.csv"), sha("post.csv")])
    assert manifest["tables"]["scores"] == {
        "rows": 3,
        "columns": ["participant_id", "wave", "scale", "score"],
    }
    assert manifest["metadata"] == {"config_sha256": sha("study.yaml")}
    assert "added cohort md-peer/2025/2025" in str(result)
    # Partition columns are not duplicated inside the files.
    schema = pq.read_schema(tmp_path / "tables" / "scores" / part / "data.parquet")
    assert schema.names == ["participant_id", "wave", "scale", "score"]


def test_same_inputs_are_unchanged_and_nothing_is_rewritten(tmp_path: Path) -> None:
    add(tmp_path)
    before = snapshot(tmp_path)
    # Same set of hashes in another order and case: still the same inputs.
    again = add(
        tmp_path,
        inputs_sha256=[sha("post.csv").upper(), sha("pre.csv")],
        tables={"scores": scores(shift=99)},
    )
    assert again.status == "unchanged"
    assert again.tables == ("meetings", "scores")
    assert snapshot(tmp_path) == before
    assert "unchanged" in again.message
    assert load_table(tmp_path, "scores")["score"].tolist() == [0.0, 1.0, 2.0]


def test_changed_inputs_replace_the_cohort_and_say_so(tmp_path: Path) -> None:
    add(tmp_path)
    add(tmp_path, cohort="2024", year=2024)
    result = add(
        tmp_path,
        tables={"scores": scores(n=2, shift=10)},  # meetings no longer supplied
        inputs_sha256=[sha("pre.csv"), sha("post-v2.csv")],
    )
    assert result.status == "replaced"
    assert result.previous_inputs_sha256 == tuple(sorted([sha("pre.csv"), sha("post.csv")]))
    assert "replaced cohort md-peer/2025/2025" in result.message
    assert "1 new, 1 no longer used" in result.message
    got = load_table(tmp_path, "scores", years=2025)
    assert got["score"].tolist() == [10.0, 11.0]
    # The old meetings table of the replaced cohort is gone; the 2024 one stays.
    assert load_table(tmp_path, "meetings")["year"].tolist() == [2024, 2024]
    assert (
        not (tmp_path / "tables/meetings/programme=md-peer/cohort=2025")
        .joinpath("year=2025")
        .exists()
    )
    assert not (tmp_path / ".staging").exists()
    assert not (tmp_path / ".lock").exists()


def test_force_rewrites_unchanged_inputs(tmp_path: Path) -> None:
    add(tmp_path)
    result = add(tmp_path, tables={"scores": scores(shift=1)}, force=True)
    assert result.status == "replaced"
    assert load_table(tmp_path, "scores")["score"].tolist() == [1.0, 2.0, 3.0]


def test_list_cohorts_and_load_table_filters(tmp_path: Path) -> None:
    assert list(list_cohorts(tmp_path).columns)[:3] == ["programme", "cohort", "year"]
    assert list_cohorts(tmp_path).empty
    add(tmp_path, programme="md-peer", cohort="2025", year=2025)
    add(tmp_path, programme="md-peer", cohort="2024", year=2024, inputs_sha256=[sha("a")])
    add(tmp_path, programme="nursing", cohort="2025B", year=2025, inputs_sha256=[sha("b")])
    cohorts = list_cohorts(tmp_path)
    assert cohorts[["programme", "cohort", "year"]].to_numpy().tolist() == [
        ["md-peer", "2024", 2024],
        ["md-peer", "2025", 2025],
        ["nursing", "2025B", 2025],
    ]
    assert cohorts["n_inputs"].tolist() == [1, 2, 1]
    assert cohorts["tables"].iloc[0] == "meetings, scores"

    everything = load_table(tmp_path, "scores")
    assert list(everything.columns) == [
        "programme",
        "cohort",
        "year",
        "participant_id",
        "wave",
        "scale",
        "score",
    ]
    assert len(everything) == 9
    assert everything["cohort"].tolist()[:3] == ["2024"] * 3  # cohort "2024" stays text
    assert everything["year"].dtype.kind == "i"
    assert len(load_table(tmp_path, "scores", programme="nursing")) == 3
    assert len(load_table(tmp_path, "scores", programme=["md-peer"], years=[2025])) == 3
    empty = load_table(tmp_path, "scores", years=[1999])
    assert empty.empty
    assert list(empty.columns) == list(everything.columns)


def test_query_sees_every_table_and_cohorts_view(tmp_path: Path) -> None:
    add(tmp_path)
    add(tmp_path, cohort="2024", year=2024, inputs_sha256=[sha("x")])
    out = query(
        tmp_path,
        "SELECT year, count(*) AS n FROM scores GROUP BY year ORDER BY year",
    )
    assert out.to_dict("list") == {"year": [2024, 2025], "n": [3, 3]}
    joined = query(
        tmp_path,
        "SELECT c.n_inputs, count(*) AS n FROM meetings m JOIN cohorts c "
        "USING (programme, cohort, year) GROUP BY c.n_inputs ORDER BY 1",
    )
    assert joined.to_dict("list") == {"n_inputs": [1, 2], "n": [2, 2]}


def test_query_errors_name_the_tables(tmp_path: Path) -> None:
    add(tmp_path)
    with pytest.raises(MentorevalError, match="query on store") as info:
        query(tmp_path, "SELECT * FROM nope")
    assert "meetings, scores" in str(info.value)
    with pytest.raises(DataError, match="no table 'nope'"):
        load_table(tmp_path, "nope")


def test_incomplete_cohort_without_manifest_is_ignored(tmp_path: Path) -> None:
    add(tmp_path)
    result = add(tmp_path, cohort="2024", year=2024, inputs_sha256=[sha("x")])
    result.manifest.unlink()  # as if a crash happened between the swap steps
    assert list_cohorts(tmp_path)["cohort"].tolist() == ["2025"]
    assert set(load_table(tmp_path, "scores")["cohort"]) == {"2025"}
    # Re-adding the incomplete cohort works and counts as new.
    assert add(tmp_path, cohort="2024", year=2024, inputs_sha256=[sha("x")]).status == "added"


def test_bad_arguments_are_reported_together(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        add_cohort(
            tmp_path,
            programme="md/peer",
            cohort="",
            year=25,  # type: ignore[arg-type]
            tables={"Scores!": scores(), "cohorts": scores()},
            inputs_sha256=["not-a-hash"],
        )
    text = str(info.value)
    assert text.startswith("6 problems")
    for fragment in ("programme", "cohort", "year", "'Scores!'", "'cohorts'", "not-a-hash"):
        assert fragment in text
    assert not (tmp_path / "tables").exists()


def test_partition_columns_must_agree(tmp_path: Path) -> None:
    ok = scores().assign(year=2025, programme="md-peer")
    assert add(tmp_path, tables={"scores": ok}).status == "added"
    bad = scores().assign(cohort="2023")
    with pytest.raises(DataError, match="column 'cohort'"):
        add(tmp_path, tables={"scores": bad}, force=True)


def test_ledger_dir_is_kept_inside_the_store(tmp_path: Path) -> None:
    assert ledger_dir(tmp_path) == tmp_path / "ledger"
    add(tmp_path)
    assert (tmp_path / "ledger").is_dir()
    assert list_cohorts(tmp_path)["cohort"].tolist() == ["2025"]


def test_stale_lock_is_taken_over(tmp_path: Path) -> None:
    (tmp_path / ".store.lock").write_text("999999999")  # no such process
    assert add(tmp_path / "store").status == "added"
    assert not (tmp_path / ".store.lock").exists()


def test_live_lock_times_out_naming_the_process(tmp_path: Path) -> None:
    import os

    (tmp_path / ".store.lock").write_text(str(os.getpid()))
    with pytest.raises(
        MentorevalError, match=f"another run is writing here \\(pid {os.getpid()}\\)"
    ):
        add(tmp_path / "store", lock_timeout=0.1)


def test_a_folder_holding_other_files_is_refused_as_a_store(tmp_path: Path) -> None:
    (tmp_path / "thesis.docx").write_text("mine")
    with pytest.raises(MentorevalError, match=r"did not write \(thesis\.docx\)"):
        add(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thesis.docx"]


# --- ingest → store (the CLI and mentoreval.report.annual.store_cohort) -------------------------

DEMO_2023 = Path(__file__).resolve().parents[2] / "data" / "demo" / "peer" / "2023"


def _ingest(study: Path, out: Path, store: Path, capsys: pytest.CaptureFixture[str]) -> str:
    from mentoreval.cli import main

    with pytest.raises(SystemExit) as info:
        main(["ingest", str(study), "--out", str(out), "--store", str(store)])
    output = capsys.readouterr().out
    assert info.value.code == 0, output
    return output


def test_ingest_adds_to_store_idempotently_and_replaces_a_changed_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mentoreval.ingest.protect import keygen

    keygen(tmp_path / "keys" / "demo.key")
    monkeypatch.setenv("MENTOREVAL_KEY_FILE", str(tmp_path / "keys" / "demo.key"))
    study_dir = tmp_path / "peer-2023"
    shutil.copytree(DEMO_2023, study_dir)
    study, out, store = study_dir / "study.yaml", tmp_path / "processed", tmp_path / "store"

    first = _ingest(study, out, store, capsys)
    assert "added cohort peer/2023/2023" in first
    stored = list_cohorts(store)
    assert stored[["programme", "cohort", "year", "n_inputs"]].to_numpy().tolist() == [
        ["peer", "2023", 2023, 4]  # two exports, the meeting log, the study config
    ]
    assert {"scores", "participants", "meetings", "dose", "instruments"} <= set(
        stored["tables"].iloc[0].split(", ")
    )
    before = snapshot(store / "tables")

    again = _ingest(study, out, store, capsys)
    assert "cohort peer/2023/2023 unchanged (same inputs already stored)" in again
    assert snapshot(store / "tables") == before

    # A corrected export arrives: one late response removed from the follow-up file.
    post = study_dir / "exports" / "post_qualtrics.csv"
    lines = post.read_text(encoding="utf-8").splitlines(keepends=True)
    post.write_text("".join(lines[:-1]), encoding="utf-8")
    changed = _ingest(study, out, store, capsys)
    assert "replaced cohort peer/2023/2023: inputs changed (1 new, 1 no longer used)" in changed
    assert len(list_cohorts(store)) == 1
    dose = load_table(store, "dose")
    scores_table = load_table(store, "scores")
    # meetings were pseudonymised with the survey key, so mentees link to their scores
    assert set(dose["mentee_id"]) & set(scores_table["participant_id"])


def test_store_cohort_needs_the_partition(tmp_path: Path) -> None:
    from mentoreval.ingest.pipeline import ingest_study
    from mentoreval.store.cohorts import store_cohort

    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "pre.csv").write_text("sid,who5_1,who5_2,who5_3,who5_4,who5_5\nA1,3,3,4,2,3\n")
    (folder / "study.yaml").write_text(
        "title: Demo\nparticipant_id: {column: sid}\n"
        "sources: [{path: pre.csv, wave: pre}]\ninstruments: {who5: {}}\n"
        "analysis: {pre: pre, post: pre}\n"
    )
    result = ingest_study(folder / "study.yaml", key=bytes(32), write=False)
    with pytest.raises(ConfigError, match="programme, cohort, year"):
        store_cohort(result, folder / "study.yaml", tmp_path / "store")
