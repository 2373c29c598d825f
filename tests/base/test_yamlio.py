"""Strict safe YAML: the libyaml fast path reads exactly what the Python parser reads."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mentoreval.errors import ConfigError
from mentoreval.yamlio import _FAST_LOADER, _StrictSafeLoader, load_yaml

ROOT = Path(__file__).resolve().parents[2]
TRICKY = """
answer: NO
on: off
code: 010
hex: 0x1F
big: 1_000
clock: 12:30
when: 2026-06-30
n: 10
x: -2.5e3
ok: TRUE
nothing: null
items: [a, 'b', "c"]
nested: {k: [1, {m: y}]}
"""


needs_libyaml = pytest.mark.skipif(_FAST_LOADER is None, reason="PyYAML without libyaml")


@pytest.mark.parametrize(
    "path",
    sorted((ROOT / "surveys" / "instruments").glob("*.yaml"))
    + sorted((ROOT / "data" / "demo").rglob("*.yaml")),
    ids=lambda p: p.name,
)
@needs_libyaml
def test_fast_and_python_parsers_agree_on_shipped_files(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    fast = yaml.load(text, Loader=_FAST_LOADER)
    assert fast == yaml.load(text, Loader=_StrictSafeLoader)
    assert fast  # a document was read


def test_scalars_stay_strict_on_every_parser() -> None:
    expected = {
        "answer": "NO",
        "on": "off",
        "code": "010",
        "hex": "0x1F",
        "big": "1_000",
        "clock": "12:30",
        "when": "2026-06-30",
        "n": 10,
        "x": -2500.0,
        "ok": True,
        "nothing": None,
        "items": ["a", "b", "c"],
        "nested": {"k": [1, {"m": "y"}]},
    }
    for loader in (_FAST_LOADER, _StrictSafeLoader):
        if loader is not None:
            assert yaml.load(TRICKY, Loader=loader) == expected
    assert load_yaml("x.yaml", text=TRICKY) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: [1, 2", "line 1, column 9: expected ',' or ']'"),
        ("a: 1\na: 2", "line 2, column 1: duplicate key 'a' (first on line 1)"),
        ("a: 1\nb:\n  c: 1\n  c: 2\n", "line 4, column 3: duplicate key 'c' (first on line 3)"),
    ],
)
def test_errors_keep_the_precise_python_message(text: str, message: str) -> None:
    with pytest.raises(
        ConfigError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")
    ):
        load_yaml("x.yaml", text=text)


@pytest.mark.parametrize("text", ["a: " + "[" * 5000 + "]" * 5000, "a:\n  " + "- " * 200 + "x"])
def test_deep_nesting_is_a_located_config_error_not_a_recursion_error(text: str) -> None:
    from mentoreval.yamlio import MAX_DEPTH

    with pytest.raises(
        ConfigError, match=rf"x\.yaml: line [12], column .*more than {MAX_DEPTH} levels"
    ):
        load_yaml("x.yaml", text=text)


def test_nesting_up_to_the_limit_loads() -> None:
    from mentoreval.yamlio import MAX_DEPTH

    assert load_yaml("x.yaml", text="a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)) == {
        "a": _nested(MAX_DEPTH - 1)
    }


def _nested(depth: int) -> list[object]:
    out: list[object] = []
    for _ in range(depth - 1):
        out = [out]
    return out
