"""The state the steps of mapping one export share (ingest stage).

:class:`SourceMapping` is passed from step to step of :func:`mentoreval.ingest.source.read_source`
and the id steps of :mod:`mentoreval.ingest.ids`: each adds its problems, quarantined rows,
set-aside rows and notes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mentoreval.errors import Problem

__all__ = ["SourceMapping"]


@dataclass
class SourceMapping:
    """What the steps of mapping one source share (its name and key, columns and source rows,
    and the problems, quarantine, set-aside rows and notes they add)."""

    name: str  # the source's name in the outputs
    key: str  # its key in the study config, ``sources[i]``
    columns: list[str]
    rows: np.ndarray  # the source row of each record
    fatal: list[Problem]
    quarantine: list[pd.DataFrame]
    set_aside: np.ndarray  # records that do not go on (quarantined or ignored)
    notes: list[str] = field(default_factory=list)
