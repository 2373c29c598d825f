"""Writing output files: tidy CSV tables, JSON and ``manifest.json`` (base layer).

Used by the ingest (processed tables) and the reports alike. Tables stay numeric until here;
the CSV writer only neutralises spreadsheet formulas in *string* cells (OWASP / ASVS 1.2.10),
so that a negative number stays a number and a label such as ``=HYPERLINK(...)`` is never
live. The JSON writer turns numpy / pandas scalars into plain JSON and NaN into ``null``.

The manifest records what produced an output: input hashes, package versions, git commit,
parameters and the key *fingerprint* (never the key).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
import platform
import subprocess
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mentoreval.errors import Problem, ReportError

__all__ = [
    "MANIFEST_PACKAGES",
    "build_manifest",
    "file_sha256",
    "json_text",
    "neutralise_formula",
    "table_from_json",
    "table_json",
    "to_jsonable",
    "write_json",
    "write_table",
]


#: Packages whose versions every manifest records.
MANIFEST_PACKAGES: tuple[str, ...] = (
    "mentoreval",
    "pandas",
    "numpy",
    "scipy",
    "statsmodels",
    "pingouin",
    "seaborn",
    "matplotlib",
    "papermill",
    "nbconvert",
    "weasyprint",
)


_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\0")


def neutralise_formula(value: object) -> object:
    """Prefix ``'`` to a string a spreadsheet would run as a formula.

    Parameters
    ----------
    value
        Any cell value. Only ``str`` values are changed; numbers are returned as they are.

    Returns
    -------
    object
        The value, with ``'`` prepended when it is a string starting with
        ``= + - @``, a tab, a carriage return or a NUL.

    Examples
    --------
    >>> neutralise_formula("=HYPERLINK(\\"http://x\\")")
    '\\'=HYPERLINK("http://x")'
    >>> neutralise_formula(-1.5)
    -1.5
    >>> neutralise_formula("pre")
    'pre'
    """
    if isinstance(value, str) and value.startswith(_FORMULA_PREFIXES):
        return "'" + value
    return value


def write_table(df: pd.DataFrame, path: str | os.PathLike[str], *, index: bool = False) -> Path:
    """Write a tidy table as UTF-8 CSV with spreadsheet formulas neutralised.

    Parameters
    ----------
    df
        The table; columns should be snake_case. Numeric columns are written unchanged.
    path
        Where to write; parent folders are created.
    index
        Whether to write the index as a column.

    Returns
    -------
    pathlib.Path
        The path written.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> df = pd.DataFrame({"scale": ["=1+1", "total"], "mean_diff": [-0.5, 1.0]})
    >>> with tempfile.TemporaryDirectory() as d:
    ...     print(write_table(df, Path(d) / "t.csv").read_text(), end="")
    scale,mean_diff
    '=1+1,-0.5
    total,1.0
    """
    out = df.copy()
    for column in out.columns:
        series = out[column]
        if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
            out[column] = series.map(neutralise_formula).astype(object)
    if index:
        out.index = out.index.map(neutralise_formula)
    out.columns = [str(neutralise_formula(str(c))) for c in out.columns]
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    # CRLF (RFC 4180) makes the csv module quote fields holding a bare \r or \n
    out.to_csv(target, index=index, lineterminator="\r\n")
    return target


def to_jsonable(obj: Any) -> Any:
    """Convert numpy / pandas values (recursively) into plain JSON values.

    NaN, NA and NaT become ``None``; infinities become ``None`` too (JSON has none);
    ``Path`` becomes ``str``; DataFrames become lists of records.

    Examples
    --------
    >>> import numpy as np
    >>> to_jsonable({"n": np.int64(12), "d": np.float64("nan"), "ok": np.bool_(True)})
    {'n': 12, 'd': None, 'ok': True}
    """
    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, pd.DataFrame):
        return [to_jsonable(r) for r in obj.to_dict(orient="records")]
    if isinstance(obj, pd.Series):
        return to_jsonable(obj.to_dict())
    if isinstance(obj, list | tuple | set | frozenset | np.ndarray | pd.Index):
        items = sorted(obj, key=str) if isinstance(obj, set | frozenset) else list(obj)
        return [to_jsonable(v) for v in items]
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        value = float(obj)
        return value if math.isfinite(value) else None
    if isinstance(obj, int):
        return obj
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, pd.Timestamp | _dt.datetime | _dt.date):
        return None if pd.isna(obj) else obj.isoformat()
    if obj is pd.NA or obj is pd.NaT:
        return None
    raise ReportError(
        f"cannot write a {type(obj).__name__} to JSON",
        (Problem(f"value {obj!r} has no JSON form", fix="convert it to a number or string"),),
    )


def _column_type(series: pd.Series) -> str:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_numeric_dtype(dtype):
        return "float"
    return "text"


def table_json(df: pd.DataFrame) -> dict[str, Any]:
    """A table for ``results.json`` at full precision: its columns in order, their types
    (``float``, ``int``, ``bool``, ``text``) and its rows (NaN as ``null``).

    :func:`table_from_json` reads it back with the same columns, types and values, so a
    column that is empty (every cell suppressed) is still known to hold numbers.

    Examples
    --------
    >>> t = pd.DataFrame({"scale": ["a", None], "n": [40.0, np.nan], "ok": [True, False]})
    >>> table_json(t)
    {'columns': ['scale', 'n', 'ok'], 'types': ['text', 'float', 'bool'], 'rows': [['a', 40.0, True], [None, None, False]]}
    >>> back = table_from_json(json.loads(json.dumps(table_json(t))))
    >>> back.dtypes.astype(str).tolist()[1:], back["n"].tolist()[0], back["scale"].tolist()[0]
    (['float64', 'bool'], 40.0, 'a')
    """
    frame = df.reset_index(drop=True)
    return {
        "columns": [str(c) for c in frame.columns],
        "types": [_column_type(frame[c]) for c in frame.columns],
        "rows": [to_jsonable(list(row)) for row in frame.itertuples(index=False, name=None)],
    }


def table_from_json(data: Mapping[str, Any]) -> pd.DataFrame:
    """The table :func:`table_json` wrote (floats, nullable ``Int64``, bools, text)."""
    columns = list(data["columns"])
    frame = pd.DataFrame(list(data["rows"]), columns=columns, dtype=object)
    for column, kind in zip(columns, data["types"], strict=True):
        values = frame[column]
        if kind == "float":
            frame[column] = pd.to_numeric(values, errors="coerce").astype(float)
        elif kind == "int":
            frame[column] = pd.to_numeric(values, errors="coerce").astype("Int64")
        elif kind == "bool":
            frame[column] = values.fillna(False).astype(bool)
        else:
            frame[column] = values.where(values.notna(), np.nan)
    return frame


#: Characters that let a JSON file be read as HTML, written as JSON escapes instead.
_HTML_IN_JSON = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def json_text(obj: Any, *, indent: int = 2, sort_keys: bool = True) -> str:
    """``obj`` as JSON text that no browser or viewer can take for markup.

    ``<``, ``>`` and ``&`` can only occur inside JSON strings; they are written as the
    escapes ``\\u003c``, ``\\u003e``, ``\\u0026``, so a label or column name such as
    ``<script>`` reads back unchanged with any JSON parser but never appears as markup in
    the file (a manifest opened in a browser, pasted into a page, or scanned for markup).

    Examples
    --------
    >>> text = json_text({"column": "<b>x</b> & y"})
    >>> "<" in text, json.loads(text) == {"column": "<b>x</b> & y"}
    (False, True)
    """
    text = json.dumps(to_jsonable(obj), indent=indent, sort_keys=sort_keys, allow_nan=False)
    return text.translate(_HTML_IN_JSON)


def write_json(obj: Any, path: str | os.PathLike[str]) -> Path:
    """Write ``obj`` as pretty, key-sorted JSON (numpy/pandas aware, NaN → ``null``).

    Parameters
    ----------
    obj
        Dicts, lists, numbers, strings, numpy scalars/arrays, DataFrames, paths.
    path
        Where to write; parent folders are created.

    Returns
    -------
    pathlib.Path
        The path written.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> with tempfile.TemporaryDirectory() as d:
    ...     print(write_json({"b": np.nan, "a": np.int64(3)}, Path(d) / "r.json").read_text(), end="")
    {
      "a": 3,
      "b": null
    }
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json_text(obj) + "\n", encoding="utf-8")
    return target


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Return the hex SHA-256 of a file, read in 1 MiB chunks.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = Path(d) / "x.txt"
    ...     _ = p.write_bytes(b"abc")
    ...     file_sha256(p)[:12]
    'ba7816bf8f01'
    """
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _package_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def _git_commit(cwd: Path) -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],  # noqa: S607 - git from PATH is intended
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and len(commit) == 40 else None


def _created_at() -> str:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is not None:
        try:
            moment = _dt.datetime.fromtimestamp(int(epoch), tz=_dt.UTC)
        except ValueError as exc:
            raise ReportError(
                "SOURCE_DATE_EPOCH is not an integer",
                (Problem(f"value {epoch!r}", key="SOURCE_DATE_EPOCH", fix="use seconds"),),
            ) from exc
    else:
        moment = _dt.datetime.now(tz=_dt.UTC).replace(microsecond=0)
    return moment.isoformat().replace("+00:00", "Z")


def publishable_path(path: str | os.PathLike[str], root: str | os.PathLike[str]) -> str:
    """``path`` as it may appear in a published report: relative to the project ``root``
    (POSIX separators), never the absolute path that names a user and a machine layout.

    Examples
    --------
    >>> publishable_path("/home/jane.doe/mentoring/data/demo/study.yaml", "/home/jane.doe/mentoring")
    'data/demo/study.yaml'
    """
    return Path(os.path.relpath(Path(path).absolute(), Path(root).absolute())).as_posix()


def local_paths(root: str | os.PathLike[str]) -> list[str]:
    """The strings no published file may hold: the project's absolute path (for the egress
    scan; the file-system root itself is never a leak).

    Examples
    --------
    >>> local_paths("/home/jane.doe/mentoring"), local_paths("/")
    (['/home/jane.doe/mentoring'], [])
    """
    folder = Path(root).absolute()
    return [str(folder)] if len(folder.parts) > 1 else []


def build_manifest(
    *,
    inputs: list[Path],
    parameters: Mapping[str, Any],
    key_fingerprint: str | None,
    extra: Mapping[str, Any] | None = None,
    repo: str | os.PathLike[str] | None = None,
    root: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Describe what produced a report: inputs, versions, commit, parameters.

    Parameters
    ----------
    inputs
        Input files; each is hashed (SHA-256) and sized. A missing file is an error.
    parameters
        The report parameters as injected (never secrets).
    key_fingerprint
        The pseudonymisation key's fingerprint, or ``None`` when no key was used.
    extra
        More provenance to record under ``"extra"``.
    repo
        Folder whose git commit to record; defaults to the current directory. The commit
        is ``None`` outside a git repository.
    root
        The project folder: input paths are recorded relative to it (see
        :func:`publishable_path`), so a published manifest names no user's home folder.

    Returns
    -------
    dict
        Keys ``created_at`` (ISO UTC; honours ``SOURCE_DATE_EPOCH``), ``inputs``
        (list of ``{path, name, sha256, size}``), ``packages`` (name → version or
        ``None``), ``python``, ``platform``, ``git_commit``, ``parameters``,
        ``key_fingerprint`` and ``extra``.

    Examples
    --------
    >>> import os
    >>> os.environ["SOURCE_DATE_EPOCH"] = "0"
    >>> m = build_manifest(inputs=[], parameters={"cohort": "2025"}, key_fingerprint=None)
    >>> m["created_at"], m["parameters"], "pandas" in m["packages"]
    ('1970-01-01T00:00:00Z', {'cohort': '2025'}, True)
    >>> del os.environ["SOURCE_DATE_EPOCH"]
    """
    problems = [
        Problem("input file not found", file=str(p), fix="check the study config paths")
        for p in inputs
        if not Path(p).is_file()
    ]
    if problems:
        raise ReportError(f"{len(problems)} input file(s) missing for the manifest", problems)
    records = [
        {
            "path": publishable_path(p, root) if root is not None else os.fspath(p),
            "name": Path(p).name,
            "sha256": file_sha256(p),
            "size": Path(p).stat().st_size,
        }
        for p in inputs
    ]
    return {
        "created_at": _created_at(),
        "inputs": records,
        "packages": {name: _package_version(name) for name in MANIFEST_PACKAGES},
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "git_commit": _git_commit(Path(repo) if repo is not None else Path.cwd()),
        "parameters": to_jsonable(dict(parameters)),
        "key_fingerprint": key_fingerprint,
        "extra": to_jsonable(dict(extra)) if extra else {},
    }
