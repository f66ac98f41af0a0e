"""The serial wire protocol between device firmware and the gateway (no I/O).

Bytes in, events out; events in, bytes out. The same core serves the gateway's serial
driver and the device simulators. The contract for firmware is ``PROTOCOL.md`` next to
this package.

Exceptions::

    FirmwareBridgeError
     └── EncodeError      a message the wire format cannot carry

Waveform blocks larger than a frame travel as WAVEFORM fragments: ``split_waveform`` on the
sending side, ``WaveformAssembler`` on the receiving side (a lost, duplicated or misplaced
fragment makes the block ``lost``, never a wrong block).

Bad bytes from a peer are returned as ``FrameError`` values (with a ``FrameErrorReason``)
by ``FrameDecoder.feed``, never raised; the decoder counts them by reason, and skips to the
first delimiter when it attaches mid-stream (``FrameDecoder(mid_stream=True)``).
"""

from bohsense.firmware_bridge._codec import (
    MAX_BLOCK_SAMPLES,
    MAX_CHANNELS,
    MAX_ENCODED_SIZE,
    MAX_FRAGMENT_SAMPLES,
    MAX_FRAME_SIZE,
    MAX_PAYLOAD_SIZE,
    MAX_SAMPLE_RATE_HZ,
    MAX_SCALE_G,
    MIN_SAMPLE_RATE_HZ,
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
    Axis,
    Command,
    CommandOp,
    DeviceKind,
    DeviceStatus,
    Heartbeat,
    Hello,
    HelloRequest,
    Message,
    MsgType,
    Nack,
    NackReason,
    Samples,
    StatusFlag,
    Temperature,
    TimeSyncRequest,
    TimeSyncResponse,
    WaveformFragment,
)
from bohsense.firmware_bridge._seq import SeqCheck, SequenceTracker
from bohsense.firmware_bridge._timesync import ClockEstimate, estimate_clock
from bohsense.firmware_bridge._waveform import (
    AssembledBlock,
    BlockLoss,
    Waveform,
    WaveformAssembler,
    split_waveform,
)

__all__ = [
    "MAX_BLOCK_SAMPLES",
    "MAX_CHANNELS",
    "MAX_ENCODED_SIZE",
    "MAX_FRAGMENT_SAMPLES",
    "MAX_FRAME_SIZE",
    "MAX_PAYLOAD_SIZE",
    "MAX_SAMPLE_RATE_HZ",
    "MAX_SCALE_G",
    "MIN_SAMPLE_RATE_HZ",
    "PROTOCOL_VERSION",
    "Ack",
    "AssembledBlock",
    "Axis",
    "BlockLoss",
    "ClockEstimate",
    "Command",
    "CommandOp",
    "DeviceKind",
    "DeviceStatus",
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
    "StatusFlag",
    "Temperature",
    "TimeSyncRequest",
    "TimeSyncResponse",
    "Waveform",
    "WaveformAssembler",
    "WaveformFragment",
    "crc16",
    "encode_frame",
    "estimate_clock",
    "message_type",
    "parse_frame",
    "split_waveform",
]
