"""One connection to a serial device, as a pure state machine (no I/O, no clock reads).

The driver feeds it frames with the gateway time they arrived and calls ``tick`` now
and then; the session returns the messages to send and the observations it made
(``bohsense.edge.interpreters``: ``DeviceAttached`` at HELLO, one ``ChannelSample`` per
finite channel value placed at its event time, a ``ChannelInvalid`` for a NaN (the
device's ADC fault flag), ``Tared`` at a TARE's ACK, one ``WaveformBlock`` per
reassembled vibration block), in stream order. What the values mean (lane weights and
units, picks) is the interpreters' part. Every transition of the connection lives in
``TRANSITIONS``:

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

Condition sensors: TEMPERATURE and STATUS become ``ChannelSample`` observations of the
channels the HELLO names for them (probe 0 ``temp_c``, probe n ``temp_c_<n+1>``;
``status_flags``, ``uptime_s``, ``supply_v``); a value for a channel the HELLO does not
name is counted (``unannounced_channel``). WAVEFORM fragments go through a
``WaveformAssembler`` (one open block per axis; PROTOCOL.md, "Reassembly") in the order
they were sent, and each block it closes becomes a ``WaveformBlock``: samples
``count × scale`` in g as a float64 numpy array (NaN where a sample never arrived),
``lost`` for a block with a missing, repeated or misplaced fragment, ``clipped`` the
samples at the int16 limits. An open block with no fragment for 2 s is closed lost
(``tick``); at a HELLO the assembler resyncs (a rebooted device numbers its
blocks from 0 again). The assembler's counters appear as ``waveform_<name>``. These
messages wait for their timebase's offset like SAMPLES.

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

import numpy as np

from bohsense.contracts.timeutil import check_event_time
from bohsense.edge.interpreters import (
    ChannelInvalid,
    ChannelSample,
    DeviceAttached,
    DeviceObservation,
    Tared,
    WaveformBlock,
)
from bohsense.firmware_bridge import (
    Ack,
    AssembledBlock,
    ClockEstimate,
    DeviceKind,
    DeviceStatus,
    Frame,
    Heartbeat,
    Hello,
    HelloRequest,
    Message,
    Nack,
    Samples,
    SequenceTracker,
    Temperature,
    TimeSyncRequest,
    TimeSyncResponse,
    WaveformAssembler,
    WaveformFragment,
    estimate_clock,
)

__all__ = ["TRANSITIONS", "Refused", "SerialSession", "SessionConfig", "SessionOutput", "State", "Transition"]

_BAD_NAME = re.compile(r"[^A-Za-z0-9_.:/\-]")
_PENDING_LIMIT = 10_000
_RETRY_US = 1_000_000
_MAX_FUTURE_NS = 300 * 10**9
#: an open waveform block with no fragment for this long is closed lost
WAVEFORM_MAX_IDLE_US = 2_000_000
#: device messages placed on the device clock, held until their timebase has an offset
_Timed = Samples | Temperature | DeviceStatus | WaveformFragment
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
    UNANNOUNCED = "unannounced_channel"


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
        self._pending: list[_Timed] = []
        self.waveforms = WaveformAssembler()
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
        if self.waveforms.open_blocks:
            for block in self.waveforms.expire(now_us, WAVEFORM_MAX_IDLE_US):
                self._emit_block(block, now_us, out)
            self._mirror_waveform_counters()
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
            case Samples() | Temperature() | DeviceStatus() | WaveformFragment():
                self._on_timed(message, now_us, out)
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
        self.waveforms.resync()  # block numbering may restart (a reboot), or not (an answer to a request)
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

    def _on_timed(self, message: _Timed, now_us: int, out: SessionOutput) -> None:
        if isinstance(message, Samples):
            self.counters["samples"] += 1
        if self.hello is None or message.synced not in self.clocks or self._pending:
            if len(self._pending) >= _PENDING_LIMIT:
                self.counters[Refused.UNSYNCED_OVERFLOW] += 1
                return
            self._pending.append(message)
            if self.hello is not None:
                self._release(out, now_us)
            return
        self._convert(message, now_us, out)

    def _release(self, out: SessionOutput, now_us: int) -> None:
        if self.hello is None:
            return
        released = 0
        while released < len(self._pending) and self._pending[released].synced in self.clocks:
            self._convert(self._pending[released], now_us, out)
            released += 1
        del self._pending[:released]

    def _convert(self, message: _Timed, now_us: int, out: SessionOutput) -> None:
        match message:
            case Samples():
                self._convert_samples(message, now_us, out)
            case WaveformFragment():
                for block in self.waveforms.add(message, now_us):
                    self._emit_block(block, now_us, out)
                self._mirror_waveform_counters()
            case Temperature():
                name = "temp_c" if message.probe == 0 else f"temp_c_{message.probe + 1}"
                self._channel_values(message.time_us, message.synced, [(name, message.celsius)], now_us, out)
            case DeviceStatus():
                values = [
                    ("status_flags", float(int(message.flags))),
                    ("uptime_s", float(message.uptime_s)),
                    ("supply_v", message.supply_mv / 1000.0),
                ]
                self._channel_values(message.time_us, message.synced, values, now_us, out)

    def _event_ns(self, time_us: int, synced: bool, now_us: int) -> int | None:
        """The gateway event time (UTC ns) of device time ``time_us``, or None (counted) if implausible."""
        ts = self.clocks[synced].to_gateway_us(time_us) * 1000
        if check_event_time(ts, now_us * 1000, _MAX_FUTURE_NS) is not None:
            self.counters[Refused.BAD_TIME] += 1
            return None
        return ts

    def _convert_samples(self, samples: Samples, now_us: int, out: SessionOutput) -> None:
        assert self.hello is not None
        if len(samples.values) != self.hello.channel_count:
            self.counters[Refused.BAD_CHANNEL_COUNT] += 1
            return
        ts = self._event_ns(samples.time_us, samples.synced, now_us)
        if ts is None:
            return
        for channel, (name, value) in enumerate(zip(self._metrics, samples.values, strict=True)):
            if not math.isfinite(value):
                self.counters[Refused.BAD_VALUE] += 1
                out.observations.append(ChannelInvalid(self._device, channel, name, ts))
                continue
            out.observations.append(ChannelSample(self._device, channel, name, ts, value))

    def _channel_values(
        self, time_us: int, synced: bool, values: list[tuple[str, float]], now_us: int, out: SessionOutput
    ) -> None:
        ts = self._event_ns(time_us, synced, now_us)
        if ts is None:
            return
        for name, value in values:
            if name not in self._metrics:
                self.counters[Refused.UNANNOUNCED] += 1
            elif not math.isfinite(value):
                self.counters[Refused.BAD_VALUE] += 1
            else:
                out.observations.append(
                    ChannelSample(self._device, self._metrics.index(name), name, ts, value)
                )

    def _emit_block(self, block: AssembledBlock, now_us: int, out: SessionOutput) -> None:
        if block.synced not in self.clocks:  # blocks only form from fragments whose clock was known
            return
        ts = self._event_ns(block.time_us, block.synced, now_us)
        if ts is None:
            return
        if block.lost:
            counts = np.array([math.nan if c is None else c for c in block.counts], dtype=np.float64)
        else:
            counts = np.asarray(block.counts, dtype=np.float64)
        out.observations.append(
            WaveformBlock(
                self._device,
                block.axis.label,
                block.block_seq,
                ts,
                block.sample_rate_hz,
                counts * block.scale_g,
                lost=block.lost,
                clipped=block.clipped,
            )
        )

    def _mirror_waveform_counters(self) -> None:
        for key, value in self.waveforms.counters.items():
            self.counters[f"waveform_{key.replace('-', '_')}"] = value

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
