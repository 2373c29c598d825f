"""What every synthetic-export writer shares: the formats, column naming, fixed identifying
columns, answer values as codes or labels, fixed timestamps and deterministic CSV text (stage: *test data*).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from mentoreval.errors import ConfigError
from mentoreval.instruments.definitions import Instrument
from mentoreval.read.redcap import DICTIONARY_UI_HEADER
from mentoreval.synth.items import item_model

if TYPE_CHECKING:  # pragma: no cover - annotations only (cohort.write() calls back here)
    from mentoreval.synth.cohort import SyntheticCohort

__all__ = [
    "COVARIATES",
    "EXPORT_FORMATS",
    "GF_COVARIATES",
    "GF_GROUP",
    "GF_ID",
    "QUALTRICS_EMBEDDED",
    "QUALTRICS_IDENTIFYING",
    "QUALTRICS_META",
    "REDCAP_DICTIONARY_HEADER",
    "REDCAP_EVENTS",
    "REDCAP_EVENT_LABELS",
    "ExportFormat",
    "Naming",
    "Values",
    "answer_values",
    "column_map",
    "fmt_code",
    "instrument_of",
    "item_statement",
    "item_stem",
    "person_details",
    "person_rng",
    "plain_frame",
    "question_numbers",
    "submit_times",
    "to_json",
    "value_strings",
    "wave_frame",
    "write_csv_text",
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


# --------------------------------------------------------------------------- helpers


def instrument_of(inst_id: str) -> Instrument:
    return item_model(inst_id).instrument


def item_stem(inst: Instrument) -> str:
    name = inst.short_title or inst.title
    return f"{name}: over {inst.recall_period}" if inst.recall_period else name


def item_statement(inst: Instrument, item_id: str) -> str:
    text = inst.item(item_id).text
    return text if text is not None else f"Item {inst.item_ids.index(item_id) + 1}"


def question_numbers(cohort: SyntheticCohort) -> dict[str, int]:
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
    numbers = question_numbers(cohort)
    for inst_id in cohort.instruments_at("post"):
        inst = instrument_of(inst_id)
        cols: dict[str, str] = {}
        for k, item in enumerate(inst.item_ids, start=1):
            if naming == "qualtrics":
                cols[item] = f"Q{numbers[inst_id]}_{k}"
            elif naming == "item":
                cols[item] = item
            elif naming == "googleforms":
                cols[item] = f"{item_stem(inst)} [{item_statement(inst, item)}]"
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


def value_strings(
    cohort: SyntheticCohort, frame: pd.DataFrame, items: Sequence[str], values: Values
) -> dict[str, np.ndarray]:
    """Item columns as export text: codes ('3', '100') or labels; blank when skipped."""
    out: dict[str, np.ndarray] = {}
    for inst_id in cohort.instruments_at("post"):
        inst = instrument_of(inst_id)
        for item in inst.item_ids:
            if item not in items:
                continue
            rs = inst.item_response_scale(item)
            codes = [*rs.codes, *(m.code for m in rs.missing)]
            labels = [*rs.labels, *((m.label or m.reason) for m in rs.missing)]
            order = np.argsort(codes)
            keys = np.asarray(codes, dtype=float)[order]
            text = np.array(
                [fmt_code(c) for c in codes] if values == "codes" else labels, dtype=object
            )[order]
            x = frame[item].to_numpy(dtype=float)
            pos = np.clip(np.searchsorted(keys, x), 0, len(keys) - 1)
            col = text[pos]
            col[np.isnan(x)] = ""
            out[item] = col
    return out


def answer_values(cohort: SyntheticCohort, values: Values | None) -> Values:
    """The requested value style, or the spec's default."""
    return values or cohort.spec.values  # noqa: PD011 - a spec field, not a pandas object


def fmt_code(c: float) -> str:
    return str(int(c)) if float(c).is_integer() else repr(float(c))


def submit_times(values: pd.Series | np.ndarray) -> np.ndarray:
    """datetime64 → ``YYYY-MM-DD HH:MM:SS`` strings."""
    arr = np.asarray(values, dtype="datetime64[s]")
    return np.char.replace(np.datetime_as_string(arr, unit="s"), "T", " ").astype(object)


def write_csv_text(
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


def wave_frame(cohort: SyntheticCohort, wave: str) -> pd.DataFrame:
    if wave not in ("pre", "post"):
        raise ConfigError(f"unknown wave {wave!r} (fix: use 'pre' or 'post')")
    return cohort.responses(wave)


def person_rng(cohort: SyntheticCohort, *salt: int) -> np.random.Generator:
    return np.random.default_rng([cohort.spec.seed, 7919, *salt])


def person_details(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Deterministic fake first name, last name and email from a student id."""
    num = np.array([int(i) for i in ids], dtype=np.int64) if len(ids) else np.zeros(0, np.int64)
    first = np.array(_FIRST_NAMES, dtype=object)[num % len(_FIRST_NAMES)]
    last = np.array(_LAST_NAMES, dtype=object)[(num // 7) % len(_LAST_NAMES)]
    email = np.char.add(
        np.char.add("s", np.asarray(ids, dtype=str)), "@students.example.ac.uk"
    ).astype(object)
    return first, last, email


def to_json(obj: Mapping[str, str]) -> str:
    return json.dumps(obj, separators=(",", ":"))


# --------------------------------------------------------------------------- plain tables


def plain_frame(cohort: SyntheticCohort, wave: str, values: Values) -> pd.DataFrame:
    frame = wave_frame(cohort, wave)
    items = cohort.items_at(wave)
    out = pd.DataFrame(
        {
            "student_id": frame["student_id"].to_numpy(dtype=object),
            "group": frame["group"].to_numpy(dtype=object),
            "year_of_study": frame["year_of_study"].astype(str).to_numpy(dtype=object),
            "gender": frame["gender"].to_numpy(dtype=object),
            "site": frame["site"].to_numpy(dtype=object),
            "StartDate": submit_times(frame["started_at"]),
            "EndDate": submit_times(frame["submitted_at"]),
            "Duration": frame["duration_s"].astype(str).to_numpy(dtype=object),
        }
    )
    texts = value_strings(cohort, frame, items, values)
    return pd.concat([out, pd.DataFrame({i: texts[i] for i in items})], axis=1)
