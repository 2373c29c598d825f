"""Safe, strict YAML reading shared by instrument definitions and study configs.

PyYAML's ``safe_load`` constructs no objects, but it still follows YAML 1.1 typing, which
silently changes survey values: ``NO`` becomes ``False``, ``010`` becomes ``8``, ``12:30``
becomes ``750`` and dates become ``date`` objects. It also keeps the *last* of two
duplicate keys without a word. :func:`load_yaml` reads YAML so that:

- only ``true``/``false`` (any case) are booleans; ``yes``/``no``/``on``/``off`` stay text;
- only plain decimal integers are integers; ``010``, ``0x1F``, ``1_000``, ``12:30`` stay text;
- dates and times stay text;
- a duplicate key is an error naming its line.

:func:`pydantic_problems` turns a pydantic ``ValidationError`` into located
:class:`~mentoreval.errors.Problem` objects (every problem at once, with its key path).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from mentoreval.errors import ConfigError, MentorevalError, Problem

__all__ = ["MAX_DEPTH", "load_yaml", "pydantic_problems"]


class _StrictSafeLoader(yaml.SafeLoader):
    """SafeLoader with YAML-1.2-like scalars and duplicate-key detection."""


# Drop the YAML 1.1 implicit resolvers for bool, int, float and timestamp, then add narrow ones.
_StrictSafeLoader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag
        not in {
            "tag:yaml.org,2002:bool",
            "tag:yaml.org,2002:int",
            "tag:yaml.org,2002:float",
            "tag:yaml.org,2002:timestamp",
        }
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictSafeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_StrictSafeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), list("-+0123456789")
)
_StrictSafeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.[0-9]+(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


def _construct_mapping_no_duplicates(
    loader: _StrictSafeLoader, node: yaml.MappingNode, deep: bool = False
) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping",
                node.start_mark,
                f"duplicate key {key!r} (first on line {seen[key] + 1})",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line
    loader.flatten_mapping(node)
    return dict(loader.construct_pairs(node, deep=deep))


_StrictSafeLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping_no_duplicates,
)


#: The deepest nesting of lists and mappings a config or instrument file may have. Real
#: files need fewer than ten levels; thousands (``[[[[…]]]]``) only exhaust the stack.
MAX_DEPTH = 64


def _nesting_too_deep(text: str, loader: Any) -> Any:
    """Where the nesting first goes deeper than :data:`MAX_DEPTH` (``None`` when it never
    does). The parser's events come from an explicit state stack, not recursion, so this
    is safe whatever the depth."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    return event.start_mark
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        if loader is not _StrictSafeLoader:  # libyaml stops at its own depth limit: look again
            return _nesting_too_deep(text, _StrictSafeLoader)
        return None  # invalid YAML: reported (precisely) by the load that follows
    return None


_FAST_LOADER: Any = None
if hasattr(yaml, "CSafeLoader"):  # PyYAML built with libyaml: its parser is several times faster

    class _FastStrictLoader(yaml.CSafeLoader):
        """The same resolvers and constructors over libyaml's parser (used for valid files;
        errors are reported by the pure-Python parser, whose messages are more precise)."""

    _FastStrictLoader.yaml_implicit_resolvers = _StrictSafeLoader.yaml_implicit_resolvers
    _FastStrictLoader.yaml_constructors = _StrictSafeLoader.yaml_constructors
    _FAST_LOADER = _FastStrictLoader


def load_yaml(
    path: str | Path, *, error: type[MentorevalError] = ConfigError, text: str | None = None
) -> Any:
    """Read a YAML file safely and strictly.

    Parameters
    ----------
    path
        The file to read (also used in error messages when ``text`` is given).
    error
        The :class:`~mentoreval.errors.MentorevalError` subclass to raise on bad YAML.
    text
        YAML text to parse instead of reading ``path``.

    Returns
    -------
    Any
        The parsed document (usually a dict).

    Raises
    ------
    MentorevalError
        ``error`` with the file, line and column when the file is missing, unreadable
        or not valid YAML, or when a mapping repeats a key.

    Examples
    --------
    >>> load_yaml("x.yaml", text="answer: NO\\ncode: 010\\nn: 10\\nok: true\\nwhen: 2026-06-30")
    {'answer': 'NO', 'code': '010', 'n': 10, 'ok': True, 'when': '2026-06-30'}
    >>> load_yaml("x.yaml", text="a: 1\\na: 2")
    Traceback (most recent call last):
    ...
    mentoreval.errors.ConfigError: x.yaml: line 2, column 1: duplicate key 'a' (first on line 1) (fix: remove or rename one of the repeated keys)
    """
    path = Path(path)
    if text is None:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise error(
                f"{path}: file not found (fix: check the path; relative paths are resolved "
                "from the folder of the file that names them)"
            ) from None
        except UnicodeDecodeError as exc:
            raise error(
                f"{path}: not UTF-8 text at byte {exc.start} (fix: save the file as UTF-8)"
            ) from None
    try:
        deep = _nesting_too_deep(text, _FAST_LOADER or _StrictSafeLoader)
        if deep is not None:
            where = f"line {deep.line + 1}, column {deep.column + 1}" if deep.line >= 0 else ""
            raise error(
                f"{path}: {where + ': ' if where else ''}lists and mappings are nested more "
                f"than {MAX_DEPTH} levels deep (fix: flatten the structure; a study or "
                "instrument file needs only a few levels)"
            )
        if _FAST_LOADER is not None:
            try:
                return yaml.load(text, Loader=_FAST_LOADER)  # noqa: S506 - strict *safe* loader
            except yaml.YAMLError:
                pass  # read again below for the precise message
        return yaml.load(text, Loader=_StrictSafeLoader)  # noqa: S506 - strict *safe* loader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown place"
        problem = exc.problem or "invalid YAML"
        fix = (
            "remove or rename one of the repeated keys"
            if "duplicate key" in problem
            else "check indentation, colons and quotes around this place"
        )
        raise error(f"{path}: {where}: {problem} (fix: {fix})") from None
    except yaml.YAMLError as exc:
        raise error(f"{path}: invalid YAML: {exc} (fix: check the file's syntax)") from None
    except RecursionError:  # aliases nesting deep structures inside each other
        raise error(
            f"{path}: lists and mappings are nested too deeply to read (fix: flatten the "
            "structure; avoid nesting anchors (&a / *a) inside each other)"
        ) from None


_FIXES = {
    "extra_forbidden": "remove this key or correct its spelling",
    "missing": "add this key",
    "int_type": "write a whole number without quotes or leading zeros",
    "float_type": "write a number",
    "bool_type": "write true or false",
    "string_type": "write text (quote it if it looks like a number)",
    "list_type": "write a list ([a, b] or one '- item' per line)",
    "dict_type": "write a mapping (key: value)",
    "literal_error": "use one of the allowed values",
}


def _key_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def pydantic_problems(exc: ValidationError, *, file: str | Path) -> list[Problem]:
    """Convert a pydantic ``ValidationError`` into located problems.

    Parameters
    ----------
    exc
        The validation error (raised with every failure collected).
    file
        The file the data came from.

    Returns
    -------
    list of Problem
        One per failure, with ``key`` set to the dotted path (``scales[0].method``).
    """
    problems = []
    for err in exc.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        value = err.get("input")
        message = err["msg"]
        if err["type"] not in {"missing", "extra_forbidden"} and not isinstance(value, dict | list):
            message += f" (got {value!r})"
        problems.append(
            Problem(message, file=str(file), key=_key_path(loc), fix=_FIXES.get(err["type"]))
        )
    return problems
