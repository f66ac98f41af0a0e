"""Store scoping of the read side: the SQL that narrows a list to a set of stores.

Every list of the core takes ``sites``: ``None`` for every store, or the stores whose rows
it may answer (an empty set answers nothing). The filter is part of the query, before its
``LIMIT``/``OFFSET``, so a page of a scoped list is a page of what the caller may see.

Rows that carry no site of their own are placed through what they are about: a device,
command, reading or quarantined batch by its gateway's site; an audit / domain event by
its entity (``audit_visible``); a webhook delivery by its group (``delivery_visible``).
A row that belongs to no store (a SKU of the catalog, a rule's confidence) is in no
set of stores: only a caller who sees every store is shown it.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import ColumnElement, Connection, String, Text, cast, false, literal, or_, select, true
from sqlalchemy.orm import Session

from ._models import (
    Alert,
    Asset,
    AuditEntry,
    FaultLabel,
    Gateway,
    GatewayCommandRow,
    ReplenishmentProposal,
    WebhookDelivery,
    WorkOrder,
)

__all__ = [
    "Sites",
    "audit_visible",
    "delivery_visible",
    "gateways_within",
    "names_within",
    "within",
]

#: the stores a list may answer: ``None`` is every store
Sites = Collection[str] | None


def within(column: Any, sites: Sites) -> ColumnElement[bool]:
    """``column`` (a site) is one of ``sites``; always true for every store."""
    if sites is None:
        return true()
    if not sites:
        return false()
    return column.in_(sorted(sites))  # type: ignore[no-any-return]


def gateways_within(sites: Sites) -> Any:
    """The ids of the gateways at ``sites``, as a subquery."""
    return select(Gateway.id).where(within(Gateway.site, sites))


def _prefixed(column: Any, prefixes: Collection[str]) -> ColumnElement[bool]:
    """``column`` starts with ``<prefix>/`` for one of ``prefixes``."""
    if not prefixes:
        return false()
    return or_(*(column.startswith(f"{p}/", autoescape=True) for p in sorted(prefixes)))


def delivery_visible(sites: Sites, assets: Collection[str]) -> ColumnElement[bool]:
    """A webhook delivery of ``sites``: its group names the store (``order:<site>/<sku>``)
    or an asset of it (``work_order:<asset>``; ``assets`` are the stores' assets)."""
    if sites is None:
        return true()
    d = WebhookDelivery.__table__.c
    orders = [d.group_key.startswith(f"order:{s}/", autoescape=True) for s in sorted(sites)]
    work = d.group_key.in_([f"work_order:{a}" for a in sorted(assets)]) if assets else false()
    return or_(false(), work, *orders)


def _ids_of(model: Any, sites: Sites) -> Any:
    return select(cast(model.id, String)).where(within(model.site, sites))


def audit_visible(sites: Sites, gateways: Collection[str], assets: Collection[str]) -> ColumnElement[bool]:
    """An audit entry (a domain event) of ``sites``, placed by its entity; ``gateways`` and
    ``assets`` are those of the stores (their ids prefix the ids of lanes, devices, rules).
    An entity placed in no store (a SKU, a rule's confidence, a setting) is in none."""
    if sites is None:
        return true()
    c = AuditEntry.__table__.c
    entity, eid = c.entity, c.entity_id
    site_of_detail = c.detail["site"].as_string()
    d = WebhookDelivery.__table__.c
    deliveries = select(cast(d.id, String)).where(delivery_visible(sites, assets))
    cmd = GatewayCommandRow.__table__.c
    commands = select(cmd.id).where(cmd.gateway.in_(gateways_within(sites)))
    alert_notices = select(literal("alert:", Text) + cast(Alert.id, String)).where(within(Alert.site, sites))
    return or_(
        (entity == "alert") & eid.in_(_ids_of(Alert, sites)),
        (entity == "work_order") & eid.in_(_ids_of(WorkOrder, sites)),
        (entity == "replenishment_proposal") & eid.in_(_ids_of(ReplenishmentProposal, sites)),
        (entity == "fault_label") & eid.in_(_ids_of(FaultLabel, sites)),
        (entity == "notification") & eid.in_(alert_notices),
        (entity == "command") & eid.in_(commands),
        (entity == "webhook") & eid.in_(deliveries),
        entity.in_(("catalog.site", "commission")) & within(eid, sites),
        entity.in_(("gateway", "catalog.gateway")) & eid.in_(gateways_within(sites)),
        (entity == "catalog.asset") & eid.in_(select(Asset.id).where(within(Asset.site, sites))),
        entity.in_(("stock_location", "stock", "replenishment_plan", "catalog.location", "catalog.zone"))
        & _prefixed(eid, sites),
        entity.in_(("catalog.lane", "catalog.device")) & _prefixed(eid, gateways),
        (entity == "catalog.rule") & _prefixed(eid, assets),
        entity.in_(("rfid_item", "pos_transaction")) & within(site_of_detail, sites),
        (entity == "quarantine") & within(c.detail["gateway"].as_string(), gateways),
    )


def names_within(conn: Connection | Session, sites: Sites) -> tuple[list[str], list[str]]:
    """The ids of the gateways and assets at ``sites`` (retired ones too: their history
    stays theirs); empty for every store (``None``: the clauses are then always true)."""
    if sites is None:
        return [], []
    gateways = list(conn.scalars(select(Gateway.id).where(within(Gateway.site, sites))))
    assets = list(conn.scalars(select(Asset.id).where(within(Asset.site, sites))))
    return gateways, assets
