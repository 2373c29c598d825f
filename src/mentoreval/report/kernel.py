"""The report kernel: started quietly, stopped quietly.

Report stage (how it is run). A Jupyter kernel started by papermill talks to it over TCP by
default and says so on every start ("Kernel is running over TCP without encryption ..."),
and every shutdown first interrupts it, which it reports as "KeyboardInterrupt caught in
kernel". Neither is a problem, but both end up in the log a user reads after a report run.
:class:`QuietKernelManager` starts the kernel over IPC (Unix domain sockets in a private
folder, readable only by the user: no port on the network, so no warning, and no two
kernels racing for one port) and shuts an idle kernel down without the interrupt. Where
IPC is not available (Windows, or a temporary folder whose path is too long for a socket),
:func:`mentoreval.report.runtime.redirect_output` drops those lines from the log instead.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager

__all__ = ["WARM_UP", "PrestartedKernel", "QuietKernelManager"]

#: What a kernel started ahead of its notebook imports while it waits: the modules the
#: cohort template's first cell imports. A constant: never built from a user's input.
WARM_UP = "import mentoreval.report.cohort.document"


#: Longest Unix socket path (``sun_path`` holds 108 bytes on Linux, 104 on macOS).
_SOCKET_PATH_MAX = 100


def _private_folder() -> Path | None:
    """A new private folder for a kernel's sockets, in the temporary folder or, when that
    path is too long for a socket, in ``/tmp``; ``None`` where Unix sockets are unusable."""
    if os.name != "posix" or sys.platform == "cygwin":
        return None
    for parent in dict.fromkeys((tempfile.gettempdir(), "/tmp")):  # noqa: S108 - a 0700 folder
        # the kernel's sockets are <folder>/kernel-ipc-<n>, the folder name 26 characters
        if len(str(Path(parent) / ("x" * 26) / "kernel-ipc-99")) > _SOCKET_PATH_MAX:
            continue
        with contextlib.suppress(OSError):
            return Path(tempfile.mkdtemp(prefix="mentoreval-kernel-", dir=parent))
    return None


class QuietKernelManager(AsyncKernelManager):
    """A kernel manager for report kernels: IPC transport and no interrupt on shutdown.

    Handed to papermill as ``kernel_manager_class``. The connection file and the sockets
    live in a fresh private folder (mode 0700) under the system temporary folder (``/tmp``
    when that path is too long for a socket), removed when the kernel's resources are
    cleaned up. Where Unix sockets are not available, or
    their path would be too long, the kernel uses TCP as usual.

    Examples
    --------
    >>> km = QuietKernelManager(kernel_name="python3")
    >>> km.transport == ("ipc" if os.name == "posix" else "tcp")
    True
    >>> km.cleanup_private_folder()
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.clients: list[Any] = []
        self._private: Path | None = None
        folder = _private_folder()
        if folder is None:
            return
        self._private = folder
        self.transport = "ipc"
        self.connection_file = str(folder / "kernel.json")
        self.ip = str(folder / "kernel-ipc")

    def client(self, **kwargs: Any) -> Any:
        """A client of this kernel, remembered so :class:`PrestartedKernel` can close it."""
        kc = super().client(**kwargs)
        self.clients.append(kc)
        return kc

    async def _async_interrupt_kernel(self) -> None:
        """Interrupt the kernel, except while shutting it down: the report has finished,
        the kernel is idle, and the interrupt would only be logged as noise."""
        if self.shutting_down:
            return
        await super()._async_interrupt_kernel()

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            self.cleanup_private_folder()

    cleanup_resources = _async_cleanup_resources

    def cleanup_private_folder(self) -> None:
        """Remove the private folder of the connection file and sockets (if any)."""
        if self._private is not None:
            shutil.rmtree(self._private, ignore_errors=True)
            self._private = None


class PrestartedKernel:
    """A report kernel started while the analysis runs, handed to papermill afterwards.

    Starting a kernel and importing the report stack in it takes a few seconds in which
    the report's own process has the analysis to do; started first, the kernel is ready
    (its imports done, by :data:`WARM_UP`, sent as a silent request that leaves no trace
    in the notebook) by the time the template is executed (issue 18). Pass :attr:`km` to
    :func:`~mentoreval.report.notebook.run_notebook`; :meth:`close` (or leaving the
    ``with`` block) stops every client and the kernel, whether or not it was used.

    Parameters
    ----------
    cwd
        The kernel's working folder (the project, as for papermill's ``cwd``).
    warm_up
        Code run silently first; only :data:`WARM_UP` or another constant.

    Examples
    --------
    >>> with PrestartedKernel(cwd=Path(".")) as kernel:  # doctest: +SKIP
    ...     run_notebook(template, out, parameters=params, km=kernel.km)
    """

    def __init__(self, *, cwd: str | os.PathLike[str], warm_up: str = WARM_UP) -> None:
        from jupyter_client.session import Session
        from jupyter_core.utils import run_sync

        from mentoreval.report.helper import HELPER_ENV, helper_wanted

        self.km = QuietKernelManager(kernel_name="python3")
        # a report run with no second core to spare (a batch worker, MENTOREVAL_HELPER=0)
        # says so to its kernel, which would otherwise start processes of its own
        env = {**os.environ, **({} if helper_wanted() else {HELPER_ENV: "0"})}
        try:
            run_sync(self.km.start_kernel)(cwd=str(cwd), env=env)
            # A session of its own: a client's socket identity is its session id, and the
            # kernel answers only the first of two clients sharing one (papermill's client
            # would wait in vain). The shell channel only: no heartbeat thread.
            session = Session(
                key=self.km.session.key, signature_scheme=self.km.session.signature_scheme
            )
            warm = self.km.client(session=session)
            channels = {"shell": True, "iopub": False, "stdin": False, "hb": False}
            warm.start_channels(control=False, **channels)  # the kernel's shell channel
            warm.execute(warm_up, silent=True, store_history=False, allow_stdin=False)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Stop the clients (papermill's too) and the kernel; remove its private folder."""
        from jupyter_core.utils import run_sync

        for kc in self.km.clients:
            with contextlib.suppress(Exception):
                kc.stop_channels()
        self.km.clients.clear()
        with contextlib.suppress(Exception):
            if run_sync(self.km.is_alive)():
                run_sync(self.km.shutdown_kernel)(now=False)
        with contextlib.suppress(Exception):
            run_sync(self.km.cleanup_resources)()
        self.km.cleanup_private_folder()

    def __enter__(self) -> PrestartedKernel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
