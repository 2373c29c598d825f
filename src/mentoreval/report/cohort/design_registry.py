"""The counts of the unlinked and single-wave tables, registered for the one release decision.

Report stage (what may be released). Called by
:func:`~mentoreval.report.cohort.registry.register_tables`. One key per thing counted:
the scored responses of a scale at a wave in an arm, ``responses.<instrument>.<scale>.<wave>.<arm>``,
whichever table shows it (``descriptives``, ``unlinked``, ``between_groups``); arms sum to
all responses, which the bands at that wave sum to; a model's n is the sum of its cells.
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
    """Register ``descriptives``, ``unlinked``, ``interaction``, ``between_groups`` and
    ``wave_bands`` (absent tables are skipped); the participation table's first wave is the
    flow's ``pre``, its second ``post``."""
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
