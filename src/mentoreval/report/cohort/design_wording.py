"""Plain-language wording of the unlinked and single-wave designs: the design in a sentence,
and one summary line per scale that never reads a wide interval as "no change".

Report stage (how it is said).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["DESIGN_TEXT", "difference_line", "verdict"]

#: What each design can and cannot say, for the title block, the summary and the brief.
DESIGN_TEXT = {
    "unlinked": (
        "The surveys were anonymous or could not be linked, so the waves are compared as "
        "independent samples: the people answering may differ between waves, and a "
        "difference can reflect who responded as well as change."
    ),
    "single_wave": (
        "One survey wave only: the report describes the students' answers at that wave; "
        "it cannot show change."
    ),
}


def verdict(lo: float, hi: float, mid: float | None, what: str, higher_is_better: bool) -> str:
    """What an interval of a difference says, read against a minimal important difference.

    Examples
    --------
    >>> verdict(-3.0, 4.0, 10.0, "change", True)
    'a change smaller than the minimal important difference (10 points)'
    >>> verdict(-11.0, 4.0, 10.0, "change", True)
    'inconclusive: the interval includes changes as large as the minimal important difference (10 points)'
    >>> verdict(-11.0, 4.0, None, "change", True)
    'no clear change: the interval is compatible with a fall and with a rise'
    >>> verdict(2.0, 9.0, None, "difference", False)
    'higher, which is worse on this scale'
    """
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "too little data to say"
    m = f" ({mid:g} points)" if mid else ""
    if mid and -mid < lo and hi < mid:
        return f"a {what} smaller than the minimal important difference{m}"
    if lo > 0 or hi < 0:
        up = lo > 0
        good = up == higher_is_better
        size = (
            " by more than the minimal important difference"
            if mid and (lo > mid or hi < -mid)
            else ""
        )
        return f"{'higher' if up else 'lower'}{size}, which is {'better' if good else 'worse'} on this scale"
    if mid:
        return (
            f"inconclusive: the interval includes {what}s as large as the minimal important "
            f"difference{m}"
        )
    return f"no clear {what}: the interval is compatible with a fall and with a rise"


def difference_line(
    label: str, row: Mapping[str, Any], *, what: str, who: str, mid: float | None,
    higher_is_better: bool, confidence: float,
) -> str:  # fmt: skip
    """One summary line: the difference with its CI, then what it says.

    Examples
    --------
    >>> difference_line("WHO-5", {"mean_diff": 1.5, "ci_low": -2.0, "ci_high": 5.0},
    ...                 what="change", who="post − pre, all responses", mid=10.0,
    ...                 higher_is_better=True, confidence=0.95)
    'WHO-5: +1.5 points (post − pre, all responses; 95% CI −2.0 to 5.0): a change smaller than the minimal important difference (10 points).'
    """
    est = row.get("estimate", row.get("mean_diff"))
    lo, hi = float(row["ci_low"]), float(row["ci_high"])
    if est is None or not math.isfinite(float(est)):
        return f"{label}: not shown (too few responses, or withheld to protect small groups)."

    def num(x: float) -> str:
        return f"{x:.1f}".replace("-", "\u2212")

    return (
        f"{label}: {'+' if float(est) > 0 else ''}{num(float(est))} points ({who}; "
        f"{confidence:.0%} CI {num(lo)} to {num(hi)}): "
        f"{verdict(lo, hi, mid, what, higher_is_better)}."
    )
