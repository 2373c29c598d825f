"""What the cohort report may release: disclosure control of its tables and the release ledger.

Report stage (what may be released). Small cells are suppressed with complements, flows are
rounded, derived values next to hidden counts are blanked, and every published count is
checked against earlier releases of the same cohort (:class:`CohortRelease`).
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mentoreval.config.disclosure import DisclosurePolicy
from mentoreval.disclose.ledger import ReleaseLedger
from mentoreval.errors import DisclosureError, Problem
from mentoreval.frames import iter_rows

if TYPE_CHECKING:  # pragma: no cover
    from mentoreval.config.study import Study

__all__ = ["policy_for_study"]


def policy_for_study(study: Study) -> DisclosurePolicy:
    """The disclosure policy a study config asks for (``disclosure:`` in ``study.yaml``).

    ``profile: default`` uses ``threshold`` as k; ``nhs`` and ``off`` use their profile.
    """
    spec = study.config.disclosure
    if spec.profile == "default":
        return DisclosurePolicy(profile="default", k=max(int(spec.threshold), 2))
    return DisclosurePolicy(profile=spec.profile)


@dataclass
class CohortRelease(ReleaseLedger):
    """The release ledger while a cohort report is protected: earlier releases of every
    report on the store, plus this report's cells as they are published.

    ``study`` is the cohort's ledger key (``programme/cohort/year``, as in the annual
    report); ``withheld`` collects the (table, row) of every cell suppressed because its
    count differs by 1..k−1 from an earlier release of the same cell.
    """

    study: str = ""
    withheld: set[tuple[str, str]] = field(default_factory=set)

    def conflicts(self, key: tuple[str, str, str, str], n: float, *, k: int) -> bool:
        hit = super().conflicts(key, n, k=k)
        if hit:
            self.withheld.add((str(key[1]), str(key[2])))
        return hit

    def cells(self, table: str, values: Mapping[str, float], k: int) -> set[str]:
        """Names of the cells (statistic ``"n"``) that would difference."""
        return {
            name
            for name, v in values.items()
            if self.conflicts((self.study, table, name, "n"), v, k=k)
        }

    def record_cells(
        self, table: str, values: Mapping[str, float], published: Mapping[str, float]
    ) -> None:
        """Record the true value of every cell that is published (not NaN)."""
        for name, v in values.items():
            if not pd.isna(published.get(name, np.nan)):
                self.record((self.study, table, name, "n"), v)


LEDGER_OFF = (
    "RELEASE LEDGER NOT USED: this report was not checked against earlier releases of "
    "this cohort and is not recorded, so a reader holding another report could subtract "
    "one from the other. Internal use only."
)


#: Plain names of the tables, for the notice on numbers withheld by the ledger.
def _ledger_study(study: Study) -> str:
    """The cohort's ledger key: ``programme/cohort/year`` as in the annual report."""
    cfg = study.config
    if cfg.programme and cfg.cohort and cfg.year is not None:
        return f"{cfg.programme}/{cfg.cohort}/{int(cfg.year)}"
    return f"study:{study.name}"


def open_release(
    study: Study, ledger: ReleaseLedger | None, *, use_ledger: bool, policy: DisclosurePolicy
) -> CohortRelease | None:
    """The ledger this report checks against and records into (a copy: the caller's
    ledger and the store are left as they are); ``None`` when switched off."""
    if not use_ledger:
        if policy.active:
            problem = Problem(
                "the release ledger can only be switched off without disclosure control",
                key="use_ledger",
                fix="keep the ledger, or use disclosure profile 'off' for an internal report",
            )
            raise DisclosureError(str(problem), (problem,))
        return None
    if ledger is None:
        from mentoreval.config.paths import default_store_root
        from mentoreval.store.parquet import load_release_ledger

        ledger = load_release_ledger(default_store_root(study.path))
    return CohortRelease(
        entries=copy.deepcopy(ledger.entries),
        hidden=copy.deepcopy(ledger.hidden),
        study=_ledger_study(study),
    )


def protect_cells(
    cells: Mapping[str, float],
    lines: Iterable[tuple[str, Sequence[str]]],
    policy: DisclosurePolicy,
    *,
    release: CohortRelease | None = None,
    table: str = "",
    prefix: str = "",
) -> dict[str, float]:
    """Primary + complementary suppression over named counts linked by ``total = sum(parts)``.

    A count in 1..k−1 is hidden, and so is one that would difference against an earlier
    release (``release``: cells keyed ``prefix + name`` in ``table``); then every line (a
    total and its parts) must end with 0 or ≥ 2 hidden cells, hiding the smallest visible
    part (else the total) until stable. The published cells are recorded in ``release``.
    """
    values = {k: float(v) for k, v in cells.items()}
    hidden = {k for k, v in values.items() if policy.is_small(v)}
    if release is not None and policy.active:
        keyed = {prefix + k: v for k, v in values.items() if k not in hidden}
        hidden |= {k.removeprefix(prefix) for k in release.cells(table, keyed, policy.threshold)}
    line_list = [(t, list(parts)) for t, parts in lines]
    changed = policy.active
    while changed:
        changed = False
        for total, parts in line_list:
            members = [total, *parts]
            if sum(m in hidden for m in members) != 1:
                continue
            visible = [p for p in parts if p not in hidden]
            positive = [p for p in visible if values[p] > 0]
            pool = positive or visible or [total]
            hidden.add(min(pool, key=lambda p: (values[p], p)))
            changed = True
    out = {k: (float("nan") if k in hidden else v) for k, v in values.items()}
    if release is not None and policy.active:
        release.record_cells(
            table,
            {prefix + k: v for k, v in values.items()},
            {prefix + k: v for k, v in out.items()},
        )
    if policy.round_to is not None:
        out = {k: policy.round_count(v) for k, v in out.items()}
    return out


#: Rounding base of the participant flow when one of its counts is suppressed.
FLOW_ROUND_TO = 5


def protect_flow(
    cells: Mapping[str, float],
    policy: DisclosurePolicy,
    *,
    release: CohortRelease | None = None,
    table: str = "",
) -> tuple[dict[str, float], bool]:
    """Counts of a participant flow: small cells hidden, and then *every* other non-zero
    count rounded to the nearest :data:`FLOW_ROUND_TO` instead of hiding big totals.

    Subtracting rounded counts leaves at least nine possible values for a hidden cell, so
    none is recoverable exactly, and the totals stay readable. A count that would difference
    against an earlier release (``release``) is hidden too; the published counts are
    recorded there. Returns (counts, rounded?).

    Examples
    --------
    >>> protect_flow({"read": 145, "kept": 137, "excluded": 8}, DisclosurePolicy())
    ({'read': 145.0, 'kept': 135.0, 'excluded': nan}, True)
    >>> protect_flow({"read": 145, "kept": 125, "excluded": 20}, DisclosurePolicy())
    ({'read': 145.0, 'kept': 125.0, 'excluded': 20.0}, False)
    """
    out = {k: (float("nan") if policy.is_small(v) else float(v)) for k, v in cells.items()}
    if release is not None and policy.active:
        shown = {k: v for k, v in out.items() if not math.isnan(v)}
        for k in release.cells(table, shown, policy.threshold):
            out[k] = float("nan")
        release.record_cells(table, {k: float(v) for k, v in cells.items()}, out)
    hidden = any(math.isnan(v) for v in out.values())
    base = policy.round_to or (FLOW_ROUND_TO if hidden else None)
    if base is None:
        return out, False
    rounded = {
        k: v if math.isnan(v) or v == 0 else float(base * math.floor(v / base + 0.5))
        for k, v in out.items()
    }
    return rounded, True


def suppress_rows(
    df: pd.DataFrame,
    policy: DisclosurePolicy,
    *,
    n_columns: Sequence[str],
    value_columns: Sequence[str] | None = None,
    count_columns: Sequence[str] = (),
    blocks: Sequence[str] = (),
    release: CohortRelease | None = None,
    table: str = "",
    keys: Sequence[str] | None = None,
) -> pd.DataFrame:
    """:func:`suppress_table`, plus: within each block of rows that partition a total,
    a lone suppressed row takes the smallest other row with it (no differencing).

    With a ``release`` ledger, a row whose n differs by 1..k−1 from an earlier release of
    the same row of ``table`` is suppressed too. A row is named by its ``keys`` columns
    (default: every non-numeric column), empty parts left out, numbered when repeated.
    """
    from mentoreval.disclose.suppression import suppress_table

    if df.empty:
        out = df.copy()
        out["suppressed"] = pd.Series(dtype=bool)
        return out
    frame = df.reset_index(drop=True)
    ledger_args: dict[str, Any] = {}
    if release is not None:
        if keys is None:
            keys = [
                c
                for c in frame.columns
                if c != "suppressed"
                and not (
                    pd.api.types.is_numeric_dtype(frame[c].dtype)
                    and not pd.api.types.is_bool_dtype(frame[c].dtype)
                )
            ]
        names = pd.Series(
            [
                " / ".join(str(v) for v in row if not pd.isna(v) and str(v) != "")
                for row in iter_rows(frame[list(keys)])
            ]
            if keys
            else [str(i) for i in frame.index],
            index=frame.index,
            dtype=object,
        )
        seen = names.groupby(names).cumcount()
        names = names.where(seen == 0, names + " #" + (seen + 1).astype(str))
        frame = frame.assign(_release_row=names)
        ledger_args = {
            "ledger": release,
            "study": release.study,
            "table": table,
            "group_columns": ["_release_row"],
        }
    out = suppress_table(
        frame,
        n_columns=list(n_columns),
        value_columns=None if value_columns is None else list(value_columns),
        count_columns=list(count_columns),
        policy=policy,
        **ledger_args,
    )
    out = out.drop(columns=["_release_row"], errors="ignore")
    if not blocks or not policy.active:
        return out
    numbers = [
        c
        for c in out.columns
        if c not in (*blocks, "suppressed")
        and pd.api.types.is_numeric_dtype(out[c].dtype)
        and not pd.api.types.is_bool_dtype(out[c].dtype)
    ]
    first_n = n_columns[0]
    for _, rows in out.groupby(list(blocks), sort=False, dropna=False):
        flagged = rows.index[rows["suppressed"].to_numpy(dtype=bool)]
        if len(flagged) == 1 and len(rows) > 1:
            others = rows.drop(index=flagged)
            raw = df.reset_index(drop=True).loc[others.index, first_n].astype(float)
            pick = raw.idxmin()
            out.loc[pick, numbers] = np.nan
            out.loc[pick, "suppressed"] = True
    return out


#: For each table: (counts, values derived from them). A derived value is published only
#: when every count it rests on is published in its row (:func:`protect_derived`).
DERIVED_COLUMNS: dict[str, list[tuple[list[str], list[str]]]] = {
    "attrition": [(["n_baseline", "n_completed"], ["attrition"])],
    "response_rates": [(["n_baseline", "n_followed_up"], ["followed_up_pct"])],
    "bands": [
        (["n_pairs", "n_pre"], ["prop_pre"]),
        (["n_pairs", "n_post"], ["prop_post"]),
        (["n_entered", "n_left"], ["p_value"]),
    ],
    "quality_flags": [(["n_responses", "n_flagged"], ["flagged_pct"])],
    "missingness": [(["n_responses"], ["items_missing_pct"])],
    "comparisons": [(["n_pairs"], ["mean_pre", "sd_pre", "mean_post", "sd_post", "mean_diff",
                                   "ci_low", "ci_high", "d_z", "d_av", "g_av"])],
    "subgroups": [(["n_pairs"], ["mean_diff", "ci_low", "ci_high", "d_z"])],
    "reliability": [(["n_complete"], ["alpha", "alpha_ci_low", "alpha_ci_high", "omega_total"])],
    "adjusted_means": [(["n"], ["emmean", "se", "ci_low", "ci_high"])],
    "balance": [(["n_treated", "n_control"], ["mean_treated", "mean_control", "smd"])],
    "ancova": [(["n_treated", "n_control"], ["estimate", "ci_low", "ci_high"])],
    "d_ppc2": [(["n_treated", "n_control"], ["value", "ci_low", "ci_high"])],
}  # fmt: skip


_NUMBER_IN_TEXT = re.compile(r"\b(\d+)\b(?= (?:participants|students|pairs|people))")


def scrub_numbers(text: str, policy: DisclosurePolicy) -> str:
    """Replace small head-counts quoted in caveat text with the suppression label."""

    def repl(m: re.Match[str]) -> str:
        return policy.label if policy.is_small(float(m.group(1))) else m.group(1)

    return _NUMBER_IN_TEXT.sub(repl, text)


def protect_bands(
    bands: pd.DataFrame, policy: DisclosurePolicy, release: CohortRelease | None = None
) -> pd.DataFrame:
    table = "cohort.bands"
    out = bands.copy()
    for c in ("n_pairs", "n_pre", "n_post", "n_entered", "n_left"):
        out[c] = out[c].astype(float)
    for c in ("prop_pre", "prop_post", "p_value"):
        out[c] = out[c].astype(float)
    out["suppressed"] = False
    if not policy.active:
        return out
    for keys, idx in out.groupby(["instrument", "scale"]).groups.items():
        rows = out.loc[idx]
        n = float(rows["n_pairs"].iloc[0])
        where = " / ".join(str(k) for k in keys)  # type: ignore[attr-defined]
        if policy.is_small(n) or (
            release is not None and release.cells(table, {where: n}, policy.threshold)
        ):
            out.loc[idx, ["n_pairs", "n_pre", "n_post", "n_entered", "n_left",
                          "prop_pre", "prop_post", "p_value"]] = np.nan  # fmt: skip
            out.loc[idx, "suppressed"] = True
            continue
        if release is not None:
            release.record_cells(table, {where: n}, {where: n})
        band_of = {i: str(rows.at[i, "band"]) for i in idx}
        for wave in ("pre", "post"):
            cells = {band_of[i]: float(rows.at[i, f"n_{wave}"]) for i in idx}  # type: ignore[arg-type]  # pandas-stubs: a cell or groupby key is typed as any scalar; here it is the column's str/float
            protected = protect_cells(
                {**cells, "total": n}, [("total", list(cells))], policy,
                release=release, table=table, prefix=f"{where} / {wave} / ",
            )  # fmt: skip
            for i in idx:
                if math.isnan(protected[band_of[i]]):
                    out.loc[i, [f"n_{wave}", f"prop_{wave}", "p_value", "n_entered", "n_left"]] = (
                        np.nan
                    )
                    out.loc[i, "suppressed"] = True
        for i in idx:
            moves = {
                f"{where} / {band_of[i]} / {c}": float(out.at[i, c])  # type: ignore[arg-type]  # pandas-stubs: a cell or groupby key is typed as any scalar; here it is the column's str/float
                for c in ("n_entered", "n_left")
                if not pd.isna(out.at[i, c])  # type: ignore[arg-type]  # pandas-stubs: a cell or groupby key is typed as any scalar; here it is the column's str/float
            }
            if any(policy.is_small(v) for v in moves.values()) or (
                release is not None and release.cells(table, moves, policy.threshold)
            ):
                out.loc[i, ["n_entered", "n_left", "p_value"]] = np.nan
                out.loc[i, "suppressed"] = True
            elif release is not None:
                release.record_cells(table, moves, moves)
        if policy.round_to is not None:
            for c in ("n_pairs", "n_pre", "n_post", "n_entered", "n_left"):
                out.loc[idx, c] = out.loc[idx, c].map(policy.round_count)
    return out


def protect_classes(
    summary: pd.DataFrame, policy: DisclosurePolicy, release: CohortRelease | None = None
) -> pd.DataFrame:
    from mentoreval.disclose.suppression import suppress_counts

    wide = summary.pivot_table(
        index=["instrument", "scale"], columns="classification", values="n", aggfunc="sum"
    )
    classes = [
        c for c in ("improved", "unchanged", "deteriorated", "recovered") if c in wide.columns
    ]
    wide = wide[classes].fillna(0)
    # "recovered" is a subset of "improved"; the partition is improved/unchanged/deteriorated
    parts = [c for c in ("improved", "unchanged", "deteriorated") if c in classes]
    wide["total"] = wide[parts].sum(axis=1)
    wide.index = [f"{i}|{s}" for i, s in wide.index]
    table = "cohort.change"
    out = suppress_counts(
        wide, count_columns=parts, total_column="total", policy=policy, ledger=release,
        study=release.study if release else "", table=table,
    )  # fmt: skip
    if "recovered" in classes:
        rec = wide["recovered"].astype(float)
        out["recovered"] = [
            np.nan
            if (
                policy.is_small(v)
                or math.isnan(out.at[i, "improved"])  # type: ignore[arg-type]  # pandas-stubs: a cell or groupby key is typed as any scalar; here it is the column's str/float
                or (
                    release is not None
                    and release.cells(table, {f"{i} / recovered": v}, policy.threshold)
                )
            )
            else v
            for i, v in rec.items()
        ]
        if release is not None:
            release.record_cells(
                table,
                {f"{i} / recovered": v for i, v in rec.items()},
                {f"{i} / recovered": out.at[i, "recovered"] for i in rec.index},  # type: ignore[misc]  # pandas-stubs: a cell or groupby key is typed as any scalar; here it is the column's str/float
            )
    out = out.reset_index(names="key")
    out[["instrument", "scale"]] = out["key"].str.split("|", n=1, expand=True)
    cols = ["instrument", "scale", "total", *classes, "suppressed"]
    return out[cols].rename(columns={"total": "n_pairs"})
