"""The condition rule through apply_batches: one alert and one work order per sustained fault."""

from __future__ import annotations

from bohsense.cloud.boh import BohCore
from bohsense.contracts.schema import Reading

from .factory import CLEAR, DURATION_S, LIMIT, T0, S, batch, vib


def sustained(start_s: float, seconds: float, value: float, step_s: float = 5) -> list[Reading]:
    n = int(seconds / step_s) + 1
    return [vib(start_s + i * step_s, value) for i in range(n)]


def test_a_sustained_fault_opens_exactly_one_alert_and_one_work_order(core: BohCore) -> None:
    readings = sustained(0, DURATION_S + 20, LIMIT + 2)
    # spread over several batches and calls, and repeated: still one alert
    core.apply_batches([batch(1, readings[:3]), batch(2, readings[3:6])])
    core.apply_batches([batch(3, readings[6:]), batch(4, sustained(60, 60, LIMIT + 3))])
    (alert,) = core.list_alerts()
    assert (alert.asset_id, alert.condition, alert.severity, alert.state) == (
        "cooler-1",
        "vibration-high",
        "major",
        "open",
    )
    ev = alert.evidence
    assert ev["first_over_ns"] == T0
    assert ev["duration_s"] == DURATION_S
    assert ev["limit"] == LIMIT
    assert ev["max_value"] == LIMIT + 2
    assert alert.what_to_check == "bearing and mounts"
    (wo,) = core.list_work_orders()
    assert (wo.alert_id, wo.asset_id, wo.state, wo.kind) == (alert.id, "cooler-1", "open", "maintenance")
    assert "bearing and mounts" in wo.description
    trail = [(a.entity, a.to_state) for a in core.audit() if not a.entity.startswith("catalog.")]
    assert trail == [("alert", "open"), ("work_order", "open")]


def test_a_short_spike_opens_nothing(core: BohCore) -> None:
    core.apply_batches(
        [batch(1, [vib(0, 2), vib(5, LIMIT + 5), vib(20, LIMIT + 5), vib(25, 3), vib(40, LIMIT + 1)])]
    )
    core.apply_batches([batch(2, [vib(45, 2)])])
    assert core.list_alerts() == []
    assert core.list_work_orders() == []


def test_backfilled_readings_do_not_rewind_the_rule(core: BohCore) -> None:
    core.apply_batches([batch(1, [vib(100, 2)])])
    core.apply_batches([batch(2, sustained(0, 60, LIMIT + 5))])  # all older than t=100
    assert core.list_alerts() == []


def test_hysteresis_clears_only_after_the_value_stays_below_clear_below(core: BohCore) -> None:
    core.apply_batches([batch(1, sustained(0, DURATION_S, LIMIT + 1))])
    (alert,) = core.list_alerts()
    # between clear_below and limit: still a fault, nothing recorded
    core.apply_batches([batch(2, sustained(40, 60, (LIMIT + CLEAR) / 2))])
    assert core.get_alert(alert.id).cleared_ns is None
    # below clear_below, but not long enough, then up again
    core.apply_batches([batch(3, [vib(110, CLEAR - 1), vib(120, CLEAR - 1), vib(130, CLEAR + 1)])])
    assert core.get_alert(alert.id).cleared_ns is None
    core.apply_batches([batch(4, sustained(140, DURATION_S, CLEAR - 1))])
    cleared = core.get_alert(alert.id)
    assert cleared.cleared_ns == T0 + (140 + DURATION_S) * S
    assert cleared.state == "open"  # a technician resolves it, not the rule
    (record,) = [a for a in core.audit(entity="alert") if a.detail.get("condition") == "cleared"]
    assert (record.from_state, record.to_state) == ("open", "open")
    # the fault comes back while the alert is still open: no second alert
    core.apply_batches([batch(5, sustained(200, DURATION_S + 5, LIMIT + 4))])
    assert len(core.list_alerts()) == 1
    assert len(core.list_work_orders()) == 1


def test_after_resolution_a_recurrence_within_the_reopen_window_reopens_the_alert(core: BohCore) -> None:
    core.apply_batches([batch(1, sustained(0, DURATION_S, LIMIT + 1))])
    (first,) = core.list_alerts()
    core.apply_batches([batch(2, sustained(40, DURATION_S, CLEAR - 1))])  # the fix worked
    core.resolve_alert(first.id, actor="tech-1", note="tightened mounts")
    core.apply_batches([batch(3, sustained(100, DURATION_S, LIMIT + 1))])
    (alert,) = core.list_alerts()
    assert (alert.id, alert.state, alert.occurrences, alert.reopened) == (first.id, "open", 2, 1)
    assert len(core.list_work_orders()) == 1  # its work order is still open


def test_after_resolution_a_fault_outside_the_reopen_window_opens_a_new_alert(db_url: str) -> None:
    from bohsense.cloud.boh import AlertPolicy

    from .factory import catalog

    core = BohCore(db_url, alert_policy=AlertPolicy(reopen_window_s=0))
    core.migrate()
    core.load_catalog(catalog())
    try:
        core.apply_batches([batch(1, sustained(0, DURATION_S, LIMIT + 1))])
        (first,) = core.list_alerts()
        core.apply_batches([batch(2, sustained(40, DURATION_S, CLEAR - 1))])
        core.resolve_alert(first.id, actor="tech-1", note="tightened mounts")
        core.apply_batches([batch(3, sustained(100, DURATION_S, LIMIT + 1))])
        alerts = core.list_alerts()
        assert [a.state for a in alerts] == ["open", "resolved"]
        assert len(core.list_work_orders()) == 2
    finally:
        core.close()


def test_readings_of_other_metrics_and_unmapped_devices_are_ignored_by_rules(core: BohCore) -> None:
    from bohsense.contracts.schema import Reading

    other = [Reading("vib-01", "temp_c", T0 + i * S * 10, 99.0) for i in range(10)]
    stranger = [Reading("vib-99", "vib_rms_mm_s", T0 + i * S * 10, 99.0) for i in range(10)]
    core.apply_batches([batch(1, other + stranger)])
    assert core.list_alerts() == []
    devices = {d.device: d for d in core.list_devices()}
    assert devices["vib-99"].kind == "unknown"  # auto-registered, no mapping
    assert devices["vib-99"].first_seen_ns == T0
    assert devices["vib-99"].last_seen_ns == T0 + 90 * S
