"""``PtyDevice``: the device side of the serial protocol on a pseudo-terminal.

The device owns the master end of a pty; the gateway opens the slave path (``.port``)
with pyserial, exactly as it would open ``/dev/ttyUSB0``. One thread per device samples
the model on a fixed schedule, writes frames, and answers the gateway's TIME_SYNC,
HELLO_REQUEST and COMMAND frames using the same protocol core as the gateway.

Like a UART, the device keeps sending whether or not anyone listens. Frames go into a
bounded transmit buffer; when it is full (nobody reading), a frame is dropped whole and
counted (``tx_dropped``), never cut;
samples are dropped first, so replies to the gateway always find room.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import heapq
import json
import logging
import os
import select
import threading
import time
import tty
from collections import Counter, deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

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

__all__ = ["PtyDevice"]

log = logging.getLogger(__name__)

FIRMWARE = (1, 0, 0)
TX_BUFFER_LIMIT = 8192
#: room kept for replies and heartbeats: samples are dropped first when nobody reads
TX_CONTROL_RESERVE = 2048
SAMPLE_LOG_SIZE = 200_000


class PtyDevice:
    """Base class of the simulated devices. Subclasses supply the physics."""

    kind: DeviceKind = DeviceKind.SHELF

    def __init__(
        self,
        device_id: str,
        *,
        rate_hz: float = 10.0,
        clock_offset_s: float | None = None,
        clock_drift_ppm: float = 0.0,
        heartbeat_s: float = 1.0,
    ) -> None:
        """``clock_offset_s`` None: the clock starts unsynced at 0 µs since boot.

        A number: the device boots with a (battery-backed) UTC clock that is off by that
        many seconds and already reports synced times, the skew the gateway must find.
        """
        self.device_id = device_id
        self.rate_hz = rate_hz
        self._drift = clock_drift_ppm * 1e-6
        self._heartbeat_s = heartbeat_s
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._paused = threading.Event()
        self._thread: threading.Thread | None = None
        self._master = -1
        self._slave = -1
        self._port = ""
        self._link: Path | None = None
        self._tx = bytearray()
        self._inject: list[bytes] = []
        self._decoder = FrameDecoder()
        self._seq = 0
        self._boot = 0.0
        self._clock_base_us = 0 if clock_offset_s is None else int((time.time() + clock_offset_s) * 1e6)
        self._clock_adjust_us = 0
        self._synced = clock_offset_s is not None
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._timer_seq = 0
        # ground truth
        self.frames_sent = 0
        self.samples_sent = 0
        self.tx_dropped = 0
        self.samples_dropped = 0
        self.rx_frames: Counter[str] = Counter()
        self.rx_errors: Counter[str] = Counter()
        #: (frame seq, device time µs, host UTC ns at the sample instant) of the latest samples sent
        self.sample_log: deque[tuple[int, int, int]] = deque(maxlen=SAMPLE_LOG_SIZE)
        self.events: list[dict[str, Any]] = []

    # -- model hooks --------------------------------------------------------------------

    def channel_names(self) -> tuple[str, ...]:
        raise NotImplementedError

    def sample_values(self, t_s: float) -> tuple[float, ...]:
        """The channel values at ``t_s`` seconds after start (called from the device thread)."""
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

    def model_truth(self) -> dict[str, Any]:
        return {}

    # -- lifecycle ----------------------------------------------------------------------

    @property
    def port(self) -> str:
        if not self._port:
            raise RuntimeError("device not started")
        return self._port

    def start(self, link: str | Path | None = None) -> Self:
        """Open the pty and start the device thread. ``link``: also make a symlink to the port."""
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        flags = fcntl.fcntl(self._master, fcntl.F_GETFL)
        fcntl.fcntl(self._master, fcntl.F_SETFL, flags | os.O_NONBLOCK)
        self._port = os.ttyname(self._slave)
        if link is not None:
            self.relink(link)
        self._boot = time.monotonic()
        self._queue(self.hello())
        self._thread = threading.Thread(target=self._run, name=f"sim-{self.device_id}", daemon=True)
        self._thread.start()
        return self

    def relink(self, link: str | Path) -> None:
        """Point the symlink ``link`` at this device's port (atomically), as udev does."""
        path = Path(link)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        tmp.symlink_to(self.port)
        tmp.replace(path)
        self._link = path

    def stop(self) -> None:
        """Stop the thread and close the pty: to the gateway, the device was unplugged."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        for fd in (self._master, self._slave):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = -1

    def __enter__(self) -> Self:
        return self.start() if self._thread is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def pause(self) -> None:
        """Stop producing samples (the device still answers the gateway)."""
        self._paused.set()

    def resume(self) -> None:
        self._paused.clear()

    def elapsed(self) -> float:
        """Seconds since start: the time base of scripted events (``at=…``)."""
        return time.monotonic() - self._boot

    def inject(self, data: bytes) -> None:
        """Write raw bytes between frames (line noise, a broken frame) for tests."""
        with self._lock:
            self._inject.append(bytes(data))

    def schedule(self, at_s: float, action: Callable[[], None]) -> None:
        """Run ``action`` in the device thread at ``at_s`` seconds after start."""
        with self._lock:
            self._timer_seq += 1
            heapq.heappush(self._timers, (at_s, self._timer_seq, action))

    # -- ground truth -------------------------------------------------------------------

    def ground_truth(self) -> dict[str, Any]:
        with self._lock:
            return {
                "device_id": self.device_id,
                "kind": self.kind.label,
                "port": self._port,
                "frames_sent": self.frames_sent,
                "samples_sent": self.samples_sent,
                "samples_dropped": self.samples_dropped,
                "tx_dropped": self.tx_dropped,
                "rx_frames": dict(self.rx_frames),
                "rx_errors": dict(self.rx_errors),
                "clock_synced": self._synced,
                "events": list(self.events),
                **self.model_truth(),
            }

    def dump_ground_truth(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.ground_truth(), indent=2, sort_keys=True))

    def record(self, event: dict[str, Any]) -> None:
        """Append a ground-truth event stamped with the host's UTC time."""
        event = {"t_s": round(self.elapsed(), 6), "wall_ns": time.time_ns(), **event}
        with self._lock:
            self.events.append(event)

    # -- protocol -----------------------------------------------------------------------

    def hello(self) -> Hello:
        return Hello(self.device_id, self.kind, FIRMWARE, self.rate_hz, self.channel_names())

    def clock_us(self, mono: float | None = None) -> int:
        mono = time.monotonic() if mono is None else mono
        return (
            self._clock_base_us + int((mono - self._boot) * 1e6 * (1.0 + self._drift)) + self._clock_adjust_us
        )

    def _queue(self, message: Message) -> bool:
        wire = encode_frame(message, self._seq)
        limit = TX_BUFFER_LIMIT if isinstance(message, Samples) else TX_BUFFER_LIMIT + TX_CONTROL_RESERVE
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
                    self._clock_adjust_us += message.adjust_us
                    self._synced = True
                    self.record({"kind": "clock-set", "adjust_us": message.adjust_us})
                t2 = self.clock_us()
                self._queue(TimeSyncResponse(message.gateway_time_us, t2, self.clock_us(), self._synced))
            case Command():
                with self._lock:
                    nack = self.on_command(message)
                if nack is None:
                    self._queue(Ack(result.seq))
                else:
                    self._queue(Nack(result.seq, nack.reason, nack.detail))
            case _:
                pass  # device-to-gateway messages echoed back: ignore

    # -- the device thread --------------------------------------------------------------

    def _run(self) -> None:
        next_sample = self._boot
        next_heartbeat = self._boot + self._heartbeat_s
        try:
            while not self._stop.is_set():
                now = time.monotonic()
                wait = max(0.0, min(next_sample, next_heartbeat) - now)
                want_write = [self._master] if self._tx else []
                readable, _, _ = select.select([self._master], want_write, [], min(wait, 0.05))
                if readable:
                    self._read()
                now = time.monotonic()
                self._fire_timers()
                while now >= next_sample:
                    if not self._paused.is_set():
                        self._emit_sample(next_sample)
                    next_sample += 1.0 / self.rate_hz
                if now >= next_heartbeat:
                    next_heartbeat += self._heartbeat_s
                    self._queue(Heartbeat(int((now - self._boot) * 1000) & 0xFFFFFFFF, self.tx_dropped))
                with self._lock:
                    injected, self._inject = self._inject, []
                for chunk in injected:
                    self._tx += chunk
                self._flush()
        except Exception:  # a crash of the simulator thread must be visible
            log.exception("device %s stopped by an error", self.device_id)
            raise

    def _read(self) -> None:
        try:
            data = os.read(self._master, 4096)
        except BlockingIOError:
            return
        except OSError as exc:
            if exc.errno == errno.EIO:  # no process has the port open
                time.sleep(0.01)
                return
            raise
        for result in self._decoder.feed(data):
            self._handle(result)

    def _flush(self) -> None:
        while self._tx:
            try:
                n = os.write(self._master, self._tx)
            except BlockingIOError:
                return
            except OSError as exc:
                if exc.errno == errno.EIO:
                    return
                raise
            del self._tx[:n]

    def _fire_timers(self) -> None:
        t = self.elapsed()
        while True:
            with self._lock:
                if not self._timers or self._timers[0][0] > t:
                    return
                _, _, action = heapq.heappop(self._timers)
            action()

    def _emit_sample(self, at_mono: float) -> None:
        with self._lock:
            values = self.sample_values(at_mono - self._boot)
        time_us = self.clock_us(at_mono)
        seq = self._seq
        if self._queue(Samples(time_us, self._synced, values)):
            self.samples_sent += 1
            wall_ns = time.time_ns() - int((time.monotonic() - at_mono) * 1e9)
            self.sample_log.append((seq, time_us, wall_ns))
        else:
            self.samples_dropped += 1
