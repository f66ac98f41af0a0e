"""Prometheus metrics of a running gateway, on ``[metrics] listen = "host:port"``.

Every counter the agent keeps (``EdgeAgent.counters``: readings in, batches, the outbox,
the uplink, each driver's stats) is exposed at ``GET /metrics`` in the Prometheus text
format (``prometheus-client`` builds it), read from the agent at scrape time in the
agent's own event loop, so a scrape never sees a counter half-updated::

    bohsense_edge_<counter>_total                 what only grows (readings_in, batches,
                                                  published, acked, reconnects, dropped…)
    bohsense_edge_<level>                         levels: outbox_depth, outbox_bytes,
                                                  buffered, connected, next_seq, floor
    bohsense_edge_rejected_readings_total{reason} readings refused at the sink, by reason
    bohsense_edge_rejected_events_total{reason}   events refused at the sink, by reason
    bohsense_edge_uplink_rejected_total{reason}   cloud messages refused by the uplink
    bohsense_edge_driver_<stat>{device}           each driver's stats (frames, reads,
                                                  errors_<reason>…), untyped: a driver
                                                  reports counters and levels alike

The listener is a few lines of asyncio (one request per connection, ``GET /metrics``
only): it shares the agent's loop instead of starting a thread that would read the
counters while the loop changes them. Off by default (``listen = ""``); bind it to
loopback or the management network, it has no authentication.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric, UnknownMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["PREFIX", "AgentCollector", "MetricsServer", "registry_for"]

log = logging.getLogger(__name__)

PREFIX = "bohsense_edge_"
#: counters of the agent that are levels, not totals
LEVELS = frozenset(
    {"outbox_depth", "outbox_bytes", "outbox_oldest_age_s", "buffered", "connected", "next_seq", "floor"}
)
#: sums the agent keeps that the per-reason families below already give (``sum()`` in PromQL);
#: exposing both would name two families ``…_rejected_readings_total``
_SUMMED = frozenset({"rejected_readings", "rejected_events"})
_LABELLED = {
    "rejected.reading.": ("rejected_readings_total", "Readings refused at the sink, by reason."),
    "rejected.event.": ("rejected_events_total", "Events refused at the sink, by reason."),
    "rejected.": ("uplink_rejected_total", "Messages from the cloud refused by the uplink, by reason."),
}
_NAME_RE = re.compile(r"[^a-zA-Z0-9_]")
_MAX_REQUEST = 8192


def _metric_name(key: str) -> str:
    return _NAME_RE.sub("_", key)


class AgentCollector:
    """A ``prometheus_client`` collector over ``counters()`` (the agent's flat counters)."""

    def __init__(self, counters: Callable[[], Mapping[str, int]]) -> None:
        self._counters = counters

    def collect(self) -> Iterator[Metric]:
        counters = dict(self._counters())
        labelled: dict[str, tuple[str, str, list[tuple[str, int]]]] = {}
        drivers: dict[str, list[tuple[str, int]]] = {}
        for key, value in sorted(counters.items()):
            if key.startswith("driver.") and key.count(".") >= 2:
                _, device, stat = key.split(".", 2)
                drivers.setdefault(_metric_name(stat), []).append((device, value))
                continue
            if key in _SUMMED:
                continue
            prefix = next((p for p in _LABELLED if key.startswith(p)), None)
            if prefix is not None:
                name, doc = _LABELLED[prefix]
                labelled.setdefault(name, (doc, "reason", []))[2].append((key[len(prefix) :], value))
                continue
            name = PREFIX + _metric_name(key)
            if key in LEVELS:
                yield GaugeMetricFamily(name, f"Gateway {key} (a level).", value=value)
            else:
                yield CounterMetricFamily(name, f"Gateway {key} since start.", value=value)
        for name, (doc, label, rows) in sorted(labelled.items()):
            family = CounterMetricFamily(PREFIX + name.removesuffix("_total"), doc, labels=[label])
            for reason, value in rows:
                family.add_metric([reason], value)
            yield family
        for stat, rows in sorted(drivers.items()):
            unknown = UnknownMetricFamily(
                f"{PREFIX}driver_{stat}", f"Driver stat {stat}, per device.", labels=["device"]
            )
            for device, value in rows:
                unknown.add_metric([device], value)
            yield unknown


def registry_for(counters: Callable[[], Mapping[str, int]]) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(AgentCollector(counters))
    return registry


class MetricsServer:
    """``GET /metrics`` on ``host:port`` in the running event loop (``start`` / ``close``)."""

    def __init__(self, host: str, port: int, counters: Callable[[], Mapping[str, int]]) -> None:
        self.host, self.port = host, port
        self._registry = registry_for(counters)
        self._server: asyncio.Server | None = None
        self.scrapes = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        sock = self._server.sockets[0]
        self.port = sock.getsockname()[1]
        log.info("metrics served", extra={"metrics": f"http://{self.host}:{self.port}/metrics"})

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(5.0):
                head = await reader.readuntil(b"\r\n\r\n")
            if len(head) > _MAX_REQUEST:
                raise ValueError("request too large")
            parts = head.split(b"\r\n", 1)[0].split()
            if len(parts) == 3 and parts[0] == b"GET" and parts[1].split(b"?", 1)[0] == b"/metrics":
                body = generate_latest(self._registry)
                self.scrapes += 1
                status, ctype = b"200 OK", CONTENT_TYPE_LATEST.encode()
            elif len(parts) == 3 and parts[0] != b"GET":
                body, status, ctype = b"only GET\n", b"405 Method Not Allowed", b"text/plain"
            else:
                body, status, ctype = b"GET /metrics\n", b"404 Not Found", b"text/plain"
            writer.write(
                b"HTTP/1.1 " + status + b"\r\nContent-Type: " + ctype
                + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body
            )  # fmt: skip
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, OSError):
            pass  # a client that sends no proper request gets nothing
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass
