"""The LLRP reader's state and what every layer of it shares: its fixed traits (power
table, GPIO, limits), the personality (``Behaviour``), refusals, the ROSpec run records
and the way messages leave (queued, held for a reconnecting client, or dropped and
counted). The layers above: ``_llrp_config`` (capabilities and configuration),
``_llrp_rospecs`` (ROSpecs and their execution), ``_llrp_reader`` (the session).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bohsense.llrp import (
    C1G2EPCMemorySelector,
    Custom,
    FieldError,
    LLRPStatus,
    Message,
    MessageDecoder,
    ParameterError,
    RawParameter,
    ReaderEventNotification,
    ReaderEventNotificationData,
    ROAccessReport,
    ROReportSpec,
    ROReportTrigger,
    ROSpec,
    ROSpecState,
    StatusCode,
    TagReportContentSelector,
    UTCTimestamp,
    encode_message,
)
from bohsense.simulators._llrp_impinj import IMPINJ_VENDOR_ID
from bohsense.simulators._runtime import Clock, DeviceRuntime
from bohsense.simulators._tags import ReaderSpec, TagWorld

__all__ = [
    "IMPINJ_VENDOR_ID",
    "POWER_TABLE",
    "SECONDS_PER_YEAR",
    "Behaviour",
    "ReaderBase",
    "Refusal",
    "crc16_c1g2",
]

IMPINJ_ENABLE_EXTENSIONS = 21
IMPINJ_ENABLE_EXTENSIONS_RESPONSE = 22
SECONDS_PER_YEAR = 365.25 * 86400
#: transmit power table: index 1..81 ↔ 10.00..30.00 dBm
POWER_TABLE = tuple((i + 1, 1000 + 25 * i) for i in range(81))
MAX_TAGS_PER_REPORT = 200
MAX_HELD = 10_000  # reports and events held for a reconnecting client; more are dropped, counted
MAX_ROUNDS_PER_ADVANCE = 100  # after a long stall, the reader skips ahead rather than spin
TX_BUFFER_LIMIT = 4 * 1024 * 1024
EPSILON_MS = 1e-3  # times are float seconds: a trigger due within 1 µs is due
GPIO_PORTS = 4  # as an Impinj R420: 4 GPIs (always low here) and 4 GPOs

# ReaderEventType (LLRP 1.0.1 16.2.7.6.1)
EVENT_HOPPING, EVENT_GPI, EVENT_ROSPEC, EVENT_BUFFER_FILL, EVENT_EXCEPTION = 0, 1, 2, 3, 4
EVENT_RFSURVEY, EVENT_AISPEC, EVENT_AISPEC_SINGULATION, EVENT_ANTENNA = 5, 6, 7, 8


class Refusal(Exception):
    """A request the reader refuses: becomes the response's LLRPStatus."""

    def __init__(
        self,
        code: StatusCode,
        description: str,
        reason: str,
        *,
        parameter_error: ParameterError | None = None,
        field_error: FieldError | None = None,
    ) -> None:
        super().__init__(description)
        self.status = LLRPStatus(
            status_code=code,
            error_description=description,
            field_error=field_error,
            parameter_error=parameter_error,
        )
        self.reason = reason


def crc16_c1g2(data: bytes) -> int:
    """The EPC Gen2 CRC-16 (ISO/IEC 13239: polynomial 0x1021, preset 0xFFFF, ones' complement)."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc ^ 0xFFFF


@dataclass
class Behaviour:
    """The reader's personality and switchable faults."""

    impinj_extensions: bool = True  # Impinj identity, IMPINJ_ENABLE_EXTENSIONS accepted
    reject_n_tags_stop_trigger: bool = False  # as ThingMagic readers: AISpec tag-observation stop refused
    clock_offset_s: float = 0.0  # the reader's UTC clock is off by this much (years: ±N·SECONDS_PER_YEAR)
    epc_data: bool = False  # report EPCs as EPCData rather than EPC-96
    round_s: float = 0.1  # one inventory round on every antenna of the AISpec
    reboot_s: float = 5.0  # how long a reboot keeps the reader off the network


@dataclass
class TagEntry:
    """One tag (or tag and antenna) seen since the last report."""

    epc: bytes
    antenna_id: int
    spec_index: int
    ips_id: int
    first_us: int
    last_us: int
    first_up: int
    last_up: int
    peak: int
    count: int = 1


@dataclass
class ROSpecRun:
    """An ROSpec and where its execution stands (times are seconds since boot)."""

    spec: ROSpec
    state: int = ROSpecState.DISABLED
    started_at: float = 0.0
    spec_index: int = 0  # the AISpec running (0-based)
    ai_started_at: float = 0.0
    next_round: float = 0.0
    rounds: int = 0
    seen: set[bytes] = field(default_factory=set)
    last_new: float = 0.0
    next_start: float | None = None  # periodic start trigger
    tags: dict[tuple[bytes, int], TagEntry] = field(default_factory=dict)


def error_status(code: StatusCode, description: str) -> LLRPStatus:
    return LLRPStatus(status_code=code, error_description=description)


class ReaderBase(DeviceRuntime):
    """The reader's state, configuration and outbound queue."""

    def __init__(
        self,
        spec: ReaderSpec,
        world: TagWorld,
        *,
        behaviour: Behaviour | None = None,
        seed: int = 0,
        clock: Clock | None = None,
    ) -> None:
        self.behaviour = behaviour or Behaviour()
        super().__init__(
            spec.reader_id, clock_offset_s=self.behaviour.clock_offset_s, clock=clock or world.host
        )
        self.spec = spec
        self.world = world
        self.antenna_ids = tuple(a.antenna_id for a in spec.antennas)
        self._rng = random.Random(f"reader-{spec.reader_id}-{seed}")
        self._mac = bytes([0x00, 0x16, 0x25]) + self._rng.randbytes(3)
        # connection
        self.connected = False
        self._decoder = MessageDecoder()
        self._tx = bytearray()
        self._close: str | None = None  # "close" (after flushing) or "abort"
        self._next_id = 1
        self.silent = False
        self.rebooting_until: float | None = None
        self.boots = 1
        # counters (ground truth of what the reader did)
        self.refusals: Counter[str] = Counter()
        self.received: Counter[str] = Counter()
        self.sent: Counter[str] = Counter()
        self.tags_reported: Counter[str] = Counter()  # EPC hex → TagReportData sent
        self.reports_dropped = 0
        self.suppressed = 0
        self.keepalives_unacked = 0
        #: every byte sent to clients, kept when a test sets it to a bytearray
        self.wire_log: bytearray | None = None
        self._factory_reset()

    # -- configuration ----------------------------------------------------------------

    def _factory_reset(self) -> None:
        self.rospecs: dict[int, ROSpecRun] = {}
        self.events_on: set[int] = set()
        self.keepalive_ms = 0
        self._next_keepalive: float | None = None
        self.hold_reports = False
        self._held: list[Message] = []
        self._holding = False
        self.impinj_enabled = False
        self.tx_power: dict[int, int] = dict.fromkeys(self.antenna_ids, POWER_TABLE[-1][0])
        self.sensitivity: dict[int, int] = dict.fromkeys(self.antenna_ids, 1)
        self.default_report = ROReportSpec(
            trigger=ROReportTrigger.UPON_N_TAGS_OR_END_OF_AISPEC,
            n=0,
            content_selector=TagReportContentSelector(
                enable_antenna_id=True,
                enable_peak_rssi=True,
                enable_first_seen_timestamp=True,
                enable_last_seen_timestamp=True,
                enable_tag_seen_count=True,
                epc_memory_selectors=(C1G2EPCMemorySelector(enable_crc=False, enable_pc_bits=False),),
            ),
        )
        self.config_state = 0
        self.access_report_trigger = 1
        self.gpo = dict.fromkeys(range(1, GPIO_PORTS + 1), False)
        self.gpi_enabled = dict.fromkeys(range(1, GPIO_PORTS + 1), False)

    def boot(self) -> None:
        super().boot()
        self._factory_reset()

    def _unwanted(self, extensions: tuple[Any, ...]) -> str | None:
        for ext in extensions:
            if isinstance(ext, RawParameter):
                return f"parameter type {ext.type_num} is not supported here"
            if isinstance(ext, Custom) and not (self.impinj_enabled and ext.vendor_id == IMPINJ_VENDOR_ID):
                return f"custom parameter of vendor {ext.vendor_id} subtype {ext.subtype} is not supported"
        return None

    # -- bytes out --------------------------------------------------------------------

    def _event(self, **event: Any) -> ReaderEventNotification:
        return ReaderEventNotification(
            message_id=self._take_id(),
            data=ReaderEventNotificationData(timestamp=UTCTimestamp(microseconds=self.clock_us()), **event),
        )

    def _take_id(self) -> int:
        mid = self._next_id
        self._next_id = self._next_id % 0xFFFFFFFF + 1
        return mid

    def _queue(self, message: Message, *, control: bool = False, force: bool = False) -> bool:
        """Send ``message``; reports and events are held or dropped when no one can take them."""
        name = type(message).__name__
        if not force and self.silent:
            self.suppressed += 1
            return False
        deliverable = self.connected and self._close is None
        if not control and (self._holding or (not deliverable and self.hold_reports)):
            if len(self._held) >= MAX_HELD:
                self.reports_dropped += 1
                return False
            self._held.append(message)
            return False
        if not deliverable or len(self._tx) > TX_BUFFER_LIMIT:
            if not control:
                self.reports_dropped += 1
            return False
        data = self.encode(message)
        self._tx += data
        if self.wire_log is not None:
            self.wire_log += data
        self.sent[name] += 1
        if isinstance(message, ROAccessReport):
            for tag in message.tags:
                self.tags_reported[tag.epc_hex] += 1
        return True

    @staticmethod
    def encode(message: Message) -> bytes:
        """The bytes of every message the reader sends (``bohsense.llrp``'s encoder)."""
        return encode_message(message)
