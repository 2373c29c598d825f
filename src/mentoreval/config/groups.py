"""The group levels a study declares, and how an exported value is compared with them.

``analysis.group.treated``/``control`` name a level as exported — a code (``"1"``) or its
label (``"Yes"``) — or, with ``analysis.group.levels``, a level's name whose codes and
labels are listed. A value and a declared level are compared by :func:`level_keys`: Unicode
NFKC, case-folded, spaces collapsed, numbers in one form (``1``, ``1.0`` and `` 1 `` are
one key). Nothing here is ever turned into code or a formula: levels are data.
"""

from __future__ import annotations

import pandas as pd

from mentoreval.config.study_model import GroupSpec

__all__ = ["declared_levels", "level_key", "level_keys", "level_problems"]


def level_keys(values: pd.Series) -> pd.Series:
    """Each value as it is compared with a declared level (see the module docstring).

    Examples
    --------
    >>> level_keys(pd.Series([" Mentored ", "1.0", "1", "No  answer"])).tolist()
    ['mentored', '1', '1', 'no answer']
    """
    text = values.astype("string").str.normalize("NFKC").str.strip().str.casefold()
    text = text.str.replace(r"\s+", " ", regex=True)
    num = pd.to_numeric(text, errors="coerce")
    as_num = num.map(lambda x: f"{x:g}", na_action="ignore").astype("string")
    return as_num.where(num.notna(), text)


def level_key(value: str) -> str:
    """One value's key (:func:`level_keys`).

    >>> level_key("YES ") == level_key("yes")
    True
    """
    return str(level_keys(pd.Series([value], dtype="string")).iloc[0])


def declared_levels(spec: GroupSpec) -> dict[str, set[str]]:
    """Each declared level's name and the keys of the codes and labels that mean it: with
    ``levels``, every level listed (its name counts as one of its labels); else
    ``treated`` and ``control``, each standing for itself.

    >>> spec = GroupSpec(column="g", treated="mentored", control="comparison",
    ...                  levels={"mentored": ["1", "Yes"], "comparison": ["0", "No"]})
    >>> sorted(declared_levels(spec)["mentored"])
    ['1', 'mentored', 'yes']
    """
    if spec.levels is None:
        return {spec.treated: {level_key(spec.treated)}, spec.control: {level_key(spec.control)}}
    return {
        name: {level_key(name), *(level_key(v) for v in values)}
        for name, values in spec.levels.items()
    }


def level_problems(spec: GroupSpec) -> list[tuple[str, str, str]]:
    """What is wrong with the declared levels themselves, as ``(message, key, fix)``:
    treated and control the same level, a name not under ``levels``, a code or label
    listed under two levels."""
    out: list[tuple[str, str, str]] = []
    if spec.levels is not None:
        for role in ("treated", "control"):
            name = getattr(spec, role)
            if name not in spec.levels:
                out.append(
                    (
                        f"analysis.group.{role} {name!r} is not a level named under "
                        f"analysis.group.levels ({', '.join(map(repr, spec.levels))})",
                        f"analysis.group.{role}",
                        "name one of the levels under analysis.group.levels",
                    )
                )
        seen: dict[str, str] = {}
        for name, keys in declared_levels(spec).items():
            for k in sorted(keys):
                if k in seen and seen[k] != name:
                    out.append(
                        (
                            f"{k!r} is listed under two levels, {seen[k]!r} and {name!r}",
                            f"analysis.group.levels.{name}",
                            "list each code or label under one level only",
                        )
                    )
                seen.setdefault(k, name)
    if level_key(spec.treated) == level_key(spec.control):
        out.append(
            (
                f"treated {spec.treated!r} and control {spec.control!r} are the same level",
                "analysis.group.control",
                "give the comparison group's code or label",
            )
        )
    return out
