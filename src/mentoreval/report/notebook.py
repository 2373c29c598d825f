"""Executing a report template with papermill, safely, and building the report outputs.

Report stage. Papermill neither validates parameter names (an unknown name only warns,
and a name is pasted into code unescaped) nor checks types (``numpy.int64(5)`` arrives as
``"5"``). :func:`run_notebook` therefore reads the template's ``parameters`` cell with
``papermill.inspect_notebook``, accepts only declared names matching ``^[A-Za-z_]\\w*$``,
casts each value to the declared annotation (``str``, ``int``, ``float``, ``bool``,
``list``, ``dict``, ``Path`` → ``str``; ``X | None`` allows ``None``) and always runs the
``python3`` kernel, started quietly over IPC (:mod:`mentoreval.report.kernel`). A failing
cell becomes a one-line :class:`~mentoreval.errors.ReportError` naming the section (the
nearest markdown heading above it); the partial notebook is kept.

:func:`build_report` chains the stages — execute, HTML, PDF, egress scan — under one
progress bar.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mentoreval.errors import Problem, ReportError
from mentoreval.report.runtime import skip_iri_grammars

if TYPE_CHECKING:  # pragma: no cover
    from mentoreval.report.helper import Helper

skip_iri_grammars()  # nbformat/papermill import 1.4 s faster (see its docstring)

__all__ = ["ReportOutputs", "build_report", "cast_parameters", "run_notebook"]

_NAME = re.compile(r"^[A-Za-z_]\w*$")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}


class _CastError(ValueError):
    pass


def _plain(value: Any) -> Any:
    """numpy scalars and paths inside lists/dicts → builtins (papermill quotes others)."""
    from mentoreval.outputs import to_jsonable

    try:
        return to_jsonable(value)
    except ReportError as exc:
        raise _CastError(str(exc)) from exc


def _cast_one(value: Any, type_name: str) -> Any:
    import numpy as np

    kind = type_name.replace(" ", "")
    optional = False
    for pattern in (r"^Optional\[(.+)\]$", r"^(.+)\|None$", r"^None\|(.+)$"):
        match = re.match(pattern, kind)
        if match:
            kind, optional = match.group(1), True
    kind = kind.rsplit(".", 1)[-1]  # pathlib.Path -> Path
    kind = re.sub(r"\[.*\]$", "", kind)  # list[str] -> list
    if value is None:
        if optional or kind in ("None", "NoneType"):
            return None
        raise _CastError("None is not allowed")
    if kind == "str":
        if isinstance(value, str):
            return value
        if isinstance(value, os.PathLike):
            return os.fspath(value)
        if isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_):
            return str(int(value))
        raise _CastError(f"expected text, got {type(value).__name__}")
    if kind == "Path":
        if isinstance(value, str | os.PathLike):
            return os.fspath(value)
        raise _CastError(f"expected a path, got {type(value).__name__}")
    if kind == "bool":
        if isinstance(value, bool | np.bool_):
            return bool(value)
        if isinstance(value, int | np.integer) and int(value) in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise _CastError("expected true/false")
    if kind == "int":
        if isinstance(value, bool | np.bool_):
            raise _CastError("expected a whole number, got a boolean")
        if isinstance(value, int | np.integer):
            return int(value)
        if isinstance(value, float | np.floating) and float(value).is_integer():
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
            return int(value)
        raise _CastError("expected a whole number")
    if kind == "float":
        if isinstance(value, bool | np.bool_):
            raise _CastError("expected a number, got a boolean")
        if isinstance(value, int | float | np.integer | np.floating):
            return float(value)
        if isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                raise _CastError("expected a number") from None
            if math.isfinite(number):
                return number
        raise _CastError("expected a number")
    if kind in ("list", "List", "Sequence", "tuple"):
        if isinstance(value, list | tuple | np.ndarray):
            return [_plain(v) for v in value]
        raise _CastError(f"expected a list, got {type(value).__name__}")
    if kind in ("dict", "Dict", "Mapping"):
        if isinstance(value, Mapping):
            return {str(k): _plain(v) for k, v in value.items()}
        raise _CastError(f"expected a mapping, got {type(value).__name__}")
    # Unannotated or unusual annotation: pass plain values through unchanged.
    plain = _plain(value)
    if isinstance(plain, str | int | float | bool | list | dict):
        return plain
    raise _CastError(f"cannot pass a {type(value).__name__}")


def cast_parameters(
    template: str | os.PathLike[str], parameters: Mapping[str, Any]
) -> dict[str, Any]:
    """Check parameter names against the template and cast values to declared types.

    Parameters
    ----------
    template
        The notebook whose ``parameters``-tagged cell declares the parameters, each
        annotated (``cohort: str = "2025"  # cohort label``).
    parameters
        The values to inject.

    Returns
    -------
    dict
        Names → values cast to builtins papermill writes faithfully.

    Raises
    ------
    ReportError
        Listing every bad name (invalid, or not declared, with the declared ones) and
        every value that cannot be cast to its declared type.
    """
    import papermill as pm

    path = Path(template)
    if not path.is_file():
        raise ReportError(
            "report template not found",
            (Problem("no such file", file=str(path), fix="check the template path"),),
        )
    declared: dict[str, Any] = pm.inspect_notebook(str(path))
    valid = ", ".join(sorted(declared)) or "(none: tag a cell 'parameters')"
    problems: list[Problem] = []
    cast: dict[str, Any] = {}
    for name, value in parameters.items():
        if not isinstance(name, str) or not _NAME.match(name):
            problems.append(
                Problem(
                    f"invalid parameter name {str(name)[:40]!r}",
                    file=str(path),
                    fix="use a Python identifier",
                )
            )
            continue
        if name not in declared:
            problems.append(
                Problem(
                    f"unknown parameter {name!r}",
                    file=str(path),
                    key="parameters",
                    fix=f"use one of: {valid}",
                )
            )
            continue
        type_name = str(declared[name].get("inferred_type_name") or "None")
        try:
            cast[name] = _cast_one(value, type_name)
        except _CastError as exc:
            problems.append(
                Problem(
                    f"parameter {name!r}={str(value)[:60]!r} is not a {type_name}: {exc}",
                    file=str(path),
                    key=f"parameters.{name}",
                    fix=f"pass a {type_name}",
                )
            )
    if problems:
        noun = "problem" if len(problems) == 1 else "problems"
        raise ReportError(f"{len(problems)} parameter {noun} for {path.name}", problems)
    return cast


def _failed_section(output: Path) -> str:
    """The nearest markdown heading above the first cell holding an error output."""
    import nbformat

    try:
        nb = nbformat.read(output, as_version=4)
    except (OSError, ValueError):
        return "unknown"
    heading = "before the first heading"
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            found = _HEADING.findall(cell.source)
            if found:
                heading = found[-1].strip()
        elif any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            return str(heading)
    return str(heading)


def run_notebook(
    template: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    parameters: Mapping[str, Any],
    cwd: str | os.PathLike[str] | None = None,
    progress: bool = True,
    execution_timeout: int | None = None,
    km: Any = None,
) -> Path:
    """Execute a report template with validated, cast parameters.

    Parameters
    ----------
    template
        The ``.ipynb`` template with one ``parameters``-tagged, annotated cell.
    output
        Where to write the executed notebook (folders are created). On failure the
        partial notebook stays here for inspection.
    parameters
        Values to inject; see :func:`cast_parameters`.
    cwd
        Working directory of the kernel (for relative paths in the template).
    progress
        Show a progress bar over the stages (check parameters, execute).
    execution_timeout
        Seconds allowed per cell (``None``: no limit).
    km
        A kernel manager whose kernel is already running (from
        :class:`~mentoreval.report.kernel.PrestartedKernel`, which then also stops it);
        ``None`` starts a fresh kernel for this run.

    Returns
    -------
    pathlib.Path
        The executed notebook.

    Raises
    ------
    ReportError
        Bad parameters (all listed), or ``section '<heading>' failed: <Error>: <message>``
        when a cell fails, or when the kernel dies.
    """
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError
    from tqdm.auto import tqdm

    from mentoreval.report.kernel import QuietKernelManager

    target = Path(output)
    with tqdm(total=2, desc="report", unit="stage", disable=not progress, leave=False) as bar:
        bar.set_postfix_str("check parameters")
        cast = cast_parameters(template, parameters)
        bar.update()
        target.parent.mkdir(parents=True, exist_ok=True)
        bar.set_postfix_str("execute")
        try:
            pm.execute_notebook(
                str(template),
                str(target),
                parameters=cast,
                kernel_name="python3",
                kernel_manager_class=QuietKernelManager,  # IPC, no shutdown interrupt
                progress_bar=False,
                cwd=None if cwd is None else str(cwd),
                execution_timeout=execution_timeout,
                log_output=False,
                km=km,  # None: papermill starts (and stops) a kernel of its own
            )
        except PapermillExecutionError as exc:
            section = _failed_section(target)
            evalue = (str(exc.evalue).strip().splitlines() or [""])[0]
            message = f"section '{section}' failed: {exc.ename}: {evalue}"
            raise ReportError(
                message,
                (
                    Problem(
                        message,
                        file=str(target),
                        fix="open the partial notebook at this path to see the failing cell",
                    ),
                ),
            ) from None
        except (RuntimeError, OSError, ValueError) as exc:
            # DeadKernelError and kernel start-up failures land here
            message = f"the report kernel failed: {type(exc).__name__}: {exc}"
            raise ReportError(message, (Problem(message, file=str(target)),)) from exc
        _publishable_metadata(target, template)
        bar.update()
    return target


def _publishable_metadata(notebook: Path, template: str | os.PathLike[str]) -> None:
    """Papermill records the absolute template and output paths in the notebook's
    metadata; a published notebook keeps only the file names (no home folder)."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    meta = nb.metadata.get("papermill", {})
    meta.update(input_path=Path(template).name, output_path=notebook.name)
    nbformat.write(nb, notebook)


@dataclass(frozen=True)
class ReportOutputs:
    """The files of one report run."""

    notebook: Path
    html: Path
    pdf: Path | None
    scanned: tuple[Path, ...]
    docx: Path | None = None


def build_report(
    template: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    parameters: Mapping[str, Any],
    name: str = "cohort_report",
    pdf: bool = True,
    forbidden: Iterable[str] | Mapping[str, Iterable[str]] = (),
    cwd: str | os.PathLike[str] | None = None,
    progress: bool = True,
    title: str | None = None,
    km: Any = None,
    helper: Helper | None = None,
) -> ReportOutputs:
    """Execute, render and scan a report: ``<out_dir>/<name>.ipynb|.html|.pdf|.docx``.

    Stages, shown on one progress bar: parameters, execute, HTML, PDF, Word, egress scan.
    Everything in ``out_dir`` (tables, figures, JSON written by the notebook) is
    scanned for the ``forbidden`` strings; see :func:`mentoreval.report.egress.egress_scan`.
    ``title`` is the HTML ``<title>`` (and so the PDF's and Word file's title); by default
    the notebook's. ``km``: a running kernel's manager, as for :func:`run_notebook`.
    ``helper``: a running :class:`~mentoreval.report.helper.Helper`, which prints the PDF
    while this process writes the Word file and scans every other file.

    Returns
    -------
    ReportOutputs
        Paths of the executed notebook, HTML, PDF (``None`` with ``pdf=False``), Word
        file and the files scanned.

    Raises
    ------
    ReportError
        When a stage fails.
    DisclosureError
        When the egress scan finds a leak.
    """
    from tqdm.auto import tqdm

    from mentoreval.report.egress import EgressScan
    from mentoreval.report.helper import Helper
    from mentoreval.report.render import render_html, render_pdf
    from mentoreval.report.word import html_to_docx

    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    notebook = folder / f"{name}.ipynb"
    html = folder / f"{name}.html"
    pdf_path = folder / f"{name}.pdf" if pdf else None
    stages = ["parameters", "execute", "HTML", "Word", "egress scan", *(["PDF"] if pdf else [])]
    with tqdm(total=len(stages), desc=name, unit="stage", disable=not progress) as bar:
        bar.set_postfix_str(stages[0])
        cast_parameters(template, parameters)
        bar.update()
        bar.set_postfix_str("execute")
        run_notebook(template, notebook, parameters=parameters, cwd=cwd, progress=False, km=km)
        bar.update()
        bar.set_postfix_str("HTML")
        render_html(notebook, html, title=title)
        bar.update()
        # the PDF prints (in the helper when there is one) while Word and the scan go on
        printing = (
            (helper or Helper(enabled=False)).submit(render_pdf, html, pdf_path)
            if pdf_path
            else None
        )
        bar.set_postfix_str("Word")
        html_to_docx(html, folder / f"{name}.docx")
        bar.update()
        bar.set_postfix_str("egress scan")
        scan = EgressScan(forbidden)
        scan.add(p for p in scan.pending([folder]) if p != pdf_path)
        bar.update()
        if printing is not None:
            bar.set_postfix_str("PDF")
            printing.result()
            scan.add(scan.pending([folder]))
            bar.update()
        scan.check()
    return ReportOutputs(
        notebook=notebook, html=html, pdf=pdf_path, scanned=tuple(scan.scanned),
        docx=folder / f"{name}.docx",
    )  # fmt: skip
