"""The planner's inputs per stock location, how they are made from sales history, and the
explanation of a proposal as the API answers it.

``plan_from_history`` forecasts a location's daily demand with ``models.forecast`` (the
method per series by its Syntetos–Boylan class, as ``bohsense forecast`` does), sums the
lead time's days into the lead-time demand with its spread (variance = the forecast's
variance-to-mean ratio × the mean), classes it XYZ on its weekly variability and takes
the service level of its ABC / XYZ classes from ``models.replenish.default_class_targets``.
``put_plan`` stores one (``replenishment_plans``, audited); the stock rule then sizes the
location's proposals from it (``rules.PlannedReorder``).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, select

from ._db import conflict_insert
from ._domain_events import DomainEvent, emit
from ._errors import InvalidValue, NotFound
from ._lifecycle import PROPOSAL
from ._models import AuditEntry, ProposalReceipt, ReplenishmentPlan, ReplenishmentProposal, StockLocation
from ._proposals import explanation_url

__all__ = ["PlanInput", "explanation_view", "plan_from_history", "put_plan"]


@dataclass(frozen=True, slots=True)
class PlanInput:
    site: str
    sku: str
    location: str
    abc: str
    xyz: str
    service_level: float
    lead_time_days: int
    daily_mean: float
    lead_time_mean: float
    lead_time_var: float
    method: str
    as_of_ns: int
    unit_cost: float | None = None
    ordering_cost: float | None = None
    holding_rate: float | None = None
    min_order: int = 0
    shelf_capacity: float | None = None

    def check(self) -> None:
        if self.abc not in ("A", "B", "C"):
            raise InvalidValue("abc", f"{self.abc!r} is not A, B or C")
        if self.xyz not in ("X", "Y", "Z"):
            raise InvalidValue("xyz", f"{self.xyz!r} is not X, Y or Z")
        if not 0.5 <= self.service_level < 1.0:
            raise InvalidValue("service_level", f"{self.service_level} is not in [0.5, 1)")
        if not 0 <= self.lead_time_days <= 365:
            raise InvalidValue("lead_time_days", f"{self.lead_time_days} is not in 0..365")
        for name in ("daily_mean", "lead_time_mean", "lead_time_var"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise InvalidValue(name, f"{v} must be finite and >= 0")
        for name in ("unit_cost", "ordering_cost", "holding_rate", "shelf_capacity"):
            v = getattr(self, name)
            if v is not None and not (math.isfinite(v) and v >= 0):
                raise InvalidValue(name, f"{v} must be finite and >= 0")
        if self.min_order < 0:
            raise InvalidValue("min_order", f"{self.min_order} must be >= 0")


def plan_from_history(
    site: str,
    sku: str,
    location: str,
    daily_sales: list[float],
    *,
    last_day: dt.date,
    lead_time_days: int,
    abc: str = "B",
    service_level: float = 0.98,
    as_of_ns: int,
    unit_cost: float | None = None,
    ordering_cost: float | None = None,
    holding_rate: float | None = None,
    min_order: int = 0,
    shelf_capacity: float | None = None,
) -> PlanInput:
    """A plan for one location from its daily sales ending on ``last_day`` (``models``)."""
    from bohsense.models.forecast import Series, forecast_series
    from bohsense.models.replenish import default_class_targets, xyz_class

    values = np.asarray(daily_sales, dtype=np.float64)
    if len(values) < 14 or not np.all(np.isfinite(values)) or np.any(values < 0):
        raise InvalidValue("daily_sales", "needs at least 14 days of finite, non-negative sales")
    n = len(values)
    nan = np.full(n, np.nan)
    series = Series(sku, site, last_day - dt.timedelta(days=n - 1), values, nan, np.zeros(n), np.zeros(n))
    horizon = max(1, lead_time_days)
    fc = forecast_series(series, horizon)
    lt_mean = float(fc.point[:lead_time_days].sum())
    xyz = xyz_class(values)
    targets = default_class_targets(service_level)
    level = min(targets[abc], targets[xyz])
    return PlanInput(
        site=site,
        sku=sku,
        location=location,
        abc=abc,
        xyz=xyz,
        service_level=level,
        lead_time_days=lead_time_days,
        daily_mean=float(fc.point.mean()),
        lead_time_mean=lt_mean,
        lead_time_var=lt_mean * max(1.0, fc.dispersion),
        method=fc.method,
        as_of_ns=as_of_ns,
        unit_cost=unit_cost,
        ordering_cost=ordering_cost,
        holding_rate=holding_rate,
        min_order=min_order,
        shelf_capacity=shelf_capacity,
    )


def put_plan(conn: Connection, plan: PlanInput, actor: str, now: int) -> None:
    plan.check()
    loc_id = conn.scalar(
        select(StockLocation.id).where(
            StockLocation.site == plan.site,
            StockLocation.sku == plan.sku,
            StockLocation.location == plan.location,
            StockLocation.retired_ns.is_(None),
        )
    )
    if loc_id is None:
        raise NotFound("stock location", f"{plan.site}/{plan.sku}/{plan.location}")
    values = {k: v for k, v in asdict(plan).items() if k not in ("site", "sku", "location")}
    stmt = conflict_insert(conn, ReplenishmentPlan).values(location_id=loc_id, updated_ns=now, **values)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["location_id"],
            set_={k: getattr(stmt.excluded, k) for k in (*values, "updated_ns")},
        )
    )
    emit(
        conn,
        DomainEvent(
            "replenishment_plan.updated",
            "replenishment_plan",
            f"{plan.site}/{plan.sku}/{plan.location}"[:128],
            None,
            "planned",
            now,
            actor,
            values,
        ),
    )


def explanation_view(conn: Connection, proposal_id: int) -> dict[str, Any]:
    """The proposal's numbers, flags, approval, on order, receipts, webhooks and audit trail."""
    from ._webhooks import list_deliveries

    p = ReplenishmentProposal.__table__
    row = conn.execute(select(p).where(p.c.id == proposal_id)).one_or_none()
    if row is None:
        raise NotFound(PROPOSAL.entity, proposal_id)
    a = AuditEntry.__table__
    history = [
        {
            "kind": h.kind,
            "from_state": h.from_state,
            "to_state": h.to_state,
            "actor": h.actor,
            "at_ns": h.at_ns,
            "detail": h.detail,
        }
        for h in conn.execute(
            select(a).where(a.c.entity == PROPOSAL.entity, a.c.entity_id == str(proposal_id)).order_by(a.c.id)
        )
    ]
    r = ProposalReceipt.__table__
    receipts = [
        {
            "receipt_id": x.receipt_id,
            "quantity": x.quantity,
            "final": x.final,
            "actor": x.actor,
            "received_ns": x.received_ns,
        }
        for x in conn.execute(select(r).where(r.c.proposal_id == proposal_id).order_by(r.c.received_ns))
    ]
    webhooks = [
        {
            "id": d.id,
            "topic": d.topic,
            "idempotency_key": d.idempotency_key,
            "state": d.state,
            "attempts": d.attempts,
            "delivered_ns": d.delivered_ns,
            "last_error": d.last_error,
        }
        for d in list_deliveries(conn, group=f"order:{row.site}/{row.sku}", limit=1000)
        if d.idempotency_key.startswith(f"order:{proposal_id}:")
    ]
    on_order = max(0, row.quantity - row.received_units) if row.state in ("approved", "ordered") else 0
    return {
        "proposal_id": row.id,
        "url": explanation_url(row.id),
        "site": row.site,
        "sku": row.sku,
        "location": row.location,
        "state": row.state,
        "quantity": row.quantity,
        "quantity_source": row.quantity_source,
        "priority": row.priority,
        "approval": row.approval,
        "flags": row.flags,
        "received_units": row.received_units,
        "on_order_units": on_order,
        "revision": row.revision,
        "explanation": row.explanation,
        "receipts": receipts,
        "webhooks": webhooks,
        "history": history,
    }
