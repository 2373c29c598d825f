"""The report's second process: shared calls come back in order, as a loop gives them."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool

import pytest

from mentoreval.report import worker
from mentoreval.report.worker import shared, start_worker, stop_worker


def slow_square(x: int) -> int:
    import time

    time.sleep(0.02)
    return x * x


def fails_at_three(x: int) -> int:
    if x == 3:
        raise ValueError(f"bad {x}")
    return x


def pid_of(_: int) -> int:
    import time

    time.sleep(0.01)
    return os.getpid()


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("MENTOREVAL_HELPER", "1")
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    start_worker(__name__)
    assert worker._WORKER is not None
    worker._WORKER.submit(int).result()  # started and imported
    yield
    stop_worker()


@pytest.mark.parametrize("workers", [0, 1])
def test_shared_calls_come_back_in_order(workers: int) -> None:
    calls = [(i,) for i in range(12)]
    assert shared(slow_square, calls, workers=workers) == [i * i for i in range(12)]


def test_both_processes_take_calls_and_meet_in_the_middle() -> None:
    pids = shared(pid_of, [(i,) for i in range(40)], workers=1)
    here = [p == os.getpid() for p in pids]
    assert here[0] and not here[-1]  # this one from the start, the worker from the end
    assert here == sorted(here, reverse=True)  # one run each: no call done twice or skipped


def test_a_failing_call_raises_as_a_loop_would() -> None:
    with pytest.raises(ValueError, match="bad 3"):
        shared(fails_at_three, [(i,) for i in range(6)], workers=1)


def test_no_worker_is_started_where_no_core_is_free(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MENTOREVAL_HELPER", "0")
    start_worker(__name__)
    assert worker._WORKER is None


def test_the_started_worker_is_used_and_a_dead_one_leaves_its_calls_here(started: None) -> None:
    assert set(shared(pid_of, [(i,) for i in range(40)])) - {os.getpid()}  # it took some
    assert worker._WORKER is not None
    (child,) = worker._WORKER._processes.values()  # the test kills it
    os.kill(child.pid, signal.SIGKILL)
    child.join()
    # once the pool has noticed (a worker dying during the calls can leave an
    # InvalidStateError in the executor's own thread: CPython 3.11's, not ours)
    with pytest.raises(BrokenProcessPool):
        for _ in range(200):
            worker._WORKER.submit(int).result()
            time.sleep(0.05)
    assert shared(slow_square, [(i,) for i in range(6)]) == [i * i for i in range(6)]
