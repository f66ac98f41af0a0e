"""The API over a real BOH core (SQLite, and PostgreSQL where marked) and a fake time-series store."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bohsense.cloud.api import create_app
from bohsense.cloud.boh import BohCore
from bohsense.cloud.ports import LatestPoint

from ..boh.factory import catalog

TOKEN = "s3cret-token"


@dataclass
class FakeTimeSeries:
    """``TimeSeriesQuery`` at the seam: answers from a list, records the calls."""

    points: list[LatestPoint] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    broken: bool = False

    async def latest(
        self,
        *,
        gateways: Collection[str] | None = None,
        device: str | None = None,
        metric: str | None = None,
    ) -> list[LatestPoint]:
        self.calls.append(("latest", {"gateways": gateways, "device": device, "metric": metric}))
        if self.broken:
            raise ConnectionError("influx down")
        return [
            p
            for p in self.points
            if (gateways is None or p.gateway in gateways)
            and (device is None or p.device == device)
            and (metric is None or p.metric == metric)
        ]

    async def series(
        self,
        *,
        gateway: str,
        device: str,
        metric: str,
        start_ns: int,
        end_ns: int,
        every_s: int | None = None,
    ) -> list[tuple[int, float]]:
        self.calls.append(
            (
                "series",
                {
                    "gateway": gateway,
                    "device": device,
                    "metric": metric,
                    "start_ns": start_ns,
                    "end_ns": end_ns,
                    "every_s": every_s,
                },
            )
        )
        return [
            (p.ts, p.value)
            for p in self.points
            if p.gateway == gateway
            and p.device == device
            and p.metric == metric
            and start_ns <= p.ts < end_ns
        ]


@pytest.fixture
def tsdb() -> FakeTimeSeries:
    return FakeTimeSeries()


@pytest.fixture(params=["sqlite"])
def core(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BohCore]:
    url = (
        f"sqlite:///{tmp_path / 'api.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    )
    boh = BohCore(url)
    boh.migrate()
    boh.load_catalog(catalog())
    yield boh
    boh.close()


@pytest.fixture
def client(core: BohCore, tsdb: FakeTimeSeries) -> Iterator[TestClient]:
    app = create_app(core=core, tsdb=tsdb, stats=lambda: {"readings": 7, "quarantined": 0})
    with TestClient(app) as c:
        yield c


@pytest.fixture
def secured(core: BohCore, tsdb: FakeTimeSeries) -> Iterator[TestClient]:
    with TestClient(create_app(core=core, tsdb=tsdb, api_token=TOKEN)) as c:
        yield c


JWT_SECRET = "jwt-secret-for-tests-only-7Hq2Zr9Lm4Xp8Kd1"
PASSWORD = "correct horse battery staple"


def fast_authority(core: BohCore, **config: Any) -> Any:
    """An ``Authority`` with sign-in on and a cheap argon2 cost (the tests sign in often)."""
    from argon2 import PasswordHasher

    from bohsense.cloud.identity import Authority, AuthorityConfig, Passwords

    cheap = Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    return Authority(core.engine, AuthorityConfig(jwt_secret=JWT_SECRET, **config), passwords=cheap)


@pytest.fixture
def authed(core: BohCore, tsdb: FakeTimeSeries) -> Iterator[TestClient]:
    """The API with sign-in on (and the service token), no users yet."""
    app = create_app(core=core, tsdb=tsdb, api_token=TOKEN, identity=fast_authority(core))
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="module")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated BOH database with the catalog, made once per module (migrating takes
    most of a test's time); ``copied_core`` gives each test its own copy."""
    path = tmp_path_factory.mktemp("template") / "boh.db"
    boh = BohCore(f"sqlite:///{path}")
    boh.migrate()
    boh.load_catalog(catalog())
    boh.close()  # the last connection closing checkpoints the WAL into the file
    return path


@pytest.fixture
def copied_core(template_db: Path, tmp_path: Path) -> Iterator[BohCore]:
    import shutil

    db = tmp_path / "copy.db"
    shutil.copyfile(template_db, db)
    boh = BohCore(f"sqlite:///{db}")
    yield boh
    boh.close()
