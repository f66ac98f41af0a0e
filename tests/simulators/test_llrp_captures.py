"""The simulated reader against real Impinj captures (../shared/fixtures/llrp): every
capture re-encodes byte for byte through the encoder the reader sends with, and every
message type the reader emits that a capture holds has the capture's shape — the same
parameter types in the same order and nesting (runs of siblings counted once)."""

from __future__ import annotations

from typing import Any

import pytest

from bohsense.llrp import (
    AddROSpec,
    AISpecStopTrigger,
    CloseConnection,
    EnableROSpec,
    GetAccessSpecs,
    GetReaderCapabilities,
    GetReaderConfig,
    GetROSpecs,
    Message,
    MessageDecoder,
    ReaderEventNotification,
    ROAccessReport,
    TagReportContentSelector,
    decode_body,
)
from bohsense.simulators import LLRPReader
from tests.llrp.captures import EDGEX, SLLURP, edgex_body, sllurp_bytes
from tests.simulators.llrp_shape import Shape, shape
from tests.simulators.llrp_support import Client, FakeClock, reader, rospec, world


def captured(name: str) -> list[Message]:
    if name in SLLURP:
        out = MessageDecoder().feed(sllurp_bytes(name))
        assert all(isinstance(m, Message) for m in out)
        return out  # type: ignore[return-value]
    mtype, body = edgex_body(name)
    message, warnings = decode_body(mtype, 1, body)
    assert warnings == []
    return [message]


@pytest.mark.parametrize("name", [*SLLURP, *EDGEX])
def test_every_capture_reencodes_byte_for_byte_through_the_readers_encoder(name: str) -> None:
    messages = captured(name)
    if name in SLLURP:
        assert b"".join(LLRPReader.encode(m) for m in messages) == sllurp_bytes(name)
    else:
        _, body = edgex_body(name)
        assert LLRPReader.encode(messages[0])[10:] == body


def _session(**behaviour: Any) -> Client:
    clock = FakeClock()
    return Client(reader(world(clock=clock), **behaviour), clock)


def _report(selector: TagReportContentSelector, **behaviour: Any) -> ROAccessReport:
    c = _session(**behaviour)
    c.request(AddROSpec(ro_spec=rospec(selector=selector, ai_stop=AISpecStopTrigger(trigger_type=1,
                                                                                 duration_trigger=200))))  # fmt: skip
    c.request(EnableROSpec(ro_spec_id=1))
    (report, *_) = [m for m in c.run(0.3) if isinstance(m, ROAccessReport)]
    return report


def _simulated(kind: str) -> Message:
    c = _session()
    if kind == "connection-attempt":
        (event,) = c.read()
        return event
    if kind == "connection-close":  # the reader closes on a stream it cannot frame
        c.read()
        c.send_bytes(b"\x04\x01\x00\x00\x00\x03\x00\x00\x00\x01")
        (_, event) = c.read()
        return event
    requests = {"capabilities": GetReaderCapabilities(), "config": GetReaderConfig(), "rospecs": GetROSpecs(),
                "accessspecs": GetAccessSpecs(), "close": CloseConnection()}  # fmt: skip
    c.read()
    return c.request(requests[kind])


def _tag_shapes(report: ROAccessReport) -> set[Shape]:
    return {shape(t) for t in report.tags}


SLLURP_SELECTOR = TagReportContentSelector(
    enable_antenna_id=True,
    enable_peak_rssi=True,
    enable_first_seen_timestamp=True,
    enable_tag_seen_count=True,
)
EDGEX_SELECTOR = TagReportContentSelector(
    enable_antenna_id=True, enable_peak_rssi=True, enable_first_seen_timestamp=True
)


def test_tag_reports_have_the_shape_of_sllurps_impinj_capture() -> None:
    real = {shape(t) for m in captured("ro_access_reports_x45.bin") for t in m.tags}  # type: ignore[attr-defined]
    epc96 = _tag_shapes(_report(SLLURP_SELECTOR))
    epc_data = _tag_shapes(_report(SLLURP_SELECTOR, epc_data=True))
    assert len(epc96) == len(epc_data) == 1
    assert epc96 | epc_data == real  # EPC-96 tags and the one EPCData tag of the capture


def test_tag_reports_have_the_shape_of_the_r420_captures() -> None:
    real = {
        shape(t) for i in range(1, 10) for t in captured(f"roAccessReports/ROAccessReport-{i:03d}")[0].tags
    }  # type: ignore[attr-defined]
    assert _tag_shapes(_report(EDGEX_SELECTOR)) == real


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("reader_event_notification.bin", "connection-attempt"),
        ("ReaderEventNotification-000", "connection-close"),
        ("get_reader_capabilities_response.bin", "capabilities"),
        ("GetReaderCapabilitiesResponse-000", "capabilities"),
        ("GetReaderConfigResponse-000", "config"),
        ("GetROSpecsResponse-000", "rospecs"),
        ("GetAccessSpecsResponse-000", "accessspecs"),
        ("CloseConnectionResponse-000", "close"),
    ],
)
def test_reader_messages_have_the_shape_of_the_captures(name: str, kind: str) -> None:
    (real,) = captured(name)
    mine = _simulated(kind)
    assert type(mine) is type(real)
    assert shape(mine) == shape(real)


def test_the_connection_event_is_the_captures_size() -> None:
    (real,) = captured("reader_event_notification.bin")
    mine = _simulated("connection-attempt")
    assert isinstance(mine, ReaderEventNotification)
    assert len(LLRPReader.encode(mine)) == len(LLRPReader.encode(real)) == 32


def test_the_connection_event_is_the_captures_bytes_but_for_id_and_time() -> None:
    real = sllurp_bytes("reader_event_notification.bin")
    mine = LLRPReader.encode(_simulated("connection-attempt"))
    masked = [*range(6, 10), *range(18, 26)]  # the message id, the UTCTimestamp's microseconds

    def mask(data: bytes) -> bytes:
        return bytes(0 if i in masked else b for i, b in enumerate(data))

    assert mask(mine) == mask(real)


@pytest.mark.parametrize(
    ("stem", "kind"),
    [("CloseConnectionResponse-000", "close"), ("GetROSpecsResponse-000", "rospecs"),
     ("GetAccessSpecsResponse-000", "accessspecs")],
)  # fmt: skip
def test_status_only_responses_are_the_captures_bytes(stem: str, kind: str) -> None:
    _, body = edgex_body(stem)
    assert LLRPReader.encode(_simulated(kind))[10:] == body
