"""The annual report's pooled estimates: DerSimonian–Laird random effects over the published
cohort estimates of each programme (and, for instruments shared by programmes, across them),
with the forest-plot rows; only instruments whose version is the same in every cohort pooled.

Report stage (what is computed): called by :func:`~mentoreval.report.annual.analysis.analyse_annual`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mentoreval.frames import iter_rows
from mentoreval.report.annual.inputs import cohort_label

if TYPE_CHECKING:
    from mentoreval.stats.meta import Pooled

__all__ = ["holm_within_scope", "pooled_and_forest"]

_POOLED_COLS = [
    "programme", "instrument", "scale", "k", "n_pairs", "estimate", "se", "ci_low",
    "ci_high", "p_value", "p_adj", "pi_low", "pi_high", "tau2", "i2", "q", "q_p_value",
    "primary", "method",
]  # fmt: skip
_FOREST_COLS = [
    "programme", "instrument", "scale", "row", "label", "n_pairs", "estimate",
    "ci_low", "ci_high", "weight_random", "suppressed", "cohort_programme", "cohort", "year",
]  # fmt: skip


def _comparable(
    programmes: Iterable[str],
    instrument: str,
    consistent: dict[tuple[str, str], bool],
    versions: pd.DataFrame,
) -> bool:
    """Whether ``instrument`` has one version in every cohort of ``programmes``."""
    progs = list(programmes)
    if not all(consistent.get((p, instrument), False) for p in progs):
        return False
    sub = versions[versions["programme"].isin(progs) & (versions["instrument"] == instrument)]
    return len(set(sub["version"].astype(str))) == 1


def pooled_and_forest(
    outcomes: pd.DataFrame,
    versions: pd.DataFrame,
    consistent: dict[tuple[str, str], bool],
    *,
    multi: bool,
    primary_set: set[tuple[str, str]],
    conf: float,
    notes: list[str],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pooled random effects and forest data (published cohort estimates only)."""
    pooled_rows: list[dict[str, Any]] = []
    forest_rows: list[dict[str, Any]] = []
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
            if not _comparable(progs, str(instrument), consistent, versions):
                continue
            _pool_one(
                scope, instrument, scale, h, primary_set, conf, notes, pooled_rows, forest_rows
            )
    pooled = pd.DataFrame(pooled_rows, columns=_POOLED_COLS).assign(suppressed=False)
    pooled["p_adj"] = holm_within_scope(pooled)
    forest = pd.DataFrame(forest_rows, columns=_FOREST_COLS)
    return pooled, forest


def holm_within_scope(pooled: pd.DataFrame) -> np.ndarray:
    """Holm-adjusted p of each pooled primary outcome; NaN for the other rows.

    The family is the primary outcomes pooled in one scope (a programme, or all
    programmes together), as R's ``p.adjust(p, method = "holm")`` over their pooled
    p-values; secondary outcomes are not adjusted (they are not judged).

    Examples
    --------
    >>> pooled = pd.DataFrame({"programme": ["peer"] * 3, "primary": [True, True, False],
    ...                        "p_value": [0.01, 0.04, 0.002]})
    >>> holm_within_scope(pooled).round(3).tolist()
    [0.02, 0.04, nan]
    """
    from mentoreval.stats.multiplicity import adjust_pvalues

    out = np.full(len(pooled), np.nan)
    if pooled.empty:
        return out
    primary = pooled["primary"].astype(bool).to_numpy()
    scopes = pooled["programme"].astype(str).to_numpy()
    for scope in sorted(set(scopes[primary])):
        rows = np.flatnonzero(primary & (scopes == scope))
        out[rows] = adjust_pvalues(pooled["p_value"].to_numpy(dtype=float)[rows], method="holm")
    return out


def _pool_one(
    scope: str,
    instrument: Any,
    scale: Any,
    h: pd.DataFrame,
    primary_set: set[tuple[str, str]],
    conf: float,
    notes: list[str],
    pooled_rows: list[dict[str, Any]],
    forest_rows: list[dict[str, Any]],
) -> None:
    """Pool one scope × scale: append its pooled row (if any) and its forest rows."""
    from mentoreval.stats import pool_effects

    h = h.sort_values(["programme", "year", "cohort"])
    labels = [
        cohort_label(r.programme, r.cohort, int(r.year), with_programme=scope != r.programme)
        for r in iter_rows(h)
    ]
    ok = h["mean_diff"].notna() & (h["se"] > 0)
    base = {"programme": scope, "instrument": instrument, "scale": scale}
    weights = pd.Series(np.nan, index=h.index)
    if ok.sum() >= 2:
        res = pool_effects(
            h.loc[ok, "mean_diff"], h.loc[ok, "se"], labels=np.array(labels)[ok.to_numpy()],
            confidence=conf,
        )  # fmt: skip
        weights.loc[ok] = res.studies["weight_random"].to_numpy()
        pooled_rows.append(_pooled_row(base, res, h.loc[ok, "n_pairs"], primary_set))
    elif scope != "all programmes" and h["year"].nunique() >= 2:
        notes.append(
            f"Pooled: {scope} {instrument}.{scale} not pooled — fewer than 2 cohorts "
            "with a published estimate."
        )
    for lab, r, w in zip(labels, iter_rows(h), weights, strict=True):
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
                "cohort_programme": r.programme,
                "cohort": r.cohort,
                "year": int(r.year),
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
                "cohort_programme": "",
                "cohort": "",
                "year": np.nan,
            }
        )


def _pooled_row(
    base: dict[str, Any], res: Pooled, n_pairs: pd.Series, primary_set: set[tuple[str, str]]
) -> dict[str, Any]:
    """The pooled-table row of one random-effects fit."""
    rnd = res.pooled.set_index("model").loc["random"]
    het = res.heterogeneity.iloc[0]
    return {
        **base,
        "k": int(het["k"]),
        "n_pairs": float(n_pairs.sum()),
        "estimate": float(rnd["estimate"]),  # type: ignore[arg-type]  # pandas-stubs: one row of the meta-analysis table, a scalar
        "se": float(rnd["se"]),  # type: ignore[arg-type]  # pandas-stubs: one row of the meta-analysis table, a scalar
        "ci_low": float(rnd["ci_low"]),  # type: ignore[arg-type]  # pandas-stubs: one row of the meta-analysis table, a scalar
        "ci_high": float(rnd["ci_high"]),  # type: ignore[arg-type]  # pandas-stubs: one row of the meta-analysis table, a scalar
        "p_value": float(rnd["p_value"]),  # type: ignore[arg-type]  # pandas-stubs: one row of the meta-analysis table, a scalar
        "p_adj": np.nan,  # Holm over the scope's primary outcomes, once all are pooled
        "pi_low": float(rnd["pi_low"]),  # type: ignore[arg-type]  # pandas-stubs: one row of the meta-analysis table, a scalar
        "pi_high": float(rnd["pi_high"]),  # type: ignore[arg-type]  # pandas-stubs: one row of the meta-analysis table, a scalar
        "tau2": float(het["tau2"]),
        "i2": float(het["i2"]),
        "q": float(het["q"]),
        "q_p_value": float(het["q_p_value"]),
        "primary": (str(base["instrument"]), str(base["scale"])) in primary_set,
        "method": "DerSimonian-Laird random effects on mean change",
    }
