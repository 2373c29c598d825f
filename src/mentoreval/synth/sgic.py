"""Self-generated identification codes with known truth (stage: *test data*).

:func:`generate_codes` draws the answers a cohort gives to a self-generated code's
questions at two waves — as students type them (upper or lower case, month names or
numbers, leading zeros) — with a chosen number of errors per code at the second wave, some
students answering only one wave, and each row's true person. It is what the SGIC linkage
is checked against (``tests/ingest/test_sgic.py``).

The default code has six components, as the codes studied in the literature do
(``docs/sgic.md``): the first letters of the mother's and the father's first names, birth
month, birth day, number of older siblings, and the first letter of the birthplace. First
letters are drawn from a skewed distribution (a Zipf-like law over the alphabet; real
initials are far from uniform), siblings mostly 0-2.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["SGIC_COMPONENTS", "SyntheticCodes", "generate_codes", "sgic_config"]

SGIC_COMPONENTS: tuple[tuple[str, str], ...] = (
    ("mother_initial", "letter"),
    ("father_initial", "letter"),
    ("birth_month", "month"),
    ("birth_day", "number"),
    ("older_siblings", "number"),
    ("birthplace_initial", "letter"),
)
"""The default code: (export column, component kind)."""

_LETTERS = np.array(list(string.ascii_uppercase))
_LETTER_P = 1.0 / np.arange(1, 27) ** 0.9
_LETTER_P /= _LETTER_P.sum()
_SIBLINGS_P = np.array([0.40, 0.33, 0.15, 0.07, 0.03, 0.02])
_MONTHS = np.array(
    ["January", "Feb", "März", "april", "May", "june", "Jul", "AUG", "sept", "Oct", "nov", "Dec"]
)


@dataclass(frozen=True)
class SyntheticCodes:
    """Two waves of self-generated code answers.

    Attributes
    ----------
    pre, post
        One row per respondent: ``person`` (the truth, never in an export) and one text
        column per component.
    errors
        Per ``post`` row, how many components were answered differently from ``pre``.
    """

    pre: pd.DataFrame
    post: pd.DataFrame
    errors: np.ndarray


def _values(kind: str, column: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """True answers (integers: a letter's index, a month, a day, a count)."""
    if kind == "letter":
        return rng.choice(26, size=n, p=_LETTER_P)
    if kind == "month":
        return rng.integers(1, 13, size=n)
    if column == "older_siblings":
        return rng.choice(len(_SIBLINGS_P), size=n, p=_SIBLINGS_P)
    return rng.integers(1, 32, size=n)  # a day of the month


def _typed(kind: str, values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The answers as students type them."""
    if kind == "letter":
        upper = _LETTERS[values]
        return np.where(rng.random(len(values)) < 0.5, upper, np.char.lower(upper)).astype(object)
    text = values.astype(str).astype(object)
    if kind == "month":
        return np.where(rng.random(len(values)) < 0.3, _MONTHS[values - 1], text)
    padded = np.char.zfill(values.astype(str), 2).astype(object)
    return np.where(rng.random(len(values)) < 0.3, padded, text)


def _wrong(kind: str, column: str, values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A different answer for each value (an error in that component)."""
    size = {"letter": 26, "month": 12}.get(kind, 6 if column == "older_siblings" else 31)
    low = 0 if kind == "letter" or column == "older_siblings" else 1
    shift = rng.integers(1, size, size=len(values))
    return (values - low + shift) % size + low


def generate_codes(
    n: int,
    *,
    seed: int,
    errors_per_code: int = 1,
    attrition: float = 0.2,
    newcomers: float = 0.1,
    components: tuple[tuple[str, str], ...] = SGIC_COMPONENTS,
) -> SyntheticCodes:
    """Self-generated code answers of ``n`` students at two waves.

    Parameters
    ----------
    n
        Students answering the first wave.
    seed
        Seed of :func:`numpy.random.default_rng`.
    errors_per_code
        Components answered differently at the second wave, per returning student
        (chosen at random among the components).
    attrition
        Share of students who do not answer the second wave.
    newcomers
        Students answering only the second wave, as a share of ``n``.
    components
        (column, kind) of each component.

    Examples
    --------
    >>> codes = generate_codes(50, seed=1)
    >>> len(codes.pre), int(codes.post["person"].isin(codes.pre["person"]).sum())
    (50, 40)
    >>> set(codes.errors[codes.post["person"].isin(codes.pre["person"]).to_numpy()].tolist())
    {1}
    """
    rng = np.random.default_rng(seed)
    n_new = round(n * newcomers)
    truth = {c: _values(kind, c, n + n_new, rng) for c, kind in components}
    stay = np.sort(rng.choice(n, size=n - round(n * attrition), replace=False))
    post_people = np.concatenate([stay, np.arange(n, n + n_new)])
    k = len(components)
    changed = np.zeros((len(post_people), k), dtype=bool)
    which = rng.permuted(np.tile(np.arange(k), (len(stay), 1)), axis=1)[:, :errors_per_code]
    changed[np.arange(len(stay))[:, None], which] = True
    pre = {"person": np.arange(n)}
    post = {"person": post_people}
    for j, (column, kind) in enumerate(components):
        pre[column] = _typed(kind, truth[column][:n], rng)
        later = truth[column][post_people]
        later = np.where(changed[:, j], _wrong(kind, column, later, rng), later)
        post[column] = _typed(kind, later, rng)
    return SyntheticCodes(pd.DataFrame(pre), pd.DataFrame(post), changed.sum(axis=1))


def sgic_config(
    components: tuple[tuple[str, str], ...] = SGIC_COMPONENTS, tolerance: int = 1
) -> dict[str, object]:
    """The ``participant_id`` entry of a study config for these components.

    Examples
    --------
    >>> sgic_config(SGIC_COMPONENTS[:2])
    {'sgic': {'components': [{'column': 'mother_initial', 'kind': 'letter'}, {'column': 'father_initial', 'kind': 'letter'}], 'tolerance': 1}}
    """
    return {
        "sgic": {
            "components": [{"column": c, "kind": kind} for c, kind in components],
            "tolerance": tolerance,
        }
    }
