"""patsy design matrices without user text in the formula.

patsy evaluates formula text as Python, and column names and level labels come from users'
files. So no formula in :mod:`mentoreval.stats` ever contains either: :class:`ModelFrame`
copies the columns a model needs under internal names (``x0``, ``x1``, …), recodes each
categorical column to a :class:`pandas.Categorical` of internal level codes (``L0``,
``L1``, … in the order patsy would have used for the original values, so the reference
level is the first code), and writes formula terms from those names and constants only.
patsy's column and term names are mapped back to the user's names and level labels for
display (``site[west]``, ``wave[post]:group[mentored]``), so results read as before and
the numbers are those of the same formula written with the user's names.

:func:`rss` is the least-squares residual sum of squares of such a design matrix; the
nested-model tests of :mod:`~mentoreval.stats.controlled` (ANOVA tables) and
:mod:`~mentoreval.stats.dose` (dose and moderation F tests) share it.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Sequence
from typing import Literal

import numpy as np
import pandas as pd
from patsy.util import SortAnythingKey

__all__ = ["ModelFrame", "is_categorical", "rss"]

Coding = Literal["Treatment", "Sum"]

# an internal factor term with an optional column suffix (``[T.L1]``, ``[S.L0]``, ``[L1]``),
# or an internal variable name on its own (a boolean one that patsy codes itself keeps
# patsy's ``[T.True]``)
_INTERNAL = re.compile(
    r"C\(x(\d+), (?:Treatment|Sum)\)(?:\[(?:[TS]\.)?L(\d+)\])?|\bx(\d+)\b(?:\[T\.([^\]]*)\])?"
)


def is_categorical(s: pd.Series) -> bool:
    """True for a column that enters a model as a factor (text, category, bool)."""
    return not (pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s))


def rss(y: np.ndarray, x: np.ndarray) -> float:
    """Residual sum of squares of the least-squares fit of ``y`` on the columns of ``x``.

    Minimum-norm least squares (:func:`numpy.linalg.lstsq`), so a rank-deficient design
    still gives the residuals of its column space.

    Examples
    --------
    >>> x = np.column_stack([np.ones(4), [0.0, 1, 2, 3]])
    >>> round(rss(np.array([1.0, 2, 2, 4]), x), 10)
    0.7
    """
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    r = y - x @ beta
    return float(r @ r)


def _readable(level: object) -> str:
    """A level as patsy writes it in column names (``str`` as is, else ``repr``)."""
    if isinstance(level, str):
        return level
    if isinstance(level, bytes):
        try:
            return level.decode("utf-8")
        except UnicodeDecodeError:
            return repr(level)
    return repr(level)


def _levels(s: pd.Series) -> list[object]:
    """The levels patsy would find in ``s``, in patsy's order.

    A pandas categorical keeps its categories (in order, used or not); a boolean column has
    ``[False, True]``; otherwise the distinct non-missing values, sorted as patsy sorts them.
    """
    if isinstance(s.dtype, pd.CategoricalDtype):
        return list(s.cat.categories.tolist())
    if pd.api.types.is_bool_dtype(s):
        return [False, True]
    values = set(s.dropna().tolist())
    if any(v is True or v is False for v in values):
        values |= {False, True}
    return sorted(values, key=SortAnythingKey)


class ModelFrame:
    """The columns of a model under internal names, and the way back to the user's names.

    Parameters
    ----------
    data
        The user's frame (rows already selected); its index is kept.

    Examples
    --------
    >>> d = pd.DataFrame({"post": [3.0, 4, 6, 5], "site name": ["b", "a", "b", "a"]})
    >>> mf = ModelFrame(d)
    >>> f = f"{mf.numeric('post')} ~ {mf.factor('site name')}"
    >>> f
    'x0 ~ C(x1, Treatment)'
    >>> mf.label("C(x1, Treatment)[T.L1]")
    'site name[b]'
    """

    def __init__(self, data: pd.DataFrame) -> None:
        self._data = data
        self.frame = pd.DataFrame(index=data.index)
        self._keys: dict[tuple[Hashable, str], str] = {}
        self._names: list[str] = []
        self._levels: dict[str, list[object]] = {}

    def _add(self, column: Hashable, kind: str, values: pd.Series | pd.Categorical[str]) -> str:
        key = f"x{len(self._names)}"
        self._keys[(column, kind)] = key
        self._names.append(str(column))
        self.frame[key] = values
        return key

    def numeric(self, column: Hashable) -> str:
        """Copy ``column`` as it is; return its formula term (an internal name)."""
        key = self._keys.get((column, "num"))
        return key if key is not None else self._add(column, "num", self._data[column])

    def factor(
        self, column: Hashable, levels: Sequence[object] | None = None, coding: Coding = "Treatment"
    ) -> str:
        """Copy ``column`` as internal level codes; return its ``C(...)`` formula term.

        ``levels`` fixes the level order (the first is the reference under treatment
        coding); by default it is the order patsy would use for the values. Values not in
        ``levels`` become missing.
        """
        key = self._keys.get((column, "cat"))
        if key is None:
            s = self._data[column]
            lv = list(levels) if levels is not None else _levels(s)
            if levels is None and isinstance(s.dtype, pd.CategoricalDtype):
                codes = s.cat.codes.to_numpy()
            else:
                codes = pd.Index(lv, dtype=object).get_indexer(pd.Index(s.to_numpy(dtype=object)))
            categories = pd.Index(self.codes(len(lv)))
            key = self._add(column, "cat", pd.Categorical.from_codes(codes, categories))
            self._levels[key] = lv
        return f"C({key}, {coding})"

    @staticmethod
    def codes(n: int) -> list[str]:
        """The internal level codes of a factor with ``n`` levels."""
        return [f"L{i}" for i in range(n)]

    def key(self, column: Hashable, kind: Literal["num", "cat"]) -> str:
        """The internal name of a registered column."""
        return self._keys[(column, kind)]

    def levels(self, column: Hashable) -> list[object]:
        """The user's levels of a registered factor, in code order."""
        return self._levels[self.key(column, "cat")]

    def dummy(self, column: Hashable, level: object) -> str:
        """patsy's name for the treatment-coded column of ``level`` of a factor."""
        key = self.key(column, "cat")
        code = self._levels[key].index(level)
        return f"C({key}, Treatment)[T.L{code}]"

    def terms(self, columns: Sequence[Hashable], factors: Sequence[Hashable] = ()) -> str:
        """``a + C(b, Treatment) + …``: factors for ``factors`` and categorical columns."""
        return " + ".join(
            self.factor(c) if c in factors or is_categorical(self._data[c]) else self.numeric(c)
            for c in columns
        )

    def label(self, name: str) -> str:
        """A patsy column or term name with the user's names and levels (for display).

        ``C(x1, Treatment)[T.L2]`` → ``site[west]``; ``C(x1, Sum)`` → ``site``;
        ``x0`` → ``pre``; interactions keep their ``:``.
        """

        def repl(m: re.Match[str]) -> str:
            if m.group(3) is not None:
                name = self._names[int(m.group(3))]
                return name if m.group(4) is None else f"{name}[{m.group(4)}]"
            key = f"x{m.group(1)}"
            name = self._names[int(m.group(1))]
            if m.group(2) is None:
                return name
            return f"{name}[{_readable(self._levels[key][int(m.group(2))])}]"

        return _INTERNAL.sub(repl, name)
