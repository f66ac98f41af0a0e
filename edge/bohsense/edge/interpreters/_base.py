"""What a driver observes, what an interpreter makes of it, and the interpreter interface.

A driver's protocol session knows the wire (frames, clocks, sequence numbers) and
nothing of what the numbers mean; it emits neutral observations in stream order:

- ``DeviceAttached``: a device announced itself (its id, its source kind, its channels);
  every later observation of that device refers to this layout, until the next one;
- ``ChannelSample``: one value of one channel at its event time (UTC ns);
- ``ChannelInvalid``: a channel carried no valid value (NaN: the device's ADC fault flag);
- ``DeviceDetached``: the connection to the device was lost (unplugged, port gone); its
  channels say nothing until the next ``DeviceAttached``;
- ``Tared``: the device acknowledged a TARE of some channels at this point of the stream;
- ``WaveformBlock``: a whole block of one axis of a vibration waveform, reassembled from
  its frames (``lost`` says whether part of it never arrived);
- ``TagSeen``: an RFID reader saw a tag (one entry of a tag report, its times corrected
  to UTC by the driver);
- ``Tick``: time has passed up to ``ts`` with nothing else to say (so an interpreter with
  timeouts, such as presence, can decide a departure without reading a clock).

An interpreter turns observations into readings and events. It is pure: no I/O, no clock
reads, no logging; everything it knows it was given in an observation, and everything it
keeps is its own state. One that keeps state worth keeping across restarts (a shelf's
lane offsets) offers ``snapshot`` / ``restore`` of a JSON-shaped value, and says in its
output (``state_changed``) when the snapshot changed so the driver can write it down.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from bohsense.contracts.events import Event
from bohsense.contracts.schema import Reading
from bohsense.edge.errors import InterpreterStateError

__all__ = [
    "ChannelInvalid",
    "ChannelSample",
    "DeviceAttached",
    "DeviceDetached",
    "DeviceObservation",
    "Interpretation",
    "Interpreter",
    "InterpreterStateError",
    "JsonState",
    "Observation",
    "ReaderObservation",
    "StatefulInterpreter",
    "TagSeen",
    "Tared",
    "Tick",
    "WaveformBlock",
]

#: a snapshot: what ``json.dumps`` can write and ``json.loads`` gives back
JsonState = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class DeviceAttached:
    """``device`` (its reading id) announced itself with these channels, in order."""

    device: str
    #: what the device is, as its protocol names it: ``shelf``, ``condition``…
    source: str
    #: the channel names (metric-safe), index = ``ChannelSample.channel``
    channels: tuple[str, ...]
    #: gateway time (UTC ns) the device announced itself; 0 when not known
    ts: int = 0


@dataclass(frozen=True, slots=True)
class ChannelSample:
    """One finite value of channel ``channel`` (from 0) of ``device`` at event time ``ts``.

    ``value`` is what the device reported, in the unit of the channel and with the
    device's own calibration applied (grams for a load cell, °C, mm/s); nothing of the
    gateway's (a lane's tare offset) is applied yet.
    """

    device: str
    channel: int
    name: str
    ts: int
    value: float


@dataclass(frozen=True, slots=True)
class ChannelInvalid:
    """Channel ``channel`` of ``device`` carried no valid value (NaN, ±inf) at ``ts``."""

    device: str
    channel: int
    name: str
    ts: int


@dataclass(frozen=True, slots=True)
class DeviceDetached:
    """The connection to ``device`` was lost at gateway time ``ts`` (UTC ns)."""

    device: str
    ts: int


@dataclass(frozen=True, slots=True)
class Tared:
    """The device zeroed ``channels`` (from 0) here; ``keep``: the gateway re-baselines
    (the load the channel held keeps reading as before) instead of a plain zero."""

    device: str
    channels: tuple[int, ...]
    keep: bool


@dataclass(frozen=True, slots=True)
class WaveformBlock:
    """Block ``block_seq`` of axis ``axis`` (``x``/``y``/``z``) of ``device``'s waveform.

    ``samples`` is acceleration in g (the int16 counts times the device's scale factor),
    sampled at ``fs_hz``; ``ts`` is the event time (UTC ns) of the first sample. ``lost``:
    part of the block never arrived (the interpreter must not compute features from it
    as if it were whole). ``clipped``: how many samples sat at the int16 limits.
    """

    device: str
    axis: str
    block_seq: int
    ts: int
    fs_hz: float
    samples: Any  # a 1-D float64 numpy array (or a sequence of floats)
    lost: bool = False
    clipped: int = 0


@dataclass(frozen=True, slots=True)
class TagSeen:
    """Reader ``reader`` saw the tag ``epc`` on ``antenna``: ``count`` reads between
    ``first_seen`` and ``last_seen`` (UTC ns), strongest at ``rssi_dbm`` (None: not reported)."""

    reader: str
    antenna: int
    epc: bytes
    first_seen: int
    last_seen: int
    count: int = 1
    rssi_dbm: float | None = None


@dataclass(frozen=True, slots=True)
class Tick:
    """Time has reached ``ts`` (UTC ns) at ``source`` (a reader, a device)."""

    source: str
    ts: int


#: what a device session (serial) observes
DeviceObservation = DeviceAttached | ChannelSample | ChannelInvalid | DeviceDetached | Tared | WaveformBlock
#: what a reader session (LLRP) observes
ReaderObservation = TagSeen | Tick
Observation = DeviceObservation | ReaderObservation


@dataclass(slots=True)
class Interpretation:
    readings: list[Reading] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    #: the interpreter's snapshot changed with this observation (write it down)
    state_changed: bool = False

    def extend(self, other: Interpretation) -> None:
        self.readings += other.readings
        self.events += other.events
        self.state_changed = self.state_changed or other.state_changed


@runtime_checkable
class Interpreter(Protocol):
    def observe(self, observation: Observation) -> Interpretation:
        """The readings and events this observation makes; never raises for bad data."""

    def counters(self) -> Mapping[str, int]:
        """What was refused or noticed so far, by reason (``lane_unstable``…)."""


@runtime_checkable
class StatefulInterpreter(Interpreter, Protocol):
    def snapshot(self) -> JsonState:
        """The state to keep across restarts, JSON-shaped."""

    def restore(self, state: JsonState) -> None:
        """Take back a ``snapshot``; raises ``InterpreterStateError`` for one it cannot use."""
