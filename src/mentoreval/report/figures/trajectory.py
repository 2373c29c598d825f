"""Trajectory figure: model-based means with their confidence intervals at each wave, one
line per arm, and its alternative text (report stage: how it is drawn).

Drawn from the released ``wave_means`` table only: a mean withheld to protect a small group
is not drawn (the gap is labelled), so the figure never shows what the tables hide.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mentoreval.config.disclosure import DisclosurePolicy
from mentoreval.report.alttext import number
from mentoreval.report.figures.base import OKABE_ITO, TEXT, need_columns, new_figure, report_rc

__all__ = ["plot_trajectory", "trajectory_alt"]


def _arms(means: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(means["group"].fillna("").astype(str)))


def plot_trajectory(
    means: pd.DataFrame,
    *,
    waves: Sequence[str],
    title: str | None = None,
    ylabel: str = "Score",
    limits: tuple[float, float] | None = None,
    policy: DisclosurePolicy | None = None,
) -> Figure:
    """Means with CIs per wave, one line per arm (``group``; ``""`` for one group).

    Parameters
    ----------
    means
        ``wave``, ``group``, ``estimate``, ``ci_low``, ``ci_high`` (NaN where withheld).
    waves
        The waves, left to right.
    title, ylabel, limits
        Title, y-axis label and the scale's possible range.
    policy
        Supplies the label of a withheld mean.

    Examples
    --------
    >>> m = pd.DataFrame({"wave": ["pre", "post"], "group": ["", ""], "estimate": [50.0, 55.0],
    ...                   "ci_low": [47.0, 52.0], "ci_high": [53.0, 58.0]})
    >>> fig = plot_trajectory(m, waves=["pre", "post"], title="WHO-5")
    >>> [t.get_text() for t in fig.axes[0].get_xticklabels()]
    ['pre', 'post']
    """
    need_columns(means, ["wave", "group", "estimate", "ci_low", "ci_high"], "plot_trajectory")
    policy = policy or DisclosurePolicy()
    arms = _arms(means)
    x = np.arange(len(waves), dtype=float)
    fig, ax = new_figure(max(4.0, 1.2 * len(waves) + 2.0), 3.4)
    with report_rc():
        for j, arm in enumerate(arms):
            rows = means[means["group"].fillna("").astype(str) == arm].set_index("wave")
            rows = rows.reindex(list(waves))
            shift = (j - (len(arms) - 1) / 2) * 0.08
            est = rows["estimate"].to_numpy(float)
            lo, hi = rows["ci_low"].to_numpy(float), rows["ci_high"].to_numpy(float)
            color = OKABE_ITO[j % len(OKABE_ITO)]
            ax.errorbar(x + shift, est, yerr=[est - lo, hi - est], color=color, marker="o",
                        capsize=3, linewidth=1.6, label=arm or None)  # fmt: skip
            for k in np.flatnonzero(np.isnan(est)):
                ax.annotate(policy.label, (x[k] + shift, 0.06), xycoords=("data", "axes fraction"),
                            ha="center", color=TEXT, fontsize=8)  # fmt: skip
        ax.set_xticks(x, [str(w) for w in waves])
        ax.set_xlim(-0.5, len(waves) - 0.5)
        if limits is not None and all(math.isfinite(v) for v in limits):
            ax.set_ylim(*limits)
        ax.set_ylabel(ylabel)
        ax.set_xlabel("Wave")
        if title:
            ax.set_title(title, loc="left")
        if any(arms):
            ax.legend(frameon=False, fontsize=8)
    return fig


def trajectory_alt(
    means: pd.DataFrame,
    *,
    label: str,
    waves: Sequence[str],
    confidence: float = 0.95,
    decimals: int = 1,
    policy: DisclosurePolicy | None = None,
) -> str:
    """Describe a trajectory figure from the released ``wave_means`` rows of one scale.

    Examples
    --------
    >>> m = pd.DataFrame({"wave": ["pre", "post"], "group": ["", ""], "estimate": [50.04, None],
    ...                   "ci_low": [47.0, None], "ci_high": [53.0, None]})
    >>> trajectory_alt(m, label="WHO-5 (0–100)", waves=["pre", "post"])
    'Line chart of WHO-5 (0–100) at each wave (pre, post): model-based means with 95% confidence intervals. All students: pre 50.0 (95% CI 47.0 to 53.0), post not shown ([c]: fewer than 10 students, or hidden to protect such a group).'
    """
    policy = policy or DisclosurePolicy()
    few = (
        f"not shown ({policy.label}: fewer than {policy.threshold} students, or hidden to "
        "protect such a group)"
    )
    parts = [
        f"Line chart of {label} at each wave ({', '.join(waves)}): model-based means with "
        f"{confidence:.0%} confidence intervals."
    ]
    for arm in _arms(means):
        rows = means[means["group"].fillna("").astype(str) == arm].set_index("wave")
        said = []
        for w in waves:
            if w not in rows.index:
                continue
            r = rows.loc[str(w)]
            if not math.isfinite(float(r["estimate"])):  # type: ignore[arg-type]  # one row per wave
                said.append(f"{w} {few}")
                continue
            said.append(
                f"{w} {number(r['estimate'], decimals)} ({confidence:.0%} CI "
                f"{number(r['ci_low'], decimals)} to {number(r['ci_high'], decimals)})"
            )
        head = arm[:1].upper() + arm[1:] if arm else "All students"
        parts.append(f"{head}: {', '.join(said)}.")
    return " ".join(parts)
