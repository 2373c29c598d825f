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

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from mentoreval.errors import ConfigError
from mentoreval.synth.exportbase import (
    EXPORT_FORMATS,
    Values,
    column_map,
    write_csv_text,
)
from mentoreval.synth.exportbase import (
    REDCAP_DICTIONARY_HEADER as REDCAP_DICTIONARY_HEADER,  # re-exported: callers and tests import it here
)
from mentoreval.synth.qualtrics import write_qualtrics
from mentoreval.synth.redcap import write_redcap, write_redcap_dictionary
from mentoreval.synth.sheets import write_csv, write_googleforms, write_spss, write_xlsx
from mentoreval.synth.studyconfig import study_config, write_study_config

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


def write_meetings(cohort: SyntheticCohort, path: str | Path) -> Path:
    """Write the meeting log CSV (``date, mentee_id, mentor_id, mentor_type, mode, minutes``)."""
    log = cohort.meetings
    return write_csv_text(Path(path), [list(log.columns)], log)


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
