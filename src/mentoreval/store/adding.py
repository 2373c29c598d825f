"""Adding one processed cohort to the store, idempotently and all or nothing.

A cohort is identified by ``(programme, cohort, year)`` and by the sha256 of the raw
inputs it was built from. Adding the same inputs again changes nothing (``"unchanged"``);
adding different inputs for the same cohort replaces every one of its tables
(``"replaced"``). Every file is staged first; then the manifest is removed, the old
partitions swapped for the new ones and the manifest written last, so a failure leaves
either the old version whole or a cohort without a manifest, which readers ignore.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from mentoreval.config.study import LABEL, LABEL_FIX
from mentoreval.errors import ConfigError, DataError, Problem, raise_problems
from mentoreval.store.layout import (
    DATA_FILE,
    PARTITION_COLUMNS,
    manifest_file,
    partition_path,
    read_manifest,
    staging_folder,
    store_lock,
    table_folder,
    tables_holding,
)

__all__ = ["StoreResult", "add_cohort"]

_MANIFEST_VERSION = 1
_TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# Names DuckDB views use for the store itself; a table may not shadow them.
_RESERVED = frozenset({"cohorts"})

Status = Literal["added", "unchanged", "replaced"]


@dataclass(frozen=True)
class StoreResult:
    """What :func:`add_cohort` did.

    Attributes
    ----------
    status
        ``"added"`` (new cohort), ``"unchanged"`` (same inputs, nothing written) or
        ``"replaced"`` (the cohort's inputs changed and all its tables were rewritten).
    programme, cohort, year
        The cohort's partition.
    tables
        The tables now stored for the cohort, sorted.
    inputs_sha256
        The sorted sha256 of the inputs now stored.
    previous_inputs_sha256
        The inputs of the version that was replaced (empty unless ``"replaced"``).
    manifest
        Path of the cohort manifest.
    """

    status: Status
    programme: str
    cohort: str
    year: int
    tables: tuple[str, ...]
    inputs_sha256: tuple[str, ...]
    previous_inputs_sha256: tuple[str, ...]
    manifest: Path

    @property
    def message(self) -> str:
        """One line for the CLI, e.g. ``replaced cohort md-peer/2025/2025 (inputs changed)``."""
        where = f"{self.programme}/{self.cohort}/{self.year}"
        if self.status == "unchanged":
            return f"cohort {where} unchanged (same inputs already stored)"
        if self.status == "added":
            return f"added cohort {where} ({len(self.tables)} tables)"
        old, new = set(self.previous_inputs_sha256), set(self.inputs_sha256)
        return (
            f"replaced cohort {where}: inputs changed "
            f"({len(new - old)} new, {len(old - new)} no longer used); "
            f"{len(self.tables)} tables rewritten"
        )

    def __str__(self) -> str:
        return self.message


def add_cohort(
    store_root: str | os.PathLike[str],
    *,
    programme: str,
    cohort: str,
    year: int,
    tables: Mapping[str, pd.DataFrame],
    inputs_sha256: Iterable[str],
    metadata: Mapping[str, Any] | None = None,
    force: bool = False,
    lock_timeout: float = 60.0,
    protected: Iterable[Path] = (),
    raw_folders: Iterable[Path] = (),
) -> StoreResult:
    """Store one processed cohort, idempotently.

    Parameters
    ----------
    store_root
        The store folder (created if missing).
    programme, cohort
        Labels of the partition: letters, digits, ``_``, ``.`` and ``-``, starting with a
        letter or digit (e.g. ``"md-peer"``, ``"2025A"``).
    year
        The academic year the cohort belongs to (e.g. ``2025``).
    tables
        Table name (snake_case, e.g. ``"scores"``) → DataFrame. Columns named
        ``programme``, ``cohort`` or ``year`` are allowed only if they hold the
        partition's value (they are then dropped, the partition supplies them).
    inputs_sha256
        The sha256 (hex) of every raw input the tables were built from. The set, not the
        order, identifies the version of the cohort.
    metadata
        Extra JSON-serialisable provenance kept in the manifest (e.g. study config hash,
        key fingerprint, package version). Never put identifiers here.
    force
        Rewrite the cohort even when its inputs are unchanged (status ``"replaced"``),
        e.g. after a fix to the scoring code.
    lock_timeout
        Seconds to wait for another process writing to the same store.
    protected, raw_folders
        The study's inputs and raw-export folders: the store may not hold them or lie
        inside them (see :func:`~mentoreval.store.layout.check_store_root`).

    Returns
    -------
    StoreResult
        ``status`` is ``"added"``, ``"unchanged"`` or ``"replaced"``.

    Raises
    ------
    ConfigError
        A label, year, table name or sha256 is malformed (all problems listed).
    DataError
        A table's ``programme``/``cohort``/``year`` column contradicts the partition.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> from mentoreval.store.reading import load_table
    >>> scores = pd.DataFrame({"participant_id": ["p1", "p2"], "score": [3.5, 4.0]})
    >>> sha = ["a" * 64]
    >>> with tempfile.TemporaryDirectory() as root:
    ...     first = add_cohort(root, programme="md-peer", cohort="2025", year=2025,
    ...                        tables={"scores": scores}, inputs_sha256=sha)
    ...     again = add_cohort(root, programme="md-peer", cohort="2025", year=2025,
    ...                        tables={"scores": scores}, inputs_sha256=sha)
    ...     newer = add_cohort(root, programme="md-peer", cohort="2025", year=2025,
    ...                        tables={"scores": scores.head(1)}, inputs_sha256=["b" * 64])
    ...     n = len(load_table(root, "scores"))
    >>> first.status, again.status, newer.status, n
    ('added', 'unchanged', 'replaced', 1)
    """
    root = Path(store_root)
    shas = _check_cohort_args(programme, cohort, year, tables, inputs_sha256)
    frames = {
        name: _strip_partition_columns(name, df, programme, cohort, year)
        for name, df in tables.items()
    }
    partition = partition_path(programme, cohort, year)
    manifest_path = manifest_file(root, partition)

    with store_lock(
        root, timeout=lock_timeout, protected=tuple(protected), raw_folders=tuple(raw_folders)
    ):
        existed = manifest_path.is_file()
        previous = _previous_manifest(manifest_path) if existed else None
        old_shas = tuple(previous["inputs_sha256"]) if previous else ()
        if previous is not None and old_shas == shas and not force:
            return StoreResult(
                "unchanged",
                programme,
                cohort,
                int(year),
                tuple(sorted(previous["tables"])),
                shas,
                (),
                manifest_path,
            )

        # Stage every file first, so a failure while writing leaves the old version whole.
        staging = staging_folder(root) / uuid.uuid4().hex
        try:
            table_info = _stage_tables(staging, frames)
            # Swap: manifest out first (readers now ignore the cohort), old partitions
            # out, new partitions in, manifest last.
            manifest_path.unlink(missing_ok=True)
            old_tables = set(previous["tables"]) if previous else set()
            _swap_partitions(root, partition, staging, old_tables, table_info)
            manifest = _manifest(programme, cohort, int(year), shas, table_info, old_shas, metadata)
            _write_manifest(manifest_path, manifest)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            with contextlib.suppress(OSError):
                staging_folder(root).rmdir()

    return StoreResult(
        "replaced" if existed else "added",
        programme,
        cohort,
        int(year),
        tuple(sorted(table_info)),
        shas,
        old_shas,
        manifest_path,
    )


# --- internals -------------------------------------------------------------------------


def _check_cohort_args(
    programme: str,
    cohort: str,
    year: int,
    tables: Mapping[str, pd.DataFrame],
    inputs_sha256: Iterable[str],
) -> tuple[str, ...]:
    problems: list[Problem] = []
    for key, value in (("programme", programme), ("cohort", cohort)):
        # partition values become folder names: the study config's label rule
        if not isinstance(value, str) or not LABEL.match(value):
            problems.append(Problem(f"invalid {key} {value!r}", key=key, fix=LABEL_FIX))
    if isinstance(year, bool) or not isinstance(year, int) or not 1900 <= year <= 2200:
        problems.append(
            Problem(
                f"invalid year {year!r}",
                key="year",
                fix="give the academic year as an integer, e.g. 2025",
            )
        )
    if not tables:
        problems.append(
            Problem(
                "no tables given",
                key="tables",
                fix="pass at least one table, e.g. {'scores': scores}",
            )
        )
    for name, df in tables.items():
        if not isinstance(name, str) or not _TABLE_NAME.match(name) or name in _RESERVED:
            problems.append(
                Problem(
                    f"invalid table name {name!r}",
                    key="tables",
                    fix="use a snake_case name such as 'scores' (not 'cohorts')",
                )
            )
        if not isinstance(df, pd.DataFrame):
            problems.append(
                Problem(
                    f"table {name!r} is a {type(df).__name__}, not a DataFrame",
                    key=f"tables.{name}",
                )
            )
    shas = sorted({str(s).strip().lower() for s in inputs_sha256})
    if not shas:
        problems.append(
            Problem(
                "no input sha256 given",
                key="inputs_sha256",
                fix="pass the sha256 of every raw export the cohort was built from",
            )
        )
    problems.extend(
        Problem(
            f"not a sha256 hex digest: {s!r}",
            key="inputs_sha256",
            fix="pass hashlib.sha256(file_bytes).hexdigest()",
        )
        for s in shas
        if not _SHA256.match(s)
    )
    raise_problems(problems, error=ConfigError, what="in add_cohort arguments")
    return tuple(shas)


def _strip_partition_columns(
    name: str, df: pd.DataFrame, programme: str, cohort: str, year: int
) -> pd.DataFrame:
    expected: dict[str, Any] = {"programme": programme, "cohort": cohort, "year": int(year)}
    present = [c for c in PARTITION_COLUMNS if c in df.columns]
    problems = []
    for column in present:
        values = df[column].dropna().astype(str).unique()
        if len(values) and set(values) != {str(expected[column])}:
            problems.append(
                Problem(
                    f"holds {sorted(values)[:3]} but the cohort's {column} is {expected[column]!r}",
                    key=f"tables.{name}",
                    column=column,
                    fix=f"drop the {column!r} column; the store adds it from the partition",
                )
            )
    raise_problems(problems, error=DataError, what=f"in table {name!r}")
    return df.drop(columns=present)


def _previous_manifest(path: Path) -> dict[str, Any] | None:
    """The stored version's manifest; None when it is unreadable (it is then replaced)."""
    with contextlib.suppress(DataError):
        return read_manifest(path)
    return None


def _stage_tables(staging: Path, frames: Mapping[str, pd.DataFrame]) -> dict[str, dict[str, Any]]:
    """Write each table to ``<staging>/<name>/data.parquet``; rows and columns by name."""
    table_info: dict[str, dict[str, Any]] = {}
    for name, df in sorted(frames.items()):
        target = staging / name / DATA_FILE
        target.parent.mkdir(parents=True)
        df.to_parquet(target, index=False)
        table_info[name] = {"rows": len(df), "columns": [str(c) for c in df.columns]}
    return table_info


def _swap_partitions(
    root: Path, partition: Path, staging: Path, old_tables: set[str], new_tables: Iterable[str]
) -> None:
    """Remove every table folder of ``partition``, then move the staged tables in."""
    for name in old_tables | tables_holding(root, partition):
        shutil.rmtree(table_folder(root, name, partition), ignore_errors=True)
    for name in new_tables:
        dest = table_folder(root, name, partition)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / name, dest)


def _manifest(
    programme: str,
    cohort: str,
    year: int,
    shas: tuple[str, ...],
    table_info: dict[str, dict[str, Any]],
    old_shas: tuple[str, ...],
    metadata: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The cohort's manifest: partition, inputs, tables, provenance (added now)."""
    return {
        "manifest_version": _MANIFEST_VERSION,
        "programme": programme,
        "cohort": cohort,
        "year": year,
        "inputs_sha256": list(shas),
        "tables": table_info,
        "added_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "mentoreval_version": _package_version(),
        "replaces_inputs_sha256": list(old_shas),
        "metadata": dict(metadata or {}),
    }


def _write_manifest(path: Path, manifest: Mapping[str, Any]) -> None:
    """Write the manifest through a temporary file, so it appears whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, path)


def _package_version() -> str:
    from mentoreval import __version__

    return __version__
