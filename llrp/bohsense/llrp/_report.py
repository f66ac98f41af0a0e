"""What a reader reports about tags (LLRP 1.0.1 section 16.2.7.3): TagReportData with
its EPC (EPC-96 as a TV parameter, any other length as EPCData) and the optional TV
values the TagReportContentSelector asked for, access results, and RF survey data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from bohsense.llrp._schema import Container, Parameter, many, one, register, value, wire
from bohsense.llrp._status import Uptime, UTCTimestamp
from bohsense.llrp._wire import S8, U1V, U8, U16, U16V, U32, U64, U96, BitString

__all__ = [
    "EPC96",
    "C1G2BlockEraseOpSpecResult",
    "C1G2BlockWriteOpSpecResult",
    "C1G2KillOpSpecResult",
    "C1G2LockOpSpecResult",
    "C1G2ReadOpSpecResult",
    "C1G2WriteOpSpecResult",
    "EPCData",
    "FrequencyRSSILevelEntry",
    "RFSurveyReportData",
    "TagReportData",
]


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class EPC96(Parameter):
    """A 96-bit EPC, TV-encoded (type 13): the common case, 13 bytes on the wire."""

    TYPE: ClassVar[int] = 13
    epc: bytes = wire(U96)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class EPCData(Container):
    """An EPC of any length (type 241)."""

    TYPE: ClassVar[int] = 241
    epc: BitString = wire(U1V)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class C1G2ReadOpSpecResult(Container):
    TYPE: ClassVar[int] = 349
    result: int = wire(U8)
    op_spec_id: int = wire(U16)
    read_data: tuple[int, ...] = wire(U16V)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class C1G2WriteOpSpecResult(Container):
    TYPE: ClassVar[int] = 350
    result: int = wire(U8)
    op_spec_id: int = wire(U16)
    num_words_written: int = wire(U16)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class C1G2KillOpSpecResult(Container):
    TYPE: ClassVar[int] = 351
    result: int = wire(U8)
    op_spec_id: int = wire(U16)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class C1G2LockOpSpecResult(Container):
    TYPE: ClassVar[int] = 352
    result: int = wire(U8)
    op_spec_id: int = wire(U16)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class C1G2BlockEraseOpSpecResult(Container):
    TYPE: ClassVar[int] = 353
    result: int = wire(U8)
    op_spec_id: int = wire(U16)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class C1G2BlockWriteOpSpecResult(Container):
    TYPE: ClassVar[int] = 354
    result: int = wire(U8)
    op_spec_id: int = wire(U16)
    num_words_written: int = wire(U16)


OpSpecResult = (
    C1G2ReadOpSpecResult
    | C1G2WriteOpSpecResult
    | C1G2KillOpSpecResult
    | C1G2LockOpSpecResult
    | C1G2BlockEraseOpSpecResult
    | C1G2BlockWriteOpSpecResult
)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class TagReportData(Container):
    """One tag seen. Timestamps are microseconds (UTC since 1970, or reader uptime)."""

    TYPE: ClassVar[int] = 240
    epc: EPC96 | EPCData = one(EPC96, EPCData)
    ro_spec_id: int | None = value(9, U32)
    spec_index: int | None = value(14, U16)
    inventory_parameter_spec_id: int | None = value(10, U16)
    antenna_id: int | None = value(1, U16)
    peak_rssi: int | None = value(6, S8)  # dBm
    channel_index: int | None = value(7, U16)
    first_seen_utc: int | None = value(2, U64)
    first_seen_uptime: int | None = value(3, U64)
    last_seen_utc: int | None = value(4, U64)
    last_seen_uptime: int | None = value(5, U64)
    tag_seen_count: int | None = value(8, U16)
    c1g2_pc: int | None = value(12, U16)
    c1g2_crc: int | None = value(11, U16)
    access_spec_id: int | None = value(16, U32)
    op_spec_results: tuple[OpSpecResult, ...] = many(
        C1G2ReadOpSpecResult,
        C1G2WriteOpSpecResult,
        C1G2KillOpSpecResult,
        C1G2LockOpSpecResult,
        C1G2BlockEraseOpSpecResult,
        C1G2BlockWriteOpSpecResult,
    )

    @property
    def epc_bytes(self) -> bytes:
        return self.epc.epc if isinstance(self.epc, EPC96) else self.epc.epc.data

    @property
    def epc_hex(self) -> str:
        return self.epc_bytes.hex()


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class FrequencyRSSILevelEntry(Container):
    TYPE: ClassVar[int] = 243
    frequency: int = wire(U32)
    bandwidth: int = wire(U32)
    average_rssi: int = wire(S8)
    peak_rssi: int = wire(S8)
    timestamp: UTCTimestamp | Uptime = one(UTCTimestamp, Uptime)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class RFSurveyReportData(Container):
    TYPE: ClassVar[int] = 242
    ro_spec_id: int | None = value(9, U32)
    spec_index: int | None = value(14, U16)
    entries: tuple[FrequencyRSSILevelEntry, ...] = many(FrequencyRSSILevelEntry)
