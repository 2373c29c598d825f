"""Where things go by default: the project root of a config file and the folders under it.

Configuration layer: a study or annual config names its inputs relative to itself and its
outputs relative to the project (``data/processed``, ``data/store``, ``reports``).
"""

from __future__ import annotations

import os
from pathlib import Path

from mentoreval.config.study import Study

__all__ = ["default_out_dir", "default_store_root", "project_root"]


def project_root(study_path: str | Path) -> Path:
    """The nearest ancestor of the study file holding ``pyproject.toml`` or ``data/``.

    Falls back to the study file's folder.
    """
    start = Path(study_path).resolve().parent
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file() or (folder / "data").is_dir():
            return folder
    return start


def default_out_dir(study: Study) -> Path:
    """``<project root>/data/processed/<study name>``."""
    return project_root(study.path) / "data" / "processed" / study.name


def default_store_root(config_path: str | os.PathLike[str]) -> Path:
    """``<project root>/data/store`` for a config file (see :func:`project_root`).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = (Path(tmp) / "pyproject.toml").write_text("")
    ...     (Path(tmp) / "a").mkdir()
    ...     print(default_store_root(Path(tmp) / "a" / "annual.yaml").relative_to(tmp))
    data/store
    """
    return project_root(Path(config_path)) / "data" / "store"
