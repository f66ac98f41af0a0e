"""bohsense contracts: what edge, cloud and simulators agree on.

- ``topics``: the versioned MQTT topic tree;
- ``schema``: the v1 payload structs (frozen, validated on decode);
- ``codec``: bytes ↔ structs, with ``PayloadError`` carrying a precise reason;
- ``timeutil``: UTC nanosecond times;
- ``logs``: structured logging for every daemon.
"""

from bohsense.contracts.codec import (
    Encoding,
    PayloadError,
    decode_ack,
    decode_batch,
    decode_command,
    decode_result,
    decode_status,
    encode,
)
from bohsense.contracts.schema import (
    SCHEMA_VERSION,
    CloudAck,
    CommandResult,
    GatewayCommand,
    GatewayStatus,
    Reading,
    ReadingBatch,
)
from bohsense.contracts.topics import TopicError

__all__ = [
    "SCHEMA_VERSION",
    "CloudAck",
    "CommandResult",
    "Encoding",
    "GatewayCommand",
    "GatewayStatus",
    "PayloadError",
    "Reading",
    "ReadingBatch",
    "TopicError",
    "decode_ack",
    "decode_batch",
    "decode_command",
    "decode_result",
    "decode_status",
    "encode",
]
