"""An asset's health now: its anomaly score, its state and the spectrum to look at.

What the core already keeps is read, nothing is recomputed beyond one FFT:

    score, features   the newest alert of the asset the condition detector raised
                      (``evidence.score`` on the detector's own scale: 0 is the asset's
                      normal, the alert threshold is ``evidence.threshold``; the features
                      are the observation's ``values``)
    state             ``alarm`` with an open critical alert, ``watch`` with another open
                      alert, else ``ok``
    spectrum          the newest ``condition.snapshot`` of the asset's devices: the raw
                      block's magnitude spectrum (numpy ``rfft`` of the block in g, its
                      mean removed, amplitude in g, max-pooled to at most ``MAX_BINS``
                      bins); without one, the envelope features of the newest alert's
                      evidence (one point per defect frequency metric, no Hz: ``frequency_hz``
                      holds the bin index); without either, None
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import Connection, and_, func, or_, select

from ._errors import NotFound
from ._lifecycle import ALERT
from ._models import Alert, Asset, Device, DeviceEvent

__all__ = ["MAX_BINS", "AssetHealth", "Spectrum", "asset_health", "magnitude_spectrum"]

#: the most bins a spectrum answers
MAX_BINS = 512


@dataclass(frozen=True, slots=True)
class Spectrum:
    kind: str  # "fft" (of a raw block) or "envelope" (the alert's envelope features)
    frequency_hz: list[float]
    amplitude: list[float]
    at_ns: int
    source: str  # "snapshot:<gateway>/<device>/<axis>" or "alert:<id>"
    labels: list[str] = field(default_factory=list)  # the metric of each envelope point


@dataclass(frozen=True, slots=True)
class AssetHealth:
    asset_id: str
    site: str
    score: float | None
    threshold: float | None
    score_ns: int | None
    state: str
    open_alerts: int
    features: dict[str, float]
    spectrum: Spectrum | None


def magnitude_spectrum(
    samples: np.ndarray, fs_hz: float, max_bins: int = MAX_BINS
) -> tuple[list[float], list[float]]:
    """The one-sided magnitude spectrum of ``samples`` (mean removed, amplitude scaled to
    the sine's peak), max-pooled to at most ``max_bins`` bins (a peak is never averaged
    away); each pooled bin is at the frequency of its first bin."""
    x = samples.astype(np.float64) - float(np.mean(samples))
    amp = np.abs(np.fft.rfft(x)) * (2.0 / max(1, x.size))
    freq = np.fft.rfftfreq(x.size, 1.0 / fs_hz)
    step = -(-amp.size // max_bins)  # ceil
    if step > 1:
        pad = (-amp.size) % step
        amp = np.pad(amp, (0, pad)).reshape(-1, step).max(axis=1)
        freq = freq[::step]
    return [round(float(f), 4) for f in freq], [float(f"{a:.6g}") for a in amp]


def _snapshot_spectrum(row: Any) -> Spectrum | None:
    attrs = row.attrs or {}
    try:
        raw = base64.b64decode(attrs["samples"], validate=True)
        fs = float(attrs["fs_hz"])
        scale = float(attrs["scale_g"])
    except (KeyError, TypeError, ValueError, binascii.Error):
        return None
    if len(raw) < 4 or len(raw) % 2 or not fs > 0:
        return None
    counts = np.frombuffer(raw, dtype="<i2")
    freq, amp = magnitude_spectrum(counts * scale, fs)
    return Spectrum(
        "fft", freq, amp, row.ts_ns, f"snapshot:{row.gateway}/{row.device}/{attrs.get('axis', '')}"
    )


def _envelope_spectrum(alert: Any) -> Spectrum | None:
    envelope = (alert.evidence or {}).get("envelope") or {}
    raw = [(m, v.get("value")) for m, v in sorted(envelope.items()) if isinstance(v, dict)]
    points = [(m, float(v)) for m, v in raw if isinstance(v, int | float)]
    if not points:
        return None
    at = (alert.evidence or {}).get("confirmed_ns") or alert.opened_ns
    return Spectrum(
        "envelope",
        [float(i) for i in range(len(points))],
        [v for _, v in points],
        int(at),
        f"alert:{alert.id}",
        [m for m, _ in points],
    )


def asset_health(conn: Connection, asset_id: str) -> AssetHealth:
    """The asset's health (module doc); ``NotFound`` for an asset not in the catalog."""
    asset = conn.execute(select(Asset.id, Asset.site).where(Asset.id == asset_id)).one_or_none()
    if asset is None:
        raise NotFound("asset", asset_id)
    a = Alert.__table__.c
    open_rows = conn.execute(
        select(a.severity, func.count())
        .where(a.asset_id == asset_id, a.state.in_(sorted(ALERT.open)))
        .group_by(a.severity)
    ).all()
    open_alerts = sum(int(n) for _, n in open_rows)
    state = "alarm" if any(s == "critical" for s, _ in open_rows) else ("watch" if open_alerts else "ok")
    scored = conn.execute(
        select(Alert.__table__)
        .where(a.asset_id == asset_id, a.evidence["engine"].as_string() == "detector")
        .order_by(a.updated_ns.desc(), a.id.desc())
        .limit(1)
    ).first()
    score = threshold = at = None
    features: dict[str, float] = {}
    if scored is not None:
        ev = scored.evidence or {}
        if isinstance(ev.get("score"), int | float):
            score = float(ev["score"])
        if isinstance(ev.get("threshold"), int | float):
            threshold = float(ev["threshold"])
        at = ev.get("diagnosed_ns") or ev.get("confirmed_ns") or scored.updated_ns
        features = {k: float(v) for k, v in (ev.get("values") or {}).items() if isinstance(v, int | float)}
    d = DeviceEvent.__table__.c
    sensors = select(Device.gateway, Device.device).where(Device.asset_id == asset_id)
    pairs = [(r.gateway, r.device) for r in conn.execute(sensors)]
    spectrum = None
    if pairs:
        snap = conn.execute(
            select(DeviceEvent.__table__)
            .where(
                d.kind == "condition.snapshot",
                or_(*(and_(d.gateway == g, d.device == dev) for g, dev in pairs)),
            )
            .order_by(d.ts_ns.desc(), d.id.desc())
            .limit(1)
        ).first()
        if snap is not None:
            spectrum = _snapshot_spectrum(snap)
    if spectrum is None and scored is not None:
        spectrum = _envelope_spectrum(scored)
    return AssetHealth(
        asset.id,
        asset.site,
        score,
        threshold,
        None if at is None else int(at),
        state,
        open_alerts,
        features,
        spectrum,
    )
