"""Bad input to the LLRP reader and the faults a test can switch on, with no transport.

Malformed, truncated, lying or unknown messages get an LLRPStatus error in their
response, or ERROR_MESSAGE, or (when the stream can no longer be framed) ERROR_MESSAGE
and a close; each is counted by reason and the reader keeps serving."""

from __future__ import annotations

import dataclasses
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bohsense.llrp import (
    AddROSpec,
    AISpecStopTrigger,
    Custom,
    DeleteROSpec,
    EnableROSpec,
    ErrorMessage,
    ErrorReason,
    GetReaderCapabilities,
    GetReaderCapabilitiesResponse,
    GetReaderConfigResponse,
    LLRPError,
    Message,
    MessageDecoder,
    ReaderEventNotification,
    ROAccessReport,
    SetReaderConfigResponse,
    StatusCode,
    encode_message,
)
from bohsense.simulators import Fault, readers_for
from tests.simulators.llrp_support import Client, FakeClock, reader, rospec, world


def frame(mtype: int, body: bytes, *, mid: int = 77, version: int = 1, length: int | None = None) -> bytes:
    return (
        struct.pack(">HII", (version << 10) | mtype, len(body) + 10 if length is None else length, mid) + body
    )


def fresh() -> Client:
    clock = FakeClock()
    c = Client(reader(world(clock=clock)), clock)
    c.read()
    return c


def still_serving(c: Client) -> None:
    assert isinstance(c.request(GetReaderCapabilities()), GetReaderCapabilitiesResponse)
    assert c.reader.close_request is None


def only(c: Client) -> Message:
    (reply,) = c.read()
    return reply


@pytest.mark.parametrize(
    ("data", "reply_type", "code", "reason"),
    [
        # GET_READER_CONFIG with its body cut short (its length is honest)
        (frame(2, b"\x00\x00\x00"), GetReaderConfigResponse, StatusCode.M_FIELD_ERROR, "truncated-field"),
        # SET_READER_CONFIG whose KeepaliveSpec says 200 bytes in a 20-byte message
        (frame(3, b"\x00" + struct.pack(">HH", 220, 200) + b"\x01\x00\x00\x03\xe8"), SetReaderConfigResponse,
         StatusCode.M_PARAMETER_ERROR, "parameter-beyond-parent"),
        # SET_READER_CONFIG carrying a parameter type LLRP does not have: refused, not ignored
        (frame(3, b"\x00" + struct.pack(">HH", 900, 8) + b"abcd"), SetReaderConfigResponse,
         StatusCode.M_UNKNOWN_PARAMETER, "unknown-parameter"),
        # an unknown message type
        (frame(500, b"xyz"), ErrorMessage, StatusCode.M_UNSUPPORTED_MESSAGE, "unknown-message-type"),
        # an LLRP 1.1 header
        (frame(1, b"\x00", version=2), ErrorMessage, StatusCode.M_UNSUPPORTED_VERSION, "unsupported-version"),
        # a message only a reader sends (KEEPALIVE) coming from the client
        (frame(62, b""), ErrorMessage, StatusCode.M_UNSUPPORTED_MESSAGE, "unknown-message-type"),
    ],
)  # fmt: skip
def test_a_bad_message_is_answered_counted_and_the_reader_keeps_serving(
    data: bytes, reply_type: type[Message], code: int, reason: str
) -> None:
    c = fresh()
    c.send_bytes(data)
    reply = only(c)
    assert isinstance(reply, reply_type)
    assert reply.message_id == 77
    assert reply.status.status_code == code  # type: ignore[attr-defined]
    assert reply.status.error_description  # type: ignore[attr-defined]
    assert dict(c.reader.refusals) == {reason: 1}
    still_serving(c)


def test_a_refused_set_reader_config_changes_nothing() -> None:
    c = fresh()
    keepalive = struct.pack(">HHBI", 220, 9, 1, 1000)
    c.send_bytes(frame(3, b"\x00" + keepalive + struct.pack(">HH", 900, 4)))
    assert only(c).status.status_code == StatusCode.M_UNKNOWN_PARAMETER  # type: ignore[attr-defined]
    assert c.reader.keepalive_ms == 0


def test_a_vendor_extension_the_reader_does_not_know_is_refused() -> None:
    c = fresh()
    spec = rospec(ai_stop=AISpecStopTrigger(trigger_type=1, duration_trigger=100, extensions=(
        Custom(vendor_id=4242, subtype=1, data=b"\x01"),)))  # fmt: skip
    reply = c.request(AddROSpec(ro_spec=spec))
    assert reply.status.status_code == StatusCode.M_UNSUPPORTED_PARAMETER  # type: ignore[attr-defined]
    assert c.reader.rospecs == {}
    assert c.reader.refusals["unsupported-extension"] == 1


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (frame(1, b"\x00", length=5), "length-too-short"),
        (frame(1, b"\x00", version=0), "bad-version"),
        (frame(1, b"\x00", length=64 * 1024 * 1024), "length-too-long"),
    ],
)
def test_a_stream_that_cannot_be_framed_gets_error_message_and_a_close(data: bytes, reason: str) -> None:
    c = fresh()
    c.send_bytes(data + encode_message(GetReaderCapabilities(message_id=9)))  # nothing after it is read
    reply, goodbye = c.read()
    assert isinstance(reply, ErrorMessage)
    assert isinstance(goodbye, ReaderEventNotification)
    assert goodbye.data.connection_close is not None  # the reader says it closes
    assert c.reader.close_request == "close"
    assert dict(c.reader.refusals) == {reason: 1}
    c.reader.disconnect()
    c2 = Client(c.reader, c.clock)  # the reader serves the next connection
    c2.read()
    still_serving(c2)


def test_a_length_that_lies_long_waits_and_is_counted_when_the_connection_ends() -> None:
    c = fresh()
    c.send_bytes(frame(1, b"\x00", length=100))
    assert c.read() == []
    c.reader.disconnect()
    assert dict(c.reader.refusals) == {"truncated-message": 1}
    c2 = Client(c.reader, c.clock)
    c2.read()
    still_serving(c2)


def test_a_message_split_across_reads_is_decoded_whole() -> None:
    c = fresh()
    data = encode_message(GetReaderCapabilities(message_id=3))
    for i in range(len(data)):
        c.send_bytes(data[i : i + 1])
    assert isinstance(only(c), GetReaderCapabilitiesResponse)
    assert not c.reader.refusals


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mtype=st.sampled_from([1, 2, 3, 14, 20, 21, 22, 23, 24, 25, 26, 40, 41, 44, 60, 64, 72, 1023, 777]),
       body=st.binary(max_size=64))  # fmt: skip
def test_random_bodies_never_break_the_reader(mtype: int, body: bytes) -> None:
    c = fresh()
    c.send_bytes(frame(mtype, body))
    c.read()  # whatever it answers is valid LLRP (Client.read checks)
    if c.reader.close_request is None:
        still_serving(c)


# ---------------------------------------------------------------- faults


def inventorying() -> Client:
    c = fresh()
    c.request(AddROSpec(ro_spec=rospec(ai_stop=AISpecStopTrigger(trigger_type=1, duration_trigger=200))))
    c.request(EnableROSpec(ro_spec_id=1))
    return c


def test_a_silent_reader_sends_nothing_and_keeps_the_connection() -> None:
    c = inventorying()
    assert any(isinstance(m, ROAccessReport) for m in c.run(0.5))
    c.reader.set_silent()
    assert c.run(1.0) == []
    c.send(GetReaderCapabilities())
    assert c.read() == []
    assert c.reader.connected
    assert c.reader.close_request is None
    assert c.reader.received["GetReaderCapabilities"] == 1
    assert c.reader.suppressed == 5  # the reports of five 200 ms AISpecs; the request was not handled
    c.reader.set_silent(False)
    assert any(isinstance(m, ROAccessReport) for m in c.run(0.5))


def test_a_network_drop_aborts_the_connection_and_inventory_goes_on() -> None:
    c = inventorying()
    c.reader.drop_network()
    assert c.reader.close_request == "abort"
    c.reader.disconnect()
    c.clock.mono += 1.0
    c.reader.advance()
    c2 = Client(c.reader, c.clock)
    assert any(isinstance(m, ROAccessReport) for m in c2.run(0.5))  # the ROSpec survived


def test_a_reboot_drops_the_connection_loses_state_and_comes_back() -> None:
    c = inventorying()
    c.reader.at(c.reader.elapsed() + 0.3, c.reader.reboot)
    c.run(0.4)
    assert c.reader.close_request == "abort"
    c.reader.disconnect()
    assert c.reader.rospecs == {}
    assert not c.reader.connect()  # still booting
    c.clock.mono += c.reader.behaviour.reboot_s
    c.reader.advance()
    assert c.reader.boots == 2
    c2 = Client(c.reader, c.clock)
    c2.read()
    still_serving(c2)
    assert c.reader.refusals["connect-while-rebooting"] == 1


def test_a_malformed_message_from_the_reader_is_one_a_client_decoder_refuses() -> None:
    c = fresh()
    c.reader.send_malformed()
    out = MessageDecoder().feed(c.reader.data_to_send())
    (error,) = out
    assert isinstance(error, LLRPError)
    assert not error.fatal
    assert error.reason is ErrorReason.PARAMETER_BEYOND_PARENT


def test_faults_parse_and_apply_per_reader() -> None:
    w = world()
    faults = [Fault.parse("reject-n-tags@door"), Fault.parse("clock-years=-2"), Fault.parse("silent=5@r1")]
    r1, door = readers_for(w, faults)
    assert not r1.behaviour.reject_n_tags_stop_trigger
    assert door.behaviour.reject_n_tags_stop_trigger
    assert r1.behaviour.clock_offset_s == door.behaviour.clock_offset_s < -60_000_000
    assert r1.next_timer() is not None
    assert door.next_timer() is None
    for bad, text in [("nope", "unknown fault"), ("reboot", "needs value"), ("no-impinj=3", "takes no value"),
                      ("drop=x", "not a number"), ("drop=-1", "negative")]:  # fmt: skip
        with pytest.raises(ValueError, match=text):
            Fault.parse(bad)
    with pytest.raises(ValueError, match="no reader 'ghost'"):
        readers_for(w, [Fault.parse("drop=1@ghost")])


def test_sllurps_get_reader_config_field_order() -> None:
    """sllurp packs RequestedData before AntennaID: its all-zero request (the only one it
    sends) reads as LLRP's 'everything'; any other value reads as a large antenna id and
    is refused, not misread."""
    from sllurp.llrp import LLRPMessage

    c = fresh()
    everything = LLRPMessage(msgdict={"GET_READER_CONFIG": {"ID": 5, "RequestedData": 0}}).msgbytes
    c.send_bytes(everything)
    reply = only(c)
    assert isinstance(reply, GetReaderConfigResponse)
    assert reply.status.status_code == 0
    assert reply.identification is not None
    assert len(reply.antenna_configurations) == 2
    assert c.reader.received["GetReaderConfig"] == 1
    swapped = LLRPMessage(msgdict={"GET_READER_CONFIG": {"ID": 6, "RequestedData": 2}}).msgbytes
    c.send_bytes(swapped)
    refused = only(c)
    assert refused.status.status_code == StatusCode.M_FIELD_ERROR  # type: ignore[attr-defined]
    assert "no antenna 512" in refused.status.error_description  # type: ignore[attr-defined]


def test_a_gpi_trigger_value_with_sllurps_type_180_is_refused_as_misplaced() -> None:
    from bohsense.llrp import RawParameter

    c = fresh()
    gpi_as_sllurp_sends_it = RawParameter(type_num=180, body=struct.pack(">HBI", 1, 0x80, 500))
    stop = AISpecStopTrigger(trigger_type=2, extensions=(gpi_as_sllurp_sends_it,))
    reply = c.request(AddROSpec(ro_spec=rospec(ai_stop=stop)))
    assert reply.status.status_code == StatusCode.M_UNEXPECTED_PARAMETER  # type: ignore[attr-defined]
    assert c.reader.rospecs == {}
    assert dict(c.reader.refusals) == {"unexpected-parameter": 1}


def test_deleting_a_running_rospec_stops_it_for_good() -> None:
    c = inventorying()
    c.run(0.3)
    assert c.request(DeleteROSpec(ro_spec_id=1)).status.status_code == 0  # type: ignore[attr-defined]
    assert c.reader.rospecs == {}
    assert not [m for m in c.run(1.0) if isinstance(m, ROAccessReport)]


def _impinj_selector(*enables: tuple[int, int]) -> Custom:
    data = b"".join(struct.pack(">HHIIH", 1023, 14, 25882, subtype, mode) for subtype, mode in enables)
    return Custom(vendor_id=25882, subtype=50, data=data)


def test_impinj_tag_report_selector_needs_the_extensions_and_is_checked() -> None:
    from bohsense.llrp import CustomMessage, ROReportSpec, TagReportContentSelector

    def with_selector(selector: Custom) -> AddROSpec:
        spec = rospec(ai_stop=AISpecStopTrigger(trigger_type=1, duration_trigger=100))
        report = ROReportSpec(trigger=1, content_selector=TagReportContentSelector(enable_peak_rssi=True),
                              extensions=(selector,))  # fmt: skip
        return AddROSpec(ro_spec=dataclasses.replace(spec, report_spec=report))

    c = fresh()
    good = _impinj_selector((53, 1), (67, 1))
    assert c.request(with_selector(good)).status.status_code == StatusCode.M_UNSUPPORTED_PARAMETER  # type: ignore[attr-defined]
    assert isinstance(c.request(CustomMessage(vendor_id=25882, subtype=21, data=bytes(4))), CustomMessage)
    for bad, text in [(_impinj_selector((99, 1)), "parameter 99"), (_impinj_selector((53, 7)), "mode 7"),
                      (Custom(vendor_id=25882, subtype=50, data=b"\x00\x01"), "stray bytes")]:  # fmt: skip
        reply = c.request(with_selector(bad))
        assert reply.status.status_code == StatusCode.M_PARAMETER_ERROR  # type: ignore[attr-defined]
        assert text in reply.status.error_description  # type: ignore[attr-defined]
    assert c.reader.refusals == {"unsupported-extension": 1, "bad-impinj-selector": 3}
    assert c.request(with_selector(good)).status.status_code == 0  # type: ignore[attr-defined]
    c.request(EnableROSpec(ro_spec_id=1))
    tags = [t for m in c.run(0.3) if isinstance(m, ROAccessReport) for t in m.tags]
    assert tags
    for tag in tags:
        rssi, doppler = tag.extensions
        assert isinstance(rssi, Custom)
        assert rssi.subtype == 57
        assert struct.unpack(">h", rssi.data)[0] == tag.peak_rssi * 100  # type: ignore[operator]
        assert isinstance(doppler, Custom)
        assert doppler.subtype == 68


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"antenna_ids": ()}, "bad-antenna"),
        ({"antenna_ids": (3,)}, "bad-antenna"),
        ({"inventory_parameter_specs": ()}, "bad-inventory-spec"),
        ({"stop_trigger": AISpecStopTrigger(trigger_type=3)}, "bad-trigger"),
        ({"stop_trigger": AISpecStopTrigger(trigger_type=9)}, "bad-trigger"),
    ],
)
def test_an_aispec_the_reader_cannot_run_is_refused(change: dict[str, object], reason: str) -> None:
    from bohsense.llrp import InventoryParameterSpec

    c = fresh()
    spec = rospec()
    ai = dataclasses.replace(spec.specs[0], **change)  # type: ignore[arg-type]
    bad = dataclasses.replace(spec, specs=(ai,))
    reply = c.request(AddROSpec(ro_spec=bad))
    assert reply.status.status_code == StatusCode.M_PARAMETER_ERROR  # type: ignore[attr-defined]
    assert dict(c.reader.refusals) == {reason: 1}
    two = dataclasses.replace(
        spec.specs[0], inventory_parameter_specs=(InventoryParameterSpec(spec_id=1),) * 2
    )
    assert c.request(AddROSpec(ro_spec=dataclasses.replace(spec, specs=(two,)))).status.status_code == 100  # type: ignore[attr-defined]
    assert c.reader.rospecs == {}
