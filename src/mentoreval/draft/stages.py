"""The waves of a study with more than two surveys, placed in time order by their names.

Draft stage. Two surveys are *pre* and *post* (:func:`mentoreval.draft.roles.propose_waves`);
when the file names (or REDCap events) name more than two stages — baseline, mid-year, end,
follow-up, or numbered waves (``t0``, ``wave 2``) — each becomes a wave of its own, named
by its stage (``pre``, ``mid``, ``post``, ``followup``) or by its number, and
:func:`wave_rank` orders them for ``analysis.waves``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from .evidence import norm_text

__all__ = ["STAGE_ORDER", "in_time_order", "stage_of", "stage_waves", "wave_rank"]

#: The stages a survey's name can give, in time order.
STAGE_ORDER = {"pre": 0, "mid": 1, "post": 2, "followup": 3}

_STAGES = (
    ("pre", r"pre|baseline|base|before|intake|entry|enrol(l)?(ment)?|screening|start"),
    ("mid", r"mid|midpoint|mid ?(year|term|way|point|programme|program)|interim|middle|halfway"),
    ("post", r"post|after|end|exit|final|completion|outcome|endline"),
    ("followup", r"follow ?up|followup|fu|\d+ ?(months?|mo|weeks?|wk|years?|yr)|delayed|"
                 r"maintenance|retention"),
)  # fmt: skip
_PATTERNS = [(name, re.compile(rf"\b({words})\b")) for name, words in _STAGES]
_NUMBERED = re.compile(r"^(?:.*\b)?(t|w|wave|time|round|survey|visit) ?(\d{1,2})\b")


def _words(text: str) -> str:
    return norm_text(text.replace("_", " ").replace("-", " "))


def stage_of(text: str) -> tuple[str, float] | None:
    """The wave a survey's name gives, and its place in time; ``None`` if it names none or
    several stages.

    Examples
    --------
    >>> [stage_of(s) for s in ("baseline", "Mid-year", "end_of_year", "6_month_followup", "t2")]
    [('pre', 0), ('mid', 1), ('post', 2), ('followup', 3), ('t2', 2.0)]
    >>> stage_of("cohort"), stage_of("pre_post")
    (None, None)
    """
    words = _words(text)
    found = [(name, STAGE_ORDER[name]) for name, p in _PATTERNS if p.search(words)]
    if len(found) == 2 and {f[0] for f in found} == {"post", "followup"}:
        return found[1]  # "post follow-up", "6 months after": the follow-up
    if len(found) == 1:
        return found[0]
    numbered = _NUMBERED.match(words)
    if not found and numbered:
        return f"{numbered.group(1)}{int(numbered.group(2))}", float(numbered.group(2))
    return None


def stage_waves(names: Mapping[str, str]) -> dict[str, str] | None:
    """More than two stages among ``names`` (key → a file's or event's name): each key's
    wave (keys that name no stage are left out); ``None`` for two stages or fewer, or when
    two keys name the same stage (then the waves are not told apart by their names).

    Examples
    --------
    >>> stage_waves({"a.csv": "baseline", "b.csv": "mid", "c.csv": "end", "d.csv": "follow-up"})
    {'a.csv': 'pre', 'b.csv': 'mid', 'c.csv': 'post', 'd.csv': 'followup'}
    >>> stage_waves({"a.csv": "baseline", "b.csv": "follow-up"}) is None
    True
    """
    staged = {k: s for k, text in names.items() if (s := stage_of(text)) is not None}
    waves = [s[0] for s in staged.values()]
    if len(set(waves)) <= 2 or len(set(waves)) < len(waves):
        return None
    return {k: s[0] for k, s in staged.items()}


def wave_rank(wave: str) -> float:
    """A wave's place in time, by its name (an unknown name sits between ``pre`` and
    ``post``, as an undecided wave does).

    Examples
    --------
    >>> sorted(["followup", "post", "mid", "pre"], key=wave_rank)
    ['pre', 'mid', 'post', 'followup']
    >>> sorted(["t3", "t0", "t10", "t1"], key=wave_rank)
    ['t0', 't1', 't3', 't10']
    """
    if wave in STAGE_ORDER:
        return float(STAGE_ORDER[wave])
    numbered = _NUMBERED.match(_words(wave))
    return float(numbered.group(2)) if numbered else 1.0


def in_time_order(waves: Iterable[str]) -> list[str]:
    """``waves`` once each, in time order (:func:`wave_rank`; ties keep their order)."""
    return sorted(dict.fromkeys(waves), key=wave_rank)
