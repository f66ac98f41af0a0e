"""A local alarm made at the edge from waveforms during a WAN outage reaches the cloud
ahead of the backlog, on real parts: a gateway (in this event loop) with a synthetic driver
making the backlog and a condition sensor whose waveform blocks go through the real
``ConditionInterpreter``; a real Mosquitto behind a TCP relay the test cuts (the store's
WAN); the real cloud (InfluxDB 1.x, BOH core on SQLite). While the link is down the
machine's vibration goes into ISO zone D, the interpreter raises ``vibration.zone_d.x``
(an urgent ``device.alarm``, with its raw snapshots); once the link is back that batch is
the first the broker gets, ahead of every batch of the backlog, and the cloud opens the
alert and keeps every reading exactly once."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest

from bohsense.contracts.events import Alarm, decode_event
from bohsense.contracts.schema import ArgValue
from bohsense.contracts.timeutil import now_ns
from bohsense.contracts.topics import readings_topic
from bohsense.edge.agent import EdgeAgent
from bohsense.edge.drivers.base import CommandOutcome, CommandSpec, NoCommands, Sink
from bohsense.edge.interpreters import (
    ConditionConfig,
    ConditionInterpreter,
    DeviceAttached,
    WaveformBlock,
)
from bohsense.edge.outbox_state import EntryState
from bohsense.edge.preflight import build_drivers
from bohsense.edge.settings import load_settings
from tests.edge.conftest import synthetic, until, write_config
from tests.edge.test_features import FS, velocity_sine
from tests.support.services import Mosquitto
from tests.system.test_urgent_after_outage import SITE, Cloud, Observer, Relay, cloud

__all__ = ["cloud"]  # the cloud service fixture, shared with the urgent-batch test

pytestmark = pytest.mark.slow  # about 30 s: an outage, a backlog, a drain

GW = "gw-condition"
DEVICE = "compressor-7"


class WaveformSensor(NoCommands):
    """A condition sensor's blocks (one axis, 8192 samples at 25.6 kHz, 8 per second)
    through the real condition interpreter into the sink; ``fault`` puts the machine in
    ISO zone D (7 mm/s on a group-2 rigid machine)."""

    def __init__(self) -> None:
        self.name = "vib"
        self.fault = asyncio.Event()
        self.done = asyncio.Event()
        self.interpreter = ConditionInterpreter(
            ConditionConfig.from_options({"machine_class": "group2-rigid", "rpm": 1480, "zone_d_blocks": 3})
        )
        self.blocks = 0
        self.readings = 0

    async def run(self, sink: Sink) -> None:
        self.interpreter.observe(DeviceAttached(DEVICE, "condition", ()))
        rng = np.random.default_rng(11)
        seq = 0
        while not self.done.is_set():
            v = 7.0 if self.fault.is_set() else 1.2
            x = velocity_sine(v, 1480 / 60, 8192) + rng.normal(0.0, 0.003, 8192)
            seq += 1
            out = self.interpreter.observe(WaveformBlock(DEVICE, "x", seq, now_ns(), FS, x))
            for r in out.readings:
                sink.put(r)
            for e in out.events:
                sink.put_event(e)
            self.blocks += 1
            self.readings += len(out.readings)
            await asyncio.sleep(0.125)
        await asyncio.Event().wait()  # a driver returns only when cancelled

    def stats(self) -> Mapping[str, int]:
        return {"blocks": self.blocks, "readings": self.readings, **self.interpreter.counters()}

    def commands(self) -> Mapping[str, CommandSpec]:
        return {}

    async def command(self, name: str, args: Mapping[str, ArgValue]) -> CommandOutcome:
        return await NoCommands.command(self, name, args)


async def test_a_zone_d_alarm_made_during_an_outage_reaches_the_cloud_before_the_backlog(
    tmp_path: Path, own_mosquitto: Mosquitto, cloud: Cloud
) -> None:
    relay = await Relay(own_mosquitto.port).start()
    cfg = write_config(
        tmp_path / "gw.toml",
        GW,
        relay.url,
        tmp_path / "outbox.sqlite3",
        devices=synthetic(devices=4, rate_hz=20, limit=400),
    )
    cfg.write_text(cfg.read_text().replace('site = "test-site"', f'site = "{SITE}"'))
    settings = load_settings(cfg, env={})
    sensor = WaveformSensor()
    observer = Observer(own_mosquitto.url, [readings_topic(GW)]).start()
    agent = EdgeAgent(settings, drivers=[*build_drivers(settings), sensor])
    task = asyncio.create_task(agent.run())
    try:
        await until(lambda: agent.counters().get("acked", 0) >= 5, 30, "batches acknowledged by the cloud")
        assert agent.counters()["urgent_batches"] == 0, "a healthy machine raises nothing"

        relay.cut()  # the store's WAN goes down
        await until(lambda: agent.counters()["connected"] == 0, 30, "the gateway to notice the outage")
        assert agent.uplink is not None
        outage_ns = now_ns()
        held_by_client = set(agent.uplink.states.seqs(EntryState.INFLIGHT))
        first_backlog = agent.counters()["next_seq"]
        await until(lambda: agent.counters()["next_seq"] >= first_backlog + 15, 30, "a backlog")

        sensor.fault.set()  # the bearing goes: zone D from the next block on
        await until(lambda: agent.counters()["urgent_batches"] >= 1, 10, "the local alarm in the outbox")
        assert agent.outbox is not None
        urgent_entries = await agent.outbox.fetch_urgent(0, 10)
        urgent = urgent_entries[0].seq
        await until(lambda: agent.counters()["next_seq"] >= urgent + 10, 30, "more backlog after the alarm")

        relay.restore()
        await until(
            lambda: agent.counters()["driver.syn.readings"] == 4 * 2 * 400, 60, "the backlog driver to finish"
        )
        sensor.done.set()
        await asyncio.sleep(0.3)
        await until(lambda: agent.counters()["buffered"] == 0, 10, "everything batched")
        # drained and settled: a batch taken from the buffer may still be on its way to
        # the outbox when both read 0, so the same sequence must hold a moment later
        settled: list[dict[str, int]] = []

        def drained() -> bool:
            c = agent.counters()
            settled.append(c)
            prev = settled[-2] if len(settled) > 1 else None
            return bool(
                c["outbox_depth"] == 0 and c["buffered"] == 0 and prev and prev["next_seq"] == c["next_seq"]
            )

        async def quiet() -> None:
            await until(drained, 60, "the outbox drained by CloudAcks")

        await quiet()
        await asyncio.sleep(0.5)
        await quiet()
        c = settled[-1]
        last = c["next_seq"] - 1
        await until(lambda: cloud.points(GW) >= c["readings_batched"], 30, "every reading in InfluxDB")
    finally:
        agent.stop()
        await asyncio.wait_for(task, 15)
        observer.stop()
        await relay.close()

    arrivals = observer.batches(readings_topic(GW))
    after = [b for b in arrivals if b.sent > outage_ns]
    assert after, "the backlog was published after the reconnect"
    first = after[0]
    assert first.seq == urgent, f"the first batch after the outage is {first.seq}, not the urgent {urgent}"
    assert first.urgent
    events = [decode_event(w) for w in first.events]
    raised = [e for e in events if isinstance(e.attrs, Alarm)]
    assert [(e.device, e.attrs.code, e.attrs.active, e.attrs.severity) for e in raised] == [
        (DEVICE, "vibration.zone_d.x", True, "critical")
    ]
    assert raised[0].ts > outage_ns, "raised during the outage"
    assert {e.kind for e in events} <= {"device.alarm", "condition.snapshot"}
    backlog_below = {b.seq for b in after if b.seq < urgent} - held_by_client
    assert len(backlog_below) >= 15, "the alarm went ahead of a real backlog made before it"
    assert {b.seq for b in arrivals} == set(range(1, last + 1)), "every batch reached the broker"

    stats = cloud.stats()
    assert stats["quarantined"] == 0, "the cloud took every reading and event (snapshots included)"
    assert stats["batches_applied"] >= last
    with sqlite3.connect(tmp_path / "boh.sqlite3") as db:
        alerts = db.execute(
            "SELECT condition, severity FROM alerts WHERE subject = ?", (f"device:{GW}/{DEVICE}",)
        ).fetchall()
        kinds = dict(
            db.execute(
                "SELECT kind, count(*) FROM device_events WHERE gateway = ? GROUP BY kind", (GW,)
            ).fetchall()
        )
    assert alerts == [("alarm:vibration.zone_d.x", "critical")]
    assert kinds["device.alarm"] == 1
    assert kinds["condition.snapshot"] >= 3, "the blocks around the alarm"
    assert c["readings_batched"] == 4 * 2 * 400 + sensor.readings
    assert (c["dropped_readings"], c["lost_readings"], c["buffer_overflow"]) == (0, 0, 0)
    assert cloud.points(GW) == c["readings_batched"], "every reading stored once"
