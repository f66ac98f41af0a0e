"""``create_app``: the HTTP API over a BOH core and a time-series store."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fastapi import Depends, FastAPI

from bohsense.contracts.schema import GatewayCommand

from ..boh import BohCore
from ..dashboard import build_routes as dashboard_routes
from ..identity import Authority, AuthorityConfig
from ..ports import TimeSeriesQuery
from ._auth import AuthState, annotate_policy, check_policy, guard, install_identity_errors
from ._errors import Error, install_error_handlers
from ._limits import DEFAULT_MAX_BODY_BYTES, BodyLimit
from ._metrics import CloudMetrics, MetricsMiddleware
from ._metrics import router as metrics_router
from ._openapi import document_statuses, operation_id
from ._strict import reject_unknown_query
from .routers import (
    alerts,
    auth,
    catalog,
    changes,
    commands,
    commission,
    events,
    feeds,
    fleet,
    health,
    inventory,
    kpis,
    pos,
    readings,
    records,
    replenishment,
    stock,
    stock_truth,
    users,
    webhooks,
    work_orders,
)

__all__ = ["API_PREFIX", "DEFAULT_COMMAND_MAX_BYTES", "DEFAULT_MAX_BODY_BYTES", "create_app"]

API_PREFIX = "/api/v1"
#: far below the shipped broker's max_packet_size (2 MiB); the largest valid command is ~36 kB
DEFAULT_COMMAND_MAX_BYTES = 64 * 1024


def create_app(
    *,
    core: BohCore,
    tsdb: TimeSeriesQuery,
    stats: Callable[[], Mapping[str, Any]] | None = None,
    api_token: str | None = None,
    send_command: Callable[[GatewayCommand], None] | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    command_max_bytes: int = DEFAULT_COMMAND_MAX_BYTES,
    identity: AuthorityConfig | Authority | None = None,
) -> FastAPI:
    """Build the API. With ``api_token`` or ``identity.jwt_secret``, every route except the
    health probes and sign-in needs a credential (``_auth``), and each operation's roles are
    those of ``_policy.POLICY``; an app with a route the policy does not name is refused.

    A request body over ``max_body_bytes`` is answered 413; a command whose MQTT packet
    would exceed ``command_max_bytes`` (keep it at most the broker's ``max_packet_size``) 422.
    """
    if api_token is not None and not api_token.strip():
        raise ValueError("api_token must not be empty (pass None for an open API)")
    app = FastAPI(
        title="bohsense",
        version="1",
        summary="Stock, alerts, work orders and replenishment of stores",
        generate_unique_id_function=operation_id,
    )
    app.state.core = core
    app.state.tsdb = tsdb
    app.state.stats = stats
    app.state.api_token = api_token
    authority = (
        identity if isinstance(identity, Authority) else Authority(core.engine, identity or AuthorityConfig())
    )
    app.state.auth = AuthState(authority, api_token)
    app.state.send_command = send_command
    app.state.command_max_bytes = command_max_bytes
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    app.state.metrics = CloudMetrics(stats)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    invalid: dict[int | str, dict[str, Any]] = {
        422: {"model": Error, "description": "invalid parameters or body, with the reason"}
    }
    # every route carries the guard: public ones (health, sign-in) pass it without a credential
    guarded = [Depends(guard), Depends(reject_unknown_query)]
    app.include_router(health.router, prefix=API_PREFIX, dependencies=guarded, responses=invalid)
    for module in (
        auth,
        users,
        fleet,
        catalog,
        commands,
        readings,
        events,
        stock,
        inventory,
        alerts,
        work_orders,
        replenishment,
        records,
        changes,
        webhooks,
        stock_truth,
        pos,
        commission,
        kpis,
    ):
        app.include_router(module.router, prefix=API_PREFIX, dependencies=guarded, responses=invalid)
    feeds.install(app, prefix=API_PREFIX, dependencies=guarded, responses=invalid)
    # Prometheus' conventional path, outside the versioned API; behind authentication when on
    app.include_router(metrics_router, dependencies=guarded)
    # the dashboard's static files: not API operations (no token: its data calls carry one)
    app.router.routes.extend(dashboard_routes())
    install_error_handlers(app)
    install_identity_errors(app)
    document_statuses(app)
    annotate_policy(app)
    check_policy(app)
    return app
