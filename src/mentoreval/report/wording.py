"""How results are said: calibrated plain-language judgements of an effect and its interval.

Report stage (how it is said), shared by the cohort and annual reports. Numbers stay numbers
until these functions turn them into text: :func:`format_finding` judges an effect size and
its confidence interval ("a small improvement, consistent with no change").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mentoreval.config.disclosure import DisclosurePolicy
from mentoreval.disclose.formatting import format_cell

if TYPE_CHECKING:  # pragma: no cover
    pass

__all__ = [
    "Finding",
    "controlled_lead",
    "format_change",
    "format_finding",
    "format_headline",
    "withheld_reason",
]


_THRESHOLDS = (0.2, 0.5, 0.8)


_SIZE_WORDS = ("negligible", "small", "moderate", "large")


def _size_word(value: float, thresholds: Sequence[float]) -> str:
    size = abs(value)
    for word, limit in zip(_SIZE_WORDS, thresholds, strict=False):
        if size < limit:
            return word
    return _SIZE_WORDS[-1]


def format_finding(
    effect: float,
    ci_low: float,
    ci_high: float,
    *,
    higher_is_better: bool = True,
    thresholds: Sequence[float] = _THRESHOLDS,
    contrast: bool = False,
    p_adjusted: float | None = None,
    alpha: float = 0.05,
) -> str:
    """A calibrated judgement, in words, of a standardised change and its CI.

    The size comes from the point estimate against Cohen's thresholds (0.2 small, 0.5
    moderate, 0.8 large); the certainty from where the confidence interval lies: across
    zero ("consistent with no change"), clear of zero but reaching a negligible size
    ("probably real, but it could be negligible"), or clear of a threshold ("at least a
    small one"). The direction is read against ``higher_is_better``, so a fall in burnout
    is an improvement. It never uses a p-value.

    Parameters
    ----------
    effect, ci_low, ci_high
        The standardised change (e.g. d_z, post − pre) and its CI.
    higher_is_better
        Whether a higher score is the better outcome on this scale.
    thresholds
        Limits of small, moderate and large effects.
    contrast
        The effect is a difference between groups (mentored − comparison), not a change
        over time: the words say "difference" instead of "change".
    p_adjusted, alpha
        For a primary outcome, its multiplicity-adjusted p-value (Holm or BH over the
        primary outcomes) and the level (1 − confidence). When the unadjusted interval
        clears zero but the adjusted p does not reach ``alpha``, the judgement defers to the
        adjustment: the report's own inference decides whether a change is "probably real".

    Returns
    -------
    str
        E.g. ``"a small improvement, consistent with no change"``; ``"not reported"``
        when the effect is missing (suppressed).

    Examples
    --------
    >>> format_finding(0.30, -0.05, 0.65)
    'a small improvement, consistent with no change'
    >>> format_finding(0.62, 0.31, 0.93)
    'a moderate improvement; at least a small one'
    >>> format_finding(0.35, 0.05, 0.65, higher_is_better=False)
    'a small worsening; probably real, but it could be negligible'
    >>> format_finding(0.05, -0.12, 0.15)
    'no meaningful change (the interval rules out even a small effect)'
    >>> format_finding(-0.1, -0.45, 0.25)
    'little or no change, but the interval is too wide to rule out a small improvement or worsening'
    >>> format_finding(float("nan"), float("nan"), float("nan"))
    'not reported'
    >>> format_finding(0.30, -0.05, 0.65, contrast=True)
    'a small improvement, consistent with no difference'
    >>> format_finding(0.45, 0.11, 0.79, p_adjusted=0.129)
    'a small improvement, consistent with no change once adjusted for the other primary outcomes'
    >>> format_finding(0.45, 0.11, 0.79, p_adjusted=0.033)
    'a small improvement; probably real, but it could be negligible'
    """
    text = _judge(effect, ci_low, ci_high, higher_is_better, thresholds)
    adjusted = p_adjusted is not None and math.isfinite(float(p_adjusted))
    if adjusted and float(p_adjusted) >= alpha and text.startswith("a "):  # type: ignore[arg-type]  # checked finite just above
        core = text.split(";", 1)[0].split(",", 1)[0]
        if not text.endswith("consistent with no change"):
            text = f"{core}, consistent with no change once adjusted for the other primary outcomes"
    return text.replace("change", "difference") if contrast else text


def _judge(
    effect: float,
    ci_low: float,
    ci_high: float,
    higher_is_better: bool,
    thresholds: Sequence[float],
) -> str:
    values = [effect, ci_low, ci_high]
    if any(v is None or not math.isfinite(float(v)) for v in values):
        return "not reported"
    sign = 1.0 if higher_is_better else -1.0
    b = sign * float(effect)
    lo, hi = sorted((sign * float(ci_low), sign * float(ci_high)))
    small = thresholds[0]
    if abs(b) < small:
        if lo > -small and hi < small:
            return "no meaningful change (the interval rules out even a small effect)"
        sides = [w for w, on in (("improvement", hi >= small), ("worsening", lo <= -small)) if on]
        return (
            "little or no change, but the interval is too wide to rule out a small "
            + " or ".join(sides)
        )
    direction = "improvement" if b > 0 else "worsening"
    core = f"a {_size_word(b, thresholds)} {direction}"
    if lo <= 0 <= hi:
        return f"{core}, consistent with no change"
    nearest = min(abs(lo), abs(hi))
    if nearest < small:
        return f"{core}; probably real, but it could be negligible"
    return f"{core}; at least a {_size_word(nearest, thresholds)} one"


def _num(value: float, decimals: int = 2, *, signed: bool = False) -> str:
    value = float(value)
    if round(value, decimals) == 0:
        return f"{0:.{decimals}f}"  # never "−0.0" or "+0.0"
    text = f"{value:+.{decimals}f}" if signed else f"{value:.{decimals}f}"
    return text.replace("-", "−")


def format_change(
    mean_diff: float,
    ci_low: float,
    ci_high: float,
    *,
    units: str = "points",
    confidence: float = 0.95,
    decimals: int = 1,
) -> str:
    """The mean change in scale units with its CI, e.g. ``"+6.2 points (95% CI 2.1 to 10.3)"``.

    Examples
    --------
    >>> format_change(6.2, 2.1, 10.3)
    '+6.2 points (95% CI 2.1 to 10.3)'
    >>> format_change(-0.25, -0.5, 0.0, units="points on a 1–5 scale", decimals=2)
    '−0.25 points on a 1–5 scale (95% CI −0.50 to 0.00)'
    """
    return (
        f"{_num(mean_diff, decimals, signed=True)} {units} "
        f"({confidence:.0%} CI {_num(ci_low, decimals)} to {_num(ci_high, decimals)})"
    )


@dataclass(frozen=True)
class Finding:
    """One headline finding of the executive summary (numbers, not text).

    Attributes
    ----------
    instrument, scale, label
        Which scale, and its display name.
    primary
        Whether the scale is a pre-specified primary outcome.
    n_pairs
        Students with both waves (NaN when suppressed).
    mean_diff, ci_low, ci_high
        Mean change (post − pre) in scale units and its CI.
    d_z, d_z_ci_low, d_z_ci_high
        The standardised change and its CI.
    higher_is_better
        The scale's direction.
    units
        The scale units in words (``"points on a 0–100 scale"``).
    judgement
        :func:`format_finding` of the effect the summary judges: d_z for a single-arm
        study, the standardised controlled effect for a comparison design.
    suppressed
        Whether disclosure control removed the numbers.
    design
        ``"single_arm"``, ``"comparison"`` (non-randomised) or ``"randomised"``
        (``analysis.design``). With a group, ``n_pairs``,
        ``mean_diff`` … ``d_z_ci_high`` are the *mentored* group's own change and the
        fields below hold the controlled effect.
    n_control
        Comparison students with both waves.
    adj_diff, adj_ci_low, adj_ci_high
        ANCOVA adjusted difference (mentored − comparison) at follow-up, in scale units.
    adj_std, adj_std_ci_low, adj_std_ci_high
        The same divided by the pooled baseline SD (what the judgement reads).
    p_adj
        The multiplicity-adjusted p-value of the effect judged (the paired test in a
        single-arm study, the ANCOVA in a comparison design); a primary outcome's judgement
        defers to it.
    d_ppc2, d_ppc2_ci_low, d_ppc2_ci_high
        Morris (2008) standardised difference in change, with its CI.
    """

    instrument: str
    scale: str
    label: str
    primary: bool
    n_pairs: float
    mean_diff: float
    ci_low: float
    ci_high: float
    d_z: float
    d_z_ci_low: float
    d_z_ci_high: float
    higher_is_better: bool
    units: str
    judgement: str
    suppressed: bool
    design: str = "single_arm"
    n_control: float = float("nan")
    adj_diff: float = float("nan")
    adj_ci_low: float = float("nan")
    adj_ci_high: float = float("nan")
    adj_std: float = float("nan")
    adj_std_ci_low: float = float("nan")
    adj_std_ci_high: float = float("nan")
    p_adj: float = float("nan")
    d_ppc2: float = float("nan")
    d_ppc2_ci_low: float = float("nan")
    d_ppc2_ci_high: float = float("nan")

    def to_dict(self) -> dict[str, Any]:
        """The finding as plain JSON-able values (NaN → ``None``)."""
        from mentoreval.outputs import to_jsonable

        return dict(to_jsonable(self.__dict__))


def format_headline(
    finding: Finding | Mapping[str, Any],
    *,
    confidence: float = 0.95,
    policy: DisclosurePolicy | None = None,
) -> str:
    """One executive-summary bullet (Markdown): n, change, effect size with CI, judgement.

    Examples
    --------
    >>> f = Finding("who5", "total", "WHO-5 wellbeing", True, 51, 6.2, 2.1, 10.3, 0.45,
    ...             0.16, 0.73, True, "points on a 0–100 scale",
    ...             "a small improvement; probably real, but it could be negligible", False)
    >>> print(format_headline(f))  # doctest: +NORMALIZE_WHITESPACE
    **WHO-5 wellbeing** (primary outcome): 51 students answered both surveys; mean change
    +6.2 points on a 0–100 scale (95% CI 2.1 to 10.3); standardised change d_z = 0.45
    (95% CI 0.16 to 0.73): a small improvement; probably real, but it could be negligible.
    """
    policy = policy or DisclosurePolicy()
    f = finding if isinstance(finding, Mapping) else finding.to_dict()

    def value(name: str) -> float:
        v = f.get(name)
        return float("nan") if v is None else float(v)

    tag = " (primary outcome)" if f.get("primary") else ""
    if f.get("design") in ("comparison", "randomised"):
        return _controlled_headline(f, value, tag, confidence, policy)
    if f.get("suppressed") or not math.isfinite(value("d_z")):
        return f"**{f['label']}**{tag}: not reported — {withheld_reason(policy, group=False)}."
    change = format_change(
        value("mean_diff"),
        value("ci_low"),
        value("ci_high"),
        units=str(f.get("units") or "points"),
        confidence=confidence,
    )
    return (
        f"**{f['label']}**{tag}: {format_cell(value('n_pairs'), kind='count')} students "
        f"answered both surveys; mean change {change}; standardised change d_z = "
        f"{_num(value('d_z'))} ({confidence:.0%} CI {_num(value('d_z_ci_low'))} to "
        f"{_num(value('d_z_ci_high'))}): {f['judgement']}."
    )


def short_label(label: str) -> str:
    """A scale's label without its instrument's name when the scale repeats it.

    Examples
    --------
    >>> short_label("Career confidence: Career confidence (mean 1–5)")
    'Career confidence (mean 1–5)'
    >>> short_label("CBI: Personal burnout (0–100)")
    'CBI: Personal burnout (0–100)'
    """
    head, sep, tail = label.partition(": ")
    return tail if sep and tail.lower().startswith(head.lower()) else label


def summary_line(
    finding: Finding | Mapping[str, Any],
    *,
    confidence: float = 0.95,
    policy: DisclosurePolicy | None = None,
) -> str:
    """One executive-summary line (Markdown): the scale, the number the judgement reads with
    its interval, and the judgement; the detail is in the report's tables.

    Examples
    --------
    >>> f = Finding("who5", "total", "WHO-5: Wellbeing (0–100)", True, 51, 6.2, 2.1, 10.3,
    ...             0.45, 0.16, 0.73, True, "points on a 0–100 scale",
    ...             "a small improvement; probably real, but it could be negligible", False)
    >>> summary_line(f)
    '**WHO-5: Wellbeing (0–100)** (primary): +6.2 points on a 0–100 scale (95% CI 2.1 to 10.3) between the surveys, 51 students: a small improvement; probably real, but it could be negligible.'
    """
    policy = policy or DisclosurePolicy()
    f = finding if isinstance(finding, Mapping) else finding.to_dict()

    def value(name: str) -> float:
        v = f.get(name)
        return float("nan") if v is None else float(v)

    name = f"**{short_label(str(f['label']))}**" + (" (primary)" if f.get("primary") else "")
    units = str(f.get("units") or "points")
    controlled = f.get("design") in ("comparison", "randomised")
    est, lo, hi = (("adj_diff", "adj_ci_low", "adj_ci_high") if controlled
                   else ("mean_diff", "ci_low", "ci_high"))  # fmt: skip
    if f.get("suppressed") or not math.isfinite(value(est)):
        return f"{name}: not reported — {withheld_reason(policy, group=controlled)}."
    change = format_change(value(est), value(lo), value(hi), units=units, confidence=confidence)
    if controlled:
        who = (
            "mentored − comparison, adjusted for baseline"
            if f.get("design") == "randomised"
            else "compared with students who did not join, adjusted for baseline"
        )
        a, b = value("adj_std"), value("d_ppc2")
        split = (
            " The ANCOVA and the difference in change (d_ppc2) point in opposite directions "
            "(section 4)."
            if math.isfinite(a) and math.isfinite(b) and a * b < 0 and max(abs(a), abs(b)) >= 0.2
            else ""
        )
        return f"{name}: {change} {who}: {f['judgement']}.{split}"
    n = format_cell(value("n_pairs"), kind="count", suppressed=True, policy=policy)
    return f"{name}: {change} between the surveys, {n} students: {f['judgement']}."


def withheld_reason(policy: DisclosurePolicy, *, group: bool) -> str:
    """Why a finding's numbers are not shown, true whichever rule withheld them (a small
    group, or a count a few students away from an earlier report of the cohort).

    Examples
    --------
    >>> withheld_reason(DisclosurePolicy(), group=False)
    'withheld to protect small groups: fewer than 10 students answered both surveys, or the count differs by a few students from an earlier report of this cohort'
    """
    who = "students in a group" if group else "students"
    return (
        f"withheld to protect small groups: fewer than {policy.threshold} {who} answered both "
        "surveys, or the count differs by a few students from an earlier report of this cohort"
    )


def controlled_lead(design: str) -> str:
    """How a between-group result is introduced: only a randomised design may call it the
    programme's effect; a non-randomised comparison says what was compared.

    Examples
    --------
    >>> controlled_lead("comparison")
    'compared with students who did not join, adjusted for their baseline (ANCOVA, mentored − comparison at follow-up):'
    >>> controlled_lead("randomised")
    "the programme's effect (ANCOVA, mentored − comparison at follow-up, adjusted for the baseline score):"
    """
    if design == "randomised":
        return (
            "the programme's effect (ANCOVA, mentored − comparison at follow-up, adjusted for "
            "the baseline score):"
        )
    return (
        "compared with students who did not join, adjusted for their baseline (ANCOVA, "
        "mentored − comparison at follow-up):"
    )


def _controlled_headline(
    f: Mapping[str, Any],
    value: Callable[[str], float],
    tag: str,
    confidence: float,
    policy: DisclosurePolicy,
) -> str:
    """The executive-summary bullet of a comparison design: controlled effect first."""
    units = str(f.get("units") or "points")
    level = f"{confidence:.0%} CI"
    if not math.isfinite(value("adj_diff")):
        return f"**{f['label']}**{tag}: not reported — {withheld_reason(policy, group=True)}."
    parts = [
        f"**{f['label']}**{tag}: {controlled_lead(str(f.get('design')))} "
        + format_change(
            value("adj_diff"),
            value("adj_ci_low"),
            value("adj_ci_high"),
            units=units,
            confidence=confidence,
        )
    ]
    if math.isfinite(value("adj_std")):
        parts[0] += (
            f", {_num(value('adj_std'), signed=True)} baseline SDs ({level} "
            f"{_num(value('adj_std_ci_low'))} to {_num(value('adj_std_ci_high'))})"
        )
    if math.isfinite(value("d_ppc2")):
        parts[0] += (
            f"; d_ppc2 = {_num(value('d_ppc2'))} ({level} {_num(value('d_ppc2_ci_low'))} to "
            f"{_num(value('d_ppc2_ci_high'))})"
        )
    parts[0] += f": {f['judgement']}."
    a, b = value("adj_std"), value("d_ppc2")
    if math.isfinite(a) and math.isfinite(b) and a * b < 0 and max(abs(a), abs(b)) >= 0.2:
        parts.append(
            "The ANCOVA and the difference in change (d_ppc2) point in opposite directions: "
            "the groups differed at baseline, so the answer depends on the analysis model "
            "(see the baseline balance in section 4)."
        )
    if math.isfinite(value("mean_diff")):
        n_c = value("n_control")
        others = (
            f"; {format_cell(n_c, kind='count')} in the comparison group"
            if math.isfinite(n_c)
            else ""
        )
        parts.append(
            # n_pairs is NaN here only when it is hidden (the change itself is shown)
            "Mentored students' own change "
            f"({format_cell(value('n_pairs'), kind='count', suppressed=True)} "
            f"students answered both surveys{others}): "
            + format_change(
                value("mean_diff"),
                value("ci_low"),
                value("ci_high"),
                units=units,
                confidence=confidence,
            )
            + f", d_z = {_num(value('d_z'))} ({level} {_num(value('d_z_ci_low'))} to "
            f"{_num(value('d_z_ci_high'))})."
        )
    else:
        parts.append(
            f"The mentored group's own change is not reported (fewer than {policy.threshold} "
            "students)."
        )
    return " ".join(parts)
