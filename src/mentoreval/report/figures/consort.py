"""CONSORT-style participant flow, counts below the disclosure threshold shown as "[c]".

Report stage (how it is drawn).
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

from mentoreval.config.disclosure import DisclosurePolicy
from mentoreval.report.figures.base import (
    OKABE_ITO,
    TEXT,
    need_columns,
    new_figure,
    report_rc,
)

__all__ = ["plot_consort"]


def _flow_number(value: object, policy: DisclosurePolicy) -> str:
    if value is None or pd.isna(value):  # type: ignore[call-overload]
        return policy.label
    return f"{int(float(value)):d}"  # type: ignore[arg-type]


def plot_consort(  # long by its numpydoc docstring; the drawing itself is ~75 lines
    flow: pd.DataFrame,
    *,
    title: str | None = None,
    policy: DisclosurePolicy | None = None,
) -> Figure:
    """CONSORT-style participant flow drawn from a tidy flow table.

    Parameters
    ----------
    flow
        One row per stage, top to bottom, with columns ``stage`` (text) and ``n``
        (count; NaN when suppressed) and optionally ``excluded`` (count leaving after
        this stage) and ``reasons`` (text, e.g. ``"duplicate: 3; no consent: 12"``).
        Counts must already be disclosure-controlled.
    title
        Figure title.
    policy
        Supplies the "[c]" label for suppressed counts.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> flow = pd.DataFrame({"stage": ["Pre responses", "Linked pairs", "Analysed"],
    ...                      "n": [120, 80, 78], "excluded": [40, 2, None],
    ...                      "reasons": ["no post response", "< 10 incomplete", None]})
    >>> fig = plot_consort(flow)
    >>> sum("Analysed" in t.get_text() for t in fig.axes[0].texts)
    1
    """
    policy = policy or DisclosurePolicy()
    need_columns(flow, ["stage", "n"], "plot_consort")
    rows = flow.reset_index(drop=True)
    has_excl = "excluded" in rows.columns
    has_reason = "reasons" in rows.columns
    n_stages = len(rows)
    height = 1.0 + 1.25 * n_stages
    fig, ax = new_figure(7.0, height)
    with report_rc():
        ax.set_xlim(0, 10)
        ax.set_ylim(-height + 0.4, 0.6)
        ax.axis("off")
        step = 1.25
        for i, row in rows.iterrows():
            idx = int(str(i))
            y = -idx * step
            text = f"{row['stage']}\nn = {_flow_number(row['n'], policy)}"
            ax.add_patch(
                FancyBboxPatch(
                    (0.5, y - 0.35),
                    4.2,
                    0.7,
                    boxstyle="round,pad=0.02",
                    facecolor="#EAF2FA",
                    edgecolor=OKABE_ITO[0],
                )
            )
            ax.text(2.6, y, text, ha="center", va="center", fontsize=8.5, color=TEXT)
            if idx < n_stages - 1:
                ax.annotate(
                    "",
                    xy=(2.6, y - step + 0.37),
                    xytext=(2.6, y - 0.37),
                    arrowprops={"arrowstyle": "-|>", "color": "#444444"},
                )
            excluded = row["excluded"] if has_excl else None
            reasons = row["reasons"] if has_reason else None
            if (excluded is not None and not pd.isna(excluded)) or (
                isinstance(reasons, str) and reasons
            ):
                ym = y - step / 2
                lines = [f"Excluded: n = {_flow_number(excluded, policy)}"]
                if isinstance(reasons, str) and reasons:
                    lines += [f"  {part.strip()}" for part in reasons.split(";") if part.strip()]
                ax.annotate(
                    "",
                    xy=(5.4, ym),
                    xytext=(2.6, ym),
                    arrowprops={"arrowstyle": "-|>", "color": "#444444"},
                )
                box_h = 0.18 * len(lines) + 0.2
                ax.add_patch(
                    FancyBboxPatch(
                        (5.4, ym - box_h / 2),
                        4.3,
                        box_h,
                        boxstyle="round,pad=0.02",
                        facecolor="#FDF1E3",
                        edgecolor=OKABE_ITO[1],
                    )
                )
                ax.text(
                    5.55, ym, "\n".join(lines), ha="left", va="center", fontsize=7.5, color=TEXT
                )
        if title:
            ax.set_title(title, loc="left")
    return fig
