"""The MQTT topic tree, version 1.

Every topic starts with ``bohsense/v1/`` and names the gateway that owns it::

    bohsense/v1/gw/{gateway}/readings   edge → cloud  ReadingBatch        QoS 1
    bohsense/v1/gw/{gateway}/status     edge → cloud  GatewayStatus       QoS 1, retained;
                                                      the broker publishes the last-will
                                                      copy (state "lost") when the
                                                      gateway dies without a clean goodbye
    bohsense/v1/gw/{gateway}/ack        cloud → edge  CloudAck            QoS 1, retained
    bohsense/v1/gw/{gateway}/cmd        cloud → edge  GatewayCommand      QoS 1
    bohsense/v1/gw/{gateway}/result     edge → cloud  CommandResult       QoS 1: the outcome of
                                                      every command received, by its id

A consumer that serves the whole fleet subscribes to the wildcard forms below; a
horizontally scaled cloud prefixes them with ``$share/<group>/`` (MQTT 5 shared
subscriptions) so that each batch reaches exactly one worker of the group.
"""

from __future__ import annotations

import re

__all__ = [
    "ALL_READINGS",
    "ALL_RESULTS",
    "ALL_STATUS",
    "PREFIX",
    "TopicError",
    "ack_topic",
    "cmd_topic",
    "parse_topic",
    "readings_topic",
    "result_topic",
    "shared",
    "status_topic",
    "validate_gateway_id",
]

PREFIX = "bohsense/v1/gw"
ALL_READINGS = f"{PREFIX}/+/readings"
ALL_STATUS = f"{PREFIX}/+/status"
ALL_RESULTS = f"{PREFIX}/+/result"

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
KINDS = frozenset({"readings", "status", "ack", "cmd", "result"})


class TopicError(ValueError):
    """A topic or gateway id that is not part of the v1 topic tree."""


def validate_gateway_id(gateway: str) -> str:
    if not _ID_RE.match(gateway):
        raise TopicError(
            f"gateway id {gateway!r} must be 1-64 characters of letters, digits, '_', '.', '-'"
            " and start with a letter or digit"
        )
    return gateway


def _topic(gateway: str, kind: str) -> str:
    return f"{PREFIX}/{validate_gateway_id(gateway)}/{kind}"


def readings_topic(gateway: str) -> str:
    return _topic(gateway, "readings")


def status_topic(gateway: str) -> str:
    return _topic(gateway, "status")


def ack_topic(gateway: str) -> str:
    return _topic(gateway, "ack")


def cmd_topic(gateway: str) -> str:
    return _topic(gateway, "cmd")


def result_topic(gateway: str) -> str:
    return _topic(gateway, "result")


def shared(group: str, topic_filter: str) -> str:
    """The MQTT 5 shared-subscription form of ``topic_filter`` for ``group``."""
    return f"$share/{group}/{topic_filter}"


def parse_topic(topic: str) -> tuple[str, str]:
    """Split a concrete v1 topic into ``(gateway, kind)``; raise TopicError otherwise."""
    parts = topic.split("/")
    if len(parts) != 5 or "/".join(parts[:3]) != PREFIX or parts[4] not in KINDS:
        raise TopicError(f"topic {topic!r} is not a bohsense/v1 gateway topic")
    return validate_gateway_id(parts[3]), parts[4]
