"""Item-level inventory from RFID: the handlers of ``rfid.item`` and ``rfid.zone_snapshot``
and the queries over what they keep.

The handlers run inside the transaction that applies a batch, once per new ``(gateway,
seq)`` (``_handlers``): a duplicate batch changes nothing, so every write here is
exactly-once by construction. For each event, in the site of the batch's gateway::

    rfid.item           ──▶ rfid_item_events (the item's history: one row per event)
                        ──▶ rfid_items (its state, when the event is the newest seen)
                        ──▶ inventory.item_departed_unsold (departed from a door zone)
    rfid.zone_snapshot  ──▶ rfid_zone_snapshots (the newest per site and zone)

Order is event time. An item's state is the event with the greatest ``(ts, gateway, seq,
index)`` seen for it in the site: a backfilled older event (a gateway that was offline
sends its backlog after newer events of another gateway) goes into the history, marked
``backfilled``, and never overwrites the newer state. So does a reader's departure of an
item from a zone it has since been seen in by another reader (it was carried out of the
first reader's field into the second's, where it is still present): that departure is
history, not state, and not a door signal. The same rule keeps the newest
snapshot of a zone. Whether an item is present is its state's transition: ``arrived`` and
``moved`` put it in ``zone``, ``departed`` takes it out.

The SKU of an item is looked up from its GTIN in the catalog when read (``skus.gtin``), so
a GTIN added to the catalog later applies to the items already seen. The kind of a zone
(``floor``, ``backroom``, ``door``: the site's ``zones`` in the catalog) is recorded with
each history row as the catalog said when the event was applied; a departure from a door
is a departure from the store. A door departure is matched against the point-of-sale
feed's sales of its SKU in the site (``_ledger.match_departures``): when it is applied, a
sale within ``DEPARTURE_WINDOW_S`` before it matches it (a customer pays, then leaves) and
no ``inventory.item_departed_unsold`` is written; the departures listing matches each
departure against sales on both sides of it, and the stock sweep raises an alert for the
departures still unmatched once the window has passed (``_stock_truth``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, func, insert, select, update

from bohsense.contracts.events import Event, ItemPresence, ZoneSnapshot

from ._db import conflict_insert
from ._domain_events import DomainEvent, emit
from ._errors import InvalidValue, NotFound
from ._ledger import DEPARTURE_WINDOW_S, match_departures
from ._models import Base, RfidItem, RfidItemEvent, RfidZoneSnapshot, SiteZone, Sku
from ._scope import Sites, within

if TYPE_CHECKING:
    from ._handlers import EventContext

__all__ = [
    "DEPARTED_UNSOLD",
    "DepartureRecord",
    "ItemHistoryRecord",
    "ItemRecord",
    "ItemView",
    "SnapshotRecord",
    "ZoneCountRecord",
    "ZoneLineRecord",
    "item_presence",
    "item_view",
    "list_departures",
    "zone_counts",
    "zone_snapshot",
]

#: the domain event of an item that left by a door zone with no sale matched
DEPARTED_UNSOLD = "inventory.item_departed_unsold"
DOOR = "door"
_ITEMS = Base.metadata.tables[RfidItem.__tablename__]
_HISTORY = Base.metadata.tables[RfidItemEvent.__tablename__]
_SNAPSHOTS = Base.metadata.tables[RfidZoneSnapshot.__tablename__]


# -- handlers ------------------------------------------------------------------------------


def _zone_kind(conn: Connection, site: str, zone: str) -> str:
    c = SiteZone.__table__.c
    kind = conn.scalar(select(c.kind).where(c.site == site, c.zone == zone, c.retired_ns.is_(None)))
    return kind or ""


def _sku_of(conn: Connection, gtin: str) -> str | None:
    if not gtin:
        return None
    c = Sku.__table__.c
    return conn.scalar(select(c.sku).where(c.gtin == gtin, c.retired_ns.is_(None)).order_by(c.sku).limit(1))


def _held_before(conn: Connection, site: str, epc: str, reader: str, zone: str, before_ns: int) -> bool:
    """Whether ``reader`` had put the item in ``zone`` (arrived or moved) before ``before_ns``."""
    h = _HISTORY.c
    return (
        conn.scalar(
            select(h.ts_ns)
            .where(
                h.site == site,
                h.epc == epc,
                h.reader == reader,
                h.zone == zone,
                h.transition.in_(("arrived", "moved")),
                h.ts_ns <= before_ns,
            )
            .limit(1)
        )
        is not None
    )


def item_presence(ctx: EventContext, event: Event) -> None:
    """``rfid.item``: the item's history row, its state if newest, the door signal."""
    a = event.attrs
    assert isinstance(a, ItemPresence)
    conn = ctx.conn
    key = (event.ts, ctx.gateway, ctx.seq, ctx.index)
    state = {
        "gtin": a.gtin,
        "serial": a.serial,
        "zone": a.zone,
        "present": a.transition != "departed",
        "transition": a.transition,
        "ts_ns": event.ts,
        "gateway": ctx.gateway,
        "seq": ctx.seq,
        "idx": ctx.index,
        "reader": a.reader,
        "antenna": a.antenna,
        "rssi_dbm": a.rssi_dbm,
        "updated_ns": ctx.now,
    }
    created = conn.execute(
        conflict_insert(conn, _ITEMS)
        .values(site=ctx.site, epc=a.epc, first_seen_ns=event.ts, **state)
        .on_conflict_do_nothing(index_elements=["site", "epc"])
        .returning(_ITEMS.c.epc)
    ).first()
    backfilled = handed_over = False
    if created is None:
        c = _ITEMS.c
        where = (c.site == ctx.site) & (c.epc == a.epc)
        row = conn.execute(
            select(c.ts_ns, c.gateway, c.seq, c.idx, c.first_seen_ns, c.present, c.zone, c.reader)
            .where(where)
            .with_for_update()
        ).one()
        first = min(row.first_seen_ns, event.ts)
        # one reader's departure from a zone the item has since been seen in another
        # reader's zone (it moved out of the first reader's field): the item is still
        # present where the other reader sees it, so the departure changes no state
        handed_over = (
            a.transition == "departed"
            and row.present
            and row.zone != a.zone
            and row.reader != a.reader
            and _held_before(conn, ctx.site, a.epc, a.reader, a.zone, row.ts_ns)
        )
        if (row.ts_ns, row.gateway, row.seq, row.idx) < key and not handed_over:
            conn.execute(update(_ITEMS).where(where).values(first_seen_ns=first, **state))
        else:
            backfilled = True
            if first != row.first_seen_ns:
                conn.execute(update(_ITEMS).where(where).values(first_seen_ns=first))
    zone_kind = _zone_kind(conn, ctx.site, a.zone)
    conn.execute(
        insert(_HISTORY).values(
            site=ctx.site,
            epc=a.epc,
            gateway=ctx.gateway,
            seq=ctx.seq,
            idx=ctx.index,
            device=event.device,
            ts_ns=event.ts,
            transition=a.transition,
            zone=a.zone,
            from_zone=a.from_zone,
            zone_kind=zone_kind,
            reader=a.reader,
            antenna=a.antenna,
            rssi_dbm=a.rssi_dbm,
            reads=a.reads,
            gtin=a.gtin,
            serial=a.serial,
            backfilled=backfilled,
            received_ns=ctx.now,
        )
    )
    if (
        a.transition == "departed"
        and zone_kind == DOOR
        and not handed_over
        and not _sold_before(ctx, a, event.ts)
    ):
        emit(
            conn,
            DomainEvent(
                DEPARTED_UNSOLD,
                "rfid_item",
                a.epc,
                "present",
                "departed",
                ctx.now,
                detail={
                    "site": ctx.site,
                    "epc": a.epc,
                    "zone": a.zone,
                    "gtin": a.gtin,
                    "serial": a.serial,
                    "sku": _sku_of(conn, a.gtin),
                    "ts_ns": event.ts,
                    "gateway": ctx.gateway,
                    "seq": ctx.seq,
                    "idx": ctx.index,
                    "reader": a.reader,
                    "sale_matched": False,
                    "backfilled": backfilled,
                },
            ),
        )


def zone_snapshot(ctx: EventContext, event: Event) -> None:
    """``rfid.zone_snapshot``: kept when it is the zone's newest by event time."""
    a = event.attrs
    assert isinstance(a, ZoneSnapshot)
    conn = ctx.conn
    values = {
        "ts_ns": event.ts,
        "gateway": ctx.gateway,
        "seq": ctx.seq,
        "idx": ctx.index,
        "counts": dict(a.counts),
        "other": a.other,
        "received_ns": ctx.now,
    }
    created = conn.execute(
        conflict_insert(conn, _SNAPSHOTS)
        .values(site=ctx.site, zone=a.zone, **values)
        .on_conflict_do_nothing(index_elements=["site", "zone"])
        .returning(_SNAPSHOTS.c.zone)
    ).first()
    if created is not None:
        return
    c = _SNAPSHOTS.c
    where = (c.site == ctx.site) & (c.zone == a.zone)
    row = conn.execute(select(c.ts_ns, c.gateway, c.seq, c.idx).where(where).with_for_update()).one()
    if (row.ts_ns, row.gateway, row.seq, row.idx) < (event.ts, ctx.gateway, ctx.seq, ctx.index):
        conn.execute(update(_SNAPSHOTS).where(where).values(**values))


def _sold_before(ctx: EventContext, a: ItemPresence, ts: int) -> bool:
    """Whether a sale in the window before this departure is left for it, after the door
    departures of the same GTIN before it took theirs."""
    conn, site = ctx.conn, ctx.site
    sku = _sku_of(conn, a.gtin)
    if sku is None:
        return False
    window = int(DEPARTURE_WINDOW_S * 1e9)
    h = _HISTORY.c
    earlier = conn.execute(
        select(h.id, h.ts_ns).where(
            h.site == site,
            h.gtin == a.gtin,
            h.transition == "departed",
            h.zone_kind == DOOR,
            h.ts_ns >= ts - 2 * window,
            h.ts_ns <= ts,
            ~((h.gateway == ctx.gateway) & (h.seq == ctx.seq) & (h.idx == ctx.index)),
        )
    ).all()
    mine = ("this", a.epc)
    departures: list[tuple[str, str | None, int, Any]] = [(site, sku, r.ts_ns, r.id) for r in earlier]
    departures.append((site, sku, ts, mine))
    matched = match_departures(conn, departures, window, before_only=True)
    return mine in matched


# -- records -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ItemRecord:
    """An item's state in one site."""

    site: str
    epc: str
    gtin: str
    serial: str
    sku: str | None  # the catalog's SKU of the GTIN, None when it has none
    zone: str
    zone_kind: str  # the zone's kind in the catalog now, "" when not listed
    present: bool
    transition: str
    ts_ns: int
    gateway: str
    seq: int
    idx: int
    reader: str
    antenna: int
    rssi_dbm: float
    first_seen_ns: int
    updated_ns: int


@dataclass(frozen=True, slots=True)
class ItemHistoryRecord:
    site: str
    ts_ns: int
    transition: str
    zone: str
    from_zone: str
    zone_kind: str
    gateway: str
    seq: int
    idx: int
    device: str
    reader: str
    antenna: int
    rssi_dbm: float
    reads: int
    backfilled: bool
    received_ns: int


@dataclass(frozen=True, slots=True)
class ItemView:
    epc: str
    states: list[ItemRecord]  # one per site that saw it, newest event first
    history: list[ItemHistoryRecord]  # newest event first


@dataclass(frozen=True, slots=True)
class ZoneLineRecord:
    """One GTIN in a zone (``gtin`` "": items whose EPC is not a GTIN scheme)."""

    gtin: str
    sku: str | None
    items: int  # present items by their own state
    snapshot: int | None  # what the zone's newest snapshot counted (None: no snapshot)
    difference: int | None  # snapshot - items (None: no snapshot)


@dataclass(frozen=True, slots=True)
class SnapshotRecord:
    ts_ns: int
    gateway: str
    seq: int
    idx: int
    total: int
    received_ns: int


@dataclass(frozen=True, slots=True)
class ZoneCountRecord:
    site: str
    zone: str
    kind: str
    items: int
    snapshot: SnapshotRecord | None
    lines: list[ZoneLineRecord]  # by GTIN ("" last)


@dataclass(frozen=True, slots=True)
class DepartureRecord:
    site: str
    epc: str
    gtin: str
    serial: str
    sku: str | None
    zone: str
    ts_ns: int
    gateway: str
    seq: int
    idx: int
    reader: str
    backfilled: bool
    #: whether a sale of its SKU in the site was matched to it (``_ledger.match_departures``)
    sale_matched: bool = False
    #: the matched sale as ``<sender>/<transaction id>``, None when unmatched
    sale_txn: str | None = None


# -- queries -------------------------------------------------------------------------------


def _gtin_skus(conn: Connection) -> dict[str, str]:
    c = Sku.__table__.c
    found: dict[str, str] = {}
    for gtin, sku in conn.execute(
        select(c.gtin, c.sku).where(c.gtin != "", c.retired_ns.is_(None)).order_by(c.sku)
    ):
        found.setdefault(gtin, sku)
    return found


def _zone_kinds(conn: Connection, sites: Iterable[str]) -> dict[tuple[str, str], str]:
    c = SiteZone.__table__.c
    rows = conn.execute(
        select(c.site, c.zone, c.kind).where(c.site.in_(sorted(set(sites))), c.retired_ns.is_(None))
    )
    return {(s, z): k for s, z, k in rows}


def zone_counts(
    conn: Connection, *, site: str | None, zone: str | None, sku: str | None, sites: Sites = None
) -> list[ZoneCountRecord]:
    """Present items per site, zone and GTIN, beside the zone's newest snapshot."""
    gtin_filter: str | None = None
    if sku is not None:
        c = Sku.__table__.c
        row = conn.execute(select(c.gtin).where(c.sku == sku, c.retired_ns.is_(None))).one_or_none()
        if row is None:
            raise InvalidValue("sku", f"{sku!r} is not an active SKU of the catalog")
        if not row.gtin:
            raise InvalidValue(
                "sku", f"{sku!r} has no GTIN in the catalog, so no tagged item is counted as it"
            )
        gtin_filter = row.gtin
    i = _ITEMS.c
    q = select(i.site, i.zone, i.gtin, func.count()).where(i.present.is_(True), within(i.site, sites))
    s = _SNAPSHOTS.c
    sq = select(_SNAPSHOTS).where(within(s.site, sites))
    if site is not None:
        q, sq = q.where(i.site == site), sq.where(s.site == site)
    if zone is not None:
        q, sq = q.where(i.zone == zone), sq.where(s.zone == zone)
    if gtin_filter is not None:
        q = q.where(i.gtin == gtin_filter)
    items: dict[tuple[str, str], dict[str, int]] = {}
    for st, zn, gtin, n in conn.execute(q.group_by(i.site, i.zone, i.gtin)):
        items.setdefault((st, zn), {})[gtin] = int(n)
    snapshots = {(r.site, r.zone): r for r in conn.execute(sq)}
    skus = _gtin_skus(conn)
    keys = set(items)
    for k, taken in snapshots.items():
        if gtin_filter is None or gtin_filter in taken.counts:
            keys.add(k)
    kinds = _zone_kinds(conn, (k[0] for k in keys))
    out = []
    for key in sorted(keys):
        counted = items.get(key, {})
        snap = snapshots.get(key)
        seen: dict[str, int] = {}
        if snap is not None:
            seen = {g: int(n) for g, n in snap.counts.items()}
            seen[""] = int(snap.other) + seen.get("", 0)
        gtins = set(counted) | set(seen)
        if gtin_filter is not None:
            gtins &= {gtin_filter}
        lines = []
        for g in sorted(gtins, key=lambda x: (x == "", x)):
            n = counted.get(g, 0)
            snapped = seen.get(g, 0) if snap is not None else None
            if snap is not None and g == "" and n == 0 and snapped == 0:
                continue  # nothing without a GTIN on either side
            lines.append(ZoneLineRecord(g, skus.get(g), n, snapped, None if snapped is None else snapped - n))
        snap_record = (
            None
            if snap is None
            else SnapshotRecord(
                snap.ts_ns,
                snap.gateway,
                snap.seq,
                snap.idx,
                sum(int(n) for n in snap.counts.values()) + int(snap.other),
                snap.received_ns,
            )
        )
        out.append(
            ZoneCountRecord(
                key[0], key[1], kinds.get(key, ""), sum(x.items for x in lines), snap_record, lines
            )
        )
    return out


def _order(c: Any) -> list[Any]:
    return [c.ts_ns.desc(), c.gateway.desc(), c.seq.desc(), c.idx.desc()]


def item_view(
    conn: Connection, epc: str, *, site: str | None, history_limit: int, sites: Sites = None
) -> ItemView:
    """An item's state in every site that saw it (of ``sites``) and its history; ``NotFound``
    if none."""
    i = _ITEMS.c
    q = select(_ITEMS).where(i.epc == epc, within(i.site, sites))
    if site is not None:
        q = q.where(i.site == site)
    rows = conn.execute(q.order_by(*_order(i))).all()
    if not rows:
        raise NotFound("rfid item", epc if site is None else f"{site}/{epc}")
    skus = _gtin_skus(conn)
    kinds = _zone_kinds(conn, (r.site for r in rows))
    states = [
        ItemRecord(
            r.site,
            r.epc,
            r.gtin,
            r.serial,
            skus.get(r.gtin),
            r.zone,
            kinds.get((r.site, r.zone), ""),
            bool(r.present),
            r.transition,
            r.ts_ns,
            r.gateway,
            r.seq,
            r.idx,
            r.reader,
            r.antenna,
            r.rssi_dbm,
            r.first_seen_ns,
            r.updated_ns,
        )
        for r in rows
    ]
    h = _HISTORY.c
    hq = select(_HISTORY).where(h.epc == epc, within(h.site, sites))
    if site is not None:
        hq = hq.where(h.site == site)
    history = [
        ItemHistoryRecord(
            r.site,
            r.ts_ns,
            r.transition,
            r.zone,
            r.from_zone,
            r.zone_kind,
            r.gateway,
            r.seq,
            r.idx,
            r.device,
            r.reader,
            r.antenna,
            r.rssi_dbm,
            r.reads,
            bool(r.backfilled),
            r.received_ns,
        )
        for r in conn.execute(hq.order_by(*_order(h)).limit(history_limit))
    ]
    return ItemView(epc, states, history)


def list_departures(
    conn: Connection,
    *,
    site: str | None,
    since_ns: int | None,
    until_ns: int | None,
    limit: int,
    offset: int = 0,
    sites: Sites = None,
) -> list[DepartureRecord]:
    """Items departed from a door zone (its kind when the event was applied), newest first;
    ``since_ns`` inclusive, ``until_ns`` exclusive."""
    h = _HISTORY.c
    q = select(_HISTORY).where(h.transition == "departed", h.zone_kind == DOOR, within(h.site, sites))
    if site is not None:
        q = q.where(h.site == site)
    if since_ns is not None:
        q = q.where(h.ts_ns >= since_ns)
    if until_ns is not None:
        q = q.where(h.ts_ns < until_ns)
    skus = _gtin_skus(conn)
    return [
        DepartureRecord(
            r.site,
            r.epc,
            r.gtin,
            r.serial,
            skus.get(r.gtin),
            r.zone,
            r.ts_ns,
            r.gateway,
            r.seq,
            r.idx,
            r.reader,
            bool(r.backfilled),
        )
        for r in conn.execute(q.order_by(*_order(h)).limit(limit).offset(offset))
    ]
