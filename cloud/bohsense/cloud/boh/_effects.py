"""What new readings change: lane stock and stock levels with the stock rule, and condition
rules with their state. Runs inside the apply transaction.

The rules only decide; what their decisions do (alerts, work orders, proposals,
escalations, notifications) is the table and executor of ``_decisions``. A condition
rule's state is the engine's own JSON in ``rule_state`` (key ``condition:<rule id>`` and
the subject ``<asset>/<condition>``); the core feeds a rule only points newer than any it
fed before (``seen_until_ns``) and keeps the phase the engine reports on the rule row.

Rows are locked in a fixed order (lanes, then open proposals, then condition rules, each
by id) so concurrent workers on PostgreSQL serialise per lane and per asset instead of
deadlocking; the "one
open alert / proposal" guarantees come from partial unique indexes, not from the locks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Row, String, bindparam, cast, insert, literal, select, update

from ._alerts import AlertPolicy
from ._cache import Cache, Location
from ._db import conflict_insert
from ._decisions import Executor
from ._domain_events import SYSTEM_ACTOR
from ._lifecycle import PROPOSAL
from ._models import ConditionRule, Lane, ReplenishmentProposal, RuleState, StockLevel
from ._proposals import ProposalPolicy
from ._stock_truth import StockSettings, StockTruth
from .rules import (
    AnomalyCleared,
    AnomalyDetected,
    ConditionEngine,
    DetectorCondition,
    FaultCleared,
    FaultConfirmed,
    ModelRegistry,
    PlanParams,
    StockEngine,
    StockInputs,
)

__all__ = ["SYSTEM_ACTOR", "Effects", "condition_rule_key"]

#: proposal states whose quantity is on its way (counted as on order by the stock rule)
ON_ORDER_STATES = frozenset({"approved", "ordered"})
#: ``rule_state.rule_id`` of a condition rule: this prefix and the rule's id
RULE_KEY_PREFIX = "condition:"


class Effects:
    """Applies the newest lane readings and condition points through the rule engines."""

    def __init__(
        self,
        condition_engine: ConditionEngine,
        stock_engine: StockEngine,
        escalation_after_s: Mapping[str, float] | None = None,
        proposal_policy: ProposalPolicy | None = None,
        stock_settings: StockSettings | None = None,
        *,
        alert_policy: AlertPolicy | None = None,
        detector_engine: DetectorCondition | None = None,
    ) -> None:
        self._conditions = condition_engine
        self._detectors = detector_engine or DetectorCondition(ModelRegistry())
        self._stock = stock_engine
        self.executor = Executor(escalation_after_s, alert_policy, proposal_policy)
        #: one number per location from weight and RFID (``_stock_truth``)
        self.truth = StockTruth(self.executor, stock_settings)

    def apply_lanes(
        self,
        conn: Connection,
        cache: Cache,
        newest: dict[int, tuple[int, float]],
        now: int,
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
        self.apply_levels(conn, cache, self.truth.sense(conn, cache, loc_ids, now), now)

    def apply_levels(
        self, conn: Connection, cache: Cache, levels: Mapping[int, tuple[float, int]], now: int
    ) -> None:
        """The trusted sensed units of locations (``_stock_truth``) into their stock levels,
        and the stock rule asked with them."""
        if not levels:
            return
        loc_ids = sorted(levels)
        totals = [(lid, levels[lid][0], levels[lid][1]) for lid in loc_ids]
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
        plans = cache.plans
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
            self._stock_rule(conn, loc_id, loc, units, as_of, now, open_by_loc.get(loc_id), plans.get(loc_id))
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

    def revise(self, conn: Connection, cache: Cache, now: int) -> None:
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
        plans = cache.plans
        for row in rows:
            loc, level = cache.locations.get(row.location_id), levels.get(row.location_id)
            if loc is not None and level is not None:
                plan = plans.get(row.location_id)
                self._stock_rule(conn, row.location_id, loc, level.units, level.as_of_ns, now, row, plan)

    def _stock_rule(
        self,
        conn: Connection,
        loc_id: int,
        loc: Location,
        units: float,
        as_of: int,
        now: int,
        current: Row[Any] | None,
        plan: PlanParams | None = None,
    ) -> None:
        """Ask the stock rule; approved and ordered quantities not yet received count as on order."""
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
            on_order=float(max(0, current.quantity - current.received_units))
            if current is not None and committed
            else 0.0,
            plan=plan,
            book_units=_book_units(conn, loc_id),
        )
        decision = self._stock.propose(inputs)
        if decision is not None:
            self.executor.replenish(conn, loc_id, loc, units, decision, current, now)

    def apply_conditions(
        self,
        conn: Connection,
        cache: Cache,
        points: dict[int, list[Any]],
        now: int,
    ) -> None:
        rule, rs = ConditionRule.__table__, RuleState.__table__
        key = literal(RULE_KEY_PREFIX) + cast(rule.c.id, String)
        rows = conn.execute(
            select(rule.c.id, rule.c.phase, rs.c.state, rs.c.seen_until_ns)
            .select_from(rule.outerjoin(rs, rs.c.rule_id == key))
            .where(rule.c.id.in_(sorted(points)))
            .order_by(rule.c.id)
            .with_for_update(of=rule)
        ).all()
        saves: list[dict[str, Any]] = []
        phases: list[dict[str, Any]] = []
        for row in rows:
            params = cache.rules[row.id]
            engine: Any = self._detectors if params.engine == "detector" else self._conditions
            if params.engine == "detector" and params.model not in self._detectors.registry.models:
                continue  # the catalog names a model file this service has not loaded
            data, seen = row.state, row.seen_until_ns
            fresh = sorted(pt for pt in points[row.id] if seen is None or pt[0] > seen)
            if not fresh:
                continue
            new, decisions = engine.step(params, engine.load_state(data), fresh)
            dumped = engine.dump_state(new)
            until = fresh[-1][0] if seen is None else max(seen, fresh[-1][0])
            if dumped != data or until != seen:
                saves.append(
                    {
                        "rule_id": condition_rule_key(row.id),
                        "subject": f"{params.asset_id}/{params.condition}",
                        "state": dumped,
                        "seen_until_ns": until,
                        "updated_ns": now,
                    }
                )
            phase = engine.phase(new)
            if phase != row.phase:
                phases.append({"b_id": row.id, "b_phase": phase})
            for d in decisions:
                if isinstance(d, FaultConfirmed):
                    self.executor.fault(conn, params, d, now)
                elif isinstance(d, AnomalyDetected):
                    self.executor.anomaly(conn, params, d, now)
                elif isinstance(d, FaultCleared | AnomalyCleared):
                    self.executor.cleared(conn, params, d, now)
        if saves:
            stmt = conflict_insert(conn, RuleState)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["rule_id", "subject"],
                    set_={
                        "state": stmt.excluded.state,
                        "seen_until_ns": stmt.excluded.seen_until_ns,
                        "updated_ns": stmt.excluded.updated_ns,
                    },
                ),
                saves,
            )
        if phases:
            conn.execute(
                update(ConditionRule)
                .where(ConditionRule.id == bindparam("b_id"))
                .values(phase=bindparam("b_phase"))
                .execution_options(synchronize_session=False),
                phases,
            )


def condition_rule_key(rule_id: int) -> str:
    """The ``rule_state.rule_id`` of a condition rule."""
    return f"{RULE_KEY_PREFIX}{rule_id}"


def _book_units(conn: Connection, loc_id: int) -> float | None:
    """The location's book stock (the sum of its ledger), None when it has none yet."""
    from ._models import BookStock

    b = BookStock.__table__.c
    value = conn.scalar(select(b.units).where(b.location_id == loc_id))
    return None if value is None else float(value)
