"""Access operations on tags (LLRP 1.0.1 and its C1G2 air protocol): the AccessSpec
with its stop trigger and access command (a C1G2 tag spec and the read, write, kill,
lock, block-erase and block-write operations), as GET_ACCESSSPECS_RESPONSE carries them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from bohsense.llrp._config import AccessReportSpec
from bohsense.llrp._schema import Container, bits, flag, many, one, opt, register, wire
from bohsense.llrp._wire import U1V, U8, U16, U16V, U32, BitString

__all__ = [
    "AccessCommand",
    "AccessSpec",
    "AccessSpecStopTrigger",
    "C1G2BlockErase",
    "C1G2BlockWrite",
    "C1G2Kill",
    "C1G2Lock",
    "C1G2LockPayload",
    "C1G2Read",
    "C1G2TagSpec",
    "C1G2TargetTag",
    "C1G2Write",
]


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class AccessSpecStopTrigger(Container):
    TYPE: ClassVar[int] = 208
    trigger_type: int = wire(U8)  # 0 null, 1 operation count
    operation_count: int = wire(U16, default=0)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class C1G2TargetTag(Container):
    TYPE: ClassVar[int] = 339
    mb: int = bits(2, group=8)
    match: bool = flag()
    pointer: int = wire(U16)
    tag_mask: BitString = wire(U1V)
    tag_data: BitString = wire(U1V)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class C1G2TagSpec(Container):
    TYPE: ClassVar[int] = 338
    targets: tuple[C1G2TargetTag, ...] = many(C1G2TargetTag)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class C1G2Read(Container):
    TYPE: ClassVar[int] = 341
    op_spec_id: int = wire(U16)
    access_password: int = wire(U32)
    mb: int = bits(2, group=8)
    word_pointer: int = wire(U16)
    word_count: int = wire(U16)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class C1G2Write(Container):
    TYPE: ClassVar[int] = 342
    op_spec_id: int = wire(U16)
    access_password: int = wire(U32)
    mb: int = bits(2, group=8)
    word_pointer: int = wire(U16)
    write_data: tuple[int, ...] = wire(U16V)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class C1G2Kill(Container):
    TYPE: ClassVar[int] = 343
    op_spec_id: int = wire(U16)
    kill_password: int = wire(U32)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class C1G2LockPayload(Container):
    TYPE: ClassVar[int] = 345
    privilege: int = wire(U8)
    data_field: int = wire(U8)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class C1G2Lock(Container):
    TYPE: ClassVar[int] = 344
    op_spec_id: int = wire(U16)
    access_password: int = wire(U32)
    payloads: tuple[C1G2LockPayload, ...] = many(C1G2LockPayload)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class C1G2BlockErase(Container):
    TYPE: ClassVar[int] = 346
    op_spec_id: int = wire(U16)
    access_password: int = wire(U32)
    mb: int = bits(2, group=8)
    word_pointer: int = wire(U16)
    word_count: int = wire(U16)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class C1G2BlockWrite(Container):
    TYPE: ClassVar[int] = 347
    op_spec_id: int = wire(U16)
    access_password: int = wire(U32)
    mb: int = bits(2, group=8)
    word_pointer: int = wire(U16)
    write_data: tuple[int, ...] = wire(U16V)


OpSpec = C1G2Read | C1G2Write | C1G2Kill | C1G2Lock | C1G2BlockErase | C1G2BlockWrite


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class AccessCommand(Container):
    TYPE: ClassVar[int] = 209
    tag_spec: C1G2TagSpec = one(C1G2TagSpec)
    op_specs: tuple[OpSpec, ...] = many(
        C1G2Read, C1G2Write, C1G2Kill, C1G2Lock, C1G2BlockErase, C1G2BlockWrite
    )


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class AccessSpec(Container):
    TYPE: ClassVar[int] = 207
    access_spec_id: int = wire(U32)
    antenna_id: int = wire(U16, default=0)
    protocol_id: int = wire(U8, default=1)
    current_state: bool = flag(group=8, default=False)  # True: active
    ro_spec_id: int = wire(U32, default=0)
    stop_trigger: AccessSpecStopTrigger = one(AccessSpecStopTrigger)
    command: AccessCommand = one(AccessCommand)
    report_spec: AccessReportSpec | None = opt(AccessReportSpec)
