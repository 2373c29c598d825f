"""The report's helper process: tasks run there, errors come back, a dead helper is
replaced by this process, and it is off inside batch workers."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from mentoreval.errors import ReportError
from mentoreval.report.helper import Helper, helper_wanted
from mentoreval.report.render import render_pdf


def _pid() -> int:
    return os.getpid()


def _slow_pid(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def test_helper_runs_tasks_in_another_process() -> None:
    with Helper(enabled=True) as helper:
        assert helper.submit(_pid).result() != os.getpid()


def test_disabled_helper_runs_each_task_here_at_submit() -> None:
    with Helper(enabled=False) as helper:
        task = helper.submit(_pid)
        assert task.result() == os.getpid()


def test_helper_is_off_in_a_batch_worker() -> None:
    import concurrent.futures as cf
    import multiprocessing

    assert helper_wanted({}) is ((os.cpu_count() or 1) >= 2)
    spawn = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        assert pool.submit(helper_wanted, {}).result() is False


@pytest.mark.parametrize("value", ["0", "off", "OFF", " no ", "false"])
def test_helper_is_off_when_the_environment_says_so(value: str) -> None:
    assert helper_wanted({"MENTOREVAL_HELPER": value}) is False
    assert helper_wanted({"MENTOREVAL_HELPER": "1"}) is ((os.cpu_count() or 1) >= 2)


def test_helper_error_reaches_the_caller_with_its_message(tmp_path: Path) -> None:
    html = tmp_path / "r.html"
    html.write_text('<html><body><img src="http://127.0.0.1:9/x.png"></body></html>')
    with Helper(enabled=True) as helper:
        task = helper.submit(render_pdf, html, tmp_path / "r.pdf")
        with pytest.raises(ReportError, match=r"load http://127\.0\.0\.1:9/x\.png"):
            task.result()


def test_task_of_a_killed_helper_is_run_here_instead() -> None:
    with Helper(enabled=True) as helper:
        worker = helper.submit(_pid).result()
        task = helper.submit(_slow_pid, 5.0)
        time.sleep(0.5)
        os.kill(worker, signal.SIGKILL)
        assert task.result() == os.getpid()
        # and later tasks too, once the pool is known to be broken
        assert helper.submit(_pid).result() == os.getpid()


def _analysis_stack_loaded() -> list[str]:
    import sys

    from mentoreval.report.helper import _warm_up

    _warm_up()
    return [m for m in ("pandas", "scipy", "statsmodels", "seaborn") if m in sys.modules]


def test_helper_warm_up_imports_no_analysis_stack() -> None:
    # the helper starts while the main process analyses: what it imports competes for the
    # cores (issue 18); saving figures and printing the PDF need none of these
    with Helper(enabled=True) as helper:
        assert helper.submit(_analysis_stack_loaded).result() == []
