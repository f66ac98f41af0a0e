"""The answers every operation of a kind can give, added to the OpenAPI document where
a router did not list them: 404 for an operation naming a resource in its path, 400
(body cannot be parsed) and 413 (body over the limit) for one that takes a body. All of
them carry the one error shape (``Error``).

FastAPI's OpenAPI model keeps ``minimum``/``maximum`` as floats, which turns the 64-bit
bounds into 2^63 (a value the API refuses); they are written back as the exact integers.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

__all__ = ["document_statuses"]

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_EXACT = {float(INT64_MIN): INT64_MIN, float(INT64_MAX): INT64_MAX}
_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
_BY_PATH = {"404": "no such resource"}
_BY_BODY = {"400": "the body cannot be parsed", "413": "the body is larger than the limit"}


def _add(responses: dict[str, Any], extra: dict[str, str]) -> None:
    for code, description in extra.items():
        entry = responses.setdefault(code, {"description": description})
        entry.setdefault("content", _ERROR)


def _exact_bounds(node: Any) -> None:
    if isinstance(node, dict):
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


def document_statuses(app: FastAPI) -> None:
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        doc = build()
        for path, item in doc.get("paths", {}).items():
            for operation in item.values():
                responses = operation.setdefault("responses", {})
                if "{" in path:
                    _add(responses, _BY_PATH)
                if "requestBody" in operation:
                    _add(responses, _BY_BODY)
        _exact_bounds(doc)
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
