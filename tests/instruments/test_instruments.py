"""Instrument definitions: shipped files load; broken files report every problem at once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mentoreval.errors import InstrumentError
from mentoreval.instruments.definitions import list_instruments, load_instrument, load_instruments
from mentoreval.yamlio import load_yaml

SHIPPED = ["who5", "swemwbs", "cbi", "olbi", "pss10", "caas_sf", "career_confidence", "mes"]
BROKEN = Path(__file__).parents[1] / "fixtures" / "instruments_broken"


@pytest.mark.parametrize("inst_id", SHIPPED)
def test_every_shipped_instrument_loads(inst_id: str) -> None:
    inst = load_instrument(inst_id)
    assert inst.id == inst_id
    assert inst.citation and inst.licence.name
    for scale in inst.scales:
        assert set(scale.items) <= set(inst.item_ids)


@pytest.mark.parametrize("inst_id", SHIPPED)
def test_no_item_text_shipped_without_licence(inst_id: str) -> None:
    inst = load_instrument(inst_id)
    if not inst.licence.ship_item_text:
        assert all(item.text is None for item in inst.items)


def test_facts_from_the_instruments_reference() -> None:
    """Spot-check the V-marked facts against ../shared/reference/instruments.md."""
    cbi = load_instrument("cbi")
    assert [len(s.items) for s in cbi.scales] == [6, 7, 6]
    assert [i.id for i in cbi.items if i.reverse] == ["cbi_w7"]
    assert cbi.response_scales["default"].codes == [100, 75, 50, 25, 0]
    olbi = load_instrument("olbi")
    reversed_numbers = sorted(int(i.id.split("_")[1]) for i in olbi.items if i.reverse)
    assert reversed_numbers == [2, 3, 4, 6, 8, 9, 11, 12]
    assert [int(i.split("_")[1]) for i in olbi.scale("exhaustion").items] == [
        2,
        4,
        5,
        8,
        10,
        12,
        14,
        16,
    ]
    pss = load_instrument("pss10")
    assert sorted(int(i.id.split("_")[1]) for i in pss.items if i.reverse) == [4, 5, 7, 8]
    assert load_instrument("swemwbs").licence.ship_item_text is False
    assert len(load_instrument("mes").items) == 12
    assert [len(s.items) for s in load_instrument("caas_sf").scales[:4]] == [3, 3, 3, 3]


def test_list_instruments_table() -> None:
    table = list_instruments()
    assert set(SHIPPED) <= set(table["id"])
    assert {"id", "title", "domain", "n_items", "scales", "licence", "item_text_shipped"} <= set(
        table.columns
    )


def test_unknown_instrument_names_the_available_ones() -> None:
    with pytest.raises(InstrumentError, match=r"unknown instrument 'nope'.*who5"):
        load_instrument("nope")


def test_user_instrument_folder_via_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = (Path(load_instrument("who5").source_file or "")).read_text(encoding="utf-8")
    (tmp_path / "my_who.yaml").write_text(
        text.replace("\nid: who5\n", "\nid: my_who\n"), encoding="utf-8"
    )
    monkeypatch.setenv("MENTOREVAL_INSTRUMENTS", str(tmp_path))
    assert load_instrument("my_who").title == "WHO-5 Well-Being Index"
    assert "my_who" in set(list_instruments()["id"])


def test_file_id_must_match_name(tmp_path: Path) -> None:
    text = Path(load_instrument("who5").source_file or "").read_text(encoding="utf-8")
    (tmp_path / "other.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(InstrumentError, match="defines 'who5', not 'other'"):
        load_instrument("other", dirs=[tmp_path])


# -- broken definitions: every problem, at once, with file and key -------------------------

EXPECTED = {
    "many_problems.yaml": {
        "version": "valid string",
        "licence.ship_item_text": "valid boolean",
        "domain": "happiness",
        "colour": "Extra inputs",
        "scales[0].method": "median",
        "scales[0].min_answered": "'010'",
    },
    "bad_references.yaml": {
        "response_scales.default": "3 codes but 2 labels",
        "response_scales.other.codes": "codes repeat",
        "response_scales.other.labels": "labels repeat",
        "items[1].id": "duplicate item id 'q1'",
        "items[2].text": "licence does not allow",
        "items[3].response_scale": "unknown response scale 'missing_scale'",
    },
    "bad_scales.yaml": {
        "scales[0].items": "unknown item 'q9'",
        "scales[0].min_answered": "exceeds the 2 items",
        "scales[1].transform.lookup": "lacks raw score(s) [5, 6]",
        "scales[2].bands.cuts": "not in increasing order",
        "scales[2].bands.cuts[2].upper": "outside the range",
        "scales[2].bands.concerning": "'awful'",
        "scales[3].id": "duplicate scale id 's1'",
    },
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_file_reports_every_problem(name: str) -> None:
    path = BROKEN / name
    with pytest.raises(InstrumentError) as info:
        load_instrument(path)
    found: dict[str | None, str] = {}
    for p in info.value.problems:
        found[p.key] = found.get(p.key, "") + " | " + p.message
    for key, fragment in EXPECTED[name].items():
        assert key in found, f"{key} not reported; got {sorted(found)}"
        assert fragment in found[key]
    assert all(p.file == str(path) for p in info.value.problems)
    assert all(p.fix for p in info.value.problems)
    assert str(info.value).startswith(f"{len(info.value.problems)} problems in {path}")


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("malformed.yaml", "line 3, column 8"),
        ("duplicate_keys.yaml", "duplicate key 'id' (first on line 1)"),
        ("not_a_mapping.yaml", "expected a mapping"),
    ],
)
def test_unparseable_files(name: str, fragment: str) -> None:
    with pytest.raises(InstrumentError, match=re.escape(fragment)) as info:
        load_instrument(BROKEN / name)
    assert name in str(info.value)


def test_all_broken_files_reported_together() -> None:
    with pytest.raises(InstrumentError) as info:
        load_instruments(sorted(BROKEN.glob("*.yaml")))
    files = {Path(p.file).name for p in info.value.problems if p.file}
    files |= {n for n in EXPECTED if any(n in p.message for p in info.value.problems)}
    messages = " ".join(p.message for p in info.value.problems)
    assert set(EXPECTED) <= files
    for n in ["malformed.yaml", "duplicate_keys.yaml", "not_a_mapping.yaml"]:
        assert n in messages


def test_yaml_1_1_traps_are_kept_as_text() -> None:
    data = load_yaml(
        "t.yaml", text="a: NO\nb: yes\nc: 010\nd: 12:30\ne: 2026-01-01\nf: 0x1F\ng: 1.5\n"
    )
    assert data == {
        "a": "NO",
        "b": "yes",
        "c": "010",
        "d": "12:30",
        "e": "2026-01-01",
        "f": "0x1F",
        "g": 1.5,
    }


def test_yaml_object_construction_is_refused() -> None:
    with pytest.raises(InstrumentError, match="could not determine a constructor"):
        load_yaml(
            "t.yaml", text="x: !!python/object/apply:os.system [echo hi]", error=InstrumentError
        )
