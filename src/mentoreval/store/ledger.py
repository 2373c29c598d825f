"""The store's release ledger file: where it is, reading it, merging a report's releases.

The ``ledger/`` folder of the store belongs to :mod:`mentoreval.disclose.ledger` (the
release ledger that blocks differencing between reports); the store only creates it, see
:func:`ledger_dir`, and merges into it under the store lock.
"""

from __future__ import annotations

import os
from pathlib import Path

from mentoreval.disclose.ledger import ReleaseLedger
from mentoreval.store.layout import LEDGER_DIR, store_lock

__all__ = [
    "LEDGER_FILE",
    "ledger_dir",
    "ledger_file",
    "load_release_ledger",
    "merge_release_ledger",
]

#: File of the release ledger inside ``<store>/ledger/``.
LEDGER_FILE = "releases.json"


def ledger_dir(store_root: str | os.PathLike[str]) -> Path:
    """The folder for the release ledger of ``store_root``, created if missing.

    :mod:`mentoreval.disclose.suppression` keeps its ledger of released aggregates here, so a
    later report cannot be subtracted from an earlier one.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as root:
    ...     print(ledger_dir(root).name, ledger_dir(root).is_dir())
    ledger True
    """
    path = Path(store_root) / LEDGER_DIR
    path.mkdir(parents=True, exist_ok=True)
    return path


def ledger_file(store_root: str | os.PathLike[str]) -> Path:
    """``<store_root>/ledger/releases.json``, the release ledger shared by every report.

    Nothing is created; see :func:`ledger_dir`.

    Examples
    --------
    >>> ledger_file("data/store").as_posix()
    'data/store/ledger/releases.json'
    """
    return Path(store_root) / LEDGER_DIR / LEDGER_FILE


def load_release_ledger(store_root: str | os.PathLike[str]) -> ReleaseLedger:
    """The release ledger of a store (empty when nothing was released yet).

    Reading creates nothing, so a report that fails before it is released leaves the
    store as it was.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as root:
    ...     print(load_release_ledger(root).entries, Path(root, "ledger").exists())
    {} False
    """
    return ReleaseLedger.load(ledger_file(store_root))


def merge_release_ledger(
    store_root: str | os.PathLike[str], ledger: ReleaseLedger, *, lock_timeout: float = 60.0
) -> Path:
    """Add a report's releases to the store's ledger, under the store lock.

    The file is re-read inside the lock and the entries are merged (never replaced), so
    reports written in parallel on the same store keep each other's releases.

    Parameters
    ----------
    store_root
        The store (e.g. ``<project>/data/store``); created if missing.
    ledger
        The ledger of the report just released (it may also hold the earlier entries).
    lock_timeout
        Seconds to wait for another process holding the store lock.

    Returns
    -------
    pathlib.Path
        The ledger file, see :func:`ledger_file`.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as root:
    ...     mine = ReleaseLedger()
    ...     mine.record(("peer/2025/2025", "outcomes", "who5 / total", "n_pairs"), 52)
    ...     path = merge_release_ledger(root, mine)
    ...     other = ReleaseLedger()
    ...     other.record(("peer/2025/2025", "outcomes", "who5 / total", "n_pairs"), 70)
    ...     _ = merge_release_ledger(root, other)
    ...     print(path.relative_to(root).as_posix(), load_release_ledger(root).entries)
    ledger/releases.json {('peer/2025/2025', 'outcomes', 'who5 / total', 'n_pairs'): {52, 70}}
    """
    root = Path(store_root)
    with store_lock(root, timeout=lock_timeout):
        path = ledger_dir(root) / LEDGER_FILE
        merged = ReleaseLedger.load(path)
        merged.merge(ledger)
        merged.save(path)
    return path
