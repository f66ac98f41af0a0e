"""Bad bytes get a precise reason; a framing error ends the stream (TCP cannot
re-synchronise), a bad message costs only itself, a bad parameter only itself."""

from __future__ import annotations

import struct

import pytest

from bohsense.llrp import (
    EPC96,
    AddROSpecResponse,
    AntennaProperties,
    Custom,
    CustomMessage,
    DecodeError,
    EncodeError,
    ErrorReason,
    GetReaderCapabilitiesResponse,
    GetReaderConfigResponse,
    KeepaliveAck,
    LLRPError,
    MessageDecoder,
    RawParameter,
    ROAccessReport,
    TagReportData,
    decode_message,
    encode_message,
)
from tests.llrp.captures import sllurp_bytes
from tests.llrp.wire import EPC_A, EPC_B, message, status, tag, tlv, tv

KEEPALIVE = message(62, 77, b"")


def report(*tags: bytes, message_id: int = 5) -> bytes:
    return message(61, message_id, b"".join(tags))


def errors(out: list[object]) -> list[LLRPError]:
    return [o for o in out if isinstance(o, LLRPError)]


def reasons(out: list[object]) -> list[tuple[ErrorReason, bool]]:
    return [(e.reason, e.fatal) for e in errors(out)]


# ---------------------------------------------------------------- framing (fatal)


def test_a_truncated_message_is_held_then_completed() -> None:
    whole = report(tag(EPC_A))
    decoder = MessageDecoder()
    assert decoder.feed(whole[:7]) == []
    assert decoder.feed(whole[7:-1]) == []
    assert decoder.buffered == len(whole) - 1
    (msg,) = decoder.feed(whole[-1:])
    assert isinstance(msg, ROAccessReport)
    assert msg.tags[0].epc_bytes == EPC_A
    assert decoder.buffered == 0


def test_a_connection_closed_mid_message_reports_the_truncation() -> None:
    whole = report(tag(EPC_A))
    decoder = MessageDecoder()
    assert decoder.feed(KEEPALIVE + whole[:20]) == [decode_message(KEEPALIVE)[0]]
    (error,) = decoder.eof()
    assert (error.reason, error.fatal) == (ErrorReason.TRUNCATED_MESSAGE, True)
    assert error.raw == whole[:20]
    assert error.offset == len(KEEPALIVE)
    assert "20 bytes into an incomplete message" in error.detail


@pytest.mark.parametrize("length", [0, 1, 9])
def test_a_length_below_the_header_is_fatal(length: int) -> None:
    decoder = MessageDecoder()
    out = decoder.feed(KEEPALIVE + message(62, 1, b"", length=length) + KEEPALIVE)
    assert out[0] == decode_message(KEEPALIVE)[0]
    (error,) = errors(out)
    assert (error.reason, error.fatal, error.offset) == (ErrorReason.LENGTH_TOO_SHORT, True, len(KEEPALIVE))
    assert f"message length {length}" in error.detail
    assert len(out) == 2  # nothing after the fatal error, not even the good keepalive behind it
    assert decoder.failed == error
    assert decoder.feed(KEEPALIVE) == []
    assert decoder.buffered == 0
    assert decoder.eof() == []


def test_a_length_above_the_configured_limit_is_fatal_before_buffering_it() -> None:
    capabilities = sllurp_bytes("get_reader_capabilities_response.bin")
    decoder = MessageDecoder(max_message_length=1000)
    (error,) = decoder.feed(capabilities[:10])
    assert (error.reason, error.fatal) == (ErrorReason.LENGTH_TOO_LONG, True)
    assert error.message_type == 11
    assert "1495" in error.detail
    assert "1000" in error.detail
    (whole,) = MessageDecoder(max_message_length=1495).feed(capabilities)
    assert isinstance(whole, GetReaderCapabilitiesResponse)


@pytest.mark.parametrize("version", [0, 3, 7])
def test_a_header_version_that_is_not_llrp_is_fatal(version: int) -> None:
    (error,) = MessageDecoder().feed(message(62, 1, b"", version=version))
    assert (error.reason, error.fatal) == (ErrorReason.BAD_VERSION, True)


def test_garbage_is_fatal_at_once_and_never_raises() -> None:
    decoder = MessageDecoder()
    # "GE" happens to read as version 1 (with reserved bits set, which LLRP ignores), so the
    # length " / H" is what gives it away
    out = decoder.feed(b"GET / HTTP/1.1\r\nHost: reader\r\n\r\n")
    assert reasons(out) == [(ErrorReason.LENGTH_TOO_LONG, True)]
    assert MessageDecoder().feed(b"\xff" * 64)[0] == LLRPError(
        ErrorReason.BAD_VERSION,
        "header version 7 at stream offset 0 is not LLRP: the stream is not framed",
        fatal=True, message_type=1023, message_id=0xFFFFFFFF, offset=0,
    )  # fmt: skip


# ---------------------------------------------------------------- one message (not fatal)


def test_an_llrp_1_1_message_is_refused_alone_so_the_peer_can_fall_back() -> None:
    decoder = MessageDecoder()
    out = decoder.feed(message(46, 9, b"", version=2) + KEEPALIVE)  # GET_SUPPORTED_VERSION
    error, keepalive = out
    assert isinstance(error, LLRPError)
    assert (error.reason, error.fatal, error.message_type, error.message_id) == (
        ErrorReason.UNSUPPORTED_VERSION, False, 46, 9,
    )  # fmt: skip
    assert keepalive == decode_message(KEEPALIVE)[0]


def test_an_unknown_message_type_is_refused_alone_with_its_id_and_bytes() -> None:
    odd = message(999, 31, b"\x01\x02\x03")
    out = MessageDecoder().feed(odd + KEEPALIVE)
    error = out[0]
    assert isinstance(error, LLRPError)
    assert (error.reason, error.fatal, error.message_type, error.message_id, error.raw) == (
        ErrorReason.UNKNOWN_MESSAGE_TYPE, False, 999, 31, odd,
    )  # fmt: skip
    assert out[1] == decode_message(KEEPALIVE)[0]


def test_a_parameter_longer_than_its_message_costs_that_message_only() -> None:
    bad = report(tlv(240, tv(13, EPC_A), length=200))
    out = MessageDecoder().feed(bad + report(tag(EPC_B)))
    error, good = out
    assert isinstance(error, LLRPError)
    assert (error.reason, error.fatal, error.message_type) == (ErrorReason.PARAMETER_BEYOND_PARENT, False, 61)
    assert error.offset == 10
    assert "200 bytes" in error.detail
    assert error.raw == bad
    assert isinstance(good, ROAccessReport)
    assert good.tags[0].epc_bytes == EPC_B


def test_a_parameter_length_below_its_header_is_refused() -> None:
    (error,) = MessageDecoder().feed(report(tlv(240, b"", length=2)))
    assert (error.reason, error.fatal) == (ErrorReason.BAD_PARAMETER_LENGTH, False)


def test_a_message_length_that_lies_short_shows_as_a_body_error_then_a_framing_error() -> None:
    real = report(tag(EPC_A), message_id=1)
    lying = struct.pack(">HII", 0x0400 | 61, len(real) - 6, 1) + real[10:]
    stream = lying + report(tag(EPC_B), message_id=2)
    decoder = MessageDecoder()
    out = decoder.feed(stream)
    assert reasons(out) == [(ErrorReason.PARAMETER_BEYOND_PARENT, False)]
    assert "TagReportData declares 22 bytes, only 16 are left in ROAccessReport" in errors(out)[0].detail
    # the next "header" is read from the middle of the tag: it claims 99,022 bytes, so the
    # decoder waits for them (it cannot tell a liar from a slow peer) ...
    assert decoder.buffered == len(stream) - (len(real) - 6)
    assert reasons(decoder.eof()) == [(ErrorReason.TRUNCATED_MESSAGE, True)]
    # ... unless the limit is set near what this reader really sends: then it is fatal at once
    out = MessageDecoder(max_message_length=64 * 1024).feed(stream)
    assert reasons(out) == [(ErrorReason.PARAMETER_BEYOND_PARENT, False), (ErrorReason.LENGTH_TOO_LONG, True)]


def test_a_message_length_that_lies_long_swallows_what_follows_and_is_reported() -> None:
    real = report(tag(EPC_A), message_id=1)
    lying = struct.pack(">HII", 0x0400 | 61, len(real) + len(KEEPALIVE), 1) + real[10:]
    decoder = MessageDecoder()
    assert decoder.feed(lying) == []  # waits for bytes that belong to the next message
    out = decoder.feed(KEEPALIVE)
    # the keepalive's header, read as a parameter of the report, declares length 0
    assert reasons(out) == [(ErrorReason.BAD_PARAMETER_LENGTH, False)]
    assert decoder.buffered == 0


def test_a_missing_required_parameter_is_named() -> None:
    (error,) = MessageDecoder().feed(message(30, 4, b""))
    assert (error.reason, error.message_type, error.message_id) == (ErrorReason.MISSING_PARAMETER, 30, 4)
    assert "AddROSpecResponse has no LLRPStatus" in error.detail


def test_a_required_parameter_that_is_malformed_says_why() -> None:
    (error,) = MessageDecoder().feed(message(30, 4, status(0, b"\xff\xfe")))
    assert error.reason == ErrorReason.MISSING_PARAMETER
    assert "not UTF-8" in error.detail


def test_truncated_fields_are_refused() -> None:
    (error,) = MessageDecoder().feed(message(21, 1, b"\x00\x01"))  # DELETE_ROSPEC needs a u32
    assert error.reason == ErrorReason.TRUNCATED_FIELD
    assert "DeleteROSpec.ro_spec_id" in error.detail


# ---------------------------------------------------------------- one parameter (delivered, reported)


def test_an_unknown_parameter_is_kept_raw_reported_and_reencoded() -> None:
    unknown = tlv(1000, b"\xde\xad")
    wire = report(tag(EPC_A, 1, -50, unknown))
    out = MessageDecoder().feed(wire)
    warning, msg = out
    assert isinstance(warning, LLRPError)
    assert isinstance(msg, ROAccessReport)
    assert (warning.reason, warning.fatal, warning.parameter_type, warning.message_id) == (
        ErrorReason.UNKNOWN_PARAMETER, False, 1000, 5,
    )  # fmt: skip
    assert msg.tags[0].extensions == (RawParameter(type_num=1000, body=b"\xde\xad"),)
    assert msg.tags[0].antenna_id == 1
    assert encode_message(msg) == wire


def test_a_known_parameter_out_of_place_is_kept_raw() -> None:
    wire = report(tag(EPC_A, 1, -50, tlv(221, b"\x80\x00\x01\x00\x00")))  # AntennaProperties in a tag
    warning, msg = MessageDecoder().feed(wire)
    assert isinstance(warning, LLRPError)
    assert warning.reason == ErrorReason.UNEXPECTED_PARAMETER
    assert "AntennaProperties is not expected in TagReportData" in warning.detail
    assert isinstance(msg, ROAccessReport)
    assert encode_message(msg) == wire
    assert AntennaProperties.TYPE == 221


def test_a_duplicate_parameter_keeps_the_first_and_reports_the_second() -> None:
    wire = report(tag(EPC_A, 1, -50, tv(1, b"\x00\x02")))
    warning, msg = MessageDecoder().feed(wire)
    assert isinstance(warning, LLRPError)
    assert warning.reason == ErrorReason.DUPLICATE_PARAMETER
    assert isinstance(msg, ROAccessReport)
    assert msg.tags[0].antenna_id == 1
    assert msg.tags[0].extensions == (RawParameter(type_num=1, body=b"\x00\x02", tv=True),)
    assert encode_message(msg) == wire


def test_an_unknown_tv_type_costs_its_tag_only() -> None:
    wire = report(tag(EPC_A), tag(EPC_B, 2, -60, tv(100, b"")), tag(EPC_A, 3))
    warning, msg = MessageDecoder().feed(wire)
    assert isinstance(warning, LLRPError)
    assert warning.reason == ErrorReason.MALFORMED_PARAMETER
    assert "unknown-tv-type" in warning.detail
    assert warning.parameter_type == 240
    assert isinstance(msg, ROAccessReport)
    assert [(t.epc_bytes, t.antenna_id) for t in msg.tags] == [(EPC_A, 1), (EPC_A, 3)]
    (kept,) = msg.extensions
    assert isinstance(kept, RawParameter)
    assert kept.type_num == 240
    assert encode_message(msg) != wire  # the malformed tag moved behind the good ones
    assert sorted(encode_message(msg)) == sorted(wire)  # but no byte was lost


def test_vendor_extensions_pass_through_as_custom_parameters() -> None:
    impinj_peak_rssi = tlv(1023, struct.pack(">IIh", 25882, 57, -4850))
    wire = report(tag(EPC_A, 1, -48, impinj_peak_rssi))
    (msg,) = MessageDecoder().feed(wire)
    assert isinstance(msg, ROAccessReport)
    (custom,) = msg.tags[0].extensions
    assert custom == Custom(vendor_id=25882, subtype=57, data=struct.pack(">h", -4850))
    assert encode_message(msg) == wire


def test_a_custom_message_passes_through() -> None:
    wire = message(1023, 3, struct.pack(">IB", 25882, 21) + b"\x00\x00\x00\x00")  # IMPINJ_ENABLE_EXTENSIONS
    (msg,) = MessageDecoder().feed(wire)
    assert isinstance(msg, CustomMessage)
    assert (msg.vendor_id, msg.subtype, msg.data, msg.message_id) == (25882, 21, b"\x00" * 4, 3)
    assert encode_message(msg) == wire


# ---------------------------------------------------------------- the one-shot helpers and the encoder


def test_decode_message_raises_with_the_reason() -> None:
    with pytest.raises(DecodeError) as caught:
        decode_message(KEEPALIVE[:9])
    assert caught.value.error.reason == ErrorReason.TRUNCATED_MESSAGE
    with pytest.raises(DecodeError) as caught:
        decode_message(KEEPALIVE + b"\x00")
    assert caught.value.error.reason == ErrorReason.LENGTH_TOO_SHORT


def test_the_encoder_refuses_values_that_do_not_fit() -> None:
    with pytest.raises(EncodeError, match="AntennaID=70000 does not fit u16"):
        encode_message(ROAccessReport(tags=(TagReportData(epc=EPC96(epc=EPC_A), antenna_id=70000),)))
    with pytest.raises(EncodeError, match="message_id"):
        encode_message(KeepaliveAck(message_id=2**32))
    with pytest.raises(EncodeError, match="takes LLRPStatus"):
        encode_message(
            AddROSpecResponse(status=AntennaProperties(antenna_connected=True, antenna_id=1, antenna_gain=0))
        )  # type: ignore[arg-type]
    with pytest.raises(EncodeError, match=r"does not fit s16"):
        encode_message(
            GetReaderConfigResponse(
                antenna_properties=(
                    AntennaProperties(antenna_connected=True, antenna_id=1, antenna_gain=40000),
                )
            )
        )
