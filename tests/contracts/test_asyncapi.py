"""docs/asyncapi.json is exactly what the code speaks."""

from __future__ import annotations

import json
from pathlib import Path

from bohsense.contracts.asyncapi import asyncapi_document

DOC = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.json"


def test_published_asyncapi_matches_the_code() -> None:
    assert json.loads(DOC.read_text()) == asyncapi_document(), (
        "docs/asyncapi.json is stale: run `bohsense contracts asyncapi > docs/asyncapi.json`"
    )


def test_every_channel_has_a_payload_schema() -> None:
    doc = asyncapi_document()
    schemas = doc["components"]["schemas"]
    for channel in doc["channels"].values():
        op = channel.get("publish") or channel.get("subscribe")
        name = op["message"]["payload"]["$ref"].rsplit("/", 1)[1]
        assert name in schemas
    assert schemas["ReadingBatch"]["required"] == ["gateway", "seq", "sent", "readings"]
