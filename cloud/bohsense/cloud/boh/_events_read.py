"""Reading the stored device events (``device_events``), newest event time first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from ._models import DeviceEvent, Gateway
from ._scope import Sites, gateways_within

__all__ = ["EventRecord", "list_events"]


@dataclass(frozen=True, slots=True)
class EventRecord:
    id: int
    gateway: str
    seq: int
    idx: int
    device: str
    kind: str
    ts_ns: int
    attrs: dict[str, Any]
    received_ns: int


def list_events(
    conn: Connection,
    *,
    kind: str | None,
    device: str | None,
    gateway: str | None,
    site: str | None,
    since_ns: int | None,
    until_ns: int | None,
    limit: int,
    offset: int = 0,
    sites: Sites = None,
) -> list[EventRecord]:
    """Events matching every filter given: ``since_ns`` inclusive, ``until_ns`` exclusive;
    ``site`` is the site of the event's gateway now."""
    c = DeviceEvent.__table__.c
    stmt = select(DeviceEvent.__table__)
    if kind is not None:
        stmt = stmt.where(c.kind == kind)
    if device is not None:
        stmt = stmt.where(c.device == device)
    if gateway is not None:
        stmt = stmt.where(c.gateway == gateway)
    if site is not None:
        stmt = stmt.where(c.gateway.in_(select(Gateway.id).where(Gateway.site == site)))
    if sites is not None:
        stmt = stmt.where(c.gateway.in_(gateways_within(sites)))
    if since_ns is not None:
        stmt = stmt.where(c.ts_ns >= since_ns)
    if until_ns is not None:
        stmt = stmt.where(c.ts_ns < until_ns)
    stmt = stmt.order_by(c.ts_ns.desc(), c.id.desc()).limit(limit).offset(offset)
    return [
        EventRecord(r.id, r.gateway, r.seq, r.idx, r.device, r.kind, r.ts_ns, dict(r.attrs), r.received_ns)
        for r in conn.execute(stmt)
    ]
