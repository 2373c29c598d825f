"""The cohort brief: the full report's primary findings, design and caveats on two pages.

Report stage (how it is said, briefly). :func:`cohort_brief` fills a
:class:`~mentoreval.report.brief.Brief` from the written results (``results.json`` and
``tables/``, through :class:`~mentoreval.report.cohort.document.CohortReport`) — the same
disclosure-controlled numbers and judgements as the full report — and
:func:`write_cohort_brief` writes ``brief.html|pdf|docx`` next to ``cohort_report.*``.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mentoreval.config.disclosure import DisclosurePolicy
from mentoreval.disclose.formatting import format_cell
from mentoreval.disclose.release import MARK
from mentoreval.frames import iter_rows
from mentoreval.report.brief import Brief, BriefFigure, write_brief
from mentoreval.report.cohort.document import CohortReport, forest_caption, open_cohort_report
from mentoreval.report.wording import format_change, withheld_reason

__all__ = ["cohort_brief", "write_cohort_brief"]

_SEVERITY = {"high": 0, "medium": 1, "moderate": 1, "low": 2}
_SENTENCE = re.compile(r"^(.+?[.!?])(?:\s|$)")


def _value(finding: Mapping[str, Any], name: str) -> float:
    v = finding.get(name)
    return float("nan") if v is None else float(v)


def _design(results: Mapping[str, Any], n_students: str) -> str:
    info = results.get("info") or {}
    pre, post = info.get("pre") or "pre", info.get("post") or "post"
    waves = f"surveyed before ({pre}) and after ({post}) the programme"
    if info.get("retrospective"):
        waves = (
            "surveyed once after the programme, rating each item as it was before the "
            f"programme ({pre}, from memory: a then-test) and now ({post})"
        )
    if info.get("design_text"):  # an unlinked or single-wave survey
        return str(info["design_text"])
    return _design_core(results, info, waves, n_students) + (
        " The survey was anonymous: each student's answers were linked by a code made up from "
        "personal facts, and students whose codes did not match are left out of the pairs; "
        "they may differ from those who were linked."
        if info.get("linked_by_code")
        else ""
    )


def _design_core(
    results: Mapping[str, Any], info: Mapping[str, Any], waves: str, n_students: str
) -> str:
    """The design sentence of a linked two-wave study."""
    if results["design"] == "randomised":
        return (
            f"Students were randomly allocated to mentoring or to a comparison group and "
            f"{waves}; the differences below are between the groups at follow-up, adjusted "
            "for baseline scores."
        )
    if results["design"] == "comparison":
        return (
            f"Mentored students were compared with students who did not join the programme "
            f"(a comparison group that was not randomised), both {waves}; the differences "
            "below are between the groups at follow-up, adjusted for baseline scores."
        )
    return (
        f"One group of students ({n_students}) {waves}, with no comparison group: the "
        "changes below are changes over time, not effects of the programme."
    )


def _count(f: Mapping[str, Any], name: str) -> str:
    """A finding's count as printed: the disclosure mark when the release hides it (its
    statistics are shown, so the group is not small)."""
    value = _value(f, name)
    return format_cell(value, kind="count") if math.isfinite(value) else MARK


def _finding(
    f: Mapping[str, Any],
    confidence: float,
    policy: DisclosurePolicy,
    arms: tuple[str, str] = ("mentored", "comparison"),
) -> tuple[str, str]:
    """(label, sentence) of one primary finding; ``arms`` names the treated and control
    groups as the config does (a randomised waitlist is "waitlist", not "comparison")."""
    label = str(f["label"])
    units = str(f.get("units") or "points")
    lower_is_better = not f.get("higher_is_better", True)
    if f.get("design") in ("comparison", "randomised"):
        if not math.isfinite(_value(f, "adj_diff")):
            return label, f"not reported: {withheld_reason(policy, group=True)}."
        change = format_change(_value(f, "adj_diff"), _value(f, "adj_ci_low"),
                               _value(f, "adj_ci_high"), units=units, confidence=confidence)  # fmt: skip
        n_t, n_c = _count(f, "n_pairs"), _count(f, "n_control")
        lower = "lower scores are better; " if lower_is_better else ""
        return label, (
            f"{f['judgement']}: {arms[0]} students scored {change} compared with the "
            f"{arms[1]} group ({lower}{n_t} {arms[0]} and {n_c} {arms[1]} students "
            "answered both surveys)."
        )
    if f.get("suppressed") or not math.isfinite(_value(f, "mean_diff")):
        return label, f"not reported: {withheld_reason(policy, group=False)}."
    change = format_change(_value(f, "mean_diff"), _value(f, "ci_low"), _value(f, "ci_high"),
                           units=units, confidence=confidence)  # fmt: skip
    n = _count(f, "n_pairs")
    lower = ", where lower is better" if lower_is_better else ""
    return (
        label,
        f"{f['judgement']}: mean change {change}{lower}; {n} students answered both surveys.",
    )


_SELF_SELECTION = (
    "Students chose whether to join",
    "The groups may differ in ways the baseline adjustment does not capture, so a "
    "difference between them is not proof that the programme caused it.",
)


def _first_sentence(detail: str) -> str:
    """A caveat's first sentence, without a long list after a colon.

    Examples
    --------
    >>> _first_sentence("Too few students: a: 1; b: 2; " + "c" * 200 + ". More.")
    'Too few students.'
    >>> _first_sentence("Scores may drift. Details follow.")
    'Scores may drift.'
    """
    match = _SENTENCE.match(detail)
    sentence = match.group(1) if match else detail
    if len(sentence) > 160 and ": " in sentence:
        sentence = sentence.split(": ", 1)[0].rstrip(".") + "."
    return sentence


def _caveats(report: CohortReport) -> tuple[tuple[str, str], ...]:
    """The summary's cautions (self-selection first in a non-randomised comparison, then
    drop-out, regression to the mean, power, complete cases), then each other caveat's
    title and first sentence, the most serious first."""
    said = (report.results.get("info") or {}).get("summary_caveats")
    if said is not None:
        kinds = {c["caveat"] for c in said}
        rest = [c for c in _table_caveats(report) if c[0] not in kinds]
        return (*((c["title"], c["text"]) for c in said), *(c[1:] for c in rest))
    return tuple(c[1:] for c in _table_caveats(report))


def _table_caveats(report: CohortReport) -> list[tuple[str, str, str]]:
    """The caveats table as (kind, title, first sentence), the most serious first; in a
    non-randomised comparison, self-selection first unless a caveat already names it."""
    cav = report.tables.get("caveats")
    out = []
    if cav is not None and not cav.empty and "title" in cav.columns:
        rows = sorted(iter_rows(cav), key=lambda r: _SEVERITY.get(str(r.severity), 1))
        for row in rows:
            if row.caveat == "single_arm":
                continue  # the design sentence says it
            detail = str(row.detail) if isinstance(row.detail, str) else ""
            out.append((str(row.caveat), str(row.title), _first_sentence(detail)))
    named = " ".join(t.lower() for _, t, _ in out)
    if report.results["design"] == "comparison" and "select" not in named and "chose" not in named:
        out.insert(0, ("self_selection", *_SELF_SELECTION))
    return out


def _design_findings(report: CohortReport) -> tuple[str, tuple[tuple[str, str], ...]]:
    """An unlinked or single-wave report's findings: its summary lines (the comparison of
    the waves or of the groups, one per scale), each split into the scale and the sentence."""
    scales = report.tables.get("scales")
    labels = sorted(map(str, scales["label"]), key=len, reverse=True) if scales is not None else []
    found = []
    for line in (report.results.get("info") or {}).get("summary") or []:
        label = next((x for x in labels if line.startswith(f"{x}: ")), "")
        found.append((label, line[len(label) + 2 :] if label else line))
    intro = (
        "What the surveys show (responses compared as independent samples, not linked "
        "student by student):"
        if report.results["design"] == "unlinked"
        else "What the one survey shows:"
    )
    return intro, tuple(found)


def cohort_brief(report: CohortReport) -> Brief:
    """The brief of a cohort report, from its written results.

    Parameters
    ----------
    report
        :func:`~mentoreval.report.cohort.document.open_cohort_report` of the report folder.

    Returns
    -------
    mentoreval.report.brief.Brief
        Title from the config; the design in a sentence; one line per primary outcome
        (every headline finding when none is primary) with the judgement the full report
        gives and its number and interval; the summary figure with its alternative text;
        the caveats, most serious first.

    Examples
    --------
    >>> brief = cohort_brief(open_cohort_report("reports/demo/peer-2025"))  # doctest: +SKIP
    >>> brief.findings[0]  # doctest: +SKIP
    ('WHO-5: Wellbeing (0–100)', 'a small improvement, consistent with no difference: …')
    """
    r = report.results
    info = r.get("info") or {}
    headline = list(r.get("headline") or [])
    primary = [f for f in headline if f.get("primary")] or headline
    threshold = report.policy.threshold
    pairs = [_value(f, "n_pairs") for f in primary if math.isfinite(_value(f, "n_pairs"))]
    shown = any(math.isfinite(_value(f, k)) for f in primary for k in ("mean_diff", "adj_diff"))
    n_students = (
        f"{format_cell(max(pairs), kind='count')} answered both surveys"
        if pairs
        else f"{MARK} answered both surveys"  # hidden to protect another count
        if shown
        else f"fewer than {threshold} answered both surveys"
    )
    facts = " · ".join(
        f"{k}: {v}"
        for k, v in (
            ("Programme", info.get("programme")),
            ("cohort", info.get("cohort")),
            ("year", info.get("year")),
        )
        if v not in (None, "")
    )
    group = info.get("group") or {}
    arms = (str(group.get("treated") or "mentored"), str(group.get("control") or "comparison"))
    findings = tuple(_finding(f, report.confidence, report.policy, arms) for f in primary)
    if r["design"] in ("unlinked", "single_wave"):  # no pairs: the design's own comparison
        intro, findings = _design_findings(report)
    elif r["design"] == "single_arm":
        intro = "Change between the two surveys for the students who answered both:"
    elif r["design"] == "randomised":
        intro = (
            f"The programme's effect: {arms[0]} compared with {arms[1]} students at "
            "follow-up, adjusted for their baseline scores:"
        )
    else:
        intro = (
            "Mentored students compared with students who did not join, adjusted for their "
            "baseline scores:"
        )
    entry = (r.get("figures") or {}).get("forest")
    figure = None
    if entry:
        figure = BriefFigure(
            png=(report.folder / entry["png"]).read_bytes(),
            alt=str(entry.get("alt") or "Forest plot of every scale's result"),
            caption=forest_caption(r["design"]),
        )
    notices = (
        [str(r["disclosure"]["warning"])] if (r.get("disclosure") or {}).get("warning") else []
    )
    if r.get("below_threshold"):
        notices.append(
            f"Fewer than {threshold} students answered both surveys on every outcome, so "
            "every number is suppressed."
        )
    return Brief(
        title=str(r["title"]),
        facts=facts,
        design=_design(r, n_students),
        findings_intro=intro,
        findings=findings,
        caveats=_caveats(report),
        notices=tuple(notices),
        full_report="cohort_report",
        figure=figure,
    )


def write_cohort_brief(
    folder: str | os.PathLike[str], *, pdf: bool = True, docx: bool = True
) -> list[Path]:
    """Write ``brief.html`` (+ ``.pdf``, ``.docx``) into a cohort report folder.

    Examples
    --------
    >>> write_cohort_brief("reports/demo/peer-2025")  # doctest: +SKIP
    """
    return write_brief(cohort_brief(open_cohort_report(folder)), folder, pdf=pdf, docx=docx)
