"""Disclosure settings: the profile and threshold *k* a study or annual config asks for.

Configuration layer: a plain value object, so config models can hold it; what the policy does
to tables is :mod:`mentoreval.disclose`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import pandas as pd

from mentoreval.errors import DisclosureError, Problem

__all__ = ["DisclosurePolicy", "Profile"]

PROFILE_K: dict[str, int] = {"default": 10, "nhs": 8, "off": 0}
PROFILE_ROUND: dict[str, int | None] = {"default": None, "nhs": 5, "off": None}


Profile = Literal["default", "nhs", "off"]


CellKind = Literal["number", "count", "percent", "p"]


_OFF_WARNING = (
    "DISCLOSURE CONTROL IS OFF: small cells, 0%/100% groups and exact counts are shown. "
    "This report is for internal use only and must not be shared outside the team."
)


@dataclass(frozen=True)
class DisclosurePolicy:
    """How small cells are protected.

    Parameters
    ----------
    profile
        ``"default"`` (k = 10), ``"nhs"`` (suppress 1–7, round other counts to 5, means
        need n ≥ 8) or ``"off"`` (nothing suppressed; loudly reported).
    k
        Minimum number of distinct students behind any published number. Defaults to
        the profile's value; must be at least 2 unless the profile is ``"off"``.
    round_to
        Round published counts to this base (NHS: 5). Defaults to the profile's value.

    Examples
    --------
    >>> DisclosurePolicy().k, DisclosurePolicy().label
    (10, '[c]')
    >>> p = DisclosurePolicy(profile="nhs")
    >>> p.k, p.round_to, p.round_count(12), p.round_count(0)
    (8, 5, 10.0, 0.0)
    >>> DisclosurePolicy(profile="off").warning.startswith("DISCLOSURE CONTROL IS OFF")
    True
    >>> DisclosurePolicy(profile="hesa")
    Traceback (most recent call last):
    ...
    mentoreval.errors.DisclosureError: unknown disclosure profile 'hesa' (fix: use one of 'default', 'nhs', 'off')
    """

    profile: Profile = "default"
    k: int | None = None
    round_to: int | None = None

    def __post_init__(self) -> None:
        if self.profile not in PROFILE_K:
            choices = ", ".join(repr(c) for c in get_args(Profile))
            problem = Problem(
                f"unknown disclosure profile {self.profile!r}", fix=f"use one of {choices}"
            )
            raise DisclosureError(str(problem), (problem,))
        if self.k is None:
            object.__setattr__(self, "k", PROFILE_K[self.profile])
        if self.round_to is None:
            object.__setattr__(self, "round_to", PROFILE_ROUND[self.profile])
        k = self.k
        if isinstance(k, bool) or not isinstance(k, int | np.integer):
            problem = Problem(f"threshold k={k!r} is not an integer", key="disclosure.k")
            raise DisclosureError(str(problem), (problem,))
        if self.profile != "off" and k < 2:
            problem = Problem(
                f"threshold k={k} would publish single students",
                key="disclosure.k",
                fix="use k >= 2, or profile 'off' for internal use",
            )
            raise DisclosureError(str(problem), (problem,))
        if self.round_to is not None and self.round_to < 1:
            problem = Problem(f"round_to={self.round_to} must be >= 1", key="disclosure")
            raise DisclosureError(str(problem), (problem,))

    @property
    def threshold(self) -> int:
        """The threshold k as an ``int`` (0 when the profile is ``"off"``)."""
        return 0 if self.k is None else int(self.k)

    @property
    def active(self) -> bool:
        """Whether anything is suppressed at all."""
        return self.profile != "off"

    @property
    def label(self) -> str:
        """How a hidden cell is shown: ``"[c]"``, one neutral mark for every hidden number.

        Primary and complementary suppressions look alike (as the UK statistical
        services publish them), so a reader cannot tell the small cell from the large one
        hidden to protect it, and no hidden count of 62 is labelled "< 10".
        """
        return "[c]"

    @property
    def warning(self) -> str | None:
        """The message a report must show when disclosure control is off, else ``None``."""
        return _OFF_WARNING if not self.active else None

    def is_small(self, n: float) -> bool:
        """Whether a count or an n lies in ``1 .. k-1`` (NaN is not small).

        Examples
        --------
        >>> p = DisclosurePolicy()
        >>> p.is_small(0), p.is_small(3), p.is_small(10)
        (False, True, False)
        """
        if not self.active or n is None or pd.isna(n):
            return False
        return 1 <= float(n) < self.threshold

    def round_count(self, n: float) -> float:
        """Round a published count to :attr:`round_to` (halves up); others unchanged."""
        if self.round_to is None or pd.isna(n):
            return n
        base = self.round_to
        return float(base * math.floor(float(n) / base + 0.5))


def policy_or_default(policy: DisclosurePolicy | None) -> DisclosurePolicy:
    return DisclosurePolicy() if policy is None else policy
