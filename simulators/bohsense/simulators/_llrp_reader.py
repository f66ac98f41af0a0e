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

from collections.abc import Callable
from typing import Any, ClassVar

from bohsense.llrp import (
    EPC96,
    SUCCESS,
    AddAccessSpec,
    AddAccessSpecResponse,
    AddROSpec,
    AddROSpecResponse,
    CloseConnection,
    CloseConnectionResponse,
    ConnectionAttemptEvent,
    ConnectionAttemptStatus,
    ConnectionCloseEvent,
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
    ErrorMessage,
    ErrorReason,
    FieldError,
    GetAccessSpecs,
    GetAccessSpecsResponse,
    GetReaderCapabilities,
    GetReaderCapabilitiesResponse,
    GetReaderConfig,
    GetReaderConfigResponse,
    GetReport,
    GetROSpecs,
    GetROSpecsResponse,
    Keepalive,
    KeepaliveAck,
    LLRPError,
    LLRPStatus,
    Message,
    MessageDecoder,
    ParameterError,
    ROAccessReport,
    ROSpecState,
    SetReaderConfig,
    SetReaderConfigResponse,
    StartROSpec,
    StartROSpecResponse,
    StatusCode,
    StopROSpec,
    StopROSpecResponse,
    TagReportData,
    encode_message,
    encode_parameter,
)
from bohsense.simulators._llrp_base import (
    EPSILON_MS,
    IMPINJ_ENABLE_EXTENSIONS,
    IMPINJ_ENABLE_EXTENSIONS_RESPONSE,
    IMPINJ_VENDOR_ID,
    MAX_ROUNDS_PER_ADVANCE,
    Refusal,
    error_status,
)
from bohsense.simulators._llrp_rospecs import ROSpecEngine

__all__ = ["LLRPReader"]


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


class LLRPReader(ROSpecEngine):
    """One simulated LLRP reader of the tag world, without a transport."""

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
            if self.silent:  # a hung reader: it takes the bytes and does nothing
                pending = []
                continue
            if pending:
                self._refuse_message(pending[0], message=item)
                pending = []
                continue
            self._handle(item)

    def _refuse_stream(self, error: LLRPError) -> None:
        self.refusals[error.reason.value] += 1
        self.record({"kind": "refused-stream", "reason": error.reason.value, "detail": error.detail})
        status = error_status(_STATUS_OF_REASON.get(error.reason, StatusCode.M_FIELD_ERROR),
                         f"{error}; the stream cannot be framed past this point, closing")  # fmt: skip
        self._queue(ErrorMessage(message_id=error.message_id or 0, status=status), control=True, force=True)
        self._queue(self._event(connection_close=ConnectionCloseEvent()), control=True, force=True)
        self._close = "close"

    def _refuse_message(self, error: LLRPError, message: Message | None = None) -> None:
        self.refusals[error.reason.value] += 1
        self.record({"kind": "refused", "reason": error.reason.value, "detail": error.detail})
        code = _STATUS_OF_REASON.get(error.reason, StatusCode.M_PARAMETER_ERROR)
        status = error_status(code, str(error))
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

    def _reply(self, request: Message, status: LLRPStatus) -> None:
        cls = _RESPONSE[type(request).TYPE]
        self._queue(cls(message_id=request.message_id, status=status), control=True)  # type: ignore[call-arg]

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
        GetReaderCapabilities: ROSpecEngine._on_get_capabilities,
        GetReaderConfig: ROSpecEngine._on_get_config,
        SetReaderConfig: ROSpecEngine._on_set_config,
        AddROSpec: ROSpecEngine._on_add_rospec,
        DeleteROSpec: ROSpecEngine._on_delete_rospec,
        EnableROSpec: ROSpecEngine._on_enable_rospec,
        StartROSpec: ROSpecEngine._on_start_rospec,
        StopROSpec: ROSpecEngine._on_stop_rospec,
        DisableROSpec: ROSpecEngine._on_disable_rospec,
        GetROSpecs: ROSpecEngine._on_get_rospecs,
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
