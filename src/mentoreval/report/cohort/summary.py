"""The cohort summary's cautions: what changes how its findings read, one sentence each.

Report stage (how it is said). :func:`summary_caveats` turns the design and the released
tables (caveats, attrition, balance) into the sentences the executive summary and the brief
print under the findings: self-selection first in a non-randomised comparison, then
differential drop-out, regression to the mean, low power and complete-case losses, each only
when it applies. Only shares and sizes from the released tables are quoted, never a count of students, so
a hidden cell stays hidden.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import pandas as pd

__all__ = ["COMPLETE_CASE_LOSS", "REGRESSION_SMD", "SELF_SELECTION", "TITLES", "summary_caveats"]

#: Share of baseline students without a follow-up above which the summary says the results
#: rest on complete cases.
COMPLETE_CASE_LOSS = 0.10

#: Baseline standardised difference between the groups above which regression to the mean
#: is named in a comparison design's summary.
REGRESSION_SMD = 0.2

#: Each caution's short title, by kind.
TITLES = {
    "retrospective": "Retrospective pre-test",
    "self_selection": "Not randomised",
    "differential_attrition": "Unequal drop-out",
    "regression_to_mean": "Regression to the mean",
    "underpowered": "Low power",
    "complete_cases": "Complete cases",
}

SELF_SELECTION = (
    "Students chose whether to join, so the groups may differ in ways the baseline "
    "adjustment does not capture: a difference between them is not proof that the "
    "programme caused it."
)

RETROSPECTIVE = (
    "The 'before' answers were given after the programme, from memory (a then-test; Howard "
    "et al. 1979). It avoids students changing how they read the questions, but recall can "
    "be biased and students may rate their earlier selves lower to match the change they "
    "expect: read the change as the students' perceived change, not a measured one."
)

_POWER = re.compile(r"effect of ([\d.]+) with (\d+)% power")
_NEEDED = re.compile(r"about (\d+) needed")


def _rows(tables: Mapping[str, pd.DataFrame], name: str) -> pd.DataFrame:
    t = tables.get(name)
    return t if t is not None else pd.DataFrame()


def _labels(tables: Mapping[str, pd.DataFrame]) -> dict[tuple[str, str], str]:
    s = _rows(tables, "scales")
    if s.empty:
        return {}
    return dict(zip(zip(s["instrument"], s["scale"], strict=True), s["label"], strict=True))


def _attrition(tables: Mapping[str, pd.DataFrame], group: Mapping[str, str] | None) -> str:
    """The largest published gap in drop-out between the groups, in one sentence."""
    kinds = _rows(tables, "caveats")
    if kinds.empty or "differential_attrition" not in set(kinds["caveat"]):
        return ""
    att = _rows(tables, "attrition")
    best: tuple[float, str] | None = None
    if group and not att.empty:
        names = _labels(tables)
        for (i, s), g in att.groupby(["instrument", "scale"], sort=True):
            rates = g.set_index(g["group"].astype(str))["attrition"]
            t, c = rates.get(group["treated"]), rates.get(group["control"])
            if t is None or c is None or pd.isna(t) or pd.isna(c):
                continue
            text = (f"{names.get((str(i), str(s)), f'{i} {s}')}: {float(t):.0%} of mentored and "
                    f"{float(c):.0%} of comparison students did not answer the follow-up")  # fmt: skip
            if best is None or abs(float(t) - float(c)) > best[0]:
                best = (abs(float(t) - float(c)), text)
    where = f" ({best[1]})" if best else " (exact rates withheld to protect small groups)"
    return (
        f"More students dropped out of one group than the other{where}, so those who stayed "
        "may no longer be alike."
    )


def _regression(tables: Mapping[str, pd.DataFrame], design: str) -> str:
    """Regression to the mean when the statistics flag it, or when the groups started apart."""
    kinds = _rows(tables, "caveats")
    flagged = not kinds.empty and "regression_to_mean" in set(kinds["caveat"])
    apart = ""
    bal = _rows(tables, "balance")
    if design != "single_arm" and not bal.empty and "smd" in bal.columns:
        base = bal[(bal["variable"].astype(str) == "pre") & bal["smd"].notna()]
        if len(base) and float(base["smd"].abs().max()) >= REGRESSION_SMD:
            top = base.iloc[int(base["smd"].abs().to_numpy(dtype=float).argmax())]
            name = _labels(tables).get((str(top["instrument"]), str(top["scale"])), "a scale")
            apart = f"; the groups started {abs(float(top['smd'])):.1f} SD apart on {name}"
    if not flagged and not apart:
        return ""
    return (
        "Scores far from the average at the first survey tend to move back towards it at the "
        f"second whatever the programme does (regression to the mean{apart}), so part of a "
        "change can be this drift."
    )


def _power(tables: Mapping[str, pd.DataFrame]) -> str:
    kinds = _rows(tables, "caveats")
    if kinds.empty or "underpowered" not in set(kinds["caveat"]):
        return ""
    detail = str(kinds.loc[kinds["caveat"] == "underpowered", "detail"].iloc[0])
    m, needs = _POWER.search(detail), [int(n) for n in _NEEDED.findall(detail)]
    plan = (
        f" (a standardised effect of {m.group(1)} with {m.group(2)}% power needs about "
        f"{min(needs)} or more students with both surveys)"
        if m and needs
        else ""
    )
    return (
        f"The study is too small to detect a small effect reliably{plan}, so \u201cconsistent "
        "with no change\u201d does not show that nothing changed."
    )


def _complete_cases(tables: Mapping[str, pd.DataFrame]) -> str:
    """The largest published share of baseline students without a follow-up."""
    att = _rows(tables, "attrition")
    if att.empty or "attrition" not in att.columns:
        return ""
    rows = att[att["group"].astype(str) == "all"] if "group" in att.columns else att
    rows = rows if len(rows) else att
    shares = pd.to_numeric(rows["attrition"], errors="coerce").dropna()
    if shares.empty or float(shares.max()) < COMPLETE_CASE_LOSS:
        return ""
    return (
        f"Up to {float(shares.max()):.0%} of the students who answered the first survey did not "
        "answer the second; the results rest on those who answered both, who may differ "
        "from those who left."
    )


def summary_caveats(
    tables: Mapping[str, pd.DataFrame],
    design: str,
    group: Mapping[str, str] | None = None,
    *,
    retrospective: bool = False,
) -> list[dict[str, str]]:
    """The cautions the summary states, most fundamental first, one sentence each.

    Parameters
    ----------
    tables
        The released cohort tables (``caveats`` as worded by
        :func:`~mentoreval.report.cohort.caveats.group_caveats`, ``attrition``,
        ``balance``, ``scales``).
    design
        ``single_arm``, ``comparison`` (non-randomised) or ``randomised``.
    group
        ``{"treated": …, "control": …}`` with a comparison group.
    retrospective
        The 'before' wave was asked after the programme (a then-test): its recall and
        response-shift caution comes first.

    Returns
    -------
    list of dict
        ``{"caveat", "title", "text"}`` for self-selection (a non-randomised comparison),
        differential drop-out, regression to the mean, low power and complete-case losses,
        each only when it applies.

    Examples
    --------
    >>> caveats = pd.DataFrame({"caveat": ["underpowered"], "detail": [
    ...     "Detecting a standardised effect of 0.3 with 80% power needs more students: "
    ...     "WHO-5: 92 (about 258 needed)."]})
    >>> attrition = pd.DataFrame({"instrument": ["who5"], "scale": ["total"],
    ...                           "group": ["all"], "attrition": [0.28]})
    >>> for line in summary_caveats({"caveats": caveats, "attrition": attrition},
    ...                             "comparison"):
    ...     print(line["title"] + ".", line["text"])  # doctest: +NORMALIZE_WHITESPACE
    Not randomised. Students chose whether to join, so the groups may differ in ways the baseline adjustment
    does not capture: a difference between them is not proof that the programme caused it.
    Low power. The study is too small to detect a small effect reliably (a standardised effect of 0.3
    with 80% power needs about 258 or more students with both surveys), so “consistent with
    no change” does not show that nothing changed.
    Complete cases. Up to 28% of the students who answered the first survey did not answer the second; the
    results rest on those who answered both, who may differ from those who left.
    """
    said = {
        "retrospective": RETROSPECTIVE if retrospective else "",
        "self_selection": SELF_SELECTION if design == "comparison" else "",
        "differential_attrition": _attrition(tables, group),
        "regression_to_mean": _regression(tables, design),
        "underpowered": _power(tables),
        "complete_cases": _complete_cases(tables),
    }
    return [
        {"caveat": kind, "title": TITLES[kind], "text": text}
        for kind, text in said.items()
        if text and not _has_nan(text)
    ]


def _has_nan(text: str) -> bool:
    return any(w.lower().strip(".,;:()") == "nan" for w in text.split()) or "inf" in text.split()
