"""Commands from the cloud (``…/cmd``), carried out at the gateway, each answered on
``…/result`` with a ``CommandResult`` under the command's id.

=============  ================================  =======================================
command        args                              what happens
=============  ================================  =======================================
``ping``       —                                 the gateway answers (and republishes its status)
``tare``       ``device``, ``lane`` (0 = all),   an empty lane is zeroed; a lane holding stock
               ``force`` (bool, default false)   is refused (``lane-not-empty``) unless
                                                 ``force``: then it is re-baselined and keeps
                                                 its units (see below)
``calibrate``  ``device``, ``lane``, ``grams``   the device scales the lane to a known mass
``set-rate``   ``device``, ``hz``                the device changes its sample rate
``identify``   ``device``                        the device makes itself seen (LED)
``snapshot``   ``device``, ``blocks`` (1..64,    a condition sensor's last kept waveform
               default 8), ``axis`` (x/y/z,      blocks go up as ``condition.snapshot``
               default every axis)               events (docs/condition.md)
=============  ================================  =======================================

``device`` is the name of a ``[[devices]]`` entry of gateway.toml. The router answers
``ping`` itself and hands every other command to the device's driver through the driver
interface (``Driver.commands()`` / ``Driver.command(name, args)``, without ``device``), so
any driver kind takes commands the same way; the table above is what the serial driver
takes. A refusal carries a short reason (``CommandReason``): ``unknown-command`` (no
driver of this gateway takes it), ``unknown-device``, ``not-supported`` (this device's
driver does not take it), ``bad-argument``, ``device-unavailable`` (not connected, or no
answer in time), ``device-refused`` (the device's NACK, with its reason), or, for
``tare``, ``lane-not-empty`` / ``lane-unsettled`` (the gateway refused before sending).

What ``tare`` means: the device makes the present load read 0. On an empty lane that is
what an operator wants (the lane's zero is renewed; drift and a changed tray are gone).
On a lane holding stock it would make the stock read 0 and open a false order, so the
gateway refuses it unless ``force = true``, and a forced tare re-baselines: the gateway
moves the lane's offset by the weight it held, so the lane reports the same units and
weight as before. Either way the new offset is kept and survives a gateway restart
(``bohsense.edge.drivers.serial_device``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from bohsense.contracts.schema import CommandResult, GatewayCommand
from bohsense.contracts.timeutil import now_ns
from bohsense.edge.drivers.base import CommandOutcome, CommandReason, Driver
from bohsense.edge.drivers.serial_device import SERIAL_COMMANDS

__all__ = ["COMMANDS", "CommandRouter"]

log = logging.getLogger(__name__)

#: the commands of the built-in drivers, and ``ping``; a router also knows every command
#: its own drivers list (``known_commands``), so a driver package adds commands of its own
COMMANDS = frozenset({"ping", *SERIAL_COMMANDS})


class CommandRouter:
    """Answers ``ping``; passes every device command to its driver and answers with the
    driver's ``CommandOutcome``. ``timeout_s`` is a backstop above every driver's own
    device timeout: a driver that gives no outcome in time is ``device-unavailable``."""

    def __init__(self, gateway: str, drivers: Sequence[Driver], timeout_s: float = 65.0) -> None:
        self.gateway = gateway
        self._drivers = {d.name: d for d in drivers}
        self.timeout_s = timeout_s

    def known_commands(self) -> frozenset[str]:
        """``COMMANDS`` and every command some driver of this gateway takes."""
        return COMMANDS.union(*(d.commands() for d in self._drivers.values()))

    def _result(self, cmd: GatewayCommand, outcome: CommandOutcome) -> CommandResult:
        return CommandResult(
            gateway=self.gateway,
            id=cmd.id,
            command=cmd.command,
            ok=outcome.ok,
            ts=now_ns(),
            reason="" if outcome.reason is None else outcome.reason.value,
            detail=outcome.detail,
        )

    async def execute(self, cmd: GatewayCommand) -> CommandResult:
        return self._result(cmd, await self._outcome(cmd))

    async def _outcome(self, cmd: GatewayCommand) -> CommandOutcome:
        if cmd.command == "ping":
            return CommandOutcome.done("pong")
        known = self.known_commands()
        if cmd.command not in known:
            return CommandOutcome.refused(
                CommandReason.UNKNOWN_COMMAND, f"{cmd.command!r} is not one of {', '.join(sorted(known))}"
            )
        args = dict(cmd.args)
        name = args.pop("device", None)
        driver = self._drivers.get(name) if isinstance(name, str) else None
        if driver is None:
            devices = ", ".join(sorted(self._drivers)) or "none"
            return CommandOutcome.refused(
                CommandReason.UNKNOWN_DEVICE, f"no device {name!r} on this gateway (devices: {devices})"
            )
        if cmd.command not in driver.commands():
            return CommandOutcome.refused(
                CommandReason.NOT_SUPPORTED, f"device {name!r} does not take {cmd.command!r}"
            )
        try:
            async with asyncio.timeout(self.timeout_s):
                outcome = await driver.command(cmd.command, args)
        except TimeoutError:
            return CommandOutcome.refused(
                CommandReason.DEVICE_UNAVAILABLE, f"device {name!r}: no outcome in {self.timeout_s} s"
            )
        if outcome.ok:
            log.info(
                "device command carried out",
                extra={"command": cmd.command, "device": name, "command_id": cmd.id},
            )
        return outcome
