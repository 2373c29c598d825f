"""LimeSurvey CSV exports (stage: read).

UTF-8 with BOM, every value quoted, CRLF, a trailing blank line (not a record), ``,`` or ``;`` separator.
Metadata columns have code headings (``id, submitdate, lastpage, startlanguage, ...``) or
text headings (``Response ID, Date submitted, Last page, ...``). Subquestions look like
``G02Q02[SQ001]``; ``columns_meta`` splits them into ``question`` and ``sub_item``.
Incomplete responses have an empty ``submitdate``; they are kept by default or excluded
with ``unfinished="exclude"`` (rule ``limesurvey_unfinished``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from .base import RawTable, Rule, check_choice, new_meta
from .text import DelimitedText, read_delimited, split_header, table_from_text

__all__ = ["is_limesurvey", "read_limesurvey"]

_SUB = re.compile(r"^(?P<question>[^\[\]]+?)\s*(?P<subs>(\[[^\[\]]*\])+)$")
_CODE_META = ("id", "submitdate", "lastpage")
_TEXT_META = ("Response ID", "Date submitted", "Last page")


def is_limesurvey(header: list[str]) -> bool:
    """Whether a header row looks like a LimeSurvey export.

    Examples
    --------
    >>> is_limesurvey(["id", "submitdate", "lastpage", "startlanguage", "G01Q01"])
    True
    >>> is_limesurvey(["Response ID", "Date submitted", "Last page", "Q1"])
    True
    """
    first = [h.strip() for h in header[:3]]
    return tuple(first) in (_CODE_META, _TEXT_META)


def read_limesurvey(
    path: str | Path,
    *,
    unfinished: Literal["keep", "exclude"] = "keep",
    encoding: str | None = None,
    text: DelimitedText | None = None,
) -> RawTable:
    """Read a LimeSurvey CSV export.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> p = Path(tempfile.mkdtemp()) / "results.csv"
    >>> _ = p.write_bytes('\\ufeff"id","submitdate","lastpage","G01Q01[SQ001]"\\r\\n'
    ...     '"1","2024-01-02 10:00:00","2","A3"\\r\\n"2","","1",""\\r\\n\\r\\n'.encode())
    >>> t = read_limesurvey(p, unfinished="exclude")
    >>> t.data["id"].tolist(), t.excluded["rule"].tolist()
    (['1'], ['limesurvey_unfinished'])
    """
    path = Path(path)
    check_choice("unfinished", unfinished, ("keep", "exclude"))
    if text is None:
        text = read_delimited(path, encoding=encoding)
    headers, body, notes = split_header(text, 1, what="LimeSurvey export")
    meta = new_meta(headers[0])
    questions, items = [], []
    for h in headers[0]:
        m = _SUB.match(h)
        questions.append(m["question"] if m else h)
        items.append(m["subs"][1:-1].replace("][", "|") if m else None)
    meta["question"] = questions
    meta["sub_item"] = items
    rules: list[Rule] = []
    submit = next((h for h in ("submitdate", "Date submitted") if h in headers[0]), None)
    if unfinished == "exclude":
        if submit is None:
            notes.append("unfinished='exclude' but no submitdate column: nothing excluded")
        else:
            pos = headers[0].index(submit)
            empty = body[body.columns[pos]].isna().to_numpy()
            rules.append((empty, "limesurvey_unfinished", f"{submit} is empty", submit))
    return table_from_text(
        text, header_rows=1, body=body, meta=meta, format="limesurvey", rules=rules, notes=notes
    )
