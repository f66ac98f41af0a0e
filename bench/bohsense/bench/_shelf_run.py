"""A shelf scenario through the gateway's real serial stack, on a simulated clock.

scenario → ``ShelfDevice`` (``SerialDevice``: its frames, seq, clock, faults) → bytes →
``FrameDecoder(mid_stream=True)`` → ``SerialSession`` (HELLO, time sync, seq tracking) →
``LaneInterpreter`` — the same objects the serial driver runs, without a pty, so half an
hour of shelf runs in seconds. The gateway's answers (HELLO_REQUEST, TIME_SYNC, its
clock step) go back to the device as bytes, as over the wire. What the driver does at
the transport, the runner does too: a USB unplug (``device.link_up`` false) drops the
link at once (the driver sees its port vanish), reports ``DeviceDetached``, discards
the bytes, and after the replug opens a new session and decoder.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bohsense.contracts.events import Event
from bohsense.contracts.schema import Reading
from bohsense.edge.drivers._serial_session import SerialSession, SessionConfig
from bohsense.edge.interpreters import (
    DeviceDetached,
    InterpreterRouter,
    LaneConfig,
    LaneInterpreter,
    Observation,
    PassThroughInterpreter,
    StabilityConfig,
)
from bohsense.firmware_bridge import Frame, FrameDecoder, Message, encode_frame
from bohsense.simulators._runtime import Clock
from bohsense.simulators._shelf import ShelfDevice
from bohsense.simulators._shelf_scenario import ShelfScenario

__all__ = ["EPOCH_NS", "ShelfRun", "VirtualClock", "lane_configs", "run_scenario"]

#: the simulated clock's UTC at t = 0
EPOCH_NS = 1_790_000_000 * 10**9
_TICK_S = 0.2


class VirtualClock(Clock):
    def __init__(self) -> None:
        self.t = 0.0

    def monotonic(self) -> float:
        return self.t

    def wall_ns(self) -> int:
        return EPOCH_NS + int(self.t * 1e9)


@dataclass
class ShelfRun:
    scenario: ShelfScenario
    device: ShelfDevice
    lanes: LaneInterpreter
    readings: list[Reading] = field(default_factory=list)  # units only
    events: list[Event] = field(default_factory=list)
    weight_readings: int = 0
    frames: int = 0
    sessions: int = 0


def lane_configs(scenario: ShelfScenario) -> tuple[LaneConfig, ...]:
    return tuple(
        LaneConfig(o["unit_weight_g"], o["tare_g"], o["unit_spread"]) for o in scenario.lane_options()
    )


def run_scenario(
    scenario: ShelfScenario, *, stability: StabilityConfig | None = None, step_s: float = 0.05
) -> ShelfRun:
    clock = VirtualClock()
    device = scenario.build("shelf-1", clock=clock)
    device.boot()
    lanes = LaneInterpreter(lane_configs(scenario), stability)
    router = InterpreterRouter({"shelf": lanes}, default=PassThroughInterpreter())
    run = ShelfRun(scenario, device, lanes)
    tx_seq = 0

    def now_us() -> int:
        return clock.wall_ns() // 1000

    def answer(messages: list[Message]) -> None:
        nonlocal tx_seq
        for message in messages:
            device.receive(encode_frame(message, tx_seq))
            tx_seq = (tx_seq + 1) & 0xFFFF

    def observe(observation: Observation) -> None:
        made = router.observe(observation)
        for reading in made.readings:
            if reading.metric == "units":
                run.readings.append(reading)
            else:
                run.weight_readings += 1
        run.events += made.events

    session: SerialSession | None = None
    decoder = FrameDecoder(mid_stream=True)
    last_tick = 0.0
    steps = int(scenario.duration_s / step_s)
    for i in range(1, steps + 1):
        clock.t = i * step_s
        device.advance(clock.t)
        data = device.data_to_send()
        device.bytes_sent(len(data))
        if not device.link_up:
            if session is not None:
                if session.hello is not None:
                    observe(DeviceDetached(session.device, clock.wall_ns()))
                session = None
            continue
        if session is None:
            session = SerialSession(SessionConfig())
            decoder = FrameDecoder(mid_stream=True)
            run.sessions += 1
            answer(session.start(now_us()).send)
        for result in decoder.feed(data) if data else ():
            if isinstance(result, Frame):
                run.frames += 1
                out = session.on_frame(result, now_us())
                for observation in out.observations:
                    observe(observation)
                answer(out.send)
        if clock.t - last_tick >= _TICK_S:
            last_tick = clock.t
            answer(session.tick(now_us()).send)
    return run
