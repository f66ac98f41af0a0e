"""Status and time parameters shared by every response and event: LLRPStatus with its
FieldError / ParameterError detail (LLRP 1.0.1 section 16.2.8), UTCTimestamp, Uptime."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar

from bohsense.llrp._schema import Container, opt, register, wire
from bohsense.llrp._wire import U16, U64, UTF8V

__all__ = ["FieldError", "LLRPStatus", "ParameterError", "StatusCode", "UTCTimestamp", "Uptime"]


class StatusCode(enum.IntEnum):
    """LLRPStatus codes: M_ for a message, P_ for a parameter, A_ for a field value, R_ for the reader."""

    M_SUCCESS = 0
    M_PARAMETER_ERROR = 100
    M_FIELD_ERROR = 101
    M_UNEXPECTED_PARAMETER = 102
    M_MISSING_PARAMETER = 103
    M_DUPLICATE_PARAMETER = 104
    M_OVERFLOW_PARAMETER = 105
    M_OVERFLOW_FIELD = 106
    M_UNKNOWN_PARAMETER = 107
    M_UNKNOWN_FIELD = 108
    M_UNSUPPORTED_MESSAGE = 109
    M_UNSUPPORTED_VERSION = 110
    M_UNSUPPORTED_PARAMETER = 111
    P_PARAMETER_ERROR = 200
    P_FIELD_ERROR = 201
    P_UNEXPECTED_PARAMETER = 202
    P_MISSING_PARAMETER = 203
    P_DUPLICATE_PARAMETER = 204
    P_OVERFLOW_PARAMETER = 205
    P_OVERFLOW_FIELD = 206
    P_UNKNOWN_PARAMETER = 207
    P_UNKNOWN_FIELD = 208
    P_UNSUPPORTED_PARAMETER = 209
    A_INVALID = 300
    A_OUT_OF_RANGE = 301
    R_DEVICE_ERROR = 401


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class UTCTimestamp(Container):
    TYPE: ClassVar[int] = 128
    microseconds: int = wire(U64)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class Uptime(Container):
    TYPE: ClassVar[int] = 129
    microseconds: int = wire(U64)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class FieldError(Container):
    TYPE: ClassVar[int] = 288
    field_num: int = wire(U16)
    error_code: int = wire(U16)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class ParameterError(Container):
    TYPE: ClassVar[int] = 289
    parameter_type: int = wire(U16)
    error_code: int = wire(U16)
    field_error: FieldError | None = opt(FieldError)
    parameter_error: ParameterError | None = opt(289)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class LLRPStatus(Container):
    TYPE: ClassVar[int] = 287
    status_code: int = wire(U16)
    error_description: str = wire(UTF8V, default="")
    field_error: FieldError | None = opt(FieldError)
    parameter_error: ParameterError | None = opt(ParameterError)

    @property
    def ok(self) -> bool:
        return self.status_code == StatusCode.M_SUCCESS


SUCCESS = LLRPStatus(status_code=StatusCode.M_SUCCESS, error_description="")
