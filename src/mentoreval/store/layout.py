"""Where things are in the store: folders, hive partitions, cohort manifests and the lock.

Layout (Parquet is the source of truth; DuckDB is only an in-process query engine, so
there is no database file to corrupt or migrate)::

    store_root/
      tables/<table>/programme=<p>/cohort=<c>/year=<y>/data.parquet   hive partitions
      cohorts/programme=<p>/cohort=<c>/year=<y>/manifest.json         one per cohort
      ledger/                                                         released aggregates

A cohort without a manifest is incomplete and readers ignore it: :func:`manifests` and
:func:`table_files` only see cohorts whose manifest exists. Writers hold the store's lock
(:func:`store_lock`); :func:`check_store_root` applies the same placement rules before any
work is done.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from mentoreval.errors import DataError, Problem
from mentoreval.safefs import check_output_dir, folder_lock, mark_container

__all__ = [
    "DATA_FILE",
    "LEDGER_DIR",
    "PARTITION_COLUMNS",
    "check_store_root",
    "manifest_file",
    "manifests",
    "partition_path",
    "read_manifest",
    "staging_folder",
    "store_lock",
    "table_files",
    "table_folder",
    "table_names",
    "tables_holding",
]

#: The hive partition columns, in path order.
PARTITION_COLUMNS: tuple[str, str, str] = ("programme", "cohort", "year")
#: The file holding one cohort's rows of one table, inside its partition folder.
DATA_FILE = "data.parquet"
#: The folder of the release ledger (see :mod:`mentoreval.store.ledger`).
LEDGER_DIR = "ledger"

_TABLES = "tables"
_COHORTS = "cohorts"
_STAGING = ".staging"
_LOCK = ".lock"
_MANIFEST = "manifest.json"
# What a store written before the ownership marker existed may hold.
_LEGACY = (_TABLES, _COHORTS, LEDGER_DIR, _STAGING, _LOCK)


def partition_path(programme: str, cohort: str, year: int) -> Path:
    """The hive partition of a cohort, relative to a table's (or the manifests') folder.

    Examples
    --------
    >>> partition_path("md-peer", "2025A", 2025).as_posix()
    'programme=md-peer/cohort=2025A/year=2025'
    """
    return Path(f"programme={programme}", f"cohort={cohort}", f"year={int(year)}")


def manifest_file(root: Path, partition: Path) -> Path:
    """``<root>/cohorts/<partition>/manifest.json``: the cohort's manifest."""
    return root / _COHORTS / partition / _MANIFEST


def table_folder(root: Path, name: str, partition: Path) -> Path:
    """``<root>/tables/<name>/<partition>``: the folder holding one cohort's table."""
    return root / _TABLES / name / partition


def staging_folder(root: Path) -> Path:
    """``<root>/.staging``: where a cohort's files are written before they are swapped in."""
    return root / _STAGING


def manifests(root: Path) -> Iterator[dict[str, Any]]:
    """The manifest of every complete cohort, in path order."""
    base = root / _COHORTS
    if not base.is_dir():
        return
    for path in sorted(base.glob(f"programme=*/cohort=*/year=*/{_MANIFEST}")):
        yield read_manifest(path)


def read_manifest(path: Path) -> dict[str, Any]:
    """One cohort manifest; a :class:`~mentoreval.errors.DataError` when unreadable."""
    try:
        manifest: dict[str, Any] = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(
            f"{path}: cohort manifest is unreadable ({exc})",
            (
                Problem(
                    "unreadable manifest",
                    file=str(path),
                    fix="re-add the cohort with add_cohort(..., force=True)",
                ),
            ),
        ) from None
    return manifest


def tables_holding(root: Path, partition: Path) -> set[str]:
    """The tables with a folder for ``partition`` (complete or not)."""
    base = root / _TABLES
    if not base.is_dir():
        return set()
    return {p.name for p in base.iterdir() if (p / partition).exists()}


def table_names(root: Path) -> list[str]:
    """Every table some complete cohort holds, sorted."""
    return sorted({name for m in manifests(root) for name in m["tables"]})


def table_files(root: Path, name: str) -> list[tuple[str, str, int, Path]]:
    """(programme, cohort, year, file) of every complete cohort holding ``name``."""
    files = [
        (
            m["programme"],
            m["cohort"],
            int(m["year"]),
            table_folder(root, name, partition_path(m["programme"], m["cohort"], m["year"]))
            / DATA_FILE,
        )
        for m in manifests(root)
        if name in m["tables"]
    ]
    if not files:
        available = ", ".join(table_names(root)) or "none (the store is empty)"
        raise DataError(
            f"no table {name!r} in store {root}",
            (Problem(f"unknown table {name!r}", file=str(root), fix=f"use one of: {available}"),),
        )
    return sorted(files, key=lambda f: (f[0], f[2], f[1]))


def check_store_root(
    store_root: str | os.PathLike[str],
    *,
    protected: Iterable[Path] = (),
    raw_folders: Iterable[Path] = (),
) -> Path:
    """Check, before any work, that the store may be written at ``store_root``.

    The same rules as when the store is written (:func:`mentoreval.safefs.mark_container`):
    refused when it is a file or a symlink, holds entries mentoreval did not write, would
    hold or replace one of ``protected`` (the study's inputs) or lies inside one of
    ``raw_folders``. A missing store is not created here; an existing mentoreval store
    (or an empty folder) is accepted as is.

    Returns
    -------
    pathlib.Path
        The store folder, resolved.

    Raises
    ------
    MentorevalError
        Naming the folder (key ``store``), the reason and the fix.

    Examples
    --------
    >>> import tempfile
    >>> from mentoreval.errors import MentorevalError
    >>> home = Path(tempfile.mkdtemp())
    >>> _ = (home / "pre.csv").write_text("sid\\n1\\n")
    >>> check_store_root(home / "store").exists()
    False
    >>> try:
    ...     check_store_root(home)
    ... except MentorevalError as exc:
    ...     print(exc.problems[0].message)
    holds entries mentoreval did not write (pre.csv)
    """
    root = Path(store_root)
    protected, raw_folders = tuple(protected), tuple(raw_folders)
    if root.expanduser().is_dir() and not root.expanduser().is_symlink():
        # an existing folder: exactly the rules of the write (at most a legacy store's
        # missing marker is added)
        return mark_container(
            root,
            kind="store",
            legacy=_LEGACY,
            protected=protected,
            raw_folders=raw_folders,
            key="store",
        )
    # missing (placement only: nothing is created), or a file or symlink (refused)
    return check_output_dir(
        root, kind="store", protected=protected, raw_folders=raw_folders, key="store"
    )


@contextlib.contextmanager
def store_lock(
    root: Path,
    *,
    timeout: float,
    protected: tuple[Path, ...] = (),
    raw_folders: tuple[Path, ...] = (),
) -> Iterator[None]:
    """Hold the store's lock (see :func:`mentoreval.safefs.folder_lock`) so parallel batch
    jobs don't interleave writes; the store folder is created, marked as mentoreval's,
    or refused when it holds anything else or is placed among the study's inputs."""
    root = mark_container(
        root,
        kind="store",
        legacy=_LEGACY,
        protected=protected,
        raw_folders=raw_folders,
        key="store",
    )
    with folder_lock(root, timeout=timeout, what="store"):
        yield
