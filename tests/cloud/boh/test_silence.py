"""Silence alerts and command expiry, swept at controlled times (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from bohsense.cloud.boh import BohCore, StateConflict
from bohsense.cloud.boh._silence import DEVICE_SILENT, GATEWAY_SILENT, Heard, decide
from bohsense.contracts.schema import CommandResult, GatewayStatus

from .factory import GW, LANE_A, SITE, T0, VIB, S, batch, catalog, units, vib

GW_S, DEV_S = 300.0, 600.0


@dataclass
class Clock:
    now: int = T0

    def __call__(self) -> int:
        return self.now

    def at(self, seconds: float) -> None:
        self.now = T0 + int(seconds * S)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def timed(db_url: str, clock: Clock) -> Iterator[BohCore]:
    boh = BohCore(db_url, clock=clock)
    boh.migrate()
    boh.load_catalog(catalog())
    yield boh
    boh.close()


def sweep(core: BohCore) -> tuple[int, int]:
    done = core.sweep_silence(gateway_timeout_s=GW_S, device_timeout_s=DEV_S)
    return done.opened, done.resolved


def silence_alerts(core: BohCore) -> list[tuple[str, str, str]]:
    return sorted(
        (a.condition, a.subject, a.state)
        for a in core.list_alerts()
        if a.condition in (GATEWAY_SILENT, DEVICE_SILENT)
    )


def test_a_silent_gateway_opens_one_alert_and_its_data_returning_resolves_it(
    timed: BohCore, clock: Clock
) -> None:
    timed.apply_batches([batch(1, [units(LANE_A, 0, 10)])])
    clock.at(GW_S - 1)
    assert sweep(timed) == (0, 0)
    clock.at(GW_S + 1)
    assert sweep(timed) == (1, 0)
    assert sweep(timed) == (0, 0)  # one open alert per gateway, however many sweeps
    clock.at(DEV_S + 100)  # its lane is silent too, but the gateway's alert says so already
    assert sweep(timed) == (0, 0)
    assert silence_alerts(timed) == [(GATEWAY_SILENT, f"gateway:{GW}", "open")]
    (alert,) = timed.list_alerts(state="open")
    assert (alert.asset_id, alert.site, alert.severity) == (None, SITE, "major")
    assert alert.evidence["last_heard_ns"] == T0
    assert alert.evidence["timeout_s"] == GW_S
    assert alert.evidence["gateway_state"] == "unknown"  # it never sent a status

    timed.apply_batches([batch(2, [units(LANE_A, DEV_S + 100, 10)])])  # data returns
    assert sweep(timed) == (0, 1)
    assert silence_alerts(timed) == [(GATEWAY_SILENT, f"gateway:{GW}", "resolved")]
    resolved = timed.get_alert(alert.id)
    assert resolved.cleared_ns == clock.now
    trail = timed.audit(entity="alert", entity_id=str(alert.id))
    assert [(a.from_state, a.to_state, a.actor) for a in trail] == [
        (None, "open", "system"),
        ("open", "resolved", "system"),
    ]
    clock.at(DEV_S + 100 + GW_S + 1)  # silent again: a new alert
    assert sweep(timed) == (1, 0)


def test_a_status_is_hearing_from_the_gateway(timed: BohCore, clock: Clock) -> None:
    timed.apply_batches([batch(1, [units(LANE_A, 0, 10)])])
    timed.record_status(GatewayStatus(gateway=GW, state="online", ts=T0 + 250 * S, site=SITE))
    clock.at(GW_S + 1)
    assert sweep(timed) == (0, 0)
    clock.at(250 + GW_S + 1)
    assert sweep(timed) == (1, 0)


def test_a_silent_device_of_a_live_gateway_opens_its_own_alert(timed: BohCore, clock: Clock) -> None:
    timed.apply_batches([batch(1, [units(LANE_A, 0, 10), vib(0, 1.0)])])
    timed.apply_batches([batch(2, [vib(t, 1.0) for t in range(100, 701, 100)])])  # vibration goes on
    clock.at(DEV_S + 1)
    assert sweep(timed) == (1, 0)
    assert silence_alerts(timed) == [(DEVICE_SILENT, f"device:{GW}/{LANE_A}", "open")]
    (alert,) = timed.list_alerts(state="open")
    assert (alert.asset_id, alert.evidence["device"], alert.severity) == (None, LANE_A, "warning")
    timed.acknowledge_alert(alert.id, actor="tech-7")
    timed.apply_batches([batch(3, [units(LANE_A, DEV_S + 1, 9)])])
    assert sweep(timed) == (0, 1)
    assert timed.get_alert(alert.id).state == "resolved"
    trail = timed.audit(entity="alert", entity_id=str(alert.id))
    assert (trail[-1].from_state, trail[-1].to_state) == ("acknowledged", "resolved")


def test_an_asset_sensor_gone_silent_names_its_asset(timed: BohCore, clock: Clock) -> None:
    timed.apply_batches([batch(1, [vib(0, 1.0)])])
    timed.apply_batches([batch(2, [units(LANE_A, t, 10) for t in range(100, 701, 100)])])
    clock.at(DEV_S + 1)
    assert sweep(timed) == (1, 0)
    (alert,) = timed.list_alerts(state="open")
    assert (alert.subject, alert.asset_id) == (f"device:{GW}/{VIB}", "cooler-1")


def test_a_backlog_drained_after_a_wan_outage_raises_no_device_alert(timed: BohCore, clock: Clock) -> None:
    timed.apply_batches([batch(1, [units(LANE_A, 0, 10), vib(0, 1.0)])])
    clock.at(3600)  # an hour later the gateway is back; its backlog has barely started
    timed.record_status(GatewayStatus(gateway=GW, state="online", ts=clock.now, site=SITE))
    timed.apply_batches([batch(2, [units(LANE_A, 60, 10), vib(60, 1.0)])])
    assert sweep(timed) == (0, 0)
    assert timed.list_alerts() == []


def test_a_cloud_that_was_down_does_not_blame_the_gateways(timed: BohCore, clock: Clock) -> None:
    timed.apply_batches([batch(1, [units(LANE_A, 0, 10)])])
    clock.at(3600)
    started = clock.now  # the cloud starts after an hour down
    clock.at(3600 + GW_S - 1)
    done = timed.sweep_silence(gateway_timeout_s=GW_S, device_timeout_s=DEV_S, listening_since_ns=started)
    assert done.opened == 0
    clock.at(3600 + GW_S + 1)  # listening for longer than the timeout, still nothing
    done = timed.sweep_silence(gateway_timeout_s=GW_S, device_timeout_s=DEV_S, listening_since_ns=started)
    assert done.opened == 1


def test_a_timeout_of_zero_turns_silence_alerts_off(timed: BohCore, clock: Clock) -> None:
    timed.apply_batches([batch(1, [units(LANE_A, 0, 10)])])
    clock.at(10 * DEV_S)
    assert timed.sweep_silence(gateway_timeout_s=0, device_timeout_s=0).opened == 0
    assert timed.list_alerts() == []


def test_a_gateway_not_in_the_catalog_or_retired_is_not_watched(timed: BohCore, clock: Clock) -> None:
    cat = catalog()
    cat["gateways"] = [*cat["gateways"], {"id": "gw-spare", "site": SITE}]
    timed.load_catalog(cat)
    timed.record_status(GatewayStatus(gateway="gw-spare", state="online", ts=T0, site=SITE))
    timed.record_status(GatewayStatus(gateway="gw-stranger", state="online", ts=T0, site=SITE))  # pending
    clock.at(GW_S + 1)
    assert sweep(timed) == (1, 0)
    assert silence_alerts(timed) == [(GATEWAY_SILENT, "gateway:gw-spare", "open")]  # not the stranger
    timed.change_catalog(lambda ops: ops.retire_gateway("gw-spare"), actor="ops")
    assert sweep(timed) == (0, 1)  # retired: its silence alert is closed, not left open forever
    (alert,) = timed.list_alerts()
    assert timed.audit(entity="alert", entity_id=str(alert.id))[-1].detail["condition"] == "no longer watched"
    clock.at(10 * GW_S)
    assert sweep(timed) == (0, 0)


def test_a_person_cannot_resolve_a_gateway_that_is_still_silent(timed: BohCore, clock: Clock) -> None:
    timed.apply_batches([batch(1, [units(LANE_A, 0, 10)])])
    clock.at(GW_S + 1)
    sweep(timed)
    (alert,) = timed.list_alerts(state="open")
    timed.acknowledge_alert(alert.id, actor="tech-7")  # acknowledging is fine
    with pytest.raises(StateConflict, match="still silent") as info:
        timed.resolve_alert(alert.id, actor="tech-7")
    assert info.value.reason == "still-silent"
    assert sweep(timed) == (0, 0)  # and so no second alert either


def test_two_workers_sweeping_open_one_alert(timed: BohCore, clock: Clock, db_url: str) -> None:
    other = BohCore(db_url, clock=clock)
    timed.apply_batches([batch(1, [units(LANE_A, 0, 10)])])
    clock.at(GW_S + 1)
    assert sweep(timed)[0] + sweep(other)[0] == 1
    assert len(timed.list_alerts()) == 1
    other.close()


def test_commands_left_sent_past_the_timeout_expire(timed: BohCore, clock: Clock) -> None:
    timed.record_status(GatewayStatus(gateway=GW, state="online", ts=T0, site=SITE))
    stale = timed.create_command(GW, "ping", {}, actor="ops")
    clock.at(200)
    fresh = timed.create_command(GW, "ping", {}, actor="ops")
    answered = timed.create_command(GW, "ping", {}, actor="ops")
    timed.record_command_result(CommandResult(gateway=GW, id=answered.id, command="ping", ok=True, ts=T0))
    clock.at(301)
    assert timed.expire_commands(timeout_s=300) == [stale.id]
    assert timed.expire_commands(timeout_s=300) == []
    got = timed.get_command(stale.id)
    assert (got.state, got.reason, got.detail) == (
        "expired",
        "expired",
        "no result from the gateway within 300 s",
    )
    assert timed.get_command(fresh.id).state == "sent"
    assert timed.get_command(answered.id).state == "succeeded"
    # a result arriving after the expiry changes nothing
    timed.record_command_result(CommandResult(gateway=GW, id=stale.id, command="ping", ok=True, ts=T0))
    assert timed.get_command(stale.id).state == "expired"
    trail = timed.audit(entity="command", entity_id=stale.id)
    assert [(a.from_state, a.to_state, a.actor) for a in trail] == [
        (None, "sent", "ops"),
        ("sent", "expired", "system"),
    ]


def test_decide_is_pure_and_never_floods() -> None:
    def heard(condition: str, device: str, last_s: float, newest_s: float = 0) -> Heard:
        return Heard(
            condition, "g", device, "s", None, T0 + int(last_s * S), int(100 * S), T0 + int(newest_s * S)
        )

    # d1 lagged its gateway by 150 s before the gateway fell silent; d2 kept up
    subjects = [
        heard(GATEWAY_SILENT, "", 150),
        heard(DEVICE_SILENT, "d1", 0, 150),
        heard(DEVICE_SILENT, "d2", 150, 150),
    ]
    events = decide(subjects, {}, T0 + 251 * S)
    assert [e.heard.subject for e in events] == ["gateway:g"]  # not one per device as well
    events = decide(subjects, {("device:g/d1", DEVICE_SILENT): 7}, T0 + 251 * S)
    assert [e.heard.subject for e in events] == ["gateway:g"]  # d1 stays open: still behind
    events = decide(subjects, {}, T0 + 200 * S)  # the gateway is not silent yet: d1 is
    assert [e.heard.subject for e in events] == ["device:g/d1"]
    back = [heard(GATEWAY_SILENT, "", 300), heard(DEVICE_SILENT, "d1", 300, 300)]
    events = decide(back, {("device:g/d1", DEVICE_SILENT): 7, ("gateway:g", GATEWAY_SILENT): 8}, T0 + 301 * S)
    assert sorted(type(e).__name__ for e in events) == ["HeardAgain", "HeardAgain"]
