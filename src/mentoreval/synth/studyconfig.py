"""The ``study.yaml`` that reads a set of synthetic exports (stage: *test data*); re-exported by
:mod:`mentoreval.synth.writers`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from mentoreval.errors import ConfigError
from mentoreval.synth.exportbase import (
    COVARIATES,
    GF_COVARIATES,
    GF_GROUP,
    GF_ID,
    QUALTRICS_IDENTIFYING,
    REDCAP_EVENTS,
    column_map,
)

if TYPE_CHECKING:  # pragma: no cover - annotations only (cohort.write() calls back here)
    from mentoreval.synth.cohort import SyntheticCohort

__all__ = ["study_config", "write_study_config"]

# --------------------------------------------------------------------------- study config

_NAMING = {
    "qualtrics": "qualtrics",
    "redcap": "item",
    "spss": "item",
    "xlsx": "item",
    "csv": "item",
    "googleforms": "googleforms",
    "msforms": "msforms",
}
_SOURCE_FORMAT = {
    "xlsx": "xlsx",
    "msforms": "msforms",
    "spss": "spss",
    "csv": "csv",
    "googleforms": "googleforms",
    "qualtrics": "qualtrics",
}


def study_config(
    cohort: SyntheticCohort,
    exports: Mapping[str, Path],
    *,
    config_dir: str | Path,
    title: str | None = None,
    key_file: str = "demo.key",
    primary: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The ``study.yaml`` (as a dict, see ``docs/study-config.md``) that reads ``exports``.

    All survey exports of one study must share a column naming (Qualtrics tags, item ids,
    Google Forms or Microsoft Forms question text); mixing e.g. SPSS and CSV is fine.
    The sections follow the documented key order.

    Raises
    ------
    ConfigError
        When the exports use different column namings.
    """
    spec = cohort.spec
    base = Path(config_dir)
    survey = {k: v for k, v in exports.items() if k not in ("meetings", "redcap_dictionary")}
    fmts = {("redcap" if k == "redcap" else k.split("_", 1)[1]) for k in survey}
    namings = {_NAMING[f] for f in fmts}
    if len(namings) != 1:
        raise ConfigError(
            f"exports {sorted(survey)} use different column namings (fix: write one naming per study)"
        )
    naming = namings.pop()
    sources = _sources(survey, exports, base)
    items = column_map(cohort, naming)  # type: ignore[arg-type]
    instruments: dict[str, Any] = {}
    for inst in cohort.instruments_at("post"):
        mapping = items[inst]
        instruments[inst] = (
            {} if all(k == v for k, v in mapping.items()) else {"items": dict(mapping)}
        )
    id_column = {"googleforms": GF_ID, "msforms": GF_ID}.get(naming, "student_id")
    if naming == "item" and fmts == {"redcap"}:
        id_column = "record_id"
    columns = _columns(cohort, naming, fmts)
    config: dict[str, Any] = {
        "title": title or f"{spec.programme.title()} mentoring, {spec.cohort} cohort",
        "programme": spec.programme,
        "cohort": str(spec.cohort),
        "year": int(spec.year),
        "key_file": key_file,
        "disclosure": {"threshold": 10, "profile": "default"},
        "participant_id": {"column": id_column, "pattern": "^[0-9]{7}$"},
        "sources": sources,
        "columns": columns,
        "instruments": instruments,
        "analysis": _analysis(cohort, columns["group"], naming, primary),
        "quality": {"duplicates": "keep_last"},
    }
    if "meetings" in exports:
        main_type = max(spec.mentor_types, key=lambda t: spec.mentor_types[t])
        from mentoreval.synth.meetings import CADENCE_DAYS

        config["meetings"] = {
            "path": _relative(exports["meetings"], base),
            "target_cadence_days": CADENCE_DAYS[main_type],
        }
    return config


def _relative(p: Path, base: Path) -> str:
    """``p`` relative to the config folder, as the config writes paths."""
    return Path(p).resolve().relative_to(base.resolve()).as_posix()


def _sources(
    survey: Mapping[str, Path], exports: Mapping[str, Path], base: Path
) -> list[dict[str, Any]]:
    """The ``sources`` section: REDCap first, then the pre and the post exports."""
    sources: list[dict[str, Any]] = []
    for name in sorted(survey, key=lambda k: (k != "redcap", k.startswith("post"), k)):
        p = survey[name]
        if name == "redcap":
            sources.append(
                {
                    "path": _relative(p, base),
                    "format": "redcap",
                    "dictionary": _relative(exports["redcap_dictionary"], base),
                    "events": {REDCAP_EVENTS["pre"]: "pre", REDCAP_EVENTS["post"]: "post"},
                    "id_column": "record_id",
                }
            )
            continue
        wave, fmt = name.split("_", 1)
        src: dict[str, Any] = {
            "path": _relative(p, base),
            "format": _SOURCE_FORMAT[fmt],
            "wave": wave,
        }
        if fmt == "qualtrics":
            src["unfinished"] = "exclude"
        sources.append(src)
    return sources


def _columns(cohort: SyntheticCohort, naming: str, fmts: set[str]) -> dict[str, Any]:
    """The ``columns`` section: group, covariates and the format's metadata columns."""
    if naming in ("googleforms", "msforms"):
        columns: dict[str, Any] = {
            "group": GF_GROUP,
            "covariates": [GF_COVARIATES[c] for c in COVARIATES],
        }
    else:
        columns = {"group": "group", "covariates": list(COVARIATES)}
    if naming == "qualtrics":
        columns["meta"] = [
            "StartDate",
            "EndDate",
            "Status",
            "Progress",
            "Finished",
            "RecordedDate",
            "ResponseId",
            "DistributionChannel",
            "UserLanguage",
        ]
        columns["drop"] = list(QUALTRICS_IDENTIFYING)
        columns["duration"] = "Duration (in seconds)"
        columns["submitted_at"] = "EndDate"
    elif naming == "googleforms":
        columns["meta"] = ["Timestamp"]
        columns["drop"] = ["Email address"]
        columns["submitted_at"] = "Timestamp"
    elif naming == "msforms":
        columns["meta"] = ["ID", "Start time", "Completion time"]
        columns["drop"] = ["Email", "Name"]
        columns["submitted_at"] = "Completion time"
    elif fmts == {"redcap"}:
        columns["meta"] = [
            "participant_complete",
            *[f"{i}_complete" for i in cohort.instruments_at("post")],
        ]
    else:
        columns["meta"] = ["StartDate", "EndDate"]
        columns["duration"] = "Duration"
        columns["submitted_at"] = "EndDate"
    return columns


def _analysis(
    cohort: SyntheticCohort, group_col: str, naming: str, primary: Sequence[str] | None
) -> dict[str, Any]:
    """The ``analysis`` section: waves, the group (comparison design), primary outcomes."""
    spec = cohort.spec
    if primary is None:
        default_primary = {
            "who5": "who5.total",
            "swemwbs": "swemwbs.total",
            "cbi": "cbi.personal",
            "olbi": "olbi.exhaustion",
            "pss10": "pss10.total",
            "career_confidence": "career_confidence.total",
            "caas_sf": "caas_sf.total",
        }
        primary = [default_primary[i] for i in spec.instruments if i in default_primary][:3]
    analysis: dict[str, Any] = {"pre": "pre", "post": "post"}
    if spec.design == "comparison":
        if naming in ("googleforms", "msforms"):
            treated, control = "Yes", "No"
        else:
            treated, control = "mentored", "comparison"
        analysis["group"] = {"column": group_col, "treated": treated, "control": control}
    analysis.update({"primary": list(primary), "multiplicity": "holm", "confidence": 0.95})
    return analysis


def write_study_config(config: Mapping[str, Any], path: str | Path, *, header: str = "") -> Path:
    """Save a study config as YAML (keys in the documented order), with comment lines first."""
    text = yaml.safe_dump(
        dict(config), sort_keys=False, allow_unicode=True, width=100, default_flow_style=False
    )
    comment = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(comment + text, encoding="utf-8")
    return path
