from __future__ import annotations

import pytest

from bohsense.cloud.tsdb import Influx1Store, Influx2Store, SqliteStore, open_store


async def test_sqlite_urls(tmp_path: object) -> None:
    s = open_store("sqlite:///var/ts.db")
    assert isinstance(s, SqliteStore)
    assert s.path == "var/ts.db"
    s = open_store("sqlite:////abs/ts.db")
    assert isinstance(s, SqliteStore)
    assert s.path == "/abs/ts.db"
    s = open_store("sqlite:///:memory:")
    assert isinstance(s, SqliteStore)
    assert s.path == ":memory:"


async def test_influx1_urls() -> None:
    s = open_store("influx1://db.example:8087/bohsense?rp=week")
    assert isinstance(s, Influx1Store)
    assert (s.base_url, s.database, s._write_params["rp"]) == ("http://db.example:8087", "bohsense", "week")
    await s.close()
    s = open_store("http://127.0.0.1:9999?db=x")
    assert isinstance(s, Influx1Store)
    assert (s.base_url, s.database) == ("http://127.0.0.1:9999", "x")
    await s.close()
    s = open_store("influx1s://ann:s%40cret@h/db")
    assert isinstance(s, Influx1Store)
    assert s.base_url == "https://h:8086"
    assert (s._query_params["u"], s._query_params["p"]) == ("ann", "s@cret")
    await s.close()


async def test_influx2_url() -> None:
    s = open_store("influx2://h:8086?org=o&bucket=b&token=t")
    assert isinstance(s, Influx2Store)
    assert (s.base_url, s.org, s.bucket) == ("http://h:8086", "o", "b")
    await s.close()


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("influx1://h:8086", "names no database"),
        ("http://h:8086", "names no database"),
        ("influx2://h?org=o&bucket=b", "lacks token"),
        ("influx2://h", "lacks org, bucket, token"),
        ("postgres://h/db", "unknown time-series URL scheme"),
        ("sqlite://host/x.db", "sqlite:///"),
        ("influx1:///db", "no host"),
    ],
)
def test_bad_urls_say_what_is_wrong(url: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        open_store(url)
