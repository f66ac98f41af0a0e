"""``GET /assets/{id}/health``: the newest detector score and features of the asset's
alerts, its state from its open alerts, and the spectrum of its newest raw block (a
``condition.snapshot`` stored as the core stores it) or else the alert's envelope; an
asset of another store is not found."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert

from bohsense.cloud.boh import BohCore
from bohsense.cloud.boh._asset_health import MAX_BINS, magnitude_spectrum
from bohsense.cloud.boh._models import Alert, DeviceEvent
from bohsense.contracts.events import WaveformSnapshot

from .conftest import FakeTimeSeries
from .test_scoping import GATEWAY, MGR, client_as, two_more_stores

V1 = "/api/v1"
S = 10**9
T0 = 1_750_000_000 * S
FS = 2048.0
TONE_HZ = 120.0


def _alert(
    asset: str, site: str, severity: str, state: str, at: int, evidence: dict[str, Any]
) -> dict[str, Any]:
    return {
        "asset_id": asset,
        "site": site,
        "condition": f"c-{at}",
        "severity": severity,
        "state": state,
        "opened_ns": at,
        "updated_ns": at,
        "resolved_ns": at if state == "resolved" else None,
        "evidence": evidence,
    }


def _detector_evidence(score: float, at: int) -> dict[str, Any]:
    return {
        "engine": "detector",
        "score": score,
        "threshold": 6.0,
        "confirmed_ns": at,
        "values": {"vib_x_velocity_rms_mm_s": 9.5, "vib_x_env_bpfo_db": 14.0},
        "envelope": {
            "vib_x_env_bpfi_db": {"value": 2.0, "baseline": 1.0},
            "vib_x_env_bpfo_db": {"value": 14.0, "baseline": 1.0},
        },
    }


def _snapshot(gateway: str, device: str, at: int, n: int = 4096) -> dict[str, Any]:
    """A block of a 120 Hz sine of 0.5 g, quantised as the gateway sends it."""
    t = np.arange(n) / FS
    x = 0.5 * np.sin(2 * np.pi * TONE_HZ * t)
    scale = 0.5 / 32767.0
    counts = np.rint(x / scale).astype("<i2")
    attrs = WaveformSnapshot(
        axis="x", block_seq=7, fs_hz=FS, scale_g=scale, samples=counts.tobytes(), trigger="command"
    )
    return {
        "gateway": gateway,
        "seq": 1,
        "idx": 0,
        "device": device,
        "kind": "condition.snapshot",
        "ts_ns": at,
        "attrs": msgspec.to_builtins(attrs),
        "received_ns": at,
    }


@pytest.fixture
def stores(core: BohCore) -> BohCore:
    core.load_catalog(two_more_stores())
    return core


@pytest.fixture
def hq(stores: BohCore, tsdb: FakeTimeSeries) -> Iterator[TestClient]:
    yield from client_as(stores, tsdb, None)


@pytest.fixture
def mgr(stores: BohCore, tsdb: FakeTimeSeries) -> Iterator[TestClient]:
    yield from client_as(stores, tsdb, MGR)


def _device(core: BohCore, asset: str) -> tuple[str, str]:
    (a,) = [x for x in core.list_assets() if x.id == asset]
    return a.sensors[0]["gateway"], a.sensors[0]["device"]


def test_an_asset_without_history_is_ok_with_no_score(hq: TestClient) -> None:
    body = hq.get(f"{V1}/assets/cooler-s1/health").json()
    assert body["asset_id"] == "cooler-s1"
    assert body["site"] == "s1"
    assert (body["score"], body["score_ns"], body["state"], body["open_alerts"]) == (None, None, "ok", 0)
    assert body["features"] == {}
    assert body["spectrum"] is None


@pytest.mark.parametrize("core", ["sqlite", "postgresql"], indirect=True)
def test_the_newest_scored_alert_gives_score_features_and_envelope(hq: TestClient, stores: BohCore) -> None:
    with stores.engine.begin() as conn:
        conn.execute(
            insert(Alert),
            [
                _alert("cooler-s1", "s1", "major", "resolved", T0, _detector_evidence(7.0, T0)),
                _alert(
                    "cooler-s1", "s1", "major", "open", T0 + 60 * S, _detector_evidence(8.25, T0 + 60 * S)
                ),
                # newer, of a threshold rule: it has no score, and does not hide the detector's
                _alert(
                    "cooler-s1", "s1", "warning", "resolved", T0 + 120 * S, {"metric": "temp_c", "limit": 8}
                ),
            ],
        )
    body = hq.get(f"{V1}/assets/cooler-s1/health").json()
    assert (body["score"], body["threshold"], body["score_ns"]) == (8.25, 6.0, T0 + 60 * S)
    assert body["score_at"].startswith("2025-06-15T")
    assert (body["state"], body["open_alerts"]) == ("watch", 1)
    assert body["features"] == {"vib_x_velocity_rms_mm_s": 9.5, "vib_x_env_bpfo_db": 14.0}
    spectrum = body["spectrum"]
    assert spectrum["kind"] == "envelope"
    assert spectrum["source"].startswith("alert:")
    assert spectrum["labels"] == ["vib_x_env_bpfi_db", "vib_x_env_bpfo_db"]
    assert spectrum["amplitude"] == [2.0, 14.0]


def test_an_open_critical_alert_is_an_alarm(hq: TestClient, stores: BohCore) -> None:
    with stores.engine.begin() as conn:
        conn.execute(insert(Alert), [_alert("cooler-s1", "s1", "critical", "acknowledged", T0, {})])
    body = hq.get(f"{V1}/assets/cooler-s1/health").json()
    assert (body["state"], body["open_alerts"], body["score"]) == ("alarm", 1, None)


@pytest.mark.parametrize("core", ["sqlite", "postgresql"], indirect=True)
def test_the_newest_snapshot_gives_its_magnitude_spectrum(hq: TestClient, stores: BohCore) -> None:
    gateway, device = _device(stores, "cooler-s1")
    assert gateway == GATEWAY["s1"]
    with stores.engine.begin() as conn:
        conn.execute(
            insert(Alert), [_alert("cooler-s1", "s1", "major", "open", T0, _detector_evidence(8.0, T0))]
        )
        conn.execute(insert(DeviceEvent), [_snapshot(gateway, device, T0 + S)])
    spectrum = hq.get(f"{V1}/assets/cooler-s1/health").json()["spectrum"]
    assert spectrum["kind"] == "fft"
    assert spectrum["at_ns"] == T0 + S
    assert spectrum["source"] == f"snapshot:{gateway}/{device}/x"
    freq, amp = spectrum["frequency_hz"], spectrum["amplitude"]
    assert len(freq) == len(amp) <= MAX_BINS
    peak = int(np.argmax(amp))
    # 2049 bins of 0.5 Hz pooled by 5: the peak's bin holds 120 Hz, its amplitude the sine's 0.5 g
    assert freq[peak] <= TONE_HZ < freq[peak + 1]
    assert amp[peak] == pytest.approx(0.5, rel=0.01)


def test_the_spectrum_is_pooled_to_at_most_the_bins() -> None:
    x = np.sin(2 * np.pi * 50.0 * np.arange(1000) / 1000.0)
    freq, amp = magnitude_spectrum(x, 1000.0, max_bins=100)
    assert len(freq) == len(amp) == 84  # 501 bins by 6
    assert amp[int(np.argmax(amp))] == pytest.approx(1.0, rel=0.01)
    assert freq[int(np.argmax(amp))] == 48.0  # the pooled bin of 48..53 Hz


def test_another_stores_asset_is_not_found(mgr: TestClient) -> None:
    assert mgr.get(f"{V1}/assets/cooler-s1/health").status_code == 200
    for asset in ("cooler-s2", "no-such-asset"):
        r = mgr.get(f"{V1}/assets/{asset}/health")
        assert r.status_code == 404, asset
        assert r.json()["type"].endswith("/not-found"), asset


def test_an_unknown_parameter_is_refused(hq: TestClient) -> None:
    assert hq.get(f"{V1}/assets/cooler-s1/health", params={"axis": "x"}).status_code == 422
