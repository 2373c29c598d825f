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
    """One cohort's paired comparison of every instrument × scale measured at both waves
    (:func:`~mentoreval.stats.compare_paired`, rows with at least two pairs).

    All scales are compared in one call (one reshape of the cohort's scores); only when
    that call refuses the data are the scales compared one by one, so the note names the
    scale at fault and the other scales keep their comparison.
    """
    from mentoreval.stats import compare_paired

    if scores.empty:
        return pd.DataFrame()
    keys = ["instrument", "scale"]
    at = pd.DataFrame({"pre": scores["wave"].eq(pre), "post": scores["wave"].eq(post)})
    waves = at.groupby([scores[k] for k in keys], sort=True, observed=True).any()
    # measured at one wave only (e.g. mentoring quality at follow-up): not compared
    both = waves.index[waves["pre"] & waves["post"]]
    if both.empty:
        return pd.DataFrame()
    sub = scores[pd.MultiIndex.from_frame(scores[keys]).isin(both)]
    try:
        out = compare_paired(
            sub, pre=pre, post=post, confidence=confidence, p_adjust="none", details=True
        )
    except MentorevalError:
        return _paired_rows_one_by_one(sub, pre=pre, post=post, confidence=confidence,
                                       notes=notes, where=where)  # fmt: skip
    return out[out["n_pairs"] >= 2].reset_index(drop=True)


def _paired_rows_one_by_one(
    scores: pd.DataFrame, *, pre: str, post: str, confidence: float, notes: list[str], where: str
) -> pd.DataFrame:
    """:func:`paired_rows` scale by scale, noting each scale that cannot be compared."""
    from mentoreval.stats import compare_paired

    rows = []
    for (instrument, scale), sub in scores.groupby(["instrument", "scale"], sort=True):
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
