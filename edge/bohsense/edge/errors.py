"""The edge agent's exceptions, in one tree::

    EdgeError                     anything the edge agent raises on purpose
    ├── ConfigError               gateway.toml or the environment is invalid or unsafe (fail fast)
    ├── OutboxError               the durable outbox cannot be opened or written
    │   └── OutboxStateError      an entry transition the state table does not allow
    ├── UplinkError               the MQTT uplink was misconfigured (bad TLS files, bad URL)
    ├── DriverError               a driver that cannot be built (bad option), or a device that
    │                             cannot be reached for a command (not connected, no answer)
    ├── CommandRefused            a device command refused by the gateway before it is sent
    └── InterpreterStateError     an interpreter snapshot that cannot be restored

``CommandRefused`` lives with its reasons in ``bohsense.edge.drivers.base`` (``DriverError``
is re-exported there);
``InterpreterStateError`` by ``bohsense.edge.interpreters``. Remote
protocol errors (a malformed ack or command from the cloud) are never raised: they are
rejected with the ``PayloadError.reason`` of ``bohsense.contracts.codec``, counted and
logged, and the agent keeps going.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DriverError",
    "EdgeError",
    "InterpreterStateError",
    "OutboxError",
    "OutboxFullError",
    "OutboxStateError",
    "UplinkError",
]


class EdgeError(Exception):
    """Base of every exception the edge agent raises on purpose."""


class ConfigError(EdgeError):
    """The gateway configuration is invalid or unsafe; the message says which key and why."""


class OutboxError(EdgeError):
    """The durable outbox cannot be opened or written."""


class OutboxFullError(OutboxError):
    """The disk is full and the outbox held nothing more it could drop to make room: the
    batch was dropped and counted (``dropped_*`` and ``lost_*``)."""


class OutboxStateError(OutboxError):
    """An outbox entry transition that the state table does not allow."""


class UplinkError(EdgeError):
    """The MQTT uplink cannot be set up from its settings."""


class DriverError(EdgeError):
    """A driver that cannot be built from its configuration (bad port, bad option), or a
    device that cannot be reached for a command (not connected, no answer)."""


class InterpreterStateError(EdgeError):
    """An interpreter snapshot that cannot be restored (malformed, or not the interpreter's)."""
