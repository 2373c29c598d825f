"""The release ledger: every published count, so later releases cannot be subtracted from it.

Disclosure stage. A cell whose count differs by 1..k−1 from an earlier release of the same
cell is suppressed (see :meth:`ReleaseLedger.conflicts`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
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
    #: values of cells an earlier report hid only as complements: not published, but they may
    #: follow from that report's other numbers (a pooled total minus the other cohorts), so a
    #: later release a few students away from one of them is withheld too
    hidden: dict[LedgerKey, set[int]] = field(default_factory=dict)

    def record(self, key: LedgerKey, n: float, *, shown: bool = True) -> None:
        """Remember that ``key`` was released with ``n`` students (``shown=False``: hidden
        as a complement, see :attr:`hidden`)."""
        if n is None or pd.isna(n):
            return
        target = self.entries if shown else self.hidden
        target.setdefault(tuple(str(part) for part in key), set()).add(int(n))  # type: ignore[arg-type]

    def values(self, key: LedgerKey) -> set[int]:
        """Every earlier value of ``key``, shown or hidden as a complement.

        >>> ledger = ReleaseLedger()
        >>> ledger.record(("s", "t", "g", "n"), 52); ledger.record(("s", "t", "g", "n"), 49, shown=False)
        >>> sorted(ledger.values(("s", "t", "g", "n")))
        [49, 52]
        """
        k: LedgerKey = (str(key[0]), str(key[1]), str(key[2]), str(key[3]))
        return self.entries.get(k, set()) | self.hidden.get(k, set())

    def conflicts(self, key: LedgerKey, n: float, *, k: int) -> bool:
        """Whether releasing ``key`` with ``n`` would difference against an earlier n."""
        if n is None or pd.isna(n) or k < 2:
            return False
        return any(1 <= abs(int(n) - old) <= k - 1 for old in self.values(key))

    def merge(self, other: ReleaseLedger) -> None:
        """Add every entry (shown and hidden) of ``other``."""
        for source, shown in ((other.entries, True), (other.hidden, False)):
            for key, ns in source.items():
                for n in ns:
                    self.record(key, n, shown=shown)

    def to_frame(self) -> pd.DataFrame:
        """The ledger as a tidy table: study · table · group · statistic · n · shown."""
        rows = [
            (*key, n, shown)
            for source, shown in ((self.entries, True), (self.hidden, False))
            for key, ns in sorted(source.items())
            for n in sorted(ns)
        ]
        return pd.DataFrame(
            rows, columns=["study", "table", "group", "statistic", "n", "shown"]
        ).astype({"n": "int64", "shown": "bool"})

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Save as ``.json`` (list of records) or ``.parquet``, chosen by the suffix."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        frame = self.to_frame()
        if target.suffix == ".parquet":
            frame.to_parquet(target, index=False)
        elif target.suffix == ".json":
            records = [
                {
                    **{k: str(v) for k, v in r.items() if k not in ("n", "shown")},
                    "n": int(r["n"]),
                    **({} if r["shown"] else {"shown": False}),
                }
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
                    columns=["study", "table", "group", "statistic", "n", "shown"],
                )
            except (json.JSONDecodeError, ValueError, TypeError) as exc:
                raise DisclosureError(
                    "the release ledger is not valid JSON",
                    (Problem(str(exc), file=str(source), fix="restore it from a backup"),),
                ) from exc
        if "shown" not in frame.columns:  # written before hidden values were kept
            frame["shown"] = True
        # only an explicit false is hidden: JSON rows without the key (NaN) are shown
        shown = ~frame["shown"].map(lambda v: isinstance(v, bool | np.bool_) and not v)
        ledger = cls()
        for row, is_shown in zip(frame.itertuples(index=False), shown, strict=True):
            ledger.record(
                (row.study, row.table, row.group, row.statistic),  # type: ignore[arg-type]
                row.n,  # type: ignore[arg-type]
                shown=bool(is_shown),
            )
        return ledger
