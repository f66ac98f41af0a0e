"""What each schema of the OpenAPI document is, where its class has no docstring of its
own, and an example of each, made from the schema itself where it has none
(``complete_schemas``, called by ``_openapi``)."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["DESCRIPTIONS", "complete_schemas", "example_of"]

DESCRIPTIONS: dict[str, str] = {
    "ActionBody": "Who acts on an alert, work order, proposal or delivery, and a note for the audit log.",
    "Actor": "Who makes a catalog change (recorded in the audit log).",
    "Alert": "An alert of the technicians' feed: asset, condition, severity, state, evidence and what to check.",
    "ApproveBody": "An approval of a replenishment proposal, optionally with the quantity to order.",
    "AssetIn": "An asset (a compressor, a refrigerated case, …) of the catalog, with its condition rules.",
    "AssetOut": "An asset of the catalog as stored.",
    "AttachmentIn": "A file attached to a work order, by reference.",
    "Attempt": "One attempt to deliver a webhook: when, the answer and how long it took.",
    "AuditEntry": "One entry of the audit trail: who moved which entity from which state to which.",
    "BatchIn": "A batch of point-of-sale transactions from one sender.",
    "BatchOut": "What a batch of transactions did: applied and duplicate counts, one result per transaction.",
    "Change": "One committed domain event of the change feed.",
    "ChangeOut": "What a catalog change did, and the version of the catalog it made.",
    "ChangesPage": "A page of the change feed: the events after a cursor and the next cursor.",
    "Command": "A command sent to a gateway, and where it is (sent, succeeded, failed, expired).",
    "CommandIn": "A command to send to a gateway over MQTT.",
    "Delivery": "An outgoing webhook delivery with its attempts.",
    "Departure": "An RFID item that left through a door, matched to a sale or not.",
    "Device": "A device a gateway reported, and what the catalog maps it to.",
    "DeviceEvent": "A device event the BOH core applied (a shelf pick, a putback, a local alarm, …).",
    "DeviceRef": "A device of a gateway, to retire.",
    "EventKindName": "The kind of a device event.",
    "Explanation": "Every input of a replenishment proposal's quantity: sensed and book stock, forecast, safety stock, reorder point, EOQ and pack size.",
    "Gateway": "A store gateway: its site, newest status, version and sequence state.",
    "GatewayIn": "A gateway of the catalog: its site and devices.",
    "Health": "The older combined health answer: database, time-series store and ingest.",
    "HeatCell": "Out-of-stock minutes of one site, aisle/shelf and UTC hour.",
    "Item": "An RFID item (EPC) and its state in each site that has seen it.",
    "ItemEvent": "An RFID item's arrival, move or departure.",
    "ItemState": "Where an RFID item is in one site, and its newest transition.",
    "LabourIn": "Labour booked on a work order.",
    "LaneIn": "A shelf lane of a stock location: which gateway's device senses it.",
    "LaneOut": "A shelf lane as stored, with its newest count.",
    "LaneSense": "What one shelf lane senses: its count, state and time.",
    "LatestPoint": "The newest reading of one gateway, device and metric.",
    "LedgerEntry": "A book-stock movement (sale, receipt, adjustment, …).",
    "LineIn": "One line of a point-of-sale transaction.",
    "LineOut": "One line of a transaction as applied.",
    "Liveness": "The process serves requests.",
    "LocationIn": "A stock location (site, SKU, shelf) with its lanes, zones and replenishment parameters.",
    "LocationOut": "A stock location as stored.",
    "Mapping": "How a gateway's devices map to the catalog, and what is not mapped yet.",
    "Outage": "An out-of-stock period of a SKU at a location, with its duration and lost-sales estimate.",
    "OutageTotal": "Out-of-stock time and the lost-sales estimate of a SKU in a store over a range.",
    "PartIn": "A part used on a work order.",
    "PlanBody": "The replenishment plan of a stock location: lead time, review period, service level, pack size.",
    "Proposal": "A replenishment proposal: SKU, location, quantity, state and its explanation.",
    "QuantityBody": "A new quantity for a replenishment proposal.",
    "Quarantined": "A message the cloud could not apply, kept for inspection with the reason.",
    "Readiness": "Whether the database, the broker and the time-series store answer.",
    "Reapplied": "What reapplying a quarantined message did.",
    "ReapplyBody": "Who reapplies a quarantined message.",
    "Receipt": "A delivery received against an ordered proposal.",
    "ReceiptBody": "Units received against an ordered proposal.",
    "Released": "How many held batches of a gateway were applied on its release.",
    "Rollup": "Sensed stock summed per shelf or per store and SKU.",
    "RuleIn": "A condition rule of an asset: metric, limit, hysteresis and minimum duration.",
    "RuleOut": "A condition rule as stored.",
    "SensedStock": "The stock truth of a SKU at a location: the fused sensed number, its sources and book stock.",
    "Series": "Readings of one gateway, device and metric over a range.",
    "SiteIn": "A site (store) of the catalog.",
    "SiteOut": "A site as stored.",
    "SkuIn": "A SKU of the catalog: name, unit, unit weight, pack size, GTIN.",
    "SkuOut": "A SKU as stored.",
    "Snapshot": "The newest RFID zone snapshot a gateway sent.",
    "StockLevel": "Stock of a SKU at a location, with its reorder point, target and safety stock.",
    "Summary": "Counts of alerts, work orders and proposals by state, and the ingest figures.",
    "TransactionIn": "A point-of-sale transaction.",
    "TransactionOut": "What one transaction did: applied or duplicate.",
    "Transition": "A move of a work order to another state.",
    "TrendSeries": "One feature's readings around a work order's fault window.",
    "UnmatchedDevice": "A device a gateway reported that no catalog entry names.",
    "Version": "The installed versions of the API and its packages.",
    "WorkOrder": "A maintenance work order: asset, state, priority, assignee, parts, labour and evidence.",
    "WorkOrderIn": "A work order to create by hand.",
    "ZoneCount": "RFID items present in a zone per GTIN/SKU, beside the zone's newest snapshot.",
    "ZoneIn": "An RFID zone of a site: floor, backroom or door.",
    "ZoneLine": "RFID items of one GTIN/SKU in a zone.",
    "ZoneOut": "An RFID zone as stored.",
}

_TEXT_CANDIDATES = (
    "x",
    "A",
    "X",
    "store-1",
    "1",
    "a",
    "aisle-1/shelf-1",
    "2026-05-01T12:00:00Z",
    "https://example.com/x",
)
_MISSING = object()


def _text(schema: dict[str, Any]) -> Any:
    fmt = schema.get("format")
    if fmt == "date-time":
        return "2026-05-01T12:00:00.000000Z"
    lo, hi = schema.get("minLength", 0), schema.get("maxLength")
    pattern = schema.get("pattern")
    for candidate in _TEXT_CANDIDATES:
        value = candidate * max(1, -(-lo // len(candidate)))
        if hi is not None and len(value) > hi:
            continue
        if pattern is None or re.search(pattern, value):
            return value
    return _MISSING


def _number(schema: dict[str, Any], cast: type) -> Any:
    lo, hi = schema.get("minimum"), schema.get("maximum")
    xlo, xhi = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    candidates = [1, 0, lo, hi]
    if xlo is not None and xhi is not None:
        candidates.append((xlo + xhi) / 2)
    candidates += [
        v for v in ((xlo + 1) if xlo is not None else None, (xhi - 1) if xhi is not None else None)
    ]
    for value in candidates:
        if value is None or (cast is int and value != int(value)):
            continue
        inside = (lo is None or value >= lo) and (hi is None or value <= hi)
        if inside and (xlo is None or value > xlo) and (xhi is None or value < xhi):
            return cast(value)
    return _MISSING


def example_of(schema: dict[str, Any], schemas: dict[str, Any], depth: int = 0) -> Any:
    """A value the schema admits, or ``_MISSING`` when none is found simply."""
    if depth > 8:
        return _MISSING
    if schema.get("examples"):
        return schema["examples"][0]
    if "$ref" in schema:
        return example_of(schemas[schema["$ref"].rsplit("/", 1)[1]], schemas, depth + 1)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            branches = [b for b in schema[key] if b.get("type") != "null"] or schema[key]
            return example_of(branches[0], schemas, depth + 1)
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return example_of(schema["allOf"][0], schemas, depth + 1)
    kind = schema.get("type")
    if kind == "string":
        return _text(schema)
    if kind in ("integer", "number"):
        return _number(schema, int if kind == "integer" else float)
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    if kind == "array":
        if "prefixItems" in schema:
            items = [example_of(p, schemas, depth + 1) for p in schema["prefixItems"]]
            return _MISSING if _MISSING in items else items
        if schema.get("minItems", 0) == 0:
            return []
        item = example_of(schema.get("items", {}), schemas, depth + 1)
        return _MISSING if item is _MISSING else [item] * schema["minItems"]
    if kind == "object" or "properties" in schema:
        out: dict[str, Any] = {}
        required = set(schema.get("required", ()))
        for name, prop in (schema.get("properties") or {}).items():
            value = example_of(prop, schemas, depth + 1)
            if value is _MISSING:
                if name in required:
                    return _MISSING
                continue
            out[name] = value
        if schema.get("minProperties", 0) > len(out):
            return _MISSING
        return out
    return _MISSING


def complete_schemas(schemas: dict[str, Any]) -> None:
    for name, schema in schemas.items():
        if not schema.get("description"):
            schema["description"] = DESCRIPTIONS.get(name) or schema.get("title") or name
        if not schema.get("examples"):
            value = example_of(schema, schemas)
            if value is not _MISSING:
                schema["examples"] = [value]
