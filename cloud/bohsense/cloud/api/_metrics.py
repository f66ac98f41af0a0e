"""``GET /metrics``: Prometheus metrics of the cloud service (ingest and API).

Built with ``prometheus-client``, one registry per app (two services in one process keep
theirs apart). Behind the API token when one is set (Prometheus sends it with
``authorization: {credentials: …}`` in its scrape config)::

    bohsense_cloud_ingest_<counter>_total      what only grows: messages, batches, commits,
                                               readings_stored, duplicates, quarantined,
                                               storage_retries, reconnects…
    bohsense_cloud_ingest_<level>              levels: pending_messages, lag_ms,
                                               event_lag_ms, storage_down, subscribed,
                                               oldest_unacked_age_s
    bohsense_cloud_ingest_quarantined_by_reason_total{reason}
    bohsense_cloud_ingest_quarantine_dropped_by_reason_total{reason}
    bohsense_cloud_api_request_duration_seconds{method,route,status}   a histogram; ``route``
                                               is the route's template (``/api/v1/alerts/{alert_id}``),
                                               never the raw path, so series stay few

The ingest figures are read from the worker's counters at scrape time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._deps import require_token

__all__ = ["CloudMetrics", "MetricsMiddleware", "router"]

PREFIX = "bohsense_cloud_"
#: ingest counters that are levels (or flags), not totals
LEVELS = frozenset(
    {"pending_messages", "lag_ms", "event_lag_ms", "storage_down", "subscribed", "short_sessions"}
)
#: wall-time stamps, exposed as ages in seconds instead
AGES = {"oldest_unacked_ns": "oldest_unacked_age_s", "connected_since_ns": "connected_for_s"}
BY_REASON = ("quarantined_by_reason", "quarantine_dropped_by_reason")
_SKIPPED = {"problems", "subscription_error", "apply_failing_since_ns"}
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _IngestCollector:
    def __init__(self, stats: Callable[[], Mapping[str, Any]] | None) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        stats = dict(self._stats()) if self._stats is not None else {}
        now = time.time_ns()
        for key, value in sorted(stats.items()):
            name = f"{PREFIX}ingest_{key}"
            if key in _SKIPPED:
                continue
            if key in BY_REASON:
                family = CounterMetricFamily(name, f"Ingest {key.replace('_', ' ')}.", labels=["reason"])
                for reason, n in sorted(dict(value).items()):
                    family.add_metric([str(reason)], float(n))
                yield family
            elif key in AGES:
                age = (now - int(value)) / 1e9 if value else 0.0
                yield GaugeMetricFamily(
                    f"{PREFIX}ingest_{AGES[key]}", f"Seconds since {key} (0: none).", value=age
                )
            elif isinstance(value, bool) or key in LEVELS:
                yield GaugeMetricFamily(name, f"Ingest {key} (a level).", value=float(value))
            elif isinstance(value, int | float):
                yield CounterMetricFamily(name, f"Ingest {key} since start.", value=float(value))


class CloudMetrics:
    """The app's registry: the ingest collector and the API latency histogram."""

    def __init__(self, stats: Callable[[], Mapping[str, Any]] | None) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_IngestCollector(stats))
        self.requests = Histogram(
            f"{PREFIX}api_request_duration_seconds",
            "API request duration by method, route template and status class.",
            ["method", "route", "status"],
            buckets=_BUCKETS,
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Times every HTTP request into ``CloudMetrics.requests`` (pure ASGI: no body buffering)."""

    def __init__(self, app: ASGIApp, metrics: CloudMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = _route_template(scope)
            self.metrics.requests.labels(scope.get("method", "?"), route, f"{status[0] // 100}xx").observe(
                time.perf_counter() - started
            )


def _route_template(scope: Scope) -> str:
    """The matched route's template with its router's prefix (``/api/v1/alerts/{alert_id}``);
    ``(unmatched)`` for a path no route serves. The prefix is the static part of the path
    in front of what the route's pattern matched (routers are included with static prefixes)."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    regex = getattr(route, "path_regex", None)
    if not isinstance(template, str) or regex is None:
        return "(unmatched)"
    path = str(scope.get("path", ""))
    for i, ch in enumerate(path):
        if ch == "/" and regex.match(path[i:]):
            return path[:i] + template
    return template


router = APIRouter(tags=["health"])


@router.get(
    "/metrics",
    response_class=Response,
    dependencies=[Depends(require_token)],
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"}},
    summary="Prometheus metrics of ingest and the API",
)
def metrics(request: Request) -> Response:
    cloud_metrics: CloudMetrics = request.app.state.metrics
    return Response(cloud_metrics.render(), media_type=CONTENT_TYPE_LATEST)
