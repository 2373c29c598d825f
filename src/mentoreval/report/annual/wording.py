"""The annual report's words: the plain-language summary, methods and provenance.

Report stage (how it is said): text from the disclosure-controlled tables; effect sizes are
judged with :func:`mentoreval.report.wording.format_finding` as in the cohort report.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from mentoreval.disclose.formatting import format_cell
from mentoreval.frames import iter_rows
from mentoreval.report.annual.inputs import (
    cohort_label,
)
from mentoreval.report.annual.results import AnnualAnalysis
from mentoreval.report.annual.tables import (
    decimals,
    scale_info,
)

if TYPE_CHECKING:
    pass

__all__ = [
    "format_annual_methods",
    "format_annual_summary",
    "format_provenance",
    "holm_statement",
    "pooled_judgement",
]


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


#: Fewer cohorts than this and I² says too little to call them similar or different.
MIN_COHORTS_FOR_HETEROGENEITY = 5


def _heterogeneity_words(i2: float, k: int = MIN_COHORTS_FOR_HETEROGENEITY) -> str:
    """How much the cohorts differed, in words; never judged from fewer than five cohorts.

    Examples
    --------
    >>> _heterogeneity_words(0.0, 3)
    'with 3 cohorts, how much they differ cannot be judged (I² is unreliable below 5)'
    >>> _heterogeneity_words(10.0, 6)
    'the cohorts were similar (I² = 10%)'
    """
    if pd.isna(i2):
        return ""
    if k < MIN_COHORTS_FOR_HETEROGENEITY:
        return (
            f"with {k} cohorts, how much they differ cannot be judged (I² is unreliable "
            f"below {MIN_COHORTS_FOR_HETEROGENEITY})"
        )
    if i2 < 25:
        return f"the cohorts were similar (I² = {i2:.0f}%)"
    if i2 < 50:
        return f"the cohorts differed somewhat (I² = {i2:.0f}%)"
    return f"the cohorts differed considerably (I² = {i2:.0f}%)"


def _cohort_names(rows: pd.DataFrame) -> str:
    several = len(set(rows["programme"])) > 1
    names = [
        cohort_label(str(r.programme), str(r.cohort), int(r.year), with_programme=several)
        for r in iter_rows(rows)
    ]
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    return f"{'Cohort' if len(names) == 1 else 'Cohorts'} {listed}"


def pooled_judgement(
    outcomes: pd.DataFrame,
    scope: str,
    instrument: str,
    scale: str,
    estimate: float,
    ci_low: float,
    ci_high: float,
    *,
    p_adjusted: float | None = None,
    alpha: float = 0.05,
) -> str:
    """The words for a pooled change: :func:`~mentoreval.report.wording.format_finding` of
    the change divided by the SD of the within-student change pooled over the cohorts, in
    the direction in which the scale improves (the summary and the brief say the same).
    A primary outcome passes its Holm-adjusted pooled p (``p_adjusted``): an interval clear
    of zero whose adjusted p reaches ``alpha`` or more is not called real.

    Examples
    --------
    >>> out = pd.DataFrame({"programme": ["peer"] * 2, "instrument": ["who5"] * 2,
    ...                     "scale": ["total"] * 2, "se": [2.0, 2.0], "n_pairs": [50, 50]})
    >>> pooled_judgement(out, "peer", "who5", "total", 4.0, 1.0, 7.0)
    'a small improvement; probably real, but it could be negligible'
    >>> pooled_judgement(out, "peer", "who5", "total", 4.0, 1.0, 7.0, p_adjusted=0.09)
    'a small improvement, consistent with no change once adjusted for the other primary outcomes'
    """
    from mentoreval.report.wording import format_finding

    higher_is_better = scale_info(instrument, scale)[1]
    sd = _sd_of_change(outcomes, scope, instrument, scale)
    adjusted = p_adjusted if p_adjusted is not None and p_adjusted == p_adjusted else None
    if higher_is_better is not None and sd > 0:
        return format_finding(
            estimate / sd, ci_low / sd, ci_high / sd, higher_is_better=higher_is_better,
            p_adjusted=adjusted, alpha=alpha,
        )  # fmt: skip
    if adjusted is not None and adjusted >= alpha:
        return "consistent with no change once adjusted for the other primary outcomes"
    if ci_low > 0 or ci_high < 0:
        return "an increase" if ci_low > 0 else "a decrease"
    return "consistent with no change"


def holm_statement(primary: pd.DataFrame, alpha: float) -> str:
    """The one sentence saying the pooled p-values of the primary outcomes are adjusted
    (Holm, within each programme's family, see
    :func:`~mentoreval.report.annual.pooling.holm_within_scope`) and that the verdicts
    read them.

    Examples
    --------
    >>> primary = pd.DataFrame({"programme": ["peer"] * 3})
    >>> holm_statement(primary, 0.05)  # doctest: +NORMALIZE_WHITESPACE
    "The pooled p-values of the primary outcomes are adjusted for 3 outcomes by Holm's
    method (p (Holm) in the pooled table); a change whose adjusted p is 0.05 or more is
    called consistent with no change."
    """
    sizes = sorted(set(primary.groupby("programme").size().tolist()))
    k = str(sizes[0]) if len(sizes) == 1 else " or ".join(str(n) for n in sizes)
    within = " within each programme" if len(set(primary["programme"])) > 1 else ""
    return (
        f"The pooled p-values of the primary outcomes are adjusted for {k} outcomes{within} "
        "by Holm's method (p (Holm) in the pooled table); a change whose adjusted p is "
        f"{alpha:.2g} or more is called consistent with no change."
    )


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
    from mentoreval.report.wording import format_change

    cfg = analysis.config
    part = analysis["participation"]
    cohorts = analysis["cohorts"]
    years = sorted({int(y) for y in cohorts["year"]})
    span = str(years[0]) if len(years) == 1 else f"{years[0]} to {years[-1]}"
    names = sorted(set(cohorts["programme"]))
    programmes = ", ".join(names)
    lines = [  # the title is the page's heading already: the summary does not repeat it
        f"This report covers {len(cohorts)} cohort{'s' if len(cohorts) != 1 else ''} of the "
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
            "between the surveys; the comparison with students who did not join is in "
            f"the cohort report{'' if one else 's'}."
        )
    else:
        lines.append(
            "- **Comparison group**: none of the cohorts had one, so the changes below are "
            "changes over time, not effects of the programme."
        )
    pooled = analysis["pooled"]
    primary = pooled[pooled["primary"].astype(bool) & pooled["estimate"].notna()]
    outcomes = analysis["outcomes"]
    for r in iter_rows(primary):
        label = scale_info(str(r.instrument), str(r.scale))[0]
        change = format_change(
            r.estimate, r.ci_low, r.ci_high, confidence=cfg.confidence,
            decimals=decimals(str(r.instrument), str(r.scale)),
        )  # fmt: skip
        judgement = pooled_judgement(
            outcomes, str(r.programme), str(r.instrument), str(r.scale),
            r.estimate, r.ci_low, r.ci_high, p_adjusted=float(r.p_adj),
            alpha=1 - cfg.confidence,
        )  # fmt: skip
        pairs = format_cell(r.n_pairs, kind="count", policy=cfg.policy)
        spread = _heterogeneity_words(r.i2, int(r.k))
        lines.append(
            f"- **{label}** ({r.programme}; {r.k} cohorts, {pairs} students with both "
            f"surveys): mean change {change} — {judgement}" + (f"; {spread}." if spread else ".")
        )
    if primary.empty:
        lines.append("- No primary outcome could be pooled over cohorts (see the notes).")
    else:
        family = pooled[pooled["primary"].astype(bool)]
        lines.append(f"\n{holm_statement(family, 1 - cfg.confidence)}")
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
        name = cohort_label(
            str(c["programme"]), str(c["cohort"]), int(c["year"]), with_programme=True
        )
        lines.append(f"| {name} | {shas} |")
    return "\n".join(lines)
