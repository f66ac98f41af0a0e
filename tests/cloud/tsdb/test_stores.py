"""The same write/query behaviour from the SQLite and the InfluxDB 1.x backends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bohsense.cloud.ports import LatestPoint
from bohsense.cloud.tsdb import (
    Influx1Store,
    Influx2Store,
    SqliteStore,
    StorageRefused,
    StorageRejected,
    StorageUnavailable,
    TimeSeriesStore,
    open_store,
)
from bohsense.contracts.schema import Reading, ReadingBatch
from tests.cloud.tsdb._data import make_batch, unique
from tests.support.services import InfluxDB, free_port

T0 = 1_750_000_000 * 10**9  # 2025-06-15
S = 10**9


@pytest.fixture(params=["sqlite", "influx1"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[TimeSeriesStore]:
    if request.param == "sqlite":
        s = open_store(f"sqlite:///{tmp_path}/ts.db")
    else:
        influxdb: InfluxDB = request.getfixturevalue("influxdb")
        s = open_store(f"influx1://127.0.0.1:{influxdb.port}/{unique('ts')}")
    await s.setup()
    yield s
    await s.close()


async def test_write_counts_points_and_replay_is_idempotent(store: TimeSeriesStore) -> None:
    gw = unique("gw")
    batches = [make_batch(gw, 1, 50, t0=T0), make_batch(gw, 2, 50, t0=T0 + 50 * 10**6)]
    assert await store.write(batches) == 100
    assert await store.write(batches) == 100  # redelivered: same points again
    pts = await store.series(gateway=gw, device="dev-1", metric="temp_c", start_ns=T0, end_ns=T0 + 10 * S)
    assert len(pts) == 100
    assert pts[0] == (T0, 1000.5)
    assert pts[-1] == (T0 + 99 * 10**6, 2049.5)


async def test_latest_is_the_newest_event_time_not_the_last_written(store: TimeSeriesStore) -> None:
    gw = unique("gw")
    newer = ReadingBatch(gateway=gw, seq=2, sent=0, readings=[Reading("d1", "temp_c", T0 + 10 * S, 30.0)])
    backfill = ReadingBatch(
        gateway=gw,
        seq=1,
        sent=0,
        readings=[
            Reading("d1", "temp_c", T0, 10.0),
            Reading("d2", "temp_c", T0, 5.0),
            Reading("d1", "rms", T0, 1.0),
        ],
    )
    await store.write([newer])
    await store.write([backfill])
    assert await store.latest(gateways=[gw]) == [
        LatestPoint(gw, "d1", "rms", T0, 1.0),
        LatestPoint(gw, "d1", "temp_c", T0 + 10 * S, 30.0),
        LatestPoint(gw, "d2", "temp_c", T0, 5.0),
    ]
    assert await store.latest(gateways=[gw], device="d1", metric="temp_c") == [
        LatestPoint(gw, "d1", "temp_c", T0 + 10 * S, 30.0)
    ]
    assert await store.latest(gateways=[gw], device="nope") == []


async def test_series_window_and_mean_per_window(store: TimeSeriesStore) -> None:
    gw, dev = unique("gw"), unique("dev")
    readings = [Reading(dev, "temp_c", T0 + i * S, float(i)) for i in range(20)]
    await store.write([ReadingBatch(gateway=gw, seq=1, sent=0, readings=readings)])
    raw = await store.series(gateway=gw, device=dev, metric="temp_c", start_ns=T0 + 5 * S, end_ns=T0 + 8 * S)
    assert raw == [(T0 + 5 * S, 5.0), (T0 + 6 * S, 6.0), (T0 + 7 * S, 7.0)]  # end excluded
    means = await store.series(
        gateway=gw, device=dev, metric="temp_c", start_ns=T0, end_ns=T0 + 20 * S, every_s=10
    )
    assert means == [(T0, 4.5), (T0 + 10 * S, 14.5)]
    with pytest.raises(StorageRejected):
        await store.series(gateway=gw, device=dev, metric="temp_c", start_ns=T0, end_ns=T0 + S, every_s=0)


async def test_quotes_in_query_values_are_literals_not_syntax(store: TimeSeriesStore) -> None:
    assert await store.latest(device="x' OR '1'='1") == []
    assert await store.series(gateway="g' OR '1'='1", device="a\\'b", metric="m", start_ns=0, end_ns=T0) == []


async def test_non_finite_value_is_rejected_and_nothing_of_the_batch_is_half_written(
    store: TimeSeriesStore,
) -> None:
    gw = unique("gw")
    bad = ReadingBatch(
        gateway=gw,
        seq=1,
        sent=0,
        readings=[Reading("d", "m", T0, 1.0), Reading("d", "m", T0 + 1, float("nan"))],
    )
    with pytest.raises(StorageRejected, match="not a finite"):
        await store.write([bad])
    assert await store.latest(gateways=[gw]) == []


async def test_influx1_unreachable_is_retryable() -> None:
    s = Influx1Store(f"http://127.0.0.1:{free_port()}", "x", timeout_s=2)
    with pytest.raises(StorageUnavailable, match="ConnectionRefused"):
        await s.write([make_batch("gw", 1, 3)])
    with pytest.raises(StorageUnavailable):
        await s.setup()
    with pytest.raises(StorageUnavailable):
        await s.latest()
    await s.close()


async def test_influx1_missing_database_is_refused_with_the_servers_reason_and_retried(
    influxdb: InfluxDB,
) -> None:
    # a dropped or never-created database is the operator's to fix: retried, never quarantined
    s = Influx1Store(influxdb.url, unique("missing"), create_database=False)
    with pytest.raises(StorageRefused, match="database not found") as info:
        await s.write([make_batch("gw", 1, 3)])
    assert "HTTP 404" in str(info.value)
    assert isinstance(info.value, StorageUnavailable)
    with pytest.raises(StorageRefused, match="database not found"):
        await s.setup()  # and the start says so
    await s.close()


async def test_influx1_bad_line_is_rejected_as_4xx(influxdb: InfluxDB) -> None:
    s = Influx1Store(influxdb.url, influxdb.create_database(unique("bad")))
    with pytest.raises(StorageRejected, match="unable to parse") as info:
        await s.write_lines("reading,device=d value=notanumber 1")
    assert info.value.status == 400
    await s.close()


async def test_influx1_chunks_large_writes(influxdb: InfluxDB) -> None:
    db = influxdb.create_database(unique("chunk"))
    s = Influx1Store(influxdb.url, db, chunk_points=700)
    gw = unique("gw")
    assert await s.write([make_batch(gw, i, 1000, t0=T0 + i * S) for i in range(1, 4)]) == 3000
    res = influxdb.query("SELECT count(temp_c) FROM condition", db)
    assert res["results"][0]["series"][0]["values"][0][1] == 3000  # type: ignore[index]
    await s.close()


async def test_sqlite_that_cannot_open_its_file_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "ts.db").mkdir()  # a directory where the database file should be
    s = SqliteStore(tmp_path / "ts.db")
    with pytest.raises(StorageUnavailable, match="unable to open"):
        await s.setup()
    await s.close()


def _two_stores(gw_a: str, gw_b: str) -> list[ReadingBatch]:
    """Two gateways whose devices carry the same names (every store has a ``shelf-1.lane-1``)."""
    return [
        ReadingBatch(
            gateway=gw,
            seq=1,
            sent=0,
            readings=[Reading("shelf-1.lane-1", "units", T0 + i * S + offset, base + i) for i in range(4)],
        )
        for gw, base, offset in ((gw_a, 10.0, 0), (gw_b, 500.0, S // 2))
    ]


async def _assert_scoped(store: TimeSeriesStore, gw_a: str, gw_b: str) -> None:
    raw_a = await store.series(
        gateway=gw_a, device="shelf-1.lane-1", metric="units", start_ns=T0, end_ns=T0 + 10 * S
    )
    assert raw_a == [(T0 + i * S, 10.0 + i) for i in range(4)]
    raw_b = await store.series(
        gateway=gw_b, device="shelf-1.lane-1", metric="units", start_ns=T0, end_ns=T0 + 10 * S
    )
    assert raw_b == [(T0 + i * S + S // 2, 500.0 + i) for i in range(4)]
    mean_a = await store.series(
        gateway=gw_a, device="shelf-1.lane-1", metric="units", start_ns=T0, end_ns=T0 + 10 * S, every_s=10
    )
    assert mean_a == [(T0, 11.5)]
    assert (
        await store.series(
            gateway=unique("gw"), device="shelf-1.lane-1", metric="units", start_ns=T0, end_ns=T0 + 10 * S
        )
        == []
    )
    assert [p.gateway for p in await store.latest(gateways=[gw_a], device="shelf-1.lane-1")] == [gw_a]
    both = await store.latest(gateways=[gw_b, gw_a], device="shelf-1.lane-1")
    assert [(p.gateway, p.value) for p in both] == sorted([(gw_a, 13.0), (gw_b, 503.0)])
    assert await store.latest(gateways=[], device="shelf-1.lane-1") == []  # a site with no gateway
    assert await store.latest(gateways=["x' OR '1'='1"]) == []


async def test_same_device_names_on_two_gateways_never_mix(store: TimeSeriesStore) -> None:
    gw_a, gw_b = unique("gw-a"), unique("gw-b")
    await store.write(_two_stores(gw_a, gw_b))
    await _assert_scoped(store, gw_a, gw_b)


async def test_the_influxdb_client_backend_queries_scoped_by_gateway(influxdb: InfluxDB) -> None:
    # influxdb-client's backend reads through the v1-compatible /query endpoint, which
    # InfluxDB 1.x serves natively: write with the 1.x backend, read with the 2.x one
    db = influxdb.create_database(unique("v2q"))
    writer = Influx1Store(influxdb.url, db)
    gw_a, gw_b = unique("gw-a"), unique("gw-b")
    await writer.write(_two_stores(gw_a, gw_b))
    await writer.close()
    reader = Influx2Store(influxdb.url, org="o", bucket=db, token="t")
    await _assert_scoped(reader, gw_a, gw_b)
    await reader.close()
