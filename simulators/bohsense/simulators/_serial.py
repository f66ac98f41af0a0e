"""``SerialDevice``: the device side of the serial protocol, with no I/O.

Bytes in (``receive``), time in (``advance``), bytes out (``data_to_send`` /
``bytes_sent``): the device samples its model on a fixed schedule, sends heartbeats,
and answers the gateway's TIME_SYNC, HELLO_REQUEST and COMMAND frames using the same
protocol core (``bohsense.firmware_bridge``) as the gateway. A front end — the
pseudo-terminal of ``PtyDevice`` — only moves the bytes and calls ``advance``; a test can
drive it with a fake clock and no file descriptor at all.

Like a UART, the device keeps sending whether or not anyone listens. Frames go into a
bounded transmit buffer; when it is full (nobody reading), a frame is dropped whole and
counted (``tx_dropped``), never cut; samples are dropped first, so replies to the gateway
always find room.
"""

from __future__ import annotations

from collections import Counter, deque
from typing import Any

from bohsense.firmware_bridge import (
    Ack,
    Command,
    CommandOp,
    DeviceKind,
    Frame,
    FrameDecoder,
    FrameError,
    Heartbeat,
    Hello,
    HelloRequest,
    Message,
    MsgType,
    Nack,
    NackReason,
    Samples,
    TimeSyncRequest,
    TimeSyncResponse,
    encode_frame,
)
from bohsense.simulators._runtime import Clock, DeviceRuntime

__all__ = ["SerialDevice"]

FIRMWARE = (1, 0, 0)
TX_BUFFER_LIMIT = 8192
#: room kept for replies and heartbeats: samples are dropped first when nobody reads
TX_CONTROL_RESERVE = 2048
SAMPLE_LOG_SIZE = 200_000


class SerialDevice(DeviceRuntime):
    """A serial-protocol device without a transport. Subclasses supply the physics."""

    kind: DeviceKind = DeviceKind.SHELF
    #: the messages that are measurements: dropped first, never into the room kept for replies
    data_messages: tuple[type, ...] = (Samples,)

    def __init__(
        self,
        device_id: str,
        *,
        rate_hz: float = 10.0,
        clock_offset_s: float | None = None,
        clock_drift_ppm: float = 0.0,
        heartbeat_s: float = 1.0,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(
            device_id, clock_offset_s=clock_offset_s, clock_drift_ppm=clock_drift_ppm, clock=clock
        )
        self.rate_hz = rate_hz
        self._heartbeat_s = heartbeat_s
        self._tx = bytearray()
        self._inject: list[bytes] = []
        self._decoder = FrameDecoder()
        self._seq = 0
        self._next_sample = 0.0
        self._next_heartbeat = 0.0
        self.powered = True
        #: the cable is in (``usb_unplug`` takes it out for a while)
        self.link_up = True
        self.reboots = 0
        # ground truth
        self.frames_sent = 0
        self.samples_sent = 0
        self.tx_dropped = 0
        self.samples_dropped = 0
        self.rx_frames: Counter[str] = Counter()
        self.rx_errors: Counter[str] = Counter()
        #: (frame seq, device time µs, host UTC ns at the sample instant) of the latest samples sent
        self.sample_log: deque[tuple[int, int, int]] = deque(maxlen=SAMPLE_LOG_SIZE)

    # -- model hooks --------------------------------------------------------------------

    def channel_names(self) -> tuple[str, ...]:
        raise NotImplementedError

    def sample_values(self, t_s: float) -> tuple[float, ...]:
        """The channel values at ``t_s`` seconds after boot (called from the device's loop)."""
        raise NotImplementedError

    def on_command(self, command: Command) -> Nack | None:
        """Carry out ``command``; return a Nack to refuse it (``command_seq`` filled in later)."""
        if command.op is CommandOp.SET_RATE:
            if not 0.1 <= command.value <= 100.0:
                return Nack(0, NackReason.BAD_ARGUMENT, f"rate {command.value} Hz outside 0.1..100")
            self.rate_hz = command.value
            return None
        if command.op is CommandOp.IDENTIFY:
            return None
        return Nack(0, NackReason.UNSUPPORTED, f"{command.op.name} not supported by this device")

    # -- the sans-I/O surface -------------------------------------------------------------

    def boot(self) -> None:
        """Power on: the first HELLO is queued and the sample schedule starts now."""
        super().boot()
        self._next_sample = self._boot
        self._next_heartbeat = self._boot + self._heartbeat_s
        self._queue(self.hello())

    def power_off(self) -> None:
        """The device loses power (a reset, USB unplugged): it sends and hears nothing, and
        what was in its transmit buffer is gone. Scripted actions (the shelf's physics) go on."""
        with self._lock:
            self.powered = False
            self._tx.clear()
        self.record({"kind": "power-off"})

    def power_on(self) -> None:
        """Power back: a reboot. The frame counter starts at 0, the clock at 0 µs since boot
        (unsynced) unless it is battery-backed, and HELLO is sent first; the sample schedule
        and the scripted actions keep their time base."""
        now = self.host.monotonic()
        with self._lock:
            self.powered = True
            self.reboots += 1
            self._seq = 0
            self._decoder = FrameDecoder()
            self._restart_clock(now)
            self._next_sample = now
            self._next_heartbeat = now + self._heartbeat_s
        self.record({"kind": "reboot"})
        self._queue(self.hello())

    def usb_unplug(self, duration_s: float, at: float | None = None) -> None:
        """The USB cable is pulled at ``at`` s (default now) and plugged back ``duration_s``
        later: the device is off meanwhile (USB powers it) and reboots when plugged."""
        self.schedule(self.elapsed() if at is None else at, lambda: self._unplugged(duration_s))

    def _unplugged(self, duration_s: float) -> None:
        """Without a transport (a test, the evaluation): ``link_up`` says the cable is out."""
        self.link_up = False
        self.power_off()
        self.record({"kind": "unplug", "duration_s": duration_s})

        def replugged() -> None:
            self.link_up = True
            self.record({"kind": "replug"})
            self.power_on()

        self.schedule(self.elapsed() + duration_s, replugged)

    def receive(self, data: bytes) -> None:
        """Bytes from the gateway: decode every complete frame and answer it."""
        if not self.powered:
            return
        for result in self._decoder.feed(data):
            self._handle(result)

    def advance(self, mono: float | None = None) -> None:
        """Let time pass up to ``mono``: scripted actions, samples due, heartbeats, injected noise."""
        now = self.host.monotonic() if mono is None else mono
        self.fire_due(now)
        if not self.powered:
            while now >= self._next_sample:
                self._next_sample += 1.0 / self.rate_hz
            self._next_heartbeat = max(self._next_heartbeat, now)
            with self._lock:
                self._inject = []
            return
        while now >= self._next_sample:
            if not self.paused:
                self._emit_sample(self._next_sample)
            self._next_sample += 1.0 / self.rate_hz
        if now >= self._next_heartbeat:
            self._next_heartbeat += self._heartbeat_s
            self._queue(Heartbeat(int(self.elapsed(now) * 1000) & 0xFFFFFFFF, self.tx_dropped))
        with self._lock:
            injected, self._inject = self._inject, []
        for chunk in injected:
            self._tx += chunk

    def next_deadline(self) -> float:
        """Host monotonic time by which ``advance`` must be called again."""
        deadline = min(self._next_sample, self._next_heartbeat)
        timer = self.next_timer()
        return deadline if timer is None else min(deadline, timer)

    def data_to_send(self) -> bytes:
        """The bytes waiting for the wire (not removed until ``bytes_sent``)."""
        return bytes(self._tx)

    def bytes_sent(self, n: int) -> None:
        """The front end wrote the first ``n`` bytes of ``data_to_send()``."""
        del self._tx[:n]

    def inject(self, data: bytes) -> None:
        """Write raw bytes between frames (line noise, a broken frame) for tests."""
        with self._lock:
            self._inject.append(bytes(data))

    # -- protocol -----------------------------------------------------------------------

    def hello(self) -> Hello:
        return Hello(self.device_id, self.kind, FIRMWARE, self.rate_hz, self.channel_names())

    def _queue(self, message: Message) -> bool:
        wire = encode_frame(message, self._seq)
        limit = (
            TX_BUFFER_LIMIT
            if isinstance(message, self.data_messages)
            else TX_BUFFER_LIMIT + TX_CONTROL_RESERVE
        )
        if len(self._tx) + len(wire) > limit:
            self.tx_dropped += 1
            return False
        self._tx += wire
        self._seq = (self._seq + 1) & 0xFFFF
        self.frames_sent += 1
        return True

    def _handle(self, result: Frame | FrameError) -> None:
        if isinstance(result, FrameError):
            self.rx_errors[result.reason] += 1
            if result.msg_type == MsgType.COMMAND and result.seq is not None:
                self._queue(Nack(result.seq, NackReason.UNKNOWN_COMMAND, result.detail))
            return
        message = result.message
        self.rx_frames[type(message).__name__] += 1
        match message:
            case HelloRequest():
                self._queue(self.hello())
            case TimeSyncRequest():
                if message.adjust_us is not None:
                    self.adjust_clock(message.adjust_us)
                t2 = self.clock_us()
                self._queue(TimeSyncResponse(message.gateway_time_us, t2, self.clock_us(), self.synced))
            case Command():
                with self._lock:
                    nack = self.on_command(message)
                if nack is None:
                    self._queue(Ack(result.seq))
                else:
                    self._queue(Nack(result.seq, nack.reason, nack.detail))
            case _:
                pass  # device-to-gateway messages echoed back: ignore

    def _emit_sample(self, at_mono: float) -> None:
        with self._lock:
            values = self.sample_values(self.elapsed(at_mono))
        time_us = self.clock_us(at_mono)
        seq = self._seq
        if self._queue(Samples(time_us, self.synced, values)):
            self.samples_sent += 1
            wall_ns = self.host.wall_ns() - int((self.host.monotonic() - at_mono) * 1e9)
            self.sample_log.append((seq, time_us, wall_ns))
        else:
            self.samples_dropped += 1

    # -- ground truth -------------------------------------------------------------------

    def ground_truth(self) -> dict[str, Any]:
        with self._lock:
            return {
                **super().ground_truth(),
                "kind": self.kind.label,
                "frames_sent": self.frames_sent,
                "samples_sent": self.samples_sent,
                "samples_dropped": self.samples_dropped,
                "tx_dropped": self.tx_dropped,
                "rx_frames": dict(self.rx_frames),
                "rx_errors": dict(self.rx_errors),
                "clock_synced": self.synced,
            }
