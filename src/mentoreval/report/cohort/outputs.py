"""Writing the cohort report's files: tables/*.csv, results.json and figures/*.png|svg.

Report stage: everything written has passed disclosure control in the analysis. The CSVs
are rounded for pasting (:func:`mentoreval.report.numbers.round_for_paste`); ``results.json``
keeps every table at full precision (``table_data``), and the report is drawn from it.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from mentoreval.disclose.formatting import HIDDEN_COUNTS
from mentoreval.report.cohort.alttexts import cohort_alt_texts
from mentoreval.report.cohort.results import (
    COMPARISON_TABLE_COLUMNS,
    RESULTS_VERSION,
    CohortResults,
)
from mentoreval.report.wording import format_headline, summary_line

if TYPE_CHECKING:  # pragma: no cover
    from mentoreval.report.helper import Helper

__all__ = ["write_cohort_outputs"]


def _comparison_columns(table: pd.DataFrame) -> list[str]:
    """The contract columns, plus ``group`` (one row per group) in a comparison design,
    ``bf10`` (the Bayes factor of the released paired t) and ``counts_hidden`` where a count
    is hidden to protect another (so it reads "[c]")."""
    extra = [c for c in ("group", "bf10", HIDDEN_COUNTS) if c in table.columns]
    return [*COMPARISON_TABLE_COLUMNS, *extra]


def write_cohort_outputs(
    results: CohortResults, out_dir: str | os.PathLike[str], *, helper: Helper | None = None
) -> dict[str, Path]:
    """Write ``tables/*.csv``, ``figures/*.png|svg`` and ``results.json`` into ``out_dir``.

    The CSVs are rounded for pasting; ``results.json`` holds the same tables at full
    precision under ``table_data`` (see :func:`mentoreval.outputs.table_json`).

    Parameters
    ----------
    results
        From :func:`analyse_cohort` (already disclosure-controlled).
    out_dir
        The report folder.
    helper
        A running :class:`~mentoreval.report.helper.Helper`: every second figure is saved
        there while this process writes the tables and the other figures (the files are
        the same byte for byte).

    Returns
    -------
    dict
        Name → path of each file written (``results``, ``table:<name>``,
        ``figure:<name>:png|svg``). ``results.json`` lists each figure's files and its
        alternative text (``figures[name]["alt"]``, from
        :func:`~mentoreval.report.cohort.alttexts.cohort_alt_texts`).
    """
    from mentoreval.outputs import table_json, to_jsonable, write_json, write_table
    from mentoreval.report.figures.charts import save_figure
    from mentoreval.report.helper import save_figure_pickled
    from mentoreval.report.numbers import round_for_paste

    folder = Path(out_dir)
    written: dict[str, Path] = {}
    # every second figure to the helper first, so it draws while this process goes on
    given = {
        name: helper.submit(save_figure_pickled, pickle.dumps(fig), str(folder / "figures" / name))
        for i, (name, fig) in enumerate(results.figures.items())
        if helper is not None and helper.enabled and i % 2
    }
    full: dict[str, dict[str, object]] = {}
    for name, table in results.tables.items():
        frame = table
        if name == "comparisons":
            frame = table[_comparison_columns(table)]
        full[name] = table_json(frame)
        path = folder / "tables" / f"{name}.csv"
        written[f"table:{name}"] = write_table(round_for_paste(frame), path)
    alt = cohort_alt_texts(
        results.tables, results.figures, design=results.design, info=results.info,
        confidence=results.confidence, policy=results.policy,
    )  # fmt: skip
    figures: dict[str, dict[str, str]] = {}
    saved = {
        name: save_figure(fig, folder / "figures" / name)
        for name, fig in results.figures.items()
        if name not in given
    }
    for name in results.figures:
        paths = given[name].result() if name in given else saved[name]
        figures[name] = {p.suffix[1:]: str(p.relative_to(folder)) for p in paths}
        figures[name]["alt"] = alt[name]
        for p in paths:
            written[f"figure:{name}:{p.suffix[1:]}"] = p
    comp = results.tables["comparisons"]
    payload = {
        "version": RESULTS_VERSION,
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
        "headline_lines": [
            summary_line(f, confidence=results.confidence, policy=results.policy)
            for f in results.headline
        ],
        "comparisons": to_jsonable(comp[_comparison_columns(comp)]),
        "info": to_jsonable(dict(results.info)),
        "tables": sorted(results.tables),
        "table_data": full,
        "figures": figures,
    }
    written["results"] = write_json(payload, folder / "results.json")
    return written
