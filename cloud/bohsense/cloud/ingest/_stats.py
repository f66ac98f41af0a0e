"""Ingest counters, read by the API's ``/health`` and by the benchmark."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

__all__ = ["IngestStats"]


@dataclass(slots=True)
class IngestStats:
    messages: int = 0  # MQTT messages received (readings and status)
    status_messages: int = 0  # gateway status messages recorded
    command_results: int = 0  # command results recorded
    commands_sent: int = 0  # commands published to gateways
    alert_notices: int = 0  # technicians' alert notices published
    batches: int = 0  # reading batches accepted (decoded and checked)
    commits: int = 0  # micro-batches committed (stored, applied, acknowledged)
    readings_stored: int = 0  # points written to the time-series store
    batches_applied: int = 0  # batches the BOH core applied for the first time
    readings_applied: int = 0  # readings of those batches (each applied exactly once)
    events: int = 0  # events accepted (decoded by kind and checked)
    events_applied: int = 0  # events of the batches applied (each stored and handled once)
    duplicates: int = 0  # batches the BOH core had applied before (redelivery, replay)
    quarantined: int = 0  # quarantine items (whole payloads or single readings)
    quarantined_by_reason: Counter[str] = field(default_factory=Counter)
    quarantine_dropped: int = 0  # rejects not kept: over their gateway's rate (counted, acknowledged)
    quarantine_dropped_by_reason: Counter[str] = field(default_factory=Counter)
    quarantine_failed: int = 0  # rejects the BOH core failed to store for their data (logged, dropped)
    quarantine_over_quota: int = 0  # rejects the BOH core did not keep: their gateway's quota is full
    batches_rejected_settled: int = 0  # batches rejected whole whose seq was settled (and acknowledged)
    storage_retries: int = 0  # writes retried because the store was unavailable
    apply_retries: int = 0  # BOH core calls retried after an error
    apply_failing_since_ns: int = 0  # wall time the current run of failing BOH calls began; 0: none
    acks_published: int = 0  # CloudAck messages published
    mqtt_acks: int = 0  # MQTT messages acknowledged to the broker after commit
    reconnects: int = 0  # broker connections lost or refused
    pending_messages: int = 0  # received, not yet acknowledged
    lag_ms: float = 0.0  # last commit: first message received → acknowledged
    event_lag_ms: float = 0.0  # last commit: newest batch's ``sent`` → acknowledged
    storage_down: bool = False
    subscribed: bool = False  # every subscription granted at QoS 1 on the current connection
    subscription_error: str = ""  # why the last subscription failed (empty once one succeeds)
    connected_since_ns: int = 0  # wall time the current connection subscribed; 0: not connected
    short_sessions: int = 0  # connections in a row the broker closed soon after they subscribed
    oldest_unacked_ns: int = 0  # wall time the oldest message still unacknowledged arrived; 0: none

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {name: getattr(self, name) for name in self.__slots__}
        out["quarantined_by_reason"] = dict(self.quarantined_by_reason)
        out["quarantine_dropped_by_reason"] = dict(self.quarantine_dropped_by_reason)
        return out
