"""Writing report outputs: tidy CSV tables, ``results.json`` and ``manifest.json``.

Report stage, after disclosure control. Tables stay numeric until here; the CSV writer
only neutralises spreadsheet formulas in *string* cells (OWASP / ASVS 1.2.10), so that a
negative number stays a number and a label such as ``=HYPERLINK(...)`` is never live.
The JSON writer turns numpy / pandas scalars into plain JSON and NaN into ``null``.
The manifest records what produced a report: input hashes, package versions, git commit,
parameters and the key *fingerprint* (never the key).

Report tables for people (:func:`format_report_table`, :func:`report_table_html`) share
one set of human column labels (:data:`COLUMN_LABELS`), one number format
(:func:`mentoreval.disclose.format_cell`) and one way of putting an estimate and its
CI in a single cell, so the cohort and annual reports read alike.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import html
import json
import math
import os
import platform
import re
import subprocess
from collections.abc import Mapping, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mentoreval.config.disclosure import CellKind, DisclosurePolicy
from mentoreval.disclose.formatting import format_table
from mentoreval.errors import Problem, ReportError

__all__ = [
    "COLUMN_LABELS",
    "MANIFEST_PACKAGES",
    "build_manifest",
    "column_label",
    "file_sha256",
    "format_report_table",
    "neutralise_formula",
    "report_table_html",
    "to_jsonable",
    "typographic_minus",
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
    text = json.dumps(to_jsonable(obj), indent=2, sort_keys=True, allow_nan=False)
    target.write_text(text + "\n", encoding="utf-8")
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


def build_manifest(
    *,
    inputs: list[Path],
    parameters: Mapping[str, Any],
    key_fingerprint: str | None,
    extra: Mapping[str, Any] | None = None,
    repo: str | os.PathLike[str] | None = None,
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
            "path": os.fspath(p),
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


# ------------------------------------------------------------------- tables for people

#: Human labels of the columns of report tables (snake_case names never reach a reader).
COLUMN_LABELS: dict[str, str] = {
    "instrument": "Instrument", "scale": "Scale", "n_pairs": "n (pairs)", "mean_pre": "Mean pre",
    "sd_pre": "SD pre", "mean_post": "Mean post", "sd_post": "SD post",
    "mean_diff": "Change", "ci_low": "CI low", "ci_high": "CI high", "t": "t", "df": "df",
    "p_value": "p", "p_adj": "p (adjusted)", "d_z": "d_z", "d_z_ci_low": "d_z CI low",
    "d_z_ci_high": "d_z CI high", "d_av": "d_av", "g_av": "g_av", "wilcoxon_p": "Wilcoxon p",
    "rank_biserial": "Rank-biserial r", "wave": "Wave", "n_complete": "n (complete)",
    "n_items": "Items", "alpha": "Cronbach's α", "alpha_ci_low": "α CI low",
    "alpha_ci_high": "α CI high", "omega_total": "ω total", "band": "Band",
    "n_pre": "n pre", "prop_pre": "Share pre", "n_post": "n post", "prop_post": "Share post",
    "n_entered": "Moved in", "n_left": "Moved out", "group": "Group",
    "n_baseline": "n at baseline", "n_followed_up": "n followed up",
    "followed_up_pct": "Followed up", "estimate": "Estimate", "se": "SE", "n": "n",
    "n_treated": "n mentored", "n_control": "n comparison", "emmean": "Adjusted mean",
    "variable": "Variable", "level": "Level", "smd": "Std. difference",
    "mean_treated": "Mean mentored", "mean_control": "Mean comparison",
    "sd_treated": "SD mentored", "sd_control": "SD comparison", "contrast": "Contrast",
    "value": "Value", "effect_size": "Effect size", "attrition": "Attrition",
    "n_completed": "n completed", "flag": "Flag", "n_responses": "Responses",
    "n_flagged": "Flagged", "flagged_pct": "Flagged (%)", "items_missing_pct": "Items missing (%)",
    "rule": "Reason", "received": "Received", "excluded": "Excluded", "kept": "Kept",
    "reasons": "Reasons", "measure": "Measure", "percent": "%", "improved": "Improved",
    "unchanged": "Unchanged", "deteriorated": "Deteriorated", "recovered": "Recovered",
    "family": "Family", "method": "Method", "n_tests": "Tests", "title": "Title",
    "citation": "Citation", "domain": "Domain", "version": "Version", "items": "Items",
    "licence": "Licence", "min_answered": "Min. answered", "bands": "Bands",
    "n_participants": "n participants", "riv": "RIV", "fmi": "FMI", "m": "Imputations",
    "n_imputed": "n imputed", "ess_treated": "ESS mentored", "ess_control": "ESS comparison",
    "z": "z", "estimand": "Estimand", "r_prepost": "r pre–post", "label": "Scale",
    "range_low": "Lowest score", "range_high": "Highest score", "stage": "Stage",
    "programme": "Programme", "cohort": "Cohort", "year": "Year", "outcome": "Outcome",
    "enrolled": "Enrolled", "with_meetings": "With meetings", "pre_responses": "Pre responses",
    "post_responses": "Post responses", "linked_pairs": "Linked pairs",
    "retention_pct": "Retention", "k": "Cohorts", "pi": "Prediction interval", "tau2": "τ²",
    "i2": "I²", "median_dose": "Median dose", "mean_change": "Mean change", "slope": "Slope",
    "breakdown": "Breakdown", "versions": "Versions by year", "reason": "Reason", "dose": "Dose",
}  # fmt: skip

_NEGATIVE_ZERO = re.compile(r"-0(\.0*)?%?")
_HYPHEN_MINUS = re.compile(r"(?<![\w])-(?=\d)")


def column_label(
    column: str, confidence: float = 0.95, *, labels: Mapping[str, str] | None = None
) -> str:
    """Human column label (``n_pairs`` → ``n (pairs)``; ``*__ci`` adds the CI level).

    Parameters
    ----------
    column
        The column name; a name ending in ``__ci`` is an estimate with its CI in one cell.
    confidence
        The CI level named by ``__ci`` labels.
    labels
        Labels that take precedence over :data:`COLUMN_LABELS` (e.g. one report's wording).

    Examples
    --------
    >>> column_label("mean_diff__ci"), column_label("n_pairs"), column_label("some_thing")
    ('Change (95% CI)', 'n (pairs)', 'Some thing')
    >>> column_label("estimate__ci", 0.9, labels={"estimate": "Pooled change"})
    'Pooled change (90% CI)'
    """
    if column.endswith("__ci"):
        core = column_label(column.removesuffix("__ci"), confidence, labels=labels)
        return f"{core} ({confidence:.0%} CI)"
    text = (labels or {}).get(column) or COLUMN_LABELS.get(column)
    if text is None:
        text = column.replace("_", " ")
        text = text[:1].upper() + text[1:]
    return text


def typographic_minus(text: object) -> object:
    """Typographic minus for negative numbers in text, and never a negative zero.

    Examples
    --------
    >>> typographic_minus("-0.42 (-1.10 to 0.26)"), typographic_minus("-0.0%")
    ('−0.42 (−1.10 to 0.26)', '0.0%')
    >>> typographic_minus("well-being 2023-24"), typographic_minus(3)
    ('well-being 2023-24', 3)
    """
    if not isinstance(text, str):
        return text
    if _NEGATIVE_ZERO.fullmatch(text):
        text = text[1:]
    return _HYPHEN_MINUS.sub("−", text)


def format_report_table(
    df: pd.DataFrame,
    *,
    policy: DisclosurePolicy | None = None,
    confidence: float = 0.95,
    decimals: int = 2,
    kinds: Mapping[str, CellKind] | None = None,
    ci: Mapping[str, tuple[str, str]] | None = None,
    labels: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """A protected table as the strings a reader sees, with human column labels.

    Numbers are formatted by :func:`~mentoreval.disclose.format_table` (``"< k"`` where
    suppressed, no negative zero); each estimate named in ``ci`` gets its interval in the
    same cell (``"0.26 (0.10 to 0.42)"``, the bounds' columns dropped); minus signs become
    typographic; columns are renamed with :func:`column_label`.

    Parameters
    ----------
    df
        A protected table (NaN where suppressed, optional bool ``suppressed`` column).
    policy
        Supplies the suppression label.
    confidence
        The CI level named in the headers of merged columns.
    decimals, kinds
        As in :func:`~mentoreval.disclose.format_table`.
    ci
        Estimate column → ``(low, high)`` columns to merge into it.
    labels
        Labels that take precedence over :data:`COLUMN_LABELS`.

    Returns
    -------
    pandas.DataFrame
        Strings only, with a fresh ``RangeIndex``.

    Examples
    --------
    >>> t = pd.DataFrame({"scale": ["a", "b"], "n_pairs": [40.0, float("nan")],
    ...                   "mean_diff": [-0.4, float("nan")], "ci_low": [-0.9, float("nan")],
    ...                   "ci_high": [0.001, float("nan")], "suppressed": [False, True]})
    >>> format_report_table(t, ci={"mean_diff": ("ci_low", "ci_high")})
      Scale n (pairs)        Change (95% CI)
    0     a        40  −0.40 (−0.90 to 0.00)
    1     b      < 10                   < 10
    """
    label = (policy or DisclosurePolicy()).label
    text = format_table(
        df.reset_index(drop=True), policy=policy, decimals=decimals, kinds=dict(kinds or {})
    )
    for est, (lo, hi) in (ci or {}).items():
        if {est, lo, hi} <= set(text.columns):
            text[est] = [
                e if e in ("–", label) else f"{e} ({a} to {b})"
                for e, a, b in zip(text[est], text[lo], text[hi], strict=True)
            ]
            text = text.drop(columns=[lo, hi]).rename(columns={est: f"{est}__ci"})
    for column in text.columns:
        text[column] = text[column].map(typographic_minus)
    text.columns = pd.Index([column_label(str(c), confidence, labels=labels) for c in text.columns])
    return text


def report_table_html(
    text: pd.DataFrame,
    *,
    caption: str | None = None,
    wide_at: int = 11,
    blank_repeats: Sequence[str] = (),
    text_columns: int = 0,
) -> str:
    """HTML of a formatted table; more than ``wide_at`` columns prints on a landscape page.

    Parameters
    ----------
    text
        From :func:`format_report_table` (strings; the index is not shown).
    caption
        Shown above the table (escaped).
    wide_at
        Tables with more columns get ``class="mentoreval-wide"`` (landscape in print).
    blank_repeats
        Leading grouping columns whose value is shown only where it changes (a cohort or
        an outcome named once for its block of rows).
    text_columns
        How many leading columns are text (1–4): they are left-aligned and wrap, while the
        numbers after them never break inside a cell (``class="mentoreval-lead-N"``).

    Examples
    --------
    >>> t = pd.DataFrame({"Cohort": ["2023", "2023", "2024"], "n": ["40", "38", "< 10"]})
    >>> html = report_table_html(t, caption="A & B", blank_repeats=["Cohort"])
    >>> html.count("<td>2023</td>"), "<caption>A &amp; B</caption>" in html
    (1, True)
    >>> "mentoreval-wide" in report_table_html(t, wide_at=1)
    True
    >>> "mentoreval-lead-1" in report_table_html(t, text_columns=1)
    True
    """
    shown = text.reset_index(drop=True).copy()
    keys = [c for c in blank_repeats if c in shown.columns]
    if keys and len(shown):
        block = shown[keys].astype(str)
        # a value repeats when it and every grouping value to its left equal the row above
        same = pd.DataFrame(False, index=shown.index, columns=keys)
        prefix = pd.Series(True, index=shown.index)
        for c in keys:
            prefix &= block[c].eq(block[c].shift())
            same[c] = prefix
        for c in keys:
            shown.loc[same[c].to_numpy(dtype=bool), c] = ""
    classes = ["mentoreval-table", *(["mentoreval-wide"] if len(shown.columns) > wide_at else [])]
    if text_columns > 0:
        classes.append(f"mentoreval-lead-{min(text_columns, 4)}")
    out = shown.to_html(index=False, escape=True, border=0, classes=classes)
    if caption:
        out = out.replace(">", f"><caption>{html.escape(caption, quote=True)}</caption>", 1)
    return out
