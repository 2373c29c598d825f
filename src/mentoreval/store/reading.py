"""Reading the store back: the cohorts it holds, one table across cohorts, or plain SQL.

DuckDB reads the Parquet files in process (nothing is written); only complete cohorts,
those with a manifest, are seen.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import duckdb
import pandas as pd

from mentoreval.errors import MentorevalError, Problem
from mentoreval.store.layout import PARTITION_COLUMNS, manifests, table_files, table_names

__all__ = ["list_cohorts", "load_table", "query"]

_HIVE_TYPES = "{'programme': 'VARCHAR', 'cohort': 'VARCHAR', 'year': 'INTEGER'}"


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
    >>> from mentoreval.store.adding import add_cohort
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
        for m in manifests(Path(store_root))
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
    >>> from mentoreval.store.adding import add_cohort
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
    files = table_files(root, name)
    if programme is not None:
        wanted = {programme} if isinstance(programme, str) else set(programme)
        files = [f for f in files if f[0] in wanted]
    if years is not None:
        wanted_years = {int(years)} if isinstance(years, int) else {int(y) for y in years}
        files = [f for f in files if f[2] in wanted_years]
    with duckdb.connect() as con:
        if not files:
            # Keep the schema: read no rows from any one file of the table.
            sample = table_files(root, name)[:1]
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
    >>> from mentoreval.store.adding import add_cohort
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
    names = table_names(root)
    with duckdb.connect() as con:
        for name in names:
            # Table names are checked when a cohort is added, and paths quoted by _scan.
            scan = _scan(table_files(root, name))
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


def _scan(files: Sequence[tuple[str, str, int, Path]]) -> str:
    """A ``read_parquet`` call over ``files``, each path quoted as an SQL string literal."""
    paths = ", ".join("'" + f[3].as_posix().replace("'", "''") + "'" for f in files)
    return (
        f"read_parquet([{paths}], hive_partitioning = true, "
        f"hive_types = {_HIVE_TYPES}, union_by_name = true)"
    )
