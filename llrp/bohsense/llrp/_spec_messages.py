"""The messages that manage reader operations and tag access (LLRP 1.0.1): add,
delete, start, stop, enable, disable and list ROSpecs and AccessSpecs, with their
responses. Requests that name a spec take its id, 0 meaning all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from bohsense.llrp._access import AccessSpec
from bohsense.llrp._rospec import ROSpec
from bohsense.llrp._schema import Message, many, one, register, wire
from bohsense.llrp._status import SUCCESS, LLRPStatus
from bohsense.llrp._wire import U32

__all__ = [
    "AddAccessSpec",
    "AddAccessSpecResponse",
    "AddROSpec",
    "AddROSpecResponse",
    "DeleteAccessSpec",
    "DeleteAccessSpecResponse",
    "DeleteROSpec",
    "DeleteROSpecResponse",
    "DisableAccessSpec",
    "DisableAccessSpecResponse",
    "DisableROSpec",
    "DisableROSpecResponse",
    "EnableAccessSpec",
    "EnableAccessSpecResponse",
    "EnableROSpec",
    "EnableROSpecResponse",
    "GetAccessSpecs",
    "GetAccessSpecsResponse",
    "GetROSpecs",
    "GetROSpecsResponse",
    "StartROSpec",
    "StartROSpecResponse",
    "StopROSpec",
    "StopROSpecResponse",
]


# ---------------------------------------------------------------- ROSpecs


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class AddROSpec(Message):
    TYPE: ClassVar[int] = 20
    ro_spec: ROSpec = one(ROSpec)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class AddROSpecResponse(Message):
    TYPE: ClassVar[int] = 30
    status: LLRPStatus = one(LLRPStatus, default=SUCCESS)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteROSpec(Message):
    TYPE: ClassVar[int] = 21
    ro_spec_id: int = wire(U32, default=0)  # 0: all


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteROSpecResponse(Message):
    TYPE: ClassVar[int] = 31
    status: LLRPStatus = one(LLRPStatus, default=SUCCESS)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class StartROSpec(Message):
    TYPE: ClassVar[int] = 22
    ro_spec_id: int = wire(U32, default=0)  # 0: all


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class StartROSpecResponse(Message):
    TYPE: ClassVar[int] = 32
    status: LLRPStatus = one(LLRPStatus, default=SUCCESS)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class StopROSpec(Message):
    TYPE: ClassVar[int] = 23
    ro_spec_id: int = wire(U32, default=0)  # 0: all


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class StopROSpecResponse(Message):
    TYPE: ClassVar[int] = 33
    status: LLRPStatus = one(LLRPStatus, default=SUCCESS)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class EnableROSpec(Message):
    TYPE: ClassVar[int] = 24
    ro_spec_id: int = wire(U32, default=0)  # 0: all


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class EnableROSpecResponse(Message):
    TYPE: ClassVar[int] = 34
    status: LLRPStatus = one(LLRPStatus, default=SUCCESS)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class DisableROSpec(Message):
    TYPE: ClassVar[int] = 25
    ro_spec_id: int = wire(U32, default=0)  # 0: all


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class DisableROSpecResponse(Message):
    TYPE: ClassVar[int] = 35
    status: LLRPStatus = one(LLRPStatus, default=SUCCESS)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class GetROSpecs(Message):
    TYPE: ClassVar[int] = 26


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class GetROSpecsResponse(Message):
    TYPE: ClassVar[int] = 36
    status: LLRPStatus = one(LLRPStatus, default=SUCCESS)
    ro_specs: tuple[ROSpec, ...] = many(ROSpec)


# ---------------------------------------------------------------- AccessSpecs


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class AddAccessSpec(Message):
    TYPE: ClassVar[int] = 40
    access_spec: AccessSpec = one(AccessSpec)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class AddAccessSpecResponse(Message):
    TYPE: ClassVar[int] = 50
    status: LLRPStatus = one(LLRPStatus, default=SUCCESS)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteAccessSpec(Message):
    TYPE: ClassVar[int] = 41
    access_spec_id: int = wire(U32, default=0)  # 0: all


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteAccessSpecResponse(Message):
    TYPE: ClassVar[int] = 51
    status: LLRPStatus = one(LLRPStatus, default=SUCCESS)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class EnableAccessSpec(Message):
    TYPE: ClassVar[int] = 42
    access_spec_id: int = wire(U32, default=0)  # 0: all


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class EnableAccessSpecResponse(Message):
    TYPE: ClassVar[int] = 52
    status: LLRPStatus = one(LLRPStatus, default=SUCCESS)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class DisableAccessSpec(Message):
    TYPE: ClassVar[int] = 43
    access_spec_id: int = wire(U32, default=0)  # 0: all


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class DisableAccessSpecResponse(Message):
    TYPE: ClassVar[int] = 53
    status: LLRPStatus = one(LLRPStatus, default=SUCCESS)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class GetAccessSpecs(Message):
    TYPE: ClassVar[int] = 44


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class GetAccessSpecsResponse(Message):
    TYPE: ClassVar[int] = 54
    status: LLRPStatus = one(LLRPStatus, default=SUCCESS)
    access_specs: tuple[AccessSpec, ...] = many(AccessSpec)
