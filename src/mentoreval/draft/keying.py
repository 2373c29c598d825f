"""Response-scale direction check: is every item keyed the way its instrument says?

For each scale of a proposed instrument, every item's raw codes are correlated with the
mean of the scale's *other* items after reverse keying (the rest score). A reverse-keyed
item is expected to correlate negatively with it and a plain item positively; a plain item
that correlates negatively is flagged as a possible mis-key (its column may hold another
item, or the export reversed it already), and so is a reverse-keyed item that correlates
positively. Vectorised with NumPy over respondents; the loop is over items.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from mentoreval.instruments import Instrument

from .evidence import ExportFile
from .items import item_codes

__all__ = ["KeyFlag", "check_keying"]

_MIN_RESPONDENTS = 10
_THRESHOLD = 0.1


@dataclass(frozen=True)
class KeyFlag:
    """An item whose answers run against its keying."""

    file: str
    instrument: str
    scale: str
    item: str
    column: str
    r: float
    message: str


def _codes(
    export: ExportFile,
    inst: Instrument,
    mapping: Mapping[str, str],
    values: Mapping[str, float],
) -> dict[str, np.ndarray]:
    meta = export.table.columns_meta.set_index("column")
    out = {}
    for item, column in mapping.items():
        choices = meta.at[column, "choices"] if "choices" in meta.columns else None
        out[item] = item_codes(
            export.table.data[column],
            inst.item_response_scale(item),
            values=values,
            choices=choices if isinstance(choices, list | tuple) else None,
        )
    return out


def _corr(x: np.ndarray, y: np.ndarray) -> float:
    ok = ~(np.isnan(x) | np.isnan(y))
    if ok.sum() < _MIN_RESPONDENTS or x[ok].std() == 0 or y[ok].std() == 0:
        return float("nan")
    return float(np.corrcoef(x[ok], y[ok])[0, 1])


def check_keying(
    export: ExportFile,
    inst: Instrument,
    mapping: Mapping[str, str],
    values: Mapping[str, float] | None = None,
) -> list[KeyFlag]:
    """Flag items of one instrument in one export whose answers run against their keying.

    Parameters
    ----------
    export
        The export.
    inst
        The instrument.
    mapping
        Item id → export column (items absent from the export are skipped).
    values
        Export answer → code, for labels the scale does not know as they are.

    Returns
    -------
    list of KeyFlag

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from mentoreval.draft.evidence import collect_exports
    >>> from mentoreval.instruments import load_instrument
    >>> rng = np.random.default_rng(1)
    >>> level = rng.integers(0, 6, 40)
    >>> cols = {f"who5_{i}": np.clip(level + rng.integers(-1, 2, 40), 0, 5) for i in range(1, 6)}
    >>> cols["who5_3"] = 5 - cols["who5_3"]  # exported reversed
    >>> p = Path(tempfile.mkdtemp()) / "pre.csv"
    >>> _ = p.write_text("\\n".join([",".join(cols)] + [",".join(str(cols[c][r]) for c in cols)
    ...                                                 for r in range(40)]) + "\\n")
    >>> export = collect_exports([p]).files[0]
    >>> flags = check_keying(export, load_instrument("who5"), {c: c for c in cols})
    >>> [(f.item, f.r < 0) for f in flags]
    [('who5_3', True)]
    """
    present = {i: c for i, c in mapping.items() if c in export.table.data.columns}
    codes = _codes(export, inst, present, values or {})
    flags = []
    for scale in inst.scales:
        items = [i for i in scale.items if i in codes]
        if len(items) < 3:
            continue
        keyed = np.column_stack(
            [_reflect(codes[i], inst, i) if inst.item(i).reverse else codes[i] for i in items]
        )
        answered = (~np.isnan(keyed)).sum(axis=1)
        total = np.nansum(keyed, axis=1)
        for j, item in enumerate(items):
            own = np.nan_to_num(keyed[:, j])
            n_rest = answered - (~np.isnan(keyed[:, j])).astype(int)
            with np.errstate(invalid="ignore", divide="ignore"):
                rest = np.where(n_rest > 0, (total - own) / n_rest, np.nan)
            r = _corr(codes[item], rest)
            flag = _message(inst.item(item).reverse, r)
            if flag:
                flags.append(KeyFlag(export.name, inst.id, scale.id, item, present[item], r, flag))
    return flags


def _reflect(x: np.ndarray, inst: Instrument, item: str) -> np.ndarray:
    rs = inst.item_response_scale(item)
    return rs.low + rs.high - x


def _message(reverse: bool, r: float) -> str | None:
    if np.isnan(r):
        return None
    if not reverse and r < -_THRESHOLD:
        return (
            f"not reverse-keyed, yet correlates r = {r:.2f} with the rest of its scale: "
            "possible mis-key (another item in this column, or reversed in the export)"
        )
    if reverse and r > _THRESHOLD:
        return (
            f"reverse-keyed, yet correlates r = {r:.2f} with the rest of its scale: already "
            "reversed in the export? (mentoreval reverses it again)"
        )
    return None
