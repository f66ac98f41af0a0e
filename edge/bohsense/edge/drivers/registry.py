"""Build a driver from its configuration: one ``[[devices]]`` table of gateway.toml.

Each driver class offers ``from_options(name, options, *, state_dir=None) -> driver``
and raises ``DriverError`` with a precise message for a bad or missing option.
``state_dir`` is where a driver may keep state across restarts (the outbox's
directory); building a driver reads or writes nothing there. A built driver lacking a
method of the ``Driver`` interface (``run``, ``stats``, ``commands``, ``command``; a
driver that takes no commands can inherit ``NoCommands``) is a ``DriverError`` at build
time, so ``edge check-config`` reports it.

Driver kinds are found through the ``bohsense.drivers`` entry-point group, as the CLI's
subcommands are: ``kind = "serial"`` names the entry point ``serial``, and an optional
driver package adds a kind by declaring one in its own ``pyproject.toml``
(``[project.entry-points."bohsense.drivers"] llrp = "pkg.module:DriverClass"``). A driver's
module is imported only when a device of its kind is configured.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

from bohsense.edge.drivers.base import Driver, DriverError

__all__ = ["ENTRY_POINT_GROUP", "build_driver", "driver_kinds"]

ENTRY_POINT_GROUP = "bohsense.drivers"
#: what a built driver must have (``Driver``); a class without them is refused at build
_INTERFACE = ("run", "stats", "commands", "command")


def driver_kinds() -> dict[str, EntryPoint]:
    """Every installed driver kind, by name (read from the installed distributions)."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def build_driver(
    name: str, kind: str, options: Mapping[str, Any], *, state_dir: Path | None = None
) -> Driver:
    kinds = driver_kinds()
    entry = kinds.get(kind)
    if entry is None:
        raise DriverError(
            f"device {name!r}: unknown driver kind {kind!r} (known: {', '.join(sorted(kinds)) or 'none'})"
        )
    try:
        cls = entry.load()
    except (ImportError, AttributeError) as exc:
        raise DriverError(
            f"device {name!r}: driver kind {kind!r} cannot be loaded ({entry.value}): {exc}"
        ) from exc
    driver: Driver = cls.from_options(name, options, state_dir=state_dir)
    missing = [m for m in _INTERFACE if not callable(getattr(driver, m, None))]
    if missing:
        raise DriverError(
            f"device {name!r}: driver kind {kind!r} ({entry.value}) lacks {', '.join(missing)} "
            "of the driver interface (bohsense.edge.drivers.base.Driver)"
        )
    return driver
