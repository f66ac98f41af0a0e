"""influxdb-client's write path against a real server that speaks /api/v2/write."""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from typing import Any

import pytest

from bohsense.cloud.tsdb import Influx2Store, StorageRefused, StorageRejected, StorageUnavailable, open_store
from bohsense.contracts.schema import Reading, ReadingBatch
from tests.cloud.tsdb._data import make_batch, unique
from tests.support.services import InfluxDB, VictoriaMetrics, free_port


def export(vm: VictoriaMetrics, gateway: str) -> list[dict[str, Any]]:
    match = urllib.parse.quote(f'{{__name__=~"shelf_.*|device_.*",gateway="{gateway}"}}')
    with urllib.request.urlopen(f"{vm.url}/api/v1/export?match[]={match}", timeout=10) as r:
        return [json.loads(line) for line in r.read().decode().splitlines() if line.strip()]


def wait_export(vm: VictoriaMetrics, gateway: str, points: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 15
    while True:
        urllib.request.urlopen(f"{vm.url}/internal/force_flush", timeout=10).close()
        rows = export(vm, gateway)
        if sum(len(r["values"]) for r in rows) >= points or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


async def test_line_protocol_written_through_influxdb_client_is_read_back(victoria: VictoriaMetrics) -> None:
    gw = unique("gw")
    store = open_store(f"influx2://127.0.0.1:{victoria.port}?org=acme&bucket=b1&token=secret")
    assert isinstance(store, Influx2Store)
    t0 = 1_750_000_000_000 * 10**6
    batches = [
        make_batch(gw, 1, 10, device="shelf-1", metric="weight_g", t0=t0, step_ns=10**9),
        ReadingBatch(gateway=gw, seq=2, sent=0, readings=[Reading("vib 7", "rms", t0, 2.25)]),
    ]
    assert await store.write(batches) == 11
    rows = wait_export(victoria, gw, 11)
    by_device = {r["metric"]["device"]: r for r in rows}
    assert set(by_device) == {"shelf-1", "vib 7"}  # escaped tag value arrives unescaped
    shelf = by_device["shelf-1"]
    assert shelf["metric"]["__name__"] == "shelf_weight_g"  # measurement shelf, field weight_g
    assert by_device["vib 7"]["metric"]["__name__"] == "device_rms"
    assert shelf["values"] == [1000.5 + i for i in range(10)]
    assert shelf["timestamps"] == [t0 // 10**6 + i * 1000 for i in range(10)]  # ms in the export
    assert by_device["vib 7"]["values"] == [2.25]
    await store.close()


async def test_unreachable_server_is_retryable() -> None:
    store = Influx2Store(f"http://127.0.0.1:{free_port()}", org="o", bucket="b", token="t", timeout_s=2)
    with pytest.raises(StorageUnavailable):
        await store.write([make_batch("gw", 1, 2)])
    await store.close()


async def test_a_404_is_the_stores_configuration_not_the_datas_fault(influxdb: InfluxDB) -> None:
    # InfluxDB 1.6 has no /api/v2/write: it answers 404, as a 2.x does for a missing bucket or
    # org. That is the operator's to fix: the batch waits (retried), it is never quarantined.
    store = Influx2Store(influxdb.url, org="o", bucket="b", token="t")
    with pytest.raises(StorageRefused) as info:
        await store.write([make_batch("gw", 1, 2)])
    assert "HTTP 404" in str(info.value)
    assert not isinstance(info.value, StorageRejected)
    await store.close()


async def test_migration_bodies_go_through_influxdb_clients_write_api(victoria: VictoriaMetrics) -> None:
    gw = unique("gw")
    store = Influx2Store(f"http://127.0.0.1:{victoria.port}", org="o", bucket="b", token="t")
    t0 = 1_750_000_000_000 * 10**6
    batch = ReadingBatch(gateway=gw, seq=1, sent=0, readings=[Reading("shelf-4.lane-2", "units", t0, 3.0)])
    for body, n in await store.bodies([batch]):
        assert n == 1
        await store.write_lines(body)
    rows = _wait_rows(victoria, f'{{__name__="shelf_units",gateway="{gw}"}}')
    (row,) = rows
    assert (row["metric"]["device"], row["metric"]["lane"], row["values"]) == ("shelf-4", "lane-2", [3.0])
    await store.close()


def _wait_rows(vm: VictoriaMetrics, selector: str) -> list[dict[str, Any]]:
    match = urllib.parse.quote(selector)
    deadline = time.monotonic() + 15
    while True:
        urllib.request.urlopen(f"{vm.url}/internal/force_flush", timeout=10).close()
        with urllib.request.urlopen(f"{vm.url}/api/v1/export?match[]={match}", timeout=10) as r:
            rows = [json.loads(line) for line in r.read().decode().splitlines() if line.strip()]
        if rows or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)
