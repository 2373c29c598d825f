"""Local instruments (issue 14): defaults for a programme's own few items, the starter
definition ``mentoreval instruments new`` prints, dotted item ids and id messages."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from cli_run import run_mentoreval
from mentoreval.errors import InstrumentError
from mentoreval.instruments.definitions import check_definition_text, load_instrument

MINI = """id: mini
licence: local
response_scales:
  default: {codes: [1, 2, 3, 4], labels: [Never, Sometimes, Often, Always]}
items:
  - {id: at.ease}
  - {id: calm}
  - {id: tense, reverse: true}
scales:
  - {id: total, items: [at.ease, calm, tense], higher_is_better: true}
  - {id: summed, items: [at.ease, calm, tense], method: sum, min_answered: 2,
     transform: {linear: {multiply: -2, add: 1}}, higher_is_better: false}
"""


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return run_mentoreval(*args)


def test_local_instrument_needs_only_items_scales_and_direction() -> None:
    inst = check_definition_text(MINI, "mini.yaml")
    assert (inst.title, inst.version, inst.citation, inst.domain) == ("mini", "1", None, "other")
    assert inst.licence.name == "local" and inst.licence.ship_item_text
    total, summed = inst.scales
    assert (total.method, total.min_answered, total.range) == ("mean", 3, [1.0, 4.0])
    # raw sum 3..12, times -2 plus 1: -23..-5
    assert (summed.range, summed.min_answered) == ([-23.0, -5.0], 2)
    assert inst.item_ids == ["at.ease", "calm", "tense"]


def test_direction_has_no_default() -> None:
    with pytest.raises(InstrumentError) as info:
        check_definition_text(MINI.replace(", higher_is_better: true", ""), "mini.yaml")
    assert "scales[0].higher_is_better" in str(info.value.problems)


def test_invalid_item_id_says_the_rule_and_a_name_that_would_do() -> None:
    with pytest.raises(InstrumentError) as info:
        check_definition_text(MINI.replace("{id: calm}", "{id: Calm-Now}"), "mini.yaml")
    said = "\n".join(map(str, info.value.problems))
    assert "items[1].id: 'Calm-Now' is not a valid id" in said
    assert "rename it, e.g. 'calm_now'" in said and "at.ease" in said


def test_instruments_new_prints_a_definition_that_loads(tmp_path: Path) -> None:
    out = run("instruments", "new", "--items", "20", "--scale", "1-4", "--reverse", "1,2,5")
    assert out.returncode == 0, out.stderr
    path = tmp_path / "local_items.yaml"
    path.write_text(out.stdout, encoding="utf-8")
    inst = load_instrument(path)
    assert len(inst.items) == 20 and inst.response_scales["default"].codes == [1, 2, 3, 4]
    assert [i.id for i in inst.items if i.reverse] == [
        "local_items_1",
        "local_items_2",
        "local_items_5",
    ]
    assert inst.scale("total").min_answered == 16 and inst.scale("total").range == [1.0, 4.0]
    shown = run("instruments", "show", path)
    assert shown.returncode == 0 and "Licence: local" in shown.stdout
    assert "Citation: none (a local instrument)" in shown.stdout


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--scale", "4-1"], "--scale '4-1' is not a range of whole-number codes"),
        (["--reverse", "1,7"], "--reverse: '7' is not an item number from 1 to 3"),
    ],
)
def test_instruments_new_refuses_bad_options_with_exit_2(args: list[str], said: str) -> None:
    out = run("instruments", "new", "--items", "3", *args)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert said in out.stderr
