"""Survey submissions of a synthetic cohort per wave: who answers, when, with which response
ids (stage: *test data*); called by :func:`~mentoreval.synth.cohort.generate_cohort`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mentoreval.synth.items import ItemModel, draw_items
from mentoreval.synth.spec import CohortSpec

__all__ = ["wave_submissions"]


def wave_submissions(
    spec: CohortSpec,
    wave: str,
    who: np.ndarray,
    treated: np.ndarray,
    ids: np.ndarray,
    group: np.ndarray,
    year: np.ndarray,
    gender: np.ndarray,
    site: np.ndarray,
    insts: list[str],
    models: Mapping[str, ItemModel],
    theta: Mapping[tuple[str, str], np.ndarray],
    rng: np.random.Generator,
    mess: np.random.Generator,
    meta: np.random.Generator,
) -> pd.DataFrame:
    """The submissions of one wave (answers, careless flags, duplicates, timing).

    The answers are drawn from ``rng``; careless responding, item non-response and
    duplicates from ``mess``; times and response ids from ``meta``, each in a fixed order.
    """
    w = _Wave(spec, wave, insts, models, theta, treated, rows=np.flatnonzero(who))
    n = len(w.rows)
    answers = w.answers(w.rows, rng)
    values = np.hstack(answers) if answers else np.empty((n, 0))
    careless, speeder = _careless(w, values, mess)
    values = _item_nonresponse(w, values, mess)
    started, duration, submitted = _timing(w, values.shape[1], speeder, meta)
    rows = w.rows
    frame = pd.DataFrame(
        {
            "response_id": "",
            "student_id": ids[rows],
            "wave": wave,
            "group": group[rows],
            "year_of_study": year[rows],
            "gender": gender[rows],
            "site": site[rows],
            "started_at": started,
            "submitted_at": submitted,
            "duration_s": duration,
            "careless": careless,
            "duplicate": False,
        }
    )
    frame, item_frame = _add_duplicates(w, frame, pd.DataFrame(values, columns=w.items), mess, meta)
    order = np.lexsort(
        (frame["student_id"].to_numpy().astype(str), frame["submitted_at"].to_numpy())
    )
    frame = frame.iloc[order].reset_index(drop=True)
    item_frame = pd.DataFrame(item_frame.to_numpy()[order], columns=w.items)
    out = pd.concat([frame, item_frame], axis=1)
    out["response_id"] = _response_ids(len(out), meta)
    return out


@dataclass(frozen=True)
class _Wave:
    """What the steps of one wave's submissions share."""

    spec: CohortSpec
    wave: str
    insts: list[str]
    models: Mapping[str, ItemModel]
    theta: Mapping[tuple[str, str], np.ndarray]
    treated: np.ndarray
    rows: np.ndarray  # the students who answer this wave

    @property
    def items(self) -> list[str]:
        """Item columns in questionnaire order."""
        return [i for inst in self.insts for i in self.models[inst].items]

    def answers(self, rows: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
        """Fresh answers of ``rows`` (students) from their latent scores, per instrument."""
        spec = self.spec
        out = []
        for inst in self.insts:
            ans = draw_items(self.models[inst], self.theta[(self.wave, inst)][rows], rng)
            if inst in spec.post_only_instruments and inst not in spec.instruments:
                ans[~self.treated[rows]] = np.nan  # mentor ratings only from mentees
            out.append(ans)
        return out


def _careless(
    w: _Wave, values: np.ndarray, mess: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Redraw the careless responders' rows of ``values`` in place.

    Returns the ``careless`` labels (``""``, ``"straightliner"``, ``"speeder"``) and the
    speeders' mask.
    """
    spec, insts, models = w.spec, w.insts, w.models
    n, n_items = len(w.rows), len(w.items)
    u = mess.random(n)
    straight = u < spec.straightliners
    speeder = (u >= spec.straightliners) & (u < spec.straightliners + spec.speeders)
    careless = np.where(straight, "straightliner", np.where(speeder, "speeder", "")).astype(object)
    pos = mess.choice(np.array([0.0, 0.5, 1.0]), size=n)
    width = max((models[i].codes.shape[1] for i in insts), default=1)
    codes = np.full((n_items, width), np.nan)
    j0 = 0
    for inst in insts:
        c = models[inst].codes
        codes[j0 : j0 + len(c), : c.shape[1]] = c
        j0 += len(c)
    k = np.concatenate([models[i].n_categories for i in insts]) if insts else np.empty(0, np.int64)
    jj = np.arange(n_items)
    for sel, cat in (
        (straight, lambda r: np.round(pos[r][:, None] * (k[None, :] - 1)).astype(np.int64)),
        (
            speeder,
            lambda r: np.floor(mess.random((len(r), n_items)) * k[None, :]).astype(np.int64),
        ),
    ):
        r = np.flatnonzero(sel)
        if len(r):
            block = values[r]
            values[r] = np.where(np.isnan(block), np.nan, codes[jj, cat(r)])
    return careless, speeder


def _item_nonresponse(w: _Wave, values: np.ndarray, mess: np.random.Generator) -> np.ndarray:
    """Item non-response (MCAR); a third of skips carry the instrument's missing code, if any."""
    if not w.spec.item_nonresponse > 0:
        return values
    skip = (mess.random(values.shape) < w.spec.item_nonresponse) & ~np.isnan(values)
    miss = np.array(
        [
            next(
                (mc.code for mc in w.models[inst].instrument.item_response_scale(i).missing),
                np.nan,
            )
            for inst in w.insts
            for i in w.models[inst].items
        ]
    )
    coded = skip & ~np.isnan(miss)[None, :] & (mess.random(values.shape) < 1 / 3)
    values[skip] = np.nan
    return np.where(coded, miss[None, :], values)


def _timing(
    w: _Wave, n_items: int, speeder: np.ndarray, meta: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(started, duration_s, submitted)``: a survey window of three weeks after the wave
    opens, durations by questionnaire length (speeders much faster)."""
    spec, n = w.spec, len(w.rows)
    base = np.datetime64(spec.start, "s")
    if w.wave == "post":
        base = base + np.timedelta64(spec.programme_days, "D")
    day = meta.integers(0, 21, size=n)
    second = meta.integers(8 * 3600, 23 * 3600, size=n)
    started = base + (day * 86400 + second).astype("timedelta64[s]")
    duration = np.round(60 + n_items * 9 * meta.lognormal(0.0, 0.35, size=n)).astype(np.int64)
    duration[speeder] = meta.integers(20, 60, size=int(speeder.sum()))
    submitted = started + duration.astype("timedelta64[s]")
    return started, duration, submitted


def _add_duplicates(
    w: _Wave,
    frame: pd.DataFrame,
    item_frame: pd.DataFrame,
    mess: np.random.Generator,
    meta: np.random.Generator,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Append duplicate submissions: fresh answers from the same latent scores, later."""
    dup = np.flatnonzero(mess.random(len(w.rows)) < w.spec.duplicates)
    if not len(dup):
        return frame, item_frame
    again = frame.iloc[dup].copy()
    delay = meta.integers(2 * 3600, 3 * 86400, size=len(dup)).astype("timedelta64[s]")
    again["started_at"] = again["submitted_at"].to_numpy() + delay
    again["submitted_at"] = again["started_at"].to_numpy() + again["duration_s"].to_numpy().astype(
        "timedelta64[s]"
    )
    again["careless"] = ""
    again["duplicate"] = True
    fresh = w.answers(w.rows[dup], mess)
    dup_items = pd.DataFrame(np.column_stack(fresh), columns=w.items)
    frame = pd.concat([frame, again], ignore_index=True)
    item_frame = pd.concat([item_frame, dup_items], ignore_index=True)
    return frame, item_frame


def _response_ids(n: int, rng: np.random.Generator) -> np.ndarray:
    """Qualtrics-style response ids ``R_`` + 15 letters/digits."""
    chars = np.array(
        list("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"), dtype="<U1"
    )
    drawn = np.ascontiguousarray(chars[rng.integers(0, len(chars), size=(n, 15))])
    return np.char.add("R_", drawn.view("<U15").ravel()).astype(object)
