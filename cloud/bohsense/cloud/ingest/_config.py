"""How an ingest worker connects and batches (built from ``CloudSettings`` by the service)."""

from __future__ import annotations

from dataclasses import dataclass

from bohsense.contracts.broker import BrokerAddress, parse_broker_url

__all__ = ["BrokerAddress", "IngestConfig", "parse_broker_url"]


@dataclass(frozen=True, slots=True)
class IngestConfig:
    broker_url: str = "mqtt://127.0.0.1:1883"
    #: 5 (MQTT 5: clean_start False + session expiry, Receive Maximum) or 4 (MQTT 3.1.1:
    #: clean_session False; the broker's max_inflight_messages bounds what is in flight)
    mqtt_protocol: int = 5
    client_id: str = "bohsense-cloud-ingest"
    #: subscribe through ``$share/<group>/`` so several workers split the fleet
    shared_group: str | None = None
    session_expiry_s: int = 7 * 24 * 3600
    #: MQTT 5 Receive Maximum: unacknowledged QoS 1 messages the broker may send us
    receive_maximum: int = 1000
    keepalive_s: int = 30
    batch_max_readings: int = 5000
    batch_max_ms: float = 50.0
    #: also close a micro-batch after this many messages (bounds one made of rejects)
    batch_max_messages: int = 500
    max_future_ns: int = 300 * 10**9
    reconnect_initial_s: float = 0.1
    reconnect_max_s: float = 10.0
    retry_initial_s: float = 0.05
    retry_max_s: float = 5.0
    publish_acks: bool = True
    #: ``/health`` reports a stall when a message waits unacknowledged, or BOH calls keep
    #: failing, for longer than this
    stall_after_s: float = 60.0
    #: rejects kept per gateway: a token bucket of this rate and burst (``apply-failed`` exempt);
    #: the rest are counted (``quarantine_dropped``) and acknowledged
    quarantine_rate_per_s: float = 10.0
    quarantine_burst: int = 200
