"""Cloud ingest: MQTT → checks → time-series store → BOH core → acknowledgements.

- ``IngestWorker(store, applier, config, recorder=None)``: ``await worker.run(stop)``;
  counters in ``worker.stats`` (``IngestStats.as_dict()``);
- ``IngestConfig``: broker, protocol, session and batching parameters;
- ``check_message``: the pure per-message checks (decode, topic, event time);
- ``check_granted`` / ``pipeline_problems``: is the pipeline really working (``/health``).
"""

from bohsense.cloud.ingest._config import BrokerAddress, IngestConfig, parse_broker_url
from bohsense.cloud.ingest._health import ClientIdInUse, SubscriptionRefused, check_granted, pipeline_problems
from bohsense.cloud.ingest._stats import IngestStats
from bohsense.cloud.ingest._validate import Checked, check_message
from bohsense.cloud.ingest._worker import CommandNotSent, IngestWorker
from bohsense.contracts.backoff import Backoff

__all__ = [
    "Backoff",
    "BrokerAddress",
    "Checked",
    "ClientIdInUse",
    "CommandNotSent",
    "IngestConfig",
    "IngestStats",
    "IngestWorker",
    "SubscriptionRefused",
    "check_granted",
    "check_message",
    "parse_broker_url",
    "pipeline_problems",
]
