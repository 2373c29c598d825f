"""The counts of the unlinked and single-wave tables, registered for the one release decision.

Report stage (what may be released). Called by
:func:`~mentoreval.report.cohort.registry.register_tables`. One key per thing counted:
the scored responses of a scale at a wave in an arm, ``responses.<instrument>.<scale>.<wave>.<arm>``,
whichever table shows it (``descriptives``, ``unlinked``, ``between_groups``); arms sum to
all responses, which the bands at that wave sum to; a model's n is the sum of its cells.

A multi-wave study's students with a score at a wave, ``waves.<instrument>.<scale>.<arm>.<wave>``
(``wave_participation``, ``wave_means``), and of them those also seen at baseline (``multiwave``),
a part of both; at the primary contrast's later wave that is the arm's pairs (the same key as
the paired comparison's ``n_pairs`` when it is the same number).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from mentoreval.report.cohort.registry import CohortRegistry, rows_of

__all__ = ["register_design_tables"]


def _key(inst: object, scale: object, wave: object, arm: object) -> str:
    return f"responses.{inst}.{scale}.{wave}.{arm}"


def register_design_tables(
    reg: CohortRegistry, tables: Mapping[str, pd.DataFrame], treated: str, control: str | None
) -> None:
    """Register ``descriptives``, ``unlinked``, ``interaction``, ``between_groups``,
    ``wave_bands`` and the multi-wave tables (absent tables are skipped); the participation
    table's first wave is the flow's ``pre``, its second ``post``."""
    _register_waves(reg, tables)
    part = tables.get("participation")
    waves = (
        {} if part is None else dict(zip(part["wave"].astype(str), ("pre", "post"), strict=False))
    )
    arms: dict[tuple[str, str, str], list[str]] = {}
    for i, r in rows_of(tables.get("descriptives")):
        scope = (str(r["instrument"]), str(r["scale"]), str(r["wave"]))
        key = reg.count(_key(*scope, r["group"]), r["n"], at=[("descriptives", i, "n")], keep=True)
        whole = f"flow.kept.{waves.get(scope[2], scope[2])}"
        reg.share(key, whole if whole in reg.registry.counts else None)
        if key:
            arms.setdefault(scope, []).append(key)
    for scope, parts in arms.items():
        if len(parts) > 1:
            total = sum(reg.registry.counts[p].value for p in parts)
            all_key = reg.count(_key(*scope, "all"), total, published=False)
            reg.total(all_key, parts)
    for i, r in rows_of(tables.get("unlinked")):
        for column, wave in (("n_pre", r["pre"]), ("n_post", r["post"])):
            reg.count(_key(r["instrument"], r["scale"], wave, r["group"]), r[column],
                      at=[("unlinked", i, column)])  # fmt: skip
    for i, r in rows_of(tables.get("between_groups")):
        for column, arm in (("n_control", control), ("n_treated", treated)):
            reg.count(_key(r["instrument"], r["scale"], r["wave"], arm), r[column],
                      at=[("between_groups", i, column)])  # fmt: skip
    for i, r in rows_of(tables.get("interaction")):
        reg.count(f"interaction.{r['instrument']}.{r['scale']}.n", r["n"],
                  at=[("interaction", i, "n")])  # fmt: skip
    bands = tables.get("wave_bands")
    if bands is not None and len(bands):
        for (inst, scale, wave), rows in bands.groupby(["instrument", "scale", "wave"], sort=False):
            band_parts = [
                reg.count(f"bands.{inst}.{scale}.{wave}.{b}", n, at=[("wave_bands", int(i), "n")])
                for i, b, n in zip(rows.index, rows["band"], rows["n"], strict=True)
            ]
            whole = _key(inst, scale, wave, "all")
            reg.total(whole if whole in reg.registry.counts else None, band_parts, attribute=True)


def _own_or(reg: CohortRegistry, key: str, value: object, existing: str) -> str | None:
    """``existing`` when it holds the same number (one count, one decision), else ``key``."""
    old = reg.registry.counts.get(existing)
    if old is not None and not pd.isna(value) and old.value == int(value):  # type: ignore[call-overload]  # a table cell
        return existing
    return reg.count(key, value)


def _register_waves(reg: CohortRegistry, tables: Mapping[str, pd.DataFrame]) -> None:
    """``wave_participation``, ``wave_means`` and ``multiwave`` (see the module docstring)."""
    seen: dict[tuple[str, str, str, str], tuple[str | None, str | None]] = {}
    for i, r in rows_of(tables.get("wave_participation")):
        inst, scale, wave = str(r["instrument"]), str(r["scale"]), str(r["wave"])
        arm = str(r["group"]) or "all"
        later = any(k[:3] == (inst, scale, arm) for k in seen)  # not the baseline wave
        pairs = f"pairs.{inst}.{scale}.{arm}" if later else ""
        n = _own_or(reg, f"waves.{inst}.{scale}.{arm}.{wave}", r["n"], pairs)
        both = (
            n
            if r["n_baseline"] == r["n"]
            else _own_or(reg, f"waves.{inst}.{scale}.{arm}.{wave}.baseline", r["n_baseline"], pairs)
        )
        seen[(inst, scale, arm, wave)] = (n, both)
        first = seen[next(k for k in seen if k[:3] == (inst, scale, arm))][0]
        for key, column in ((n, "n"), (both, "n_baseline"), (first, "n_first")):
            if key is not None:
                reg.cells[("wave_participation", i, column)] = key
        if both is not n:
            reg.share(both, n)
            reg.share(both, first)
    for i, r in rows_of(tables.get("wave_means")):
        arm = str(r["group"]) or "all"
        key = seen.get((str(r["instrument"]), str(r["scale"]), arm, str(r["wave"])), (None,))[0]
        if key is not None:
            reg.cells[("wave_means", i, "n")] = key
    for i, r in rows_of(tables.get("multiwave")):
        inst, scale, wave = str(r["instrument"]), str(r["scale"]), str(r["wave"])
        arm = str(r["group"]) or "all"
        if (inst, scale, arm, wave) in seen:
            key = seen[(inst, scale, arm, wave)][1]
            if key is not None:
                reg.cells[("multiwave", i, "n")] = key
            continue
        parts = [v[1] for k, v in seen.items() if k[:2] == (inst, scale) and k[3] == wave]
        total = reg.count(f"waves.{inst}.{scale}.arms.{wave}.baseline", r["n"],
                          at=[("multiwave", i, "n")])  # fmt: skip
        reg.total(total, parts)
