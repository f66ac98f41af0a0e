"""Reader configuration (GET/SET_READER_CONFIG, LLRP 1.0.1 section 16.2.6 and the C1G2
inventory settings of 16.3.1.2): identification, antenna properties and
configuration (receiver, transmitter, C1G2 inventory command with filters, RF control
and singulation), event notification, keepalive, GPIO and event holding."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from bohsense.llrp._schema import Container, bits, flag, many, one, opt, register, wire
from bohsense.llrp._wire import S16, U1V, U8, U8V, U16, U32, BitString

__all__ = [
    "AccessReportSpec",
    "AntennaConfiguration",
    "AntennaProperties",
    "C1G2Filter",
    "C1G2InventoryCommand",
    "C1G2RFControl",
    "C1G2SingulationControl",
    "C1G2TagInventoryMask",
    "C1G2TagInventoryStateAwareFilterAction",
    "C1G2TagInventoryStateAwareSingulationAction",
    "C1G2TagInventoryStateUnawareFilterAction",
    "EventNotificationState",
    "EventsAndReports",
    "GPIPortCurrentState",
    "GPOWriteData",
    "Identification",
    "KeepaliveSpec",
    "LLRPConfigurationStateValue",
    "RFReceiver",
    "RFTransmitter",
    "ReaderEventNotificationSpec",
]


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class LLRPConfigurationStateValue(Container):
    TYPE: ClassVar[int] = 217
    value: int = wire(U32)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class Identification(Container):
    TYPE: ClassVar[int] = 218
    id_type: int = wire(U8)  # 0 MAC address, 1 EPC
    reader_id: bytes = wire(U8V)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class GPOWriteData(Container):
    TYPE: ClassVar[int] = 219
    gpo_port_number: int = wire(U16)
    gpo_data: bool = flag(group=8)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class KeepaliveSpec(Container):
    TYPE: ClassVar[int] = 220
    trigger_type: int = wire(U8)  # 0 null, 1 periodic
    periodic_trigger_value: int = wire(U32, default=0)  # milliseconds


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class AntennaProperties(Container):
    TYPE: ClassVar[int] = 221
    antenna_connected: bool = flag(group=8)
    antenna_id: int = wire(U16)
    antenna_gain: int = wire(S16)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class RFReceiver(Container):
    TYPE: ClassVar[int] = 223
    receiver_sensitivity: int = wire(U16)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class RFTransmitter(Container):
    TYPE: ClassVar[int] = 224
    hop_table_id: int = wire(U16)
    channel_index: int = wire(U16)
    transmit_power: int = wire(U16)  # an index into the transmit power table


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class GPIPortCurrentState(Container):
    TYPE: ClassVar[int] = 225
    gpi_port_num: int = wire(U16)
    config: bool = flag(group=8)
    state: int = wire(U8)  # 0 low, 1 high, 2 unknown


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class EventsAndReports(Container):
    TYPE: ClassVar[int] = 226
    hold_events_and_reports_upon_reconnect: bool = flag(group=8)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class AccessReportSpec(Container):
    TYPE: ClassVar[int] = 239
    access_report_trigger: int = wire(U8)  # 0 whenever an RO report is generated, 1 end of AccessSpec


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class EventNotificationState(Container):
    TYPE: ClassVar[int] = 245
    event_type: int = wire(U16)  # ReaderEventType
    notification_state: bool = flag(group=8)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class ReaderEventNotificationSpec(Container):
    TYPE: ClassVar[int] = 244
    states: tuple[EventNotificationState, ...] = many(EventNotificationState)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class C1G2TagInventoryMask(Container):
    TYPE: ClassVar[int] = 332
    mb: int = bits(2, group=8)  # memory bank
    pointer: int = wire(U16)
    tag_mask: BitString = wire(U1V)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class C1G2TagInventoryStateAwareFilterAction(Container):
    TYPE: ClassVar[int] = 333
    target: int = wire(U8)
    action: int = wire(U8)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class C1G2TagInventoryStateUnawareFilterAction(Container):
    TYPE: ClassVar[int] = 334
    action: int = wire(U8)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class C1G2Filter(Container):
    TYPE: ClassVar[int] = 331
    truncate: int = bits(2, group=8)  # 0 unspecified, 1 do not truncate, 2 truncate
    mask: C1G2TagInventoryMask = one(C1G2TagInventoryMask)
    aware_action: C1G2TagInventoryStateAwareFilterAction | None = opt(C1G2TagInventoryStateAwareFilterAction)
    unaware_action: C1G2TagInventoryStateUnawareFilterAction | None = opt(
        C1G2TagInventoryStateUnawareFilterAction
    )


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class C1G2RFControl(Container):
    TYPE: ClassVar[int] = 335
    mode_index: int = wire(U16)
    tari: int = wire(U16)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class C1G2TagInventoryStateAwareSingulationAction(Container):
    TYPE: ClassVar[int] = 337
    i: bool = flag(group=8)  # False: state A, True: state B
    s: bool = flag()  # False: SL, True: not SL


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class C1G2SingulationControl(Container):
    TYPE: ClassVar[int] = 336
    session: int = bits(2, group=8)
    tag_population: int = wire(U16)
    tag_transit_time: int = wire(U32)
    state_aware_action: C1G2TagInventoryStateAwareSingulationAction | None = opt(
        C1G2TagInventoryStateAwareSingulationAction
    )


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class C1G2InventoryCommand(Container):
    TYPE: ClassVar[int] = 330
    tag_inventory_state_aware: bool = flag(group=8)
    filters: tuple[C1G2Filter, ...] = many(C1G2Filter)
    rf_control: C1G2RFControl | None = opt(C1G2RFControl)
    singulation_control: C1G2SingulationControl | None = opt(C1G2SingulationControl)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class AntennaConfiguration(Container):
    TYPE: ClassVar[int] = 222
    antenna_id: int = wire(U16)
    rf_receiver: RFReceiver | None = opt(RFReceiver)
    rf_transmitter: RFTransmitter | None = opt(RFTransmitter)
    inventory_commands: tuple[C1G2InventoryCommand, ...] = many(C1G2InventoryCommand)
