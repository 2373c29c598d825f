"""The annual report: cohorts, years and programme types compared from the store.

Stage: *annual*. A programme lead's annual report reads every processed cohort it needs
from the multi-year store (:mod:`mentoreval.store.parquet`) and compares them:

- **participation and retention** per cohort (enrolled, pre and post responses, linked
  pairs, retention %);
- **outcome change** per cohort (paired, as in the cohort report) and per programme type,
  with **random-effects pooled** estimates (DerSimonian–Laird: τ², I², prediction
  interval) and forest-plot data;
- **trends** across years, only for instruments whose version is the same in every
  cohort (the others are listed with the reason);
- **dose** (meetings and regularity thirds, dose–response slope) and **mentor type**
  breakdowns, labelled exploratory.

Every published number passes disclosure control (:mod:`mentoreval.disclose.suppression`), and the
release ledger in ``<store>/ledger/`` blocks a later report from being subtracted from an
earlier one (a cohort re-ingested with a few students fewer is suppressed, not
republished).

``annual.yaml``::

    title: Peer mentoring, annual report 2025   # shown on the report
    id: peer-annual-2025         # optional; names the output folder
    programme: peer              # or programmes: [peer, faculty]
    years: [2023, 2024, 2025]    # optional; default every year of the studies/store
    store: ../../store           # optional; default <project>/data/store
    studies:                     # study configs (relative to this file), or "all":
      - 2023/study.yaml          #   every cohort of the programme(s) in the store
      - 2024/study.yaml
    update_store: true           # ingest listed studies missing from (or changed in) the store
    disclosure: {threshold: 10, profile: default}
    primary: [who5.total, cbi.personal]   # optional; default: the studies' primary outcomes
    confidence: 0.95

Run it with ``mentoreval annual annual.yaml`` (:func:`run_annual_report`); the batch
runner calls :func:`run_annual_job`. :func:`store_cohort` files one ingested cohort in
the store (``mentoreval ingest`` calls it).
"""

# pandas-stubs types itertuples()/groupby() keys as a union of every scalar type, which
# flags each use of a row attribute; the values here are the store's own typed columns.
# mypy: disable-error-code="arg-type, operator, assignment, index, str-bytes-safe"

from __future__ import annotations

import functools
import hashlib
import html
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from mentoreval.config.disclosure import CellKind
from mentoreval.disclose.formatting import format_cell, format_table
from mentoreval.disclose.ledger import ReleaseLedger
from mentoreval.disclose.suppression import suppress_counts, suppress_table
from mentoreval.errors import (
    ConfigError,
    DataError,
    KeyMismatchError,
    MentorevalError,
    Problem,
)
from mentoreval.report.tables import column_label, format_report_table, report_table_html
from mentoreval.resources import bundled_path
from mentoreval.store.parquet import (
    StoreResult,
    add_cohort,
    list_cohorts,
    load_release_ledger,
    load_table,
    merge_release_ledger,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from mentoreval.config.study import Study
    from mentoreval.ingest.pipeline import IngestResult
    from mentoreval.instruments.definitions import Instrument
    from mentoreval.report.notebook import ReportOutputs
    from mentoreval.run.batch import Job
from mentoreval.config.annual import AnnualConfig, load_annual_config

__all__ = [
    "DERIVED_COLUMNS",
    "WIDE_AT",
    "AnnualAnalysis",
    "analyse_annual",
    "annual_forbidden",
    "annual_table",
    "annual_table_html",
    "forest_figures",
    "format_annual_methods",
    "format_annual_summary",
    "format_annual_table",
    "format_provenance",
    "plot_annual_participation",
    "plot_annual_trends",
    "run_annual_job",
    "run_annual_report",
    "save_release_ledger",
    "store_cohort",
    "study_inputs_sha256",
    "update_store",
    "write_annual_outputs",
]

EXPLORATORY = "exploratory"
# notebooks/templates in a checkout (through the _bundled link), a copy in a wheel
TEMPLATE = bundled_path("templates", "annual_report.ipynb")

_STATS = [
    "mean_pre",
    "sd_pre",
    "mean_post",
    "sd_post",
    "mean_diff",
    "ci_low",
    "ci_high",
    "se",
    "p_value",
    "d_z",
    "d_z_ci_low",
    "d_z_ci_high",
    "g_av",
]

#: For each table: (counts, values derived from them). A derived value is published only
#: when every count of its row is published (``cohort.protect_derived``).
DERIVED_COLUMNS: dict[str, list[tuple[list[str], list[str]]]] = {
    "participation": [(["enrolled", "with_meetings", "pre_responses", "post_responses",
                        "linked_pairs"], ["retention_pct"])],
    "outcomes": [(["n_pairs"], _STATS)],
    "pooled": [(["n_pairs"], ["estimate", "se", "ci_low", "ci_high", "p_value", "pi_low",
                              "pi_high", "tau2", "i2", "q", "q_p_value"])],
    "forest": [(["n_pairs"], ["estimate", "ci_low", "ci_high", "weight_random"])],
    "trends": [(["n_pairs"], ["mean_pre", "mean_post", "mean_diff", "ci_low", "ci_high"])],
    "dose": [(["n_pairs"], ["median_dose", "mean_change", "ci_low", "ci_high"])],
    "dose_models": [(["n"], ["slope", "slope_ci_low", "slope_ci_high", "p_value"])],
    "mentor_type": [(["n_pairs"], ["mean_change", "ci_low", "ci_high"])],
}  # fmt: skip


# --------------------------------------------------------------------------- config


# --------------------------------------------------------------------------- ingest → store


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
    >>> from mentoreval.ingest.pipeline import project_root
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
    from mentoreval.ingest.pipeline import IngestResult
    from mentoreval.ingest.protect import (
        key_fingerprint,
        load_key,
        make_pseudonymiser,
        resolve_key_file,
    )
    from mentoreval.store.meetings import dose_measures, read_meeting_log

    if isinstance(study, str | os.PathLike):
        study = load_study(Path(study))
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
    if isinstance(ingested, IngestResult):
        tables: dict[str, pd.DataFrame] = {
            "scores": ingested.scores,
            "participants": ingested.participants,
            "linkage": ingested.linkage,
            "responses": ingested.responses,
        }
        manifest = ingested.manifest
    else:
        tables, manifest = _read_processed(Path(ingested))
    shas = {str(src["sha256"]) for src in manifest["inputs"].values()}
    shas.add(str(manifest["config"]["sha256"]))
    tables["summary"] = pd.DataFrame([manifest["summary"]])
    tables["instruments"] = pd.DataFrame(
        [
            {"instrument": k, "version": str(v.get("version")), "n_items": int(v.get("items", 0))}
            for k, v in manifest["instruments"].items()
        ],
        columns=["instrument", "version", "n_items"],
    )
    group = cfg.analysis.group
    treated = group.treated if group is not None else None
    info: dict[str, Any] = {
        "study": study.name,
        "title": cfg.title,
        "pre_wave": cfg.analysis.pre,
        "post_wave": cfg.analysis.post,
        "treated": treated,
        "primary": ", ".join(cfg.analysis.primary),
        "target_cadence_days": float(cfg.meetings.target_cadence_days) if cfg.meetings else None,
        "key_fingerprint": manifest.get("key_fingerprint"),
        "has_meetings": cfg.meetings is not None,
    }
    if cfg.meetings is not None:
        if key is None:
            key = load_key(resolve_key_file(cfg.key_file, base=study.base), study=study.path.name)
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
        log = read_meeting_log(
            study.resolve(m.path),
            pseudonymise=make_pseudonymiser(key),
            columns=m.columns or None,
            format=m.format,
            sheet=m.sheet,
            instrument=m.instrument,
        )
        shas.add(log.sha256)
        people = tables["participants"]
        if treated is not None and "group" in people:
            people = people[people["group"].astype("string") == treated]
        tables["meetings"] = log.meetings.drop(columns=["source_row"], errors="ignore")
        tables["dose"] = dose_measures(
            log,
            target_cadence_days=round(m.target_cadence_days),
            mentees=people["participant_id"].astype(str).tolist(),
        )
        info["meetings_quarantined"] = len(log.quarantine)
    tables["cohort_info"] = pd.DataFrame([info])
    result = add_cohort(
        store_root,
        programme=cfg.programme,
        cohort=cfg.cohort,
        year=int(cfg.year),
        tables={name: _plain_frame(df) for name, df in tables.items()},
        inputs_sha256=sorted(shas),
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
        for r in stored.itertuples(index=False)
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


# --------------------------------------------------------------------------- analysis


@dataclass(frozen=True)
class AnnualAnalysis:
    """Every disclosure-controlled table of an annual report, by name.

    ``tables``: ``cohorts`` (what was included), ``participation``, ``outcomes`` (per
    cohort), ``pooled`` (random effects, with τ² and I²), ``forest`` (forest-plot rows),
    ``trends``, ``trend_exclusions``, ``dose``, ``dose_models``, ``mentor_type``.
    Numbers stay numbers (NaN where suppressed, with a ``suppressed`` flag);
    :func:`format_annual_table` makes the strings.

    Attributes
    ----------
    config
        The annual config.
    tables
        Name → DataFrame.
    primary
        Primary outcomes as ``(instrument, scale)``.
    notes
        Plain-language notes (exclusions, suppression, ledger decisions).
    ledger
        The release ledger including this report's releases (saved by
        :func:`save_release_ledger`).
    """

    config: AnnualConfig
    tables: Mapping[str, pd.DataFrame]
    primary: tuple[tuple[str, str], ...]
    notes: tuple[str, ...] = ()
    ledger: ReleaseLedger = field(default_factory=ReleaseLedger)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    def to_frame(self) -> pd.DataFrame:
        """The ``pooled`` table."""
        return self.tables["pooled"].copy()

    def _repr_html_(self) -> str:
        return "".join(f"<h4>{k}</h4>{v.to_html(index=False)}" for k, v in self.tables.items())


def _cohort_label(programme: str, cohort: str, year: int, *, with_programme: bool) -> str:
    core = str(year) if cohort == str(year) else f"{cohort} ({year})"
    return f"{programme} {core}" if with_programme else core


def _t_ci(values: np.ndarray, confidence: float) -> tuple[float, float, float]:
    n = len(values)
    if n < 2:
        return (float(values.mean()) if n else math.nan, math.nan, math.nan)
    mean = float(values.mean())
    half = float(stats.t.ppf(1 - (1 - confidence) / 2, n - 1) * values.std(ddof=1) / math.sqrt(n))
    return mean, mean - half, mean + half


def _secondary_rows(df: pd.DataFrame, by: Sequence[str], values: Sequence[str]) -> pd.DataFrame:
    """Within each breakdown, never leave exactly one row suppressed (it could be derived
    from the others and the published total): suppress the next-smallest too."""
    out = df.copy()
    for _, idx in out.groupby(list(by), sort=False).groups.items():
        rows = list(idx)
        hidden = [r for r in rows if out.at[r, "suppressed"]]
        shown = [r for r in rows if not out.at[r, "suppressed"]]
        if len(hidden) == 1 and shown:
            smallest = min(shown, key=lambda r: (out.at[r, "n_pairs"], r))
            out.loc[smallest, [*values, "n_pairs"]] = np.nan
            out.at[smallest, "suppressed"] = True
    return out


def _select_cohorts(config: AnnualConfig) -> pd.DataFrame:
    from mentoreval.config.study import load_study

    cohorts = list_cohorts(config.store_root)
    if config.programmes:
        cohorts = cohorts[cohorts["programme"].isin(config.programmes)]
    if config.years:
        cohorts = cohorts[cohorts["year"].isin(config.years)]
    if config.studies is not None:
        wanted = set()
        for path in config.studies:
            cfg = load_study(path).config
            wanted.add((cfg.programme, cfg.cohort, int(cfg.year or 0)))
        keys = list(zip(cohorts["programme"], cohorts["cohort"], cohorts["year"], strict=True))
        cohorts = cohorts[np.array([k in wanted for k in keys], dtype=bool)]
        found = set(zip(cohorts["programme"], cohorts["cohort"], cohorts["year"], strict=True))
        absent = sorted(wanted - found)
        if absent:
            listed = ", ".join(f"{p}/{c}/{y}" for p, c, y in absent)
            raise DataError(
                f"{len(absent)} listed cohort(s) are not in the store {config.store_root}: "
                f"{listed}",
                (
                    Problem(
                        f"not in the store: {listed}",
                        file=str(config.path),
                        key="studies",
                        fix="run 'mentoreval ingest STUDY' for each, or set update_store: true",
                    ),
                ),
            )
    if cohorts.empty:
        raise DataError(
            f"no cohorts in the store {config.store_root} match the annual config",
            (
                Problem(
                    "no matching cohorts",
                    file=str(config.path),
                    key="programmes",
                    fix="check programmes/years, or ingest the studies into this store",
                ),
            ),
        )
    return cohorts.reset_index(drop=True)


def _table(config: AnnualConfig, name: str, cohorts: pd.DataFrame) -> pd.DataFrame:
    """One store table restricted to the selected cohorts (empty if no cohort has it)."""
    try:
        df = load_table(
            config.store_root,
            name,
            programme=sorted(set(cohorts["programme"])),
            years=sorted({int(y) for y in cohorts["year"]}),
        )
    except DataError:
        return pd.DataFrame(columns=["programme", "cohort", "year"])
    keys = set(zip(cohorts["programme"], cohorts["cohort"], cohorts["year"], strict=True))
    mask = [k in keys for k in zip(df["programme"], df["cohort"], df["year"], strict=True)]
    return df[np.array(mask, dtype=bool)].reset_index(drop=True)


def _mentored(info: pd.Series, participants: pd.DataFrame) -> pd.DataFrame:
    treated = info.get("treated")
    if isinstance(treated, str) and treated and "group" in participants:
        return participants[participants["group"].astype("string") == treated]
    return participants


def _paired_rows(
    scores: pd.DataFrame, *, pre: str, post: str, confidence: float, notes: list[str], where: str
) -> pd.DataFrame:
    from mentoreval.stats import compare_paired

    rows = []
    for (instrument, scale), sub in scores.groupby(["instrument", "scale"], sort=True):
        waves = set(sub["wave"])
        if pre not in waves or post not in waves:
            continue  # measured at one wave only (e.g. mentoring quality at follow-up)
        try:
            out = compare_paired(
                sub, pre=pre, post=post, confidence=confidence, p_adjust="none", details=True
            )
        except MentorevalError as exc:
            notes.append(f"{where} {instrument}.{scale}: no paired comparison ({exc}).")
            continue
        rows.append(out[out["n_pairs"] >= 2])
    if not rows:
        return pd.DataFrame()
    return pd.concat(rows, ignore_index=True)


def analyse_annual(
    config: AnnualConfig | str | os.PathLike[str],
    *,
    ledger: ReleaseLedger | None = None,
) -> AnnualAnalysis:
    """Build every disclosure-controlled table of the annual report from the store.

    Parameters
    ----------
    config
        The :class:`AnnualConfig` or the path of ``annual.yaml``.
    ledger
        The release ledger to check against and record into; default the store's own
        (``<store>/ledger/releases.json``). Nothing is saved here: see
        :func:`save_release_ledger` (called by :func:`write_annual_outputs`).

    Returns
    -------
    AnnualAnalysis

    Raises
    ------
    DataError
        No cohort of the store matches, or listed cohorts are missing from it.

    Notes
    -----
    Per-cohort change is the paired change of the mentored students (the treated group
    when a cohort has a comparison group). Pooling uses each cohort's mean change and its
    standard error (from the paired-t CI) in DerSimonian–Laird random effects, within a
    programme and, for instruments shared by programmes, across them; only cohorts whose
    estimate was published (not suppressed) are pooled, and only instruments whose
    version is the same in every cohort involved. Dose thirds are thirds of the ranked
    dose (ties split by mentee order) within a programme, over the report's years.

    Examples
    --------
    >>> analysis = analyse_annual("data/demo/peer/annual.yaml")  # doctest: +SKIP
    >>> analysis["pooled"][["programme", "instrument", "scale", "k", "estimate", "i2"]]  # doctest: +SKIP
    """
    if not isinstance(config, AnnualConfig):
        config = load_annual_config(config)
    policy = config.policy
    conf = config.confidence
    if ledger is None:
        ledger = load_release_ledger(config.store_root)
    notes: list[str] = []
    cohorts = _select_cohorts(config)
    cohorts = cohorts.sort_values(["programme", "year", "cohort"], ignore_index=True)
    multi = len(set(cohorts["programme"])) > 1
    info = _table(config, "cohort_info", cohorts)
    participants = _table(config, "participants", cohorts)
    linkage = _table(config, "linkage", cohorts)
    scores = _table(config, "scores", cohorts)
    versions = _table(config, "instruments", cohorts)
    dose = _table(config, "dose", cohorts)
    year_span = f"{cohorts['year'].min()}-{cohorts['year'].max()}"

    # --- primary outcomes
    if config.primary:
        primary = [tuple(p.split(".", 1)) for p in config.primary]
    else:
        listed = [
            p.strip() for text in info.get("primary", pd.Series(dtype=str)).dropna()
            for p in str(text).split(",") if p.strip()
        ]  # fmt: skip
        primary = [tuple(p.split(".", 1)) for p in dict.fromkeys(listed)]
    primary_set = {(str(a), str(b)) for a, b in primary}

    # --- per cohort: participation, paired outcomes, per-person change
    part_rows = []
    outcome_parts = []
    change_parts = []
    comparison: list[str] = []
    for c in cohorts.itertuples(index=False):
        key: tuple[Any, Any, Any] = (c.programme, c.cohort, c.year)

        def of(df: pd.DataFrame, key: tuple[Any, Any, Any] = key) -> pd.DataFrame:
            if df.empty:
                return df
            m = (df["programme"] == key[0]) & (df["cohort"] == key[1]) & (df["year"] == key[2])
            return df[m]

        ci = of(info)
        row_info = ci.iloc[0] if len(ci) else pd.Series(dtype=object)
        pre = str(row_info.get("pre_wave", "pre") or "pre")
        post = str(row_info.get("post_wave", "post") or "post")
        people = _mentored(row_info, of(participants))
        treated = row_info.get("treated")
        comparison.append(str(treated) if isinstance(treated, str) and treated else "")
        ids = set(people["participant_id"].astype(str))
        link = of(linkage)
        link = link[link["participant_id"].astype(str).isin(ids)]
        cohort_dose = of(dose)
        enrolled_ids = ids | set(cohort_dose.get("mentee_id", pd.Series(dtype=str)).astype(str))
        with_meetings = int((cohort_dose["n_meetings"] > 0).sum()) if len(cohort_dose) else math.nan
        part_rows.append(
            {
                "programme": c.programme,
                "cohort": c.cohort,
                "year": int(c.year),
                "enrolled": len(enrolled_ids),
                "with_meetings": with_meetings,
                "pre_responses": int(link["pre"].astype(bool).sum()),
                "post_responses": int(link["post"].astype(bool).sum()),
                "linked_pairs": int((link["status"] == "matched").sum()),
            }
        )
        cohort_scores = of(scores)
        cohort_scores = cohort_scores[cohort_scores["participant_id"].astype(str).isin(ids)]
        where = f"{c.programme}/{c.cohort}/{c.year}"
        paired = _paired_rows(
            cohort_scores, pre=pre, post=post, confidence=conf, notes=notes, where=where
        )
        if len(paired):
            paired.insert(0, "year", int(c.year))
            paired.insert(0, "cohort", c.cohort)
            paired.insert(0, "programme", c.programme)
            outcome_parts.append(paired)
        wide = (
            cohort_scores[cohort_scores["wave"].isin([pre, post])]
            .pivot_table(
                index=["participant_id", "instrument", "scale"],
                columns="wave",
                values="score",
                aggfunc="first",
                observed=True,
            )
            .reset_index()
        )
        if pre in wide and post in wide:
            wide = wide.dropna(subset=[pre, post])
            change_parts.append(
                pd.DataFrame(
                    {
                        "programme": c.programme,
                        "cohort": c.cohort,
                        "year": int(c.year),
                        "participant_id": wide["participant_id"].astype(str),
                        "instrument": wide["instrument"].astype(str),
                        "scale": wide["scale"].astype(str),
                        "pre": wide[pre].astype(float),
                        "post": wide[post].astype(float),
                    }
                )
            )

    # --- participation (counts: small cells suppressed, ledger per cohort cell)
    participation = pd.DataFrame(part_rows)
    count_cols = ["enrolled", "with_meetings", "pre_responses", "post_responses", "linked_pairs"]
    part_parts = []
    for programme, g in participation.groupby("programme", sort=True):
        labelled = g.set_index(
            pd.Index([f"{r.cohort}/{r.year}" for r in g.itertuples()], name="cohort_key")
        )
        cells = [c for c in count_cols if labelled[c].notna().any()]
        published = suppress_counts(
            labelled,
            count_columns=cells,
            policy=policy,
            ledger=ledger,
            study=f"annual:{programme}",
            table="participation",
        )
        part_parts.append(published.reset_index(drop=True))
    participation = pd.concat(part_parts, ignore_index=True)
    participation["retention_pct"] = (
        100 * participation["linked_pairs"] / participation["pre_responses"]
    )
    participation = participation[
        ["programme", "cohort", "year", *count_cols, "retention_pct", "suppressed"]
    ]
    if participation["suppressed"].any():
        notes.append(
            f"Participation: {int(participation['suppressed'].sum())} cohort row(s) have counts "
            f"shown as '{policy.label}' (fewer than {policy.threshold} students, or a count "
            "that would difference against an earlier report)."
        )

    # --- outcomes per cohort, with disclosure and ledger
    version_of = {
        (r.programme, r.cohort, int(r.year), str(r.instrument)): str(r.version)
        for r in versions.itertuples(index=False)
    }
    if outcome_parts:
        raw_outcomes = pd.concat(outcome_parts, ignore_index=True)
    else:
        raw_outcomes = pd.DataFrame(
            columns=["programme", "cohort", "year", "instrument", "scale", "n_pairs", "df", "t"]
            + [s for s in _STATS if s != "se"]
        )
    crit = stats.t.ppf(1 - (1 - conf) / 2, raw_outcomes["df"].astype(float).clip(lower=1))
    raw_outcomes["se"] = (raw_outcomes["ci_high"] - raw_outcomes["ci_low"]) / (2 * crit)
    raw_outcomes["version"] = [
        version_of.get((r.programme, r.cohort, int(r.year), str(r.instrument)), "")
        for r in raw_outcomes.itertuples(index=False)
    ]
    raw_outcomes["primary"] = [
        (str(i), str(s)) in primary_set
        for i, s in zip(raw_outcomes["instrument"], raw_outcomes["scale"], strict=True)
    ]
    out_cols = ["programme", "cohort", "year", "instrument", "scale", "version", "primary"]
    out_parts = []
    for (programme, cohort, year), g in raw_outcomes.groupby(
        ["programme", "cohort", "year"], sort=False
    ):
        published = suppress_table(
            g[[*out_cols, "n_pairs", *_STATS]],
            n_columns="n_pairs",
            value_columns=_STATS,
            policy=policy,
            ledger=ledger,
            study=f"{programme}/{cohort}/{year}",
            table="outcomes",
            group_columns=["instrument", "scale"],
        )
        out_parts.append(published)
    outcomes = (
        pd.concat(out_parts, ignore_index=True)
        if out_parts
        else raw_outcomes.assign(suppressed=False)[[*out_cols, "n_pairs", *_STATS, "suppressed"]]
    )
    n_sup = int(outcomes["suppressed"].sum())
    if n_sup:
        notes.append(
            f"Outcomes: {n_sup} cohort × scale row(s) suppressed ('{policy.label}'): fewer than "
            f"{policy.threshold} linked pairs, or a number of pairs that differs by fewer than "
            f"{policy.threshold} from one released in an earlier report (differencing)."
        )

    # --- instrument versions: which instruments may be trended and pooled
    exclusions = []
    consistent: dict[tuple[str, str], bool] = {}
    for (programme, instrument), g in versions.groupby(["programme", "instrument"], sort=True):
        per_year = g.sort_values(["year", "cohort"])
        distinct = list(dict.fromkeys(per_year["version"].astype(str)))
        consistent[(str(programme), str(instrument))] = len(distinct) == 1
        listed = "; ".join(f"{r.year}: {r.version}" for r in per_year.itertuples(index=False))
        if len(distinct) > 1:
            exclusions.append(
                {
                    "programme": programme,
                    "instrument": instrument,
                    "versions": listed,
                    "reason": (
                        f"the instrument version changed ({' → '.join(distinct)}): scores are "
                        "not comparable across years, so no trend or pooled estimate is shown"
                    ),
                }
            )
        elif g["year"].nunique() < 2:
            exclusions.append(
                {
                    "programme": programme,
                    "instrument": instrument,
                    "versions": listed,
                    "reason": "measured in one year only: no trend",
                }
            )
    trend_exclusions = pd.DataFrame(
        exclusions, columns=["programme", "instrument", "versions", "reason"]
    )
    for r in trend_exclusions.itertuples(index=False):
        notes.append(f"Trends: {r.programme} {r.instrument} excluded — {r.reason}.")

    def comparable(programmes: Iterable[str], instrument: str) -> bool:
        progs = list(programmes)
        if not all(consistent.get((p, instrument), False) for p in progs):
            return False
        sub = versions[versions["programme"].isin(progs) & (versions["instrument"] == instrument)]
        return len(set(sub["version"].astype(str))) == 1

    # --- pooled random effects + forest data (published cohort estimates only)
    from mentoreval.stats import pool_effects

    pooled_rows = []
    forest_rows = []
    groups: list[tuple[str, pd.DataFrame]] = [
        (str(p), g) for p, g in outcomes.groupby("programme", sort=True)
    ]
    if multi:
        groups.append(("all programmes", outcomes))
    for scope, g in groups:
        for (instrument, scale), h in g.groupby(["instrument", "scale"], sort=True):
            progs = sorted(set(h["programme"]))
            if scope == "all programmes" and len(progs) < 2:
                continue
            if not comparable(progs, str(instrument)):
                continue
            h = h.sort_values(["programme", "year", "cohort"])
            labels = [
                _cohort_label(
                    r.programme, r.cohort, int(r.year), with_programme=scope != r.programme
                )
                for r in h.itertuples(index=False)
            ]
            ok = h["mean_diff"].notna() & (h["se"] > 0)
            base = {"programme": scope, "instrument": instrument, "scale": scale}
            weights = pd.Series(np.nan, index=h.index)
            if ok.sum() >= 2:
                res = pool_effects(
                    h.loc[ok, "mean_diff"], h.loc[ok, "se"], labels=np.array(labels)[ok.to_numpy()],
                    confidence=conf,
                )  # fmt: skip
                rnd = res.pooled.set_index("model").loc["random"]
                het = res.heterogeneity.iloc[0]
                weights.loc[ok] = res.studies["weight_random"].to_numpy()
                pooled_rows.append(
                    {
                        **base,
                        "k": int(het["k"]),
                        "n_pairs": float(h.loc[ok, "n_pairs"].sum()),
                        "estimate": float(rnd["estimate"]),
                        "se": float(rnd["se"]),
                        "ci_low": float(rnd["ci_low"]),
                        "ci_high": float(rnd["ci_high"]),
                        "p_value": float(rnd["p_value"]),
                        "pi_low": float(rnd["pi_low"]),
                        "pi_high": float(rnd["pi_high"]),
                        "tau2": float(het["tau2"]),
                        "i2": float(het["i2"]),
                        "q": float(het["q"]),
                        "q_p_value": float(het["q_p_value"]),
                        "primary": (str(instrument), str(scale)) in primary_set,
                        "method": "DerSimonian-Laird random effects on mean change",
                    }
                )
            elif scope != "all programmes" and h["year"].nunique() >= 2:
                notes.append(
                    f"Pooled: {scope} {instrument}.{scale} not pooled — fewer than 2 cohorts "
                    "with a published estimate."
                )
            for lab, r, w in zip(labels, h.itertuples(index=False), weights, strict=True):
                forest_rows.append(
                    {
                        **base,
                        "row": "cohort",
                        "label": lab,
                        "n_pairs": r.n_pairs,
                        "estimate": r.mean_diff,
                        "ci_low": r.ci_low,
                        "ci_high": r.ci_high,
                        "weight_random": w,
                        "suppressed": bool(r.suppressed),
                    }
                )
            if pooled_rows and pooled_rows[-1].keys() and pooled_rows[-1]["programme"] == scope and (
                pooled_rows[-1]["instrument"], pooled_rows[-1]["scale"]) == (instrument, scale):  # fmt: skip
                p = pooled_rows[-1]
                forest_rows.append(
                    {
                        **base,
                        "row": "pooled",
                        "label": "Pooled (random effects)",
                        "n_pairs": p["n_pairs"],
                        "estimate": p["estimate"],
                        "ci_low": p["ci_low"],
                        "ci_high": p["ci_high"],
                        "weight_random": 100.0,
                        "suppressed": False,
                    }
                )
    pooled_cols = [
        "programme", "instrument", "scale", "k", "n_pairs", "estimate", "se", "ci_low",
        "ci_high", "p_value", "pi_low", "pi_high", "tau2", "i2", "q", "q_p_value", "primary",
        "method",
    ]  # fmt: skip
    pooled = pd.DataFrame(pooled_rows, columns=pooled_cols)
    pooled = suppress_table(
        pooled,
        n_columns="n_pairs",
        value_columns=[c for c in pooled_cols[5:16]],
        policy=policy,
        ledger=ledger,
        study=f"annual:{year_span}",
        table="pooled",
        group_columns=["programme", "instrument", "scale"],
    )
    forest = pd.DataFrame(
        forest_rows,
        columns=[
            "programme", "instrument", "scale", "row", "label", "n_pairs", "estimate",
            "ci_low", "ci_high", "weight_random", "suppressed",
        ],
    )  # fmt: skip

    # --- trends (unchanged instruments only)
    keep = [
        consistent.get((str(p), str(i)), False)
        for p, i in zip(outcomes["programme"], outcomes["instrument"], strict=True)
    ]
    years_per = outcomes.groupby(["programme", "instrument"])["year"].transform("nunique")
    trends = outcomes[np.array(keep, dtype=bool) & (years_per >= 2).to_numpy()]
    trends = trends[
        ["programme", "instrument", "scale", "version", "year", "cohort", "n_pairs", "mean_pre",
         "mean_post", "mean_diff", "ci_low", "ci_high", "suppressed"]
    ].sort_values(["programme", "instrument", "scale", "year", "cohort"], ignore_index=True)  # fmt: skip

    # --- dose and mentor type (exploratory; mentored students with both waves)
    change = pd.concat(change_parts, ignore_index=True) if change_parts else pd.DataFrame()
    dose_rows: list[dict[str, Any]] = []
    model_rows: list[pd.DataFrame] = []
    mentor_rows: list[dict[str, Any]] = []
    if len(change) and len(dose):
        from mentoreval.stats.dose import fit_dose

        d = dose.assign(participant_id=dose["mentee_id"].astype(str))
        joined = change.merge(
            d[["programme", "cohort", "year", "participant_id", "n_meetings", "regularity",
               "primary_mentor_type", "team"]],
            on=["programme", "cohort", "year", "participant_id"],
            how="inner",
        )  # fmt: skip
        joined["change"] = joined["post"] - joined["pre"]
        for (programme, instrument, scale), g in joined.groupby(
            ["programme", "instrument", "scale"], sort=True
        ):
            if (str(instrument), str(scale)) not in primary_set:
                continue
            g = g.sort_values(["year", "cohort", "participant_id"], ignore_index=True)
            base = {"programme": programme, "instrument": instrument, "scale": scale}
            for measure in ("n_meetings", "regularity"):
                x = g[measure].astype(float)
                if x.nunique() < 3:
                    continue
                thirds = pd.qcut(x.rank(method="first"), 3, labels=["low", "middle", "high"])
                for level in ("low", "middle", "high"):
                    sel = g[thirds == level]
                    mean, lo, hi = _t_ci(sel["change"].to_numpy(float), conf)
                    dose_rows.append(
                        {
                            **base,
                            "measure": "meetings" if measure == "n_meetings" else "regularity",
                            "level": f"{level} third",
                            "n_pairs": len(sel),
                            "median_dose": float(sel[measure].median()),
                            "mean_change": mean,
                            "ci_low": lo,
                            "ci_high": hi,
                            "label": EXPLORATORY,
                        }
                    )
            try:
                fit = fit_dose(g.rename(columns={"n_meetings": "meetings"}), dose="meetings")
            except MentorevalError as exc:
                notes.append(f"Dose: {programme} {instrument}.{scale} slope not fitted ({exc}).")
            else:
                model_rows.append(fit.assign(**base))
            for breakdown, column in (
                ("primary mentor type", "primary_mentor_type"),
                ("mentoring team", "team"),
            ):
                values = g[column]
                if column == "team":
                    values = values.map({True: "team (2+ mentors)", False: "one mentor"})
                for level, sel in g.groupby(
                    values.astype("string").fillna("no meetings"), sort=True
                ):
                    mean, lo, hi = _t_ci(sel["change"].to_numpy(float), conf)
                    mentor_rows.append(
                        {
                            **base,
                            "breakdown": breakdown,
                            "level": str(level),
                            "n_pairs": len(sel),
                            "mean_change": mean,
                            "ci_low": lo,
                            "ci_high": hi,
                            "label": EXPLORATORY,
                        }
                    )
    dose_cols = ["programme", "instrument", "scale", "measure", "level", "n_pairs",
                 "median_dose", "mean_change", "ci_low", "ci_high", "label"]  # fmt: skip
    dose_table = pd.DataFrame(dose_rows, columns=dose_cols)
    dose_table = suppress_table(
        dose_table,
        n_columns="n_pairs",
        value_columns=["median_dose", "mean_change", "ci_low", "ci_high"],
        policy=policy,
        ledger=ledger,
        study=f"annual:{year_span}",
        table="dose",
        group_columns=["programme", "instrument", "scale", "measure", "level"],
    )
    dose_table = _secondary_rows(
        dose_table,
        ["programme", "instrument", "scale", "measure"],
        ["median_dose", "mean_change", "ci_low", "ci_high"],
    )
    model_cols = ["programme", "instrument", "scale", "dose", "n", "slope", "slope_ci_low",
                  "slope_ci_high", "p_value", "label"]  # fmt: skip
    dose_models = (
        pd.concat(model_rows, ignore_index=True)[model_cols]
        if model_rows
        else pd.DataFrame(columns=model_cols)
    )
    dose_models = suppress_table(
        dose_models,
        n_columns="n",
        value_columns=["slope", "slope_ci_low", "slope_ci_high", "p_value"],
        policy=policy,
        ledger=ledger,
        study=f"annual:{year_span}",
        table="dose_models",
        group_columns=["programme", "instrument", "scale"],
    )
    mentor_cols = ["programme", "instrument", "scale", "breakdown", "level", "n_pairs",
                   "mean_change", "ci_low", "ci_high", "label"]  # fmt: skip
    mentor_type = pd.DataFrame(mentor_rows, columns=mentor_cols)
    mentor_type = suppress_table(
        mentor_type,
        n_columns="n_pairs",
        value_columns=["mean_change", "ci_low", "ci_high"],
        policy=policy,
        ledger=ledger,
        study=f"annual:{year_span}",
        table="mentor_type",
        group_columns=["programme", "instrument", "scale", "breakdown", "level"],
    )
    mentor_type = _secondary_rows(
        mentor_type,
        ["programme", "instrument", "scale", "breakdown"],
        ["mean_change", "ci_low", "ci_high"],
    )
    if not len(dose):
        notes.append("Dose and mentor type: no cohort in the report has a meeting log.")

    included = cohorts[["programme", "cohort", "year", "inputs_sha256", "added_at"]].copy()
    # the treated group's label where the cohort had a comparison group, else ""
    included["comparison_group"] = comparison
    tables = {
        "cohorts": included,
        "participation": participation,
        "outcomes": outcomes,
        "pooled": pooled,
        "forest": forest,
        "trends": trends,
        "trend_exclusions": trend_exclusions,
        "dose": dose_table,
        "dose_models": dose_models,
        "mentor_type": mentor_type,
    }
    # rates, shares and means never outlive a suppressed count of their row
    from mentoreval.report.cohort.analysis import protect_derived

    tables = protect_derived(tables, DERIVED_COLUMNS)
    return AnnualAnalysis(
        config=config,
        tables=tables,
        primary=tuple((str(a), str(b)) for a, b in primary),
        notes=tuple(notes),
        ledger=ledger,
    )


# --------------------------------------------------------------------------- formatting


_TITLES = {
    "participation": ["programme", "cohort", "year"],
    "outcomes": ["programme", "cohort", "year", "instrument", "scale"],
    "pooled": ["programme", "instrument", "scale"],
    "trends": ["programme", "instrument", "scale", "year"],
    "trend_exclusions": ["programme", "instrument"],
    "dose": ["programme", "instrument", "scale", "measure", "level"],
    "dose_models": ["programme", "instrument", "scale"],
    "mentor_type": ["programme", "instrument", "scale", "breakdown", "level"],
}
_SHOWN = {
    "participation": ["enrolled", "with_meetings", "pre_responses", "post_responses",
                      "linked_pairs", "retention_pct"],
    "outcomes": ["n_pairs", "mean_pre", "mean_post", "mean_diff", "ci_low", "ci_high",
                 "p_value", "d_z", "g_av"],
    "pooled": ["k", "n_pairs", "estimate", "ci_low", "ci_high", "pi_low", "pi_high", "p_value",
               "tau2", "i2"],
    "trends": ["version", "n_pairs", "mean_pre", "mean_post", "mean_diff", "ci_low", "ci_high"],
    "trend_exclusions": ["versions", "reason"],
    "dose": ["n_pairs", "median_dose", "mean_change", "ci_low", "ci_high", "label"],
    "dose_models": ["n", "slope", "slope_ci_low", "slope_ci_high", "p_value", "label"],
    "mentor_type": ["n_pairs", "mean_change", "ci_low", "ci_high", "label"],
}  # fmt: skip


def format_annual_table(analysis: AnnualAnalysis, name: str) -> pd.DataFrame:
    """One table of the analysis as strings for the report (``"< k"`` where suppressed).

    The identifying columns (programme, cohort, year, instrument, scale, ...) become the
    index, so the rendered table groups rows.

    Examples
    --------
    >>> display(format_annual_table(analysis, "pooled"))  # doctest: +SKIP
    """
    if name not in _TITLES:
        raise ConfigError(
            f"unknown annual table {name!r}",
            (Problem(f"unknown table {name!r}", fix=f"use one of: {', '.join(_TITLES)}"),),
        )
    df = analysis.tables[name]
    index = [c for c in _TITLES[name] if c in df.columns]
    shown = [c for c in _SHOWN[name] if c in df.columns]
    if df.empty:
        return pd.DataFrame({"": ["(nothing to show)"]}).set_index("")
    keep = [*index, *shown, *(["suppressed"] if "suppressed" in df.columns else [])]
    body = df[keep].copy()
    for column in index:
        body[column] = body[column].astype(str)
    kinds: dict[str, Any] = {"retention_pct": "percent", "i2": "percent", "k": "count",
                             "with_meetings": "count", "enrolled": "count", "n": "count"}  # fmt: skip
    for column in shown:
        if column.endswith(("_responses", "_pairs")):
            kinds[column] = "count"
    out = format_table(body, policy=analysis.config.policy, kinds=kinds)
    return out.set_index(index) if index else out


@functools.cache
def _instrument(instrument: str) -> Instrument | None:
    """The instrument definition, or ``None`` when it is not found (a custom one)."""
    from mentoreval.instruments.definitions import load_instrument

    try:
        return load_instrument(instrument)
    except (MentorevalError, OSError):
        return None


def _instrument_name(instrument: str) -> str:
    inst = _instrument(instrument)
    return (inst.short_title or inst.title) if inst is not None else instrument


def _scale_info(instrument: str, scale: str) -> tuple[str, bool | None]:
    """The scale's label (``"WHO-5: Wellbeing (0–100)"``) and whether higher is better."""
    inst = _instrument(instrument)
    name = _instrument_name(instrument)
    for s in inst.scales if inst is not None else ():
        if s.id == scale:
            same = s.title.casefold().startswith(name.casefold())
            return (s.title if same else f"{name}: {s.title}"), bool(s.higher_is_better)
    return f"{name}: {scale}", None


def _decimals(instrument: str, scale: str) -> int:
    """Decimals of a change in points: 2 on a short scale (e.g. mean 1–5), else 1."""
    inst = _instrument(instrument)
    for s in inst.scales if inst is not None else ():
        if s.id == scale:
            return 2 if float(s.range[1]) - float(s.range[0]) <= 10 else 1
    return 1


# columns shown, estimate → CI columns merged into it, grouping columns (named once per
# block of rows) and labels particular to the table; "cohort" and "outcome" are made
# from programme/cohort/year and instrument/scale
_VIEWS: dict[str, tuple[list[str], dict[str, tuple[str, str]], list[str], dict[str, str]]] = {
    "participation": (
        ["programme", "cohort", "enrolled", "with_meetings", "pre_responses", "post_responses",
         "linked_pairs", "retention_pct"], {}, ["programme"], {}),
    "outcomes": (
        ["programme", "cohort", "outcome", "n_pairs", "mean_pre", "mean_post", "mean_diff",
         "ci_low", "ci_high", "p_value", "d_z", "g_av"],
        {"mean_diff": ("ci_low", "ci_high")}, ["programme", "cohort"], {}),
    "pooled": (
        ["programme", "outcome", "k", "n_pairs", "estimate", "ci_low", "ci_high", "pi_low",
         "pi_high", "p_value", "tau2", "i2"],
        {"estimate": ("ci_low", "ci_high")}, ["programme"],
        {"estimate": "Pooled change", "pi_low": "PI low", "pi_high": "PI high"}),
    "trends": (
        ["programme", "outcome", "cohort", "version", "n_pairs", "mean_pre", "mean_post",
         "mean_diff", "ci_low", "ci_high"],
        {"mean_diff": ("ci_low", "ci_high")}, ["programme", "outcome"], {"cohort": "Year"}),
    "trend_exclusions": (["programme", "instrument", "versions", "reason"], {}, ["programme"], {}),
    "dose": (
        ["programme", "outcome", "measure", "level", "n_pairs", "median_dose", "mean_change",
         "ci_low", "ci_high"],
        {"mean_change": ("ci_low", "ci_high")}, ["programme", "outcome", "measure"], {}),
    "dose_models": (
        ["programme", "outcome", "dose", "n", "slope", "slope_ci_low", "slope_ci_high",
         "p_value"],
        {"slope": ("slope_ci_low", "slope_ci_high")}, ["programme"],
        {"slope": "Change per unit of dose"}),
    "mentor_type": (
        ["programme", "outcome", "breakdown", "level", "n_pairs", "mean_change", "ci_low",
         "ci_high"],
        {"mean_change": ("ci_low", "ci_high")}, ["programme", "outcome", "breakdown"], {}),
}  # fmt: skip
_KINDS: dict[str, CellKind] = {
    "enrolled": "count", "with_meetings": "count", "pre_responses": "count",
    "post_responses": "count", "linked_pairs": "count", "k": "count",
    "retention_pct": "percent", "i2": "percent", "p_value": "p",
}  # fmt: skip
_MEASURES = {"meetings": "Meetings attended", "regularity": "Regularity of meetings"}
_TEXT_COLUMNS = {"programme", "cohort", "outcome", "measure", "level", "breakdown", "dose",
                 "instrument", "version", "versions", "reason"}  # fmt: skip
#: Tables with more columns than this print on a landscape page.
WIDE_AT = 10


def _unknown_table(name: str) -> ConfigError:
    return ConfigError(
        f"unknown annual table {name!r}",
        (Problem(f"unknown table {name!r}", fix=f"use one of: {', '.join(_VIEWS)}"),),
    )


def annual_table(analysis: AnnualAnalysis, name: str) -> pd.DataFrame:
    """One table of the analysis as a reader sees it: human labels, formatted numbers.

    Cohorts are named once (``"2023"``, or ``"spring (2024)"`` when the cohort is not its
    year), outcomes by their instrument and scale titles, the programme only when the
    table has more than one; each estimate carries its CI in one cell; numbers are
    formatted by :func:`~mentoreval.disclose.format_cell` (``"< k"`` where suppressed).

    Parameters
    ----------
    analysis
        From :func:`analyse_annual`.
    name
        ``participation``, ``outcomes``, ``pooled``, ``trends``, ``trend_exclusions``,
        ``dose``, ``dose_models`` or ``mentor_type``.

    Returns
    -------
    pandas.DataFrame
        Strings only, columns labelled for people.

    Raises
    ------
    ConfigError
        An unknown table name.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = (Path(tmp) / "annual.yaml").write_text("title: A\\nprogramme: peer\\n")
    ...     cfg = load_annual_config(Path(tmp) / "annual.yaml")
    >>> nan = float("nan")
    >>> outcomes = pd.DataFrame({
    ...     "programme": ["peer", "peer"], "cohort": ["2023", "2024"], "year": [2023, 2024],
    ...     "instrument": ["who5", "who5"], "scale": ["total", "total"],
    ...     "n_pairs": [57.0, nan], "mean_pre": [50.2, nan], "mean_post": [54.3, nan],
    ...     "mean_diff": [4.08, nan], "ci_low": [-2.47, nan], "ci_high": [10.63, nan],
    ...     "p_value": [0.216, nan], "d_z": [0.18, nan], "g_av": [0.21, nan],
    ...     "suppressed": [False, True]})
    >>> shown = annual_table(AnnualAnalysis(cfg, {"outcomes": outcomes}, ()), "outcomes")
    >>> shown.columns.tolist()
    ['Cohort', 'Outcome', 'n (pairs)', 'Mean pre', 'Mean post', 'Change (95% CI)', 'p', 'd_z', 'g_av']
    >>> shown.iloc[:, [0, 2, 5]].to_numpy().tolist()
    [['2023', '57', '4.08 (−2.47 to 10.63)'], ['2024', '< 10', '< 10']]
    """
    return _annual_view(analysis, name)[0]


def _annual_view(analysis: AnnualAnalysis, name: str) -> tuple[pd.DataFrame, int]:
    """:func:`annual_table` and how many of its leading columns are text."""
    if name not in _VIEWS:
        raise _unknown_table(name)
    columns, ci, _, labels = _VIEWS[name]
    df = analysis.tables[name]
    if df.empty:
        return pd.DataFrame({"": ["(nothing to show)"]}), 1
    body = df.copy()
    if {"programme", "cohort", "year"} <= set(body.columns):
        body["cohort"] = [
            _cohort_label(str(p), str(c), int(y), with_programme=False)
            for p, c, y in zip(body["programme"], body["cohort"], body["year"], strict=True)
        ]
    if {"instrument", "scale"} <= set(body.columns):
        body["outcome"] = [
            _scale_info(str(i), str(s))[0]
            for i, s in zip(body["instrument"], body["scale"], strict=True)
        ]
    elif "instrument" in body.columns:
        body["instrument"] = body["instrument"].astype(str).map(_instrument_name)
    if "measure" in body.columns:
        body["measure"] = body["measure"].astype(str).replace(_MEASURES)
    for column in ("level", "breakdown"):
        if column in body.columns:
            body[column] = body[column].astype(str).str.capitalize()
    flagged = "suppressed" in body.columns and bool(body["suppressed"].any())
    keep = [
        c
        for c in columns
        if c in body.columns
        and not (c == "programme" and len(set(body[c])) < 2)
        # a count that does not apply anywhere (no meeting log) is left out, not "–"
        and not (body[c].isna().all() and not flagged)
    ]
    shown = body[[*keep, *(["suppressed"] if "suppressed" in body.columns else [])]]
    text = format_report_table(
        shown,
        policy=analysis.config.policy,
        confidence=analysis.config.confidence,
        kinds={c: k for c, k in _KINDS.items() if c in keep},
        ci=ci,
        labels=labels,
    )
    if {"PI low", "PI high"} <= set(text.columns):
        hidden = ("–", analysis.config.policy.label)
        text["PI low"] = [
            a if a in hidden else f"{a} to {b}"
            for a, b in zip(text["PI low"], text["PI high"], strict=True)
        ]
        text = text.drop(columns=["PI high"]).rename(
            columns={"PI low": f"Prediction interval ({analysis.config.confidence:.0%})"}
        )
    lead = 0
    while lead < len(keep) and keep[lead] in _TEXT_COLUMNS:
        lead += 1
    return text, lead


def annual_table_html(analysis: AnnualAnalysis, name: str, *, caption: str | None = None) -> str:
    """:func:`annual_table` as HTML for the report: each cohort or outcome named once.

    More than :data:`WIDE_AT` columns print on a landscape page (``mentoreval-wide``).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = (Path(tmp) / "annual.yaml").write_text("title: A\\nprogramme: peer\\n")
    ...     cfg = load_annual_config(Path(tmp) / "annual.yaml")
    >>> dose = pd.DataFrame({
    ...     "programme": ["peer"] * 2, "instrument": ["who5"] * 2, "scale": ["total"] * 2,
    ...     "measure": ["meetings"] * 2, "level": ["low third", "high third"],
    ...     "n_pairs": [40.0, 41.0], "median_dose": [2.0, 7.0], "mean_change": [-0.5, 3.1],
    ...     "ci_low": [-4.0, -0.2], "ci_high": [3.0, 6.4], "suppressed": [False, False]})
    >>> html = annual_table_html(AnnualAnalysis(cfg, {"dose": dose}, ()), "dose")
    >>> html.count("WHO-5: Wellbeing (0–100)"), "Mean change (95% CI)" in html, "n_pairs" in html
    (1, True, False)
    >>> annual_table_html(AnnualAnalysis(cfg, {"dose": dose[:0]}, ()), "dose", caption="Dose")
    '<p><em>Dose: none.</em></p>'
    """
    if name in _VIEWS and analysis.tables[name].empty:
        return f"<p><em>{html.escape(caption or name.replace('_', ' '))}: none.</em></p>"
    text, lead = _annual_view(analysis, name)
    _, _, groups, labels = _VIEWS[name]
    return report_table_html(
        text,
        caption=caption,
        wide_at=WIDE_AT,
        blank_repeats=[column_label(g, labels=labels) for g in groups],
        text_columns=lead,
    )


def _sd_of_change(outcomes: pd.DataFrame, scope: str, instrument: str, scale: str) -> float:
    """SD of the within-student change, pooled over the published cohorts of a pooled row
    (each cohort's SD is its standard error × √n)."""
    rows = outcomes[
        (outcomes["instrument"] == instrument)
        & (outcomes["scale"] == scale)
        & outcomes["se"].notna()
        & outcomes["n_pairs"].notna()
        & (outcomes["n_pairs"] >= 2)
    ]
    if scope != "all programmes":
        rows = rows[rows["programme"] == scope]
    if rows.empty:
        return math.nan
    n = rows["n_pairs"].astype(float)
    variance = (rows["se"].astype(float) ** 2) * n
    return float(math.sqrt(((n - 1) * variance).sum() / (n - 1).sum()))


def _heterogeneity_words(i2: float) -> str:
    if pd.isna(i2):
        return ""
    if i2 < 25:
        return f"the cohorts were similar (I² = {i2:.0f}%)"
    if i2 < 50:
        return f"the cohorts differed somewhat (I² = {i2:.0f}%)"
    return f"the cohorts differed considerably (I² = {i2:.0f}%)"


def _cohort_names(rows: pd.DataFrame) -> str:
    several = len(set(rows["programme"])) > 1
    names = [
        _cohort_label(str(r.programme), str(r.cohort), int(r.year), with_programme=several)
        for r in rows.itertuples(index=False)
    ]
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    return f"{'Cohort' if len(names) == 1 else 'Cohorts'} {listed}"


def format_annual_summary(analysis: AnnualAnalysis) -> str:
    """A plain-language summary (Markdown): participation, comparison groups and the
    pooled primary outcomes with a calibrated judgement.

    Each pooled change is given in the scale's points with its CI and judged in words by
    :func:`mentoreval.report.cohort.format_finding` — as in the cohort report — after dividing
    it by the SD of the within-student change pooled over the cohorts (a d_z-like
    standardised change), in the direction in which the scale improves.

    Examples
    --------
    >>> display(Markdown(format_annual_summary(analysis)))  # doctest: +SKIP
    """
    from mentoreval.report.cohort.analysis import format_change, format_finding

    cfg = analysis.config
    part = analysis["participation"]
    cohorts = analysis["cohorts"]
    years = sorted({int(y) for y in cohorts["year"]})
    span = str(years[0]) if len(years) == 1 else f"{years[0]} to {years[-1]}"
    names = sorted(set(cohorts["programme"]))
    programmes = ", ".join(names)
    lines = [
        f"**{cfg.title}.** {len(cohorts)} cohort{'s' if len(cohorts) != 1 else ''} of the "
        f"{programmes} programme{'s' if len(names) > 1 else ''}, "
        f"{span}.",
        "",
    ]
    for programme, g in part.groupby("programme", sort=True):
        shown = g.dropna(subset=["retention_pct"])
        if len(shown) > 1:
            lines.append(
                f"- **Retention** ({programme}): between {shown['retention_pct'].min():.0f}% "
                f"and {shown['retention_pct'].max():.0f}% of the students who answered the "
                "first survey also answered the second."
            )
        elif len(shown):
            lines.append(
                f"- **Retention** ({programme}): {shown['retention_pct'].iloc[0]:.0f}% of the "
                "students who answered the first survey also answered the second."
            )
    compared = cohorts[cohorts["comparison_group"].astype(str) != ""]
    if len(compared):
        one = len(compared) == 1
        lines.append(
            f"- **Comparison group**: {_cohort_names(compared)} "
            f"{'was' if one else 'were'} evaluated against a comparison group. In this "
            "report, "
            f"{'that cohort' if one else 'those cohorts'} count{'s' if one else ''} only "
            "the mentored students, and the change is the mentored students' own change "
            "between the surveys; the programme's controlled effect is in the cohort "
            f"report{'' if one else 's'}."
        )
    else:
        lines.append(
            "- **Comparison group**: none of the cohorts had one, so the changes below are "
            "changes over time, not effects of the programme."
        )
    pooled = analysis["pooled"]
    primary = pooled[pooled["primary"].astype(bool) & pooled["estimate"].notna()]
    outcomes = analysis["outcomes"]
    for r in primary.itertuples(index=False):
        label, higher_is_better = _scale_info(str(r.instrument), str(r.scale))
        change = format_change(
            r.estimate, r.ci_low, r.ci_high, confidence=cfg.confidence,
            decimals=_decimals(str(r.instrument), str(r.scale)),
        )  # fmt: skip
        sd = _sd_of_change(outcomes, str(r.programme), str(r.instrument), str(r.scale))
        if higher_is_better is not None and sd > 0:
            judgement = format_finding(
                r.estimate / sd, r.ci_low / sd, r.ci_high / sd, higher_is_better=higher_is_better
            )
        elif r.ci_low > 0 or r.ci_high < 0:
            judgement = "an increase" if r.ci_low > 0 else "a decrease"
        else:
            judgement = "consistent with no change"
        pairs = format_cell(r.n_pairs, kind="count", policy=cfg.policy)
        spread = _heterogeneity_words(r.i2)
        lines.append(
            f"- **{label}** ({r.programme}; {r.k} cohorts, {pairs} students with both "
            f"surveys): mean change {change} — {judgement}" + (f"; {spread}." if spread else ".")
        )
    if primary.empty:
        lines.append("- No primary outcome could be pooled over cohorts (see the notes).")
    lines.append(
        "\nThese are changes between the first and second survey of the same students, "
        "pooled over cohorts: they include whatever changes over an academic year anyway, "
        "so they are not effects of the programme. Dose and mentor-type breakdowns are "
        "exploratory."
    )
    return "\n".join(lines)


def format_annual_methods(analysis: AnnualAnalysis) -> str:
    """Methods, disclosure control and notes (Markdown)."""
    cfg = analysis.config
    policy = cfg.policy
    lines = [
        "**Data.** Each cohort is read from the mentoreval store (Parquet, one partition per "
        "programme, cohort and year) exactly as ingested; the cohorts and the sha256 of their "
        "inputs are listed in `manifest.json`.",
        f"**Change per cohort.** Paired t on post − pre for mentored students with both "
        f"waves; {cfg.confidence:.0%} CIs; d_z and g_av as in the cohort report.",
        "**Pooling.** DerSimonian–Laird random-effects meta-analysis of the cohorts' mean "
        "changes (standard error from the paired-t CI), within each programme and — for "
        "instruments shared by programmes — across them; τ², I² and a prediction interval "
        "describe how much cohorts differ. Only published (unsuppressed) cohort estimates "
        "are pooled.",
        "**Trends** are shown only for instruments whose version is identical in every "
        "cohort; others are listed with the reason.",
        "**Dose and mentor type** are exploratory and associational: engagement is "
        "self-selected, so they do not estimate causal effects.",
        f"**Disclosure control.** Profile '{policy.profile}', threshold {policy.threshold} "
        "students; small cells are shown as "
        f"'{policy.label}', with complementary suppression in breakdowns; a release ledger "
        "kept in the store blocks numbers that would difference against earlier reports.",
    ]
    if policy.warning:
        lines.insert(0, f"**{policy.warning}**")
    if analysis.notes:
        lines.append("\n**Notes.**\n" + "\n".join(f"- {n}" for n in analysis.notes))
    return "\n\n".join(lines)


# --------------------------------------------------------------------------- figures


def plot_annual_participation(analysis: AnnualAnalysis) -> Figure:
    """Retention (%) per cohort year, one line per programme (suppressed points omitted).

    Examples
    --------
    >>> fig = plot_annual_participation(analysis)  # doctest: +SKIP
    """
    from mentoreval.report.figures.charts import OKABE_ITO, _new_figure, _rc

    part = analysis["participation"]
    fig, ax = _new_figure(6.0, 3.2)
    with _rc():
        for i, (programme, g) in enumerate(part.groupby("programme", sort=True)):
            g = g.sort_values("year")
            colour = OKABE_ITO[i % len(OKABE_ITO)]
            ax.plot(g["year"], g["retention_pct"], marker="o", color=colour, label=programme)
            for r in g.itertuples(index=False):
                if pd.notna(r.retention_pct):
                    ax.annotate(f"{r.retention_pct:.0f}%", (r.year, r.retention_pct),
                                textcoords="offset points", xytext=(0, 6), ha="center",
                                fontsize=8, color=colour)  # fmt: skip
        ax.set_xticks(sorted({int(y) for y in part["year"]}))
        ax.set_ylim(0, 105)
        ax.set_ylabel("Retention: linked pairs / pre responses (%)")
        ax.set_title("Participation and retention by cohort", loc="left")
        ax.legend(frameon=False, loc="lower left")
    return fig


def forest_figures(analysis: AnnualAnalysis, *, primary_only: bool = True) -> list[Figure]:
    """One forest plot per programme × outcome (primary outcomes by default).

    Examples
    --------
    >>> display(*forest_figures(analysis))  # doctest: +SKIP
    """
    from mentoreval.report.figures.charts import plot_change_forest

    forest = analysis["forest"]
    wanted = set(analysis.primary)
    figures = []
    for (programme, instrument, scale), g in forest.groupby(
        ["programme", "instrument", "scale"], sort=False
    ):
        if primary_only and wanted and (str(instrument), str(scale)) not in wanted:
            continue
        cohort_rows = g[g["row"] == "cohort"]
        pooled_row = g[g["row"] == "pooled"]
        pooled = None
        if len(pooled_row) and pd.notna(pooled_row["estimate"].iloc[0]):
            p = pooled_row.iloc[0]
            pooled = {"estimate": p["estimate"], "ci_low": p["ci_low"], "ci_high": p["ci_high"]}
        figures.append(
            plot_change_forest(
                cohort_rows,
                label="label",
                estimate="estimate",
                pooled=pooled,
                title=f"{_scale_info(str(instrument), str(scale))[0]} — {programme}",
                xlabel=f"Mean change (post − pre) with {analysis.config.confidence:.0%} CI",
                policy=analysis.config.policy,
            )
        )
    return figures


def plot_annual_trends(analysis: AnnualAnalysis) -> list[Figure]:
    """Mean pre and post score by year per primary outcome (unchanged instruments only)."""
    from mentoreval.report.figures.charts import OKABE_ITO, _new_figure, _rc

    trends = analysis["trends"]
    wanted = set(analysis.primary)
    figures = []
    for (programme, instrument, scale), g in trends.groupby(
        ["programme", "instrument", "scale"], sort=True
    ):
        if wanted and (str(instrument), str(scale)) not in wanted:
            continue
        g = g.sort_values("year")
        fig, ax = _new_figure(6.0, 3.0)
        with _rc():
            for colour, column, name in (
                (OKABE_ITO[0], "mean_pre", "pre"),
                (OKABE_ITO[1], "mean_post", "post"),
            ):
                ax.plot(g["year"], g[column], marker="o", color=colour, label=name)
            ax.set_xticks(sorted({int(y) for y in g["year"]}))
            ax.set_ylabel("Mean score")
            ax.set_title(
                f"{_scale_info(str(instrument), str(scale))[0]} by year — {programme}", loc="left"
            )
            ax.legend(frameon=False)
        figures.append(fig)
    return figures


# --------------------------------------------------------------------------- outputs


def save_release_ledger(analysis: AnnualAnalysis) -> Path:
    """Merge this report's releases into ``<store>/ledger/releases.json`` (under the store
    lock, so parallel reports on the same store keep each other's entries); see
    :func:`mentoreval.store.merge_release_ledger`."""
    return merge_release_ledger(analysis.config.store_root, analysis.ledger)


def write_annual_outputs(
    analysis: AnnualAnalysis,
    out_dir: str | os.PathLike[str],
    *,
    parameters: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write tables, figures, ``results.json`` and ``manifest.json``; record the release.

    Parameters
    ----------
    analysis
        From :func:`analyse_annual`.
    out_dir
        The report folder: ``tables/*.csv``, ``figures/*.png|svg``, ``results.json``,
        ``manifest.json``.
    parameters
        The report parameters, recorded in the manifest.

    Returns
    -------
    dict
        The manifest.
    """
    from mentoreval.config.paths import project_root
    from mentoreval.report.figures.charts import save_figure
    from mentoreval.report.tables import build_manifest, write_json, write_table

    out = Path(out_dir)
    for name, table in analysis.tables.items():
        if name == "cohorts":
            continue
        write_table(table, out / "tables" / f"{name}.csv")
    save_figure(plot_annual_participation(analysis), out / "figures" / "participation")
    for i, fig in enumerate(forest_figures(analysis)):
        save_figure(fig, out / "figures" / f"forest_{i + 1:02d}")
    for i, fig in enumerate(plot_annual_trends(analysis)):
        save_figure(fig, out / "figures" / f"trend_{i + 1:02d}")
    pooled = analysis["pooled"]
    results = {
        "title": analysis.config.title,
        "programmes": sorted(set(analysis["cohorts"]["programme"])),
        "years": sorted({int(y) for y in analysis["cohorts"]["year"]}),
        "pooled": pooled.to_dict(orient="records"),
        "participation": analysis["participation"].to_dict(orient="records"),
        "trend_exclusions": analysis["trend_exclusions"].to_dict(orient="records"),
        "suppressed_rows": {
            name: int(t["suppressed"].sum())
            for name, t in analysis.tables.items()
            if "suppressed" in t.columns
        },
        "notes": list(analysis.notes),
    }
    write_json(results, out / "results.json")
    cfg = analysis.config
    inputs = [cfg.path, *(cfg.studies or ())]
    ledger_path = save_release_ledger(analysis)
    manifest = build_manifest(
        inputs=[Path(p) for p in inputs],
        parameters=dict(parameters or {}),
        key_fingerprint=None,
        extra={
            "store": str(cfg.store_root),
            "cohorts": analysis["cohorts"].to_dict(orient="records"),
            "ledger": str(ledger_path),
            "disclosure": {"profile": cfg.policy.profile, "threshold": cfg.policy.threshold},
        },
        repo=project_root(cfg.path),
    )
    write_json(manifest, out / "manifest.json")
    return manifest


def format_provenance(manifest: Mapping[str, Any]) -> str:
    """A short Markdown provenance note from a report manifest.

    Examples
    --------
    >>> m = {"created_at": "2025-06-30T12:00:00Z", "git_commit": None,
    ...      "packages": {"mentoreval": "0.1.0"},
    ...      "extra": {"cohorts": [{"programme": "peer", "cohort": "2025", "year": 2025,
    ...                             "inputs_sha256": "ab" * 32}]}}
    >>> print(format_provenance(m))
    Created 2025-06-30T12:00:00Z with mentoreval 0.1.0 (git commit: not a git checkout).
    <BLANKLINE>
    | Cohort | Inputs (sha256, first 12 characters) |
    |---|---|
    | peer 2025 | abababababab |
    """
    commit = manifest.get("git_commit") or "not a git checkout"
    version = manifest.get("packages", {}).get("mentoreval", "?")
    lines = [
        f"Created {manifest.get('created_at')} with mentoreval {version} (git commit: {commit}).",
        "",
        "| Cohort | Inputs (sha256, first 12 characters) |",
        "|---|---|",
    ]
    for c in manifest.get("extra", {}).get("cohorts", []):
        shas = ", ".join(s[:12] for s in str(c.get("inputs_sha256", "")).split())
        name = _cohort_label(
            str(c["programme"]), str(c["cohort"]), int(c["year"]), with_programme=True
        )
        lines.append(f"| {name} | {shas} |")
    return "\n".join(lines)


def annual_forbidden(config: AnnualConfig) -> dict[str, list[str]]:
    """Strings that must never reach the report: every pseudonym of the cohorts included."""
    cohorts = _select_cohorts(config)
    people = _table(config, "participants", cohorts)
    ids = people.get("participant_id", pd.Series(dtype=str)).dropna().astype(str)
    return {"pseudonym": sorted(set(ids))}


def run_annual_report(
    config: str | os.PathLike[str],
    *,
    out_dir: str | os.PathLike[str] | None = None,
    pdf: bool = True,
    progress: bool = True,
    template: str | os.PathLike[str] | None = None,
) -> ReportOutputs:
    """Run the annual report: update the store, execute the template, render, scan.

    Parameters
    ----------
    config
        ``annual.yaml``.
    out_dir
        Report folder (default ``<project>/reports/<config name>``).
    pdf
        Also render the PDF.
    progress
        Show the progress bar.
    template
        Another template (default ``notebooks/templates/annual_report.ipynb``).

    Returns
    -------
    mentoreval.report.notebook.ReportOutputs

    Examples
    --------
    >>> run_annual_report("data/demo/peer/annual.yaml")  # doctest: +SKIP
    """
    from mentoreval.config.paths import project_root
    from mentoreval.report.cohort.analysis import _kernel_log
    from mentoreval.report.notebook import ReportOutputs, build_report
    from mentoreval.safefs import OutputFolder

    cfg = load_annual_config(config)
    folder = Path(out_dir) if out_dir is not None else project_root(cfg.path) / "reports" / cfg.name
    protected = [cfg.path, *(cfg.studies or ())]
    with OutputFolder(folder, kind="annual report", protected=protected, key="--out") as output:
        update_store(cfg, echo=progress)
        with _kernel_log(output.final, progress):
            built = build_report(
                template or TEMPLATE,
                output.staging,
                parameters={"config": str(cfg.path.resolve()), "out_dir": str(output.staging)},
                name="annual_report",
                pdf=pdf,
                forbidden=annual_forbidden(cfg),
                progress=progress,
            )
        staging = output.staging
        final = output.commit()
    return ReportOutputs(
        notebook=final / built.notebook.name,
        html=final / built.html.name,
        pdf=final / built.pdf.name if built.pdf is not None else None,
        scanned=tuple(final / p.relative_to(staging) for p in built.scanned),
    )


def run_annual_job(job: Job) -> None:
    """Batch runner for ``kind: annual`` (see :mod:`mentoreval.run.batch`)."""
    run_annual_report(job.config, out_dir=job.out_dir, pdf=True, progress=False)
