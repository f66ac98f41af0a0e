"""One connection to a serial device, as a pure state machine (no I/O, no clock reads).

The driver feeds it frames with the gateway time they arrived and calls ``tick`` now
and then; the session returns the messages to send and the observations it made
(``bohsense.edge.interpreters``: ``DeviceAttached`` at HELLO, one ``ChannelSample`` per
finite channel value placed at its event time, a ``ChannelInvalid`` for a NaN (the
device's ADC fault flag), ``Tared`` at a TARE's ACK), in stream
order. What the values mean (lane weights and units, picks) is the interpreters' part. Every
transition of the connection lives in ``TRANSITIONS``:

| state        | event                        | next         | action                               |
|--------------|------------------------------|--------------|--------------------------------------|
| await-hello  | start / tick after 1 s       | await-hello  | send HELLO_REQUEST                   |
| await-hello  | HELLO                        | measuring    | send TIME_SYNC_REQUEST (measure)     |
| measuring    | response, clock fine         | streaming    | keep the offset of that timebase     |
| measuring    | response, unsynced or skewed | stepping     | send TIME_SYNC_REQUEST(adjust)       |
| stepping     | response                     | streaming    | keep the offset of the new timebase  |
| measuring/stepping | tick, no answer in 1 s | (same)       | send the request again               |
| measuring/stepping | response, absurd offset | (same)      | count ``clock_invalid``; measure again in 1 s |
| streaming    | tick after resync_s          | measuring    | send TIME_SYNC_REQUEST (measure)     |
| any          | HELLO (device rebooted)      | measuring    | restart seq tracking, measure        |

Samples are converted with the latest offset of *their* timebase (the flag in SAMPLES:
since-boot or synced). Frames arrive in the order the device sent them, so a sample
received before the answer to a clock step was taken before the step, and the offset
in force when it arrives is the right one. Samples whose timebase has no offset yet
wait in a bounded buffer and are released, in order, by the first measurement.

A TARE is announced with ``expect_tare`` before it is sent; its ACK becomes a ``Tared``
observation at that point of the stream, so every sample after it is read against the
new zero. A NACKed tare, or one the device forgot by rebooting, makes nothing.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

from bohsense.contracts.timeutil import check_event_time
from bohsense.edge.interpreters import ChannelInvalid, ChannelSample, DeviceAttached, DeviceObservation, Tared
from bohsense.firmware_bridge import (
    Ack,
    ClockEstimate,
    DeviceKind,
    Frame,
    Heartbeat,
    Hello,
    HelloRequest,
    Message,
    Nack,
    Samples,
    SequenceTracker,
    TimeSyncRequest,
    TimeSyncResponse,
    estimate_clock,
)

__all__ = ["TRANSITIONS", "Refused", "SerialSession", "SessionConfig", "SessionOutput", "State", "Transition"]

_BAD_NAME = re.compile(r"[^A-Za-z0-9_.:/\-]")
_PENDING_LIMIT = 10_000
_RETRY_US = 1_000_000
_MAX_FUTURE_NS = 300 * 10**9
#: no device clock is further than this from the gateway's: a since-boot clock is
#: ~55 years behind UTC today, a synced one close to it. Beyond it, t2/t3 are garbage
#: (and ``-offset`` may not even fit the int64 of an adjust): the measurement is refused.
MAX_CLOCK_OFFSET_US = 100 * 365 * 86_400 * 10**6


class State(StrEnum):
    AWAIT_HELLO = "await-hello"
    MEASURING = "measuring"
    STEPPING = "stepping"
    STREAMING = "streaming"


class Transition(StrEnum):
    HELLO = "hello"
    CLOCK_OK = "clock-ok"
    CLOCK_OFF = "clock-off"
    RESYNC = "resync"


class Refused(StrEnum):
    """Device input the session refuses, each counted under its name in ``counters``."""

    DUPLICATE = "duplicates"
    UNEXPECTED = "unexpected"
    STALE_SYNC = "stale_sync_responses"
    CLOCK_INVALID = "clock_invalid"
    UNSYNCED_OVERFLOW = "samples_dropped_unsynced"
    BAD_CHANNEL_COUNT = "bad_channel_count"
    BAD_TIME = "bad_time"
    BAD_VALUE = "bad_values"


_S, _T = State, Transition
#: (state, event) -> next state; ``_go`` refuses anything not listed here
TRANSITIONS: dict[tuple[State, Transition], State] = {
    (_S.AWAIT_HELLO, _T.HELLO): _S.MEASURING,
    (_S.MEASURING, _T.HELLO): _S.MEASURING,
    (_S.STEPPING, _T.HELLO): _S.MEASURING,
    (_S.STREAMING, _T.HELLO): _S.MEASURING,
    (_S.MEASURING, _T.CLOCK_OK): _S.STREAMING,
    (_S.MEASURING, _T.CLOCK_OFF): _S.STEPPING,
    (_S.STEPPING, _T.CLOCK_OK): _S.STREAMING,
    (_S.STEPPING, _T.CLOCK_OFF): _S.STREAMING,  # stepped once; the offset still corrects every sample
    (_S.STREAMING, _T.RESYNC): _S.MEASURING,
}


@dataclass(frozen=True, slots=True)
class SessionConfig:
    device_id: str | None = None
    max_skew_us: int = 50_000
    resync_s: float = 60.0


@dataclass(slots=True)
class SessionOutput:
    send: list[Message] = field(default_factory=list)
    observations: list[DeviceObservation] = field(default_factory=list)
    replies: list[tuple[int, Ack | Nack]] = field(default_factory=list)


class SerialSession:
    def __init__(self, config: SessionConfig) -> None:
        self.cfg = config
        self._tares: dict[int, tuple[tuple[int, ...], bool]] = {}  # command seq -> (lanes, keep)
        self.state = State.AWAIT_HELLO
        self.hello: Hello | None = None
        self.seq = SequenceTracker()
        self.clocks: dict[bool, ClockEstimate] = {}  # synced flag -> estimate
        self.counters: Counter[str] = Counter()
        self._pending: list[Samples] = []
        self._request_at = 0  # gateway µs of the last request we wait on (HELLO or TIME_SYNC)
        self._sync_t1: int | None = None
        self._last_sync_us = 0
        self._device = ""
        self._metrics: list[str] = []

    # -- driving the machine ------------------------------------------------------------

    def _go(self, event: Transition) -> None:
        self.state = TRANSITIONS[(self.state, event)]

    def start(self, now_us: int) -> SessionOutput:
        self._request_at = now_us
        return SessionOutput(send=[HelloRequest()])

    def tick(self, now_us: int) -> SessionOutput:
        out = SessionOutput()
        if self.state is State.AWAIT_HELLO and now_us - self._request_at >= _RETRY_US:
            self._request_at = now_us
            out.send.append(HelloRequest())
        elif self.state in (State.MEASURING, State.STEPPING) and now_us - self._request_at >= _RETRY_US:
            self.counters["sync_retries"] += 1
            out.send.append(self._sync_request(now_us))  # never repeat a step: it may have been applied
        elif self.state is State.STREAMING and now_us - self._last_sync_us >= self.cfg.resync_s * 1e6:
            self._go(Transition.RESYNC)
            out.send.append(self._sync_request(now_us))
        return out

    def on_frame(self, frame: Frame, now_us: int) -> SessionOutput:
        out = SessionOutput()
        message = frame.message
        if isinstance(message, Hello):
            self._on_hello(message, now_us, out)
            self.seq.reset()
            self.seq.check(frame.seq)
            return out
        check = self.seq.check(frame.seq)
        if check.duplicate:
            self.counters[Refused.DUPLICATE] += 1
            return out
        self.counters["frames_lost"] += check.lost
        match message:
            case Samples():
                self._on_samples(message, now_us, out)
            case TimeSyncResponse():
                self._on_sync(message, now_us, out)
            case Ack() | Nack():
                tare = self._tares.pop(message.command_seq, None)
                if tare is not None and isinstance(message, Ack):
                    self._after_tare(*tare, out)
                out.replies.append((message.command_seq, message))
            case Heartbeat():
                self.counters["device_tx_dropped"] = message.tx_dropped
            case _:
                self.counters[Refused.UNEXPECTED] += 1
        return out

    # -- HELLO and time sync ------------------------------------------------------------

    def _on_hello(self, hello: Hello, now_us: int, out: SessionOutput) -> None:
        self.counters["hellos"] += 1
        if self.hello is not None and hello != self.hello:
            self._pending.clear()  # another device (or reconfigured): its layout applies from here
        self.hello = hello
        self._device = _BAD_NAME.sub("_", self.cfg.device_id or hello.device_id)
        self._metrics = [_BAD_NAME.sub("_", name) for name in hello.channels]
        out.observations.append(
            DeviceAttached(self._device, hello.kind.label, tuple(self._metrics), now_us * 1000)
        )
        self._tares.clear()  # a rebooted device forgot the commands it had not answered
        self.clocks.clear()  # a reboot restarts the device clock
        self._go(Transition.HELLO)
        out.send.append(self._sync_request(now_us))

    def _sync_request(self, now_us: int, adjust_us: int | None = None) -> TimeSyncRequest:
        self._request_at = now_us
        self._sync_t1 = now_us
        return TimeSyncRequest(now_us, adjust_us=adjust_us)

    def _on_sync(self, response: TimeSyncResponse, now_us: int, out: SessionOutput) -> None:
        if response.gateway_time_us != self._sync_t1 or self.state not in (State.MEASURING, State.STEPPING):
            self.counters[Refused.STALE_SYNC] += 1
            return
        self._sync_t1 = None
        estimate = estimate_clock(response, now_us)
        if abs(estimate.offset_us) > MAX_CLOCK_OFFSET_US:
            self.counters[Refused.CLOCK_INVALID] += 1
            self._request_at = now_us  # measured again after the retry interval
            return
        self.clocks[response.synced] = estimate
        self._last_sync_us = now_us
        self.counters["clock_offset_us"] = estimate.offset_us
        self.counters["clock_delay_us"] = estimate.delay_us
        self.counters["clock_syncs"] += 1
        skewed = abs(estimate.offset_us) > self.cfg.max_skew_us
        if skewed and response.synced:
            self.counters["clock_skew_detected"] += 1
        if self.state is State.MEASURING and (skewed or not response.synced):
            self.counters["clock_steps"] += 1
            out.send.append(self._sync_request(now_us, adjust_us=-estimate.offset_us))
        self._go(Transition.CLOCK_OFF if skewed or not response.synced else Transition.CLOCK_OK)
        self._release(out, now_us)

    # -- samples → observations ----------------------------------------------------------

    def _on_samples(self, samples: Samples, now_us: int, out: SessionOutput) -> None:
        self.counters["samples"] += 1
        if self.hello is None or samples.synced not in self.clocks or self._pending:
            if len(self._pending) >= _PENDING_LIMIT:
                self.counters[Refused.UNSYNCED_OVERFLOW] += 1
                return
            self._pending.append(samples)
            if self.hello is not None:
                self._release(out, now_us)
            return
        self._convert(samples, now_us, out)

    def _release(self, out: SessionOutput, now_us: int) -> None:
        if self.hello is None:
            return
        released = 0
        while released < len(self._pending) and self._pending[released].synced in self.clocks:
            self._convert(self._pending[released], now_us, out)
            released += 1
        del self._pending[:released]

    def _convert(self, samples: Samples, now_us: int, out: SessionOutput) -> None:
        assert self.hello is not None
        if len(samples.values) != self.hello.channel_count:
            self.counters[Refused.BAD_CHANNEL_COUNT] += 1
            return
        ts = self.clocks[samples.synced].to_gateway_us(samples.time_us) * 1000
        if check_event_time(ts, now_us * 1000, _MAX_FUTURE_NS) is not None:
            self.counters[Refused.BAD_TIME] += 1
            return
        for channel, (name, value) in enumerate(zip(self._metrics, samples.values, strict=True)):
            if not math.isfinite(value):
                self.counters[Refused.BAD_VALUE] += 1
                out.observations.append(ChannelInvalid(self._device, channel, name, ts))
                continue
            out.observations.append(ChannelSample(self._device, channel, name, ts, value))

    # -- tare ---------------------------------------------------------------------------

    @property
    def device(self) -> str:
        return self._device

    @property
    def shelf_lanes(self) -> int:
        """How many lanes the attached shelf has; 0 before HELLO or for a sensor."""
        hello = self.hello
        return hello.channel_count if hello is not None and hello.kind is DeviceKind.SHELF else 0

    def expect_tare(self, command_seq: int, lane: int, keep: bool) -> None:
        """The TARE about to be sent as frame ``command_seq`` (lane from 1; 0: every lane)."""
        lanes = tuple(range(1, self.shelf_lanes + 1)) if lane == 0 else (lane,)
        self._tares[command_seq] = (lanes, keep)

    def _after_tare(self, lanes: tuple[int, ...], keep: bool, out: SessionOutput) -> None:
        channels = tuple(n - 1 for n in lanes if 1 <= n <= self.shelf_lanes)
        out.observations.append(Tared(self._device, channels, keep))
        self.counters["tares"] += 1
