"""The OpenAPI document: stable operation ids, a description of every operation and
schema, an example of every schema that its schema admits, problem+json for every error
answer, the Link header on every list, and an enum on every state."""

from __future__ import annotations

import re
from typing import Any

import jsonschema_rs  # schemathesis' validator
from fastapi.testclient import TestClient

PROBLEM = "application/problem+json"


def _doc(client: TestClient) -> dict[str, Any]:
    doc: dict[str, Any] = client.get("/openapi.json").json()
    return doc


def _operations(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", op) for path, item in doc["paths"].items() for method, op in item.items()
    ]


def test_every_operation_has_a_stable_id_a_description_and_a_tag(client: TestClient) -> None:
    doc = _doc(client)
    ops = _operations(doc)
    ids = [op["operationId"] for _, op in ops]
    assert len(ids) == len(set(ids)) >= 60
    assert all(re.fullmatch(r"[a-z][A-Za-z0-9]*", i) for i in ids), ids
    by_id = {op["operationId"]: where for where, op in ops}
    assert by_id["listAlerts"] == "GET /api/v1/alerts"
    assert by_id["exportWorkOrders"] == "GET /api/v1/work-orders/export.csv"
    tags = {t["name"] for t in doc["tags"]}
    for where, op in ops:
        assert op.get("description"), where
        assert op.get("tags"), where
        assert set(op["tags"]) <= tags, where


def test_every_error_answer_is_a_problem_and_every_list_documents_its_link(client: TestClient) -> None:
    doc = _doc(client)
    for where, op in _operations(doc):
        for code, answer in op["responses"].items():
            if code[0] in "45":
                assert list(answer["content"]) == [PROBLEM], (where, code)
        assert "500" in op["responses"], where
        names = {p["name"] for p in op.get("parameters", [])}
        if "cursor" in names:
            assert "limit" in names, where
            assert "Link" in op["responses"]["200"]["headers"], where
    lists = [w for w, op in _operations(doc) if any(p["name"] == "cursor" for p in op.get("parameters", []))]
    for path in (
        "/gateways",
        "/stock",
        "/alerts",
        "/work-orders",
        "/replenishment",
        "/catalog/sites",
        "/events",
    ):
        assert f"GET /api/v1{path}" in lists, path


def test_every_schema_has_a_description_and_a_valid_example(client: TestClient) -> None:
    doc = _doc(client)
    schemas = doc["components"]["schemas"]
    for name, schema in schemas.items():
        assert schema.get("description"), name
        assert schema.get("examples"), name
        resolver = {"components": {"schemas": schemas}, **schema}
        for example in schema["examples"]:
            jsonschema_rs.Draft202012Validator(resolver).validate(example)


def test_every_state_of_an_answer_is_an_enum(client: TestClient) -> None:
    schemas = _doc(client)["components"]["schemas"]
    for name in ("Alert", "WorkOrder", "Proposal", "Gateway", "Command", "Delivery", "Explanation"):
        state = schemas[name]["properties"]["state"]
        assert state.get("enum"), name
    assert set(schemas["Alert"]["properties"]["state"]["enum"]) == {"open", "acknowledged", "resolved"}
    assert schemas["Alert"]["properties"]["severity"]["enum"] == ["critical", "info", "major", "warning"]
