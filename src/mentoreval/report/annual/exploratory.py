"""The exploratory tables of the annual report: mean change by dose third (meetings,
regularity), the dose slope, and mean change by mentor type, for the primary scales of the
mentored students with both waves; disclosure-controlled like every other table.

Report stage (what is computed): called by :func:`~mentoreval.report.annual.analysis.analyse_annual`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from mentoreval.errors import MentorevalError
from mentoreval.report.annual.inputs import t_ci

__all__ = ["EXPLORATORY", "dose_and_mentor_type"]

EXPLORATORY = "exploratory"

# --------------------------------------------------------------------------- dose + mentor type

_DOSE_COLS = ["programme", "instrument", "scale", "measure", "level", "n_pairs",
              "median_dose", "mean_change", "ci_low", "ci_high", "label"]  # fmt: skip
_MODEL_COLS = ["programme", "instrument", "scale", "dose", "n", "slope", "slope_ci_low",
               "slope_ci_high", "p_value", "label"]  # fmt: skip
_MENTOR_COLS = ["programme", "instrument", "scale", "breakdown", "level", "n_pairs",
                "mean_change", "ci_low", "ci_high", "label"]  # fmt: skip


def dose_and_mentor_type(
    change: pd.DataFrame,
    dose: pd.DataFrame,
    *,
    primary_set: set[tuple[str, str]],
    conf: float,
    notes: list[str],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Dose thirds, dose slopes and mentor type (exploratory; mentored, both waves), in
    full: the annual release decides what is shown."""
    dose_rows: list[dict[str, Any]] = []
    model_rows: list[pd.DataFrame] = []
    mentor_rows: list[dict[str, Any]] = []
    if len(change) and len(dose):
        _dose_rows(change, dose, primary_set, conf, notes, dose_rows, model_rows, mentor_rows)
    dose_table = pd.DataFrame(dose_rows, columns=_DOSE_COLS)
    dose_models = (
        pd.concat(model_rows, ignore_index=True)[_MODEL_COLS]
        if model_rows
        else pd.DataFrame(columns=_MODEL_COLS)
    )
    mentor_type = pd.DataFrame(mentor_rows, columns=_MENTOR_COLS)
    if not len(dose):
        notes.append("Dose and mentor type: no cohort in the report has a meeting log.")
    return (
        dose_table.astype({"n_pairs": "float64"}).assign(suppressed=False),
        dose_models.astype({"n": "float64"}).assign(suppressed=False),
        mentor_type.astype({"n_pairs": "float64"}).assign(suppressed=False),
    )


def _dose_rows(
    change: pd.DataFrame,
    dose: pd.DataFrame,
    primary_set: set[tuple[str, str]],
    conf: float,
    notes: list[str],
    dose_rows: list[dict[str, Any]],
    model_rows: list[pd.DataFrame],
    mentor_rows: list[dict[str, Any]],
) -> None:
    """Per primary scale and programme: dose thirds, dose slope, mentor-type breakdowns."""
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
        dose_rows.extend(_dose_thirds(g, base, conf))
        try:
            fit = fit_dose(g.rename(columns={"n_meetings": "meetings"}), dose="meetings")
        except MentorevalError as exc:
            notes.append(f"Dose: {programme} {instrument}.{scale} slope not fitted ({exc}).")
        else:
            model_rows.append(fit.assign(**base))  # type: ignore[arg-type]  # pandas-stubs: a cell or groupby key is typed as any scalar; here it is the column's str/float
        mentor_rows.extend(_mentor_breakdowns(g, base, conf))


def _dose_thirds(g: pd.DataFrame, base: dict[str, Any], conf: float) -> list[dict[str, Any]]:
    """Mean change by third of the ranked meetings and regularity (≥ 3 distinct values)."""
    rows = []
    for measure in ("n_meetings", "regularity"):
        x = g[measure].astype(float)
        if x.nunique() < 3:
            continue
        thirds = pd.qcut(x.rank(method="first"), 3, labels=["low", "middle", "high"])
        for level in ("low", "middle", "high"):
            sel = g[thirds == level]
            mean, lo, hi = t_ci(sel["change"].to_numpy(float), conf)
            rows.append(
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
    return rows


def _mentor_breakdowns(g: pd.DataFrame, base: dict[str, Any], conf: float) -> list[dict[str, Any]]:
    """Mean change by primary mentor type and by one mentor vs a mentoring team."""
    rows = []
    for breakdown, column in (
        ("primary mentor type", "primary_mentor_type"),
        ("mentoring team", "team"),
    ):
        values = g[column]
        if column == "team":
            values = values.map({True: "team (2+ mentors)", False: "one mentor"})
        for level, sel in g.groupby(values.astype("string").fillna("no meetings"), sort=True):
            mean, lo, hi = t_ci(sel["change"].to_numpy(float), conf)
            rows.append(
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
    return rows
