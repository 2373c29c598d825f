"""Draft a study config from survey exports (``mentoreval init``; stage: map).

:func:`draft_study` reads every export given, proposes each column's role with its
confidence and evidence — the participant id, waves (REDCap events, file names, dates), the
group and covariates, platform metadata, identifying columns to drop, and the items of
every known instrument (by response labels, item ids, REDCap fields, item text and
Qualtrics matrix numbering) — checks each item's keying against its scale, and returns a
:class:`StudyDraft`: ``.table()`` (tidy), ``.to_yaml()`` (commented ``study.yaml`` with
``TODO`` keys that ``mentoreval validate`` refuses until decided) and ``.write(path)``.

Modules: :mod:`.evidence` (reading, column profiles), :mod:`.items` (instrument matching),
:mod:`.roles` (id, waves, other roles), :mod:`.keying` (direction check), :mod:`.build`
(putting it together), :mod:`.model` (the draft), :mod:`.yamlout` (the YAML),
:mod:`.console` (the mapping table printed by the command).
"""

from .build import draft_study
from .model import InstrumentDraft, Proposal, SourceDraft, StudyDraft

__all__ = ["InstrumentDraft", "Proposal", "SourceDraft", "StudyDraft", "draft_study"]
