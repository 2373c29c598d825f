"""The cohort report's caveats in words: design, power, attrition and reliability, per group.

Report stage (how it is said): turns the statistics' caveat records into the titled,
disclosure-safe sentences of the methods section.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mentoreval.config.disclosure import DisclosurePolicy
from mentoreval.errors import MentorevalError
from mentoreval.frames import iter_rows
from mentoreval.report.cohort.release import (
    scrub_numbers,
)

if TYPE_CHECKING:  # pragma: no cover
    pass

_CAVEAT_TITLES = {
    "single_arm": "No comparison group",
    "underpowered": "Too few students to detect a small effect reliably",
    "differential_attrition": "More drop-out in one group than the other",
    "regression_to_mean": "Regression to the mean",
    "ceiling_floor": "Scores bunched at the top or bottom of the scale",
}


_POWER_TEXT = re.compile(
    r"(\d+) participants have both waves; detecting a standardised effect of ([\d.]+) with "
    r"(\d+)% power needs (\d+) \((\w+) design\)"
)


_ATTRITION_TEXT = re.compile(r"Attrition was (\d+)% among (.+?) and (\d+)% among (.+?) \((\d+)")


_R_TEXT = re.compile(r"r\(pre, post\) = (-?[\d.]+|nan)")


def group_caveats(
    cav: pd.DataFrame,
    meta: pd.DataFrame,
    tables: Mapping[str, pd.DataFrame],
    policy: DisclosurePolicy,
    withheld: Iterable[tuple[str, ...]] = (),
) -> pd.DataFrame:
    """One row per kind of caveat: the scales it applies to and one plain sentence with
    their numbers (never a number that a suppressed count could be derived from, nor
    the n of a scale ``withheld`` by the release ledger)."""
    withheld = set(withheld)
    cols = ["caveat", "title", "scales", "severity", "detail"]
    if cav.empty:
        return pd.DataFrame(columns=cols)
    rank = {"none": 0, "low": 1, "moderate": 2, "high": 3}

    def label(i: object, s: object) -> str:
        try:
            return str(meta.loc[(str(i), str(s)), "label"])
        except KeyError:
            return f"{i} {s}"

    rows = []
    for kind, g in cav.groupby("caveat", sort=False):
        severity = max(g["severity"].astype(str), key=lambda v: rank.get(v, 0))
        scoped = g[g["instrument"].notna()]
        names = [label(r.instrument, r.scale) for r in iter_rows(scoped)]
        detail = str(g["detail"].iloc[0])
        if kind == "underpowered":
            found = _underpowered(scoped, names, policy, withheld)
            if found is None:
                continue
            detail, names = found
        elif kind == "differential_attrition":
            detail = _differential_attrition(scoped, names, tables.get("attrition"), policy)
        elif kind == "regression_to_mean":
            detail = _regression_to_mean(scoped, names)
        elif kind == "ceiling_floor":
            detail = (
                "More than 15% of scores are at the highest or lowest possible value, so "
                "part of any change cannot be measured."
            )
        rows.append(
            {
                "caveat": kind,
                "title": _CAVEAT_TITLES.get(str(kind), str(kind).replace("_", " ").capitalize()),
                "scales": "; ".join(names),
                "severity": severity,
                "detail": scrub_numbers(detail, policy),
            }
        )
    return pd.DataFrame(rows, columns=cols)


def _underpowered(
    scoped: pd.DataFrame, names: list[str], policy: DisclosurePolicy, withheld: set[tuple[str, ...]]
) -> tuple[str, list[str]] | None:
    """The power caveat's sentence and the scales it names (those measured at both waves);
    a scale's n is the suppression label when it is under k or withheld by the ledger."""
    parts, planned = [], ""
    for r, name in zip(iter_rows(scoped), names, strict=True):
        m = _POWER_TEXT.search(str(r.detail))
        if not m:
            continue
        n, effect, power, need, design = m.groups()
        if int(n) == 0:
            continue  # not measured at both waves: nothing to power
        planned = (f"Detecting a standardised effect of {effect} with {power}% power "
                   f"needs more students with both surveys ({design} design) than "
                   "this study has: ")  # fmt: skip
        hidden = (str(r.instrument), str(r.scale)) in withheld or policy.is_small(float(n))
        n_text = policy.label if hidden else f"{int(n)}"
        parts.append(f"{name}: {n_text} (about {need} needed)")
    if not parts:
        return None
    named = [p.split(":", 1)[0] if p.count(":") < 2 else p.rsplit(":", 1)[0] for p in parts]
    return planned + "; ".join(parts) + ".", named


def _differential_attrition(
    scoped: pd.DataFrame, names: list[str], att: pd.DataFrame | None, policy: DisclosurePolicy
) -> str:
    """The drop-out rates per group where the attrition table shows both; otherwise only
    that they differ by the caveat's margin."""
    from mentoreval.stats.missing import DIFFERENTIAL_ATTRITION

    parts: list[str] = []
    withheld: list[str] = []
    for r, name in zip(iter_rows(scoped), names, strict=True):
        m = _ATTRITION_TEXT.search(str(r.detail))
        if not m:
            continue
        a_t, g_t, a_c, g_c, _gap = m.groups()
        shown = True
        if att is not None and len(att):
            sel = att[(att["instrument"] == r.instrument) & (att["scale"] == r.scale)]
            sel = sel[sel["group"].astype(str).isin([g_t, g_c])]
            shown = len(sel) == 2 and bool(sel["attrition"].notna().all())
        if shown:
            parts.append(f"{name}: {a_t}% of {g_t} and {a_c}% of {g_c} students dropped out")
        else:
            withheld.append(name)
    if withheld:
        parts.append(
            f"{'; '.join(withheld)}: the groups' drop-out rates differ by "
            f"{DIFFERENTIAL_ATTRITION * 100:.0f} percentage points or more (exact rates "
            f"withheld: a group has fewer than {policy.threshold} drop-outs or completers)"
        )
    return (
        "Students who dropped out may differ from those who stayed, so follow-up "
        "results may be biased. " + "; ".join(parts) + "."
    )


def _regression_to_mean(scoped: pd.DataFrame, names: list[str]) -> str:
    """The regression-to-the-mean sentence with each scale's r(pre, post) (none when nan)."""
    rs = []
    for r, name in zip(iter_rows(scoped), names, strict=True):
        m = _R_TEXT.search(str(r.detail))
        rs += [] if m and m.group(1) == "nan" else [f"{name} {m.group(1)}" if m else name]
    return (
        "Students with unusually high or low first scores tend to score closer to "
        "the average the second time, whatever the programme does; the lower the "
        "correlation between the two surveys, the larger this drift. Correlation "
        "r(pre, post): " + "; ".join(rs) + "."
    )


def attempt(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except (MentorevalError, ValueError, np.linalg.LinAlgError):
        return None
