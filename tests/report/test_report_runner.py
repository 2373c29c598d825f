"""The papermill runner: parameter names and types checked, failures named by section."""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pytest

from mentoreval.errors import ReportError
from mentoreval.report.notebook import cast_parameters, run_notebook

TEMPLATE = Path(__file__).parents[1] / "fixtures" / "notebooks" / "report_fixture.ipynb"


def test_casts_to_declared_types() -> None:
    cast = cast_parameters(
        TEMPLATE,
        {
            "n_students": np.int64(30),
            "seed": "11",
            "effect": np.float32(2.5),
            "title": 2025,
            "out_dir": Path("reports/x"),
            "leak": "no",
        },
    )
    assert cast == {
        "n_students": 30,
        "seed": 11,
        "effect": 2.5,
        "title": "2025",
        "out_dir": "reports/x",
        "leak": False,
    }
    assert type(cast["n_students"]) is int
    assert type(cast["effect"]) is float


def test_unknown_and_invalid_names_all_reported() -> None:
    with pytest.raises(ReportError) as info:
        cast_parameters(TEMPLATE, {"cohort": "2025", "x = 1\nprint('INJECTED')\ny": 1})
    text = str(info.value)
    assert "2 parameter problems" in text
    assert "unknown parameter 'cohort'" in text
    assert "n_students" in text  # lists the declared ones
    assert "invalid parameter name" in text


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("n_students", "forty"),
        ("n_students", 2.5),
        ("n_students", True),
        ("effect", "big"),
        ("leak", "maybe"),
        ("title", None),
        ("title", 1.5),
    ],
)
def test_uncastable_values(name: str, value: object) -> None:
    with pytest.raises(ReportError, match=f"parameter '{name}'"):
        cast_parameters(TEMPLATE, {name: value})


def test_missing_template(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="not found"):
        cast_parameters(tmp_path / "nope.ipynb", {})


def test_failing_cell_names_section_and_keeps_notebook(tmp_path: Path) -> None:
    output = tmp_path / "run" / "report.ipynb"
    with pytest.raises(ReportError) as info:
        run_notebook(
            TEMPLATE,
            output,
            parameters={"fail_in": "wellbeing", "out_dir": str(tmp_path / "out")},
            progress=False,
        )
    message = info.value.message
    assert message == ("section '3. Wellbeing' failed: ValueError: deliberate failure for testing")
    assert "\n" not in message
    assert output.is_file()  # partial notebook kept for inspection
    nb = nbformat.read(output, as_version=4)
    assert any(c.metadata.get("tags") == ["injected-parameters"] for c in nb.cells)
    assert str(output) in str(info.value)
