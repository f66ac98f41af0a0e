"""Trend queries through the API over a real SQLite time-series store: two stores whose
gateways report the same device names never come back mixed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bohsense.cloud.api import create_app
from bohsense.cloud.boh import BohCore
from bohsense.cloud.tsdb import SqliteStore
from bohsense.contracts.schema import Reading, ReadingBatch

from ..boh.factory import GW, SITE, T0, S, catalog

V1 = "/api/v1"
GW2, SITE2 = "gw-t2", "store-t2"
LANE = "shelf-1.lane-1"


def two_store_catalog() -> dict[str, object]:
    cat = catalog()
    cat["sites"] = [*cat["sites"], {"id": SITE2, "name": "Second store"}]
    cat["gateways"] = [*cat["gateways"], {"id": GW2, "site": SITE2}]
    return cat


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    core = BohCore(f"sqlite:///{tmp_path / 'boh.db'}")
    core.migrate()
    core.load_catalog(two_store_catalog())
    store = SqliteStore(tmp_path / "ts.db")
    await store.setup()
    await store.write(
        [
            ReadingBatch(
                gateway=gw,
                seq=1,
                sent=0,
                readings=[Reading(LANE, "units", T0 + i * S + shift, base + i) for i in range(3)],
            )
            for gw, base, shift in ((GW, 10.0, 0), (GW2, 90.0, S // 2))
        ]
    )
    app = create_app(core=core, tsdb=store)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
        yield client
    await store.close()
    core.close()


def window(**extra: str | int) -> dict[str, str | int]:
    return {"device": LANE, "metric": "units", "start": T0, "end": T0 + 10 * S, **extra}


async def test_series_of_one_gateway_holds_only_its_points(api: httpx.AsyncClient) -> None:
    r = await api.get(f"{V1}/readings/series", params=window(gateway=GW))
    assert r.status_code == 200, r.text
    assert r.json()["gateway"] == GW
    assert r.json()["points"] == [[T0, 10.0], [T0 + S, 11.0], [T0 + 2 * S, 12.0]]
    r = await api.get(f"{V1}/readings/series", params=window(gateway=GW2, every=10))
    assert r.json()["points"] == [[T0, 91.0]]


async def test_a_series_needs_its_gateway(api: httpx.AsyncClient) -> None:
    r = await api.get(f"{V1}/readings/series", params=window())
    assert r.status_code == 422
    assert [e["loc"] for e in r.json()["errors"]] == [["query", "gateway"]]


async def test_series_checks_the_gateway_belongs_to_the_site(api: httpx.AsyncClient) -> None:
    r = await api.get(f"{V1}/readings/series", params=window(gateway=GW2, site=SITE2))
    assert len(r.json()["points"]) == 3
    r = await api.get(f"{V1}/readings/series", params=window(gateway=GW2, site=SITE))
    assert r.status_code == 404
    assert r.json()["detail"] == f"gateway {GW2!r} is not at site {SITE!r}"


async def test_latest_is_scoped_by_gateway_and_by_site(api: httpx.AsyncClient) -> None:
    everywhere = (await api.get(f"{V1}/readings/latest", params={"device": LANE})).json()
    assert [(p["gateway"], p["value"]) for p in everywhere] == [(GW, 12.0), (GW2, 92.0)]
    (one,) = (await api.get(f"{V1}/readings/latest", params={"gateway": GW2, "device": LANE})).json()
    assert (one["gateway"], one["value"]) == (GW2, 92.0)
    (site,) = (await api.get(f"{V1}/readings/latest", params={"site": SITE})).json()
    assert (site["gateway"], site["value"]) == (GW, 12.0)
    assert (await api.get(f"{V1}/readings/latest", params={"site": SITE, "gateway": GW2})).json() == []
    assert (await api.get(f"{V1}/readings/latest", params={"site": "nowhere"})).json() == []


async def test_an_unknown_filter_is_refused_not_ignored(api: httpx.AsyncClient) -> None:
    r = await api.get(f"{V1}/readings/latest", params={"gatway": GW})
    assert r.status_code == 422
    assert (
        r.json()["detail"]
        == "unknown query parameter 'gatway'; this endpoint takes cursor, device, gateway, limit, metric, site"
    )


async def test_a_repeated_filter_is_refused_not_half_used(api: httpx.AsyncClient) -> None:
    r = await api.get(f"{V1}/readings/latest", params=[("site", SITE), ("site", SITE2)])
    assert r.status_code == 422
    assert r.json()["detail"] == "query parameter 'site' given more than once; give it once"
