"""Events in the BOH core: stored once per (gateway, seq, idx) and handed to the handler of
their kind inside the transaction that applies their batch (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from bohsense.cloud.boh import AlarmReported, BohCore, EventContext, EventHandlers, GatewaySpec, HandlerFailed
from bohsense.cloud.boh._models import DeviceEvent
from bohsense.cloud.ports import BatchEvent
from bohsense.contracts.events import Event, EventError
from bohsense.contracts.schema import ReadingBatch
from tests.cloud.ingest._events import alarm, pick, raw_wire, wire

from .factory import GW, SITE, T0, batch


class Recorder:
    def __init__(self) -> None:
        self.got: list[tuple[str, str, int, int, Event]] = []

    def __call__(self, ctx: EventContext, event: Event) -> None:
        # the handler runs in the transaction of the batch: its row is there already
        n = ctx.conn.execute(sa.select(sa.func.count()).select_from(DeviceEvent)).scalar_one()
        assert n >= 1
        self.got.append((ctx.gateway, ctx.site, ctx.seq, ctx.index, event))


def with_events(seq: int, *events: Event) -> ReadingBatch:
    b = batch(seq)
    return ReadingBatch(
        gateway=b.gateway,
        seq=b.seq,
        sent=b.sent,
        readings=b.readings,
        site=b.site,
        events=[wire(e) for e in events],
    )


def decoded(b: ReadingBatch, *events: Event, start: int = 0) -> dict[tuple[str, int], list[BatchEvent]]:
    return {(b.gateway, b.seq): [BatchEvent(start + i, e) for i, e in enumerate(events)]}


def test_events_are_stored_and_handled_once_and_a_duplicate_runs_no_handler(core: BohCore) -> None:
    rec = Recorder()
    core.event_handlers.register("shelf.pick", rec, replace=True)
    p1, p2 = pick("shelf-1", T0 + 1), pick("shelf-1", T0 + 2, units=2)
    b = with_events(1, p1, p2)
    core.apply_batches([b], decoded(b, p1, p2))
    assert rec.got == [(GW, SITE, 1, 0, p1), (GW, SITE, 1, 1, p2)]
    again = core.apply_batches([b], decoded(b, p1, p2))
    assert again.duplicates == 1
    assert len(rec.got) == 2  # the duplicate ran no handler
    found = core.list_events(gateway=GW)
    assert [(e.seq, e.idx, e.kind, e.ts_ns) for e in found] == [
        (1, 1, "shelf.pick", T0 + 2),
        (1, 0, "shelf.pick", T0 + 1),
    ]
    assert found[0].attrs == {
        "lane": "lane-1",
        "units": 2,
        "confidence": 0.97,
        "weight_delta_g": -710.0,
        "units_after": 10,
    }


def test_the_decoded_events_keep_the_positions_they_had_as_sent(core: BohCore) -> None:
    p = pick("shelf-1", T0)
    b = with_events(1, p)
    core.apply_batches([b], decoded(b, p, start=3))  # events 0-2 were quarantined by ingest
    assert [e.idx for e in core.list_events()] == [3]


def test_a_batch_without_decoded_events_has_its_events_decoded_by_the_core(core: BohCore) -> None:
    rec = Recorder()
    core.event_handlers.register("device.alarm", rec, replace=True)
    a = alarm("cooler-1", T0)
    core.apply_batches([with_events(1, a)])
    assert [(g, s, i, e) for g, _, s, i, e in rec.got] == [(GW, 1, 0, a)]


def test_the_alarm_handler_decides_for_the_decision_hook(db_url: str) -> None:
    decided: list[object] = []
    core = BohCore(
        db_url, auto_register=True, event_handlers=EventHandlers(decide=lambda _c, d: decided.extend(d))
    )
    core.migrate()
    try:
        a = alarm("cooler-1", T0)
        core.apply_batches([with_events(1, a)])
        assert decided == [
            AlarmReported(GW, SITE, "cooler-1", "door-open", "critical", True, "door open too long", T0)
        ]
        assert [e.kind for e in core.list_events(kind="device.alarm")] == ["device.alarm"]
    finally:
        core.close()


def test_a_handler_that_raises_rolls_back_the_whole_call(core: BohCore) -> None:
    def broken(_ctx: EventContext, _event: Event) -> None:
        raise ZeroDivisionError("bug")

    core.event_handlers.register("shelf.pick", broken, replace=True)
    p = pick("shelf-1", T0)
    b = with_events(1, p)
    with pytest.raises(HandlerFailed) as err:
        core.apply_batches([batch(2), b], decoded(b, p))
    assert "shelf.pick" in str(err.value)
    assert isinstance(err.value.__cause__, ZeroDivisionError)
    assert core.list_events() == []
    assert core.get_gateway(GW).watermark == 0  # nothing of the call was committed


def test_a_bad_event_handed_over_undecoded_fails_the_call(core: BohCore) -> None:
    b = ReadingBatch(
        gateway=GW, seq=1, sent=T0, readings=[], site=SITE, events=[raw_wire("d", "nope", T0, {})]
    )
    with pytest.raises(EventError):
        core.apply_batches([b])
    assert core.get_gateway(GW).watermark == 0


def test_the_registry_refuses_unknown_kinds_and_a_second_handler() -> None:
    handlers = EventHandlers()
    assert handlers.kinds == [
        "shelf.pick",
        "shelf.putback",
        "shelf.restock",
        "shelf.lane_state",
        "device.alarm",
        "rfid.item",
        "rfid.zone_snapshot",
    ]
    with pytest.raises(EventError):
        handlers.register("shelf.teleport", lambda _c, _e: None)
    with pytest.raises(ValueError, match="has a handler already"):
        handlers.register("shelf.pick", lambda _c, _e: None)


def test_events_are_listed_by_every_filter(core: BohCore) -> None:
    p, a = pick("shelf-1", T0 + 10), alarm("cooler-1", T0 + 20)
    core.apply_batches([with_events(1, p, a)])
    assert [e.kind for e in core.list_events(kind="shelf.pick")] == ["shelf.pick"]
    assert [e.device for e in core.list_events(device="cooler-1")] == ["cooler-1"]
    assert len(core.list_events(site=SITE)) == 2
    assert core.list_events(site="elsewhere") == []
    assert core.list_events(gateway="gw-other") == []
    assert [e.ts_ns for e in core.list_events(since_ns=T0 + 11)] == [T0 + 20]
    assert [e.ts_ns for e in core.list_events(until_ns=T0 + 20)] == [T0 + 10]
    assert len(core.list_events(limit=1)) == 1


def test_events_of_a_gateway_not_yet_registered_are_held_and_handled_on_release(core: BohCore) -> None:
    rec = Recorder()
    core.event_handlers.register("shelf.pick", rec, replace=True)
    rogue = "gw-rogue"
    p = pick("shelf-1", T0)
    b = ReadingBatch(gateway=rogue, seq=1, sent=T0, readings=[], site=SITE, events=[wire(p)])
    out = core.apply_batches([b], decoded(b, p))
    assert out.held == 1
    assert (rec.got, core.list_events(gateway=rogue)) == ([], [])
    core.change_catalog(lambda ops: ops.put_gateway(GatewaySpec(rogue, SITE)), actor="ops")
    assert core.release_held(rogue, actor="ops") == 1
    assert [(g, site, s, i, e) for g, site, s, i, e in rec.got] == [(rogue, SITE, 1, 0, p)]
    assert [e.kind for e in core.list_events(gateway=rogue)] == ["shelf.pick"]


def test_a_local_alarm_opens_one_alert_through_the_decision_table_and_its_clear_marks_it(
    core: BohCore, monkeypatch: pytest.MonkeyPatch
) -> None:
    core.apply_batches([with_events(1, alarm("cooler-1", T0))])
    core.apply_batches([with_events(2, alarm("cooler-1", T0 + 5))])  # raised again: still one alert
    (a,) = core.list_alerts()
    assert (a.subject, a.condition, a.severity, a.state) == (
        f"device:{GW}/cooler-1", "alarm:door-open", "critical", "open",
    )  # fmt: skip
    assert a.cleared_ns is None
    kinds = [c.kind for c in core.changes(after=0, limit=100).events]
    assert "notification.requested" in kinds, "critical: the table notifies"
    core.apply_batches([with_events(3, alarm("cooler-1", T0 + 9, active=False))])
    (a,) = core.list_alerts()
    assert (a.state, a.cleared_ns) == ("open", T0 + 9), "cleared at the edge; a person resolves it"
    # the table decides: without the alert effect, an alarm opens nothing
    from bohsense.cloud.boh import _decisions

    monkeypatch.setitem(_decisions.DECISION_EFFECTS, "alarm_raised", ())
    core.apply_batches([with_events(4, alarm("freezer-2", T0 + 10, code="overtemp"))])
    assert [x.subject for x in core.list_alerts()] == [f"device:{GW}/cooler-1"]
