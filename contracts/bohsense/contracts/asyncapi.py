"""The AsyncAPI 2.6 document of the v1 MQTT interface, generated from the code.

``docs/asyncapi.json`` is this document; a test keeps the two equal, so the published
interface cannot drift from what edge and cloud actually speak. Regenerate with
``bohsense contracts asyncapi > docs/asyncapi.json``.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import msgspec

from bohsense.contracts import topics
from bohsense.contracts.schema import (
    MAX_PAYLOAD_BYTES,
    SCHEMA_VERSION,
    CloudAck,
    GatewayCommand,
    GatewayStatus,
    ReadingBatch,
)

__all__ = ["asyncapi_document", "register"]

_CHANNELS: list[tuple[str, str, type[msgspec.Struct], str, str]] = [
    # (kind, direction seen from the gateway, payload, qos/retain note, description)
    ("readings", "publish", ReadingBatch, "QoS 1", "Batches of readings, in gateway sequence order."),
    (
        "status",
        "publish",
        GatewayStatus,
        "QoS 1, retained",
        "Birth (online) on connect, goodbye (offline) on clean shutdown, last will (lost) set at connect.",
    ),
    (
        "ack",
        "subscribe",
        CloudAck,
        "QoS 1, retained",
        "The cloud has durably applied every batch up to `upto`; the gateway may delete them from its outbox.",
    ),
    (
        "cmd",
        "subscribe",
        GatewayCommand,
        "QoS 1",
        "Commands to the gateway (configuration, device commands).",
    ),
]


def asyncapi_document() -> dict[str, Any]:
    structs = [c[2] for c in _CHANNELS]
    _, components = msgspec.json.schema_components(structs, ref_template="#/components/schemas/{name}")
    channels: dict[str, Any] = {}
    for kind, direction, struct, qos, description in _CHANNELS:
        channels[f"{topics.PREFIX}/{{gateway}}/{kind}"] = {
            "description": f"{description} ({qos}.)",
            "parameters": {"gateway": {"$ref": "#/components/parameters/gateway"}},
            direction: {
                "operationId": f"{direction}{struct.__name__}",
                "message": {
                    "name": struct.__name__,
                    "contentType": "application/msgpack",
                    "description": "MessagePack by default; the same structure as a JSON object is also accepted.",
                    "payload": {"$ref": f"#/components/schemas/{struct.__name__}"},
                },
            },
        }
    return {
        "asyncapi": "2.6.0",
        "info": {
            "title": "bohsense gateway ⇄ cloud MQTT interface",
            "version": f"{SCHEMA_VERSION}.0.0",
            "description": (
                "Every time is integer nanoseconds since the Unix epoch, UTC; `ts` is the device's event time. "
                "Every batch carries (gateway, seq); the cloud applies each exactly once. "
                f"Payloads larger than {MAX_PAYLOAD_BYTES} bytes are rejected. "
                "Operations are described from the gateway's side: it publishes readings and status, "
                "and subscribes to ack and cmd."
            ),
            "license": {"name": "GPL-3.0-or-later"},
        },
        "defaultContentType": "application/msgpack",
        "channels": channels,
        "components": {
            "schemas": components,
            "parameters": {
                "gateway": {
                    "description": "Gateway id: 1-64 letters, digits, '_', '.', '-'.",
                    "schema": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.\\-]{0,63}$"},
                }
            },
        },
    }


def _cmd_asyncapi(args: argparse.Namespace) -> int:
    print(json.dumps(asyncapi_document(), indent=2, ensure_ascii=False))
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("contracts", help="the gateway-cloud interface")
    s = p.add_subparsers(dest="contracts_command", metavar="ACTION", required=True)
    a = s.add_parser("asyncapi", help="print the AsyncAPI document of the MQTT interface")
    a.set_defaults(handler=_cmd_asyncapi)
