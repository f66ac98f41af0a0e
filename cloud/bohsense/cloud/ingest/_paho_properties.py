"""MQTT 5 properties without paho's per-packet set-up: the one place that reaches into paho.

paho-mqtt 2.2 builds a ``Properties`` object for every MQTT 5 packet it reads or
acknowledges, and each one rebuilds its lookup tables (a dict of 27 names, a dict of 27
``(type, packet types)`` entries computed with ``list.index``) and then clears itself by
testing every one of the 27 names: ~50 µs per received PUBLISH and again per PUBACK on
this machine, as much as decoding and checking the whole 100-reading batch it carries.

``FastProperties`` is a ``Properties`` whose tables are built once and shared (paho only
reads them) and whose ``clear`` deletes only what is set; everything else is paho's own
code, so every packet is encoded and decoded as before. ``install()`` makes paho's packet
decoder (``paho.mqtt._packet``) and client (``paho.mqtt.client``) build these: their
module-level name ``Properties`` is the only private thing of paho that is touched, and
``tests/cloud/ingest/test_paho_properties.py`` fails when paho changes under it.
"""

from __future__ import annotations

from typing import Any

import paho.mqtt._packet as _paho_packet
import paho.mqtt.client as _paho_client
from paho.mqtt.properties import Properties

__all__ = ["FastProperties", "install"]

#: the instance attributes ``Properties.__init__`` sets: its tables and the packet type
TABLES = ("types", "names", "properties")
_stock = Properties(1)  # type: ignore[no-untyped-call]
_SHARED: dict[str, Any] = {name: getattr(_stock, name) for name in TABLES}
_NAMES = frozenset(name.replace(" ", "") for name in _stock.names)
del _stock


class FastProperties(Properties):
    """``Properties`` with its lookup tables shared rather than rebuilt for every packet."""

    def __init__(self, packetType: int) -> None:
        d = self.__dict__
        d["packetType"] = packetType
        d.update(_SHARED)

    def clear(self) -> None:
        d = self.__dict__
        for name in [n for n in d if n in _NAMES]:
            del d[name]


def install() -> None:
    """Have paho build ``FastProperties`` for the packets it reads and the PUBACKs it sends
    (idempotent; for every client of this process, which only gains from it)."""
    _paho_packet.Properties = FastProperties  # type: ignore[attr-defined]
    _paho_client.Properties = FastProperties  # type: ignore[attr-defined]
