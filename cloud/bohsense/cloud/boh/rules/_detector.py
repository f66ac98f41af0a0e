"""Detector rules: a streaming anomaly detector per asset on its condition features.

A detector rule watches several feature metrics of one asset (``vib_x_velocity_rms_mm_s``,
``vib_x_env_bpfo``, ``temp_c``…). Readings of one event time form one observation; each
metric has its own detector from ``bohsense.models.detect`` (the kind and parameters are the
model file's, see ``DetectorModel``), scored first and learnt after, so a score depends
only on that observation and the ones before it. The asset's score is the largest of its
metrics' scores; the decision threshold is apart from it (``on`` / ``off``, hysteresis),
with a minimum duration in event time, as the threshold rule has:

    phase   normal ──score ≥ on──▶ over ──for min_duration_s──▶ fault (AnomalyDetected)
              ▲                     │ score < on                  │ score < off
              └─────────────────────┘                             ▼
              └──────────── for min_duration_s ◀───────────── clearing (AnomalyCleared)

The detectors learn only while the phase is ``normal`` (and during their warm-up): an
anomaly is never learnt as the asset's normal, and a slow drift is, which is what
"adapts slowly" means here. The whole state (every detector, the phase, a short trend)
is JSON in ``rule_state``, so it survives restarts and moves between workers.

Diagnosis: when the observation holds envelope energies at the bearing's defect
frequencies (metrics ending ``_env_bpfo``, ``_env_bpfi``, ``_env_bsf`` as energies, or with
``_db`` as the edge sends them, in dB over the envelope's floor), each is compared
with its own detector's baseline (the median of the values it learnt); the class whose
energy stands highest above its baseline, by at least ``diagnosis_gate_db``, names the
fault (``outer_race``, ``inner_race``, ``ball``), with its evidence. Without one, the
fault type is the rule's condition.

Confidence feedback: ``ConditionParams.no_fault_found`` (work orders of this rule closed
``no_fault_found``) halves the distance of ``on`` and ``off`` to 1 for each, and doubles
the minimum duration for each, up to three times (``effective``).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from bohsense.cloud.errors import CloudError
from bohsense.models.detect import Detector, StateError, from_state

from ._base import ConditionParams

__all__ = [
    "AnomalyCleared",
    "AnomalyDetected",
    "DetectorCondition",
    "DetectorModel",
    "ModelError",
    "ModelRegistry",
    "effective",
]

NS = 1_000_000_000
#: envelope features and the bearing fault each points to
ENVELOPE_CLASSES = {"_env_bpfo": "outer_race", "_env_bpfi": "inner_race", "_env_bsf": "ball"}
#: the same features as the edge sends them: already in dB over the envelope's local floor
ENVELOPE_DB_SUFFIX = "_db"
TREND_POINTS = 24
MAX_FEEDBACK_STEPS = 3
#: the fields of a model file (anything else is refused)
MODEL_FIELDS = frozenset(
    {
        "name",
        "version",
        "kind",
        "params",
        "on",
        "off",
        "min_duration_s",
        "diagnosis_gate_db",
        "learn_all",
        "learn_every",
        "description",
    }
)


class ModelError(CloudError, ValueError):
    """A model file that cannot be used (unreadable, unknown field, bad value), naming the file."""


@dataclass(frozen=True, slots=True)
class DetectorModel:
    """One model file: which detector, its parameters, and the decision policy on its score."""

    name: str
    version: str
    kind: str
    params: dict[str, Any]
    on: float
    off: float
    min_duration_s: float
    diagnosis_gate_db: float = 6.0
    #: every normal observation is learnt until this many were; then one in ``learn_every``
    learn_all: int = 200
    learn_every: int = 1
    description: str = ""
    sha256: str = ""

    @property
    def ref(self) -> str:
        """``<name>@<version>``: what each alert records of the model that raised it."""
        return f"{self.name}@{self.version}"

    def new_detector(self) -> Detector:
        state = {"kind": self.kind, **_fresh_state(self.kind, self.params)}
        return from_state(state)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "model") -> DetectorModel:
        unknown = set(data) - MODEL_FIELDS
        if unknown:
            raise ModelError(f"{where}: unknown field(s) {sorted(unknown)}; known: {sorted(MODEL_FIELDS)}")
        try:
            name, version, kind = str(data["name"]), str(data["version"]), str(data["kind"])
            params = dict(data.get("params", {}))
            on, off = float(data["on"]), float(data["off"])
            duration = float(data.get("min_duration_s", 0.0))
            gate = float(data.get("diagnosis_gate_db", 6.0))
            learn_all, learn_every = int(data.get("learn_all", 200)), int(data.get("learn_every", 1))
        except KeyError as exc:
            raise ModelError(f"{where}: missing field {exc.args[0]!r}") from None
        except (TypeError, ValueError) as exc:
            raise ModelError(f"{where}: {exc}") from None
        if not name or not version:
            raise ModelError(f"{where}: name and version must not be empty")
        if not 0.0 < off <= on < 1.0:
            raise ModelError(f"{where}: need 0 < off <= on < 1, got off={off} on={on}")
        if not (math.isfinite(duration) and duration >= 0 and math.isfinite(gate) and gate > 0):
            raise ModelError(f"{where}: min_duration_s must be >= 0 and diagnosis_gate_db > 0")
        if learn_all < 0 or learn_every < 1:
            raise ModelError(f"{where}: need learn_all >= 0 and learn_every >= 1")
        model = cls(
            name,
            version,
            kind,
            params,
            on,
            off,
            duration,
            gate,
            learn_all,
            learn_every,
            str(data.get("description", "")),
        )
        try:
            model.new_detector()
        except (StateError, ValueError, TypeError) as exc:
            raise ModelError(f"{where}: detector {kind!r} with params {params}: {exc}") from None
        return model

    @classmethod
    def from_file(cls, path: Path) -> DetectorModel:
        try:
            raw = path.read_bytes()
            data = json.loads(raw)
        except (OSError, ValueError) as exc:
            raise ModelError(f"model file {path}: {exc}") from None
        if not isinstance(data, dict):
            raise ModelError(f"model file {path}: the top level must be an object")
        model = cls.from_dict(data, f"model file {path}")
        if path.stem != model.name:
            raise ModelError(f"model file {path}: its name {model.name!r} must be the file's name")
        return cls(**{**_fields(model), "sha256": hashlib.sha256(raw).hexdigest()})


def _fields(model: DetectorModel) -> dict[str, Any]:
    return {f: getattr(model, f) for f in model.__slots__}


def _fresh_state(kind: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The state of a new detector of ``kind``: built through its class, then dumped."""
    from bohsense.models import detect

    classes = {
        c.kind: c
        for c in (
            detect.SeriesDetector,
            detect.SpikeDetector,
            detect.LevelShiftDetector,
            detect.VarianceDetector,
            detect.StuckDetector,
        )
    }
    if kind not in classes:
        raise ValueError(f"unknown detector kind {kind!r} (known: {', '.join(sorted(classes))})")
    p = dict(params)
    if "parts" in p:
        p["parts"] = tuple(p["parts"])
    det = classes[kind]("value", **p)
    state = det.to_state()
    state.pop("kind")
    return state


#: the model files shipped with the cloud service
PACKAGED_MODELS = Path(__file__).resolve().parent.parent / "detectors"


@dataclass(slots=True)
class ModelRegistry:
    """The model files the cloud service loaded, by name (``load``: every ``*.json`` of a
    directory, the packaged ones by default)."""

    models: dict[str, DetectorModel] = field(default_factory=dict)

    @classmethod
    def load(cls, directory: Path | None = None) -> ModelRegistry:
        where = directory if directory is not None else PACKAGED_MODELS
        if not where.is_dir():
            raise ModelError(f"model directory {where} does not exist")
        reg = cls()
        for path in sorted(where.glob("*.json")):
            model = DetectorModel.from_file(path)
            reg.models[model.name] = model
        return reg

    def get(self, name: str) -> DetectorModel:
        try:
            return self.models[name]
        except KeyError:
            known = ", ".join(sorted(self.models)) or "none"
            raise ModelError(f"no detector model {name!r} (loaded: {known})") from None


@dataclass(frozen=True, slots=True)
class AnomalyDetected:
    """The asset's score stayed at or above ``on`` for the minimum duration."""

    kind: ClassVar[str] = "anomaly_detected"
    ts_ns: int
    evidence: dict[str, Any]
    severity: str = "warning"
    subject: str = ""
    #: the fault type: the diagnosed class, or the rule's condition
    fault: str = ""
    model: str = ""
    #: set when a diagnosis came after the fault was confirmed: the fault type it names anew
    refines: str = ""


@dataclass(frozen=True, slots=True)
class AnomalyCleared:
    kind: ClassVar[str] = "anomaly_cleared"
    ts_ns: int
    evidence: dict[str, Any]
    severity: str = "warning"
    subject: str = ""
    model: str = ""


def effective(model: DetectorModel, params: ConditionParams) -> tuple[float, float, float]:
    """``(on, off, min_duration_s)`` after the rule's overrides and its no-fault-found feedback."""
    on = params.limit if params.limit > 0 else model.on
    off = params.clear_below if params.clear_below > 0 else model.off
    off = min(off, on)
    duration = params.min_duration_s if params.min_duration_s > 0 else model.min_duration_s
    steps = min(max(params.no_fault_found, 0), MAX_FEEDBACK_STEPS)
    for _ in range(steps):
        on, off, duration = 1 - (1 - on) / 2, 1 - (1 - off) / 2, duration * 2
    return on, off, duration


class DetectorCondition:
    """The engine of detector rules (``ConditionParams.engine == "detector"``): pure, like
    ``ThresholdCondition``; its points are ``(ts_ns, metric, value)``."""

    def __init__(self, registry: ModelRegistry) -> None:
        self.registry = registry

    def load_state(self, data: dict[str, Any] | None) -> dict[str, Any]:
        return dict(data) if data else {}

    def dump_state(self, state: dict[str, Any]) -> dict[str, Any]:
        return state

    def phase(self, state: dict[str, Any]) -> str:
        return str(state.get("phase", "normal"))

    def step(
        self, params: ConditionParams, state: dict[str, Any], points: Sequence[tuple[int, str, float]]
    ) -> tuple[dict[str, Any], list[AnomalyDetected | AnomalyCleared]]:
        model = self.registry.get(params.model)
        on, off, duration_s = effective(model, params)
        need = int(duration_s * NS)
        if state.get("model") != model.ref:  # a new model version learns afresh
            state = {"model": model.ref}
        dets: dict[str, Detector] = {m: from_state(s) for m, s in state.get("detectors", {}).items()}
        phase = str(state.get("phase", "normal"))
        over: int = int(state.get("over_since_ns") or 0)
        below: int = int(state.get("below_since_ns") or 0)
        peak = state.get("peak_score")
        last = state.get("last_ts_ns")
        fault_type = state.get("fault_type")
        trend: list[Any] = list(state.get("trend", []))
        events: list[AnomalyDetected | AnomalyCleared] = []
        watched = set(params.metrics)
        for ts, vector in _vectors(points, watched):
            if last is not None and ts <= last:
                continue
            last = ts
            scores: dict[str, float] = {}
            for metric, value in vector.items():
                det = dets.get(metric)
                if det is None:
                    det = dets[metric] = model.new_detector()
                scores[metric] = round(det.score_one({"value": value}), 4)
            score = max(scores.values())
            trend = [*trend, [ts, score, vector]][-TREND_POINTS:]
            if phase in ("normal", "over"):
                if score >= on:
                    if phase == "normal":
                        phase, over, peak = "over", ts, score
                    peak = max(peak or 0.0, score)
                    if ts - over >= need:
                        phase, below = "fault", 0
                        fault, diagnosis = _diagnose(dets, vector, model.diagnosis_gate_db)
                        fault_type = fault
                        evidence = {
                            "engine": "detector",
                            "model": model.ref,
                            "score": score,
                            "threshold": on,
                            "clear_below": off,
                            "first_over_ns": over,
                            "confirmed_ns": ts,
                            "duration_s": (ts - over) / NS,
                            "min_duration_s": duration_s,
                            "max_score": peak,
                            "no_fault_found": params.no_fault_found,
                            "scores": scores,
                            "top_metrics": sorted(scores, key=lambda m: -scores[m])[:3],
                            "baselines": {m: _baseline(dets[m]) for m in vector},
                            "values": vector,
                            "diagnosis": diagnosis,
                            "envelope": _envelope(dets, vector),
                            "trend": trend,
                        }
                        events.append(
                            AnomalyDetected(
                                ts,
                                evidence,
                                params.severity,
                                _subject(params),
                                fault or params.condition,
                                model.ref,
                            )
                        )
                else:
                    phase, over, peak = "normal", 0, None
            elif score < off:
                if phase == "fault":
                    phase, below = "clearing", ts
                if ts - below >= need:
                    evidence = {
                        "below_since_ns": below,
                        "clear_below": off,
                        "score": score,
                        "model": model.ref,
                    }
                    events.append(AnomalyCleared(ts, evidence, params.severity, _subject(params), model.ref))
                    phase, over, peak, below, fault_type = "normal", 0, None, 0, None
            else:
                phase, below = "fault", 0
                peak = max(peak or 0.0, score)
            if phase in ("fault", "clearing") and fault_type is None and not events_confirmed_now(events, ts):
                # confirmed undiagnosed: the diagnosis may come as the defect grows
                fault, diagnosis = _diagnose(dets, vector, model.diagnosis_gate_db)
                if fault is not None:
                    fault_type = fault
                    evidence = {
                        "engine": "detector",
                        "model": model.ref,
                        "score": score,
                        "threshold": on,
                        "clear_below": off,
                        "diagnosed_ns": ts,
                        "scores": scores,
                        "baselines": {m: _baseline(dets[m]) for m in vector},
                        "values": vector,
                        "diagnosis": diagnosis,
                        "envelope": _envelope(dets, vector),
                        "trend": trend,
                    }
                    events.append(
                        AnomalyDetected(
                            ts,
                            evidence,
                            params.severity,
                            _subject(params),
                            fault,
                            model.ref,
                            refines=params.condition,
                        )
                    )
            seen = int(state.get("observations", 0)) + 1
            state["observations"] = seen
            if phase == "normal" and (seen <= model.learn_all or seen % model.learn_every == 0):
                for metric, value in vector.items():  # the asset's normal only, slowly
                    dets[metric].learn_one({"value": value})
        new = {
            "model": model.ref,
            "phase": phase,
            "over_since_ns": over if phase in ("over", "fault", "clearing") else None,
            "below_since_ns": below if phase == "clearing" else None,
            "peak_score": peak,
            "fault_type": fault_type,
            "last_ts_ns": last,
            "observations": state.get("observations", 0),
            "detectors": {m: d.to_state() for m, d in sorted(dets.items())},
            "trend": trend,
        }
        return new, events


def events_confirmed_now(events: Sequence[Any], ts: int) -> bool:
    return any(isinstance(e, AnomalyDetected) and e.ts_ns == ts for e in events)


def _vectors(
    points: Sequence[tuple[int, str, float]], watched: set[str]
) -> list[tuple[int, dict[str, float]]]:
    """Group points into observations: the watched metrics' values at one event time."""
    by_ts: dict[int, dict[str, float]] = {}
    for ts, metric, value in points:
        if metric in watched:
            by_ts.setdefault(ts, {})[metric] = value
    return sorted(by_ts.items())


def _baseline(det: Detector) -> float | None:
    """The median of the values a series detector learnt (None before it learnt any)."""
    state = det.to_state()
    values = [*state.get("ref", []), *state.get("rec", [])]
    if not values:
        return None
    ordered = sorted(float(v) for v in values)
    n = len(ordered)
    return ordered[n // 2] if n % 2 else 0.5 * (ordered[n // 2 - 1] + ordered[n // 2])


def _db(value: float, base: float | None) -> float | None:
    if base is None or base <= 0 or value <= 0:
        return None
    return round(10 * math.log10(value / base), 2)


def _db_over(value: float, base: float | None) -> float | None:
    """A feature already in dB (the edge's ``*_env_bpfo_db``): how far above its baseline."""
    if base is None or not math.isfinite(value) or not math.isfinite(base):
        return None
    return round(value - base, 2)


def _diagnose(
    dets: Mapping[str, Detector], vector: Mapping[str, float], gate_db: float
) -> tuple[str | None, dict[str, Any] | None]:
    """The bearing fault whose envelope energy stands highest above its baseline."""
    classes: dict[str, dict[str, Any]] = {}
    for metric, value in vector.items():
        for suffix, cls in ENVELOPE_CLASSES.items():
            in_db = metric.endswith(suffix + ENVELOPE_DB_SUFFIX)
            if in_db or metric.endswith(suffix):
                base = _baseline(dets[metric])
                db = _db_over(value, base) if in_db else _db(value, base)
                if db is not None and (cls not in classes or db > classes[cls]["db_above_baseline"]):
                    classes[cls] = {
                        "metric": metric,
                        "value": value,
                        "baseline": base,
                        "db_above_baseline": db,
                    }
    if not classes:
        return None, None
    best = max(classes, key=lambda c: classes[c]["db_above_baseline"])
    found = classes[best]["db_above_baseline"] >= gate_db
    diagnosis = {
        "label": best if found else "undiagnosed",
        "method": "envelope energy at the defect frequency against the asset's learnt baseline",
        "gate_db": gate_db,
        "classes": classes,
    }
    return (best if found else None), diagnosis


def _envelope(dets: Mapping[str, Detector], vector: Mapping[str, float]) -> dict[str, Any]:
    """The envelope and band features of the observation, each with its baseline."""
    return {
        m: {"value": v, "baseline": _baseline(dets[m])}
        for m, v in sorted(vector.items())
        if "_env" in m or "_band" in m
    }


def _subject(params: ConditionParams) -> str:
    return f"{params.asset_id}/{params.condition}"
