"""Write synthetic cohorts exactly as the survey tools export them (stage: *test data*).

One writer per format, each byte-deterministic (fixed timestamps inside files, sorted rows,
``\\n`` line ends) so a committed demo set can be compared with a fresh regeneration:

===============  ======================================================================
writer           layout (see ``shared/reference/formats.md``)
===============  ======================================================================
qualtrics        three header rows (export tag, question text, ImportId JSON), the 17
                 metadata columns (Status, Duration (in seconds), Finished, ResponseId,
                 RecipientEmail, IPAddress, ...), matrix columns ``Q4_1``, embedded data
                 after the questions; preview (Status 1) and test (Status 2) rows;
                 numeric or choice-text values
redcap           longitudinal raw export: ``record_id``, ``redcap_event_name``, forms with
                 ``<form>_complete``; sparse rows per record × event; raw or label values;
                 plus the UI data dictionary (its exact 18-column header)
spss             ``.sav`` per wave with variable labels, value labels and user-missing
                 codes (``missing_ranges``), written by ``pyreadstat.write_sav``
xlsx             a spreadsheet per wave: ``plain`` (item ids as headers) or ``msforms``
                 (ID, Start time, Completion time, Email, Name, one column per statement)
googleforms      CSV, every field quoted, ``Timestamp`` first, grid columns
                 ``Question [Row]`` holding labels
csv              plain CSV per wave, item ids as headers
meetings         the meeting log CSV
===============  ======================================================================

:func:`study_config` returns the ``study.yaml`` (as a dict, following
``docs/study-config.md``) that reads a set of exports; :func:`write_study_config` saves it.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import yaml

from mentoreval.errors import ConfigError
from mentoreval.instruments.definitions import Instrument
from mentoreval.read.redcap import DICTIONARY_UI_HEADER
from mentoreval.synth.items import item_model

if TYPE_CHECKING:  # pragma: no cover - annotations only (cohort.write() calls back here)
    from mentoreval.synth.cohort import SyntheticCohort

__all__ = [
    "EXPORT_FORMATS",
    "column_map",
    "study_config",
    "write_csv",
    "write_exports",
    "write_googleforms",
    "write_meetings",
    "write_qualtrics",
    "write_redcap",
    "write_redcap_dictionary",
    "write_spss",
    "write_study_config",
    "write_xlsx",
]

Values = Literal["codes", "labels"]
ExportFormat = Literal[
    "qualtrics", "redcap", "spss", "xlsx", "msforms", "googleforms", "csv", "meetings"
]
EXPORT_FORMATS: tuple[str, ...] = (
    "qualtrics",
    "redcap",
    "spss",
    "xlsx",
    "msforms",
    "googleforms",
    "csv",
    "meetings",
)
Naming = Literal["qualtrics", "item", "googleforms", "msforms"]

COVARIATES = ("year_of_study", "gender", "site")
QUALTRICS_META = (
    ("StartDate", "Start Date", {"ImportId": "startDate", "timeZone": "Europe/London"}),
    ("EndDate", "End Date", {"ImportId": "endDate", "timeZone": "Europe/London"}),
    ("Status", "Response Type", {"ImportId": "status"}),
    ("IPAddress", "IP Address", {"ImportId": "ipAddress"}),
    ("Progress", "Progress", {"ImportId": "progress"}),
    ("Duration (in seconds)", "Duration (in seconds)", {"ImportId": "duration"}),
    ("Finished", "Finished", {"ImportId": "finished"}),
    ("RecordedDate", "Recorded Date", {"ImportId": "recordedDate", "timeZone": "Europe/London"}),
    ("ResponseId", "Response ID", {"ImportId": "_recordId"}),
    ("RecipientLastName", "Recipient Last Name", {"ImportId": "recipientLastName"}),
    ("RecipientFirstName", "Recipient First Name", {"ImportId": "recipientFirstName"}),
    ("RecipientEmail", "Recipient Email", {"ImportId": "recipientEmail"}),
    ("ExternalReference", "External Data Reference", {"ImportId": "externalDataReference"}),
    ("LocationLatitude", "Location Latitude", {"ImportId": "locationLatitude"}),
    ("LocationLongitude", "Location Longitude", {"ImportId": "locationLongitude"}),
    ("DistributionChannel", "Distribution Channel", {"ImportId": "distributionChannel"}),
    ("UserLanguage", "User Language", {"ImportId": "userLanguage"}),
)
QUALTRICS_IDENTIFYING = (
    "IPAddress",
    "RecipientLastName",
    "RecipientFirstName",
    "RecipientEmail",
    "ExternalReference",
    "LocationLatitude",
    "LocationLongitude",
)
QUALTRICS_EMBEDDED = ("student_id", "group", *COVARIATES)
GF_ID = "Student ID number"
GF_GROUP = "Are you taking part in the mentoring programme?"
GF_COVARIATES = {"year_of_study": "Year of study", "gender": "Gender", "site": "Campus"}
REDCAP_EVENTS = {"pre": "baseline_arm_1", "post": "followup_arm_1"}
REDCAP_EVENT_LABELS = {"pre": "Baseline (Arm 1: Arm 1)", "post": "Follow-up (Arm 1: Arm 1)"}
REDCAP_DICTIONARY_HEADER = DICTIONARY_UI_HEADER
_FIRST_NAMES = (
    "Alex",
    "Sam",
    "Priya",
    "Tom",
    "Aisha",
    "Chen",
    "Maria",
    "Oliver",
    "Zara",
    "Ben",
    "Fatima",
    "Leo",
)
_LAST_NAMES = (
    "Smith",
    "Patel",
    "Jones",
    "Khan",
    "Williams",
    "Brown",
    "Nguyen",
    "Taylor",
    "Ali",
    "Evans",
    "Wilson",
    "Roberts",
)
_FIXED_ZIP_TIME = (2020, 1, 1, 0, 0, 0)


# --------------------------------------------------------------------------- helpers


def _instrument(inst_id: str) -> Instrument:
    return item_model(inst_id).instrument


def _stem(inst: Instrument) -> str:
    name = inst.short_title or inst.title
    return f"{name}: over {inst.recall_period}" if inst.recall_period else name


def _statement(inst: Instrument, item_id: str) -> str:
    text = inst.item(item_id).text
    return text if text is not None else f"Item {inst.item_ids.index(item_id) + 1}"


def _question_numbers(cohort: SyntheticCohort) -> dict[str, int]:
    """Qualtrics question number per instrument (same in both waves' surveys)."""
    return {inst: k + 1 for k, inst in enumerate(cohort.instruments_at("post"))}


def column_map(cohort: SyntheticCohort, naming: Naming) -> dict[str, dict[str, str]]:
    """Per instrument, item id → export column for a naming scheme.

    ``qualtrics``: ``Q<n>_<k>``; ``item``: the item id (REDCap, SPSS, CSV, plain xlsx);
    ``googleforms``: ``"<stem> [<statement>]"``; ``msforms``: the statement.

    Examples
    --------
    >>> from mentoreval.synth import CohortSpec, generate_cohort
    >>> c = generate_cohort(CohortSpec(n_students=10, instruments=("who5",)))
    >>> column_map(c, "qualtrics")["who5"]["who5_2"]
    'Q1_2'
    >>> column_map(c, "googleforms")["who5"]["who5_1"]
    'WHO-5: over the last two weeks [I have felt cheerful and in good spirits]'
    """
    out: dict[str, dict[str, str]] = {}
    numbers = _question_numbers(cohort)
    for inst_id in cohort.instruments_at("post"):
        inst = _instrument(inst_id)
        cols: dict[str, str] = {}
        for k, item in enumerate(inst.item_ids, start=1):
            if naming == "qualtrics":
                cols[item] = f"Q{numbers[inst_id]}_{k}"
            elif naming == "item":
                cols[item] = item
            elif naming == "googleforms":
                cols[item] = f"{_stem(inst)} [{_statement(inst, item)}]"
            elif naming == "msforms":
                name = inst.short_title or inst.title
                text = inst.item(item).text
                cols[item] = text if text is not None else f"{name} item {k}"
            else:
                raise ConfigError(
                    f"unknown naming {naming!r} (fix: use qualtrics, item, googleforms or msforms)"
                )
        out[inst_id] = cols
    return out


def _value_strings(
    cohort: SyntheticCohort, frame: pd.DataFrame, items: Sequence[str], values: Values
) -> dict[str, np.ndarray]:
    """Item columns as export text: codes ('3', '100') or labels; blank when skipped."""
    out: dict[str, np.ndarray] = {}
    for inst_id in cohort.instruments_at("post"):
        inst = _instrument(inst_id)
        for item in inst.item_ids:
            if item not in items:
                continue
            rs = inst.item_response_scale(item)
            codes = [*rs.codes, *(m.code for m in rs.missing)]
            labels = [*rs.labels, *((m.label or m.reason) for m in rs.missing)]
            order = np.argsort(codes)
            keys = np.asarray(codes, dtype=float)[order]
            text = np.array(
                [_fmt_code(c) for c in codes] if values == "codes" else labels, dtype=object
            )[order]
            x = frame[item].to_numpy(dtype=float)
            pos = np.clip(np.searchsorted(keys, x), 0, len(keys) - 1)
            col = text[pos]
            col[np.isnan(x)] = ""
            out[item] = col
    return out


def _values(cohort: SyntheticCohort, values: Values | None) -> Values:
    """The requested value style, or the spec's default."""
    return values or cohort.spec.values  # noqa: PD011 - a spec field, not a pandas object


def _fmt_code(c: float) -> str:
    return str(int(c)) if float(c).is_integer() else repr(float(c))


def _timestamps(values: pd.Series | np.ndarray) -> np.ndarray:
    """datetime64 → ``YYYY-MM-DD HH:MM:SS`` strings."""
    arr = np.asarray(values, dtype="datetime64[s]")
    return np.char.replace(np.datetime_as_string(arr, unit="s"), "T", " ").astype(object)


def _write_csv_text(
    path: Path,
    header_rows: Sequence[Sequence[str]],
    body: pd.DataFrame,
    *,
    quoting: Literal[0, 1, 2, 3] = csv.QUOTE_MINIMAL,
    encoding: str = "utf-8",
) -> Path:
    buf = io.StringIO()
    writer = csv.writer(buf, quoting=quoting, lineterminator="\n")
    writer.writerows(header_rows)
    columns = [body[c].to_numpy(dtype=object) for c in body.columns]
    writer.writerows(zip(*columns, strict=True))
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding=encoding, newline="") as fh:
        fh.write(buf.getvalue())
    return path


def _wave_frame(cohort: SyntheticCohort, wave: str) -> pd.DataFrame:
    if wave not in ("pre", "post"):
        raise ConfigError(f"unknown wave {wave!r} (fix: use 'pre' or 'post')")
    return cohort.responses(wave)


def _rng(cohort: SyntheticCohort, *salt: int) -> np.random.Generator:
    return np.random.default_rng([cohort.spec.seed, 7919, *salt])


def _person_details(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Deterministic fake first name, last name and email from a student id."""
    num = np.array([int(i) for i in ids], dtype=np.int64) if len(ids) else np.zeros(0, np.int64)
    first = np.array(_FIRST_NAMES, dtype=object)[num % len(_FIRST_NAMES)]
    last = np.array(_LAST_NAMES, dtype=object)[(num // 7) % len(_LAST_NAMES)]
    email = np.char.add(
        np.char.add("s", np.asarray(ids, dtype=str)), "@students.example.ac.uk"
    ).astype(object)
    return first, last, email


# --------------------------------------------------------------------------- Qualtrics


def write_qualtrics(
    cohort: SyntheticCohort,
    path: str | Path,
    *,
    wave: str,
    values: Values | None = None,
    preview_rows: int | None = None,
    test_rows: int | None = None,
) -> Path:
    """Write one wave as a Qualtrics CSV export (three header rows).

    Parameters
    ----------
    cohort
        The cohort.
    path
        Output file.
    wave
        ``"pre"`` or ``"post"``.
    values
        ``"codes"`` ("Use numeric values": recodes equal the instrument codes; Status 0,
        Finished 1) or ``"labels"`` ("Use choice text": Status ``IP Address``, Finished
        ``True``); default from the spec.
    preview_rows, test_rows
        Survey preview (Status 1, channel ``preview``) and test (Status 2, channel
        ``test``) rows with random answers and no student id; default from the spec.

    Returns
    -------
    pathlib.Path
        The file written.

    Examples
    --------
    >>> import tempfile
    >>> from mentoreval.synth import CohortSpec, generate_cohort
    >>> c = generate_cohort(CohortSpec(n_students=5, instruments=("who5",), preview_rows=1))
    >>> p = write_qualtrics(c, Path(tempfile.mkdtemp()) / "pre.csv", wave="pre")
    >>> lines = p.read_text().splitlines()
    >>> lines[0][:40], lines[2][:29], len(lines)
    ('StartDate,EndDate,Status,IPAddress,Progr', '"{""ImportId"":""startDate"",', 9)
    """
    path = Path(path)
    spec = cohort.spec
    values = _values(cohort, values)
    frame = _wave_frame(cohort, wave)
    qmap = column_map(cohort, "qualtrics")
    insts = cohort.instruments_at(wave)
    items = [i for inst in insts for i in qmap[inst]]
    n = len(frame)
    rng = _rng(cohort, 1 if wave == "pre" else 2)

    # rows that are not respondents: preview and test runs before the survey opened
    n_prev = spec.preview_rows if preview_rows is None else preview_rows
    n_test = spec.test_rows if test_rows is None else test_rows
    fake = n_prev + n_test
    fake_items = np.full((fake, len(items)), np.nan)
    j0 = 0
    for inst in insts:
        m = item_model(inst)
        k = m.n_categories
        cat = np.floor(rng.random((fake, len(m.items))) * k[None, :]).astype(np.int64)
        fake_items[:, j0 : j0 + len(m.items)] = m.codes[np.arange(len(m.items)), cat]
        j0 += len(m.items)
    opens = np.datetime64(spec.start, "s")
    if wave == "post":
        opens = opens + np.timedelta64(spec.programme_days, "D")
    fake_start = opens - (np.sort(rng.integers(3600, 5 * 86400, size=fake))[::-1]).astype(
        "timedelta64[s]"
    )
    fake_dur = rng.integers(40, 400, size=fake)
    fake_frame = pd.DataFrame(
        {
            "response_id": [f"R_{'x' * 0}" for _ in range(fake)],
            "student_id": "",
            "group": "",
            **{c: "" for c in COVARIATES},
            "started_at": fake_start,
            "submitted_at": fake_start + fake_dur.astype("timedelta64[s]"),
            "duration_s": fake_dur,
        }
    )
    chars = np.array(
        list("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"), dtype="<U1"
    )
    if fake:
        drawn = np.ascontiguousarray(chars[rng.integers(0, len(chars), size=(fake, 15))])
        fake_frame["response_id"] = np.char.add("R_", drawn.view("<U15").ravel()).astype(object)
    fake_frame = pd.concat([fake_frame, pd.DataFrame(fake_items, columns=items)], axis=1)
    kind = np.array(["preview"] * n_prev + ["test"] * n_test + ["real"] * n, dtype=object)
    data = pd.concat([fake_frame, frame[[*fake_frame.columns]]], ignore_index=True)
    real = kind == "real"

    first, last, email = _person_details(data["student_id"].to_numpy()[real])
    n_all = len(data)
    recip = {k: np.full(n_all, "", dtype=object) for k in ("last", "first", "email")}
    recip["last"][real], recip["first"][real], recip["email"][real] = last, first, email
    ip = np.char.add(
        np.array(["192.0.2.", "198.51.100.", "203.0.113."])[rng.integers(0, 3, size=n_all)],
        rng.integers(1, 255, size=n_all).astype(str),
    ).astype(object)
    lat = np.char.mod("%.12f", 51.45 + rng.normal(0, 0.05, size=n_all)).astype(object)
    lon = np.char.mod("%.12f", -2.59 + rng.normal(0, 0.08, size=n_all)).astype(object)
    channel = np.where(real, "email", kind).astype(object)
    status_code = np.where(kind == "preview", "1", np.where(kind == "test", "2", "0")).astype(
        object
    )
    if values == "labels":
        status = np.where(
            kind == "preview",
            "Survey Preview",
            np.where(kind == "test", "Survey Test", "IP Address"),
        ).astype(object)
        finished = np.full(n_all, "True", dtype=object)
    else:
        status = status_code
        finished = np.full(n_all, "1", dtype=object)
    end = _timestamps(data["submitted_at"])
    body: dict[str, Any] = {
        "StartDate": _timestamps(data["started_at"]),
        "EndDate": end,
        "Status": status,
        "IPAddress": ip,
        "Progress": np.full(n_all, "100", dtype=object),
        "Duration (in seconds)": data["duration_s"]
        .astype(np.int64)
        .astype(str)
        .to_numpy(dtype=object),
        "Finished": finished,
        "RecordedDate": end,
        "ResponseId": data["response_id"].to_numpy(dtype=object),
        "RecipientLastName": recip["last"],
        "RecipientFirstName": recip["first"],
        "RecipientEmail": recip["email"],
        "ExternalReference": np.full(n_all, "", dtype=object),
        "LocationLatitude": lat,
        "LocationLongitude": lon,
        "DistributionChannel": channel,
        "UserLanguage": np.full(n_all, "EN", dtype=object),
    }
    body.update(
        {
            qmap_item: col
            for qmap_item, col in zip(
                [qmap[inst][i] for inst in insts for i in qmap[inst]],
                _value_strings(cohort, data, items, values).values(),
                strict=True,
            )
        }
    )
    for name in QUALTRICS_EMBEDDED:
        body[name] = data[name].astype(str).to_numpy(dtype=object)
    body_frame = pd.DataFrame(body)

    header = [m[0] for m in QUALTRICS_META]
    text = [m[1] for m in QUALTRICS_META]
    import_ids = [_json(m[2]) for m in QUALTRICS_META]
    numbers = _question_numbers(cohort)
    for inst in insts:
        instrument = _instrument(inst)
        for pos, item in enumerate(instrument.item_ids, start=1):
            header.append(qmap[inst][item])
            text.append(f"{_stem(instrument)} - {_statement(instrument, item)}")
            import_ids.append(_json({"ImportId": f"QID{numbers[inst]}_{pos}"}))
    for name in QUALTRICS_EMBEDDED:
        header.append(name)
        text.append(name)
        import_ids.append(_json({"ImportId": name}))
    return _write_csv_text(path, [header, text, import_ids], body_frame[header])


def _json(obj: Mapping[str, str]) -> str:
    return json.dumps(obj, separators=(",", ":"))


# --------------------------------------------------------------------------- REDCap


def _redcap_choices(inst: Instrument, item: str) -> str:
    rs = inst.item_response_scale(item)
    pairs = [
        *zip(rs.codes, rs.labels, strict=True),
        *((m.code, m.label or m.reason) for m in rs.missing),
    ]
    return " | ".join(f"{_fmt_code(c)}, {label}" for c, label in pairs)


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
    values = _values(cohort, values)
    forms_all = cohort.instruments_at("post")
    parts = []
    for wave in ("pre", "post"):
        frame = _wave_frame(cohort, wave)
        frame = frame[~frame["duplicate"]]
        items_here = cohort.items_at(wave)
        texts = _value_strings(cohort, frame, items_here, values)
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
    _write_csv_text(path, [list(data.columns)], data)
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
        inst = _instrument(inst_id)
        for k, item in enumerate(inst.item_ids):
            section = _stem(inst) if k == 0 else ""
            rows.append(
                [
                    item,
                    inst_id,
                    section,
                    "radio",
                    _statement(inst, item),
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
    return _write_csv_text(Path(path), [list(REDCAP_DICTIONARY_HEADER)], body)


# --------------------------------------------------------------------------- plain tables


def _plain_frame(cohort: SyntheticCohort, wave: str, values: Values) -> pd.DataFrame:
    frame = _wave_frame(cohort, wave)
    items = cohort.items_at(wave)
    out = pd.DataFrame(
        {
            "student_id": frame["student_id"].to_numpy(dtype=object),
            "group": frame["group"].to_numpy(dtype=object),
            "year_of_study": frame["year_of_study"].astype(str).to_numpy(dtype=object),
            "gender": frame["gender"].to_numpy(dtype=object),
            "site": frame["site"].to_numpy(dtype=object),
            "StartDate": _timestamps(frame["started_at"]),
            "EndDate": _timestamps(frame["submitted_at"]),
            "Duration": frame["duration_s"].astype(str).to_numpy(dtype=object),
        }
    )
    texts = _value_strings(cohort, frame, items, values)
    return pd.concat([out, pd.DataFrame({i: texts[i] for i in items})], axis=1)


def write_csv(
    cohort: SyntheticCohort, path: str | Path, *, wave: str, values: Values | None = None
) -> Path:
    """Write one wave as a plain CSV: ids, group, covariates, StartDate, EndDate, Duration, items.

    Examples
    --------
    >>> import tempfile
    >>> from mentoreval.synth import CohortSpec, generate_cohort
    >>> c = generate_cohort(CohortSpec(n_students=4, instruments=("who5",)))
    >>> p = write_csv(c, Path(tempfile.mkdtemp()) / "pre.csv", wave="pre", values="labels")
    >>> p.read_text().splitlines()[0]
    'student_id,group,year_of_study,gender,site,StartDate,EndDate,Duration,who5_1,who5_2,who5_3,who5_4,who5_5'
    """
    data = _plain_frame(cohort, wave, _values(cohort, values))
    return _write_csv_text(Path(path), [list(data.columns)], data)


def write_spss(cohort: SyntheticCohort, path: str | Path, *, wave: str) -> Path:
    """Write one wave as an SPSS ``.sav`` with variable labels, value labels, user-missing codes.

    Items are numeric with the response scale's value labels; missing codes (MES 9 "N/A")
    are declared user-missing through ``missing_ranges``. The file header's creation date
    is fixed to the wave's survey date so the file is byte-deterministic.

    Examples
    --------
    >>> import tempfile, pyreadstat
    >>> from mentoreval.synth import CohortSpec, generate_cohort
    >>> c = generate_cohort(CohortSpec(n_students=4, instruments=("who5",)))
    >>> p = write_spss(c, Path(tempfile.mkdtemp()) / "pre.sav", wave="pre")
    >>> df, meta = pyreadstat.read_sav(p)
    >>> meta.variable_value_labels["who5_1"][5.0]
    'All of the time'
    """
    import pyreadstat

    path = Path(path)
    frame = _wave_frame(cohort, wave)
    items = cohort.items_at(wave)
    data = pd.DataFrame(
        {
            "student_id": frame["student_id"].astype(str).to_numpy(dtype=object),
            "group": frame["group"].astype(str).to_numpy(dtype=object),
            "year_of_study": frame["year_of_study"].astype(float).to_numpy(),
            "gender": frame["gender"].astype(str).to_numpy(dtype=object),
            "site": frame["site"].astype(str).to_numpy(dtype=object),
            "StartDate": pd.to_datetime(frame["started_at"]).astype("datetime64[us]").to_numpy(),
            "EndDate": pd.to_datetime(frame["submitted_at"]).astype("datetime64[us]").to_numpy(),
            "Duration": frame["duration_s"].astype(float).to_numpy(),
        }
    )
    data = pd.concat([data, frame[items].astype(float).reset_index(drop=True)], axis=1)
    labels: dict[str, str | None] = {
        "student_id": "Student ID number",
        "group": "Programme group",
        "year_of_study": "Year of study",
        "gender": "Gender",
        "site": "Campus",
        "StartDate": "Start Date",
        "EndDate": "End Date",
        "Duration": "Duration (in seconds)",
    }
    value_labels: dict[str, dict[int | float, str]] = {
        "year_of_study": {float(k): f"Year {k}" for k in range(1, 6)}
    }
    missing: dict[str, list[Any]] = {}
    measure = {"year_of_study": "ordinal", "Duration": "scale"}
    for inst_id in cohort.instruments_at(wave):
        inst = _instrument(inst_id)
        for item in inst.item_ids:
            rs = inst.item_response_scale(item)
            labels[item] = f"{_stem(inst)} - {_statement(inst, item)}"
            value_labels[item] = {
                **{float(c): lab for c, lab in zip(rs.codes, rs.labels, strict=True)},
                **{float(m.code): m.label or m.reason for m in rs.missing},
            }
            if rs.missing:
                missing[item] = [float(m.code) for m in rs.missing]
            measure[item] = "ordinal"
    path.parent.mkdir(parents=True, exist_ok=True)
    pyreadstat.write_sav(
        data,
        str(path),
        file_label=f"{cohort.spec.programme} {cohort.spec.cohort} {wave}",
        column_labels=labels,
        variable_value_labels=value_labels,
        missing_ranges=missing or None,
        variable_measure=measure,
    )
    _fix_sav_timestamp(path, cohort, wave)
    return path


def _fix_sav_timestamp(path: Path, cohort: SyntheticCohort, wave: str) -> None:
    """Overwrite the header's creation date/time (bytes 92–108) with a fixed value."""
    raw = bytearray(path.read_bytes())
    if raw[:4] not in (b"$FL2", b"$FL3"):
        return
    day = (
        cohort.spec.start
        if wave == "pre"
        else cohort.spec.start + pd.Timedelta(days=cohort.spec.programme_days).to_pytimedelta()
    )
    stamp = day.strftime("%d %b %y").encode("ascii") + b"00:00:00"
    raw[92:109] = stamp
    path.write_bytes(bytes(raw))


def write_xlsx(
    cohort: SyntheticCohort,
    path: str | Path,
    *,
    wave: str,
    values: Values | None = None,
    layout: Literal["plain", "msforms"] = "plain",
) -> Path:
    """Write one wave as an Excel workbook (``plain`` table or a Microsoft Forms export).

    ``msforms`` has the Forms columns ``ID, Start time, Completion time, Email, Name``,
    then one column per question (the student-id question, the programme question,
    covariates, one column per statement) holding choice labels; ``values`` is ignored.
    The zip container and document properties carry fixed timestamps.

    Examples
    --------
    >>> import tempfile
    >>> from mentoreval.synth import CohortSpec, generate_cohort
    >>> c = generate_cohort(CohortSpec(n_students=4, instruments=("who5",)))
    >>> p = write_xlsx(c, Path(tempfile.mkdtemp()) / "pre.xlsx", wave="pre", layout="msforms")
    >>> list(pd.read_excel(p).columns[:6])
    ['ID', 'Start time', 'Completion time', 'Email', 'Name', 'Student ID number']
    """
    from openpyxl import Workbook

    path = Path(path)
    if layout == "plain":
        data = _plain_frame(cohort, wave, _values(cohort, values))
        numeric = (
            {"Duration", "year_of_study", *cohort.items_at(wave)}
            if (_values(cohort, values)) == "codes"
            else {"Duration", "year_of_study"}
        )
        dates: set[str] = set()
    elif layout == "msforms":
        frame = _wave_frame(cohort, wave)
        items = cohort.items_at(wave)
        first, last, email = _person_details(frame["student_id"].to_numpy())
        texts = _value_strings(cohort, frame, items, "labels")
        mcol = {i: c for m in column_map(cohort, "msforms").values() for i, c in m.items()}
        data = pd.DataFrame(
            {
                "ID": np.arange(1, len(frame) + 1),
                "Start time": pd.to_datetime(frame["started_at"]).to_numpy(),
                "Completion time": pd.to_datetime(frame["submitted_at"]).to_numpy(),
                "Email": email,
                "Name": np.char.add(np.char.add(first.astype(str), " "), last.astype(str)).astype(
                    object
                ),
                GF_ID: frame["student_id"].to_numpy(dtype=object),
                GF_GROUP: np.where(frame["group"] == "mentored", "Yes", "No").astype(object),
                **{
                    GF_COVARIATES["year_of_study"]: (
                        "Year " + frame["year_of_study"].astype(str)
                    ).to_numpy(dtype=object)
                },
                **{GF_COVARIATES[c]: frame[c].to_numpy(dtype=object) for c in ("gender", "site")},
                **{mcol[i]: texts[i] for i in items},
            }
        )
        numeric = {"ID"}
        dates = {"Start time", "Completion time"}
    else:
        raise ConfigError(f"unknown xlsx layout {layout!r} (fix: use 'plain' or 'msforms')")

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Sheet1")
    ws.append(list(data.columns))
    cols = list(data.columns)
    arrays = [data[c].to_numpy() for c in cols]
    for r in range(len(data)):
        row: list[Any] = []
        for c, arr in zip(cols, arrays, strict=True):
            v = arr[r]
            if c in dates:
                row.append(pd.Timestamp(v).to_pydatetime())
            elif c in numeric and v != "":
                row.append(int(v) if float(v).is_integer() else float(v))
            else:
                row.append(None if v == "" else v)
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_normalise_zip(buf.getvalue()))
    return path


def _normalise_zip(blob: bytes) -> bytes:
    """Rewrite an OOXML zip with fixed entry times and fixed document timestamps."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(blob)) as zin,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout,
    ):
        for info in zin.infolist():
            content = zin.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(
                    rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)",
                    rb"\g<1>2020-01-01T00:00:00Z\g<3>",
                    content,
                )
            zi = zipfile.ZipInfo(info.filename, date_time=_FIXED_ZIP_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            zout.writestr(zi, content)
    return out.getvalue()


def write_googleforms(cohort: SyntheticCohort, path: str | Path, *, wave: str) -> Path:
    """Write one wave as a Google Forms CSV download (labels; every field quoted).

    Columns: ``Timestamp`` (``2025/09/15 10:02:11 AM GMT+1``), ``Email address``, the
    student-id question, the programme question (Yes/No), covariates, then grid columns
    ``"<question> [<row>]"``.

    Examples
    --------
    >>> import tempfile
    >>> from mentoreval.synth import CohortSpec, generate_cohort
    >>> c = generate_cohort(CohortSpec(n_students=4, instruments=("who5",)))
    >>> p = write_googleforms(c, Path(tempfile.mkdtemp()) / "pre.csv", wave="pre")
    >>> p.read_text().splitlines()[0][:60]
    '"Timestamp","Email address","Student ID number","Are you tak'
    """
    frame = _wave_frame(cohort, wave)
    items = cohort.items_at(wave)
    _, _, email = _person_details(frame["student_id"].to_numpy())
    texts = _value_strings(cohort, frame, items, "labels")
    gcol = {i: c for m in column_map(cohort, "googleforms").values() for i, c in m.items()}
    stamps = pd.to_datetime(frame["submitted_at"])
    hour = stamps.dt.hour % 12
    hour = hour.where(hour != 0, 12)
    ts = (
        stamps.dt.strftime("%Y/%m/%d ")
        + hour.astype(str)
        + stamps.dt.strftime(":%M:%S %p")
        + " GMT+1"
    )
    data = pd.DataFrame(
        {
            "Timestamp": ts.to_numpy(dtype=object),
            "Email address": email,
            GF_ID: frame["student_id"].to_numpy(dtype=object),
            GF_GROUP: np.where(frame["group"] == "mentored", "Yes", "No").astype(object),
            GF_COVARIATES["year_of_study"]: ("Year " + frame["year_of_study"].astype(str)).to_numpy(
                dtype=object
            ),
            GF_COVARIATES["gender"]: frame["gender"].to_numpy(dtype=object),
            GF_COVARIATES["site"]: frame["site"].to_numpy(dtype=object),
            **{gcol[i]: texts[i] for i in items},
        }
    )
    return _write_csv_text(Path(path), [list(data.columns)], data, quoting=csv.QUOTE_ALL)


def write_meetings(cohort: SyntheticCohort, path: str | Path) -> Path:
    """Write the meeting log CSV (``date, mentee_id, mentor_id, mentor_type, mode, minutes``)."""
    log = cohort.meetings
    return _write_csv_text(Path(path), [list(log.columns)], log)


# --------------------------------------------------------------------------- all at once

_FILE_NAMES = {
    "qualtrics": "{wave}_qualtrics.csv",
    "spss": "{wave}.sav",
    "xlsx": "{wave}.xlsx",
    "msforms": "{wave}_forms.xlsx",
    "googleforms": "{wave}_googleforms.csv",
    "csv": "{wave}.csv",
}


def write_exports(
    cohort: SyntheticCohort,
    out_dir: str | Path,
    *,
    formats: Sequence[str] | Mapping[str, str] | None = None,
    values: Values | None = None,
) -> dict[str, Path]:
    """Write several exports into ``out_dir``; return ``{name: path}``.

    Parameters
    ----------
    cohort
        The cohort.
    out_dir
        Output folder (created).
    formats
        Format names (one of :data:`EXPORT_FORMATS`) — per-wave formats write both
        waves — or a mapping ``{"pre": "xlsx", "post": "csv", "meetings": "meetings"}``
        choosing a format per wave. Default ``("qualtrics", "meetings")``.
    values
        Codes or labels (default from the spec).

    Returns
    -------
    dict
        Names like ``pre_qualtrics``, ``redcap``, ``redcap_dictionary``, ``meetings``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if formats is None:
        formats = ("qualtrics", "meetings")
    jobs: list[tuple[str, str | None]] = []
    if isinstance(formats, Mapping):
        for key, fmt in formats.items():
            jobs.append((fmt, key if key in ("pre", "post") else None))
    else:
        for fmt in formats:
            if fmt in _FILE_NAMES:
                jobs.extend([(fmt, "pre"), (fmt, "post")])
            else:
                jobs.append((fmt, None))
    paths: dict[str, Path] = {}
    for fmt, wave in jobs:
        if fmt not in EXPORT_FORMATS:
            raise ConfigError(
                f"unknown export format {fmt!r} (fix: use one of {list(EXPORT_FORMATS)})"
            )
        if fmt in _FILE_NAMES:
            if wave is None:
                raise ConfigError(f"format {fmt!r} needs a wave (fix: map 'pre' or 'post' to it)")
            target = out / _FILE_NAMES[fmt].format(wave=wave)
            if fmt == "qualtrics":
                write_qualtrics(cohort, target, wave=wave, values=values)
            elif fmt == "spss":
                write_spss(cohort, target, wave=wave)
            elif fmt == "xlsx":
                write_xlsx(cohort, target, wave=wave, values=values)
            elif fmt == "msforms":
                write_xlsx(cohort, target, wave=wave, layout="msforms")
            elif fmt == "googleforms":
                write_googleforms(cohort, target, wave=wave)
            else:
                write_csv(cohort, target, wave=wave, values=values)
            paths[f"{wave}_{fmt}"] = target
        elif fmt == "redcap":
            paths["redcap"] = write_redcap(
                cohort, out / "redcap.csv", dictionary=out / "redcap_dictionary.csv", values=values
            )
            paths["redcap_dictionary"] = out / "redcap_dictionary.csv"
        else:
            paths["meetings"] = write_meetings(cohort, out / "meetings.csv")
    return paths


# --------------------------------------------------------------------------- study config

_NAMING = {
    "qualtrics": "qualtrics",
    "redcap": "item",
    "spss": "item",
    "xlsx": "item",
    "csv": "item",
    "googleforms": "googleforms",
    "msforms": "msforms",
}
_SOURCE_FORMAT = {
    "xlsx": "xlsx",
    "msforms": "msforms",
    "spss": "spss",
    "csv": "csv",
    "googleforms": "googleforms",
    "qualtrics": "qualtrics",
}


def study_config(
    cohort: SyntheticCohort,
    exports: Mapping[str, Path],
    *,
    config_dir: str | Path,
    title: str | None = None,
    key_file: str = "demo.key",
    primary: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The ``study.yaml`` (as a dict, see ``docs/study-config.md``) that reads ``exports``.

    All survey exports of one study must share a column naming (Qualtrics tags, item ids,
    Google Forms or Microsoft Forms question text); mixing e.g. SPSS and CSV is fine.

    Raises
    ------
    ConfigError
        When the exports use different column namings.
    """
    spec = cohort.spec
    base = Path(config_dir)
    survey = {k: v for k, v in exports.items() if k not in ("meetings", "redcap_dictionary")}
    fmts = {("redcap" if k == "redcap" else k.split("_", 1)[1]) for k in survey}
    namings = {_NAMING[f] for f in fmts}
    if len(namings) != 1:
        raise ConfigError(
            f"exports {sorted(survey)} use different column namings (fix: write one naming per study)"
        )
    naming = namings.pop()

    def rel(p: Path) -> str:
        return Path(p).resolve().relative_to(base.resolve()).as_posix()

    sources: list[dict[str, Any]] = []
    for name in sorted(survey, key=lambda k: (k != "redcap", k.startswith("post"), k)):
        p = survey[name]
        if name == "redcap":
            sources.append(
                {
                    "path": rel(p),
                    "format": "redcap",
                    "dictionary": rel(exports["redcap_dictionary"]),
                    "events": {REDCAP_EVENTS["pre"]: "pre", REDCAP_EVENTS["post"]: "post"},
                    "id_column": "record_id",
                }
            )
            continue
        wave, fmt = name.split("_", 1)
        src: dict[str, Any] = {"path": rel(p), "format": _SOURCE_FORMAT[fmt], "wave": wave}
        if fmt == "qualtrics":
            src["unfinished"] = "exclude"
        sources.append(src)

    items = column_map(cohort, naming)  # type: ignore[arg-type]
    instruments: dict[str, Any] = {}
    for inst in cohort.instruments_at("post"):
        mapping = items[inst]
        instruments[inst] = (
            {} if all(k == v for k, v in mapping.items()) else {"items": dict(mapping)}
        )

    id_column = {"googleforms": GF_ID, "msforms": GF_ID}.get(naming, "student_id")
    if naming == "item" and fmts == {"redcap"}:
        id_column = "record_id"
    if naming in ("googleforms", "msforms"):
        group_col = GF_GROUP
        treated, control = "Yes", "No"
        covariates = [GF_COVARIATES[c] for c in COVARIATES]
    else:
        group_col, treated, control = "group", "mentored", "comparison"
        covariates = list(COVARIATES)
    columns: dict[str, Any] = {"group": group_col, "covariates": covariates}
    if naming == "qualtrics":
        columns["meta"] = [
            "StartDate",
            "EndDate",
            "Status",
            "Progress",
            "Finished",
            "RecordedDate",
            "ResponseId",
            "DistributionChannel",
            "UserLanguage",
        ]
        columns["drop"] = list(QUALTRICS_IDENTIFYING)
        columns["duration"] = "Duration (in seconds)"
        columns["submitted_at"] = "EndDate"
    elif naming == "googleforms":
        columns["meta"] = ["Timestamp"]
        columns["drop"] = ["Email address"]
        columns["submitted_at"] = "Timestamp"
    elif naming == "msforms":
        columns["meta"] = ["ID", "Start time", "Completion time"]
        columns["drop"] = ["Email", "Name"]
        columns["submitted_at"] = "Completion time"
    elif fmts == {"redcap"}:
        columns["meta"] = [
            "participant_complete",
            *[f"{i}_complete" for i in cohort.instruments_at("post")],
        ]
    else:
        columns["meta"] = ["StartDate", "EndDate"]
        columns["duration"] = "Duration"
        columns["submitted_at"] = "EndDate"

    if primary is None:
        default_primary = {
            "who5": "who5.total",
            "swemwbs": "swemwbs.total",
            "cbi": "cbi.personal",
            "olbi": "olbi.exhaustion",
            "pss10": "pss10.total",
            "career_confidence": "career_confidence.total",
            "caas_sf": "caas_sf.total",
        }
        primary = [default_primary[i] for i in spec.instruments if i in default_primary][:3]
    analysis: dict[str, Any] = {"pre": "pre", "post": "post"}
    if spec.design == "comparison":
        analysis["group"] = {"column": group_col, "treated": treated, "control": control}
    analysis.update({"primary": list(primary), "multiplicity": "holm", "confidence": 0.95})
    config: dict[str, Any] = {
        "title": title or f"{spec.programme.title()} mentoring, {spec.cohort} cohort",
        "programme": spec.programme,
        "cohort": str(spec.cohort),
        "year": int(spec.year),
        "key_file": key_file,
        "disclosure": {"threshold": 10, "profile": "default"},
        "participant_id": {"column": id_column, "pattern": "^[0-9]{7}$"},
        "sources": sources,
        "columns": columns,
        "instruments": instruments,
        "analysis": analysis,
        "quality": {"duplicates": "keep_last"},
    }
    if "meetings" in exports:
        main_type = max(spec.mentor_types, key=lambda t: spec.mentor_types[t])
        from mentoreval.synth.meetings import CADENCE_DAYS

        config["meetings"] = {
            "path": rel(exports["meetings"]),
            "target_cadence_days": CADENCE_DAYS[main_type],
        }
    return config


def write_study_config(config: Mapping[str, Any], path: str | Path, *, header: str = "") -> Path:
    """Save a study config as YAML (keys in the documented order), with comment lines first."""
    text = yaml.safe_dump(
        dict(config), sort_keys=False, allow_unicode=True, width=100, default_flow_style=False
    )
    comment = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(comment + text, encoding="utf-8")
    return path
