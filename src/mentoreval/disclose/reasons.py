"""The vocabulary shared by the release registry and the attacker's audit: why a count is
hidden, and how a count is named in the release ledger."""

from __future__ import annotations

from typing import Literal

__all__ = ["PRIMARY_REASONS", "LedgerKey", "Reason"]

#: A count's key in the release ledger: (study, table, row, statistic).
LedgerKey = tuple[str, str, str, str]
#: Why a count is hidden. ``"unpublished"``: never shown (a complement implied by a share).
Reason = Literal["small", "class", "differencing", "complementary", "unpublished"]
#: The reasons that make a count a primary suppression: its value must stay unknown.
PRIMARY_REASONS: frozenset[str] = frozenset({"small", "class", "differencing"})
