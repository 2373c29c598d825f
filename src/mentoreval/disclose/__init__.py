"""Disclosure control: small-cell suppression, complements, class disclosure, profiles and
the release ledger. Nothing leaves for a report without it.
"""

from mentoreval.config.disclosure import DisclosurePolicy, Profile
from mentoreval.disclose.derived import (
    blank_derivable,
    check_no_derivable,
    check_rounded_lines,
    protect_derived,
)
from mentoreval.disclose.formatting import format_cell, format_table
from mentoreval.disclose.ledger import ReleaseLedger
from mentoreval.disclose.suppression import suppress_counts, suppress_table

__all__ = [
    "DisclosurePolicy",
    "Profile",
    "ReleaseLedger",
    "blank_derivable",
    "check_no_derivable",
    "check_rounded_lines",
    "format_cell",
    "format_table",
    "protect_derived",
    "suppress_counts",
    "suppress_table",
]
