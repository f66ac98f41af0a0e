"""The alert engine on SQLite and PostgreSQL: lifecycle with notices, occurrences instead of
duplicates, auto-resolution, reopening, escalation to a second recipient, detector rules
with diagnosis and evidence-rich work orders, and the feedback of closed work orders."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from typing import Any

import pytest

from bohsense.cloud.boh import AlertPolicy, BohCore, CatalogError, NoticeRecord, StateConflict
from bohsense.cloud.boh.rules import ConditionParams, ModelRegistry, effective
from bohsense.contracts.schema import Reading

from .factory import CLEAR, DURATION_S, LIMIT, SITE, T0, VIB, S, batch, catalog

MIN = 60 * S
DETECTOR_METRICS = ["vib_x_velocity_rms_mm_s", "vib_x_env_bpfo", "vib_x_env_bpfi", "vib_x_env_bsf"]


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


def engine_catalog(detector: bool = False) -> dict[str, Any]:
    cat = catalog()
    asset = cat["assets"][0]
    asset["recipients"] = ["tech.anna", "lead.bruno"]
    if detector:
        asset["rules"].append(
            {
                "condition": "vibration-anomaly",
                "engine": "detector",
                "model": "condition-anomaly",
                "metrics": DETECTOR_METRICS,
                "severity": "major",
                "what_to_check": "listen to the bearing",
            }
        )
    cat["maintenance"] = [
        {
            "kind": "compressor",
            "fault": "outer_race",
            "checks": ["envelope reading at the drive end"],
            "spare_parts": [{"part": "bearing 6205-2RS", "quantity": 2}],
        },
        {"kind": "compressor", "checks": ["check the mounts"]},
    ]
    return cat


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def engine(db_url: str, clock: Clock) -> Iterator[BohCore]:
    core = BohCore(
        db_url,
        clock=clock,
        alert_policy=AlertPolicy(reopen_window_s=3600, auto_resolve_after_s=600),
        escalation_after_s={"major": 900, "critical": 300},
    )
    core.migrate()
    core.load_catalog(engine_catalog(detector=True))
    yield core
    core.close()


def vib_at(t_s: float, value: float) -> Reading:
    return Reading(VIB, "vib_rms_mm_s", T0 + int(t_s * S), value)


def span(start_s: float, seconds: float, value: float, step_s: float = 5) -> list[Reading]:
    return [vib_at(start_s + i * step_s, value) for i in range(int(seconds / step_s) + 1)]


def notices(core: BohCore) -> list[dict[str, Any]]:
    got: list[NoticeRecord] = []
    core.claim_alert_notices(lambda n: got.append(n) or True)
    return [n.payload for n in got]


def test_lifecycle_open_acknowledge_resolve_with_notices_for_technicians(
    engine: BohCore, clock: Clock
) -> None:
    engine.apply_batches([batch(1, span(0, DURATION_S, LIMIT + 1))])
    (alert,) = engine.list_alerts()
    assert (alert.state, alert.occurrences, alert.model, alert.recipients) == (
        "open",
        1,
        "threshold",
        ["tech.anna"],
    )
    opened = notices(engine)
    assert [(n["event"], n["alert_id"], n["gateway"], n["recipients"]) for n in opened] == [
        ("opened", alert.id, "gw-t1", ["tech.anna"])
    ]
    assert opened[0]["work_order_id"] == engine.list_work_orders()[0].id
    assert notices(engine) == []  # published once
    engine.acknowledge_alert(alert.id, actor="tech.anna")
    with pytest.raises(StateConflict, match="still active"):
        engine.resolve_alert(alert.id, actor="tech.anna")
    engine.apply_batches([batch(2, span(40, DURATION_S, CLEAR - 1))])
    clock.now += MIN
    resolved = engine.resolve_alert(alert.id, actor="tech.anna", note="tightened the mounts")
    assert (resolved.state, resolved.resolved_ns) == ("resolved", clock.now)
    assert [(n["event"], n["actor"]) for n in notices(engine)] == [
        ("acknowledged", "tech.anna"),
        ("resolved", "tech.anna"),
    ]


def test_recurrences_count_as_occurrences_of_the_one_open_alert(engine: BohCore) -> None:
    engine.apply_batches([batch(1, span(0, DURATION_S, LIMIT + 1))])
    engine.apply_batches([batch(2, span(40, DURATION_S, CLEAR - 1))])  # cleared, still open
    engine.apply_batches([batch(3, span(100, DURATION_S, LIMIT + 2))])  # back
    engine.apply_batches([batch(4, span(100, DURATION_S, LIMIT + 2))])  # the same readings again
    (alert,) = engine.list_alerts()
    assert (alert.state, alert.occurrences, alert.cleared_ns) == ("open", 2, None)
    assert len(engine.list_work_orders()) == 1
    assert [n["event"] for n in notices(engine)] == ["opened", "occurred"]


def test_an_alert_cleared_long_enough_resolves_itself(engine: BohCore, clock: Clock) -> None:
    engine.apply_batches([batch(1, span(0, DURATION_S, LIMIT + 1))])
    engine.apply_batches([batch(2, span(40, DURATION_S, CLEAR - 1))])
    (alert,) = engine.list_alerts()
    assert alert.cleared_ns == T0 + 70 * S
    clock.now = alert.cleared_ns + 599 * S
    assert engine.auto_resolve_alerts() == []
    clock.now = alert.cleared_ns + 600 * S
    assert engine.auto_resolve_alerts() == [alert.id]
    assert engine.get_alert(alert.id).state == "resolved"
    assert [n["event"] for n in notices(engine)] == ["opened", "resolved"]
    assert engine.auto_resolve_alerts() == []


def test_a_still_active_condition_is_never_auto_resolved(engine: BohCore, clock: Clock) -> None:
    engine.apply_batches([batch(1, span(0, DURATION_S, LIMIT + 1))])
    clock.now += 86_400 * S
    assert engine.auto_resolve_alerts() == []


def test_a_recurrence_within_the_window_reopens_and_outside_it_opens_anew(
    engine: BohCore, clock: Clock
) -> None:
    engine.apply_batches([batch(1, span(0, DURATION_S, LIMIT + 1))])
    engine.apply_batches([batch(2, span(40, DURATION_S, CLEAR - 1))])
    (first,) = engine.list_alerts()
    (wo,) = engine.list_work_orders()
    engine.transition_work_order(wo.id, "in_progress", actor="tech.anna")
    engine.transition_work_order(wo.id, "done", actor="tech.anna")
    engine.transition_work_order(wo.id, "closed", actor="lead.bruno")  # resolves the alert
    assert engine.get_alert(first.id).state == "resolved"
    clock.now += 30 * MIN
    engine.apply_batches([batch(3, span(200, DURATION_S, LIMIT + 1))])
    (alert,) = engine.list_alerts()
    assert (alert.id, alert.state, alert.reopened, alert.occurrences) == (first.id, "open", 1, 2)
    assert [w.state for w in engine.list_work_orders()] == ["open", "closed"]  # a new one: the first closed
    engine.apply_batches([batch(4, span(300, DURATION_S, CLEAR - 1))])
    engine.resolve_alert(first.id, actor="tech.anna")
    clock.now += 2 * 3600 * S  # past the reopen window
    engine.apply_batches([batch(5, span(500, DURATION_S, LIMIT + 1))])
    assert [(a.state, a.reopened) for a in engine.list_alerts()] == [("open", 0), ("resolved", 1)]
    assert [n["event"] for n in notices(engine)] == ["opened", "resolved", "reopened", "resolved", "opened"]


def test_an_unacknowledged_alert_escalates_to_a_higher_severity_and_the_second_recipient(
    engine: BohCore, clock: Clock
) -> None:
    engine.apply_batches([batch(1, span(0, DURATION_S, LIMIT + 1))])
    (alert,) = engine.list_alerts()
    notices(engine)
    clock.now += 899 * S
    assert engine.escalate_alerts() == []
    clock.now += S
    assert engine.escalate_alerts() == [alert.id]
    up = engine.get_alert(alert.id)
    assert (up.severity, up.escalation_level, up.recipients) == ("critical", 1, ["tech.anna", "lead.bruno"])
    (n,) = notices(engine)
    assert (n["event"], n["severity"], n["recipients"]) == (
        "escalated",
        "critical",
        ["tech.anna", "lead.bruno"],
    )
    escalated = [a for a in engine.audit() if a.kind == "alert.escalated"]
    assert escalated[0].detail["added"] == ["lead.bruno"]
    clock.now += 3600 * S
    assert engine.escalate_alerts() == []  # once


def test_an_acknowledged_alert_does_not_escalate(engine: BohCore, clock: Clock) -> None:
    engine.apply_batches([batch(1, span(0, DURATION_S, LIMIT + 1))])
    (alert,) = engine.list_alerts()
    engine.acknowledge_alert(alert.id, actor="tech.anna")
    clock.now += 3600 * S
    assert engine.escalate_alerts() == []


def bearing_readings(start: int, count: int, fault_from: int | None, seed: int = 3) -> list[Reading]:
    """1 Hz feature vectors of a compressor; from ``fault_from`` an outer-race defect grows
    over a minute: velocity up, the BPFO envelope energy up tenfold, the others as they were."""
    rng = random.Random(seed + start)
    out = []
    for i in range(start, start + count):
        f = 0.0 if fault_from is None else min(1.0, max(0.0, (i - fault_from) / 60))
        ts = T0 + i * S
        values = {
            "vib_x_velocity_rms_mm_s": 1.8 * (1 + 0.1 * math.sin(i / 60)) + rng.gauss(0, 0.1) + 3 * f,
            "vib_x_env_bpfo": (1 + rng.gauss(0, 0.08)) * (1 + 9 * f),
            "vib_x_env_bpfi": 0.8 * (1 + rng.gauss(0, 0.08)),
            "vib_x_env_bsf": 0.5 * (1 + rng.gauss(0, 0.08)),
        }
        out += [Reading(VIB, m, ts, v) for m, v in values.items()]
    return out


def feed(core: BohCore, readings: list[Reading], seq0: int, per_batch: int = 200) -> int:
    seq = seq0
    for k in range(0, len(readings), per_batch):
        seq += 1
        core.apply_batches([batch(seq, readings[k : k + per_batch])])
    return seq


def test_a_detector_rule_learns_normal_survives_a_restart_and_diagnoses_the_bearing_fault(
    db_url: str, clock: Clock
) -> None:
    core = BohCore(db_url, clock=clock)
    core.migrate()
    core.load_catalog(engine_catalog(detector=True))
    seq = feed(core, bearing_readings(0, 250, None), 0)
    assert core.list_alerts() == []
    core.close()
    core = BohCore(db_url, clock=clock)  # a restart: the detector's state is in rule_state
    try:
        seq = feed(core, bearing_readings(250, 250, 300), seq)
        (alert,) = core.list_alerts()
        assert (alert.condition, alert.model, alert.severity) == (
            "outer_race",
            "condition-anomaly@1",
            "major",
        )
        ev = alert.evidence
        assert ev["score"] >= ev["threshold"] == 0.9
        assert ev["first_over_ns"] > T0 + 300 * S  # never before the fault began
        assert ev["diagnosis"]["label"] == "outer_race"
        bpfo = ev["diagnosis"]["classes"]["outer_race"]
        assert bpfo["metric"] == "vib_x_env_bpfo"
        assert bpfo["db_above_baseline"] >= 6.0
        (wo,) = core.list_work_orders()
        assert wo.alert_id == alert.id
        assert wo.priority == "high"
        assert wo.assignee == "tech.anna"
        assert wo.checks == ["listen to the bearing", "envelope reading at the drive end", "check the mounts"]
        assert wo.spare_parts == [{"part": "bearing 6205-2RS", "quantity": 2.0}]
        assert wo.evidence["diagnosis"]["label"] == "outer_race"
        assert set(wo.evidence["envelope"]) == {"vib_x_env_bpfo", "vib_x_env_bpfi", "vib_x_env_bsf"}
        trend = wo.evidence["trend"]
        assert len(trend["ts_ns"]) == len(trend["features"]["vib_x_env_bpfo"]) > 10
        assert trend["ts_ns"] == sorted(trend["ts_ns"])
        assert "outer_race" in wo.description
        assert "bearing 6205-2RS" in wo.description
        # the rule's alert cannot be resolved while the detector still sees the fault
        with pytest.raises(StateConflict, match="still active"):
            core.resolve_alert(alert.id, actor="tech.anna")
        # the fault persists: no second alert, no second work order
        feed(core, bearing_readings(500, 100, 300), seq)
        assert len(core.list_alerts()) == 1
        assert len(core.list_work_orders()) == 1
    finally:
        core.close()


def test_a_catalog_naming_an_unknown_detector_model_is_refused(db_url: str) -> None:
    core = BohCore(db_url)
    core.migrate()
    cat = engine_catalog(detector=True)
    cat["assets"][0]["rules"][-1]["model"] = "no-such-model"
    try:
        with pytest.raises(CatalogError, match="no detector model 'no-such-model'"):
            core.load_catalog(cat)
        cat["assets"][0]["rules"][-1].update(model="condition-anomaly", colour="red")
        with pytest.raises(CatalogError, match="unknown field"):
            core.load_catalog(cat)
    finally:
        core.close()


def close(core: BohCore, wo_id: int, code: str) -> None:
    from bohsense.cloud.boh import WorkOrderChanges

    core.update_work_order(
        wo_id, WorkOrderChanges(resolution_code=code, root_cause="seen on site"), actor="t"
    )
    for to in ("in_progress", "done", "closed"):
        core.transition_work_order(wo_id, to, actor="tech.anna")


def test_no_fault_found_lowers_the_rules_confidence_and_a_confirmed_fault_becomes_a_label(
    engine: BohCore, clock: Clock
) -> None:
    engine.apply_batches([batch(1, span(0, DURATION_S, LIMIT + 1))])
    engine.apply_batches([batch(2, span(40, DURATION_S, CLEAR - 1))])
    (wo,) = engine.list_work_orders()
    close(engine, wo.id, "no_fault_found")
    rule = next(r for r in engine.list_assets()[0].rules if r.condition == "vibration-high")
    assert rule.no_fault_found == 1
    assert engine.list_fault_labels() == []
    kinds = [a.kind for a in engine.audit()]
    assert "condition_rule.confidence_lowered" in kinds
    # the next fault needs twice the duration now: 30 s over the limit no longer opens one
    clock.now += 2 * 3600 * S
    engine.apply_batches([batch(3, span(200, DURATION_S, LIMIT + 1))])
    assert [a.state for a in engine.list_alerts()] == ["resolved"]
    engine.apply_batches([batch(4, span(235, DURATION_S, LIMIT + 1))])  # 65 s over in all
    alert = engine.list_alerts()[0]
    assert alert.state == "open"
    assert alert.evidence["min_duration_s"] == 2 * DURATION_S
    engine.apply_batches([batch(5, span(300, 2 * DURATION_S, CLEAR - 1))])
    wo2 = next(w for w in engine.list_work_orders() if w.state == "open")
    close(engine, wo2.id, "replaced-part")
    (label,) = engine.list_fault_labels()
    assert (label.asset_id, label.fault, label.work_order_id, label.resolution_code) == (
        "cooler-1",
        "vibration-high",
        wo2.id,
        "replaced-part",
    )
    assert label.start_ns == alert.evidence["first_over_ns"]
    assert label.end_ns == alert.evidence["confirmed_ns"]
    assert label.root_cause == "seen on site"


def test_no_fault_found_raises_a_detectors_threshold_and_duration() -> None:
    model = ModelRegistry.load().get("condition-anomaly")
    params = ConditionParams("a", "c", "", 0, 0, 0, engine="detector", model=model.name)
    assert effective(model, params) == (model.on, model.off, model.min_duration_s)
    on, off, duration = effective(model, ConditionParams("a", "c", "", 0, 0, 0, no_fault_found=1))
    assert (on, duration) == (pytest.approx(1 - (1 - model.on) / 2), 2 * model.min_duration_s)
    assert off == pytest.approx(1 - (1 - model.off) / 2)
    capped = effective(model, ConditionParams("a", "c", "", 0, 0, 0, no_fault_found=9))
    assert capped == effective(model, ConditionParams("a", "c", "", 0, 0, 0, no_fault_found=3))


def test_the_alert_feed_filters(engine: BohCore, clock: Clock) -> None:
    from bohsense.cloud.boh import AlertFilter

    engine.apply_batches([batch(1, span(0, DURATION_S, LIMIT + 1))])
    (alert,) = engine.list_alerts()
    assert engine.list_alerts(where=AlertFilter(min_severity="major")) == [alert]
    assert engine.list_alerts(where=AlertFilter(min_severity="critical")) == []
    assert engine.list_alerts(where=AlertFilter(recipient="tech.anna")) == [alert]
    assert engine.list_alerts(where=AlertFilter(recipient="lead.bruno")) == []
    assert engine.list_alerts(where=AlertFilter(condition="vibration-high", open_only=True)) == [alert]
    assert engine.list_alerts(where=AlertFilter(since_ns=clock.now + 1)) == []
    assert engine.list_alerts(site=SITE, where=AlertFilter(since_ns=clock.now)) == [alert]


def test_racing_transactions_on_one_key_make_one_alert_and_one_work_order(pg_url: str) -> None:
    """Eight transactions raise the same fault at once, bypassing every lock but the
    database's: the partial unique index and the upsert leave one alert and one work order.
    An occurrence counts only when newer (event time) than the last one counted, so the
    count depends on the commit order: between one and eight."""
    import threading

    from bohsense.cloud.boh._db import write_conn
    from bohsense.cloud.boh.rules import FaultConfirmed

    core = BohCore(pg_url)
    core.migrate()
    core.load_catalog(engine_catalog())
    params = ConditionParams("cooler-1", "vibration-high", "vib_rms_mm_s", LIMIT, CLEAR, DURATION_S, "major")
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def raise_one(i: int) -> None:
        try:
            with write_conn(core._engine) as conn:
                barrier.wait(10)
                d = FaultConfirmed(
                    T0 + i * S, {"metric": "vib_rms_mm_s", "i": i}, "major", "cooler-1/vibration-high"
                )
                core._applier.executor.fault(conn, params, d, T0 + i * S)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=raise_one, args=(i,)) for i in range(8)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert errors == []
        (alert,) = core.list_alerts()
        assert alert.state == "open"
        assert 1 <= alert.occurrences <= 8
        assert alert.last_occurrence_ns is not None
        assert alert.last_occurrence_ns >= T0 + (alert.occurrences - 1) * S
        assert [w.alert_id for w in core.list_work_orders()] == [alert.id]
        assert [a.kind for a in core.audit()].count("alert.opened") == 1
    finally:
        core.close()


def test_a_local_alarm_reported_twice_counts_once_and_resolves_itself_once_cleared(
    engine: BohCore, clock: Clock
) -> None:
    from tests.cloud.ingest._events import alarm, wire

    def with_events(seq: int, *events: Any) -> Any:
        return batch(seq).__class__(
            gateway=batch(seq).gateway,
            seq=seq,
            sent=T0,
            readings=[],
            site=SITE,
            events=[wire(e) for e in events],
        )

    engine.apply_batches([with_events(1, alarm(VIB, T0))])
    engine.apply_batches([with_events(2, alarm(VIB, T0))])  # the same alarm, reported again
    engine.apply_batches([with_events(3, alarm(VIB, T0 + 5 * S))])  # raised again later
    (a,) = engine.list_alerts()
    assert (a.condition, a.occurrences, a.model, a.recipients) == (
        "alarm:door-open",
        2,
        "edge-alarm",
        ["tech.anna"],
    )
    assert [n["event"] for n in notices(engine)] == ["opened", "occurred"]
    engine.apply_batches([with_events(4, alarm(VIB, T0 + 9 * S, active=False))])
    clock.now = T0 + 9 * S + 600 * S
    assert engine.auto_resolve_alerts() == [a.id]


def test_model_files_are_checked_and_versioned(tmp_path: Any) -> None:
    import json

    from bohsense.cloud.boh import ModelError

    packaged = ModelRegistry.load().get("condition-anomaly")
    assert packaged.ref == "condition-anomaly@1"
    assert len(packaged.sha256) == 64
    good = {"name": "fan", "version": "3", "kind": "level_shift", "on": 0.8, "off": 0.4, "min_duration_s": 5}
    (tmp_path / "fan.json").write_text(json.dumps(good))
    assert ModelRegistry.load(tmp_path).get("fan").ref == "fan@3"
    for bad, message in (
        ({**good, "colour": "red"}, "unknown field"),
        ({**good, "on": 0.3}, "off <= on"),
        ({**good, "kind": "crystal-ball"}, "unknown detector kind"),
        ({**good, "name": "other"}, "must be the file's name"),
    ):
        (tmp_path / "fan.json").write_text(json.dumps(bad))
        with pytest.raises(ModelError, match=message):
            ModelRegistry.load(tmp_path)
    (tmp_path / "fan.json").write_text("{not json")
    with pytest.raises(ModelError, match=r"fan\.json"):
        ModelRegistry.load(tmp_path)
    with pytest.raises(ModelError, match="does not exist"):
        ModelRegistry.load(tmp_path / "nowhere")
