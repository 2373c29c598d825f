"""Writing the processed tables of an ingest (``data/processed/<study>/``).

``responses.parquet`` is written during the run, as soon as the item tables exist
(:func:`mentoreval.ingest.responses.write_responses`); :func:`write_processed` writes the
other tables and ``manifest.json`` beside it in the staging folder and puts the folder in
place of the earlier one. CSV cells that a spreadsheet would run as a formula are
neutralised (:func:`for_csv`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from mentoreval.outputs import json_text, neutralise_formula
from mentoreval.safefs import OutputFolder

__all__ = ["for_csv", "write_processed"]


def for_csv(q: pd.DataFrame) -> pd.DataFrame:
    """A processed table with spreadsheet formulas neutralised: raw cells, and labels from the
    config such as wave names, can hold any text.

    Text cells starting with ``= + - @``, a tab, a carriage return or a NUL get a leading
    ``'`` (as :func:`mentoreval.report.tables.write_table` does); every other cell is unchanged, so
    the file is byte-identical whenever nothing needs neutralising.
    """
    out = q
    for column in q.columns:
        series = q[column]
        if isinstance(series.dtype, pd.CategoricalDtype):  # wave, source: labels from a config
            labels = [neutralise_formula(c) for c in series.cat.categories]
            if labels != list(series.cat.categories):
                if out is q:
                    out = q.copy()
                out[column] = series.cat.rename_categories(labels)
            continue
        if not (series.dtype == object or pd.api.types.is_string_dtype(series.dtype)):
            continue
        if any(neutralise_formula(v) != v for v in series.dropna().unique()):
            if out is q:
                out = q.copy()
            out[column] = series.map(neutralise_formula).astype(series.dtype)
    return out


def write_processed(
    output: OutputFolder,
    *,
    scores: pd.DataFrame,
    participants: pd.DataFrame,
    quarantine: pd.DataFrame,
    quality: pd.DataFrame,
    linkage: pd.DataFrame,
    manifest: dict[str, Any],
) -> None:
    """Write the processed tables beside ``responses.parquet`` (written during the run)
    and put the folder in place of the earlier one."""
    out_dir = output.staging
    scores.to_parquet(out_dir / "scores.parquet", index=False)
    participants.to_parquet(out_dir / "participants.parquet", index=False)
    for_csv(quarantine).to_csv(out_dir / "quarantine.csv", index=False)
    for_csv(quality).to_csv(out_dir / "quality.csv", index=False)
    for_csv(linkage).to_csv(out_dir / "linkage.csv", index=False)
    (out_dir / "manifest.json").write_text(
        json_text(manifest, sort_keys=False) + "\n", encoding="utf-8"
    )
    output.commit()
