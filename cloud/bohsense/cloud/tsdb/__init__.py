"""Time-series storage: one interface (``TimeSeriesStore``), three backends.

- ``SqliteStore``: embedded, SQL queries;
- ``Influx1Store``: InfluxDB 1.x over HTTP (``/write`` line protocol, ``/query`` InfluxQL);
- ``Influx2Store``: InfluxDB 2.x/3.x/Cloud through influxdb-client's write API, InfluxQL
  queries through the v1-compatible endpoint.

Schema (``_lineproto``, docs/timeseries.md): a measurement per device kind (``shelf``,
``condition``, ``reader``, ``device``), tags site/gateway/device/lane, a field per metric;
``migrate_legacy`` rewrites the first schema's ``reading`` measurement into it.

``open_store(url)`` picks one from a URL (formats in ``bohsense.cloud.tsdb._factory``).
Errors: ``StorageError`` ⊃ ``StorageUnavailable`` (retry; ⊃ ``StorageRefused``: credentials or
database refused) and ``StorageRejected`` (bad data).
"""

from bohsense.cloud.tsdb._base import TimeSeriesStore
from bohsense.cloud.tsdb._errors import StorageError, StorageRefused, StorageRejected, StorageUnavailable
from bohsense.cloud.tsdb._factory import open_store
from bohsense.cloud.tsdb._influx1 import Influx1Store
from bohsense.cloud.tsdb._influx2 import Influx2Store
from bohsense.cloud.tsdb._lineproto import (
    LEGACY_MEASUREMENT,
    MEASUREMENTS,
    escape_tag,
    iter_lines,
    join_device,
    measurement_of,
    split_device,
)
from bohsense.cloud.tsdb._migrate import MigrationReport, migrate_legacy
from bohsense.cloud.tsdb._sites import SiteCache
from bohsense.cloud.tsdb._sqlite import SqliteStore

__all__ = [
    "LEGACY_MEASUREMENT",
    "MEASUREMENTS",
    "Influx1Store",
    "Influx2Store",
    "MigrationReport",
    "SiteCache",
    "SqliteStore",
    "StorageError",
    "StorageRefused",
    "StorageRejected",
    "StorageUnavailable",
    "TimeSeriesStore",
    "escape_tag",
    "iter_lines",
    "join_device",
    "measurement_of",
    "migrate_legacy",
    "open_store",
    "split_device",
]
