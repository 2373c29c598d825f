"""Writing the annual report's files: tables/*.csv, figures, results.json, manifest.json, ledger.

Report stage: everything written has passed disclosure control in the analysis. The CSVs
are rounded for pasting (:func:`mentoreval.report.numbers.round_for_paste`); ``results.json``
keeps every table at full precision (``table_data``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mentoreval.report.annual.figures import annual_figure_files, figure_alt_texts
from mentoreval.report.annual.results import AnnualAnalysis
from mentoreval.store.parquet import (
    merge_release_ledger,
)

if TYPE_CHECKING:
    pass

__all__ = ["save_release_ledger", "write_annual_outputs"]


def save_release_ledger(analysis: AnnualAnalysis) -> Path:
    """Merge this report's releases into ``<store>/ledger/releases.json`` (under the store
    lock, so parallel reports on the same store keep each other's entries); see
    :func:`mentoreval.store.merge_release_ledger`."""
    return merge_release_ledger(analysis.config.store_root, analysis.ledger)


def write_annual_outputs(
    analysis: AnnualAnalysis,
    out_dir: str | os.PathLike[str],
    *,
    parameters: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write tables, figures, ``results.json`` and ``manifest.json``; record the release.

    Parameters
    ----------
    analysis
        From :func:`analyse_annual`.
    out_dir
        The report folder: ``tables/*.csv`` (rounded for pasting), ``figures/*.png|svg``,
        ``results.json`` (every table at full precision under ``table_data``, and each
        figure's files and alternative text), ``manifest.json``.
    parameters
        The report parameters, recorded in the manifest.

    Returns
    -------
    dict
        The manifest.
    """
    from mentoreval.config.paths import project_root
    from mentoreval.outputs import (
        build_manifest,
        publishable_path,
        table_json,
        write_json,
        write_table,
    )
    from mentoreval.report.figures.saving import write_figure_files
    from mentoreval.report.numbers import round_for_paste

    out = Path(out_dir)
    full: dict[str, dict[str, Any]] = {}
    for name, table in analysis.tables.items():
        if name == "cohorts":
            continue
        full[name] = table_json(table)
        write_table(round_for_paste(table), out / "tables" / f"{name}.csv")
    alt = figure_alt_texts(analysis)
    figures: dict[str, dict[str, str]] = {}
    # the figures the report has shown are written as shown, the others drawn here
    for name, files in annual_figure_files(analysis).items():
        paths = write_figure_files(files, out / "figures" / name)
        figures[name] = {p.suffix[1:]: str(p.relative_to(out)) for p in paths}
        figures[name]["alt"] = alt[name]
    pooled = analysis["pooled"]
    results = {
        "title": analysis.title,
        "programmes": sorted(set(analysis["cohorts"]["programme"])),
        "years": sorted({int(y) for y in analysis["cohorts"]["year"]}),
        "pooled": pooled.to_dict(orient="records"),
        "participation": analysis["participation"].to_dict(orient="records"),
        "trend_exclusions": analysis["trend_exclusions"].to_dict(orient="records"),
        "suppressed_rows": {
            name: int(t["suppressed"].sum())
            for name, t in analysis.tables.items()
            if "suppressed" in t.columns
        },
        "notes": list(analysis.notes),
        "table_data": full,
        "figures": figures,
    }
    write_json(results, out / "results.json")
    cfg = analysis.config
    inputs = [cfg.path, *(cfg.studies or ())]
    ledger_path = save_release_ledger(analysis)
    manifest = build_manifest(
        inputs=[Path(p) for p in inputs],
        parameters=dict(parameters or {}),
        key_fingerprint=None,
        extra={
            "store": publishable_path(cfg.store_root, project_root(cfg.path)),
            "cohorts": analysis["cohorts"].to_dict(orient="records"),
            "ledger": publishable_path(ledger_path, project_root(cfg.path)),
            "disclosure": {"profile": cfg.policy.profile, "threshold": cfg.policy.threshold},
        },
        repo=project_root(cfg.path),
        root=project_root(cfg.path),
    )
    write_json(manifest, out / "manifest.json")
    return manifest
