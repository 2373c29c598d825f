"""Qualtrics CSV/TSV exports (stage: read).

Three layouts are recognised by their header rows:

* ``qualtrics`` (2017 onward): row 1 export tags, row 2 question text (localised), row 3
  ``{"ImportId": ...}`` JSON (with ``choiceId``/``timeZone`` keys at times); data from row 4.
* ``qualtrics_insights`` (2016-17): like the current layout but row 3 is a Python-style
  ``{'ImportId': 'QID2-1'}``.
* ``qualtrics_legacy`` (before 2017): row 1 ``V1..V10, Q1...``, row 2 ``ResponseID...`` and
  question text; data from row 3. The ``V`` columns are named after their row-2 metadata
  name (``V1`` → ``ResponseID``); the original header is kept in ``columns_meta.header``.

Responses that are not respondents are excluded with a rule and a reason, never dropped:
``Status`` preview (1, 17), test (2) and spam (8, 9), or ``DistributionChannel`` ``preview``
/ ``test``; an unknown ``Status`` is excluded as ``qualtrics_status_unknown``. Unfinished
responses (``Finished`` 0/False) are kept by default, or excluded with ``unfinished="exclude"``.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal, cast

import numpy as np
import pandas as pd

from mentoreval.errors import Problem

from .base import RawTable, Rule, check_choice, new_meta, raise_read
from .text import DelimitedText, read_delimited, split_header, table_from_text

__all__ = ["Exclusion", "qualtrics_variant", "read_qualtrics"]

Exclusion = Literal["preview", "test", "spam"]
Variant = Literal["qualtrics", "qualtrics_legacy", "qualtrics_insights"]

# Status codes (numeric export) and labels (choice-text export) → exclusion category.
_STATUS: dict[str, str | None] = {
    "0": None,
    "4": None,
    "16": None,
    "1": "preview",
    "17": "preview",
    "2": "test",
    "8": "spam",
    "9": "spam",
    "IP Address": None,
    "Imported": None,
    "Offline": None,
    "Survey Preview": "preview",
    "Offline Preview": "preview",
    "Survey Test": "test",
    "Spam": "spam",
    "Preview Spam": "spam",
}
_CHANNEL = {"preview": "preview", "test": "test"}
_FINISHED = {"1": True, "True": True, "TRUE": True, "0": False, "False": False, "FALSE": False}
_LEGACY_V = re.compile(r"V\d+")


def _per_distinct(cells: pd.Series, func: Callable[[str], str | None]) -> np.ndarray:
    """``func`` of every cell (no missing cells), computed once per distinct text."""
    codes, uniques = pd.factorize(cells)
    return np.array([func(str(u)) for u in uniques], dtype=object)[codes]


def qualtrics_variant(rows: Sequence[Sequence[str]]) -> Variant | None:
    """Tell the Qualtrics layout from the first three records (``None`` if not Qualtrics).

    Examples
    --------
    >>> qualtrics_variant([["StartDate", "Q1"], ["Start Date", "Q one"],
    ...                    ['{"ImportId":"startDate"}', '{"ImportId":"QID1"}']])
    'qualtrics'
    >>> qualtrics_variant([["V1", "V2", "Q1"], ["ResponseID", "ResponseSet", "Q one"]])
    'qualtrics_legacy'
    """
    if len(rows) >= 3 and rows[2]:
        first = rows[2][0].lstrip()
        if first.startswith(('{"ImportId"', '{ "ImportId"')):
            return "qualtrics"
        if first.startswith(("{'ImportId'", "{ 'ImportId'")):
            return "qualtrics_insights"
    if len(rows) >= 2 and rows[0][:2] == ["V1", "V2"] and "ResponseID" in rows[1]:
        return "qualtrics_legacy"
    return None


def _parse_import_ids(
    row: list[str], names: list[str], *, variant: str, path: Path
) -> tuple[list[str | None], list[str | None], list[str | None]]:
    import_ids: list[str | None] = []
    choice_ids: list[str | None] = []
    zones: list[str | None] = []
    problems: list[Problem] = []
    for cell, name in zip(row, names, strict=True):
        obj: object
        try:
            obj = json.loads(cell) if variant == "qualtrics" else ast.literal_eval(cell)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            obj = None
        if not isinstance(obj, dict) or "ImportId" not in obj:
            problems.append(
                Problem(
                    f"ImportId cell {cell[:60]!r} is not a "
                    + ("JSON" if variant == "qualtrics" else "Python-style")
                    + " {'ImportId': ...} object",
                    file=path.name,
                    row=3,
                    column=name,
                    fix="the third header row is damaged (was the file edited in Excel?): "
                    "export it again from Qualtrics",
                )
            )
            import_ids.append(None)
            choice_ids.append(None)
            zones.append(None)
            continue
        import_ids.append(str(obj["ImportId"]))
        choice = obj.get("choiceId")
        choice_ids.append(None if choice is None else str(choice))
        zone = obj.get("timeZone")
        zones.append(None if zone is None else str(zone))
    raise_read(problems, path=path, what="has a damaged ImportId header row")
    return import_ids, choice_ids, zones


def _find(meta: pd.DataFrame, import_id: str, header: str) -> str | None:
    hit = meta.loc[meta["import_id"] == import_id, "column"]
    if len(hit):
        return str(hit.iloc[0])
    hit = meta.loc[meta["column"] == header, "column"]
    return str(hit.iloc[0]) if len(hit) else None


def read_qualtrics(
    path: str | Path,
    *,
    variant: Literal["auto", "qualtrics", "qualtrics_legacy", "qualtrics_insights"] = "auto",
    exclude: Sequence[Exclusion] = ("preview", "test", "spam"),
    unfinished: Literal["keep", "exclude"] = "keep",
    encoding: str | None = None,
    text: DelimitedText | None = None,
) -> RawTable:
    """Read a Qualtrics CSV or TSV export.

    Parameters
    ----------
    path
        The export.
    variant
        The header layout; ``"auto"`` detects it.
    exclude
        Which non-respondent rows to exclude (to ``RawTable.excluded``): any of
        ``"preview"``, ``"test"``, ``"spam"``. Rows with an unknown ``Status`` are always
        excluded (rule ``qualtrics_status_unknown``).
    unfinished
        ``"keep"`` unfinished responses (``Finished`` = 0), or ``"exclude"`` them (rule
        ``qualtrics_unfinished``).
    encoding
        Force the text encoding.
    text
        An already parsed file (used by :func:`~mentoreval.read.read_export`).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> p = Path(tempfile.mkdtemp()) / "survey.csv"
    >>> _ = p.write_text(
    ...     'Status,ResponseId,Q1\\nResponse Type,Response ID,How are you?\\n'
    ...     '"{""ImportId"":""status""}","{""ImportId"":""_recordId""}","{""ImportId"":""QID1""}"\\n'
    ...     '0,R_1,4\\n1,R_2,5\\n', encoding="utf-8")
    >>> t = read_qualtrics(p)
    >>> t.data["ResponseId"].tolist(), t.source_row.tolist()
    (['R_1'], [4])
    >>> t.excluded[["source_row", "rule", "reason"]].values.tolist()
    [[5, 'qualtrics_preview', 'Status = 1 (preview response)']]
    """
    path = Path(path)
    check_choice(
        "variant", variant, ("auto", "qualtrics", "qualtrics_legacy", "qualtrics_insights")
    )
    check_choice("unfinished", unfinished, ("keep", "exclude"))
    for item in exclude:
        check_choice("exclude", item, ("preview", "test", "spam"))
    if text is None:
        text = read_delimited(path, encoding=encoding)
    layout = _layout(text, variant, path)
    header_rows = 2 if layout == "qualtrics_legacy" else 3
    headers, body, notes = split_header(text, header_rows, what=f"{layout} export")
    meta = _header_meta(headers, layout, path, notes)
    frame = body.set_axis(list(meta["column"]), axis=1)
    rules: list[Rule] = []
    status_col = _status_rules(frame, meta, exclude, rules)
    if status_col is None:
        notes.append("no Status column: preview/test/spam responses cannot be recognised")
    channel_col = _channel_rules(frame, meta, exclude, rules)
    finished_col = _find(meta, "finished", "Finished")
    if unfinished == "exclude":
        _unfinished_rules(frame, meta, finished_col, rules, path)
    meta["role"] = None
    for col, role in ((status_col, "status"), (finished_col, "finished"), (channel_col, "channel")):
        if col is not None:
            meta.loc[meta["column"] == col, "role"] = role
    return table_from_text(
        text,
        header_rows=header_rows,
        body=body,
        meta=meta,
        format=layout,
        rules=rules,
        notes=notes,
    )


def _layout(text: DelimitedText, variant: str, path: Path) -> Variant:
    """The header layout: ``variant``, or (``"auto"``) the one the first rows show."""
    if variant != "auto":
        return cast(Variant, variant)
    top = [
        ["" if pd.isna(v) else str(v) for v in text.cells.iloc[i]]
        for i in range(min(3, len(text.cells)))
    ]
    found = qualtrics_variant(top)
    if found is None:
        raise_read(
            [
                Problem(
                    "is not a Qualtrics export: row 3 has no ImportId and rows 1-2 are not "
                    "the legacy V1/ResponseID layout",
                    file=path.name,
                    row=3 if len(top) >= 3 else len(top) + 1,
                    fix="export with 'Use legacy format' off and all three header rows, "
                    "or pass the right format",
                )
            ],
            path=path,
            what="is not a Qualtrics export",
        )
    return cast(Variant, found)  # raise_read raised when it is None


def _header_meta(
    headers: list[list[str]], variant: Variant, path: Path, notes: list[str]
) -> pd.DataFrame:
    """Column metadata from the header rows: names, question text, ImportIds, choice ids and
    time zones, question and sub-item; a repeated ImportId + choiceId is noted."""
    if variant == "qualtrics_legacy":
        names = [
            label if _LEGACY_V.fullmatch(tag) and label else tag
            for tag, label in zip(headers[0], headers[1], strict=True)
        ]
        meta = new_meta(names)
        meta["header"] = headers[0]
        meta["label"] = headers[1]
        import_ids: list[str | None] = [None] * len(names)
        choice_ids: list[str | None] = [None] * len(names)
        zones: list[str | None] = [None] * len(names)
    else:
        meta = new_meta(headers[0])
        meta["label"] = headers[1]
        import_ids, choice_ids, zones = _parse_import_ids(
            headers[2], list(meta["column"]), variant=variant, path=path
        )
    meta["import_id"] = import_ids
    meta["choice_id"] = choice_ids
    meta["time_zone"] = zones
    split = [lab.split(" - ", 1) if " - " in lab else [lab, None] for lab in meta["label"]]
    meta["question"] = [s[0] for s in split]
    meta["sub_item"] = [s[1] for s in split]
    if variant != "qualtrics_legacy":
        keys = pd.Series(
            [f"{i}|{c}" for i, c in zip(import_ids, choice_ids, strict=True)], dtype=object
        )
        dup = keys.duplicated(keep=False) & pd.Series([i is not None for i in import_ids])
        if dup.any():
            notes.append(
                "ImportId + choiceId repeat in columns: "
                + ", ".join(meta.loc[dup.to_numpy(), "column"].astype(str))
            )
    return meta


def _status_rules(
    frame: pd.DataFrame, meta: pd.DataFrame, exclude: Sequence[Exclusion], rules: list[Rule]
) -> str | None:
    """Rules for an unknown ``Status`` and for each excluded kind; the Status column."""
    status_col = _find(meta, "status", "Status")
    if status_col is None:
        return None
    status = frame[status_col].fillna("").astype(str)
    category = _per_distinct(status, lambda v: _STATUS.get(v.strip(), "unknown"))
    rules.append(
        (
            category == "unknown",
            "qualtrics_status_unknown",
            lambda hit: [f"unknown Status value '{v}'" for v in status.to_numpy()[hit]],
            status_col,
        )
    )
    for wanted in exclude:
        rules.append(
            (
                category == wanted,
                f"qualtrics_{wanted}",
                lambda hit, w=wanted: [
                    f"{status_col} = {v} ({w} response)" for v in status.to_numpy()[hit]
                ],
                status_col,
            )
        )
    return status_col


def _channel_rules(
    frame: pd.DataFrame, meta: pd.DataFrame, exclude: Sequence[Exclusion], rules: list[Rule]
) -> str | None:
    """Rules for a ``DistributionChannel`` of an excluded kind; the channel column."""
    channel_col = _find(meta, "distributionChannel", "DistributionChannel")
    if channel_col is not None:
        channel = _per_distinct(
            frame[channel_col].fillna("").astype(str),
            lambda v: _CHANNEL.get(v.strip().lower()),
        )
        for wanted in exclude:
            hit = channel == wanted
            rules.append((hit, f"qualtrics_{wanted}", f"{channel_col} = {wanted}", channel_col))
    return channel_col


def _unfinished_rules(
    frame: pd.DataFrame,
    meta: pd.DataFrame,
    finished_col: str | None,
    rules: list[Rule],
    path: Path,
) -> None:
    """Rules for unfinished responses and unreadable ``Finished`` values."""
    if finished_col is None:
        raise_read(
            [
                Problem(
                    "unfinished='exclude' needs a Finished column",
                    file=path.name,
                    column="Finished",
                    fix="include the Finished metadata field in the export, "
                    "or use unfinished='keep'",
                )
            ],
            path=path,
        )
        return
    finished = frame[finished_col].fillna("").astype(str).str.strip().map(_FINISHED)
    progress_col = _find(meta, "progress", "Progress")
    reason = "response not finished"
    reasons: str | Sequence[str] = reason
    if progress_col is not None:
        prog = frame[progress_col].fillna("?").astype(str)
        reasons = list(reason + " (Progress " + prog + "%)")
    rules.append(
        ((finished == False).to_numpy(), "qualtrics_unfinished", reasons, finished_col)  # noqa: E712
    )
    rules.append(
        (
            finished.isna().to_numpy(),
            "qualtrics_finished_unknown",
            "Finished is neither 1/0 nor True/False",
            finished_col,
        )
    )
