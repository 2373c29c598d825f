"""Google Forms "Download responses (.csv)" exports (stage: read).

First column ``Timestamp``; every other header is the full question text. A grid question
gives one column per row, ``Question [Row]``; ``columns_meta`` splits it into ``question``
and ``sub_item``. There is no respondent ID unless an email or a code was collected.
"""

from __future__ import annotations

import re
from pathlib import Path

from .base import RawTable, new_meta
from .text import DelimitedText, read_delimited, split_header, table_from_text

__all__ = ["is_googleforms", "read_googleforms"]

_GRID = re.compile(r"^(?P<question>.*\S)\s*\[(?P<row>[^\[\]]*)\]$", re.DOTALL)
_TIMESTAMPS = ("Timestamp", "Marca temporal", "Horodateur", "Zeitstempel", "Carimbo de data/hora")


def is_googleforms(header: list[str]) -> bool:
    """Whether a header row looks like a Google Forms export.

    Examples
    --------
    >>> is_googleforms(["Timestamp", "How useful is option 1?"])
    True
    """
    return bool(header) and header[0].strip() in _TIMESTAMPS


def read_googleforms(
    path: str | Path, *, encoding: str | None = None, text: DelimitedText | None = None
) -> RawTable:
    """Read a Google Forms CSV export.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> p = Path(tempfile.mkdtemp()) / "form.csv"
    >>> _ = p.write_text('"Timestamp","Rate these [Mentor support]"\\n'
    ...                  '"2022/03/26 11:00:19 PM AST","Agree"\\n', encoding="utf-8")
    >>> t = read_googleforms(p)
    >>> t.columns_meta.loc[1, ["question", "sub_item"]].tolist()
    ['Rate these', 'Mentor support']
    """
    path = Path(path)
    if text is None:
        text = read_delimited(path, encoding=encoding)
    headers, body, notes = split_header(text, 1, what="Google Forms export")
    meta = new_meta(headers[0])
    meta["label"] = headers[0]
    questions, items = [], []
    for h in headers[0]:
        m = _GRID.match(h)
        questions.append(m["question"] if m else h)
        items.append(m["row"] if m else None)
    meta["question"] = questions
    meta["sub_item"] = items
    meta["role"] = ["timestamp", *(["field"] * (len(headers[0]) - 1))]
    return table_from_text(
        text, header_rows=1, body=body, meta=meta, format="googleforms", notes=notes
    )
