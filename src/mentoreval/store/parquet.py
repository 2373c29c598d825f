"""The multi-year store: every processed cohort, kept as Parquet and queried with DuckDB.

Stage: *annual*. After ``ingest`` has produced a cohort's tables (responses, scores,
meetings, dose, ...), :func:`add_cohort` files them under the store; annual reports and
researchers read them back with :func:`load_table` or plain SQL through :func:`query`.

Layout (Parquet is the source of truth; DuckDB is only an in-process query engine, so
there is no database file to corrupt or migrate)::

    store_root/
      tables/<table>/programme=<p>/cohort=<c>/year=<y>/data.parquet   hive partitions
      cohorts/programme=<p>/cohort=<c>/year=<y>/manifest.json         one per cohort
      ledger/                                                         released aggregates

A cohort is identified by ``(programme, cohort, year)`` and by the sha256 of the raw
inputs it was built from. Adding the same inputs again changes nothing (``"unchanged"``);
adding different inputs for the same cohort replaces every one of its tables
(``"replaced"``). The manifest is written last and removed first, so a cohort without a
manifest is incomplete and readers ignore it.

The ``ledger/`` folder belongs to :mod:`mentoreval.disclose.suppression` (the release ledger that
blocks differencing between reports); the store only creates it, see :func:`ledger_dir`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import duckdb
import pandas as pd

from mentoreval.config.study import LABEL, LABEL_FIX
from mentoreval.disclose.ledger import ReleaseLedger
from mentoreval.errors import ConfigError, DataError, MentorevalError, Problem, raise_problems
from mentoreval.safefs import check_output_dir, folder_lock, mark_container

__all__ = [
    "LEDGER_FILE",
    "PARTITION_COLUMNS",
    "StoreResult",
    "add_cohort",
    "check_store_root",
    "ledger_dir",
    "ledger_file",
    "list_cohorts",
    "load_release_ledger",
    "load_table",
    "merge_release_ledger",
    "query",
]

#: File of the release ledger inside ``<store>/ledger/``.
LEDGER_FILE = "releases.json"

#: The hive partition columns, in path order.
PARTITION_COLUMNS: tuple[str, str, str] = ("programme", "cohort", "year")

_TABLES = "tables"
_COHORTS = "cohorts"
_LEDGER = "ledger"
_STAGING = ".staging"
_LOCK = ".lock"
_MANIFEST = "manifest.json"
_DATA = "data.parquet"
_MANIFEST_VERSION = 1

_TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_HIVE_TYPES = "{'programme': 'VARCHAR', 'cohort': 'VARCHAR', 'year': 'INTEGER'}"
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


def ledger_dir(store_root: str | os.PathLike[str]) -> Path:
    """The folder for the release ledger of ``store_root``, created if missing.

    :mod:`mentoreval.disclose.suppression` keeps its ledger of released aggregates here, so a
    later report cannot be subtracted from an earlier one.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as root:
    ...     print(ledger_dir(root).name, ledger_dir(root).is_dir())
    ledger True
    """
    path = Path(store_root) / _LEDGER
    path.mkdir(parents=True, exist_ok=True)
    return path


def ledger_file(store_root: str | os.PathLike[str]) -> Path:
    """``<store_root>/ledger/releases.json``, the release ledger shared by every report.

    Nothing is created; see :func:`ledger_dir`.

    Examples
    --------
    >>> ledger_file("data/store").as_posix()
    'data/store/ledger/releases.json'
    """
    return Path(store_root) / _LEDGER / LEDGER_FILE


def load_release_ledger(store_root: str | os.PathLike[str]) -> ReleaseLedger:
    """The release ledger of a store (empty when nothing was released yet).

    Reading creates nothing, so a report that fails before it is released leaves the
    store as it was.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as root:
    ...     print(load_release_ledger(root).entries, Path(root, "ledger").exists())
    {} False
    """
    return ReleaseLedger.load(ledger_file(store_root))


def merge_release_ledger(
    store_root: str | os.PathLike[str], ledger: ReleaseLedger, *, lock_timeout: float = 60.0
) -> Path:
    """Add a report's releases to the store's ledger, under the store lock.

    The file is re-read inside the lock and the entries are merged (never replaced), so
    reports written in parallel on the same store keep each other's releases.

    Parameters
    ----------
    store_root
        The store (e.g. ``<project>/data/store``); created if missing.
    ledger
        The ledger of the report just released (it may also hold the earlier entries).
    lock_timeout
        Seconds to wait for another process holding the store lock.

    Returns
    -------
    pathlib.Path
        The ledger file, see :func:`ledger_file`.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as root:
    ...     mine = ReleaseLedger()
    ...     mine.record(("peer/2025/2025", "outcomes", "who5 / total", "n_pairs"), 52)
    ...     path = merge_release_ledger(root, mine)
    ...     other = ReleaseLedger()
    ...     other.record(("peer/2025/2025", "outcomes", "who5 / total", "n_pairs"), 70)
    ...     _ = merge_release_ledger(root, other)
    ...     print(path.relative_to(root).as_posix(), load_release_ledger(root).entries)
    ledger/releases.json {('peer/2025/2025', 'outcomes', 'who5 / total', 'n_pairs'): {52, 70}}
    """
    root = Path(store_root)
    with _store_lock(root, timeout=lock_timeout):
        path = ledger_dir(root) / LEDGER_FILE
        merged = ReleaseLedger.load(path)
        for key, ns in ledger.entries.items():
            for n in ns:
                merged.record(key, n)
        merged.save(path)
    return path


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
        inside them (see :func:`check_store_root`).

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
    partition = _partition_path(programme, cohort, year)
    manifest_path = root / _COHORTS / partition / _MANIFEST

    with _store_lock(
        root, timeout=lock_timeout, protected=tuple(protected), raw_folders=tuple(raw_folders)
    ):
        previous: dict[str, Any] | None = None
        existed = manifest_path.is_file()
        if existed:
            with contextlib.suppress(DataError):  # an unreadable manifest is replaced
                previous = _read_manifest(manifest_path)
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
        staging = root / _STAGING / uuid.uuid4().hex
        try:
            table_info: dict[str, dict[str, Any]] = {}
            for name, df in sorted(frames.items()):
                target = staging / name / _DATA
                target.parent.mkdir(parents=True)
                df.to_parquet(target, index=False)
                table_info[name] = {"rows": len(df), "columns": [str(c) for c in df.columns]}

            # Swap: manifest out first (readers now ignore the cohort), old partitions
            # out, new partitions in, manifest last.
            manifest_path.unlink(missing_ok=True)
            old_tables = set(previous["tables"]) if previous else set()
            for name in old_tables | _tables_holding(root, partition):
                shutil.rmtree(root / _TABLES / name / partition, ignore_errors=True)
            for name in table_info:
                dest = root / _TABLES / name / partition
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staging / name, dest)
            manifest = {
                "manifest_version": _MANIFEST_VERSION,
                "programme": programme,
                "cohort": cohort,
                "year": int(year),
                "inputs_sha256": list(shas),
                "tables": table_info,
                "added_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "mentoreval_version": _package_version(),
                "replaces_inputs_sha256": list(old_shas),
                "metadata": dict(metadata or {}),
            }
            manifest_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = manifest_path.with_suffix(".json.tmp")
            tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n")
            os.replace(tmp, manifest_path)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            with contextlib.suppress(OSError):
                (root / _STAGING).rmdir()

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


def list_cohorts(store_root: str | os.PathLike[str]) -> pd.DataFrame:
    """Every complete cohort in the store, one row each.

    Returns
    -------
    pandas.DataFrame
        Columns ``programme``, ``cohort``, ``year`` (int), ``tables`` (sorted names joined
        with ``", "``), ``n_inputs``, ``inputs_sha256`` (sorted, joined with ``" "``),
        ``added_at`` (ISO UTC) and ``mentoreval_version``; sorted by programme, year and
        cohort. Empty (with those columns) when the store is empty or missing.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> with tempfile.TemporaryDirectory() as root:
    ...     _ = add_cohort(root, programme="md-peer", cohort="2024", year=2024,
    ...                    tables={"scores": pd.DataFrame({"score": [1.0]})},
    ...                    inputs_sha256=["c" * 64])
    ...     print(list_cohorts(root)[["programme", "cohort", "year", "tables"]])
      programme cohort  year  tables
    0   md-peer   2024  2024  scores
    """
    columns = [
        "programme",
        "cohort",
        "year",
        "tables",
        "n_inputs",
        "inputs_sha256",
        "added_at",
        "mentoreval_version",
    ]
    rows = [
        {
            "programme": m["programme"],
            "cohort": m["cohort"],
            "year": int(m["year"]),
            "tables": ", ".join(sorted(m["tables"])),
            "n_inputs": len(m["inputs_sha256"]),
            "inputs_sha256": " ".join(m["inputs_sha256"]),
            "added_at": m["added_at"],
            "mentoreval_version": m.get("mentoreval_version", ""),
        }
        for m in _manifests(Path(store_root))
    ]
    frame = pd.DataFrame(rows, columns=columns)
    frame["year"] = frame["year"].astype("int64")
    frame["n_inputs"] = frame["n_inputs"].astype("int64")
    return frame.sort_values(["programme", "year", "cohort"], kind="stable", ignore_index=True)


def load_table(
    store_root: str | os.PathLike[str],
    name: str,
    *,
    programme: str | Sequence[str] | None = None,
    years: int | Iterable[int] | None = None,
) -> pd.DataFrame:
    """Read one table across cohorts, with the partition columns first.

    Parameters
    ----------
    store_root
        The store folder.
    name
        The table, e.g. ``"scores"``.
    programme
        Only these programme(s); all when None.
    years
        Only these year(s); all when None.

    Returns
    -------
    pandas.DataFrame
        ``programme``, ``cohort``, ``year`` and then the table's own columns (the union
        over cohorts; missing ones are null), rows ordered by programme, year, cohort and
        their stored order. Empty with the table's columns when no cohort matches.

    Raises
    ------
    DataError
        No cohort in the store has a table called ``name``.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> with tempfile.TemporaryDirectory() as root:
    ...     for y in (2024, 2025):
    ...         _ = add_cohort(root, programme="md-peer", cohort=str(y), year=y,
    ...                        tables={"scores": pd.DataFrame({"score": [float(y)]})},
    ...                        inputs_sha256=[str(y)[-1] * 64])
    ...     print(load_table(root, "scores", years=[2025]))
      programme cohort  year   score
    0   md-peer   2025  2025  2025.0
    """
    root = Path(store_root)
    files = _table_files(root, name)
    if programme is not None:
        wanted = {programme} if isinstance(programme, str) else set(programme)
        files = [f for f in files if f[0] in wanted]
    if years is not None:
        wanted_years = {int(years)} if isinstance(years, int) else {int(y) for y in years}
        files = [f for f in files if f[2] in wanted_years]
    with duckdb.connect() as con:
        if not files:
            # Keep the schema: read no rows from any one file of the table.
            sample = _table_files(root, name)[:1]
            frame = con.sql(f"SELECT * FROM {_scan(sample)} LIMIT 0").df()  # noqa: S608
        else:
            frame = con.sql(f"SELECT * FROM {_scan(files)}").df()  # noqa: S608
    own = [c for c in frame.columns if c not in PARTITION_COLUMNS]
    return frame[[*PARTITION_COLUMNS, *own]].reset_index(drop=True)


def query(store_root: str | os.PathLike[str], sql: str) -> pd.DataFrame:
    """Run SQL over the store with DuckDB (in-process, read-only on the Parquet files).

    Every stored table is a view of the same name (with ``programme``, ``cohort`` and
    ``year`` columns), and ``cohorts`` is a view of :func:`list_cohorts`.

    Parameters
    ----------
    store_root
        The store folder.
    sql
        A DuckDB SQL query.

    Returns
    -------
    pandas.DataFrame
        The query result.

    Raises
    ------
    MentorevalError
        The SQL is invalid or names an unknown table; the message lists the tables.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> with tempfile.TemporaryDirectory() as root:
    ...     for y in (2024, 2025):
    ...         scores = pd.DataFrame({"participant_id": ["a", "b"], "score": [y - 2020.0, 3.0]})
    ...         _ = add_cohort(root, programme="md-peer", cohort=str(y), year=y,
    ...                        tables={"scores": scores}, inputs_sha256=[str(y)[-1] * 64])
    ...     print(query(root, "SELECT year, avg(score) AS mean FROM scores "
    ...                       "GROUP BY year ORDER BY year"))
       year  mean
    0  2024   3.5
    1  2025   4.0
    """
    root = Path(store_root)
    names = _table_names(root)
    with duckdb.connect() as con:
        for name in names:
            # Table names are checked against _TABLE_NAME and paths quoted by _scan.
            scan = _scan(_table_files(root, name))
            con.execute(f'CREATE VIEW "{name}" AS SELECT * FROM {scan}')  # noqa: S608
        con.register("_cohorts_frame", list_cohorts(root))
        con.execute("CREATE VIEW cohorts AS SELECT * FROM _cohorts_frame")
        try:
            return con.sql(sql).df()
        except duckdb.Error as exc:
            available = ", ".join(["cohorts", *names])
            raise MentorevalError(
                f"query on store {root} failed: {exc}",
                (
                    Problem(
                        str(exc).splitlines()[0],
                        file=str(root),
                        fix=f"query one of the tables: {available}",
                    ),
                ),
            ) from None


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


def _partition_path(programme: str, cohort: str, year: int) -> Path:
    return Path(f"programme={programme}", f"cohort={cohort}", f"year={int(year)}")


def _manifests(root: Path) -> Iterator[dict[str, Any]]:
    base = root / _COHORTS
    if not base.is_dir():
        return
    for path in sorted(base.glob(f"programme=*/cohort=*/year=*/{_MANIFEST}")):
        yield _read_manifest(path)


def _read_manifest(path: Path) -> dict[str, Any]:
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


def _tables_holding(root: Path, partition: Path) -> set[str]:
    base = root / _TABLES
    if not base.is_dir():
        return set()
    return {p.name for p in base.iterdir() if (p / partition).exists()}


def _table_names(root: Path) -> list[str]:
    return sorted({name for m in _manifests(root) for name in m["tables"]})


def _table_files(root: Path, name: str) -> list[tuple[str, str, int, Path]]:
    """(programme, cohort, year, file) of every complete cohort holding ``name``."""
    files = [
        (
            m["programme"],
            m["cohort"],
            int(m["year"]),
            root / _TABLES / name / _partition_path(m["programme"], m["cohort"], m["year"]) / _DATA,
        )
        for m in _manifests(root)
        if name in m["tables"]
    ]
    if not files:
        available = ", ".join(_table_names(root)) or "none (the store is empty)"
        raise DataError(
            f"no table {name!r} in store {root}",
            (Problem(f"unknown table {name!r}", file=str(root), fix=f"use one of: {available}"),),
        )
    return sorted(files, key=lambda f: (f[0], f[2], f[1]))


def _scan(files: Sequence[tuple[str, str, int, Path]]) -> str:
    """A ``read_parquet`` call over ``files``, each path quoted as an SQL string literal."""
    paths = ", ".join("'" + f[3].as_posix().replace("'", "''") + "'" for f in files)
    return (
        f"read_parquet([{paths}], hive_partitioning = true, "
        f"hive_types = {_HIVE_TYPES}, union_by_name = true)"
    )


_LEGACY = (_TABLES, _COHORTS, _LEDGER, _STAGING, _LOCK)


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
def _store_lock(
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


def _package_version() -> str:
    from mentoreval import __version__

    return __version__
