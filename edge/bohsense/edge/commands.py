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
=============  ================================  =======================================

``device`` is the name of a ``[[devices]]`` entry of gateway.toml. A refusal carries a
short reason: ``unknown-command``, ``unknown-device``, ``not-supported`` (the device's
driver takes no commands), ``bad-argument``, ``device-unavailable`` (not connected, or
no answer in time), ``device-refused`` (the device's NACK, with its reason), or, for
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

import logging
from collections.abc import Sequence
from typing import Any

from bohsense.contracts.schema import CommandResult, GatewayCommand
from bohsense.contracts.timeutil import now_ns
from bohsense.edge.drivers.base import CommandRefused, Driver, DriverError
from bohsense.firmware_bridge import Ack, Command, CommandOp, Nack

__all__ = ["COMMANDS", "CommandRouter"]

log = logging.getLogger(__name__)

COMMANDS = frozenset({"ping", "tare", "calibrate", "set-rate", "identify"})
_DEVICE_OPS = {
    "tare": CommandOp.TARE,
    "calibrate": CommandOp.CALIBRATE,
    "set-rate": CommandOp.SET_RATE,
    "identify": CommandOp.IDENTIFY,
}


class _BadArgument(ValueError):
    pass


def _number(args: dict[str, Any], key: str, default: float | None = None) -> float:
    value = args.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _BadArgument(f"argument {key!r} must be a number, not {value!r}")
    return float(value)


def _flag(args: dict[str, Any], key: str) -> bool:
    value = args.get(key, False)
    if not isinstance(value, bool):
        raise _BadArgument(f"argument {key!r} must be true or false, not {value!r}")
    return value


class CommandRouter:
    def __init__(self, gateway: str, drivers: Sequence[Driver], timeout_s: float = 5.0) -> None:
        self.gateway = gateway
        self._drivers = {d.name: d for d in drivers}
        self.timeout_s = timeout_s

    def _result(self, cmd: GatewayCommand, ok: bool, reason: str = "", detail: str = "") -> CommandResult:
        return CommandResult(
            gateway=self.gateway,
            id=cmd.id,
            command=cmd.command,
            ok=ok,
            ts=now_ns(),
            reason=reason,
            detail=detail,
        )

    async def execute(self, cmd: GatewayCommand) -> CommandResult:
        if cmd.command == "ping":
            return self._result(cmd, True, detail="pong")
        op = _DEVICE_OPS.get(cmd.command)
        if op is None:
            return self._result(
                cmd, False, "unknown-command", f"{cmd.command!r} is not one of {', '.join(sorted(COMMANDS))}"
            )
        args = dict(cmd.args)
        name = args.get("device")
        driver = self._drivers.get(name) if isinstance(name, str) else None
        if driver is None:
            known = ", ".join(sorted(self._drivers)) or "none"
            return self._result(
                cmd, False, "unknown-device", f"no device {name!r} on this gateway (devices: {known})"
            )
        send = getattr(driver, "command", None)
        if send is None:
            return self._result(cmd, False, "not-supported", f"device {name!r} takes no commands")
        if op is CommandOp.TARE:
            return await self._tare(cmd, driver, str(name), args)
        try:
            if op is CommandOp.SET_RATE:
                device_cmd = Command(op, 0, _number(args, "hz"))
            elif op is CommandOp.CALIBRATE:
                device_cmd = Command(op, int(_number(args, "lane")), _number(args, "grams"))
            else:
                device_cmd = Command(op)
        except _BadArgument as exc:
            return self._result(cmd, False, "bad-argument", str(exc))
        try:
            answer = await send(device_cmd, timeout_s=self.timeout_s)
        except CommandRefused as exc:
            return self._result(cmd, False, exc.reason, exc.detail)
        except DriverError as exc:
            return self._result(cmd, False, "device-unavailable", str(exc))
        return self._answered(cmd, name, answer)

    async def _tare(
        self, cmd: GatewayCommand, driver: Driver, name: str, args: dict[str, Any]
    ) -> CommandResult:
        tare = getattr(driver, "tare", None)
        if tare is None:
            return self._result(cmd, False, "not-supported", f"device {name!r} has no lanes to tare")
        try:
            lane, force = int(_number(args, "lane", 0)), _flag(args, "force")
        except _BadArgument as exc:
            return self._result(cmd, False, "bad-argument", str(exc))
        try:
            answer = await tare(lane, force=force, timeout_s=self.timeout_s)
        except CommandRefused as exc:
            return self._result(cmd, False, exc.reason, exc.detail)
        except DriverError as exc:
            return self._result(cmd, False, "device-unavailable", str(exc))
        return self._answered(cmd, name, answer)

    def _answered(self, cmd: GatewayCommand, name: object, answer: Ack | Nack) -> CommandResult:
        if isinstance(answer, Ack):
            log.info(
                "device command carried out",
                extra={"command": cmd.command, "device": name, "command_id": cmd.id},
            )
            return self._result(cmd, True)
        return self._result(cmd, False, "device-refused", f"{answer.reason.name.lower()}: {answer.detail}")
