"""LLRP's field encodings (LLRP 1.0.1): big-endian integers, counted
vectors, UTF-8 strings and bit strings, read from a bounded cursor.

A ``Reader`` never reads past the end it was given: a field that does not fit raises
``DecodeError`` with ``TRUNCATED_FIELD`` and the offset in the message.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from bohsense.llrp._errors import DecodeError, EncodeError, ErrorReason, LLRPError

__all__ = [
    "BYTES_REST",
    "S8",
    "S16",
    "U1V",
    "U8",
    "U8V",
    "U16",
    "U16V",
    "U32",
    "U32V",
    "U64",
    "U96",
    "UTF8V",
    "BitString",
    "Codec",
    "Reader",
]


@dataclass(frozen=True, slots=True)
class BitString:
    """An LLRP ``u1v``: a bit count and the bits, packed MSB-first, padded to bytes."""

    bit_count: int
    data: bytes

    def __post_init__(self) -> None:
        if len(self.data) != (self.bit_count + 7) // 8:
            raise EncodeError(
                f"{self.bit_count} bits need {(self.bit_count + 7) // 8} bytes, got {len(self.data)}"
            )

    @classmethod
    def of(cls, data: bytes) -> BitString:
        return cls(len(data) * 8, data)

    def hex(self) -> str:
        return self.data.hex()


class Reader:
    """A cursor over ``data[pos:end]``; ``base`` is the offset of ``data[0]`` in the message."""

    __slots__ = ("base", "data", "end", "pos")

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None, base: int = 0) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end
        self.base = base

    @property
    def remaining(self) -> int:
        return self.end - self.pos

    def offset(self) -> int:
        return self.base + self.pos

    def take(self, n: int, what: str) -> bytes:
        if n > self.end - self.pos:
            raise DecodeError(
                LLRPError(
                    ErrorReason.TRUNCATED_FIELD,
                    f"{what} needs {n} bytes, {self.end - self.pos} left",
                    offset=self.offset(),
                )
            )
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: struct.Struct, what: str) -> tuple[Any, ...]:
        return fmt.unpack(self.take(fmt.size, what))


class Codec:
    """How one field is read and written. ``struct_format`` is set for the fixed-size
    ones (a ``struct`` format without byte order), so a layout can read them in one go."""

    __slots__ = ("name", "struct_format")

    def __init__(self, name: str, struct_format: str | None = None) -> None:
        self.name = name
        self.struct_format = struct_format

    def read(self, r: Reader, what: str) -> Any:
        raise NotImplementedError

    def write(self, out: bytearray, value: Any, what: str) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        return self.name


class _Int(Codec):
    __slots__ = ("fmt",)

    def __init__(self, name: str, fmt: str) -> None:
        super().__init__(name, fmt.lstrip(">"))
        self.fmt = struct.Struct(fmt)

    def read(self, r: Reader, what: str) -> Any:
        return r.unpack(self.fmt, what)[0]

    def write(self, out: bytearray, value: Any, what: str) -> None:
        try:
            out += self.fmt.pack(value)
        except struct.error as exc:
            raise EncodeError(f"{what}={value!r} does not fit {self.name}") from exc


_COUNT = struct.Struct(">H")


def _count(out: bytearray, n: int, what: str) -> None:
    if n > 0xFFFF:
        raise EncodeError(f"{what} has {n} items, at most 65535 fit")
    out += _COUNT.pack(n)


class _IntVector(Codec):
    __slots__ = ("item",)

    def __init__(self, name: str, item: str) -> None:
        super().__init__(name)
        self.item = item

    def read(self, r: Reader, what: str) -> Any:
        (n,) = r.unpack(_COUNT, what)
        size = struct.calcsize(">" + self.item)
        return struct.unpack(f">{n}{self.item}", r.take(n * size, what))

    def write(self, out: bytearray, value: Any, what: str) -> None:
        items = tuple(value)
        _count(out, len(items), what)
        try:
            out += struct.pack(f">{len(items)}{self.item}", *items)
        except struct.error as exc:
            raise EncodeError(f"{what}={value!r} does not fit {self.name}") from exc


class _Bytes8v(Codec):
    def read(self, r: Reader, what: str) -> Any:
        (n,) = r.unpack(_COUNT, what)
        return bytes(r.take(n, what))

    def write(self, out: bytearray, value: Any, what: str) -> None:
        _count(out, len(value), what)
        out += value


class _Utf8v(Codec):
    def read(self, r: Reader, what: str) -> Any:
        (n,) = r.unpack(_COUNT, what)
        at = r.offset()
        raw = r.take(n, what)
        try:
            return bytes(raw).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecodeError(
                LLRPError(ErrorReason.INVALID_FIELD, f"{what} is not UTF-8 ({exc.reason})", offset=at)
            ) from exc

    def write(self, out: bytearray, value: Any, what: str) -> None:
        raw = str(value).encode("utf-8")
        _count(out, len(raw), what)
        out += raw


class _BitV(Codec):
    def read(self, r: Reader, what: str) -> Any:
        (bits,) = r.unpack(_COUNT, what)
        return BitString(bits, bytes(r.take((bits + 7) // 8, what)))

    def write(self, out: bytearray, value: Any, what: str) -> None:
        if not isinstance(value, BitString):
            raise EncodeError(f"{what} must be a BitString, got {type(value).__name__}")
        _count(out, value.bit_count, what)
        out += value.data


class _Fixed(Codec):
    __slots__ = ("size",)

    def __init__(self, name: str, size: int) -> None:
        super().__init__(name, f"{size}s")
        self.size = size

    def read(self, r: Reader, what: str) -> Any:
        return bytes(r.take(self.size, what))

    def write(self, out: bytearray, value: Any, what: str) -> None:
        if len(value) != self.size:
            raise EncodeError(f"{what} must be {self.size} bytes, got {len(value)}")
        out += value


class _Rest(Codec):
    def read(self, r: Reader, what: str) -> Any:
        return bytes(r.take(r.remaining, what))

    def write(self, out: bytearray, value: Any, what: str) -> None:
        out += value


U8 = _Int("u8", ">B")
U16 = _Int("u16", ">H")
U32 = _Int("u32", ">I")
U64 = _Int("u64", ">Q")
S8 = _Int("s8", ">b")
S16 = _Int("s16", ">h")
U96 = _Fixed("u96", 12)
U8V = _Bytes8v("u8v")
U16V = _IntVector("u16v", "H")
U32V = _IntVector("u32v", "I")
UTF8V = _Utf8v("utf8v")
U1V = _BitV("u1v")
BYTES_REST = _Rest("bytesToEnd")
