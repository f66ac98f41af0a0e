"""One stock truth per SKU and location: lane sensing, RFID fusion, out-of-stock periods,
and the signals that compare the shelf with the book.

Inputs, inside the transaction that applies a batch (``_apply``):

- ``units`` readings of lane sensors (as before) and the shelf events
  (``shelf.pick`` / ``shelf.putback`` / ``shelf.restock``: ``units_after``;
  ``shelf.lane_state``: the lane's state, and its count when ``stable``). A count moves the
  lane's ``units`` only when newer by event time than the one it has; the state of a lane
  is its newest ``shelf.lane_state`` by ``(ts, gateway, seq, index)`` (``lane_sensing``).
  Duplicate batches change nothing (``(gateway, seq)`` exactly-once upstream).
- ``rfid.item`` events: the present tagged items of the location's SKU (by GTIN) in the
  RFID zone the catalog says covers the location (``locations[].zone``).

``sense`` then makes the location's one number (``sensed_stock``):

=====================  ====================================================  ===========
what is known           units                                                 source
=====================  ====================================================  ===========
weight only             sum of the lanes' units                               ``weight``
RFID only               present tagged items                                  ``rfid``
both                    present tagged items (RFID counts tagged items);      ``fused``
                        weight is the cross-check
a lane in fault/unfit   None (untrusted), or the RFID count when there is one ``rfid``
=====================  ====================================================  ===========

A lane in ``fault`` or ``unfit`` makes the weight count untrusted: it is never published
as a number, the stock rule is not asked with it, and the location's level becomes
``untrusted`` (a domain event). ``settling`` keeps the last settled count. Where both
sources count, a difference beyond ``max(disagreement_units, disagreement_ratio * the
larger)`` is a ``stock_disagreement`` signal (an alert with both numbers, through the
decision table); it clears when they agree again. The fused count is what the stock level
holds and what the replenishment rule is asked with (``Effects.apply_levels``).

Levels, each change a domain event ``stock.<level>``: ``in_stock``, ``low`` (below the
reorder point), ``out_of_stock`` (0), ``untrusted``. An out-of-stock period
(``stock_outages``) opens at the event time the count became 0 and closes when it rose
again; its lost-sales estimate is the sales rate before it (POS sales over
``lost_sales_lookback_s``, else sensed picks) times its duration.

The sweep (``sweep``, run by the scheduler) raises what needs time to show:

- phantom inventory: book stock above 0 while the trusted shelf count has been 0 for
  ``phantom_after_s`` and no sale was recorded after it emptied (plus ``sale_lag_s``);
- likely shrink: over the window ``[now - sale_lag - shrink_window, now - sale_lag)``
  the trusted count fell by at least ``shrink_min_units`` more than the sales recorded
  from the window's start to ``now`` (a pick is paid within ``sale_lag_s``);
- tagged items that left by a door with no sale of their SKU within
  ``departure_window_s`` (``_ledger.match_departures``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, func, insert, select, update

from bohsense.contracts.events import Event, ItemPresence, LaneChange, LaneState

from ._cache import Cache, Location
from ._db import conflict_insert
from ._decisions import Executor, StockSignal
from ._domain_events import DomainEvent, emit
from ._inventory import DOOR, DepartureRecord, item_presence
from ._ledger import DEPARTURE_WINDOW_S, match_departures, sales_between
from ._models import (
    Alert,
    BookStock,
    Lane,
    LaneSensing,
    RfidItem,
    RfidItemEvent,
    SensedChange,
    SensedStock,
    Sku,
    StockOutage,
)

if TYPE_CHECKING:
    from ._handlers import EventContext

__all__ = [
    "LaneSensed",
    "StockSettings",
    "StockTruth",
    "TagsMoved",
    "lane_change",
    "lane_state",
    "location_subject",
    "rfid_item",
    "with_sales",
]

NS = 1_000_000_000
UNTRUSTED_STATES = frozenset({"fault", "unfit"})
DISAGREEMENT = "stock-disagreement"
PHANTOM = "phantom-inventory"
SHRINK = "likely-shrink"
DEPARTED_UNSOLD = "departed-unsold"


@dataclass(frozen=True, slots=True)
class StockSettings:
    """The tolerances and times of the stock truth (see the module's docstring)."""

    disagreement_units: float = 1.0
    disagreement_ratio: float = 0.1
    phantom_after_s: float = 3 * 3600.0
    sale_lag_s: float = 1800.0
    shrink_window_s: float = 3600.0
    shrink_min_units: float = 3.0
    departure_window_s: float = DEPARTURE_WINDOW_S
    lost_sales_lookback_s: float = 24 * 3600.0

    def __post_init__(self) -> None:
        for name in type(self).__slots__:
            value = getattr(self, name)
            if not value >= 0:
                raise ValueError(f"stock settings: {name} must be >= 0, not {value!r}")


# -- decisions the handlers return (carried out by ``StockTruth`` through ``_apply``) -------


@dataclass(frozen=True, slots=True)
class LaneSensed:
    """A shelf event about one lane: its count (``units``, None: none claimed) and, for a
    ``shelf.lane_state``, its ``state``."""

    gateway: str
    lane: str
    ts: int
    seq: int
    index: int
    units: int | None
    confidence: float
    state: str | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class TagsMoved:
    """Tagged items of ``gtin`` changed in these zones of ``site``."""

    site: str
    zones: tuple[str, ...]
    gtin: str


def lane_change(ctx: EventContext, event: Event) -> list[object]:
    """``shelf.pick`` / ``shelf.putback`` / ``shelf.restock``: the lane's settled count after it."""
    a = event.attrs
    assert isinstance(a, LaneChange)
    return [LaneSensed(ctx.gateway, a.lane, event.ts, ctx.seq, ctx.index, a.units_after, a.confidence)]


def lane_state(ctx: EventContext, event: Event) -> list[object]:
    """``shelf.lane_state``: the lane's state, with its count when stable."""
    a = event.attrs
    assert isinstance(a, LaneState)
    units = a.units if a.state == "stable" else None
    return [
        LaneSensed(ctx.gateway, a.lane, event.ts, ctx.seq, ctx.index, units, a.confidence, a.state, a.reason)
    ]


def rfid_item(ctx: EventContext, event: Event) -> list[object]:
    """``rfid.item``: the item-level inventory (``_inventory``), then the locations it counts for."""
    item_presence(ctx, event)
    a = event.attrs
    assert isinstance(a, ItemPresence)
    if not a.gtin:
        return []
    return [TagsMoved(ctx.site, tuple(sorted({a.zone, a.from_zone} - {""})), a.gtin)]


def location_subject(loc: Location) -> str:
    return f"stock:{loc.site}/{loc.sku}/{loc.location}"[:200]


def _level(units: float | None, trusted: bool, reorder_point: float) -> str:
    if not trusted or units is None:
        return "untrusted"
    if units <= 0:
        return "out_of_stock"
    if units < reorder_point:
        return "low"
    return "in_stock"


@dataclass(slots=True)
class _Fused:
    units: float | None
    source: str
    confidence: float
    trusted: bool
    reason: str
    weight_units: float | None
    weight_trusted: bool
    rfid_units: int | None
    as_of: int
    disagreement: bool | None  # None: not comparable now


class StockTruth:
    """Carries out the stock decisions with the catalog cache; the sweep and the queries."""

    def __init__(self, executor: Executor, settings: StockSettings | None = None) -> None:
        self.executor = executor
        self.settings = settings or StockSettings()

    # -- inputs --------------------------------------------------------------------------

    def lane(self, conn: Connection, cache: Cache, d: LaneSensed, now: int) -> list[int]:
        """Take a lane's event in; the locations to sense again."""
        m = cache.devices.get((d.gateway, d.lane))
        if m is None or m.lane_id is None:
            return []
        lane_id = m.lane_id
        row = conn.execute(select(Lane.units_ts_ns).where(Lane.id == lane_id).with_for_update()).one_or_none()
        if row is None:
            return []
        if d.units is not None and (row.units_ts_ns is None or d.ts > row.units_ts_ns):
            conn.execute(
                update(Lane).where(Lane.id == lane_id).values(units=float(d.units), units_ts_ns=d.ts)
            )
        ls = LaneSensing.__table__.c
        created = conn.execute(
            conflict_insert(conn, LaneSensing)
            .values(
                lane_id=lane_id,
                state=d.state or "",
                reason=d.reason if d.state else "",
                state_ts_ns=d.ts if d.state else 0,
                gateway=d.gateway,
                seq=d.seq,
                idx=d.index,
                confidence=d.confidence,
                confidence_ts_ns=d.ts,
                updated_ns=now,
            )
            .on_conflict_do_nothing()
            .returning(ls.lane_id)
        ).first()
        if created is None:
            cur = conn.execute(
                select(LaneSensing.__table__).where(ls.lane_id == lane_id).with_for_update()
            ).one()
            values: dict[str, Any] = {}
            if d.state is not None and (d.ts, d.gateway, d.seq, d.index) > (
                cur.state_ts_ns, cur.gateway, cur.seq, cur.idx,
            ):  # fmt: skip
                values.update(
                    state=d.state,
                    reason=d.reason,
                    state_ts_ns=d.ts,
                    gateway=d.gateway,
                    seq=d.seq,
                    idx=d.index,
                )
            if d.ts >= cur.confidence_ts_ns:
                values.update(confidence=d.confidence, confidence_ts_ns=d.ts)
            if values:
                conn.execute(
                    update(LaneSensing).where(ls.lane_id == lane_id).values(updated_ns=now, **values)
                )
        loc_id = cache.lane_location.get(lane_id)
        return [] if loc_id is None else [loc_id]

    @staticmethod
    def tags(cache: Cache, d: TagsMoved) -> list[int]:
        """The locations whose RFID count the tags' move changes."""
        return sorted(
            lid
            for lid, loc in cache.locations.items()
            if loc.site == d.site and loc.zone in d.zones and loc.gtin == d.gtin and loc.gtin
        )

    # -- fusion --------------------------------------------------------------------------

    def sense(
        self, conn: Connection, cache: Cache, loc_ids: Iterable[int], now: int
    ) -> dict[int, tuple[float, int]]:
        """Make the one number of each location again; the trusted ones, for the stock level
        and the stock rule: location id -> (units, as_of event time)."""
        ids = sorted({i for i in loc_ids if i in cache.locations})
        if not ids:
            return {}
        s = SensedStock.__table__.c
        # lock the locations' rows before reading what makes their number: a transaction
        # applying the same location's events at once waits here, and then reads its result
        conn.execute(
            select(s.location_id).where(s.location_id.in_(ids)).order_by(s.location_id).with_for_update()
        ).all()
        weights = self._weights(conn, ids)
        rfid = self._rfid(conn, cache, ids)
        fused: dict[int, _Fused] = {}
        for lid in ids:
            f = self._fuse(weights.get(lid), rfid.get(lid))
            if f is not None:
                fused[lid] = f
        if not fused:
            return {}
        s = SensedStock.__table__.c
        lock = (
            select(SensedStock.__table__)
            .where(s.location_id.in_(sorted(fused)))
            .order_by(s.location_id)
            .with_for_update()
        )
        current = {r.location_id: r for r in conn.execute(lock)}
        missing = [lid for lid in sorted(fused) if lid not in current]
        created: set[int] = set()
        if missing:  # a location's first number: its row, then locked like the others
            first = [
                {
                    "location_id": lid,
                    "site": cache.locations[lid].site,
                    "sku": cache.locations[lid].sku,
                    "location": cache.locations[lid].location,
                    "units": None,
                    "source": "none",
                    "confidence": 0.0,
                    "trusted": False,
                    "reason": "",
                    "weight_units": None,
                    "weight_trusted": False,
                    "rfid_units": None,
                    "disagreement": False,
                    "as_of_ns": 0,
                    "updated_ns": now,
                    "last_trusted_units": None,
                    "last_trusted_ns": None,
                    "empty_since_ns": None,
                }
                for lid in missing
            ]
            created = {
                r.location_id
                for r in conn.execute(
                    conflict_insert(conn, SensedStock).on_conflict_do_nothing().returning(s.location_id),
                    first,
                )
            }
            current = {r.location_id: r for r in conn.execute(lock)}
        trusted: dict[int, tuple[float, int]] = {}
        for lid, f in fused.items():
            cur = current[lid]
            loc = cache.locations[lid]
            was_new = lid in created
            if f.as_of < cur.as_of_ns:
                continue  # an older picture than the one kept (event time)
            before = None if was_new else cur.last_trusted_units
            values: dict[str, Any] = {
                "units": f.units,
                "source": f.source,
                "confidence": f.confidence,
                "trusted": f.trusted,
                "reason": f.reason[:300],
                "weight_units": f.weight_units,
                "weight_trusted": f.weight_trusted,
                "rfid_units": f.rfid_units,
                "as_of_ns": f.as_of,
                "updated_ns": now,
            }
            if f.trusted and f.units is not None:
                values["last_trusted_units"] = f.units
                values["last_trusted_ns"] = f.as_of
                if f.units <= 0:
                    values["empty_since_ns"] = (
                        cur.empty_since_ns if cur.empty_since_ns is not None else f.as_of
                    )
                else:
                    values["empty_since_ns"] = None
                if before != f.units:
                    conn.execute(
                        insert(SensedChange).values(
                            location_id=lid,
                            ts_ns=f.as_of,
                            units_before=before,
                            units_after=f.units,
                            source=f.source,
                        )
                    )
                trusted[lid] = (f.units, f.as_of)
            if f.disagreement is not None:
                values["disagreement"] = f.disagreement
                if f.disagreement != bool(cur.disagreement) or (was_new and f.disagreement):
                    self._disagreement(conn, loc, lid, f, now)
            conn.execute(update(SensedStock).where(s.location_id == lid).values(**values))
            old_level = "none" if was_new else _level(cur.units, cur.trusted, loc.reorder_point)
            new_level = _level(f.units, f.trusted, loc.reorder_point)
            if new_level != old_level:
                self._level_changed(conn, loc, lid, old_level, new_level, f, now)
        return trusted

    def _weights(self, conn: Connection, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        ls = LaneSensing.__table__.c
        rows = conn.execute(
            select(
                Lane.id,
                Lane.location_id,
                Lane.device,
                Lane.units,
                Lane.units_ts_ns,
                ls.state,
                ls.reason,
                ls.confidence,
            )
            .select_from(Lane.__table__.outerjoin(LaneSensing.__table__, ls.lane_id == Lane.id))
            .where(Lane.location_id.in_(ids), Lane.retired_ns.is_(None))
            .order_by(Lane.id)
        ).all()
        out: dict[int, dict[str, Any]] = {}
        for r in rows:
            w = out.setdefault(
                r.location_id, {"units": None, "as_of": 0, "bad": [], "confidence": 1.0, "seen": False}
            )
            if r.state in UNTRUSTED_STATES:
                w["bad"].append(f"lane {r.device} {r.state}" + (f" ({r.reason})" if r.reason else ""))
                w["seen"] = True
            if r.units is not None:
                w["units"] = (w["units"] or 0.0) + float(r.units)
                w["as_of"] = max(w["as_of"], int(r.units_ts_ns or 0))
                w["seen"] = True
            if r.confidence is not None:
                w["confidence"] = min(w["confidence"], float(r.confidence))
        return {k: v for k, v in out.items() if v["seen"]}

    def _rfid(self, conn: Connection, cache: Cache, ids: Sequence[int]) -> dict[int, tuple[int, int]]:
        tagged = {
            lid: cache.locations[lid]
            for lid in ids
            if cache.locations[lid].zone and cache.locations[lid].gtin
        }
        if not tagged:
            return {}
        i = RfidItem.__table__.c
        sites = sorted({x.site for x in tagged.values()})
        zones = sorted({x.zone for x in tagged.values()})
        gtins = sorted({x.gtin for x in tagged.values()})
        counts: dict[tuple[str, str, str], list[int]] = {}
        for site, zone, gtin, is_present, n, latest in conn.execute(
            select(i.site, i.zone, i.gtin, i.present, func.count(), func.max(i.ts_ns))
            .where(i.site.in_(sites), i.zone.in_(zones), i.gtin.in_(gtins))
            .group_by(i.site, i.zone, i.gtin, i.present)
        ):
            c = counts.setdefault((site, zone, gtin), [0, 0])
            if is_present:
                c[0] += int(n)
            c[1] = max(c[1], int(latest))
        out: dict[int, tuple[int, int]] = {}
        for lid, loc in tagged.items():
            got = counts.get((loc.site, loc.zone, loc.gtin))
            if got is not None:
                out[lid] = (got[0], got[1])
        return out

    def _fuse(self, w: dict[str, Any] | None, r: tuple[int, int] | None) -> _Fused | None:
        if w is None and r is None:
            return None
        wt = w is not None and not w["bad"] and w["units"] is not None
        wu = None if w is None else w["units"]
        reason = "; ".join(w["bad"]) if w is not None else ""
        as_of = max(w["as_of"] if w is not None else 0, r[1] if r is not None else 0)
        if r is None:
            assert w is not None
            if wt:
                return _Fused(wu, "weight", w["confidence"], True, "", wu, True, None, as_of, None)
            return _Fused(
                None, "weight", 0.0, False, reason or "no lane has a count", wu, False, None, as_of, None
            )
        count = r[0]
        if not wt:
            why = f"weight untrusted ({reason}): RFID count" if reason else ""
            return _Fused(float(count), "rfid", 0.9, True, why, wu, False, count, as_of, None)
        assert wu is not None
        assert w is not None
        diff = abs(wu - count)
        tol = max(self.settings.disagreement_units, self.settings.disagreement_ratio * max(wu, count))
        disagree = diff > tol
        why = f"weight {wu:g} vs RFID {count}: differ by {diff:g} > tolerance {tol:g}" if disagree else ""
        conf = 0.5 if disagree else min(1.0, max(0.9, w["confidence"]))
        return _Fused(float(count), "fused", conf, True, why, wu, True, count, as_of, disagree)

    def _disagreement(self, conn: Connection, loc: Location, lid: int, f: _Fused, now: int) -> None:
        evidence = {
            "location_id": lid,
            "site": loc.site,
            "sku": loc.sku,
            "location": loc.location,
            "weight_units": f.weight_units,
            "rfid_units": f.rfid_units,
            "difference": None
            if f.weight_units is None or f.rfid_units is None
            else f.weight_units - f.rfid_units,
            "tolerance": max(
                self.settings.disagreement_units,
                self.settings.disagreement_ratio * max(f.weight_units or 0.0, float(f.rfid_units or 0)),
            ),
            "as_of_ns": f.as_of,
        }
        self.executor.stock_signal(
            conn,
            StockSignal(
                "stock_disagreement" if f.disagreement else "stock_agreement",
                loc.site,
                location_subject(loc),
                DISAGREEMENT,
                bool(f.disagreement),
                "warning",
                evidence,
                "Count the shelf: untagged items on an RFID shelf, missing tags, a foreign item on the lane,"
                " or a lane that needs recalibrating.",
                f.as_of,
            ),
            now,
        )

    def _level_changed(
        self, conn: Connection, loc: Location, lid: int, old: str, new: str, f: _Fused, now: int
    ) -> None:
        emit(
            conn,
            DomainEvent(
                f"stock.{new}",
                "stock_location",
                f"{loc.site}/{loc.sku}/{loc.location}"[:128],
                None if old == "none" else old,
                new,
                now,
                detail={
                    "location_id": lid,
                    "site": loc.site,
                    "sku": loc.sku,
                    "location": loc.location,
                    "units": f.units,
                    "source": f.source,
                    "confidence": f.confidence,
                    "reorder_point": loc.reorder_point,
                    "as_of_ns": f.as_of,
                    "reason": f.reason,
                },
            ),
        )
        o = StockOutage.__table__.c
        if new == "out_of_stock":
            rate, source = self._rate(conn, lid, f.as_of)
            open_now = conn.scalar(select(o.id).where(o.location_id == lid, o.ended_ns.is_(None)))
            if open_now is None:
                conn.execute(
                    insert(StockOutage).values(
                        location_id=lid,
                        site=loc.site,
                        sku=loc.sku,
                        location=loc.location,
                        started_ns=f.as_of,
                        ended_ns=None,
                        rate_per_h=rate,
                        rate_source=source,
                    )
                )
        elif new in ("low", "in_stock"):
            conn.execute(
                update(StockOutage).where(o.location_id == lid, o.ended_ns.is_(None)).values(ended_ns=f.as_of)
            )

    def _rate(self, conn: Connection, lid: int, at: int) -> tuple[float, str]:
        """Units per hour sold (POS) or picked (sensed) over the lookback before ``at``."""
        lookback = int(self.settings.lost_sales_lookback_s * NS)
        hours = self.settings.lost_sales_lookback_s / 3600.0
        if hours <= 0:
            return 0.0, "none"
        sold = sales_between(conn, location_ids=[lid], since_ns=at - lookback, until_ns=at).get(lid, 0.0)
        if sold > 0:
            return sold / hours, "pos"
        c = SensedChange.__table__.c
        picked = 0.0
        for before, after in conn.execute(
            select(c.units_before, c.units_after).where(
                c.location_id == lid, c.ts_ns >= at - lookback, c.ts_ns < at
            )
        ):
            if before is not None and after < before:
                picked += before - after
        if picked > 0:
            return picked / hours, "sensed"
        return 0.0, "none"

    # -- the sweep -----------------------------------------------------------------------

    def sweep(self, conn: Connection, cache: Cache, now: int) -> dict[str, int]:
        """Phantom inventory, likely shrink and unsold departures (see the module's docstring);
        how many alerts each opened."""
        return {
            "phantom": self._phantom(conn, cache, now),
            "shrink": self._shrink(conn, cache, now),
            "departed_unsold": self._departures(conn, cache, now),
        }

    def _open_conditions(self, conn: Connection, condition: str) -> dict[str, Any]:
        rows = conn.execute(
            select(Alert.subject, Alert.cleared_ns).where(
                Alert.condition == condition, Alert.state.in_(("open", "acknowledged"))
            )
        )
        return {subject: cleared for subject, cleared in rows}

    def _phantom(self, conn: Connection, cache: Cache, now: int) -> int:
        st = self.settings
        after, lag = int(st.phantom_after_s * NS), int(st.sale_lag_s * NS)
        s, b = SensedStock.__table__.c, BookStock.__table__.c
        rows = conn.execute(
            select(
                s.location_id,
                s.units,
                s.trusted,
                s.source,
                s.empty_since_ns,
                b.units.label("book"),
                b.last_sale_ns,
            )
            .select_from(SensedStock.__table__.join(BookStock.__table__, b.location_id == s.location_id))
            .order_by(s.location_id)
        ).all()
        active = self._open_conditions(conn, PHANTOM)
        opened = 0
        for r in rows:
            loc = cache.locations.get(r.location_id)
            if loc is None or not r.trusted:
                continue
            subject = location_subject(loc)
            empty = r.units is not None and r.units <= 0 and r.empty_since_ns is not None
            phantom = (
                empty
                and r.book > 0
                and now - r.empty_since_ns >= after
                and (r.last_sale_ns is None or r.last_sale_ns <= r.empty_since_ns + lag)
            )
            evidence = {
                "location_id": r.location_id,
                "site": loc.site,
                "sku": loc.sku,
                "location": loc.location,
                "book_units": r.book,
                "sensed_units": r.units,
                "source": r.source,
                "empty_since_ns": r.empty_since_ns,
                "empty_for_s": None if r.empty_since_ns is None else (now - r.empty_since_ns) / NS,
                "last_sale_ns": r.last_sale_ns,
            }
            if phantom and (subject not in active or active[subject] is not None):
                found = self.executor.stock_signal(
                    conn,
                    StockSignal(
                        "phantom_inventory",
                        loc.site,
                        subject,
                        PHANTOM,
                        True,
                        "major",
                        evidence,
                        f"The book says {r.book:g} but the shelf has been empty with no sale: look in the"
                        " backroom and on other shelves, then correct the book with an adjustment.",
                        now,
                    ),
                    now,
                )
                opened += found is not None
            elif not phantom and subject in active and active[subject] is None:
                self.executor.stock_signal(
                    conn,
                    StockSignal("phantom_cleared", loc.site, subject, PHANTOM, False, "major", evidence),
                    now,
                )
        return opened

    def _shrink(self, conn: Connection, cache: Cache, now: int) -> int:
        st = self.settings
        lag, window = int(st.sale_lag_s * NS), int(st.shrink_window_s * NS)
        end = now - lag
        start = end - window
        c = SensedChange.__table__.c
        drops: dict[int, float] = {}
        for lid, before, after in conn.execute(
            select(c.location_id, c.units_before, c.units_after).where(c.ts_ns >= start, c.ts_ns < end)
        ):
            if before is not None and after < before:
                drops[lid] = drops.get(lid, 0.0) + (before - after)
        active = self._open_conditions(conn, SHRINK)
        watched = set(drops) | {
            lid for lid, loc in cache.locations.items() if location_subject(loc) in active
        }
        sold = sales_between(conn, location_ids=sorted(watched), since_ns=start, until_ns=now + 1)
        opened = 0
        for lid in sorted(watched):
            loc = cache.locations.get(lid)
            if loc is None:
                continue
            subject = location_subject(loc)
            gone, paid = drops.get(lid, 0.0), sold.get(lid, 0.0)
            unexplained = gone - paid
            evidence = {
                "location_id": lid,
                "site": loc.site,
                "sku": loc.sku,
                "location": loc.location,
                "window_start_ns": start,
                "window_end_ns": end,
                "sensed_drop_units": gone,
                "sold_units": paid,
                "unexplained_units": unexplained,
            }
            if unexplained >= st.shrink_min_units and lid in drops:
                if subject not in active or active[subject] is not None:
                    found = self.executor.stock_signal(
                        conn,
                        StockSignal(
                            "shrink_suspected",
                            loc.site,
                            subject,
                            SHRINK,
                            True,
                            "warning",
                            evidence,
                            "Units left the shelf and were not sold: check the shelf, the camera and the"
                            " tills' records for the window.",
                            end,
                        ),
                        now,
                    )
                    opened += found is not None
            elif subject in active and active[subject] is None:
                self.executor.stock_signal(
                    conn,
                    StockSignal("shrink_cleared", loc.site, subject, SHRINK, False, "warning", evidence),
                    now,
                )
        return opened

    def _departures(self, conn: Connection, cache: Cache, now: int) -> int:
        window = int(self.settings.departure_window_s * NS)
        lookback = max(window, int(self.settings.shrink_window_s * NS))
        h = RfidItemEvent.__table__.c
        deps = conn.execute(
            select(h.id, h.site, h.epc, h.gtin, h.ts_ns).where(
                h.transition == "departed",
                h.zone_kind == DOOR,
                h.ts_ns >= now - window - lookback,
                h.ts_ns < now - window,
            )
        ).all()
        if not deps:
            return 0
        gtin_sku = _gtin_skus(conn)
        # every departure that may compete for the same sales, not only the due ones
        compete = conn.execute(
            select(h.id, h.site, h.gtin, h.ts_ns).where(
                h.transition == "departed",
                h.zone_kind == DOOR,
                h.ts_ns >= now - window * 2 - lookback,
                h.ts_ns < now,
            )
        ).all()
        matched = match_departures(
            conn, [(r.site, gtin_sku.get(r.gtin), r.ts_ns, r.id) for r in compete], window
        )
        unsold: dict[tuple[str, str], list[Any]] = {}
        for r in deps:
            if r.id not in matched:
                unsold.setdefault((r.site, gtin_sku.get(r.gtin) or f"gtin:{r.gtin or '-'}"), []).append(r)
        active = self._open_conditions(conn, DEPARTED_UNSOLD)
        opened = 0
        for (site, sku), items in sorted(unsold.items()):
            subject = f"departures:{site}/{sku}"[:200]
            if subject in active:
                continue
            evidence = {
                "site": site,
                "sku": sku,
                "departures": len(items),
                "epcs": [x.epc for x in items[:20]],
                "first_ns": min(x.ts_ns for x in items),
                "last_ns": max(x.ts_ns for x in items),
                "window_s": self.settings.departure_window_s,
            }
            found = self.executor.stock_signal(
                conn,
                StockSignal(
                    "departure_unsold",
                    site,
                    subject,
                    DEPARTED_UNSOLD,
                    True,
                    "warning",
                    evidence,
                    "Tagged items left by the door with no sale of their SKU: review the door camera and"
                    " the tills for the times given.",
                    now,
                ),
                now,
            )
            opened += found is not None
        return opened


def _gtin_skus(conn: Connection) -> dict[str, str]:
    c = Sku.__table__.c
    found: dict[str, str] = {}
    for gtin, sku in conn.execute(
        select(c.gtin, c.sku).where(c.gtin != "", c.retired_ns.is_(None)).order_by(c.sku)
    ):
        found.setdefault(gtin, sku)
    return found


def with_sales(conn: Connection, found: Sequence[DepartureRecord], window_ns: int) -> list[DepartureRecord]:
    """``found`` with the sale each was matched to; the door departures around them compete
    for the same sales (earliest departure first)."""
    if not found:
        return []
    h = RfidItemEvent.__table__.c
    lo, hi = min(d.ts_ns for d in found), max(d.ts_ns for d in found)
    gtin_sku = _gtin_skus(conn)
    rows = conn.execute(
        select(h.site, h.gtin, h.ts_ns, h.gateway, h.seq, h.idx).where(
            h.transition == "departed",
            h.zone_kind == DOOR,
            h.site.in_(sorted({d.site for d in found})),
            h.gtin.in_(sorted({d.gtin for d in found})),
            h.ts_ns >= lo - 2 * window_ns,
            h.ts_ns <= hi + 2 * window_ns,
        )
    ).all()
    matched = match_departures(
        conn, [(r.site, gtin_sku.get(r.gtin), r.ts_ns, (r.gateway, r.seq, r.idx)) for r in rows], window_ns
    )
    out = []
    for d in found:
        m = matched.get((d.gateway, d.seq, d.idx))
        out.append(replace(d, sale_matched=m is not None, sale_txn=None if m is None else m.txn))
    return out
