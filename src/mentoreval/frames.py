"""Typing helpers for pandas (base layer).

pandas-stubs types every ``itertuples()`` row attribute as the union of all scalar types,
so each use of a row field would need a cast. :func:`iter_rows` states once that the fields are
the frame's own, already checked columns.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import pandas as pd

__all__ = ["iter_rows"]


def iter_rows(frame: pd.DataFrame) -> Iterator[Any]:
    """``frame.itertuples(index=False)`` with rows typed as ``Any`` (fields are columns).

    Examples
    --------
    >>> [r.a for r in iter_rows(pd.DataFrame({"a": [1, 2]}))]
    [1, 2]
    """
    return cast(Iterator[Any], frame.itertuples(index=False))
