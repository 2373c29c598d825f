"""A retrospective pre-post ("then-test") study with known truth (stage: *test data*).

:func:`write_then_test_study` draws a cohort (:func:`~mentoreval.synth.cohort.generate_cohort`,
everyone mentored, no attrition) and writes what one survey after the programme holds: each
student's "now" answers (their post-wave answers) and "before the programme" answers — their
true pre-wave answers recalled ``recall_shift`` response codes lower (a response shift or
recall bias: students rate their former selves lower once they know more), clipped to the
response scale — with a ``study.yaml`` that maps both (``sources[].then``,
``instruments.<id>.then``). The truth returned says what a prospective pre/post design would
have measured and what the then-test's "before" answers were.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from mentoreval.instruments import load_instrument
from mentoreval.synth.cohort import generate_cohort
from mentoreval.synth.spec import CohortSpec

__all__ = ["ThenTestStudy", "write_then_test_study"]


@dataclass(frozen=True)
class ThenTestStudy:
    """A then-test study written to a folder.

    Attributes
    ----------
    config
        The ``study.yaml`` written.
    export
        The survey export (``post.csv``): ``student_id``, the "now" item columns (item ids)
        and the "before" columns (``<item>_before``).
    before, prospective_pre
        Per student (index ``student_id``) and item: the "before" answers written, and the
        answers the student gave at a real pre wave (the truth without recall bias).
    """

    config: Path
    export: Path
    before: pd.DataFrame
    prospective_pre: pd.DataFrame


def write_then_test_study(
    folder: str | Path,
    *,
    n_students: int = 60,
    seed: int = 7,
    effect: float = 0.4,
    recall_shift: float = 1.0,
    instrument: str = "who5",
    key_file: str = "demo.key",
) -> ThenTestStudy:
    """Write a then-test export and its ``study.yaml`` into ``folder`` (see the module docstring).

    Examples
    --------
    >>> import tempfile
    >>> study = write_then_test_study(Path(tempfile.mkdtemp()), n_students=12, seed=1)
    >>> pd.read_csv(study.export).shape
    (12, 11)
    >>> bool((study.before <= study.prospective_pre).all().all())
    True
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    spec = CohortSpec(
        n_students=n_students,
        seed=seed,
        instruments=(instrument,),
        post_only_instruments=(),
        effects={instrument: effect},
    )
    subs = generate_cohort(spec).submissions
    subs = subs[~subs["duplicate"].astype(bool)]
    items = load_instrument(instrument).item_ids
    inst = load_instrument(instrument)
    low = np.array([inst.item_response_scale(i).low for i in items])
    high = np.array([inst.item_response_scale(i).high for i in items])
    pre = subs[subs["wave"] == "pre"].set_index("student_id")[items]
    post = subs[subs["wave"] == "post"].set_index("student_id")[items]
    pre = pre.loc[pre.index.intersection(post.index)]
    before = (pre - recall_shift).clip(lower=low, upper=high, axis=1)
    export = pd.concat([post.loc[pre.index], before.add_suffix("_before")], axis=1).reset_index()
    path = folder / "post.csv"
    export.to_csv(path, index=False, float_format="%g")
    config = {
        "title": f"Then-test demo ({instrument}, synthetic)",
        "key_file": key_file,
        "participant_id": {"column": "student_id"},
        "sources": [{"path": path.name, "wave": "post", "then": "pre"}],
        "instruments": {instrument: {"then": {i: f"{i}_before" for i in items}}},
        "analysis": {"pre": "pre", "post": "post"},
    }
    config_path = folder / "study.yaml"
    config_path.write_text(
        "# A retrospective pre-post (then-test) study: synthetic, see mentoreval.synth.thentest\n"
        + yaml.safe_dump(config, sort_keys=False),
        encoding="utf-8",
    )
    return ThenTestStudy(config_path, path, before, pre)
