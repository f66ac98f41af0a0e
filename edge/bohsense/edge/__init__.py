"""bohsense store gateway: device drivers → batches → durable outbox → MQTT.

Public surface (imported lazily, so ``bohsense --help`` does not load paho or SQLite)::

    settings = load_settings("gateway.toml")        # GatewaySettings, ConfigError
    agent = EdgeAgent(settings)
    await agent.run()                                # until agent.stop()
    agent.counters()                                 # {"readings_in": …, "published": …}

Modules: ``settings`` (GatewaySettings), ``batcher`` (sink buffer, batching),
``outbox`` + ``outbox_state`` (durable SQLite outbox, entry state table), ``transport``
(paho behind a tiny interface), ``uplink`` (publish window, acks, commands, status),
``agent`` (composition root), ``cli`` (``bohsense edge …``), ``errors`` (exception tree),
``drivers`` (one driver per device kind).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bohsense.edge.agent import EdgeAgent
    from bohsense.edge.errors import ConfigError, EdgeError, OutboxError, UplinkError
    from bohsense.edge.settings import GatewaySettings, load_settings

__all__ = [
    "ConfigError",
    "EdgeAgent",
    "EdgeError",
    "GatewaySettings",
    "OutboxError",
    "UplinkError",
    "load_settings",
]

_WHERE = {
    "EdgeAgent": "bohsense.edge.agent",
    "ConfigError": "bohsense.edge.errors",
    "EdgeError": "bohsense.edge.errors",
    "OutboxError": "bohsense.edge.errors",
    "UplinkError": "bohsense.edge.errors",
    "GatewaySettings": "bohsense.edge.settings",
    "load_settings": "bohsense.edge.settings",
}


def __getattr__(name: str) -> Any:
    try:
        module = _WHERE[name]
    except KeyError:
        raise AttributeError(f"module 'bohsense.edge' has no attribute {name!r}") from None
    return getattr(importlib.import_module(module), name)
