"""The release ledger: every published count, so later releases cannot be subtracted from it.

Disclosure stage. A cell whose count differs by 1..k−1 from an earlier release of the same
cell is suppressed (see :meth:`ReleaseLedger.conflicts`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from mentoreval.errors import DisclosureError, Problem

__all__ = ["ReleaseLedger"]


LedgerKey = tuple[str, str, str, str]


@dataclass
class ReleaseLedger:
    """Aggregates released so far, to block differencing across reruns.

    Each entry is a key ``(study, table, group, statistic)`` and the n it was released
    with. A new release of the same cell whose n differs from a previously released n
    by 1 to k−1 would reveal those few students (52 in March, 50 in June) and is
    suppressed instead.

    Examples
    --------
    >>> ledger = ReleaseLedger()
    >>> ledger.record(("s", "comparisons", "total", "mean_diff"), 52)
    >>> ledger.conflicts(("s", "comparisons", "total", "mean_diff"), 50, k=10)
    True
    >>> ledger.conflicts(("s", "comparisons", "total", "mean_diff"), 52, k=10)
    False
    >>> ledger.conflicts(("s", "comparisons", "total", "mean_diff"), 70, k=10)
    False
    """

    entries: dict[LedgerKey, set[int]] = field(default_factory=dict)

    def record(self, key: LedgerKey, n: float) -> None:
        """Remember that ``key`` was released with ``n`` students."""
        if n is None or pd.isna(n):
            return
        self.entries.setdefault(tuple(str(part) for part in key), set()).add(int(n))  # type: ignore[arg-type]

    def conflicts(self, key: LedgerKey, n: float, *, k: int) -> bool:
        """Whether releasing ``key`` with ``n`` would difference against an earlier n."""
        if n is None or pd.isna(n) or k < 2:
            return False
        previous = self.entries.get(tuple(str(part) for part in key), set())  # type: ignore[arg-type]
        return any(1 <= abs(int(n) - old) <= k - 1 for old in previous)

    def to_frame(self) -> pd.DataFrame:
        """The ledger as a tidy table: study · table · group · statistic · n."""
        rows = [(*key, n) for key, ns in sorted(self.entries.items()) for n in sorted(ns)]
        return pd.DataFrame(rows, columns=["study", "table", "group", "statistic", "n"]).astype(
            {"n": "int64"}
        )

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Save as ``.json`` (list of records) or ``.parquet``, chosen by the suffix."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        frame = self.to_frame()
        if target.suffix == ".parquet":
            frame.to_parquet(target, index=False)
        elif target.suffix == ".json":
            records = [
                {**{k: str(v) for k, v in r.items() if k != "n"}, "n": int(r["n"])}
                for r in frame.to_dict(orient="records")
            ]
            target.write_text(json.dumps(records, indent=1) + "\n", encoding="utf-8")
        else:
            raise DisclosureError(
                f"cannot save a ledger as {target.suffix!r}",
                (Problem("unsupported suffix", file=str(target), fix="use .json or .parquet"),),
            )
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ReleaseLedger:
        """Load a ledger saved by :meth:`save`; a missing file gives an empty ledger."""
        source = Path(path)
        if not source.exists():
            return cls()
        if source.suffix == ".parquet":
            frame = pd.read_parquet(source)
        else:
            try:
                frame = pd.DataFrame(
                    json.loads(source.read_text(encoding="utf-8")),
                    columns=["study", "table", "group", "statistic", "n"],
                )
            except (json.JSONDecodeError, ValueError, TypeError) as exc:
                raise DisclosureError(
                    "the release ledger is not valid JSON",
                    (Problem(str(exc), file=str(source), fix="restore it from a backup"),),
                ) from exc
        ledger = cls()
        for row in frame.itertuples(index=False):
            ledger.record((row.study, row.table, row.group, row.statistic), row.n)  # type: ignore[arg-type]
        return ledger
