# mypy: disable-error-code="arg-type,index,misc,union-attr,call-overload,str-bytes-safe"
# (pandas-stubs types itertuples()/groupby keys as any scalar; values here are checked at run time)
"""The cohort report's analysis layer: one ingested study → disclosure-controlled results.

Report stage, between ``stats`` and the papermill template. :func:`analyse_cohort` runs the
whole analysis once (in the calling process, not in the report kernel), applies disclosure
control to every table *before* anything is written, draws the figures, and returns a
frozen :class:`CohortResults`. :func:`write_cohort_outputs` saves it as ``tables/*.csv``,
``results.json`` and ``figures/*.png|svg``. The template
(``notebooks/templates/cohort_report.ipynb``) then only loads those files with
:func:`open_cohort_report` and shows them, one library call per cell, so the kernel does
no statistics.

Plain-language text comes from the ``format_*`` functions: :func:`format_finding` turns an
effect size and its confidence interval into a calibrated judgement ("a small improvement,
consistent with no change"); numbers stay numbers until then.

:func:`run_cohort_report` is what ``mentoreval report`` runs: ingest → analyse → write →
execute the template → HTML → PDF → manifest → egress scan (every pseudonym and raw id is
a forbidden string), under one progress bar.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mentoreval.config.disclosure import DisclosurePolicy
from mentoreval.disclose.derived import blank_derivable, check_no_derivable
from mentoreval.disclose.formatting import format_cell, format_table
from mentoreval.disclose.ledger import ReleaseLedger
from mentoreval.errors import DataError, DisclosureError, MentorevalError, Problem
from mentoreval.report.tables import format_report_table, report_table_html
from mentoreval.resources import bundled_path

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from mentoreval.config.study import Study
    from mentoreval.ingest.pipeline import IngestResult

__all__ = [
    "COMPARISON_TABLE_COLUMNS",
    "TEMPLATE",
    "CohortReport",
    "CohortResults",
    "Finding",
    "analyse_cohort",
    "format_change",
    "format_finding",
    "format_headline",
    "open_cohort_report",
    "policy_for_study",
    "run_cohort_report",
    "write_cohort_outputs",
]

#: Columns of ``tables/comparisons.csv`` (the report contract). In a comparison design the
#: table has one row per group and scale (mentored first) and a last column ``group``; a
#: single-arm study has exactly these columns.
COMPARISON_TABLE_COLUMNS: list[str] = [
    "instrument", "scale", "pre", "post", "n_pairs", "mean_pre", "sd_pre", "mean_post",
    "sd_post", "mean_diff", "ci_low", "ci_high", "t", "df", "p_value", "p_adj", "d_z",
    "d_z_ci_low", "d_z_ci_high", "d_av", "g_av", "wilcoxon_p", "rank_biserial", "suppressed",
]  # fmt: skip

#: The papermill template of the cohort report.
# notebooks/templates in a checkout (through the _bundled link), a copy in a wheel
TEMPLATE = bundled_path("templates", "cohort_report.ipynb")

_THRESHOLDS = (0.2, 0.5, 0.8)
_SIZE_WORDS = ("negligible", "small", "moderate", "large")
_RESULTS_VERSION = 1
_FORMULA_QUOTE = re.compile(r"^'(?=[=+\-@\t\r\0])")


# ------------------------------------------------------------------------ findings


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
    """
    text = _judge(effect, ci_low, ci_high, higher_is_better, thresholds)
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
        ``"single_arm"`` or ``"comparison"``. For a comparison design ``n_pairs``,
        ``mean_diff`` … ``d_z_ci_high`` are the *mentored* group's own change and the
        fields below hold the controlled effect.
    n_control
        Comparison students with both waves.
    adj_diff, adj_ci_low, adj_ci_high
        ANCOVA adjusted difference (mentored − comparison) at follow-up, in scale units.
    adj_std, adj_std_ci_low, adj_std_ci_high
        The same divided by the pooled baseline SD (what the judgement reads).
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
    d_ppc2: float = float("nan")
    d_ppc2_ci_low: float = float("nan")
    d_ppc2_ci_high: float = float("nan")

    def to_dict(self) -> dict[str, Any]:
        """The finding as plain JSON-able values (NaN → ``None``)."""
        from mentoreval.report.tables import to_jsonable

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
    if f.get("design") == "comparison":
        return _controlled_headline(f, value, tag, confidence, policy)
    if f.get("suppressed") or not math.isfinite(value("d_z")):
        return (
            f"**{f['label']}**{tag}: not reported — fewer than {policy.threshold} students "
            "answered both surveys, so every number is suppressed."
        )
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
        return (
            f"**{f['label']}**{tag}: not reported — fewer than {policy.threshold} students "
            "in a group answered both surveys, so the comparison is suppressed."
        )
    parts = [
        f"**{f['label']}**{tag}: controlled effect (mentored − comparison at follow-up, "
        f"ANCOVA adjusted for the baseline score) "
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
            f"Mentored students' own change ({format_cell(value('n_pairs'), kind='count')} "
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


# ------------------------------------------------------------------ disclosure helpers


def policy_for_study(study: Study) -> DisclosurePolicy:
    """The disclosure policy a study config asks for (``disclosure:`` in ``study.yaml``).

    ``profile: default`` uses ``threshold`` as k; ``nhs`` and ``off`` use their profile.
    """
    spec = study.config.disclosure
    if spec.profile == "default":
        return DisclosurePolicy(profile="default", k=max(int(spec.threshold), 2))
    return DisclosurePolicy(profile=spec.profile)


@dataclass
class _Release(ReleaseLedger):
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


_LEDGER_OFF = (
    "RELEASE LEDGER NOT USED: this report was not checked against earlier releases of "
    "this cohort and is not recorded, so a reader holding another report could subtract "
    "one from the other. Internal use only."
)
#: Plain names of the tables, for the notice on numbers withheld by the ledger.
_TABLE_WORDS = {
    "outcomes": "outcome comparisons",
    "cohort.flow": "participant flow",
    "cohort.linkage": "linkage",
    "cohort.response_rates": "response rates",
    "cohort.bands": "score bands",
    "cohort.change": "individual change",
}


def _ledger_study(study: Study) -> str:
    """The cohort's ledger key: ``programme/cohort/year`` as in the annual report."""
    cfg = study.config
    if cfg.programme and cfg.cohort and cfg.year is not None:
        return f"{cfg.programme}/{cfg.cohort}/{int(cfg.year)}"
    return f"study:{study.name}"


def _open_release(
    study: Study, ledger: ReleaseLedger | None, *, use_ledger: bool, policy: DisclosurePolicy
) -> _Release | None:
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
    return _Release(entries=copy.deepcopy(ledger.entries), study=_ledger_study(study))


def _withheld_notice(release: _Release, policy: DisclosurePolicy) -> str:
    tables = sorted(
        {
            _TABLE_WORDS.get(t, t.removeprefix("cohort.").replace(".", " ").replace("_", " "))
            for t, _ in release.withheld
        }
    )
    return (
        "Some numbers are withheld because an earlier release of this cohort had slightly "
        "different counts (for example after late or withdrawn responses): publishing both "
        "would let a reader work out a few students' answers by subtraction. They are shown "
        f"as \u201c{policy.label}\u201d like small counts, although the group itself may be "
        f"larger. Affected: {', '.join(tables)}."
    )


def _protect_cells(
    cells: Mapping[str, float],
    lines: Iterable[tuple[str, Sequence[str]]],
    policy: DisclosurePolicy,
    *,
    release: _Release | None = None,
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


def _protect_flow(
    cells: Mapping[str, float],
    policy: DisclosurePolicy,
    *,
    release: _Release | None = None,
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
    >>> _protect_flow({"read": 145, "kept": 137, "excluded": 8}, DisclosurePolicy())
    ({'read': 145.0, 'kept': 135.0, 'excluded': nan}, True)
    >>> _protect_flow({"read": 145, "kept": 125, "excluded": 20}, DisclosurePolicy())
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


def _suppress_rows(
    df: pd.DataFrame,
    policy: DisclosurePolicy,
    *,
    n_columns: Sequence[str],
    value_columns: Sequence[str] | None = None,
    count_columns: Sequence[str] = (),
    blocks: Sequence[str] = (),
    release: _Release | None = None,
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
                for row in frame[list(keys)].itertuples(index=False)
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


# ------------------------------------------------------------------------- results


@dataclass(frozen=True)
class CohortResults:
    """Everything the cohort report shows, already disclosure-controlled.

    Attributes
    ----------
    study, title
        The study's name and its title.
    design
        ``"comparison"`` when a comparison group was analysed, else ``"single_arm"``.
    policy
        The disclosure policy applied.
    confidence
        CI level.
    tables
        Tidy tables by name (``comparisons`` with :data:`COMPARISON_TABLE_COLUMNS`,
        ``flow``, ``response_rates``, ``bands``, ``likert``, ``reliability``, ``balance``,
        ``ancova``, ``adjusted_means``, ``mixed``, ``imputation``, ``ipw``, ``d_ppc2``,
        ``attrition``, ``subgroups``, ``change``, ``multiplicity``, ``caveats``,
        ``instruments``, ``scales``, ``quality_flags``, ``missingness``,
        ``quarantine``, ``linkage``, ...). Every number resting on fewer than k students
        is NaN and its row has ``suppressed = True``.
    headline
        3–5 :class:`Finding` for the executive summary.
    notices
        Plain-language notices the report must show (disclosure off, cohort below the
        threshold, single-arm design, fits that failed).
    figures
        Figures by name (drawn from protected summaries; no individual points).
    info
        Study facts for the text: programme, cohort, waves, primary outcomes, options.
    ledger
        The release ledger checked, with this report's releases added (``None`` when no
        ledger was used); :func:`run_cohort_report` saves it once the report is released.
    """

    study: str
    title: str
    design: str
    policy: DisclosurePolicy
    confidence: float
    tables: Mapping[str, pd.DataFrame]
    headline: tuple[Finding, ...]
    notices: tuple[str, ...]
    figures: Mapping[str, Figure] = field(default_factory=dict, repr=False)
    info: Mapping[str, Any] = field(default_factory=dict)
    ledger: ReleaseLedger | None = field(default=None, repr=False)

    @property
    def below_threshold(self) -> bool:
        """Whether no outcome had k students with both waves (everything suppressed)."""
        comp = self.tables.get("comparisons")
        return comp is None or comp.empty or bool(comp["suppressed"].all())

    def to_frame(self) -> pd.DataFrame:
        """The ``comparisons`` table."""
        return self.tables["comparisons"].copy()

    def _repr_html_(self) -> str:
        items = "".join(f"<li>{format_headline(f, policy=self.policy)}</li>" for f in self.headline)
        return f"<h4>{self.title}</h4><ul>{items}</ul>" + format_table(
            self.tables["comparisons"], policy=self.policy
        ).to_html(index=False)


def _scale_meta(study: Study) -> pd.DataFrame:
    rows = []
    for inst_id, inst in study.instruments.items():
        for s in inst.scales:
            lo, hi = (float(s.range[0]), float(s.range[1]))
            rows.append(
                {
                    "instrument": inst_id,
                    "scale": s.id,
                    "label": f"{inst.short_title or inst.title}: {s.title}",
                    "instrument_title": inst.title,
                    "scale_title": s.title,
                    "domain": inst.domain,
                    "higher_is_better": bool(s.higher_is_better),
                    "range_low": lo,
                    "range_high": hi,
                    "method": s.method,
                    "n_items": len(s.items),
                    "min_answered": s.min_answered,
                    "bands": (
                        "; ".join(b.label for b in s.bands.cuts) if s.bands is not None else ""
                    ),
                    "bands_source": s.bands.source if s.bands is not None else "",
                    "reliability": s.reliability.value if s.reliability is not None else np.nan,
                    "mcid": s.mcid if s.mcid is not None else np.nan,
                }
            )
    return pd.DataFrame(rows)


def _instrument_meta(study: Study) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "instrument": i,
                "title": inst.title,
                "version": inst.version,
                "domain": inst.domain,
                "items": len(inst.item_ids),
                "citation": inst.citation,
                "licence": inst.licence.name,
                "recall_period": inst.recall_period or "",
            }
            for i, inst in study.instruments.items()
        ]
    )


def _load_processed(source: IngestResult | str | os.PathLike[str]) -> dict[str, pd.DataFrame]:
    if not isinstance(source, str | os.PathLike):
        return {
            "responses": source.responses,
            "scores": source.scores,
            "participants": source.participants,
            "quarantine": source.quarantine,
            "quality": source.quality,
            "linkage": source.linkage,
            "manifest": source.manifest,  # type: ignore[dict-item]
        }
    folder = Path(source)
    needed = ["scores.parquet", "responses.parquet", "participants.parquet", "linkage.csv"]
    missing = [n for n in needed if not (folder / n).is_file()]
    if missing:
        raise DataError(
            f"{folder}: not an ingested study folder",
            tuple(
                Problem(
                    "file missing", file=str(folder / n), fix="run `mentoreval ingest STUDY` first"
                )
                for n in missing
            ),
        )
    out: dict[str, Any] = {
        "responses": pd.read_parquet(folder / "responses.parquet"),
        "scores": pd.read_parquet(folder / "scores.parquet"),
        "participants": pd.read_parquet(folder / "participants.parquet"),
        "linkage": pd.read_csv(folder / "linkage.csv", dtype={"participant_id": str}),
        "quarantine": (
            pd.read_csv(folder / "quarantine.csv")
            if (folder / "quarantine.csv").is_file()
            else pd.DataFrame(columns=["source", "source_row", "stage", "rule", "reason"])
        ),
        "quality": (
            pd.read_csv(folder / "quality.csv") if (folder / "quality.csv").is_file() else None
        ),
        "manifest": (
            json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
            if (folder / "manifest.json").is_file()
            else {}
        ),
    }
    return out


def _check_waves(
    scores: pd.DataFrame, linkage: pd.DataFrame, pre: str, post: str, file: str
) -> None:
    waves = set(scores["wave"].astype(str).unique()) if len(scores) else set()
    missing = [w for w in (pre, post) if w not in waves]
    if missing:
        raise DataError(
            f"{file}: no {' or '.join(repr(w) for w in missing)} wave in the scores, so there "
            "is nothing to compare",
            tuple(
                Problem(
                    f"no scored responses for wave {w!r}",
                    file=file,
                    key="analysis.post" if w == post else "analysis.pre",
                    fix=f"add the {w} export under sources: with wave: {w}, or correct analysis.{'post' if w == post else 'pre'}",
                )
                for w in missing
            ),
        )
    matched = int((linkage["status"] == "matched").sum()) if len(linkage) else 0
    if matched == 0:
        raise DataError(
            f"{file}: no student answered both the {pre!r} and the {post!r} survey, so no "
            "pre/post pair could be linked",
            (
                Problem(
                    "0 linked pairs",
                    file=file,
                    key="participant_id",
                    fix="check that both exports use the same participant id column and the "
                    "same key file",
                ),
            ),
        )


def _wide_items(responses: pd.DataFrame, instrument: str, wave: str) -> pd.DataFrame:
    sub = responses[
        (responses["instrument"].astype(str) == instrument)
        & (responses["wave"].astype(str) == wave)
    ]
    if sub.empty:
        return pd.DataFrame()
    wide = sub.pivot_table(
        index=sub["participant_id"].astype(str),
        columns=sub["item"].astype(str),
        values="value",
        aggfunc="first",
        observed=True,
        dropna=False,
    )
    wide.columns.name = None
    return wide


def _shorten(text: str, width: int = 38) -> str:
    """Shorten an item text for a chart label.

    Examples
    --------
    >>> _shorten("I have felt cheerful and in good spirits", width=20)
    'I have felt cheerf…'
    """
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 2].rstrip() + "…"


def _likert_counts(
    responses: pd.DataFrame,
    study: Study,
    instrument: str,
    waves: Sequence[str],
    policy: DisclosurePolicy,
    release: _Release | None = None,
) -> tuple[pd.DataFrame, bool]:
    """Items × answer levels per wave, protected; levels are merged into lower / middle /
    upper when full detail would hide small cells (decided without the ledger, so the
    layout does not depend on earlier releases). Returns (long table, merged?)."""
    from mentoreval.disclose.suppression import suppress_counts

    inst = study.instruments[instrument]
    scale_ids = {i.response_scale for i in inst.items}
    rs = inst.response_scales[sorted(scale_ids)[0]] if len(scale_ids) == 1 else None
    if rs is None:
        return pd.DataFrame(), False
    codes = list(rs.codes)
    labels = list(rs.labels)
    sub = responses[responses["instrument"].astype(str) == instrument]
    tables = []
    for wave in waves:
        w = sub[sub["wave"].astype(str) == wave]
        if w.empty:
            continue
        counts = (
            pd.crosstab(w["item"].astype(str), w["value"].astype(float))
            .reindex(columns=codes, fill_value=0)
            .reindex(index=inst.item_ids, fill_value=0)
        )
        counts.columns = labels
        counts.index = [f"{i} · {wave}" for i in counts.index]
        tables.append(counts)
    if not tables:
        return pd.DataFrame(), False
    full = pd.concat(tables)

    def protect(table: pd.DataFrame, ledger: _Release | None = None) -> pd.DataFrame:
        t = table.copy()
        cols = list(t.columns)
        t["total"] = t[cols].sum(axis=1)
        return suppress_counts(
            t, count_columns=cols, total_column="total", policy=policy, ledger=ledger,
            study=ledger.study if ledger else "", table=f"cohort.likert.{instrument}",
        )  # fmt: skip

    merged = False
    layout = full
    if policy.active and protect(full)["suppressed"].any():
        k = len(labels)
        mid = k // 2
        groups: dict[str, list[str]] = {}
        low_label = f"{labels[0]} – {labels[mid - 1]}" if mid > 1 else labels[0]
        groups[low_label] = labels[:mid]
        if k % 2 == 1:
            groups[labels[mid]] = [labels[mid]]
            high = labels[mid + 1 :]
        else:
            high = labels[mid:]
        groups[f"{high[0]} – {high[-1]}" if len(high) > 1 else high[0]] = high
        layout = pd.DataFrame({g: full[ls].sum(axis=1) for g, ls in groups.items()})
        merged = True
    out = protect(layout, release)
    long = out.drop(columns=["total"]).reset_index(names="row")
    long[["item", "wave"]] = long["row"].str.split(" · ", n=1, expand=True)
    texts = {
        i.id: _shorten(i.text) if inst.licence.ship_item_text and i.text else i.id
        for i in inst.items
    }
    long["item_label"] = long["item"].map(texts)
    long.insert(0, "instrument", instrument)
    levels = [c for c in out.columns if c not in ("total", "suppressed")]
    long = long.melt(
        id_vars=["instrument", "item", "item_label", "wave", "suppressed"],
        value_vars=levels,
        var_name="level",
        value_name="n",
    )
    long["level_order"] = long["level"].map({lv: i for i, lv in enumerate(levels)})
    long = long.sort_values(["item", "wave", "level_order"], kind="stable").reset_index(drop=True)
    return long[
        ["instrument", "item", "item_label", "wave", "level_order", "level", "n", "suppressed"]
    ], merged


def _group_counts(wide: pd.DataFrame, group: str | None, treated: str) -> pd.DataFrame:
    both = wide.dropna(subset=["pre", "post"])
    if group is None:
        return (
            both.groupby(["instrument", "scale"]).size().rename("n_treated").reset_index()
            .assign(n_control=np.nan)
        )  # fmt: skip
    is_t = both[group].astype(str) == treated
    return (
        both.assign(_t=is_t, _c=~is_t)
        .groupby(["instrument", "scale"])[["_t", "_c"]]
        .sum()
        .rename(columns={"_t": "n_treated", "_c": "n_control"})
        .reset_index()
    )


def analyse_cohort(
    processed: IngestResult | str | os.PathLike[str],
    study_config: Study | str | os.PathLike[str],
    *,
    policy: DisclosurePolicy | None = None,
    imputations: int = 20,
    seed: int = 0,
    ledger: ReleaseLedger | None = None,
    use_ledger: bool = True,
) -> CohortResults:
    """Analyse one ingested study and apply disclosure control to every table.

    Parameters
    ----------
    processed
        The :class:`~mentoreval.ingest.IngestResult`, or the folder ingest wrote
        (``data/processed/<study>/``).
    study_config
        The ``study.yaml`` (or a loaded :class:`~mentoreval.config.study.Study`).
    policy
        Disclosure policy; default: the study's ``disclosure:`` setting.
    imputations, seed
        Multiple-imputation sensitivity analysis (comparison designs only).
    ledger
        Earlier releases to check against (not modified); default: the release ledger of
        the study's project store (``<project>/data/store/ledger/releases.json``, shared
        with the annual report). A count that differs by 1..k−1 from an earlier release of
        the same cell is suppressed, with a notice. ``CohortResults.ledger`` holds it with
        this report's releases added; nothing is saved here (see
        :func:`mentoreval.store.merge_release_ledger`, called by
        :func:`run_cohort_report` once the report passed its egress scan).
    use_ledger
        ``False`` skips the ledger, for internal use only: allowed only when the
        disclosure profile is ``"off"``, and reported as a notice.

    Returns
    -------
    CohortResults

    Raises
    ------
    DataError
        When a wave is missing or no pre/post pair could be linked.
    DisclosureError
        ``use_ledger=False`` while disclosure control is on.

    Examples
    --------
    >>> res = analyse_cohort("data/processed/demo", "data/demo/study.yaml")  # doctest: +SKIP
    >>> res.headline[0].judgement  # doctest: +SKIP
    'a small improvement; probably real, but it could be negligible'
    """
    from mentoreval.config.study import load_study
    from mentoreval.stats._common import to_prepost
    from mentoreval.stats.analysis import run_analysis
    from mentoreval.stats.cutoffs import compare_bands
    from mentoreval.stats.paired import compare_pair
    from mentoreval.stats.reliability import fit_reliability_many

    study = (
        study_config
        if not isinstance(study_config, str | os.PathLike)
        else load_study(Path(study_config))
    )
    cfg = study.config
    policy = policy or policy_for_study(study)
    opts = cfg.analysis
    pre, post, confidence = opts.pre, opts.post, float(opts.confidence)
    data = _load_processed(processed)
    scores = data["scores"].copy()
    for c in ("participant_id", "wave", "instrument", "scale"):
        scores[c] = scores[c].astype(str)
    _check_waves(scores, data["linkage"], pre, post, str(study.path))
    participants = data["participants"].copy()
    participants["participant_id"] = participants["participant_id"].astype(str)
    meta = _scale_meta(study)
    meta_idx = meta.set_index(["instrument", "scale"])
    notices: list[str] = []
    if policy.warning:
        notices.append(policy.warning)
    release = _open_release(study, ledger, use_ledger=use_ledger, policy=policy)
    if release is None:
        notices.append(_LEDGER_OFF)

    # design
    group_col: str | None = None
    treated = "mentored"
    if opts.group is not None and "group" in participants.columns:
        levels = participants["group"].dropna().astype(str)
        treated = opts.group.treated
        if {opts.group.treated, opts.group.control} <= set(levels):
            participants["group"] = participants["group"].astype("string")
            participants = participants[
                participants["group"].isna()
                | participants["group"].isin([treated, opts.group.control])
            ]
            group_col = "group"
    design = "comparison" if group_col else "single_arm"
    covariates = [c for c in cfg.columns.covariates if c in participants.columns]
    people = participants[["participant_id", *([group_col] if group_col else []), *covariates]]
    primary = list(opts.primary)
    reliability = {
        (r.instrument, r.scale): float(r.reliability)
        for r in meta.itertuples()
        if not pd.isna(r.reliability)
    }
    hib = {(r.instrument, r.scale): bool(r.higher_is_better) for r in meta.itertuples()}
    ranges = {(r.instrument, r.scale): (r.range_low, r.range_high) for r in meta.itertuples()}

    analysis = run_analysis(
        scores,
        people,
        pre=pre,
        post=post,
        group=group_col,
        treated=treated,
        covariates=covariates if group_col else (),
        primary=list(opts.primary) or None,
        multiplicity=opts.multiplicity,
        reliability=reliability,
        higher_is_better=hib,
        score_range=ranges,
        m=imputations,
        seed=seed,
        mixed=True,
        confidence=confidence,
    )
    raw = dict(analysis.tables)
    wide = to_prepost(scores, people, pre=pre, post=post)
    ncount = _group_counts(wide, group_col, treated)

    comp = raw["comparisons"].copy()
    multiplicity = raw["multiplicity"]
    is_primary = (multiplicity["family"] == "primary").to_numpy()
    tables: dict[str, pd.DataFrame] = {}
    comp_cols = [c for c in COMPARISON_TABLE_COLUMNS if c != "suppressed"]
    if group_col and opts.group is not None:
        # within-group pre/post per arm (mentored first): pooling the arms would read as
        # the programme's effect
        by_group = _per_group_comparisons(
            scores, people, group_col, [treated, opts.group.control], pre=pre, post=post,
            confidence=confidence, primary=primary or None, multiplicity=opts.multiplicity,
        )  # fmt: skip
        # the mentored rows share their ledger key with the annual report's outcomes
        arms = by_group[[*comp_cols, "group"]].assign(
            _arm=lambda d: d["group"].astype(str).where(d["group"].astype(str) != treated, "")
        )
        tables["comparisons"] = _suppress_rows(
            arms, policy, n_columns=["n_pairs"], release=release, table="outcomes",
            keys=["instrument", "scale", "_arm"],
        )[[*COMPARISON_TABLE_COLUMNS, "group"]]  # fmt: skip
    else:
        tables["comparisons"] = _suppress_rows(
            comp[comp_cols], policy, n_columns=["n_pairs"], release=release, table="outcomes",
            keys=["instrument", "scale"],
        )  # fmt: skip
    tables["multiplicity"] = multiplicity
    tables["scales"] = meta
    tables["instruments"] = _instrument_meta(study)

    # participation: flow and response rates
    tables.update(
        _participation(data, study, comp, is_primary, group_col, treated, policy, release)
    )

    # outcome domains: bands, Likert, reliability, change classes
    if "band" in scores.columns and scores["band"].notna().any():
        bands = compare_bands(scores[scores["band"].notna()], pre=pre, post=post)
        order = {
            (r.instrument, r.scale): [b.strip() for b in r.bands.split(";")]
            for r in meta.itertuples()
            if r.bands
        }
        bands["band_order"] = [
            order.get((i, s), []).index(b) if b in order.get((i, s), []) else 99
            for i, s, b in zip(bands["instrument"], bands["scale"], bands["band"], strict=True)
        ]
        bands = bands.sort_values(["instrument", "scale", "band_order"], kind="stable")
        bands = bands.drop(columns=["band_order", "statistic"]).reset_index(drop=True)
        bands = _protect_bands(bands, policy, release)
        tables["bands"] = bands
    likert_parts = []
    merged_any = False
    for inst_id in study.instruments:
        long, merged = _likert_counts(
            data["responses"], study, inst_id, [pre, post], policy, release
        )
        merged_any |= merged
        if len(long):
            likert_parts.append(long)
    if likert_parts:
        tables["likert"] = pd.concat(likert_parts, ignore_index=True)
    frames = {}
    reverse = {}
    ranges_items = {}
    for inst_id, inst in study.instruments.items():
        for wave in (pre, post):
            items = _wide_items(data["responses"], inst_id, wave)
            if items.empty:
                continue
            for s in inst.scales:
                cols = [c for c in s.items if c in items.columns]
                if len(cols) >= 2:
                    frames[(inst_id, s.id, wave)] = items[cols]
                    reverse[(inst_id, s.id)] = [i for i in cols if inst.item(i).reverse]
        rs = next(iter(inst.response_scales.values()))
        ranges_items[inst_id] = (rs.low, rs.high)
    if frames:
        rel = _attempt(
            lambda: fit_reliability_many(
                frames, reverse=reverse, response_range=ranges_items, confidence=confidence
            )[0]
        )
        if rel is not None:
            keep = [
                c
                for c in (
                    "instrument",
                    "scale",
                    "wave",
                    "n_complete",
                    "n_items",
                    "alpha",
                    "alpha_ci_low",
                    "alpha_ci_high",
                    "omega_total",
                )
                if c in rel.columns
            ]
            tables["reliability"] = _suppress_rows(
                rel[keep], policy, n_columns=["n_complete"],
                value_columns=[c for c in keep[5:]], release=release, table="cohort.reliability",
            )  # fmt: skip
    if "change_summary" in raw:
        tables["change"] = _protect_classes(raw["change_summary"], policy, release)

    # comparison group
    if group_col:
        tables.update(_comparison_tables(raw, ncount, policy, release))
    if "attrition" in raw:
        att = raw["attrition"].copy()
        tables["attrition"] = _suppress_rows(
            att, policy, n_columns=["n_baseline"], count_columns=["n_completed"],
            value_columns=["attrition"], blocks=["instrument", "scale"], release=release,
            table="cohort.attrition",
        )  # fmt: skip

    # exploratory subgroups (the mentored students' own change in a comparison design)
    sub_wide = wide if not group_col else wide[wide[group_col].astype(str) == treated]
    tables["subgroups"] = _subgroups(
        sub_wide, covariates, comp, is_primary, confidence, policy, compare_pair, release
    )
    if "dose" in raw:
        tables["dose"] = _suppress_rows(
            raw["dose"], policy, n_columns=["n"], release=release, table="cohort.dose"
        )
    if "moderation" in raw and "n" in raw["moderation"].columns:
        tables["moderation"] = _suppress_rows(
            raw["moderation"], policy, n_columns=["n"], release=release, table="cohort.moderation"
        )

    # caveats (each stated once, listing its scales) and notes
    cav = raw.get("caveats", pd.DataFrame())
    if len(cav):
        cav = cav[cav["applies"].astype(bool)].reset_index(drop=True)
    withheld_scales = (
        {tuple(g.split(" / ")[:2]) for t, g in release.withheld if t == "outcomes"}
        if release is not None
        else set()
    )
    tables["caveats"] = _group_caveats(cav, meta_idx, tables, policy, withheld_scales)
    notes = raw.get("fit_notes", pd.DataFrame())
    tables["fit_notes"] = notes
    if design == "single_arm":
        notices.append(
            "Single-arm design: there is no comparison group, so the changes shown cannot be "
            "attributed to the programme. Students' wellbeing usually changes over an "
            "academic year anyway (maturation, the calendar), and extreme baseline scores "
            "drift back towards the average (regression to the mean)."
        )
    if merged_any:
        notices.append(
            "In the item charts, answer options were combined into lower / middle / upper "
            "groups so that no answer count rests on fewer than "
            f"{policy.threshold} students."
        )

    # data quality
    tables.update(_data_quality(data, study, pre, post, policy, release))
    tables = protect_derived(tables)
    if release is not None and release.withheld:
        notices.insert(1 if policy.warning else 0, _withheld_notice(release, policy))

    comparisons = tables["comparisons"]
    result_info = {
        "programme": cfg.programme,
        "cohort": cfg.cohort,
        "year": cfg.year,
        "pre": pre,
        "post": post,
        "primary": primary,
        "multiplicity": opts.multiplicity,
        "covariates": covariates,
        "group": (
            {"treated": opts.group.treated, "control": opts.group.control}
            if group_col and opts.group
            else None
        ),
        "key_fingerprint": (data.get("manifest") or {}).get("key_fingerprint"),
    }
    ledger_withheld = release is not None and any(t == "outcomes" for t, _ in release.withheld)
    if (comparisons.empty or comparisons["suppressed"].all()) and not ledger_withheld:
        notices.insert(
            0 if not policy.warning else 1,
            f"Fewer than {policy.threshold} students answered both surveys on every outcome, "
            f"so every number that rests on them is suppressed (shown as "
            f"\u201c{policy.label}\u201d). The disclosure threshold protects individual "
            "students in a small cohort; pool this cohort with another, or wait for more "
            "responses, before reporting results.",
        )
    controlled = None
    if group_col:
        headline = _controlled_findings(
            tables, comp, wide, meta_idx, is_primary, group_col, treated, policy
        )
        controlled = pd.DataFrame(
            [
                f.to_dict()
                for f in _controlled_findings(
                    tables,
                    comp,
                    wide,
                    meta_idx,
                    is_primary,
                    group_col,
                    treated,
                    policy,
                    every_scale=True,
                )
            ]
        )
        result_info["headline_effect"] = "ancova"
    else:
        headline = _headline(comparisons, meta_idx, is_primary, policy)
        result_info["headline_effect"] = "paired change"
    figures = _draw_figures(
        tables, wide, meta_idx, study, pre, post, confidence, policy,
        group_col=group_col, treated=treated, controlled=controlled,
    )  # fmt: skip
    return CohortResults(
        study=study.name,
        title=cfg.title,
        design=design,
        policy=policy,
        confidence=confidence,
        tables=tables,
        headline=headline,
        notices=tuple(notices),
        figures=figures,
        info=result_info,
        ledger=None if release is None else ReleaseLedger(entries=release.entries),
    )


def _per_group_comparisons(
    scores: pd.DataFrame,
    people: pd.DataFrame,
    group_col: str,
    groups: Sequence[str],
    *,
    pre: str,
    post: str,
    confidence: float,
    primary: Sequence[str] | None,
    multiplicity: str,
) -> pd.DataFrame:
    """Paired pre/post comparisons within each group, with the multiplicity families
    (primary: ``multiplicity``; exploratory: BH) applied within each group."""
    from mentoreval.stats.analysis import _primary_mask
    from mentoreval.stats.multiplicity import adjust_pvalues
    from mentoreval.stats.paired import compare_paired

    parts = []
    member = people[group_col].astype("string")
    for g in groups:
        ids = set(people.loc[(member == g).fillna(False).to_numpy(bool), "participant_id"])
        sub = scores[scores["participant_id"].isin(ids)]
        if sub.empty:
            continue
        c = compare_paired(sub, pre=pre, post=post, confidence=confidence, p_adjust="none")
        prim = _primary_mask(c, primary)
        p = c["p_value"].to_numpy(dtype=float)
        p_adj = np.full(p.shape, np.nan)
        if prim.any():
            p_adj[prim] = adjust_pvalues(p[prim], method=multiplicity)
        if (~prim).any():
            p_adj[~prim] = adjust_pvalues(p[~prim], method="bh")
        parts.append(c.assign(p_adj=p_adj, group=str(g)))
    return pd.concat(parts, ignore_index=True)


def _pooled_baseline_sd(wide: pd.DataFrame, group_col: str) -> dict[tuple[str, str], float]:
    """SD of the baseline score pooled over the groups, among students with both waves."""
    out = {}
    both = wide.dropna(subset=["pre", "post", group_col])
    for (instrument, scale), g in both.groupby(["instrument", "scale"], sort=False):
        stats = g.groupby(g[group_col].astype(str))["pre"].agg(["count", "var"]).dropna()
        dof = float((stats["count"] - 1).sum())
        if len(stats) == 2 and dof > 0:
            out[(str(instrument), str(scale))] = math.sqrt(
                float(((stats["count"] - 1) * stats["var"]).sum()) / dof
            )
    return out


def _controlled_findings(
    tables: Mapping[str, pd.DataFrame],
    pooled_comp: pd.DataFrame,
    wide: pd.DataFrame,
    meta: pd.DataFrame,
    is_primary: np.ndarray,
    group_col: str,
    treated: str,
    policy: DisclosurePolicy,
    *,
    every_scale: bool = False,
) -> tuple[Finding, ...]:
    """Headline findings of a comparison design: the controlled effect (ANCOVA adjusted
    difference, standardised by the pooled baseline SD, and d_ppc2) judged, plus the
    mentored group's own change; primary outcomes first."""
    comp = tables["comparisons"]
    anc = tables.get("ancova", pd.DataFrame(columns=["instrument", "scale"]))
    dpp = tables.get("d_ppc2", pd.DataFrame(columns=["instrument", "scale"]))
    sds = _pooled_baseline_sd(wide, group_col)

    def row(frame: pd.DataFrame, i: str, s: str, **where: str) -> Mapping[str, Any]:
        sel = frame[(frame["instrument"] == i) & (frame["scale"] == s)]
        for k, v in where.items():
            sel = sel[sel[k].astype(str) == v]
        return {str(k): v for k, v in sel.iloc[0].items()} if len(sel) else {}

    nan = float("nan")
    candidates = []
    for pos, r in enumerate(pooled_comp.itertuples()):
        i, s = str(r.instrument), str(r.scale)
        a = row(anc, i, s)
        est = float(a.get("estimate", nan))
        sd = sds.get((i, s), nan)
        std = est / sd if sd and math.isfinite(sd) else nan
        candidates.append((bool(is_primary[pos]), abs(std) if math.isfinite(std) else -1.0, i, s))
    candidates.sort(key=lambda c: (not c[0], -c[1]))
    n_primary = sum(c[0] for c in candidates)
    chosen = [c for c in candidates if c[0]][:5] if n_primary > 5 else candidates[:5]
    if every_scale:
        chosen = sorted(candidates, key=lambda c: (c[2], c[3]))
    out = []
    for primary, _, i, s in chosen:
        m = meta.loc[(i, s)]
        hib = bool(m["higher_is_better"])
        a, d = row(anc, i, s), row(dpp, i, s)
        own = row(comp, i, s, group=treated)
        other = [g for g in comp.loc[comp["group"] != treated, "group"].astype(str).unique()]
        ctrl = row(comp, i, s, group=other[0]) if other else {}
        sd = sds.get((i, s), nan)
        est = float(a.get("estimate", nan))
        lo, hi = float(a.get("ci_low", nan)), float(a.get("ci_high", nan))
        scaled = [v / sd if math.isfinite(sd) and sd > 0 else nan for v in (est, lo, hi)]
        judgement = format_finding(*scaled, higher_is_better=hib, contrast=True)
        out.append(
            Finding(
                instrument=i,
                scale=s,
                label=str(m["label"]),
                primary=primary,
                n_pairs=float(own.get("n_pairs", nan)),
                mean_diff=float(own.get("mean_diff", nan)),
                ci_low=float(own.get("ci_low", nan)),
                ci_high=float(own.get("ci_high", nan)),
                d_z=float(own.get("d_z", nan)),
                d_z_ci_low=float(own.get("d_z_ci_low", nan)),
                d_z_ci_high=float(own.get("d_z_ci_high", nan)),
                higher_is_better=hib,
                units=f"points on a {m['range_low']:g}–{m['range_high']:g} scale",
                judgement=judgement,
                suppressed=bool(a.get("suppressed", True)) or not math.isfinite(est),
                design="comparison",
                n_control=float(ctrl.get("n_pairs", nan)),
                adj_diff=est,
                adj_ci_low=lo,
                adj_ci_high=hi,
                adj_std=scaled[0],
                adj_std_ci_low=scaled[1],
                adj_std_ci_high=scaled[2],
                d_ppc2=float(d.get("value", nan)),
                d_ppc2_ci_low=float(d.get("ci_low", nan)),
                d_ppc2_ci_high=float(d.get("ci_high", nan)),
            )
        )
    return tuple(out)


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


def protect_derived(
    tables: Mapping[str, pd.DataFrame],
    rules: Mapping[str, Sequence[tuple[Sequence[str], Sequence[str]]]] | None = None,
) -> dict[str, pd.DataFrame]:
    """Hide rates, shares and means whose count is hidden in the same row, then check.

    Applies :func:`~mentoreval.disclose.blank_derivable` with ``rules`` (default
    :data:`DERIVED_COLUMNS`; the annual report passes its own) to every table and
    verifies the result with :func:`~mentoreval.disclose.check_no_derivable`.

    Examples
    --------
    >>> t = pd.DataFrame({"group": ["mentored"], "n_baseline": [63.0],
    ...                   "n_completed": [float("nan")], "attrition": [0.38],
    ...                   "suppressed": [True]})
    >>> bool(protect_derived({"attrition": t})["attrition"]["attrition"].isna().all())
    True
    """
    out = dict(tables)
    for name, table_rules in (DERIVED_COLUMNS if rules is None else rules).items():
        if name not in out or out[name].empty:
            continue
        frame = out[name]
        for counts, derived in table_rules:
            frame = blank_derivable(frame, count_columns=counts, derived_columns=derived)
        for counts, derived in table_rules:
            check_no_derivable(frame, count_columns=counts, derived_columns=derived, table=name)
        out[name] = frame
    return out


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


def _group_caveats(
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
    att = tables.get("attrition")

    def label(i: object, s: object) -> str:
        try:
            return str(meta.loc[(str(i), str(s)), "label"])
        except KeyError:
            return f"{i} {s}"

    def count(n: float) -> str:
        return policy.label if policy.is_small(n) else f"{int(n)}"

    rows = []
    for kind, g in cav.groupby("caveat", sort=False):
        severity = max(g["severity"].astype(str), key=lambda v: rank.get(v, 0))
        scoped = g[g["instrument"].notna()]
        names = [label(r.instrument, r.scale) for r in scoped.itertuples()]
        detail = str(g["detail"].iloc[0])
        if kind == "underpowered":
            parts, planned = [], ""
            for r, name in zip(scoped.itertuples(), names, strict=True):
                m = _POWER_TEXT.search(str(r.detail))
                if not m:
                    continue
                n, effect, power, need, design = m.groups()
                if int(n) == 0:
                    continue  # not measured at both waves: nothing to power
                planned = (f"Detecting a standardised effect of {effect} with {power}% power "
                           f"needs more students with both surveys ({design} design) than "
                           "this study has: ")  # fmt: skip
                n_text = (
                    policy.label
                    if (str(r.instrument), str(r.scale)) in withheld
                    else count(float(n))
                )
                parts.append(f"{name}: {n_text} (about {need} needed)")
            if not parts:
                continue
            detail = planned + "; ".join(parts) + "."
            names = [p.split(":", 1)[0] if p.count(":") < 2 else p.rsplit(":", 1)[0]
                     for p in parts]  # fmt: skip
        elif kind == "differential_attrition":
            from mentoreval.stats.missing import DIFFERENTIAL_ATTRITION

            parts, withheld = [], []
            for r, name in zip(scoped.itertuples(), names, strict=True):
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
                    parts.append(
                        f"{name}: {a_t}% of {g_t} and {a_c}% of {g_c} students dropped out"
                    )
                else:
                    withheld.append(name)
            if withheld:
                parts.append(
                    f"{'; '.join(withheld)}: the groups' drop-out rates differ by "
                    f"{DIFFERENTIAL_ATTRITION * 100:.0f} percentage points or more (exact rates withheld: a group "
                    f"has fewer than {policy.threshold} drop-outs or completers)"
                )
            detail = (
                "Students who dropped out may differ from those who stayed, so follow-up "
                "results may be biased. " + "; ".join(parts) + "."
            )
        elif kind == "regression_to_mean":
            rs = []
            for r, name in zip(scoped.itertuples(), names, strict=True):
                m = _R_TEXT.search(str(r.detail))
                rs.append(f"{name} {m.group(1)}" if m else name)
            detail = (
                "Students with unusually high or low first scores tend to score closer to "
                "the average the second time, whatever the programme does; the lower the "
                "correlation between the two surveys, the larger this drift. Correlation "
                "r(pre, post): " + "; ".join(rs) + "."
            )
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
                "detail": _scrub_numbers(detail, policy),
            }
        )
    return pd.DataFrame(rows, columns=cols)


def _attempt(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except (MentorevalError, ValueError, np.linalg.LinAlgError):
        return None


_NUMBER_IN_TEXT = re.compile(r"\b(\d+)\b(?= (?:participants|students|pairs|people))")


def _scrub_numbers(text: str, policy: DisclosurePolicy) -> str:
    """Replace small head-counts quoted in caveat text with the suppression label."""

    def repl(m: re.Match[str]) -> str:
        return policy.label if policy.is_small(float(m.group(1))) else m.group(1)

    return _NUMBER_IN_TEXT.sub(repl, text)


def _protect_bands(
    bands: pd.DataFrame, policy: DisclosurePolicy, release: _Release | None = None
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
            cells = {band_of[i]: float(rows.at[i, f"n_{wave}"]) for i in idx}
            protected = _protect_cells(
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
                f"{where} / {band_of[i]} / {c}": float(out.at[i, c])
                for c in ("n_entered", "n_left")
                if not pd.isna(out.at[i, c])
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


def _protect_classes(
    summary: pd.DataFrame, policy: DisclosurePolicy, release: _Release | None = None
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
                or math.isnan(out.at[i, "improved"])
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
                {f"{i} / recovered": out.at[i, "recovered"] for i in rec.index},
            )
    out = out.reset_index(names="key")
    out[["instrument", "scale"]] = out["key"].str.split("|", n=1, expand=True)
    cols = ["instrument", "scale", "total", *classes, "suppressed"]
    return out[cols].rename(columns={"total": "n_pairs"})


def _participation(
    data: Mapping[str, Any],
    study: Study,
    comp: pd.DataFrame,
    is_primary: np.ndarray,
    group_col: str | None,
    treated: str,
    policy: DisclosurePolicy,
    release: _Release | None = None,
) -> dict[str, pd.DataFrame]:
    cfg = study.config
    pre, post = cfg.analysis.pre, cfg.analysis.post
    wave_of: dict[str, str] = {}
    for src in cfg.sources:
        if src.wave:
            wave_of[Path(src.path).name] = src.wave
    manifest = data.get("manifest") or {}
    read: dict[str, float] = {pre: 0.0, post: 0.0}
    for name, entry in (manifest.get("inputs") or {}).items():
        w = wave_of.get(name)
        if w in read:
            read[w] += float(entry.get("records", 0))
    q = data["quarantine"]
    row_level = q[q["rule"].astype(str) != "unknown_value"] if len(q) else q
    reasons: dict[str, dict[str, float]] = {pre: {}, post: {}}
    for _, r in row_level.iterrows():
        w = wave_of.get(Path(str(r["source"])).name)
        if w in reasons:
            reasons[w][str(r["rule"])] = reasons[w].get(str(r["rule"]), 0) + 1
    link = data["linkage"]
    status = link["status"].astype(str).value_counts()
    linked = float(status.get("matched", 0))
    pre_only = float(status.get("pre_only", 0))
    post_only = float(status.get("post_only", 0))
    kept_pre = linked + pre_only
    kept_post = linked + post_only
    for w, kept in ((pre, kept_pre), (post, kept_post)):
        if read[w] < kept + sum(reasons[w].values()):
            read[w] = kept + sum(reasons[w].values())
    prim = comp.loc[is_primary] if is_primary.any() else comp
    analysed = float(prim["n_pairs"].min()) if len(prim) else 0.0
    analysed = min(analysed, linked)
    cells: dict[str, float] = {
        "read_pre": read[pre], "kept_pre": kept_pre, "excl_pre": read[pre] - kept_pre,
        "read_post": read[post], "kept_post": kept_post, "excl_post": read[post] - kept_post,
        "linked": linked, "pre_only": pre_only, "post_only": post_only,
        "analysed": analysed, "not_analysed": linked - analysed,
    }  # fmt: skip
    lines: list[tuple[str, list[str]]] = [
        ("read_pre", ["kept_pre", "excl_pre"]),
        ("read_post", ["kept_post", "excl_post"]),
        ("kept_pre", ["linked", "pre_only"]),
        ("kept_post", ["linked", "post_only"]),
        ("linked", ["analysed", "not_analysed"]),
    ]
    for w, tag in ((pre, "pre"), (post, "post")):
        names = []
        for rule, n in sorted(reasons[w].items()):
            key = f"reason_{tag}_{rule}"
            cells[key] = n
            names.append(key)
        if names:
            lines.append((f"excl_{tag}", names))
    safe, flow_rounded = _protect_flow(cells, policy, release=release, table="cohort.flow")

    def reason_text(tag: str, extra: str | None = None) -> str:
        parts = [
            f"{k.split('_', 2)[2].replace('_', ' ')}: {format_cell(v, suppressed=True, kind='count', policy=policy)}"
            for k, v in safe.items()
            if k.startswith(f"reason_{tag}_")
        ]
        if extra:
            parts.append(extra)
        return "; ".join(parts)

    flow = pd.DataFrame(
        {
            "stage": [
                f"Baseline ({pre}) responses received",
                "Baseline responses kept",
                f"Linked to a follow-up ({post}) response",
                "Analysed (primary outcome scorable at both waves)",
            ],
            "n": [safe["read_pre"], safe["kept_pre"], safe["linked"], safe["analysed"]],
            "excluded": [safe["excl_pre"], safe["pre_only"], safe["not_analysed"], np.nan],
            "reasons": [
                reason_text("pre") or "none",
                "no follow-up response",
                "too many items missing",
                None,
            ],
        }
    )
    participation = pd.DataFrame(
        {
            "wave": [pre, post],
            "received": [safe["read_pre"], safe["read_post"]],
            "excluded": [safe["excl_pre"], safe["excl_post"]],
            "kept": [safe["kept_pre"], safe["kept_post"]],
            "reasons": [reason_text("pre") or "none", reason_text("post") or "none"],
        }
    )
    link_cells, link_rounded = _protect_flow(
        {"all": linked + pre_only + post_only, "a": linked, "b": pre_only, "c": post_only},
        policy,
        release=release,
        table="cohort.linkage",
    )
    linkage = pd.DataFrame(
        {
            "measure": ["participants", "linked pairs", "baseline only", "follow-up only"],
            "n": [link_cells[k] for k in ("all", "a", "b", "c")],
        }
    )
    # the rate from the published (rounded) counts, so it reveals nothing they do not
    shown_all, shown_linked = link_cells["all"], link_cells["a"]
    rate = shown_linked / shown_all * 100 if shown_all else np.nan
    linkage["percent"] = [np.nan, rate, np.nan, np.nan]
    linkage["suppressed"] = linkage["n"].isna()
    linkage = blank_derivable(
        linkage.assign(_n0=[shown_all] * 4, _n1=[shown_linked] * 4),
        count_columns=["_n0", "_n1"],
        derived_columns=["percent"],
    )
    linkage = linkage.drop(columns=["_n0", "_n1"])  # fmt: skip

    # response rates by group (baseline → linked follow-up)
    people = data["participants"].copy()
    people["participant_id"] = people["participant_id"].astype(str)
    link2 = link.assign(participant_id=link["participant_id"].astype(str))
    merged = link2.merge(people, on="participant_id", how="left")
    merged = merged[merged["status"].astype(str).isin(["matched", "pre_only"])]
    groups = (
        merged["group"].astype("string").fillna("(not recorded)")
        if "group" in merged.columns and group_col
        else pd.Series("all students", index=merged.index)
    )
    rate_cells: dict[str, float] = {}
    rate_lines: list[tuple[str, list[str]]] = []
    labels = sorted(groups.unique()) if group_col else []
    for g in labels:
        sel = merged[groups == g]
        n_base = float(len(sel))
        n_link = float((sel["status"].astype(str) == "matched").sum())
        rate_cells |= {f"{g}|base": n_base, f"{g}|link": n_link, f"{g}|drop": n_base - n_link}
        rate_lines.append((f"{g}|base", [f"{g}|link", f"{g}|drop"]))
    n_base_all = float(len(merged))
    n_link_all = float((merged["status"].astype(str) == "matched").sum())
    rate_cells |= {
        "all|base": n_base_all,
        "all|link": n_link_all,
        "all|drop": n_base_all - n_link_all,
    }
    rate_lines.append(("all|base", ["all|link", "all|drop"]))
    if labels:
        for part in ("base", "link", "drop"):
            rate_lines.append((f"all|{part}", [f"{g}|{part}" for g in labels]))
    safe_rates = _protect_cells(
        rate_cells, rate_lines, policy, release=release, table="cohort.response_rates"
    )
    rows = []
    for g in [*labels, "all"]:
        base, linkd, drop = (safe_rates[f"{g}|{p}"] for p in ("base", "link", "drop"))
        pct = linkd / base * 100 if base and not (math.isnan(base) or math.isnan(linkd)) else np.nan
        if policy.active and drop == 0:
            pct = np.nan  # a 100 % group (class disclosure)
        rows.append(
            {
                "group": "all students" if g == "all" else g,
                "n_baseline": base,
                "n_followed_up": linkd,
                "followed_up_pct": pct,
                "suppressed": any(math.isnan(v) for v in (base, linkd, drop)) or math.isnan(pct),
            }
        )
    notes = []
    if flow_rounded or link_rounded:
        notes.append(
            f"Some exclusion counts are below {policy.threshold}, so they are shown as "
            f"\u201c{policy.label}\u201d and the other counts of the flow are rounded to the "
            f"nearest {policy.round_to or FLOW_ROUND_TO}; totals may therefore not add up "
            "exactly, and no hidden count can be worked out by subtraction."
        )
    flow.attrs["note"] = " ".join(notes)
    participation = participation.assign(suppressed=participation["excluded"].isna())
    return {
        "flow": flow.assign(suppressed=flow["n"].isna() | flow["excluded"].isna()),
        "flow_note": pd.DataFrame({"note": notes}),
        "participation": participation,
        "linkage": linkage,
        "response_rates": pd.DataFrame(rows),
    }


def _comparison_tables(
    raw: Mapping[str, pd.DataFrame],
    ncount: pd.DataFrame,
    policy: DisclosurePolicy,
    release: _Release | None = None,
) -> dict[str, pd.DataFrame]:
    out: dict[str, pd.DataFrame] = {}
    ns = ["n_treated", "n_control"]

    def with_n(name: str) -> pd.DataFrame | None:
        if name not in raw or raw[name].empty:
            return None
        t = raw[name].drop(columns=[c for c in ns if c in raw[name].columns])
        return t.merge(ncount, on=["instrument", "scale"], how="left")

    for name in ("ancova", "mixed", "imputation", "ipw", "d_ppc2"):
        t = with_n(name)
        if t is None:
            continue
        t = t.drop(columns=[c for c in ("formula", "method") if c in t.columns])
        n_cols = [c for c in ("n", "n_participants") if c in t.columns] + ns
        values = [
            c
            for c in t.columns
            if c not in (*n_cols, "instrument", "scale")
            and pd.api.types.is_numeric_dtype(t[c].dtype)
            and not pd.api.types.is_bool_dtype(t[c].dtype)
        ]
        protected = _suppress_rows(
            t, policy, n_columns=n_cols, value_columns=values, release=release,
            table=f"cohort.{name}",
        )  # fmt: skip
        for c in ("n_imputed", "n_single_wave"):
            # head-counts of a subset: hidden when small, the estimate stays
            if c in protected.columns:
                protected[c] = protected[c].map(
                    lambda v: np.nan if policy.is_small(v) else policy.round_count(v)
                )
        out[name] = protected
    if "balance" in raw:
        bal = raw["balance"].copy()
        bal = bal.drop(columns=[c for c in ("balanced",) if c in bal.columns])
        out["balance"] = _suppress_rows(
            bal, policy, n_columns=ns, release=release, table="cohort.balance"
        )
    if "balance_participants" in raw:
        out["balance_participants"] = _suppress_rows(
            raw["balance_participants"], policy, n_columns=ns, release=release,
            table="cohort.balance_participants",
        )  # fmt: skip
    # the adjusted means of the very ANCOVA whose difference the report states
    rows = [] if "adjusted_means" not in raw else [raw["adjusted_means"]]
    if rows:
        am = rows[0][
            ["instrument", "scale", "group", "n", "emmean", "se", "df", "ci_low", "ci_high"]
        ]
        am = am.assign(group=am["group"].astype(str), n=am["n"].astype(float))
        out["adjusted_means"] = _suppress_rows(
            am, policy, n_columns=["n"], value_columns=["emmean", "se", "df", "ci_low", "ci_high"],
            blocks=["instrument", "scale"], release=release, table="cohort.adjusted_means",
        )  # fmt: skip
    return out


def _subgroups(
    wide: pd.DataFrame,
    covariates: Sequence[str],
    comp: pd.DataFrame,
    is_primary: np.ndarray,
    confidence: float,
    policy: DisclosurePolicy,
    compare_pair: Callable[..., dict[str, Any]],
    release: _Release | None = None,
) -> pd.DataFrame:
    keys = list(zip(comp.loc[is_primary, "instrument"], comp.loc[is_primary, "scale"], strict=True))
    rows = []
    for var in covariates:
        if var not in wide.columns:
            continue
        levels = wide[var].dropna().astype(str)
        if levels.nunique() < 2 or levels.nunique() > 8:
            continue
        for instrument, scale in keys:
            g = wide[(wide["instrument"] == instrument) & (wide["scale"] == scale)]
            g = g.dropna(subset=["pre", "post"])
            for level, sub in g.groupby(
                g[var].astype("string").fillna("(not recorded)"), sort=True
            ):
                if len(sub) < 2:
                    r: dict[str, Any] = {"n_pairs": len(sub)}
                else:
                    r = compare_pair(
                        sub["pre"].to_numpy(), sub["post"].to_numpy(), confidence=confidence
                    )
                rows.append(
                    {
                        "instrument": instrument,
                        "scale": scale,
                        "variable": var,
                        "level": str(level),
                        "n_pairs": float(r["n_pairs"]),
                        "mean_diff": r.get("mean_diff", np.nan),
                        "ci_low": r.get("ci_low", np.nan),
                        "ci_high": r.get("ci_high", np.nan),
                        "d_z": r.get("d_z", np.nan),
                        "d_z_ci_low": r.get("d_z_ci_low", np.nan),
                        "d_z_ci_high": r.get("d_z_ci_high", np.nan),
                    }
                )
    cols = ["instrument", "scale", "variable", "level", "n_pairs", "mean_diff", "ci_low",
            "ci_high", "d_z", "d_z_ci_low", "d_z_ci_high"]  # fmt: skip
    table = pd.DataFrame(rows, columns=cols)
    for c in cols[4:]:
        table[c] = table[c].astype(float)
    return _suppress_rows(
        table, policy, n_columns=["n_pairs"], blocks=["instrument", "scale", "variable"],
        release=release, table="cohort.subgroups",
    )  # fmt: skip


def _data_quality(
    data: Mapping[str, Any],
    study: Study,
    pre: str,
    post: str,
    policy: DisclosurePolicy,
    release: _Release | None = None,
) -> dict[str, pd.DataFrame]:
    out: dict[str, pd.DataFrame] = {}
    quality = data.get("quality")
    if quality is not None and len(quality):
        rows = []
        flags = [
            ("speeder", "too fast"), ("longstring_flag", "same answer in a long run"),
            ("irv_flag", "too little variation"), ("attention_flag", "failed an attention check"),
            ("mahalanobis_flag", "unusual answer pattern"), ("any_flag", "any flag"),
        ]  # fmt: skip
        for wave, g in quality.groupby(quality["wave"].astype(str), sort=False):
            n = float(len(g))
            for col, label in flags:
                if col not in g.columns:
                    continue
                k = float(g[col].astype(bool).sum())
                hide = policy.is_small(n) or policy.is_small(k) or policy.is_small(n - k)
                hide_n = policy.is_small(n)
                if release is not None and policy.active:
                    where = f"{wave} / {label}"
                    counts = {f"{where} / n_responses": n, f"{where} / n_flagged": k}
                    late = release.cells("cohort.quality_flags", counts, policy.threshold)
                    hide_n |= f"{where} / n_responses" in late
                    hide |= bool(late)
                    release.record_cells(
                        "cohort.quality_flags",
                        counts,
                        {
                            f"{where} / n_responses": np.nan if hide_n else n,
                            f"{where} / n_flagged": np.nan if hide else k,
                        },
                    )
                rows.append(
                    {
                        "wave": wave,
                        "flag": label,
                        "n_responses": np.nan if hide_n else n,
                        "n_flagged": np.nan if hide else k,
                        "flagged_pct": np.nan if hide or n == 0 else k / n * 100,
                        "suppressed": hide,
                    }
                )
        out["quality_flags"] = pd.DataFrame(rows)
    resp = data["responses"]
    if len(resp):
        r = resp.assign(
            instrument=resp["instrument"].astype(str),
            wave=resp["wave"].astype(str),
            missing=resp["value"].isna(),
        )
        miss = (
            r.groupby(["instrument", "wave"], sort=True)
            .agg(
                n_responses=("participant_id", "nunique"),
                items_missing_pct=("missing", "mean"),
            )
            .reset_index()
        )
        miss["items_missing_pct"] *= 100
        miss["n_responses"] = miss["n_responses"].astype(float)
        out["missingness"] = _suppress_rows(
            miss, policy, n_columns=["n_responses"], release=release, table="cohort.missingness"
        )
    q = data["quarantine"]
    if len(q):
        counts = q["rule"].astype(str).value_counts().sort_index()
        cells = {f"r|{k}": float(v) for k, v in counts.items()}
        safe = _protect_cells(
            {**cells, "total": float(counts.sum())}, [("total", list(cells))], policy,
            release=release, table="cohort.quarantine",
        )  # fmt: skip
        out["quarantine"] = pd.DataFrame(
            {
                "rule": [*(k.removeprefix("r|") for k in cells), "total"],
                "n": [safe[k] for k in [*cells, "total"]],
            }
        ).assign(suppressed=lambda d: d["n"].isna())
    else:
        out["quarantine"] = pd.DataFrame({"rule": ["total"], "n": [0.0], "suppressed": [False]})
    return out


def _headline(
    comp: pd.DataFrame, meta: pd.DataFrame, is_primary: np.ndarray, policy: DisclosurePolicy
) -> tuple[Finding, ...]:
    ranked = comp.assign(primary_=is_primary, size_=comp["d_z"].abs().fillna(-1.0))
    ranked = ranked.sort_values(["primary_", "size_"], ascending=[False, False], kind="stable")
    chosen = ranked.head(5) if is_primary.sum() <= 5 else ranked[ranked["primary_"]].head(5)
    out = []
    for r in chosen.itertuples():
        m = meta.loc[(r.instrument, r.scale)]
        hib = bool(m["higher_is_better"])
        units = f"points on a {m['range_low']:g}–{m['range_high']:g} scale"
        out.append(
            Finding(
                instrument=str(r.instrument),
                scale=str(r.scale),
                label=str(m["label"]),
                primary=bool(r.primary_),
                n_pairs=float(r.n_pairs),
                mean_diff=float(r.mean_diff),
                ci_low=float(r.ci_low),
                ci_high=float(r.ci_high),
                d_z=float(r.d_z),
                d_z_ci_low=float(r.d_z_ci_low),
                d_z_ci_high=float(r.d_z_ci_high),
                higher_is_better=hib,
                units=units,
                judgement=format_finding(r.d_z, r.d_z_ci_low, r.d_z_ci_high, higher_is_better=hib),
                suppressed=bool(r.suppressed),
            )
        )
    return tuple(out)


def _slug(*parts: str) -> str:
    return "_".join(re.sub(r"[^A-Za-z0-9]+", "-", p).strip("-").lower() for p in parts)


def _draw_figures(
    tables: Mapping[str, pd.DataFrame],
    wide: pd.DataFrame,
    meta: pd.DataFrame,
    study: Study,
    pre: str,
    post: str,
    confidence: float,
    policy: DisclosurePolicy,
    *,
    group_col: str | None = None,
    treated: str = "mentored",
    controlled: pd.DataFrame | None = None,
) -> dict[str, Figure]:
    from mentoreval.report.figures.charts import (
        plot_bands,
        plot_change_forest,
        plot_consort,
        plot_likert_diverging,
        plot_prepost,
    )

    figs: dict[str, Figure] = {}
    figs["consort"] = plot_consort(tables["flow"], title="Participant flow", policy=policy)
    comp = tables["comparisons"]
    forest = comp.merge(meta.reset_index()[["instrument", "scale", "label", "higher_is_better"]],
                        on=["instrument", "scale"], how="left")  # fmt: skip
    sign = np.where(forest["higher_is_better"].astype(bool), 1.0, -1.0)
    lo = forest["d_z_ci_low"] * sign
    hi = forest["d_z_ci_high"] * sign
    forest = forest.assign(
        benefit=forest["d_z"] * sign,
        benefit_low=np.minimum(lo, hi),
        benefit_high=np.maximum(lo, hi),
    )
    if controlled is not None and len(controlled):
        fitted = tables.get("ancova", pd.DataFrame(columns=["instrument", "scale"]))
        keys = set(zip(fitted["instrument"].astype(str), fitted["scale"].astype(str), strict=True))
        c = controlled[
            [
                (i, s) in keys
                for i, s in zip(controlled["instrument"], controlled["scale"], strict=True)
            ]
        ]
        num = ["adj_std", "adj_std_ci_low", "adj_std_ci_high"]
        c = c.assign(**{k: pd.to_numeric(c[k], errors="coerce").astype(float) for k in num})
        sign = np.where(c["higher_is_better"].astype(bool), 1.0, -1.0)
        lo, hi = c["adj_std_ci_low"] * sign, c["adj_std_ci_high"] * sign
        c = c.assign(benefit=c["adj_std"] * sign,
                     benefit_low=np.fmin(lo, hi), benefit_high=np.fmax(lo, hi))  # fmt: skip
        figs["forest"] = plot_change_forest(
            c, label="label", estimate="benefit", ci_low="benefit_low", ci_high="benefit_high",
            title="Controlled effect per scale",
            xlabel=f"Mentored − comparison in baseline SDs ({confidence:.0%} CI)",
            policy=policy,
        )  # fmt: skip
    else:
        figs["forest"] = plot_change_forest(
            forest, label="label", estimate="benefit", ci_low="benefit_low",
            ci_high="benefit_high", title="Standardised change per scale",
            xlabel=f"d_z with {confidence:.0%} CI (positive = improvement)", policy=policy,
        )  # fmt: skip
    both = wide.dropna(subset=["pre", "post"])
    if group_col:
        both = both.dropna(subset=[group_col])
        arms = [treated, *sorted(set(both[group_col].astype(str)) - {treated})]
    for (instrument, scale), g in both.groupby(["instrument", "scale"], sort=True):
        m = meta.loc[(instrument, scale)]
        if group_col:
            # each arm's own pre and post, side by side (mentored first): never pooled
            arm = g[group_col].astype(str).to_numpy()
            long = pd.DataFrame(
                {
                    "wave": np.r_[[f"{pre} · {a}" for a in arm], [f"{post} · {a}" for a in arm]],
                    "score": np.r_[g["pre"], g["post"]],
                }
            )
            order = [f"{w} · {a}" for a in arms for w in (pre, post)]
            labels = {o: o.replace(" · ", "\n") for o in order}
        else:
            long = pd.DataFrame(
                {"wave": [pre] * len(g) + [post] * len(g), "score": np.r_[g["pre"], g["post"]]}
            )
            order, labels = [pre, post], None
        figs[_slug("prepost", instrument, scale)] = plot_prepost(
            long, order=order, labels=labels, title=str(m["label"]), ylabel="Score",
            limits=(float(m["range_low"]), float(m["range_high"])), confidence=confidence,
            policy=policy,
        )  # fmt: skip
    if "bands" in tables:
        for (instrument, scale), g in tables["bands"].groupby(["instrument", "scale"], sort=False):
            counts = pd.DataFrame(
                [g["n_pre"].to_numpy(), g["n_post"].to_numpy()],
                index=[pre, post],
                columns=g["band"].astype(str).tolist(),
            )
            figs[_slug("bands", instrument, scale)] = plot_bands(
                counts, title=f"{meta.loc[(instrument, scale), 'label']}: bands", policy=policy
            )
    if "likert" in tables:
        for instrument, g in tables["likert"].groupby("instrument", sort=False):
            g = g.assign(row=g["item_label"].astype(str) + " (" + g["wave"].astype(str) + ")")
            counts = g.pivot_table(index="row", columns="level_order", values="n",
                                   aggfunc="first", dropna=False, sort=False)  # fmt: skip
            levels = g.drop_duplicates("level_order").sort_values("level_order")["level"].tolist()
            counts.columns = levels
            counts.index.name = None
            figs[_slug("likert", str(instrument))] = plot_likert_diverging(
                counts, title=study.instruments[str(instrument)].title, sort=False, policy=policy
            )
    return figs


# --------------------------------------------------------------------------- writing


def _comparison_columns(table: pd.DataFrame) -> list[str]:
    """The contract columns, plus ``group`` (one row per group) in a comparison design."""
    return [*COMPARISON_TABLE_COLUMNS, *(["group"] if "group" in table.columns else [])]


def write_cohort_outputs(
    results: CohortResults, out_dir: str | os.PathLike[str]
) -> dict[str, Path]:
    """Write ``tables/*.csv``, ``figures/*.png|svg`` and ``results.json`` into ``out_dir``.

    Parameters
    ----------
    results
        From :func:`analyse_cohort` (already disclosure-controlled).
    out_dir
        The report folder.

    Returns
    -------
    dict
        Name → path of each file written (``results``, ``table:<name>``,
        ``figure:<name>:png|svg``).
    """
    from mentoreval.report.figures.charts import save_figure
    from mentoreval.report.tables import to_jsonable, write_json, write_table

    folder = Path(out_dir)
    written: dict[str, Path] = {}
    for name, table in results.tables.items():
        frame = table
        if name == "comparisons":
            frame = table[_comparison_columns(table)]
        written[f"table:{name}"] = write_table(frame, folder / "tables" / f"{name}.csv")
    figures: dict[str, dict[str, str]] = {}
    for name, fig in results.figures.items():
        paths = save_figure(fig, folder / "figures" / name)
        figures[name] = {p.suffix[1:]: str(p.relative_to(folder)) for p in paths}
        for p in paths:
            written[f"figure:{name}:{p.suffix[1:]}"] = p
    comp = results.tables["comparisons"]
    payload = {
        "version": _RESULTS_VERSION,
        "study": results.study,
        "title": results.title,
        "design": results.design,
        "confidence": results.confidence,
        "disclosure": {
            "profile": results.policy.profile,
            "k": results.policy.threshold,
            "round_to": results.policy.round_to,
            "label": results.policy.label,
            "warning": results.policy.warning,
        },
        "below_threshold": results.below_threshold,
        "notices": list(results.notices),
        "headline": [f.to_dict() for f in results.headline],
        "headline_text": [
            format_headline(f, confidence=results.confidence, policy=results.policy)
            for f in results.headline
        ],
        "comparisons": to_jsonable(comp[_comparison_columns(comp)]),
        "info": to_jsonable(dict(results.info)),
        "tables": sorted(results.tables),
        "figures": figures,
    }
    written["results"] = write_json(payload, folder / "results.json")
    return written


# ----------------------------------------------------------------- report (kernel side)

_PERCENT_COLS = {"followed_up_pct", "flagged_pct", "items_missing_pct", "percent", "attrition_pct"}
_DOMAIN_TITLES = {
    "wellbeing": "Wellbeing", "burnout": "Burnout", "career": "Career confidence",
    "mentoring": "Mentoring quality", "other": "Other outcomes",
}  # fmt: skip

_METHODS_TEXT = """\
**Paired comparisons.** For each scale, students with a score at both waves form the
pairs. The mean change is post − pre with a t-based {conf} confidence interval (paired t
test, as R's `t.test(post, pre, paired = TRUE)`); the Wilcoxon signed-rank test (R's
`wilcox.test`, exact for n < 50 without ties) and the matched-pairs rank-biserial
correlation are reported alongside.

**Effect sizes.** d_z = mean change / SD of the changes, with a noncentral-t CI;
d_av = mean change / mean of the pre and post SDs; g_av = d_av × J(n − 1) (Hedges'
small-sample correction). The summary's judgements read d_z and its CI against 0.2
(small), 0.5 (moderate) and 0.8 (large), in the direction in which the scale improves.

**Bands.** Shares of students in each published band at both waves, compared with
McNemar's test per band (continuity-corrected). **Reliability.** Cronbach's α (Feldt CI)
and McDonald's ω total at each wave. **Reliable change.** Jacobson–Truax RCI with the
published reliability of the scale.

**Comparison group** (when present). Baseline balance as standardised mean differences;
ANCOVA of the follow-up score on baseline, group and covariates with adjusted (estimated
marginal) means; a linear mixed model (random intercept per student, Satterthwaite df)
using every available score; sensitivity analyses: multiple imputation of missing
follow-up scores (m imputations, Rubin's rules), inverse-probability weighting, and d_ppc2
(Morris 2008).

**Multiplicity.** Primary outcomes: {method} adjustment across the primary scales; all
other scales are exploratory, adjusted by Benjamini–Hochberg. Subgroups and dose are
exploratory and unadjusted.

**Disclosure control.** {disclosure}"""


def _strip_quote(value: object) -> object:
    if isinstance(value, str):
        return _FORMULA_QUOTE.sub("", value)
    return value


class CohortReport:
    """The saved results of one cohort, shown section by section in the report notebook.

    Each ``show_*`` method displays Markdown, tables and figures in the notebook and
    returns ``None``, so a cell calling it leaves no stray repr. Build it with
    :func:`open_cohort_report`.
    """

    def __init__(
        self, folder: Path, results: Mapping[str, Any], tables: Mapping[str, pd.DataFrame]
    ):
        self.folder = folder
        self.results = results
        self.tables = tables
        d = results["disclosure"]
        self.policy = DisclosurePolicy(profile=d["profile"], k=d["k"], round_to=d.get("round_to"))
        self.confidence = float(results["confidence"])

    # -- building blocks
    def _md(self, text: str) -> None:
        from IPython.display import Markdown, display

        display(Markdown(text))

    def _figure(self, name: str, caption: str | None = None) -> None:
        from IPython.display import Image, display

        entry = self.results["figures"].get(name)
        if not entry:
            return
        display(Image(data=(self.folder / entry["png"]).read_bytes(), format="png", width=640))
        if caption:
            self._md(f"*{caption}*")

    def _table(
        self,
        name: str,
        *,
        columns: Sequence[str] | None = None,
        where: Mapping[str, Any] | None = None,
        caption: str | None = None,
        decimals: int = 2,
        ci: Mapping[str, tuple[str, str]] | None = None,
    ) -> None:
        from IPython.display import HTML, display

        table = self.tables.get(name)
        if table is None or table.empty:
            return
        t = table
        for k, v in (where or {}).items():
            t = t[t[k].astype(str) == str(v)]
        if t.empty:
            return
        keep = [c for c in (columns or t.columns) if c in t.columns and c != "suppressed"]
        shown = t[[*keep, *(["suppressed"] if "suppressed" in t.columns else [])]].copy()
        kinds: dict[str, Any] = {c: "percent" for c in keep if c in _PERCENT_COLS}
        kinds |= {c: "count" for c in keep if c in ("received", "excluded", "kept")}
        for c in keep:
            if c.startswith("prop_"):
                shown[c] = shown[c] * 100
                kinds[c] = "percent"
            if c in ("p_value", "p_adj", "wilcoxon_p"):
                kinds[c] = "p"
            if c in ("df",):
                kinds[c] = "number"
        text = format_report_table(
            shown, policy=self.policy, confidence=self.confidence, decimals=decimals,
            kinds=kinds, ci=ci,
        )  # fmt: skip
        display(HTML(report_table_html(text, caption=caption)))

    def _scale_label(self, instrument: str, scale: str) -> str:
        s = self.tables["scales"]
        row = s[(s["instrument"] == instrument) & (s["scale"] == scale)]
        return str(row["label"].iloc[0]) if len(row) else f"{instrument} {scale}"

    # -- sections
    def show_title(self) -> None:
        """Title, cohort, design and (loudly) any disclosure notice."""
        r = self.results
        info = r.get("info") or {}
        design = (
            "mentored vs comparison group"
            if r["design"] == "comparison"
            else "single group, pre/post"
        )
        lines = [f"# {r['title']}", ""]
        facts = [
            f"Programme: {info.get('programme') or '–'}",
            f"cohort: {info.get('cohort') or '–'}",
            f"design: {design}",
            f"waves: {info.get('pre')} → {info.get('post')}",
        ]
        lines.append(" · ".join(facts))
        for notice in r.get("notices", []):
            lines += ["", f"> **Note.** {notice}"]
        self._md("\n".join(lines))

    def show_summary(self) -> None:
        """Executive summary: 3–5 findings with n, change, effect size, CI and a judgement."""
        r = self.results
        bullets = [f"- {t}" for t in r.get("headline_text", [])]
        if not bullets:
            bullets = ["- No outcome could be analysed."]
        intro = (
            "What changed between the two surveys, for the students who answered both. "
            "Each finding gives the number of students, the change in the scale's own units, "
            "the standardised change with its confidence interval and what that means."
        )
        caption = (
            "Standardised change per scale with its confidence interval; right of the dashed "
            "line is an improvement."
        )
        if r["design"] == "comparison":
            intro = (
                "The programme's effect: mentored compared with comparison students at "
                "follow-up, adjusted for their baseline scores (ANCOVA; the controlled "
                "effect), in the scale's own units and in baseline standard deviations, with "
                "d_ppc2 (the standardised difference in change) beside it. The judgement "
                "reads the controlled effect. Each finding then gives the mentored students' "
                "own change between the surveys."
            )
            caption = (
                "Controlled effect per scale (ANCOVA difference, mentored − comparison, in "
                "baseline SDs) with its confidence interval; right of the dashed line favours "
                "the mentored students."
            )
        tail = []
        if r["design"] == "single_arm":
            tail.append(
                "\n*Without a comparison group these are changes over time, not effects of the "
                "programme (see the methods appendix).*"
            )
        self._md("\n".join([intro, "", *bullets, *tail]))
        self._figure("forest", caption)

    def show_participation(self) -> None:
        """CONSORT-style flow, responses per wave and follow-up rates by group."""
        self._figure("consort")
        note = self.tables.get("flow_note")
        if note is not None and len(note):
            self._md("*" + " ".join(str(n) for n in note["note"]) + "*")
        self._table("participation", caption="Responses per wave")
        self._table(
            "response_rates",
            caption="Follow-up by group (baseline students who answered the follow-up)",
        )

    def show_outcomes(self) -> None:
        """One subsection per outcome domain: figures, comparison table, bands, items, reliability."""
        scales = self.tables["scales"]
        comp = self.tables["comparisons"]
        present = comp[["instrument", "scale"]].drop_duplicates()
        scales = scales.merge(present, on=["instrument", "scale"])
        by_group = "group" in comp.columns and comp["group"].notna().any()
        cols = [*(["group"] if by_group else []), "scale", "n_pairs", "mean_pre", "sd_pre",
                "mean_post", "sd_post", "mean_diff", "ci_low", "ci_high", "p_value", "p_adj",
                "d_z", "d_z_ci_low", "d_z_ci_high", "g_av", "wilcoxon_p", "rank_biserial"]  # fmt: skip
        ci = {"mean_diff": ("ci_low", "ci_high"), "d_z": ("d_z_ci_low", "d_z_ci_high")}
        what = (
            "paired pre/post comparison within each group (mentored first; the programme's "
            "effect is the controlled comparison in section 4)"
            if by_group
            else "paired pre/post comparison"
        )
        for domain in _DOMAIN_TITLES:
            in_domain = scales[scales["domain"] == domain]
            if in_domain.empty:
                continue
            self._md(f"### {_DOMAIN_TITLES[domain]}")
            for instrument in dict.fromkeys(in_domain["instrument"]):
                title = self.tables["instruments"].set_index("instrument").at[instrument, "title"]
                self._md(f"#### {title}")
                for scale in in_domain[in_domain["instrument"] == instrument]["scale"]:
                    self._figure(_slug("prepost", instrument, scale))
                self._table("comparisons", columns=cols, where={"instrument": instrument},
                            caption=f"{title}: {what}", ci=ci)  # fmt: skip
                for scale in in_domain[in_domain["instrument"] == instrument]["scale"]:
                    name = _slug("bands", instrument, scale)
                    if name in self.results["figures"]:
                        self._figure(name)
                        self._table("bands", where={"instrument": instrument, "scale": scale},
                                    columns=["band", "n_pairs", "n_pre", "prop_pre", "n_post",
                                             "prop_post", "n_entered", "n_left", "p_value"],
                                    caption="Band shifts (students with both waves; McNemar test per band)")  # fmt: skip
                self._figure(
                    _slug("likert", instrument),
                    "Answers per item at each wave; disagreeing answers to the left.",
                )
                self._table("reliability", where={"instrument": instrument},
                            columns=["scale", "wave", "n_complete", "n_items", "alpha",
                                     "alpha_ci_low", "alpha_ci_high", "omega_total"],
                            ci={"alpha": ("alpha_ci_low", "alpha_ci_high")},
                            caption="Reliability at each wave")  # fmt: skip
                self._table("change", where={"instrument": instrument},
                            columns=["scale", "n_pairs", "improved", "unchanged", "deteriorated", "recovered"],
                            caption="Reliable change (Jacobson–Truax)")  # fmt: skip

    def show_comparison_group(self) -> None:
        """Balance, ANCOVA adjusted means, mixed model and sensitivity analyses."""
        if self.results["design"] != "comparison":
            self._md(
                "This evaluation has **no comparison group** (single-arm design), so no "
                "between-group analysis is possible. The changes above may reflect the "
                "programme, the passage of the academic year, or regression to the mean."
            )
            return
        g = (self.results.get("info") or {}).get("group") or {}
        self._md(
            f"Mentored students (*{g.get('treated')}*) compared with the comparison group "
            f"(*{g.get('control')}*). Differences are mentored minus comparison, at follow-up, "
            "adjusted for the baseline score."
        )
        bal_cols = ["variable", "level", "n_treated", "n_control", "mean_treated",
                    "mean_control", "smd"]  # fmt: skip
        self._table("balance_participants", columns=bal_cols,
                    caption="Baseline balance of the students (covariates; standardised "
                    "differences above 0.1 deserve attention)")  # fmt: skip
        bal = self.tables.get("balance")
        if bal is not None and len(bal):
            base = bal[bal["variable"].astype(str) == "pre"].copy()
            base["scale"] = [self._scale_label(i, s) for i, s in zip(base["instrument"],
                             base["scale"], strict=True)]  # fmt: skip
            self.tables = {**self.tables, "balance_baseline": base}
            self._table("balance_baseline", columns=["scale", "n_treated", "n_control",
                        "mean_treated", "mean_control", "smd"],
                        caption="Baseline score per scale, mentored vs comparison")  # fmt: skip
        self._table("adjusted_means", columns=["instrument", "scale", "group", "n", "emmean", "se",
                                               "ci_low", "ci_high"], ci={"emmean": ("ci_low", "ci_high")},
                    caption="ANCOVA adjusted means at follow-up")  # fmt: skip
        base_cols = ["instrument", "scale", "n_treated", "n_control", "estimate", "se",
                     "ci_low", "ci_high", "p_value"]  # fmt: skip
        est_ci = {"estimate": ("ci_low", "ci_high")}
        self._table("ancova", columns=base_cols, ci=est_ci,
                    caption="ANCOVA: adjusted difference at follow-up (mentored − comparison)")  # fmt: skip
        self._table("mixed", columns=base_cols, ci=est_ci,
                    caption="Linear mixed model: difference in change (Satterthwaite df)")  # fmt: skip
        self._md("**Sensitivity analyses**")
        self._table("imputation", columns=base_cols, ci=est_ci,
                    caption="Multiple imputation of missing follow-up scores")  # fmt: skip
        self._table("ipw", columns=base_cols, ci=est_ci, caption="Inverse-probability weighting")
        self._table("d_ppc2", columns=["instrument", "scale", "n_treated", "n_control", "value",
                                       "ci_low", "ci_high"], ci={"value": ("ci_low", "ci_high")},
                    caption="d_ppc2: standardised difference in change (Morris 2008)")  # fmt: skip
        self._table("attrition", columns=["instrument", "scale", "group", "n_baseline",
                                          "n_completed", "attrition"],
                    caption="Attrition by group (share of baseline students without a follow-up)")  # fmt: skip

    def show_exploratory(self) -> None:
        """Subgroups and dose, labelled exploratory."""
        self._md(
            "**Exploratory.** These analyses were not pre-specified as primary; they are "
            "unadjusted for multiple testing and can suggest questions, not answer them."
        )
        shown = False
        sub = self.tables.get("subgroups")
        if sub is not None and len(sub):
            self._table("subgroups", columns=["instrument", "scale", "variable", "level", "n_pairs",
                                              "mean_diff", "ci_low", "ci_high", "d_z",
                                              "d_z_ci_low", "d_z_ci_high"],
                        ci={"mean_diff": ("ci_low", "ci_high"),
                            "d_z": ("d_z_ci_low", "d_z_ci_high")},
                        caption="Change in the primary outcomes by subgroup")  # fmt: skip
            shown = True
        for name, caption in (("dose", "Dose (meetings) and follow-up score"),
                              ("moderation", "Moderators of the group effect")):  # fmt: skip
            if name in self.tables and len(self.tables[name]):
                self._table(name, caption=caption)
                shown = True
        if not shown:
            self._md("No subgroup or dose information was available for this study.")

    def show_methods(self) -> None:
        """Instruments and citations, scoring rules, tests and formulas, multiplicity, caveats."""
        self._md("### Instruments")
        self._table(
            "instruments", columns=["title", "version", "domain", "items", "citation", "licence"]
        )
        self._md("### Scoring rules")
        self._table("scales", columns=["label", "method", "n_items", "min_answered", "range_low",
                                       "range_high", "bands"])  # fmt: skip
        p = self.policy
        disclosure = (
            p.warning
            if p.warning
            else f"Every published number rests on at least {p.threshold} distinct students "
            f"(profile '{p.profile}'); smaller cells, cells that would reveal them through a "
            f"total, and 0 %/100 % groups are shown as \u201c{p.label}\u201d. Figures show "
            "no individual points, lines, minima, maxima or outliers."
        )
        info = self.results.get("info") or {}
        self._md("### Tests and effect sizes\n\n" + _METHODS_TEXT.format(
            conf=f"{self.confidence:.0%}", method=info.get("multiplicity", "holm"),
            disclosure=disclosure))  # fmt: skip
        self._table("multiplicity", caption="Multiplicity families")
        self._md("### Design caveats")
        cav = self.tables.get("caveats")
        lines = []
        if self.results["design"] == "single_arm":
            lines.append(
                "- **Single-arm design.** Without a comparison group, change over time cannot "
                "be separated from the programme's effect."
            )
        if cav is not None and len(cav) and "title" in cav.columns:
            for row in cav.itertuples():
                if row.caveat == "single_arm" and self.results["design"] == "single_arm":
                    continue  # stated above
                lines.append(f"- **{row.title}.** {row.detail}")
        self._md("\n".join(lines) if lines else "No design caveat applies.")

    def show_data_quality(self) -> None:
        """Linkage, duplicates, quality flags, item missingness, quarantine by reason."""
        self._table(
            "linkage",
            caption="Linkage of baseline and follow-up responses",
            columns=["measure", "n", "percent"],
        )
        self._table("quality_flags", caption="Quality flags (flagged responses are kept)")
        self._table("missingness", caption="Item missingness per instrument and wave")
        self._table("quarantine", caption="Rows and answers set aside, by reason")

    def show_provenance(self) -> None:
        """Package versions, git commit, input sha256, parameters and key fingerprint."""
        path = self.folder / "manifest.json"
        manifest = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        lines = [
            f"- Created: {manifest.get('created_at', '–')}",
            f"- Git commit: `{manifest.get('git_commit') or 'not in a git repository'}`",
            f"- Key fingerprint: `{manifest.get('key_fingerprint') or '–'}`",
            f"- Python {manifest.get('python', '–')}",
        ]
        pkgs = manifest.get("packages") or {}
        if pkgs:
            lines.append("- Packages: " + ", ".join(f"{k} {v}" for k, v in pkgs.items() if v))
        lines.append("\n**Inputs**\n")
        lines += [f"- `{i['name']}` sha256 `{i['sha256']}`" for i in manifest.get("inputs", [])]
        params = manifest.get("parameters") or {}
        if params:
            lines.append("\n**Parameters**\n")
            lines += [f"- {k}: `{v}`" for k, v in sorted(params.items())]
        self._md("\n".join(lines))


def open_cohort_report(output_dir: str | os.PathLike[str]) -> CohortReport:
    """Load the results written by :func:`write_cohort_outputs` for display.

    Examples
    --------
    >>> report = open_cohort_report("reports/demo")  # doctest: +SKIP
    >>> report.show_summary()  # doctest: +SKIP
    """
    folder = Path(output_dir)
    path = folder / "results.json"
    if not path.is_file():
        raise DataError(
            f"{path}: results not found",
            (Problem("no results.json", file=str(path), fix="run `mentoreval report STUDY`"),),
        )
    results = json.loads(path.read_text(encoding="utf-8"))
    tables: dict[str, pd.DataFrame] = {}
    for name in results.get("tables", []):
        csv = folder / "tables" / f"{name}.csv"
        if not csv.is_file():
            continue
        frame = pd.read_csv(csv, keep_default_na=True)
        for c in frame.columns:
            if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c].dtype):
                frame[c] = frame[c].map(_strip_quote)
        if "suppressed" in frame.columns:
            frame["suppressed"] = frame["suppressed"].astype(bool)
        tables[name] = frame
    return CohortReport(folder, results, tables)


# ------------------------------------------------------------------------ whole run


def _forbidden(study: Study, processed: Mapping[str, Any]) -> dict[str, list[str]]:
    """Every pseudonym and every raw id of the study's exports (short ids skipped)."""
    from mentoreval.read import read_export

    pseudonyms: set[str] = set()
    for name in ("participants", "linkage", "scores"):
        frame = processed.get(name)
        if frame is not None and len(frame):
            pseudonyms |= set(frame["participant_id"].dropna().astype(str))
    raw: set[str] = set()
    cfg = study.config
    for src in cfg.sources:
        column = src.id_column or cfg.participant_id.column
        table = read_export(
            study.resolve(src.path),
            format=src.format,
            encoding=src.encoding,
            dictionary=study.resolve(src.dictionary) if src.dictionary else None,
            sheet=src.sheet,
        )
        if column in table.data.columns:
            raw |= {v.strip() for v in table.data[column].dropna().astype(str) if v.strip()}
    # a one- or two-character id would match ordinary text; they are not searched for
    return {
        "pseudonym": sorted(p for p in pseudonyms if len(p) >= 6),
        "raw id": sorted(r for r in raw if len(r) >= 3),
    }


@contextlib.contextmanager
def _kernel_log(final: Path, enabled: bool) -> Iterator[None]:
    """While the kernel runs, keep its start-up and shutdown messages off the terminal:
    they go to ``<reports>/logs/<report>.kernel.log`` (only the progress bar is shown).
    Inside a batch worker the output is already in the job's log."""
    import multiprocessing

    from mentoreval.run.batch import redirect_output

    if not enabled or multiprocessing.parent_process() is not None:
        yield
        return
    log = final.parent / "logs" / f"{final.name}.kernel.log"
    with redirect_output(log, keep_python_streams=True):
        yield


def run_cohort_report(
    study_config: str | os.PathLike[str],
    *,
    out_dir: str | os.PathLike[str] | None = None,
    pdf: bool = True,
    progress: bool = True,
    policy: DisclosurePolicy | None = None,
    processed_dir: str | os.PathLike[str] | None = None,
    use_ledger: bool = True,
    store_root: str | os.PathLike[str] | None = None,
) -> Path:
    """Turn a study config into its cohort report: HTML (+ PDF), tables, figures, JSON.

    Stages (one progress bar): ingest, analyse, write results, execute the template
    (papermill, kernel ``python3``, parameters checked and cast), HTML, PDF, manifest,
    egress scan. The report is built in a staging folder next to ``out_dir`` and moved
    into place only when the egress scan finds no pseudonym, raw id, traceback or repr.

    Every published count is checked against the release ledger of the project's store
    (``<project>/data/store/ledger/releases.json``, shared with the annual report), so a
    rerun after a few late or withdrawn responses cannot be subtracted from an earlier
    report; once the report is in place, its releases are added to that ledger.

    Parameters
    ----------
    study_config
        The ``study.yaml``.
    out_dir
        Report folder (default ``<project>/reports/<study>``).
    pdf
        Also print the HTML to PDF (WeasyPrint).
    progress
        Show the progress bar.
    policy
        Disclosure policy; default from the study config.
    processed_dir
        Where ingest writes (default ``<project>/data/processed/<study>``).
    use_ledger
        ``False`` neither checks nor records the release ledger; only allowed with the
        disclosure profile ``"off"`` (internal use), and stated in the report.
    store_root
        The store whose ``ledger/`` is used (default ``<project>/data/store``, where
        ``mentoreval ingest`` files the cohort and the annual report reads it).

    Returns
    -------
    pathlib.Path
        The HTML report.

    Raises
    ------
    MentorevalError
        Bad config or data (missing post wave, no linked pairs), a failing section
        (:class:`~mentoreval.errors.ReportError` naming it), a leak
        (:class:`~mentoreval.errors.DisclosureError`), or ``use_ledger=False`` with
        disclosure control on.
    """
    from tqdm.auto import tqdm

    from mentoreval.config.paths import default_out_dir, default_store_root, project_root
    from mentoreval.config.study import load_study
    from mentoreval.ingest.pipeline import ingest_study
    from mentoreval.report.notebook import cast_parameters, run_notebook
    from mentoreval.report.render import egress_scan, render_html, render_pdf
    from mentoreval.report.tables import build_manifest, write_json
    from mentoreval.safefs import MARKER, OutputFolder
    from mentoreval.store.parquet import load_release_ledger, merge_release_ledger

    config = Path(study_config).resolve()
    study = load_study(config)
    final = Path(out_dir) if out_dir else project_root(config) / "reports" / study.name
    stages = ["ingest", "analyse", "write", "execute", "HTML", *(["PDF"] if pdf else []),
              "manifest", "egress scan"]  # fmt: skip
    with (
        OutputFolder(
            final,
            kind="cohort report",
            protected=study.input_files(),
            raw_folders=study.raw_folders(),
            key="--out",
        ) as output,  # fmt: skip
        tqdm(total=len(stages), desc="report", unit="stage", disable=not progress) as bar,
    ):

        def stage(name: str) -> None:
            bar.set_postfix_str(name)

        stage("ingest")
        processed = Path(processed_dir) if processed_dir else default_out_dir(study)
        ingested = ingest_study(config, out_dir=processed)
        bar.update()
        stage("analyse")
        store = Path(store_root) if store_root else default_store_root(config)
        ledger = load_release_ledger(store) if use_ledger else None
        results = analyse_cohort(
            ingested, study, policy=policy, ledger=ledger, use_ledger=use_ledger
        )
        bar.update()
        stage("write")
        staging = output.staging
        write_cohort_outputs(results, staging)
        parameters = {
            "study_config": str(config),
            "processed_dir": str(processed),
            "output_dir": str(staging),
            "title": results.title,
        }
        cast_parameters(TEMPLATE, parameters)
        bar.update()
        stage("execute")
        fingerprint = ingested.manifest.get("key_fingerprint")
        inputs = [config, *(study.resolve(s.path) for s in study.config.sources)]
        manifest = build_manifest(
            inputs=[p for p in inputs if p.is_file()],
            parameters={k: v for k, v in parameters.items() if k != "output_dir"},
            key_fingerprint=fingerprint,
            extra={
                "study": study.name,
                "disclosure": {"profile": results.policy.profile, "k": results.policy.threshold},
                "design": results.design,
            },
            repo=Path(__file__).parent,
        )
        write_json(manifest, staging / "manifest.json")
        with _kernel_log(output.final, progress):
            notebook = run_notebook(
                TEMPLATE, staging / "cohort_report.ipynb", parameters=parameters, progress=False
            )
        bar.update()
        stage("HTML")
        html = render_html(notebook, staging / "cohort_report.html", title=results.title)
        bar.update()
        if pdf:
            stage("PDF")
            render_pdf(html, staging / "cohort_report.pdf")
            bar.update()
        stage("manifest")
        manifest["outputs"] = sorted(
            str(p.relative_to(staging))
            for p in staging.rglob("*")
            if p.is_file() and p.name != MARKER
        )
        write_json(manifest, staging / "manifest.json")
        bar.update()
        stage("egress scan")
        egress_scan([staging], forbidden=_forbidden(study, _load_processed(ingested)))
        bar.update()
        final = output.commit()
    if results.ledger is not None:
        merge_release_ledger(store, results.ledger)
    return final / "cohort_report.html"
