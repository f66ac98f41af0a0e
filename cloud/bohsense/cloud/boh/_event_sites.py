"""The store of a domain event, for the live feeds' scoping (``api/_feed_hub``).

An event about an alert, a work order or a replenishment proposal belongs to the store of
that row (its ``site`` column, set when the row was made and never changed, so a reader may
cache the answer per entity). An event about a stock location, a book-stock line, a plan,
a point-of-sale transaction or a tagged item names its store in its ``detail`` (``site``),
written by the transaction that made it; a stock location's event without it falls back to
the location's row. Any other event has no store (``None``): only callers who see every
store are shown it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, func, select

from ._models import Alert, AuditEntry, ReplenishmentProposal, StockLocation, WorkOrder
from ._records import AuditRecord

__all__ = ["ROW_ENTITIES", "event_sites", "latest_change_id"]

#: entities whose store is the ``site`` column of their row, by numeric id
ROW_ENTITIES: Mapping[str, Any] = {
    "alert": Alert,
    "work_order": WorkOrder,
    "replenishment_proposal": ReplenishmentProposal,
}


def _detail_site(detail: Mapping[str, Any] | None) -> str | None:
    site = (detail or {}).get("site")
    return site if isinstance(site, str) and site else None


def event_sites(conn: Connection, events: Iterable[AuditRecord]) -> dict[tuple[str, str], str | None]:
    """``(entity, entity_id) -> site`` for ``events`` (one query per entity kind)."""
    out: dict[tuple[str, str], str | None] = {}
    ids: dict[str, set[int]] = {}
    locations: dict[int, tuple[str, str]] = {}
    for e in events:
        key = (e.entity, e.entity_id)
        if key in out:
            continue
        if e.entity in ROW_ENTITIES and e.entity_id.isdigit():
            ids.setdefault(e.entity, set()).add(int(e.entity_id))
            out[key] = None
            continue
        out[key] = _detail_site(e.detail)
        location_id = (e.detail or {}).get("location_id")
        if out[key] is None and e.entity == "stock_location" and isinstance(location_id, int):
            locations[location_id] = key
    for entity, wanted in ids.items():
        model = ROW_ENTITIES[entity]
        for row_id, site in conn.execute(select(model.id, model.site).where(model.id.in_(sorted(wanted)))):
            out[(entity, str(row_id))] = site or None
    if locations:
        rows = conn.execute(
            select(StockLocation.id, StockLocation.site).where(StockLocation.id.in_(sorted(locations)))
        )
        for location_id, site in rows:
            out[locations[location_id]] = site or None
    return out


def latest_change_id(conn: Connection) -> int:
    """The id of the newest committed domain event (0 when there is none)."""
    return int(conn.scalar(select(func.max(AuditEntry.id))) or 0)
