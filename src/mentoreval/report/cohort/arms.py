"""The cohort report's descriptive tables, one arm at a time: score bands (with the band
McNemar tests), item answers, reliable change and reliability.

Report stage (what is computed). In a comparison design the mentored students and the
comparison group are described apart, each row carrying its ``group``: pooled, a band shift
of the comparison group would read as the mentored students' (issue 16, point 5). A
single-arm design has one arm and no ``group`` column.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mentoreval.config.disclosure import DisclosurePolicy
from mentoreval.frames import iter_rows
from mentoreval.report.cohort.caveats import attempt
from mentoreval.report.cohort.figures import slug
from mentoreval.report.cohort.inputs import wide_items
from mentoreval.report.cohort.release import protect_bands, protect_classes, suppress_rows
from mentoreval.report.cohort.tables import likert_counts

if TYPE_CHECKING:  # pragma: no cover
    from mentoreval.config.study import Study

__all__ = [
    "Arms",
    "arms_note",
    "describe_arms",
    "describe_once",
    "likert_figures",
    "measured_once",
    "without",
]

Key = tuple[str, str]

_RELIABILITY_COLUMNS = ("instrument", "scale", "wave", "n_complete", "n_items", "alpha",
                        "alpha_ci_low", "alpha_ci_high", "omega_total")  # fmt: skip


@dataclass(frozen=True)
class Arms:
    """Who belongs to which arm: ``labels`` in report order (mentored first), or ``(None,)``
    for a single-arm design (everyone, no ``group`` column)."""

    labels: tuple[str | None, ...]
    of: Mapping[str, str]  # participant id -> arm label

    @classmethod
    def from_people(cls, people: pd.DataFrame, group_col: str | None, order: Sequence[str]) -> Arms:
        """The arms of ``people`` (``participant_id`` and ``group_col``).

        Examples
        --------
        >>> people = pd.DataFrame({"participant_id": ["a", "b", "c"],
        ...                        "group": ["comparison", "mentored", None]})
        >>> arms = Arms.from_people(people, "group", ["mentored", "comparison"])
        >>> arms.labels, arms.ids("mentored")
        (('mentored', 'comparison'), {'b'})
        >>> Arms.from_people(people, None, []).labels
        (None,)
        """
        if group_col is None:
            return cls((None,), {})
        known = people.dropna(subset=[group_col])
        of = dict(zip(known["participant_id"].astype(str), known[group_col].astype(str),
                      strict=True))  # fmt: skip
        return cls(tuple(order), of)

    def ids(self, arm: str | None) -> set[str]:
        """The participant ids of one arm."""
        return {p for p, a in self.of.items() if a == arm}

    def select(self, frame: pd.DataFrame, arm: str | None) -> pd.DataFrame:
        """The rows of ``frame`` (with ``participant_id``) that belong to ``arm``."""
        if arm is None:
            return frame
        return frame[frame["participant_id"].astype(str).isin(self.ids(arm))]


def _label(table: pd.DataFrame, arm: str | None) -> pd.DataFrame:
    return table if arm is None else table.assign(group=arm)


def _bands(scores: pd.DataFrame, meta: pd.DataFrame, pre: str, post: str) -> pd.DataFrame:
    """Band counts at both waves and McNemar per band, in the bands' published order."""
    from mentoreval.stats.cutoffs import compare_bands

    bands = compare_bands(scores[scores["band"].notna()], pre=pre, post=post)
    order = {
        (r.instrument, r.scale): [b.strip() for b in r.bands.split(";")]
        for r in iter_rows(meta)
        if r.bands
    }
    bands["band_order"] = [
        order.get((i, s), []).index(b) if b in order.get((i, s), []) else 99
        for i, s, b in zip(bands["instrument"], bands["scale"], bands["band"], strict=True)
    ]
    bands = bands.sort_values(["instrument", "scale", "band_order"], kind="stable")
    return bands.drop(columns=["band_order", "statistic"]).reset_index(drop=True)


def _change(
    scores: pd.DataFrame,
    pre: str,
    post: str,
    reliability: Mapping[Key, float],
    higher_is_better: Mapping[Key, bool],
) -> pd.DataFrame | None:
    """Reliable-change classes (Jacobson–Truax) of the scales with a published reliability
    and a pair, long (one row per class), or None."""
    from mentoreval.stats.change import classify_change, summarise_change

    if not reliability:
        return None
    keys = set(zip(scores["instrument"], scores["scale"], strict=True)) & set(reliability)
    sub = scores[[k in keys for k in zip(scores["instrument"], scores["scale"], strict=True)]]
    if sub.empty:
        return None
    both = sub.groupby(["participant_id", "instrument", "scale"])["wave"].nunique()
    if not (both >= 2).any():
        return None
    ch = attempt(lambda: classify_change(sub, pre=pre, post=post, reliability=reliability,
                                         higher_is_better=dict(higher_is_better)))  # fmt: skip
    return None if ch is None or ch.empty else summarise_change(ch)


def _reliability(
    responses: pd.DataFrame, study: Study, pre: str, post: str, confidence: float
) -> pd.DataFrame | None:
    """Cronbach's α (Feldt CI) and ω total of each scale at each wave, or None."""
    from mentoreval.stats.reliability import fit_reliability_many

    frames, reverse, ranges = {}, {}, {}
    for inst_id, inst in study.instruments.items():
        for wave in (pre, post):
            items = wide_items(responses, inst_id, wave)
            if items.empty:
                continue
            for s in inst.scales:
                cols = [c for c in s.items if c in items.columns]
                # an arm not asked a measure (mentoring quality) has no complete answers
                if len(cols) >= 2 and len(items[cols].dropna()) >= 3:
                    frames[(inst_id, s.id, wave)] = items[cols]
                    reverse[(inst_id, s.id)] = [i for i in cols if inst.item(i).reverse]
        rs = next(iter(inst.response_scales.values()))
        ranges[inst_id] = (rs.low, rs.high)
    fitted = []
    for key, frame in frames.items():
        # one arm may be small: a scale whose items cannot be fitted there (a singular
        # correlation matrix) is left out, not the arm's other scales
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            try:
                fitted.append(fit_reliability_many({key: frame}, reverse=reverse,
                                                   response_range=ranges,
                                                   confidence=confidence)[0])  # fmt: skip
            except (RuntimeWarning, ValueError, FloatingPointError, np.linalg.LinAlgError):
                continue
    if not fitted:
        return None
    rel = pd.concat(fitted, ignore_index=True)
    return rel[[c for c in _RELIABILITY_COLUMNS if c in rel.columns]]


@dataclass(frozen=True)
class Described:
    """The per-arm descriptive tables and whether any item chart merged answer options."""

    tables: dict[str, pd.DataFrame]
    merged: bool


def describe_arms(
    arms: Arms,
    scores: pd.DataFrame,
    responses: pd.DataFrame,
    study: Study,
    meta: pd.DataFrame,
    *,
    pre: str,
    post: str,
    confidence: float,
    policy: DisclosurePolicy,
    full: DisclosurePolicy,
) -> Described:
    """Bands, item answers, reliable change and reliability of each arm, built in full
    (``full``: nothing hidden yet; the release decides once over every table). Item
    answers merge options by ``policy`` as they are built, arm by arm."""
    rel_of = {(r.instrument, r.scale): float(r.reliability) for r in iter_rows(meta)
              if not pd.isna(r.reliability)}  # fmt: skip
    hib = {(r.instrument, r.scale): bool(r.higher_is_better) for r in iter_rows(meta)}
    parts: dict[str, list[pd.DataFrame]] = {"bands": [], "likert": [], "reliability": [],
                                            "change": []}  # fmt: skip
    merged = False
    has_bands = "band" in scores.columns and scores["band"].notna().any()
    for arm in arms.labels:
        own = arms.select(scores, arm)
        answers = arms.select(responses, arm)
        if has_bands and own["band"].notna().any():
            parts["bands"].append(_label(protect_bands(_bands(own, meta, pre, post), full), arm))
        answered = set(answers.loc[answers["value"].notna(), "instrument"].astype(str))
        for inst_id in study.instruments:
            if inst_id not in answered:  # an arm not asked this measure (mentoring quality)
                continue
            long, m = likert_counts(answers, study, inst_id, [pre, post], policy)
            merged |= m
            if len(long):
                parts["likert"].append(_label(long, arm))
        rel = _reliability(answers, study, pre, post, confidence)
        if rel is not None:
            parts["reliability"].append(_label(suppress_rows(
                rel, full, n_columns=["n_complete"], value_columns=list(rel.columns[5:])), arm))  # fmt: skip
        change = _change(own, pre, post, rel_of, hib)
        if change is not None:
            parts["change"].append(_label(protect_classes(change, full), arm))
    tables = {k: pd.concat(v, ignore_index=True) for k, v in parts.items() if v}
    return Described(tables, merged)


def arms_note(table: pd.DataFrame | None) -> str:
    """The words a caption adds when its table describes each arm apart.

    Examples
    --------
    >>> arms_note(pd.DataFrame({"group": ["mentored", "comparison"]}))
    ', each group on its own'
    >>> arms_note(pd.DataFrame({"band": ["low"]}))
    ''
    """
    if table is None or "group" not in table.columns or not table["group"].notna().any():
        return ""
    return ", each group on its own"


def likert_figures(figures: Iterable[str], instrument: str) -> list[tuple[str, str]]:
    """The item charts of one instrument, (figure name, words naming its arm), in the order
    drawn: one chart (single arm), or one per arm (``likert_<instrument>_<arm>``).

    Examples
    --------
    >>> likert_figures(["likert_who5_mentored", "likert_who5_comparison", "forest"], "who5")
    [('likert_who5_mentored', ', mentored students'), ('likert_who5_comparison', ', comparison students')]
    >>> likert_figures(["likert_who5"], "who5")
    [('likert_who5', '')]
    """
    own = slug("likert", instrument)
    found = []
    for name in figures:
        if name == own:
            found.append((name, ""))
        elif name.startswith(own + "_"):
            found.append((name, f", {name.removeprefix(own + '_').replace('-', ' ')} students"))
    return found


def measured_once(scores: pd.DataFrame, pre: str, post: str) -> set[Key]:
    """The scales scored at only one of the two waves (mentoring quality, asked after the
    programme): described once, never compared before and after.

    Examples
    --------
    >>> s = pd.DataFrame({"instrument": ["who5", "who5", "mes"], "scale": "total",
    ...                   "wave": ["pre", "post", "post"], "score": [50.0, 60.0, 4.0]})
    >>> measured_once(s, "pre", "post")
    {('mes', 'total')}
    """
    scored = scores.dropna(subset=["score"])
    seen: dict[Key, set[str]] = {}
    for i, s, w in zip(scored["instrument"], scored["scale"], scored["wave"], strict=True):
        seen.setdefault((str(i), str(s)), set()).add(str(w))
    return {key for key, waves in seen.items() if not {pre, post} <= waves}


def without(frame: pd.DataFrame, scales: set[Key]) -> pd.DataFrame:
    """``frame`` without the rows of ``scales`` (by its ``instrument`` and ``scale``)."""
    if not scales or frame.empty or not {"instrument", "scale"} <= set(frame.columns):
        return frame
    keys = zip(frame["instrument"].astype(str), frame["scale"].astype(str), strict=True)
    return frame[[k not in scales for k in keys]].reset_index(drop=True)


def describe_once(
    scores: pd.DataFrame,
    arms: Arms,
    scales: set[Key],
    confidence: float,
    full: DisclosurePolicy,
) -> pd.DataFrame:
    """n, mean, SD and CI of each scale measured once, at its wave, per arm (mentored first;
    ``group`` "all" in a single-arm design), built in full for the release."""
    from mentoreval.report.cohort.design_tables import descriptives

    once = scores[[(str(i), str(s)) in scales for i, s in zip(scores["instrument"],
                                                              scores["scale"], strict=True)]]  # fmt: skip
    parts = []
    for arm in arms.labels:
        own = arms.select(once, arm)
        if own["score"].notna().any():
            table = descriptives(own, None, confidence)
            parts.append(table.assign(group="all" if arm is None else arm))
    if not parts:
        return pd.DataFrame()
    table = pd.concat(parts, ignore_index=True)
    return suppress_rows(table, full, n_columns=["n"],
                         value_columns=["mean", "sd", "ci_low", "ci_high"])  # fmt: skip
