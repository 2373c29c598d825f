"""Deploying the survey: instruments → a REDCap data dictionary or a Qualtrics TXT file.

A programme that collects with these files gets exports that mentoreval reads with no item
map: every item is one single-choice field named by its item id, whose stored codes are the
instrument's codes.

* :func:`to_redcap_dictionary` — REDCap data dictionary (UI headers): ``record_id`` first
  and flagged ``Identifier? = y``; one form per instrument; one ``radio`` field per item,
  choices ``"code, label | ..."`` (missing codes included as choices); a matrix group per
  run of items sharing a scale and a response scale.
* :func:`to_qualtrics_txt` — Qualtrics Advanced Format TXT: a text-entry question for the
  participant id, then one block per instrument with one multiple-choice question per item;
  the export tag (``[[ID:...]]``) is the item id and the choice ids — Qualtrics' recode
  values — are the codes.

Item text is written only when the instrument's licence allows shipping it; otherwise a
placeholder such as ``[WHO-5 item 3 — enter the licensed wording]`` reminds the person
building the survey to paste the licensed text.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import pandas as pd

from mentoreval.errors import ConfigError
from mentoreval.instruments.definitions import Instrument, load_instrument
from mentoreval.read.redcap import DICTIONARY_UI_HEADER

__all__ = [
    "REDCAP_DICTIONARY_HEADER",
    "export_instruments",
    "item_label",
    "to_qualtrics_txt",
    "to_redcap_dictionary",
]

REDCAP_DICTIONARY_HEADER = list(DICTIONARY_UI_HEADER)


def _code(x: float) -> str:
    return f"{x:g}"


def _short(inst: Instrument) -> str:
    return inst.short_title or inst.title


def item_label(inst: Instrument, item_id: str) -> str:
    """The item's text, or a placeholder when the licence forbids shipping it.

    Examples
    --------
    >>> item_label(load_instrument("who5"), "who5_1")
    'I have felt cheerful and in good spirits'
    >>> item_label(load_instrument("mes"), "mes_3")
    '[MES item 3 — enter the licensed wording]'
    """
    item = inst.item(item_id)
    if inst.licence.ship_item_text and item.text:
        return item.text
    return f"[{_short(inst)} item {inst.item_ids.index(item_id) + 1} — enter the licensed wording]"


def _choices(inst: Instrument, item_id: str) -> list[tuple[str, str]]:
    rs = inst.item_response_scale(item_id)
    pairs = [(_code(c), lab) for c, lab in zip(rs.codes, rs.labels, strict=True)]
    pairs += [(_code(m.code), m.label or m.reason) for m in rs.missing]
    return pairs


def _load(ids: Sequence[str | Instrument]) -> list[Instrument]:
    if not ids:
        raise ConfigError("no instruments given (fix: name at least one, e.g. who5)")
    return [i if isinstance(i, Instrument) else load_instrument(i) for i in ids]


def to_redcap_dictionary(
    instruments: Sequence[str | Instrument], *, id_field: str = "record_id"
) -> pd.DataFrame:
    """A REDCap data dictionary for ``instruments`` (one form each).

    Examples
    --------
    >>> d = to_redcap_dictionary(["who5"])
    >>> d.iloc[:3, [0, 1, 3, 10]].values.tolist()
    [['record_id', 'who5', 'text', 'y'], ['who5_1', 'who5', 'radio', ''], ['who5_2', 'who5', 'radio', '']]
    >>> d.loc[1, "Choices, Calculations, OR Slider Labels"][:40]
    '0, At no time | 1, Some of the time | 2,'
    """
    insts = _load(instruments)
    rows: list[dict[str, str]] = []

    def row(**kw: str) -> dict[str, str]:
        base = dict.fromkeys(REDCAP_DICTIONARY_HEADER, "")
        base.update(kw)
        return base

    rows.append(
        row(
            **{
                "Variable / Field Name": id_field,
                "Form Name": insts[0].id,
                "Field Type": "text",
                "Field Label": "Participant ID (student number or linkage code)",
                "Identifier?": "y",
                "Required Field?": "y",
            }
        )
    )
    for inst in insts:
        first_scale: dict[str, str] = {}
        for scale in inst.scales:
            for i in scale.items:
                first_scale.setdefault(i, scale.id)
        used: dict[str, int] = {}
        prev_key: tuple[str, str] | None = None
        group = ""
        for n, item_id in enumerate(inst.item_ids):
            key = (first_scale.get(item_id, "items"), inst.item(item_id).response_scale)
            if key != prev_key:
                base = re.sub(r"[^a-z0-9_]", "_", f"{inst.id}_{key[0]}".lower())
                used[base] = used.get(base, 0) + 1
                group = base if used[base] == 1 else f"{base}_{used[base]}"
                prev_key = key
            header = ""
            if n == 0:
                header = inst.title + (f" — in {inst.recall_period}" if inst.recall_period else "")
            rows.append(
                row(
                    **{
                        "Variable / Field Name": item_id,
                        "Form Name": inst.id,
                        "Section Header": header,
                        "Field Type": "radio",
                        "Field Label": item_label(inst, item_id),
                        "Choices, Calculations, OR Slider Labels": " | ".join(
                            f"{c}, {lab}" for c, lab in _choices(inst, item_id)
                        ),
                        "Matrix Group Name": group,
                        "Field Annotation": f"mentoreval {inst.id} {inst.version}",
                    }
                )
            )
    return pd.DataFrame(rows, columns=REDCAP_DICTIONARY_HEADER)


def to_qualtrics_txt(instruments: Sequence[str | Instrument], *, id_tag: str = "student_id") -> str:
    """A Qualtrics Advanced Format TXT survey for ``instruments``.

    Examples
    --------
    >>> txt = to_qualtrics_txt(["who5"])
    >>> txt.splitlines()[:3]
    ['[[AdvancedFormat]]', '', '[[Block:Participant]]']
    >>> "[[ID:who5_3]]" in txt and "[[Choice:5]]" in txt
    True
    """
    insts = _load(instruments)
    out = [
        "[[AdvancedFormat]]",
        "",
        "[[Block:Participant]]",
        "",
        "[[Question:TE:SingleLine]]",
        f"[[ID:{id_tag}]]",
        "Your student number (or the linkage code you were given)",
        "",
    ]
    for inst in insts:
        out += [f"[[Block:{_short(inst)}]]", ""]
        for item_id in inst.item_ids:
            out += [
                "[[Question:MC:SingleAnswer:Horizontal]]",
                f"[[ID:{item_id}]]",
                item_label(inst, item_id),
                "[[AdvancedChoices]]",
            ]
            for code, label in _choices(inst, item_id):
                out += [f"[[Choice:{code}]]", label]
            out.append("")
    return "\n".join(out)


def export_instruments(
    instruments: Sequence[str | Instrument],
    *,
    to: Literal["redcap", "qualtrics"],
    out: str | Path,
) -> Path:
    """Write a REDCap data dictionary (CSV) or a Qualtrics Advanced Format TXT file.

    Raises
    ------
    ConfigError
        For an unknown ``to`` or no instruments; ``InstrumentError`` for unknown ids.

    Examples
    --------
    >>> import tempfile
    >>> p = export_instruments(["who5"], to="redcap", out=Path(tempfile.mkdtemp()) / "d.csv")
    >>> p.read_text(encoding="utf-8").splitlines()[0][:40]
    '"Variable / Field Name","Form Name","Sec'
    """
    if to not in ("redcap", "qualtrics"):
        raise ConfigError(f"--to {to!r} is not one of: 'redcap', 'qualtrics'")
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    if to == "redcap":
        to_redcap_dictionary(instruments).to_csv(
            path, index=False, quoting=csv.QUOTE_NONNUMERIC, encoding="utf-8"
        )
    else:
        path.write_text(to_qualtrics_txt(instruments), encoding="utf-8")
    return path
