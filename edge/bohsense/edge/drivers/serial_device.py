"""The serial device driver: bohsense shelves and condition sensors over pyserial.

Options (one ``[[devices]]`` table of gateway.toml, ``kind = "serial"``)::

    port                   str           device path, udev symlink, or pyserial URL (required)
    baudrate               int   > 0     default 115200
    device_id              str           override the id the device announces in HELLO
    lanes                  [table]       shelves: per lane, in order, {unit_weight_g = float > 0,
                                         tare_g = float (the empty lane's reading, default 0),
                                         unit_spread = float 0..0.2 (the SKU's unit-weight
                                         spread, ± fraction, default 0.03)};
                                         lanes without an entry report weight only
    stability_window_s     float > 0     units need this long a stable weight (default 0.5)
    stability_tolerance_g  float > 0     max − min allowed in the window (default 15)
    max_residual           float         0 < r ≤ 0.5, how far from a whole unit is plausible (0.3)
    units_heartbeat_s      float > 0     re-emit unchanged units this often (default 30)
    zero_tolerance_g       float > 0     how far the zero may have drifted, in grams (default 15)
    stuck_s                float > 0     the very same value this long: the cell is stuck (default 4)
    settling_report_s      float > 0     report ``settling`` once a lane has moved this long (3)
    max_clock_skew_ms      float > 0     step the device clock when it is off by more (default 50)
    resync_s               float > 0     measure the clock offset this often (default 60)
    silence_timeout_s      float > 0     no frame for this long: reconnect (default 10)
    reconnect_max_s        float > 0     backoff cap (default 5)
    command_timeout_s      float > 0     wait this long for a command's ACK/NACK (default 5, ≤ 60)
    condition              table         condition sensors: machine class, rpm, bearing, alarm
                                         limits… (``ConditionConfig.from_options``, keys in
                                         docs/condition.md)
    command_retries        int 0..5      send a command again this often after no answer or a
                                         ``busy`` NACK (default 2); timeout × (retries + 1)
                                         and the backoff must fit in 60 s

The session (``_serial_session``) turns frames into neutral observations; interpreters
(``bohsense.edge.interpreters``) turn those into what the sink gets. Readings
(``Reading(device, metric, ts, value)``, ``ts`` = device event time, UTC ns) and events:

- shelf (``LaneInterpreter``): device ``<device_id>.lane-<n>`` (n from 1), metric
  ``weight_g`` for every sample (lane reading minus ``tare_g``), and metric ``units``
  when the lane is stable and the count changed or ``units_heartbeat_s`` passed; a
  ``shelf.pick`` / ``shelf.putback`` / ``shelf.restock`` event (device ``<device_id>``,
  ``LaneChange``) when the settled count changes, and a ``shelf.lane_state`` event
  (``LaneState``: stable, settling, unfit, fault) when a lane's condition changes (see
  docs/shelf.md);
- condition sensor (``ConditionInterpreter``): device ``<device_id>``, one metric per
  channel (``temp_c``, ``vib_rms_mm_s``) as before, a faulty temperature withheld; the
  features of every waveform block (``vib_<axis>_…``) and of the temperatures
  (``temp_c_mean``…), sensor faults, and local alarms as ``device.alarm`` events;
  ``condition.snapshot`` events with raw blocks on the ``snapshot`` command and around
  an alarm (docs/condition.md). Its
  WAVEFORM fragments are reassembled by the session into ``WaveformBlock`` observations
  (``waveform_<name>`` counters: blocks, blocks lost, fragments by loss reason); a
  sensor that sends TEMPERATURE and STATUS gets the channels its HELLO names for them
  (``temp_c``, ``supply_v``…).

Commands (``commands()`` lists them, ``command(name, args)`` carries one out and answers
with a ``CommandOutcome``): ``tare`` (``lane``, ``force``), ``calibrate`` (``lane``,
``grams``), ``set-rate`` (``hz``), ``identify``, ``snapshot`` (``blocks``, ``axis``: the
last kept waveform blocks of the condition sensor as ``condition.snapshot`` events). An argument of the wrong type, or one the
command does not take, is ``bad-argument``; a device that is not connected or does not
answer within ``command_timeout_s`` is ``device-unavailable``; its NACK is
``device-refused`` with the device's reason. A command that got no answer, or a ``busy``
NACK, is sent again up to ``command_retries`` times (backing off 0.4, 0.8… s); every
retry is counted (``command_retries``) and logged, and the final outcome says how many
attempts it took; a command that still fails is counted (``command_failures``), logged
and answered as failed, never dropped. A forced tare is not sent again after a lost
answer (the device may have zeroed already; a second one would re-baseline on the new
zero): it is answered ``device-unavailable`` at once. A lost connection makes every lane
of the device ``fault`` (``detached``, a ``shelf.lane_state`` event) until it settles again.

Tare (``command("tare", …)``, what the cloud's ``tare`` command reaches): a plain tare is
for an empty lane and is refused before anything is sent when a lane that counts units
holds stock (``lane-not-empty``) or has no settled count yet (``lane-unsettled``);
after the device's ACK the present load is the lane's zero (offset 0). With ``force``
the gateway re-baselines instead: the device zeroes, and the gateway moves the lane's
offset by the net weight it held, so weight and units carry on unchanged. The moved
offsets are kept in ``lanes-<driver>.json`` in the state directory (the outbox's) and
applied again after a restart; a file that cannot be written is counted
(``state_save_failures``) and logged, and the offsets still apply until the restart.

A corrupt frame is counted under ``errors_<reason>`` and logged at most every 10 s; a
vanished or failing port is closed and reopened with jittered exponential backoff
(``reconnects``); the backoff starts over only after a connection has streamed (clock
measured, readings flowing) for 5 s, never merely because a frame arrived, so a device
that answers and then fails at once is retried ever more slowly. A message the gateway
cannot encode (a value out of range) is a local error, not a lost port: it is counted
(``encode_errors``) and logged, the connection stays up, and a command carrying it is
refused as ``bad-argument``. A TIME_SYNC answer giving an offset no clock can have is
refused (``clock_invalid``, see ``_serial_session``). After opening, the frame decoder
(``FrameDecoder(mid_stream=True)``) skips the bytes up to the first 0x00 (the gateway
attached in the middle of a frame) without counting them as errors; the decoder's own
counters (``frames``, ``bytes``, ``errors_<reason>``, ``attach_bytes_skipped``) are
what ``stats()`` reports for the wire.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bohsense.contracts.backoff import Backoff
from bohsense.contracts.schema import ArgValue
from bohsense.edge.drivers._lane_baselines import LaneBaselines
from bohsense.edge.drivers._serial_link import SerialLink
from bohsense.edge.drivers._serial_session import SerialSession, SessionConfig, SessionOutput, State
from bohsense.edge.drivers.base import (
    CommandOutcome,
    CommandReason,
    CommandRefused,
    CommandSpec,
    DriverError,
    Sink,
)
from bohsense.edge.interpreters import (
    ConditionConfig,
    ConditionInterpreter,
    DeviceDetached,
    DeviceObservation,
    InterpreterRouter,
    InterpreterStateError,
    LaneConfig,
    LaneInterpreter,
    PassThroughInterpreter,
    StabilityConfig,
)
from bohsense.firmware_bridge import (
    Ack,
    Command,
    EncodeError,
    Frame,
    FrameDecoder,
    Message,
    Nack,
    NackReason,
    encode_frame,
)

__all__ = ["SERIAL_COMMANDS", "SerialDeviceDriver"]

log = logging.getLogger(__name__)

_LOG_EVERY_S = 10.0
_TICK_S = 0.2
#: a connection streaming this long is healthy: the reconnect backoff starts over
_HEALTHY_S = 5.0

_FLOATS: dict[str, tuple[float, float | None]] = {  # option -> (default, upper bound)
    "stability_window_s": (0.5, 60.0),
    "stability_tolerance_g": (15.0, None),
    "max_residual": (0.3, 0.5),
    "units_heartbeat_s": (30.0, None),
    "zero_tolerance_g": (15.0, None),
    "stuck_s": (4.0, 3600.0),
    "settling_report_s": (3.0, 3600.0),
    "max_clock_skew_ms": (50.0, None),
    "resync_s": (60.0, None),
    "silence_timeout_s": (10.0, None),
    "reconnect_max_s": (5.0, 300.0),
    "read_timeout_s": (0.05, 1.0),
    "command_timeout_s": (5.0, 60.0),
}
#: the longest a command may take with its retries, within the command router's backstop
_COMMAND_BUDGET_S = 60.0
#: session counters that are levels, not counts
_GAUGES = frozenset({"clock_offset_us", "clock_delay_us", "device_tx_dropped"})
_KNOWN = {"port", "baudrate", "device_id", "lanes", "condition", "command_retries", *_FLOATS}
_LANE_KEYS = {"unit_weight_g", "tare_g", "unit_spread"}


#: the commands a serial device takes (``command(name, args)``; ``device`` is the router's)
SERIAL_COMMANDS: Mapping[str, CommandSpec] = {
    spec.name: spec
    for spec in (
        CommandSpec(
            "tare",
            "zero a lane; a lane holding stock only with force (then re-baselined)",
            {
                "lane": "integer, 1..lanes, 0 = every lane (default 0)",
                "force": "true or false (default false)",
            },
        ),
        CommandSpec(
            "calibrate", "scale a lane to a known mass", {"lane": "integer, from 1", "grams": "number"}
        ),
        CommandSpec("set-rate", "change the sample rate", {"hz": "number"}),
        CommandSpec("identify", "make the device seen (LED)"),
        CommandSpec(
            "snapshot",
            "send the last raw waveform blocks of a condition sensor (condition.snapshot events)",
            {
                "blocks": "integer, 1..64 per axis (default 8; at most what is kept)",
                "axis": "x, y or z (default every axis)",
            },
        ),
    )
}


class _BadArgument(ValueError):
    pass


def _number(args: Mapping[str, ArgValue], key: str) -> float:
    value = args.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _BadArgument(f"argument {key!r} must be a number, not {value!r}")
    return float(value)


def _integer(args: Mapping[str, ArgValue], key: str, default: int | None = None) -> int:
    value = args.get(key, default)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _BadArgument(f"argument {key!r} must be an integer, not {value!r}")
    return value


def _flag(args: Mapping[str, ArgValue], key: str) -> bool:
    value = args.get(key, False)
    if not isinstance(value, bool):
        raise _BadArgument(f"argument {key!r} must be true or false, not {value!r}")
    return value


def _axis(args: Mapping[str, ArgValue]) -> str | None:
    value = args.get("axis")
    if value is None:
        return None
    if not isinstance(value, str) or value not in ("x", "y", "z"):
        raise _BadArgument(f"argument 'axis' must be x, y or z, not {value!r}")
    return value


def _now_us() -> int:
    return time.time_ns() // 1000


class SerialDeviceDriver:
    def __init__(
        self,
        name: str,
        *,
        port: str,
        baudrate: int = 115200,
        session: SessionConfig | None = None,
        lanes: tuple[LaneConfig, ...] = (),
        stability: StabilityConfig | None = None,
        silence_timeout_s: float = 10.0,
        reconnect_max_s: float = 5.0,
        read_timeout_s: float = 0.05,
        command_timeout_s: float = 5.0,
        command_retries: int = 2,
        state_dir: Path | None = None,
        condition: ConditionConfig | None = None,
    ) -> None:
        self.name = name
        self.baselines = LaneBaselines(None if state_dir is None else state_dir / f"lanes-{name}.json")
        self.port = port
        self.baudrate = baudrate
        self.session_config = session or SessionConfig()
        #: the shelf lanes' interpreter (its snapshot: the offsets tares moved)
        self.lanes = LaneInterpreter(lanes, stability)
        #: the condition sensors' interpreter (features, sensor faults, local alarms, snapshots)
        self.condition = ConditionInterpreter(condition)
        self.interpreters = InterpreterRouter(
            {"shelf": self.lanes, "condition": self.condition}, default=PassThroughInterpreter()
        )
        self._sink: Sink | None = None
        self.silence_timeout_s = silence_timeout_s
        self.read_timeout_s = read_timeout_s
        #: how long a command waits for the device's ACK/NACK
        self.command_timeout_s = command_timeout_s
        #: how often a command is sent again after no answer or a ``busy`` NACK
        self.command_retries = command_retries
        self._backoff = Backoff(0.1, reconnect_max_s)
        self._counters: Counter[str] = Counter()
        self._session: SerialSession | None = None
        self._decoder: FrameDecoder | None = None  # of the live connection
        self._link: SerialLink | None = None
        self._tx_seq = 0
        self._waiting: dict[int, asyncio.Future[Ack | Nack]] = {}
        self._last_log: dict[str, float] = {}
        self.connected = asyncio.Event()

    # -- configuration ------------------------------------------------------------------

    @classmethod
    def from_options(
        cls, name: str, options: Mapping[str, Any], *, state_dir: Path | None = None
    ) -> SerialDeviceDriver:
        def bad(msg: str) -> DriverError:
            return DriverError(f"device {name!r}: {msg}")

        unknown = set(options) - _KNOWN
        if unknown:
            raise bad(f"unknown serial option(s) {sorted(unknown)} (known: {sorted(_KNOWN)})")
        port = options.get("port")
        if not isinstance(port, str) or not port:
            raise bad(f"'port' must be a device path or pyserial URL, not {port!r}")
        baudrate = options.get("baudrate", 115200)
        if not isinstance(baudrate, int) or isinstance(baudrate, bool) or baudrate <= 0:
            raise bad(f"'baudrate' must be a positive integer, not {baudrate!r}")
        device_id = options.get("device_id")
        if device_id is not None and (not isinstance(device_id, str) or not device_id):
            raise bad(f"'device_id' must be a non-empty string, not {device_id!r}")
        floats: dict[str, float] = {}
        for key, (default, upper) in _FLOATS.items():
            value = options.get(key, default)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise bad(f"{key!r} must be a positive number, not {value!r}")
            if upper is not None and value > upper:
                raise bad(f"{key!r} must be at most {upper}, not {value!r}")
            floats[key] = float(value)
        raw_lanes = options.get("lanes", [])
        if not isinstance(raw_lanes, list):
            raise bad(f"'lanes' must be an array of tables, not {raw_lanes!r}")
        lanes = []
        for i, lane in enumerate(raw_lanes, start=1):
            if not isinstance(lane, Mapping) or set(lane) - _LANE_KEYS:
                raise bad(f"lanes[{i}] must be a table of {sorted(_LANE_KEYS)}, not {lane!r}")
            unit = lane.get("unit_weight_g")
            tare = lane.get("tare_g", 0.0)
            spread = lane.get("unit_spread", 0.03)
            if isinstance(spread, bool) or not isinstance(spread, int | float) or not 0 <= spread <= 0.2:
                raise bad(f"lanes[{i}].unit_spread must be a fraction 0..0.2, not {spread!r}")
            if unit is not None and (
                isinstance(unit, bool) or not isinstance(unit, int | float) or unit <= 0
            ):
                raise bad(f"lanes[{i}].unit_weight_g must be a positive number, not {unit!r}")
            if isinstance(tare, bool) or not isinstance(tare, int | float):
                raise bad(f"lanes[{i}].tare_g must be a number, not {tare!r}")
            lanes.append(LaneConfig(None if unit is None else float(unit), float(tare), float(spread)))
        retries = options.get("command_retries", 2)
        if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 5:
            raise bad(f"'command_retries' must be an integer 0..5, not {retries!r}")
        worst_s = floats["command_timeout_s"] * (retries + 1) + 2.0 * retries
        if worst_s > _COMMAND_BUDGET_S:
            raise bad(
                f"command_timeout_s × (command_retries + 1) and the backoff take up to {worst_s:g} s, "
                f"more than the {_COMMAND_BUDGET_S:g} s a command may take (the router gives up after 65 s)"
            )
        condition = None
        if "condition" in options:
            try:
                condition = ConditionConfig.from_options(options["condition"])
            except ValueError as exc:
                raise bad(str(exc)) from None
        stability = StabilityConfig(
            window_s=floats["stability_window_s"],
            tolerance_g=floats["stability_tolerance_g"],
            max_residual=floats["max_residual"],
            heartbeat_s=floats["units_heartbeat_s"],
            zero_tolerance_g=floats["zero_tolerance_g"],
            stuck_s=floats["stuck_s"],
            settling_report_s=floats["settling_report_s"],
        )
        session = SessionConfig(
            device_id=device_id,
            max_skew_us=int(floats["max_clock_skew_ms"] * 1000),
            resync_s=floats["resync_s"],
        )
        return cls(
            name,
            port=port,
            baudrate=baudrate,
            session=session,
            lanes=tuple(lanes),
            stability=stability,
            silence_timeout_s=floats["silence_timeout_s"],
            reconnect_max_s=floats["reconnect_max_s"],
            read_timeout_s=floats["read_timeout_s"],
            command_timeout_s=floats["command_timeout_s"],
            command_retries=retries,
            state_dir=state_dir,
            condition=condition,
        )

    # -- running ------------------------------------------------------------------------

    async def run(self, sink: Sink) -> None:
        """Connect, read, reconnect; returns only when cancelled."""
        self._sink = sink
        try:
            self.lanes.restore(self.baselines.load())
        except InterpreterStateError as exc:
            raise DriverError(f"lane baselines {str(self.baselines.path)!r}: {exc}") from exc
        link = SerialLink(
            self.port, baudrate=self.baudrate, read_timeout_s=self.read_timeout_s, name=self.name
        )
        try:
            first = True
            while True:
                if not first:
                    self._counters["reconnects"] += 1
                    delay = self._backoff.next()
                    await asyncio.sleep(delay)
                first = False
                try:
                    await link.open()
                except Exception as exc:  # pyserial raises SerialException, OSError, ValueError
                    self._counters["open_failures"] += 1
                    self._log_limited("open", logging.WARNING, "cannot open %s: %s", self.port, exc)
                    continue
                self._link = link
                try:
                    await self._connection(link, sink)
                except Exception as exc:  # the port vanished or failed: reconnect
                    self._counters["disconnects"] += 1
                    self._log_limited("io", logging.WARNING, "serial port %s lost: %s", self.port, exc)
                finally:
                    self._link = None
                    self.connected.clear()
                    self._fail_waiting("connection lost")
                    await link.close()
        finally:
            link.shutdown()

    async def _connection(self, link: SerialLink, sink: Sink) -> None:
        session = SerialSession(self.session_config)
        self._session = session
        decoder = FrameDecoder(mid_stream=True)  # the device may be sending already
        self._decoder = decoder
        await link.write(b"\x00")
        await self._send(link, session.start(_now_us()).send)
        last_frame = time.monotonic()
        streaming_since: float | None = None
        last_tick = 0.0
        try:
            while True:
                data = await link.read()
                now_mono = time.monotonic()
                for result in decoder.feed(data) if data else ():
                    if isinstance(result, Frame):
                        last_frame = now_mono
                        await self._apply(link, session.on_frame(result, _now_us()), sink)
                    else:
                        self._log_limited(
                            f"frame-{result.reason}",
                            logging.WARNING,
                            "%s: corrupt frame (%s): %s",
                            self.name,
                            result.reason,
                            result.detail,
                        )
                if session.state is State.STREAMING:
                    self.connected.set()
                    if streaming_since is None:
                        streaming_since = now_mono
                    elif self._backoff.attempt and now_mono - streaming_since >= _HEALTHY_S:
                        self._backoff.reset()
                if now_mono - last_tick >= _TICK_S:
                    last_tick = now_mono
                    await self._apply(link, session.tick(_now_us()), sink)
                if now_mono - last_frame > self.silence_timeout_s:
                    self._counters["silence_timeouts"] += 1
                    raise TimeoutError(f"no frame for {self.silence_timeout_s} s")
        finally:
            if session.hello is not None:  # its lanes say nothing until it is back
                self._observe(DeviceDetached(session.device, time.time_ns()), sink)
            self._merge_connection(session, decoder)

    async def _apply(self, link: SerialLink, out: SessionOutput, sink: Sink) -> None:
        for observation in out.observations:
            self._observe(observation, sink)
        for command_seq, reply in out.replies:
            future = self._waiting.pop(command_seq, None)
            if future is not None and not future.done():
                future.set_result(reply)
        if out.send:
            await self._send(link, out.send)

    def _observe(self, observation: DeviceObservation, sink: Sink) -> None:
        made = self.interpreters.observe(observation)
        for reading in made.readings:
            sink.put(reading)
        for event in made.events:
            sink.put_event(event)
        self._counters["readings"] += len(made.readings)
        self._counters["events"] += len(made.events)
        if made.state_changed:
            try:
                self.baselines.save(self.lanes.snapshot())
            except OSError as exc:  # the offsets still apply; only a restart would lose them
                self._counters["state_save_failures"] += 1
                log.error(
                    "lane offsets cannot be kept: %s",
                    exc,
                    extra={"driver": self.name, "path": str(self.baselines.path)},
                )
            log.info(
                "lane re-baselined after a tare",
                extra={
                    "driver": self.name,
                    "device": observation.device,
                    "offsets_g": self.lanes.offsets(observation.device),
                },
            )

    async def _send(self, link: SerialLink, messages: list[Message], *, strict: bool = False) -> None:
        """Encode and write ``messages``. One that cannot be encoded is counted and skipped
        (``strict``: ``EncodeError`` is raised before anything is written)."""
        data = b""
        sent = 0
        for message in messages:
            try:
                frame = encode_frame(message, self._tx_seq)
            except EncodeError as exc:
                self._counters["encode_errors"] += 1
                self._log_limited(
                    "encode", logging.ERROR, "%s: cannot encode %r: %s", self.name, message, exc
                )
                if strict:
                    raise
                continue
            data += frame
            sent += 1
            self._tx_seq = (self._tx_seq + 1) & 0xFFFF
        self._counters["frames_sent"] += sent
        if data:
            await link.write(data)

    # -- commands -----------------------------------------------------------------------

    def commands(self) -> Mapping[str, CommandSpec]:
        return SERIAL_COMMANDS

    async def command(self, name: str, args: Mapping[str, ArgValue]) -> CommandOutcome:
        """Carry out ``name`` (one of ``SERIAL_COMMANDS``) with ``args``; see the module doc."""
        spec = SERIAL_COMMANDS.get(name)
        if spec is None:
            known = ", ".join(sorted(SERIAL_COMMANDS))
            return CommandOutcome.refused(
                CommandReason.UNKNOWN_COMMAND, f"device {self.name!r} takes {known}, not {name!r}"
            )
        try:
            unknown = sorted(set(args) - set(spec.args))
            if unknown:
                raise _BadArgument(f"{name} takes {sorted(spec.args) or 'no arguments'}, not {unknown}")
            timeout_s = self.command_timeout_s
            if name == "snapshot":
                return self.snapshot(_integer(args, "blocks", 8), _axis(args))
            if name == "tare":
                lane, force = _integer(args, "lane", 0), _flag(args, "force")
            elif name == "set-rate":
                device_cmd = Command.set_rate(_number(args, "hz"))
            elif name == "calibrate":
                device_cmd = Command.calibrate(_integer(args, "lane"), _number(args, "grams"))
            else:
                device_cmd = Command.identify()
            attempt = 0
            while True:
                attempt += 1
                try:
                    if name == "tare":
                        answer = await self.tare(lane, force=force, timeout_s=timeout_s)
                    else:
                        answer = await self.send_command(device_cmd, timeout_s=timeout_s)
                except DriverError as exc:
                    # a forced tare whose answer was lost may have been carried out: sending it
                    # again would re-baseline on the new zero, so it is reported instead
                    if attempt > self.command_retries or (name == "tare" and force):
                        self._counters["command_failures"] += 1
                        log.error(
                            "device command failed: %s", exc,
                            extra={"driver": self.name, "command": name, "attempts": attempt},
                        )  # fmt: skip
                        raise DriverError(f"{exc} (after {attempt} attempt(s))") from exc
                    self._counters["command_retries"] += 1
                    log.warning(
                        "device command not answered, sending it again: %s", exc,
                        extra={"driver": self.name, "command": name, "attempt": attempt},
                    )  # fmt: skip
                    await asyncio.sleep(min(2.0, 0.2 * 2**attempt))
                    continue
                if (
                    isinstance(answer, Nack)
                    and answer.reason is NackReason.BUSY
                    and attempt <= self.command_retries
                ):
                    self._counters["command_retries"] += 1
                    log.warning(
                        "device busy, sending the command again",
                        extra={"driver": self.name, "command": name, "attempt": attempt},
                    )
                    await asyncio.sleep(min(2.0, 0.2 * 2**attempt))
                    continue
                break
        except _BadArgument as exc:
            return CommandOutcome.refused(CommandReason.BAD_ARGUMENT, str(exc))
        except CommandRefused as exc:
            return CommandOutcome.refused(exc.reason, exc.detail)
        except DriverError as exc:
            return CommandOutcome.refused(CommandReason.DEVICE_UNAVAILABLE, str(exc))
        if isinstance(answer, Nack):
            self._counters["command_refusals"] += 1
            log.warning(
                "device refused a command: %s %s", answer.reason.name.lower(), answer.detail,
                extra={"driver": self.name, "command": name, "attempts": attempt},
            )  # fmt: skip
            return CommandOutcome.refused(
                CommandReason.DEVICE_REFUSED,
                f"{answer.reason.name.lower()}: {answer.detail}"
                + (f" (after {attempt} attempts)" if attempt > 1 else ""),
            )
        return CommandOutcome.done("" if attempt == 1 else f"after {attempt} attempts")

    def snapshot(self, blocks: int, axis: str | None) -> CommandOutcome:
        """Hand the last ``blocks`` kept waveform blocks (per axis) to the sink as
        ``condition.snapshot`` events; refused when there are none to send."""
        if not 1 <= blocks <= 64:
            return CommandOutcome.refused(CommandReason.BAD_ARGUMENT, f"blocks must be 1..64, not {blocks}")
        session = self._session
        device = session.device if session is not None else None
        sink = self._sink
        events = self.condition.snapshot(device, blocks, axis, ref="command") if device and sink else []
        if not events or sink is None:
            what = f"axis {axis!r} of " if axis else ""
            return CommandOutcome.refused(
                CommandReason.DEVICE_UNAVAILABLE, f"no waveform blocks kept for {what}device {self.name!r}"
            )
        for event in events:
            sink.put_event(event)
        self._counters["events"] += len(events)
        return CommandOutcome.done(f"{len(events)} waveform blocks sent")

    async def send_command(self, command: Command, timeout_s: float = 2.0) -> Ack | Nack:
        """Send a COMMAND (tare, calibrate, set_rate, identify) and wait for its ACK/NACK.

        Raises ``DriverError`` when the device is not connected or does not answer, and
        ``CommandRefused`` (``bad-argument``) for a value the wire format cannot carry.
        """
        link = self._link
        if link is None or not self.connected.is_set():
            raise DriverError(f"device {self.name!r}: not connected")
        seq = self._tx_seq
        future: asyncio.Future[Ack | Nack] = asyncio.get_running_loop().create_future()
        self._waiting[seq] = future
        try:
            await self._send(link, [command], strict=True)
            async with asyncio.timeout(timeout_s):
                return await future
        except EncodeError as exc:
            raise CommandRefused(CommandReason.BAD_ARGUMENT, f"device {self.name!r}: {exc}") from exc
        except TimeoutError:
            raise DriverError(
                f"device {self.name!r}: no answer to {command.op.name} in {timeout_s} s"
            ) from None
        finally:
            self._waiting.pop(seq, None)

    async def tare(self, lane: int, *, force: bool = False, timeout_s: float = 2.0) -> Ack | Nack:
        """Tare ``lane`` (0: every lane) as the module doc says; raise ``CommandRefused``
        when the gateway refuses it, ``DriverError`` when the device cannot be reached."""
        session = self._session
        if self._link is None or session is None or not self.connected.is_set():
            raise DriverError(f"device {self.name!r}: not connected")
        lanes = self.lanes.lanes(session.device) if session.shelf_lanes else []
        if not lanes:
            raise CommandRefused(
                CommandReason.NOT_SUPPORTED, f"device {self.name!r} has no shelf lanes to tare"
            )
        if not 0 <= lane <= len(lanes):
            raise CommandRefused(
                CommandReason.BAD_ARGUMENT,
                f"no lane {lane} on {self.name!r} (lanes 1..{len(lanes)}, 0 = all)",
            )
        if not force:
            targets = range(1, len(lanes) + 1) if lane == 0 else (lane,)
            stocked = [(n, lanes[n - 1].units) for n in targets if lanes[n - 1].counts_units]
            unsettled = [n for n, units in stocked if units is None]
            full = [f"lane {n} holds {units} units" for n, units in stocked if units]
            hint = "; a tare zeroes an empty lane (force=true re-baselines and keeps the units)"
            if full:
                raise CommandRefused(CommandReason.LANE_NOT_EMPTY, ", ".join(full) + hint)
            if unsettled:
                raise CommandRefused(
                    CommandReason.LANE_UNSETTLED,
                    f"lane(s) {unsettled} have no settled units count yet" + hint,
                )
        session.expect_tare(self._tx_seq, lane, keep=force)
        return await self.send_command(Command.tare(lane), timeout_s=timeout_s)

    def _fail_waiting(self, why: str) -> None:
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(DriverError(f"device {self.name!r}: {why}"))
        self._waiting.clear()

    # -- status -------------------------------------------------------------------------

    @staticmethod
    def _fold(into: Counter[str], session: SerialSession) -> None:
        for key, value in session.counters.items():
            if key in _GAUGES:
                into[key] = value
            else:
                into[key] += value

    def _merge_connection(self, session: SerialSession, decoder: FrameDecoder) -> None:
        """Fold a finished connection's counters (session, decoder) into the driver's totals."""
        self._fold(self._counters, session)
        self._counters.update(decoder.counters())
        if self._session is session:
            self._session = None
        if self._decoder is decoder:
            self._decoder = None

    def stats(self) -> Mapping[str, int]:
        out = Counter(self._counters)
        if self._backoff.attempt:  # a level: how far the reconnect backoff has grown
            out["backoff_attempt"] = self._backoff.attempt
        session = self._session
        if session is not None:
            self._fold(out, session)
        decoder = self._decoder
        if decoder is not None:
            out.update(decoder.counters())
        for key, value in self.interpreters.counters().items():
            if value:
                out[key] += value
        return dict(out)

    def _log_limited(self, key: str, level: int, msg: str, *args: object) -> None:
        now = time.monotonic()
        if now - self._last_log.get(key, -_LOG_EVERY_S) >= _LOG_EVERY_S:
            self._last_log[key] = now
            log.log(level, msg, *args, extra={"driver": self.name})
