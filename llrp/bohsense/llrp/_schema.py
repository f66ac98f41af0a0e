"""The one table-driven codec behind every typed LLRP message and parameter.

Each message and parameter is a frozen dataclass whose fields say how they travel:
``wire(codec)`` for a fixed field, ``flag()`` / ``bits(n)`` for fields packed into a
byte or a short, ``one`` / ``opt`` / ``many`` for sub-parameters (1, 0-1, 0-N) and
``value(type, codec)`` for a sub-parameter that carries a single value (the TV
parameters of a tag report: ``antenna_id: int | None``). ``register`` files the class
under its type number; decoding and encoding read the same declaration, so the
decoder and the encoder cannot disagree.

Decoding is lenient where LLRP asks for it and strict where framing is at stake:

- the fields of a parameter must be complete, and every sub-parameter must lie
  inside its parent (else the parent is malformed);
- a Custom parameter (type 1023) anywhere is kept as ``Custom`` in ``extensions``;
- a parameter of an unknown type, or of a known type in a place it does not belong,
  or a second copy of a 0-1 parameter, is kept as ``RawParameter`` in ``extensions``
  and reported as a warning (``UNKNOWN_PARAMETER`` / ``UNEXPECTED_PARAMETER`` /
  ``DUPLICATE_PARAMETER``);
- a sub-parameter that is itself malformed is kept raw and reported
  (``MALFORMED_PARAMETER``), so one bad tag in a report does not cost the others;
  when it was a required one the parent fails with ``MISSING_PARAMETER``.

Encoding writes fields, then sub-parameters in declaration order (the order of the
LLRP specification), then ``extensions`` in the order they were received.
"""

from __future__ import annotations

import dataclasses
import struct
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from bohsense.llrp._errors import DecodeError, EncodeError, ErrorReason, LLRPError
from bohsense.llrp._wire import BYTES_REST, U32, Codec, Reader

__all__ = [
    "MESSAGES",
    "PARAMETERS",
    "TV_SIZES",
    "Container",
    "Custom",
    "Extension",
    "Message",
    "Parameter",
    "RawParameter",
    "bits",
    "decode_fields_and_children",
    "encode_body",
    "encode_parameter",
    "flag",
    "many",
    "one",
    "opt",
    "register",
    "value",
    "wire",
]

# Body sizes of the TV-encoded parameters of LLRP 1.0.1 (section 4.2.1): a TV parameter
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
_TLV_HEADER = struct.Struct(">HH")


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
    """A vendor extension (LLRP 1.0.1 section 16.2.9), kept as bytes: Impinj's pass through."""

    TYPE: ClassVar[int] = CUSTOM_TYPE
    vendor_id: int = wire(U32)
    subtype: int = wire(U32)
    data: bytes = wire(BYTES_REST)


@dataclass(frozen=True, slots=True, kw_only=True)
class RawParameter(Parameter):
    """A parameter kept as it arrived: unknown, out of place, duplicated or malformed."""

    type_num: int
    body: bytes


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
class _FieldOp:
    name: str
    codec: Codec
    skip: int


@dataclass(frozen=True, slots=True)
class _BitsOp:
    width: int  # bits in the group: 8 or 16
    members: tuple[tuple[str, int, bool], ...]


@dataclass(frozen=True, slots=True)
class _SlotOp:
    name: str
    kind: str
    types: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class _ValueOp:
    name: str
    type_num: int
    codec: Codec


@dataclass(frozen=True, slots=True)
class _Layout:
    fields: tuple[_FieldOp | _BitsOp, ...]
    children: tuple[_SlotOp | _ValueOp, ...]
    by_type: dict[int, _SlotOp | _ValueOp]
    has_extensions: bool


_LAYOUTS: dict[type, _Layout] = {}


def _type_of(ref: Ref) -> int:
    return ref if isinstance(ref, int) else ref.TYPE


def layout(cls: type) -> _Layout:
    found = _LAYOUTS.get(cls)
    if found is not None:
        return found
    ops: list[_FieldOp | _BitsOp] = []
    children: list[_SlotOp | _ValueOp] = []
    group: list[tuple[str, int, bool]] = []
    group_width = 0

    def close_group() -> None:
        nonlocal group, group_width
        if group:
            used = sum(w for _, w, _ in group)
            assert used <= group_width, (cls, group)
            ops.append(_BitsOp(group_width, tuple(group)))
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
            ops.append(_FieldOp(f.name, spec.codec, spec.skip))
        elif isinstance(spec, _Slot):
            children.append(_SlotOp(f.name, spec.kind, tuple(_type_of(r) for r in spec.refs)))
        elif isinstance(spec, _Value):
            children.append(_ValueOp(f.name, spec.type_num, spec.codec))
    close_group()
    by_type: dict[int, _SlotOp | _ValueOp] = {}
    for child in children:
        for t in child.types if isinstance(child, _SlotOp) else (child.type_num,):
            assert t not in by_type, (cls, t)
            by_type[t] = child
    has_ext = any(f.name == "extensions" for f in dataclasses.fields(cls))
    found = _Layout(tuple(ops), tuple(children), by_type, has_ext)
    _LAYOUTS[cls] = found
    return found


# ---------------------------------------------------------------- decoding


def _name(type_num: int) -> str:
    if type_num < 128:
        return TV_NAMES.get(type_num, f"TV type {type_num}")
    cls = PARAMETERS.get(type_num)
    return cls.__name__ if cls is not None else f"parameter type {type_num}"


def _fail(reason: ErrorReason, detail: str, offset: int, parameter_type: int | None = None) -> DecodeError:
    return DecodeError(LLRPError(reason, detail, offset=offset, parameter_type=parameter_type))


def _read_fields(lay: _Layout, r: Reader, owner: str, out: dict[str, Any]) -> None:
    for op in lay.fields:
        if isinstance(op, _FieldOp):
            if op.skip:
                r.take(op.skip, f"{owner} reserved bytes")
            out[op.name] = op.codec.read(r, f"{owner}.{op.name}")
        else:
            raw = r.take(op.width // 8, f"{owner} flags")
            word = int.from_bytes(raw, "big")
            shift = op.width
            for name, width, boolean in op.members:
                shift -= width
                v = (word >> shift) & ((1 << width) - 1)
                out[name] = bool(v) if boolean else v


def _split(data: bytes, pos: int, end: int, base: int, owner: str) -> list[tuple[int, int, int, int]]:
    """Sub-parameters of ``data[pos:end]`` as (type, start of header, start of body, end)."""
    out: list[tuple[int, int, int, int]] = []
    while pos < end:
        first = data[pos]
        if first & 0x80:
            type_num = first & 0x7F
            size = TV_SIZES.get(type_num)
            if size is None:
                raise _fail(
                    ErrorReason.UNKNOWN_TV_TYPE,
                    f"TV parameter type {type_num} in {owner} is unknown: its length, and all that follows, cannot be read",
                    base + pos,
                    type_num,
                )
            if pos + 1 + size > end:
                raise _fail(
                    ErrorReason.PARAMETER_BEYOND_PARENT,
                    f"{_name(type_num)} ({1 + size} bytes) runs past the end of {owner}",
                    base + pos,
                    type_num,
                )
            out.append((type_num, pos, pos + 1, pos + 1 + size))
            pos += 1 + size
            continue
        if end - pos < 4:
            raise _fail(
                ErrorReason.PARAMETER_BEYOND_PARENT,
                f"{end - pos} trailing bytes in {owner} are too few for a parameter header",
                base + pos,
            )
        type_num, length = _TLV_HEADER.unpack_from(data, pos)
        type_num &= 0x3FF
        if length < 4:
            raise _fail(
                ErrorReason.BAD_PARAMETER_LENGTH,
                f"{_name(type_num)} in {owner} declares length {length}, below its 4-byte header",
                base + pos,
                type_num,
            )
        if pos + length > end:
            raise _fail(
                ErrorReason.PARAMETER_BEYOND_PARENT,
                f"{_name(type_num)} declares {length} bytes, only {end - pos} are left in {owner}",
                base + pos,
                type_num,
            )
        out.append((type_num, pos, pos + 4, pos + length))
        pos += length
    return out


def _decode_parameter(
    cls: type[Parameter], data: bytes, start: int, end: int, base: int, warnings: list[LLRPError]
) -> Parameter:
    lay = layout(cls)
    r = Reader(data, start, end, base)
    kwargs: dict[str, Any] = {}
    decode_fields_and_children(cls, lay, r, kwargs, warnings)
    return cls(**kwargs)


def decode_fields_and_children(
    cls: type, lay: _Layout, r: Reader, kwargs: dict[str, Any], warnings: list[LLRPError]
) -> None:
    owner = cls.__name__
    _read_fields(lay, r, owner, kwargs)
    if not r.remaining:
        _check_required(lay, kwargs, owner, r.offset())
        return
    extensions: list[Extension] = []
    singles_seen: set[str] = set()
    lists: dict[str, list[Any]] = {}
    for type_num, head, body, end in _split(r.data, r.pos, r.end, r.base, owner):
        raw = RawParameter(type_num=type_num, body=bytes(r.data[body:end]))
        child = lay.by_type.get(type_num)
        if child is None:
            if type_num == CUSTOM_TYPE and lay.has_extensions and end - body >= 8:
                sub = Reader(r.data, body, end, r.base)
                extensions.append(Custom(vendor_id=U32.read(sub, "Custom"), subtype=U32.read(sub, "Custom"),
                                         data=bytes(sub.take(sub.remaining, "Custom"))))  # fmt: skip
                continue
            known = type_num in PARAMETERS or type_num in TV_NAMES
            warnings.append(
                LLRPError(
                    ErrorReason.UNEXPECTED_PARAMETER if known else ErrorReason.UNKNOWN_PARAMETER,
                    f"{_name(type_num)} is {'not expected' if known else 'unknown'} in {owner}: kept raw",
                    parameter_type=type_num,
                    offset=r.base + head,
                )
            )
            extensions.append(raw)
            continue
        if child.name in singles_seen:
            warnings.append(
                LLRPError(
                    ErrorReason.DUPLICATE_PARAMETER,
                    f"a second {_name(type_num)} in {owner}: kept raw",
                    parameter_type=type_num,
                    offset=r.base + head,
                )
            )
            extensions.append(raw)
            continue
        try:
            if isinstance(child, _ValueOp):
                sub = Reader(r.data, body, end, r.base)
                decoded: Any = child.codec.read(sub, _name(type_num))
                if sub.remaining:
                    raise _fail(
                        ErrorReason.BAD_PARAMETER_LENGTH,
                        f"{_name(type_num)} carries {sub.remaining} bytes more than its value",
                        sub.offset(),
                        type_num,
                    )
            else:
                inner: list[LLRPError] = []
                decoded = _decode_parameter(PARAMETERS[type_num], r.data, body, end, r.base, inner)
                warnings.extend(inner)
        except DecodeError as exc:
            warnings.append(
                dataclasses.replace(
                    exc.error,
                    reason=ErrorReason.MALFORMED_PARAMETER,
                    detail=f"{_name(type_num)} in {owner} is malformed ({exc.error.reason.value}: "
                    f"{exc.error.detail}): kept raw",
                    parameter_type=type_num,
                )
            )
            extensions.append(raw)
            continue
        if isinstance(child, _SlotOp) and child.kind == "many":
            lists.setdefault(child.name, []).append(decoded)
        else:
            singles_seen.add(child.name)
            kwargs[child.name] = decoded
    for name, items in lists.items():
        kwargs[name] = tuple(items)
    if extensions:
        if not lay.has_extensions:  # only RawParameter / Custom lack them, and they have no children
            raise _fail(ErrorReason.INVALID_FIELD, f"{owner} cannot carry sub-parameters", r.offset())
        kwargs["extensions"] = tuple(extensions)
    _check_required(lay, kwargs, owner, r.offset())


def _check_required(lay: _Layout, kwargs: dict[str, Any], owner: str, offset: int) -> None:
    for child in lay.children:
        if isinstance(child, _SlotOp) and child.kind == "one" and child.name not in kwargs:
            names = " or ".join(_name(t) for t in child.types)
            raise _fail(ErrorReason.MISSING_PARAMETER, f"{owner} has no {names}", offset, child.types[0])


# ---------------------------------------------------------------- encoding


def _write_fields(lay: _Layout, obj: Any, out: bytearray) -> None:
    owner = type(obj).__name__
    for op in lay.fields:
        if isinstance(op, _FieldOp):
            out += bytes(op.skip)
            op.codec.write(out, getattr(obj, op.name), f"{owner}.{op.name}")
        else:
            word = 0
            shift = op.width
            for name, width, _ in op.members:
                shift -= width
                v = int(getattr(obj, name))
                if not 0 <= v < (1 << width):
                    raise EncodeError(f"{owner}.{name}={v} does not fit {width} bits")
                word |= v << shift
            out += word.to_bytes(op.width // 8, "big")


def _write_header_tlv(out: bytearray, start: int, type_num: int, what: str) -> None:
    length = len(out) - start
    if length > 0xFFFF:
        raise EncodeError(f"{what} is {length} bytes, a parameter holds at most 65535")
    _TLV_HEADER.pack_into(out, start, type_num, length)


def encode_parameter(p: Parameter, out: bytearray) -> None:
    """Append ``p`` with its TV or TLV header."""
    if isinstance(p, RawParameter):
        if p.type_num < 128:
            out.append(0x80 | p.type_num)
            out += p.body
            return
        start = len(out)
        out += b"\0\0\0\0"
        out += p.body
        _write_header_tlv(out, start, p.type_num, f"raw parameter {p.type_num}")
        return
    type_num = type(p).TYPE
    lay = layout(type(p))
    if type_num < 128:
        out.append(0x80 | type_num)
        _write_fields(lay, p, out)
        return
    start = len(out)
    out += b"\0\0\0\0"
    encode_body(p, out)
    _write_header_tlv(out, start, type_num, type(p).__name__)


def encode_body(obj: Any, out: bytearray) -> None:
    """Append the fields and sub-parameters of a message or TLV parameter (no header)."""
    lay = layout(type(obj))
    _write_fields(lay, obj, out)
    for child in lay.children:
        got = getattr(obj, child.name)
        if got is None:
            continue
        if isinstance(child, _ValueOp):
            if child.type_num < 128:
                out.append(0x80 | child.type_num)
                child.codec.write(out, got, _name(child.type_num))
            else:
                start = len(out)
                out += b"\0\0\0\0"
                child.codec.write(out, got, _name(child.type_num))
                _write_header_tlv(out, start, child.type_num, _name(child.type_num))
        elif child.kind == "many":
            for item in got:
                _check_kind(item, child, obj)
                encode_parameter(item, out)
        else:
            _check_kind(got, child, obj)
            encode_parameter(got, out)
    for ext in getattr(obj, "extensions", ()):
        encode_parameter(ext, out)


def _check_kind(item: Any, child: _SlotOp, owner: Any) -> None:
    if not isinstance(item, Parameter) or type(item).TYPE not in child.types:
        raise EncodeError(
            f"{type(owner).__name__}.{child.name} takes {' or '.join(_name(t) for t in child.types)}, "
            f"got {type(item).__name__}"
        )
