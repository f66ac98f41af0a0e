"""The serial wire protocol between device firmware and the gateway (no I/O).

Bytes in, events out; events in, bytes out. The same core serves the gateway's serial
driver and the device simulators. The contract for firmware is ``PROTOCOL.md`` next to
this package.

Exceptions::

    FirmwareBridgeError
     └── EncodeError      a message the wire format cannot carry

Bad bytes from a peer are returned as ``FrameError`` values (with a ``FrameErrorReason``)
by ``FrameDecoder.feed``, never raised; the decoder counts them by reason, and skips to the
first delimiter when it attaches mid-stream (``FrameDecoder(mid_stream=True)``).
"""

from bohsense.firmware_bridge._codec import (
    MAX_CHANNELS,
    MAX_ENCODED_SIZE,
    MAX_FRAME_SIZE,
    MAX_PAYLOAD_SIZE,
    PROTOCOL_VERSION,
    Frame,
    FrameError,
    FrameErrorReason,
    encode_frame,
    message_type,
    parse_frame,
)
from bohsense.firmware_bridge._crc import crc16
from bohsense.firmware_bridge._decoder import FrameDecoder
from bohsense.firmware_bridge._errors import EncodeError, FirmwareBridgeError
from bohsense.firmware_bridge._messages import (
    Ack,
    Command,
    CommandOp,
    DeviceKind,
    Heartbeat,
    Hello,
    HelloRequest,
    Message,
    MsgType,
    Nack,
    NackReason,
    Samples,
    TimeSyncRequest,
    TimeSyncResponse,
)
from bohsense.firmware_bridge._seq import SeqCheck, SequenceTracker
from bohsense.firmware_bridge._timesync import ClockEstimate, estimate_clock

__all__ = [
    "MAX_CHANNELS",
    "MAX_ENCODED_SIZE",
    "MAX_FRAME_SIZE",
    "MAX_PAYLOAD_SIZE",
    "PROTOCOL_VERSION",
    "Ack",
    "ClockEstimate",
    "Command",
    "CommandOp",
    "DeviceKind",
    "EncodeError",
    "FirmwareBridgeError",
    "Frame",
    "FrameDecoder",
    "FrameError",
    "FrameErrorReason",
    "Heartbeat",
    "Hello",
    "HelloRequest",
    "Message",
    "MsgType",
    "Nack",
    "NackReason",
    "Samples",
    "SeqCheck",
    "SequenceTracker",
    "TimeSyncRequest",
    "TimeSyncResponse",
    "crc16",
    "encode_frame",
    "estimate_clock",
    "message_type",
    "parse_frame",
]
