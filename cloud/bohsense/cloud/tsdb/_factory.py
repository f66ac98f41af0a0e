"""``open_store(url)``: a time-series backend from one URL.

=================================================  =========================================
URL                                                backend
=================================================  =========================================
``sqlite:///var/ts.db`` (relative path)            embedded SQLite (``SqliteStore``)
``sqlite:////abs/ts.db``, ``sqlite:///:memory:``   same, absolute path / in memory
``influx1://host:8086/bohsense``                   InfluxDB 1.x HTTP API, database ``bohsense``
``influx1s://user:pass@host:8086/db?rp=autogen``   same over HTTPS, with credentials / retention policy
``http://host:8086?db=bohsense``                   InfluxDB 1.x, plain HTTP URL with ``db`` (``https`` too)
``influx2://host:8086?org=o&bucket=b&token=t``     InfluxDB 2.x/3.x/Cloud via influxdb-client
``influx2s://host?org=o&bucket=b&token=t``         same over HTTPS
=================================================  =========================================

Unknown schemes and missing parts raise ``ValueError`` naming what is wrong.
"""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

from bohsense.cloud.tsdb._base import TimeSeriesStore

__all__ = ["open_store"]


def _one(query: dict[str, list[str]], key: str) -> str | None:
    vals = query.get(key)
    return vals[-1] if vals else None


def open_store(url: str, *, chunk_points: int = 5000) -> TimeSeriesStore:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    query = parse_qs(parts.query)
    if scheme == "sqlite":
        from bohsense.cloud.tsdb._sqlite import SqliteStore

        if parts.netloc:
            raise ValueError(
                f"sqlite URL {url!r} must be sqlite:///relative/path or sqlite:////absolute/path"
            )
        path = unquote(parts.path[1:]) if parts.path.startswith("/") else unquote(parts.path)
        return SqliteStore(path or ":memory:")
    if scheme in ("influx1", "influx1s", "http", "https"):
        from bohsense.cloud.tsdb._influx1 import Influx1Store

        if not parts.hostname:
            raise ValueError(f"InfluxDB URL {url!r} has no host")
        db = parts.path.strip("/") or _one(query, "db")
        if not db:
            raise ValueError(f"InfluxDB 1.x URL {url!r} names no database (influx1://host:port/DB or ?db=DB)")
        http = "https" if scheme in ("influx1s", "https") else "http"
        port = parts.port or 8086
        return Influx1Store(
            f"{http}://{parts.hostname}:{port}",
            unquote(db),
            retention_policy=_one(query, "rp"),
            username=unquote(parts.username) if parts.username else _one(query, "u"),
            password=unquote(parts.password) if parts.password else _one(query, "p"),
            chunk_points=chunk_points,
        )
    if scheme in ("influx2", "influx2s"):
        from bohsense.cloud.tsdb._influx2 import Influx2Store

        if not parts.hostname:
            raise ValueError(f"InfluxDB URL {url!r} has no host")
        missing = [k for k in ("org", "bucket", "token") if not _one(query, k)]
        if missing:
            raise ValueError(
                f"InfluxDB 2.x URL lacks {', '.join(missing)} (influx2://host:port?org=&bucket=&token=)"
            )
        http = "https" if scheme == "influx2s" else "http"
        port = parts.port or 8086
        return Influx2Store(
            f"{http}://{parts.hostname}:{port}",
            org=_one(query, "org") or "",
            bucket=_one(query, "bucket") or "",
            token=_one(query, "token") or "",
            chunk_points=chunk_points,
        )
    raise ValueError(
        f"unknown time-series URL scheme {parts.scheme!r} in {url!r}:"
        " use sqlite:///PATH, influx1://HOST:PORT/DB, http://HOST:PORT?db=DB or influx2://HOST:PORT?org=&bucket=&token="
    )
