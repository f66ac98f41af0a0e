"""The OpenAPI document, made complete where FastAPI leaves it short.

- Every error answer carries the one error model, ``Problem`` (RFC 9457), as
  ``application/problem+json``; the answers every operation of a kind can give are added
  where a router did not list them: 404 for an operation naming a resource in its path,
  400 (body cannot be parsed) and 413 (body over the limit) for one that takes a body,
  500 (an unhandled failure) for all.
- Operation ids are the operations' function names in camelCase (``listAlerts``): stable
  across releases as long as the function keeps its name, and unique (checked here).
- Every schema has a description and an example (``_schemas``).
- A list (an operation taking ``cursor``) documents its ``Link`` header.
- Every operation has a description (its docstring, else its summary) and the document
  lists its tags, its server and a contact, as the OpenAPI ruleset asks.

A tuple (``prefixItems``) gets an ``items`` as well, which OpenAPI tools expect. FastAPI's OpenAPI model keeps ``minimum``/``maximum`` as floats, which turns the 64-bit
bounds into 2^63 (a value the API refuses); they are written back as the exact integers.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from ._errors import PROBLEM_JSON
from ._paging import LINK_HEADER
from ._schemas import complete_schemas

__all__ = ["TAGS", "document_statuses", "operation_id"]

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_EXACT = {float(INT64_MIN): INT64_MIN, float(INT64_MAX): INT64_MAX}
_PROBLEM_REF = "#/components/schemas/Problem"
_BY_PATH = {"404": "no such resource"}
_BY_BODY = {"400": "the body cannot be parsed", "413": "the body is larger than the limit"}
_ALWAYS = {"500": "the server failed; nothing of its internals is told"}

#: every tag an operation may carry, with what it groups
TAGS: dict[str, str] = {
    "health": "Liveness, readiness, versions and metrics",
    "auth": "Sign-in (OAuth2 password grant), refresh, the caller, sign-out",
    "users": "Users and API keys (admin)",
    "fleet": "Gateways and the devices they report",
    "catalog": "Sites, SKUs, gateways, assets and stock locations",
    "commands": "Commands sent to gateways over MQTT",
    "readings": "Sensor readings from the time-series store",
    "events": "Device events the BOH core applied",
    "stock": "Sensed stock per location, outages and the out-of-stock heat map",
    "inventory": "RFID item-level inventory per zone",
    "alerts": "The technicians' alert feed",
    "work orders": "Maintenance work orders",
    "replenishment": "Replenishment proposals with their explanation",
    "records": "Audit trail, quarantine, summary and the change feed",
    "feeds": "Live feeds of alerts, work orders, stock and proposals (Server-Sent Events, WebSocket)",
    "webhooks": "Outgoing webhook deliveries",
    "book stock": "Point-of-sale transactions and the book-stock ledger",
    "kpis": "An asset's health (score, state, spectrum) and the KPIs of each store (MTTR, MTBF, in-stock rate)",
    "commission": "Commissioning a store: its hand-over sheet, the gateway's login and config, the checklist",
}


def operation_id(route: APIRoute) -> str:
    """``list_alerts`` -> ``listAlerts``."""
    head, *rest = route.name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def _problem_content(entry: dict[str, Any]) -> None:
    """Whatever a router declared for an error answer is served as problem+json."""
    content = entry.get("content") or {}
    schema = (content.get("application/json") or content.get(PROBLEM_JSON) or {}).get("schema")
    if not schema or schema.get("$ref") in (None, "#/components/schemas/HTTPValidationError"):
        schema = {"$ref": _PROBLEM_REF}
    entry["content"] = {PROBLEM_JSON: {"schema": schema}}


def _add(responses: dict[str, Any], extra: dict[str, str]) -> None:
    for code, description in extra.items():
        responses.setdefault(code, {"description": description})


def _exact_bounds(node: Any) -> None:
    if isinstance(node, dict):
        prefix = node.get("prefixItems")
        if node.get("type") == "array" and prefix and "items" not in node:
            # a tuple: OpenAPI tools want "items" too; its bounds keep it to the tuple's length
            numeric = all(p.get("type") in ("integer", "number") for p in prefix)
            node["items"] = {"type": "number"} if numeric else {}
        if node.get("type") == "integer":
            for key in ("minimum", "maximum"):
                value = node.get(key)
                if isinstance(value, float) and value in _EXACT:
                    node[key] = _EXACT[value]
        for child in node.values():
            _exact_bounds(child)
    elif isinstance(node, list):
        for child in node:
            _exact_bounds(child)


def _complete(doc: dict[str, Any]) -> None:
    seen: dict[str, str] = {}
    used_tags: set[str] = set()
    for path, item in doc.get("paths", {}).items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            op_id = operation.get("operationId", "")
            if op_id in seen:
                raise ValueError(f"operation id {op_id!r} of {where} is also that of {seen[op_id]}")
            seen[op_id] = where
            if not operation.get("description"):
                operation["description"] = operation.get("summary") or where
            used_tags.update(operation.get("tags") or [])
            responses = operation.setdefault("responses", {})
            if "{" in path:
                _add(responses, _BY_PATH)
            if "requestBody" in operation:
                _add(responses, _BY_BODY)
            _add(responses, _ALWAYS)
            if any(
                p.get("name") == "cursor" and p.get("in") == "query" for p in operation.get("parameters", [])
            ):
                responses.get("200", {}).setdefault("headers", {}).update(LINK_HEADER)
            for code, entry in responses.items():
                if code[:1] in ("4", "5"):
                    _problem_content(entry)
    unknown = used_tags - set(TAGS)
    if unknown:
        raise ValueError(f"tags {sorted(unknown)} are not described in TAGS")
    doc["tags"] = [{"name": t, "description": d} for t, d in TAGS.items() if t in used_tags]
    schemas = doc.get("components", {}).get("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    complete_schemas(schemas)
    info = doc.setdefault("info", {})
    info.setdefault(
        "description",
        "Stock, alerts, work orders and replenishment of stores. Errors are RFC 9457 problems "
        "(application/problem+json); lists are paged with an opaque cursor and a Link header; "
        "times are ISO 8601 in UTC next to their integer nanoseconds. See docs/api.md.",
    )
    info.setdefault("contact", {"name": "bohsense", "url": "https://bohsense.dev"})
    info.setdefault("license", {"name": "GPL-3.0-or-later", "identifier": "GPL-3.0-or-later"})
    doc.setdefault("servers", [{"url": "/", "description": "this server"}])


def document_statuses(app: FastAPI) -> None:
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        doc = build()
        _complete(doc)
        _exact_bounds(doc)
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
