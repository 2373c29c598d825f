"""The mapping table ``mentoreval init`` prints: one line per column, across the files.

Columns that play the same role in every file are shown once (with the files listed), so a
user can check the whole mapping at a glance; the open ``TODO``\\ s and the next command
(``mentoreval validate``) follow.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .model import StudyDraft

__all__ = ["default_out", "mapping_summary", "print_draft", "run_init"]

_WIDTH = 70


def mapping_summary(draft: StudyDraft) -> pd.DataFrame:
    """The draft's proposals with one row per column and role (files joined).

    Examples
    --------
    >>> import tempfile
    >>> from mentoreval.draft import draft_study
    >>> folder = Path(tempfile.mkdtemp())
    >>> for wave in ("pre", "post"):
    ...     _ = (folder / f"{wave}.csv").write_text("sid,gender\\n1234567,F\\n2345678,M\\n")
    >>> mapping_summary(draft_study([folder]))[["column", "role", "files"]].values.tolist()
    [['sid', 'id', 'post.csv, pre.csv'], ['gender', 'covariate', 'post.csv, pre.csv']]
    """
    table = draft.table()
    if table.empty:
        return table.assign(files=pd.Series(dtype=str))
    key = ["column", "role", "instrument", "item"]
    table[["instrument", "item"]] = table[["instrument", "item"]].fillna("")
    grouped = table.groupby(key, sort=False, dropna=False)
    out = grouped.agg(
        confidence=("confidence", "min"),
        evidence=("evidence", "first"),
        files=("file", lambda f: ", ".join(sorted(set(f)))),
    ).reset_index()
    return out


def _short(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= _WIDTH else text[: _WIDTH - 1] + "…"


def print_draft(draft: StudyDraft, out: Path) -> None:
    """Print the mapping table, the TODOs and the next step to the terminal (rich)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(soft_wrap=False)
    if not console.is_terminal:
        console = Console(soft_wrap=False, width=140)
    summary = mapping_summary(draft)
    every = ", ".join(sorted(s.name for s in draft.sources))
    table = Table(title=f"mentoreval init: proposed mapping ({len(draft.sources)} export(s))")
    for name in ("column", "role", "instrument.item", "conf.", "evidence"):
        table.add_column(name, overflow="fold")
    for rec in summary.to_dict("records"):
        item = f"{rec['instrument']}.{rec['item']}" if rec["instrument"] else ""
        conf = f"{float(rec['confidence']):.0%}" if rec["role"] != "unplaced" else "-"
        where = "" if rec["files"] == every else f" [only in {rec['files']}]"
        cells = [_short(str(rec["column"])), str(rec["role"]), item, conf]
        cells.append(_short(str(rec["evidence"])) + where)
        table.add_row(*(Text(c) for c in cells))  # Text: brackets in headers are not markup
    console.print(table)
    for flag in draft.keying:
        console.print(
            f"keying: {flag.file}: {flag.instrument}.{flag.item}: {flag.message}", markup=False
        )
    todos = draft.todos
    console.print(f"Wrote {out} with {len(todos)} TODO(s) to decide.", markup=False)
    for t in todos:
        console.print(f"  TODO: {t}", markup=False)
    console.print(
        f"Next: check the comments in {out}, then run: mentoreval validate {out}", markup=False
    )


def default_out(exports: list[Path]) -> Path:
    """``study.yaml`` beside the exports' folder (its parent when it is called ``exports``).

    Examples
    --------
    >>> default_out([Path("data/raw/x/exports/pre.csv")]).as_posix()
    'data/raw/x/study.yaml'
    >>> default_out([Path("data/raw/x")]).as_posix()
    'data/raw/x/study.yaml'
    """
    first = exports[0]
    folder = first if first.is_dir() or not first.suffix else first.parent
    if folder.name.lower() == "exports":
        folder = folder.parent
    return folder / "study.yaml"


def run_init(
    exports: list[Path],
    *,
    out: Path | None = None,
    force: bool = False,
    instrument_dirs: list[Path] | None = None,
) -> Path:
    """What ``mentoreval init`` does: refuse to overwrite, draft, write, print.

    Raises
    ------
    mentoreval.errors.ConfigError
        When the output exists and ``force`` is False (checked before reading anything).
    mentoreval.errors.ReadError
        When an export cannot be read.
    """
    from mentoreval.errors import ConfigError, Problem

    from .build import draft_study

    target = out or default_out(exports)
    if target.exists() and not force:
        raise ConfigError(
            f"{target} already exists; nothing was written",
            (
                Problem(
                    "already exists; nothing was written",
                    file=str(target),
                    fix="use --force to replace it, or --out to write elsewhere",
                ),
            ),
        )
    draft = draft_study(exports, instrument_dirs=instrument_dirs)
    path = draft.write(target, force=force)
    print_draft(draft, path)
    return path
