"""Provenance of an ingest: reconciliation, counts and ``manifest.json`` (stage: reconcile).

:func:`reconcile_sources` accounts for every record of every source (kept or quarantined,
:func:`mentoreval.ingest.quarantine.reconcile`); :func:`ingest_summary` gives the headline
counts; :func:`ingest_manifest` records the inputs, the key's fingerprint (never the key),
the versions, the config's hash, the counts per stage and rule, and the timings.
:func:`previous_key_problem` compares the key with the one an earlier ingest into the same
folder recorded, so pre and post are never pseudonymised with different keys.
"""

from __future__ import annotations

import json
import platform
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mentoreval.config.study import Study
from mentoreval.errors import Problem
from mentoreval.ingest.quarantine import CELL_RULES, reconcile
from mentoreval.ingest.records import KeptRecords
from mentoreval.ingest.source import SourceOut

__all__ = [
    "ingest_manifest",
    "ingest_summary",
    "previous_key_problem",
    "reconcile_sources",
    "study_design",
    "summary_line",
    "versions",
]


def versions() -> dict[str, str]:
    """The versions of Python and of the packages an ingest's outputs depend on."""
    out = {"python": platform.python_version()}
    for pkg in (
        "mentoreval",
        "pandas",
        "numpy",
        "pyarrow",
        "pydantic",
        "scipy",
        "pyreadstat",
        "openpyxl",
    ):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            continue
    return out


def previous_key_problem(target: Path, fingerprint: str, study: Study) -> Problem | None:
    """The problem when an earlier ingest in ``target`` used another key, else None."""
    previous = target / "manifest.json"
    if not previous.is_file():
        return None
    try:
        old = json.loads(previous.read_text(encoding="utf-8")).get("key_fingerprint")
    except (OSError, ValueError):
        old = None
    if old and old != fingerprint:
        return Problem(
            f"the pseudonymisation key (fingerprint {fingerprint}) differs from the one used "
            f"for the earlier ingest in {target} (fingerprint {old}); pre and post would not link",
            file=study.path.name,
            key="key_file",
            fix="use the key file of the earlier waves (check key_file and MENTOREVAL_KEY_FILE), "
            "or write to a new output folder with --out for a new study",
        )
    return None


def study_design(study: Study, code_counts: dict[str, int] | None = None) -> dict[str, Any]:
    """The design the processed data hold, for the report to name (``manifest.design``).

    ``kind`` is ``then_test`` when a source asks its items retrospectively ("before the
    programme" and "now" in one survey: ``then`` and ``now`` name the waves, ``sources``
    the sources), else ``prospective``; ``linkage`` says how a participant's waves are
    linked: ``{"method": "id"}``, ``{"method": "same_response"}`` (then-test) or
    ``{"method": "sgic", ...}`` with the self-generated codes' linkage counts.

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> cfg = NS(sources=[NS(path="post.csv", wave="post", then="pre")])
    >>> study_design(NS(config=cfg))
    {'kind': 'then_test', 'then': 'pre', 'now': 'post', 'sources': ['post.csv'], 'linkage': {'method': 'same_response'}}
    """
    cfg = study.config
    retro = [s for s in cfg.sources if s.then is not None]
    out: dict[str, Any] = {"kind": "prospective"}
    linkage: dict[str, Any] = {"method": "id"}
    if retro:
        out = {
            "kind": "then_test",
            "then": retro[0].then,
            "now": retro[0].wave,
            "sources": [Path(s.path).name for s in retro],
        }
        linkage = {"method": "same_response"}
    if code_counts is not None:
        linkage = {"method": "sgic", **code_counts}
    return {**out, "linkage": linkage}


def reconcile_sources(outs: list[SourceOut], kept: KeptRecords) -> dict[str, Any]:
    """Each source's manifest entry with its reconciliation and dropped columns (a then-test
    source's row is kept once, though it holds two waves)."""
    src_codes, src_cats = kept.source
    src_rows = kept.source_row
    per_source: dict[str, Any] = {}
    for o in outs:
        kept_rows = (
            src_rows[src_codes == src_cats.get_loc(o.name)] if o.name in src_cats else src_rows[:0]
        )
        if o.then is not None:
            kept_rows = np.unique(kept_rows)
        per_source[o.name] = {
            **o.entry,
            "reconciliation": reconcile(
                o.name, records=o.n_records, kept_rows=kept_rows, quarantine=kept.quarantine
            ),
            "dropped_columns": o.dropped,
            "identifying_columns": [d["column"] for d in o.identifying],
        }
    return per_source


def _rows_kept(kept: KeptRecords) -> int:
    """Export rows kept (a then-test row holds two records, one per wave)."""
    codes = kept.source[0].astype(np.int64)
    return len(np.unique(codes * (int(kept.source_row.max(initial=0)) + 1) + kept.source_row))


def ingest_summary(
    outs: list[SourceOut],
    kept: KeptRecords,
    link_counts: dict[str, int],
    flags: pd.DataFrame,
    code_counts: dict[str, int] | None = None,
) -> dict[str, int]:
    """The headline counts: rows read, kept, quarantined, participants, linked pairs, ...;
    with self-generated codes, their linkage counts (``sgic_exact``, ...)."""
    quarantine = kept.quarantine
    row_level = ~quarantine["rule"].isin(CELL_RULES)
    codes = {
        f"sgic_{k}": (code_counts or {})[k]
        for k in ("exact", "tolerant", "ambiguous", "unlinked")
        if code_counts is not None
    }
    return {
        "rows_read": int(sum(o.n_records for o in outs)),
        "rows_kept": _rows_kept(kept),
        "rows_quarantined": int(row_level.sum()),
        "answers_quarantined": int((~row_level).sum()),
        "participants": link_counts["participants"],
        "linked_pairs": link_counts["matched"],
        "pre_only": link_counts["pre_only"],
        "post_only": link_counts["post_only"],
        "duplicates_removed": link_counts["duplicates_removed"],
        "quality_flagged": int(flags["any_flag"].sum()),
        "speeder_available": int(flags["seconds_per_item"].notna().any()),
        **(codes if code_counts is not None else {}),
    }


def ingest_manifest(
    study: Study,
    *,
    fingerprint: str,
    inputs: dict[str, Any],
    quarantine: pd.DataFrame,
    summary: dict[str, int],
    tables: dict[str, int],
    link_counts: dict[str, int],
    design: dict[str, Any],
    seconds: float,
    laps: dict[str, float],
) -> dict[str, Any]:
    """The manifest of one ingest (``tables``: rows of ``responses`` and ``scores``)."""
    row_level = ~quarantine["rule"].isin(CELL_RULES)
    return {
        "study": study.name,
        "title": study.config.title,
        "config": {"file": study.path.name, "sha256": study.sha256},
        "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "key_fingerprint": fingerprint,
        "versions": versions(),
        "instruments": {
            i: {"version": inst.version, "items": len(inst.item_ids)}
            for i, inst in study.instruments.items()
        },
        "design": design,
        "inputs": inputs,
        "counts": {
            "read": summary["rows_read"],
            "quarantined_by_stage": {
                str(k): int(v)
                for k, v in quarantine.loc[row_level, "stage"].value_counts().sort_index().items()
            },
            "quarantined_by_rule": {
                str(k): int(v) for k, v in quarantine["rule"].value_counts().sort_index().items()
            },
            "kept": summary["rows_kept"],
            "responses": tables["responses"],
            "scores": tables["scores"],
            "linkage": link_counts,
        },
        "summary": summary,
        "seconds": round(seconds, 3),
        "seconds_by_stage": {k: round(v, 3) for k, v in laps.items()},
    }


def summary_line(s: dict[str, Any], *, linked: bool) -> str:
    """The one line ``mentoreval ingest`` prints from :func:`ingest_summary`.

    Examples
    --------
    >>> s = {"rows_read": 24, "rows_kept": 24, "rows_quarantined": 0, "answers_quarantined": 0,
    ...      "participants": 12, "linked_pairs": 12, "pre_only": 0, "post_only": 0,
    ...      "duplicates_removed": 0, "quality_flagged": 0, "speeder_available": 0}
    >>> print(summary_line(s, linked=True))
    Read 24 rows: kept 24, quarantined 0 (+0 single answers); 12 participants, 12 linked pre/post pairs (0 pre only, 0 post only, 0 duplicates removed); 0 quality flags (too fast: not available, no duration column).
    """
    linkage = (
        f"{s['participants']} participants, {s['linked_pairs']} linked pre/post pairs "
        f"({s['pre_only']} pre only, {s['post_only']} post only, "
        f"{s['duplicates_removed']} duplicates removed)"
        if linked
        else f"{s['participants']} responses, not linked across waves (unlinked survey)"
    )
    speed = (
        "." if s.get("speeder_available", 1) else " (too fast: not available, no duration column)."
    )
    return (
        f"Read {s['rows_read']} rows: kept {s['rows_kept']}, quarantined {s['rows_quarantined']} "
        f"(+{s['answers_quarantined']} single answers); {linkage}; "
        f"{s['quality_flagged']} quality flags{speed}"
    )
