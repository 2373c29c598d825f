"""mentoreval: evaluate mentorship programmes from pre/post survey exports.

The package follows one data flow (see ``docs/architecture.md``)::

    exports -> responses (long) -> scores (long) -> results -> reports

Every computation lives here; notebooks and the CLI only call it.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mentoreval")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
