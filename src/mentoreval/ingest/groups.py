"""Group and covariate levels: exported codes and labels → the study's levels (stage: map).

A group column is categorical text as exported: a REDCap ``yesno`` field holds ``1``/``0``
(its dictionary says ``1, Yes | 0, No``), an SPSS variable holds codes with value labels,
Qualtrics may hold the label itself. :func:`map_groups` compares every exported value, by
its code and by its label, with the levels the study declares
(:func:`mentoreval.config.groups.declared_levels`) and rewrites the group column to the
declared level's name (``treated``/``control`` as written, or the names under
``analysis.group.levels``); a value no level claims becomes its label. A declared level
that matches nothing stops the run, listing the levels present with their students; the
study is never silently analysed as single-arm. :func:`label_covariates` gives coded
covariates their labels (when every value has one), so a coded category is analysed as a
category, not a number.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mentoreval.config.groups import declared_levels, level_key
from mentoreval.config.study import GroupSpec, Study
from mentoreval.errors import Problem

if TYPE_CHECKING:  # pragma: no cover - annotations only (source.py imports column_labels)
    from mentoreval.ingest.source import SourceOut

__all__ = ["column_labels", "label_covariates", "map_groups"]


def column_labels(meta: pd.DataFrame, columns: Iterable[str | None]) -> dict[str, dict[str, str]]:
    """Code → label of each of ``columns`` that has choices in the export's metadata (a
    REDCap dictionary, SPSS value labels).

    >>> meta = pd.DataFrame({"column": ["arm", "age"], "choices": [[("1", "Yes"), ("0", "No")], None]})
    >>> column_labels(meta, ["arm", "age", None])
    {'arm': {'1': 'Yes', '0': 'No'}}
    """
    if "column" not in meta or "choices" not in meta:
        return {}
    wanted = {c for c in columns if c}
    return {
        str(c): {str(code): str(label) for code, label in choices}
        for c, choices in zip(meta["column"], meta["choices"], strict=True)
        if c in wanted and isinstance(choices, list | tuple) and len(choices)
    }


@dataclass(frozen=True)
class _Value:
    """One distinct exported value of the group column and what it is."""

    raw: str
    shown: str  # its label, or the value itself
    present: str  # how the levels present are listed: '1' = 'Yes'
    level: str | None  # the declared level it is, if any
    exact: bool  # matched as written (not only after normalising)
    ambiguous: tuple[str, ...] = ()


def _describe(raw: str, labels: dict[str, str], spec: GroupSpec | None) -> _Value:
    by_key = {level_key(c): (c, lab) for c, lab in labels.items()}
    by_label = {level_key(lab): (c, lab) for c, lab in labels.items()}
    k = level_key(raw)
    code, label = by_key.get(k) or by_label.get(k) or (raw.strip(), None)
    shown = label if label is not None else raw.strip()
    present = f"{code!r} = {label!r}" if label is not None else repr(raw.strip())
    if spec is None:
        return _Value(raw, shown, present, None, True)
    keys = {k, level_key(code), *([level_key(label)] if label is not None else [])}
    written = {raw.strip(), code, *([label] if label is not None else [])}
    names = [name for name, ks in declared_levels(spec).items() if ks & keys]
    if len(names) != 1:
        return _Value(raw, shown, present, None, True, tuple(names))
    aliases = {names[0], *spec.levels[names[0]]} if spec.levels is not None else {names[0]}
    return _Value(raw, shown, present, names[0], bool(aliases & written))


def _recode(values: pd.Series, new: dict[str, str]) -> pd.Series:
    """``values`` with each distinct text replaced by ``new`` (vectorised over the rows)."""
    codes, uniques = pd.factorize(values.astype("string").array, use_na_sentinel=True)  # type: ignore[call-overload]
    table = np.array([new.get(str(u), str(u)) for u in uniques] + [None], dtype=object)
    return pd.Series(table[codes], index=values.index, dtype="string")


def _absent_group_column(column: str, key: str, present: set[str]) -> Problem:
    return Problem(
        f"the group column {column!r} is absent from every export",
        key=key,
        column=column,
        fix=f"set {key} to the export's group column (the first columns are "
        f"{sorted(present)[:8]}), or remove it for a single-arm study",
    )


def _students(outs: list[SourceOut], col: str, present: list[pd.Series]) -> pd.Series:
    """Distinct students (raw ids, case and spaces aside) per listed level, every wave."""
    ids = pd.concat(
        [o.records["raw_id"] for o in outs if col in o.records], ignore_index=True
    ).astype("string")
    listed = pd.concat(present, ignore_index=True)
    return ids.str.strip().str.casefold().groupby(listed, dropna=True).nunique()


def _not_found(spec: GroupSpec, role: str, gcol: str, students: pd.Series) -> Problem:
    name = getattr(spec, role)
    means = (
        f" (its codes and labels: {', '.join(map(repr, spec.levels[name]))})"
        if spec.levels is not None and spec.levels.get(name)
        else ""
    )
    listed = ", ".join(f"{v} ({int(n)} students)" for v, n in students.items()) or "none"
    return Problem(
        f"analysis.group.{role} {name!r}{means} matches no value of the group column "
        f"{gcol!r}; the levels present are: {listed}",
        key=f"analysis.group.{role}",
        column=gcol,
        fix=f"set analysis.group.{role} to a code or label present (or list it under "
        "analysis.group.levels); a study is never analysed as single-arm by mistake",
    )


def map_groups(
    study: Study, outs: list[SourceOut], fatal: list[Problem], warnings: list[Problem]
) -> None:
    """Rewrite every source's group column to the declared levels (see the module
    docstring); problems to ``fatal`` (a declared level not found, a value matching two
    levels, the column absent) and ``warnings`` (matched only after normalising, levels
    not analysed)."""
    cfg = study.config
    spec, gcol = cfg.analysis.group, cfg.columns.group
    if not outs or gcol is None:
        return
    col = f"col:{gcol}"
    if not any(col in o.records for o in outs):
        key = "columns.group" if spec is None else "analysis.group.column"
        fatal.append(_absent_group_column(gcol, key, {c for o in outs for c in o.columns}))
        return
    seen: dict[str, _Value] = {}
    present: list[pd.Series] = []
    for o in outs:
        if col not in o.records:
            continue
        labels = o.labels.get(gcol, {})
        values = o.records[col].astype("string")
        found = {str(v): _describe(str(v), labels, spec) for v in values.dropna().unique()}
        seen.update({f"{v.present}\0{v.level}": v for v in found.values()})
        present.append(_recode(values, {r: v.present for r, v in found.items()}))
        o.records[col] = _recode(values, {r: v.level or v.shown for r, v in found.items()})
    if spec is None:
        return
    students = _students(outs, col, present)
    _level_problems(spec, gcol, list(seen.values()), students, fatal, warnings)


def _level_problems(
    spec: GroupSpec,
    gcol: str,
    values: list[_Value],
    students: pd.Series,
    fatal: list[Problem],
    warnings: list[Problem],
) -> None:
    for v in values:
        if v.ambiguous:
            fatal.append(
                Problem(
                    f"the group value {v.present} matches two declared levels: "
                    f"{', '.join(map(repr, v.ambiguous))}",
                    key="analysis.group",
                    column=gcol,
                    fix="list each code or label under one level only",
                )
            )
    missing = False
    for role in ("treated", "control"):
        name = getattr(spec, role)
        matched = [v for v in values if v.level == name]
        if not matched:
            fatal.append(_not_found(spec, role, gcol, students))
            missing = True
            continue
        loose = sorted({v.present for v in matched if not v.exact})
        if loose:
            warnings.append(
                Problem(
                    f"group level(s) {', '.join(loose)} matched analysis.group.{role} "
                    f"{name!r} after normalising case, spaces and number form; they are "
                    f"analysed as {name!r}",
                    key=f"analysis.group.{role}",
                    column=gcol,
                    fix=f"write analysis.group.{role} exactly as in the data to silence this",
                )
            )
    for v in sorted(
        {v.present: v for v in values if v.level is None}.values(), key=lambda v: v.present
    ):
        if v.present in students.index and not v.ambiguous and not missing:
            warnings.append(
                Problem(
                    f"{int(students[v.present])} students in group {v.shown!r} are not "
                    "analysed: not declared as treated or control",
                    key="analysis.group",
                    column=gcol,
                    fix="declare the level under analysis.group (treated, control or "
                    "levels) to analyse it, or leave it: the students stay in the processed data",
                )
            )


def label_covariates(study: Study, outs: list[SourceOut]) -> None:
    """Coded covariates become their labels, as a group level does, when every value in
    the source has a label (a categorical field: a REDCap radio, an SPSS nominal); a
    number with labels only for special codes (an age with ``99 = refused``) stays as
    exported."""
    for c in study.config.columns.covariates:
        for o in outs:
            labels = o.labels.get(c)
            if not labels or f"col:{c}" not in o.records:
                continue
            values = o.records[f"col:{c}"].astype("string")
            by_key = {level_key(code): lab for code, lab in labels.items()}
            found = {str(v): by_key.get(level_key(str(v))) for v in values.dropna().unique()}
            if found and all(lab is not None for lab in found.values()):
                o.records[f"col:{c}"] = _recode(values, {v: str(lab) for v, lab in found.items()})
