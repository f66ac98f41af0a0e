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


def test_every_event_kind_is_published_with_the_schema_of_its_attrs() -> None:
    from bohsense.contracts.events import EVENT_KINDS

    doc = asyncapi_document()
    kinds = doc["components"]["x-event-kinds"]
    assert set(kinds) == {k.name for k in EVENT_KINDS}
    for k in EVENT_KINDS:
        ref = kinds[k.name]["attrs"]["$ref"]
        name = ref.rsplit("/", 1)[1]
        assert name == k.attrs.__name__
        assert set(doc["components"]["schemas"][name]["properties"]) == set(k.attrs.__struct_fields__)
        assert kinds[k.name]["urgent"] is k.urgent
