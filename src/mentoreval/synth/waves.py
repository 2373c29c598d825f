"""Survey submissions of a synthetic cohort per wave: who answers, when, with which response
ids (stage: *test data*); called by :func:`~mentoreval.synth.cohort.generate_cohort`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from mentoreval.synth.items import ItemModel, draw_items
from mentoreval.synth.spec import CohortSpec

__all__ = ["wave_submissions"]


def wave_submissions(  # one pass over the waves sharing the drawn timestamps; not yet split
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
    """The submissions of one wave (answers, careless flags, duplicates, timing)."""
    rows = np.flatnonzero(who)
    n = len(rows)
    answers = []
    for inst in insts:
        ans = draw_items(models[inst], theta[(wave, inst)][rows], rng)
        if inst in spec.post_only_instruments and inst not in spec.instruments:
            ans[~treated[rows]] = np.nan  # mentor ratings only from mentees
        answers.append(ans)
    items = [i for inst in insts for i in models[inst].items]
    values = np.hstack(answers) if answers else np.empty((n, 0))

    # careless responders: only their rows are redrawn
    u = mess.random(n)
    straight = u < spec.straightliners
    speeder = (u >= spec.straightliners) & (u < spec.straightliners + spec.speeders)
    careless = np.where(straight, "straightliner", np.where(speeder, "speeder", "")).astype(object)
    pos = mess.choice(np.array([0.0, 0.5, 1.0]), size=n)
    width = max((models[i].codes.shape[1] for i in insts), default=1)
    codes = np.full((len(items), width), np.nan)
    j0 = 0
    for inst in insts:
        c = models[inst].codes
        codes[j0 : j0 + len(c), : c.shape[1]] = c
        j0 += len(c)
    k = np.concatenate([models[i].n_categories for i in insts]) if insts else np.empty(0, np.int64)
    jj = np.arange(len(items))
    for sel, cat in (
        (straight, lambda r: np.round(pos[r][:, None] * (k[None, :] - 1)).astype(np.int64)),
        (
            speeder,
            lambda r: np.floor(mess.random((len(r), len(items))) * k[None, :]).astype(np.int64),
        ),
    ):
        r = np.flatnonzero(sel)
        if len(r):
            block = values[r]
            values[r] = np.where(np.isnan(block), np.nan, codes[jj, cat(r)])

    # item non-response (MCAR); a third of skips carry the instrument's missing code, if any
    if spec.item_nonresponse > 0:
        skip = (mess.random(values.shape) < spec.item_nonresponse) & ~np.isnan(values)
        miss = np.array(
            [
                next(
                    (mc.code for mc in models[inst].instrument.item_response_scale(i).missing),
                    np.nan,
                )
                for inst in insts
                for i in models[inst].items
            ]
        )
        coded = skip & ~np.isnan(miss)[None, :] & (mess.random(values.shape) < 1 / 3)
        values[skip] = np.nan
        values = np.where(coded, miss[None, :], values)

    # timing: survey window of three weeks after the wave opens
    base = np.datetime64(spec.start, "s")
    if wave == "post":
        base = base + np.timedelta64(spec.programme_days, "D")
    day = meta.integers(0, 21, size=n)
    second = meta.integers(8 * 3600, 23 * 3600, size=n)
    started = base + (day * 86400 + second).astype("timedelta64[s]")
    duration = np.round(60 + values.shape[1] * 9 * meta.lognormal(0.0, 0.35, size=n)).astype(
        np.int64
    )
    duration[speeder] = meta.integers(20, 60, size=int(speeder.sum()))
    submitted = started + duration.astype("timedelta64[s]")

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
    item_frame = pd.DataFrame(values, columns=items)

    # duplicate submissions: fresh answers from the same latent scores, submitted later
    dup = np.flatnonzero(mess.random(n) < spec.duplicates)
    if len(dup):
        again = frame.iloc[dup].copy()
        delay = meta.integers(2 * 3600, 3 * 86400, size=len(dup)).astype("timedelta64[s]")
        again["started_at"] = again["submitted_at"].to_numpy() + delay
        again["submitted_at"] = again["started_at"].to_numpy() + again[
            "duration_s"
        ].to_numpy().astype("timedelta64[s]")
        again["careless"] = ""
        again["duplicate"] = True
        fresh = []
        for inst in insts:
            m = models[inst]
            ans = draw_items(m, theta[(wave, inst)][rows[dup]], mess)
            if inst in spec.post_only_instruments and inst not in spec.instruments:
                ans[~treated[rows[dup]]] = np.nan
            fresh.append(ans)
        dup_items = pd.DataFrame(np.column_stack(fresh), columns=items)
        frame = pd.concat([frame, again], ignore_index=True)
        item_frame = pd.concat([item_frame, dup_items], ignore_index=True)

    order = np.lexsort(
        (frame["student_id"].to_numpy().astype(str), frame["submitted_at"].to_numpy())
    )
    frame = frame.iloc[order].reset_index(drop=True)
    item_frame = pd.DataFrame(item_frame.to_numpy()[order], columns=items)
    out = pd.concat([frame, item_frame], axis=1)
    out["response_id"] = _response_ids(len(out), meta)
    return out


def _response_ids(n: int, rng: np.random.Generator) -> np.ndarray:
    """Qualtrics-style response ids ``R_`` + 15 letters/digits."""
    chars = np.array(
        list("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"), dtype="<U1"
    )
    drawn = np.ascontiguousarray(chars[rng.integers(0, len(chars), size=(n, 15))])
    return np.char.add("R_", drawn.view("<U15").ravel()).astype(object)
