"""The study design a config implies: its waves, whether they are linked, and its groups.

:func:`study_design` reads it from a validated :class:`~mentoreval.config.study_model.StudyConfig`
(nothing is read from the exports), so ``validate`` can say what will be analysed before
anything runs, and the report can choose its analysis:

- the waves are ``analysis.waves`` when given; otherwise the one wave every source gives
  (a post-only survey) unless the config names ``analysis.pre`` or ``analysis.post``
  (then a missing wave is an error, never a silent switch to one wave); else
  ``analysis.pre`` and ``analysis.post``;
- responses are linked by ``participant_id.column`` unless the config says
  ``participant_id: none`` (an anonymous survey) or ``participant_id.linked: false``;
- a comparison group is ``analysis.group`` (treated and control levels).
"""

from __future__ import annotations

from dataclasses import dataclass

from mentoreval.config.study_model import GroupSpec, StudyConfig

__all__ = ["Design", "source_waves", "study_design"]


@dataclass(frozen=True)
class Design:
    """What a study's analysis will be.

    Attributes
    ----------
    waves
        The waves analysed, in order (one for a single-wave survey).
    linked
        Whether a participant id links a student's responses across waves.
    id_column
        The id column (``None`` for an anonymous survey).
    group
        The comparison group's column and levels, or ``None``.
    contrast
        The primary contrast (earlier wave, later wave); default the first and last wave.
    sgic
        Whether the responses are linked by a self-generated identification code.
    randomised
        Whether the config states ``analysis.design: randomised``.
    """

    waves: tuple[str, ...]
    linked: bool
    id_column: str | None
    group: GroupSpec | None
    contrast: tuple[str, str] | None = None
    sgic: bool = False
    randomised: bool = False

    @property
    def primary(self) -> tuple[str, str]:
        """The waves of the primary contrast (earlier, later)."""
        return self.contrast or (self.waves[0], self.waves[-1])

    @property
    def multiwave(self) -> bool:
        """More than two linked waves: the multi-wave model beside the paired contrast."""
        return self.paired and len(self.waves) > 2

    @property
    def single_wave(self) -> bool:
        """One wave only: descriptions, no change statistics."""
        return len(self.waves) == 1

    @property
    def paired(self) -> bool:
        """Whether paired (within-student) statistics apply: linked, two or more waves."""
        return self.linked and not self.single_wave

    @property
    def kind(self) -> str:
        """The report's design label: ``single_wave``, ``unlinked``, ``comparison`` or
        ``single_arm`` (the last two are the linked designs)."""
        if self.single_wave:
            return "single_wave"
        if not self.linked:
            return "unlinked"
        return "comparison" if self.group is not None else "single_arm"

    def describe(self) -> str:
        """The design in one sentence, as ``validate`` prints it.

        Examples
        --------
        >>> g = GroupSpec(column="group", treated="mentored", control="comparison")
        >>> Design(("pre", "mid", "post"), True, "sid", g).describe()
        "Design: 3 waves (pre, mid, post), linked by id, comparison group (treated 'mentored', control 'comparison'); primary contrast post vs pre."
        >>> Design(("pre", "post"), False, None, None).describe()
        'Design: 2 waves (pre, post), unlinked (no participant id), single group.'
        >>> Design(("post",), False, "code", None).describe()
        "Design: 1 wave (post), single-wave survey (ids in 'code' are not linked), single group."
        >>> Design(("pre", "post"), True, None, None, sgic=True).describe()
        'Design: 2 waves (pre, post), linked by self-generated code, single group.'
        >>> Design(("pre", "post"), True, "sid", g, randomised=True).describe()
        "Design: 2 waves (pre, post), linked by id, randomised groups (treated 'mentored', control 'comparison')."
        """
        n = len(self.waves)
        waves = f"{n} wave{'s' if n != 1 else ''} ({', '.join(self.waves)})"
        if self.linked:
            how = "self-generated code" if self.sgic else "id"
            link = f"linked by {how}" if n > 1 else "single-wave survey"
        else:
            why = (
                "no participant id"
                if self.id_column is None
                else f"ids in {self.id_column!r} are not linked"
            )
            link = f"unlinked ({why})" if n > 1 else f"single-wave survey ({why})"
        arms = "randomised groups" if self.randomised else "comparison group"
        group = (
            f"{arms} (treated {self.group.treated!r}, control {self.group.control!r})"
            if self.group is not None
            else "single group"
        )
        primary = f"; primary contrast {self.primary[1]} vs {self.primary[0]}" if n > 2 else ""
        return f"Design: {waves}, {link}, {group}{primary}."


def source_waves(cfg: StudyConfig) -> list[str]:
    """The waves the sources give, in the order they are first named (a then-test source
    gives its retrospective wave too)."""
    waves: list[str] = []
    for src in cfg.sources:
        waves += [src.then] if src.then else []
        waves += [src.wave] if src.wave else [w for w in (src.events or {}).values() if w]
    return list(dict.fromkeys(waves))


def study_design(cfg: StudyConfig) -> Design:
    """The design of a validated config (see the module docstring).

    Examples
    --------
    >>> from mentoreval.config.study_model import StudyConfig
    >>> cfg = StudyConfig.model_validate({"title": "T", "participant_id": "none",
    ...     "sources": [{"path": "a.csv", "wave": "post"}], "instruments": {"who5": None}})
    >>> study_design(cfg).describe()
    'Design: 1 wave (post), single-wave survey (no participant id), single group.'
    """
    a = cfg.analysis
    given = source_waves(cfg)
    if a.waves:
        waves = tuple(a.waves)
    elif len(given) == 1 and not {"pre", "post"} & a.model_fields_set:
        waves = (given[0],)
    else:
        waves = (a.pre, a.post)
    return Design(
        waves=waves,
        linked=cfg.participant_id.linked,
        id_column=cfg.participant_id.column,
        group=a.group,
        contrast=(a.contrast[0], a.contrast[1]) if a.contrast and len(waves) > 1 else None,
        sgic=cfg.participant_id.sgic is not None,
        randomised=a.resolved_design == "randomised",
    )
