"""The package's shape: imports run one way down the data flow, with no circles.

Layers, top to bottom (``docs/architecture.md``)::

    cli → run → report → store → stats | disclose | synth → ingest → config → instruments
        → read → base (errors, yamlio, safefs, resources, frames, outputs)

A module may import from its own layer or any layer below it, never from a layer above;
``stats``, ``disclose`` and ``synth`` sit side by side and do not import each other. Every
import counts, including those inside functions and under ``TYPE_CHECKING``: a lazy import
is still a dependency. On top of the layers, the module graph has no cycles at all (not
even inside one package), and no module imports another module's ``_private`` name.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "mentoreval"

#: Bottom to top. Each entry is one layer: the top-level names (packages or modules) in it.
LAYERS: list[set[str]] = [
    # base: "" is mentoreval/__init__ (the version only)
    {"", "errors", "yamlio", "safefs", "resources", "frames", "outputs", "_bundled"},
    {"read"},
    {"instruments"},
    {"config"},
    {"ingest"},
    {"stats", "disclose", "synth", "draft"},
    {"store"},
    {"report"},
    {"run"},
    {"cli", "__main__"},
]
#: Side-by-side parts of one layer that must not import each other.
SIBLINGS_INDEPENDENT = {"stats", "disclose", "synth", "draft"}

#: Known imports of private names, each with the reason it is still there.
PRIVATE_ALLOWED: set[tuple[str, str, str]] = set()


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def type_only_lines(tree: ast.Module) -> set[int]:
    """Line numbers of the imports under ``if TYPE_CHECKING:``."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in node.body:
                lines.update(range(inner.lineno, (inner.end_lineno or inner.lineno) + 1))
    return lines


def imports(module: str, *, runtime_only: bool = False) -> Iterator[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) for every mentoreval import."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    skip = type_only_lines(tree) if runtime_only else set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom) and node.lineno in skip:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "mentoreval":
                    yield alias.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            if base.split(".")[0] != "mentoreval":
                continue
            for alias in node.names:
                target = f"{base}.{alias.name}"
                if target in MODULES:  # `from package import module`
                    yield target, None, node.lineno
                else:
                    yield base, alias.name, node.lineno


def layer_of(module: str) -> tuple[int, str]:
    top = module.split(".")[1] if "." in module else ""
    for rank, names in enumerate(LAYERS):
        if top in names:
            return rank, top
    raise AssertionError(f"{module}: not in any layer; add its package to LAYERS")


GRAPH = {
    m: sorted({t for t, _, _ in imports(m, runtime_only=True) if t in MODULES and t != m})
    for m in MODULES
}


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        layer_of(module)


def test_imports_never_go_up_a_layer() -> None:
    wrong = []
    for module in MODULES:
        rank, top = layer_of(module)
        for target, _, line in imports(module):
            t_rank, t_top = layer_of(target)
            if t_rank > rank:
                wrong.append(f"{module}:{line} imports {target} (layer {t_top!r} is above {top!r})")
            elif t_rank == rank and t_top != top and {top, t_top} <= SIBLINGS_INDEPENDENT:
                wrong.append(
                    f"{module}:{line} imports {target} ({top!r} and {t_top!r} are siblings)"
                )
    assert wrong == [], "imports against the flow:\n" + "\n".join(wrong)


def find_cycle() -> list[str] | None:
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in GRAPH[node]:
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for module in MODULES:
        if module not in state and (found := visit(module)):
            return found
    return None


def test_no_import_cycles() -> None:
    cycle = find_cycle()
    assert cycle is None, "import cycle: " + " → ".join(cycle or [])


def test_no_module_imports_another_modules_private_name() -> None:
    wrong = [
        f"{module}:{line} imports {name} from {target}"
        for module in MODULES
        for target, name, line in imports(module)
        if name
        and name.startswith("_")
        and not name.startswith("__")
        and (module, target, name) not in PRIVATE_ALLOWED
    ]
    assert wrong == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "from mentoreval.report.cohort import analyse_cohort\n",
            "layer 'report' is above 'ingest'",
        ),
        ("from mentoreval.stats import paired\n", "'disclose' and 'stats' are siblings"),
    ],
)
def test_the_rules_catch_a_back_import(
    source: str, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checks themselves work: a planted back-import is reported."""
    module = "mentoreval.ingest.planted" if "report" in source else "mentoreval.disclose.planted"
    planted = tmp_path / "planted.py"
    planted.write_text(source, encoding="utf-8")
    monkeypatch.setitem(MODULES, module, planted)
    with pytest.raises(AssertionError, match=expected):
        test_imports_never_go_up_a_layer()
