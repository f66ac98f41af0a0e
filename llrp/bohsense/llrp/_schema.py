"""How every typed LLRP message and parameter declares its wire layout.

Each message and parameter is a frozen dataclass whose fields say how they travel:
``wire(codec)`` for a fixed field, ``flag()`` / ``bits(n)`` for fields packed into a
byte or a short, ``one`` / ``opt`` / ``many`` for sub-parameters (1, 0-1, 0-N) and
``value(type, codec)`` for a sub-parameter that carries a single value (the TV
parameters of a tag report: ``antenna_id: int | None``). ``register`` files the class
under its type number; decoding and encoding (``_codec``) read the same declaration,
so the decoder and the encoder cannot disagree.
"""

from __future__ import annotations

import dataclasses
import struct
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from bohsense.llrp._wire import BYTES_REST, U32, Codec

__all__ = [
    "CUSTOM_TYPE",
    "MESSAGES",
    "PARAMETERS",
    "TV_NAMES",
    "TV_SIZES",
    "Container",
    "Custom",
    "Extension",
    "Layout",
    "Message",
    "Parameter",
    "RawParameter",
    "SlotOp",
    "ValueOp",
    "bits",
    "flag",
    "layout",
    "many",
    "one",
    "opt",
    "register",
    "value",
    "wire",
]

# Body sizes of the TV-encoded parameters of LLRP 1.0.1 (types 1-18): a TV parameter
# has no length on the wire, so an unknown TV type makes the rest of its parent unreadable.
TV_SIZES: dict[int, int] = {
    1: 2, 2: 8, 3: 8, 4: 8, 5: 8, 6: 1, 7: 2, 8: 2, 9: 4, 10: 2,
    11: 2, 12: 2, 13: 12, 14: 2, 15: 2, 16: 4, 17: 2, 18: 4,
}  # fmt: skip
TV_NAMES: dict[int, str] = {
    1: "AntennaID", 2: "FirstSeenTimestampUTC", 3: "FirstSeenTimestampUptime",
    4: "LastSeenTimestampUTC", 5: "LastSeenTimestampUptime", 6: "PeakRSSI", 7: "ChannelIndex",
    8: "TagSeenCount", 9: "ROSpecID", 10: "InventoryParameterSpecID", 11: "C1G2_CRC",
    12: "C1G2_PC", 13: "EPC_96", 14: "SpecIndex", 15: "ClientRequestOpSpecResult",
    16: "AccessSpecID", 17: "OpSpecID", 18: "C1G2SingulationDetails",
}  # fmt: skip
CUSTOM_TYPE = 1023


# ---------------------------------------------------------------- base classes


@dataclass(frozen=True, slots=True, kw_only=True)
class Parameter:
    """An LLRP parameter. ``TYPE`` is its type number (1-127 TV, 128-1023 TLV)."""

    TYPE: ClassVar[int] = -1


PARAMETERS: dict[int, type[Parameter]] = {}
MESSAGES: dict[int, type[Message]] = {}


# ---------------------------------------------------------------- field specifiers

Ref = type[Parameter] | int


@dataclass(frozen=True, slots=True)
class _Wire:
    codec: Codec
    skip: int


@dataclass(frozen=True, slots=True)
class _Bits:
    width: int
    group: int | None
    boolean: bool


@dataclass(frozen=True, slots=True)
class _Slot:
    kind: str  # "one" | "opt" | "many"
    refs: tuple[Ref, ...]


@dataclass(frozen=True, slots=True)
class _Value:
    type_num: int
    codec: Codec


def wire(codec: Codec, *, skip: int = 0, default: Any = dataclasses.MISSING) -> Any:
    """A field encoded with ``codec``, after ``skip`` reserved bytes."""
    return field(default=default, metadata={"llrp": _Wire(codec, skip)})


def flag(*, group: int | None = None, default: Any = dataclasses.MISSING) -> Any:
    """A one-bit boolean; ``group`` (8 or 16) starts a new packed group of that many bits."""
    return field(default=default, metadata={"llrp": _Bits(1, group, True)})


def bits(width: int, *, group: int | None = None, default: Any = dataclasses.MISSING) -> Any:
    """An unsigned integer of ``width`` bits inside a packed group."""
    return field(default=default, metadata={"llrp": _Bits(width, group, False)})


def one(*refs: Ref, default: Any = dataclasses.MISSING) -> Any:
    """Exactly one sub-parameter of one of these types (``default`` only for building)."""
    return field(default=default, metadata={"llrp": _Slot("one", refs)})


def opt(*refs: Ref) -> Any:
    """At most one sub-parameter (``None`` when absent)."""
    return field(default=None, metadata={"llrp": _Slot("opt", refs)})


def many(*refs: Ref) -> Any:
    """Any number of sub-parameters, in order."""
    return field(default=(), metadata={"llrp": _Slot("many", refs)})


def value(type_num: int, codec: Codec) -> Any:
    """An optional sub-parameter holding one value, stored as the value itself."""
    return field(default=None, metadata={"llrp": _Value(type_num, codec)})


@dataclass(frozen=True, slots=True, kw_only=True)
class Custom(Parameter):
    """A vendor extension (type 1023), kept as bytes: Impinj's pass through."""

    TYPE: ClassVar[int] = CUSTOM_TYPE
    vendor_id: int = wire(U32)
    subtype: int = wire(U32)
    data: bytes = wire(BYTES_REST)


@dataclass(frozen=True, slots=True, kw_only=True)
class RawParameter(Parameter):
    """A parameter kept as it arrived: unknown, out of place, duplicated or malformed."""

    type_num: int
    body: bytes
    tv: bool = False  # arrived TV-encoded (type 1-127, no length) rather than TLV


Extension = Custom | RawParameter


@dataclass(frozen=True, slots=True, kw_only=True)
class Container(Parameter):
    """A TLV parameter: fields, sub-parameters, and the extensions it carried."""

    extensions: tuple[Extension, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """An LLRP message. ``TYPE`` is its 10-bit message type; ``message_id`` pairs a
    response with its request."""

    TYPE: ClassVar[int] = -1
    message_id: int = 0
    extensions: tuple[Extension, ...] = ()


T = TypeVar("T", bound=type)


def register(cls: T) -> T:
    """File a message or parameter class under its type number."""
    if issubclass(cls, Message):
        assert cls.TYPE not in MESSAGES, cls
        MESSAGES[cls.TYPE] = cls
    elif issubclass(cls, Parameter):
        assert cls.TYPE not in PARAMETERS, cls
        PARAMETERS[cls.TYPE] = cls
    else:  # pragma: no cover - a programming error
        raise TypeError(cls)
    return cls


# ---------------------------------------------------------------- layouts


@dataclass(frozen=True, slots=True)
class FieldOp:
    name: str
    codec: Codec
    skip: int


@dataclass(frozen=True, slots=True)
class BitsOp:
    width: int  # bits in the group: 8 or 16
    members: tuple[tuple[str, int, bool], ...]


@dataclass(frozen=True, slots=True)
class SlotOp:
    name: str
    kind: str
    types: tuple[int, ...]
    many: bool  # kind == "many"
    fmt: None = None  # (the decoder's fast path is for values only)


@dataclass(frozen=True, slots=True)
class ValueOp:
    name: str
    type_num: int
    codec: Codec
    fmt: struct.Struct | None  # the fast path for fixed-size integer values
    many: bool = False


@dataclass(frozen=True, slots=True)
class Layout:
    fields: tuple[FieldOp | BitsOp, ...]
    children: tuple[SlotOp | ValueOp, ...]
    by_type: dict[int, SlotOp | ValueOp]
    has_extensions: bool
    required: tuple[SlotOp, ...]  # the "one" slots
    fixed: tuple[tuple[str, ...], struct.Struct] | None  # TV parameters: all fields in one struct


_LAYOUTS: dict[type, Layout] = {}


def _type_of(ref: Ref) -> int:
    return ref if isinstance(ref, int) else ref.TYPE


def _struct_of(codec: Codec) -> struct.Struct | None:
    return None if codec.struct_format is None else struct.Struct(">" + codec.struct_format)


def _fixed(cls: type, ops: list[FieldOp | BitsOp]) -> tuple[tuple[str, ...], struct.Struct] | None:
    """For a TV parameter whose fields are plain integers or fixed bytes: one struct for all."""
    if not issubclass(cls, Parameter) or not 0 < cls.TYPE < 128:
        return None
    names, fmt = [], ">"
    for op in ops:
        if not isinstance(op, FieldOp) or op.skip or op.codec.struct_format is None:
            return None
        fmt += op.codec.struct_format
        names.append(op.name)
    return tuple(names), struct.Struct(fmt)


def layout(cls: type) -> Layout:
    found = _LAYOUTS.get(cls)
    if found is not None:
        return found
    ops: list[FieldOp | BitsOp] = []
    children: list[SlotOp | ValueOp] = []
    group: list[tuple[str, int, bool]] = []
    group_width = 0

    def close_group() -> None:
        nonlocal group, group_width
        if group:
            used = sum(w for _, w, _ in group)
            assert used <= group_width, (cls, group)
            ops.append(BitsOp(group_width, tuple(group)))
        group, group_width = [], 0

    for f in dataclasses.fields(cls):
        spec = f.metadata.get("llrp")
        if isinstance(spec, _Bits):
            if spec.group is not None:
                close_group()
                group_width = spec.group
            assert group_width, f"{cls.__name__}.{f.name}: the first bit field names its group"
            group.append((f.name, spec.width, spec.boolean))
            continue
        close_group()
        if isinstance(spec, _Wire):
            ops.append(FieldOp(f.name, spec.codec, spec.skip))
        elif isinstance(spec, _Slot):
            types = tuple(_type_of(r) for r in spec.refs)
            children.append(SlotOp(f.name, spec.kind, types, spec.kind == "many"))
        elif isinstance(spec, _Value):
            children.append(ValueOp(f.name, spec.type_num, spec.codec, _struct_of(spec.codec)))
    close_group()
    by_type: dict[int, SlotOp | ValueOp] = {}
    for child in children:
        for t in child.types if isinstance(child, SlotOp) else (child.type_num,):
            assert t not in by_type, (cls, t)
            by_type[t] = child
    has_ext = any(f.name == "extensions" for f in dataclasses.fields(cls))
    required = tuple(c for c in children if isinstance(c, SlotOp) and c.kind == "one")
    found = Layout(tuple(ops), tuple(children), by_type, has_ext, required, _fixed(cls, ops))
    _LAYOUTS[cls] = found
    return found
