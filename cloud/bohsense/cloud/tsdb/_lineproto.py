"""Line protocol for readings: a measurement per device kind, fields named by quantity.

Schema (docs/timeseries.md)::

    shelf,device=shelf-3,gateway=gw-1,lane=lane-2,site=s1 units=4.0,weight_g=1234.5 1700000000000000000
    condition,device=vib-1,gateway=gw-1,site=s1 vib_x_velocity_rms_mm_s=2.1,vib_x_kurtosis=3.2 1700…
    reader,device=reader-1,gateway=gw-1,site=s1 connected=1.0,reads_per_s=412.0 1700…
    device,device=dev-1,gateway=gw-1,site=s1 value=17.0 1700…

- the measurement follows from the metric (``measurement_of``): ``weight_g``/``units``
  are ``shelf``; ``vib_*``, ``temp*``, ``current_a`` are ``condition``; an RFID reader's
  health (``connected``, ``reads_per_s``, ``last_report_age_s``) is ``reader``; any other
  metric is ``device``;
- a shelf lane's device ``shelf-3.lane-2`` is stored as ``device=shelf-3,lane=lane-2``
  (``split_device``), so a shelf is one tag value and ``GROUP BY lane`` works;
- ``site`` is the gateway's site in the catalog (``SiteCache``); no tag when it has none;
- consecutive readings of one series and time become one line with a field per metric:
  a condition block's 16 features are one line, not 16 (InfluxDB merges the fields of
  equal (series, ts) points in any case).

A point is identified by (measurement, tags, field, ts): writing a reading again replaces
it, so a redelivered batch never doubles a series. Tag values are escaped per the
line-protocol rules (``,``, ``=`` and space get a backslash); each series prefix and field
key is escaped once and cached, so a reading costs one dict look-up and one f-string.

The first schema (``LEGACY_MEASUREMENT``: one measurement ``reading``, tags
gateway/device/metric, field ``value``) is kept for reading old data and for the
migration (``bohsense cloud migrate-timeseries``).
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterator, Sequence

from bohsense.cloud.tsdb._errors import StorageRejected
from bohsense.contracts.schema import ReadingBatch

__all__ = [
    "LEGACY_MEASUREMENT",
    "MEASUREMENTS",
    "SiteOf",
    "chunked_lines",
    "escape_tag",
    "iter_lines",
    "join_device",
    "legacy_lines",
    "measurement_of",
    "split_device",
]

LEGACY_MEASUREMENT = "reading"
SHELF, CONDITION, READER, DEVICE = "shelf", "condition", "reader", "device"
#: every measurement the writer produces, in the order queries visit them
MEASUREMENTS = (SHELF, CONDITION, READER, DEVICE)

_SHELF_METRICS = frozenset({"weight_g", "units"})
_READER_METRICS = frozenset({"connected", "reads_per_s", "last_report_age_s"})
_CONDITION_METRICS = frozenset({"current_a"})

#: (gateway id, the site its batch claims) → the site to tag its points with ("": none)
SiteOf = Callable[[str, str], str]

_SPECIAL = re.compile(r"[,= \\\n\r]")
_INF = math.inf


def escape_tag(value: str) -> str:
    """Escape a tag key, tag value or field key for line protocol."""
    if not value:
        raise StorageRejected("empty tag value: line protocol has no empty tags")
    if "\n" in value or "\r" in value:
        raise StorageRejected(f"tag value {value!r} contains a line break")
    if not _SPECIAL.search(value):
        return value
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


class _MeasurementCache(dict[str, str]):
    def __missing__(self, metric: str) -> str:
        if metric in _SHELF_METRICS:
            m = SHELF
        elif metric in _READER_METRICS:
            m = READER
        elif metric.startswith(("vib_", "temp")) or metric in _CONDITION_METRICS:
            m = CONDITION
        else:
            m = DEVICE
        if len(self) > 100_000:
            self.clear()
        self[metric] = m
        return m


_measurements = _MeasurementCache()


def measurement_of(metric: str) -> str:
    """The measurement a metric is a field of."""
    return _measurements[metric]


def split_device(measurement: str, device: str) -> tuple[str, str]:
    """(device tag, lane tag) of a reading's device: a shelf lane ``shelf-3.lane-2`` is
    ``("shelf-3", "lane-2")``; every other device keeps its name and has no lane ("")."""
    if measurement == SHELF:
        shelf, dot, lane = device.partition(".")
        if dot and shelf and lane:
            return shelf, lane
    return device, ""


def join_device(device: str, lane: str) -> str:
    """The reading's device name back from its tags (``split_device`` reversed)."""
    return f"{device}.{lane}" if lane else device


class _SeriesCache(dict[tuple[str, str], tuple[str, str]]):
    """Of one (gateway, site): (device, metric) → (escaped ``measurement,tags``, ``field=``)."""

    def __init__(self, gateway: str, site: str) -> None:
        super().__init__()
        self.gateway = escape_tag(gateway)
        # a site line protocol cannot carry (a claimed one with a line break) is left out,
        # never a reason to refuse the readings
        self.site = escape_tag(site) if site and "\n" not in site and "\r" not in site else ""
        self.prefixes: dict[str, str] = {}

    def __missing__(self, key: tuple[str, str]) -> tuple[str, str]:
        device, metric = key
        measurement = _measurements[metric]
        dev, lane = split_device(measurement, device)
        tags = [f"device={escape_tag(dev)}", f"gateway={self.gateway}"]
        if lane:
            tags.append(f"lane={escape_tag(lane)}")
        if self.site:
            tags.append(f"site={self.site}")
        prefix = measurement + "," + ",".join(tags)
        value = (self.prefixes.setdefault(prefix, prefix), escape_tag(metric) + "=")  # one str per series
        if len(self) > 100_000:
            self.clear()
            self.prefixes.clear()
        self[key] = value
        return value


class _GatewayCache(dict[tuple[str, str], _SeriesCache]):
    def __missing__(self, key: tuple[str, str]) -> _SeriesCache:
        if len(self) > 10_000:
            self.clear()
        cache = self[key] = _SeriesCache(*key)
        return cache


_series = _GatewayCache()


_eq = operator.eq


def _claimed(gateway: str, claimed: str) -> str:
    return claimed


def _check_finite(batch: ReadingBatch) -> None:
    # a sum of finite values is finite unless it overflows, which only takes the slow look
    if -_INF < sum([r.value for r in batch.readings]) < _INF:
        return
    for r in batch.readings:
        if not math.isfinite(r.value):
            raise StorageRejected(
                f"value {r.value!r} of {batch.gateway}/{r.device}/{r.metric} at {r.ts} is not a finite number"
            )


def _lines(batches: Sequence[ReadingBatch], site_of: SiteOf | None) -> tuple[list[str], list[int]]:
    """The lines of ``batches`` and the readings each carries.

    Consecutive readings of one series and time (a condition block's features, a lane's
    weight and units) become one line; InfluxDB merges the fields of equal (series, ts)
    points anyway, so this only saves bytes and parsing. A field repeated in such a run
    starts a new line, so the last value wins as it always did.
    """
    resolve = site_of or _claimed
    gateways = _series
    lines: list[str] = []
    counts: list[int] = []
    for batch in batches:
        _check_finite(batch)
        gw = batch.gateway
        series = gateways[(gw, resolve(gw, batch.site))]
        rd = batch.readings
        times = [r.ts for r in rd]
        if not any(map(_eq, times, times[1:])):
            # no two neighbours share a time (most batches): a line per reading, no merging
            add = lines.append
            for r in rd:
                p, f = series[(r.device, r.metric)]
                add(f"{p} {f}{r.value!r} {r.ts}")
            counts.extend([1] * len(rd))
            continue
        prefix: str | None = None
        ts = -1
        first = ""
        fields: list[str] = []
        keys: list[str] = []  # the field keys of the line being built, once it has two
        append, count = lines.append, counts.append
        for r in rd:
            p, f = series[(r.device, r.metric)]
            if r.ts == ts and p == prefix:  # the same str object when it is the same series
                if not keys:
                    keys = [first]
                if f not in keys:
                    fields.append(f"{f}{r.value!r}")
                    keys.append(f)
                    continue
            if fields:
                append(f"{prefix} {','.join(fields)} {ts}")
                count(len(fields))
                if keys:
                    keys = []
            prefix, ts, fields, first = p, r.ts, [f"{f}{r.value!r}"], f
        if fields:
            append(f"{prefix} {','.join(fields)} {ts}")
            count(len(fields))
    return lines, counts


def iter_lines(batches: Sequence[ReadingBatch], site_of: SiteOf | None = None) -> Iterator[str]:
    """The lines of ``batches`` (a non-finite value is rejected naming its reading).
    ``site_of(gateway, claimed)`` gives the site to tag a gateway's points with (none:
    the site the batch claims); "" means no ``site`` tag."""
    yield from _lines(batches, site_of)[0]


def chunked_lines(
    batches: Sequence[ReadingBatch], size: int, site_of: SiteOf | None = None
) -> list[tuple[str, int]]:
    """Newline-joined bodies of at most ``size`` lines each, with the number of readings
    each carries."""
    lines, counts = _lines(batches, site_of)
    return [("\n".join(lines[i : i + size]), sum(counts[i : i + size])) for i in range(0, len(lines), size)]


def legacy_lines(batches: Sequence[ReadingBatch]) -> list[str]:
    """The first schema's lines (``reading,device=…,gateway=…,metric=… value=…``, one per
    reading, as its f-string formatter made them): for the migration's tests and the
    schema benchmark's baseline."""
    keys: dict[tuple[str, str, str], str] = {}
    out: list[str] = []
    for batch in batches:
        _check_finite(batch)
        gw = batch.gateway
        for r in batch.readings:
            k = (gw, r.device, r.metric)
            key = keys.get(k)
            if key is None:
                key = keys[k] = (
                    f"{LEGACY_MEASUREMENT},device={escape_tag(r.device)},gateway={escape_tag(gw)},"
                    f"metric={escape_tag(r.metric)}"
                )
            out.append(f"{key} value={r.value!r} {r.ts}")
    return out
