"""``mentoreval demo``: the whole pipeline on the bundled synthetic demo data.

The demo batch (``data/demo/batch.yaml``: six cohorts of two programmes over three years,
six studies of other designs under ``designs/``, then one annual report per programme) is
run through :func:`mentoreval.run.batch.run_batch`, exactly as a programme lead would run
their own batch. From a source checkout the
committed ``data/demo/`` is used; from an installed package the same files are regenerated
deterministically with :func:`mentoreval.synth.demo.build_demo`.

The demo keeps to itself: its cohorts are filed in a store of its own (``<out>/store``,
with its release ledger) and its person-level tables go to ``<out>/processed/<job>``, never
the project's ``data/store`` and ``data/processed``, so an annual report of real cohorts
(``studies: all``) never pools the synthetic ones.

The demo needs a pseudonymisation key like any study. Unless ``MENTOREVAL_KEY_FILE`` is
set, a demo key is created once in the user's cache folder (never in the repository or a
data folder).
"""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd

from mentoreval.errors import MentorevalError
from mentoreval.run.jobs import BatchConfig, Job

#: The demo's own store and processed folder, inside the demo's output folder.
DEMO_STORE = "store"
DEMO_PROCESSED = "processed"

__all__ = ["demo_data_dir", "demo_jobs", "demo_key_file", "run_demo"]


def demo_data_dir(*, work: Path) -> Path:
    """The demo data: the checkout's ``data/demo`` or a fresh build under ``work``.

    Parameters
    ----------
    work
        Where to build the demo data when no source checkout is available.
    """
    here = Path(__file__).resolve()
    checkout = here.parents[3] / "data" / "demo"  # src/mentoreval/run/demo.py
    if (checkout / "batch.yaml").is_file():
        return checkout
    from mentoreval.synth.demo import build_demo

    target = work / "demo-data"
    if not (target / "batch.yaml").is_file():
        build_demo(target)
    return target


def demo_key_file() -> Path:
    """The key file for the demo: ``MENTOREVAL_KEY_FILE`` or one in the user cache."""
    configured = os.environ.get("MENTOREVAL_KEY_FILE")
    if configured:
        return Path(configured).expanduser()
    from mentoreval.ingest.protect import keygen

    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "mentoreval"
    key = cache / "demo.key"
    if not key.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        keygen(key)
    return key


def demo_jobs(config: BatchConfig, out: Path) -> list[Job]:
    """The demo batch's jobs, each writing to ``out/<job name>/`` and using the demo's own
    store (``out/store``) and processed folder (``out/processed/<job name>``).

    Examples
    --------
    >>> from mentoreval.run.jobs import BatchConfig, Job
    >>> job = Job("peer-2025", "cohort", Path("peer/2025/study.yaml"), Path("reports/peer-2025"))
    >>> (mine,) = demo_jobs(BatchConfig(Path("batch.yaml"), (job,)), Path("/work/reports/demo"))
    >>> mine.out_dir, mine.store, mine.processed
    (PosixPath('/work/reports/demo/peer-2025'), PosixPath('/work/reports/demo/store'), PosixPath('/work/reports/demo/processed/peer-2025'))
    """
    return [
        replace(
            job,
            out_dir=out / job.name,
            store=out / DEMO_STORE,
            processed=out / DEMO_PROCESSED / job.name,
        )
        for job in config.jobs
    ]


def run_demo(
    *, out: str | Path = "reports/demo", jobs: int = 2, progress: bool = True
) -> pd.DataFrame:
    """Run every demo cohort report and the annual reports; return the batch summary.

    Parameters
    ----------
    out
        Output folder; each report goes to ``out/<job name>/``, the demo's store to
        ``out/store`` and its processed tables to ``out/processed/``.
    jobs
        Parallel worker processes.
    progress
        Show the overall progress bar.

    Returns
    -------
    pandas.DataFrame
        The batch summary (job, kind, status, seconds, error, attempts, log).

    Raises
    ------
    MentorevalError
        When any demo job fails (the summary is in the message).
    """
    from mentoreval.run.batch import format_batch_summary, run_batch
    from mentoreval.run.batch_config import load_batch_config

    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    data = demo_data_dir(work=out)
    config = load_batch_config(data / "batch.yaml")
    batch_jobs = demo_jobs(config, out)
    previous = os.environ.get("MENTOREVAL_KEY_FILE")
    os.environ["MENTOREVAL_KEY_FILE"] = str(demo_key_file())  # handed to every job
    try:
        summary = run_batch(
            batch_jobs, n_jobs=jobs, executor="local", log_dir=out / "logs", progress=progress
        )
    finally:
        if previous is None:
            os.environ.pop("MENTOREVAL_KEY_FILE", None)
        else:
            os.environ["MENTOREVAL_KEY_FILE"] = previous
    if (summary["status"] != "ok").any():
        raise MentorevalError(
            "some demo reports failed; see the logs in "
            f"{out / 'logs'}\n{format_batch_summary(summary)}"
        )
    return summary


def describe_outputs(out: str | Path) -> list[str]:
    """The report files a demo run produced, relative to ``out``."""
    out = Path(out)
    patterns = ("*/*_report.html", "*/*_report.pdf")
    return sorted(str(p.relative_to(out)) for pat in patterns for p in out.glob(pat))


def main_demo(*, out: str | Path, jobs: int) -> None:
    """Run the demo and print what it produced and how long it took (CLI helper)."""
    start = time.perf_counter()
    summary = run_demo(out=out, jobs=jobs)
    seconds = time.perf_counter() - start
    files = describe_outputs(out)
    print(f"\nDemo finished in {seconds:.1f} s: {len(summary)} reports in {Path(out)}/")
    for name in files:
        print(f"  {Path(out) / name}")
    print(
        "Open the .html files in a browser (brief.html beside each report is its two-page "
        "brief); the .pdf files are for printing, the .docx files for editing in Word."
    )
