"""The exception root of ``bohsense-contracts`` and the reasons its refusals carry.

Every error the contracts raise is a ``ContractError`` (a ``ValueError``: bad input,
never a bug), so a caller that only needs to know "the wire said no" catches one class.
A refusal that is recorded (quarantined, counted, answered) carries a ``Reason``: a
string enum, so it compares and stores as the short, sortable string it is
(``"schema"``), and a new reason is one line here rather than a literal in several places.
"""

from __future__ import annotations

import enum

__all__ = ["ContractError", "Reason", "ReasonedError"]


class ContractError(ValueError):
    """Root of every error raised by ``bohsense.contracts``."""


class Reason(enum.StrEnum):
    """Why a payload, a topic or an event was refused."""

    #: the payload has no bytes
    EMPTY = "empty"
    #: the payload is larger than ``MAX_PAYLOAD_BYTES``
    OVERSIZED = "oversized"
    #: neither a JSON object nor a MessagePack map
    NOT_AN_OBJECT = "not-an-object"
    #: not decodable in its encoding
    MALFORMED = "malformed"
    #: decodable, but not a valid message of its kind (types, ranges, unknown fields)
    SCHEMA = "schema"
    #: the topic is not a bohsense/v1 gateway topic the receiver consumes
    TOPIC = "topic"
    #: a message names another gateway than its topic
    TOPIC_MISMATCH = "topic-mismatch"
    #: a reading's or an event's time is impossible (before 2000, far in the future)
    BAD_TIME = "bad-time"
    #: a reading's value is not a finite number
    BAD_VALUE = "bad-value"
    #: an event of a kind that is not registered
    UNKNOWN_EVENT_KIND = "unknown-event-kind"
    #: an event whose attributes do not match its kind's schema
    EVENT_ATTRS = "event-attrs"
    #: an event whose device name is not a valid name
    EVENT_DEVICE = "event-device"


class ReasonedError(ContractError):
    """A refusal with a ``reason`` (sortable) and a ``detail`` (for a person)."""

    def __init__(self, reason: Reason | str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
