"""SurveyMonkey "All individual responses" exports, CSV and XLSX (stage: read).

SurveyMonkey's spreadsheet export has **two header rows**:

- row 1 starts with the respondent metadata ``Respondent ID, Collector ID, Start Date,
  End Date, IP Address, Email Address, First Name, Last Name`` (then ``Custom Data 1``...
  when the collector passes custom data), followed by the question text in the *first*
  column of each question; the other columns of the same question are blank in row 1
  (or merged with it in a workbook);
- row 2 is blank under the metadata and names what each question column holds:
  ``Response`` (a single-choice question, one column), ``Open-Ended Response`` (a text
  box), or an answer option / matrix row (``Tulip``, ``I feel calm``, ``Other (please
  specify)``): a multiple-choice question has one column per option and a matrix or
  rating question one column per row.

Both layouts SurveyMonkey offers read the same way: *expanded* (one column per option)
and *condensed* (fewer columns, the same two header rows), with cells holding the "actual
answer text" or the "numerical value" of the choice — cells stay text here; recoding
against the instrument happens later.

Column names are what a user maps in ``study.yaml``, so they are built only from the
file's own text and stay the same from one export of the survey to the next:

==========================================  =======================================
column                                      name
==========================================  =======================================
metadata (row 2 blank)                      the row-1 header, e.g. ``Respondent ID``
one-column question (``Response``,          the question text
``Open-Ended Response``)
option / matrix row                         ``<question> [<row 2 text>]``
==========================================  =======================================

``columns_meta`` keeps the parts: ``question`` (row 1, carried over the blank cells),
``sub_item`` (row 2) and ``role`` (``respondent_id``, ``collector_id``, ``start_date``,
``end_date``, ``ip_address``, ``email``, ``first_name``, ``last_name``, ``custom_data``,
``response``, ``open_ended``, ``option``). IP address, e-mail and names are flagged
identifying (``identifier = "y"``), like a REDCap dictionary's ``Identifier?``. Source
rows count both header rows: the first respondent is row 3.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from .base import RawTable, new_meta
from .text import DelimitedText, read_delimited, split_header, table_from_text

__all__ = ["is_surveymonkey", "read_surveymonkey", "surveymonkey_meta"]

_SIGNATURE = ("Respondent ID", "Collector ID")
_META_ROLES = {
    "Respondent ID": "respondent_id",
    "Collector ID": "collector_id",
    "Start Date": "start_date",
    "End Date": "end_date",
    "IP Address": "ip_address",
    "Email Address": "email",
    "First Name": "first_name",
    "Last Name": "last_name",
}
_IDENTIFYING = {"ip_address", "email", "first_name", "last_name"}
_SINGLE = {"Response": "response", "Open-Ended Response": "open_ended"}


def is_surveymonkey(header: Sequence[str], second: Sequence[str] = ()) -> bool:
    """Whether the first two rows are a SurveyMonkey export's.

    Row 1 starts ``Respondent ID, Collector ID`` and row 2 is blank under them.

    Examples
    --------
    >>> is_surveymonkey(["Respondent ID", "Collector ID", "Start Date", "Q1"],
    ...                 ["", "", "", "Response"])
    True
    >>> is_surveymonkey(["Respondent ID", "Score"], ["", ""])
    False
    """
    first = tuple(str(h).strip() for h in header[:2])
    below = [str(v).strip() for v in second[:2]]
    return first == _SIGNATURE and all(v == "" for v in below)


def _name(question: str, sub: str, position: int) -> tuple[str, str]:
    """The column name and role of a question column."""
    if sub in _SINGLE:
        return question, _SINGLE[sub]
    return f"{question} [{sub or f'column {position}'}]", "option"


def surveymonkey_meta(header: Sequence[str], second: Sequence[str]) -> pd.DataFrame:
    """``columns_meta`` of a SurveyMonkey export from its two header rows.

    Examples
    --------
    >>> m = surveymonkey_meta(
    ...     ["Respondent ID", "Collector ID", "IP Address", "Which flowers?", "", "Mood"],
    ...     ["", "", "", "Tulip", "Rose", "Response"])
    >>> m["column"].tolist()
    ['Respondent ID', 'Collector ID', 'IP Address', 'Which flowers? [Tulip]', 'Which flowers? [Rose]', 'Mood']
    >>> m["role"].tolist(), m["identifier"].tolist()[2]
    (['respondent_id', 'collector_id', 'ip_address', 'option', 'option', 'response'], 'y')
    """
    width = max(len(header), len(second))
    row1 = [str(h).strip() for h in header] + [""] * (width - len(header))
    row2 = [str(h).strip() for h in second] + [""] * (width - len(second))
    names: list[str] = []
    questions: list[str | None] = []
    subs: list[str | None] = []
    roles: list[str] = []
    question = ""
    for pos, (top, sub) in enumerate(zip(row1, row2, strict=True), start=1):
        if top and not sub:  # a metadata column (or a custom data column)
            question = ""
            names.append(top)
            questions.append(None)
            subs.append(None)
            roles.append(_META_ROLES.get(top, "custom_data"))
            continue
        question = top or question
        name, role = _name(question, sub, pos)
        names.append(name)
        questions.append(question or None)
        subs.append(sub if role == "option" and sub else None)
        roles.append(role)
    meta = new_meta(names)
    meta["question"] = questions
    meta["sub_item"] = subs
    meta["role"] = roles
    meta["identifier"] = ["y" if r in _IDENTIFYING else None for r in roles]
    return meta


def read_surveymonkey(
    path: str | Path, *, encoding: str | None = None, text: DelimitedText | None = None
) -> RawTable:
    """Read a SurveyMonkey CSV export (its ``.xlsx`` goes through ``read_xlsx``).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> p = Path(tempfile.mkdtemp()) / "sm.csv"
    >>> _ = p.write_text("Respondent ID,Collector ID,How calm?,Which?,\\n"
    ...     ",,Response,Tulip,Rose\\n1001,42,Calm,Tulip,\\n")
    >>> t = read_surveymonkey(p)
    >>> t.format, t.data.columns.tolist()[2:], t.source_row.tolist()
    ('surveymonkey', ['How calm?', 'Which? [Tulip]', 'Which? [Rose]'], [3])
    """
    path = Path(path)
    if text is None:
        text = read_delimited(path, encoding=encoding)
    headers, body, notes = split_header(text, 2, what="SurveyMonkey export")
    meta = surveymonkey_meta(headers[0], headers[1])
    return table_from_text(
        text, header_rows=2, body=body, meta=meta, format="surveymonkey", notes=notes
    )
