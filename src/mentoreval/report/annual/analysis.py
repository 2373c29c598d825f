"""What the annual report computes: :func:`analyse_annual` builds every disclosure-controlled
table of the annual report from the store (participation, per-cohort and pooled change,
trends, dose, mentor type).

Report stage (what is computed). The package docstring (:mod:`mentoreval.report.annual`)
shows how the parts fit.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from mentoreval.config.annual import AnnualConfig, load_annual_config
from mentoreval.disclose.ledger import ReleaseLedger
from mentoreval.disclose.suppression import suppress_counts, suppress_table
from mentoreval.errors import (
    MentorevalError,
)
from mentoreval.frames import iter_rows
from mentoreval.report.annual.inputs import (
    cohort_label,
    mentored_people,
    paired_rows,
    secondary_rows,
    select_cohorts,
    store_table,
    t_ci,
)
from mentoreval.report.annual.results import AnnualAnalysis
from mentoreval.store.parquet import (
    load_release_ledger,
)

if TYPE_CHECKING:
    pass

__all__ = ["DERIVED_COLUMNS", "analyse_annual"]

EXPLORATORY = "exploratory"

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


# --------------------------------------------------------------------------- analysis


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
    cohorts = select_cohorts(config)
    cohorts = cohorts.sort_values(["programme", "year", "cohort"], ignore_index=True)
    multi = len(set(cohorts["programme"])) > 1
    info = store_table(config, "cohort_info", cohorts)
    participants = store_table(config, "participants", cohorts)
    linkage = store_table(config, "linkage", cohorts)
    scores = store_table(config, "scores", cohorts)
    versions = store_table(config, "instruments", cohorts)
    dose = store_table(config, "dose", cohorts)
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
    for c in iter_rows(cohorts):
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
        people = mentored_people(row_info, of(participants))
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
        paired = paired_rows(
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
        for r in iter_rows(versions)
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
        for r in iter_rows(raw_outcomes)
    ]
    raw_outcomes["primary"] = [
        (str(i), str(s)) in primary_set
        for i, s in zip(raw_outcomes["instrument"], raw_outcomes["scale"], strict=True)
    ]
    out_cols = ["programme", "cohort", "year", "instrument", "scale", "version", "primary"]
    out_parts = []
    for (programme, cohort, year), g in raw_outcomes.groupby(  # type: ignore[assignment]  # pandas-stubs: a cell or groupby key is typed as any scalar; here it is the column's str/float
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
    for (programme, instrument), g in versions.groupby(["programme", "instrument"], sort=True):  # type: ignore[assignment]  # pandas-stubs: a cell or groupby key is typed as any scalar; here it is the column's str/float
        per_year = g.sort_values(["year", "cohort"])
        distinct = list(dict.fromkeys(per_year["version"].astype(str)))
        consistent[(str(programme), str(instrument))] = len(distinct) == 1
        listed = "; ".join(f"{r.year}: {r.version}" for r in iter_rows(per_year))  # type: ignore[assignment]  # pandas-stubs: a cell or groupby key is typed as any scalar; here it is the column's str/float
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
    for r in iter_rows(trend_exclusions):
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
                cohort_label(
                    r.programme, r.cohort, int(r.year), with_programme=scope != r.programme
                )
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
                rnd = res.pooled.set_index("model").loc["random"]
                het = res.heterogeneity.iloc[0]
                weights.loc[ok] = res.studies["weight_random"].to_numpy()
                pooled_rows.append(
                    {
                        **base,
                        "k": int(het["k"]),
                        "n_pairs": float(h.loc[ok, "n_pairs"].sum()),
                        "estimate": float(rnd["estimate"]),  # type: ignore[arg-type]  # pandas-stubs: one row of the meta-analysis table, a scalar
                        "se": float(rnd["se"]),  # type: ignore[arg-type]  # pandas-stubs: one row of the meta-analysis table, a scalar
                        "ci_low": float(rnd["ci_low"]),  # type: ignore[arg-type]  # pandas-stubs: one row of the meta-analysis table, a scalar
                        "ci_high": float(rnd["ci_high"]),  # type: ignore[arg-type]  # pandas-stubs: one row of the meta-analysis table, a scalar
                        "p_value": float(rnd["p_value"]),  # type: ignore[arg-type]  # pandas-stubs: one row of the meta-analysis table, a scalar
                        "pi_low": float(rnd["pi_low"]),  # type: ignore[arg-type]  # pandas-stubs: one row of the meta-analysis table, a scalar
                        "pi_high": float(rnd["pi_high"]),  # type: ignore[arg-type]  # pandas-stubs: one row of the meta-analysis table, a scalar
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
        for (programme, instrument, scale), g in joined.groupby(  # type: ignore[assignment]  # pandas-stubs: a cell or groupby key is typed as any scalar; here it is the column's str/float
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
                    mean, lo, hi = t_ci(sel["change"].to_numpy(float), conf)
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
                model_rows.append(fit.assign(**base))  # type: ignore[arg-type]  # pandas-stubs: a cell or groupby key is typed as any scalar; here it is the column's str/float
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
                    mean, lo, hi = t_ci(sel["change"].to_numpy(float), conf)
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
    dose_table = secondary_rows(
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
    mentor_type = secondary_rows(
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
    from mentoreval.disclose.derived import protect_derived

    tables = protect_derived(tables, DERIVED_COLUMNS)
    return AnnualAnalysis(
        config=config,
        tables=tables,
        primary=tuple((str(a), str(b)) for a, b in primary),
        notes=tuple(notes),
        ledger=ledger,
    )
