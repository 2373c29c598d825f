"""The researcher notebooks in ``notebooks/examples/`` run top to bottom on the demo data."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "notebooks" / "examples").glob("*.ipynb"))


def test_there_are_example_notebooks():
    """The two tests below are parametrised over the examples: none would run on an empty list."""
    assert "worked_analysis.ipynb" in [p.name for p in EXAMPLES]


@pytest.mark.parametrize("notebook", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_notebook_runs(notebook, tmp_path, monkeypatch):
    import papermill as pm

    # The notebook works in tempfile.mkdtemp() (a key and processed data): the kernel
    # inherits TMPDIR, so that folder is made inside tmp_path, never left in /tmp.
    monkeypatch.setenv("TMPDIR", str(tmp_path))

    if not (ROOT / "data" / "demo").is_dir():
        pytest.skip("demo data not present")
    out = tmp_path / notebook.name
    pm.execute_notebook(
        str(notebook), str(out), kernel_name="python3", progress_bar=False, cwd=str(notebook.parent)
    )
    nb = nbformat.read(out, as_version=4)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            assert output.get("output_type") != "error"
            text = str(output.get("data", {}).get("text/plain", "")) + str(output.get("text", ""))
            assert "<Axes" not in text and "Traceback" not in text


@pytest.mark.parametrize("notebook", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_notebook_is_committed_clean(notebook):
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_report_template_is_clean_and_thin():
    nb = nbformat.read(ROOT / "notebooks" / "templates" / "cohort_report.ipynb", as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
            if cell is not tagged[0]:
                assert len([ln for ln in cell.source.splitlines() if ln.strip()]) <= 3
