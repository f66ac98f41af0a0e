"""The LLRP client session of the reader driver, sans-I/O: bytes in, messages and
observations out, ``advance`` for its timers. No socket, no clock: every call is given
the gateway's UTC time (``wall_ns``) and a monotonic time (``mono``, seconds).

Lifecycle of one TCP connection (one ``ClientSession``)::

    CONNECTING   wait for READER_EVENT_NOTIFICATION / ConnectionAttemptEvent (Success;
                 any other status: "connection-refused", another client holds the reader)
    HANDSHAKE    GET_READER_CAPABILITIES (an answer that cannot be decoded or refuses is
                 counted and the session goes on with what it asks for: antennas, power
                 table), DELETE_ROSPEC 0 and DELETE_ACCESSSPEC 0 (a clean slate; a refusal
                 is counted, not fatal), SET_READER_CONFIG (keepalive, events, the default
                 RO report spec, no report holding), ADD_ROSPEC (the first variant the
                 reader takes, see ``rospec_variants``), ENABLE_ROSPEC (its start trigger is
                 Immediate: enabling starts it)
    STREAMING    RO_ACCESS_REPORT → ``TagSeen``; KEEPALIVE → KEEPALIVE_ACK; ``Tick`` every
                 ``tick_s``; responses to the driver's own requests → ``replies``
    CLOSED       ``SessionOutput.close`` names why; the driver ends the connection

Every request of the handshake must be answered within ``response_timeout_s``; after
that, a reader that says nothing for ``missed_keepalives`` keepalive intervals is dead
(``watchdog``), even with its TCP connection open.

Bad bytes follow ``MessageDecoder``'s rules: a framing error is fatal (close
"framing-error"); a message that cannot be decoded costs only itself and is counted
(``errors_<reason>``); a parameter kept raw is counted (``warnings_<reason>``) and its
message used.

Reader clocks: each report's newest ``LastSeenTimestampUTC`` (else FirstSeen) is
compared with the gateway's clock on arrival. The offset of a sane clock lies in
[-(report period + slack), +slack]: those times are kept. Outside it the report's times
are shifted by the measured offset (``clock_corrections``), and an offset beyond
``max_clock_offset_s`` (a day: a reader that never had its clock set) is flagged
(``clock_offset_flagged``). Tags with no UTC time are stamped with the arrival time.
"""

from __future__ import annotations

import dataclasses
import enum
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from bohsense.edge.interpreters import ReaderObservation, TagSeen, Tick
from bohsense.llrp import (
    AddROSpec,
    AddROSpecResponse,
    AISpec,
    AISpecStopTrigger,
    AISpecStopTriggerType,
    AntennaConfiguration,
    C1G2InventoryCommand,
    C1G2SingulationControl,
    ConnectionAttemptStatus,
    DeleteAccessSpec,
    DeleteAccessSpecResponse,
    DeleteROSpec,
    DeleteROSpecResponse,
    EnableROSpec,
    EnableROSpecResponse,
    ErrorMessage,
    EventNotificationState,
    EventsAndReports,
    GetReaderCapabilities,
    GetReaderCapabilitiesResponse,
    InventoryParameterSpec,
    Keepalive,
    KeepaliveAck,
    KeepaliveSpec,
    LLRPError,
    Message,
    MessageDecoder,
    ReaderEventNotification,
    ReaderEventNotificationSpec,
    ROAccessReport,
    ROBoundarySpec,
    ROReportSpec,
    ROReportTrigger,
    ROSpec,
    ROSpecStartTrigger,
    ROSpecStartTriggerType,
    ROSpecStopTrigger,
    ROSpecStopTriggerType,
    SetReaderConfig,
    SetReaderConfigResponse,
    TagObservationTrigger,
    TagReportContentSelector,
    TagReportData,
    encode_message,
)

__all__ = ["ClientSession", "SessionConfig", "SessionOutput", "State", "rospec_variants"]

#: the ROSpec id the gateway owns on every reader
RO_SPEC_ID = 0xB054
#: ReaderEventType values the session asks for (buffer fill, exceptions, antennas)
EVENTS_ON = (3, 4, 8)
#: how far ahead of the gateway a sane reader clock may be (network, rounding)
CLOCK_SLACK_US = 2_000_000


class State(enum.Enum):
    CONNECTING = "connecting"
    HANDSHAKE = "handshake"
    STREAMING = "streaming"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class SessionConfig:
    """What one reader connection asks of the reader (the driver's options)."""

    reader: str
    antennas: tuple[int, ...] = ()  # () = every antenna
    keepalive_s: float = 5.0
    missed_keepalives: int = 3
    report_every_s: float = 1.0
    #: end an inventory (and report) early once this many distinct tags were seen; 0: never
    n_tags: int = 100
    session: int = 1
    tag_population: int = 32
    response_timeout_s: float = 10.0
    max_clock_offset_s: float = 86_400.0
    tick_s: float = 1.0


@dataclass(slots=True)
class SessionOutput:
    send: list[Message] = field(default_factory=list)
    observations: list[ReaderObservation] = field(default_factory=list)
    #: answers to requests the driver sent itself (``ClientSession.request``)
    replies: list[Message] = field(default_factory=list)
    #: set once: why this connection must end
    close: str | None = None


def _content_selector() -> TagReportContentSelector:
    return TagReportContentSelector(
        enable_antenna_id=True,
        enable_peak_rssi=True,
        enable_first_seen_timestamp=True,
        enable_last_seen_timestamp=True,
        enable_tag_seen_count=True,
    )


def report_spec() -> ROReportSpec:
    """A report at the end of every AISpec (so every ``report_every_s``), all tags in it."""
    return ROReportSpec(
        trigger=ROReportTrigger.UPON_N_TAGS_OR_END_OF_AISPEC, n=0, content_selector=_content_selector()
    )


def rospec_variants(config: SessionConfig) -> list[tuple[str, ROSpec]]:
    """The ROSpecs to offer, best first; the next is tried when a reader refuses one.

    Each runs forever (Immediate start, Null stop: the reader starts it again when its
    AISpec ends) and its AISpec ends on a timeout, so reports come at least every
    ``report_every_s`` whatever the tags do:

    1. ``n-tags-or-timeout``: the AISpec also ends once ``n_tags`` distinct tags were
       seen (a door burst is reported at once) — a tag observation trigger, which some
       readers (ThingMagic) refuse;
    2. ``duration``: the AISpec lasts ``report_every_s``, every reader takes it.
    """
    period_ms = max(1, round(config.report_every_s * 1000))
    antennas = config.antennas or (0,)
    inventory = InventoryParameterSpec(
        spec_id=1,
        protocol_id=1,
        antenna_configurations=(
            AntennaConfiguration(
                antenna_id=0,
                inventory_commands=(
                    C1G2InventoryCommand(
                        tag_inventory_state_aware=False,
                        singulation_control=C1G2SingulationControl(
                            session=config.session,
                            tag_population=config.tag_population,
                            tag_transit_time=0,
                        ),
                    ),
                ),
            ),
        ),
    )

    def spec(stop: AISpecStopTrigger) -> ROSpec:
        return ROSpec(
            ro_spec_id=RO_SPEC_ID,
            boundary=ROBoundarySpec(
                start_trigger=ROSpecStartTrigger(trigger_type=ROSpecStartTriggerType.IMMEDIATE),
                stop_trigger=ROSpecStopTrigger(trigger_type=ROSpecStopTriggerType.NULL),
            ),
            specs=(AISpec(antenna_ids=antennas, stop_trigger=stop, inventory_parameter_specs=(inventory,)),),
            report_spec=report_spec(),
        )

    out: list[tuple[str, ROSpec]] = []
    if config.n_tags > 0:
        out.append(
            (
                "n-tags-or-timeout",
                spec(
                    AISpecStopTrigger(
                        trigger_type=AISpecStopTriggerType.TAG_OBSERVATION,
                        tag_observation=TagObservationTrigger(
                            trigger_type=0, number_of_tags=config.n_tags, timeout=period_ms
                        ),
                    )
                ),
            )
        )
    out.append(
        (
            "duration",
            spec(AISpecStopTrigger(trigger_type=AISpecStopTriggerType.DURATION, duration_trigger=period_ms)),
        )
    )
    return out


@dataclass(slots=True)
class _Pending:
    message_id: int
    response: type[Message]
    sent_at: float
    on_answer: Callable[[Message | None, SessionOutput], None]
    what: str


class ClientSession:
    """One connection's LLRP client (see the module doc)."""

    def __init__(self, config: SessionConfig, *, first_message_id: int = 1) -> None:
        self.config = config
        self.state = State.CONNECTING
        self.decoder = MessageDecoder()
        self.counters: Counter[str] = Counter()
        self.capabilities: GetReaderCapabilitiesResponse | None = None
        #: the ROSpec variant the reader took
        self.rospec_variant: str | None = None
        self.clock_offset_us = 0
        self._next_id = first_message_id
        self._pending: _Pending | None = None
        self._variants = rospec_variants(config)
        self._variant = 0
        self._started_mono: float | None = None
        self._last_rx = 0.0
        self._next_tick = 0.0
        self._closed: str | None = None
        self._own: set[int] = set()  # ids of the driver's own requests awaiting an answer

    # -- the driver's side -------------------------------------------------------------

    def start(self, mono: float) -> None:
        """The TCP connection is open (the reader speaks first)."""
        self._started_mono = mono
        self._last_rx = mono

    def take_id(self) -> int:
        mid = self._next_id
        self._next_id = self._next_id % 0xFFFFFFFF + 1
        return mid

    def encode(self, messages: list[Message]) -> bytes:
        return b"".join(encode_message(m) for m in messages)

    def feed(self, data: bytes, wall_ns: int, mono: float) -> SessionOutput:
        out = SessionOutput()
        if self.state is State.CLOSED:
            return out
        self.counters["bytes"] += len(data)
        if data:
            self._last_rx = mono
        for item in self.decoder.feed(data):
            if isinstance(item, LLRPError):
                self._on_error(item, out)
                if out.close:
                    break
                continue
            self.counters["messages"] += 1
            self._on_message(item, wall_ns, mono, out)
            if out.close:
                break
        return self._finish(out)

    def eof(self) -> SessionOutput:
        """The reader closed the connection."""
        out = SessionOutput()
        for error in self.decoder.eof():
            self.counters[f"errors_{error.reason.value}"] += 1
        if self.state is not State.CLOSED:
            out.close = "connection-closed"
        return self._finish(out)

    def advance(self, wall_ns: int, mono: float) -> SessionOutput:
        out = SessionOutput()
        if self.state is State.CLOSED:
            return out
        if self.state is State.CONNECTING:
            if self._started_mono is not None and mono - self._started_mono > self.config.response_timeout_s:
                out.close = "no-connection-event"
        elif self.state is State.HANDSHAKE:
            p = self._pending
            if p is not None and mono - p.sent_at > self.config.response_timeout_s:
                out.close = "handshake-timeout"
                self.counters[f"timeouts_{p.what}"] += 1
        elif self.state is State.STREAMING:
            if mono - self._last_rx > self.config.keepalive_s * self.config.missed_keepalives:
                out.close = "watchdog"
            elif mono >= self._next_tick:
                self._next_tick = mono + self.config.tick_s
                out.observations.append(Tick(self.config.reader, wall_ns))
        return self._finish(out)

    def request(self, message: Message) -> Message:
        """A request of the driver's own (a command), given its message id; its answer
        comes back in ``SessionOutput.replies``. Only while streaming."""
        if self.state is not State.STREAMING:
            raise RuntimeError(f"the session is {self.state.value}, not streaming")
        mid = self.take_id()
        self._own.add(mid)
        return dataclasses.replace(message, message_id=mid)

    # -- inside -----------------------------------------------------------------------

    def _finish(self, out: SessionOutput) -> SessionOutput:
        if out.close and self._closed is None:
            self._closed = out.close
            self.state = State.CLOSED
            self.counters[f"closes_{out.close}"] += 1
        return out

    def _send_request(
        self,
        out: SessionOutput,
        message: Message,
        response: type[Message],
        what: str,
        on_answer: Callable[[Message | None, SessionOutput], None],
        mono: float,
    ) -> None:
        mid = self.take_id()
        self._pending = _Pending(mid, response, mono, on_answer, what)
        out.send.append(dataclasses.replace(message, message_id=mid))

    def _on_error(self, error: LLRPError, out: SessionOutput) -> None:
        if error.fatal:
            self.counters[f"errors_{error.reason.value}"] += 1
            out.close = "framing-error"
            return
        if not error.raw:  # a parameter kept raw: the message is still delivered
            self.counters[f"warnings_{error.reason.value}"] += 1
            return
        self.counters[f"errors_{error.reason.value}"] += 1
        p = self._pending
        if p is not None and error.message_id == p.message_id:
            # the answer we waited for cannot be read: as if refused
            self.counters[f"undecodable_{p.what}"] += 1
            self._pending = None
            p.on_answer(None, out)

    def _on_message(self, m: Message, wall_ns: int, mono: float, out: SessionOutput) -> None:
        if isinstance(m, ROAccessReport):
            self._on_report(m, wall_ns, out)
            return
        if isinstance(m, Keepalive):
            self.counters["keepalives"] += 1
            out.send.append(KeepaliveAck(message_id=m.message_id))
            return
        if isinstance(m, ReaderEventNotification):
            self._on_event(m, mono, out)
            return
        if isinstance(m, ErrorMessage):
            self.counters["reader_error_messages"] += 1
            p = self._pending
            if p is not None and m.message_id == p.message_id:
                self._pending = None
                p.on_answer(None, out)
            elif m.message_id in self._own:
                self._own.discard(m.message_id)
                out.replies.append(m)
            return
        p = self._pending
        if p is not None and m.message_id == p.message_id and isinstance(m, p.response):
            self._pending = None
            status = getattr(m, "status", None)
            p.on_answer(m if status is None or status.ok else None, out)
            if status is not None and not status.ok:
                self.counters[f"refused_{p.what}"] += 1
            return
        if m.message_id in self._own:
            self._own.discard(m.message_id)
            out.replies.append(m)
            return
        self.counters["unexpected_messages"] += 1

    def _on_event(self, m: ReaderEventNotification, mono: float, out: SessionOutput) -> None:
        data = m.data
        self.counters["reader_events"] += 1
        if data.connection_attempt is not None and self.state is State.CONNECTING:
            if data.connection_attempt.status != ConnectionAttemptStatus.SUCCESS:
                out.close = "connection-refused"
                return
            self.state = State.HANDSHAKE
            self._send_request(
                out, GetReaderCapabilities(message_id=0), GetReaderCapabilitiesResponse,
                "capabilities", self._after_capabilities, mono,
            )  # fmt: skip
            return
        if data.connection_close is not None:
            out.close = "reader-closed"
            return
        if data.reader_exception is not None:
            self.counters["reader_exceptions"] += 1
        if data.report_buffer_overflow is not None:
            self.counters["reader_buffer_overflows"] += 1
        if data.antenna is not None and data.antenna.event_type == 0:
            self.counters["antenna_disconnected"] += 1

    # the handshake, one answer at a time (each step sends the next request)

    def _after_capabilities(self, m: Message | None, out: SessionOutput) -> None:
        if isinstance(m, GetReaderCapabilitiesResponse):
            self.capabilities = m
        else:
            self.counters["capabilities_unknown"] += 1
        self._send_request(out, DeleteROSpec(message_id=0, ro_spec_id=0), DeleteROSpecResponse,
                           "delete_rospec", self._after_delete_rospec, self._last_rx)  # fmt: skip

    def _after_delete_rospec(self, m: Message | None, out: SessionOutput) -> None:
        self._send_request(out, DeleteAccessSpec(message_id=0, access_spec_id=0), DeleteAccessSpecResponse,
                           "delete_accessspec", self._after_delete_accessspec, self._last_rx)  # fmt: skip

    def _after_delete_accessspec(self, m: Message | None, out: SessionOutput) -> None:
        cfg = self.config
        config = SetReaderConfig(
            message_id=0,
            reader_event_notification_spec=ReaderEventNotificationSpec(
                states=tuple(EventNotificationState(event_type=t, notification_state=True) for t in EVENTS_ON)
            ),
            ro_report_spec=report_spec(),
            keepalive_spec=KeepaliveSpec(
                trigger_type=1, periodic_trigger_value=round(cfg.keepalive_s * 1000)
            ),
            events_and_reports=EventsAndReports(hold_events_and_reports_upon_reconnect=False),
        )
        self._send_request(
            out, config, SetReaderConfigResponse, "set_config", self._after_config, self._last_rx
        )

    def _after_config(self, m: Message | None, out: SessionOutput) -> None:
        if m is None:
            out.close = "config-refused"
            return
        self._add_rospec(out)

    def _add_rospec(self, out: SessionOutput) -> None:
        _name, spec = self._variants[self._variant]
        self._send_request(out, AddROSpec(message_id=0, ro_spec=spec), AddROSpecResponse, "add_rospec",
                           self._after_add_rospec, self._last_rx)  # fmt: skip

    def _after_add_rospec(self, m: Message | None, out: SessionOutput) -> None:
        if m is None:
            self._variant += 1
            if self._variant >= len(self._variants):
                out.close = "rospec-refused"
                return
            self.counters["rospec_fallbacks"] += 1
            self._add_rospec(out)
            return
        self.rospec_variant = self._variants[self._variant][0]
        self._send_request(out, EnableROSpec(message_id=0, ro_spec_id=RO_SPEC_ID), EnableROSpecResponse,
                           "enable_rospec", self._after_enable, self._last_rx)  # fmt: skip

    def _after_enable(self, m: Message | None, out: SessionOutput) -> None:
        if m is None:
            out.close = "rospec-not-enabled"
            return
        self.state = State.STREAMING
        self.counters["configured"] += 1
        self._next_tick = self._last_rx

    # reports

    def _on_report(self, m: ROAccessReport, wall_ns: int, out: SessionOutput) -> None:
        self.counters["reports"] += 1
        tags = m.tags
        if not tags:
            return
        now_us = wall_ns // 1000
        newest = 0
        for t in tags:
            ts = t.last_seen_utc or t.first_seen_utc
            if ts is not None and ts > newest:
                newest = ts
        shift_us = 0
        if newest:
            offset = newest - now_us
            self.clock_offset_us = offset
            low = -round(self.config.report_every_s * 1e6) - CLOCK_SLACK_US
            if not low <= offset <= CLOCK_SLACK_US:
                shift_us = offset
                self.counters["clock_corrections"] += 1
                if abs(offset) > self.config.max_clock_offset_s * 1e6:
                    self.counters["clock_offset_flagged"] += 1
        reader = self.config.reader
        append = out.observations.append
        for t in tags:
            append(_tag_seen(reader, t, shift_us, now_us))
        self.counters["tags"] += len(tags)


def _tag_seen(reader: str, t: TagReportData, shift_us: int, now_us: int) -> TagSeen:
    first = t.first_seen_utc
    last = t.last_seen_utc
    if first is None and last is None:
        first_ns = last_ns = now_us * 1000
    else:
        f = (first if first is not None else last) - shift_us  # type: ignore[operator]
        la = (last if last is not None else first) - shift_us  # type: ignore[operator]
        first_ns, last_ns = f * 1000, max(f, la) * 1000
    return TagSeen(
        reader=reader,
        antenna=t.antenna_id or 0,
        epc=t.epc_bytes,
        first_seen=first_ns,
        last_seen=last_ns,
        count=t.tag_seen_count or 1,
        rssi_dbm=None if t.peak_rssi is None else float(t.peak_rssi),
    )
