"""The v1 codec: round trips in both encodings and precise reasons for bad payloads."""

from __future__ import annotations

import msgspec
import pytest

from bohsense.contracts import (
    CloudAck,
    CommandResult,
    Encoding,
    GatewayCommand,
    GatewayStatus,
    PayloadError,
    Reading,
    ReadingBatch,
    decode_ack,
    decode_batch,
    decode_command,
    decode_result,
    decode_status,
    encode,
)
from bohsense.contracts.schema import MAX_PAYLOAD_BYTES

T0 = 1_790_000_000_000_000_000


def batch(**over: object) -> ReadingBatch:
    fields: dict[str, object] = {
        "gateway": "store-1-gw",
        "seq": 7,
        "sent": T0 + 5,
        "readings": [
            Reading("shelf-1.lane-1", "weight_g", T0, 812.5),
            Reading("fan-1", "temp_c", T0 + 1, 41.0),
        ],
        "floor": 3,
        "site": "store-1",
    }
    fields.update(over)
    return ReadingBatch(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("encoding", list(Encoding))
def test_every_message_round_trips(encoding: Encoding) -> None:
    b = batch()
    assert decode_batch(encode(b, encoding)) == b
    s = GatewayStatus(gateway="g", state="lost", ts=T0, dropped=3, next_seq=9)
    assert decode_status(encode(s, encoding)) == s
    a = CloudAck(gateway="g", upto=41, ts=T0)
    assert decode_ack(encode(a, encoding)) == a
    c = GatewayCommand(gateway="g", command="tare", id="c-1", ts=T0, args={"lane": 2})
    assert decode_command(encode(c, encoding)) == c
    r = CommandResult(
        gateway="g", id="c-1", command="tare", ok=False, ts=T0, reason="unknown-device", detail="x"
    )
    assert decode_result(encode(r, encoding)) == r


def test_nanosecond_timestamps_survive_json_exactly() -> None:
    # 19-digit nanosecond times must not go through a float anywhere.
    b = batch(readings=[Reading("d", "m", T0 + 1, 1.0), Reading("d", "m", T0 + 2, 2.0)])
    out = decode_batch(encode(b, Encoding.JSON))
    assert [r.ts for r in out.readings] == [T0 + 1, T0 + 2]


def test_reading_is_a_compact_array_on_the_wire() -> None:
    raw = encode(batch(readings=[Reading("d", "m", T0, 1.5)]), Encoding.JSON)
    assert f'"readings":[["d","m",{T0},1.5]]'.encode() in raw


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", "empty"),
        (b"\x00\x01garbage", "not-an-object"),
        (b"hello", "not-an-object"),
        (b'{"gateway": "g", "seq": 1', "malformed"),
        (encode(batch())[:-7], "malformed"),
        (b"{" + b" " * (MAX_PAYLOAD_BYTES + 1) + b"}", "oversized"),
        (b'{"gateway":"g","seq":"7","sent":1,"readings":[["d","m",1,1.0]]}', "schema"),
        (b'{"gateway":"g","seq":0,"sent":1,"readings":[["d","m",1,1.0]]}', "schema"),
        (b'{"gateway":"g","seq":1,"sent":1,"readings":[]}', "schema"),
        (b'{"gateway":"g","seq":1,"sent":1,"readings":[["d","m",1,"x"]]}', "schema"),
        (b'{"gateway":"g","seq":1,"sent":1,"readings":[["d","m",1,1.0]],"extra":1}', "schema"),
        (b'{"gateway":"g","seq":1,"sent":1,"readings":[["bad device id!","m",1,1.0]]}', "schema"),
        (b'{"gateway":"g","seq":1,"sent":1,"readings":[["d","m",1,1.0]],"v":2}', "schema"),
        (b'{"gateway":"../x","seq":1,"sent":1,"readings":[["d","m",1,1.0]]}', "schema"),
    ],
)
def test_bad_payloads_are_rejected_with_a_reason(payload: bytes, reason: str) -> None:
    with pytest.raises(PayloadError) as info:
        decode_batch(payload)
    assert info.value.reason == reason
    assert info.value.detail


def test_schema_error_names_the_offending_field() -> None:
    with pytest.raises(PayloadError) as info:
        decode_batch(b'{"gateway":"g","seq":1,"sent":1,"readings":[["d","m",1,"x"]]}')
    assert "readings[0]" in info.value.detail


def test_msgpack_with_wrong_types_is_a_schema_error() -> None:
    raw = msgspec.msgpack.encode({"gateway": "g", "seq": 1.5, "sent": 1, "readings": [["d", "m", 1, 1.0]]})
    with pytest.raises(PayloadError) as info:
        decode_batch(raw)
    assert info.value.reason == "schema"


@pytest.mark.parametrize("ts", [-5, 2**63, 2**70])
def test_an_impossible_reading_time_decodes_so_the_cloud_rejects_that_reading_alone(ts: int) -> None:
    raw = f'{{"gateway":"g","seq":1,"sent":1,"readings":[["d","m",{ts},1.0]]}}'.encode()
    assert decode_batch(raw).readings[0].ts == ts
