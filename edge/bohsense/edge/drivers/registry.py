"""Build a driver from its configuration: one ``[[devices]]`` table of gateway.toml.

Each driver class offers ``from_options(name, options, *, state_dir=None) -> driver``
and raises ``DriverError`` with a precise message for a bad or missing option.
``state_dir`` is where a driver may keep state across restarts (the outbox's
directory); building a driver reads or writes nothing there.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bohsense.edge.drivers.base import Driver, DriverError

__all__ = ["KINDS", "build_driver"]

#: driver kind -> "module:Class"; modules are imported only when a device of the kind is configured
KINDS: dict[str, str] = {
    "serial": "bohsense.edge.drivers.serial_device:SerialDeviceDriver",
    "synthetic": "bohsense.edge.drivers.synthetic:SyntheticDriver",
}


def build_driver(
    name: str, kind: str, options: Mapping[str, Any], *, state_dir: Path | None = None
) -> Driver:
    try:
        target = KINDS[kind]
    except KeyError:
        raise DriverError(
            f"device {name!r}: unknown driver kind {kind!r} (known: {', '.join(sorted(KINDS))})"
        ) from None
    import importlib

    module_name, _, cls_name = target.partition(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    driver: Driver = cls.from_options(name, options, state_dir=state_dir)
    return driver
