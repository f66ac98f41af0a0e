"""The LLRP reader driver: UHF RFID readers (Impinj, Zebra, ThingMagic…) over LLRP 1.0.1.

Options (one ``[[devices]]`` table of gateway.toml, ``kind = "llrp"``)::

    host                 str            the reader's address (required)
    port                 int 1..65535   default 5084 (LLRP)
    device_id            str            the reader's id in readings and observations
                                        (default: the device's name)
    antennas             [int]          antenna ids to inventory, each 1..65535 (default []: all)
    zones                {str = str}    antenna id → zone name, given to the interpreter
    interpreter          str            what turns tag sightings into events (default "presence",
                                        see ``LLRP_INTERPRETERS``)
    interpreter_options  table          passed to the interpreter's factory as they are
    keepalive_s          float > 0      reader KEEPALIVE interval (default 5, ≤ 300)
    missed_keepalives    int ≥ 2        silence for this many intervals: the reader is dead (3)
    report_every_s       float > 0      longest time between two reports (default 1, ≤ 60)
    n_tags               int ≥ 0        also report as soon as this many distinct tags were seen
                                        (default 100; 0: only on time)
    session              int 0..3       Gen2 session (default 1, see docs/rfid.md)
    tag_population       int > 0        expected tags in the field, a singulation hint (32)
    max_clock_offset_s   float > 0      a reader clock further off is flagged (default 86400)
    response_timeout_s   float > 0      per handshake request and command (default 10, ≤ 120)
    reconnect_max_s      float > 0      backoff cap (default 30, ≤ 300)
    health_s             float > 0      how often reader health readings are emitted (10)

The protocol lives in ``_llrp_session`` (sans-I/O); this module moves its bytes over
asyncio TCP, supervises the connection and reports health.

Supervision: a connection that cannot be opened, or ends for any reason (the reader
closed it, a framing error, the keepalive watchdog, a refused configuration), is opened
again after a jittered exponential backoff (``contracts.backoff``, 0.2 s up to
``reconnect_max_s``); the backoff starts over once a connection has streamed reports
for 10 s. The initial connect is retried like any other.

Readings (device ``<device_id>``, ts = gateway time): ``connected`` (0/1) whenever it
changes and every ``health_s``, with ``reads_per_s`` (tag reads, seen counts summed,
over the last interval) and ``last_report_age_s`` (seconds since the last report; -1
before the first). ``stats()``: ``connects``, ``reconnects``, ``connect_failures``,
``reports``, ``tags``, ``reads``, ``keepalives``, ``errors_<reason>`` (decoder),
``warnings_<reason>``, ``closes_<reason>``, ``rospec_fallbacks``,
``clock_corrections``, ``clock_offset_flagged``, ``clock_offset_us`` (a level: the last
measured offset), ``readings``, ``events``, ``interpreter_<counter>``.

Commands: ``ping-reader`` (a GET_READER_CONFIG round trip: the reader answers with its
identification; the round-trip time is in the outcome's detail) and ``set-power``
(``dbm``: every antenna's transmit power, to the nearest level of the reader's power
table; ``antenna`` optional, 0 = all).
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from bohsense.contracts.backoff import Backoff
from bohsense.contracts.schema import ArgValue, Reading
from bohsense.edge.drivers._lane_baselines import StateFile
from bohsense.edge.drivers._llrp_session import ClientSession, SessionConfig, SessionOutput, State
from bohsense.edge.drivers.base import CommandOutcome, CommandReason, CommandSpec, DriverError, Sink
from bohsense.edge.interpreters import Interpreter, InterpreterStateError, StatefulInterpreter, TagSeen
from bohsense.llrp import (
    AntennaConfiguration,
    ConfigRequest,
    ErrorMessage,
    GetReaderConfig,
    GetReaderConfigResponse,
    Message,
    RFTransmitter,
    SetReaderConfig,
    SetReaderConfigResponse,
)

__all__ = ["LLRP_COMMANDS", "LLRP_INTERPRETERS", "InterpreterFactory", "LLRPReaderDriver"]

log = logging.getLogger(__name__)

#: ``(device_id, zones by antenna, interpreter_options) -> Interpreter``
InterpreterFactory = Callable[[str, Mapping[int, str], Mapping[str, Any]], Interpreter]


def _presence(device_id: str, zones: Mapping[int, str], options: Mapping[str, Any]) -> Interpreter:
    """The presence interpreter, imported only when a reader uses it; it is built with
    ``PresenceInterpreter.for_reader(device_id, zones, options)``."""
    try:
        module = importlib.import_module("bohsense.edge.interpreters._presence")
        cls = module.PresenceInterpreter
    except (ImportError, AttributeError) as exc:
        raise DriverError(f"interpreter 'presence' is not available: {exc}") from exc
    try:
        interpreter = cls.for_reader(device_id, zones, options)
    except (TypeError, ValueError) as exc:
        raise DriverError(f"interpreter 'presence': {exc}") from exc
    if not isinstance(interpreter, Interpreter):
        raise DriverError(f"interpreter 'presence' built {type(interpreter).__name__}, not an Interpreter")
    return interpreter


#: interpreter name → factory; a factory is called once per driver, at build time
LLRP_INTERPRETERS: dict[str, InterpreterFactory] = {"presence": _presence}

LLRP_COMMANDS: Mapping[str, CommandSpec] = {
    spec.name: spec
    for spec in (
        CommandSpec("ping-reader", "a GET_READER_CONFIG round trip: is the reader answering, how fast"),
        CommandSpec(
            "set-power",
            "set the transmit power (nearest level of the reader's table)",
            {"dbm": "number", "antenna": "integer, 0 = every antenna (default 0)"},
        ),
    )
}

_FLOATS: dict[str, tuple[float, float]] = {  # option -> (default, upper bound)
    "keepalive_s": (5.0, 300.0),
    "report_every_s": (1.0, 60.0),
    "max_clock_offset_s": (86_400.0, 10 * 365 * 86_400.0),
    "response_timeout_s": (10.0, 120.0),
    "reconnect_max_s": (30.0, 300.0),
    "health_s": (10.0, 3600.0),
}
_INTS: dict[str, tuple[int, int, int]] = {  # option -> (default, min, max)
    "port": (5084, 1, 65535),
    "missed_keepalives": (3, 2, 100),
    "n_tags": (100, 0, 65535),
    "session": (1, 0, 3),
    "tag_population": (32, 1, 65535),
}
_KNOWN = {"host", "device_id", "antennas", "zones", "interpreter", "interpreter_options", *_FLOATS, *_INTS}
_GAUGES = frozenset({"clock_offset_us"})
#: a connection streaming this long is healthy: the reconnect backoff starts over
_HEALTHY_S = 10.0
_READ_WAKE_S = 0.2
_LOG_EVERY_S = 10.0


class _BadArgument(ValueError):
    pass


class LLRPReaderDriver:
    kind = "llrp"

    def __init__(
        self,
        name: str,
        *,
        host: str,
        interpreter: Interpreter,
        port: int = 5084,
        session: SessionConfig | None = None,
        reconnect_max_s: float = 30.0,
        health_s: float = 10.0,
        state_dir: Path | None = None,
    ) -> None:
        self.name = name
        self.host = host
        self.port = port
        self.config = session or SessionConfig(reader=name)
        self.device_id = self.config.reader
        #: what turns ``TagSeen`` / ``Tick`` into readings and events
        self.interpreter = interpreter
        self.health_s = health_s
        self._backoff = Backoff(0.2, reconnect_max_s)
        self._counters: Counter[str] = Counter()
        self._session: ClientSession | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._waiting: dict[int, asyncio.Future[Message]] = {}
        self._last_log: dict[str, float] = {}
        self._last_report_mono: float | None = None
        self._reads_since_health = 0
        self._last_health_mono = time.monotonic()
        self._connected_level: int | None = None
        self._power_table: dict[int, int] = {}  # index -> dBm x 100
        self._hop_table_id = 1
        self.connected = asyncio.Event()
        # a stateful interpreter (presence) keeps its state across gateway restarts, so a
        # restart reports no false departures: ``presence-<driver>.json`` beside the outbox
        self._state = StateFile(None if state_dir is None else state_dir / f"presence-{name}.json")
        if isinstance(interpreter, StatefulInterpreter):
            try:
                kept = self._state.load()
                if kept:  # {}: no state kept yet
                    interpreter.restore(kept)
            except (InterpreterStateError, DriverError) as exc:
                raise DriverError(f"device {name!r}: interpreter state: {exc}") from exc

    def _save_state(self) -> None:
        if not isinstance(self.interpreter, StatefulInterpreter) or self._state.path is None:
            return
        try:
            self._state.save(self.interpreter.snapshot())
        except OSError as exc:
            self._counters["state_save_failures"] += 1
            self._log_limited("state", logging.ERROR, "%s: interpreter state not saved: %s", self.name, exc)

    # -- configuration ------------------------------------------------------------------

    @classmethod
    def from_options(
        cls, name: str, options: Mapping[str, Any], *, state_dir: Path | None = None
    ) -> LLRPReaderDriver:
        def bad(msg: str) -> DriverError:
            return DriverError(f"device {name!r}: {msg}")

        unknown = set(options) - _KNOWN
        if unknown:
            raise bad(f"unknown llrp option(s) {sorted(unknown)} (known: {sorted(_KNOWN)})")
        host = options.get("host")
        if not isinstance(host, str) or not host:
            raise bad(f"'host' must be the reader's address, not {host!r}")
        device_id = options.get("device_id", name)
        if not isinstance(device_id, str) or not device_id:
            raise bad(f"'device_id' must be a non-empty string, not {device_id!r}")
        floats: dict[str, float] = {}
        for key, (default, upper) in _FLOATS.items():
            value = options.get(key, default)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= upper:
                raise bad(f"{key!r} must be a number in (0, {upper}], not {value!r}")
            floats[key] = float(value)
        ints: dict[str, int] = {}
        for key, (default_i, low, high) in _INTS.items():
            value = options.get(key, default_i)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise bad(f"{key!r} must be an integer in {low}..{high}, not {value!r}")
            ints[key] = value
        antennas = options.get("antennas", [])
        if not isinstance(antennas, list) or not all(
            isinstance(a, int) and not isinstance(a, bool) and 1 <= a <= 65535 for a in antennas
        ):
            raise bad(f"'antennas' must be a list of antenna ids 1..65535, not {antennas!r}")
        if len(set(antennas)) != len(antennas):
            raise bad(f"'antennas' names an antenna twice: {antennas!r}")
        raw_zones = options.get("zones", {})
        if not isinstance(raw_zones, Mapping):
            raise bad(f"'zones' must be a table of antenna id = zone name, not {raw_zones!r}")
        zones: dict[int, str] = {}
        for key, zone in raw_zones.items():
            try:
                antenna = int(key)
            except (TypeError, ValueError):
                raise bad(f"zones: {key!r} is not an antenna id") from None
            if not 1 <= antenna <= 65535 or (antennas and antenna not in antennas):
                raise bad(f"zones: antenna {key!r} is not one of the antennas inventoried")
            if not isinstance(zone, str) or not zone:
                raise bad(f"zones.{key} must be a zone name, not {zone!r}")
            zones[antenna] = zone
        interp_name = options.get("interpreter", "presence")
        factory = LLRP_INTERPRETERS.get(interp_name) if isinstance(interp_name, str) else None
        if factory is None:
            raise bad(f"unknown interpreter {interp_name!r} (known: {', '.join(sorted(LLRP_INTERPRETERS))})")
        interp_options = options.get("interpreter_options", {})
        if not isinstance(interp_options, Mapping):
            raise bad(f"'interpreter_options' must be a table, not {interp_options!r}")
        try:
            interpreter = factory(device_id, zones, interp_options)
        except DriverError as exc:
            raise bad(str(exc)) from exc
        except (TypeError, ValueError) as exc:
            raise bad(f"interpreter {interp_name!r}: {exc}") from exc
        session = SessionConfig(
            reader=device_id,
            antennas=tuple(antennas),
            keepalive_s=floats["keepalive_s"],
            missed_keepalives=ints["missed_keepalives"],
            report_every_s=floats["report_every_s"],
            n_tags=ints["n_tags"],
            session=ints["session"],
            tag_population=ints["tag_population"],
            response_timeout_s=floats["response_timeout_s"],
            max_clock_offset_s=floats["max_clock_offset_s"],
        )
        return cls(
            name,
            host=host,
            port=ints["port"],
            interpreter=interpreter,
            session=session,
            reconnect_max_s=floats["reconnect_max_s"],
            health_s=floats["health_s"],
            state_dir=state_dir,
        )

    # -- running ------------------------------------------------------------------------

    async def run(self, sink: Sink) -> None:
        """Connect, stream, reconnect; returns only when cancelled (the interpreter's state
        is saved then, and at every health interval)."""
        try:
            await self._run(sink)
        finally:
            self._save_state()

    async def _run(self, sink: Sink) -> None:
        self._health(sink, 0, force=True)
        first = True
        while True:
            if not first:
                self._counters["reconnects"] += 1
                await self._sleep_with_health(self._backoff.next(), sink)
            first = False
            try:
                async with asyncio.timeout(self.config.response_timeout_s):
                    reader, writer = await asyncio.open_connection(self.host, self.port)
            except (OSError, TimeoutError) as exc:
                self._counters["connect_failures"] += 1
                self._log_limited("connect", logging.WARNING, "%s: cannot connect to %s:%d: %s",
                                  self.name, self.host, self.port, exc)  # fmt: skip
                continue
            self._counters["connects"] += 1
            try:
                reason = await self._connection(reader, writer, sink)
                self._log_limited(f"close-{reason}", logging.WARNING, "%s: reader connection ended: %s",
                                  self.name, reason)  # fmt: skip
            except (OSError, ConnectionError) as exc:
                self._counters["closes_io-error"] += 1
                self._log_limited("io", logging.WARNING, "%s: reader connection lost: %s", self.name, exc)
            finally:
                self._writer = None
                self.connected.clear()
                self._fail_waiting("the reader connection ended")
                writer.transport.abort()
                self._health(sink, 0, force=True)

    async def _sleep_with_health(self, delay: float, sink: Sink) -> None:
        end = time.monotonic() + delay
        while (left := end - time.monotonic()) > 0:
            await asyncio.sleep(min(left, 1.0))
            self._health(sink, 0)

    async def _connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, sink: Sink
    ) -> str:
        session = ClientSession(self.config)
        self._session = session
        self._writer = writer
        session.start(time.monotonic())
        streaming_since: float | None = None
        try:
            while True:
                try:
                    async with asyncio.timeout(_READ_WAKE_S):
                        data = await reader.read(65536)
                except TimeoutError:
                    data = None
                mono = time.monotonic()
                wall = time.time_ns()
                if data is None:
                    out = session.advance(wall, mono)
                elif not data:
                    out = session.eof()
                else:
                    out = session.feed(data, wall, mono)
                    if out.close is None:
                        more = session.advance(wall, mono)
                        out.send += more.send
                        out.observations += more.observations
                        out.close = more.close
                self._apply(session, out, writer, sink, mono)
                if out.close is not None:
                    return out.close
                if session.state is State.STREAMING:
                    if not self.connected.is_set():
                        self.connected.set()
                        self._learn_capabilities(session)
                        self._health(sink, 1, force=True)
                        log.info("%s: reader configured (ROSpec %s)", self.name, session.rospec_variant)
                    if streaming_since is None:
                        streaming_since = mono
                    elif self._backoff.attempt and mono - streaming_since >= _HEALTHY_S:
                        self._backoff.reset()
                self._health(sink, 1 if self.connected.is_set() else 0)
        finally:
            self._merge(session)

    def _apply(
        self,
        session: ClientSession,
        out: SessionOutput,
        writer: asyncio.StreamWriter,
        sink: Sink,
        mono: float,
    ) -> None:
        if out.send and not writer.is_closing():
            writer.write(session.encode(out.send))
        for obs in out.observations:
            if isinstance(obs, TagSeen):
                self._last_report_mono = mono
                self._reads_since_health += obs.count
                self._counters["reads"] += obs.count
            made = self.interpreter.observe(obs)
            for reading in made.readings:
                sink.put(reading)
            for event in made.events:
                sink.put_event(event)
            self._counters["readings"] += len(made.readings)
            self._counters["events"] += len(made.events)
        for reply in out.replies:
            future = self._waiting.pop(reply.message_id, None)
            if future is not None and not future.done():
                future.set_result(reply)

    def _health(self, sink: Sink, connected: int, *, force: bool = False) -> None:
        mono = time.monotonic()
        changed = connected != self._connected_level
        if not (force or changed or mono - self._last_health_mono >= self.health_s):
            return
        elapsed = max(mono - self._last_health_mono, 1e-3)
        ts = time.time_ns()
        age = -1.0 if self._last_report_mono is None else round(mono - self._last_report_mono, 3)
        rate = self._reads_since_health / elapsed
        self._last_health_mono = mono
        self._reads_since_health = 0
        self._connected_level = connected
        self._save_state()
        for metric, value in (
            ("connected", float(connected)),
            ("reads_per_s", rate),
            ("last_report_age_s", age),
        ):
            sink.put(Reading(self.device_id, metric, ts, value))
            self._counters["health_readings"] += 1

    def _learn_capabilities(self, session: ClientSession) -> None:
        caps = session.capabilities
        reg = caps.regulatory_capabilities if caps is not None else None
        band = reg.uhf_band_capabilities if reg is not None else None
        if band is not None:
            self._power_table = {e.index: e.transmit_power for e in band.transmit_power_levels}
            hops = band.frequency_information.hop_tables
            if hops:
                self._hop_table_id = hops[0].hop_table_id

    # -- commands -----------------------------------------------------------------------

    def commands(self) -> Mapping[str, CommandSpec]:
        return LLRP_COMMANDS

    async def command(self, name: str, args: Mapping[str, ArgValue]) -> CommandOutcome:
        spec = LLRP_COMMANDS.get(name)
        if spec is None:
            known = ", ".join(sorted(LLRP_COMMANDS))
            return CommandOutcome.refused(
                CommandReason.UNKNOWN_COMMAND, f"device {self.name!r} takes {known}, not {name!r}"
            )
        unknown = sorted(set(args) - set(spec.args))
        if unknown:
            return CommandOutcome.refused(
                CommandReason.BAD_ARGUMENT,
                f"{name} takes {sorted(spec.args) or 'no arguments'}, not {unknown}",
            )
        try:
            if name == "ping-reader":
                started = time.monotonic()
                answer = await self.request(
                    GetReaderConfig(message_id=0, requested_data=ConfigRequest.IDENTIFICATION)
                )
                rtt_ms = (time.monotonic() - started) * 1000
                if isinstance(answer, GetReaderConfigResponse) and answer.status.ok:
                    ident = answer.identification
                    who = ident.reader_id.hex() if ident is not None else "?"
                    return CommandOutcome.done(f"reader {who} answered in {rtt_ms:.1f} ms")
                return _refused_by_reader(answer)
            return await self._set_power(args)
        except _BadArgument as exc:
            return CommandOutcome.refused(CommandReason.BAD_ARGUMENT, str(exc))
        except DriverError as exc:
            return CommandOutcome.refused(CommandReason.DEVICE_UNAVAILABLE, str(exc))

    async def _set_power(self, args: Mapping[str, ArgValue]) -> CommandOutcome:
        dbm = args.get("dbm")
        if isinstance(dbm, bool) or not isinstance(dbm, int | float):
            raise _BadArgument(f"argument 'dbm' must be a number, not {dbm!r}")
        antenna = args.get("antenna", 0)
        if isinstance(antenna, bool) or not isinstance(antenna, int) or not 0 <= antenna <= 65535:
            raise _BadArgument(f"argument 'antenna' must be an antenna id (0 = all), not {antenna!r}")
        if not self.connected.is_set():
            raise DriverError(f"device {self.name!r}: reader not connected")
        if not self._power_table:
            return CommandOutcome.refused(
                CommandReason.NOT_SUPPORTED, f"device {self.name!r}: the reader sent no transmit power table"
            )
        low, high = min(self._power_table.values()) / 100, max(self._power_table.values()) / 100
        if not low <= dbm <= high:
            raise _BadArgument(f"{dbm} dBm is outside the reader's range {low}..{high} dBm")
        index = min(self._power_table, key=lambda i: abs(self._power_table[i] - dbm * 100))
        message = SetReaderConfig(
            message_id=0,
            antenna_configurations=(
                AntennaConfiguration(
                    antenna_id=antenna,
                    rf_transmitter=RFTransmitter(
                        hop_table_id=self._hop_table_id, channel_index=1, transmit_power=index
                    ),
                ),
            ),
        )
        answer = await self.request(message)
        if isinstance(answer, SetReaderConfigResponse) and answer.status.ok:
            return CommandOutcome.done(f"transmit power {self._power_table[index] / 100} dBm (level {index})")
        return _refused_by_reader(answer)

    async def request(self, message: Message) -> Message:
        """Send one request of the driver's own and wait for its answer (or an
        ERROR_MESSAGE); ``DriverError`` when not connected or no answer in time."""
        session, writer = self._session, self._writer
        if session is None or writer is None or not self.connected.is_set():
            raise DriverError(f"device {self.name!r}: reader not connected")
        stamped = session.request(message)
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._waiting[stamped.message_id] = future
        try:
            writer.write(session.encode([stamped]))
            async with asyncio.timeout(self.config.response_timeout_s):
                return await future
        except TimeoutError:
            raise DriverError(
                f"device {self.name!r}: no answer to {type(message).__name__} in {self.config.response_timeout_s} s"
            ) from None
        finally:
            self._waiting.pop(stamped.message_id, None)

    def _fail_waiting(self, why: str) -> None:
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(DriverError(f"device {self.name!r}: {why}"))
        self._waiting.clear()

    # -- status -------------------------------------------------------------------------

    def _merge(self, session: ClientSession) -> None:
        self._fold(self._counters, session)
        if self._session is session:
            self._session = None

    @staticmethod
    def _fold(into: Counter[str], session: ClientSession) -> None:
        for key, value in session.counters.items():
            into[key] += value
        if "reports" in session.counters and session.counters.get("tags"):
            into["clock_offset_us"] = session.clock_offset_us

    def stats(self) -> Mapping[str, int]:
        out = Counter(self._counters)
        if self._backoff.attempt:
            out["backoff_attempt"] = self._backoff.attempt
        session = self._session
        if session is not None:
            self._fold(out, session)
        for key, value in self.interpreter.counters().items():
            out[f"interpreter_{key}"] = value
        return dict(out)

    def _log_limited(self, key: str, level: int, msg: str, *args: object) -> None:
        now = time.monotonic()
        if now - self._last_log.get(key, -_LOG_EVERY_S) >= _LOG_EVERY_S:
            self._last_log[key] = now
            log.log(level, msg, *args)


def _refused_by_reader(answer: Message) -> CommandOutcome:
    status = getattr(answer, "status", None)
    if isinstance(answer, ErrorMessage) or status is not None:
        text = status.error_description if status is not None else ""
        code = status.status_code if status is not None else "?"
        return CommandOutcome.refused(CommandReason.DEVICE_REFUSED, f"reader status {code}: {text}")
    return CommandOutcome.refused(CommandReason.DEVICE_REFUSED, f"unexpected answer {type(answer).__name__}")
