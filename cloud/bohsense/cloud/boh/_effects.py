"""What new readings change: lane stock and stock levels with the stock rule, and condition
rules with their alerts and work orders. Runs inside the apply transaction.

Rows are locked in a fixed order (lanes, then open proposals, then condition rules, each
by id) so concurrent workers on PostgreSQL serialise per lane and per asset instead of
deadlocking; the "one
open alert / proposal" guarantees come from partial unique indexes, not from the locks.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, bindparam, func, insert, select, update

from ._cache import Cache, Location
from ._db import conflict_insert
from ._lifecycle import ALERT, PROPOSAL, WORK_ORDER
from ._models import Alert, Asset, ConditionRule, Lane, ReplenishmentProposal, StockLevel, WorkOrder
from ._work_orders import SEVERITY_PRIORITY
from .rules import (
    ConditionCleared,
    ConditionEngine,
    ConditionFault,
    ConditionParams,
    ConditionState,
    StockEngine,
    StockInputs,
)

__all__ = ["SYSTEM_ACTOR", "Effects", "audit_row"]

SYSTEM_ACTOR = "system"
#: proposal states whose quantity is on its way (counted as on order by the stock rule)
ON_ORDER_STATES = frozenset({"approved", "ordered"})


class Effects:
    """Applies the newest lane readings and condition points through the rule engines."""

    def __init__(self, condition_engine: ConditionEngine, stock_engine: StockEngine) -> None:
        self._conditions = condition_engine
        self._stock = stock_engine

    def apply_lanes(
        self,
        conn: Connection,
        cache: Cache,
        newest: dict[int, tuple[int, float]],
        now: int,
        audit: list[dict[str, Any]],
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
        # a lane the catalog retired since this cache was loaded moves no stock level
        loc_ids = sorted(
            {cache.lane_location[c["b_id"]] for c in changed if c["b_id"] in cache.lane_location}
        )
        if not loc_ids:
            return
        totals = conn.execute(
            select(Lane.location_id, func.sum(Lane.units), func.max(Lane.units_ts_ns))
            .where(Lane.location_id.in_(loc_ids), Lane.units.is_not(None), Lane.retired_ns.is_(None))
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
        open_by_loc = {
            r.location_id: r
            for r in conn.execute(
                select(ReplenishmentProposal.__table__)
                .where(
                    ReplenishmentProposal.location_id.in_(loc_ids),
                    ReplenishmentProposal.state.in_(sorted(PROPOSAL.open)),
                )
                .order_by(ReplenishmentProposal.id)
                .with_for_update()
            )
        }
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for loc_id, total, latest_ts in totals:
            if total is None or latest_ts is None:
                continue
            units, as_of = float(total), int(latest_ts)
            loc = cache.locations.get(loc_id)
            if loc is None:
                continue
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
            self._stock_rule(conn, loc_id, loc, units, as_of, now, audit, open_by_loc.get(loc_id))
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

    def revise(self, conn: Connection, cache: Cache, now: int, audit: list[dict[str, Any]]) -> None:
        """Run the stock rule again for open proposals the rule still sizes (after a catalog change)."""
        p = ReplenishmentProposal.__table__
        rows = conn.execute(
            select(p)
            .where(p.c.state == PROPOSAL.initial, p.c.quantity_source == "rule")
            .order_by(p.c.id)
            .with_for_update()
        ).all()
        if not rows:
            return
        levels = {
            r.location_id: r
            for r in conn.execute(
                select(StockLevel.location_id, StockLevel.units, StockLevel.as_of_ns).where(
                    StockLevel.location_id.in_([r.location_id for r in rows])
                )
            )
        }
        for row in rows:
            loc, level = cache.locations.get(row.location_id), levels.get(row.location_id)
            if loc is not None and level is not None:
                self._stock_rule(conn, row.location_id, loc, level.units, level.as_of_ns, now, audit, row)

    def _stock_rule(
        self,
        conn: Connection,
        loc_id: int,
        loc: Location,
        units: float,
        as_of: int,
        now: int,
        audit: list[dict[str, Any]],
        current: Row[Any] | None,
    ) -> None:
        """Open a proposal, or let the open one follow the stock while nobody approved it.

        Approved and ordered quantities count as on order. An open proposal blocks a new
        one (also by the partial unique index); a ``proposed`` one whose quantity the rule
        still owns is resized when the stock (or the location's parameters) change it.
        """
        committed = current is not None and current.state in ON_ORDER_STATES
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
            on_order=float(current.quantity) if current is not None and committed else 0.0,
        )
        draft = self._stock.propose(inputs)
        if draft is None:
            return
        fields = {
            "sensed_units": units,
            "reorder_point": loc.reorder_point,
            "target": loc.target,
            "safety_stock": loc.safety_stock,
            "pack_size": loc.pack_size,
            "quantity": draft.quantity,
            "explanation": draft.explanation,
            "priority": draft.priority,
        }
        if current is not None:
            if current.state == PROPOSAL.initial and current.quantity_source == "rule":
                self._follow(conn, current, fields, now, audit)
            return
        stmt = (
            conflict_insert(conn, ReplenishmentProposal)
            .values(
                location_id=loc_id,
                site=loc.site,
                sku=loc.sku,
                location=loc.location,
                state=PROPOSAL.initial,
                created_ns=now,
                updated_ns=now,
                quantity_source="rule",
                **fields,
            )
            .on_conflict_do_nothing()  # the partial unique index: one open proposal per sku+location
            .returning(ReplenishmentProposal.id)
        )
        pid = conn.execute(stmt).scalar_one_or_none()
        if pid is not None:
            audit.append(
                audit_row(PROPOSAL.entity, pid, None, PROPOSAL.initial, now, {"quantity": draft.quantity})
            )

    @staticmethod
    def _follow(
        conn: Connection, current: Row[Any], fields: dict[str, Any], now: int, audit: list[dict[str, Any]]
    ) -> None:
        """Resize an unapproved proposal when its quantity, priority or parameters move."""
        watched = ("quantity", "priority", "reorder_point", "target", "safety_stock", "pack_size")
        if all(getattr(current, k) == fields[k] for k in watched):
            return
        conn.execute(
            update(ReplenishmentProposal)
            .where(ReplenishmentProposal.id == current.id)
            .values(updated_ns=now, **fields)
            .execution_options(synchronize_session=False)
        )
        params = ("reorder_point", "target", "safety_stock", "pack_size")
        moved = "stock" if all(getattr(current, k) == fields[k] for k in params) else "parameters"
        detail: dict[str, Any] = {"quantity": fields["quantity"], "was": current.quantity, "followed": moved}
        if fields["priority"] != current.priority:
            detail["priority"] = fields["priority"]
        audit.append(audit_row(PROPOSAL.entity, current.id, current.state, current.state, now, detail))

    def apply_conditions(
        self,
        conn: Connection,
        cache: Cache,
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
            params = cache.rules[row.id]
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
        if alert_id is None:  # the alert is still open: its condition is active again
            again = conn.execute(
                update(Alert)
                .where(
                    Alert.asset_id == p.asset_id,
                    Alert.condition == p.condition,
                    Alert.state.in_(sorted(ALERT.open)),
                    Alert.cleared_ns.is_not(None),
                )
                .values(cleared_ns=None, updated_ns=now)
                .returning(Alert.id, Alert.state)
                .execution_options(synchronize_session=False)
            ).all()
            for open_id, state in again:
                audit.append(
                    audit_row(
                        ALERT.entity, open_id, state, state, now, {"condition": "active", **ev.evidence}
                    )
                )
            return
        audit.append(audit_row(ALERT.entity, alert_id, None, ALERT.initial, now, {"evidence": ev.evidence}))
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
                priority=SEVERITY_PRIORITY.get(p.severity, "normal"),
                assignee="",
                parts=[],
                labour=[],
                resolution_code="",
                root_cause="",
                notes=[],
                attachments=[],
            )
            .returning(WorkOrder.id)
        ).scalar_one()
        audit.append(
            audit_row(WORK_ORDER.entity, wo_id, None, WORK_ORDER.initial, now, {"alert_id": alert_id})
        )

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
                audit_row(ALERT.entity, alert_id, state, state, now, {"condition": "cleared", **ev.evidence})
            )


def audit_row(
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
