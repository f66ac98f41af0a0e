"""What a remote ``tare`` means, end to end: cloud command → gateway → simulated shelf on a
pty → the units the gateway reports afterwards (and after a gateway restart).

A plain tare zeroes an empty lane; on a lane that holds stock it is refused
(``lane-not-empty``) unless ``force`` is given, and then the gateway re-baselines so the
lane keeps the units and weight it had. Either way no phantom stock change follows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from bohsense.edge import EdgeAgent, load_settings
from bohsense.simulators import Lane, ShelfDevice
from tests.edge.conftest import Cloud, gateway_id, until, write_config
from tests.edge.test_commands import _Results
from tests.support.services import Mosquitto

UNIT = (355.0, 500.0)
TARE = (150.0, 160.0)


def _units(cloud: Cloud, lane: int, since_seq: int = 0) -> list[float]:
    with cloud.lock:
        return [
            r.value
            for seq, b in sorted(cloud.batches.items())
            if seq > since_seq
            for r in b.readings
            if r.device == f"shelf-5.lane-{lane}" and r.metric == "units"
        ]


def _weights(cloud: Cloud, lane: int, since_seq: int) -> list[float]:
    with cloud.lock:
        return [
            r.value
            for seq, b in sorted(cloud.batches.items())
            if seq > since_seq
            for r in b.readings
            if r.device == f"shelf-5.lane-{lane}" and r.metric == "weight_g"
        ]


def _last_seq(cloud: Cloud) -> int:
    with cloud.lock:
        return max(cloud.batches, default=0)


async def test_tare_refuses_a_stocked_lane_zeroes_an_empty_one_and_force_keeps_the_stock(
    tmp_path: Path, mosquitto: Mosquitto, cloud_factory: Callable[..., Cloud]
) -> None:
    gw = gateway_id("tare")
    shelf = ShelfDevice(
        "shelf-5",
        lanes=[
            Lane(UNIT[0], 10, tare_g=TARE[0], drift_g_per_h=0),
            Lane(UNIT[1], 0, tare_g=TARE[1], drift_g_per_h=0),
        ],
        seed=4,
    ).start(link=tmp_path / "shelf")
    lanes = ", ".join(f"{{unit_weight_g = {u}, tare_g = {t}}}" for u, t in zip(UNIT, TARE, strict=True))
    devices = (
        f'\n[[devices]]\nname = "shelf"\nkind = "serial"\nport = "{tmp_path / "shelf"}"\n'
        f"units_heartbeat_s = 0.5\nlanes = [{lanes}]\n"
    )
    cfg = write_config(tmp_path / "gw.toml", gw, mosquitto.url, tmp_path / "outbox.sqlite3", devices=devices)
    cloud = cloud_factory(mosquitto.url, gw, ack=True)
    results = _Results(mosquitto, gw)

    async def start() -> tuple[EdgeAgent, asyncio.Task[None]]:
        agent = EdgeAgent(load_settings(cfg, env={}))
        task = asyncio.create_task(agent.run())
        await until(lambda: agent.counters().get("connected") == 1, 20, "the gateway connected")
        return agent, task

    async def settled_units(lane: int, value: float, since: int) -> None:
        await until(
            lambda: _units(cloud, lane, since)[-3:] == [value] * 3, 20, f"lane {lane} at {value} units"
        )

    agent, task = await start()
    try:
        await until(results.subscribed.is_set, 20, "result subscription")
        await settled_units(1, 10.0, 0)
        await settled_units(2, 0.0, 0)

        results.send("tare", "t-stocked", device="shelf", lane=1)
        results.send("tare", "t-all", device="shelf", lane=0)
        results.send("tare", "t-badforce", device="shelf", lane=2, force="yes")
        await until(lambda: {"t-stocked", "t-all", "t-badforce"} <= set(results.got), 20, "three refusals")
        for cid in ("t-stocked", "t-all"):
            assert (results.got[cid].ok, results.got[cid].reason) == (False, "lane-not-empty"), cid
            assert "10 units" in results.got[cid].detail
        assert (results.got["t-badforce"].ok, results.got["t-badforce"].reason) == (False, "bad-argument")
        assert not [e for e in shelf.ground_truth()["events"] if e["kind"] == "tare"], (
            "nothing reached the device"
        )

        results.send("tare", "t-empty", device="shelf", lane=2)
        await until(lambda: "t-empty" in results.got, 20, "the empty lane's tare")
        assert results.got["t-empty"].ok, results.got["t-empty"]
        mark = _last_seq(cloud)
        await settled_units(2, 0.0, mark)
        assert all(abs(w) < 20 for w in _weights(cloud, 2, mark)[-5:]), "the empty lane now reads 0 g"
        shelf.restock(2, 3)  # after the tare, the lane counts from its new zero
        await settled_units(2, 3.0, mark)

        results.send("tare", "t-force", device="shelf", lane=1, force=True)
        await until(lambda: "t-force" in results.got, 20, "the forced tare")
        assert results.got["t-force"].ok, results.got["t-force"]
        mark = _last_seq(cloud)
        await settled_units(1, 10.0, mark)
        await asyncio.sleep(1.5)
        assert set(_units(cloud, 1, mark)) == {10.0}, "no phantom zero after the re-baseline"
        assert all(abs(w - 10 * UNIT[0]) < 20 for w in _weights(cloud, 1, mark)), "the weight carries on"
        c = agent.counters()
        assert c["driver_crashes"] == 0, "the putback event of the restock reached the sink"
        assert c["driver.shelf.events"] >= 1
    finally:
        agent.stop()
        await asyncio.wait_for(task, 20)

    # the re-baselines survive a gateway restart (the device keeps its zero)
    agent, task = await start()
    try:
        mark = _last_seq(cloud)
        await settled_units(1, 10.0, mark)
        await settled_units(2, 3.0, mark)
    finally:
        agent.stop()
        await asyncio.wait_for(task, 20)
        results.close()
        shelf.stop()
    tares = [e["lane"] for e in shelf.ground_truth()["events"] if e["kind"] == "tare"]
    assert tares == [2, 1], "the device carried out exactly the two allowed tares"
