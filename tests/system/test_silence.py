"""A real gateway that stops is alerted as silent, and the alert resolves when it is back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bohsense.demo import SENSOR
from tests.support.services import InfluxDB, Mosquitto
from tests.system.harness import StoreSystem, wait_for

#: above the 10 s resolution of a device's last_seen, so a live gateway is never taken for silent
GATEWAY_SILENCE_S = 20.0


@pytest.fixture
async def quiet_store(
    tmp_path: Path, own_mosquitto: Mosquitto, influxdb: InfluxDB
) -> AsyncIterator[StoreSystem]:
    # a broker of its own: the shared one holds retained statuses of other tests'
    # gateways, which the cloud would register and (rightly) find silent
    system = StoreSystem(
        tmp_path,
        own_mosquitto.url,
        influxdb,
        f"sqlite:///{tmp_path / 'boh.sqlite3'}",
        duration_s=120.0,
        settings={"gateway_silence_s": GATEWAY_SILENCE_S, "sweep_interval_s": 0.5},
    )
    try:
        yield await system.start()
    finally:
        await system.close()


async def _silence_alerts(s: StoreSystem) -> list[dict[str, Any]]:
    # only this store's gateway: the shared broker may still hold other tests' gateways' statuses
    alerts: list[dict[str, Any]] = await s.get("/alerts")
    return [
        a for a in alerts if a["condition"] == "gateway-silent" and a["subject"] == f"gateway:{s.gateway}"
    ]


@pytest.mark.long  # waits out a silence window (~22 s); the silence rules have unit tests in tests/cloud/boh
async def test_a_gateway_that_stops_is_alerted_once_and_resolved_when_back(quiet_store: StoreSystem) -> None:
    s = quiet_store
    s.play()
    await wait_for(
        lambda: s.get("/readings/latest", gateway=s.gateway, device=SENSOR), limit_s=20, what="live readings"
    )
    await wait_for(lambda: s.service.scheduler.stats()["silence"]["runs"], limit_s=5, what="a sweep")
    assert await _silence_alerts(s) == []  # a live gateway is not silent

    s.kill_edge()
    alerts = await wait_for(
        lambda: _silence_alerts(s), limit_s=GATEWAY_SILENCE_S + 20, what="a gateway-silent alert", every_s=0.5
    )
    (alert,) = alerts
    assert (alert["subject"], alert["state"], alert["site"]) == (
        f"gateway:{s.gateway}",
        "open",
        f"site-{s.gateway}",
    )
    assert alert["evidence"]["silent_s"] > GATEWAY_SILENCE_S
    assert alert["evidence"]["gateway_state"] in ("online", "lost")  # killed: no goodbye
    await wait_for(lambda: s.service.scheduler.stats()["silence"]["runs"] > 3, limit_s=5, what="more sweeps")
    assert len(await _silence_alerts(s)) == 1  # one alert, however many sweeps

    s.start_edge()
    resolved = await wait_for(
        lambda: _resolved(s), limit_s=30, what="the alert resolved once the gateway is back", every_s=0.5
    )
    assert resolved["id"] == alert["id"]
    assert len(await _silence_alerts(s)) == 1


async def _resolved(s: StoreSystem) -> dict[str, Any] | None:
    return next((a for a in await _silence_alerts(s) if a["state"] == "resolved"), None)
