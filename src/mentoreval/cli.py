"""The ``mentoreval`` command line (typer).

Every command is a thin call into the library. User-caused failures (a
:class:`~mentoreval.errors.MentorevalError`) print one headline — plus the list of located
problems when there are several — and exit with code 2; tracebacks appear only with
``--debug``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

try:  # typer >= 0.20 vendors click and raises its own copies of click's exceptions
    from typer._click import exceptions as click_exceptions
except ImportError:  # pragma: no cover - older typer on plain click
    from click import exceptions as click_exceptions  # type: ignore[no-redef]

from mentoreval import __version__
from mentoreval.errors import MentorevalError, describe_os_error


class _Interrupted(Exception):
    """Ctrl-C during a command (typer would turn it into a silent exit 130)."""


class _Group(TyperGroup):
    """The top-level command group: lets an interruption reach :func:`main`, which says so."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:
            raise _Interrupted() from exc


app = typer.Typer(
    cls=_Group,
    name="mentoreval",
    help=(
        "Evaluate a mentorship programme from its pre/post survey exports: read and link the "
        "exports, score the scales, compare them the way a methodologist would and write a "
        "report a committee can read."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
instruments_app = typer.Typer(
    help="List, show, score and export the instrument definitions (questionnaires).",
    no_args_is_help=True,
)
app.add_typer(instruments_app, name="instruments")

_state = {"debug": False}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mentoreval {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show full tracebacks for errors (for bug reports).")
    ] = False,
) -> None:
    _state["debug"] = debug


# --------------------------------------------------------------------------- instruments


@instruments_app.command("list")
def instruments_list(
    dirs: Annotated[
        list[Path] | None,
        typer.Option("--dir", help="Extra folder of instrument YAML files (repeatable)."),
    ] = None,
) -> None:
    """List the available instruments: domain, items, scales and licence."""
    from mentoreval.instruments.definitions import list_instruments

    table = list_instruments(dirs=dirs)
    table["text"] = table.pop("item_text_shipped").map({True: "shipped", False: "not shipped"})
    typer.echo(table.drop(columns=["licence"]).to_string(index=False))


@instruments_app.command("show")
def instruments_show(
    instrument: Annotated[str, typer.Argument(help="Instrument id (e.g. who5) or a YAML path.")],
    dirs: Annotated[
        list[Path] | None,
        typer.Option("--dir", help="Extra folder of instrument YAML files (repeatable)."),
    ] = None,
) -> None:
    """Show one instrument: citation, licence, response scale, items and scoring rules."""
    from mentoreval.instruments.definitions import load_instrument

    inst = load_instrument(instrument, dirs=dirs)
    typer.echo(f"{inst.title} ({inst.id}, version {inst.version}) — domain: {inst.domain}")
    typer.echo(f"Citation: {inst.citation or 'none (a local instrument)'}")
    text = "item text shipped" if inst.licence.ship_item_text else "item text NOT shipped"
    typer.echo(f"Licence: {inst.licence.name} [{text}]")
    if inst.recall_period:
        typer.echo(f"Recall period: {inst.recall_period}")
    for name, rs in inst.response_scales.items():
        options = ", ".join(f"{c:g} = {lab}" for c, lab in zip(rs.codes, rs.labels, strict=True))
        missing = "".join(f"; {m.code:g} = missing ({m.reason})" for m in rs.missing)
        typer.echo(f"Response scale {name!r}: {options}{missing}")
    typer.echo("\nItems:")
    items = inst.items_frame()
    items["text"] = items["text"].fillna("(text not shipped)")
    items["reverse"] = items["reverse"].map({True: "reversed", False: ""})
    typer.echo(items[["item", "reverse", "scales", "text"]].to_string(index=False))
    typer.echo("\nScales:")
    typer.echo(inst.scales_frame().to_string(index=False))
    if inst.notes:
        typer.echo(f"\nNotes: {inst.notes}")


@instruments_app.command("new")
def instruments_new(
    items: Annotated[int, typer.Option("--items", min=1, max=500, help="Number of items.")],
    scale: Annotated[
        str, typer.Option("--scale", help="Response codes as low-high, e.g. 1-4 or 0-5.")
    ] = "1-5",
    reverse: Annotated[
        str | None,
        typer.Option("--reverse", help="Reverse-keyed item numbers, e.g. 1,2,5."),
    ] = None,
    inst_id: Annotated[
        str, typer.Option("--id", help="The instrument id (lower case; the file's name).")
    ] = "local_items",
) -> None:
    """Print a starter definition of a local instrument (save it as <id>.yaml and fill in
    the TODOs): mentoreval instruments new --items 20 --scale 1-4 --reverse 1,2,5 > my.yaml"""
    from mentoreval.instruments.definitions import check_definition_text
    from mentoreval.instruments.local import parse_codes, parse_reverse, starter_yaml

    low, high = parse_codes(scale)
    text = starter_yaml(inst_id, items, low, high, parse_reverse(reverse, items))
    check_definition_text(text, f"{inst_id}.yaml")
    typer.echo(text, nl=False)


@instruments_app.command("score")
def instruments_score(
    instrument: Annotated[str, typer.Argument(help="Instrument id (e.g. who5) or a YAML path.")],
    input: Annotated[
        Path,
        typer.Option(
            "--input", help="Wide CSV: participant_id, wave, then one column per item id."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Where to write the scores CSV.")],
) -> None:
    """Score a clean wide CSV of item answers and write the scores table."""
    from mentoreval.instruments.scoring import read_wide_csv, score_wide

    scores = score_wide(read_wide_csv(input), instrument, source=str(input))
    out.parent.mkdir(parents=True, exist_ok=True)
    scores.to_csv(out, index=False)
    n_missing = int(scores["score"].isna().sum())
    typer.echo(
        f"Wrote {len(scores)} scores ({n_missing} not scorable, "
        f"{int(scores['prorated'].sum())} prorated) to {out}"
    )


@instruments_app.command("export")
def instruments_export(
    ids: Annotated[list[str], typer.Argument(help="Instrument ids (e.g. who5 cbi, or who5,cbi).")],
    to: Annotated[
        str,
        typer.Option(
            "--to", help="redcap (data dictionary CSV) or qualtrics (Advanced Format TXT)."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="The file to write.")],
) -> None:
    """Write a REDCap data dictionary or a Qualtrics TXT survey for the instruments."""
    from mentoreval.instruments.export import export_instruments

    names = [part for i in ids for part in i.split(",") if part]
    path = export_instruments(names, to=to, out=out)  # type: ignore[arg-type]
    typer.echo(f"Wrote {to} survey for {', '.join(names)} to {path}")


# --------------------------------------------------------------------------- ingestion


@app.command("init")
def init(
    exports: Annotated[
        list[Path], typer.Argument(help="Export files, or folders of them (dictionary included).")
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Where to write the config (default: study.yaml beside the exports' folder).",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
    dirs: Annotated[
        list[Path] | None,
        typer.Option("--dir", help="Extra folder of instrument YAML files (repeatable)."),
    ] = None,
) -> None:
    """Draft a commented study.yaml from exports: roles, waves, items; TODOs where unsure."""
    from mentoreval.draft.console import run_init

    run_init(exports, out=out, force=force, instrument_dirs=dirs)


@app.command("validate")
def validate(
    study: Annotated[Path, typer.Argument(help="The study config (study.yaml).")],
    lenient: Annotated[
        bool,
        typer.Option("--lenient", help="Exit 0 when only rows/answers would be quarantined."),
    ] = False,
) -> None:
    """Read every export of a study, write nothing, and list every problem.

    Exit 2 when ingest would stop (config, file, id column, item column, event, key), or when
    rows or answers would be quarantined (unknown answers, bad ids) unless --lenient.
    Warnings (identifying or unmapped columns that will be dropped) and notes (duplicates
    resolved by quality.duplicates, previews excluded by a source's exclude) exit 0.
    """
    from mentoreval.ingest.pipeline import check_study

    line = _design_line(study)
    if line:
        typer.echo(line)
    report = check_study(study)
    for label, problems in (
        ("error", report.fatal),
        ("quarantine", report.data),
        ("warning", report.warnings),
        ("note", report.notes),
    ):
        for p in problems:
            typer.echo(f"{label}: {p}", err=label not in {"warning", "note"})
    if report.fatal or (report.data and not lenient):
        n = len(report.fatal) + len(report.data)
        raise MentorevalError(f"{study}: {n} problem(s) found (see above); nothing was written")
    typer.echo(
        f"{study}: OK ({len(report.warnings)} warning(s), {len(report.notes)} note(s)"
        + (f", {len(report.data)} row(s)/answer(s) to quarantine: --lenient" if report.data else "")
        + ")"
    )


def _design_line(study: Path) -> str | None:
    """The design the config implies, in one sentence (None when the config does not load:
    its problems are listed next)."""
    from mentoreval.config.design import study_design
    from mentoreval.config.study import load_study

    try:
        return study_design(load_study(study).config).describe()
    except MentorevalError:
        return None


@app.command("ingest")
def ingest(
    study: Annotated[Path, typer.Argument(help="The study config (study.yaml).")],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Output folder (default: data/processed/<study> in the project)."
        ),
    ] = None,
    store: Annotated[
        Path | None,
        typer.Option(
            "--store",
            help="Multi-year store to add the cohort to (default: data/store in the project).",
        ),
    ] = None,
    no_store: Annotated[
        bool, typer.Option("--no-store", help="Do not add the cohort to the store.")
    ] = False,
) -> None:
    """Read, map, recode, pseudonymise, link, check and score a study's exports.

    The cohort is then added to the multi-year store (Parquet + DuckDB) when the study sets
    programme, cohort and year: unchanged inputs change nothing, changed ones replace it.
    """
    from mentoreval.ingest.manifest import summary_line
    from mentoreval.ingest.pipeline import ingest_study

    if not no_store:
        _check_store(study, store)
    result = ingest_study(study, out_dir=out)
    typer.echo(summary_line(result.summary, linked=_linked(study)))
    linkage = result.manifest["design"]["linkage"]
    if linkage["method"] == "sgic":
        from mentoreval.ingest.sgic import sgic_line

        typer.echo(f"Linkage: {sgic_line(linkage)}.")
    for problem in result.warnings:
        typer.echo(f"warning: {problem}", err=True)
    for src in result.manifest["inputs"].values():
        if src["identifying_columns"]:
            typer.echo(
                f"note: {src['file']}: dropped identifying-looking columns with no role: "
                f"{src['identifying_columns']} (declare them under columns.drop)"
            )
    typer.echo(f"Wrote {result.out_dir}")
    if not no_store:
        _store_ingested(result, study, store)


def _linked(study: Path) -> bool:
    from mentoreval.config.study import load_study

    return load_study(study).config.participant_id.linked


def _check_store(study: Path, store: Path | None) -> None:
    """Refuse a store folder that will be refused, before anything is written (the store
    itself is created only when the cohort is added)."""
    from mentoreval.config.paths import default_store_root
    from mentoreval.config.study import load_study
    from mentoreval.store.parquet import check_store_root

    loaded = load_study(study)
    if any(getattr(loaded.config, k) is None for k in ("programme", "cohort", "year")):
        return  # not stored (a note says so after the ingest)
    check_store_root(
        store or default_store_root(study),
        protected=loaded.input_files(),
        raw_folders=loaded.raw_folders(),
    )


def _store_ingested(result: object, study: Path, store: Path | None) -> None:
    from mentoreval.config.paths import default_store_root
    from mentoreval.config.study import load_study
    from mentoreval.store.cohorts import store_cohort

    loaded = load_study(study)
    missing = [k for k in ("programme", "cohort", "year") if getattr(loaded.config, k) is None]
    if missing:
        typer.echo(
            f"note: not added to the store: the study does not set {', '.join(missing)} "
            "(add them to study.yaml to keep this cohort for annual reports)"
        )
        return
    store_cohort(result, loaded, store or default_store_root(study))  # type: ignore[arg-type]


@app.command("report")
def report(
    study: Annotated[Path, typer.Argument(help="The study config (study.yaml).")],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Report folder (default: reports/<study> in the project)."),
    ] = None,
    no_pdf: Annotated[
        bool, typer.Option("--no-pdf", help="Write the HTML and Word files only, no PDF.")
    ] = False,
) -> None:
    """Ingest, analyse and render a study's cohort report and its two-page brief
    (HTML + PDF + Word, tables, figures)."""
    from mentoreval.report.cohort.runner import run_cohort_report

    html = run_cohort_report(study, out_dir=out, pdf=not no_pdf, progress=True)
    typer.echo(_wrote(html, pdf=not no_pdf))


@app.command("annual")
def annual(
    config: Annotated[Path, typer.Argument(help="The annual report config (annual.yaml).")],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Report folder (default: reports/<name> in the project)."),
    ] = None,
    no_pdf: Annotated[
        bool, typer.Option("--no-pdf", help="Write the HTML and Word files only, no PDF.")
    ] = False,
) -> None:
    """The annual report across cohorts, years and programmes, from the store, and its
    brief (HTML + PDF + Word)."""
    from mentoreval.report.annual.runner import run_annual_report

    outputs = run_annual_report(config, out_dir=out, pdf=not no_pdf, progress=True)
    typer.echo(_wrote(outputs.html, pdf=outputs.pdf is not None))


def _wrote(html: Path, *, pdf: bool) -> str:
    """Where the report and its brief are, in one line per document.

    Examples
    --------
    >>> print(_wrote(Path("reports/x/cohort_report.html"), pdf=False))
    Wrote reports/x/cohort_report.html (and .docx)
      brief: reports/x/brief.html (and .docx)
    """
    also = "(and .pdf, .docx)" if pdf else "(and .docx)"
    return f"Wrote {html} {also}\n  brief: {html.with_name('brief.html')} {also}"


@app.command("batch")
def batch(
    config: Annotated[Path, typer.Argument(help="The batch file (batch.yaml).")],
    jobs: Annotated[
        int | None,
        typer.Option("--jobs", min=1, help="Parallel reports (default: n_jobs in the file)."),
    ] = None,
    executor: Annotated[
        str | None,
        typer.Option("--executor", help="local (processes on this machine) or dask."),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option("--scheduler", help="Dask scheduler address, e.g. tcp://head:8786."),
    ] = None,
    log_dir: Annotated[
        Path | None, typer.Option("--log-dir", help="Folder for one log per job.")
    ] = None,
) -> None:
    """Run many cohort and annual reports in parallel; exit 1 if any failed."""
    from mentoreval.errors import ConfigError, Problem
    from mentoreval.run.batch import format_batch_summary, run_batch
    from mentoreval.run.batch_config import load_batch_config

    batch_config = load_batch_config(config)
    chosen = executor or batch_config.executor
    if chosen not in ("local", "dask"):
        raise ConfigError(
            f"unknown executor {chosen!r}",
            (Problem(f"unknown executor {chosen!r}", key="--executor", fix="use local or dask"),),
        )
    summary = run_batch(
        batch_config.jobs,
        n_jobs=jobs or batch_config.n_jobs,
        executor=chosen,  # type: ignore[arg-type]
        scheduler=scheduler or batch_config.scheduler,
        log_dir=log_dir or batch_config.log_dir,
        progress=True,
    )
    typer.echo(format_batch_summary(summary))
    if summary["status"].eq("failed").any():
        raise typer.Exit(1)


store_app = typer.Typer(
    help="Look into the multi-year store of processed cohorts.", no_args_is_help=True
)
app.add_typer(store_app, name="store")


@store_app.command("list")
def store_list(
    root: Annotated[Path, typer.Argument(help="The store folder (e.g. data/store).")],
) -> None:
    """List every cohort in the store: programme, cohort, year, tables, when added."""
    from mentoreval.store.parquet import list_cohorts

    cohorts = list_cohorts(root)
    if cohorts.empty:
        typer.echo(f"{root}: no cohorts")
        return
    shown = cohorts.drop(columns=["inputs_sha256"])
    typer.echo(shown.to_string(index=False))


@store_app.command("query")
def store_query(
    root: Annotated[Path, typer.Argument(help="The store folder (e.g. data/store).")],
    sql: Annotated[str, typer.Argument(help="DuckDB SQL over the stored tables.")],
) -> None:
    """Run SQL over the store (tables as views, plus a 'cohorts' view) and print it."""
    from mentoreval.store.parquet import query

    typer.echo(query(root, sql).to_string(index=False))


@app.command("keygen")
def keygen(
    path: Annotated[
        Path, typer.Argument(help="Where to write the key (outside the repo and data/).")
    ],
) -> None:
    """Write a new random pseudonymisation key (owner-only permissions)."""
    from mentoreval.ingest.protect import keygen as write_key

    fingerprint = write_key(path)
    typer.echo(
        f"Wrote key {path} (fingerprint {fingerprint}); back it up: losing it breaks linkage."
    )


# --------------------------------------------------------------------------- demo


@app.command("demo")
def demo(
    out: Annotated[Path, typer.Option("--out", help="Where the demo reports go.")] = Path(
        "reports/demo"
    ),
    jobs: Annotated[int, typer.Option("--jobs", min=1, help="Reports run in parallel.")] = 2,
) -> None:
    """Run the whole pipeline on the bundled synthetic demo data and list the reports."""
    from mentoreval.run.demo import main_demo

    main_demo(out=out, jobs=jobs)


# --------------------------------------------------------------------------- entry point


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; exit 2 with a readable message on bad input."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        code = app(args=args, prog_name="mentoreval", standalone_mode=False)
    except MentorevalError as exc:
        if debug:
            raise
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except click_exceptions.UsageError as exc:
        exc.show()
        sys.exit(2)
    except click_exceptions.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, _Interrupted):
        typer.echo(
            "interrupted: stopped before finishing; outputs of earlier runs are intact "
            "(nothing is replaced until a run completes)",
            err=True,
        )
        sys.exit(130)
    except OSError as exc:
        if debug:
            raise
        message, code = describe_os_error(exc)
        typer.echo(f"error: {message}", err=True)
        sys.exit(code)
    except Exception as exc:
        if debug:
            raise
        typer.echo(
            f"error: mentoreval stopped on an internal error ({type(exc).__name__}: {exc}); "
            "outputs of earlier runs are intact (fix: rerun with --debug and report the "
            "traceback)",
            err=True,
        )
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
