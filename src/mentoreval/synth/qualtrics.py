"""Synthetic Qualtrics CSV export: three header rows, the metadata columns, matrix columns,
embedded data, preview and test rows (stage: *test data*); re-exported by
:mod:`mentoreval.synth.writers`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mentoreval.synth.exportbase import (
    COVARIATES,
    QUALTRICS_EMBEDDED,
    QUALTRICS_META,
    Values,
    answer_values,
    column_map,
    instrument_of,
    item_statement,
    item_stem,
    person_details,
    person_rng,
    question_numbers,
    submit_times,
    to_json,
    value_strings,
    wave_frame,
    write_csv_text,
)
from mentoreval.synth.items import item_model

if TYPE_CHECKING:  # pragma: no cover - annotations only (cohort.write() calls back here)
    from mentoreval.synth.cohort import SyntheticCohort

__all__ = ["write_qualtrics"]

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
    values = answer_values(cohort, values)
    frame = wave_frame(cohort, wave)
    qmap = column_map(cohort, "qualtrics")
    insts = cohort.instruments_at(wave)
    items = [i for inst in insts for i in qmap[inst]]
    rng = person_rng(cohort, 1 if wave == "pre" else 2)
    # rows that are not respondents: preview and test runs before the survey opened
    n_prev = spec.preview_rows if preview_rows is None else preview_rows
    n_test = spec.test_rows if test_rows is None else test_rows
    fake_frame = _fake_rows(cohort, wave, insts, items, n_prev + n_test, rng)
    kind = np.array(["preview"] * n_prev + ["test"] * n_test + ["real"] * len(frame), dtype=object)
    data = pd.concat([fake_frame, frame[[*fake_frame.columns]]], ignore_index=True)
    body = _metadata_columns(data, kind, values, rng)
    body.update(
        {
            qmap_item: col
            for qmap_item, col in zip(
                [qmap[inst][i] for inst in insts for i in qmap[inst]],
                value_strings(cohort, data, items, values).values(),
                strict=True,
            )
        }
    )
    for name in QUALTRICS_EMBEDDED:
        body[name] = data[name].astype(str).to_numpy(dtype=object)
    header, text, import_ids = _header_rows(cohort, insts, qmap)
    return write_csv_text(path, [header, text, import_ids], pd.DataFrame(body)[header])


def _fake_rows(
    cohort: SyntheticCohort,
    wave: str,
    insts: tuple[str, ...],
    items: list[str],
    fake: int,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """``fake`` preview/test rows: random answers, no student, in the days before opening."""
    spec = cohort.spec
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
    return pd.concat([fake_frame, pd.DataFrame(fake_items, columns=items)], axis=1)


def _metadata_columns(
    data: pd.DataFrame, kind: np.ndarray, values: Values, rng: np.random.Generator
) -> dict[str, Any]:
    """The 17 metadata columns, in file order, for real (``kind`` "real") and fake rows."""
    real = kind == "real"
    first, last, email = person_details(data["student_id"].to_numpy()[real])
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
    end = submit_times(data["submitted_at"])
    return {
        "StartDate": submit_times(data["started_at"]),
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


def _header_rows(
    cohort: SyntheticCohort, insts: tuple[str, ...], qmap: Mapping[str, Mapping[str, str]]
) -> tuple[list[str], list[str], list[str]]:
    """The three header rows: export tags, question text, ImportId JSON."""
    header = [m[0] for m in QUALTRICS_META]
    text = [m[1] for m in QUALTRICS_META]
    import_ids = [to_json(m[2]) for m in QUALTRICS_META]
    numbers = question_numbers(cohort)
    for inst in insts:
        instrument = instrument_of(inst)
        for pos, item in enumerate(instrument.item_ids, start=1):
            header.append(qmap[inst][item])
            text.append(f"{item_stem(instrument)} - {item_statement(instrument, item)}")
            import_ids.append(to_json({"ImportId": f"QID{numbers[inst]}_{pos}"}))
    for name in QUALTRICS_EMBEDDED:
        header.append(name)
        text.append(name)
        import_ids.append(to_json({"ImportId": name}))
    return header, text, import_ids
