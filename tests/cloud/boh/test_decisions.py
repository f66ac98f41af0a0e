"""Decisions apart from their effects: the decision -> effect table drives what a fault
does, a rule's opaque state round-trips through ``rule_state``, alerts escalate on time
and once, and the replenishment review re-sizes open proposals."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from bohsense.cloud.boh import BohCore
from bohsense.cloud.boh import _decisions as decisions
from bohsense.cloud.boh.rules import (
    ConditionEvent,
    ConditionParams,
    FaultCleared,
    FaultConfirmed,
    ReorderPoint,
    ReplenishmentNeeded,
    StockInputs,
)

from .factory import DURATION_S, LANE_A, LIMIT, T0, S, batch, catalog, units, vib


@dataclass
class Clock:
    t: int = T0

    def __call__(self) -> int:
        return self.t


def fault_readings(start_s: float = 0) -> list[Any]:
    return [vib(start_s + t, LIMIT + 1) for t in range(0, DURATION_S + 2, 5)]


@pytest.fixture
def timed(db_url: str) -> Iterator[tuple[BohCore, Clock]]:
    clock = Clock()
    core = BohCore(db_url, clock=clock, escalation_after_s={"major": 600})
    core.migrate()
    core.load_catalog(catalog())
    yield core, clock
    core.close()


# -- the table ---------------------------------------------------------------------------


def test_a_confirmed_fault_does_what_the_table_says(core: BohCore) -> None:
    core.apply_batches([batch(1, fault_readings())])
    assert len(core.list_alerts()) == 1
    assert len(core.list_work_orders()) == 1
    kinds = [e.kind for e in core.changes(after=0, limit=1000).events]
    assert "alert.opened" in kinds
    assert "work_order.created" in kinds
    assert "notification.requested" not in kinds  # notify is for critical faults; this rule is major


def test_changing_the_table_changes_behaviour(core: BohCore, monkeypatch: pytest.MonkeyPatch) -> None:
    table = dict(decisions.DECISION_EFFECTS)
    # work orders only for critical faults; every fault notifies
    table[FaultConfirmed.kind] = (
        decisions.Effect(decisions.OPEN_ALERT),
        decisions.Effect(decisions.CREATE_WORK_ORDER, "critical"),
        decisions.Effect(decisions.NOTIFY, "warning"),
    )
    monkeypatch.setattr(decisions, "DECISION_EFFECTS", table)
    core.apply_batches([batch(1, fault_readings())])
    (alert,) = core.list_alerts()
    assert core.list_work_orders() == []
    notes = [e for e in core.changes(after=0, limit=1000).events if e.kind == "notification.requested"]
    assert [(n.entity_id, n.detail["severity"]) for n in notes] == [(f"alert:{alert.id}", "major")]


def test_a_fault_cleared_decision_the_table_ignores_leaves_the_alert_active(
    core: BohCore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(decisions.DECISION_EFFECTS, FaultCleared.kind, ())
    core.apply_batches([batch(1, fault_readings())])
    clear = [vib(40 + t, 1.0) for t in range(0, DURATION_S + 2, 5)]
    core.apply_batches([batch(2, clear)])
    assert core.list_alerts()[0].cleared_ns is None


def test_effects_for_reads_the_severity_thresholds() -> None:
    assert decisions.NOTIFY in decisions.effects_for(FaultConfirmed.kind, "critical")
    assert decisions.NOTIFY not in decisions.effects_for(FaultConfirmed.kind, "major")
    assert decisions.effects_for("alert_escalated", "warning") == [
        decisions.RAISE_SEVERITY,
        decisions.PUBLISH,
        decisions.DELIVER_WEBHOOK,
    ]
    assert decisions.CREATE_WORK_ORDER in decisions.effects_for("alert_escalated", "major")
    assert decisions.effects_for("no-such-decision", "critical") == []


# -- opaque rule state -------------------------------------------------------------------


class MeanShift:
    """A learned detector: it learns the metric's running mean and confirms a fault when a
    value is three times the mean learnt from at least ``warmup`` points. Its state is its
    own (count and mean), opaque to the core."""

    warmup = 5

    def load_state(self, data: dict[str, Any] | None) -> dict[str, Any]:
        return dict(data) if data else {"n": 0, "mean": 0.0, "faulted": False}

    def dump_state(self, state: dict[str, Any]) -> dict[str, Any]:
        return dict(state)

    def phase(self, state: dict[str, Any]) -> str:
        return "fault" if state["faulted"] else "normal"

    def step(
        self, params: ConditionParams, state: dict[str, Any], points: Sequence[tuple[int, float]]
    ) -> tuple[dict[str, Any], list[ConditionEvent]]:
        out: list[ConditionEvent] = []
        s = dict(state)
        for ts, value in points:
            if s["n"] >= self.warmup and value > 3 * s["mean"] and not s["faulted"]:
                s["faulted"] = True
                evidence = {"mean": s["mean"], "value": value, "duration_s": 0.0, "max_value": value}
                out.append(FaultConfirmed(ts, evidence, "critical", f"{params.asset_id}/{params.condition}"))
            else:
                s["n"] += 1
                s["mean"] += (value - s["mean"]) / s["n"]
        return s, out


def _rule_state(core: BohCore) -> list[tuple[str, str, Any, int | None]]:
    with core._engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT rule_id, subject, state, seen_until_ns FROM rule_state")).all()
    return [(r[0], r[1], r[2] if isinstance(r[2], dict) else json.loads(r[2]), r[3]) for r in rows]


def test_a_learned_rule_keeps_its_own_state_across_calls_and_restarts(db_url: str) -> None:
    core = BohCore(db_url, condition_engine=MeanShift())
    core.migrate()
    core.load_catalog(catalog())
    core.apply_batches([batch(1, [vib(t, 2.0) for t in range(3)])])
    ((rule_id, subject, state, seen),) = _rule_state(core)
    assert rule_id.startswith("condition:")
    assert subject == "cooler-1/vibration-high"
    assert state == {"n": 3, "mean": 2.0, "faulted": False}
    assert seen == T0 + 2 * S
    core.close()

    again = BohCore(db_url, condition_engine=MeanShift())  # a new process: the state is in the database
    again.apply_batches([batch(2, [vib(3 + t, 2.0) for t in range(3)])])
    assert _rule_state(again)[0][2]["n"] == 6
    again.apply_batches([batch(3, [vib(1, 50.0)])])  # not newer than seen: never fed again
    assert _rule_state(again)[0][2]["n"] == 6
    assert again.list_alerts() == []
    again.apply_batches([batch(4, [vib(10, 7.0)])])  # 7 > 3 * 2: the learnt mean says fault
    (alert,) = again.list_alerts()
    assert (alert.severity, alert.evidence["mean"]) == ("critical", 2.0)
    assert again.list_assets()[0].rules[0].phase == "fault"  # the phase the engine reports
    kinds = [e.kind for e in again.changes(after=0, limit=1000).events]
    assert "notification.requested" in kinds  # critical: the table notifies
    again.close()


# -- escalation --------------------------------------------------------------------------


def test_an_unacknowledged_alert_escalates_at_its_threshold_and_once(timed: tuple[BohCore, Clock]) -> None:
    core, clock = timed
    core.apply_batches([batch(1, fault_readings())])
    (alert,) = core.list_alerts()
    opened = alert.opened_ns
    clock.t = opened + 600 * S - 1
    assert core.escalate_alerts() == []  # not before
    clock.t = opened + 600 * S
    assert core.escalate_alerts() == [alert.id]  # at the threshold
    assert core.get_alert(alert.id).escalation_level == 1
    clock.t += 3600 * S
    assert core.escalate_alerts() == []  # once
    escalated = [e for e in core.changes(after=0, limit=1000).events if e.kind == "alert.escalated"]
    assert [(e.entity_id, e.detail["escalation_level"]) for e in escalated] == [(str(alert.id), 1)]
    assert escalated[0].detail["unacknowledged_s"] == 600
    # the fault opened a work order already: escalation does not open a second one
    assert len(core.list_work_orders()) == 1
    notes = [e for e in core.changes(after=0, limit=1000).events if e.kind == "notification.requested"]
    assert [n.detail["decision"] for n in notes] == ["alert_escalated"]  # major: the table notifies


def test_an_acknowledged_alert_does_not_escalate(timed: tuple[BohCore, Clock]) -> None:
    core, clock = timed
    core.apply_batches([batch(1, fault_readings())])
    (alert,) = core.list_alerts()
    core.acknowledge_alert(alert.id, actor="tech")
    clock.t = alert.opened_ns + 10_000 * S
    assert core.escalate_alerts() == []
    assert core.get_alert(alert.id).escalation_level == 0


def test_escalation_creates_the_work_order_the_table_asks_for(
    timed: tuple[BohCore, Clock], monkeypatch: pytest.MonkeyPatch
) -> None:
    core, clock = timed
    table = dict(decisions.DECISION_EFFECTS)
    table[FaultConfirmed.kind] = (
        decisions.Effect(decisions.OPEN_ALERT),
        decisions.Effect(decisions.SCHEDULE_ESCALATION),
    )
    monkeypatch.setattr(decisions, "DECISION_EFFECTS", table)
    core.apply_batches([batch(1, fault_readings())])
    (alert,) = core.list_alerts()
    assert core.list_work_orders() == []
    clock.t = alert.opened_ns + 600 * S
    assert core.escalate_alerts() == [alert.id]
    (wo,) = core.list_work_orders()
    # escalating raised the alert from major to critical: the work order is urgent
    assert (wo.alert_id, wo.priority) == (alert.id, "urgent")
    assert core.get_alert(alert.id).severity == "critical"
    assert "unacknowledged" in wo.title


def test_without_the_schedule_effect_nothing_escalates(
    timed: tuple[BohCore, Clock], monkeypatch: pytest.MonkeyPatch
) -> None:
    core, clock = timed
    table = dict(decisions.DECISION_EFFECTS)
    table[FaultConfirmed.kind] = (decisions.Effect(decisions.OPEN_ALERT),)
    monkeypatch.setattr(decisions, "DECISION_EFFECTS", table)
    core.apply_batches([batch(1, fault_readings())])
    clock.t += 10**6 * S
    assert core.escalate_alerts() == []


def test_a_silence_alert_is_scheduled_for_escalation_too(db_url: str) -> None:
    clock = Clock()
    core = BohCore(db_url, clock=clock, escalation_after_s={"major": 120})
    core.migrate()
    core.load_catalog(catalog())
    core.apply_batches([batch(1, [vib(0, 1.0)])])
    clock.t = T0 + 1000 * S
    assert core.sweep_silence(gateway_timeout_s=300, device_timeout_s=0).opened == 1
    (alert,) = core.list_alerts()
    assert alert.condition == "gateway-silent"
    clock.t += 119 * S
    assert core.escalate_alerts() == []
    clock.t += S
    assert core.escalate_alerts() == [alert.id]
    assert core.list_work_orders() == []  # a gateway has no asset to work on
    core.close()


# -- the replenishment review ------------------------------------------------------------


class Adjustable:
    """The reorder-point rule with an extra number of packs the planner's forecast adds."""

    def __init__(self) -> None:
        self.extra_packs = 0
        self._rule = ReorderPoint()

    def propose(self, inputs: StockInputs) -> ReplenishmentNeeded | None:
        d = self._rule.propose(inputs)
        if d is None or not self.extra_packs:
            return d
        q = d.quantity + self.extra_packs * inputs.pack_size
        return ReplenishmentNeeded(q, {**d.explanation, "quantity": q}, d.priority, d.subject)


def test_the_review_re_sizes_open_proposals_through_the_revise_path(db_url: str) -> None:
    engine = Adjustable()
    core = BohCore(db_url, stock_engine=engine)
    core.migrate()
    core.load_catalog(catalog())
    core.apply_batches([batch(1, [units(LANE_A, 0, 8)])])
    (p,) = core.list_proposals()
    core.review_replenishment()  # nothing moved: nothing revised
    assert core.get_proposal(p.id).quantity == p.quantity
    engine.extra_packs = 2
    core.review_replenishment()
    assert core.get_proposal(p.id).quantity == p.quantity + 12
    revised = [
        e for e in core.changes(after=0, limit=1000).events if e.kind == "replenishment_proposal.revised"
    ]
    assert [(e.entity_id, e.detail["was"], e.detail["quantity"]) for e in revised] == [
        (str(p.id), p.quantity, p.quantity + 12)
    ]
    core.close()
