"""Fuzzing what arrives over MQTT: the contracts codec (``decode_batch`` — also of batches
a gateway's outbox wraps around readings and events it keeps encoded, ``encode_raw_batch``
— ``decode_status``, ``decode_result``, ``decode_command``, ``decode_ack``,
``read_batch_identity``), the events' attributes (``decode_event``) and the cloud ingest's
check of one message (``ingest.check_message``).

Documented behaviour: the codec raises ``PayloadError`` (with a reason) and nothing else;
``decode_event`` raises ``EventError``; ``read_batch_identity`` answers ``None`` for what it
cannot read; ``check_message`` never raises: whatever comes is an accepted batch, status or
result, or quarantine items with a reason (the worker keeps running on it).
"""

from __future__ import annotations

import json
import time
from typing import Any

import msgspec
from hypothesis import strategies as st

from bohsense.cloud.ingest import Checked, check_message
from bohsense.contracts.codec import (
    Encoding,
    PayloadError,
    decode_ack,
    decode_batch,
    decode_command,
    decode_result,
    decode_status,
    encode,
    encode_events,
    encode_raw,
    encode_raw_batch,
    read_batch_identity,
)
from bohsense.contracts.events import EventError, decode_event
from bohsense.contracts.schema import CloudAck, CommandResult, GatewayCommand, GatewayStatus, Reading
from bohsense.contracts.topics import ack_topic, cmd_topic, readings_topic, result_topic, status_topic
from tests.cloud.ingest._events import alarm, event_batch, json_batch, pick, wire
from tests.fuzz._budget import both, mutated

GW = "gw-fuzz-1"
NOW = time.time_ns()
T = NOW - 10**9
READINGS = [Reading("shelf-1.lane-1", "weight_g", T, 1234.5), Reading("vib-1", "vib_x_rms_g", T + 1, 0.25)]
EVENTS = [pick("shelf-1", T), alarm("case-2", T + 5)]

_batch = event_batch(GW, 7, NOW, READINGS, [wire(e) for e in EVENTS])
_json_batch = json_batch(
    GW, 7, NOW, READINGS, [(e.device, e.kind, e.ts, msgspec.to_builtins(e.attrs)) for e in EVENTS]
)
_status = GatewayStatus(
    gateway=GW, state="online", ts=T, site="s1", version="1.0", next_seq=9, epoch=T - 10**9
)
_result = CommandResult(
    gateway=GW, id="cmd-1", command="tare", ok=False, ts=T, reason="bad-argument", detail="x"
)
_command = GatewayCommand(gateway=GW, command="tare", id="cmd-1", ts=T, args={"lane": 2})
_ack = CloudAck(gateway=GW, upto=12, ts=T)

BATCHES = [
    encode(_batch),
    _json_batch,
    encode_raw_batch(
        gateway=GW, seq=8, sent=NOW, readings=encode_raw(READINGS), events=encode_events(EVENTS)
    ),
    encode_raw_batch(
        gateway=GW,
        seq=9,
        sent=NOW,
        readings=encode_raw(READINGS, Encoding.JSON),
        events=encode_events(EVENTS, Encoding.JSON),
        encoding=Encoding.JSON,
    ),
]
SMALL = {
    "status": (decode_status, [encode(_status), encode(_status, Encoding.JSON)], status_topic(GW)),
    "result": (decode_result, [encode(_result), encode(_result, Encoding.JSON)], result_topic(GW)),
    "command": (decode_command, [encode(_command), encode(_command, Encoding.JSON)], cmd_topic(GW)),
    "ack": (decode_ack, [encode(_ack), encode(_ack, Encoding.JSON)], ack_topic(GW)),
}
ALL_VALID = BATCHES + [p for _, samples, _ in SMALL.values() for p in samples]
TOPICS = [readings_topic(GW), status_topic(GW), result_topic(GW), readings_topic("gw-other")]


def _payload_error(call: Any, payload: bytes) -> Any:
    try:
        return call(payload)
    except PayloadError as exc:
        error = exc
    assert error.reason  # a precise reason, for the quarantine
    assert str(error)
    return None


def _decode_everything(payload: bytes) -> None:
    batch = _payload_error(decode_batch, payload)
    ident = read_batch_identity(payload)
    assert ident is None or (isinstance(ident[0], str) and isinstance(ident[1], int))
    if batch is not None:
        assert ident == (batch.gateway, batch.seq)
        json_attrs = payload.lstrip()[:1] == b"{"
        for w in batch.events:
            try:
                decode_event(w, json=json_attrs)
            except EventError as exc:
                reason = exc.reason
                assert reason
    for decode, _, _ in SMALL.values():
        _payload_error(decode, payload)


def _check_ingest(topic: str, payload: bytes) -> None:
    checked = check_message(topic, payload, NOW, 300 * 10**9)
    assert isinstance(checked, Checked)
    kept = [x for x in (checked.batch, checked.status, checked.result) if x is not None]
    assert len(kept) <= 1
    assert kept or checked.quarantine, "a message is either accepted or quarantined"
    for item in checked.quarantine:
        assert item.reason
        assert isinstance(item.payload, bytes)
    if checked.batch is not None:
        assert checked.batch.gateway == GW  # the topic's gateway, never another's
        encode(checked.batch)  # what goes on to the store and the core is a batch the cloud can keep
        assert len(checked.events) <= len(checked.batch.events)


def _random(payload: bytes, topic: str) -> None:
    _decode_everything(payload)
    _check_ingest(topic, payload)


test_random_payloads, test_random_payloads_long = both(
    _random,
    payload=st.binary(max_size=600) | st.binary(max_size=60).map(lambda b: b"\x85" + b),
    topic=st.sampled_from(TOPICS),
)


def _mutated(payload: bytes, topic: str) -> None:
    _decode_everything(payload)
    _check_ingest(topic, payload)


test_mutated_payloads, test_mutated_payloads_long = both(
    _mutated, payload=mutated(st.sampled_from(ALL_VALID)), topic=st.sampled_from(TOPICS)
)

# JSON documents of the right shape with any value anywhere: what a hand-written or buggy
# publisher sends (types, ranges, NaN, huge integers, unknown fields)
_JSON_VALUE = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=6,
)
_TEMPLATES = [json.loads(_json_batch), json.loads(encode(_status, Encoding.JSON))]


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*prefix, i))
    return out


def _replace(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    doc = json.loads(json.dumps(doc))
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return doc


def _json_field(template: int, where: int, value: Any, extra: bool) -> None:
    doc = _TEMPLATES[template]
    paths = _paths(doc)
    doc = _replace(doc, paths[where % len(paths)], value)
    if extra and isinstance(doc, dict):
        doc = {**doc, "unknown_field": 1}
    payload = json.dumps(doc).encode()
    _decode_everything(payload)
    _check_ingest(readings_topic(GW) if template == 0 else status_topic(GW), payload)


test_json_with_any_value_anywhere, test_json_with_any_value_anywhere_long = both(
    _json_field,
    template=st.integers(0, len(_TEMPLATES) - 1),
    where=st.integers(min_value=0),
    value=_JSON_VALUE,
    extra=st.booleans(),
)
