"""The messages of wire protocol version 1: frozen, slotted dataclasses.

Every message knows nothing of bytes; ``_codec`` maps them to payloads. Times are
integer microseconds. A device's clock is either *synced* (UTC µs since the Unix
epoch) or not (µs since the device booted); ``Samples.synced`` says which.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, IntFlag

__all__ = [
    "Ack",
    "Axis",
    "Command",
    "CommandOp",
    "DeviceKind",
    "DeviceStatus",
    "Heartbeat",
    "Hello",
    "HelloRequest",
    "Message",
    "MsgType",
    "Nack",
    "NackReason",
    "Samples",
    "StatusFlag",
    "Temperature",
    "TimeSyncRequest",
    "TimeSyncResponse",
    "WaveformFragment",
]


class MsgType(IntEnum):
    HELLO = 0x01
    SAMPLES = 0x02
    TIME_SYNC_REQUEST = 0x03
    TIME_SYNC_RESPONSE = 0x04
    COMMAND = 0x05
    ACK = 0x06
    NACK = 0x07
    HEARTBEAT = 0x08
    HELLO_REQUEST = 0x09
    WAVEFORM = 0x0A
    TEMPERATURE = 0x0B
    STATUS = 0x0C


class DeviceKind(IntEnum):
    SHELF = 1
    CONDITION = 2

    @property
    def label(self) -> str:
        return "shelf" if self is DeviceKind.SHELF else "condition"


class CommandOp(IntEnum):
    TARE = 1
    CALIBRATE = 2
    SET_RATE = 3
    IDENTIFY = 4


class NackReason(IntEnum):
    UNKNOWN_COMMAND = 1
    BAD_ARGUMENT = 2
    BUSY = 3
    UNSUPPORTED = 4


@dataclass(frozen=True, slots=True)
class Hello:
    """Device identity, sent at boot and whenever the gateway asks (HELLO_REQUEST)."""

    device_id: str
    kind: DeviceKind
    firmware: tuple[int, int, int]
    sample_rate_hz: float
    channels: tuple[str, ...]

    @property
    def channel_count(self) -> int:
        return len(self.channels)


@dataclass(frozen=True, slots=True)
class HelloRequest:
    """Gateway → device: send your HELLO now."""


@dataclass(frozen=True, slots=True)
class Samples:
    """One sample of every channel, taken at ``time_us`` on the device clock.

    ``synced`` is True when the device clock has been set from the gateway (UTC µs since
    the epoch) and False when it is still the free-running clock (µs since boot).
    """

    time_us: int
    synced: bool
    values: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class TimeSyncRequest:
    """Gateway → device. ``gateway_time_us`` is the gateway's UTC clock when sent (t1).

    When ``adjust_us`` is not None the device first steps its clock by that amount and
    from then on reports ``synced`` times.
    """

    gateway_time_us: int
    adjust_us: int | None = None


@dataclass(frozen=True, slots=True)
class TimeSyncResponse:
    """Device → gateway: t1 echoed, device clock at receipt (t2) and at reply (t3)."""

    gateway_time_us: int
    receive_time_us: int
    transmit_time_us: int
    synced: bool


@dataclass(frozen=True, slots=True)
class Command:
    """Gateway → device. ``lane`` counts from 1 (0 = not applicable / all lanes).

    ``value`` is the known mass in grams for CALIBRATE, the rate in Hz for SET_RATE.
    """

    op: CommandOp
    lane: int = 0
    value: float = 0.0

    @classmethod
    def tare(cls, lane: int = 0) -> Command:
        return cls(CommandOp.TARE, lane)

    @classmethod
    def calibrate(cls, lane: int, known_g: float) -> Command:
        return cls(CommandOp.CALIBRATE, lane, known_g)

    @classmethod
    def set_rate(cls, hz: float) -> Command:
        return cls(CommandOp.SET_RATE, 0, hz)

    @classmethod
    def identify(cls) -> Command:
        return cls(CommandOp.IDENTIFY)


@dataclass(frozen=True, slots=True)
class Ack:
    """Device → gateway: the command sent in frame ``command_seq`` was carried out."""

    command_seq: int


@dataclass(frozen=True, slots=True)
class Nack:
    """Device → gateway: the command sent in frame ``command_seq`` was refused."""

    command_seq: int
    reason: NackReason
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """Device → gateway, about once a second: alive, and how many frames it could not send."""

    uptime_ms: int
    tx_dropped: int = 0


class Axis(IntEnum):
    """The accelerometer axis a waveform block belongs to (``z``: axial for most mountings)."""

    X = 0
    Y = 1
    Z = 2

    @property
    def label(self) -> str:
        return self.name.lower()


class StatusFlag(IntFlag):
    """Bits of ``DeviceStatus.flags``: what the device itself knows is wrong."""

    ACCEL_FAULT = 0x01  # the accelerometer does not answer or reports a self-test failure
    TEMP_FAULT = 0x02  # the temperature probe is open or shorted
    LOW_SUPPLY = 0x04  # the supply is below the device's brown-out warning level
    CLIPPING = 0x08  # a sample sat at the int16 limits since the last status
    TX_OVERFLOW = 0x10  # frames were dropped since the last status (see HEARTBEAT)
    WATCHDOG_RESET = 0x20  # the last boot was a watchdog reset


@dataclass(frozen=True, slots=True)
class WaveformFragment:
    """Part of block ``block_seq`` of one axis of a vibration waveform (``bohsense.firmware_bridge``
    ``split_waveform`` cuts a block into fragments, ``WaveformAssembler`` puts them together).

    ``counts`` are int16 accelerometer counts; ``scale_g`` turns one count into g. The
    block has ``block_samples`` samples at ``sample_rate_hz``, its first taken at
    ``time_us``; this fragment is number ``fragment`` of ``fragments`` and holds the
    samples from ``offset`` on.
    """

    time_us: int
    synced: bool
    axis: Axis
    block_seq: int
    sample_rate_hz: float
    scale_g: float
    block_samples: int
    fragment: int
    fragments: int
    offset: int
    counts: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Temperature:
    """Probe ``probe`` (from 0) read ``celsius`` at ``time_us`` (NaN: no valid reading)."""

    time_us: int
    synced: bool
    probe: int
    celsius: float


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """The device's own health at ``time_us``: ``flags``, seconds up, supply in mV."""

    time_us: int
    synced: bool
    flags: StatusFlag
    uptime_s: int
    supply_mv: int


Message = (
    Hello
    | HelloRequest
    | Samples
    | TimeSyncRequest
    | TimeSyncResponse
    | Command
    | Ack
    | Nack
    | Heartbeat
    | WaveformFragment
    | Temperature
    | DeviceStatus
)
