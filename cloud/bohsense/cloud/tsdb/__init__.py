"""Time-series storage: one interface (``TimeSeriesStore``), three backends.

- ``SqliteStore``: embedded, SQL queries;
- ``Influx1Store``: InfluxDB 1.x over HTTP (``/write`` line protocol, ``/query`` InfluxQL);
- ``Influx2Store``: InfluxDB 2.x/3.x/Cloud through influxdb-client's write API, InfluxQL
  queries through the v1-compatible endpoint.

``open_store(url)`` picks one from a URL (formats in ``bohsense.cloud.tsdb._factory``).
Errors: ``StorageError`` ⊃ ``StorageUnavailable`` (retry) and ``StorageRejected`` (bad data).
"""

from bohsense.cloud.tsdb._base import TimeSeriesStore
from bohsense.cloud.tsdb._errors import StorageError, StorageRejected, StorageUnavailable
from bohsense.cloud.tsdb._factory import open_store
from bohsense.cloud.tsdb._influx1 import Influx1Store
from bohsense.cloud.tsdb._influx2 import Influx2Store
from bohsense.cloud.tsdb._lineproto import escape_tag, iter_lines
from bohsense.cloud.tsdb._sqlite import SqliteStore

__all__ = [
    "Influx1Store",
    "Influx2Store",
    "SqliteStore",
    "StorageError",
    "StorageRejected",
    "StorageUnavailable",
    "TimeSeriesStore",
    "escape_tag",
    "iter_lines",
    "open_store",
]
