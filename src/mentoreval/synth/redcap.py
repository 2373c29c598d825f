"""Synthetic REDCap longitudinal raw export and its UI data dictionary (stage: *test data*); re-exported by
:mod:`mentoreval.synth.writers`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mentoreval.instruments.definitions import Instrument
from mentoreval.synth.exportbase import (
    REDCAP_DICTIONARY_HEADER,
    REDCAP_EVENT_LABELS,
    REDCAP_EVENTS,
    Values,
    answer_values,
    fmt_code,
    instrument_of,
    item_statement,
    item_stem,
    value_strings,
    wave_frame,
    write_csv_text,
)
from mentoreval.synth.items import item_model

if TYPE_CHECKING:  # pragma: no cover - annotations only (cohort.write() calls back here)
    from mentoreval.synth.cohort import SyntheticCohort

__all__ = ["write_redcap", "write_redcap_dictionary"]

# --------------------------------------------------------------------------- REDCap


def _redcap_choices(inst: Instrument, item: str) -> str:
    rs = inst.item_response_scale(item)
    pairs = [
        *zip(rs.codes, rs.labels, strict=True),
        *((m.code, m.label or m.reason) for m in rs.missing),
    ]
    return " | ".join(f"{fmt_code(c)}, {label}" for c, label in pairs)


_REDCAP_PARTICIPANT = {
    "group": ("radio", "Programme group", "mentored, Mentored | comparison, Comparison"),
    "year_of_study": (
        "radio",
        "Year of study",
        "1, Year 1 | 2, Year 2 | 3, Year 3 | 4, Year 4 | 5, Year 5",
    ),
    "gender": (
        "radio",
        "Gender",
        "female, Female | male, Male | nonbinary, Non-binary | undisclosed, Prefer not to say",
    ),
    "site": ("dropdown", "Campus", "city, City | north, North | coast, Coast"),
}


def _redcap_field_values(field: str, column: pd.Series, values: Values) -> np.ndarray:
    """Covariate values as REDCap stores them (raw choice code) or exports them (label)."""
    choices = _REDCAP_PARTICIPANT[field][2]
    by_label = {}
    for part in choices.split("|"):
        code, _, label = part.strip().partition(",")
        by_label[label.strip().casefold()] = code.strip() if values == "codes" else label.strip()
    keys = column.astype(str)
    if field == "year_of_study":
        keys = "Year " + keys
    return keys.str.casefold().map(by_label).fillna("").to_numpy(dtype=object)


def write_redcap(
    cohort: SyntheticCohort,
    path: str | Path,
    *,
    dictionary: str | Path | None = None,
    values: Values | None = None,
) -> Path:
    """Write both waves as one REDCap longitudinal export (and optionally its dictionary).

    Rows are record × event (``baseline_arm_1``, ``followup_arm_1``), sparse: the
    ``participant`` form is filled at baseline only, the mentor-rating form at follow-up
    only; a record without a follow-up survey has no follow-up row. Each form has a
    ``<form>_complete`` column (2 = Complete, 0 = Incomplete for an unopened form).
    REDCap keeps one row per record × event, so duplicate submissions are not written
    (the first one is kept). ``values="labels"`` is the API's ``rawOrLabel=label`` with
    raw headers.

    Examples
    --------
    >>> import tempfile
    >>> from mentoreval.synth import CohortSpec, generate_cohort
    >>> c = generate_cohort(CohortSpec(n_students=4, instruments=("who5",)))
    >>> p = write_redcap(c, Path(tempfile.mkdtemp()) / "redcap.csv")
    >>> p.read_text().splitlines()[0]
    'record_id,redcap_event_name,group,year_of_study,gender,site,participant_complete,who5_1,who5_2,who5_3,who5_4,who5_5,who5_complete,mes_1,mes_2,mes_3,mes_4,mes_5,mes_6,mes_7,mes_8,mes_9,mes_10,mes_11,mes_12,mes_complete'
    """
    path = Path(path)
    values = answer_values(cohort, values)
    forms_all = cohort.instruments_at("post")
    parts = []
    for wave in ("pre", "post"):
        frame = wave_frame(cohort, wave)
        frame = frame[~frame["duplicate"]]
        items_here = cohort.items_at(wave)
        texts = value_strings(cohort, frame, items_here, values)
        out: dict[str, Any] = {
            "record_id": frame["student_id"].to_numpy(dtype=object),
            "redcap_event_name": np.full(
                len(frame),
                REDCAP_EVENTS[wave] if values == "codes" else REDCAP_EVENT_LABELS[wave],
                dtype=object,
            ),
        }
        complete = "2" if values == "codes" else "Complete"
        incomplete = "0" if values == "codes" else "Incomplete"
        for field in _REDCAP_PARTICIPANT:
            out[field] = (
                _redcap_field_values(field, frame[field], values)
                if wave == "pre"
                else np.full(len(frame), "", dtype=object)
            )
        out["participant_complete"] = np.full(
            len(frame), complete if wave == "pre" else "", dtype=object
        )
        for inst in forms_all:
            inst_items = list(item_model(inst).items)
            in_event = inst in cohort.instruments_at(wave)
            any_answer = np.zeros(len(frame), dtype=bool)
            for item in inst_items:
                col = texts[item] if in_event else np.full(len(frame), "", dtype=object)
                out[item] = col
                any_answer |= col != ""
            if in_event:
                out[f"{inst}_complete"] = np.where(any_answer, complete, incomplete).astype(object)
            else:
                out[f"{inst}_complete"] = np.full(len(frame), "", dtype=object)
        parts.append(pd.DataFrame(out))
    data = pd.concat(parts, ignore_index=True)
    event_order = data["redcap_event_name"].map(
        {
            **{v: k for k, v in enumerate(REDCAP_EVENTS.values())},
            **{v: k for k, v in enumerate(REDCAP_EVENT_LABELS.values())},
        }
    )
    order = np.lexsort((event_order.to_numpy(), data["record_id"].to_numpy().astype(str)))
    data = data.iloc[order]
    write_csv_text(path, [list(data.columns)], data)
    if dictionary is not None:
        write_redcap_dictionary(cohort, dictionary)
    return path


def write_redcap_dictionary(cohort: SyntheticCohort, path: str | Path) -> Path:
    """Write the REDCap data dictionary (UI CSV layout) of :func:`write_redcap`'s project.

    Examples
    --------
    >>> import tempfile
    >>> from mentoreval.synth import CohortSpec, generate_cohort
    >>> c = generate_cohort(CohortSpec(n_students=4, instruments=("who5",)))
    >>> p = write_redcap_dictionary(c, Path(tempfile.mkdtemp()) / "dict.csv")
    >>> p.read_text().splitlines()[4]
    'gender,participant,,radio,Gender,"female, Female | male, Male | nonbinary, Non-binary | undisclosed, Prefer not to say",,,,,,,,,,,,'
    """
    rows: list[list[str]] = [["record_id", "participant", "", "text", "Record ID", *[""] * 13]]
    for field, (ftype, label, choices) in _REDCAP_PARTICIPANT.items():
        rows.append([field, "participant", "", ftype, label, choices, *[""] * 12])
    for inst_id in cohort.instruments_at("post"):
        inst = instrument_of(inst_id)
        for k, item in enumerate(inst.item_ids):
            section = item_stem(inst) if k == 0 else ""
            rows.append(
                [
                    item,
                    inst_id,
                    section,
                    "radio",
                    item_statement(inst, item),
                    _redcap_choices(inst, item),
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    f"{inst_id}_{inst.item(item).response_scale}",
                    "",
                    "",
                ]
            )
    body = pd.DataFrame(rows)
    return write_csv_text(Path(path), [list(REDCAP_DICTIONARY_HEADER)], body)
