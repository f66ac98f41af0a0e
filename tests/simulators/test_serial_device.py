"""The device side of the serial protocol with no transport: bytes and a fake clock in,
bytes out. The pty front end adds nothing to what is decided here."""

from __future__ import annotations

from bohsense.firmware_bridge import (
    Ack,
    Command,
    CommandOp,
    Frame,
    FrameDecoder,
    FrameError,
    Heartbeat,
    Hello,
    HelloRequest,
    Message,
    Samples,
    TimeSyncRequest,
    TimeSyncResponse,
    encode_frame,
)
from bohsense.simulators import Clock, ConditionDevice, Lane, ShelfDevice

WALL0 = 1_790_000_000 * 10**9


class FakeClock(Clock):
    def __init__(self) -> None:
        self.mono = 1000.0

    def monotonic(self) -> float:
        return self.mono

    def wall_ns(self) -> int:
        return WALL0 + int((self.mono - 1000.0) * 1e9)


class Wire:
    """The gateway's end of the line, in memory."""

    def __init__(self, device: ShelfDevice | ConditionDevice) -> None:
        self.device = device
        self.decoder = FrameDecoder()
        self.seq = 0
        self.got: list[Message] = []

    def send(self, message: Message) -> None:
        self.device.receive(encode_frame(message, self.seq))
        self.seq += 1

    def read(self) -> list[Message]:
        data = self.device.data_to_send()
        self.device.bytes_sent(len(data))
        results = self.decoder.feed(data)
        errors = [r for r in results if isinstance(r, FrameError)]
        assert not errors, errors  # the device only ever sends whole, valid frames
        new = [r.message for r in results if isinstance(r, Frame)]
        self.got += new
        return new


def _shelf(clock: FakeClock, **kwargs: object) -> ShelfDevice:
    lanes = [Lane(355.0, 10, tare_g=150.0), Lane(500.0, 4, tare_g=100.0)]
    return ShelfDevice("shelf-t", lanes=lanes, rate_hz=10, noise_g=0.0, clock=clock, **kwargs)  # type: ignore[arg-type]


def test_a_booted_device_says_hello_and_samples_on_its_schedule() -> None:
    clock = FakeClock()
    shelf = _shelf(clock)
    wire = Wire(shelf)
    shelf.boot()
    assert wire.read() == [Hello("shelf-t", shelf.kind, (1, 0, 0), 10.0, ("lane-1", "lane-2"))]
    clock.mono += 1.05
    shelf.advance()
    out = wire.read()
    samples = [m for m in out if isinstance(m, Samples)]
    assert len(samples) == 11  # t = 0, 0.1, …, 1.0
    (beat,) = [m for m in out if isinstance(m, Heartbeat)]
    assert beat.uptime_ms in (1049, 1050)
    assert all(abs(s.time_us - i * 100_000) <= 1 for i, s in enumerate(samples))
    assert all(abs(s.values[0] - 3700) < 0.01 and abs(s.values[1] - 2100) < 0.01 for s in samples)
    assert abs(shelf.next_deadline() - 1001.1) < 1e-6  # the next sample, at t = 1.1 s


def test_it_answers_the_gateway_and_steps_its_clock_on_time_sync() -> None:
    clock = FakeClock()
    shelf = _shelf(clock)
    wire = Wire(shelf)
    shelf.boot()
    wire.read()
    wire.send(HelloRequest())
    assert isinstance(wire.read()[0], Hello)
    wire.send(TimeSyncRequest(5_000_000))
    (first,) = wire.read()
    assert first == TimeSyncResponse(5_000_000, 0, 0, False)
    wire.send(TimeSyncRequest(6_000_000, adjust_us=1_790_000_000_000_000))
    (second,) = wire.read()
    assert isinstance(second, TimeSyncResponse)
    assert second.synced
    assert second.receive_time_us == 1_790_000_000_000_000
    assert shelf.ground_truth()["events"][0]["kind"] == "clock-set"


def test_commands_are_carried_out_and_acked_with_their_seq() -> None:
    clock = FakeClock()
    shelf = _shelf(clock)
    wire = Wire(shelf)
    shelf.boot()
    wire.read()
    wire.seq = 41
    wire.send(Command(CommandOp.SET_RATE, value=20.0))
    assert wire.read() == [Ack(41)]
    assert shelf.rate_hz == 20.0


def test_a_scripted_pick_changes_the_truth_and_the_weight() -> None:
    clock = FakeClock()
    shelf = _shelf(clock)
    wire = Wire(shelf)
    shelf.boot()
    shelf.pick(1, units=2, at=2.0)
    for _ in range(50):
        clock.mono += 0.1
        shelf.advance()
    last = [m for m in wire.read() if isinstance(m, Samples)][-1]
    assert shelf.model_truth()["lanes"][0]["units"] == 8
    assert abs(last.values[0] - (150 + 8 * 355)) < 1.0
    assert [e["kind"] for e in shelf.ground_truth()["events"]] == ["pick"]


def test_nobody_reading_drops_whole_samples_first_and_replies_still_fit() -> None:
    clock = FakeClock()
    sensor = ConditionDevice("sensor-t", rate_hz=100, clock=clock)
    sensor.boot()
    for _ in range(600):  # a minute with the port closed
        clock.mono += 0.1
        sensor.advance()
    assert sensor.samples_dropped > 0
    wire = Wire(sensor)
    wire.send(HelloRequest())
    messages = wire.read()
    assert isinstance(messages[-1], Hello), "the reply found room although samples did not"
    assert not sensor.rx_errors
