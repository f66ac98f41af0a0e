"""Every request body of the API refuses fields it does not know (422), on every route.

The routes are read from the OpenAPI document, so a new route is covered without being
listed here.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

V1 = "/api/v1"
METHODS = ("post", "put", "patch")


def _ref(schema: dict[str, Any]) -> str:
    for option in schema.get("anyOf", [schema]):
        if "$ref" in option:
            return str(option["$ref"]).rsplit("/", 1)[-1]
    raise AssertionError(f"request body without a model: {schema}")


def _bodies(doc: dict[str, Any]) -> list[tuple[str, str, str]]:
    found = []
    for path, ops in doc["paths"].items():
        for method in METHODS:
            op = ops.get(method)
            if op and "application/json" in op.get("requestBody", {}).get("content", {}):  # not a file
                schema = op["requestBody"]["content"]["application/json"]["schema"]
                found.append((method, path, _ref(schema)))
    return found


def test_every_request_model_forbids_extra_fields(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    bodies = _bodies(doc)
    assert len(bodies) >= 10
    schemas = doc["components"]["schemas"]
    for method, path, name in bodies:
        assert schemas[name].get("additionalProperties") is False, f"{method} {path}: {name}"
        for nested in re.findall(r'"#/components/schemas/(\w+)"', str(schemas[name]).replace("'", '"')):
            assert schemas[nested].get("additionalProperties") is False, f"{name} -> {nested}"


def test_every_route_with_a_body_answers_422_to_an_unknown_field(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    for method, path, _name in _bodies(doc):
        concrete = re.sub(r"\{gateway_id\}", "gw-t1", path)
        concrete = re.sub(r"\{\w+\}", "1", concrete)
        r = client.request(method.upper(), concrete, json={"zz_not_a_field": 1})
        assert r.status_code == 422, f"{method} {concrete}: {r.status_code} {r.text}"
        assert any(e["loc"][-1] == "zz_not_a_field" for e in r.json()["errors"]), r.text
