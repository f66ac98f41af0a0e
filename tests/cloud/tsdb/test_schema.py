"""The time-series schema: measurements per device kind, lanes and sites as tags, the
site cache, and the migration of the first schema's ``reading`` measurement."""

from __future__ import annotations

from typing import Any

import pytest

from bohsense.cloud.ports import LatestPoint
from bohsense.cloud.tsdb import (
    Influx1Store,
    SiteCache,
    iter_lines,
    join_device,
    measurement_of,
    migrate_legacy,
    split_device,
)
from bohsense.cloud.tsdb._lineproto import chunked_lines, legacy_lines
from bohsense.contracts.schema import Reading, ReadingBatch
from tests.cloud.tsdb._data import unique
from tests.support.services import InfluxDB

T0 = 1_750_000_000 * 10**9
S = 10**9


def _batch(*readings: Reading, gateway: str = "gw-1", site: str = "") -> ReadingBatch:
    return ReadingBatch(gateway=gateway, seq=1, sent=0, readings=list(readings), site=site)


@pytest.mark.parametrize(
    ("metric", "measurement"),
    [
        ("weight_g", "shelf"),
        ("units", "shelf"),
        ("vib_x_velocity_rms_mm_s", "condition"),
        ("temp_c", "condition"),
        ("temp_c_sensor_fault", "condition"),
        ("current_a", "condition"),
        ("connected", "reader"),
        ("reads_per_s", "reader"),
        ("value", "device"),
        ("humidity_pct", "device"),
    ],
)
def test_the_measurement_follows_from_the_metric(metric: str, measurement: str) -> None:
    assert measurement_of(metric) == measurement


@pytest.mark.parametrize(
    ("measurement", "device", "tags"),
    [
        ("shelf", "shelf-3.lane-2", ("shelf-3", "lane-2")),
        ("shelf", "shelf-3", ("shelf-3", "")),
        ("shelf", "a.b.c", ("a", "b.c")),
        ("shelf", ".x", (".x", "")),
        ("condition", "vib.1", ("vib.1", "")),  # only shelves have lanes
    ],
)
def test_lane_split_is_reversible(measurement: str, device: str, tags: tuple[str, str]) -> None:
    assert split_device(measurement, device) == tags
    assert join_device(*tags) == device


def test_readings_of_one_device_and_time_are_one_point_with_a_field_each() -> None:
    batch = _batch(
        Reading("shelf-1.lane-2", "weight_g", T0, 512.5),
        Reading("shelf-1.lane-2", "units", T0, 4.0),
        Reading("vib-1", "vib_x_kurtosis", T0, 3.25),
        Reading("vib-1", "vib_x_crest_factor", T0, 2.5),
        Reading("vib-1", "vib_x_kurtosis", T0 + 1, 3.0),
        Reading("reader-1", "connected", T0, 1.0),
        site="s1",
    )
    assert list(iter_lines([batch])) == [
        f"shelf,device=shelf-1,gateway=gw-1,lane=lane-2,site=s1 weight_g=512.5,units=4.0 {T0}",
        f"condition,device=vib-1,gateway=gw-1,site=s1 vib_x_kurtosis=3.25,vib_x_crest_factor=2.5 {T0}",
        f"condition,device=vib-1,gateway=gw-1,site=s1 vib_x_kurtosis=3.0 {T0 + 1}",
        f"reader,device=reader-1,gateway=gw-1,site=s1 connected=1.0 {T0}",
    ]
    chunks = chunked_lines([batch], 2)
    assert [n for _, n in chunks] == [4, 2]  # readings per body, not lines


async def test_the_catalogs_site_wins_and_a_claim_counts_only_when_trusted() -> None:
    batches = [
        _batch(Reading("d", "value", T0, 1.0), gateway="gw-a", site="claimed"),
        _batch(Reading("d", "value", T0, 1.0), gateway="gw-b", site="claimed"),
        _batch(Reading("d", "value", T0, 1.0), gateway="gw-c"),
    ]
    catalog = SiteCache(lambda: {"gw-a": "catalog", "gw-b": ""})  # gw-b is pending: no site yet
    await catalog.refresh(set())
    assert list(iter_lines(batches, catalog)) == [
        f"device,device=d,gateway=gw-a,site=catalog value=1.0 {T0}",
        f"device,device=d,gateway=gw-b value=1.0 {T0}",  # a claim alone labels nothing
        f"device,device=d,gateway=gw-c value=1.0 {T0}",
    ]
    auto = SiteCache(lambda: {"gw-a": "catalog"}, trust_claims=True)  # auto-register mode
    await auto.refresh(set())
    assert list(iter_lines(batches, auto))[:2] == [
        f"device,device=d,gateway=gw-a,site=catalog value=1.0 {T0}",
        f"device,device=d,gateway=gw-b,site=claimed value=1.0 {T0}",
    ]
    # without a catalog (a store used on its own) the claim is all there is
    assert next(iter_lines(batches)) == f"device,device=d,gateway=gw-a,site=claimed value=1.0 {T0}"


def test_a_reading_repeated_in_a_batch_is_a_second_line_so_the_last_value_wins() -> None:
    batch = _batch(Reading("d", "value", T0, 1.0), Reading("d", "value", T0, 2.0))
    assert list(iter_lines([batch])) == [
        f"device,device=d,gateway=gw-1 value=1.0 {T0}",
        f"device,device=d,gateway=gw-1 value=2.0 {T0}",
    ]


async def test_fields_of_one_point_written_apart_merge_and_the_last_write_wins(influxdb: InfluxDB) -> None:
    store = Influx1Store(influxdb.url, influxdb.create_database(unique("merge")))
    await store.write(
        [
            _batch(Reading("vib-1", "vib_x_kurtosis", T0, 3.0), Reading("vib-1", "temp_c", T0, 40.0)),
            _batch(Reading("vib-1", "temp_c", T0, 41.0), Reading("vib-1", "temp_c", T0, 42.0)),
        ]
    )
    rows = await store.influxql("SELECT * FROM condition")
    assert rows[0]["columns"][-2:] == ["temp_c", "vib_x_kurtosis"]
    assert [row[-2:] for row in rows[0]["values"]] == [[42.0, 3.0]]
    await store.close()


def test_field_keys_are_escaped() -> None:
    (line,) = iter_lines([_batch(Reading("d", "a,b=c d", T0, 1.0))])
    assert line == f"device,device=d,gateway=gw-1 a\\,b\\=c\\ d=1.0 {T0}"


class _Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


async def test_site_cache_reloads_when_stale_or_missing_a_gateway_at_most_every_miss_interval() -> None:
    clock = _Clock()
    catalog = {"gw-1": "s1"}
    loads: list[int] = []

    def load() -> dict[str, str]:
        loads.append(1)
        return dict(catalog)

    cache = SiteCache(load, ttl_s=60, miss_s=5, clock=clock)
    await cache.refresh({"gw-1"})
    assert cache("gw-1") == "s1"
    assert len(loads) == 1
    catalog["gw-2"] = "s2"
    clock.t = 1
    await cache.refresh({"gw-2"})  # unknown, but the last load is too recent
    assert cache("gw-2") == ""
    assert len(loads) == 1
    clock.t = 6
    await cache.refresh({"gw-2"})
    assert cache("gw-2") == "s2"
    assert len(loads) == 2
    clock.t = 20
    await cache.refresh({"gw-1"})  # known and fresh: no load
    assert len(loads) == 2
    catalog["gw-1"] = "moved"
    clock.t = 70
    await cache.refresh({"gw-1"})
    assert cache("gw-1") == "moved"
    assert len(loads) == 3


async def test_site_cache_keeps_what_it_knows_when_the_catalog_fails() -> None:
    clock = _Clock()
    state: dict[str, Any] = {"fail": False}

    def load() -> dict[str, str]:
        if state["fail"]:
            raise ConnectionError("database down")
        return {"gw-1": "s1", "gw-pending": ""}

    cache = SiteCache(load, ttl_s=60, miss_s=5, clock=clock)
    await cache.refresh(set())
    state["fail"] = True
    clock.t = 100
    await cache.refresh({"gw-1"})
    assert cache("gw-1") == "s1"
    assert cache.failures == 1
    assert cache("gw-pending") == ""  # a gateway with no site yet
    clock.t = 101
    await cache.refresh({"gw-1"})  # retried only after miss_s
    assert cache.failures == 1
    clock.t = 106
    await cache.refresh({"gw-1"})
    assert cache.failures == 2


async def test_grafana_style_queries_on_real_influxdb(influxdb: InfluxDB) -> None:
    db = influxdb.create_database(unique("schema"))
    store = Influx1Store(influxdb.url, db)
    store.sites = SiteCache(lambda: {"gw-1": "s1", "gw-2": "s2"})
    readings = []
    for i in range(6):
        for lane, grams in ((1, 100.0), (2, 200.0)):
            readings.append(Reading(f"shelf-1.lane-{lane}", "weight_g", T0 + i * S, grams + i))
    readings.append(Reading("shelf-1", "weight_g", T0, 999.0))  # the shelf's own total, no lane
    await store.write([_batch(*readings, gateway="gw-1"), _batch(*readings[:2], gateway="gw-2")])
    q = "SELECT mean(weight_g) FROM shelf WHERE site = 's1' AND lane != '' GROUP BY lane"
    series = await store.influxql(q)
    assert {s["tags"]["lane"]: s["values"][0][1] for s in series} == {"lane-1": 102.5, "lane-2": 202.5}
    latest = await store.latest(gateways=["gw-1"], device="shelf-1", metric="weight_g")
    assert latest == [LatestPoint("gw-1", "shelf-1", "weight_g", T0, 999.0)]  # not a lane's
    lane = await store.latest(gateways=["gw-1"], device="shelf-1.lane-2")
    assert lane == [LatestPoint("gw-1", "shelf-1.lane-2", "weight_g", T0 + 5 * S, 205.0)]
    assert len(await store.latest()) == 3 + 2  # gw-1: shelf + 2 lanes; gw-2: 2 lanes
    await store.close()


async def test_migration_rewrites_the_old_measurement_idempotently_and_drops_it_when_verified(
    influxdb: InfluxDB,
) -> None:
    db = influxdb.create_database(unique("migrate"))
    store = Influx1Store(influxdb.url, db)
    store.sites = SiteCache(lambda: {"gw-1": "s1"})
    old = [
        _batch(
            *[Reading("shelf-2.lane-1", "units", T0 + i * S, float(i)) for i in range(30)],
            *[Reading("vib-1", "vib_x_kurtosis", T0 + i * S, 3.0 + i) for i in range(30)],
            Reading("vib-1", "temp_c", T0 + 7200 * S, 41.5),  # after a two-hour gap
            gateway="gw-1",
        ),
        _batch(Reading("dev 9", "value", T0 + 5 * S, 7.0), gateway="gw-2"),
    ]
    await store.write_lines("\n".join(legacy_lines(old)))
    seen: list[tuple[int, int]] = []
    report = await migrate_legacy(store, window_s=10, progress=lambda d, t: seen.append((d, t)))
    assert report.legacy_points == 62
    assert report.migrated == 62
    assert report.verified
    assert not report.dropped
    assert report.windows < 10  # the gap is jumped, not walked in 10 s steps
    assert seen[-1] == (62, 62)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    units = await store.series(
        gateway="gw-1", device="shelf-2.lane-1", metric="units", start_ns=T0, end_ns=T0 + 60 * S
    )
    assert units == [(T0 + i * S, float(i)) for i in range(30)]
    assert await store.latest(gateways=["gw-2"]) == [LatestPoint("gw-2", "dev 9", "value", T0 + 5 * S, 7.0)]
    sites = await store.influxql("SHOW TAG VALUES FROM shelf WITH KEY = site")
    assert [row[1] for row in sites[0]["values"]] == ["s1"]
    again = await migrate_legacy(store, window_s=10)  # a second run changes nothing
    assert again.migrated == 62
    counted = await store.influxql("SELECT count(units) FROM shelf")
    assert counted[0]["values"][0][1] == 30
    final = await migrate_legacy(store, window_s=3600, drop=True)
    assert final.dropped
    assert not any(r[0] == "reading" for s in await store.influxql("SHOW MEASUREMENTS") for r in s["values"])
    assert (await migrate_legacy(store)).legacy_points == 0  # nothing left to do
    await store.close()


def test_a_claimed_site_line_protocol_cannot_carry_is_left_out_not_a_refusal() -> None:
    (line,) = iter_lines([_batch(Reading("d", "value", T0, 1.0), site="bad\nsite")])
    assert line == f"device,device=d,gateway=gw-1 value=1.0 {T0}"
    (line,) = iter_lines([_batch(Reading("d", "value", T0, 1.0), site="store 7")])
    assert line == f"device,device=d,gateway=gw-1,site=store\\ 7 value=1.0 {T0}"
