"""A flood from one gateway: next to the demo store (about 60 readings/s), a second
gateway on the same broker and cloud sends 3,000 readings/s (a synthetic driver, 50x
the store's rate) for 10 s. The flood is bounded (its gateway's buffer and memory hold;
the cloud keeps up or its backlog drains) and the store is unaffected: every reading of
it stored once, and its lag (now minus the newest stored event time) stays low."""

from __future__ import annotations

import asyncio
import json
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.faults._report import report, score, settle
from tests.support.services import InfluxDB, Mosquitto
from tests.system.harness import StoreSystem, wait_for

FLOOD_DEVICES, FLOOD_HZ, FLOOD_S = 6, 500, 10
#: the store's lag while flooded may not exceed this (its baseline is well under 1 s)
MAX_LAG_S = 3.0


def flood_toml(workdir: Path, broker_url: str, gateway: str) -> Path:
    path = workdir / "flood.toml"
    path.write_text(
        f'gateway_id = "{gateway}"\nsite = "site-{gateway}"\nlog_format = "json"\nstatus_interval_s = 1\n'
        f'[broker]\nurl = "{broker_url}"\n[outbox]\npath = "{workdir / "flood.sqlite3"}"\n'
        f'[[devices]]\nname = "flood"\nkind = "synthetic"\ndevices = {FLOOD_DEVICES}\nmetrics = ["value"]\n'
        f"rate_hz = {FLOOD_HZ}\nlimit = {FLOOD_HZ * FLOOD_S}\n"
    )
    return path


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


@pytest.mark.long
async def test_a_flooding_gateway_is_bounded_and_its_neighbour_unaffected(
    tmp_path: Path, mosquitto: Mosquitto, influxdb: InfluxDB
) -> None:
    s = StoreSystem(tmp_path, mosquitto.url, influxdb, f"sqlite:///{tmp_path / 'boh.sqlite3'}")
    await s.start()
    flood_gw = f"flood-{s.gateway}"
    flood: subprocess.Popen[bytes] | None = None
    lag_before: list[float] = []
    lag_during: list[float] = []
    rss: list[int] = []

    def lag() -> float | None:
        out = influxdb.query(
            'SELECT last("weight_g") FROM "shelf" WHERE "device" = \'shelf-1\' AND "lane" = \'lane-1\'',
            db=s.db,
        )
        series = out["results"][0].get("series")
        return None if not series else (time.time_ns() - int(series[0]["values"][0][0])) / 1e9

    try:
        s.play()
        await wait_for(lambda: lag() is not None, limit_s=20, what="the store's first readings")
        for _ in range(8):
            lag_before.append(lag() or 0.0)
            await asyncio.sleep(0.5)
        log = open(tmp_path / "flood.log", "ab")  # noqa: SIM115,ASYNC230 - lives as long as the child
        flood = subprocess.Popen(  # noqa: ASYNC220
            [sys.executable, "-m", "bohsense", "edge", "run", "--config",
             str(flood_toml(tmp_path, mosquitto.url, flood_gw))],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        started = time.monotonic()
        while time.monotonic() - started < FLOOD_S + 2:
            lag_during.append(lag() or 0.0)
            rss.append(rss_kib(flood.pid))
            await asyncio.sleep(0.5)
        s.pause()
        await asyncio.sleep(1)
        await settle(s)
        produced, stored, lost, twice = score(s)
        expected_flood = FLOOD_DEVICES * FLOOD_HZ * FLOOD_S

        def flood_stored() -> int:
            out = influxdb.query('SELECT count(*) FROM "device" WHERE "device" =~ /^flood-/', db=s.db)
            series = out["results"][0].get("series")  # a count_<metric> column per field
            return 0 if not series else sum(int(v) for v in series[0]["values"][0][1:] if v is not None)

        await wait_for(
            lambda: flood_stored() >= expected_flood, limit_s=60, what="the flood stored", every_s=0.5
        )
        drain_s = time.monotonic() - started - FLOOD_S
        flood.send_signal(signal.SIGTERM)
        flood.wait(20)
        # the flood's series are not in the catalog: the cloud stores them (readings_stored)
        # without applying them to the BOH core (readings_applied); count twice on what is stored
        cloud = s.service.stats()
        twice = int(cloud["readings_stored"]) - sum(s.stored().values())
        got_flood = flood_stored()
    finally:
        if flood is not None and flood.poll() is None:
            flood.kill()
            flood.wait(5)
        await s.close()
    lines = [json.loads(x) for x in (tmp_path / "flood.log").read_text().splitlines() if x.startswith("{")]
    final = next(x for x in reversed(lines) if x.get("msg") == "edge agent stopped")
    report(
        "flood: a 3,000 readings/s gateway beside a 60 readings/s store",
        produced=produced,
        stored=stored,
        lost=lost,
        applied_twice=twice,
        recover_s=drain_s,
        store_lag_before_p50_s=round(statistics.median(lag_before), 2),
        store_lag_flooded_p50_s=round(statistics.median(lag_during), 2),
        store_lag_flooded_max_s=round(max(lag_during), 2),
        flood_produced=expected_flood,
        flood_stored=got_flood,
        flood_buffer_overflow=final.get("buffer_overflow"),
        flood_dropped=final.get("dropped_readings"),
        flood_rss_max_mib=round(max(rss) / 1024, 1),
        cloud_readings_stored=cloud["readings_stored"],
        cloud_readings_applied=cloud["readings_applied"],
    )
    assert lost == 0, f"{lost} of the store's {produced} readings lost"
    assert twice == 0
    assert got_flood == expected_flood, "the flood is stored once, too"
    assert max(lag_during) < MAX_LAG_S, f"the store's lag reached {max(lag_during):.2f} s under the flood"
    assert max(rss) < 300 * 1024, "the flooding gateway's memory stays bounded"
