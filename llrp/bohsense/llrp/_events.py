"""Reader events (READER_EVENT_NOTIFICATION, LLRP 1.0.1 section 16.2.7.6): the
connection attempt a reader announces on connect, the close it announces on leaving,
ROSpec and AISpec boundaries, antennas, GPIs, buffer warnings, exceptions, hops."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar

from bohsense.llrp._schema import Container, Parameter, flag, one, opt, register, value, wire
from bohsense.llrp._status import Uptime, UTCTimestamp
from bohsense.llrp._wire import U8, U16, U32, UTF8V

__all__ = [
    "AISpecEvent",
    "AntennaEvent",
    "C1G2SingulationDetails",
    "ConnectionAttemptEvent",
    "ConnectionAttemptStatus",
    "ConnectionCloseEvent",
    "GPIEvent",
    "HoppingEvent",
    "RFSurveyEvent",
    "ROSpecEvent",
    "ReaderEventNotificationData",
    "ReaderExceptionEvent",
    "ReportBufferLevelWarningEvent",
    "ReportBufferOverflowErrorEvent",
]


class ConnectionAttemptStatus(enum.IntEnum):
    SUCCESS = 0
    FAILED_READER_INITIATED_CONNECTION_EXISTS = 1
    FAILED_CLIENT_INITIATED_CONNECTION_EXISTS = 2
    FAILED_OTHER_REASON = 3
    ANOTHER_CONNECTION_ATTEMPTED = 4


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class C1G2SingulationDetails(Parameter):
    TYPE: ClassVar[int] = 18
    num_collision_slots: int = wire(U16)
    num_empty_slots: int = wire(U16)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class HoppingEvent(Container):
    TYPE: ClassVar[int] = 247
    hop_table_id: int = wire(U16)
    next_channel_index: int = wire(U16)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class GPIEvent(Container):
    TYPE: ClassVar[int] = 248
    gpi_port_number: int = wire(U16)
    gpi_event: bool = flag(group=8)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class ROSpecEvent(Container):
    TYPE: ClassVar[int] = 249
    event_type: int = wire(U8)  # 0 start, 1 end, 2 preemption
    ro_spec_id: int = wire(U32)
    preempting_ro_spec_id: int = wire(U32, default=0)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class ReportBufferLevelWarningEvent(Container):
    TYPE: ClassVar[int] = 250
    report_buffer_percentage_full: int = wire(U8)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class ReportBufferOverflowErrorEvent(Container):
    TYPE: ClassVar[int] = 251


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class ReaderExceptionEvent(Container):
    TYPE: ClassVar[int] = 252
    message: str = wire(UTF8V)
    ro_spec_id: int | None = value(9, U32)
    spec_index: int | None = value(14, U16)
    inventory_parameter_spec_id: int | None = value(10, U16)
    antenna_id: int | None = value(1, U16)
    access_spec_id: int | None = value(16, U32)
    op_spec_id: int | None = value(17, U16)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class RFSurveyEvent(Container):
    TYPE: ClassVar[int] = 253
    event_type: int = wire(U8)
    ro_spec_id: int = wire(U32)
    spec_index: int = wire(U16)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class AISpecEvent(Container):
    TYPE: ClassVar[int] = 254
    event_type: int = wire(U8, default=0)  # 0: end of AISpec
    ro_spec_id: int = wire(U32)
    spec_index: int = wire(U16)
    singulation_details: C1G2SingulationDetails | None = opt(C1G2SingulationDetails)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class AntennaEvent(Container):
    TYPE: ClassVar[int] = 255
    event_type: int = wire(U8)  # 0 disconnected, 1 connected
    antenna_id: int = wire(U16)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionAttemptEvent(Container):
    TYPE: ClassVar[int] = 256
    status: int = wire(U16, default=ConnectionAttemptStatus.SUCCESS)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionCloseEvent(Container):
    TYPE: ClassVar[int] = 257


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class ReaderEventNotificationData(Container):
    TYPE: ClassVar[int] = 246
    timestamp: UTCTimestamp | Uptime = one(UTCTimestamp, Uptime)
    hopping: HoppingEvent | None = opt(HoppingEvent)
    gpi: GPIEvent | None = opt(GPIEvent)
    ro_spec: ROSpecEvent | None = opt(ROSpecEvent)
    report_buffer_level_warning: ReportBufferLevelWarningEvent | None = opt(ReportBufferLevelWarningEvent)
    report_buffer_overflow: ReportBufferOverflowErrorEvent | None = opt(ReportBufferOverflowErrorEvent)
    reader_exception: ReaderExceptionEvent | None = opt(ReaderExceptionEvent)
    rf_survey: RFSurveyEvent | None = opt(RFSurveyEvent)
    ai_spec: AISpecEvent | None = opt(AISpecEvent)
    antenna: AntennaEvent | None = opt(AntennaEvent)
    connection_attempt: ConnectionAttemptEvent | None = opt(ConnectionAttemptEvent)
    connection_close: ConnectionCloseEvent | None = opt(ConnectionCloseEvent)
