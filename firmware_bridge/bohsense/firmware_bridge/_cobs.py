"""Consistent Overhead Byte Stuffing (COBS): frames that never contain 0x00.

``encode`` turns any byte string into one without zero bytes, at a cost of one byte
per 254 bytes of input (plus one). ``decode`` reverses it and raises ``CobsError``
when a block's length byte points past the end of the data, which is what a frame
that was cut short (or corrupted) looks like.
"""

from __future__ import annotations

from bohsense.firmware_bridge._errors import FirmwareBridgeError

__all__ = ["CobsError", "decode", "encode"]


class CobsError(FirmwareBridgeError, ValueError):
    """A COBS block that runs past the end of the encoded data."""


def encode(data: bytes) -> bytes:
    out = bytearray()
    block = bytearray()
    for byte in data:
        if byte == 0:
            out.append(len(block) + 1)
            out += block
            block.clear()
        else:
            block.append(byte)
            if len(block) == 254:
                out.append(255)
                out += block
                block.clear()
    out.append(len(block) + 1)
    out += block
    return bytes(out)


def decode(data: bytes) -> bytes:
    out = bytearray()
    i = 0
    n = len(data)
    while i < n:
        code = data[i]
        if code == 0:
            raise CobsError(f"zero byte inside an encoded frame at offset {i}")
        end = i + code
        if end > n:
            raise CobsError(f"block at offset {i} claims {code - 1} bytes, only {n - i - 1} left")
        out += data[i + 1 : end]
        i = end
        if code != 255 and i < n:
            out.append(0)
    return bytes(out)
