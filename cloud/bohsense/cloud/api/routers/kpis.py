"""What the dashboard shows at a glance: an asset's health, and the KPIs of each store.

``GET /assets/{asset_id}/health`` reads the asset's newest detector score, its open
alerts and the spectrum of its newest raw vibration block (``boh._asset_health``);
``GET /fleet/kpis`` the alerts, work orders, MTTR, MTBF and stock figures of a period per
store (``boh._fleet_kpis``, computed in SQL). Both are scoped to the caller's stores: an
asset of another store is not found, another store named is refused (403).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import ConfigDict, Field

from bohsense.contracts.timeutil import now_ns

from .._common import ApiModel, Name, parse_time, query_problem
from .._deps import CoreDep
from .._identity import PrincipalDep
from .._scoping import visible

router = APIRouter(tags=["kpis"])

NS = 1_000_000_000
#: the period of the KPIs when ``since`` is not given: the 30 days before ``until``
DEFAULT_PERIOD_S = 30 * 86_400
#: the longest period asked for at once
MAX_PERIOD_S = 400 * 86_400
_TIME = "ISO 8601 with a timezone (2026-05-01T00:00:00Z) or integer ns since the epoch"

ERRORS: dict[int | str, dict[str, Any]] = {404: {"description": "no such asset (or one of another store)"}}


class SpectrumOut(ApiModel):
    """A spectrum of the asset: the magnitude spectrum of its newest raw vibration block
    (``fft``), or the envelope features of its newest scored alert (``envelope``)."""

    model_config = ConfigDict(from_attributes=True)
    kind: str = Field(
        description="fft: of a raw block (amplitude in g); envelope: the alert's envelope features",
        json_schema_extra={"enum": ["fft", "envelope"]},
    )
    frequency_hz: list[float] = Field(
        description="each bin's frequency (fft, at most 512 bins, max-pooled); for envelope the point's index"
    )
    amplitude: list[float] = Field(
        description="each bin's amplitude: g (fft), or the feature's value (envelope)"
    )
    at_ns: int = Field(description="when the block began (fft) or the alert was confirmed (envelope)")
    source: str = Field(
        description="snapshot:<gateway>/<device>/<axis> or alert:<id>",
        json_schema_extra={"examples": ["snapshot:gw-1/vib-1/x"]},
    )
    labels: list[str] = Field(description="the metric of each envelope point ([] for fft)")


class AssetHealthOut(ApiModel):
    """An asset's health now: the detector's newest score, its state, open alerts, the
    features scored and a spectrum."""

    model_config = ConfigDict(from_attributes=True)
    asset_id: str
    site: str
    score: float | None = Field(
        description="the detector's newest anomaly score (its own scale: about 0 is the asset's normal, "
        "an alert opens at threshold); null when no scored alert exists"
    )
    threshold: float | None = Field(description="the score at which the detector alerts (null: unknown)")
    score_ns: int | None = Field(description="the event time of the score")
    state: str = Field(
        description="alarm: an open critical alert; watch: another open alert; ok: none",
        json_schema_extra={"enum": ["ok", "watch", "alarm"]},
    )
    open_alerts: int = Field(description="the asset's open and acknowledged alerts")
    features: dict[str, float] = Field(description="the feature values the newest score was computed from")
    spectrum: SpectrumOut | None = Field(description="the newest spectrum (null: no raw block nor envelope)")


class StoreKpisOut(ApiModel):
    """The KPIs of one store over the period."""

    model_config = ConfigDict(from_attributes=True)
    site: str
    name: str
    assets: int = Field(description="the store's assets in the catalog (not retired)")
    alerts_opened: int = Field(description="alerts opened in the period")
    alerts_by_severity: dict[str, int] = Field(description="alerts opened in the period per severity")
    failures: int = Field(description="condition alerts (of an asset) opened in the period")
    alerts_resolved: int = Field(description="alerts resolved in the period")
    mttr_s: float | None = Field(
        description="mean time to repair: the mean open→resolved time of the alerts resolved in the period, s"
    )
    mtbf_s: float | None = Field(
        description="mean time between failures: period length × assets / failures, s (null: no failure)"
    )
    work_orders_opened: int = Field(description="work orders created in the period")
    work_orders_closed: int = Field(description="work orders closed, last changed in the period")
    locations: int = Field(description="the store's stock locations (not retired)")
    out_of_stock_now: int = Field(description="locations out of stock now (an outage open)")
    in_stock_rate: float | None = Field(description="share of locations not out of stock now, 0..1")
    out_of_stock_hours: float = Field(
        description="out-of-stock time within the period, summed over locations, h"
    )
    lost_sales_units: float = Field(description="estimated units not sold for the out-of-stock time")


class FleetKpis(ApiModel):
    """The KPIs of each store the caller sees over ``[since, until)``."""

    since_ns: int
    until_ns: int
    stores: list[StoreKpisOut]


@router.get("/assets/{asset_id}/health", response_model=AssetHealthOut, responses=ERRORS)
def asset_health(core: CoreDep, principal: PrincipalDep, asset_id: Name) -> AssetHealthOut:
    """The asset's newest anomaly score (from its newest scored alert), its state from its
    open alerts, and the magnitude spectrum of its newest raw vibration block
    (``condition.snapshot``), else the envelope features of that alert, else null."""
    found = core.asset_health(asset_id)
    return AssetHealthOut.model_validate(visible(principal, found.site, "asset", asset_id, found))


@router.get("/fleet/kpis", response_model=FleetKpis)
def fleet_kpis(
    core: CoreDep,
    principal: PrincipalDep,
    since: Annotated[
        str | None, Query(description=f"the period's start (included): {_TIME}; default 30 days before until")
    ] = None,
    until: Annotated[
        str | None, Query(description=f"the period's end (excluded): {_TIME}; default now")
    ] = None,
    site: Annotated[Name | None, Query(description="only this store (one the caller sees)")] = None,
) -> FleetKpis:
    """One row per store the caller sees: alerts opened (by severity), work orders opened and
    closed, MTTR (mean open→resolved of the alerts resolved in the period), MTBF (period
    length × the store's assets / the condition alerts opened in the period), the in-stock
    rate now, out-of-stock hours and the lost-sales estimate of the period (docs/api.md).
    The period is at most 400 days."""
    end = parse_time("until", until) if until is not None else now_ns()
    start = parse_time("since", since) if since is not None else end - DEFAULT_PERIOD_S * NS
    if start >= end:
        raise query_problem("until", "until must be after since")
    if end - start > MAX_PERIOD_S * NS:
        raise query_problem("since", "the period is longer than 400 days")
    sites = principal.site_filter(site)
    rows = core.fleet_kpis(start_ns=start, end_ns=end, sites=sites)
    return FleetKpis(since_ns=start, until_ns=end, stores=[StoreKpisOut.model_validate(r) for r in rows])
