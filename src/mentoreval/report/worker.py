"""A second process for a report's independent pieces of work, when a core is free.

Report stage (how it is run). The annual report's kernel analyses a consortium cohort by
cohort and draws a forest plot per two dozen cohorts, on one core, while the report's own
process waits for it. :func:`start_worker` starts one more process there (once, early, so
it imports while the store is read); :func:`shared` then runs a list of independent calls
on both: the worker takes them from the end, this process from the start, and a call the
worker has not begun is run here, so the two meet in the middle. The results come back in
order, as a loop would give them; a worker that died leaves its calls to this process.

No worker is started where no core is free (:func:`~mentoreval.report.helper.helper_wanted`:
inside a batch, with ``MENTOREVAL_HELPER=0``, on one core).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import importlib
import multiprocessing
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

__all__ = ["shared", "start_worker", "stop_worker"]

T = TypeVar("T")

#: The process started by :func:`start_worker` (one per kernel), or None.
_WORKER: cf.ProcessPoolExecutor | None = None


def _warm_up(preload: tuple[str, ...]) -> None:
    """A worker's start: off screen, the modules of its calls imported first."""
    import matplotlib as mpl

    mpl.use("Agg")
    for name in preload:
        importlib.import_module(name)


def _new_pool(preload: tuple[str, ...] = ()) -> cf.ProcessPoolExecutor:
    context = multiprocessing.get_context("spawn")
    return cf.ProcessPoolExecutor(1, mp_context=context, initializer=_warm_up, initargs=(preload,))


def start_worker(*preload: str) -> None:
    """Start, once, the second process when a core is free, importing the modules named
    in ``preload`` (those of the calls it is to share) at once: call it before the work
    that precedes them.

    Examples
    --------
    >>> start_worker("mentoreval.report.figures.charts")  # doctest: +SKIP
    """
    global _WORKER
    from mentoreval.report.helper import helper_wanted

    if _WORKER is None and helper_wanted():
        _WORKER = _new_pool(preload)
        _WORKER.submit(int)  # the process starts (and imports) now, not at the first call


def stop_worker() -> None:
    """Stop the process :func:`start_worker` started, if any (a kernel's ends with it).

    Examples
    --------
    >>> stop_worker()
    """
    global _WORKER
    if _WORKER is not None:
        _WORKER.shutdown(wait=True, cancel_futures=True)
        _WORKER = None


def shared(
    fn: Callable[..., T], calls: Sequence[tuple[Any, ...]], *, workers: int | None = None
) -> list[T]:
    """``[fn(*args) for args in calls]``, shared with a second process.

    Parameters
    ----------
    fn
        A module-level function (the worker imports it by name); its arguments and result
        are pickled.
    calls
        The arguments of each call.
    workers
        None: the process :func:`start_worker` started, if any; 1: a new one for these
        calls; 0: none (a plain loop).

    Returns
    -------
    list
        The results in the order of ``calls``; an exception of a call is raised as a loop
        would raise it.

    Examples
    --------
    >>> shared(divmod, [(7, 2), (9, 4)], workers=0)
    [(3, 1), (2, 1)]
    """
    results: dict[int, T] = {}
    with contextlib.ExitStack() as stack:
        pool = _WORKER if workers is None else None
        if workers:
            pool = stack.enter_context(_new_pool())
        if pool is not None and len(calls) > 1:
            # a worker that died (or could not start) leaves its calls to this process
            with contextlib.suppress(cf.process.BrokenProcessPool):
                futures = {i: pool.submit(fn, *calls[i]) for i in reversed(range(len(calls)))}
                for i in range(len(calls)):  # a call the worker has not begun runs here
                    if futures[i].cancel():
                        results[i] = fn(*calls[i])
                for i in range(len(calls)):
                    if i not in results:
                        results[i] = futures[i].result()
    return [results[i] if i in results else fn(*calls[i]) for i in range(len(calls))]
