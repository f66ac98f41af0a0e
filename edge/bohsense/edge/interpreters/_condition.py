"""Condition sensors: waveform blocks and temperatures → features, sensor faults, local alarms.

``ConditionInterpreter`` takes what a condition sensor's session observes:

- ``WaveformBlock`` (one axis, acceleration in g): checked first
  (``bohsense.edge.features.check_block``, and a block identical to the axis' previous
  one is ``repeated_block``: a stuck sensor resending its buffer). A good block becomes
  the feature readings ``vib_<axis>_<feature>`` at the block's time (names in
  docs/condition.md) and ``vib_<axis>_sensor_fault`` = 0; a faulty one only
  ``vib_<axis>_sensor_fault`` = 1, no feature, and counts ``sensor_fault_<reason>``;
- ``ChannelSample``: every channel is read as before (one reading per sample under the
  channel's name: ``temp_c``, ``vib_rms_mm_s``…), but a temperature channel's sample is
  checked first (``TemperatureTrack.check``) and a faulty one is withheld (its
  ``<channel>_sensor_fault`` = 1 goes instead), as is a ``vib_rms_mm_s`` outside 0–1000;
  good temperature samples feed the window statistics, duty cycle and defrost
  (``<channel>_mean`` … ``<channel>_defrost_s``); a current channel (``current_channel``)
  tells the temperature tracks whether the compressor runs.

Sensor faults are never equipment faults: a faulty block or sample advances no alarm
and clears none. A sensor fault raises ``device.alarm`` ``sensor.<series>`` (warning,
the reason as message) once, and clears it after ``sensor_clear`` good blocks or samples.

Local alarms (``device.alarm``, urgent: the outbox sends them before any backlog):

- ``vibration.zone_d.<axis>`` (critical): ``zone_d_blocks`` consecutive good blocks in
  ISO zone D; cleared after ``clear_blocks`` consecutive good blocks below
  ``clear_ratio`` × the C/D boundary (hysteresis: a machine hovering at the boundary
  does not flap);
- ``temperature.high.<channel>`` (critical): every good sample above ``temp_limit_c``
  for ``temp_limit_s`` of event time; cleared when good samples stay at or below
  ``temp_clear_c`` for ``temp_clear_s``.

Raw snapshots: the last ``snapshot_blocks`` blocks of every axis are kept (their samples
as they came); ``snapshot(device, blocks, axis)`` makes ``condition.snapshot`` events of
them (trigger ``command``), and an axis raising its alarm sends its kept blocks and the
next ``snapshot_after_blocks`` ones (trigger ``alarm``, ``ref`` = the alarm code). Each
event is one block as int16 counts and a scale, at most ``MAX_SNAPSHOT_SAMPLES``
samples (a longer block is cut to its first ones).
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from bohsense.contracts.events import MAX_SNAPSHOT_SAMPLES, Alarm, Event, WaveformSnapshot
from bohsense.contracts.schema import Reading
from bohsense.edge.features import (
    ISO_ZONES,
    MACHINE_CLASSES,
    Bearing,
    TemperatureTrack,
    ThermalConfig,
    VibrationConfig,
    block_features,
    check_block,
)
from bohsense.edge.interpreters._base import (
    ChannelSample,
    DeviceAttached,
    Interpretation,
    Observation,
    WaveformBlock,
)

__all__ = ["ConditionConfig", "ConditionInterpreter"]

_S = 1_000_000_000
_AXIS_OK = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_MAX_VIB_RMS_MM_S = 1000.0


@dataclass(frozen=True, slots=True)
class ConditionConfig:
    vibration: VibrationConfig = field(default_factory=VibrationConfig)
    thermal: ThermalConfig = field(default_factory=ThermalConfig)
    zone_d_blocks: int = 3
    clear_blocks: int = 5
    clear_ratio: float = 0.9
    sensor_clear: int = 3
    temp_limit_c: float | None = None
    temp_limit_s: float = 1800.0
    temp_clear_c: float | None = None
    temp_clear_s: float = 300.0
    #: the temperature channels (None: every channel whose name starts with ``temp``)
    temperature_channels: tuple[str, ...] | None = None
    current_channel: str = "current_a"
    snapshot_blocks: int = 8
    snapshot_after_blocks: int = 2

    def __post_init__(self) -> None:
        for name in ("zone_d_blocks", "clear_blocks", "sensor_clear"):
            if not 1 <= getattr(self, name) <= 10_000:
                raise ValueError(f"{name} must be an integer in 1..10000, not {getattr(self, name)}")
        if not 0 <= self.snapshot_blocks <= 64 or not 0 <= self.snapshot_after_blocks <= 64:
            raise ValueError("snapshot_blocks and snapshot_after_blocks must be in 0..64")
        if not 0 < self.clear_ratio <= 1:
            raise ValueError(f"clear_ratio must be in (0, 1], not {self.clear_ratio}")
        for name in ("temp_limit_s", "temp_clear_s"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be a positive number of seconds, not {v}")
        lim, clr = self.temp_limit_c, self.temp_clear_c
        if lim is not None and not math.isfinite(lim):
            raise ValueError(f"temp_limit_c must be a number, not {lim}")
        if clr is not None and (lim is None or not clr < lim):
            raise ValueError(f"temp_clear_c ({clr}) needs temp_limit_c and must be below it ({lim})")

    @property
    def clear_below_mm_s(self) -> float:
        return ISO_ZONES[self.vibration.machine_class][2] * self.clear_ratio

    @property
    def temp_clear(self) -> float | None:
        if self.temp_limit_c is None:
            return None
        return self.temp_clear_c if self.temp_clear_c is not None else self.temp_limit_c - 2.0

    def is_temperature(self, channel: str) -> bool:
        if self.temperature_channels is None:
            return channel.startswith("temp")
        return channel in self.temperature_channels

    # -- from gateway.toml -----------------------------------------------------------------

    @classmethod
    def from_options(cls, raw: Mapping[str, Any]) -> ConditionConfig:
        """The ``condition`` table of a ``[[devices]]`` entry; ``ValueError`` naming the key."""
        if not isinstance(raw, Mapping):
            raise ValueError(f"'condition' must be a table, not {raw!r}")
        unknown = sorted(set(raw) - set(CONDITION_KEYS))
        if unknown:
            raise ValueError(f"unknown condition key(s) {unknown} (known: {sorted(CONDITION_KEYS)})")
        vib: dict[str, Any] = {}
        thermal: dict[str, Any] = {}
        top: dict[str, Any] = {}
        for key, value in raw.items():
            kind, target, dest = CONDITION_KEYS[key]
            try:
                parsed = _parse(kind, value)
            except ValueError as exc:
                raise ValueError(f"condition.{key}: {exc}") from None
            {"vibration": vib, "thermal": thermal, "top": top}[dest][target] = parsed
        if "machine_class" in vib and vib["machine_class"] not in MACHINE_CLASSES:
            raise ValueError(
                f"condition.machine_class: {vib['machine_class']!r} is not one of {', '.join(MACHINE_CLASSES)}"
            )
        try:
            return cls(vibration=VibrationConfig(**vib), thermal=ThermalConfig(**thermal), **top)
        except ValueError as exc:
            raise ValueError(f"condition: {exc}") from None


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"must be a number, not {value!r}")
    return float(value)


def _parse(kind: str, value: Any) -> Any:
    if kind == "float":
        return _number(value)
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"must be an integer, not {value!r}")
        return value
    if kind == "str":
        if not isinstance(value, str) or not value:
            raise ValueError(f"must be a non-empty string, not {value!r}")
        return value
    if kind == "pair":
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise ValueError(f"must be [low, high], not {value!r}")
        return (_number(value[0]), _number(value[1]))
    if kind == "floats":
        if not isinstance(value, list | tuple):
            raise ValueError(f"must be an array of numbers, not {value!r}")
        return tuple(_number(v) for v in value)
    if kind == "strs":
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v for v in value):
            raise ValueError(f"must be an array of channel names, not {value!r}")
        return tuple(value)
    assert kind == "bearing"
    if not isinstance(value, Mapping) or set(value) - {"balls", "ball_d", "pitch_d", "contact_deg"}:
        raise ValueError(f"must be a table {{balls, ball_d, pitch_d, contact_deg}}, not {value!r}")
    missing = {"balls", "ball_d", "pitch_d"} - set(value)
    if missing:
        raise ValueError(f"lacks {sorted(missing)}")
    balls = value["balls"]
    if isinstance(balls, bool) or not isinstance(balls, int):
        raise ValueError(f"balls must be an integer, not {balls!r}")
    return Bearing(
        balls, _number(value["ball_d"]), _number(value["pitch_d"]), _number(value.get("contact_deg", 0.0))
    )


#: every key of the ``condition`` table: key → (type, field, which config)
CONDITION_KEYS: dict[str, tuple[str, str, str]] = {
    "machine_class": ("str", "machine_class", "vibration"),
    "rpm": ("float", "rpm", "vibration"),
    "rpm_range": ("pair", "rpm_range", "vibration"),
    "bearing": ("bearing", "bearing", "vibration"),
    "sample_rate_hz": ("float", "sample_rate_hz", "vibration"),
    "envelope_band_hz": ("pair", "envelope_band_hz", "vibration"),
    "band_edges_hz": ("floats", "band_edges_hz", "vibration"),
    "min_std_g": ("float", "min_std_g", "vibration"),
    "full_scale_g": ("float", "full_scale_g", "vibration"),
    "temp_valid_c": ("pair", "valid_c", "thermal"),
    "temp_max_rate_c_s": ("float", "max_rate_c_s", "thermal"),
    "temp_spike_c": ("float", "spike_c", "thermal"),
    "temp_stuck_s": ("float", "stuck_s", "thermal"),
    "stats_window_s": ("float", "window_s", "thermal"),
    "duty_smooth_s": ("float", "smooth_s", "thermal"),
    "duty_slope_c_s": ("float", "slope_c_s", "thermal"),
    "current_on_a": ("float", "current_on_a", "thermal"),
    "defrost_rise_c": ("float", "defrost_rise_c", "thermal"),
    "defrost_min_s": ("float", "defrost_min_s", "thermal"),
    "defrost_baseline_s": ("float", "baseline_s", "thermal"),
    **{
        f.name: ({"int": "int", "float": "float"}.get(str(f.type), "float"), f.name, "top")
        for f in fields(ConditionConfig)
        if f.name not in ("vibration", "thermal", "temperature_channels", "current_channel")
    },
    "temperature_channels": ("strs", "temperature_channels", "top"),
    "current_channel": ("str", "current_channel", "top"),
}


@dataclass(slots=True)
class _Kept:
    block_seq: int
    ts: int
    fs_hz: float
    samples: np.ndarray
    fault: str
    lost: bool
    clipped: int


@dataclass(slots=True)
class _Axis:
    kept: deque[_Kept]
    last: np.ndarray | None = None
    d_run: int = 0
    clear_run: int = 0
    alarm: bool = False
    after: int = 0
    fault: bool = False
    good_run: int = 0


@dataclass(slots=True)
class _Temp:
    track: TemperatureTrack
    above_since: int | None = None
    below_since: int | None = None
    alarm: bool = False
    fault: bool = False
    good_run: int = 0


@dataclass(slots=True)
class _Device:
    axes: dict[str, _Axis] = field(default_factory=dict)
    temps: dict[str, _Temp] = field(default_factory=dict)
    #: the compressor current last read (A), for tracks that start after it
    current: float | None = None


def _quantise(x: np.ndarray) -> tuple[bytes, float]:
    x = np.where(np.isfinite(x), x, 0.0)[:MAX_SNAPSHOT_SAMPLES]
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    scale = min(peak / 32767.0, 1e3) if peak > 0 else 1.0 / 32767.0
    counts = np.clip(np.rint(x / scale), -32768, 32767).astype("<i2")
    if counts.size == 0:
        counts = np.zeros(1, dtype="<i2")
    return counts.tobytes(), scale


class ConditionInterpreter:
    """Features, sensor faults and local alarms of condition sensors (module doc).

    ``configs`` maps a device id to its configuration; ``default`` is for the others."""

    def __init__(
        self, default: ConditionConfig | None = None, configs: Mapping[str, ConditionConfig] | None = None
    ) -> None:
        self.default = default or ConditionConfig()
        self.configs = dict(configs or {})
        self._devices: dict[str, _Device] = {}
        self._counts: Counter[str] = Counter()

    def config(self, device: str) -> ConditionConfig:
        return self.configs.get(device, self.default)

    # -- the interpreter interface -------------------------------------------------------

    def observe(self, observation: Observation) -> Interpretation:
        out = Interpretation()
        try:
            if isinstance(observation, WaveformBlock):
                self._block(observation, out)
            elif isinstance(observation, ChannelSample):
                self._sample(observation, out)
            elif isinstance(observation, DeviceAttached):
                self._devices.setdefault(observation.device, _Device())
        except (TypeError, ValueError, OverflowError, AttributeError, FloatingPointError):
            self._counts["bad_observation"] += 1  # a field of the wrong type: nothing kept of it
            return Interpretation()
        return out

    def counters(self) -> Mapping[str, int]:
        return dict(self._counts)

    def snapshot(self, device: str, blocks: int, axis: str | None = None, ref: str = "") -> list[Event]:
        """``condition.snapshot`` events of the last ``blocks`` kept blocks of ``device``
        (of ``axis``, or of every axis), oldest first; [] when none are kept."""
        dev = self._devices.get(device)
        if dev is None or blocks < 1:
            return []
        out: list[Event] = []
        for name, ax in sorted(dev.axes.items()):
            if axis is None or name == axis:
                for kept in list(ax.kept)[-blocks:]:
                    out.append(self._snapshot_event(device, name, kept, "command", ref))
        return out

    # -- vibration -------------------------------------------------------------------------

    def _block(self, o: WaveformBlock, out: Interpretation) -> None:
        axis = o.axis
        if not isinstance(axis, str) or not 1 <= len(axis) <= 8 or not set(axis) <= _AXIS_OK:
            self._counts["bad_axis"] += 1
            return
        if type(o.ts) is not int or not 0 <= o.ts < 2**63 or not isinstance(o.device, str):
            self._counts["bad_times"] += 1
            return
        cfg = self.config(o.device)
        dev = self._devices.setdefault(o.device, _Device())
        ax = dev.axes.get(axis)
        if ax is None:
            ax = dev.axes[axis] = _Axis(kept=deque(maxlen=max(1, cfg.snapshot_blocks)))
        prefix = f"vib_{axis}"
        reason, x = check_block(o.samples, o.fs_hz, cfg.vibration, lost=o.lost, clipped=o.clipped)
        if not reason and x is not None and ax.last is not None and np.array_equal(x, ax.last):
            reason = "repeated_block"
        if x is not None:
            x = x.copy()  # the session may reuse its buffer for the next block
            ax.last = x
        kept_samples = x if x is not None else self._raw(o.samples)
        kept = None
        if kept_samples is not None and cfg.snapshot_blocks > 0:
            clipped = o.clipped if isinstance(o.clipped, int) and not isinstance(o.clipped, bool) else 0
            kept = _Kept(o.block_seq, o.ts, float(o.fs_hz) if _finite(o.fs_hz) else 0.0, kept_samples,
                         reason, bool(o.lost), max(0, min(clipped, 2**31 - 1)))  # fmt: skip
            ax.kept.append(kept)
        if ax.after > 0 and kept is not None:
            ax.after -= 1
            out.events.append(self._snapshot_event(o.device, axis, kept, "alarm", f"vibration.zone_d.{axis}"))
        if reason:
            self._counts[f"sensor_fault_{reason}"] += 1
            out.readings.append(Reading(o.device, f"{prefix}_sensor_fault", o.ts, 1.0))
            ax.good_run = 0
            if not ax.fault:
                ax.fault = True
                out.events.append(self._alarm(o.device, f"sensor.{prefix}", "warning", True, o.ts, reason))
            return
        assert x is not None
        feats = block_features(x, float(o.fs_hz), cfg.vibration)
        self._counts["blocks"] += 1
        for metric, value in feats.metrics(prefix).items():
            if math.isfinite(value):
                out.readings.append(Reading(o.device, metric, o.ts, float(value)))
        out.readings.append(Reading(o.device, f"{prefix}_sensor_fault", o.ts, 0.0))
        if ax.fault:
            ax.good_run += 1
            if ax.good_run >= cfg.sensor_clear:
                ax.fault = False
                out.events.append(
                    self._alarm(o.device, f"sensor.{prefix}", "warning", False, o.ts, "recovered")
                )
        code = f"vibration.zone_d.{axis}"
        v = feats.velocity_rms_mm_s
        if feats.iso_zone == "D":
            ax.d_run += 1
            ax.clear_run = 0
        else:
            ax.d_run = 0
            ax.clear_run = ax.clear_run + 1 if v < cfg.clear_below_mm_s else 0
        if not ax.alarm and ax.d_run >= cfg.zone_d_blocks:
            ax.alarm = True
            msg = (
                f"velocity RMS {v:.2f} mm/s: ISO zone D ({cfg.vibration.machine_class}) for {ax.d_run} blocks"
            )
            out.events.append(self._alarm(o.device, code, "critical", True, o.ts, msg))
            for k in ax.kept:
                out.events.append(self._snapshot_event(o.device, axis, k, "alarm", code))
            ax.after = cfg.snapshot_after_blocks
        elif ax.alarm and ax.clear_run >= cfg.clear_blocks:
            ax.alarm = False
            msg = f"velocity RMS {v:.2f} mm/s, below {cfg.clear_below_mm_s:.2f} for {ax.clear_run} blocks"
            out.events.append(self._alarm(o.device, code, "critical", False, o.ts, msg))

    @staticmethod
    def _raw(samples: Any) -> np.ndarray | None:
        try:
            x = np.array(samples, dtype=np.float64)
        except (TypeError, ValueError, OverflowError):
            return None
        return x if x.ndim == 1 and x.size > 0 else None

    def _snapshot_event(self, device: str, axis: str, k: _Kept, trigger: str, ref: str) -> Event:
        data, scale = _quantise(k.samples)
        fs = k.fs_hz if 0 < k.fs_hz <= 1e6 else 1.0
        self._counts["snapshots"] += 1
        attrs = WaveformSnapshot(
            axis=axis,
            block_seq=max(0, int(k.block_seq)),
            fs_hz=fs,
            scale_g=scale,
            samples=data,
            trigger=trigger,  # type: ignore[arg-type]
            ref=ref[:64],
            fault=k.fault,
            lost=k.lost,
            clipped=k.clipped,
        )
        return Event(device, "condition.snapshot", k.ts, attrs)

    @staticmethod
    def _alarm(device: str, code: str, severity: str, active: bool, ts: int, message: str) -> Event:
        return Event(device, "device.alarm", ts, Alarm(code[:64], severity, active, message[:512]))  # type: ignore[arg-type]

    # -- channels --------------------------------------------------------------------------

    def _sample(self, o: ChannelSample, out: Interpretation) -> None:
        cfg = self.config(o.device)
        name, ts, value = o.name, o.ts, o.value
        if type(ts) is not int or not 0 <= ts < 2**63:
            self._counts["bad_times"] += 1
            return
        if isinstance(value, bool) or not isinstance(value, int | float):
            self._counts["bad_observation"] += 1
            return
        value = float(value)
        dev = self._devices.setdefault(o.device, _Device())
        if name == cfg.current_channel:
            if math.isfinite(value):
                dev.current = value
                for track in dev.temps.values():
                    track.track.set_current(value)
                out.readings.append(Reading(o.device, name, ts, value))
            else:
                self._counts["sensor_fault_non_finite"] += 1
            return
        if not cfg.is_temperature(name):
            if not math.isfinite(value) or (name == "vib_rms_mm_s" and not 0 <= value <= _MAX_VIB_RMS_MM_S):
                self._counts["sensor_fault_out_of_range"] += 1
                out.readings.append(Reading(o.device, f"{name}_sensor_fault", ts, 1.0))
                return
            out.readings.append(Reading(o.device, name, ts, value))
            return
        t = dev.temps.get(name)
        if t is None:
            t = dev.temps[name] = _Temp(TemperatureTrack(cfg.thermal))
            if dev.current is not None:
                t.track.set_current(dev.current)
        reason = t.track.check(ts, value)
        if reason:
            self._counts[f"sensor_fault_{reason}"] += 1
            out.readings.append(Reading(o.device, f"{name}_sensor_fault", ts, 1.0))
            t.good_run = 0
            if not t.fault:
                t.fault = True
                out.events.append(self._alarm(o.device, f"sensor.{name}", "warning", True, ts, reason))
            return
        out.readings.append(Reading(o.device, name, ts, value))
        if t.fault:
            t.good_run += 1
            if t.good_run >= cfg.sensor_clear:
                t.fault = False
                out.readings.append(Reading(o.device, f"{name}_sensor_fault", ts, 0.0))
                out.events.append(self._alarm(o.device, f"sensor.{name}", "warning", False, ts, "recovered"))
        for suffix, (at, v) in t.track.add(ts, value).items():
            out.readings.append(Reading(o.device, f"{name}_{suffix}", at, float(v)))
        self._temperature_alarm(o.device, name, t, cfg, ts, value, out)

    def _temperature_alarm(
        self,
        device: str,
        name: str,
        t: _Temp,
        cfg: ConditionConfig,
        ts: int,
        value: float,
        out: Interpretation,
    ) -> None:
        limit, clear = cfg.temp_limit_c, cfg.temp_clear
        if limit is None or clear is None:
            return
        code = f"temperature.high.{name}"
        if value > limit:
            t.below_since = None
            if t.above_since is None:
                t.above_since = ts
            held = ts - t.above_since
            if not t.alarm and held >= cfg.temp_limit_s * _S:
                t.alarm = True
                msg = f"{value:.1f} °C, above {limit:g} °C for {held / 60e9:.0f} min"
                out.events.append(self._alarm(device, code, "critical", True, ts, msg))
            return
        t.above_since = None
        if not t.alarm:
            return
        if value <= clear:
            if t.below_since is None:
                t.below_since = ts
            if ts - t.below_since >= cfg.temp_clear_s * _S:
                t.alarm = False
                t.below_since = None
                msg = f"{value:.1f} °C, at or below {clear:g} °C for {cfg.temp_clear_s / 60:.0f} min"
                out.events.append(self._alarm(device, code, "critical", False, ts, msg))
        else:
            t.below_since = None


def _finite(v: Any) -> bool:
    return not isinstance(v, bool) and isinstance(v, int | float) and math.isfinite(v)
