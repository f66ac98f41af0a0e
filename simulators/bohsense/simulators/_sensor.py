"""``WaveformSensorDevice``: a condition sensor with an accelerometer, on a pseudo-terminal.

It plays a ``ConditionScenario`` in accelerated time: simulated time is
``start_s + time_scale × seconds since boot``, so a ``time_scale`` of 3600 runs an hour
of the asset's life per second and four weeks in about eleven minutes. Every
``sensor.block_every_s`` of simulated time it takes one waveform block per axis (the
scenario's physics at that simulated time, with its sensor faults) and sends it as
WAVEFORM fragments; every ``temperature_every_s`` (at most twice a real second) one
TEMPERATURE per probe, and a STATUS every ten of those. Frames carry the device's own
(real-time) clock; the ground truth maps it to simulated time (``sim_time``,
``time_scale``, ``start_s``) and keeps every block it sent.

Like firmware with a block buffer, fragments are moved into the UART buffer only as it
drains; when the gateway does not read and more than ``MAX_QUEUED_BLOCKS`` blocks wait,
a new block is dropped whole (its ``block_seq`` is used: the gateway sees the gap).
Past the scenario's ``duration_days`` no more blocks are taken (temperatures go on).
``lose_fragment`` makes a fragment vanish on the wire (sent, seq used, never arrives),
which is how the tests check that the gateway marks that block lost.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from bohsense.firmware_bridge import (
    MAX_FRAGMENT_SAMPLES,
    Axis,
    DeviceKind,
    DeviceStatus,
    StatusFlag,
    Temperature,
    Waveform,
    WaveformFragment,
    encode_frame,
    split_waveform,
)
from bohsense.simulators._condition_scenario import ConditionScenario
from bohsense.simulators._pty import PtyDevice
from bohsense.simulators._serial import TX_BUFFER_LIMIT

__all__ = ["SentBlock", "WaveformSensorDevice"]

MAX_QUEUED_BLOCKS = 6
MAX_TEMPERATURE_HZ = 2.0
STATUS_EVERY = 10
SENT_LOG = 64


@dataclass(frozen=True, slots=True)
class SentBlock:
    """A block the device sent: its header, the counts, and which fragments it lost on the wire.

    ``wall_ns``: the host's UTC time of the block's first sample (what the gateway should place it at).
    """

    axis: str
    block_seq: int
    time_us: int
    wall_ns: int
    sim_t_s: float
    scale_g: float
    fs_hz: float
    counts: tuple[int, ...]
    lost_fragments: tuple[int, ...]


class WaveformSensorDevice(PtyDevice):
    kind = DeviceKind.CONDITION
    data_messages = (Temperature, DeviceStatus)

    def __init__(
        self,
        scenario: ConditionScenario,
        *,
        time_scale: float | None = None,
        start_s: float = 0.0,
        fragment_loss: float = 0.0,
        **kwargs: Any,
    ) -> None:
        self.scenario = scenario
        self.time_scale = scenario.time_scale if time_scale is None else time_scale
        if not self.time_scale > 0 or not math.isfinite(self.time_scale):
            raise ValueError(f"time scale must be a positive number, not {self.time_scale}")
        if not 0.0 <= fragment_loss < 1.0:
            raise ValueError(f"fragment loss {fragment_loss} outside 0..1")
        self.start_s = start_s
        spec = scenario.sensor
        temperature_hz = min(MAX_TEMPERATURE_HZ, self.time_scale / spec.temperature_every_s)
        super().__init__(spec.device_id, rate_hz=temperature_hz, **kwargs)
        self._block_real_s = spec.block_every_s / self.time_scale
        self._next_block = 0.0
        self._block_seq = dict.fromkeys(spec.axes, 0)
        self._fragments: deque[tuple[WaveformFragment, bool]] = deque()
        self._lose: set[tuple[str, int, int]] = set()
        self._loss_rng = np.random.default_rng([scenario.seed & 0xFFFFFFFF, 0x10557])
        self._fragment_loss = fragment_loss
        self._status_count = 0
        self._clipped_since_status = False
        self._dropped_at_status = 0
        self.blocks_sent = 0
        self.blocks_dropped = 0
        self.fragments_lost = 0
        self.sent_blocks: deque[SentBlock] = deque(maxlen=SENT_LOG)

    # -- time ---------------------------------------------------------------------------

    def sim_time(self, mono: float | None = None) -> float:
        """Simulated seconds into the scenario at host monotonic ``mono`` (default now)."""
        return self.start_s + self.elapsed(mono) * self.time_scale

    def lose_fragment(self, axis: str, block_seq: int, fragment: int) -> None:
        """Fragment ``fragment`` of block ``block_seq`` of ``axis`` will vanish on the wire."""
        with self._lock:
            self._lose.add((axis, block_seq & 0xFFFF, fragment))

    # -- the device's schedule ------------------------------------------------------------

    def channel_names(self) -> tuple[str, ...]:
        probes = len(self.scenario.probe_names())
        temps = ("temp_c", *(f"temp_c_{i + 1}" for i in range(1, probes)))
        return (*temps, "status_flags", "uptime_s", "supply_v")

    def sample_values(self, t_s: float) -> tuple[float, ...]:
        raise NotImplementedError("a waveform sensor sends TEMPERATURE and STATUS, not SAMPLES")

    def boot(self) -> None:
        super().boot()
        self._next_block = self._boot

    def advance(self, mono: float | None = None) -> None:
        now = self.host.monotonic() if mono is None else mono
        super().advance(now)
        while now >= self._next_block:
            if not self.paused:
                self._take_blocks(self._next_block)
            self._next_block += self._block_real_s
        self._drain()

    def next_deadline(self) -> float:
        deadline = min(super().next_deadline(), self._next_block)
        return deadline if not self._fragments else min(deadline, self.host.monotonic() + 0.005)

    def _emit_sample(self, at_mono: float) -> None:
        """A temperature reading of every probe, and every tenth time a STATUS."""
        t_sim = self.sim_time(at_mono)
        with self._lock:
            values = self.scenario.temperatures(t_sim)
        time_us = self.clock_us(at_mono)
        for probe, value in enumerate(values):
            if value is not None and self._queue(Temperature(time_us, self.synced, probe, value)):
                self.samples_sent += 1
        self._status_count += 1
        if self._status_count % STATUS_EVERY == 1:
            flags = StatusFlag(0)
            if self._clipped_since_status:
                flags |= StatusFlag.CLIPPING
            dropped = self.tx_dropped + self.blocks_dropped
            if dropped > self._dropped_at_status:
                flags |= StatusFlag.TX_OVERFLOW
            for channel, flag in (
                ("vibration", StatusFlag.ACCEL_FAULT),
                ("temperature", StatusFlag.TEMP_FAULT),
            ):
                if any(f.kind == "dropout" and f.active(t_sim, channel) for f in self.scenario.sensor_faults):
                    flags |= flag  # the device notices its converter does not answer
            self._clipped_since_status = False
            self._dropped_at_status = dropped
            uptime = int(self.elapsed(at_mono))
            self._queue(DeviceStatus(time_us, self.synced, flags, uptime & 0xFFFFFFFF, 3300))

    def _take_blocks(self, at_mono: float) -> None:
        spec = self.scenario.sensor
        t_sim = self.sim_time(at_mono)
        if t_sim >= self.scenario.duration_s:
            return
        duration_us = int(spec.block_samples / spec.fs_hz * 1e6)
        wall_ns = self.host.wall_ns() - int((self.host.monotonic() - at_mono) * 1e9) - duration_us * 1000
        for axis in spec.axes:
            seq = self._block_seq[axis]
            self._block_seq[axis] = (seq + 1) & 0xFFFF
            if len(self._fragments) > MAX_QUEUED_BLOCKS * math.ceil(
                spec.block_samples / MAX_FRAGMENT_SAMPLES
            ):
                self.blocks_dropped += 1  # the block buffer is full: this block is dropped whole
                continue
            with self._lock:
                reported = self.scenario.sensor_block(t_sim, axis)
            if reported is None:  # the sensor is out (dropout): nothing is sent
                continue
            counts, scale = reported
            block = Waveform(
                self.clock_us(at_mono) - duration_us,
                self.synced,
                Axis[axis.upper()],
                seq,
                spec.fs_hz,
                float(np.float32(scale)),
                tuple(int(c) for c in counts),
            )
            if int(np.count_nonzero((counts == 32767) | (counts == -32768))):
                self._clipped_since_status = True
            lost = []
            for fragment in split_waveform(block):
                with self._lock:
                    key = (axis, seq, fragment.fragment)
                    vanish = key in self._lose
                    self._lose.discard(key)
                if not vanish and self._fragment_loss:
                    vanish = bool(self._loss_rng.random() < self._fragment_loss)
                if vanish:
                    lost.append(fragment.fragment)
                self._fragments.append((fragment, vanish))
            self.blocks_sent += 1
            self.sent_blocks.append(
                SentBlock(
                    axis,
                    seq,
                    block.time_us,
                    wall_ns,
                    t_sim,
                    block.scale_g,
                    spec.fs_hz,
                    block.counts,
                    tuple(lost),
                )
            )
            self.record(
                {
                    "kind": "waveform",
                    "axis": axis,
                    "block_seq": seq,
                    "sim_t_s": round(t_sim, 3),
                    "lost_fragments": lost,
                }
            )

    def _drain(self) -> None:
        """Move fragments into the UART buffer as far as it has room (firmware DMA from the block buffer)."""
        while self._fragments and len(self._tx) < TX_BUFFER_LIMIT:
            fragment, vanish = self._fragments.popleft()
            wire = encode_frame(fragment, self._seq)
            self._seq = (self._seq + 1) & 0xFFFF
            self.frames_sent += 1
            if vanish:
                self.fragments_lost += 1
            else:
                self._tx += wire

    # -- ground truth -------------------------------------------------------------------

    def model_truth(self) -> dict[str, Any]:
        return {
            **self.scenario.ground_truth(),
            "time_scale": self.time_scale,
            "start_s": self.start_s,
            "sim_time_s": round(self.sim_time(), 3),
            "blocks_sent": self.blocks_sent,
            "blocks_dropped": self.blocks_dropped,
            "fragments_lost": self.fragments_lost,
            "severity_now": self.scenario.severity(self.sim_time()),
        }
