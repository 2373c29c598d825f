"""How the cohort report is run: ingest, analyse, write, template, HTML, PDF, Word, brief, scan.

Report stage (how it is run). :func:`run_cohort_report` is what ``mentoreval report`` runs, under
one progress bar; every pseudonym and raw id is a forbidden string in the egress scan.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mentoreval.config.disclosure import DisclosurePolicy
from mentoreval.report.cohort.designs import analyse_study
from mentoreval.report.cohort.inputs import load_processed
from mentoreval.report.cohort.outputs import write_cohort_outputs
from mentoreval.report.egress import files_to_scan
from mentoreval.report.runtime import kernel_log
from mentoreval.resources import bundled_path

if TYPE_CHECKING:  # pragma: no cover
    from mentoreval.config.study import Study
    from mentoreval.config.study_model import Sgic
    from mentoreval.report.egress import EgressScan
    from mentoreval.report.helper import Helper, Task
    from mentoreval.report.kernel import PrestartedKernel

__all__ = ["TEMPLATE", "run_cohort_report"]


#: The papermill template of the cohort report.
# notebooks/templates in a checkout (through the _bundled link), a copy in a wheel
TEMPLATE = bundled_path("templates", "cohort_report.ipynb")


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
        columns = _id_columns(src.id_column or cfg.participant_id.column, cfg.participant_id.sgic)
        if not columns:
            continue  # an anonymous survey: no id to look for
        table = read_export(
            study.resolve(src.path),
            format=src.format,
            encoding=src.encoding,
            dictionary=study.resolve(src.dictionary) if src.dictionary else None,
            sheet=src.sheet,
        )
        for column, shortest in columns.items():
            if column in table.data.columns:
                values = table.data[column].dropna().astype(str).str.strip()
                raw |= set(values[values.str.len() >= shortest])
    # a one- or two-character id would match ordinary text; they are not searched for
    return {
        "pseudonym": sorted(p for p in pseudonyms if len(p) >= 6),
        "raw id": sorted(r for r in raw if len(r) >= 3),
    }


def _id_columns(column: str | None, sgic: Sgic | None) -> dict[str, int]:
    """The export columns whose answers identify a student, each with the shortest answer
    searched for: the id column; of a self-generated code, its one code column or the
    answers of its free-text components (a name, a place; a letter, month or number alone
    is too short to search for).

    Examples
    --------
    >>> from mentoreval.config.study_model import Sgic
    >>> sgic = Sgic.model_validate({"components": [{"column": "mother", "kind": "text"},
    ...                                            {"column": "month", "kind": "month"}]})
    >>> _id_columns(None, sgic), _id_columns("sid", None)
    ({'mother': 4}, {'sid': 3})
    """
    out = {column: 3} if column else {}
    if sgic is not None and sgic.column is not None:
        out[sgic.column] = 3
    elif sgic is not None:
        out |= {c.column: 4 for c in sgic.components if c.kind == "text" and c.column}
    return out


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
    """Turn a study config into its cohort report and brief: HTML (+ PDF) and Word, tables,
    figures, JSON.

    Stages (one progress bar): ingest, analyse, write results, execute the template
    (papermill, kernel ``python3``, parameters checked and cast), HTML, PDF, Word
    (``cohort_report.docx``), the two-page brief (``brief.html|pdf|docx``), manifest,
    egress scan (of every file, the brief and the Word files included). The report is built in a staging folder next to ``out_dir`` and moved
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
    from mentoreval.outputs import publishable_path, write_json
    from mentoreval.report.notebook import cast_parameters
    from mentoreval.safefs import OutputFolder
    from mentoreval.store.parquet import load_release_ledger, merge_release_ledger

    config = Path(study_config).resolve()
    study = load_study(config)
    final = Path(out_dir) if out_dir else project_root(config) / "reports" / study.name
    stages = ["ingest", "analyse", "write", "execute", "HTML", "Word", "brief", "egress scan",
              *(["PDF"] if pdf else []), "manifest"]  # fmt: skip
    with (
        OutputFolder(
            final,
            kind="cohort report",
            protected=study.input_files(),
            raw_folders=study.raw_folders(),
            key="--out",
        ) as output,  # fmt: skip
        tqdm(total=len(stages), desc="report", unit="stage", disable=not progress) as bar,
        contextlib.ExitStack() as stack,
    ):

        def stage(name: str) -> None:
            bar.set_postfix_str(name)

        stage("ingest")
        processed = Path(processed_dir) if processed_dir else default_out_dir(study)
        ingested = ingest_study(config, out_dir=processed)
        kernel, helper = _start_processes(stack, output.final, project_root(config), progress)
        bar.update()
        stage("analyse")
        store = Path(store_root) if store_root else default_store_root(config)
        ledger = load_release_ledger(store) if use_ledger else None
        results = analyse_study(ingested, study, policy=policy, ledger=ledger,
                                use_ledger=use_ledger)  # fmt: skip
        bar.update()
        stage("write")
        staging = output.staging
        write_cohort_outputs(results, staging, helper=helper)
        # Paths relative to the project, and the notebook runs there: the published
        # notebook and manifest never show a user's home folder.
        root = project_root(config)
        parameters = {
            "study_config": publishable_path(config, root),
            "processed_dir": publishable_path(processed, root),
            "output_dir": publishable_path(staging, root),
            "title": results.title,
        }
        cast_parameters(TEMPLATE, parameters)
        bar.update()
        stage("execute")
        manifest = _manifest(study, config, ingested, results, parameters, root)
        write_json(manifest, staging / "manifest.json")
        # what is written so far is scanned while the kernel runs the template
        scan = functools.partial(_scan_written, study, ingested, root, files_to_scan([staging]))
        printing, scanned = _execute_and_render(
            stage, bar, staging, parameters, root=root, title=results.title, pdf=pdf,
            log=kernel_log(output.final, progress), kernel=kernel, helper=helper, scan=scan,
        )  # fmt: skip
        _finish(manifest, staging, scanned, bar=bar, stage=stage, pdf=printing)
        final = output.commit()
    if results.ledger is not None:
        merge_release_ledger(store, results.ledger)
    return final / "cohort_report.html"


def _manifest(
    study: Study,
    config: Path,
    ingested: Any,
    results: Any,
    parameters: Mapping[str, str],
    root: Path,
) -> dict[str, Any]:
    """The run's manifest: inputs and their hashes, parameters, key fingerprint, policy."""
    from mentoreval.outputs import build_manifest

    inputs = [config, *(study.resolve(s.path) for s in study.config.sources)]
    return build_manifest(
        inputs=[p for p in inputs if p.is_file()],
        parameters={k: v for k, v in parameters.items() if k != "output_dir"},
        key_fingerprint=ingested.manifest.get("key_fingerprint"),
        extra={
            "study": study.name,
            "disclosure": {"profile": results.policy.profile, "k": results.policy.threshold},
            "design": results.design,
        },
        repo=Path(__file__).parent,
        root=root,
    )


def _start_processes(
    stack: contextlib.ExitStack, final: Path, root: Path, progress: bool
) -> tuple[PrestartedKernel, Helper]:
    """The template's kernel and the helper process, started now so they start and import
    the report stack while the analysis runs (their start-up messages, and anything the
    helper prints later, to the kernel log); ``stack`` stops both."""
    from mentoreval.report.helper import Helper
    from mentoreval.report.kernel import PrestartedKernel

    with kernel_log(final, progress):
        helper = stack.enter_context(Helper())
        return stack.enter_context(PrestartedKernel(cwd=root)), helper


def _scan_written(study: Study, ingested: Any, root: Path, files: list[Path]) -> EgressScan:
    """An egress scan of the report (every pseudonym, raw id and local path forbidden)
    that has read ``files``: the tables, figures and results written before the template
    runs, scanned in a thread meanwhile (not the manifest, rewritten at the end)."""
    from mentoreval.outputs import local_paths
    from mentoreval.report.egress import EgressScan

    forbidden = _forbidden(study, load_processed(ingested))
    forbidden["local path"] = local_paths(root)
    scan = EgressScan(forbidden)
    scan.add(f for f in files if f.name != "manifest.json")
    return scan


def _finish(
    manifest: dict[str, Any],
    staging: Path,
    scan: EgressScan,
    *,
    bar: Any,
    stage: Callable[[str], None],
    pdf: Task[Path] | None,
) -> None:
    """The rest of the egress scan, in two parts around the PDF the helper is printing:
    every other file not yet read, then the PDF and the manifest (with every output
    listed) once the PDF is there; then one verdict for the whole folder."""
    from mentoreval.outputs import write_json
    from mentoreval.safefs import MARKER

    stage("egress scan")
    last = {staging / "cohort_report.pdf", staging / "manifest.json"}  # scanned when final
    scan.add(p for p in scan.pending([staging]) if p not in last)
    bar.update()
    if pdf is not None:
        stage("PDF")
        pdf.result()
        bar.update()
    stage("manifest")
    manifest["outputs"] = sorted(
        str(p.relative_to(staging)) for p in staging.rglob("*") if p.is_file() and p.name != MARKER
    )
    write_json(manifest, staging / "manifest.json")
    scan.add(scan.pending([staging]))  # the PDF and the manifest
    scan.check()
    bar.update()


def _execute_and_render(
    stage: Callable[[str], None],
    bar: Any,
    staging: Path,
    parameters: Mapping[str, str],
    *,
    root: Path,
    title: str,
    pdf: bool,
    log: contextlib.AbstractContextManager[None],
    kernel: PrestartedKernel,
    helper: Helper,
    scan: Callable[[], EgressScan],
) -> tuple[Task[Path] | None, EgressScan]:
    """Execute the template, then HTML, then the PDF (in the helper: returned, still
    printing) and Word. Meanwhile the helper writes the brief and a thread runs ``scan``
    (the files written before the template ran); the scan is returned.

    The brief reads only what :func:`write_cohort_outputs` wrote (``results.json`` and the
    figures), not the notebook, so it is made while the kernel (a separate process) runs
    the template. Errors of both are raised here, after the notebook.
    """
    from mentoreval.report.cohort.brief import write_cohort_brief
    from mentoreval.report.notebook import run_notebook
    from mentoreval.report.render import render_html, render_pdf
    from mentoreval.report.word import html_to_docx

    brief = helper.submit(functools.partial(write_cohort_brief, pdf=pdf), staging)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="scan") as pool:
        scanned = pool.submit(scan)
        with log:
            notebook = run_notebook(
                TEMPLATE,
                staging / "cohort_report.ipynb",
                parameters=dict(parameters),
                cwd=root,
                progress=False,
                km=kernel.km,
            )
            kernel.close()
        bar.update()
        stage("HTML")
        html = render_html(notebook, staging / "cohort_report.html", title=title)
        bar.update()
        printing = helper.submit(render_pdf, html, staging / "cohort_report.pdf") if pdf else None
        stage("Word")
        html_to_docx(html, staging / "cohort_report.docx")
        bar.update()
        stage("brief")
        brief.result()
        bar.update()
        return printing, scanned.result()
