"""The shelf's physics and faults, and shelf scenarios, without a pty (sans-I/O, fake clock)."""

from __future__ import annotations

import itertools
import math
import random
from pathlib import Path

import pytest

from bohsense.firmware_bridge import Frame, FrameDecoder, Hello, Samples
from bohsense.simulators._runtime import Clock
from bohsense.simulators._shelf import RAIL_G, Lane, ShelfDevice
from bohsense.simulators._shelf_scenario import ShelfScenario, ShelfScenarioError, packaged_scenario


class FakeClock(Clock):
    def __init__(self) -> None:
        self.t = 0.0

    def monotonic(self) -> float:
        return self.t

    def wall_ns(self) -> int:
        return 1_790_000_000 * 10**9 + int(self.t * 1e9)


def run(device: ShelfDevice, clock: FakeClock, until: float, step: float = 0.05) -> list[Frame]:
    """Let the device run to ``until`` s; the frames it sent meanwhile."""
    decoder = FrameDecoder()
    frames: list[Frame] = []
    while clock.t < until - 1e-9:
        clock.t = round(clock.t + step, 6)
        device.advance(clock.t)
        data = device.data_to_send()
        device.bytes_sent(len(data))
        frames += [f for f in decoder.feed(data) if isinstance(f, Frame)]
    return frames


def samples(frames: list[Frame]) -> list[tuple[float, ...]]:
    return [f.message.values for f in frames if isinstance(f.message, Samples)]


def shelf(clock: FakeClock, *lanes: Lane, **kwargs: object) -> ShelfDevice:
    device = ShelfDevice("shelf-t", lanes=list(lanes), rate_hz=10, clock=clock, **kwargs)  # type: ignore[arg-type]
    device.boot()
    return device


def test_units_of_one_sku_differ_within_the_spread_and_a_pick_takes_real_ones() -> None:
    clock = FakeClock()
    device = shelf(clock, Lane(355.0, 20, tare_g=150.0, unit_spread=0.03, drift_g_per_h=0.0), noise_g=0.0)
    items = list(device.lanes[0].items)
    assert len(items) == 20
    assert all(355 * 0.97 <= w <= 355 * 1.03 for w in items)
    assert len({round(w, 3) for w in items}) == 20, "every unit its own weight"
    before = samples(run(device, clock, 1.0))[-1][0]
    device.pick(1, 2, at=1.0)
    after = samples(run(device, clock, 4.0))[-1][0]
    taken = before - after
    remaining = list(device.lanes[0].items)
    assert len(remaining) == 18
    assert taken == pytest.approx(sum(items) - sum(remaining), abs=0.01)
    assert taken != pytest.approx(2 * 355.0, abs=0.01), "the two units taken are not nominal"
    device.put_back(1, 1, at=4.0)
    run(device, clock, 7.0)
    assert device.lanes[0].units == 19
    assert device.lanes[0].items[-1] in items, "the unit put back is one of those taken"


def test_temperature_moves_zero_and_span() -> None:
    clock = FakeClock()
    lane = Lane(500.0, 10, tare_g=100.0, drift_g_per_h=0.0, zero_tempco_g_per_c=0.5, span_tempco_per_c=0.001)
    device = shelf(clock, lane, noise_g=0.0, temperature_c=30.0)
    value = samples(run(device, clock, 0.5))[-1][0]
    assert value == pytest.approx((100.0 + 5000.0 + 0.5 * 10) * (1 + 0.001 * 10), rel=1e-5)
    swinging = shelf(
        FakeClock(), Lane(500.0, 1), temperature_c=20.0, temperature_swing_c=3.0, temperature_period_s=100.0
    )
    assert swinging.temperature_c(25.0) == pytest.approx(23.0)


def test_a_wrong_lane_put_back_lies_there_until_tidied() -> None:
    clock = FakeClock()
    device = shelf(clock, Lane(355.0, 10, drift_g_per_h=0.0), Lane(500.0, 6, drift_g_per_h=0.0), noise_g=0.0)
    device.pick(1, 1, at=0.5)
    device.put_back(2, 1, at=3.0, from_lane=1)
    device.tidy(2, at=8.0)
    frames = run(device, clock, 6.0)
    lane2 = samples(frames)[-1][1]
    assert lane2 == pytest.approx(150.0 + 6 * 500.0 + 355.0, abs=0.01)
    assert (device.lanes[0].units, device.lanes[1].units) == (9, 6), "a foreign item is no unit of lane 2"
    run(device, clock, 11.0)
    assert device.lanes[1].foreign == []
    kinds = [e["kind"] for e in device.ground_truth()["events"]]
    assert kinds == ["pick", "misplaced", "tidy"]


def test_a_basket_rests_still_then_lifts_and_a_drop_is_an_impulse() -> None:
    clock = FakeClock()
    device = shelf(clock, Lane(355.0, 4, drift_g_per_h=0.0), noise_g=0.0)
    empty = 150.0 + 4 * 355.0
    device.basket(1, 5.0, 1200.0, at=1.0)
    device.drop(1, 3000.0, at=10.0)
    values = [v[0] for v in samples(run(device, clock, 14.0))]
    resting = values[30:55]  # 3.0-5.5 s
    assert all(abs(v - empty - 1200.0) < 1.0 for v in resting), "a basket set down is still"
    assert all(abs(v - empty) < 1.0 for v in values[80:99]), "lifted"
    assert max(values[100:110]) > empty + 1000, "a dropped item is a sharp peak"
    assert all(abs(v - empty) < 1.0 for v in values[-20:]), "which leaves nothing behind"
    assert device.lanes[0].units == 4


def test_cell_faults_dead_stuck_rail() -> None:
    clock = FakeClock()
    device = shelf(clock, Lane(355.0, 4), Lane(500.0, 4), Lane(240.0, 4), noise_g=2.0)
    device.cell_fault(1, "dead", 2.0, at=1.0)
    device.cell_fault(2, "stuck", 2.0, at=1.0)
    device.cell_fault(3, "rail", 2.0, at=1.0)
    values = samples(run(device, clock, 4.0))
    faulty = values[12:28]
    assert all(math.isnan(v[0]) for v in faulty), "a dead cell sends NaN, the ADC's fault flag"
    assert len({v[1] for v in faulty}) == 1, "a stuck cell repeats one value exactly"
    assert all(v[2] < RAIL_G / 2 for v in faulty), "a broken wire reads the ADC's limit"
    after = values[-5:]
    assert all(not math.isnan(v[0]) for v in after)
    assert len({v[1] for v in after}) == 5
    with pytest.raises(ValueError, match="cell fault"):
        device.cell_fault(1, "melted", 1.0)


def test_a_reboot_is_silent_then_hello_with_seq_zero_and_an_unsynced_clock() -> None:
    clock = FakeClock()
    device = shelf(clock, Lane(355.0, 4))
    device.adjust_clock(1_790_000_000_000_000)
    before = run(device, clock, 2.0)
    assert before[-1].seq > 10
    device.reboot(1.5, at=2.0)
    during = run(device, clock, 3.45)
    assert during == [], "silent while rebooting"
    after = run(device, clock, 4.0)
    assert isinstance(after[0].message, Hello)
    assert after[0].seq == 0
    first = next(f.message for f in after if isinstance(f.message, Samples))
    assert not first.synced, "the clock restarts unsynced"
    assert first.time_us < 1_000_000, "from boot"
    assert device.reboots == 1


def test_usb_unplug_takes_the_link_down_and_replug_reboots() -> None:
    clock = FakeClock()
    device = shelf(clock, Lane(355.0, 4))
    device.usb_unplug(3.0, at=1.0)
    device.pick(1, 1, at=2.0)  # the shelf's physics go on meanwhile
    run(device, clock, 2.5)
    assert not device.link_up
    assert not device.powered
    frames = run(device, clock, 4.5)
    assert device.link_up
    assert isinstance(frames[0].message, Hello)
    assert frames[0].seq == 0
    assert device.lanes[0].units == 3


def test_a_sku_change_swaps_the_goods_and_keeps_the_calibration() -> None:
    clock = FakeClock()
    device = shelf(clock, Lane(240.0, 10, drift_g_per_h=0.0), noise_g=0.0)
    device.change_sku(1, 425.0, 8, at=0.5)
    values = samples(run(device, clock, 3.0))
    assert values[-1][0] == pytest.approx(150.0 + 8 * 425.0, abs=0.01)
    assert device.lane_options()[0]["unit_weight_g"] == 425.0
    (change,) = [e for e in device.ground_truth()["events"] if e["kind"] == "sku_change"]
    assert (change["unit_weight_g"], change["units_after"]) == (425.0, 8)


# -- scenarios ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["shelf-standard", "shelf-messy", "shelf-faults"])
def test_packaged_scenarios_load_and_plan_the_same_for_the_same_seed(name: str) -> None:
    a, b = packaged_scenario(name, seed=7), packaged_scenario(name, seed=7)
    plan = a.plan()
    assert plan == b.plan()
    assert plan != packaged_scenario(name, seed=8).plan()
    kinds = {x.kind for x in plan}
    assert {"pick", "putback", "restock"} <= kinds
    assert all(x.at_s < a.duration_s for x in plan)
    gap = a.shoppers["lane_gap_s"]
    for lane in range(1, len(a.lanes) + 1):
        times = [x.at_s for x in plan if x.lane == lane and x.kind in ("pick", "putback", "restock")]
        assert all(t2 - t1 >= gap - 1e-9 for t1, t2 in itertools.pairwise(times))
    if name == "shelf-faults":
        assert {"dead", "stuck", "rail", "reboot", "unplug", "sku_change"} <= kinds
    if name == "shelf-messy":
        assert {"misplace", "basket", "tidy"} <= kinds


def test_a_scenario_runs_on_its_device_and_the_truth_counts_never_go_negative() -> None:
    scenario = packaged_scenario("shelf-standard", seed=3)
    scenario.duration_s = 120.0
    clock = FakeClock()
    device = scenario.build(clock=clock)
    device.boot()
    run(device, clock, 120.0, step=0.1)
    truth = device.ground_truth()
    changes = [e for e in truth["events"] if e["kind"] in ("pick", "putback", "restock")]
    assert len(changes) == len([a for a in scenario.plan() if a.kind in ("pick", "putback", "restock")])
    assert all(e["units_after"] >= 0 for e in changes)
    assert scenario.truth()["plan"][0]["at_s"] == scenario.plan()[0].at_s


def test_a_scenario_file_with_unknown_or_bad_keys_is_refused(tmp_path: Path) -> None:
    def load(text: str) -> ShelfScenario:
        path = tmp_path / "s.toml"
        path.write_text(text)
        return ShelfScenario.load(path)

    lane = '[[lanes]]\nsku = "a"\nunit_weight_g = 100.0\n'
    assert load('[scenario]\nname = "x"\n' + lane).lanes[0].unit_weight_g == 100.0
    with pytest.raises(ShelfScenarioError, match=r"unknown key\(s\) \['speed'\]"):
        load('[scenario]\nname = "x"\nspeed = 2\n' + lane)
    with pytest.raises(ShelfScenarioError, match="name is required"):
        load(lane)
    with pytest.raises(ShelfScenarioError, match="lanes"):
        load('[scenario]\nname = "x"\n')
    with pytest.raises(ShelfScenarioError, match=r"faults\[1\].kind"):
        load('[scenario]\nname = "x"\n' + lane + '[[faults]]\nkind = "fire"\nat_s = 1.0\n')
    with pytest.raises(ShelfScenarioError, match=r"faults\[1\].lane"):
        load('[scenario]\nname = "x"\n' + lane + '[[faults]]\nkind = "dead"\nat_s = 1.0\nlane = 3\n')
    with pytest.raises(ShelfScenarioError, match=r"within 0\.\.1"):
        load('[scenario]\nname = "x"\n' + lane + "[shoppers]\nputback_probability = 2.0\n")
    with pytest.raises(ShelfScenarioError, match="wrong type"):
        load('[scenario]\nname = "x"\nduration_s = "long"\n' + lane)
    with pytest.raises(ShelfScenarioError, match="no packaged scenario"):
        packaged_scenario("nope")


def test_random_seeds_differ_in_noise_only_through_the_seed() -> None:
    a = packaged_scenario("shelf-standard", seed=5).build(clock=FakeClock())
    b = packaged_scenario("shelf-standard", seed=5).build(clock=FakeClock())
    assert [lane.items for lane in a.lanes] == [lane.items for lane in b.lanes]
    assert a.sample_values(1.0) == b.sample_values(1.0)
    assert random.Random(5).random() == random.Random(5).random()
