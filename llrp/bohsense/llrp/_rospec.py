"""Reader operations: the ROSpec and everything inside it (LLRP 1.0.1 sections 16.2.4
and 16.2.7.1): boundary triggers, the antenna inventory spec (AISpec) with its stop
trigger and inventory parameters, the RF survey spec, and what to report and when."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar

from bohsense.llrp._config import AntennaConfiguration
from bohsense.llrp._schema import Container, flag, many, one, opt, register, wire
from bohsense.llrp._status import UTCTimestamp
from bohsense.llrp._wire import U8, U16, U16V, U32

__all__ = [
    "AISpec",
    "AISpecStopTrigger",
    "AISpecStopTriggerType",
    "C1G2EPCMemorySelector",
    "GPITriggerValue",
    "InventoryParameterSpec",
    "PeriodicTriggerValue",
    "RFSurveySpec",
    "RFSurveySpecStopTrigger",
    "ROBoundarySpec",
    "ROReportSpec",
    "ROReportTrigger",
    "ROSpec",
    "ROSpecStartTrigger",
    "ROSpecStartTriggerType",
    "ROSpecState",
    "ROSpecStopTrigger",
    "ROSpecStopTriggerType",
    "TagObservationTrigger",
    "TagReportContentSelector",
]


class ROSpecState(enum.IntEnum):
    DISABLED = 0
    INACTIVE = 1
    ACTIVE = 2


class ROSpecStartTriggerType(enum.IntEnum):
    NULL = 0
    IMMEDIATE = 1
    PERIODIC = 2
    GPI = 3


class ROSpecStopTriggerType(enum.IntEnum):
    NULL = 0
    DURATION = 1
    GPI_WITH_TIMEOUT = 2


class AISpecStopTriggerType(enum.IntEnum):
    NULL = 0
    DURATION = 1
    GPI_WITH_TIMEOUT = 2
    TAG_OBSERVATION = 3


class ROReportTrigger(enum.IntEnum):
    NONE = 0
    UPON_N_TAGS_OR_END_OF_AISPEC = 1
    UPON_N_TAGS_OR_END_OF_ROSPEC = 2


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class PeriodicTriggerValue(Container):
    TYPE: ClassVar[int] = 180
    offset: int = wire(U32)  # milliseconds
    period: int = wire(U32)
    utc_timestamp: UTCTimestamp | None = opt(UTCTimestamp)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class GPITriggerValue(Container):
    TYPE: ClassVar[int] = 181
    gpi_port_num: int = wire(U16)
    gpi_event: bool = flag(group=8)
    timeout: int = wire(U32)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class ROSpecStartTrigger(Container):
    TYPE: ClassVar[int] = 179
    trigger_type: int = wire(U8)
    periodic: PeriodicTriggerValue | None = opt(PeriodicTriggerValue)
    gpi: GPITriggerValue | None = opt(GPITriggerValue)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class ROSpecStopTrigger(Container):
    TYPE: ClassVar[int] = 182
    trigger_type: int = wire(U8)
    duration_trigger_value: int = wire(U32, default=0)  # milliseconds
    gpi: GPITriggerValue | None = opt(GPITriggerValue)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class ROBoundarySpec(Container):
    TYPE: ClassVar[int] = 178
    start_trigger: ROSpecStartTrigger = one(ROSpecStartTrigger)
    stop_trigger: ROSpecStopTrigger = one(ROSpecStopTrigger)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class TagObservationTrigger(Container):
    TYPE: ClassVar[int] = 185
    trigger_type: int = wire(U8)  # 0 N tags or timeout, 1 no new tags for T ms, 2 N attempts
    number_of_tags: int = wire(U16, skip=1, default=0)
    number_of_attempts: int = wire(U16, default=0)
    t: int = wire(U16, default=0)
    timeout: int = wire(U32, default=0)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class AISpecStopTrigger(Container):
    TYPE: ClassVar[int] = 184
    trigger_type: int = wire(U8)
    duration_trigger: int = wire(U32, default=0)
    gpi: GPITriggerValue | None = opt(GPITriggerValue)
    tag_observation: TagObservationTrigger | None = opt(TagObservationTrigger)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class InventoryParameterSpec(Container):
    TYPE: ClassVar[int] = 186
    spec_id: int = wire(U16)
    protocol_id: int = wire(U8, default=1)  # 1: EPCglobal Class 1 Gen 2
    antenna_configurations: tuple[AntennaConfiguration, ...] = many(AntennaConfiguration)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class AISpec(Container):
    TYPE: ClassVar[int] = 183
    antenna_ids: tuple[int, ...] = wire(U16V)  # (0,) means all antennas
    stop_trigger: AISpecStopTrigger = one(AISpecStopTrigger)
    inventory_parameter_specs: tuple[InventoryParameterSpec, ...] = many(InventoryParameterSpec)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class RFSurveySpecStopTrigger(Container):
    TYPE: ClassVar[int] = 188
    trigger_type: int = wire(U8)
    duration_period: int = wire(U32)
    n: int = wire(U32)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class RFSurveySpec(Container):
    TYPE: ClassVar[int] = 187
    antenna_id: int = wire(U16)
    start_frequency: int = wire(U32)
    end_frequency: int = wire(U32)
    stop_trigger: RFSurveySpecStopTrigger = one(RFSurveySpecStopTrigger)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class C1G2EPCMemorySelector(Container):
    TYPE: ClassVar[int] = 348
    enable_crc: bool = flag(group=8)
    enable_pc_bits: bool = flag()


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class TagReportContentSelector(Container):
    TYPE: ClassVar[int] = 238
    enable_ro_spec_id: bool = flag(group=16, default=False)
    enable_spec_index: bool = flag(default=False)
    enable_inventory_parameter_spec_id: bool = flag(default=False)
    enable_antenna_id: bool = flag(default=False)
    enable_channel_index: bool = flag(default=False)
    enable_peak_rssi: bool = flag(default=False)
    enable_first_seen_timestamp: bool = flag(default=False)
    enable_last_seen_timestamp: bool = flag(default=False)
    enable_tag_seen_count: bool = flag(default=False)
    enable_access_spec_id: bool = flag(default=False)
    epc_memory_selectors: tuple[C1G2EPCMemorySelector, ...] = many(C1G2EPCMemorySelector)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class ROReportSpec(Container):
    TYPE: ClassVar[int] = 237
    trigger: int = wire(U8)
    n: int = wire(U16, default=0)
    content_selector: TagReportContentSelector = one(TagReportContentSelector)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class ROSpec(Container):
    TYPE: ClassVar[int] = 177
    ro_spec_id: int = wire(U32)
    priority: int = wire(U8, default=0)
    current_state: int = wire(U8, default=ROSpecState.DISABLED)
    boundary: ROBoundarySpec = one(ROBoundarySpec)
    specs: tuple[AISpec | RFSurveySpec, ...] = many(AISpec, RFSurveySpec)
    report_spec: ROReportSpec | None = opt(ROReportSpec)
