"""Time one cohort report (execute + HTML + PDF) against a floor measured in the same run.

The floor is the same pipeline — papermill execution in a fresh ``python3`` kernel, HTML
render, WeasyPrint PDF — on a notebook that only imports the stack and draws one figure.
The report's analysis runs once in this process before papermill (timed separately), so
the ratio measures what the report notebook adds on top of a kernel start.

    .venv/bin/python benchmarks/report.py [--n 120] [--repeat 1]

Target: ratio <= 1.5.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from cohort_study import write_study
from mentoreval.ingest.pipeline import ingest_study
from mentoreval.report.cohort.analysis import analyse_cohort
from mentoreval.report.cohort.outputs import write_cohort_outputs
from mentoreval.report.cohort.runner import TEMPLATE
from mentoreval.report.notebook import run_notebook
from mentoreval.report.render import render_html, render_pdf

FLOOR_SOURCE = """\
import numpy as np
import pandas as pd
import matplotlib
from mentoreval.report import cohort
from mentoreval.report import figures as plots
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


def _pipeline(template: Path, folder: Path, parameters: dict[str, str]) -> dict[str, float]:
    times = {}
    t0 = time.perf_counter()
    nb = run_notebook(template, folder / "out.ipynb", parameters=parameters, progress=False)
    t1 = time.perf_counter()
    html = render_html(nb, folder / "out.html")
    t2 = time.perf_counter()
    render_pdf(html, folder / "out.pdf")
    t3 = time.perf_counter()
    times.update(execute=t1 - t0, html=t2 - t1, pdf=t3 - t2, total=t3 - t0)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=120, help="students in the synthetic cohort")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each pipeline (best kept)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        config = write_study(root / "study", n_students=args.n, design="comparison", seed=7)
        t = time.perf_counter()
        ingested = ingest_study(config, out_dir=root / "processed")
        t_ingest = time.perf_counter() - t
        t = time.perf_counter()
        results = analyse_cohort(ingested, config)
        t_analyse = time.perf_counter() - t
        out = root / "report"
        t = time.perf_counter()
        write_cohort_outputs(results, out)
        t_write = time.perf_counter() - t
        params = {"study_config": str(config), "processed_dir": str(root / "processed"),
                  "output_dir": str(out), "title": results.title}  # fmt: skip
        floor_nb = _floor_notebook(root / "floor.ipynb")
        report_times, floor_times = [], []
        for _ in range(args.repeat):
            (root / "f").mkdir(exist_ok=True)
            floor_times.append(_pipeline(floor_nb, root / "f", {}))
            report_times.append(_pipeline(TEMPLATE, out, params))
        best_r = min(report_times, key=lambda x: x["total"])
        best_f = min(floor_times, key=lambda x: x["total"])
    print(f"cohort of {args.n} students (comparison design)")
    print(f"in-process, before papermill: ingest {t_ingest:.2f} s, analyse {t_analyse:.2f} s, "
          f"write tables+figures {t_write:.2f} s")  # fmt: skip
    for name, x in (("floor ", best_f), ("report", best_r)):
        print(f"{name}: execute {x['execute']:.2f} s + HTML {x['html']:.2f} s + PDF {x['pdf']:.2f} s "
              f"= {x['total']:.2f} s")  # fmt: skip
    ratio = best_r["total"] / best_f["total"]
    print(f"ratio report / floor = {ratio:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
