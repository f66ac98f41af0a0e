"""Gateway status (newest wins, audited) and quarantine rows."""

from __future__ import annotations

from bohsense.cloud.boh import BohCore
from bohsense.cloud.ports import QuarantineItem
from bohsense.contracts.schema import GatewayStatus

from .factory import T0


def test_the_newest_status_wins_and_state_changes_are_audited(core: BohCore) -> None:
    core.record_status(
        GatewayStatus(gateway="gw-new", state="online", ts=T0, site="s1", version="1.0", next_seq=5)
    )
    core.record_status(GatewayStatus(gateway="gw-new", state="lost", ts=T0 + 10, dropped=3, outbox_depth=7))
    core.record_status(GatewayStatus(gateway="gw-new", state="online", ts=T0 + 5))  # late: ignored
    core.record_status(GatewayStatus(gateway="gw-new", state="lost", ts=T0 + 10))  # same ts: ignored
    g = core.get_gateway("gw-new")
    assert (g.state, g.last_status_ns, g.dropped, g.outbox_depth, g.claimed_site) == (
        "lost",
        T0 + 10,
        3,
        7,
        "s1",
    )
    assert (g.registration, g.site) == ("pending", "")  # not in the catalog: no site is taken on its word
    trail = [(a.from_state, a.to_state) for a in core.audit(entity="gateway", entity_id="gw-new")]
    assert trail == [("unknown", "online"), ("online", "lost")]
    assert core.summary()["gateways"] == {"lost": 1, "unknown": 1}


def test_quarantined_payloads_are_kept_byte_for_byte(core: BohCore) -> None:
    payload = bytes(range(256))
    core.quarantine(
        [
            QuarantineItem("bohsense/v1/gw-x/readings", payload, "malformed", "not msgpack", T0, "gw-x"),
            QuarantineItem("weird/topic", b"{}", "topic", "unknown topic", T0 + 1),
        ]
    )
    core.quarantine([])
    items = core.list_quarantine()
    assert [(q.reason, q.gateway) for q in items] == [("topic", ""), ("malformed", "gw-x")]
    assert core.quarantine_payload(items[1].id) == payload
    assert [q.topic for q in core.list_quarantine(reason="malformed")] == ["bohsense/v1/gw-x/readings"]
    assert core.list_quarantine(gateway="gw-x", limit=1)[0].detail == "not msgpack"
    assert core.summary()["quarantined"] == 2


def test_the_will_of_a_connection_wins_over_its_birth_whatever_the_clocks(core: BohCore) -> None:
    e1, e2 = T0, T0 + 1_000
    core.record_status(GatewayStatus(gateway="gw-ep", state="online", ts=T0 + 50, epoch=e1))
    # the will of connection 1 was built before it connected: its ts is older than the birth
    core.record_status(GatewayStatus(gateway="gw-ep", state="lost", ts=T0 + 1, epoch=e1))
    assert core.get_gateway("gw-ep").state == "lost"
    core.record_status(GatewayStatus(gateway="gw-ep", state="online", ts=T0 + 60, epoch=e1))  # late repeat
    assert core.get_gateway("gw-ep").state == "lost", "a birth never reopens a connection that ended"
    core.record_status(GatewayStatus(gateway="gw-ep", state="online", ts=T0 + 2_000, epoch=e2))
    core.record_status(
        GatewayStatus(gateway="gw-ep", state="online", ts=T0 + 2_500, epoch=e2, outbox_depth=4)
    )
    g = core.get_gateway("gw-ep")
    assert (g.state, g.last_status_ns, g.outbox_depth) == ("online", T0 + 2_500, 4), (
        "a ping's repeat refreshes"
    )
    # a stale will of connection 1 delivered late (broker takeover) loses to connection 2's birth
    core.record_status(GatewayStatus(gateway="gw-ep", state="lost", ts=T0 + 9_999, epoch=e1))
    assert core.get_gateway("gw-ep").state == "online"
    core.record_status(GatewayStatus(gateway="gw-ep", state="lost", ts=T0 + 1_001, epoch=e2))
    assert core.get_gateway("gw-ep").state == "lost"
    trail = [(a.from_state, a.to_state) for a in core.audit(entity="gateway", entity_id="gw-ep")]
    assert trail == [("unknown", "online"), ("online", "lost"), ("lost", "online"), ("online", "lost")]


def test_a_status_without_epoch_is_ordered_by_ts_as_before(core: BohCore) -> None:
    core.record_status(GatewayStatus(gateway="gw-old", state="online", ts=T0 + 50, epoch=T0))
    core.record_status(GatewayStatus(gateway="gw-old", state="lost", ts=T0 + 10))  # an old gateway's will
    assert core.get_gateway("gw-old").state == "online"
    core.record_status(GatewayStatus(gateway="gw-old", state="offline", ts=T0 + 60))
    assert core.get_gateway("gw-old").state == "offline"
