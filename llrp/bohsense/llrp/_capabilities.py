"""What a reader says it can do (GET_READER_CAPABILITIES_RESPONSE, LLRP 1.0.1 section
16.2.3 and 16.3.1.1): device identity and antennas, LLRP limits, the regulatory
capabilities with the transmit power table, the frequency plan and the UHF C1G2 RF
mode table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from bohsense.llrp._schema import Container, flag, many, one, opt, register, wire
from bohsense.llrp._wire import S16, U8, U8V, U16, U32, U32V, UTF8V

__all__ = [
    "C1G2LLRPCapabilities",
    "C1G2UHFRFModeTable",
    "C1G2UHFRFModeTableEntry",
    "FixedFrequencyTable",
    "FrequencyHopTable",
    "FrequencyInformation",
    "GPIOCapabilities",
    "GeneralDeviceCapabilities",
    "LLRPCapabilities",
    "PerAntennaAirProtocol",
    "PerAntennaReceiveSensitivityRange",
    "ReceiveSensitivityTableEntry",
    "RegulatoryCapabilities",
    "TransmitPowerLevelTableEntry",
    "UHFBandCapabilities",
]


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class ReceiveSensitivityTableEntry(Container):
    TYPE: ClassVar[int] = 139
    index: int = wire(U16)
    receive_sensitivity: int = wire(S16)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class PerAntennaAirProtocol(Container):
    TYPE: ClassVar[int] = 140
    antenna_id: int = wire(U16)
    protocol_ids: bytes = wire(U8V)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class GPIOCapabilities(Container):
    TYPE: ClassVar[int] = 141
    num_gpis: int = wire(U16)
    num_gpos: int = wire(U16)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class PerAntennaReceiveSensitivityRange(Container):
    TYPE: ClassVar[int] = 149
    antenna_id: int = wire(U16)
    receive_sensitivity_index_min: int = wire(U16)
    receive_sensitivity_index_max: int = wire(U16)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class GeneralDeviceCapabilities(Container):
    TYPE: ClassVar[int] = 137
    max_number_of_antennas_supported: int = wire(U16)
    can_set_antenna_properties: bool = flag(group=16)
    has_utc_clock_capability: bool = flag()
    device_manufacturer_name: int = wire(U32)
    model_name: int = wire(U32)
    reader_firmware_version: str = wire(UTF8V)
    receive_sensitivities: tuple[ReceiveSensitivityTableEntry, ...] = many(ReceiveSensitivityTableEntry)
    receive_sensitivity_ranges: tuple[PerAntennaReceiveSensitivityRange, ...] = many(
        PerAntennaReceiveSensitivityRange
    )
    gpio_capabilities: GPIOCapabilities = one(GPIOCapabilities)
    air_protocols: tuple[PerAntennaAirProtocol, ...] = many(PerAntennaAirProtocol)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class LLRPCapabilities(Container):
    TYPE: ClassVar[int] = 142
    can_do_rf_survey: bool = flag(group=8)
    can_report_buffer_fill_warning: bool = flag()
    supports_client_request_op_spec: bool = flag()
    can_do_tag_inventory_state_aware_singulation: bool = flag()
    supports_event_and_report_holding: bool = flag()
    max_num_priority_levels_supported: int = wire(U8)
    client_request_op_spec_timeout: int = wire(U16)
    max_num_ro_specs: int = wire(U32)
    max_num_specs_per_ro_spec: int = wire(U32)
    max_num_inventory_parameter_specs_per_ai_spec: int = wire(U32)
    max_num_access_specs: int = wire(U32)
    max_num_op_specs_per_access_spec: int = wire(U32)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class TransmitPowerLevelTableEntry(Container):
    TYPE: ClassVar[int] = 145
    index: int = wire(U16)
    transmit_power: int = wire(S16)  # dBm x 100


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class FrequencyHopTable(Container):
    TYPE: ClassVar[int] = 147
    hop_table_id: int = wire(U8)
    frequencies: tuple[int, ...] = wire(U32V, skip=1)  # kHz


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class FixedFrequencyTable(Container):
    TYPE: ClassVar[int] = 148
    frequencies: tuple[int, ...] = wire(U32V)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class FrequencyInformation(Container):
    TYPE: ClassVar[int] = 146
    hopping: bool = flag(group=8)
    hop_tables: tuple[FrequencyHopTable, ...] = many(FrequencyHopTable)
    fixed_frequency_table: FixedFrequencyTable | None = opt(FixedFrequencyTable)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class C1G2UHFRFModeTableEntry(Container):
    TYPE: ClassVar[int] = 329
    mode_identifier: int = wire(U32)
    dr_value: bool = flag(group=8)  # False: DR=8, True: DR=64/3
    epc_hag_tc_conformance: bool = flag()
    m_value: int = wire(U8)  # 0 FM0, 1 M2, 2 M4, 3 M8
    forward_link_modulation: int = wire(U8)
    spectral_mask_indicator: int = wire(U8)
    bdr_value: int = wire(U32)  # backscatter data rate, bps
    pie_value: int = wire(U32)
    min_tari_value: int = wire(U32)
    max_tari_value: int = wire(U32)
    step_tari_value: int = wire(U32)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class C1G2UHFRFModeTable(Container):
    TYPE: ClassVar[int] = 328
    entries: tuple[C1G2UHFRFModeTableEntry, ...] = many(C1G2UHFRFModeTableEntry)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class UHFBandCapabilities(Container):
    TYPE: ClassVar[int] = 144
    transmit_power_levels: tuple[TransmitPowerLevelTableEntry, ...] = many(TransmitPowerLevelTableEntry)
    frequency_information: FrequencyInformation = one(FrequencyInformation)
    rf_mode_tables: tuple[C1G2UHFRFModeTable, ...] = many(C1G2UHFRFModeTable)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class RegulatoryCapabilities(Container):
    TYPE: ClassVar[int] = 143
    country_code: int = wire(U16)
    communications_standard: int = wire(U16)
    uhf_band_capabilities: UHFBandCapabilities | None = opt(UHFBandCapabilities)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class C1G2LLRPCapabilities(Container):
    TYPE: ClassVar[int] = 327
    can_support_block_erase: bool = flag(group=8)
    can_support_block_write: bool = flag()
    max_num_select_filters_per_query: int = wire(U16)
