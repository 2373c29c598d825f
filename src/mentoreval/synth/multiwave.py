"""A linked study with more than two waves and known truth (stage: *test data*).

:func:`generate_waves` draws students (mentored or in a comparison group) whose latent
score at wave ``w`` is ``theta_iw = mu_aw + sqrt(rho) u_i + sqrt(1 - rho) e_iw`` (``u``,
``e`` standard normal, ``a`` the arm): a random intercept per student and the arm's mean
trajectory ``mu_a`` in SD units. Each student answers each wave with the wave's
``retention`` probability (everyone answers the first). Item answers come from the
instrument's measurement model (:func:`~mentoreval.synth.items.draw_items`).

The truth is the *expected observed scale score* of each arm at each wave
(:func:`~mentoreval.synth.items.expected_scale_score`: the marginal latent distribution is
``N(mu_aw, 1)``, exact, no simulation) and its change from the first wave: what
:func:`~mentoreval.stats.multiwave.fit_multiwave` estimates. :func:`write_waves_study`
writes one CSV export per wave and a ``study.yaml`` with ``analysis.waves``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from mentoreval.synth.items import ItemModel, draw_items, expected_scale_score, item_model

__all__ = ["MultiWaveData", "generate_waves", "write_waves_study"]

#: Default mean latent trajectories (SD units, first wave 0): the mentored improve to the
#: end of the programme and keep most of it at follow-up; the comparison group drifts.
TRAJECTORY = {"mentored": (0.0, 0.25, 0.45, 0.35), "comparison": (0.0, 0.05, 0.1, 0.1)}


@dataclass(frozen=True)
class MultiWaveData:
    """Synthetic multi-wave responses and their truth.

    Attributes
    ----------
    responses
        One row per student and wave answered: ``student_id``, ``wave``, ``group``, the
        item columns (item ids).
    truth
        ``instrument``, ``scale``, ``group``, ``wave``, ``expected`` (expected observed
        score), ``change`` (``expected`` minus the first wave's).
    waves
        The waves, in order.
    """

    responses: pd.DataFrame
    truth: pd.DataFrame
    waves: tuple[str, ...]


def generate_waves(
    n_students: int = 160,
    *,
    waves: Sequence[str] = ("pre", "mid", "post", "followup"),
    trajectory: Mapping[str, Sequence[float]] | None = None,
    comparison_share: float = 0.5,
    retention: Sequence[float] = (1.0, 0.85, 0.8, 0.7),
    correlation: float = 0.6,
    instrument: str = "who5",
    seed: int = 11,
) -> MultiWaveData:
    """Draw a multi-wave cohort (see the module docstring).

    Parameters
    ----------
    n_students
        Students drawn.
    waves
        Wave names in time order.
    trajectory
        Mean latent score per arm and wave (SD units, in the scale's better direction);
        default :data:`TRAJECTORY`. One arm (``{"mentored": ...}``) makes a single-group study.
    comparison_share
        Share of students in the comparison arm (when it is in ``trajectory``).
    retention
        Probability of answering each wave (the first is answered by everyone).
    correlation
        ``rho``, the share of latent variance between students.
    instrument
        A shipped single-factor instrument.
    seed
        Seed of the one random generator.

    Examples
    --------
    >>> d = generate_waves(40, seed=1)
    >>> d.responses.groupby("wave", sort=False).size().index.tolist()
    ['pre', 'mid', 'post', 'followup']
    >>> t = d.truth[(d.truth["group"] == "mentored")]
    >>> bool(t["change"].iloc[0] == 0 and t["change"].iloc[2] > 5)
    True
    """
    traj = {a: tuple(float(x) for x in v) for a, v in (trajectory or TRAJECTORY).items()}
    waves = tuple(waves)
    if any(len(v) != len(waves) for v in traj.values()) or len(retention) != len(waves):
        raise ValueError("trajectory and retention need one value per wave")
    rng = np.random.default_rng(seed)
    model = item_model(instrument)
    arms = list(traj)
    control = (
        rng.random(n_students) < comparison_share if len(arms) > 1 else np.zeros(n_students, bool)
    )
    arm = np.where(control, arms[-1], arms[0])
    mu = np.array([traj[a] for a in arm])  # students × waves
    u = rng.standard_normal(n_students)
    ids = np.array([f"{2500001 + i}" for i in range(n_students)])
    parts = []
    for j, wave in enumerate(waves):
        e = rng.standard_normal(n_students)
        theta = mu[:, j] + np.sqrt(correlation) * u + np.sqrt(1 - correlation) * e
        answers = draw_items(model, theta[:, None], rng).astype(float)
        seen = np.ones(n_students, bool) if j == 0 else rng.random(n_students) < retention[j]
        frame = pd.DataFrame(answers[seen], columns=model.items)
        frame.insert(0, "group", arm[seen])
        frame.insert(0, "wave", wave)
        frame.insert(0, "student_id", ids[seen])
        parts.append(frame)
    return MultiWaveData(
        responses=pd.concat(parts, ignore_index=True),
        truth=_truth(model, instrument, traj, waves),
        waves=waves,
    )


def _truth(
    model: ItemModel, instrument: str, traj: Mapping[str, tuple[float, ...]], waves: Sequence[str]
) -> pd.DataFrame:
    """Expected observed score of every scale, arm and wave, and its change from baseline."""
    rows = []
    for scale in model.instrument.scales:
        for a, means in traj.items():
            base = None
            for w, m in zip(waves, means, strict=True):
                value = expected_scale_score(model, scale.id, [(np.ones(1), np.array([m]))])
                base = value if base is None else base
                rows.append((instrument, scale.id, a, w, value, value - base))
    return pd.DataFrame(
        rows, columns=["instrument", "scale", "group", "wave", "expected", "change"]
    )


def write_waves_study(
    folder: str | Path,
    *,
    title: str = "Multi-wave mentoring study (synthetic)",
    key_file: str = "../../demo.key",
    contrast: Sequence[str] | None = None,
    linked: bool = True,
    design: str | None = None,
    **options: object,
) -> tuple[Path, MultiWaveData]:
    """Write one export per wave (``exports/<wave>.csv``), ``truth.csv`` and a ``study.yaml``
    with ``analysis.waves`` (and a comparison group when there are two arms) into ``folder``;
    ``options`` go to :func:`generate_waves`. ``linked=False`` writes an anonymous survey
    (no id column, ``participant_id: none``); ``design`` sets ``analysis.design`` (e.g.
    ``"randomised"`` for a waitlist control). Returns the config's path and the data.

    Examples
    --------
    >>> import tempfile
    >>> path, data = write_waves_study(Path(tempfile.mkdtemp()), n_students=30, seed=2)
    >>> sorted(p.name for p in (path.parent / "exports").iterdir())
    ['followup.csv', 'mid.csv', 'post.csv', 'pre.csv']
    """
    data = generate_waves(**options)  # type: ignore[arg-type]  # generate_waves' keywords
    folder = Path(folder)
    (folder / "exports").mkdir(parents=True, exist_ok=True)
    sources = []
    for wave in data.waves:
        rows = data.responses[data.responses["wave"] == wave].drop(columns="wave")
        if not linked:
            rows = rows.drop(columns="student_id")
        path = folder / "exports" / f"{wave}.csv"
        rows.to_csv(path, index=False, float_format="%g", lineterminator="\n")
        sources.append({"path": f"exports/{wave}.csv", "format": "csv", "wave": wave})
    data.truth.to_csv(folder / "truth.csv", index=False, float_format="%.6f", lineterminator="\n")
    arms = list(dict.fromkeys(data.truth["group"]))
    instrument = str(data.truth["instrument"].iloc[0])
    analysis: dict[str, object] = {"waves": list(data.waves)}
    if contrast is not None:
        analysis["contrast"] = list(contrast)
    if len(arms) > 1:
        analysis["group"] = {"column": "group", "treated": arms[0], "control": arms[-1]}
    if design is not None:
        analysis["design"] = design
    config = {
        "title": title,
        "key_file": key_file,
        "participant_id": ({"column": "student_id", "pattern": "^[0-9]{7}$"} if linked else "none"),
        "sources": sources,
        "columns": {"group": "group"} if len(arms) > 1 else {},
        "instruments": {instrument: None},
        "analysis": analysis,
    }
    if len(arms) == 1:
        del config["columns"]
    path = folder / "study.yaml"
    path.write_text(
        f"# {title}; made by mentoreval.synth.multiwave.\n"
        "# key_file is a path, never a key; `make demo` sets MENTOREVAL_KEY_FILE.\n"
        + yaml.safe_dump(config, sort_keys=False),
        encoding="utf-8",
    )
    return path, data
