"""Clock offset from one TIME_SYNC exchange (the NTP on-wire calculation).

t1 gateway sends (gateway UTC µs), t2 device receives and t3 device replies (device
clock µs), t4 gateway receives (gateway UTC µs):

    offset = ((t2 - t1) + (t3 - t4)) / 2      device clock minus gateway clock
    delay  = (t4 - t1) - (t3 - t2)            round trip spent on the wire

The error of ``offset`` is at most ``delay / 2``.
"""

from __future__ import annotations

from dataclasses import dataclass

from bohsense.firmware_bridge._messages import TimeSyncResponse

__all__ = ["ClockEstimate", "estimate_clock"]


@dataclass(frozen=True, slots=True)
class ClockEstimate:
    offset_us: int
    delay_us: int
    synced: bool

    def to_gateway_us(self, device_time_us: int) -> int:
        return device_time_us - self.offset_us


def estimate_clock(response: TimeSyncResponse, received_us: int) -> ClockEstimate:
    t1, t2, t3, t4 = (
        response.gateway_time_us,
        response.receive_time_us,
        response.transmit_time_us,
        received_us,
    )
    offset = ((t2 - t1) + (t3 - t4)) // 2
    delay = (t4 - t1) - (t3 - t2)
    return ClockEstimate(offset, max(delay, 0), response.synced)
