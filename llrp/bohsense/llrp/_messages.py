"""The LLRP 1.0.1 messages (section 16.1) for capabilities, configuration, reports,
events and the session, one frozen dataclass each (the ROSpec and AccessSpec messages
are in ``_spec_messages``). Every response carries an ``LLRPStatus``; ``MESSAGES`` in
``_schema`` maps each ``TYPE`` to its class.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar

from bohsense.llrp._capabilities import (
    C1G2LLRPCapabilities,
    GeneralDeviceCapabilities,
    LLRPCapabilities,
    RegulatoryCapabilities,
)
from bohsense.llrp._config import (
    AccessReportSpec,
    AntennaConfiguration,
    AntennaProperties,
    EventsAndReports,
    GPIPortCurrentState,
    GPOWriteData,
    Identification,
    KeepaliveSpec,
    LLRPConfigurationStateValue,
    ReaderEventNotificationSpec,
)
from bohsense.llrp._events import ReaderEventNotificationData
from bohsense.llrp._report import RFSurveyReportData, TagReportData
from bohsense.llrp._rospec import ROReportSpec
from bohsense.llrp._schema import Message, flag, many, one, opt, register, wire
from bohsense.llrp._status import SUCCESS, LLRPStatus
from bohsense.llrp._wire import BYTES_REST, U8, U16, U32

__all__ = [
    "CapabilitiesRequest",
    "CloseConnection",
    "CloseConnectionResponse",
    "ConfigRequest",
    "CustomMessage",
    "EnableEventsAndReports",
    "ErrorMessage",
    "GetReaderCapabilities",
    "GetReaderCapabilitiesResponse",
    "GetReaderConfig",
    "GetReaderConfigResponse",
    "GetReport",
    "Keepalive",
    "KeepaliveAck",
    "ROAccessReport",
    "ReaderEventNotification",
    "SetReaderConfig",
    "SetReaderConfigResponse",
]


class CapabilitiesRequest(enum.IntEnum):
    ALL = 0
    GENERAL_DEVICE = 1
    LLRP = 2
    REGULATORY = 3
    AIR_PROTOCOL = 4


class ConfigRequest(enum.IntEnum):
    ALL = 0
    IDENTIFICATION = 1
    ANTENNA_PROPERTIES = 2
    ANTENNA_CONFIGURATION = 3
    RO_REPORT_SPEC = 4
    READER_EVENT_NOTIFICATION_SPEC = 5
    ACCESS_REPORT_SPEC = 6
    LLRP_CONFIGURATION_STATE_VALUE = 7
    KEEPALIVE_SPEC = 8
    GPI_PORT_CURRENT_STATE = 9
    GPO_WRITE_DATA = 10
    EVENTS_AND_REPORTS = 11


# ---------------------------------------------------------------- capabilities and configuration


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class GetReaderCapabilities(Message):
    TYPE: ClassVar[int] = 1
    requested_data: int = wire(U8, default=CapabilitiesRequest.ALL)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class GetReaderCapabilitiesResponse(Message):
    TYPE: ClassVar[int] = 11
    status: LLRPStatus = one(LLRPStatus, default=SUCCESS)
    general_device_capabilities: GeneralDeviceCapabilities | None = opt(GeneralDeviceCapabilities)
    llrp_capabilities: LLRPCapabilities | None = opt(LLRPCapabilities)
    regulatory_capabilities: RegulatoryCapabilities | None = opt(RegulatoryCapabilities)
    c1g2_llrp_capabilities: C1G2LLRPCapabilities | None = opt(C1G2LLRPCapabilities)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class GetReaderConfig(Message):
    TYPE: ClassVar[int] = 2
    antenna_id: int = wire(U16, default=0)
    requested_data: int = wire(U8, default=ConfigRequest.ALL)
    gpi_port_num: int = wire(U16, default=0)
    gpo_port_num: int = wire(U16, default=0)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class GetReaderConfigResponse(Message):
    TYPE: ClassVar[int] = 12
    status: LLRPStatus = one(LLRPStatus, default=SUCCESS)
    identification: Identification | None = opt(Identification)
    antenna_properties: tuple[AntennaProperties, ...] = many(AntennaProperties)
    antenna_configurations: tuple[AntennaConfiguration, ...] = many(AntennaConfiguration)
    reader_event_notification_spec: ReaderEventNotificationSpec | None = opt(ReaderEventNotificationSpec)
    ro_report_spec: ROReportSpec | None = opt(ROReportSpec)
    access_report_spec: AccessReportSpec | None = opt(AccessReportSpec)
    llrp_configuration_state: LLRPConfigurationStateValue | None = opt(LLRPConfigurationStateValue)
    keepalive_spec: KeepaliveSpec | None = opt(KeepaliveSpec)
    gpi_port_current_states: tuple[GPIPortCurrentState, ...] = many(GPIPortCurrentState)
    gpo_write_data: tuple[GPOWriteData, ...] = many(GPOWriteData)
    events_and_reports: EventsAndReports | None = opt(EventsAndReports)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class SetReaderConfig(Message):
    TYPE: ClassVar[int] = 3
    reset_to_factory_default: bool = flag(group=8, default=False)
    reader_event_notification_spec: ReaderEventNotificationSpec | None = opt(ReaderEventNotificationSpec)
    antenna_properties: tuple[AntennaProperties, ...] = many(AntennaProperties)
    antenna_configurations: tuple[AntennaConfiguration, ...] = many(AntennaConfiguration)
    ro_report_spec: ROReportSpec | None = opt(ROReportSpec)
    access_report_spec: AccessReportSpec | None = opt(AccessReportSpec)
    keepalive_spec: KeepaliveSpec | None = opt(KeepaliveSpec)
    gpo_write_data: tuple[GPOWriteData, ...] = many(GPOWriteData)
    gpi_port_current_states: tuple[GPIPortCurrentState, ...] = many(GPIPortCurrentState)
    events_and_reports: EventsAndReports | None = opt(EventsAndReports)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class SetReaderConfigResponse(Message):
    TYPE: ClassVar[int] = 13
    status: LLRPStatus = one(LLRPStatus, default=SUCCESS)


# ---------------------------------------------------------------- reports, events, session


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class GetReport(Message):
    TYPE: ClassVar[int] = 60


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class ROAccessReport(Message):
    TYPE: ClassVar[int] = 61
    tags: tuple[TagReportData, ...] = many(TagReportData)
    rf_survey: tuple[RFSurveyReportData, ...] = many(RFSurveyReportData)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class Keepalive(Message):
    TYPE: ClassVar[int] = 62


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class ReaderEventNotification(Message):
    TYPE: ClassVar[int] = 63
    data: ReaderEventNotificationData = one(ReaderEventNotificationData)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class EnableEventsAndReports(Message):
    TYPE: ClassVar[int] = 64


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class KeepaliveAck(Message):
    TYPE: ClassVar[int] = 72


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorMessage(Message):
    TYPE: ClassVar[int] = 100
    status: LLRPStatus = one(LLRPStatus)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class CloseConnection(Message):
    TYPE: ClassVar[int] = 14


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class CloseConnectionResponse(Message):
    TYPE: ClassVar[int] = 4
    status: LLRPStatus = one(LLRPStatus, default=SUCCESS)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class CustomMessage(Message):
    """A vendor message (type 1023), kept as bytes: vendor id, subtype and payload."""

    TYPE: ClassVar[int] = 1023
    vendor_id: int = wire(U32)
    subtype: int = wire(U8)
    data: bytes = wire(BYTES_REST, default=b"")
