"""Participant-id patterns (``participant_id.pattern``), matched in bounded time with RE2."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from mentoreval.errors import ConfigError, Problem

__all__ = ["compile_id_pattern"]

_PATTERN_KEY = "participant_id.pattern"
_PATTERN_MAX = 1000  # characters; an id pattern is a line, not a program


def compile_id_pattern(pattern: str) -> Callable[[Iterable[str]], np.ndarray]:
    """A vectorised full match of ids against ``participant_id.pattern``, in bounded time.

    The pattern runs on RE2 (through pyarrow's ``match_substring_regex``), which never
    backtracks: matching takes time linear in the length of the ids whatever the pattern,
    so ``^(a+)+$`` against ``aaaa…!`` answers at once instead of hanging ``validate``.
    RE2 has Python's syntax without lookarounds (``(?=…)``, ``(?<!…)``) and
    backreferences (``\\1``), and its ``\\d``/``\\w``/``\\s`` are ASCII. A pattern
    that RE2 cannot compile is a :class:`~mentoreval.errors.ConfigError` naming the key.

    Returns
    -------
    callable
        ``ids → bool array``: True where the whole id matches (``^``/``$`` are implied).

    Examples
    --------
    >>> matches = compile_id_pattern("[0-9]{7}")
    >>> matches(["1234567", "123456", "1234567x", "1234567\\n"]).tolist()
    [True, False, False, False]
    >>> compile_id_pattern("^(a+)+$")(["a" * 40 + "!"]).tolist()
    [False]
    >>> compile_id_pattern("(a)\\\\1")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mentoreval.errors.ConfigError: participant_id.pattern: ... (fix: ...)
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    def regex_match(arr: Any, regex: str) -> Any:
        options = pc.MatchSubstringOptions(regex)
        return pc.call_function("match_substring_regex", [arr], options)

    def refuse(why: str) -> ConfigError:
        problem = Problem(
            f"{why}: {pattern[:80]!r}",
            key=_PATTERN_KEY,
            fix="write a regular expression without lookarounds (?=...) and backreferences "
            "\\1 (mentoreval runs id patterns with RE2, which guarantees bounded time), "
            "e.g. '^[0-9]{7}$'",
        )
        return ConfigError(str(problem), (problem,))

    if len(pattern) > _PATTERN_MAX:
        raise refuse(f"the pattern is {len(pattern)} characters long (limit {_PATTERN_MAX})")
    anchored = rf"\A(?:{pattern})\z"
    probe = pa.array([""], type=pa.large_string())
    try:
        # the bare pattern first: "a)|(b" must not escape the anchors around it
        regex_match(probe, pattern)
        regex_match(probe, anchored)
    except pa.ArrowInvalid as exc:
        raise refuse(
            str(exc).replace("Invalid regular expression: ", "invalid regular expression (") + ")"
        ) from None
    except pa.ArrowNotImplementedError:  # pragma: no cover - pyarrow built without RE2
        raise refuse(
            "this pyarrow has no RE2 regular expressions; install pyarrow from PyPI"
        ) from None

    def matches(ids: Iterable[str]) -> np.ndarray:
        arr = ids if isinstance(ids, pa.Array) else pa.array(list(ids), type=pa.large_string())
        found = regex_match(arr, anchored)
        return np.asarray(found.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)

    return matches
