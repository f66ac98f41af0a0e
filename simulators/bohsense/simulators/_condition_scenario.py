"""Condition-sensor scenarios: one asset, its faults and its sensor's faults, seeded, in TOML.

A scenario is everything needed to reproduce what one condition sensor on one asset
measures over weeks of simulated time, with the labels an evaluator scores against
(``ground_truth``). It is pure: ``waveform``/``sensor_block``/``temperatures`` answer for
any simulated time; ``blocks()`` walks the whole scenario (no pty needed). The pty device
(``WaveformSensorDevice``) plays the same scenario in accelerated time.

The file format is in docs/simulators.md ("Condition sensors"); unknown keys are refused.
"""

from __future__ import annotations

import csv
import json
import math
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bohsense.simulators._faults import GROWTHS, SENSOR_FAULTS, FaultSpec, SensorFault, SensorFaults
from bohsense.simulators._machines import (
    AXES,
    BEARING_FAULTS,
    MACHINE_FAULTS,
    MACHINES,
    Bearing,
    Machine,
    machine_waveform,
)
from bohsense.simulators._refrigeration import CASES, REFRIGERATION_FAULTS, CaseModel, CaseState

__all__ = [
    "ConditionScenario",
    "ConditionScenarioError",
    "SensorSpec",
    "SimBlock",
    "packaged_scenarios",
]

DAY_S = 86_400.0
ASSET_KINDS = (*MACHINES, *CASES)
#: accelerometer noise when the machine is still (a compressor between cycles), g rms
STILL_NOISE_G = 0.002


class ConditionScenarioError(ValueError):
    """A scenario file that cannot be used (the message names the key)."""


@dataclass(frozen=True, slots=True)
class SensorSpec:
    device_id: str = "sensor-1"
    fs_hz: float = 25600.0
    block_samples: int = 8192
    axes: tuple[str, ...] = AXES
    range_g: float = 16.0
    #: simulated seconds between two waveform sets (one block per axis)
    block_every_s: float = 3600.0
    #: simulated seconds between two temperature readings
    temperature_every_s: float = 60.0

    @property
    def scale_g(self) -> float:
        return self.range_g / 32768.0


@dataclass(frozen=True, slots=True)
class SimBlock:
    """One waveform block of the scenario as the sensor reports it, with its labels."""

    t_s: float
    axis: str
    counts: npt.NDArray[np.int16] | None  # None: the sensor sent nothing (dropout)
    scale_g: float
    severity: Mapping[str, float]
    sensor_faults: tuple[str, ...]
    running: bool

    @property
    def g(self) -> npt.NDArray[np.float64] | None:
        return None if self.counts is None else self.counts.astype(np.float64) * self.scale_g


def _table(raw: Any, where: str, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise ConditionScenarioError(f"{where} must be a table, not {raw!r}")
    unknown = set(raw) - allowed
    if unknown:
        raise ConditionScenarioError(f"{where}: unknown key(s) {sorted(unknown)} (known: {sorted(allowed)})")
    return dict(raw)


def _num(
    table: Mapping[str, Any], key: str, where: str, default: float | None = None, *, positive: bool = False
) -> float:
    value = table.get(key, default)
    if value is None:
        raise ConditionScenarioError(f"{where}.{key} is required")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConditionScenarioError(f"{where}.{key} must be a number, not {value!r}")
    if positive and value <= 0:
        raise ConditionScenarioError(f"{where}.{key} must be positive, not {value!r}")
    return float(value)


@dataclass
class ConditionScenario:
    name: str
    seed: int
    time_scale: float
    duration_s: float
    sensor: SensorSpec
    asset: str
    machine: Machine
    case: CaseModel | None
    faults: tuple[FaultSpec, ...]
    sensor_faults: tuple[SensorFault, ...]
    _case_state: CaseState | None = field(default=None, repr=False)
    _sensing: SensorFaults | None = field(default=None, repr=False)

    # -- loading ------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path, *, seed: int | None = None) -> ConditionScenario:
        """A scenario file, or the name of a packaged one (``packaged_scenarios()``)."""
        p = Path(path)
        if not p.exists() and str(path) in packaged_scenarios():
            with resources.as_file(
                resources.files("bohsense.simulators") / "scenarios" / f"{path}.toml"
            ) as f:
                return cls.from_dict(tomllib.loads(f.read_text()), seed=seed, name=str(path))
        try:
            data = tomllib.loads(p.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConditionScenarioError(f"{path}: {exc}") from exc
        return cls.from_dict(data, seed=seed, name=p.stem)

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, seed: int | None = None, name: str = "scenario"
    ) -> ConditionScenario:
        top = _table(
            data,
            "scenario",
            {"name", "seed", "time_scale", "duration_days", "sensor", "asset", "faults", "sensor_faults"},
        )
        raw_seed = top.get("seed", 0)
        if isinstance(raw_seed, bool) or not isinstance(raw_seed, int):
            raise ConditionScenarioError(f"seed must be an integer, not {raw_seed!r}")
        sensor_raw = _table(
            top.get("sensor", {}),
            "sensor",
            {
                "device_id",
                "fs_hz",
                "block_samples",
                "axes",
                "range_g",
                "block_every_s",
                "temperature_every_s",
            },
        )
        axes = sensor_raw.get("axes", list(AXES))
        if (
            not isinstance(axes, list)
            or not axes
            or any(a not in AXES for a in axes)
            or len(set(axes)) != len(axes)
        ):
            raise ConditionScenarioError(
                f"sensor.axes must be a list of distinct axes from {AXES}, not {axes!r}"
            )
        block_samples = sensor_raw.get("block_samples", 8192)
        if (
            isinstance(block_samples, bool)
            or not isinstance(block_samples, int)
            or not 16 <= block_samples <= 32768
        ):
            raise ConditionScenarioError(
                f"sensor.block_samples must be an integer 16..32768, not {block_samples!r}"
            )
        device_id = sensor_raw.get("device_id", "sensor-1")
        if not isinstance(device_id, str) or not device_id:
            raise ConditionScenarioError(f"sensor.device_id must be a non-empty string, not {device_id!r}")
        fs = _num(sensor_raw, "fs_hz", "sensor", 25600.0, positive=True)
        if not 1000.0 <= fs <= 200_000.0:
            raise ConditionScenarioError(f"sensor.fs_hz must be 1000..200000, not {fs}")
        sensor = SensorSpec(
            device_id,
            fs,
            block_samples,
            tuple(axes),
            _num(sensor_raw, "range_g", "sensor", 16.0, positive=True),
            _num(sensor_raw, "block_every_s", "sensor", 3600.0, positive=True),
            _num(sensor_raw, "temperature_every_s", "sensor", 60.0, positive=True),
        )
        asset_raw = _table(
            top.get("asset", {}), "asset", {"kind", "machine", "shaft_rpm", "bearing", "setpoint_c"}
        )
        asset = asset_raw.get("kind", "motor")
        if asset not in ASSET_KINDS:
            raise ConditionScenarioError(f"asset.kind {asset!r} is not one of {ASSET_KINDS}")
        machine_name = asset_raw.get("machine", asset if asset in MACHINES else "compressor")
        if machine_name not in MACHINES:
            raise ConditionScenarioError(f"asset.machine {machine_name!r} is not one of {tuple(MACHINES)}")
        machine = MACHINES[machine_name]
        if "shaft_rpm" in asset_raw:
            rpm = _num(asset_raw, "shaft_rpm", "asset", positive=True)
            machine = _replace_machine(machine, shaft_hz=rpm / 60.0)
        if "bearing" in asset_raw:
            b = _table(
                asset_raw["bearing"],
                "asset.bearing",
                {"n_balls", "ball_diameter_mm", "pitch_diameter_mm", "contact_angle_deg"},
            )
            try:
                bearing = Bearing(
                    int(_num(b, "n_balls", "asset.bearing")),
                    _num(b, "ball_diameter_mm", "asset.bearing", positive=True),
                    _num(b, "pitch_diameter_mm", "asset.bearing", positive=True),
                    _num(b, "contact_angle_deg", "asset.bearing", 0.0),
                )
            except ValueError as exc:
                raise ConditionScenarioError(f"asset.bearing: {exc}") from exc
            machine = _replace_machine(machine, bearing=bearing)
        case = None
        if asset in CASES:
            case = CASES[asset]
            if "setpoint_c" in asset_raw:
                case = _replace_case(case, _num(asset_raw, "setpoint_c", "asset"))
        elif "setpoint_c" in asset_raw:
            raise ConditionScenarioError("asset.setpoint_c is only for a case or freezer")
        allowed = set(MACHINE_FAULTS) | (set(REFRIGERATION_FAULTS) if case else set())
        faults = []
        for i, raw in enumerate(_list(top.get("faults", []), "faults")):
            where = f"faults[{i}]"
            f = _table(raw, where, {"kind", "onset_days", "failure_days", "growth"})
            kind = f.get("kind")
            if kind not in allowed:
                raise ConditionScenarioError(
                    f"{where}.kind {kind!r} is not one of {sorted(allowed)} for a {asset}"
                )
            growth = f.get("growth", "exponential")
            if growth not in GROWTHS:
                raise ConditionScenarioError(f"{where}.growth {growth!r} is not one of {GROWTHS}")
            onset, failure = _num(f, "onset_days", where), _num(f, "failure_days", where)
            if failure <= onset or onset < 0:
                raise ConditionScenarioError(f"{where}: failure_days must come after onset_days ≥ 0")
            faults.append(FaultSpec(str(kind), onset * DAY_S, failure * DAY_S, str(growth)))
        sensor_faults = []
        for i, raw in enumerate(_list(top.get("sensor_faults", []), "sensor_faults")):
            where = f"sensor_faults[{i}]"
            f = _table(raw, where, {"kind", "onset_days", "end_days", "channel", "magnitude"})
            kind = f.get("kind")
            if kind not in SENSOR_FAULTS:
                raise ConditionScenarioError(f"{where}.kind {kind!r} is not one of {SENSOR_FAULTS}")
            onset = _num(f, "onset_days", where)
            end = _num(f, "end_days", where, math.inf)
            channel = f.get("channel", "all")
            magnitude = f.get("magnitude")
            try:
                sensor_faults.append(
                    SensorFault(
                        str(kind),
                        onset * DAY_S,
                        end * DAY_S,
                        str(channel),
                        None if magnitude is None else _num(f, "magnitude", where),
                    )
                )
            except ValueError as exc:
                raise ConditionScenarioError(f"{where}: {exc}") from exc
        duration_days = _num(top, "duration_days", "scenario", 28.0, positive=True)
        return cls(
            name=str(top.get("name", name)),
            seed=raw_seed if seed is None else seed,
            time_scale=_num(top, "time_scale", "scenario", 3600.0, positive=True),
            duration_s=duration_days * DAY_S,
            sensor=sensor,
            asset=asset,
            machine=machine,
            case=case,
            faults=tuple(faults),
            sensor_faults=tuple(sensor_faults),
        )

    # -- physics at a simulated time --------------------------------------------------------

    def severity(self, t_s: float) -> dict[str, float]:
        """Every fault's severity at ``t_s`` (0 before onset, 1 from functional failure on)."""
        out: dict[str, float] = {}
        for f in self.faults:
            out[f.kind] = max(out.get(f.kind, 0.0), f.severity(t_s))
        return out

    def case_state(self, t_s: float) -> CaseState | None:
        """The case's thermal state at ``t_s`` (None for a machine); stepped forward, restarted for an earlier time."""
        if self.case is None:
            return None
        if self._case_state is None or self._case_state.t_s > t_s + 1e-6:
            self._case_state = CaseState(self.case, self.severity, seed=self.seed)
        self._case_state.advance(t_s)
        return self._case_state

    def _sensor_faults(self) -> SensorFaults:
        if self._sensing is None:
            self._sensing = SensorFaults(self.sensor_faults, self.seed)
        return self._sensing

    def running(self, t_s: float) -> bool:
        """Whether the machine turns at ``t_s`` (a case's compressor cycles; others always run)."""
        state = self.case_state(t_s)
        return state is None or state.compressor

    def waveform(self, t_s: float, axis: str) -> npt.NDArray[np.float64]:
        """True acceleration (g) on ``axis`` during the block from ``t_s`` (no sensor faults)."""
        s = self.sensor
        if not self.running(t_s):
            rng = np.random.default_rng([self.seed & 0xFFFFFFFF, int(t_s * 1000) & 0xFFFFFFFF, ord(axis)])
            return rng.normal(0.0, STILL_NOISE_G, s.block_samples)
        machine_sev = {k: v for k, v in self.severity(t_s).items() if k in MACHINE_FAULTS}
        return machine_waveform(
            self.machine, machine_sev, t_s, n=s.block_samples, fs_hz=s.fs_hz, axis=axis, seed=self.seed
        )

    def sensor_block(self, t_s: float, axis: str) -> tuple[npt.NDArray[np.int16], float] | None:
        """The counts and scale the sensor reports (sensor faults applied); None: dropout."""
        return self._sensor_faults().block(t_s, axis, self.waveform(t_s, axis), self.sensor.scale_g)

    def probe_names(self) -> tuple[str, ...]:
        return ("air", "evaporator", "condenser") if self.case is not None else ("housing",)

    def true_temperatures(self, t_s: float) -> tuple[float, ...]:
        state = self.case_state(t_s)
        if state is not None:
            return (state.air_c, state.evap_c, state.cond_c)
        sev = self.severity(t_s)
        daily = 2.0 * math.sin(2 * math.pi * (t_s / DAY_S - 0.375))
        bearing = max((sev.get(k, 0.0) for k in BEARING_FAULTS), default=0.0)
        rise = 25.0 * bearing**2 + 4.0 * sev.get("misalignment", 0.0) + 2.0 * sev.get("looseness", 0.0)
        return (22.0 + 14.0 + daily + rise,)

    def temperatures(self, t_s: float) -> tuple[float | None, ...]:
        """What each probe reports at ``t_s`` (sensor faults applied; None: nothing sent)."""
        rng = np.random.default_rng([self.seed & 0xFFFFFFFF, int(t_s * 1000) & 0xFFFFFFFF, 7])
        sensing = self._sensor_faults()
        return tuple(
            sensing.scalar(t_s, "temperature", round(v + float(rng.normal(0.0, 0.05)), 3), key=str(i))
            for i, v in enumerate(self.true_temperatures(t_s))
        )

    def block_times(self) -> Iterator[float]:
        t = 0.0
        while t < self.duration_s:
            yield t
            t += self.sensor.block_every_s

    def blocks(self, *, until_s: float | None = None) -> Iterator[SimBlock]:
        """Every waveform block of the scenario, in time order, as the sensor reports it."""
        end = self.duration_s if until_s is None else until_s
        for t in self.block_times():
            if t >= end:
                return
            sev = self.severity(t)
            active = tuple(f.kind for f in self.sensor_faults if f.active(t, "vibration"))
            running = self.running(t)
            for axis in self.sensor.axes:
                reported = self.sensor_block(t, axis)
                counts, scale = (None, self.sensor.scale_g) if reported is None else reported
                yield SimBlock(t, axis, counts, scale, sev, active, running)

    # -- ground truth -------------------------------------------------------------------------

    def ground_truth(self) -> dict[str, Any]:
        """The labels: asset, machine and bearing, every fault (kind, onset, growth, failure)."""
        nominal = self.machine.bearing.frequencies(self.machine.shaft_hz)

        def fault(f: FaultSpec) -> dict[str, Any]:
            out: dict[str, Any] = {
                "kind": f.kind,
                "component": "refrigeration" if f.kind in REFRIGERATION_FAULTS else "machine",
                "onset_s": f.onset_s,
                "failure_s": f.failure_s,
                "onset_days": f.onset_s / DAY_S,
                "failure_days": f.failure_s / DAY_S,
                "growth": f.growth,
            }
            if f.kind in BEARING_FAULTS:
                out["defect_hz"] = getattr(nominal, BEARING_FAULTS[f.kind])
            return out

        return {
            "scenario": self.name,
            "seed": self.seed,
            "time_scale": self.time_scale,
            "duration_s": self.duration_s,
            "asset": self.asset,
            "device_id": self.sensor.device_id,
            "sensor": {
                "fs_hz": self.sensor.fs_hz,
                "block_samples": self.sensor.block_samples,
                "axes": list(self.sensor.axes),
                "range_g": self.sensor.range_g,
                "scale_g": self.sensor.scale_g,
                "block_every_s": self.sensor.block_every_s,
                "probes": list(self.probe_names()),
            },
            "machine": self.machine.as_dict(),
            "case": None if self.case is None else {"kind": self.case.kind, "setpoint_c": self.case.setpoint_c,
                                                    "defrost_interval_s": self.case.defrost_interval_s},
            "faults": [fault(f) for f in self.faults],
            "sensor_faults": [
                {"kind": f.kind, "channel": f.channel, "onset_s": f.onset_s,
                 "end_s": None if math.isinf(f.end_s) else f.end_s, "magnitude": f.magnitude}
                for f in self.sensor_faults
            ],
        }  # fmt: skip

    def label(self, t_s: float) -> str:
        """The equipment's condition at ``t_s``: the most severe active fault, or ``normal``."""
        sev = {k: v for k, v in self.severity(t_s).items() if v > 0}
        return max(sev, key=lambda k: sev[k]) if sev else "normal"

    def export(self, directory: str | Path, *, until_s: float | None = None) -> dict[str, int]:
        """Write the whole scenario for offline evaluation: ``truth.json``, ``blocks.npz``
        (``t_s``, ``axis``, ``counts`` [blocks × samples], ``scale_g``, ``sent``) and
        ``labels.csv`` (one row per block: time, axis, label, severity per fault, sensor faults)."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        times, axes, counts, scales, sent = [], [], [], [], []
        kinds = sorted({f.kind for f in self.faults})
        with (out / "labels.csv").open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(
                ["t_s", "axis", "label", "running", *[f"severity_{k}" for k in kinds], "sensor_faults"]
            )
            for block in self.blocks(until_s=until_s):
                times.append(block.t_s)
                axes.append(block.axis)
                sent.append(block.counts is not None)
                counts.append(
                    np.zeros(self.sensor.block_samples, np.int16) if block.counts is None else block.counts
                )
                scales.append(block.scale_g)
                writer.writerow([
                    block.t_s, block.axis, self.label(block.t_s), int(block.running),
                    *[round(block.severity.get(k, 0.0), 6) for k in kinds], ";".join(block.sensor_faults),
                ])  # fmt: skip
        np.savez_compressed(
            out / "blocks.npz",
            t_s=np.array(times),
            axis=np.array(axes),
            counts=np.array(counts, dtype=np.int16).reshape(len(counts), self.sensor.block_samples),
            scale_g=np.array(scales),
            sent=np.array(sent),
            fs_hz=np.array(self.sensor.fs_hz),
        )
        (out / "truth.json").write_text(json.dumps(self.ground_truth(), indent=2, sort_keys=True))
        return {"blocks": len(times), "sent": int(sum(sent))}


def _list(raw: Any, where: str) -> list[Any]:
    if not isinstance(raw, list):
        raise ConditionScenarioError(f"{where} must be an array of tables, not {raw!r}")
    return raw


def _replace_machine(machine: Machine, **changes: Any) -> Machine:
    return replace(machine, **changes)


def _replace_case(case: CaseModel, setpoint_c: float) -> CaseModel:
    return replace(case, setpoint_c=setpoint_c)


def packaged_scenarios() -> list[str]:
    """Names of the condition scenarios shipped with the simulators."""
    folder = resources.files("bohsense.simulators") / "scenarios"
    return sorted(
        p.name.removesuffix(".toml")
        for p in folder.iterdir()
        if p.name.endswith(".toml") and p.name.startswith("condition-")
    )
