"""The driver interface between device drivers and the edge agent.

A driver owns one device connection (a serial port, an LLRP reader). ``run`` connects,
reads, turns device data into ``Reading`` and ``Event`` objects and hands them to the
sink; it reconnects by itself (with backoff) when the device goes away and returns only
when cancelled. Bad device data (a corrupt frame) is counted and logged by the driver and
never ends ``run``.

Device commands are part of the interface: ``commands()`` lists what a driver takes
(name → ``CommandSpec``; empty: none), ``command(name, args)`` carries one out and
answers with a ``CommandOutcome`` — it never raises for a refusal, a bad argument or a
device that cannot be reached: each is an outcome with its ``CommandReason``. The edge's
command router (``bohsense.edge.commands``) only finds the driver and passes the
command on, so any driver kind (serial, LLRP…) takes commands the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from bohsense.contracts.events import Event
from bohsense.contracts.schema import ArgValue, Reading
from bohsense.edge.errors import DriverError, EdgeError

__all__ = [
    "ArgValue",
    "CommandOutcome",
    "CommandReason",
    "CommandRefused",
    "CommandSpec",
    "Driver",
    "DriverError",
    "NoCommands",
    "ReadingSink",
    "Sink",
]


class CommandReason(StrEnum):
    """Why a command was not carried out: the ``CommandResult.reason`` the cloud gets."""

    UNKNOWN_COMMAND = "unknown-command"
    UNKNOWN_DEVICE = "unknown-device"
    NOT_SUPPORTED = "not-supported"
    BAD_ARGUMENT = "bad-argument"
    DEVICE_UNAVAILABLE = "device-unavailable"
    DEVICE_REFUSED = "device-refused"
    #: a plain tare of a lane holding stock (``force`` re-baselines instead)
    LANE_NOT_EMPTY = "lane-not-empty"
    #: a plain tare of a lane that has no settled count yet
    LANE_UNSETTLED = "lane-unsettled"


class CommandRefused(EdgeError):
    """The gateway refuses a device command before sending it, with its ``reason``
    (``lane-not-empty``, ``bad-argument``…); ``detail`` is for a person."""

    def __init__(self, reason: CommandReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class CommandOutcome:
    """What became of one device command: carried out (``ok``), or refused with a reason."""

    ok: bool
    reason: CommandReason | None = None
    detail: str = ""

    def __post_init__(self) -> None:
        if self.ok != (self.reason is None):
            raise ValueError("a command outcome has a reason exactly when it is not ok")

    @classmethod
    def done(cls, detail: str = "") -> CommandOutcome:
        return cls(True, None, detail)

    @classmethod
    def refused(cls, reason: CommandReason, detail: str) -> CommandOutcome:
        return cls(False, reason, detail)


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """One command a driver takes: its arguments (name → what it must be) and a summary."""

    name: str
    summary: str
    args: Mapping[str, str] = field(default_factory=dict)


class Sink(Protocol):
    """Where a driver hands what it produced; both methods never block (event loop)."""

    def put(self, reading: Reading) -> None:
        """Accept one reading."""

    def put_event(self, event: Event) -> None:
        """Accept one typed event (a pick, a local alarm)."""


#: the sink's former name
ReadingSink = Sink


class Driver(Protocol):
    #: the configured name of this driver instance, unique per gateway
    name: str

    async def run(self, sink: Sink) -> None:
        """Read the device until cancelled, reconnecting as needed."""

    def stats(self) -> Mapping[str, int]:
        """Counters for status and logs: frames, readings, errors by reason, reconnects."""

    def commands(self) -> Mapping[str, CommandSpec]:
        """The commands this driver takes, by name (empty: none)."""

    async def command(self, name: str, args: Mapping[str, ArgValue]) -> CommandOutcome:
        """Carry out command ``name``; every refusal is an outcome, never an exception."""


class NoCommands:
    """For a driver that takes no commands: every command is ``not-supported``."""

    name: str

    def commands(self) -> Mapping[str, CommandSpec]:
        return {}

    async def command(self, name: str, args: Mapping[str, ArgValue]) -> CommandOutcome:
        return CommandOutcome.refused(
            CommandReason.NOT_SUPPORTED, f"device {self.name!r} takes no commands ({name!r} asked)"
        )
