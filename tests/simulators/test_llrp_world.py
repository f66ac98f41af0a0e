"""The tag world: scenarios (refused when wrong), items moving, leaving and arriving,
the RSSI and miss model, and the ground truth of where every item was when."""

from __future__ import annotations

import json
import random
from importlib import resources
from pathlib import Path

import pytest

from bohsense.contracts.epc import Sgtin96
from bohsense.simulators._tags import RFModel, Scenario, ScenarioError, TagWorld
from tests.simulators.llrp_support import SCENARIO, FakeClock, scenario, world


def test_the_packaged_store_scenario_loads() -> None:
    with resources.as_file(resources.files("bohsense.simulators") / "scenarios" / "store.toml") as path:
        sc = Scenario.load(path)
    assert [r.reader_id for r in sc.readers] == ["backroom-reader", "dock-reader"]
    assert sc.seed == 7
    assert sc.door_zone == "dock"
    assert Scenario.load(path, seed=99).seed == 99
    w = TagWorld(sc)
    assert len(w.items) == 12
    assert all(Sgtin96.from_bytes(k).to_bytes() == k for k in w.items)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"colour": "red"}, "unknown key"),
        ({"zones": [{"name": "a", "x": 0, "y": 0, "size": 3}]}, r"zones\[0\]: unknown key\(s\) size"),
        ({"zones": [{"name": "a", "x": 0, "y": 0}, {"name": "a", "x": 1, "y": 1}]}, "same name"),
        ({"readers": []}, "at least one reader"),
        ({"readers": [{"id": "x", "antennas": [{"id": 2, "x": 0, "y": 0}]}]}, r"ids must be 1\.\.1"),
        ({"stock": [{"gtin": "80614141123457", "company_prefix_digits": 7, "zone": "backroom", "count": 1}]},
         "bad-check-digit"),
        ({"stock": [{"gtin": "80614141123458", "company_prefix_digits": 7, "zone": "attic", "count": 1}]},
         "no zone named 'attic'"),
        ({"moves": [{"at": "soon", "from": "backroom", "to": "floor", "count": 1}]}, "must be a number"),
        ({"door_zone": None, "departures": [{"at": 1, "from": "floor", "count": 1}]}, "set door_zone"),
        ({"rf": {"miss_rate": 1.5}}, "miss_rate"),
        ({"rf": {"loudness": 3}}, "unknown key"),
    ],
)  # fmt: skip
def test_a_bad_scenario_is_refused_naming_the_key(change: dict[str, object], message: str) -> None:
    doc = scenario(**change)
    if doc.get("door_zone") is None:
        doc.pop("door_zone", None)
    with pytest.raises(ScenarioError, match=message):
        Scenario.from_dict(doc)


def test_a_scenario_file_that_is_not_toml_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("seed = = 3")
    with pytest.raises(ScenarioError, match=r"bad\.toml"):
        Scenario.load(bad)


def test_ground_truth_follows_moves_departures_and_deliveries(tmp_path: Path) -> None:
    clock = FakeClock()
    doc = scenario(
        moves=[{"at": 2.0, "from": "backroom", "to": "floor", "count": 2}],
        departures=[{"at": 4.0, "from": "floor", "count": 1, "gtin": "04006381333931"}],
        deliveries=[{"at": 6.0, "gtin": "80614141123458", "company_prefix_digits": 7, "count": 3,
                     "first_serial": 9000, "to": "backroom"}],
    )  # fmt: skip
    w = world(doc, clock)
    for t in range(11):
        clock.mono = 1000.0 + t
        w.advance()
    lines = w.truth_lines()
    moved = [x for x in lines if x["event"] == "moved"]
    assert len(moved) == 2
    assert all(x["from"] == "backroom" and x["zone"] == "floor" for x in moved)
    leaving = [x for x in lines if x["event"] == "leaving"]
    (gone,) = [x for x in lines if x["event"] == "left"]
    assert len(leaving) == 1
    assert leaving[0]["epc"] == gone["epc"]
    assert Sgtin96.from_hex(gone["epc"]).gtin14() == "04006381333931"
    assert (w.where(gone["epc"], 3.9), w.where(gone["epc"], 5.0), w.where(gone["epc"], 6.5)) == (
        "floor",
        "dock",
        None,
    )
    delivered = [x for x in lines if x["event"] == "delivered"]
    assert [Sgtin96.from_hex(x["epc"]).serial for x in delivered] == [9000, 9001, 9002]
    new = delivered[0]["epc"]
    assert (w.where(new, 5.9), w.where(new, 7.0), w.where(new, 8.5)) == (None, "dock", "backroom")
    assert len(w.in_zone("backroom")) == 6 - 2 + 3
    path = tmp_path / "truth.jsonl"
    w.dump_truth(path)
    parsed = [json.loads(line) for line in path.read_text().splitlines()]
    assert parsed == lines
    assert parsed[0].keys() >= {"t_s", "epc", "uri", "event", "from", "zone"}
    assert parsed[0]["uri"].startswith("urn:epc:id:sgtin:")


def test_the_same_seed_makes_the_same_world_and_reads() -> None:
    def run(seed: int) -> tuple[list[dict[str, object]], list[object]]:
        clock = FakeClock()
        w = world(
            scenario(seed=seed, moves=[{"at": 1.0, "from": "backroom", "to": "floor", "count": 3}]), clock
        )
        clock.mono += 2
        w.advance()
        rng = random.Random(seed)
        return w.truth_lines(), [w.inventory_round("r1", a, 30.0, rng) for a in (1, 2) for _ in range(5)]

    assert run(5) == run(5)
    assert run(5)[0] != run(6)[0]


def test_rssi_falls_with_distance_and_reads_fade_past_the_sensitivity() -> None:
    rf = RFModel()
    assert rf.mean_rssi(1.0, 30.0, 6.0) == rf.rssi_at_1m_dbm
    assert rf.mean_rssi(2.0, 30.0, 6.0) < rf.mean_rssi(1.0, 30.0, 6.0)
    assert rf.mean_rssi(1.0, 20.0, 6.0) == rf.rssi_at_1m_dbm - 10
    assert rf.read_probability(-40) == pytest.approx(1 - rf.miss_rate, abs=1e-3)
    assert rf.read_probability(rf.sensitivity_dbm) == pytest.approx((1 - rf.miss_rate) / 2)
    assert rf.read_probability(-100) < 1e-3


def test_misses_happen_at_the_rate_asked() -> None:
    w = world(scenario(rf={"noise_db": 0.5, "miss_rate": 0.2}))
    rng = random.Random(1)
    reads = sum(len(w.inventory_round("r1", 1, 30.0, rng)) for _ in range(500))
    assert reads / (500 * 6) == pytest.approx(0.8, abs=0.03)


def test_lower_power_reads_a_smaller_world() -> None:
    doc = scenario(zones=[*SCENARIO["zones"], {"name": "far", "x": 4.0, "y": 0.0, "radius": 0.1}],
                   stock=[*SCENARIO["stock"], {"gtin": "80614141123458", "company_prefix_digits": 7,
                                                "zone": "far", "count": 2, "first_serial": 1}])  # fmt: skip
    w = world(doc)
    assert len(w.visible("r1", 1, 30.0)) == 8
    assert len(w.visible("r1", 1, 20.0)) == 6
