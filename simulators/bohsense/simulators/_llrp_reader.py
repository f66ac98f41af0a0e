"""``LLRPReader``: an LLRP 1.0.1 RFID reader with no I/O, over the tag world.

Bytes in (``receive``), time in (``advance``), bytes out (``data_to_send`` /
``bytes_sent``), plus the connection's life (``connect`` / ``disconnect`` and
``close_request``: what the front end must do with the socket). Messages are decoded and
encoded by ``bohsense.llrp``, the same core the gateway's driver and the tests use.

What the reader does
--------------------
- On connect: READER_EVENT_NOTIFICATION with ConnectionAttemptEvent Success (a second
  client while one is connected gets status 2, "a client-initiated connection already
  exists", and is closed).
- GET_READER_CAPABILITIES (antennas, the transmit power table 10-30 dBm in 0.25 dB
  steps, receive sensitivity, a hop table, three C1G2 RF modes), GET_READER_CONFIG (any
  requested part, per antenna), SET_READER_CONFIG (event notification, antenna
  configuration, default RO report spec, keepalive, events-and-reports holding, factory
  reset), ADD / ENABLE / START / STOP / DISABLE / DELETE / GET_ROSPECS,
  DELETE_ACCESSSPEC and GET_ACCESSSPECS (no AccessSpecs are supported: ADD_ACCESSSPEC
  is refused), GET_REPORT, KEEPALIVE at the interval asked and KEEPALIVE_ACK,
  ENABLE_EVENTS_AND_REPORTS, CLOSE_CONNECTION, and Impinj's IMPINJ_ENABLE_EXTENSIONS
  when the Impinj personality is on.
- ROSpecs run on the world: start triggers Null (START_ROSPEC), Immediate, Periodic;
  stop triggers Null, Duration, GPI-with-timeout (the timeout); AISpec stop triggers
  Null, Duration, GPI-with-timeout, and tag observation (N tags, no new tags for T ms, N
  attempts, each with its timeout). An ROSpec with a Null stop trigger and an Immediate
  start trigger runs again when its specs are done (what Impinj readers do with the
  ROSpec sllurp sends). An inventory round takes ``round_s`` on every antenna of the
  AISpec.
- RO_ACCESS_REPORTs follow the ROReportSpec (the ROSpec's, else the reader's default):
  every N tags, at the end of each AISpec (so on every duration, timeout or period), or
  at the end of the ROSpec; tags are aggregated by EPC (and antenna, when the antenna is
  reported), with what the TagReportContentSelector asks for: EPC-96 (or EPCData),
  ROSpecID, SpecIndex, InventoryParameterSpecID, AntennaID, PeakRSSI, ChannelIndex,
  First/LastSeenTimestampUTC, TagSeenCount, C1G2 PC bits and CRC.
- Bad input: an undecodable message gets its response type with an error LLRPStatus
  (or ERROR_MESSAGE when it has none, is not a client message, or is of an unknown type
  or version); a framing error (a length or version no LLRP stream has) gets
  ERROR_MESSAGE and the connection is closed, since nothing after it can be framed.
  Unknown or misplaced parameters are refused, not ignored. Every refusal is counted by
  reason (``refusals``); the reader keeps serving.

Personalities and faults (``Behaviour`` at construction, methods at runtime): reject the
N-tags AISpec stop trigger as ThingMagic readers do, Impinj extensions on or off, a
clock wrong by years, reboot, silence (nothing sent, TCP kept open), a network drop,
one malformed message sent.

sllurp 3.0.5, untouched, works against it: its GET_READER_CONFIG packs RequestedData
before AntennaID (harmless: it sends all zeros); it crashes on an AISpecEvent carrying
C1G2SingulationDetails (sent only when event type 7 is enabled, which sllurp never
does); it encodes GPITriggerValue as type 180, the PeriodicTriggerValue type (refused
by the decoder as a misplaced parameter: sllurp only uses Immediate starts); and it
cannot decode GET_ROSPECS / GET_ACCESSSPECS responses (it never asks).
"""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from bohsense.llrp import (
    EPC96,
    SUCCESS,
    AccessReportSpec,
    AddAccessSpec,
    AddAccessSpecResponse,
    AddROSpec,
    AddROSpecResponse,
    AISpec,
    AISpecEvent,
    AISpecStopTriggerType,
    AntennaConfiguration,
    AntennaProperties,
    BitString,
    C1G2EPCMemorySelector,
    C1G2InventoryCommand,
    C1G2LLRPCapabilities,
    C1G2RFControl,
    C1G2SingulationControl,
    C1G2SingulationDetails,
    C1G2UHFRFModeTable,
    C1G2UHFRFModeTableEntry,
    CloseConnection,
    CloseConnectionResponse,
    ConfigRequest,
    ConnectionAttemptEvent,
    ConnectionAttemptStatus,
    ConnectionCloseEvent,
    Custom,
    CustomMessage,
    DeleteAccessSpec,
    DeleteAccessSpecResponse,
    DeleteROSpec,
    DeleteROSpecResponse,
    DisableAccessSpec,
    DisableAccessSpecResponse,
    DisableROSpec,
    DisableROSpecResponse,
    EnableAccessSpec,
    EnableAccessSpecResponse,
    EnableEventsAndReports,
    EnableROSpec,
    EnableROSpecResponse,
    EPCData,
    ErrorMessage,
    ErrorReason,
    EventNotificationState,
    EventsAndReports,
    FieldError,
    FrequencyHopTable,
    FrequencyInformation,
    GeneralDeviceCapabilities,
    GetAccessSpecs,
    GetAccessSpecsResponse,
    GetReaderCapabilities,
    GetReaderCapabilitiesResponse,
    GetReaderConfig,
    GetReaderConfigResponse,
    GetReport,
    GetROSpecs,
    GetROSpecsResponse,
    GPIOCapabilities,
    GPIPortCurrentState,
    GPOWriteData,
    Identification,
    Keepalive,
    KeepaliveAck,
    KeepaliveSpec,
    LLRPCapabilities,
    LLRPConfigurationStateValue,
    LLRPError,
    LLRPStatus,
    Message,
    MessageDecoder,
    ParameterError,
    PerAntennaAirProtocol,
    RawParameter,
    ReaderEventNotification,
    ReaderEventNotificationData,
    ReaderEventNotificationSpec,
    ReceiveSensitivityTableEntry,
    RegulatoryCapabilities,
    RFReceiver,
    RFTransmitter,
    ROAccessReport,
    ROReportSpec,
    ROReportTrigger,
    ROSpec,
    ROSpecEvent,
    ROSpecStartTriggerType,
    ROSpecState,
    ROSpecStopTriggerType,
    SetReaderConfig,
    SetReaderConfigResponse,
    StartROSpec,
    StartROSpecResponse,
    StatusCode,
    StopROSpec,
    StopROSpecResponse,
    TagReportContentSelector,
    TagReportData,
    TransmitPowerLevelTableEntry,
    UHFBandCapabilities,
    UTCTimestamp,
    encode_message,
    encode_parameter,
)
from bohsense.simulators._runtime import Clock, DeviceRuntime
from bohsense.simulators._tags import ReaderSpec, TagWorld

__all__ = [
    "FAULTS",
    "IMPINJ_VENDOR_ID",
    "Behaviour",
    "Fault",
    "LLRPReader",
    "Refusal",
    "crc16_c1g2",
    "readers_for",
]

IMPINJ_VENDOR_ID = 25882
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

_RESPONSE: dict[int, type[Message]] = {
    GetReaderCapabilities.TYPE: GetReaderCapabilitiesResponse,
    GetReaderConfig.TYPE: GetReaderConfigResponse,
    SetReaderConfig.TYPE: SetReaderConfigResponse,
    CloseConnection.TYPE: CloseConnectionResponse,
    AddROSpec.TYPE: AddROSpecResponse,
    DeleteROSpec.TYPE: DeleteROSpecResponse,
    StartROSpec.TYPE: StartROSpecResponse,
    StopROSpec.TYPE: StopROSpecResponse,
    EnableROSpec.TYPE: EnableROSpecResponse,
    DisableROSpec.TYPE: DisableROSpecResponse,
    GetROSpecs.TYPE: GetROSpecsResponse,
    AddAccessSpec.TYPE: AddAccessSpecResponse,
    DeleteAccessSpec.TYPE: DeleteAccessSpecResponse,
    EnableAccessSpec.TYPE: EnableAccessSpecResponse,
    DisableAccessSpec.TYPE: DisableAccessSpecResponse,
    GetAccessSpecs.TYPE: GetAccessSpecsResponse,
}
#: client messages with no response of their own
_NO_RESPONSE = {GetReport.TYPE, KeepaliveAck.TYPE, EnableEventsAndReports.TYPE, CustomMessage.TYPE}

_STATUS_OF_REASON = {
    ErrorReason.UNSUPPORTED_VERSION: StatusCode.M_UNSUPPORTED_VERSION,
    ErrorReason.BAD_VERSION: StatusCode.M_UNSUPPORTED_VERSION,
    ErrorReason.UNKNOWN_MESSAGE_TYPE: StatusCode.M_UNSUPPORTED_MESSAGE,
    ErrorReason.LENGTH_TOO_SHORT: StatusCode.M_FIELD_ERROR,
    ErrorReason.LENGTH_TOO_LONG: StatusCode.M_OVERFLOW_FIELD,
    ErrorReason.TRUNCATED_MESSAGE: StatusCode.M_FIELD_ERROR,
    ErrorReason.TRUNCATED_FIELD: StatusCode.M_FIELD_ERROR,
    ErrorReason.INVALID_FIELD: StatusCode.M_FIELD_ERROR,
    ErrorReason.BAD_PARAMETER_LENGTH: StatusCode.M_PARAMETER_ERROR,
    ErrorReason.PARAMETER_BEYOND_PARENT: StatusCode.M_PARAMETER_ERROR,
    ErrorReason.UNKNOWN_TV_TYPE: StatusCode.M_UNKNOWN_PARAMETER,
    ErrorReason.MISSING_PARAMETER: StatusCode.M_MISSING_PARAMETER,
    ErrorReason.UNKNOWN_PARAMETER: StatusCode.M_UNKNOWN_PARAMETER,
    ErrorReason.UNEXPECTED_PARAMETER: StatusCode.M_UNEXPECTED_PARAMETER,
    ErrorReason.DUPLICATE_PARAMETER: StatusCode.M_DUPLICATE_PARAMETER,
    ErrorReason.MALFORMED_PARAMETER: StatusCode.M_PARAMETER_ERROR,
}


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
class _Tag:
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
class _Run:
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
    tags: dict[tuple[bytes, int], _Tag] = field(default_factory=dict)


def _status(code: StatusCode, description: str) -> LLRPStatus:
    return LLRPStatus(status_code=code, error_description=description)


class LLRPReader(DeviceRuntime):
    """One simulated LLRP reader of the tag world, without a transport."""

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
        #: every byte sent to clients, when a test asks for it (``keep_wire_log``)
        self.wire_log: bytearray | None = None
        self._factory_reset()

    # -- configuration ----------------------------------------------------------------

    def _factory_reset(self) -> None:
        self.rospecs: dict[int, _Run] = {}
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

    # -- the connection ---------------------------------------------------------------

    def connect(self) -> bool:
        """A client connected. False: refused (another is connected, or rebooting)."""
        if self.rebooting_until is not None:
            self.refusals["connect-while-rebooting"] += 1
            return False
        if self.connected:
            self.refusals["second-connection"] += 1
            return False
        self.connected = True
        self._decoder = MessageDecoder()
        self._tx = bytearray()
        self._close = None
        self._holding = self.hold_reports and bool(self._held)
        self.record({"kind": "connected"})
        self._queue(self._event(connection_attempt=ConnectionAttemptEvent(status=ConnectionAttemptStatus.SUCCESS)),
                    control=True)  # fmt: skip
        if self.keepalive_ms:
            self._next_keepalive = self.elapsed() + self.keepalive_ms / 1000
        return True

    def refusal_bytes(self) -> bytes:
        """What a refused second client receives before it is closed."""
        return encode_message(
            self._event(
                connection_attempt=ConnectionAttemptEvent(
                    status=ConnectionAttemptStatus.FAILED_CLIENT_INITIATED_CONNECTION_EXISTS
                )
            )
        )

    def disconnect(self) -> None:
        """The client's connection is gone (closed by either side, or lost)."""
        if not self.connected:
            return
        for error in self._decoder.eof():
            self.refusals[error.reason.value] += 1
        self.connected = False
        self._tx = bytearray()
        self._close = None
        self._next_keepalive = None
        self.record({"kind": "disconnected"})

    @property
    def close_request(self) -> str | None:
        """ "close": close the socket once ``data_to_send()`` is empty; "abort": now."""
        return self._close

    def data_to_send(self) -> bytes:
        return bytes(self._tx)

    def bytes_sent(self, n: int) -> None:
        del self._tx[:n]

    def next_deadline(self) -> float:
        """Host monotonic time by which ``advance`` should be called again."""
        now = self.host.monotonic()
        candidates = [now + 0.5]
        for t in (self.next_timer(), self.world.next_event()):
            if t is not None:
                candidates.append(t)
        if self._next_keepalive is not None:
            candidates.append(self._boot + self._next_keepalive)
        if self.rebooting_until is not None:
            candidates.append(self._boot + self.rebooting_until)
        for run in self.rospecs.values():
            if run.state == ROSpecState.ACTIVE:
                candidates.append(self._boot + run.next_round)
            elif run.next_start is not None:
                candidates.append(self._boot + run.next_start)
        return min(candidates)

    # -- faults -----------------------------------------------------------------------

    def set_silent(self, silent: bool = True) -> None:
        """Stop (or resume) sending anything; the TCP connection stays open."""
        self.silent = silent
        self.record({"kind": "silent" if silent else "talking"})

    def drop_network(self) -> None:
        """The network path is cut: the connection is dropped with no goodbye."""
        self.record({"kind": "network-drop"})
        if self.connected:
            self._close = "abort"

    def reboot(self) -> None:
        """Power-cycle: the connection drops, state is lost, the reader is away ``reboot_s``."""
        self.record({"kind": "reboot"})
        if self.connected:
            self._close = "abort"
        self._factory_reset()
        self.rebooting_until = self.elapsed() + self.behaviour.reboot_s

    def send_malformed(self) -> None:
        """Send one RO_ACCESS_REPORT whose TagReportData says it is longer than it is."""
        good = bytearray(encode_message(ROAccessReport(message_id=self._take_id(), tags=(
            TagReportData(epc=EPC96(epc=bytes(12)), antenna_id=1),))))  # fmt: skip
        good[12:14] = (0xFFF0).to_bytes(2, "big")  # the TagReportData's length field
        self.record({"kind": "sent-malformed"})
        if self.connected:
            self._tx += good
            self.sent["malformed"] += 1
            if self.wire_log is not None:
                self.wire_log += good

    def at(self, at_s: float, action: Callable[[], None]) -> None:
        """Schedule a fault ``at_s`` seconds after boot."""
        self.schedule(at_s, action)

    # -- bytes in ---------------------------------------------------------------------

    def receive(self, data: bytes) -> None:
        if not self.connected or self._close is not None:
            return
        pending: list[LLRPError] = []
        for item in self._decoder.feed(data):
            if isinstance(item, LLRPError):
                if item.fatal:
                    self._refuse_stream(item)
                    return
                if item.raw:  # a whole message refused
                    self._refuse_message(item)
                else:  # a warning about a parameter of the message that follows
                    pending.append(item)
                continue
            self.received[type(item).__name__] += 1
            if pending:
                self._refuse_message(pending[0], message=item)
                pending = []
                continue
            self._handle(item)

    def _refuse_stream(self, error: LLRPError) -> None:
        self.refusals[error.reason.value] += 1
        self.record({"kind": "refused-stream", "reason": error.reason.value, "detail": error.detail})
        status = _status(_STATUS_OF_REASON.get(error.reason, StatusCode.M_FIELD_ERROR),
                         f"{error}; the stream cannot be framed past this point, closing")  # fmt: skip
        self._queue(ErrorMessage(message_id=error.message_id or 0, status=status), control=True, force=True)
        self._queue(self._event(connection_close=ConnectionCloseEvent()), control=True, force=True)
        self._close = "close"

    def _refuse_message(self, error: LLRPError, message: Message | None = None) -> None:
        self.refusals[error.reason.value] += 1
        self.record({"kind": "refused", "reason": error.reason.value, "detail": error.detail})
        code = _STATUS_OF_REASON.get(error.reason, StatusCode.M_PARAMETER_ERROR)
        status = _status(code, str(error))
        mtype = error.message_type if message is None else type(message).TYPE
        mid = (error.message_id if message is None else message.message_id) or 0
        response = _RESPONSE.get(mtype) if mtype is not None else None
        if response is not None and error.reason not in (ErrorReason.UNSUPPORTED_VERSION,):
            self._queue(response(message_id=mid, status=status), control=True)  # type: ignore[call-arg]
        else:
            self._queue(ErrorMessage(message_id=mid, status=status), control=True)

    # -- messages ---------------------------------------------------------------------

    def _handle(self, message: Message) -> None:
        mtype = type(message).TYPE
        handler = self._HANDLERS.get(type(message))
        if handler is None:
            self._refuse_message(
                LLRPError(
                    ErrorReason.UNKNOWN_MESSAGE_TYPE, f"{type(message).__name__} is not a client request"
                ),
                message=message,
            )
            return
        if message.extensions and not isinstance(message, CustomMessage):
            bad = self._unwanted(message.extensions)
            if bad is not None:
                self.refusals["unsupported-extension"] += 1
                self._reply(
                    message, Refusal(StatusCode.M_UNSUPPORTED_PARAMETER, bad, "unsupported-extension").status
                )
                return
        try:
            response = handler(self, message)
        except Refusal as refusal:
            self.refusals[refusal.reason] += 1
            self.record({"kind": "refused", "reason": refusal.reason, "detail": str(refusal)})
            if mtype in _RESPONSE:
                self._reply(message, refusal.status)
            else:
                self._queue(ErrorMessage(message_id=message.message_id, status=refusal.status), control=True)
            return
        if response is not None:
            self._queue(response, control=True)

    def _unwanted(self, extensions: tuple[Any, ...]) -> str | None:
        for ext in extensions:
            if isinstance(ext, RawParameter):
                return f"parameter type {ext.type_num} is not supported here"
            if isinstance(ext, Custom) and not (self.impinj_enabled and ext.vendor_id == IMPINJ_VENDOR_ID):
                return f"custom parameter of vendor {ext.vendor_id} subtype {ext.subtype} is not supported"
        return None

    def _reply(self, request: Message, status: LLRPStatus) -> None:
        cls = _RESPONSE[type(request).TYPE]
        self._queue(cls(message_id=request.message_id, status=status), control=True)  # type: ignore[call-arg]

    # capabilities and configuration

    def _on_get_capabilities(self, m: GetReaderCapabilities) -> Message:
        what = m.requested_data
        if what > 4:
            raise Refusal(StatusCode.M_FIELD_ERROR, f"RequestedData {what} is not 0-4", "bad-field",
                          field_error=FieldError(field_num=0, error_code=StatusCode.A_OUT_OF_RANGE))  # fmt: skip
        n = len(self.antenna_ids)
        impinj = self.behaviour.impinj_extensions
        general = GeneralDeviceCapabilities(
            max_number_of_antennas_supported=n,
            can_set_antenna_properties=False,
            has_utc_clock_capability=True,
            device_manufacturer_name=IMPINJ_VENDOR_ID if impinj else 0,
            model_name=2001002 if impinj else 1,
            reader_firmware_version="5.14.0.240" if impinj else "bohsense-sim 1.0",
            receive_sensitivities=(ReceiveSensitivityTableEntry(index=1, receive_sensitivity=0),),
            gpio_capabilities=GPIOCapabilities(num_gpis=GPIO_PORTS, num_gpos=GPIO_PORTS),
            air_protocols=tuple(
                PerAntennaAirProtocol(antenna_id=a, protocol_ids=b"\x01") for a in self.antenna_ids
            ),
        )
        llrp = LLRPCapabilities(
            can_do_rf_survey=False,
            can_report_buffer_fill_warning=False,
            supports_client_request_op_spec=False,
            can_do_tag_inventory_state_aware_singulation=False,
            supports_event_and_report_holding=True,
            max_num_priority_levels_supported=1,
            client_request_op_spec_timeout=0,
            max_num_ro_specs=8,
            max_num_specs_per_ro_spec=8,
            max_num_inventory_parameter_specs_per_ai_spec=1,
            max_num_access_specs=0,
            max_num_op_specs_per_access_spec=0,
        )
        modes = C1G2UHFRFModeTable(entries=(
            C1G2UHFRFModeTableEntry(mode_identifier=1000, dr_value=True, epc_hag_tc_conformance=False, m_value=0,
                                    forward_link_modulation=2, spectral_mask_indicator=3, bdr_value=40000,
                                    pie_value=1500, min_tari_value=6250, max_tari_value=6250, step_tari_value=0),
            C1G2UHFRFModeTableEntry(mode_identifier=2, dr_value=True, epc_hag_tc_conformance=False, m_value=2,
                                    forward_link_modulation=2, spectral_mask_indicator=3, bdr_value=274000,
                                    pie_value=2000, min_tari_value=20000, max_tari_value=20000, step_tari_value=0),
            C1G2UHFRFModeTableEntry(mode_identifier=0, dr_value=True, epc_hag_tc_conformance=False, m_value=0,
                                    forward_link_modulation=2, spectral_mask_indicator=1, bdr_value=640000,
                                    pie_value=1500, min_tari_value=6250, max_tari_value=6250, step_tari_value=0),
        ))  # fmt: skip
        regulatory = RegulatoryCapabilities(
            country_code=840,
            communications_standard=1,  # US FCC part 15
            uhf_band_capabilities=UHFBandCapabilities(
                transmit_power_levels=tuple(
                    TransmitPowerLevelTableEntry(index=i, transmit_power=p) for i, p in POWER_TABLE
                ),
                frequency_information=FrequencyInformation(
                    hopping=True,
                    hop_tables=(
                        FrequencyHopTable(
                            hop_table_id=1, frequencies=tuple(902750 + 500 * i for i in range(50))
                        ),
                    ),
                ),
                rf_mode_tables=(modes,),
            ),
        )
        c1g2 = C1G2LLRPCapabilities(
            can_support_block_erase=False, can_support_block_write=False, max_num_select_filters_per_query=2
        )
        return GetReaderCapabilitiesResponse(
            message_id=m.message_id,
            general_device_capabilities=general if what in (0, 1) else None,
            llrp_capabilities=llrp if what in (0, 2) else None,
            regulatory_capabilities=regulatory if what in (0, 3) else None,
            c1g2_llrp_capabilities=c1g2 if what in (0, 4) else None,
        )

    def _antenna_configuration(self, antenna_id: int) -> AntennaConfiguration:
        return AntennaConfiguration(
            antenna_id=antenna_id,
            rf_receiver=RFReceiver(receiver_sensitivity=self.sensitivity[antenna_id]),
            rf_transmitter=RFTransmitter(
                hop_table_id=1, channel_index=1, transmit_power=self.tx_power[antenna_id]
            ),
            inventory_commands=(
                C1G2InventoryCommand(
                    tag_inventory_state_aware=False,
                    rf_control=C1G2RFControl(mode_index=1000, tari=0),
                    singulation_control=C1G2SingulationControl(
                        session=1, tag_population=32, tag_transit_time=0
                    ),
                ),
            ),
        )

    def _on_get_config(self, m: GetReaderConfig) -> Message:
        what = m.requested_data
        if what > 11:
            raise Refusal(StatusCode.M_FIELD_ERROR, f"RequestedData {what} is not 0-11", "bad-field",
                          field_error=FieldError(field_num=1, error_code=StatusCode.A_OUT_OF_RANGE))  # fmt: skip
        if m.antenna_id and m.antenna_id not in self.antenna_ids:
            raise Refusal(StatusCode.M_FIELD_ERROR, f"no antenna {m.antenna_id}", "bad-antenna",
                          field_error=FieldError(field_num=0, error_code=StatusCode.A_OUT_OF_RANGE))  # fmt: skip
        for num, port in ((2, m.gpi_port_num), (3, m.gpo_port_num)):
            if port > GPIO_PORTS:
                raise Refusal(StatusCode.M_FIELD_ERROR, f"no {'GPI' if num == 2 else 'GPO'} port {port}", "bad-gpio",
                              field_error=FieldError(field_num=num, error_code=StatusCode.A_OUT_OF_RANGE))  # fmt: skip
        ants = (m.antenna_id,) if m.antenna_id else self.antenna_ids
        gpis = (m.gpi_port_num,) if m.gpi_port_num else range(1, GPIO_PORTS + 1)
        gpos = (m.gpo_port_num,) if m.gpo_port_num else range(1, GPIO_PORTS + 1)

        def want(part: ConfigRequest) -> bool:
            return what in (ConfigRequest.ALL, part)

        return GetReaderConfigResponse(
            message_id=m.message_id,
            identification=Identification(id_type=0, reader_id=self._mac) if want(ConfigRequest.IDENTIFICATION) else None,
            antenna_properties=tuple(
                AntennaProperties(antenna_connected=True, antenna_id=a, antenna_gain=0) for a in ants
            ) if want(ConfigRequest.ANTENNA_PROPERTIES) else (),
            antenna_configurations=tuple(self._antenna_configuration(a) for a in ants)
            if want(ConfigRequest.ANTENNA_CONFIGURATION) else (),
            reader_event_notification_spec=ReaderEventNotificationSpec(states=tuple(
                EventNotificationState(event_type=e, notification_state=e in self.events_on) for e in range(9)
            )) if want(ConfigRequest.READER_EVENT_NOTIFICATION_SPEC) else None,
            ro_report_spec=self.default_report if want(ConfigRequest.RO_REPORT_SPEC) else None,
            access_report_spec=AccessReportSpec(access_report_trigger=self.access_report_trigger)
            if want(ConfigRequest.ACCESS_REPORT_SPEC) else None,
            llrp_configuration_state=LLRPConfigurationStateValue(value=self.config_state)
            if want(ConfigRequest.LLRP_CONFIGURATION_STATE_VALUE) else None,
            keepalive_spec=KeepaliveSpec(trigger_type=1 if self.keepalive_ms else 0,
                                         periodic_trigger_value=self.keepalive_ms)
            if want(ConfigRequest.KEEPALIVE_SPEC) else None,
            gpi_port_current_states=tuple(
                GPIPortCurrentState(gpi_port_num=p, config=self.gpi_enabled[p], state=0) for p in gpis
            ) if want(ConfigRequest.GPI_PORT_CURRENT_STATE) else (),
            gpo_write_data=tuple(GPOWriteData(gpo_port_number=p, gpo_data=self.gpo[p]) for p in gpos)
            if want(ConfigRequest.GPO_WRITE_DATA) else (),
            events_and_reports=EventsAndReports(hold_events_and_reports_upon_reconnect=self.hold_reports)
            if want(ConfigRequest.EVENTS_AND_REPORTS) else None,
        )  # fmt: skip

    def _on_set_config(self, m: SetReaderConfig) -> Message:
        # validate everything before changing anything: a refused SET changes nothing
        for conf in m.antenna_configurations:
            self._check_antenna_configuration(conf)
        if m.antenna_properties:
            raise Refusal(StatusCode.M_PARAMETER_ERROR, "antenna properties cannot be set on this reader",
                          "unsupported-parameter", parameter_error=ParameterError(
                              parameter_type=AntennaProperties.TYPE, error_code=StatusCode.P_UNSUPPORTED_PARAMETER))  # fmt: skip
        for port, ptype in [(g.gpo_port_number, GPOWriteData.TYPE) for g in m.gpo_write_data] + [
            (g.gpi_port_num, GPIPortCurrentState.TYPE) for g in m.gpi_port_current_states
        ]:
            if not 1 <= port <= GPIO_PORTS:
                raise Refusal(StatusCode.M_PARAMETER_ERROR, f"no GPIO port {port} (1-{GPIO_PORTS})", "bad-gpio",
                              parameter_error=ParameterError(parameter_type=ptype, error_code=StatusCode.P_FIELD_ERROR,
                                  field_error=FieldError(field_num=0, error_code=StatusCode.A_OUT_OF_RANGE)))  # fmt: skip
        if m.keepalive_spec is not None and m.keepalive_spec.trigger_type not in (0, 1):
            raise Refusal(StatusCode.M_PARAMETER_ERROR, "KeepaliveTriggerType must be 0 or 1", "bad-field",
                          parameter_error=ParameterError(parameter_type=KeepaliveSpec.TYPE,
                                                         error_code=StatusCode.P_FIELD_ERROR))  # fmt: skip
        if m.ro_report_spec is not None:
            self._check_report_spec(m.ro_report_spec)
        if m.access_report_spec is not None and m.access_report_spec.access_report_trigger not in (0, 1):
            raise Refusal(StatusCode.M_PARAMETER_ERROR, "AccessReportTrigger must be 0 or 1", "bad-field")
        if m.reset_to_factory_default:  # configuration and ROSpecs back to what the reader boots with
            self._factory_reset()
        if m.reader_event_notification_spec is not None:
            for s in m.reader_event_notification_spec.states:
                (self.events_on.add if s.notification_state else self.events_on.discard)(s.event_type)
        for conf in m.antenna_configurations:
            for a in (conf.antenna_id,) if conf.antenna_id else self.antenna_ids:
                if conf.rf_transmitter is not None:
                    self.tx_power[a] = conf.rf_transmitter.transmit_power
                if conf.rf_receiver is not None:
                    self.sensitivity[a] = conf.rf_receiver.receiver_sensitivity
        if m.ro_report_spec is not None:
            self.default_report = m.ro_report_spec
        if m.keepalive_spec is not None:
            self.keepalive_ms = (
                m.keepalive_spec.periodic_trigger_value if m.keepalive_spec.trigger_type else 0
            )
            self._next_keepalive = self.elapsed() + self.keepalive_ms / 1000 if self.keepalive_ms else None
        for gpo in m.gpo_write_data:
            self.gpo[gpo.gpo_port_number] = gpo.gpo_data
        for gpi in m.gpi_port_current_states:
            self.gpi_enabled[gpi.gpi_port_num] = gpi.config
        if m.access_report_spec is not None:
            self.access_report_trigger = m.access_report_spec.access_report_trigger
        if m.events_and_reports is not None:
            self.hold_reports = m.events_and_reports.hold_events_and_reports_upon_reconnect
        self.config_state += 1
        return SetReaderConfigResponse(message_id=m.message_id)

    def _check_antenna_configuration(self, conf: AntennaConfiguration) -> None:
        if conf.antenna_id and conf.antenna_id not in self.antenna_ids:
            raise Refusal(StatusCode.M_PARAMETER_ERROR, f"no antenna {conf.antenna_id}", "bad-antenna",
                          parameter_error=ParameterError(
                              parameter_type=AntennaConfiguration.TYPE, error_code=StatusCode.P_FIELD_ERROR,
                              field_error=FieldError(field_num=0, error_code=StatusCode.A_OUT_OF_RANGE)))  # fmt: skip
        if conf.rf_transmitter is not None:
            index = conf.rf_transmitter.transmit_power
            if not 1 <= index <= len(POWER_TABLE):
                raise Refusal(StatusCode.M_PARAMETER_ERROR,
                              f"transmit power index {index} is not in the table (1-{len(POWER_TABLE)})",
                              "bad-transmit-power", parameter_error=ParameterError(
                                  parameter_type=RFTransmitter.TYPE, error_code=StatusCode.P_FIELD_ERROR,
                                  field_error=FieldError(field_num=2, error_code=StatusCode.A_OUT_OF_RANGE)))  # fmt: skip
            if conf.rf_transmitter.hop_table_id != 1:
                raise Refusal(StatusCode.M_PARAMETER_ERROR, f"no hop table {conf.rf_transmitter.hop_table_id}",
                              "bad-hop-table", parameter_error=ParameterError(
                                  parameter_type=RFTransmitter.TYPE, error_code=StatusCode.P_FIELD_ERROR,
                                  field_error=FieldError(field_num=0, error_code=StatusCode.A_OUT_OF_RANGE)))  # fmt: skip
        if conf.rf_receiver is not None and conf.rf_receiver.receiver_sensitivity != 1:
            raise Refusal(StatusCode.M_PARAMETER_ERROR, "receiver sensitivity index must be 1", "bad-field")
        for cmd in conf.inventory_commands:
            bad = self._unwanted(cmd.extensions)
            if bad is not None:
                raise Refusal(StatusCode.M_UNSUPPORTED_PARAMETER, bad, "unsupported-extension")
            if cmd.filters:
                raise Refusal(StatusCode.M_PARAMETER_ERROR, "C1G2 filters are not supported by this reader",
                              "unsupported-filter", parameter_error=ParameterError(
                                  parameter_type=331, error_code=StatusCode.P_UNSUPPORTED_PARAMETER))  # fmt: skip
        bad = self._unwanted(conf.extensions)
        if bad is not None:
            raise Refusal(StatusCode.M_UNSUPPORTED_PARAMETER, bad, "unsupported-extension")

    def _check_report_spec(self, spec: ROReportSpec) -> None:
        if spec.trigger not in (0, 1, 2):
            raise Refusal(StatusCode.M_PARAMETER_ERROR, f"ROReportTrigger {spec.trigger} is not 0-2", "bad-field",
                          parameter_error=ParameterError(parameter_type=ROReportSpec.TYPE,
                                                         error_code=StatusCode.P_FIELD_ERROR))  # fmt: skip
        bad = self._unwanted(spec.extensions) or self._unwanted(spec.content_selector.extensions)
        if bad is not None:
            raise Refusal(StatusCode.M_UNSUPPORTED_PARAMETER, bad, "unsupported-extension")

    # ROSpecs

    def _check_rospec(self, spec: ROSpec) -> None:
        def refuse(
            text: str, reason: str, ptype: int, code: StatusCode = StatusCode.P_FIELD_ERROR
        ) -> Refusal:
            return Refusal(StatusCode.M_PARAMETER_ERROR, text, reason,
                           parameter_error=ParameterError(parameter_type=ptype, error_code=code))  # fmt: skip

        if spec.ro_spec_id == 0:
            raise Refusal(StatusCode.M_FIELD_ERROR, "ROSpecID 0 is reserved", "bad-field",
                          field_error=FieldError(field_num=0, error_code=StatusCode.A_INVALID))  # fmt: skip
        if spec.ro_spec_id in self.rospecs:
            raise Refusal(StatusCode.M_FIELD_ERROR, f"ROSpec {spec.ro_spec_id} already exists", "duplicate-rospec",
                          field_error=FieldError(field_num=0, error_code=StatusCode.A_INVALID))  # fmt: skip
        if len(self.rospecs) >= 8:
            raise Refusal(StatusCode.M_FIELD_ERROR, "at most 8 ROSpecs", "too-many-rospecs")
        if spec.current_state != ROSpecState.DISABLED:
            raise Refusal(StatusCode.M_FIELD_ERROR, "a new ROSpec must be Disabled", "bad-field",
                          field_error=FieldError(field_num=2, error_code=StatusCode.A_INVALID))  # fmt: skip
        if spec.priority != 0:
            raise Refusal(StatusCode.M_FIELD_ERROR, "only priority 0 is supported", "bad-field",
                          field_error=FieldError(field_num=1, error_code=StatusCode.A_OUT_OF_RANGE))  # fmt: skip
        start, stop = spec.boundary.start_trigger, spec.boundary.stop_trigger
        if start.trigger_type == ROSpecStartTriggerType.GPI or start.trigger_type > 3:
            raise refuse("GPI start triggers are not supported (no GPI ports)", "unsupported-trigger", 179)
        if start.trigger_type == ROSpecStartTriggerType.PERIODIC and (
            start.periodic is None or not start.periodic.period
        ):
            raise refuse(
                "a periodic start trigger needs a PeriodicTriggerValue with a period", "bad-trigger", 179
            )
        if stop.trigger_type > 2:
            raise refuse(f"ROSpecStopTriggerType {stop.trigger_type} is not 0-2", "bad-trigger", 182)
        if not spec.specs:
            raise refuse(
                "an ROSpec needs at least one AISpec", "missing-spec", 177, StatusCode.P_MISSING_PARAMETER
            )
        for i, s in enumerate(spec.specs):
            if not isinstance(s, AISpec):
                raise refuse(f"spec {i + 1}: RF surveys are not supported", "unsupported-rfsurvey", 187,
                             StatusCode.P_UNSUPPORTED_PARAMETER)  # fmt: skip
            for a in s.antenna_ids:
                if a and a not in self.antenna_ids:
                    raise refuse(f"spec {i + 1}: no antenna {a}", "bad-antenna", 183)
            trigger = s.stop_trigger
            if trigger.trigger_type > 3:
                raise refuse(f"AISpecStopTriggerType {trigger.trigger_type} is not 0-3", "bad-trigger", 184)
            if trigger.trigger_type == AISpecStopTriggerType.TAG_OBSERVATION:
                if self.behaviour.reject_n_tags_stop_trigger:
                    raise Refusal(
                        StatusCode.M_PARAMETER_ERROR,
                        "AISpecStopTrigger: tag observation triggers are not supported by this reader",
                        "unsupported-n-tags-trigger",
                        parameter_error=ParameterError(
                            parameter_type=184, error_code=StatusCode.P_FIELD_ERROR,
                            field_error=FieldError(field_num=0, error_code=StatusCode.A_OUT_OF_RANGE)),
                    )  # fmt: skip
                if trigger.tag_observation is None or trigger.tag_observation.trigger_type > 2:
                    raise refuse(
                        "a tag observation stop needs a TagObservationTrigger of type 0-2", "bad-trigger", 185
                    )
            for ips in s.inventory_parameter_specs:
                if ips.protocol_id != 1:
                    raise refuse(f"protocol {ips.protocol_id} is not EPC C1G2", "bad-protocol", 186)
                for conf in ips.antenna_configurations:
                    self._check_antenna_configuration(conf)
                bad = self._unwanted(ips.extensions)
                if bad is not None:
                    raise Refusal(StatusCode.M_UNSUPPORTED_PARAMETER, bad, "unsupported-extension")
            bad = self._unwanted(s.extensions) or self._unwanted(trigger.extensions)
            if bad is not None:
                raise Refusal(StatusCode.M_UNSUPPORTED_PARAMETER, bad, "unsupported-extension")
        if spec.report_spec is not None:
            self._check_report_spec(spec.report_spec)
        bad = self._unwanted(spec.extensions) or self._unwanted(spec.boundary.extensions)
        if bad is not None:
            raise Refusal(StatusCode.M_UNSUPPORTED_PARAMETER, bad, "unsupported-extension")

    def _on_add_rospec(self, m: AddROSpec) -> Message:
        self._check_rospec(m.ro_spec)
        self.rospecs[m.ro_spec.ro_spec_id] = _Run(m.ro_spec)
        return AddROSpecResponse(message_id=m.message_id)

    def _runs(self, ro_spec_id: int, field_num: int = 0) -> list[_Run]:
        if ro_spec_id == 0:
            return list(self.rospecs.values())
        run = self.rospecs.get(ro_spec_id)
        if run is None:
            raise Refusal(StatusCode.M_FIELD_ERROR, f"no ROSpec {ro_spec_id}", "no-such-rospec",
                          field_error=FieldError(field_num=field_num, error_code=StatusCode.A_INVALID))  # fmt: skip
        return [run]

    def _on_delete_rospec(self, m: DeleteROSpec) -> Message:
        for run in self._runs(m.ro_spec_id):
            if run.state == ROSpecState.ACTIVE:
                self._end_rospec(run, self.elapsed())
            del self.rospecs[run.spec.ro_spec_id]
        return DeleteROSpecResponse(message_id=m.message_id)

    def _on_enable_rospec(self, m: EnableROSpec) -> None:
        now = self.elapsed()
        immediate = []
        for run in self._runs(m.ro_spec_id):
            if run.state != ROSpecState.DISABLED:
                continue
            run.state = ROSpecState.INACTIVE
            start = run.spec.boundary.start_trigger
            if start.trigger_type == ROSpecStartTriggerType.IMMEDIATE:
                immediate.append(run)
            elif start.trigger_type == ROSpecStartTriggerType.PERIODIC:
                assert start.periodic is not None
                run.next_start = now + start.periodic.offset / 1000
        self._queue(EnableROSpecResponse(message_id=m.message_id), control=True)
        for run in immediate:  # the response goes first, then the ROSpec starts
            self._start_rospec(run, now)

    def _on_start_rospec(self, m: StartROSpec) -> None:
        runs = self._runs(m.ro_spec_id)
        for run in runs:
            if run.state == ROSpecState.DISABLED:
                raise Refusal(StatusCode.M_FIELD_ERROR, f"ROSpec {run.spec.ro_spec_id} is disabled",
                              "rospec-disabled", field_error=FieldError(field_num=0, error_code=StatusCode.A_INVALID))  # fmt: skip
        self._queue(StartROSpecResponse(message_id=m.message_id), control=True)
        now = self.elapsed()
        for run in runs:
            if run.state == ROSpecState.INACTIVE:
                self._start_rospec(run, now)

    def _on_stop_rospec(self, m: StopROSpec) -> None:
        runs = self._runs(m.ro_spec_id)
        if m.ro_spec_id and runs[0].state != ROSpecState.ACTIVE:
            raise Refusal(StatusCode.M_FIELD_ERROR, f"ROSpec {m.ro_spec_id} is not active", "rospec-not-active",
                          field_error=FieldError(field_num=0, error_code=StatusCode.A_INVALID))  # fmt: skip
        self._queue(StopROSpecResponse(message_id=m.message_id), control=True)
        for run in runs:
            if run.state == ROSpecState.ACTIVE:
                self._end_rospec(run, self.elapsed(), restart=False)

    def _on_disable_rospec(self, m: DisableROSpec) -> None:
        runs = self._runs(m.ro_spec_id)
        self._queue(DisableROSpecResponse(message_id=m.message_id), control=True)
        for run in runs:
            if run.state == ROSpecState.ACTIVE:
                self._end_rospec(run, self.elapsed(), restart=False)
            run.state = ROSpecState.DISABLED
            run.next_start = None

    def _on_get_rospecs(self, m: GetROSpecs) -> Message:
        return GetROSpecsResponse(
            message_id=m.message_id,
            ro_specs=tuple(dataclasses.replace(r.spec, current_state=r.state) for r in self.rospecs.values()),
        )

    # AccessSpecs: none are supported, so there are none to delete or list

    def _on_add_accessspec(self, m: AddAccessSpec) -> Message:
        raise Refusal(StatusCode.M_UNSUPPORTED_PARAMETER, "AccessSpecs are not supported by this reader",
                      "unsupported-accessspec", parameter_error=ParameterError(
                          parameter_type=207, error_code=StatusCode.P_UNSUPPORTED_PARAMETER))  # fmt: skip

    def _on_accessspec_id(self, m: DeleteAccessSpec | EnableAccessSpec | DisableAccessSpec) -> Message:
        if m.access_spec_id != 0:
            raise Refusal(StatusCode.M_FIELD_ERROR, f"no AccessSpec {m.access_spec_id}", "no-such-accessspec",
                          field_error=FieldError(field_num=0, error_code=StatusCode.A_INVALID))  # fmt: skip
        return _RESPONSE[type(m).TYPE](message_id=m.message_id)

    def _on_get_accessspecs(self, m: GetAccessSpecs) -> Message:
        return GetAccessSpecsResponse(message_id=m.message_id)

    # the session

    def _on_get_report(self, m: GetReport) -> None:
        for run in self.rospecs.values():
            self._flush(run)

    def _on_keepalive_ack(self, m: KeepaliveAck) -> None:
        self.keepalives_unacked = 0

    def _on_enable_events(self, m: EnableEventsAndReports) -> None:
        self._holding = False
        held, self._held = self._held, []
        for message in held:
            self._queue(message)

    def _on_close(self, m: CloseConnection) -> None:
        self._queue(CloseConnectionResponse(message_id=m.message_id), control=True)
        self._close = "close"

    def _on_custom(self, m: CustomMessage) -> Message:
        if (
            m.vendor_id == IMPINJ_VENDOR_ID
            and m.subtype == IMPINJ_ENABLE_EXTENSIONS
            and self.behaviour.impinj_extensions
        ):
            if len(m.data) != 4:
                raise Refusal(StatusCode.M_FIELD_ERROR, "IMPINJ_ENABLE_EXTENSIONS carries 4 reserved bytes",
                              "bad-field")  # fmt: skip
            self.impinj_enabled = True
            status = bytearray()
            encode_parameter(SUCCESS, status)
            return CustomMessage(message_id=m.message_id, vendor_id=IMPINJ_VENDOR_ID,
                                 subtype=IMPINJ_ENABLE_EXTENSIONS_RESPONSE, data=bytes(status))  # fmt: skip
        raise Refusal(StatusCode.M_UNSUPPORTED_MESSAGE,
                      f"custom message of vendor {m.vendor_id} subtype {m.subtype} is not supported",
                      "unsupported-custom-message")  # fmt: skip

    _HANDLERS: ClassVar[dict[type[Message], Callable[[LLRPReader, Any], Message | None]]] = {
        GetReaderCapabilities: _on_get_capabilities,
        GetReaderConfig: _on_get_config,
        SetReaderConfig: _on_set_config,
        AddROSpec: _on_add_rospec,
        DeleteROSpec: _on_delete_rospec,
        EnableROSpec: _on_enable_rospec,
        StartROSpec: _on_start_rospec,
        StopROSpec: _on_stop_rospec,
        DisableROSpec: _on_disable_rospec,
        GetROSpecs: _on_get_rospecs,
        AddAccessSpec: _on_add_accessspec,
        DeleteAccessSpec: _on_accessspec_id,
        EnableAccessSpec: _on_accessspec_id,
        DisableAccessSpec: _on_accessspec_id,
        GetAccessSpecs: _on_get_accessspecs,
        GetReport: _on_get_report,
        KeepaliveAck: _on_keepalive_ack,
        EnableEventsAndReports: _on_enable_events,
        CloseConnection: _on_close,
        CustomMessage: _on_custom,
    }

    # -- time -------------------------------------------------------------------------

    def advance(self, mono: float | None = None) -> None:
        now_mono = self.host.monotonic() if mono is None else mono
        self.world.advance(now_mono)
        self.fire_due(now_mono)
        t = self.elapsed(now_mono)
        if self.rebooting_until is not None:
            if t < self.rebooting_until:
                return
            self.rebooting_until = None
            self.boots += 1
            self.record({"kind": "booted"})
        if self._next_keepalive is not None and self.connected and t >= self._next_keepalive:
            self.keepalives_unacked += 1
            self._queue(Keepalive(message_id=self._take_id()), control=True)
            self._next_keepalive = t + self.keepalive_ms / 1000
        for run in list(self.rospecs.values()):
            if run.next_start is not None and t + EPSILON_MS / 1000 >= run.next_start:
                start = run.spec.boundary.start_trigger
                assert start.periodic is not None
                at = run.next_start
                period = start.periodic.period / 1000
                run.next_start = at + period * (1 + max(0, int((t - at) // period)))
                if run.state == ROSpecState.INACTIVE:
                    self._start_rospec(run, at)
                else:  # still running from the last period: this start is skipped
                    self.record({"kind": "period-skipped", "ro_spec_id": run.spec.ro_spec_id})
            rounds = 0
            while run.state == ROSpecState.ACTIVE and run.next_round <= t + EPSILON_MS / 1000:
                rounds += 1
                if rounds > MAX_ROUNDS_PER_ADVANCE:
                    run.next_round = t  # skip ahead: the reader was stalled
                self._round(run, run.next_round)

    # -- ROSpec execution -------------------------------------------------------------

    def _start_rospec(self, run: _Run, at: float) -> None:
        run.state = ROSpecState.ACTIVE
        run.started_at = at
        run.spec_index = 0
        self._start_ai(run, at)
        if EVENT_ROSPEC in self.events_on:
            self._queue(self._event(ro_spec=ROSpecEvent(event_type=0, ro_spec_id=run.spec.ro_spec_id)))

    def _start_ai(self, run: _Run, at: float) -> None:
        run.ai_started_at = at
        run.next_round = at
        run.rounds = 0
        run.seen = set()
        run.last_new = at

    def _report_spec(self, run: _Run) -> ROReportSpec:
        return run.spec.report_spec or self.default_report

    def _round(self, run: _Run, at: float) -> None:
        """The round due at ``at``: first what the previous one ended, then an inventory."""
        if run.rounds:
            self._check_end(run, at)
            if run.state != ROSpecState.ACTIVE:
                return
        self._inventory(run, at)

    def _inventory(self, run: _Run, at: float) -> None:
        ai = run.spec.specs[run.spec_index]
        assert isinstance(ai, AISpec)
        antennas = self.antenna_ids if 0 in ai.antenna_ids or not ai.antenna_ids else ai.antenna_ids
        ips = ai.inventory_parameter_specs[0] if ai.inventory_parameter_specs else None
        power = dict(self.tx_power)
        for conf in ips.antenna_configurations if ips else ():
            if conf.rf_transmitter is not None:
                for a in (conf.antenna_id,) if conf.antenna_id else self.antenna_ids:
                    power[a] = conf.rf_transmitter.transmit_power
        report = self._report_spec(run)
        by_antenna = report.content_selector.enable_antenna_id
        mono = self._boot + at
        utc = self.clock_us(mono)
        up = int(at * 1e6)
        for a in antennas:
            tx_dbm = POWER_TABLE[power[a] - 1][1] / 100
            for s in self.world.inventory_round(self.device_id, a, tx_dbm, self._rng):
                if s.epc not in run.seen:
                    run.seen.add(s.epc)
                    run.last_new = at
                key = (s.epc, a if by_antenna else 0)
                tag = run.tags.get(key)
                if tag is None:
                    run.tags[key] = _Tag(s.epc, a, run.spec_index + 1, ips.spec_id if ips else 0,
                                         utc, utc, up, up, s.rssi_dbm)  # fmt: skip
                    if report.trigger != ROReportTrigger.NONE and report.n and len(run.tags) >= report.n:
                        self._flush(run)  # every N tags: exactly N in each report
                else:
                    tag.last_us, tag.last_up, tag.count = utc, up, tag.count + 1
                    tag.peak = max(tag.peak, s.rssi_dbm)
        run.rounds += 1
        run.next_round = at + self.behaviour.round_s

    def _check_end(self, run: _Run, at: float) -> None:
        # the ROSpec's stop trigger first: it ends the AISpec with it
        stop = run.spec.boundary.stop_trigger
        ran_ms = (at - run.started_at) * 1000 + EPSILON_MS
        if (stop.trigger_type == ROSpecStopTriggerType.DURATION and ran_ms >= stop.duration_trigger_value) or (
            stop.trigger_type == ROSpecStopTriggerType.GPI_WITH_TIMEOUT and stop.gpi is not None
            and stop.gpi.timeout and ran_ms >= stop.gpi.timeout
        ):  # fmt: skip
            self._end_ai(run, at)
            self._end_rospec(run, at, restart=False)
            return
        ai = run.spec.specs[run.spec_index]
        assert isinstance(ai, AISpec)
        if self._ai_done(run, ai, at):
            self._end_ai(run, at)
            run.spec_index += 1
            if run.spec_index < len(run.spec.specs):
                self._start_ai(run, at)
            else:
                self._end_rospec(run, at)

    def _ai_done(self, run: _Run, ai: AISpec, at: float) -> bool:
        trigger = ai.stop_trigger
        ran_ms = (at - run.ai_started_at) * 1000 + EPSILON_MS
        kind = trigger.trigger_type
        if kind == AISpecStopTriggerType.DURATION:
            return ran_ms >= trigger.duration_trigger
        if kind == AISpecStopTriggerType.GPI_WITH_TIMEOUT:
            return trigger.gpi is not None and bool(trigger.gpi.timeout) and ran_ms >= trigger.gpi.timeout
        if kind == AISpecStopTriggerType.TAG_OBSERVATION:
            obs = trigger.tag_observation
            assert obs is not None
            if obs.timeout and ran_ms >= obs.timeout:
                return True
            if obs.trigger_type == 0:
                return len(run.seen) >= max(1, obs.number_of_tags)
            if obs.trigger_type == 1:
                return (at - run.last_new) * 1000 + EPSILON_MS >= obs.t
            return run.rounds >= max(1, obs.number_of_attempts)
        return False

    def _end_ai(self, run: _Run, at: float) -> None:
        if self._report_spec(run).trigger == ROReportTrigger.UPON_N_TAGS_OR_END_OF_AISPEC:
            self._flush(run)
        if EVENT_AISPEC in self.events_on or EVENT_AISPEC_SINGULATION in self.events_on:
            details = (
                C1G2SingulationDetails(num_collision_slots=0, num_empty_slots=0)
                if EVENT_AISPEC_SINGULATION in self.events_on
                else None
            )
            self._queue(self._event(ai_spec=AISpecEvent(ro_spec_id=run.spec.ro_spec_id,
                                                        spec_index=run.spec_index + 1,
                                                        singulation_details=details)))  # fmt: skip

    def _end_rospec(self, run: _Run, at: float, *, restart: bool = True) -> None:
        if self._report_spec(run).trigger != ROReportTrigger.NONE:
            self._flush(run)
        run.state = ROSpecState.INACTIVE
        if EVENT_ROSPEC in self.events_on:
            self._queue(self._event(ro_spec=ROSpecEvent(event_type=1, ro_spec_id=run.spec.ro_spec_id)))
        boundary = run.spec.boundary
        if (
            restart
            and boundary.stop_trigger.trigger_type == ROSpecStopTriggerType.NULL
            and boundary.start_trigger.trigger_type == ROSpecStartTriggerType.IMMEDIATE
        ):
            self._start_rospec(run, at)

    def _flush(self, run: _Run) -> None:
        if not run.tags:
            return
        tags = sorted(run.tags.values(), key=lambda t: (t.first_us, t.epc, t.antenna_id))
        run.tags = {}
        sel = self._report_spec(run).content_selector
        pc_bits = any(m.enable_pc_bits for m in sel.epc_memory_selectors)
        crc = any(m.enable_crc for m in sel.epc_memory_selectors)
        datas = []
        for t in tags:
            pc = (len(t.epc) // 2) << 11  # EPC length in words, no user memory, no XPC
            datas.append(TagReportData(
                epc=EPCData(epc=BitString.of(t.epc)) if self.behaviour.epc_data else EPC96(epc=t.epc),
                ro_spec_id=run.spec.ro_spec_id if sel.enable_ro_spec_id else None,
                spec_index=t.spec_index if sel.enable_spec_index else None,
                inventory_parameter_spec_id=t.ips_id if sel.enable_inventory_parameter_spec_id else None,
                antenna_id=t.antenna_id if sel.enable_antenna_id else None,
                peak_rssi=t.peak if sel.enable_peak_rssi else None,
                channel_index=1 if sel.enable_channel_index else None,
                first_seen_utc=t.first_us if sel.enable_first_seen_timestamp else None,
                last_seen_utc=t.last_us if sel.enable_last_seen_timestamp else None,
                tag_seen_count=min(t.count, 0xFFFF) if sel.enable_tag_seen_count else None,
                c1g2_pc=pc if pc_bits else None,
                c1g2_crc=crc16_c1g2(pc.to_bytes(2, "big") + t.epc) if crc else None,
            ))  # fmt: skip
        for i in range(0, len(datas), MAX_TAGS_PER_REPORT):
            chunk = tuple(datas[i : i + MAX_TAGS_PER_REPORT])
            report = ROAccessReport(message_id=self._take_id(), tags=chunk)
            if self._queue(report):
                for d in chunk:
                    self.tags_reported[d.epc_hex] += 1

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
        return True

    @staticmethod
    def encode(message: Message) -> bytes:
        """The bytes of every message the reader sends (``bohsense.llrp``'s encoder)."""
        return encode_message(message)

    def ground_truth(self) -> dict[str, Any]:
        return {
            **super().ground_truth(),
            "refusals": dict(self.refusals),
            "received": dict(self.received),
            "sent": dict(self.sent),
            "tags_reported": dict(self.tags_reported),
            "reports_dropped": self.reports_dropped,
            "suppressed": self.suppressed,
            "boots": self.boots,
        }


# ---------------------------------------------------------------- faults by name (the command line)

#: name → (takes a value, what it does)
FAULTS: dict[str, tuple[bool, str]] = {
    "reject-n-tags": (
        False,
        "refuse the AISpec tag-observation (N tags) stop trigger, as ThingMagic readers do",
    ),
    "no-impinj": (False, "a non-Impinj reader: generic identity, IMPINJ_ENABLE_EXTENSIONS refused"),
    "epc-data": (False, "report EPCs as EPCData parameters instead of EPC-96"),
    "clock-years": (True, "the reader's UTC clock is wrong by this many years (may be negative)"),
    "reboot": (True, "reboot this many seconds after start (the connection drops, state is lost)"),
    "silent": (True, "stop sending anything this many seconds after start, keeping TCP open"),
    "drop": (True, "drop the network connection this many seconds after start"),
    "malformed": (True, "send one malformed RO_ACCESS_REPORT this many seconds after start"),
}


@dataclass(frozen=True)
class Fault:
    """``NAME[=VALUE][@READER]``: a behaviour or a timed fault, for one reader or all."""

    name: str
    value: float | None = None
    reader_id: str | None = None

    @classmethod
    def parse(cls, text: str) -> Fault:
        body, _, reader = text.partition("@")
        name, eq, raw = body.partition("=")
        if name not in FAULTS:
            raise ValueError(f"unknown fault {name!r}; known: {', '.join(FAULTS)}")
        takes_value = FAULTS[name][0]
        if takes_value != bool(eq):
            raise ValueError(
                f"fault {name} {'needs' if takes_value else 'takes no'} value (NAME{'=N' if takes_value else ''})"
            )
        value = None
        if eq:
            try:
                value = float(raw)
            except ValueError:
                raise ValueError(f"fault {name}: {raw!r} is not a number") from None
            if name != "clock-years" and value < 0:
                raise ValueError(f"fault {name}: {raw} seconds is negative")
        return cls(name, value, reader or None)

    def applies_to(self, reader_id: str) -> bool:
        return self.reader_id is None or self.reader_id == reader_id

    def shape(self, behaviour: Behaviour) -> None:
        """Set the behaviours fixed at construction."""
        if self.name == "reject-n-tags":
            behaviour.reject_n_tags_stop_trigger = True
        elif self.name == "no-impinj":
            behaviour.impinj_extensions = False
        elif self.name == "epc-data":
            behaviour.epc_data = True
        elif self.name == "clock-years":
            assert self.value is not None
            behaviour.clock_offset_s = self.value * SECONDS_PER_YEAR

    def arm(self, reader: LLRPReader) -> None:
        """Schedule the timed faults on a reader (after ``boot``)."""
        actions: dict[str, Callable[[], None]] = {
            "reboot": reader.reboot,
            "silent": reader.set_silent,
            "drop": reader.drop_network,
            "malformed": reader.send_malformed,
        }
        if self.name in actions:
            assert self.value is not None
            reader.at(self.value, actions[self.name])


def readers_for(
    world: TagWorld, faults: Sequence[Fault] = (), *, clock: Clock | None = None
) -> list[LLRPReader]:
    """One reader per reader of the world's scenario, shaped and armed with ``faults``."""
    known = set(world.readers)
    for f in faults:
        if f.reader_id is not None and f.reader_id not in known:
            raise ValueError(
                f"fault {f.name}@{f.reader_id}: no reader {f.reader_id!r} (readers: {', '.join(known)})"
            )
    out = []
    for spec in world.scenario.readers:
        behaviour = Behaviour()
        mine = [f for f in faults if f.applies_to(spec.reader_id)]
        for f in mine:
            f.shape(behaviour)
        reader = LLRPReader(spec, world, behaviour=behaviour, seed=world.scenario.seed, clock=clock)
        for f in mine:
            f.arm(reader)
        out.append(reader)
    return out
