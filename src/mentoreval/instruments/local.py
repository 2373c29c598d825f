"""A local instrument made easy: defaults for what a programme's own few items lack, and a
starter definition (stage: instruments).

:func:`local_defaults` fills, before validation, what a short home-grown questionnaire
need not say: ``licence: local`` stands for a licence that ships the item text, the title
is the id, a scale's ``min_answered`` is all its items and its ``range`` the range its
items can reach (through a linear transform or lookup table when there is one). ``version``
(``"1"``), ``citation`` (none), ``domain`` (``other``), an item's ``text`` (none) and a
scale's ``method`` (``mean``) have defaults in the model itself. A scale's direction
(``higher_is_better``) has no default: guessing it would turn every finding around.
:func:`starter_yaml` writes the definition ``mentoreval instruments new`` prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mentoreval.errors import InstrumentError

__all__ = ["local_defaults", "parse_codes", "parse_reverse", "starter_yaml"]

LOCAL_LICENCE = {"name": "local", "ship_item_text": True, "source": "written for this programme"}


def _item_codes(data: dict[str, Any], item_id: Any) -> list[float]:
    scales = data["response_scales"]
    item = next(i for i in data["items"] if isinstance(i, dict) and i.get("id") == item_id)
    return [float(c) for c in scales[item.get("response_scale", "default")]["codes"]]


def _default_range(data: dict[str, Any], scale: dict[str, Any]) -> list[float] | None:
    """The range a scale's scores can reach, or None when the definition is too broken to
    say (validation then names what is missing)."""
    try:
        codes = [_item_codes(data, i) for i in scale["items"]]
        lows, highs = [min(c) for c in codes], [max(c) for c in codes]
        k = 1.0 if scale.get("method", "mean") == "sum" else 1.0 / len(codes)
        low, high = sum(lows) * k, sum(highs) * k
        transform = scale.get("transform") or {}
        if transform.get("lookup"):
            values = [float(v) for v in transform["lookup"].values()]
            return [min(values), max(values)]
        if transform.get("linear"):
            m = float(transform["linear"].get("multiply", 1.0))
            a = float(transform["linear"].get("add", 0.0))
            low, high = sorted((low * m + a, high * m + a))
        return [low, high]
    except (KeyError, TypeError, ValueError, StopIteration, ZeroDivisionError, AttributeError):
        return None


def local_defaults(data: Any) -> Any:
    """``data`` (a definition as read from YAML) with the local defaults filled in; anything
    that is not a mapping is returned as is (validation reports it).

    Examples
    --------
    >>> d = local_defaults({"id": "mini", "licence": "local",
    ...     "response_scales": {"default": {"codes": [1, 2, 3, 4], "labels": list("abcd")}},
    ...     "items": [{"id": "m1"}, {"id": "m2"}],
    ...     "scales": [{"id": "total", "items": ["m1", "m2"], "higher_is_better": True}]})
    >>> d["title"], d["licence"]["ship_item_text"], d["scales"][0]["range"], d["scales"][0]["min_answered"]
    ('mini', True, [1.0, 4.0], 2)
    """
    if not isinstance(data, dict):
        return data
    out = dict(data)
    if out.get("licence") == "local":
        out["licence"] = dict(LOCAL_LICENCE)
    if "title" not in out and isinstance(out.get("id"), str):
        out["title"] = out["id"]
    if isinstance(out.get("scales"), list):
        scales = []
        for scale in out["scales"]:
            if isinstance(scale, dict):
                scale = dict(scale)
                if "title" not in scale and isinstance(scale.get("id"), str):
                    scale["title"] = scale["id"]
                if "min_answered" not in scale and isinstance(scale.get("items"), list):
                    scale["min_answered"] = len(scale["items"])
                if "range" not in scale:
                    # a placeholder when the items cannot be resolved: the unknown item is
                    # reported, and a wrong range would fail the range check anyway
                    scale["range"] = _default_range(out, scale) or [0.0, 0.0]
            scales.append(scale)
        out["scales"] = scales
    return out


def starter_yaml(
    inst_id: str, n_items: int, low: int, high: int, reverse: Sequence[int] = ()
) -> str:
    """A definition to start from: ``n_items`` items answered ``low``–``high``, the
    ``reverse`` ones (1-based) reverse-keyed, one mean scale. It loads as printed; the
    labels, item text and direction are to be written.

    >>> print(starter_yaml("mini", 2, 1, 3, [2]).splitlines()[0])
    # A local instrument: fill in the TODOs, then save it as mini.yaml in a folder named
    """
    codes = list(range(low, high + 1))
    labels = ", ".join(f'"TODO label for {c}"' for c in codes)
    items = "\n".join(
        f'  - {{id: {inst_id}_{k}, text: "TODO item {k} wording"'
        + (", reverse: true}" if k in set(reverse) else "}")
        for k in range(1, n_items + 1)
    )
    ids = ", ".join(f"{inst_id}_{k}" for k in range(1, n_items + 1))
    return f"""# A local instrument: fill in the TODOs, then save it as {inst_id}.yaml in a folder named
# under instrument_dirs: in study.yaml (or in MENTOREVAL_INSTRUMENTS). See docs/instruments.md.
id: {inst_id}
title: TODO the questionnaire's title
licence: local                 # written for this programme; item text may be shipped
# version: "1"                 # defaults: version "1", no citation, domain other
# citation: null
# domain: other                # wellbeing | burnout | career | mentoring | other
response_scales:
  default:
    codes: [{", ".join(map(str, codes))}]
    labels: [{labels}]
items:
{items}
scales:
  - id: total
    title: TODO the scale's title (mean {low}–{high})
    items: [{ids}]
    method: mean               # mean | sum
    min_answered: {max(1, -(-n_items * 8 // 10))}              # 80% of the items (default: all of them)
    higher_is_better: true     # TODO: false when a higher score is worse (e.g. burnout)
    # range: [{low}, {high}]   # default: the range the items can reach
"""


def parse_codes(text: str) -> tuple[int, int]:
    """``--scale 1-4`` → ``(1, 4)``.

    >>> parse_codes("0-5")
    (0, 5)
    """
    low, sep, high = text.strip().partition("-")
    if sep and low.strip().isdigit() and high.strip().isdigit() and int(low) < int(high):
        return int(low), int(high)
    raise InstrumentError(
        f"--scale {text!r} is not a range of whole-number codes (fix: write it as low-high, "
        "e.g. --scale 1-4 or --scale 0-5)"
    )


def parse_reverse(text: str | None, n_items: int) -> list[int]:
    """``--reverse 1,2,5`` → ``[1, 2, 5]``, each an item number from 1 to ``n_items``.

    >>> parse_reverse("1, 2,5", 6)
    [1, 2, 5]
    """
    if not text:
        return []
    parts = [p.strip() for p in text.split(",") if p.strip()]
    bad = [p for p in parts if not p.isdigit() or not 1 <= int(p) <= n_items]
    if bad:
        raise InstrumentError(
            f"--reverse: {', '.join(map(repr, bad))} is not an item number from 1 to "
            f"{n_items} (fix: list item numbers separated by commas, e.g. --reverse 1,2,5)"
        )
    return sorted({int(p) for p in parts})
