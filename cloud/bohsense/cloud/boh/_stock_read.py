"""Read side of the stock truth: sensed stock beside book stock, out-of-stock periods with
their lost-sales estimate, and the out-of-stock heat map (site × aisle/shelf × hour)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, or_, select

from ._models import BookStock, Lane, LaneSensing, SensedStock, StockLocation, StockOutage
from ._scope import Sites, within

__all__ = [
    "HeatCellRecord",
    "LaneSenseRecord",
    "OutageRecord",
    "OutageTotalRecord",
    "RollupRecord",
    "SensedStockRecord",
    "heatmap",
    "list_outages",
    "outage_totals",
    "sensed_rollup",
    "sensed_stock",
]

NS = 1_000_000_000
HOUR_NS = 3600 * NS


@dataclass(frozen=True, slots=True)
class LaneSenseRecord:
    gateway: str
    device: str
    units: float | None
    units_ts_ns: int | None
    state: str  # stable / settling / unfit / fault, "" until the lane sent a state
    reason: str
    confidence: float | None


@dataclass(frozen=True, slots=True)
class SensedStockRecord:
    site: str
    sku: str
    location: str
    aisle: str
    shelf: str
    #: the one number (None: it cannot be trusted now); source weight / rfid / fused
    units: float | None
    source: str
    confidence: float
    trusted: bool
    reason: str
    weight_units: float | None
    weight_trusted: bool
    rfid_units: int | None
    disagreement: bool
    as_of_ns: int | None
    last_trusted_units: float | None
    last_trusted_ns: int | None
    empty_since_ns: int | None
    level: str  # in_stock / low / out_of_stock / untrusted / unknown
    book_units: float | None
    last_sale_ns: int | None
    #: book - sensed (None unless both are known and the sensed count is trusted)
    book_minus_sensed: float | None
    lanes: list[LaneSenseRecord]


@dataclass(frozen=True, slots=True)
class OutageRecord:
    id: int
    site: str
    sku: str
    location: str
    aisle: str
    shelf: str
    started_ns: int
    ended_ns: int | None
    duration_s: float  # to its end, or to now while it lasts
    rate_per_h: float
    rate_source: str
    lost_units: float  # rate_per_h × duration


@dataclass(frozen=True, slots=True)
class OutageTotalRecord:
    """Out-of-stock time of one SKU in one site within a range, over its locations."""

    site: str
    sku: str
    outages: int
    oos_s: float  # summed over the SKU's locations, clipped to the range
    lost_units: float  # the periods' rates × their time in the range
    open_now: int  # periods still lasting


@dataclass(frozen=True, slots=True)
class HeatCellRecord:
    site: str
    aisle: str
    shelf: str
    hour_ns: int  # the UTC hour the cell starts at
    oos_minutes: float  # summed over the cell's stock locations
    locations: int  # how many of them were out of stock in that hour


def _level(units: float | None, trusted: bool, reorder_point: float) -> str:
    if not trusted or units is None:
        return "untrusted"
    if units <= 0:
        return "out_of_stock"
    return "low" if units < reorder_point else "in_stock"


def sensed_stock(
    conn: Connection, *, site: str | None, sku: str | None, sites: Sites = None
) -> list[SensedStockRecord]:
    loc = StockLocation.__table__.c
    s, b = SensedStock.__table__.c, BookStock.__table__.c
    q = (
        select(
            loc.id,
            loc.site,
            loc.sku,
            loc.location,
            loc.aisle,
            loc.shelf,
            loc.min_units,
            s.location_id,
            s.units,
            s.source,
            s.confidence,
            s.trusted,
            s.reason,
            s.weight_units,
            s.weight_trusted,
            s.rfid_units,
            s.disagreement,
            s.as_of_ns,
            s.last_trusted_units,
            s.last_trusted_ns,
            s.empty_since_ns,
            b.units.label("book"),
            b.last_sale_ns,
        )
        .select_from(
            StockLocation.__table__.outerjoin(SensedStock.__table__, s.location_id == loc.id).outerjoin(
                BookStock.__table__, b.location_id == loc.id
            )
        )
        .where(loc.retired_ns.is_(None), within(loc.site, sites))
        .order_by(loc.site, loc.sku, loc.location)
    )
    if site is not None:
        q = q.where(loc.site == site)
    if sku is not None:
        q = q.where(loc.sku == sku)
    rows = conn.execute(q).all()
    ls = LaneSensing.__table__.c
    lanes: dict[int, list[LaneSenseRecord]] = {}
    for r in conn.execute(
        select(
            Lane.location_id,
            Lane.gateway,
            Lane.device,
            Lane.units,
            Lane.units_ts_ns,
            ls.state,
            ls.reason,
            ls.confidence,
        )
        .select_from(Lane.__table__.outerjoin(LaneSensing.__table__, ls.lane_id == Lane.id))
        .where(Lane.location_id.in_([r.id for r in rows]), Lane.retired_ns.is_(None))
        .order_by(Lane.id)
    ):
        lanes.setdefault(r.location_id, []).append(
            LaneSenseRecord(
                r.gateway, r.device, r.units, r.units_ts_ns, r.state or "", r.reason or "", r.confidence
            )
        )
    out = []
    for r in rows:
        known = r.location_id is not None
        trusted = bool(r.trusted) if known else False
        units = r.units if known else None
        diff = r.book - units if r.book is not None and units is not None and trusted else None
        out.append(
            SensedStockRecord(
                r.site,
                r.sku,
                r.location,
                r.aisle,
                r.shelf,
                units,
                r.source if known else "none",
                float(r.confidence) if known else 0.0,
                trusted,
                r.reason if known else "",
                r.weight_units if known else None,
                bool(r.weight_trusted) if known else False,
                r.rfid_units if known else None,
                bool(r.disagreement) if known else False,
                r.as_of_ns if known else None,
                r.last_trusted_units if known else None,
                r.last_trusted_ns if known else None,
                r.empty_since_ns if known else None,
                _level(units, trusted, r.min_units) if known else "unknown",
                r.book,
                r.last_sale_ns,
                diff,
                lanes.get(r.id, []),
            )
        )
    return out


def _outages(conn: Connection, site: str | None, sku: str | None, since_ns: int | None, until_ns: int | None, sites: Sites = None):  # type: ignore[no-untyped-def]  # fmt: skip
    o, loc = StockOutage.__table__.c, StockLocation.__table__.c
    q = (
        select(StockOutage.__table__, loc.aisle, loc.shelf)
        .select_from(StockOutage.__table__.join(StockLocation.__table__, loc.id == o.location_id))
        .where(within(o.site, sites))
    )
    if site is not None:
        q = q.where(o.site == site)
    if sku is not None:
        q = q.where(o.sku == sku)
    if since_ns is not None:
        q = q.where(or_(o.ended_ns.is_(None), o.ended_ns > since_ns))
    if until_ns is not None:
        q = q.where(o.started_ns < until_ns)
    return q, o


def list_outages(
    conn: Connection,
    *,
    site: str | None,
    sku: str | None,
    since_ns: int | None,
    until_ns: int | None,
    open_only: bool,
    now: int,
    limit: int,
    offset: int = 0,
    sites: Sites = None,
) -> list[OutageRecord]:
    """Out-of-stock periods overlapping ``[since, until)``, newest start first."""
    q, o = _outages(conn, site, sku, since_ns, until_ns, sites)
    if open_only:
        q = q.where(o.ended_ns.is_(None))
    out = []
    for r in conn.execute(q.order_by(o.started_ns.desc(), o.id.desc()).limit(limit).offset(offset)):
        end = r.ended_ns if r.ended_ns is not None else max(now, r.started_ns)
        duration = (end - r.started_ns) / NS
        out.append(
            OutageRecord(
                r.id,
                r.site,
                r.sku,
                r.location,
                r.aisle,
                r.shelf,
                r.started_ns,
                r.ended_ns,
                duration,
                r.rate_per_h,
                r.rate_source,
                r.rate_per_h * duration / 3600.0,
            )
        )
    return out


def heatmap(
    conn: Connection, *, site: str | None, since_ns: int, until_ns: int, now: int, sites: Sites = None
) -> list[HeatCellRecord]:
    """Out-of-stock minutes per site, aisle, shelf and UTC hour within ``[since, until)``;
    only cells with some out-of-stock time are listed (the rest are 0)."""
    q, _ = _outages(conn, site, None, since_ns, until_ns, sites)
    cells: dict[tuple[str, str, str, int], tuple[float, set[int]]] = {}
    for r in conn.execute(q):
        start = max(r.started_ns, since_ns)
        end = min(r.ended_ns if r.ended_ns is not None else now, until_ns)
        hour = start - start % HOUR_NS
        while hour < end:
            lo, hi = max(start, hour), min(end, hour + HOUR_NS)
            if hi > lo:
                key = (r.site, r.aisle, r.shelf, hour)
                minutes, locs = cells.get(key, (0.0, set()))
                locs.add(r.location_id)
                cells[key] = (minutes + (hi - lo) / (60 * NS), locs)
            hour += HOUR_NS
    return [
        HeatCellRecord(k[0], k[1], k[2], k[3], round(v[0], 3), len(v[1])) for k, v in sorted(cells.items())
    ]


def outage_totals(
    conn: Connection,
    *,
    site: str | None,
    sku: str | None,
    since_ns: int,
    until_ns: int,
    now: int,
    sites: Sites = None,
) -> list[OutageTotalRecord]:
    """Per site and SKU: out-of-stock periods overlapping ``[since, until)``, their time in
    the range and the lost-sales estimate for that time."""
    q, _ = _outages(conn, site, sku, since_ns, until_ns, sites)
    totals: dict[tuple[str, str], list[float]] = {}
    for r in conn.execute(q):
        start = max(r.started_ns, since_ns)
        end = min(r.ended_ns if r.ended_ns is not None else max(now, r.started_ns), until_ns)
        seconds = max(0, end - start) / NS
        t = totals.setdefault((r.site, r.sku), [0, 0.0, 0.0, 0])
        t[0] += 1
        t[1] += seconds
        t[2] += r.rate_per_h * seconds / 3600.0
        t[3] += r.ended_ns is None
    return [
        OutageTotalRecord(k[0], k[1], int(v[0]), v[1], v[2], int(v[3])) for k, v in sorted(totals.items())
    ]


@dataclass(frozen=True, slots=True)
class RollupRecord:
    """Sensed stock summed over locations: per shelf (``site``, ``aisle``, ``shelf``; ``sku``
    "") or per store and SKU (``site``, ``sku``; ``aisle`` and ``shelf`` "")."""

    site: str
    sku: str
    aisle: str
    shelf: str
    locations: int
    units: float | None  # over the trusted locations (None: none is trusted)
    trusted: bool  # every location's count is trusted
    untrusted: int
    out_of_stock: int
    low: int
    confidence: float  # the lowest of the trusted locations' (0 when none)
    book_units: float | None  # over the locations with book stock


def sensed_rollup(conn: Connection, *, by: str, site: str | None, sites: Sites = None) -> list[RollupRecord]:
    """``by`` ``shelf`` or ``store``: the locations' one numbers summed (see ``RollupRecord``)."""
    groups: dict[tuple[str, str, str, str], list[SensedStockRecord]] = {}
    for r in sensed_stock(conn, site=site, sku=None, sites=sites):
        key = (r.site, "", r.aisle, r.shelf) if by == "shelf" else (r.site, r.sku, "", "")
        groups.setdefault(key, []).append(r)
    out = []
    for key, rows in sorted(groups.items()):
        good = [x for x in rows if x.trusted and x.units is not None]
        books = [x.book_units for x in rows if x.book_units is not None]
        out.append(
            RollupRecord(
                key[0],
                key[1],
                key[2],
                key[3],
                len(rows),
                sum(x.units or 0.0 for x in good) if good else None,
                len(good) == len(rows),
                len(rows) - len(good),
                sum(1 for x in rows if x.level == "out_of_stock"),
                sum(1 for x in rows if x.level == "low"),
                min((x.confidence for x in good), default=0.0),
                sum(books) if books else None,
            )
        )
    return out
