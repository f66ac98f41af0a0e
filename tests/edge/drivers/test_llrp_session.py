"""The LLRP client session without I/O: every real-reader capture decodes through it
without an error, the handshake order, bad bytes, the watchdog and reader clocks."""

from __future__ import annotations

import struct

import pytest

from bohsense.edge.drivers._llrp_session import ClientSession, SessionConfig, State
from bohsense.edge.interpreters import TagSeen, Tick
from bohsense.llrp import (
    EPC96,
    AddROSpec,
    ConnectionAttemptEvent,
    ConnectionAttemptStatus,
    DeleteAccessSpec,
    DeleteROSpec,
    EnableROSpec,
    GetReaderCapabilities,
    Keepalive,
    KeepaliveAck,
    ReaderEventNotification,
    ReaderEventNotificationData,
    ROAccessReport,
    SetReaderConfig,
    TagReportData,
    UTCTimestamp,
    encode_message,
)
from tests.llrp.captures import EDGEX, SLLURP, edgex_body, sllurp_bytes
from tests.simulators.llrp_support import FakeClock, reader, world

NOW_NS = 1_790_000_000 * 10**9


def whole(message_type: int, body: bytes, message_id: int = 7) -> bytes:
    return struct.pack(">HII", (1 << 10) | message_type, 10 + len(body), message_id) + body


def problems(session: ClientSession) -> dict[str, int]:
    return {k: v for k, v in session.counters.items() if k.startswith(("errors_", "warnings_", "closes_"))}


@pytest.mark.parametrize("name", SLLURP)
def test_every_sllurp_capture_decodes_through_the_session(name: str) -> None:
    session = ClientSession(SessionConfig("r1"))
    data = sllurp_bytes(name)
    observations = []
    for i in range(0, len(data), 7):  # in pieces, as TCP delivers them
        out = session.feed(data[i : i + 7], NOW_NS, 1.0)
        assert out.close is None
        observations += out.observations
    assert problems(session) == {}
    assert session.decoder.buffered == 0
    if name == "ro_access_reports_x45.bin":
        assert session.counters["reports"] == 45
        tags = [o for o in observations if isinstance(o, TagSeen)]
        assert len(tags) == 45
        assert {len(t.epc) for t in tags} == {12, 18}  # EPC-96 and a 144-bit EPCData
        assert all(t.rssi_dbm is not None and t.antenna >= 1 for t in tags)
        # 2013 timestamps: corrected to the gateway's clock and flagged
        assert session.counters["clock_offset_flagged"] == 45
        assert all(abs(t.last_seen - NOW_NS) < 10 * 10**9 for t in tags)
    if name == "reader_event_notification.bin":
        assert session.state is State.HANDSHAKE
        assert isinstance(out.send[0], GetReaderCapabilities)


@pytest.mark.parametrize("stem", EDGEX)
def test_every_edgex_capture_decodes_through_the_session(stem: str) -> None:
    session = ClientSession(SessionConfig("r1"))
    message_type, body = edgex_body(stem)
    out = session.feed(whole(message_type, body), NOW_NS, 1.0)
    if stem.startswith("ReaderEventNotification"):  # the R420's ConnectionCloseEvent
        assert out.close == "reader-closed"
        assert problems(session) == {"closes_reader-closed": 1}
    else:
        assert out.close is None
        assert problems(session) == {}
    assert session.counters["messages"] == 1
    if message_type == ROAccessReport.TYPE:
        assert session.counters["reports"] == 1
        assert all(isinstance(o, TagSeen) for o in out.observations)
        assert len(out.observations) == session.counters["tags"]


def drive(**behaviour: object) -> tuple[ClientSession, list[type], list[TagSeen]]:
    clock = FakeClock()
    w = world(clock=clock)
    r = reader(w, **behaviour)
    s = ClientSession(SessionConfig("r1", keepalive_s=1, report_every_s=0.5))
    assert r.connect()
    s.start(clock.mono)
    sent: list[type] = []
    tags: list[TagSeen] = []
    for _ in range(40):
        clock.mono += 0.1
        r.advance()
        data = r.data_to_send()
        r.bytes_sent(len(data))
        for out in (s.feed(data, clock.wall_ns(), clock.mono), s.advance(clock.wall_ns(), clock.mono)):
            assert out.close is None
            sent += [type(m) for m in out.send]
            if out.send:
                r.receive(s.encode(out.send))
            tags += [o for o in out.observations if isinstance(o, TagSeen)]
    return s, sent, tags


def test_the_handshake_asks_in_order_and_then_streams() -> None:
    s, sent, tags = drive()
    handshake = [t for t in sent if t is not KeepaliveAck]
    assert handshake == [GetReaderCapabilities, DeleteROSpec, DeleteAccessSpec, SetReaderConfig, AddROSpec,
                         EnableROSpec]  # fmt: skip
    assert KeepaliveAck in sent
    assert s.state is State.STREAMING
    assert s.rospec_variant == "n-tags-or-timeout"
    assert len({t.epc for t in tags}) == 9
    assert s.capabilities is not None


def test_a_refused_n_tags_trigger_falls_back_to_a_duration() -> None:
    s, sent, tags = drive(reject_n_tags_stop_trigger=True)
    assert sent.count(AddROSpec) == 2
    assert s.rospec_variant == "duration"
    assert s.counters["rospec_fallbacks"] == 1
    assert len({t.epc for t in tags}) == 9


def connected(session: ClientSession, mono: float = 1.0) -> int:
    """Open ``session`` with a ConnectionAttemptEvent; returns the capabilities request id."""
    session.start(mono)
    event = ReaderEventNotification(
        message_id=1,
        data=ReaderEventNotificationData(
            timestamp=UTCTimestamp(microseconds=NOW_NS // 1000), connection_attempt=ConnectionAttemptEvent()
        ),
    )
    out = session.feed(encode_message(event), NOW_NS, mono)
    return out.send[0].message_id


def test_an_undecodable_capabilities_reply_does_not_stop_the_handshake() -> None:
    s = ClientSession(SessionConfig("r1"))
    mid = connected(s)
    broken = whole(11, b"\x01\x1f\x00\xff\x00", message_id=mid)  # an LLRPStatus longer than its message
    out = s.feed(broken, NOW_NS, 1.1)
    assert out.close is None
    assert [type(m) for m in out.send] == [DeleteROSpec]
    assert s.counters["undecodable_capabilities"] == 1
    assert sum(v for k, v in s.counters.items() if k.startswith("errors_")) == 1


def test_a_failed_connection_attempt_ends_the_session() -> None:
    s = ClientSession(SessionConfig("r1"))
    s.start(1.0)
    event = ReaderEventNotification(
        message_id=1,
        data=ReaderEventNotificationData(
            timestamp=UTCTimestamp(microseconds=1),
            connection_attempt=ConnectionAttemptEvent(
                status=ConnectionAttemptStatus.FAILED_CLIENT_INITIATED_CONNECTION_EXISTS
            ),
        ),
    )
    assert s.feed(encode_message(event), NOW_NS, 1.0).close == "connection-refused"


def test_a_framing_error_ends_the_session_and_a_bad_message_only_itself() -> None:
    s = ClientSession(SessionConfig("r1"))
    connected(s)
    bad_message = whole(999, b"")  # unknown type: costs that message only
    good = encode_message(Keepalive(message_id=9))
    out = s.feed(bad_message + good, NOW_NS, 1.2)
    assert out.close is None
    assert s.counters["errors_unknown-message-type"] == 1
    assert [type(m) for m in out.send] == [KeepaliveAck]
    out = s.feed(b"\x1c\x3d" + b"\x00" * 8, NOW_NS, 1.3)  # version 7
    assert out.close == "framing-error"
    assert s.counters["errors_bad-version"] == 1
    assert s.state is State.CLOSED


def test_the_watchdog_fires_after_the_missed_keepalives_only() -> None:
    s, _sent, _tags = drive()
    last = s._last_rx
    assert s.advance(NOW_NS, last + 2.9).close is None
    assert s.advance(NOW_NS, last + 3.01).close == "watchdog"


def test_ticks_come_every_tick_s_while_streaming() -> None:
    s, _sent, _tags = drive()
    base = s._last_rx
    ticks = [
        o for t in (0.0, 0.5, 1.2, 1.4, 2.5) for o in s.advance(NOW_NS + int(t * 1e9), base + t).observations
    ]
    assert all(isinstance(o, Tick) for o in ticks)
    assert 2 <= len(ticks) <= 3


def report(*utc_us: int) -> bytes:
    tags = tuple(
        TagReportData(epc=EPC96(epc=bytes([i]) * 12), antenna_id=1, peak_rssi=-60, last_seen_utc=u,
                      first_seen_utc=u - 1000, tag_seen_count=2)
        for i, u in enumerate(utc_us)
    )  # fmt: skip
    return encode_message(ROAccessReport(message_id=5, tags=tags))


@pytest.mark.parametrize(
    ("offset_s", "corrected", "flagged"),
    [(-0.4, False, False), (0.5, False, False), (3600.0, True, False), (-3 * 86400.0, True, True)],
)
def test_reader_clock_offsets(offset_s: float, corrected: bool, flagged: bool) -> None:
    s = ClientSession(SessionConfig("r1", report_every_s=1.0))
    now_us = NOW_NS // 1000
    newest = now_us + int(offset_s * 1e6)
    out = s.feed(report(newest - 200_000, newest), NOW_NS, 1.0)
    tags = [o for o in out.observations if isinstance(o, TagSeen)]
    assert len(tags) == 2
    assert s.counters["clock_corrections"] == int(corrected)
    assert s.counters["clock_offset_flagged"] == int(flagged)
    newest_ns = max(t.last_seen for t in tags)
    expected = NOW_NS if corrected else newest * 1000
    assert newest_ns == expected
    assert tags[0].last_seen - tags[0].first_seen == 1_000_000
    assert tags[0].count == 2
    assert tags[0].rssi_dbm == -60.0


def test_a_tag_without_timestamps_is_stamped_on_arrival() -> None:
    s = ClientSession(SessionConfig("r1"))
    out = s.feed(encode_message(ROAccessReport(message_id=5, tags=(TagReportData(epc=EPC96(epc=bytes(12))),))),
                 NOW_NS, 1.0)  # fmt: skip
    (tag,) = out.observations
    assert isinstance(tag, TagSeen)
    assert tag.first_seen == tag.last_seen == NOW_NS
    assert tag.antenna == 0
    assert tag.rssi_dbm is None
