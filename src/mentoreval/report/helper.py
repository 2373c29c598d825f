"""A second process for a report's independent, CPU-bound steps: half the figures, the PDF.

Report stage (how it is run). Of a cohort report's time, saving the figures (PNG + SVG at
print resolution) and printing the PDF (WeasyPrint) are pure CPU in one process while the
machine's second core idles (issue 18). :class:`Helper` is that second process: a
``spawn``\\ ed interpreter (never a fork of this process, which runs threads and holds the
kernel's sockets) started when the report starts, so it imports matplotlib and WeasyPrint
while the main process ingests and analyses. The main process hands it half the figures
(pickled: a figure drawn there is byte-for-byte the one drawn here) and later the PDF, and
goes on with its own half, the Word file and the egress scan meanwhile.

It is off (every task runs here, in order) inside a batch worker, whose cores are already
busy with the other jobs, on a one-core machine, and when ``MENTOREVAL_HELPER=0`` (set it
where other processes already keep every core busy: the test suite runs one pytest worker
per core, so it sets it). If the helper process dies (killed,
out of memory), the task is run again here: the report never depends on it.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import pickle
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["HELPER_ENV", "Helper", "Task", "helper_wanted", "save_figure_pickled"]

T = TypeVar("T")


#: The environment variable that turns the helper off (``0``, ``off``, ``no`` or ``false``).
HELPER_ENV = "MENTOREVAL_HELPER"


def helper_wanted(environ: Mapping[str, str] | None = None) -> bool:
    """Whether a report run here should start a helper process: not inside a worker
    process of a batch (its cores are busy with the other jobs), not on one core, not when
    ``$MENTOREVAL_HELPER`` is ``0`` / ``off`` / ``no`` / ``false``.

    Parameters
    ----------
    environ
        The environment to read ``MENTOREVAL_HELPER`` from; default ``os.environ``.

    Examples
    --------
    >>> helper_wanted({"MENTOREVAL_HELPER": "off"})
    False
    """
    env = os.environ if environ is None else environ
    if env.get(HELPER_ENV, "").strip().lower() in {"0", "off", "no", "false"}:
        return False
    return multiprocessing.parent_process() is None and (os.cpu_count() or 1) >= 2


def _warm_up() -> None:
    """Import what the helper's tasks use, so the first one does not wait for it."""
    import matplotlib.backends.backend_agg  # noqa: F401
    import weasyprint  # noqa: F401

    import mentoreval.report.figures.saving
    import mentoreval.report.render  # noqa: F401


def save_figure_pickled(figure: bytes, path_stem: str) -> list[Path]:
    """:func:`~mentoreval.report.figures.saving.save_figure` of a pickled figure (how the
    helper gets a figure: pickled in the main thread, not by the pool's feeder thread
    while other figures are drawn)."""
    from mentoreval.report.figures.saving import save_figure

    fig: Figure = pickle.loads(figure)  # noqa: S301 - pickled by this report's own process
    return save_figure(fig, path_stem)


class Task(Generic[T]):
    """One task given to a :class:`Helper`: :meth:`result` waits for it.

    If the helper process died before answering, the task is run again in this process.
    """

    def __init__(
        self,
        future: cf.Future[T] | None,
        fn: Callable[..., T],
        args: tuple[Any, ...],
    ) -> None:
        self._future = future
        self._fn = fn
        self._args = args
        self._value: T | None = None
        self._done = future is None
        if future is None:
            self._value = fn(*args)

    def result(self) -> T:
        """The task's return value; its exception is raised here."""
        if not self._done:
            assert self._future is not None
            try:
                self._value = self._future.result()
            except cf.process.BrokenProcessPool:
                self._value = self._fn(*self._args)
            self._done = True
        return self._value  # type: ignore[return-value]


class Helper:
    """A second process for independent steps of one report (see the module's text).

    Parameters
    ----------
    enabled
        ``False`` runs every task in this process at :meth:`submit`, in order; default
        :func:`helper_wanted`.

    Examples
    --------
    >>> with Helper(enabled=False) as helper:
    ...     task = helper.submit(pow, 2, 10)
    ...     task.result()
    1024
    """

    def __init__(self, *, enabled: bool | None = None) -> None:
        self.enabled = helper_wanted() if enabled is None else enabled
        self._pool: cf.ProcessPoolExecutor | None = None

    def __enter__(self) -> Helper:
        if self.enabled:
            self._pool = cf.ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn")
            )
            # the pool starts its process at the first submit: start it now, importing
            self._pool.submit(_warm_up)
        return self

    def submit(self, fn: Callable[..., T], /, *args: Any) -> Task[T]:
        """Run ``fn(*args)`` in the helper (a module-level function; picklable arguments),
        or here and now when the helper is off."""
        if self._pool is None:
            return Task(None, fn, args)
        try:
            return Task(self._pool.submit(fn, *args), fn, args)
        except cf.process.BrokenProcessPool:
            self._pool = None
            return Task(None, fn, args)

    def close(self) -> None:
        """Stop the helper process (after its running task; queued ones are dropped)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __exit__(self, *exc: object) -> None:
        self.close()
