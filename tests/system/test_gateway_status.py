"""Gateway status on real parts: a gateway killed after a reconnect is shown ``lost``.

The last will of every connection must win over the birth of that same connection,
whatever the clocks say; a WAN blip (here: the broker restarted) must not leave a later
crash unseen.
"""

from __future__ import annotations

import signal
from pathlib import Path

from tests.support.services import InfluxDB, Mosquitto
from tests.system.harness import StoreSystem, wait_for


async def test_a_gateway_killed_after_a_reconnect_is_shown_lost(
    tmp_path: Path, own_mosquitto: Mosquitto, influxdb: InfluxDB
) -> None:
    s = StoreSystem(tmp_path, own_mosquitto.url, influxdb, f"sqlite:///{tmp_path / 'boh.sqlite3'}")
    await s.start()
    try:
        s.play()

        async def gateway() -> dict[str, object]:
            return dict(await s.get(f"/gateways/{s.gateway}"))

        async def online() -> dict[str, object] | None:
            g = await gateway()
            return g if g["state"] == "online" else None

        first = await wait_for(online, limit_s=20, what="the gateway's birth")

        own_mosquitto.stop(signal.SIGTERM)  # a WAN blip: the gateway loses its connection
        own_mosquitto.start()

        async def reborn() -> bool:
            g = await online()
            return g is not None and int(str(g["last_status_ns"])) > int(str(first["last_status_ns"]))

        await wait_for(reborn, limit_s=30, what="the birth of the gateway's second connection")
        assert "connected to broker" in (tmp_path / "edge.log").read_text()

        s.kill_edge()  # the gateway crashes: the broker publishes the last will

        async def lost() -> bool:
            return (await gateway())["state"] == "lost"

        await wait_for(lost, limit_s=20, what="the gateway shown lost after its will")
        trail = await s.get("/audit", entity="gateway", entity_id=s.gateway)
        states = [a["to_state"] for a in sorted(trail, key=lambda a: a["at_ns"])]
        assert states[-1] == "lost"
    finally:
        await s.close()
