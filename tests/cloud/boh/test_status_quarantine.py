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
    assert items[1].payload == payload
    assert [q.topic for q in core.list_quarantine(reason="malformed")] == ["bohsense/v1/gw-x/readings"]
    assert core.list_quarantine(gateway="gw-x", limit=1)[0].detail == "not msgpack"
    assert core.summary()["quarantined"] == 2
