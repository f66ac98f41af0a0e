"""Is the pipeline working? Subscriptions the broker really granted, and signs of a stall.

No I/O: ``check_granted`` reads a SUBACK's reason codes, ``pipeline_problems`` reads the
counters. A SUBACK code of 0x80 or more is a refusal (MQTT 3.1.1: 0x80; MQTT 5: 0x80–0xA2,
e.g. 0x87 not authorised); a granted QoS below 1 is refused as well, since messages
delivered at QoS 0 cannot wait unacknowledged until they are committed (a broker with
``max_qos 0`` does that silently).
"""

from __future__ import annotations

from collections.abc import Sequence

from paho.mqtt.reasoncodes import ReasonCode

from bohsense.cloud.errors import CloudError
from bohsense.cloud.ingest._stats import IngestStats

__all__ = [
    "REQUIRED_QOS",
    "SESSION_TAKEN_OVER",
    "ClientIdInUse",
    "SubscriptionRefused",
    "check_granted",
    "pipeline_problems",
    "taken_over",
]

REQUIRED_QOS = 1
#: a connection closed this soon after subscribing counts as a short session
SHORT_SESSION_S = 2.0
#: short sessions in a row that suggest another client with the same client id
SHORT_SESSIONS_CLASH = 3
#: MQTT 5 DISCONNECT reason: another client connected with this client id
SESSION_TAKEN_OVER = 0x8E


class LinkError(CloudError):
    """A connection problem (the worker reconnects); ``rc`` is the broker's reason code
    (a CONNACK refusal, a DISCONNECT) when there is one."""

    def __init__(self, message: str, rc: ReasonCode | int | None = None) -> None:
        super().__init__(message)
        self.rc = rc


class ClientIdInUse(CloudError, RuntimeError):
    """Another client connected with this worker's client id and took over its session.

    Reconnecting would take the session back, and the other client would take it again:
    the worker stops instead (a configuration error: give every worker its own id)."""


def taken_over(exc: BaseException | None) -> bool:
    """Whether a disconnect was the broker's "session taken over" (MQTT 5)."""
    rc = getattr(exc, "rc", None)
    return isinstance(rc, ReasonCode) and rc.value == SESSION_TAKEN_OVER


class SubscriptionRefused(LinkError):
    """The broker refused a subscription or granted less than QoS 1 (the worker reconnects later)."""


def check_granted(topic_filter: str, granted: Sequence[int | ReasonCode]) -> None:
    """Raise ``SubscriptionRefused`` unless the SUBACK grants ``topic_filter`` at QoS 1 or more."""
    if len(granted) != 1:
        raise SubscriptionRefused(
            f"the broker answered the subscription to {topic_filter!r} with {len(granted)} codes"
        )
    (code,) = granted
    value = code.value if isinstance(code, ReasonCode) else int(code)
    if value >= 0x80:
        name = str(code) if isinstance(code, ReasonCode) else "Failure"
        raise SubscriptionRefused(
            f"the broker refused the subscription to {topic_filter!r}: 0x{value:02x} {name}"
        )
    if value < REQUIRED_QOS:
        raise SubscriptionRefused(
            f"the broker granted the subscription to {topic_filter!r} only at QoS {value};"
            f" ingest needs QoS {REQUIRED_QOS} (is the broker's max_qos set?)"
        )


def pipeline_problems(
    stats: IngestStats, now_ns: int, stall_after_s: float, client_id: str = ""
) -> list[str]:
    """Why the pipeline is not working, for ``/health`` (empty when it is)."""
    problems: list[str] = []
    steady = stats.connected_since_ns and now_ns - stats.connected_since_ns > 2 * SHORT_SESSION_S * 1e9
    if stats.short_sessions >= SHORT_SESSIONS_CLASH and not steady:
        problems.append(
            f"the broker closed the connection right after it was made {stats.short_sessions} times in a row:"
            f" another client uses client id {client_id!r}? (give every worker its own client id)"
        )
    if not stats.subscribed:
        why = stats.subscription_error or "not connected to the broker yet"
        problems.append(f"not subscribed: {why}")
    limit_ns = stall_after_s * 1e9
    if stats.oldest_unacked_ns and now_ns - stats.oldest_unacked_ns > limit_ns:
        age = (now_ns - stats.oldest_unacked_ns) / 1e9
        problems.append(
            f"oldest unacknowledged message waits for {age:.1f} s ({stats.pending_messages} pending)"
        )
    if stats.apply_failing_since_ns and now_ns - stats.apply_failing_since_ns > limit_ns:
        age = (now_ns - stats.apply_failing_since_ns) / 1e9
        problems.append(f"BOH core calls have failed for {age:.1f} s ({stats.apply_retries} retries so far)")
    return problems
