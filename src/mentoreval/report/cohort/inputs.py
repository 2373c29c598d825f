"""The cohort report's inputs: the ingested tables and the study's instruments and scales.

Report stage (what is computed): loading and reshaping the person-level tables the analysis
starts from; nothing here is released.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mentoreval.errors import DataError, Problem

if TYPE_CHECKING:  # pragma: no cover
    from mentoreval.config.study import Study
    from mentoreval.ingest.pipeline import IngestResult


def scale_meta(study: Study) -> pd.DataFrame:
    rows = []
    for inst_id, inst in study.instruments.items():
        for s in inst.scales:
            lo, hi = (float(s.range[0]), float(s.range[1]))
            rows.append(
                {
                    "instrument": inst_id,
                    "scale": s.id,
                    "label": f"{inst.short_title or inst.title}: {s.title}",
                    "instrument_title": inst.title,
                    "scale_title": s.title,
                    "domain": inst.domain,
                    "higher_is_better": bool(s.higher_is_better),
                    "range_low": lo,
                    "range_high": hi,
                    "method": s.method,
                    "n_items": len(s.items),
                    "min_answered": s.min_answered,
                    "bands": (
                        "; ".join(b.label for b in s.bands.cuts) if s.bands is not None else ""
                    ),
                    "bands_source": s.bands.source if s.bands is not None else "",
                    "reliability": s.reliability.value if s.reliability is not None else np.nan,
                    "mcid": s.mcid if s.mcid is not None else np.nan,
                }
            )
    return pd.DataFrame(rows)


def instrument_meta(study: Study) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "instrument": i,
                "title": inst.title,
                "version": inst.version,
                "domain": inst.domain,
                "items": len(inst.item_ids),
                "citation": inst.citation or "none (a local instrument)",
                "licence": inst.licence.name,
                "recall_period": inst.recall_period or "",
            }
            for i, inst in study.instruments.items()
        ]
    )


def load_processed(source: IngestResult | str | os.PathLike[str]) -> dict[str, pd.DataFrame]:
    if not isinstance(source, str | os.PathLike):
        return {
            "responses": source.responses,
            "scores": source.scores,
            "participants": source.participants,
            "quarantine": source.quarantine,
            "quality": source.quality,
            "linkage": source.linkage,
            "manifest": source.manifest,  # type: ignore[dict-item]
        }
    folder = Path(source)
    needed = ["scores.parquet", "responses.parquet", "participants.parquet", "linkage.csv"]
    missing = [n for n in needed if not (folder / n).is_file()]
    if missing:
        raise DataError(
            f"{folder}: not an ingested study folder",
            tuple(
                Problem(
                    "file missing", file=str(folder / n), fix="run `mentoreval ingest STUDY` first"
                )
                for n in missing
            ),
        )
    out: dict[str, Any] = {
        "responses": pd.read_parquet(folder / "responses.parquet"),
        "scores": pd.read_parquet(folder / "scores.parquet"),
        "participants": pd.read_parquet(folder / "participants.parquet"),
        "linkage": pd.read_csv(folder / "linkage.csv", dtype={"participant_id": str}),
        "quarantine": (
            pd.read_csv(folder / "quarantine.csv")
            if (folder / "quarantine.csv").is_file()
            else pd.DataFrame(columns=["source", "source_row", "stage", "rule", "reason"])
        ),
        "quality": (
            pd.read_csv(folder / "quality.csv") if (folder / "quality.csv").is_file() else None
        ),
        "manifest": (
            json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
            if (folder / "manifest.json").is_file()
            else {}
        ),
    }
    return out


def check_waves(
    scores: pd.DataFrame, linkage: pd.DataFrame, pre: str, post: str, file: str
) -> None:
    waves = set(scores["wave"].astype(str).unique()) if len(scores) else set()
    missing = [w for w in (pre, post) if w not in waves]
    if missing:
        raise DataError(
            f"{file}: no {' or '.join(repr(w) for w in missing)} wave in the scores, so there "
            "is nothing to compare",
            tuple(
                Problem(
                    f"no scored responses for wave {w!r}",
                    file=file,
                    key="analysis.post" if w == post else "analysis.pre",
                    fix=f"add the {w} export under sources: with wave: {w}, or correct analysis.{'post' if w == post else 'pre'}",
                )
                for w in missing
            ),
        )
    matched = int((linkage["status"] == "matched").sum()) if len(linkage) else 0
    if matched == 0:
        raise DataError(
            f"{file}: no student answered both the {pre!r} and the {post!r} survey, so no "
            "pre/post pair could be linked",
            (
                Problem(
                    "0 linked pairs",
                    file=file,
                    key="participant_id",
                    fix="check that both exports use the same participant id column and the "
                    "same key file",
                ),
            ),
        )


def wide_items(responses: pd.DataFrame, instrument: str, wave: str) -> pd.DataFrame:
    sub = responses[
        (responses["instrument"].astype(str) == instrument)
        & (responses["wave"].astype(str) == wave)
    ]
    if sub.empty:
        return pd.DataFrame()
    wide = sub.pivot_table(
        index=sub["participant_id"].astype(str),
        columns=sub["item"].astype(str),
        values="value",
        aggfunc="first",
        observed=True,
        dropna=False,
    )
    wide.columns.name = None
    return wide


def shorten(text: str, width: int = 38) -> str:
    """Shorten an item text for a chart label.

    Examples
    --------
    >>> shorten("I have felt cheerful and in good spirits", width=20)
    'I have felt cheerf…'
    """
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 2].rstrip() + "…"
