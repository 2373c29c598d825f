"""REDCap record exports and data dictionaries (stage: read).

Record exports come raw (``study_id,redcap_event_name,...,sex,gym___1,...,form_complete``)
or with labels (``Study ID,Event Name,...,Complete?`` with ``Complete?`` repeated for every
form; repeats become ``Complete?__2``...). Longitudinal and repeating data is sparse long
data: one row per record x event x instance; ``redcap_event_name`` is kept as a column (the
study config maps events to waves). ``[not completed]`` timestamps and project missing-data
codes (``UNK``, ``-99``) stay as text for the recode stage.

:func:`read_redcap_dictionary` reads a data dictionary with either UI headers
(``Variable / Field Name``) or API headers (``field_name``), tolerating a BOM and curly
quotes, and parses choices into ordered ``(code, label)`` lists.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from mentoreval.errors import Problem

from .base import TEXT_DTYPE, RawTable, check_choice, new_meta, raise_read
from .text import DelimitedText, read_delimited, split_header, table_from_text

__all__ = [
    "DICTIONARY_API_HEADER",
    "DICTIONARY_COLUMNS",
    "DICTIONARY_UI_HEADER",
    "is_redcap_dictionary",
    "parse_choices",
    "read_redcap",
    "read_redcap_dictionary",
    "redcap_variant",
]

DICTIONARY_UI_HEADER: tuple[str, ...] = (
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
)
"""The 18 headers of a data dictionary downloaded from REDCap's user interface, in order."""

DICTIONARY_API_HEADER: tuple[str, ...] = (
    "field_name",
    "form_name",
    "section_header",
    "field_type",
    "field_label",
    "select_choices_or_calculations",
    "field_note",
    "text_validation_type_or_show_slider_number",
    "text_validation_min",
    "text_validation_max",
    "identifier",
    "branching_logic",
    "required_field",
    "custom_alignment",
    "question_number",
    "matrix_group_name",
    "matrix_ranking",
    "field_annotation",
)
"""The same 18 columns as the API metadata export names them."""

DICTIONARY_COLUMNS: dict[str, str] = {
    ui.lower(): api for ui, api in zip(DICTIONARY_UI_HEADER, DICTIONARY_API_HEADER, strict=True)
}
"""REDCap UI dictionary headers (normalised) → API snake_case names."""

_REQUIRED = (
    "field_name",
    "form_name",
    "field_type",
    "field_label",
    "select_choices_or_calculations",
)
_FIELD_TYPES = (
    "text",
    "notes",
    "radio",
    "dropdown",
    "checkbox",
    "yesno",
    "truefalse",
    "calc",
    "slider",
    "file",
    "descriptive",
    "sql",
)
_CHOICE_TYPES = ("radio", "dropdown", "checkbox")
_FIXED_CHOICES = {
    "yesno": [("1", "Yes"), ("0", "No")],
    "truefalse": [("1", "True"), ("0", "False")],
}
_COMPLETE_CHOICES = [("0", "Incomplete"), ("1", "Unverified"), ("2", "Complete")]
_SPECIAL_RAW = {
    "redcap_event_name": "event",
    "redcap_repeat_instrument": "repeat_instrument",
    "redcap_repeat_instance": "repeat_instance",
    "redcap_data_access_group": "data_access_group",
    "redcap_survey_identifier": "survey_identifier",
    "redcap_arm": "arm",
}
_SPECIAL_LABEL = {
    "Event Name": "event",
    "Repeat Instrument": "repeat_instrument",
    "Repeat Instance": "repeat_instance",
    "Data Access Group": "data_access_group",
    "Survey Identifier": "survey_identifier",
}
_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "\u00a0": " ", "\ufeff": ""})


def _norm_header(name: str) -> str:
    return " ".join(name.translate(_QUOTES).strip().strip('"').split()).casefold()


def is_redcap_dictionary(header: list[str]) -> bool:
    """Whether a header row is a REDCap data dictionary's (UI or API headers).

    Examples
    --------
    >>> is_redcap_dictionary(["Variable / Field Name", "Form Name", "Field Type"])
    True
    >>> is_redcap_dictionary(["field_name", "form_name", "field_type"])
    True
    """
    names = {_norm_header(h) for h in header}
    return bool(names & {"variable / field name", "field_name"}) and bool(
        names & {"field type", "field_type"}
    )


RedcapVariant = Literal["redcap", "redcap_labels"]


def redcap_variant(header: list[str]) -> RedcapVariant | None:
    """Tell a REDCap raw or label record export from its header row (else ``None``).

    Examples
    --------
    >>> redcap_variant(["record_id", "redcap_event_name", "age", "demo_complete"])
    'redcap'
    >>> redcap_variant(["Record ID", "Age", "Complete?"])
    'redcap_labels'
    >>> redcap_variant(["id", "q1"]) is None
    True
    """
    if any(h in _SPECIAL_RAW for h in header):
        return "redcap"
    if "Complete?" in header:
        return "redcap_labels"
    if len(header) > 1 and any(h.endswith("_complete") for h in header[1:]):
        return "redcap"
    return None


def parse_choices(text: str) -> tuple[list[tuple[str, str]], list[str]]:
    """Parse a REDCap choice string into ordered ``(code, label)`` pairs.

    Split on ``|``, then on the *first* comma. Returns the pairs and a list of problems
    (items without a code, duplicate codes).

    Examples
    --------
    >>> parse_choices("0, Female | 1, Male")
    ([('0', 'Female'), ('1', 'Male')], [])
    >>> parse_choices("1,leukaemia| 2,lymphoma, other | -99, Unknown")
    ([('1', 'leukaemia'), ('2', 'lymphoma, other'), ('-99', 'Unknown')], [])
    >>> parse_choices("Mr. | Mrs.")[1]
    ["choice 'Mr.' has no code (expected 'code, label')", "choice 'Mrs.' has no code (expected 'code, label')"]
    """
    pairs: list[tuple[str, str]] = []
    problems: list[str] = []
    seen: set[str] = set()
    for item in text.split("|"):
        item = item.strip()
        if not item:
            continue
        code, sep, label = item.partition(",")
        code, label = code.strip(), label.strip()
        if not sep or not code or " " in code:
            problems.append(f"choice {item!r} has no code (expected 'code, label')")
            continue
        if code in seen:
            problems.append(f"choice code {code!r} appears twice")
            continue
        seen.add(code)
        pairs.append((code, label))
    return pairs, problems


def read_redcap_dictionary(path: str | Path, *, encoding: str | None = None) -> pd.DataFrame:
    """Read a REDCap data dictionary (UI or API headers) into API-named columns.

    Parameters
    ----------
    path
        The dictionary CSV.
    encoding
        Force the text encoding (detected otherwise; a BOM is removed).

    Returns
    -------
    pandas.DataFrame
        One row per field: the 18 API columns (``field_name``, ``form_name``,
        ``field_type``, ``field_label``, ``select_choices_or_calculations``, ...; text, ``""``
        when empty), plus ``choices`` (ordered list of ``(code, label)`` for radio, dropdown,
        checkbox, yesno and truefalse fields, else ``None``), ``slider_labels`` (list for
        sliders) and ``source_row``.

    Raises
    ------
    mentoreval.errors.ReadError
        Listing every problem: missing columns, unknown field types, duplicate field
        names, unparseable choices (with row and column).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> p = Path(tempfile.mkdtemp()) / "dict.csv"
    >>> _ = p.write_text('\\ufeff"Variable / Field Name","Form Name","Field Type",'
    ...     '"Field Label","Choices, Calculations, OR Slider Labels"\\n'
    ...     'record_id,demo,text,"Record ID",\\n'
    ...     'sex,demo,radio,Sex,"1, Male | 0, Female"\\n', encoding="utf-8")
    >>> d = read_redcap_dictionary(p)
    >>> d.loc[1, "choices"]
    [('1', 'Male'), ('0', 'Female')]
    >>> d["source_row"].tolist()
    [2, 3]
    """
    path = Path(path)
    text = read_delimited(path, encoding=encoding)
    headers, body, notes = split_header(text, 1, what="REDCap data dictionary")
    names = _dictionary_names(headers[0], path)
    out = body.set_axis(names, axis=1).fillna("").astype(TEXT_DTYPE)
    for col in DICTIONARY_COLUMNS.values():
        if col not in out.columns:
            out[col] = pd.Series("", index=out.index, dtype=TEXT_DTYPE)
    for col in ("field_name", "form_name", "field_type"):
        out[col] = out[col].str.strip()
    ui = {v: k for k, v in DICTIONARY_COLUMNS.items()}
    header_of = dict(zip(names, headers[0], strict=True))
    choices, sliders = _parse_fields(out, header_of, path)
    out = out[[*DICTIONARY_COLUMNS.values(), *[c for c in out.columns if c not in ui]]]
    out = out.copy()
    out["choices"] = pd.Series(choices, index=out.index, dtype=object)
    out["slider_labels"] = pd.Series(sliders, index=out.index, dtype=object)
    out["source_row"] = out.index.to_numpy(dtype=np.int64)
    out = out.reset_index(drop=True)
    out.attrs["notes"] = [*text.notes, *notes]
    out.attrs["sha256"] = text.sha256
    return out


def _dictionary_names(header: list[str], path: Path) -> list[str]:
    """The dictionary's columns by their API names (UI headers mapped, others kept); refuses
    a header without the required columns or with one twice."""
    names: list[str] = []
    for h in header:
        norm = _norm_header(h)
        if norm in DICTIONARY_COLUMNS:
            names.append(DICTIONARY_COLUMNS[norm])
        elif norm.replace(" ", "_") in DICTIONARY_COLUMNS.values():
            names.append(norm.replace(" ", "_"))
        else:
            names.append(h)
    missing = [c for c in _REQUIRED if c not in names]
    if missing:
        problem = Problem(
            "missing dictionary column(s) " + ", ".join(missing),
            file=path.name,
            row=1,
            fix="download the data dictionary again from REDCap (Project Setup → Data "
            "Dictionary) without editing its header",
        )
        raise_read([problem], path=path, what="is not a valid REDCap data dictionary")
    dup = pd.Series(names).duplicated()
    if dup.any():
        problem = Problem(
            "duplicate dictionary column(s) " + ", ".join(pd.Series(names)[dup]),
            file=path.name,
            row=1,
        )
        raise_read([problem], path=path, what="is not a valid REDCap data dictionary")
    return names


def _parse_fields(
    out: pd.DataFrame, header_of: dict[str, str], path: Path
) -> tuple[list[list[tuple[str, str]] | None], list[list[str] | None]]:
    """Every field's choices and slider labels; refuses the dictionary listing every empty
    or repeated field name, unknown field type and unparseable choice list."""
    ui = {v: k for k, v in DICTIONARY_COLUMNS.items()}
    choice_header = header_of.get(
        "select_choices_or_calculations", ui["select_choices_or_calculations"]
    )
    problems: list[Problem] = []
    choices: list[list[tuple[str, str]] | None] = []
    sliders: list[list[str] | None] = []
    seen: dict[str, int] = {}
    for row, field, ftype, spec in zip(
        out.index.tolist(),
        out["field_name"].tolist(),
        out["field_type"].tolist(),
        out["select_choices_or_calculations"].tolist(),
        strict=True,
    ):
        if not field:
            problems.append(
                Problem("empty field name", file=path.name, row=row, column=header_of["field_name"])
            )
        elif field in seen:
            problems.append(
                Problem(
                    f"field {field!r} is defined twice (first on row {seen[field]})",
                    file=path.name,
                    row=row,
                    column=header_of["field_name"],
                )
            )
        else:
            seen[field] = row
        if ftype not in _FIELD_TYPES:
            problems.append(
                Problem(
                    f"unknown field type {ftype!r}",
                    file=path.name,
                    row=row,
                    column=header_of["field_type"],
                    fix="use one of " + ", ".join(_FIELD_TYPES),
                )
            )
        parsed, slider, bad = _field_choices(ftype, spec)
        for message in bad:
            problems.append(
                Problem(
                    f"field {field!r}: {message}",
                    file=path.name,
                    row=row,
                    column=choice_header,
                    fix="write choices as 'code, label | code, label'",
                )
            )
        choices.append(parsed)
        sliders.append(slider)
    raise_read(problems, path=path, what="is not a valid REDCap data dictionary")
    return choices, sliders


def _field_choices(
    ftype: str, spec: str
) -> tuple[list[tuple[str, str]] | None, list[str] | None, list[str]]:
    """A field's choices, slider labels and choice problems, by its type."""
    if ftype in _CHOICE_TYPES:
        parsed, bad = parse_choices(spec)
        if not parsed and not bad:
            bad = [f"{ftype} field has no choices"]
        return parsed, None, bad
    if ftype in _FIXED_CHOICES:
        return list(_FIXED_CHOICES[ftype]), None, []
    if ftype == "slider":
        return None, [s.strip() for s in spec.split("|")] if spec.strip() else [], []
    return None, None, []


_CHECKBOX = re.compile(r"^(?P<field>.+?)___(?P<code>.+)$")


def _checkbox_code(suffix: str, choices: list[tuple[str, str]] | None) -> str:
    """Map an export column suffix back to the dictionary's choice code."""
    if choices:
        for code, _ in choices:
            if code.lower().replace("-", "_").replace(".", "_") == suffix:
                return code
    return "-" + suffix[1:] if suffix.startswith("_") else suffix


def read_redcap(
    path: str | Path,
    *,
    variant: Literal["auto", "redcap", "redcap_labels"] = "auto",
    dictionary: str | Path | pd.DataFrame | None = None,
    encoding: str | None = None,
    text: DelimitedText | None = None,
) -> RawTable:
    """Read a REDCap record export (raw or labels; classic, longitudinal or repeating).

    Parameters
    ----------
    path
        The records CSV.
    variant
        ``"redcap"`` (raw headers), ``"redcap_labels"`` or ``"auto"``.
    dictionary
        The project's data dictionary (path or the frame from
        :func:`read_redcap_dictionary`); fills ``columns_meta`` with labels, field types,
        choices and identifier flags.
    encoding
        Force the text encoding.
    text
        An already parsed file.

    ``columns_meta.role`` is ``record_id`` (first column), ``event``, ``repeat_instrument``,
    ``repeat_instance``, ``data_access_group``, ``survey_identifier``,
    ``survey_timestamp``, ``form_complete``, ``checkbox`` or ``field``.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> p = Path(tempfile.mkdtemp()) / "x_DATA.csv"
    >>> _ = p.write_text("record_id,redcap_event_name,mood___1,mood____99,pre_complete\\n"
    ...                  "001,pre_arm_1,1,0,2\\n", encoding="utf-8")
    >>> t = read_redcap(p)
    >>> t.data.loc[2, "record_id"], t.columns_meta["role"].tolist()
    ('001', ['record_id', 'event', 'checkbox', 'checkbox', 'form_complete'])
    >>> t.columns_meta["choice_id"].tolist()[2:4]
    ['1', '-99']
    """
    path = Path(path)
    check_choice("variant", variant, ("auto", "redcap", "redcap_labels"))
    if text is None:
        text = read_delimited(path, encoding=encoding)
    headers, body, notes = split_header(text, 1, what="REDCap export")
    header = headers[0]
    if is_redcap_dictionary(header):
        raise_read(
            [
                Problem(
                    "is a REDCap data dictionary, not a record export",
                    file=path.name,
                    row=1,
                    fix="give it as the source's dictionary, and the records export as the path",
                )
            ],
            path=path,
            what="is not a record export",
        )
    if variant == "auto":
        variant = redcap_variant(header) or "redcap"
    meta = new_meta(header)
    dd: pd.DataFrame | None = None
    if isinstance(dictionary, pd.DataFrame):
        dd = dictionary
    elif dictionary is not None:
        dd = read_redcap_dictionary(dictionary)
    by_field: dict[str, Any] = (
        {} if dd is None else {str(r.field_name): r for r in dd.itertuples(index=False)}
    )
    forms = set() if dd is None else set(dd["form_name"].astype(str))
    columns = [_column_role(i, name, variant, by_field, forms) for i, name in enumerate(header)]
    roles = [role for role, _, _ in columns]
    fields = [field for _, field, _ in columns]
    codes = [code for _, _, code in columns]
    meta["role"] = roles
    meta["field"] = fields
    meta["choice_id"] = codes
    meta.loc[meta["role"] == "form_complete", "choices"] = pd.Series(
        [list(_COMPLETE_CHOICES)] * int((meta["role"] == "form_complete").sum()),
        index=meta.index[meta["role"] == "form_complete"],
        dtype=object,
    )
    if dd is not None and variant == "redcap":
        unknown = _describe_from_dictionary(meta, header, roles, fields, codes, by_field)
        if unknown:
            notes.append("columns not in the data dictionary: " + ", ".join(unknown))
    elif dd is not None:
        notes.append("label export: dictionary not matched to columns (headers are labels)")
    return table_from_text(
        text,
        header_rows=1,
        body=body,
        meta=meta,
        format=variant,
        notes=notes,
        # a label export repeats "Complete?" for every form (role form_complete)
        allow_duplicates=("Complete?",) if variant == "redcap_labels" else (),
    )


def _column_role(
    i: int, name: str, variant: str, by_field: dict[str, Any], forms: set[str]
) -> tuple[str, str | None, str | None]:
    """Column ``i``'s role, the dictionary field it belongs to and its checkbox choice code."""
    role, field, code = "field", None, None
    if i == 0:
        role, field = "record_id", name
    elif variant == "redcap_labels":
        if name in _SPECIAL_LABEL:
            role = _SPECIAL_LABEL[name]
        elif name == "Complete?":
            role = "form_complete"
        elif "(choice=" in name and name.endswith(")"):
            role = "checkbox"
            code = name[name.rindex("(choice=") + 8 : -1]
    elif name in _SPECIAL_RAW:
        role = _SPECIAL_RAW[name]
    elif name.endswith("_complete") and (not forms or name[:-9] in forms):
        role, field = "form_complete", name
    elif name.endswith("_timestamp") and (not forms or name[:-10] in forms):
        role, field = "survey_timestamp", name
    elif (m := _CHECKBOX.match(name)) and (not by_field or m["field"] in by_field):
        role, field = "checkbox", m["field"]
        entry = by_field.get(m["field"])
        code = _checkbox_code(m["code"], None if entry is None else entry.choices)
    else:
        field = name
    return role, field, code


def _describe_from_dictionary(
    meta: pd.DataFrame,
    header: list[str],
    roles: list[str],
    fields: list[str | None],
    codes: list[str | None],
    by_field: dict[str, Any],
) -> list[str]:
    """Fill labels, forms, field types, identifier flags and choices from the dictionary
    (in place); the headers of the data columns it does not define."""
    unknown = []
    cols: dict[str, list[Any]] = {
        k: list(meta[k])
        for k in ("label", "form", "field_type", "identifier", "choices", "sub_item")
    }
    for i, (role, field) in enumerate(zip(roles, fields, strict=True)):
        entry = by_field.get(field) if field else None
        if entry is None:
            if role in ("field", "record_id"):
                unknown.append(header[i])
            continue
        cols["label"][i] = entry.field_label
        cols["form"][i] = entry.form_name
        cols["field_type"][i] = entry.field_type
        cols["identifier"][i] = str(entry.identifier).strip().lower() == "y"
        if role != "checkbox":
            cols["choices"][i] = entry.choices
        else:
            cols["sub_item"][i] = dict(entry.choices or []).get(codes[i] or "")
            cols["choices"][i] = [("0", "Unchecked"), ("1", "Checked")]
    for k, values in cols.items():
        meta[k] = pd.Series(values, index=meta.index, dtype=object)
    return unknown
