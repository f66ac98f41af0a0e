"""Read side of the BOH core: lists with filters, single entities, summary counts."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, func, select, true
from sqlalchemy.orm import Session

from bohsense.contracts.devices import parse_lane_device

from ._errors import NotFound
from ._models import (
    Alert,
    AuditEntry,
    Device,
    DeviceEvent,
    Gateway,
    Lane,
    QuarantineRow,
    ReplenishmentProposal,
    StockLevel,
    StockLocation,
    WorkOrder,
)
from ._notices import AlertFilter
from ._records import (
    AlertRecord,
    AuditRecord,
    CatalogMapping,
    DeviceRecord,
    GatewayRecord,
    ProposalRecord,
    QuarantineRecord,
    StockLevelRecord,
    UnmatchedDevice,
    WorkOrderRecord,
    record_from,
)
from ._scope import Sites, gateways_within, within

__all__ = [
    "alert_record",
    "audit_record",
    "catalog_mapping",
    "device_record",
    "gateway_record",
    "get_one",
    "list_alerts",
    "list_audit",
    "list_devices",
    "list_gateways",
    "list_proposals",
    "list_quarantine",
    "list_work_orders",
    "proposal_record",
    "stock_levels",
    "summary",
    "work_order_record",
]


def gateway_record(g: Gateway) -> GatewayRecord:
    return record_from(GatewayRecord, g)


def alert_record(a: Alert) -> AlertRecord:
    return record_from(AlertRecord, a)


def work_order_record(w: WorkOrder) -> WorkOrderRecord:
    return record_from(WorkOrderRecord, w)


def proposal_record(p: ReplenishmentProposal) -> ProposalRecord:
    return record_from(ProposalRecord, p)


def audit_record(a: AuditEntry) -> AuditRecord:
    return record_from(AuditRecord, a)


_Q = TypeVar("_Q", bound=Select[*tuple[Any, ...]])


def _where(q: _Q, *filters: tuple[Any, object]) -> _Q:
    """``q`` narrowed by each ``column == value`` whose value is given (not None)."""
    for column, value in filters:
        if value is not None:
            q = q.where(column == value)
    return q


def _page(q: Select[Any], limit: int, offset: int) -> Select[Any]:
    return q.limit(limit).offset(offset)


def get_one(s: Session, model: type[Any], entity: str, entity_id: object, *, lock: bool = False) -> Any:
    row = s.get(model, entity_id, with_for_update=lock)
    if row is None:
        raise NotFound(entity, entity_id)
    return row


def list_gateways(
    s: Session, site: str | None, registration: str | None, sites: Sites = None
) -> list[GatewayRecord]:
    q = select(Gateway).where(within(Gateway.site, sites)).order_by(Gateway.id)
    q = _where(q, (Gateway.site, site), (Gateway.registration, registration))
    return [gateway_record(g) for g in s.scalars(q)]


def device_record(d: Device) -> DeviceRecord:
    return record_from(DeviceRecord, d)


def catalog_mapping(s: Session, gateway: str | None, sites: Sites = None) -> CatalogMapping:
    """Catalog devices never reported, and reported devices the catalog does not map (of
    the gateways at ``sites``)."""
    scoped = Device.gateway.in_(gateways_within(sites)) if sites is not None else None
    unmapped_q = _where(
        select(Device)
        .where(Device.kind == "unknown", *([scoped] if scoped is not None else []))
        .order_by(Device.gateway, Device.device),
        (Device.gateway, gateway),
    )
    unmapped = [device_record(d) for d in s.scalars(unmapped_q)]
    by_lane: dict[tuple[str, int], list[str]] = {}
    for d in unmapped:
        parsed = parse_lane_device(d.device)
        if parsed is not None:
            by_lane.setdefault((d.gateway, parsed[1]), []).append(d.device)
    never_q = _where(
        select(Device, StockLocation.site, StockLocation.sku, StockLocation.location)
        .outerjoin(Lane, Lane.id == Device.lane_id)
        .outerjoin(StockLocation, StockLocation.id == Lane.location_id)
        .where(Device.kind != "unknown", Device.first_seen_ns.is_(None))
        .where(*([scoped] if scoped is not None else []))
        .order_by(Device.gateway, Device.device),
        (Device.gateway, gateway),
    )
    unmatched = []
    for dev, site, sku, location in s.execute(never_q):
        lane = parse_lane_device(dev.device)
        candidates = by_lane.get((dev.gateway, lane[1]), []) if lane is not None else []
        unmatched.append(
            UnmatchedDevice(dev.gateway, dev.device, dev.kind, dev.asset_id, site, sku, location, candidates)
        )
    return CatalogMapping(unmatched=unmatched, unmapped=unmapped)


def list_devices(
    s: Session, gateway: str | None, kind: str | None, limit: int, offset: int, sites: Sites = None
) -> list[DeviceRecord]:
    q = select(Device).order_by(Device.gateway, Device.device)
    if sites is not None:
        q = q.where(Device.gateway.in_(gateways_within(sites)))
    q = _where(q, (Device.gateway, gateway), (Device.kind, kind))
    return [device_record(d) for d in s.scalars(_page(q, limit, offset))]


def stock_levels(
    s: Session, site: str | None, sku: str | None, sites: Sites = None
) -> list[StockLevelRecord]:
    q = (
        select(StockLocation, StockLevel.units, StockLevel.as_of_ns)
        .outerjoin(StockLevel, StockLevel.location_id == StockLocation.id)
        .where(StockLocation.retired_ns.is_(None), within(StockLocation.site, sites))
        .order_by(StockLocation.site, StockLocation.sku, StockLocation.location)
    )
    q = _where(q, (StockLocation.site, site), (StockLocation.sku, sku))
    return [
        StockLevelRecord(
            loc.site,
            loc.sku,
            loc.location,
            units,
            as_of,
            loc.min_units,
            loc.target_units,
            loc.safety_stock,
            units is not None and units < loc.min_units,
        )
        for loc, units, as_of in s.execute(q)
    ]


def list_alerts(
    s: Session,
    state: str | None,
    asset_id: str | None,
    site: str | None,
    limit: int,
    offset: int,
    where: AlertFilter | None = None,
    sites: Sites = None,
) -> list[AlertRecord]:
    q = select(Alert).where(within(Alert.site, sites)).order_by(Alert.id.desc())
    q = _where(q, (Alert.state, state), (Alert.asset_id, asset_id), (Alert.site, site))
    if where is not None:
        q = where.apply(q)
    return [alert_record(a) for a in s.scalars(_page(q, limit, offset))]


def list_work_orders(
    s: Session,
    state: str | None,
    asset_id: str | None,
    alert_id: int | None,
    site: str | None,
    limit: int,
    offset: int,
    sites: Sites = None,
) -> list[WorkOrderRecord]:
    q = select(WorkOrder).where(within(WorkOrder.site, sites)).order_by(WorkOrder.id.desc())
    q = _where(
        q,
        (WorkOrder.state, state),
        (WorkOrder.asset_id, asset_id),
        (WorkOrder.alert_id, alert_id),
        (WorkOrder.site, site),
    )
    return [work_order_record(w) for w in s.scalars(_page(q, limit, offset))]


def list_proposals(
    s: Session,
    state: str | None,
    site: str | None,
    sku: str | None,
    limit: int,
    offset: int,
    sites: Sites = None,
) -> list[ProposalRecord]:
    q = (
        select(ReplenishmentProposal)
        .where(within(ReplenishmentProposal.site, sites))
        .order_by(ReplenishmentProposal.id.desc())
    )
    q = _where(
        q,
        (ReplenishmentProposal.state, state),
        (ReplenishmentProposal.site, site),
        (ReplenishmentProposal.sku, sku),
    )
    return [proposal_record(p) for p in s.scalars(_page(q, limit, offset))]


def list_audit(
    s: Session,
    entity: str | None,
    entity_id: str | None,
    limit: int,
    offset: int,
    visible: ColumnElement[bool] | None = None,
) -> list[AuditRecord]:
    """``visible``: the entries the caller may see (``_scope.audit_visible``)."""
    q = select(AuditEntry).order_by(AuditEntry.id)
    if visible is not None:
        q = q.where(visible)
    q = _where(q, (AuditEntry.entity, entity), (AuditEntry.entity_id, entity_id))
    return [audit_record(a) for a in s.scalars(_page(q, limit, offset))]


#: bytes of a quarantined payload shown in a listing
PREVIEW_BYTES = 256


def list_quarantine(
    s: Session,
    reason: str | None,
    gateway: str | None,
    limit: int,
    offset: int,
    qid: int | None = None,
    sites: Sites = None,
) -> list[QuarantineRecord]:
    c = QuarantineRow.__table__.c
    q = select(
        c.id, c.topic, c.gateway, c.reason, c.detail, c.received_ns, c.payload_size,
        func.length(c.payload), c.payload_sha256, func.substr(c.payload, 1, PREVIEW_BYTES),
    ).order_by(c.id.desc())  # fmt: skip
    q = _where(q, (QuarantineRow.reason, reason), (QuarantineRow.gateway, gateway), (c.id, qid))
    if sites is not None:  # a batch of a gateway no store has (pending) is in no store
        q = q.where(c.gateway.in_(gateways_within(sites)))
    return [
        QuarantineRecord(qid, topic, gw, why, detail, at, size, int(stored or 0), sha, bytes(preview or b""))
        for qid, topic, gw, why, detail, at, size, stored, sha, preview in s.execute(_page(q, limit, offset))
    ]


def _by_state(s: Session, model: Any, sites: Sites) -> dict[str, int]:
    q = select(model.state, func.count()).where(within(model.site, sites)).group_by(model.state)
    return {state: n for state, n in s.execute(q)}


def _count(s: Session, model: Any, *where: Any) -> int:
    return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


def summary(s: Session, sites: Sites = None, audit: ColumnElement[bool] | None = None) -> dict[str, Any]:
    """Counts for dashboards; ``sites``: of those stores only (devices, quarantined batches
    and device events by their gateway's store, audit entries by ``audit``, see
    ``_scope.audit_visible``)."""
    alerts, orders, proposals = (
        _by_state(s, Alert, sites),
        _by_state(s, WorkOrder, sites),
        _by_state(s, ReplenishmentProposal, sites),
    )
    own_device = Device.gateway.in_(gateways_within(sites)) if sites is not None else true()
    own_quarantine = QuarantineRow.gateway.in_(gateways_within(sites)) if sites is not None else true()
    own_event = DeviceEvent.gateway.in_(gateways_within(sites)) if sites is not None else true()
    live = (StockLocation.retired_ns.is_(None), within(StockLocation.site, sites))
    low = s.scalar(
        select(func.count())
        .select_from(StockLevel)
        .join(StockLocation, StockLocation.id == StockLevel.location_id)
        .where(StockLevel.units < StockLocation.min_units, *live)
    )
    return {
        "gateways": _by_state(s, Gateway, sites),
        "gateways_pending": _count(
            s, Gateway, Gateway.registration == "pending", within(Gateway.site, sites)
        ),
        "devices": _count(s, Device, own_device),
        "devices_unmatched": _count(
            s, Device, Device.kind != "unknown", Device.first_seen_ns.is_(None), own_device
        ),
        "devices_unmapped": _count(s, Device, Device.kind == "unknown", own_device),
        "stock_locations": _count(s, StockLocation, *live),
        "stock_locations_below_reorder_point": low or 0,
        "alerts": sum(alerts.values()),
        "alerts_by_state": alerts,
        "work_orders": sum(orders.values()),
        "work_orders_by_state": orders,
        "replenishment_proposals": sum(proposals.values()),
        "replenishment_proposals_by_state": proposals,
        "quarantined": _count(s, QuarantineRow, own_quarantine),
        "audit_entries": _count(s, AuditEntry, audit if audit is not None else true()),
        "device_events": {
            kind: n
            for kind, n in s.execute(
                select(DeviceEvent.kind, func.count()).where(own_event).group_by(DeviceEvent.kind)
            ).all()
        },
    }
