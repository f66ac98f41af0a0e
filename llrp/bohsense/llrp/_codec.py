"""Decoding and encoding of the declared messages and parameters.

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
from typing import Any

from bohsense.llrp._errors import DecodeError, EncodeError, ErrorReason, LLRPError
from bohsense.llrp._schema import (
    CUSTOM_TYPE,
    PARAMETERS,
    TV_NAMES,
    TV_SIZES,
    Custom,
    Extension,
    FieldOp,
    Layout,
    Parameter,
    RawParameter,
    SlotOp,
    ValueOp,
    layout,
)
from bohsense.llrp._wire import U32, Reader

__all__ = ["decode_fields_and_children", "encode_body", "encode_parameter"]

_TLV_HEADER = struct.Struct(">HH")


# ---------------------------------------------------------------- decoding


def _name(type_num: int) -> str:
    if type_num < 128:
        return TV_NAMES.get(type_num, f"TV type {type_num}")
    cls = PARAMETERS.get(type_num)
    return cls.__name__ if cls is not None else f"parameter type {type_num}"


def _fail(reason: ErrorReason, detail: str, offset: int, parameter_type: int | None = None) -> DecodeError:
    return DecodeError(LLRPError(reason, detail, offset=offset, parameter_type=parameter_type))


def _read_fields(lay: Layout, r: Reader, owner: str, out: dict[str, Any]) -> None:
    for op in lay.fields:
        if isinstance(op, FieldOp):
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
    if lay.fixed is not None and lay.fixed[1].size == end - start:
        names, fmt = lay.fixed
        return cls(**dict(zip(names, fmt.unpack_from(data, start), strict=True)))
    r = Reader(data, start, end, base)
    kwargs: dict[str, Any] = {}
    decode_fields_and_children(cls, lay, r, kwargs, warnings)
    return cls(**kwargs)


def decode_fields_and_children(
    cls: type, lay: Layout, r: Reader, kwargs: dict[str, Any], warnings: list[LLRPError]
) -> None:
    owner = cls.__name__
    _read_fields(lay, r, owner, kwargs)
    if not r.remaining:
        _check_required(lay, kwargs, owner, r.offset(), {})
        return
    extensions: list[Extension] = []
    malformed: dict[str, LLRPError] = {}
    lists: dict[str, list[Any]] = {}
    data = r.data
    by_type = lay.by_type
    for type_num, head, body, end in _split(data, r.pos, r.end, r.base, owner):
        child = by_type.get(type_num)
        # a single slot already in kwargs is a duplicate (field names never collide with slot names)
        if child is not None and (child.many or child.name not in kwargs):
            try:
                fmt = child.fmt
                if fmt is not None and fmt.size == end - body:
                    decoded: Any = fmt.unpack_from(data, body)[0]
                elif isinstance(child, ValueOp):
                    decoded = _read_value(child, data, body, end, r.base)
                else:
                    inner: list[LLRPError] = []
                    decoded = _decode_parameter(PARAMETERS[type_num], data, body, end, r.base, inner)
                    if inner:
                        warnings.extend(inner)
            except DecodeError as exc:
                malformed.setdefault(child.name, exc.error)
                warnings.append(
                    dataclasses.replace(
                        exc.error,
                        reason=ErrorReason.MALFORMED_PARAMETER,
                        detail=f"{_name(type_num)} in {owner} is malformed ({exc.error.reason.value}: "
                        f"{exc.error.detail}): kept raw",
                        parameter_type=type_num,
                    )
                )
                extensions.append(_raw(data, type_num, head, body, end))
                continue
            if child.many:
                lists.setdefault(child.name, []).append(decoded)
            else:
                kwargs[child.name] = decoded
            continue
        raw = _raw(data, type_num, head, body, end)
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
        warnings.append(
            LLRPError(
                ErrorReason.DUPLICATE_PARAMETER,
                f"a second {_name(type_num)} in {owner}: kept raw",
                parameter_type=type_num,
                offset=r.base + head,
            )
        )
        extensions.append(raw)
    for name, items in lists.items():
        kwargs[name] = tuple(items)
    if extensions:
        if not lay.has_extensions:  # only RawParameter / Custom lack them, and they have no children
            raise _fail(ErrorReason.INVALID_FIELD, f"{owner} cannot carry sub-parameters", r.offset())
        kwargs["extensions"] = tuple(extensions)
    _check_required(lay, kwargs, owner, r.offset(), malformed)


def _raw(data: bytes, type_num: int, head: int, body: int, end: int) -> RawParameter:
    return RawParameter(type_num=type_num, body=bytes(data[body:end]), tv=body - head == 1)


def _read_value(child: ValueOp, data: bytes, body: int, end: int, base: int) -> Any:
    sub = Reader(data, body, end, base)
    value = child.codec.read(sub, _name(child.type_num))
    if sub.remaining:
        raise _fail(
            ErrorReason.BAD_PARAMETER_LENGTH,
            f"{_name(child.type_num)} carries {sub.remaining} bytes more than its value",
            sub.offset(),
            child.type_num,
        )
    return value


def _check_required(
    lay: Layout, kwargs: dict[str, Any], owner: str, offset: int, malformed: dict[str, LLRPError]
) -> None:
    for child in lay.required:
        if child.name not in kwargs:
            names = " or ".join(_name(t) for t in child.types)
            cause = malformed.get(child.name)
            if cause is not None:
                raise _fail(
                    ErrorReason.MISSING_PARAMETER,
                    f"{owner} has no valid {names}: {cause.reason.value}: {cause.detail}",
                    cause.offset if cause.offset is not None else offset,
                    child.types[0],
                )
            raise _fail(ErrorReason.MISSING_PARAMETER, f"{owner} has no {names}", offset, child.types[0])


# ---------------------------------------------------------------- encoding


def _write_fields(lay: Layout, obj: Any, out: bytearray) -> None:
    owner = type(obj).__name__
    for op in lay.fields:
        if isinstance(op, FieldOp):
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
        if not (0 <= p.type_num < 128 if p.tv else 0 <= p.type_num <= 1023):
            raise EncodeError(
                f"raw parameter type {p.type_num} does not fit a {'TV' if p.tv else 'TLV'} header"
            )
        if p.tv:
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
        if isinstance(child, ValueOp):
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


def _check_kind(item: Any, child: SlotOp, owner: Any) -> None:
    if not isinstance(item, Parameter) or type(item).TYPE not in child.types:
        raise EncodeError(
            f"{type(owner).__name__}.{child.name} takes {' or '.join(_name(t) for t in child.types)}, "
            f"got {type(item).__name__}"
        )
