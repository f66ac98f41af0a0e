"""Applying batches of readings: dedup on (gateway, seq), watermarks, stock levels, rules.

Everything of one ``apply`` call happens in the caller's transaction. Rows are locked in a
fixed order (gateways, then lanes, then condition rules, each by id) so that concurrent
workers on PostgreSQL serialise per gateway and per asset instead of deadlocking; the
"one open alert / proposal" guarantees come from partial unique indexes, not from the locks.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from bohsense.contracts.schema import ReadingBatch

from ..ports import ApplyOutcome
from ._db import conflict_insert
from ._lifecycle import ALERT, PROPOSAL, WORK_ORDER
from ._models import (
    Alert,
    Asset,
    AuditEntry,
    ConditionRule,
    Device,
    Gateway,
    IngestSeq,
    Lane,
    ReplenishmentProposal,
    Sku,
    StockLevel,
    StockLocation,
    WorkOrder,
)
from .rules import (
    ConditionCleared,
    ConditionEngine,
    ConditionFault,
    ConditionParams,
    ConditionState,
    StockEngine,
    StockInputs,
)

__all__ = ["Applier", "DeviceMap"]

#: ``units`` readings of a lane sensor set the lane's stock
UNITS_METRIC = "units"
#: a device's ``last_seen`` is written when it moves by more than this (event time)
LAST_SEEN_RESOLUTION_NS = 10 * 1_000_000_000
SYSTEM_ACTOR = "system"


@dataclass(frozen=True, slots=True)
class DeviceMap:
    lane_id: int | None = None
    rules: dict[str, tuple[int, ...]] = field(default_factory=dict)  # metric -> condition rule ids


@dataclass(frozen=True, slots=True)
class _Location:
    site: str
    sku: str
    location: str
    reorder_point: float
    target: float
    safety_stock: float
    pack_size: int


@dataclass(slots=True)
class _Cache:
    devices: dict[tuple[str, str], DeviceMap] = field(default_factory=dict)
    rules: dict[int, ConditionParams] = field(default_factory=dict)
    lane_location: dict[int, int] = field(default_factory=dict)
    locations: dict[int, _Location] = field(default_factory=dict)
    loaded_at: float = float("-inf")


class Applier:
    """Applies batches; holds the catalog mappings in memory (see ``refresh``)."""

    def __init__(
        self,
        condition_engine: ConditionEngine,
        stock_engine: StockEngine,
        clock: Callable[[], int],
        cache_ttl_s: float = 30.0,
    ) -> None:
        self._conditions = condition_engine
        self._stock = stock_engine
        self._clock = clock
        self._ttl = cache_ttl_s
        self._cache = _Cache()
        self._known_gateways: set[str] = set()
        self._last_seen: dict[tuple[str, str], int] = {}  # devices known to exist, with last_seen written

    def stale(self) -> bool:
        return time.monotonic() - self._cache.loaded_at > self._ttl

    def refresh(self, conn: Connection) -> None:
        """Reload device mappings, rule parameters and stock locations from the database."""
        cache = _Cache(loaded_at=time.monotonic())
        for r in conn.execute(select(ConditionRule.__table__)):
            cache.rules[r.id] = ConditionParams(
                asset_id=r.asset_id,
                condition=r.condition,
                metric=r.metric,
                limit=r.limit_value,
                clear_below=r.clear_below,
                min_duration_s=r.min_duration_s,
                severity=r.severity,
                what_to_check=r.what_to_check,
            )
        by_asset: dict[str, dict[str, list[int]]] = {}
        for rid, p in cache.rules.items():
            by_asset.setdefault(p.asset_id, {}).setdefault(p.metric, []).append(rid)
        for lane_id, loc_id in conn.execute(select(Lane.id, Lane.location_id)):
            cache.lane_location[lane_id] = loc_id
        q = select(StockLocation.__table__, Sku.pack_size).join(Sku, Sku.sku == StockLocation.sku)
        for loc in conn.execute(q):
            cache.locations[loc.id] = _Location(
                loc.site,
                loc.sku,
                loc.location,
                loc.min_units,
                loc.target_units,
                loc.safety_stock,
                loc.pack_size,
            )
        mapped = select(Device.gateway, Device.device, Device.asset_id, Device.lane_id)
        for gw, dev, asset_id, lane in conn.execute(mapped):
            if asset_id is not None or lane is not None:
                rules = {m: tuple(ids) for m, ids in by_asset.get(asset_id or "", {}).items()}
                cache.devices[(gw, dev)] = DeviceMap(lane_id=lane, rules=rules)
        self._known_gateways |= set(conn.scalars(select(Gateway.id)))
        self._cache = cache

    # -- the call ------------------------------------------------------------------------

    def apply(self, conn: Connection, batches: Sequence[ReadingBatch]) -> ApplyOutcome:
        now = self._clock()
        by_gw: dict[str, list[ReadingBatch]] = {}
        for b in batches:
            by_gw.setdefault(b.gateway, []).append(b)
        gateways = sorted(by_gw)
        missing = [g for g in gateways if g not in self._known_gateways]
        if missing:
            site = {b.gateway: b.site for b in batches}
            stmt = conflict_insert(conn, Gateway).on_conflict_do_nothing()
            conn.execute(stmt, [{"id": g, "site": site[g]} for g in missing])
        marks = dict(
            conn.execute(
                select(Gateway.id, Gateway.watermark)
                .where(Gateway.id.in_(gateways))
                .order_by(Gateway.id)
                .with_for_update()
            ).all()
        )
        self._known_gateways.update(gateways)
        fresh: list[ReadingBatch] = []
        duplicates = 0
        for g in gateways:
            wm = marks[g]
            above = set(conn.scalars(select(IngestSeq.seq).where(IngestSeq.gateway == g, IngestSeq.seq > wm)))
            new: set[int] = set()
            floor = 0
            for b in by_gw[g]:
                floor = max(floor, b.floor)
                if b.seq <= wm or b.seq in above or b.seq in new:
                    duplicates += 1
                    continue
                new.add(b.seq)
                fresh.append(b)
            recorded = above | new
            mark = max(wm, floor - 1)
            while mark + 1 in recorded:
                mark += 1
            keep = [{"gateway": g, "seq": s} for s in sorted(new) if s > mark]
            if keep:
                conn.execute(insert(IngestSeq), keep)
            if any(s <= mark for s in above):
                conn.execute(delete(IngestSeq).where(IngestSeq.gateway == g, IngestSeq.seq <= mark))
            if mark != wm:
                conn.execute(update(Gateway).where(Gateway.id == g).values(watermark=mark))
            marks[g] = mark
        readings = self._apply_readings(conn, fresh, now) if fresh else 0
        return ApplyOutcome(
            applied=len(fresh), duplicates=duplicates, readings_applied=readings, watermarks=marks
        )

    def _apply_readings(self, conn: Connection, batches: Sequence[ReadingBatch], now: int) -> int:
        devices = self._cache.devices
        lanes: dict[int, tuple[int, float]] = {}
        points: dict[int, list[tuple[int, float]]] = {}
        seen: dict[tuple[str, str], list[int]] = {}
        count = 0
        for b in batches:
            g = b.gateway
            count += len(b.readings)
            for r in b.readings:
                key = (g, r.device)
                ts = r.ts
                s = seen.get(key)
                if s is None:
                    seen[key] = [ts, ts]
                elif ts > s[1]:
                    s[1] = ts
                elif ts < s[0]:
                    s[0] = ts
                m = devices.get(key)
                if m is None:
                    continue
                if m.lane_id is not None and r.metric == UNITS_METRIC:
                    cur = lanes.get(m.lane_id)
                    if cur is None or ts > cur[0]:
                        lanes[m.lane_id] = (ts, r.value)
                rule_ids = m.rules.get(r.metric)
                if rule_ids:
                    for rid in rule_ids:
                        points.setdefault(rid, []).append((ts, r.value))
        self._touch_devices(conn, seen)
        audit: list[dict[str, Any]] = []
        if lanes:
            self._apply_lanes(conn, lanes, now, audit)
        if points:
            self._apply_conditions(conn, points, now, audit)
        if audit:
            conn.execute(insert(AuditEntry), audit)
        return count

    def _touch_devices(self, conn: Connection, seen: dict[tuple[str, str], list[int]]) -> None:
        known = self._last_seen
        new = [k for k in seen if k not in known]
        if new:
            stmt = conflict_insert(conn, Device).on_conflict_do_nothing()
            rows = [
                {"gateway": g, "device": d, "first_seen_ns": seen[(g, d)][0], "last_seen_ns": seen[(g, d)][1]}
                for g, d in new
            ]
            conn.execute(stmt, rows)
        moved: list[dict[str, Any]] = [
            {"b_gw": k[0], "b_dev": k[1], "b_first": v[0], "b_last": v[1]}
            for k, v in seen.items()
            if k not in known or v[1] > known[k] + LAST_SEEN_RESOLUTION_NS
        ]
        if moved:
            last = func.coalesce(Device.last_seen_ns, 0)
            first = Device.first_seen_ns
            conn.execute(
                update(Device)
                .where(Device.gateway == bindparam("b_gw"), Device.device == bindparam("b_dev"))
                .values(
                    last_seen_ns=func.max(last, bindparam("b_last"))
                    if conn.dialect.name == "sqlite"
                    else func.greatest(last, bindparam("b_last")),
                    first_seen_ns=func.coalesce(first, bindparam("b_first")),
                )
                .execution_options(synchronize_session=False),
                moved,
            )
        for row in moved:
            known[(row["b_gw"], row["b_dev"])] = row["b_last"]

    def _apply_lanes(
        self, conn: Connection, newest: dict[int, tuple[int, float]], now: int, audit: list[dict[str, Any]]
    ) -> None:
        rows = conn.execute(
            select(Lane.id, Lane.units_ts_ns)
            .where(Lane.id.in_(sorted(newest)))
            .order_by(Lane.id)
            .with_for_update()
        ).all()
        changed: list[dict[str, Any]] = [
            {"b_id": lane_id, "b_units": newest[lane_id][1], "b_ts": newest[lane_id][0]}
            for lane_id, ts in rows
            if ts is None or newest[lane_id][0] > ts  # event time: an older reading never overwrites
        ]
        if not changed:
            return
        conn.execute(
            update(Lane)
            .where(Lane.id == bindparam("b_id"))
            .values(units=bindparam("b_units"), units_ts_ns=bindparam("b_ts"))
            .execution_options(synchronize_session=False),
            changed,
        )
        cache = self._cache
        loc_ids = sorted({cache.lane_location[c["b_id"]] for c in changed})
        totals = conn.execute(
            select(Lane.location_id, func.sum(Lane.units), func.max(Lane.units_ts_ns))
            .where(Lane.location_id.in_(loc_ids), Lane.units.is_not(None))
            .group_by(Lane.location_id)
        ).all()
        current = {
            r.location_id: (r.units, r.as_of_ns)
            for r in conn.execute(
                select(StockLevel.location_id, StockLevel.units, StockLevel.as_of_ns).where(
                    StockLevel.location_id.in_(loc_ids)
                )
            )
        }
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for loc_id, total, latest_ts in totals:
            if total is None or latest_ts is None:
                continue
            units, as_of = float(total), int(latest_ts)
            loc = cache.locations[loc_id]
            if loc_id not in current:
                inserts.append(
                    {
                        "location_id": loc_id,
                        "site": loc.site,
                        "sku": loc.sku,
                        "location": loc.location,
                        "units": units,
                        "as_of_ns": as_of,
                    }
                )
            elif current[loc_id] != (units, as_of):
                updates.append({"b_id": loc_id, "b_units": units, "b_ts": as_of})
            self._stock_rule(conn, loc_id, loc, units, as_of, now, audit)
        if inserts:
            conn.execute(insert(StockLevel), inserts)
        if updates:
            conn.execute(
                update(StockLevel)
                .where(StockLevel.location_id == bindparam("b_id"))
                .values(units=bindparam("b_units"), as_of_ns=bindparam("b_ts"))
                .execution_options(synchronize_session=False),
                updates,
            )

    def _stock_rule(
        self,
        conn: Connection,
        loc_id: int,
        loc: _Location,
        units: float,
        as_of: int,
        now: int,
        audit: list[dict[str, Any]],
    ) -> None:
        inputs = StockInputs(
            site=loc.site,
            sku=loc.sku,
            location=loc.location,
            sensed_units=units,
            reorder_point=loc.reorder_point,
            target=loc.target,
            safety_stock=loc.safety_stock,
            pack_size=loc.pack_size,
            as_of_ns=as_of,
        )
        draft = self._stock.propose(inputs)
        if draft is None:
            return
        stmt = (
            conflict_insert(conn, ReplenishmentProposal)
            .values(
                location_id=loc_id,
                site=loc.site,
                sku=loc.sku,
                location=loc.location,
                state=PROPOSAL.initial,
                sensed_units=units,
                reorder_point=loc.reorder_point,
                target=loc.target,
                safety_stock=loc.safety_stock,
                pack_size=loc.pack_size,
                quantity=draft.quantity,
                explanation=draft.explanation,
                created_ns=now,
                updated_ns=now,
            )
            .on_conflict_do_nothing()  # the partial unique index: one open proposal per sku+location
            .returning(ReplenishmentProposal.id)
        )
        pid = conn.execute(stmt).scalar_one_or_none()
        if pid is not None:
            audit.append(
                _audit(PROPOSAL.entity, pid, None, PROPOSAL.initial, now, {"quantity": draft.quantity})
            )

    def _apply_conditions(
        self,
        conn: Connection,
        points: dict[int, list[tuple[int, float]]],
        now: int,
        audit: list[dict[str, Any]],
    ) -> None:
        rule = ConditionRule.__table__
        rows = conn.execute(
            select(rule).where(rule.c.id.in_(sorted(points))).order_by(rule.c.id).with_for_update()
        ).all()
        saves = []
        for row in rows:
            params = self._cache.rules[row.id]
            state = ConditionState(
                row.phase, row.over_since_ns, row.max_value, row.below_since_ns, row.last_ts_ns
            )
            new, events = self._conditions.step(params, state, sorted(points[row.id]))
            if new != state:
                saves.append(
                    {
                        "b_id": row.id,
                        "b_phase": new.phase,
                        "b_over": new.over_since_ns,
                        "b_max": new.max_value,
                        "b_below": new.below_since_ns,
                        "b_last": new.last_ts_ns,
                    }
                )
            for ev in events:
                if isinstance(ev, ConditionFault):
                    self._open_alert(conn, params, ev, now, audit)
                elif isinstance(ev, ConditionCleared):
                    self._record_clear(conn, params, ev, now, audit)
        if saves:
            conn.execute(
                update(ConditionRule)
                .where(ConditionRule.id == bindparam("b_id"))
                .values(
                    phase=bindparam("b_phase"),
                    over_since_ns=bindparam("b_over"),
                    max_value=bindparam("b_max"),
                    below_since_ns=bindparam("b_below"),
                    last_ts_ns=bindparam("b_last"),
                )
                .execution_options(synchronize_session=False),
                saves,
            )

    def _open_alert(
        self, conn: Connection, p: ConditionParams, ev: ConditionFault, now: int, audit: list[dict[str, Any]]
    ) -> None:
        site = conn.execute(select(Asset.site, Asset.name).where(Asset.id == p.asset_id)).one()
        stmt = (
            conflict_insert(conn, Alert)
            .values(
                asset_id=p.asset_id,
                site=site.site,
                condition=p.condition,
                severity=p.severity,
                state=ALERT.initial,
                opened_ns=now,
                updated_ns=now,
                cleared_ns=None,
                evidence=ev.evidence,
                what_to_check=p.what_to_check,
            )
            .on_conflict_do_nothing()  # the partial unique index: one open alert per asset+condition
            .returning(Alert.id)
        )
        alert_id = conn.execute(stmt).scalar_one_or_none()
        if alert_id is None:
            return
        audit.append(_audit(ALERT.entity, alert_id, None, ALERT.initial, now, {"evidence": ev.evidence}))
        title = f"{p.condition} on {site.name or p.asset_id}"
        description = (
            f"{p.metric} above {p.limit:g} for {ev.evidence['duration_s']:.0f} s "
            f"(max {ev.evidence['max_value']:g}). What to check: {p.what_to_check or 'inspect the asset'}"
        )
        wo_id = conn.execute(
            insert(WorkOrder)
            .values(
                alert_id=alert_id,
                asset_id=p.asset_id,
                site=site.site,
                kind="maintenance",
                title=title,
                description=description,
                state=WORK_ORDER.initial,
                created_ns=now,
                updated_ns=now,
                note="",
            )
            .returning(WorkOrder.id)
        ).scalar_one()
        audit.append(_audit(WORK_ORDER.entity, wo_id, None, WORK_ORDER.initial, now, {"alert_id": alert_id}))

    def _record_clear(
        self,
        conn: Connection,
        p: ConditionParams,
        ev: ConditionCleared,
        now: int,
        audit: list[dict[str, Any]],
    ) -> None:
        rows = conn.execute(
            update(Alert)
            .where(
                Alert.asset_id == p.asset_id,
                Alert.condition == p.condition,
                Alert.state.in_(sorted(ALERT.open)),
            )
            .values(cleared_ns=ev.ts_ns, updated_ns=now)
            .returning(Alert.id, Alert.state)
            .execution_options(synchronize_session=False)
        ).all()
        for alert_id, state in rows:
            audit.append(
                _audit(ALERT.entity, alert_id, state, state, now, {"condition": "cleared", **ev.evidence})
            )


def _audit(
    entity: str, entity_id: object, frm: str | None, to: str, at: int, detail: dict[str, Any]
) -> dict[str, Any]:
    return {
        "entity": entity,
        "entity_id": str(entity_id),
        "from_state": frm,
        "to_state": to,
        "actor": SYSTEM_ACTOR,
        "at_ns": at,
        "detail": detail,
    }
