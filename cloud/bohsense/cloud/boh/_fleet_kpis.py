"""Store KPIs of a period, per store, computed in SQL (``fleet_kpis``).

Every figure is one grouped query over the period ``[start, end)``, so the work does not
grow with the rows a store holds beyond what the database scans:

    alerts opened       alerts with ``opened_ns`` in the period, by severity
    failures            the condition alerts opened in the period (those of an asset)
    MTTR                mean ``resolved_ns - opened_ns`` of the alerts resolved in the period
    MTBF                period length × the store's assets (not retired) / failures
                        (None without a failure)
    work orders         opened: ``created_ns`` in the period; closed: in state ``closed``
                        and last changed in the period
    in-stock rate       the share of the store's stock locations (not retired) with no
                        outage open now (None without a location)
    out-of-stock hours  the outages' time within the period (an open one runs to ``now``)
    lost sales          that time × each outage's sales rate before it (units)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Float, case, cast, func, select

from ._models import Alert, Asset, Site, StockLocation, StockOutage, WorkOrder
from ._scope import Sites, within

__all__ = ["StoreKpis", "fleet_kpis"]

NS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class StoreKpis:
    site: str
    name: str
    assets: int
    alerts_opened: int
    alerts_by_severity: dict[str, int] = field(default_factory=dict)
    failures: int = 0
    alerts_resolved: int = 0
    mttr_s: float | None = None
    mtbf_s: float | None = None
    work_orders_opened: int = 0
    work_orders_closed: int = 0
    locations: int = 0
    out_of_stock_now: int = 0
    in_stock_rate: float | None = None
    out_of_stock_hours: float = 0.0
    lost_sales_units: float = 0.0


def _counts(conn: Connection, stmt: Any) -> dict[str, int]:
    """``{site: n}`` of a ``select(site, count)`` grouped by site."""
    return {str(r[0]): int(r[1]) for r in conn.execute(stmt)}


def fleet_kpis(conn: Connection, *, start: int, end: int, now: int, sites: Sites = None) -> list[StoreKpis]:
    """One row per store of ``sites`` (not retired), by site id; ``start < end`` in ns."""
    a = Alert.__table__.c
    stores = {
        r.id: r.name
        for r in conn.execute(
            select(Site.id, Site.name)
            .where(Site.retired_ns.is_(None), within(Site.id, sites))
            .order_by(Site.id)
        )
    }
    if not stores:
        return []
    ids = sorted(stores)
    in_period = a.opened_ns.between(start, end - 1)
    by_severity: dict[str, dict[str, int]] = {s: {} for s in ids}
    for r in conn.execute(
        select(a.site, a.severity, func.count())
        .where(in_period, a.site.in_(ids))
        .group_by(a.site, a.severity)
    ):
        by_severity[r[0]][r[1]] = int(r[2])
    failures = _counts(
        conn,
        select(a.site, func.count())
        .where(in_period, a.asset_id.is_not(None), a.site.in_(ids))
        .group_by(a.site),
    )
    repair: dict[str, tuple[int, float | None]] = {
        r[0]: (int(r[1]), float(r[2]))
        for r in conn.execute(
            select(a.site, func.count(), func.avg(cast(a.resolved_ns - a.opened_ns, Float)))
            .where(a.resolved_ns.between(start, end - 1), a.site.in_(ids))
            .group_by(a.site)
        )
    }
    assets = _counts(
        conn,
        select(Asset.site, func.count())
        .where(Asset.retired_ns.is_(None), Asset.site.in_(ids))
        .group_by(Asset.site),
    )
    w = WorkOrder.__table__.c
    opened_wo = _counts(
        conn,
        select(w.site, func.count())
        .where(w.created_ns.between(start, end - 1), w.site.in_(ids))
        .group_by(w.site),
    )
    closed_wo = _counts(
        conn,
        select(w.site, func.count())
        .where(w.state == "closed", w.updated_ns.between(start, end - 1), w.site.in_(ids))
        .group_by(w.site),
    )
    locations = _counts(
        conn,
        select(StockLocation.site, func.count())
        .where(StockLocation.retired_ns.is_(None), StockLocation.site.in_(ids))
        .group_by(StockLocation.site),
    )
    o = StockOutage.__table__.c
    live = select(StockLocation.id).where(StockLocation.retired_ns.is_(None))
    out_now = _counts(
        conn,
        select(o.site, func.count(func.distinct(o.location_id)))
        .where(o.ended_ns.is_(None), o.started_ns <= now, o.location_id.in_(live), o.site.in_(ids))
        .group_by(o.site),
    )
    # each outage's time within [start, end): from max(started, start) to min(ended or now, end)
    ended = func.coalesce(o.ended_ns, now)
    lo = case((o.started_ns < start, start), else_=o.started_ns)
    hi = case((ended > end, end), else_=ended)
    seconds = cast(hi - lo, Float) / NS
    outages = {
        r[0]: (float(r[1] or 0.0), float(r[2] or 0.0))
        for r in conn.execute(
            select(o.site, func.sum(seconds), func.sum(seconds * o.rate_per_h / 3600.0))
            .where(o.started_ns < end, ended > start, hi > lo, o.site.in_(ids))
            .group_by(o.site)
        )
    }
    period_s = (end - start) / NS
    out: list[StoreKpis] = []
    for site in ids:
        n_assets = int(assets.get(site, 0))
        n_fail = int(failures.get(site, 0))
        resolved, mean_ns = repair.get(site, (0, None))
        n_loc = int(locations.get(site, 0))
        n_out = int(out_now.get(site, 0))
        oos_s, lost = outages.get(site, (0.0, 0.0))
        sev = by_severity[site]
        out.append(
            StoreKpis(
                site=site,
                name=stores[site],
                assets=n_assets,
                alerts_opened=sum(sev.values()),
                alerts_by_severity=dict(sorted(sev.items())),
                failures=n_fail,
                alerts_resolved=resolved,
                mttr_s=None if mean_ns is None else round(mean_ns / NS, 3),
                mtbf_s=round(period_s * n_assets / n_fail, 3) if n_fail else None,
                work_orders_opened=int(opened_wo.get(site, 0)),
                work_orders_closed=int(closed_wo.get(site, 0)),
                locations=n_loc,
                out_of_stock_now=n_out,
                in_stock_rate=round(1 - n_out / n_loc, 4) if n_loc else None,
                out_of_stock_hours=round(oos_s / 3600.0, 4),
                lost_sales_units=round(lost, 3),
            )
        )
    return out
