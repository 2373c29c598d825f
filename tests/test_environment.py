"""pyproject.toml is the one dependency list; environment.yml must mirror it exactly."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
# pip extras that conda-forge ships as separate packages
SPLIT = {"dask[distributed]": ["dask", "distributed"]}


def _split(spec: str) -> tuple[str, str]:
    m = re.match(r"^([A-Za-z0-9_.\-]+(?:\[[a-z,]+\])?)\s*(.*)$", spec)
    assert m, spec
    return m.group(1).lower(), m.group(2).replace(" ", "")


def test_environment_yml_mirrors_pyproject() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted: dict[str, str] = {}
    for dep in project["dependencies"]:
        name, spec = _split(dep)
        for conda_name in SPLIT.get(name, [name]):
            wanted[conda_name] = spec
    env = yaml.safe_load((REPO / "environment.yml").read_text(encoding="utf-8"))
    assert env["channels"][0] == "conda-forge"
    have: dict[str, str] = {}
    pip_section: list[str] = []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip_section = dep["pip"]
            continue
        name, spec = _split(dep)
        have[name] = spec
    python_spec = have.pop("python")
    have.pop("pip")
    assert python_spec == project["requires-python"]
    assert have == wanted
    assert pip_section == ["-e .[dev]"]
