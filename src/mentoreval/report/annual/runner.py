"""How the annual report is run: analyse → write → execute the template → HTML → PDF → scan.

Report stage (how it is run); ``mentoreval annual`` and the batch runner call
:func:`run_annual_report`.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from mentoreval.config.annual import AnnualConfig, load_annual_config
from mentoreval.report.annual.inputs import (
    select_cohorts,
    store_table,
)
from mentoreval.report.annual.results import annual_title
from mentoreval.resources import bundled_path
from mentoreval.store.cohorts import update_store

if TYPE_CHECKING:
    from mentoreval.report.notebook import ReportOutputs

__all__ = ["TEMPLATE", "annual_forbidden", "run_annual_report"]

#: The papermill template of the annual report.
# notebooks/templates in a checkout (through the _bundled link), a copy in a wheel
TEMPLATE = bundled_path("templates", "annual_report.ipynb")
#: What the annual report's kernel imports while the store is updated (a constant).
ANNUAL_WARM_UP = "import mentoreval.report.annual, mentoreval.report.figures.charts"


def annual_forbidden(config: AnnualConfig) -> dict[str, list[str]]:
    """Strings that must never reach the report: every pseudonym of the cohorts included."""
    cohorts = select_cohorts(config)
    people = store_table(config, "participants", cohorts)
    ids = people.get("participant_id", pd.Series(dtype=str)).dropna().astype(str)
    return {"pseudonym": sorted(set(ids))}


def run_annual_report(
    config: str | os.PathLike[str],
    *,
    out_dir: str | os.PathLike[str] | None = None,
    pdf: bool = True,
    progress: bool = True,
    template: str | os.PathLike[str] | None = None,
    store_root: str | os.PathLike[str] | None = None,
) -> ReportOutputs:
    """Run the annual report: update the store, execute the template (which also writes
    the brief, ``brief.html|pdf|docx``), render HTML, PDF and Word, scan every file.

    Parameters
    ----------
    config
        ``annual.yaml``.
    out_dir
        Report folder (default ``<project>/reports/<config name>``).
    pdf
        Also render the PDFs (report and brief).
    progress
        Show the progress bar.
    template
        Another template (default ``notebooks/templates/annual_report.ipynb``).
    store_root
        The store to read (and to file listed studies into) instead of the config's
        (``store:``, default ``<project>/data/store``); ``mentoreval demo`` keeps its
        cohorts in a store of its own this way.

    Returns
    -------
    mentoreval.report.notebook.ReportOutputs

    Examples
    --------
    >>> run_annual_report("data/demo/peer/annual.yaml")  # doctest: +SKIP
    """
    from mentoreval.config.paths import project_root
    from mentoreval.outputs import local_paths, publishable_path
    from mentoreval.report.helper import Helper
    from mentoreval.report.kernel import PrestartedKernel
    from mentoreval.report.notebook import ReportOutputs, build_report
    from mentoreval.report.runtime import kernel_log
    from mentoreval.safefs import OutputFolder

    cfg = load_annual_config(config)
    if store_root is not None:
        cfg = replace(cfg, store_root=Path(store_root).resolve())
    folder = Path(out_dir) if out_dir is not None else project_root(cfg.path) / "reports" / cfg.name
    protected = [cfg.path, *(cfg.studies or ())]
    with (
        OutputFolder(folder, kind="annual report", protected=protected, key="--out") as output,
        contextlib.ExitStack() as stack,
    ):
        # the template's kernel starts (and imports the report stack) while the store is
        # brought up to date
        with kernel_log(output.final, progress):
            helper = stack.enter_context(Helper())  # prints the PDF while Word is written
            kernel = stack.enter_context(
                PrestartedKernel(cwd=project_root(cfg.path), warm_up=ANNUAL_WARM_UP)
            )
        update_store(cfg, echo=progress)
        cohorts = select_cohorts(cfg)
        title = annual_title(cfg.title, cohorts["programme"], cohorts["year"])
        with kernel_log(output.final, progress):
            root = project_root(cfg.path)  # paths relative to it: no home folder published
            forbidden = annual_forbidden(cfg)
            forbidden["local path"] = local_paths(root)
            parameters = {
                "config": publishable_path(cfg.path, root),
                "out_dir": publishable_path(output.staging, root),
            }
            if store_root is not None:
                parameters["store"] = publishable_path(cfg.store_root, root)
            built = build_report(
                template or TEMPLATE,
                output.staging,
                parameters={**parameters, "pdf": pdf},
                name="annual_report",
                pdf=pdf,
                forbidden=forbidden,
                cwd=root,
                progress=progress,
                title=title,
                km=kernel.km,
                helper=helper,
            )
        staging = output.staging
        final = output.commit()
    return ReportOutputs(
        notebook=final / built.notebook.name,
        html=final / built.html.name,
        pdf=final / built.pdf.name if built.pdf is not None else None,
        scanned=tuple(final / p.relative_to(staging) for p in built.scanned),
        docx=final / built.docx.name if built.docx is not None else None,
    )
