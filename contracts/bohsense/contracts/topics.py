"""The MQTT topic tree, version 1: one table, ``CHANNELS``, that everything else reads.

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
    bohsense/v1/gw/{gateway}/alert      cloud → techs AlertNotice         QoS 1: technicians'
                                                      alerts of the gateway's site (its
                                                      assets, devices and itself); not
                                                      subscribed by the gateway

A store's channels, for people (``SITE_CHANNELS``; not a gateway's, so outside the tree
above)::

    bohsense/v1/site/{site}/alert       cloud → techs AlertNotice         QoS 1, not retained:
                                                      every alert of the store, whichever
                                                      gateway's; what a store's technician
                                                      app or Node-RED flow subscribes to

The AsyncAPI document (``bohsense contracts asyncapi``), the broker ACL (``bohsense
contracts acl``), the topic parser and the subscriptions of both sides are derived
from ``CHANNELS``; a channel added here appears in all of them.

A consumer that serves the whole fleet subscribes to the wildcard forms below; a
horizontally scaled cloud prefixes them with ``$share/<group>/`` (MQTT 5 shared
subscriptions) so that each batch reaches exactly one worker of the group.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import msgspec

from bohsense.contracts.errors import ContractError
from bohsense.contracts.schema import (
    AlertNotice,
    CloudAck,
    CommandResult,
    GatewayCommand,
    GatewayStatus,
    ReadingBatch,
)

__all__ = [
    "ALL_ALERTS",
    "ALL_READINGS",
    "ALL_RESULTS",
    "ALL_SITE_ALERTS",
    "ALL_STATUS",
    "CHANNELS",
    "KINDS",
    "PREFIX",
    "SITE_CHANNELS",
    "SITE_PREFIX",
    "Channel",
    "SiteChannel",
    "TopicError",
    "ack_topic",
    "alert_topic",
    "cloud_subscriptions",
    "cmd_topic",
    "gateway_subscriptions",
    "parse_topic",
    "readings_topic",
    "result_topic",
    "shared",
    "site_alert_topic",
    "status_topic",
    "validate_gateway_id",
    "validate_site_id",
]

PREFIX = "bohsense/v1/gw"
SITE_PREFIX = "bohsense/v1/site"


@dataclass(frozen=True, slots=True)
class Channel:
    """One topic of a gateway: who publishes it, what it carries, how it is delivered."""

    kind: str
    sender: Literal["gateway", "cloud"]
    payload: type[msgspec.Struct]
    qos: Literal[0, 1]
    retained: bool
    description: str
    #: whether the gateway subscribes to it (a cloud channel for people, such as technicians'
    #: alerts, is not the gateway's business)
    to_gateway: bool = True

    def topic(self, gateway: str) -> str:
        return f"{PREFIX}/{validate_gateway_id(gateway)}/{self.kind}"

    @property
    def wildcard(self) -> str:
        """The filter that matches this channel of every gateway."""
        return f"{PREFIX}/+/{self.kind}"


CHANNELS: tuple[Channel, ...] = (
    Channel("readings", "gateway", ReadingBatch, 1, False, "Batches of readings, in gateway sequence order."),
    Channel(
        "status",
        "gateway",
        GatewayStatus,
        1,
        True,
        "Birth (online) on connect, goodbye (offline) on clean shutdown, last will (lost) set at connect.",
    ),
    Channel(
        "ack",
        "cloud",
        CloudAck,
        1,
        True,
        "The cloud has durably applied every batch up to `upto`; the gateway may delete them from its outbox.",
    ),
    Channel(
        "cmd", "cloud", GatewayCommand, 1, False, "Commands to the gateway (configuration, device commands)."
    ),
    Channel(
        "result",
        "gateway",
        CommandResult,
        1,
        False,
        "The outcome of every command the gateway received, by the command's id.",
    ),
    Channel(
        "alert",
        "cloud",
        AlertNotice,
        1,
        False,
        "Alerts for technicians (opened, reopened, occurred, escalated, acknowledged, resolved),"
        " published after the change committed; at least once, newest `ts` per `alert_id` wins.",
        to_gateway=False,
    ),
)


@dataclass(frozen=True, slots=True)
class SiteChannel:
    """One topic of a store, published by the cloud for people (never a gateway's)."""

    kind: str
    payload: type[msgspec.Struct]
    qos: Literal[0, 1]
    retained: bool
    description: str

    def topic(self, site: str) -> str:
        return f"{SITE_PREFIX}/{validate_site_id(site)}/{self.kind}"

    @property
    def wildcard(self) -> str:
        """The filter that matches this channel of every store."""
        return f"{SITE_PREFIX}/+/{self.kind}"


#: not retained: a retained message is one per topic, so it would hold the store's last
#: alert notice, not the state of each alert; the open alerts are read from the API
SITE_CHANNELS: tuple[SiteChannel, ...] = (
    SiteChannel(
        "alert",
        AlertNotice,
        1,
        False,
        "Every alert notice of the store, whichever gateway's (the same notices as the"
        " gateways' alert channels); at least once, newest `ts` per `alert_id` wins.",
    ),
)
_BY_KIND = {c.kind: c for c in CHANNELS}
KINDS = frozenset(_BY_KIND)

ALL_READINGS = _BY_KIND["readings"].wildcard
ALL_STATUS = _BY_KIND["status"].wildcard
ALL_RESULTS = _BY_KIND["result"].wildcard

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


def gateway_subscriptions(gateway: str) -> list[str]:
    """The topics a gateway subscribes to: every channel the cloud sends it."""
    return [c.topic(gateway) for c in CHANNELS if c.sender == "cloud" and c.to_gateway]


def cloud_subscriptions() -> list[str]:
    """The filters a cloud worker subscribes to: every channel the gateways send."""
    return [c.wildcard for c in CHANNELS if c.sender == "gateway"]


class TopicError(ContractError):
    """A topic or gateway id that is not part of the v1 topic tree."""


def validate_gateway_id(gateway: str) -> str:
    if not _ID_RE.match(gateway):
        raise TopicError(
            f"gateway id {gateway!r} must be 1-64 characters of letters, digits, '_', '.', '-'"
            " and start with a letter or digit"
        )
    return gateway


def validate_site_id(site: str) -> str:
    """A store id that can be part of a topic (the gateway ids' rule: no ``/``, ``+``, ``#``)."""
    if not _ID_RE.match(site):
        raise TopicError(
            f"site id {site!r} must be 1-64 characters of letters, digits, '_', '.', '-'"
            " and start with a letter or digit to have a topic"
        )
    return site


def _topic(gateway: str, kind: str) -> str:
    return _BY_KIND[kind].topic(gateway)


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


def alert_topic(gateway: str) -> str:
    return _topic(gateway, "alert")


ALL_ALERTS = _BY_KIND["alert"].wildcard
ALL_SITE_ALERTS = SITE_CHANNELS[0].wildcard


def site_alert_topic(site: str) -> str:
    return SITE_CHANNELS[0].topic(site)


def shared(group: str, topic_filter: str) -> str:
    """The MQTT 5 shared-subscription form of ``topic_filter`` for ``group``."""
    return f"$share/{group}/{topic_filter}"


def parse_topic(topic: str) -> tuple[str, str]:
    """Split a concrete v1 topic into ``(gateway, kind)``; raise TopicError otherwise."""
    parts = topic.split("/")
    if len(parts) != 5 or "/".join(parts[:3]) != PREFIX or parts[4] not in KINDS:
        raise TopicError(f"topic {topic!r} is not a bohsense/v1 gateway topic")
    return validate_gateway_id(parts[3]), parts[4]
