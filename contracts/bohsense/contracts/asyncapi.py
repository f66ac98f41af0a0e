"""The AsyncAPI 2.6 document of the v1 MQTT interface, generated from the code.

``docs/asyncapi.json`` is this document; a test keeps the two equal, so the published
interface cannot drift from what edge and cloud actually speak. Regenerate with
``bohsense contracts asyncapi > docs/asyncapi.json``.
"""

from __future__ import annotations

import argparse
import inspect
import json
from typing import Any

import msgspec

from bohsense.contracts import topics
from bohsense.contracts.events import EVENT_KINDS
from bohsense.contracts.schema import MAX_PAYLOAD_BYTES, SCHEMA_VERSION

__all__ = ["asyncapi_document", "mosquitto_acl", "register"]


def _struct_types(roots: list[type[msgspec.Struct]]) -> dict[str, type[msgspec.Struct]]:
    """Every Struct reachable from ``roots``, by name (the names the schema components use)."""
    found: dict[str, type[msgspec.Struct]] = {}

    def walk(t: msgspec.inspect.Type) -> None:
        if isinstance(t, msgspec.inspect.StructType):
            if t.cls.__name__ in found:
                return
            found[t.cls.__name__] = t.cls
            for f in t.fields:
                walk(f.type)
        for attr in ("item_type", "key_type", "value_type"):
            sub = getattr(t, attr, None)
            if isinstance(sub, msgspec.inspect.Type):
                walk(sub)
        for sub in getattr(t, "types", ()) or ():
            if isinstance(sub, msgspec.inspect.Type):
                walk(sub)

    for info in msgspec.inspect.multi_type_info(roots):
        walk(info)
    return found


def _schema_components(roots: list[type[msgspec.Struct]]) -> dict[str, Any]:
    """msgspec's JSON schemas, with every description taken from the code, not the library.

    How a docstring becomes a description is a formatting choice that msgspec has changed
    between releases (0.23 dedents, 0.22 did not); the published document must depend on
    the code alone, so descriptions are rebuilt here with ``inspect.cleandoc``.
    """
    _, components = msgspec.json.schema_components(roots, ref_template="#/components/schemas/{name}")
    for name, cls in _struct_types(roots).items():
        schema = components.get(name)
        if schema is None:
            continue
        doc = inspect.cleandoc(cls.__doc__) if cls.__doc__ else ""
        if doc:
            schema["description"] = doc
        else:
            schema.pop("description", None)
    return dict(components)


def _event_kinds() -> dict[str, Any]:
    """Each registered event kind: the schema of its ``attrs``, and whether it is urgent.

    An event travels as ``[device, kind, ts, attrs]`` inside a ``ReadingBatch``; its
    ``attrs`` is decoded by ``kind`` against the schema named here.
    """
    return {
        k.name: {
            "description": k.description,
            "urgent": k.urgent,
            "attrs": {"$ref": f"#/components/schemas/{k.attrs.__name__}"},
        }
        for k in EVENT_KINDS
    }


def asyncapi_document() -> dict[str, Any]:
    structs = [c.payload for c in topics.CHANNELS]
    structs += [k.attrs for k in EVENT_KINDS if k.attrs not in structs]
    components = _schema_components(structs)
    channels: dict[str, Any] = {}
    for c in topics.CHANNELS:
        direction = "publish" if c.sender == "gateway" else "subscribe"
        delivery = f"QoS {c.qos}" + (", retained" if c.retained else "")
        name = c.payload.__name__
        channels[f"{topics.PREFIX}/{{gateway}}/{c.kind}"] = {
            "description": f"{c.description} ({delivery}.)",
            "parameters": {"gateway": {"$ref": "#/components/parameters/gateway"}},
            direction: {
                "operationId": f"{direction}{name}",
                "message": {
                    "name": name,
                    "contentType": "application/msgpack" if c.to_gateway else "application/json",
                    "description": "MessagePack by default; the same structure as a JSON object is also accepted."
                    if c.to_gateway
                    else "A JSON object (UTF-8).",
                    "payload": {"$ref": f"#/components/schemas/{name}"},
                },
            },
        }
    for sc in topics.SITE_CHANNELS:
        name = sc.payload.__name__
        delivery = f"QoS {sc.qos}" + (", retained" if sc.retained else ", not retained")
        channels[f"{topics.SITE_PREFIX}/{{site}}/{sc.kind}"] = {
            "description": f"{sc.description} ({delivery}.)",
            "parameters": {"site": {"$ref": "#/components/parameters/site"}},
            "subscribe": {
                "operationId": f"subscribeSite{name}",
                "message": {
                    "name": name,
                    "contentType": "application/json",
                    "description": "A JSON object (UTF-8).",
                    "payload": {"$ref": f"#/components/schemas/{name}"},
                },
            },
        }
    published = ", ".join(c.kind for c in topics.CHANNELS if c.sender == "gateway")
    subscribed = ", ".join(c.kind for c in topics.CHANNELS if c.sender == "cloud" and c.to_gateway)
    people = ", ".join(
        [c.kind for c in topics.CHANNELS if not c.to_gateway]
        + [f"site/{{site}}/{sc.kind}" for sc in topics.SITE_CHANNELS]
    )
    return {
        "asyncapi": "2.6.0",
        "info": {
            "title": "bohsense gateway ⇄ cloud MQTT interface",
            "version": f"{SCHEMA_VERSION}.0.0",
            "description": (
                "Every time is integer nanoseconds since the Unix epoch, UTC; `ts` is the device's event time. "
                "Every batch carries (gateway, seq); the cloud applies each exactly once. "
                f"Payloads larger than {MAX_PAYLOAD_BYTES} bytes are rejected. "
                f"Operations are described from the gateway's side: it publishes {published}, "
                f"and subscribes to {subscribed}. "
                "A batch carries typed events beside its readings, each `[device, kind, ts, attrs]`; "
                "`components.x-event-kinds` lists every registered kind with the schema of its attrs. "
                "An event of an unknown kind, or with attrs that do not match, is refused on its own. "
                f"The cloud also publishes {people} for technicians (not subscribed by gateways)."
            ),
            "license": {"name": "GPL-3.0-or-later"},
        },
        "defaultContentType": "application/msgpack",
        "channels": channels,
        "components": {
            "schemas": components,
            "x-event-kinds": _event_kinds(),
            "parameters": {
                "gateway": {
                    "description": "Gateway id: 1-64 letters, digits, '_', '.', '-'.",
                    "schema": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.\\-]{0,63}$"},
                },
                "site": {
                    "description": "Store (site) id: 1-64 letters, digits, '_', '.', '-'.",
                    "schema": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.\\-]{0,63}$"},
                },
            },
        },
    }


def mosquitto_acl(cloud_user: str = "bohsense-cloud", technician_user: str = "bohsense-technician") -> str:
    """The Mosquitto ACL for the v1 topic tree, derived from ``topics.CHANNELS``.

    A gateway connects with its gateway id as MQTT username and may touch only its own
    topics (``%u``): write what it sends, read what the cloud sends it. The cloud user
    reads every gateway's uplink channels and writes every downlink channel. Anything
    else is denied (Mosquitto denies what no line grants).
    """
    lines = [
        "# Mosquitto ACL for bohsense, generated from the topic table: `bohsense contracts acl`.",
        "# A gateway's MQTT username is its gateway id; it may touch only its own topics.",
        "# Deny is the default: a topic no line grants is refused.",
        "",
        f"user {cloud_user}",
    ]
    for c in topics.CHANNELS:
        access = "read" if c.sender == "gateway" else "write"
        lines.append(f"topic {access} {c.wildcard}")
    lines += [f"topic write {sc.wildcard}" for sc in topics.SITE_CHANNELS]
    lines.append("")
    lines.append("# technicians' clients: read the channels the cloud publishes for people")
    lines.append(f"user {technician_user}")
    for c in topics.CHANNELS:
        if not c.to_gateway:
            lines.append(f"topic read {c.wildcard}")
    lines += [f"topic read {sc.wildcard}" for sc in topics.SITE_CHANNELS]
    lines.append("")
    lines.append("# every gateway (pattern lines apply to every user)")
    for c in topics.CHANNELS:
        access = "write" if c.sender == "gateway" else "read"
        lines.append(f"pattern {access} {topics.PREFIX}/%u/{c.kind}")
    return "\n".join(lines) + "\n"


def _cmd_acl(args: argparse.Namespace) -> int:
    print(mosquitto_acl(args.cloud_user), end="")
    return 0


def _cmd_asyncapi(args: argparse.Namespace) -> int:
    print(json.dumps(asyncapi_document(), indent=2, ensure_ascii=False))
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("contracts", help="the gateway-cloud interface")
    s = p.add_subparsers(dest="contracts_command", metavar="ACTION", required=True)
    a = s.add_parser("asyncapi", help="print the AsyncAPI document of the MQTT interface")
    a.set_defaults(handler=_cmd_asyncapi)
    acl = s.add_parser("acl", help="print the Mosquitto ACL of the topic tree (deploy/mosquitto/acl)")
    acl.add_argument("--cloud-user", default="bohsense-cloud", help="the cloud workers' MQTT username")
    acl.set_defaults(handler=_cmd_acl)
