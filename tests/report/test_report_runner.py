"""The papermill runner: parameter names and types checked, failures named by section."""

from __future__ import annotations

import os
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


# --- quiet kernel (issue 16, point 12) -------------------------------------------------

NOISE = ("Kernel is running over TCP without encryption", "KeyboardInterrupt caught in kernel")


def _tiny_template(folder: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [
        nbformat.v4.new_code_cell(
            "answer: int = 1  # a parameter", metadata={"tags": ["parameters"]}
        ),
        nbformat.v4.new_code_cell("print(answer * 2)"),
    ]
    path = folder / "tiny.ipynb"
    nbformat.write(nb, path)
    return path


def test_report_kernel_prints_no_tcp_warning_and_no_shutdown_interrupt(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """The kernel's own stderr reaches this process's file descriptors (capfd): nothing
    of the known start-up or shutdown noise is there."""
    out = run_notebook(
        _tiny_template(tmp_path), tmp_path / "out.ipynb", parameters={"answer": 21},
        progress=False,
    )  # fmt: skip
    captured = capfd.readouterr()
    for line in NOISE:
        assert line not in captured.err and line not in captured.out
    cells = nbformat.read(out, as_version=4).cells
    assert cells[-1].outputs[0]["text"] == "42\n"


def _pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return (
        not Path(f"/proc/{pid}/stat").exists()
        or ") Z " not in Path(f"/proc/{pid}/stat").read_text()
    )


def test_prestarted_kernel_runs_the_notebook_from_count_one_and_then_stops(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """Started ahead (its warm-up import silent), handed to papermill, stopped after."""
    from mentoreval.report.kernel import PrestartedKernel

    with PrestartedKernel(cwd=tmp_path, warm_up="import json") as kernel:
        pid = kernel.km.provisioner.pid
        assert _pid_running(pid)
        # its own session id, so its socket identity is not papermill's client's: the
        # kernel answers only one of two clients sharing an identity (a 60 s hang)
        assert kernel.km.clients[0].session.session != kernel.km.session.session
        out = run_notebook(
            _tiny_template(tmp_path), tmp_path / "out.ipynb", parameters={"answer": 21},
            progress=False, km=kernel.km,
        )  # fmt: skip
    cells = nbformat.read(out, as_version=4).cells
    assert cells[-1].outputs[0]["text"] == "42\n"
    assert [c.execution_count for c in cells] == [1, 2, 3]  # the warm-up left no count
    assert not kernel.km.clients
    assert not _pid_running(pid)
    captured = capfd.readouterr()
    for line in NOISE:
        assert line not in captured.err and line not in captured.out


def test_prestarted_kernel_stops_when_the_analysis_fails(tmp_path: Path) -> None:
    from mentoreval.report.kernel import PrestartedKernel

    with pytest.raises(ValueError, match="analysis failed"), PrestartedKernel(cwd=tmp_path) as k:
        pid = k.km.provisioner.pid
        raise ValueError("analysis failed")
    assert not _pid_running(pid)


@pytest.mark.skipif(os.name != "posix", reason="Unix domain sockets")
def test_report_kernel_uses_ipc_in_a_private_folder_removed_afterwards() -> None:
    from mentoreval.report.kernel import QuietKernelManager

    km = QuietKernelManager(kernel_name="python3")
    folder = Path(km.connection_file).parent
    assert km.transport == "ipc" and km.ip.startswith(str(folder))
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    km.cleanup_private_folder()
    assert not folder.exists()


def test_report_kernel_is_not_interrupted_while_shutting_down(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import asyncio

    from jupyter_client.manager import AsyncKernelManager

    from mentoreval.report.kernel import QuietKernelManager

    calls: list[bool] = []

    async def interrupt(self: AsyncKernelManager) -> None:
        calls.append(self.shutting_down)

    monkeypatch.setattr(AsyncKernelManager, "_async_interrupt_kernel", interrupt)
    km = QuietKernelManager(kernel_name="python3")
    try:
        asyncio.run(km._async_interrupt_kernel())  # a user's interrupt still goes through
        km.shutting_down = True
        asyncio.run(km._async_interrupt_kernel())
    finally:
        km.cleanup_private_folder()
    assert calls == [False]


def test_redirected_output_drops_benign_kernel_lines_only(tmp_path: Path) -> None:
    from mentoreval.report.runtime import redirect_output

    log = tmp_path / "job.log"
    log.write_text("earlier line\n")
    with redirect_output(log):
        os.write(2, f"[IPKernelApp] WARNING | {NOISE[0]}. All communication ...\n".encode())
        os.write(2, b"a real problem\n")
        os.write(1, f"{NOISE[1]}\n".encode())
    assert log.read_text() == "earlier line\na real problem\n"


def test_egress_scan_searches_a_self_generated_codes_free_text_answers(tmp_path):
    from mentoreval.config.study import load_study
    from mentoreval.report.cohort.runner import _forbidden

    (tmp_path / "pre.csv").write_text(
        "mother,month,who5_1,who5_2,who5_3,who5_4,who5_5\nMargaret,3,1,2,3,4,5\nAl,4,1,2,3,4,5\n",
        encoding="utf-8",
    )
    (tmp_path / "study.yaml").write_text(
        "title: SGIC\nparticipant_id:\n  sgic: {components: [{column: mother, kind: text}, "
        "{column: month, kind: month}]}\n"
        "sources: [{path: pre.csv, wave: pre}]\ninstruments: {who5: {}}\n",
        encoding="utf-8",
    )
    forbidden = _forbidden(load_study(tmp_path / "study.yaml"), {})
    # a name typed as part of the code is searched for; a two-letter answer or a month is not
    assert forbidden["raw id"] == ["Margaret"]


def test_report_kernel_imports_no_analysis_stack() -> None:
    # The template's first cell imports open_cohort_report from mentoreval.report.cohort;
    # importing the analysis, disclosure control's LP solver and the runner with it cost
    # the kernel about 4 s per report. A fresh interpreter shows what that import loads.
    import subprocess
    import sys

    code = (
        "import sys; from mentoreval.report.cohort import open_cohort_report; "
        "print(sorted(m for m in ('scipy.optimize', 'statsmodels', 'mentoreval.disclose.ranges', "
        "'mentoreval.report.cohort.analysis', 'mentoreval.report.cohort.runner', "
        "'papermill', 'weasyprint') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    from mentoreval.report import cohort

    assert cohort.run_cohort_report.__module__ == "mentoreval.report.cohort.runner"
    assert "analyse_cohort" in cohort.__all__ and callable(cohort.analyse_cohort)


def test_report_process_imports_papermill_without_compiling_iri_grammars() -> None:
    # jsonschema (under nbformat and papermill) imported the optional rfc3987_syntax, which
    # compiles 38 lark grammars: 1.4 s of every report process for a format no notebook
    # schema uses. A fresh interpreter shows that it stays unimported, and that notebooks
    # still validate.
    import subprocess
    import sys

    code = (
        "import sys; import mentoreval.report.notebook; import papermill, nbformat; "
        "from nbformat.v4 import new_notebook, new_code_cell; "
        "nbformat.validate(new_notebook(cells=[new_code_cell('1')])); "
        "print('lark' in sys.modules, sys.modules.get('rfc3987_syntax', 'absent'))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False None"


def test_split_egress_scan_reads_every_file_and_lists_leaks_of_both_parts(tmp_path):
    """Issue 18: the runner scans what is written before the template in a thread, the rest
    while the helper prints the PDF, then the PDF and the manifest. A leak written after the
    first part (the brief), one in the PDF and one in the rewritten manifest must all be
    found, in one error, and every scannable file must have been read."""
    import weasyprint

    from mentoreval.errors import DisclosureError
    from mentoreval.report.cohort.runner import _finish
    from mentoreval.report.egress import EgressScan, files_to_scan
    from mentoreval.report.helper import Helper

    staging = tmp_path / "staging"
    (staging / "tables").mkdir(parents=True)
    (staging / "tables" / "a.csv").write_text("n\n40\n")
    (staging / "manifest.json").write_text("{}")
    early = EgressScan({"pseudonym": ["p-7f3a9c"]})
    early.add(f for f in files_to_scan([staging]) if f.name != "manifest.json")
    (staging / "brief.html").write_text("<p>P-7F3A9C</p>")  # written while the template ran

    def print_pdf() -> Path:
        target = staging / "cohort_report.pdf"
        weasyprint.HTML(string="<p>student p-7f3a9c</p>").write_pdf(target)
        return target

    pdf = Helper(enabled=False).submit(print_pdf)
    manifest = {"note": "p-7f3a9c"}
    with pytest.raises(DisclosureError, match="3 leaks in 3 files") as caught:
        _finish(manifest, staging, early, bar=_Bar(), stage=lambda name: None, pdf=pdf)
    named = {Path(str(p.file)).name for p in caught.value.problems}
    assert named == {"brief.html", "cohort_report.pdf", "manifest.json"}
    assert sorted(early.scanned) == files_to_scan([staging])


class _Bar:
    def update(self) -> None:
        pass
