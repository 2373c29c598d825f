"""The package's grain: no module over ~600 lines, no function over ~80 without a reason.

A function's length is counted from its ``def`` to its last line, without its docstring
(numpydoc docstrings with runnable examples are encouraged, not penalised). A function may
run longer when a comment ``# long: <reason>`` sits on the line above its ``def`` (or above
its first decorator): some code reads best as one sequence (a file format walked top to
bottom, a table of checks). ``KNOWN`` lists what is still being split; it only shrinks.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "mentoreval"
MODULE_LINES = 600
FUNCTION_LINES = 80

#: Modules and functions still over the limits (module path or "module:function").
KNOWN: set[str] = set()


def _docstring_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    first = node.body[0] if node.body else None
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        return (first.end_lineno or first.lineno) - first.lineno + 1
    return 0


def _has_reason(lines: list[str], node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    above = lines[start - 2].strip() if start >= 2 else ""
    return above.startswith("# long:") and len(above) > len("# long:") + 10


def oversized() -> dict[str, int]:
    """Every module and function over its limit, with its length in lines."""
    found: dict[str, int] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        if len(lines) > MODULE_LINES:
            found[rel] = len(lines)
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                length -= _docstring_lines(node)
                if length > FUNCTION_LINES and not _has_reason(lines, node):
                    found[f"{rel}:{node.name}"] = length
    return found


def test_no_module_or_function_over_its_limit_without_a_reason() -> None:
    new = {k: v for k, v in oversized().items() if k not in KNOWN}
    assert new == {}, "split these, or give a function a '# long: <reason>' line above it"


def test_known_oversized_list_only_holds_what_is_still_oversized() -> None:
    assert KNOWN - set(oversized()) == set(), "remove these from KNOWN: they are split now"
