"""The annual report's inputs: which stored cohorts it covers and their tables from the store.

Report stage (what is computed): selection and per-cohort helpers used by the analysis.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from mentoreval.config.annual import AnnualConfig
from mentoreval.errors import (
    DataError,
    MentorevalError,
    Problem,
)
from mentoreval.store.parquet import (
    list_cohorts,
    load_table,
)

if TYPE_CHECKING:
    pass


def cohort_label(programme: str, cohort: str, year: int, *, with_programme: bool) -> str:
    core = str(year) if cohort == str(year) else f"{cohort} ({year})"
    return f"{programme} {core}" if with_programme else core


def t_ci(values: np.ndarray, confidence: float) -> tuple[float, float, float]:
    n = len(values)
    if n < 2:
        return (float(values.mean()) if n else math.nan, math.nan, math.nan)
    mean = float(values.mean())
    half = float(stats.t.ppf(1 - (1 - confidence) / 2, n - 1) * values.std(ddof=1) / math.sqrt(n))
    return mean, mean - half, mean + half


_STORE_FIX = (
    "if the cohorts are in another store (an annual config outside the project reads "
    "<its folder>/data/store), name it with store: in the annual config, e.g. "
    "store: ../my-project/data/store (relative to the annual config's folder)"
)


def select_cohorts(config: AnnualConfig) -> pd.DataFrame:
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
                        fix="run 'mentoreval ingest STUDY' for each, or set update_store: "
                        f"true; {_STORE_FIX}",
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
                    fix=f"check programmes/years, or ingest the studies into this store; {_STORE_FIX}",
                ),
            ),
        )
    return cohorts.reset_index(drop=True)


def store_table(config: AnnualConfig, name: str, cohorts: pd.DataFrame) -> pd.DataFrame:
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


def mentored_people(info: pd.Series, participants: pd.DataFrame) -> pd.DataFrame:
    treated = info.get("treated")
    if isinstance(treated, str) and treated and "group" in participants:
        return participants[participants["group"].astype("string") == treated]
    return participants


def paired_rows(
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
