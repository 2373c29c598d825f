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

:func:`write_sgic_study` writes a whole anonymous pre/post study linked by such codes (the
``designs/sgic-2025`` demo): the answers of :func:`~mentoreval.synth.multiwave.generate_waves`
with the code's components in place of the student id.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from mentoreval.synth.multiwave import MultiWaveData, generate_waves

__all__ = [
    "SGIC_COMPONENTS",
    "SgicStudy",
    "SyntheticCodes",
    "generate_codes",
    "sgic_config",
    "write_sgic_study",
]

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


@dataclass(frozen=True)
class SgicStudy:
    """An anonymous pre/post study linked by self-generated codes, written to a folder.

    Attributes
    ----------
    config
        The ``study.yaml`` written.
    data
        The responses (with the true ``student_id``, never in an export) and their truth.
    errors
        Per returning student (index ``student_id``), how many components of the post code
        differ from the pre code.
    """

    config: Path
    data: MultiWaveData
    errors: pd.Series


def write_sgic_study(
    folder: str | Path,
    *,
    title: str = "Anonymous pre/post survey linked by self-generated codes (synthetic)",
    key_file: str = "../../demo.key",
    n_students: int = 130,
    seed: int = 2029,
    one_error: float = 0.2,
    two_errors: float = 0.1,
    effect: float = 0.3,
) -> SgicStudy:
    """Write ``exports/pre.csv``, ``exports/post.csv``, ``truth.csv`` and a ``study.yaml``
    (``participant_id.sgic`` with :data:`SGIC_COMPONENTS`, tolerance 1) into ``folder``.

    One mentored group answers WHO-5 before (everyone) and after (80%) the programme, its
    latent mean ``effect`` SD higher after. Each returning student types a post code that
    differs from the pre code in one component (share ``one_error``: linkable within the
    tolerance) or in two (share ``two_errors``: beyond it, so unlinked), else the same code,
    typed as students type (case, month names, leading zeros).

    Examples
    --------
    >>> import tempfile
    >>> study = write_sgic_study(Path(tempfile.mkdtemp()), n_students=40, seed=1)
    >>> post = pd.read_csv(study.config.parent / "exports" / "post.csv", dtype=str)
    >>> list(post.columns[:3]), "student_id" in post.columns
    (['mother_initial', 'father_initial', 'birth_month'], False)
    >>> sorted(set(study.errors.tolist()))
    [0, 1, 2]
    """
    data = generate_waves(
        n_students, waves=("pre", "post"), trajectory={"mentored": (0.0, effect)},
        retention=(1.0, 0.8), seed=seed,
    )  # fmt: skip
    rng = np.random.default_rng([seed, 1])
    ids = np.sort(data.responses["student_id"].unique())
    truth = {c: _values(kind, c, len(ids), rng) for c, kind in SGIC_COMPONENTS}
    folder = Path(folder)
    (folder / "exports").mkdir(parents=True, exist_ok=True)
    errors = pd.Series(dtype=np.int64)
    for wave in data.waves:
        rows = data.responses[data.responses["wave"] == wave]
        at = np.searchsorted(ids, rows["student_id"].to_numpy())
        n_wrong = np.zeros(len(rows), dtype=np.int64)
        if wave != data.waves[0]:
            u = rng.random(len(rows))
            n_wrong = (u < one_error + two_errors).astype(np.int64) + (u < two_errors)
            errors = pd.Series(n_wrong, index=rows["student_id"].to_numpy(), name="errors")
        which = rng.permuted(np.tile(np.arange(len(SGIC_COMPONENTS)), (len(rows), 1)), axis=1)
        codes = {}
        for j, (column, kind) in enumerate(SGIC_COMPONENTS):
            value = truth[column][at]
            changed = ((n_wrong >= 1) & (which[:, 0] == j)) | ((n_wrong >= 2) & (which[:, 1] == j))
            value = np.where(changed, _wrong(kind, column, value, rng), value)
            codes[column] = _typed(kind, value, rng)
        items = rows.drop(columns=["student_id", "wave", "group"]).reset_index(drop=True)
        export = pd.concat([pd.DataFrame(codes), items], axis=1)
        export = export.iloc[rng.permutation(len(export))]  # no order to link by
        path = folder / "exports" / f"{wave}.csv"
        export.to_csv(path, index=False, float_format="%g", lineterminator="\n")
    data.truth.to_csv(folder / "truth.csv", index=False, float_format="%.6f", lineterminator="\n")
    config = {
        "title": title,
        "key_file": key_file,
        "participant_id": sgic_config(),
        "sources": [{"path": f"exports/{w}.csv", "format": "csv", "wave": w} for w in data.waves],
        "instruments": {str(data.truth["instrument"].iloc[0]): None},
        "analysis": {"pre": data.waves[0], "post": data.waves[-1]},
    }
    path = folder / "study.yaml"
    path.write_text(
        f"# {title}; made by mentoreval.synth.sgic.\n"
        "# key_file is a path, never a key; `make demo` sets MENTOREVAL_KEY_FILE.\n"
        + yaml.safe_dump(config, sort_keys=False, allow_unicode=True),
        encoding="utf-8",
    )
    return SgicStudy(path, data, errors)
