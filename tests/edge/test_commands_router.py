"""The command router at its seam: it answers ``ping`` and hands every device command to
the device's driver through the driver interface, so any driver kind takes commands."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest

from bohsense.contracts.schema import ArgValue, CommandResult, GatewayCommand
from bohsense.edge.commands import COMMANDS, CommandRouter
from bohsense.edge.drivers import CommandOutcome, CommandReason, CommandSpec, build_driver


class ReaderDriver:
    """A driver of another kind (an RFID reader) that takes a command of its own."""

    name = "reader-1"

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, ArgValue]]] = []

    async def run(self, sink: object) -> None:
        await asyncio.Event().wait()

    def stats(self) -> Mapping[str, int]:
        return {}

    def commands(self) -> Mapping[str, CommandSpec]:
        return {
            "set-power": CommandSpec("set-power", "antenna power", {"dbm": "number"}),
            "hang": CommandSpec("hang", "never answers"),
        }

    async def command(self, name: str, args: Mapping[str, ArgValue]) -> CommandOutcome:
        self.calls.append((name, dict(args)))
        if name == "hang":
            await asyncio.Event().wait()
        dbm = args.get("dbm")
        if not isinstance(dbm, int | float) or isinstance(dbm, bool):
            return CommandOutcome.refused(CommandReason.BAD_ARGUMENT, f"dbm must be a number, not {dbm!r}")
        return CommandOutcome.done(f"power {dbm} dBm")


def cmd(command: str, **args: ArgValue) -> GatewayCommand:
    return GatewayCommand(gateway="gw-1", command=command, id=f"c-{command}", ts=1, args=args)


async def test_commands_reach_any_driver_kind_and_every_refusal_has_its_reason() -> None:
    reader = ReaderDriver()
    synthetic = build_driver("load", "synthetic", {})
    router = CommandRouter("gw-1", [reader, synthetic], timeout_s=0.5)
    assert router.known_commands() == COMMANDS | {"set-power", "hang"}

    async def run(c: GatewayCommand) -> tuple[bool, str, str]:
        result = await router.execute(c)
        assert isinstance(result, CommandResult)
        assert (result.gateway, result.id, result.command) == ("gw-1", c.id, c.command)
        return result.ok, result.reason, result.detail

    assert await run(cmd("ping")) == (True, "", "pong")
    assert await run(cmd("set-power", device="reader-1", dbm=27.5)) == (True, "", "power 27.5 dBm")
    assert reader.calls == [("set-power", {"dbm": 27.5})], "the driver gets the args without 'device'"
    ok, reason, detail = await run(cmd("set-power", device="reader-1", dbm="max"))
    assert (ok, reason) == (False, "bad-argument")
    ok, reason, detail = await run(cmd("self-destruct", device="reader-1"))
    assert (ok, reason) == (False, "unknown-command")
    assert "set-power" in detail, "the refusal names the commands there are"
    ok, reason, detail = await run(cmd("set-power", device="fridge"))
    assert (ok, reason) == (False, "unknown-device")
    assert "load" in detail
    assert "reader-1" in detail
    ok, reason, _ = await run(cmd("tare", device="load", lane=1))
    assert (ok, reason) == (False, "not-supported"), "the synthetic driver takes no tare"
    ok, reason, _ = await run(cmd("set-power", device="load", dbm=1))
    assert (ok, reason) == (False, "not-supported")
    ok, reason, detail = await run(cmd("hang", device="reader-1"))
    assert (ok, reason) == (False, "device-unavailable")
    assert "no outcome in 0.5 s" in detail


async def test_a_driver_that_takes_no_commands_refuses_them_itself() -> None:
    synthetic = build_driver("load", "synthetic", {})
    outcome = await synthetic.command("identify", {})
    assert (outcome.ok, outcome.reason) == (False, CommandReason.NOT_SUPPORTED)
    assert "load" in outcome.detail


def test_an_outcome_has_a_reason_exactly_when_it_is_refused() -> None:
    with pytest.raises(ValueError, match="reason exactly when"):
        CommandOutcome(False)
    with pytest.raises(ValueError, match="reason exactly when"):
        CommandOutcome(True, CommandReason.BAD_ARGUMENT)
    assert CommandReason("lane-not-empty") is CommandReason.LANE_NOT_EMPTY


class _Buffer:
    def __init__(self) -> None:
        self.readings: list[object] = []

    def put(self, reading: object) -> None:
        self.readings.append(reading)
