"""Interpreters at their seam: observations in, readings and events out (no I/O)."""

from __future__ import annotations

import math

import pytest

from bohsense.contracts.events import Event, LaneChange
from bohsense.contracts.schema import Reading
from bohsense.edge.interpreters import (
    ChannelSample,
    DeviceAttached,
    Interpretation,
    InterpreterRouter,
    InterpreterStateError,
    LaneConfig,
    LaneInterpreter,
    PassThroughInterpreter,
    StabilityConfig,
    StatefulInterpreter,
    Tared,
    change_confidence,
)

UNIT = 355.0
TARE = 150.0
STEP_NS = 100_000_000  # 10 Hz


class Feed:
    """One shelf with two lanes (lane 2 has no unit weight) fed through a ``LaneInterpreter``."""

    def __init__(self, lanes: LaneInterpreter | None = None) -> None:
        self.lanes = lanes or LaneInterpreter(
            (LaneConfig(UNIT, TARE), LaneConfig(None, 0.0)),
            StabilityConfig(window_s=0.5, tolerance_g=15.0, heartbeat_s=30.0),
        )
        self.ts = 1_790_000_000 * 10**9
        self.readings: list[Reading] = []
        self.events: list[Event] = []  # picks, put-backs, restocks
        self.states: list[Event] = []  # shelf.lane_state

    def observe(self, observation: object) -> Interpretation:
        made = self.lanes.observe(observation)  # type: ignore[arg-type]
        self.readings += made.readings
        self.events += [e for e in made.events if e.kind != "shelf.lane_state"]
        self.states += [e for e in made.events if e.kind == "shelf.lane_state"]
        return made

    def attach(self) -> None:
        self.observe(DeviceAttached("shelf-9", "shelf", ("lane-1", "lane-2")))

    def grams(self, gross: float, count: int, noise: tuple[float, ...] = (0.0,)) -> None:
        for i in range(count):
            self.ts += STEP_NS
            self.observe(ChannelSample("shelf-9", 0, "lane-1", self.ts, gross + noise[i % len(noise)]))

    def units(self) -> list[float]:
        return [r.value for r in self.readings if r.metric == "units"]


def test_a_settled_pick_is_a_reading_and_a_pick_event() -> None:
    feed = Feed()
    feed.attach()
    feed.grams(TARE + 10 * UNIT, 10, noise=(1, -2, 3, 0, -1))
    assert feed.units() == [10.0]
    assert feed.events == [], "a first settled count is a count, not a change"
    for ringing in (-900, 500, -300, 200, -100):  # the scale rings after the grab
        feed.grams(TARE + 7 * UNIT + ringing, 1)
    feed.grams(TARE + 7 * UNIT, 10, noise=(1, -1, 2, 0, -2))
    assert feed.units() == [10.0, 7.0], "the units readings are as they always were"
    (pick,) = feed.events
    assert (pick.device, pick.kind) == ("shelf-9", "shelf.pick")
    change = pick.attrs
    assert isinstance(change, LaneChange)
    assert (change.lane, change.units, change.units_after) == ("shelf-9.lane-1", 3, 7)
    assert change.weight_delta_g == pytest.approx(-3 * UNIT, abs=3)
    assert 0.95 <= change.confidence <= 1.0
    assert pick.ts == next(r.ts for r in feed.readings if r.metric == "units" and r.value == 7.0)


def test_a_putback_and_a_noisy_change_with_a_lower_confidence() -> None:
    feed = Feed()
    feed.attach()
    feed.grams(TARE + 2 * UNIT, 8)
    feed.grams(TARE + 4 * UNIT + 30, 8, noise=(-7, 7))  # 2 units back, 30 g off, 14 g of noise
    (putback,) = feed.events
    assert putback.kind == "shelf.putback"
    assert (putback.attrs.units, putback.attrs.units_after) == (2, 4)  # type: ignore[attr-defined]
    expected = (1 - (30 / UNIT) / 0.5) * (1 - 14 / UNIT)
    assert putback.attrs.confidence == pytest.approx(expected, abs=0.01)  # type: ignore[attr-defined]


def test_no_event_for_a_heartbeat_a_resting_hand_or_a_lane_without_a_unit_weight() -> None:
    lanes = LaneInterpreter(
        (LaneConfig(UNIT, TARE), LaneConfig(None)), StabilityConfig(window_s=0.3, heartbeat_s=0.5)
    )
    feed = Feed(lanes)
    feed.attach()
    feed.grams(TARE + 5 * UNIT, 30)
    assert feed.units().count(5.0) >= 3, "the heartbeat re-emits the count"
    feed.grams(TARE + 5 * UNIT + 0.5 * UNIT, 10)  # a hand holding still: not a whole unit
    for _ in range(10):
        feed.ts += STEP_NS
        feed.observe(ChannelSample("shelf-9", 1, "lane-2", feed.ts, 900.0))
    assert feed.events == []
    assert lanes.counters()["lane_implausible"] > 0
    assert [r.value for r in feed.readings if r.device == "shelf-9.lane-2"] == [900.0] * 10


def test_a_change_while_the_device_was_away_is_reported_after_it_attaches_again() -> None:
    feed = Feed()
    feed.attach()
    feed.grams(TARE + 10 * UNIT, 8)
    feed.attach()  # reconnect / reboot, same layout
    feed.grams(TARE + 9 * UNIT, 8)
    assert feed.units() == [10.0, 9.0]
    assert [(e.kind, e.attrs.units_after) for e in feed.events] == [("shelf.pick", 9)]  # type: ignore[attr-defined]
    # another layout is another shelf: nothing to compare with
    feed.observe(DeviceAttached("shelf-9", "shelf", ("lane-1",)))
    feed.grams(TARE + 4 * UNIT, 8)
    assert len(feed.events) == 1


def test_a_tare_moves_the_offset_and_the_snapshot_restores_it() -> None:
    feed = Feed()
    assert isinstance(feed.lanes, StatefulInterpreter)
    feed.attach()
    feed.grams(TARE + 3 * UNIT, 8)
    made = feed.observe(Tared("shelf-9", (0,), keep=True))
    assert made.state_changed
    assert not made.readings
    assert feed.lanes.snapshot() == {"shelf-9": {"1": pytest.approx(-3 * UNIT)}}
    feed.grams(0.0, 8)  # the device now reads the load as 0
    assert feed.units() == [3.0]
    assert feed.events == [], "a forced tare is no pick"
    again = Feed(LaneInterpreter((LaneConfig(UNIT, TARE),), StabilityConfig(window_s=0.5)))
    again.lanes.restore(feed.lanes.snapshot())
    again.attach()
    again.grams(0.0, 8)
    assert again.units() == [3.0], "the restored offset applies when the device attaches"
    assert again.lanes.offsets("shelf-9") == {1: pytest.approx(-3 * UNIT)}


@pytest.mark.parametrize(
    "state",
    [{"shelf-9": {"1": "heavy"}}, {"shelf-9": {"0": 1.0}}, {"shelf-9": {"1": math.nan}}, {"shelf-9": 5}],
)
def test_a_snapshot_that_cannot_be_used_is_refused(state: dict[str, object]) -> None:
    lanes = LaneInterpreter()
    with pytest.raises(InterpreterStateError):
        lanes.restore(state)
    assert lanes.snapshot() == {}, "nothing half-restored"


def test_change_confidence() -> None:
    assert change_confidence(-3 * UNIT, 3, UNIT, 0.0) == 1.0
    assert change_confidence(2.25 * UNIT, 2, UNIT, 0.0) == 0.5
    assert change_confidence(2 * UNIT, 2, UNIT, UNIT / 2) == 0.5
    assert change_confidence(2.5 * UNIT, 2, UNIT, 0.0) == 0.0
    assert change_confidence(UNIT, 1, UNIT, 2 * UNIT) == 0.0
    assert change_confidence(UNIT, 0, UNIT, 0.0) == 0.0


def test_pass_through_and_the_router() -> None:
    router = InterpreterRouter({"shelf": LaneInterpreter()}, default=PassThroughInterpreter())
    stray = router.observe(ChannelSample("pump-3", 0, "temp_c", 5, 4.5))
    assert stray.readings == []
    assert router.counters()["unattached"] == 1
    router.observe(DeviceAttached("pump-3", "condition", ("temp_c", "vib_rms_mm_s")))
    made = router.observe(ChannelSample("pump-3", 1, "vib_rms_mm_s", 7, 2.25))
    assert made.readings == [Reading("pump-3", "vib_rms_mm_s", 7, 2.25)]
    assert made.events == []
    assert router.observe(Tared("pump-3", (0,), False)).readings == []


def test_a_change_no_lane_change_can_carry_is_counted_not_sent() -> None:
    lanes = LaneInterpreter((LaneConfig(0.001, 0.0),), StabilityConfig(window_s=0.3))
    feed = Feed(lanes)
    feed.observe(DeviceAttached("shelf-9", "shelf", ("lane-1",)))
    feed.grams(500.0, 6)  # 500,000 units of a 1 mg item
    feed.grams(200.0, 6)  # 300,000 taken: more than a LaneChange holds
    assert feed.units() == [500_000.0, 200_000.0], "the readings are as they are"
    assert feed.events == []
    assert lanes.counters()["lane_change_out_of_range"] == 1
