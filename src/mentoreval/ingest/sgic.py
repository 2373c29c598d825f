"""Self-generated identification codes: reading and normalising their components (stage: map).

An anonymous survey asks each student for the parts of a code only they can rebuild (the
first letter of their mother's first name, their birth month, their number of older
siblings, ...; ``docs/sgic.md``). :func:`read_codes` reads those answers, from one column
per component or from one column split into fixed-width parts, and normalises each so that
the same answer typed differently agrees: case, accents and spaces never matter, ``"März"``,
``"mar"`` and ``"03"`` are month 3, ``"zwei"``, ``"two"`` and ``"02"`` are 2. An answer that
cannot be read (month ``13``) leaves its component empty, and an empty component agrees
with nothing (:func:`mentoreval.ingest.linkage.match_codes`). The code is the components
joined by ``|``; it is pseudonymised like any id and never written.

:func:`link_codes` links the codes of every wave to those of the reference wave
(:func:`mentoreval.ingest.linkage.match_codes`): a record linked with a tolerance takes its
partner's code, so both get one pseudonym. Only distinct answers are normalised (in Python, one call per distinct text); rows are
mapped back with array indexing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import pandas as pd

from mentoreval.config.study_model import Sgic, StudyConfig
from mentoreval.ingest.linkage import MATCH_STATUS, match_codes

__all__ = [
    "SEPARATOR",
    "CodeLinks",
    "Codes",
    "fold",
    "link_codes",
    "link_records",
    "normalise_component",
    "participant_status",
    "read_codes",
    "sgic_line",
]

SEPARATOR = "|"
_ZERO_WIDTH = re.compile("[\u200b-\u200d\ufeff]")

_MONTHS = {
    **{
        name: i + 1
        for i, names in enumerate(
            [
                "january jan januar janvier janv",
                "february feb februar fevrier fev",
                "march mar marz maerz mars",
                "april apr avril avr",
                "may mai",
                "june jun juni juin",
                "july jul juli juillet juil",
                "august aug aout",
                "september sep sept septembre",
                "october oct oktober okt octobre",
                "november nov novembre",
                "december dec dezember dez decembre",
            ]
        )
        for name in names.split()
    }
}
_NUMBERS = {
    name: i
    for i, names in enumerate(
        [
            "zero null none no keine kein aucun",
            "one eins ein eine un une",
            "two zwei deux",
            "three drei trois",
            "four vier quatre",
            "five funf fuenf cinq",
            "six sechs",
            "seven sieben sept",
            "eight acht huit",
            "nine neun neuf",
            "ten zehn dix",
            "eleven elf onze",
            "twelve zwolf zwoelf douze",
        ]
    )
    for name in names.split()
}


def fold(text: str) -> str:
    """Case, accents, zero-width characters and whitespace removed (NFKD, then case-folded).

    Examples
    --------
    >>> fold(" Ö z\\u00a0é\\u200b "), fold("Straße")
    ('oze', 'strasse')
    """
    decomposed = unicodedata.normalize("NFKD", _ZERO_WIDTH.sub("", text))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return "".join(bare.casefold().split())


def _letter(text: str) -> str:
    return next((c for c in fold(text) if c.isalpha()), "")


def _integer(text: str, names: dict[str, int], high: int) -> str:
    t = fold(text).rstrip(".")
    if t.isascii() and t.isdigit() and len(t) <= 3:
        value = int(t)
    elif t in names:
        value = names[t]
    else:
        return ""
    return str(value) if value <= high else ""


def _month(text: str) -> str:
    month = _integer(text, _MONTHS, 12)
    return "" if month == "0" else month


def _number(text: str) -> str:
    return _integer(text, _NUMBERS, 999)


def _text(text: str) -> str:
    return "".join(c for c in fold(text) if c.isalnum())


_KINDS: dict[str, Callable[[str], str]] = {
    "letter": _letter,
    "month": _month,
    "number": _number,
    "text": _text,
}


def normalise_component(text: str, kind: str) -> str:
    """One answer of a code component, normalised; ``""`` when it cannot be read.

    Examples
    --------
    >>> [normalise_component(t, "month") for t in ["März", "03", "mar", "Dec.", "13", "x"]]
    ['3', '3', '3', '12', '', '']
    >>> [normalise_component(t, "letter") for t in [" é", "Ángela", "7b", "?"]]
    ['e', 'a', 'b', '']
    >>> [normalise_component(t, "number") for t in ["02", "two", "Zwei", "2.", "-1"]]
    ['2', '2', '2', '2', '']
    """
    return _KINDS[kind](text)


@dataclass(frozen=True)
class Codes:
    """The codes of one export's rows.

    Attributes
    ----------
    code
        The normalised code (components joined by ``|``), ``<NA>`` when every component is
        empty.
    components
        One column per component: the normalised answer, ``""`` when empty or unreadable.
    unreadable
        Per component, how many non-empty answers could not be read.
    bad_length
        Rows whose one code column does not have the declared number of characters (only
        for a code read from one column); their code is ``<NA>``.
    """

    code: pd.Series
    components: pd.DataFrame
    unreadable: list[int]
    bad_length: np.ndarray


def _normalised(values: pd.Series, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Each cell normalised (object array of str), and which non-empty cells were unreadable."""
    codes, uniques = pd.factorize(values.astype("string").array, use_na_sentinel=True)  # type: ignore[call-overload]
    func = _KINDS[kind]
    done = np.array([func(str(u)) for u in uniques] + [""], dtype=object)
    blank = np.array([not str(u).strip() for u in uniques] + [True])
    out = done[codes]
    return out, (out == "") & ~blank[codes]


def _split(values: pd.Series, sgic: Sgic) -> tuple[list[pd.Series], np.ndarray]:
    """The one code column cut into its fixed-width components (after :func:`fold` and
    removing separators); rows of the wrong length get empty components."""
    codes, uniques = pd.factorize(values.astype("string").array, use_na_sentinel=True)  # type: ignore[call-overload]
    folded = np.array(
        ["".join(c for c in fold(str(u)) if c.isalnum()) for u in uniques] + [""], dtype=object
    )
    widths = [c.width or 0 for c in sgic.components]
    text = pd.Series(folded[codes], index=values.index, dtype="string")
    length = text.str.len().to_numpy()
    bad = (length != sum(widths)) & (length > 0)
    text = text.mask(bad, "")
    starts = np.cumsum([0, *widths])
    parts = [text.str.slice(int(a), int(b)) for a, b in pairwise(starts)]
    return parts, bad


def read_codes(data: pd.DataFrame, sgic: Sgic) -> Codes:
    """Read and normalise the self-generated codes of an export (see the module docstring).

    Parameters
    ----------
    data
        The export's text cells; the code's columns must be present.
    sgic
        The code's definition (``participant_id.sgic``).

    Examples
    --------
    >>> from mentoreval.config.study_model import Sgic, StudyConfig
    >>> sgic = Sgic.model_validate({"components": [
    ...     {"column": "m", "kind": "letter"}, {"column": "b", "kind": "month"},
    ...     {"column": "s", "kind": "number"}]})
    >>> data = pd.DataFrame({"m": ["Érika", "e", None, "k"], "b": ["März", "3", None, "13"],
    ...                      "s": ["zwei", "02", " ", "1"]})
    >>> codes = read_codes(data, sgic)
    >>> codes.code.tolist(), codes.unreadable
    (['e|3|2', 'e|3|2', <NA>, 'k||1'], [0, 1, 0])
    >>> one = Sgic.model_validate({"column": "code", "components": [
    ...     {"width": 2, "kind": "text"}, {"width": 2, "kind": "month"}]})
    >>> read_codes(pd.DataFrame({"code": ["AB-04", "ab 4", "Cd12"]}), one).code.tolist()
    ['ab|4', <NA>, 'cd|12']
    """
    if sgic.column is not None:
        cells, bad = _split(data[sgic.column], sgic)
    else:
        cells = [data[c.column] for c in sgic.components if c.column is not None]
        bad = np.zeros(len(data), dtype=bool)
    columns: dict[str, np.ndarray] = {}
    unreadable: list[int] = []
    for j, (comp, values) in enumerate(zip(sgic.components, cells, strict=True)):
        normal, odd = _normalised(values, comp.kind)
        columns[f"c{j}"] = normal
        unreadable.append(int(odd.sum()))
    comps = pd.DataFrame(columns, index=data.index)
    joined = comps.iloc[:, 0]
    for column in comps.columns[1:]:
        joined = joined + SEPARATOR + comps[column]
    empty = (comps == "").all(axis=1).to_numpy() | bad
    code = pd.Series(joined.to_numpy(dtype=object), index=data.index, dtype="string")
    return Codes(code.mask(empty), comps, unreadable, bad)


# Which status a participant seen in several waves gets: a tolerant link is named first
# (the link most worth checking), then an exact one, then ambiguous, then unlinked.
_PRIORITY = np.array([1, 0, 2, 3])  # by MATCH_STATUS position


@dataclass(frozen=True)
class CodeLinks:
    """The codes of a study's records after linkage.

    Attributes
    ----------
    code
        Each record's code; a record linked to the reference wave with a tolerance has its
        partner's code.
    status
        Each record's position in :data:`mentoreval.ingest.linkage.MATCH_STATUS`.
    counts
        ``exact`` and ``tolerant``: linked pairs; ``ambiguous`` and ``unlinked``: distinct
        codes (of any wave) left unlinked; ``tolerance``; ``components``.
    """

    code: pd.Series
    status: np.ndarray
    counts: dict[str, int]


def _integer_components(components: pd.DataFrame) -> np.ndarray:
    """Each component's answers as integers (equal answer, equal integer; -1 when empty)."""
    out = np.empty(components.shape, dtype=np.int64)
    for j, column in enumerate(components.columns):
        values = components[column].astype("string")
        out[:, j] = pd.factorize(values.mask(values == ""))[0]
    return out


def _distinct(cid: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct code ids among ``rows`` and, for each, the first of its rows."""
    ids, first = np.unique(cid[rows], return_index=True)
    return ids, rows[first]


def link_codes(
    codes: pd.Series,
    components: pd.DataFrame,
    waves: pd.Series,
    *,
    reference: str,
    tolerance: int,
) -> CodeLinks:
    """Link every wave's codes to the ``reference`` wave's (see the module docstring).

    Parameters
    ----------
    codes, components
        Each record's code and its components (:func:`read_codes`; no code missing).
    waves
        Each record's wave.
    reference
        The wave the others are linked to (the study's pre wave); when no record has it,
        the first wave seen.
    tolerance
        ``participant_id.sgic.tolerance``.

    Examples
    --------
    >>> codes = pd.Series(["a|3|2", "b|5|0", "a|3|2", "b|5|1", "c|1|1"])
    >>> comps = codes.str.split("|", expand=True)
    >>> waves = pd.Series(["pre", "pre", "post", "post", "post"])
    >>> links = link_codes(codes, comps, waves, reference="pre", tolerance=1)
    >>> links.code.tolist()
    ['a|3|2', 'b|5|0', 'a|3|2', 'b|5|0', 'c|1|1']
    >>> [MATCH_STATUS[s] for s in links.status], links.counts["tolerant"]
    (['exact', 'tolerant', 'exact', 'tolerant', 'unlinked'], 1)
    """
    cid, uniques = pd.factorize(codes.astype("string"))
    matrix = _integer_components(components)
    wid, wave_names = pd.factorize(waves.astype("string"))
    names = list(wave_names)
    ref = names.index(reference) if reference in names else 0
    n = len(codes)
    priority = np.full(n, _PRIORITY[3])
    ref_rows = np.flatnonzero(wid == ref)
    ref_ids, ref_first = _distinct(cid, ref_rows)
    ref_best = np.full(len(ref_ids), _PRIORITY[3])
    counts = dict.fromkeys(MATCH_STATUS, 0)
    for w in range(len(names)):
        if w == ref:
            continue
        rows = np.flatnonzero(wid == w)
        ids, first = _distinct(cid, rows)
        m = match_codes(matrix[ref_first], matrix[first], tolerance=tolerance)
        status_of = np.full(len(uniques), 3, dtype=np.int8)
        status_of[ids] = m.right_status
        priority[rows] = _PRIORITY[status_of[cid[rows]]]
        wave_target = np.arange(len(uniques))
        wave_target[ids[m.right]] = ref_ids[m.left]
        cid[rows] = wave_target[cid[rows]]
        np.minimum(ref_best, _PRIORITY[m.left_status], out=ref_best)
        counts["exact"] += int((~m.tolerant).sum())
        counts["tolerant"] += int(m.tolerant.sum())
        for s in (2, 3):
            counts[MATCH_STATUS[s]] += int((m.right_status == s).sum())
    # A reference code's status over every wave; a code seen in the reference wave alone is
    # unlinked (there is nothing to link it to).
    at = np.full(len(uniques), _PRIORITY[3])
    at[ref_ids] = ref_best
    priority[ref_rows] = at[cid[ref_rows]]
    for s in (2, 3):
        counts[MATCH_STATUS[s]] += int((ref_best == _PRIORITY[s]).sum())
    status = np.argsort(_PRIORITY)[priority].astype(np.int8)
    code = pd.Series(uniques.take(cid), index=codes.index, dtype="string")
    counts["tolerance"] = tolerance
    counts["components"] = components.shape[1]
    return CodeLinks(code, status, counts)


def participant_status(participant_id: pd.Series, status: np.ndarray, ids: pd.Series) -> pd.Series:
    """Each participant's linkage status (``exact``, ``tolerant``, ``ambiguous`` or
    ``unlinked``) from its records' statuses, for the participants ``ids`` (in order).

    Examples
    --------
    >>> pid = pd.Series(["p", "p", "q"])
    >>> participant_status(pid, np.array([0, 1, 3]), pd.Series(["q", "p"])).tolist()
    ['unlinked', 'tolerant']
    """
    best = pd.Series(_PRIORITY[status], index=participant_id.to_numpy()).groupby(level=0).min()
    order = np.argsort(_PRIORITY)
    got = best.reindex(ids.to_numpy()).fillna(_PRIORITY[3]).to_numpy(dtype=np.int64)
    return pd.Series(np.array(MATCH_STATUS, dtype=object)[order[got]], index=ids.index)


def sgic_line(counts: dict[str, int]) -> str:
    """The linkage report's one line (validate and ingest print it).

    Examples
    --------
    >>> sgic_line({"exact": 40, "tolerant": 3, "ambiguous": 2, "unlinked": 7, "tolerance": 1,
    ...            "components": 4})
    'self-generated codes (4 components, tolerance 1): 40 linked exactly, 3 linked with up to 1 differing component(s), 2 ambiguous (not linked), 7 unlinked'
    """
    return (
        f"self-generated codes ({counts['components']} components, tolerance "
        f"{counts['tolerance']}): {counts['exact']} linked exactly, {counts['tolerant']} "
        f"linked with up to {counts['tolerance']} differing component(s), "
        f"{counts['ambiguous']} ambiguous (not linked), {counts['unlinked']} unlinked"
    )


def link_records(
    records: pd.DataFrame, cfg: StudyConfig
) -> tuple[pd.DataFrame, dict[str, int] | None]:
    """A study linked by self-generated codes: each record's code after linkage (its
    reference-wave partner's when linked with a tolerance) as ``raw_id``, its status as
    ``code_link``; the components dropped (they are never written). The linkage counts."""
    sgic = cfg.participant_id.sgic
    if sgic is None:
        return records, None
    parts = [c for c in records.columns if c.startswith("sgic:")]
    links = link_codes(
        records["raw_id"],
        records[parts],
        records["wave"],
        reference=cfg.analysis.pre,
        tolerance=sgic.tolerance,
    )
    records = records.drop(columns=parts).assign(raw_id=links.code.array, code_link=links.status)
    return records, links.counts
