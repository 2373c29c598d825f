"""Identifying-column detection: the safety net behind declared roles (stage: protect).

A column with no role in the study config whose header or values look like e-mail
addresses, IP addresses, names, addresses, phone numbers, postcodes, locations, dates of
birth or free text is dropped and reported by *name* (never its values).

A warning nobody believes is worse than none, so the rules avoid the false alarms real
exports raised:

- Headers are matched **word by word**: the header is split into lower-case words
  (``RecipientEmail`` → ``recipient email``, ``ip_addr`` → ``ip addr``, ``E-mail`` →
  ``e mail``) and every pattern matches whole words, so ``Hotel``/``Hostel`` are not
  phones and ``Allocation`` is not a location.
- Platform metadata names (``IP``, ``Location``, ``Name``, ``Address``, ``City``,
  ``Recipient``, ``Token``, latitude/longitude) count only in **short headers** (at most
  :data:`SHORT_HEADER_WORDS` words): a question *about* the location of the meetings or how
  a mentor would *address* a concern is question text, not a column of locations.
  Questions that *ask for* personal data still count however long they are (``your
  address``, ``first name``, ``e-mail``, ``phone``, ``postcode``, ``date of birth``).
  A header without spaces is a variable name (``next_of_kin_contact_name``), never
  question text. LimeSurvey's timing columns (``Question time: address``) hold seconds and
  REDCap's structural ``redcap_*`` fields (``redcap_event_name``) are not matched by header.
- IP address values must parse with :mod:`ipaddress`: a clock time ``15:15:49`` has
  colons but is no IPv6 address.
- A column whose values are all numbers (``3.25``, ``-1``, ``2,5``) or all dates and
  timestamps (``2022/03/26 11:00:19 PM AST``) is never free text.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

import pandas as pd

__all__ = ["SHORT_HEADER_WORDS", "detect_identifying", "header_words", "identifying_columns"]

SHORT_HEADER_WORDS = 4
"""Headers of at most this many words may be platform metadata names (``IP Address``)."""

# Patterns run on header_words(header): lower-case words separated by single spaces.
_ANY_HEADER: list[tuple[str, re.Pattern[str]]] = [
    ("email", re.compile(r"\be ?mail(s|( ?address(es)?))?\b")),
    (
        "name",
        re.compile(
            r"\b(first|last|full|sur|given|family|middle|maiden|user|nick) ?names?\b"
            r"|\byour names?\b"
        ),
    ),
    (
        "address",
        re.compile(r"\b(home|postal|street|mailing|your) addresse?s?\b|\bstreet address\b"),
    ),
    (
        "phone",
        re.compile(r"\b(tele?phone|phone|mobile|cell ?phone|fax)( ?(no|nr|number)s?)?\b"),
    ),
    ("postcode", re.compile(r"\b(post ?codes?|zip ?codes?|postal ?codes?)\b")),
    ("date of birth", re.compile(r"\b(date of birth|birth ?(date|day)|dob|born)\b")),
]
_SHORT_HEADER: list[tuple[str, re.Pattern[str]]] = [
    ("ip address", re.compile(r"\bip( ?addr(ess)?)?\b")),
    ("name", re.compile(r"\bnames?\b")),
    ("recipient", re.compile(r"\brecipient\b")),
    ("address", re.compile(r"\b(address|street|city|town)\b")),
    ("phone", re.compile(r"\btel\b")),
    ("postcode", re.compile(r"\bzip\b")),
    (
        "location",
        re.compile(r"\b(latitude|longitude|lat|lon|lng|location|geo ?location|gps)\b"),
    ),
    ("token", re.compile(r"\btoken\b|\bexternal ?(data ?)?ref(erence)?\b")),
]
_TIMING = re.compile(r"^\s*(question|group) time\s*:", re.I)  # LimeSurvey timings (seconds)

_EMAIL = re.compile(r"^\s*[^@\s]+@[^@\s]+\.[A-Za-z]{2,}\s*$")
_IP_SHAPE = re.compile(r"^\s*[0-9A-Fa-f:.]{2,45}\s*$")  # candidates only; ipaddress decides
_UK_POSTCODE = re.compile(r"^\s*[A-Za-z]{1,2}\d[A-Za-z\d]? ?\d[A-Za-z]{2}\s*$")
_DATE = re.compile(
    r"^\s*\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}"
    r"([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*([AaPp][Mm])?\s*([A-Za-z]{1,5}|[+-]\d{2}:?\d{2})?)?\s*$"
)
_NUMBER = re.compile(r"^\s*[-+]?(\d+([.,]\d*)?|[.,]\d+)([eE][-+]?\d+)?\s*$")
_SAMPLE = 500
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NON_WORD = re.compile(r"[\W_]+")


def header_words(header: str) -> str:
    """A header as lower-case words separated by single spaces.

    Examples
    --------
    >>> header_words("RecipientEmail"), header_words("IPAddress"), header_words("E-mail")
    ('recipient email', 'ip address', 'e mail')
    >>> header_words("Hotel or hostel?"), header_words("ip_addr")
    ('hotel or hostel', 'ip addr')
    """
    return _NON_WORD.sub(" ", _CAMEL.sub(" ", header)).strip().lower()


def _header_reason(header: str) -> str | None:
    if _TIMING.match(header) or header.startswith("redcap_"):
        return None
    words = header_words(header)
    # a variable name (no spaces: next_of_kin_contact_name) is no question text
    short = len(words.split()) <= SHORT_HEADER_WORDS or not re.search(r"\s", header.strip())
    for what, pat in _ANY_HEADER + (_SHORT_HEADER if short else []):
        if pat.search(words):
            return f"header looks like {what}"
    return None


def _ip_share(sample: pd.Series) -> float:
    """Share of ``sample`` (distinct values) that are IPv4/IPv6 addresses."""
    shaped = sample[sample.str.match(_IP_SHAPE)].str.strip()
    if shaped.empty:
        return 0.0
    # at most _SAMPLE distinct candidates: the standard library decides what an address is
    valid = sum(1 for v in shaped.tolist() if _is_ip(v))
    return valid / len(sample)


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _value_reason(values: pd.Series) -> str | None:
    sample = values.drop_duplicates().head(_SAMPLE)
    if sample.str.match(_EMAIL).mean() > 0.5:
        return "values look like email values"
    if _ip_share(sample) > 0.5:
        return "values look like IP address values"
    if sample.str.match(_UK_POSTCODE).mean() > 0.5:
        return "values look like postcode values"
    if values.str.match(_NUMBER).all() or values.str.match(_DATE).all():
        return None  # numbers and timestamps are never free text
    ratio = values.nunique() / len(values)
    if len(values) >= 3 and ratio > 0.9 and values.str.len().mean() > 20:
        return "free text (mostly unique long answers)"
    return None


def detect_identifying(data: pd.DataFrame, *, columns: Iterable[str] | None = None) -> pd.DataFrame:
    """Find columns that look identifying, by header, by value, or as free text.

    Parameters
    ----------
    data
        Text cells (one column per export column).
    columns
        Columns to check (default: all).

    Returns
    -------
    pandas.DataFrame
        One row per suspicious column: ``column``, ``reason`` (e.g. ``"header looks like
        email"``, ``"free text"``). Values are never reported.

    Examples
    --------
    >>> df = pd.DataFrame({"RecipientEmail": ["a@b.org"], "contact": ["x@y.com"],
    ...                    "q1": ["3"], "IPAddress": ["10.0.0.1"], "Hotel": ["yes"],
    ...                    "started": ["15:15:49"]})
    >>> detect_identifying(df)
               column                         reason
    0  RecipientEmail        header looks like email
    1         contact  values look like email values
    2       IPAddress   header looks like ip address
    """
    rows = []
    for col in data.columns if columns is None else columns:
        if col not in data.columns:
            continue
        header = str(col)
        reason = _header_reason(header)
        if reason is None:
            values = data[col].dropna().astype(str)
            values = values[values.str.strip() != ""]
            if len(values):
                reason = _value_reason(values)
        if reason:
            rows.append({"column": header, "reason": reason})
    return pd.DataFrame(rows, columns=["column", "reason"])


def identifying_columns(
    data: pd.DataFrame, meta: pd.DataFrame, unmapped: list[str]
) -> list[dict[str, str]]:
    """The unmapped columns that look identifying (or are flagged so in a REDCap
    dictionary), each with its reason.

    Examples
    --------
    >>> data = pd.DataFrame({"contact": ["x@y.com"], "q1": ["3"], "nok": ["Jo"]})
    >>> meta = pd.DataFrame({"column": ["nok"], "identifier": ["y"]})
    >>> [c["column"] for c in identifying_columns(data, meta, ["contact", "nok"])]
    ['contact', 'nok']
    """
    ident = detect_identifying(data, columns=unmapped)
    flagged: list[dict[str, str]] = [
        {"column": str(c), "reason": str(r)}
        for c, r in zip(ident["column"], ident["reason"], strict=True)
    ]
    if "identifier" in meta and "column" in meta:
        for c, flag in zip(meta["column"], meta["identifier"], strict=False):
            if (
                c in unmapped
                and str(flag).strip().lower() in {"y", "yes", "true", "1"}
                and c not in set(ident["column"])
            ):
                flagged.append(
                    {"column": c, "reason": "flagged Identifier? in the REDCap dictionary"}
                )
    return flagged
