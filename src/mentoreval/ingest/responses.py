"""The long responses table, held as the wide item tables it is made of (stage: map).

One row per participant × wave × instrument × item (``docs/architecture.md``). The ingest
keeps it as two records × items tables — the answers (NaN when missing) and the reason codes
— plus each kept record's identifiers as codes: :func:`item_tables` gathers the sources'
item tables into the study's (no copy when one source holds every record and instrument),
:class:`Responses` builds the long table from them on demand, whole or in pieces, and
:func:`write_responses` writes ``responses.parquet`` piece by piece, so the long table is
never held whole unless asked for.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from mentoreval.config.study import Study
from mentoreval.ingest.source import SourceOut
from mentoreval.instruments.scoring import small_int

__all__ = [
    "RESPONSE_COLUMNS",
    "Responses",
    "Span",
    "from_codes",
    "item_tables",
    "write_responses",
]

RESPONSE_COLUMNS = [
    "participant_id",
    "wave",
    "instrument",
    "item",
    "value",
    "missing_reason",
    "source",
    "source_row",
]


Span = tuple[str, np.ndarray, int, int]
"""One instrument in the item tables: its id, its records (sorted), first column, items."""


def from_codes(codes: np.ndarray, categories: Any) -> pd.Categorical:
    """A categorical from codes already in the dtype pandas would choose (no copy)."""
    return pd.Categorical.from_codes(codes, categories=categories, validate=False)


@dataclass(frozen=True)
class Responses:
    """The long responses table, held as the wide item tables it is made from.

    Rows are instrument-major, then record, then item. :meth:`frame` builds the whole table
    (column by column, straight from codes); :meth:`chunks` yields it in pieces with the
    same columns and categories, so it can be written without being held in memory at once.
    """

    spans: list[Span]  # instrument, records, first column, items
    matrix: np.ndarray  # records × items, answers (NaN when missing)
    whys: np.ndarray  # records × items, ReasonTable codes (0 when answered)
    items: dict[str, list[str]]
    reasons: list[str]
    pid: tuple[np.ndarray, pd.Index]
    wave: tuple[np.ndarray, pd.Index]
    source: tuple[np.ndarray, pd.Index]
    source_row: np.ndarray

    def __len__(self) -> int:
        return sum(len(rows) * k for _, rows, _, k in self.spans)

    def frame(self) -> pd.DataFrame:
        """The whole table."""
        if not self.spans:
            return pd.DataFrame({c: pd.Series(dtype="object") for c in RESPONSE_COLUMNS})
        return self._build([(j, slice(None)) for j in range(len(self.spans))])

    def chunks(self, rows: int = 1 << 20) -> Iterator[pd.DataFrame]:
        """The table in pieces of about ``rows`` rows (whole records), in order."""
        for j, (_, records, _, k) in enumerate(self.spans):
            step = max(rows // max(k, 1), 1)
            for start in range(0, len(records), step):
                yield self._build([(j, slice(start, start + step))])

    def _build(self, pieces: Sequence[tuple[int, slice]]) -> pd.DataFrame:
        inst_ids = [span[0] for span in self.spans]
        item_names = list(dict.fromkeys(i for inst_id in inst_ids for i in self.items[inst_id]))
        item_pos = {name: j for j, name in enumerate(item_names)}
        reason_labels = pd.Index(self.reasons or ["_"])
        (pid_codes, pid_cats), (wave_codes, wave_cats), (src_codes, src_cats) = (
            self.pid,
            self.wave,
            self.source,
        )
        selected = [(j, self.spans[j][1][rows]) for j, rows in pieces]
        total = int(sum(len(r) * self.spans[j][3] for j, r in selected))
        cols: dict[str, np.ndarray] = {
            "participant_id": np.empty(total, dtype=small_int(len(pid_cats))),
            "wave": np.empty(total, dtype=small_int(len(wave_cats))),
            "instrument": np.empty(total, dtype=small_int(len(inst_ids))),
            "item": np.empty(total, dtype=small_int(len(item_names))),
            "value": np.empty(total, dtype=float),
            "missing_reason": np.empty(total, dtype=small_int(len(reason_labels))),
            "source": np.empty(total, dtype=small_int(len(src_cats))),
            "source_row": np.empty(total, dtype=np.int64),
        }
        per_row = {
            "participant_id": pid_codes,
            "wave": wave_codes,
            "source": src_codes,
            "source_row": self.source_row,
        }
        start = 0
        for j, r in selected:
            inst_id, _, col0, k = self.spans[j]
            m = len(r)
            seg = slice(start, start + m * k)
            start += m * k
            for name, codes in per_row.items():
                cols[name][seg].reshape(m, k)[:] = codes[r][:, None]
            cols["instrument"][seg] = j
            item_codes = np.array(
                [item_pos[i] for i in self.items[inst_id]], dtype=cols["item"].dtype
            )
            cols["item"][seg].reshape(m, k)[:] = item_codes[None, :]
            cols["value"][seg].reshape(m, k)[:] = self.matrix[r, col0 : col0 + k]
            np.subtract(
                self.whys[r, col0 : col0 + k],
                1,
                out=cols["missing_reason"][seg].reshape(m, k),
                casting="unsafe",
            )
        data = {
            "participant_id": from_codes(cols["participant_id"], pid_cats),
            "wave": from_codes(cols["wave"], wave_cats),
            "instrument": from_codes(cols["instrument"], pd.Index(inst_ids)),
            "item": from_codes(cols["item"], pd.Index(item_names)),
            "value": cols["value"],
            "missing_reason": from_codes(cols["missing_reason"], reason_labels),
            "source": from_codes(cols["source"], src_cats),
            "source_row": cols["source_row"],
        }
        return pd.DataFrame(data, copy=False)


def write_responses(parts: Responses, path: Path) -> None:
    """``responses.parquet`` from the item tables, in pieces (row groups): the same file as
    ``parts.frame().to_parquet``, without holding the long table at once."""
    if not parts.spans:
        parts.frame().to_parquet(path, index=False)
        return
    writer: pq.ParquetWriter | None = None
    try:
        for chunk in parts.chunks():
            table = pa.Table.from_pandas(chunk, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema)
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()


def _place_blocks(
    outs: list[SourceOut],
    inst_id: str,
    new_index: np.ndarray | None,
    matrix: np.ndarray,
    whys: np.ndarray,
    cols: slice,
) -> list[np.ndarray]:
    """Copy one instrument's answers of every source into its columns ``cols`` of the
    study's tables (rows: ``new_index`` of each source's records, offset by the records of
    the sources before it; -1 when the record was not kept). With ``new_index`` None the
    answers are already in place. The rows each source filled."""
    offsets = np.cumsum([0, *[len(o.records) for o in outs]])
    rows_g: list[np.ndarray] = []
    for o, off in zip(outs, offsets[:-1], strict=True):
        b = o.blocks.pop(inst_id, None)
        if b is None:
            continue
        if new_index is None:  # already in place
            rows_g.append(b.rows)
            continue
        pos_new = new_index[off + b.rows]
        ok = pos_new >= 0
        if ok.all():
            matrix[pos_new, cols] = b.answers
            whys[pos_new, cols] = b.reasons
            rows_g.append(pos_new)
        else:
            matrix[pos_new[ok], cols] = b.answers[ok]
            whys[pos_new[ok], cols] = b.reasons[ok]
            rows_g.append(pos_new[ok])
        del b
    return rows_g


def item_tables(
    study: Study, outs: list[SourceOut], new_index: np.ndarray, n_kept: int
) -> tuple[np.ndarray, np.ndarray, list[Span]]:
    """The study's item tables of the kept records: answers (NaN when missing), reason
    codes, and where each instrument is in them.

    ``new_index`` gives each record of the sources (in order) its row among the ``n_kept``
    kept records (-1 when it was not kept). One source, every record kept, every instrument:
    its item tables are the tables (taken, not copied). The sources' blocks and tables are
    released.
    """
    all_items = [f"{i}.{item}" for i, inst in study.instruments.items() for item in inst.item_ids]
    whole = (
        outs[0]
        if len(outs) == 1
        and n_kept == len(new_index)
        and all(i in outs[0].blocks for i in study.instruments)
        else None
    )
    if whole is not None:
        assert whole.answers is not None and whole.whys is not None
        matrix, whys = whole.answers, whole.whys
        whole.answers = whole.whys = None
    else:
        matrix = np.full((n_kept, len(all_items)), np.nan)
        whys = np.zeros((n_kept, len(all_items)), dtype=np.int16)
    col0 = 0
    spans: list[Span] = []
    for inst_id, inst in study.instruments.items():
        k = len(inst.item_ids)
        where = None if whole is not None else new_index
        rows_g = _place_blocks(outs, inst_id, where, matrix, whys, slice(col0, col0 + k))
        if rows_g:
            spans.append((inst_id, np.sort(np.concatenate(rows_g)), col0, k))
        col0 += k
    for o in outs:  # the sources' own item tables are copied (or taken): let them go
        o.answers = o.whys = None
    return matrix, whys, spans
