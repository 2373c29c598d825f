"""Time one cohort report end to end, as a fresh process, against a floor measured in the same run.

The report is the whole command a user waits for: ``mentoreval report STUDY`` in a fresh
process (ingest, analysis, tables and figures, papermill, HTML, PDF, Word, brief, egress
scan). The floor is a fresh process that runs papermill (a fresh ``python3`` kernel) on a
notebook that only imports the stack and draws one figure, then renders that notebook to
HTML and to PDF (WeasyPrint). The two alternate, ``--repeat`` times each; the medians
give ``ratio``.

Each run's CPU time (user + system, of the command and every process it started and
waited for: kernel, helper) is printed too. CPU time divided by the cores is the shortest
wall time any schedule of the same work could reach, so ``cpu bound`` (that time over the
floor's wall time) is the lowest ratio reachable without doing less work.

    .venv/bin/python benchmarks/report.py [--n 75] [--repeat 3] [--study data/demo/peer/2025/study.yaml]

Target: ratio <= 1.5.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

FLOOR_SOURCE = """\
import numpy as np
import pandas as pd
import matplotlib
from mentoreval.report import cohort
from mentoreval.report.figures import charts as plots
fig = plots.plot_bands(pd.DataFrame({"low": [20, 12], "high": [30, 38]}, index=["pre", "post"]))
fig"""


def _floor_notebook(path: Path) -> Path:
    params = new_code_cell('output_dir: str = "."  # unused')
    params.metadata["tags"] = ["parameters"]
    nb = new_notebook(
        cells=[params, new_markdown_cell("## Floor"), new_code_cell(FLOOR_SOURCE)],
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
    )
    nbformat.write(nb, path)
    return path


FLOOR_RUN = """\
import sys
from pathlib import Path
from mentoreval.report.notebook import run_notebook
from mentoreval.report.render import render_html, render_pdf
folder = Path(sys.argv[2])
nb = run_notebook(Path(sys.argv[1]), folder / "out.ipynb", parameters={}, progress=False)
render_pdf(render_html(nb, folder / "out.html"), folder / "out.pdf")
"""


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one fresh process (CPU of everything it waited for)."""
    cpu = _cpu_of_children()
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{argv[2:4]} failed:\n{done.stdout}\n{done.stderr}")
    return wall, _cpu_of_children() - cpu


def _line(label: str, runs: list[tuple[float, float]]) -> str:
    return (f"{label}" + ", ".join(f"{w:.1f}" for w, _ in runs) + " s  (cpu "
            + ", ".join(f"{c:.1f}" for _, c in runs) + " s)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=75, help="students in the synthetic cohort")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (medians kept)")
    parser.add_argument("--study", type=Path, help="a study.yaml to report instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        from mentoreval.ingest.keys import keygen

        key = root / "keys" / "bench.key"
        keygen(key)
        env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "MENTOREVAL_KEY_FILE": str(key)}
        if args.study:
            config = args.study.resolve()
        else:
            from cohort_study import write_study

            config = write_study(root / "study", n_students=args.n, design="comparison", seed=7)
        floor_nb = _floor_notebook(root / "floor.ipynb")
        report, floor = [], []
        for i in range(args.repeat):
            (root / f"f{i}").mkdir()
            floor.append(_timed([sys.executable, "-c", FLOOR_RUN, str(floor_nb), str(root / f"f{i}")], env, root))  # fmt: skip
            report.append(_timed([sys.executable, "-m", "mentoreval", "report", str(config),
                                  "--out", str(root / f"r{i}")], env, root))  # fmt: skip
    what = args.study or f"synthetic cohort of {args.n} students (comparison design)"
    print(f"{what}, {args.repeat} alternating runs of each, fresh processes")
    print(_line("floor  (papermill + HTML + PDF): ", floor))
    print(_line("report (mentoreval report):      ", report))
    f, r = statistics.median(w for w, _ in floor), statistics.median(w for w, _ in report)
    cpu = statistics.median(c for _, c in report)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"median floor {f:.2f} s, median report {r:.2f} s (cpu {cpu:.1f} s on {cores} cores)")
    print(f"ratio report / floor = {r / f:.2f} (target <= 1.5)")
    print(f"cpu bound = report cpu / {cores} cores / floor = {cpu / (cores or 1) / f:.2f}")


if __name__ == "__main__":
    main()
