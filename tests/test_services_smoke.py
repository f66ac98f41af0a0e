"""The test services themselves start, answer and stop."""

from __future__ import annotations

import socket

from tests.support.services import InfluxDB, Mosquitto


def test_mosquitto_accepts_connections(mosquitto: Mosquitto) -> None:
    with socket.create_connection(("127.0.0.1", mosquitto.port), timeout=2):
        pass


def test_influxdb_creates_database_and_round_trips_a_point(influxdb: InfluxDB) -> None:
    import urllib.request

    db = influxdb.create_database("smoke")
    req = urllib.request.Request(
        f"{influxdb.url}/write?db={db}&precision=ns", data=b"m,t=a v=1.5 1700000000000000000", method="POST"
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 204
    out = influxdb.query("SELECT v FROM m", db=db)
    assert out["results"][0]["series"][0]["values"] == [[1700000000000000000, 1.5]]  # type: ignore[index]


def test_postgres_database_is_created_and_usable(pg_url: str) -> None:
    import sqlalchemy as sa

    eng = sa.create_engine(pg_url)
    with eng.connect() as c:
        assert c.execute(sa.text("select 41 + 1")).scalar() == 42
    eng.dispose()
