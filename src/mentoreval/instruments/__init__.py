"""Instrument definitions: loading and validating ``surveys/instruments/*.yaml``, scoring,
and survey export (REDCap dictionary / Qualtrics TXT).
"""

from mentoreval.instruments.definitions import (
    Band,
    Instrument,
    Item,
    ResponseScale,
    Scale,
    builtin_instrument_dir,
    instrument_dirs,
    list_instruments,
    load_instrument,
    load_instruments,
)

__all__ = [
    "Band",
    "Instrument",
    "Item",
    "ResponseScale",
    "Scale",
    "builtin_instrument_dir",
    "instrument_dirs",
    "list_instruments",
    "load_instrument",
    "load_instruments",
]
