"""Small synthetic studies on disk for the cohort-report tests.

The synth export writers are not available to these tests yet, so the exports are plain
CSV written here from :attr:`SyntheticCohort.submissions` (one file per wave), with a
``study.yaml``; the key file sits beside the study folder (``<folder>-keys/``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mentoreval.ingest.protect import keygen
from mentoreval.synth import CohortSpec, generate_cohort

_META = ["started_at", "submitted_at", "duration_s"]


def write_study(
    folder: Path,
    *,
    n_students: int = 60,
    design: str = "comparison",
    seed: int = 3,
    waves: tuple[str, ...] = ("pre", "post"),
    attrition: float = 0.15,
    instruments: tuple[str, ...] = ("who5", "cbi", "career_confidence"),
    title: str = "Peer mentoring, test cohort",
    participant_id: str = "{column: student_id}",
    analysis: str = "",
    effects: dict[str, float] | None = None,
) -> Path:
    """Write exports and ``study.yaml`` into ``folder`` (key beside it); return the config path.

    ``participant_id: none`` writes anonymous exports (no ``student_id`` column);
    ``analysis`` is added under ``analysis:`` (e.g. ``"  mid: {who5: 10}\n"``).
    """
    spec = CohortSpec(
        n_students=n_students,
        design=design,  # type: ignore[arg-type]
        seed=seed,
        instruments=instruments,
        effects=effects if effects is not None else {"who5": 0.4, "career_confidence": 0.3},
        attrition=attrition,
        item_nonresponse=0.02,
        duplicates=0.02,
    )
    cohort = generate_cohort(spec)
    exports = folder / "exports"
    exports.mkdir(parents=True, exist_ok=True)
    sources = []
    for wave in waves:
        sub = cohort.responses(wave).drop(columns=["careless", "duplicate"])
        if participant_id == "none":
            sub = sub.drop(columns=["student_id"])
        sub.to_csv(exports / f"{wave}.csv", index=False)
        sources.append(f"  - {{path: exports/{wave}.csv, format: csv, wave: {wave}}}")
    # the key lives beside the study folder, never in it (a key in the study folder is refused)
    key = folder.parent / f"{folder.name}-keys" / "study.key"
    keygen(key)
    group = (
        "  group: {column: group, treated: mentored, control: comparison}\n"
        if design == "comparison"
        else ""
    )
    covariates = "[year_of_study, gender, site]"
    text = (
        f"title: {title}\n"
        "programme: peer\n"
        'cohort: "2025"\n'
        "year: 2025\n"
        f"key_file: {key}\n"
        "disclosure: {threshold: 10, profile: default}\n"
        f"participant_id: {participant_id}\n"
        "sources:\n" + "\n".join(sources) + "\n"
        "columns:\n"
        "  group: group\n"
        f"  covariates: {covariates}\n"
        f"  meta: [{', '.join(_META[:2])}]\n"
        "  drop: [response_id]\n"
        "  duration: duration_s\n"
        "  submitted_at: submitted_at\n"
        "instruments:\n" + "".join(f"  {i}: {{}}\n" for i in instruments) + "analysis:\n"
        "  pre: pre\n"
        "  post: post\n" + group + "  primary: [who5.total]\n" + analysis
    )
    config = folder / "study.yaml"
    config.write_text(text, encoding="utf-8")
    return config


def raw_ids(config: Path) -> list[str]:
    """Every student id in the study's exports."""
    ids: set[str] = set()
    for path in sorted((config.parent / "exports").glob("*.csv")):
        frame = pd.read_csv(path, dtype=str)
        if "student_id" in frame:
            ids |= set(frame["student_id"].dropna())
    return sorted(ids)
