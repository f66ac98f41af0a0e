"""How devices are named in readings: the one naming scheme edge and cloud agree on.

A device reports under its id: the id it announces in HELLO, or the ``device_id`` the
gateway configuration gives it (``[[devices]] device_id = …``). A shelf has one reading
device per lane, ``<device id>.lane-<n>`` with ``n`` from 1 in the shelf's lane order; a
condition sensor reports as ``<device id>``. The serial driver builds lane names with
``lane_device`` and the BOH catalog refuses a lane that ``parse_lane_device`` does not accept.
"""

from __future__ import annotations

import re

__all__ = ["LANE_DEVICE_PATTERN", "lane_device", "parse_lane_device"]

#: characters a device id keeps (anything else becomes ``_`` at the edge)
DEVICE_ID_CHARS = r"A-Za-z0-9_.:/\-"
LANE_DEVICE_PATTERN = rf"^(?P<device>[{DEVICE_ID_CHARS}]+)\.lane-(?P<lane>[1-9][0-9]*)$"
_LANE_RE = re.compile(LANE_DEVICE_PATTERN)


def lane_device(device_id: str, lane: int) -> str:
    """The reading device of lane ``lane`` (from 1) of shelf ``device_id``."""
    if lane < 1:
        raise ValueError(f"lane numbers start at 1, not {lane}")
    return f"{device_id}.lane-{lane}"


def parse_lane_device(name: str) -> tuple[str, int] | None:
    """``(device id, lane)`` of a lane device name, or None when ``name`` is not one."""
    m = _LANE_RE.match(name)
    if m is None:
        return None
    return m["device"], int(m["lane"])
