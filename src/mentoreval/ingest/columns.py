"""The columns a source must have, and the names the reader gave (stage: map).

A source needs its participant id column and, for each instrument it holds, every item
column (:func:`absent_id_column`, :func:`item_column_problems`); both are checked in one
run, so a wrong id column does not hide an item-column typo until the next run. Headers a
reader had to rename — an empty header (``column_10``), a repeated one the reader allows
(REDCap's ``Complete?`` → ``Complete?__2``) — are named with their original positions
(:func:`renamed_headers`), so a user knows what to map.
"""

from __future__ import annotations

import difflib

import pandas as pd

from mentoreval.config.study import Study
from mentoreval.errors import Problem
from mentoreval.ingest.recode import normalise_label
from mentoreval.read.base import column_letters

__all__ = ["absent_id_column", "item_column_problems", "renamed_headers"]


def absent_id_column(name: str, key: str, columns: list[str], id_col: str) -> Problem:
    """The id column is not in the export: the fix names a likely column and the first ones."""
    similar = [
        c
        for c in columns
        if normalise_label(c).replace(" ", "_")
        in {"id", "record_id", "student_id", normalise_label(id_col)}
    ] + difflib.get_close_matches(id_col, columns, n=1, cutoff=0.6)
    return Problem(
        f"the participant id column {id_col!r} is absent",
        file=name,
        column=id_col,
        fix=(
            f"set participant_id.column (or {key}.id_column) to one of the export's "
            f"columns{' such as ' + repr(similar[0]) if similar else ''}; the first ones are "
            f"{columns[:8]}"
        ),
    )


def _absent_item(name: str, inst_id: str, item: str, column: str, part: str) -> Problem:
    return Problem(
        f"item column for {inst_id}.{item} is absent"
        + (" (its retrospective 'then' answer)" if part == "then" else ""),
        file=name,
        column=column,
        key=f"instruments.{inst_id}.{part}.{item}",
        fix=(
            f"map {item} to the export's column under instruments.{inst_id}.{part} (or "
            f"re-export with every item, or list the scales used under instruments.{inst_id}.scales)"
        ),
    )


def item_column_problems(
    study: Study, name: str, columns: list[str], *, part: str = "items"
) -> dict[str, list[Problem]]:
    """Per instrument whose item columns the export has (one or more of them): a problem
    for each of its item columns that is absent (none when all are there). ``part``:
    ``"items"``, or ``"then"`` for the retrospective answers of a then-test source."""
    present_columns = set(columns)
    out: dict[str, list[Problem]] = {}
    for inst_id in study.instruments:
        mapping = study.item_columns(inst_id) if part == "items" else study.then_columns(inst_id)
        if any(c in present_columns for c in mapping.values()):
            out[inst_id] = [
                _absent_item(name, inst_id, item, column, part)
                for item, column in mapping.items()
                if column not in present_columns
            ]
    return out


def renamed_headers(meta: pd.DataFrame) -> list[str]:
    """A note naming the columns the reader renamed, with their places in the file.

    >>> from mentoreval.read.base import new_meta
    >>> renamed_headers(new_meta(["id", "Complete?", "q1", "Complete?", ""]))  # doctest: +NORMALIZE_WHITESPACE
    ["columns renamed because their header was repeated or empty, to be mapped by the new
    name: 'Complete?__2' (the 2nd 'Complete?', column 4 (D)), 'column_5' (empty header,
    column 5 (E))"]
    """
    if not {"column", "header", "position"} <= set(meta.columns):
        return []
    said: list[str] = []
    seen: dict[str, int] = {}
    for column, header, pos in zip(meta["column"], meta["header"], meta["position"], strict=True):
        header = "" if header is None or header is pd.NA else str(header)
        seen[header] = seen.get(header, 0) + 1
        if column == header:
            continue
        place = f"column {int(pos)} ({column_letters(int(pos))})"
        n = seen[header]
        nth = f"{n}{'nd' if n == 2 else 'rd' if n == 3 else 'th'}"
        what = "empty header" if header == "" else f"the {nth} {header!r}"
        said.append(f"{column!r} ({what}, {place})")
    if not said:
        return []
    return [
        "columns renamed because their header was repeated or empty, to be mapped by the "
        f"new name: {', '.join(said)}"
    ]
