"""Synthetic plain CSV, SPSS ``.sav``, Excel (plain or MS Forms) and Google Forms exports (stage: *test data*); re-exported by
:mod:`mentoreval.synth.writers`.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from mentoreval.errors import ConfigError
from mentoreval.synth.exportbase import (
    GF_COVARIATES,
    GF_GROUP,
    GF_ID,
    Values,
    answer_values,
    column_map,
    instrument_of,
    item_statement,
    item_stem,
    person_details,
    plain_frame,
    value_strings,
    wave_frame,
    write_csv_text,
)

if TYPE_CHECKING:  # pragma: no cover - annotations only (cohort.write() calls back here)
    from mentoreval.synth.cohort import SyntheticCohort

__all__ = ["write_csv", "write_googleforms", "write_spss", "write_xlsx"]

_FIXED_ZIP_TIME = (2020, 1, 1, 0, 0, 0)


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
    data = plain_frame(cohort, wave, answer_values(cohort, values))
    return write_csv_text(Path(path), [list(data.columns)], data)


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
    frame = wave_frame(cohort, wave)
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
        inst = instrument_of(inst_id)
        for item in inst.item_ids:
            rs = inst.item_response_scale(item)
            labels[item] = f"{item_stem(inst)} - {item_statement(inst, item)}"
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


def write_xlsx(  # two sheet layouts (plain, MS Forms) share the per-wave frame
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
        data = plain_frame(cohort, wave, answer_values(cohort, values))
        numeric = (
            {"Duration", "year_of_study", *cohort.items_at(wave)}
            if (answer_values(cohort, values)) == "codes"
            else {"Duration", "year_of_study"}
        )
        dates: set[str] = set()
    elif layout == "msforms":
        frame = wave_frame(cohort, wave)
        items = cohort.items_at(wave)
        first, last, email = person_details(frame["student_id"].to_numpy())
        texts = value_strings(cohort, frame, items, "labels")
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
    frame = wave_frame(cohort, wave)
    items = cohort.items_at(wave)
    _, _, email = person_details(frame["student_id"].to_numpy())
    texts = value_strings(cohort, frame, items, "labels")
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
    return write_csv_text(Path(path), [list(data.columns)], data, quoting=csv.QUOTE_ALL)
