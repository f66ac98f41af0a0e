"""Hand-assembled LLRP bytes for tests: independent of the encoder under test."""

from __future__ import annotations

import struct


def message(
    message_type: int, message_id: int, body: bytes, *, version: int = 1, length: int | None = None
) -> bytes:
    size = 10 + len(body) if length is None else length
    return struct.pack(">HII", (version << 10) | message_type, size, message_id) + body


def tlv(param_type: int, body: bytes, *, length: int | None = None) -> bytes:
    return struct.pack(">HH", param_type, 4 + len(body) if length is None else length) + body


def tv(param_type: int, body: bytes) -> bytes:
    return bytes([0x80 | param_type]) + body


def tag(epc: bytes, antenna: int = 1, rssi: int = -50, *extra: bytes) -> bytes:
    """A TagReportData with an EPC-96, AntennaID and PeakRSSI, then ``extra`` parameters."""
    return tlv(
        240,
        tv(13, epc) + tv(1, struct.pack(">H", antenna)) + tv(6, struct.pack(">b", rssi)) + b"".join(extra),
    )


def status(code: int = 0, description: bytes = b"") -> bytes:
    return tlv(287, struct.pack(">HH", code, len(description)) + description)


EPC_A = bytes.fromhex("3005fb63ac1f3841ec880467")
EPC_B = bytes.fromhex("300833b2ddd906c000000000")
