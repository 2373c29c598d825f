"""Filing cohorts in the store: ingest a study (if needed), add its meeting-log dose, store it.

Store stage, above ingest: :func:`store_cohort` is what ``mentoreval ingest`` and the
annual report run so that the store holds every listed cohort; unchanged inputs change nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from mentoreval.config.annual import AnnualConfig
from mentoreval.errors import (
    ConfigError,
    DataError,
    KeyMismatchError,
    Problem,
)
from mentoreval.frames import iter_rows
from mentoreval.store.adding import StoreResult, add_cohort
from mentoreval.store.reading import list_cohorts

if TYPE_CHECKING:
    from mentoreval.config.study import Study
    from mentoreval.ingest.pipeline import IngestResult
    from mentoreval.store.meetings import MeetingLog

__all__ = ["store_cohort", "study_inputs_sha256", "update_store"]


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def study_inputs_sha256(study: Study | str | os.PathLike[str]) -> tuple[str, ...]:
    """The sha256 set that identifies a cohort version: exports, meeting log, config.

    The same set :func:`store_cohort` records, computed from the files without ingesting,
    so an unchanged cohort is recognised cheaply.

    Examples
    --------
    >>> from mentoreval.config.paths import project_root
    >>> demo = project_root(__file__) / "data" / "demo" / "peer" / "2023" / "study.yaml"
    >>> len(study_inputs_sha256(demo))  # two exports, the meeting log and the config
    4
    """
    from mentoreval.config.study import load_study

    if isinstance(study, str | os.PathLike):
        study = load_study(Path(study))
    shas = {_sha256_file(study.resolve(src.path)) for src in study.config.sources}
    if study.config.meetings is not None:
        shas.add(_sha256_file(study.resolve(study.config.meetings.path)))
    shas.add(study.sha256)
    return tuple(sorted(shas))


def _read_processed(folder: Path) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    need = ["scores.parquet", "participants.parquet", "linkage.csv", "manifest.json"]
    missing = [n for n in need if not (folder / n).is_file()]
    if missing:
        raise DataError(
            f"{folder}: not an ingest output folder (missing {', '.join(missing)})",
            (
                Problem(
                    f"missing {', '.join(missing)}",
                    file=str(folder),
                    fix="run 'mentoreval ingest STUDY' first, or pass the IngestResult",
                ),
            ),
        )
    tables = {
        "scores": pd.read_parquet(folder / "scores.parquet"),
        "participants": pd.read_parquet(folder / "participants.parquet"),
        "linkage": pd.read_csv(folder / "linkage.csv", dtype={"participant_id": "string"}),
    }
    if (folder / "responses.parquet").is_file():
        tables["responses"] = pd.read_parquet(folder / "responses.parquet")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return tables, manifest


def _plain_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Categoricals → strings, so Parquet files of different cohorts union cleanly."""
    out = df.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.CategoricalDtype):
            out[column] = out[column].astype("string")
    return out


def store_cohort(
    ingested: IngestResult | str | os.PathLike[str],
    study: Study | str | os.PathLike[str],
    store_root: str | os.PathLike[str],
    *,
    key: bytes | None = None,
    echo: bool = True,
) -> StoreResult:
    """Add an ingested cohort to the store (idempotently) and print what happened.

    Parameters
    ----------
    ingested
        The :class:`~mentoreval.ingest.IngestResult`, or its output folder
        (``data/processed/<study>/``).
    study
        The study (or its ``study.yaml``); its ``programme``, ``cohort`` and ``year`` are
        the partition. When it has a meeting log, the log is read, pseudonymised with the
        study's key and stored with the dose measures per mentee.
    store_root
        The store folder.
    key
        The pseudonymisation key (default: the study's ``key_file`` or
        ``$MENTOREVAL_KEY_FILE``); only needed for a meeting log.
    echo
        Print the :class:`~mentoreval.store.StoreResult` message.

    Returns
    -------
    StoreResult
        ``"added"``, ``"unchanged"`` (same exports, meeting log and config) or
        ``"replaced"``.

    Tables stored: ``scores``, ``participants``, ``linkage``, ``responses``, ``summary``
    (the ingest counts), ``instruments`` (id and version), ``cohort_info`` (waves, group,
    primary outcomes), and with a meeting log ``meetings`` and ``dose``.

    Raises
    ------
    ConfigError
        The study does not set ``programme``, ``cohort`` and ``year``.
    KeyMismatchError
        The key for the meeting log is not the one the surveys were pseudonymised with.

    Examples
    --------
    >>> store_cohort("data/processed/peer-2025", "study.yaml", "data/store")  # doctest: +SKIP
    added cohort peer/2025/2025 (10 tables)
    """
    from mentoreval.config.study import load_study

    if isinstance(study, str | os.PathLike):
        study = load_study(Path(study))
    programme, cohort, year = _partition(study)
    tables, manifest = _ingested_tables(ingested)
    shas = {str(src["sha256"]) for src in manifest["inputs"].values()}
    shas.add(str(manifest["config"]["sha256"]))
    tables["summary"] = pd.DataFrame([manifest["summary"]])
    tables["instruments"] = _instrument_table(manifest)
    info = _cohort_info(study, manifest)
    if study.config.meetings is not None:
        log = _read_meetings(study, manifest, key)
        shas.add(log.sha256)
        tables["meetings"] = log.meetings.drop(columns=["source_row"], errors="ignore")
        tables["dose"] = _dose(study, log, tables["participants"])
        info["meetings_quarantined"] = len(log.quarantine)
    tables["cohort_info"] = pd.DataFrame([info])
    result = add_cohort(
        store_root,
        programme=programme,
        cohort=cohort,
        year=year,
        tables={name: _plain_frame(df) for name, df in tables.items()},
        inputs_sha256=sorted(shas),
        protected=study.input_files(),
        raw_folders=study.raw_folders(),
        metadata={
            "study": study.name,
            "config_sha256": manifest["config"]["sha256"],
            "key_fingerprint": manifest.get("key_fingerprint"),
            "ingested_at": manifest.get("created_at"),
        },
    )
    if echo:
        print(result.message)
    return result


def _partition(study: Study) -> tuple[str, str, int]:
    """The study's ``(programme, cohort, year)``; a ConfigError naming what is not set."""
    cfg = study.config
    missing = [k for k in ("programme", "cohort", "year") if getattr(cfg, k) is None]
    if missing:
        raise ConfigError(
            f"{study.path}: cannot add the cohort to the store without {', '.join(missing)}",
            (
                Problem(
                    f"{', '.join(missing)} not set",
                    file=str(study.path),
                    key=missing[0],
                    fix="add programme:, cohort: (quoted) and year: to the study config",
                ),
            ),
        )
    assert cfg.programme is not None and cfg.cohort is not None and cfg.year is not None
    return cfg.programme, cfg.cohort, int(cfg.year)


def _ingested_tables(
    ingested: IngestResult | str | os.PathLike[str],
) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """The ingest's tables and manifest, from the result in memory or its output folder."""
    from mentoreval.ingest.pipeline import IngestResult

    if isinstance(ingested, IngestResult):
        tables: dict[str, pd.DataFrame] = {
            "scores": ingested.scores,
            "participants": ingested.participants,
            "linkage": ingested.linkage,
            "responses": ingested.responses,
        }
        return tables, ingested.manifest
    return _read_processed(Path(ingested))


def _instrument_table(manifest: dict[str, Any]) -> pd.DataFrame:
    """One row per instrument scored: id, version and number of items."""
    return pd.DataFrame(
        [
            {"instrument": k, "version": str(v.get("version")), "n_items": int(v.get("items", 0))}
            for k, v in manifest["instruments"].items()
        ],
        columns=["instrument", "version", "n_items"],
    )


def _treated(study: Study) -> str | None:
    group = study.config.analysis.group
    return group.treated if group is not None else None


def _cohort_info(study: Study, manifest: dict[str, Any]) -> dict[str, Any]:
    """The ``cohort_info`` row: waves, design, treated group, primary outcomes, meeting
    cadence."""
    from mentoreval.config.design import study_design

    cfg = study.config
    design = study_design(cfg)
    return {
        "study": study.name,
        "title": cfg.title,
        "pre_wave": cfg.analysis.pre,
        "post_wave": cfg.analysis.post,
        # "linked" (paired statistics apply), "unlinked" or "single_wave": the annual report
        # computes retention and paired change only for linked cohorts
        "design": "linked" if design.paired else design.kind,
        "waves": ", ".join(design.waves),
        "treated": _treated(study),
        "primary": ", ".join(cfg.analysis.primary),
        "target_cadence_days": float(cfg.meetings.target_cadence_days) if cfg.meetings else None,
        "key_fingerprint": manifest.get("key_fingerprint"),
        "has_meetings": cfg.meetings is not None,
    }


def _read_meetings(study: Study, manifest: dict[str, Any], key: bytes | None) -> MeetingLog:
    """The study's meeting log, pseudonymised with the key the surveys were.

    Raises KeyMismatchError when ``key`` (default: the study's key file) is another key.
    """
    from mentoreval.ingest.protect import (
        key_fingerprint,
        load_key,
        make_pseudonymiser,
        resolve_key_file,
    )
    from mentoreval.store.meetings import read_meeting_log

    cfg = study.config
    assert cfg.meetings is not None
    if key is None:
        key = load_key(
            resolve_key_file(cfg.key_file, base=study.base),
            study=study.path.name,
            strict=cfg.disclosure.profile == "nhs",
            data_folders=[*study.raw_folders(), *study.data_roots()],
            study_folder=study.base,
        )
    fingerprint = key_fingerprint(key)
    if manifest.get("key_fingerprint") and fingerprint != manifest["key_fingerprint"]:
        problem = Problem(
            f"the key (fingerprint {fingerprint}) is not the one the surveys were "
            f"pseudonymised with ({manifest['key_fingerprint']}); meetings would not link",
            file=str(study.path),
            key="key_file",
            fix="use the study's key file (check key_file and MENTOREVAL_KEY_FILE)",
        )
        raise KeyMismatchError(str(problem), (problem,))
    m = cfg.meetings
    return read_meeting_log(
        study.resolve(m.path),
        pseudonymise=make_pseudonymiser(key),
        columns=m.columns or None,
        format=m.format,
        sheet=m.sheet,
        instrument=m.instrument,
    )


def _dose(study: Study, log: MeetingLog, participants: pd.DataFrame) -> pd.DataFrame:
    """Dose measures for every participant of the treated group (everyone without a group)."""
    from mentoreval.store.meetings import dose_measures

    meetings = study.config.meetings
    assert meetings is not None
    treated = _treated(study)
    people = participants
    if treated is not None and "group" in people:
        people = people[people["group"].astype("string") == treated]
    return dose_measures(
        log,
        target_cadence_days=round(meetings.target_cadence_days),
        mentees=people["participant_id"].astype(str).tolist(),
    )


def update_store(config: AnnualConfig, *, echo: bool = True) -> list[StoreResult]:
    """Ingest and store every listed study that is missing from the store or changed.

    Studies whose exports, meeting log and config hash to what the store holds are left
    alone (nothing is read). Does nothing for ``studies: all`` or ``update_store: false``.

    Returns
    -------
    list of StoreResult
        One per study ingested (``"added"`` or ``"replaced"``).
    """
    from mentoreval.config.study import load_study
    from mentoreval.ingest.pipeline import ingest_study

    if config.studies is None or not config.update_store:
        return []
    stored = list_cohorts(config.store_root)
    current = {
        (r.programme, r.cohort, int(r.year)): tuple(str(r.inputs_sha256).split())
        for r in iter_rows(stored)
    }
    results = []
    for path in config.studies:
        study = load_study(path)
        cfg = study.config
        where = (str(cfg.programme), str(cfg.cohort), int(cfg.year or 0))
        if current.get(where) == study_inputs_sha256(study):
            continue
        ingested = ingest_study(path, write=False)
        results.append(store_cohort(ingested, study, config.store_root, echo=echo))
    return results
