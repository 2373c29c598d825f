"""Files shipped inside the package (base layer, next to ``errors`` and ``yamlio``).

``mentoreval/_bundled/`` links to ``surveys/instruments`` and ``notebooks/templates`` in a
source checkout and holds copies of them in an installed wheel, so both find the same files
from one place, wherever the module asking lives in the package.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["bundled_path"]

_BUNDLED = Path(__file__).parent / "_bundled"


def bundled_path(*parts: str) -> Path:
    """The resolved path of a bundled file or folder.

    Examples
    --------
    >>> bundled_path("templates", "cohort_report.ipynb").name
    'cohort_report.ipynb'
    """
    return _BUNDLED.joinpath(*parts).resolve()
