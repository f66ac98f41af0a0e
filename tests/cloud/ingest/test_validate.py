"""Per-message checks, bytes only."""

from __future__ import annotations

import json

import msgspec
import pytest

from bohsense.cloud.ingest import check_message
from bohsense.contracts.codec import Encoding, decode_batch, encode
from bohsense.contracts.schema import MAX_PAYLOAD_BYTES, CommandResult, GatewayStatus, Reading, ReadingBatch
from bohsense.contracts.topics import readings_topic, result_topic, status_topic

NOW = 1_750_000_000 * 10**9
FUTURE = 300 * 10**9
TOPIC = readings_topic("gw-1")


def batch(*readings: Reading, gateway: str = "gw-1", seq: int = 7) -> ReadingBatch:
    return ReadingBatch(gateway=gateway, seq=seq, sent=NOW, readings=list(readings))


GOOD = Reading("d", "temp_c", NOW - 10**9, 20.0)


@pytest.mark.parametrize("encoding", [Encoding.MSGPACK, Encoding.JSON])
def test_a_good_batch_passes_whole(encoding: Encoding) -> None:
    b = batch(GOOD, GOOD)
    out = check_message(TOPIC, encode(b, encoding), NOW, FUTURE)
    assert out.batch == b
    assert out.quarantine == []


@pytest.mark.parametrize(
    ("payload", "reason", "settled"),
    [
        (b"", "empty", None),
        (b"\x00\xffgarbage", "not-an-object", None),
        (encode(batch(GOOD))[:-5], "malformed", None),
        (b"{not json", "malformed", None),
        (b"\x81" + b"\x00" * MAX_PAYLOAD_BYTES, "oversized", None),
        (
            json.dumps({"gateway": "gw-1", "seq": "7", "sent": 1, "readings": [["d", "m", 1, 1.0]]}).encode(),
            "schema",
            None,
        ),
        (
            json.dumps(
                {"gateway": "gw-1", "seq": 7, "sent": 1, "readings": [["d", "m", 1, 1.0]], "x": 1}
            ).encode(),
            "schema",
            7,
        ),
        (json.dumps({"gateway": "gw-1", "seq": 7, "sent": 1, "readings": []}).encode(), "schema", 7),
        (
            json.dumps({"gateway": "gw-1", "seq": 0, "sent": 1, "readings": [["d", "m", 1, 1.0]]}).encode(),
            "schema",
            None,
        ),
        (
            json.dumps(
                {
                    "gateway": "gw-1",
                    "seq": 9,
                    "sent": 1,
                    "readings": [["d", "m", 1, 1.0]],
                    "pad": "p" * MAX_PAYLOAD_BYTES,
                }
            ).encode(),
            "oversized",
            9,
        ),
    ],
)
def test_bad_payloads_are_quarantined_whole_with_the_reason(
    payload: bytes, reason: str, settled: int | None
) -> None:
    """A batch refused whole is settled by its seq when (gateway, seq) can still be read."""
    out = check_message(TOPIC, payload, NOW, FUTURE)
    if settled is None:
        assert out.batch is None
        assert not out.settled
    else:
        assert out.settled
        assert out.batch is not None
        assert (out.batch.gateway, out.batch.seq, out.batch.readings) == ("gw-1", settled, [])
    (item,) = out.quarantine
    assert (item.reason, item.topic, item.payload, item.gateway, item.received_ns) == (
        reason,
        TOPIC,
        payload,
        "gw-1",
        NOW,
    )
    assert item.detail


def test_a_batch_on_another_gateways_topic_is_quarantined() -> None:
    out = check_message(TOPIC, encode(batch(GOOD, gateway="gw-2")), NOW, FUTURE)
    assert out.batch is None
    assert [i.reason for i in out.quarantine] == ["topic-mismatch"]
    assert "gw-2" in out.quarantine[0].detail


def test_a_topic_outside_the_tree_is_quarantined() -> None:
    out = check_message("bohsense/v1/gw/bad id!/readings", encode(batch(GOOD)), NOW, FUTURE)
    assert [i.reason for i in out.quarantine] == ["topic"]


def test_impossible_readings_are_quarantined_one_by_one_and_the_rest_kept() -> None:
    r1970 = Reading("d", "temp_c", 5, 1.0)
    ahead = Reading("d", "temp_c", NOW + 86_400 * 10**9, 2.0)
    nan = Reading("d", "temp_c", NOW, float("nan"))
    out = check_message(TOPIC, encode(batch(GOOD, r1970, GOOD, ahead, nan)), NOW, FUTURE)
    assert out.batch is not None
    assert (out.batch.gateway, out.batch.seq, out.batch.readings) == ("gw-1", 7, [GOOD, GOOD])
    assert [i.reason for i in out.quarantine] == ["bad-time", "bad-time", "bad-value"]
    assert "before 2000" in out.quarantine[0].detail
    assert "in the future" in out.quarantine[1].detail
    assert "reading 3" in out.quarantine[1].detail
    kept = decode_batch(out.quarantine[1].payload)  # each bad reading is kept as a replayable batch
    assert (kept.seq, kept.readings) == (7, [ahead])


def test_a_batch_of_only_bad_readings_still_carries_its_seq() -> None:
    out = check_message(TOPIC, encode(batch(Reading("d", "m", 1, 1.0))), NOW, FUTURE)
    assert out.batch is not None
    assert (out.batch.seq, out.batch.readings) == (7, [])
    assert len(out.quarantine) == 1


def test_status_is_decoded_and_checked_against_its_topic() -> None:
    st = GatewayStatus(gateway="gw-1", state="online", ts=NOW)
    assert check_message(status_topic("gw-1"), encode(st), NOW, FUTURE).status == st
    wrong = check_message(status_topic("gw-9"), encode(st), NOW, FUTURE)
    assert [i.reason for i in wrong.quarantine] == ["topic-mismatch"]
    bad = check_message(status_topic("gw-1"), msgspec.json.encode({"gateway": "gw-1"}), NOW, FUTURE)
    assert [i.reason for i in bad.quarantine] == ["schema"]


def test_a_command_result_is_decoded_and_checked_against_its_topic() -> None:
    res = CommandResult(gateway="gw-1", id="c-9", command="tare", ok=False, ts=NOW, reason="unknown-device")
    assert check_message(result_topic("gw-1"), encode(res), NOW, FUTURE).result == res
    wrong = check_message(result_topic("gw-9"), encode(res), NOW, FUTURE)
    assert [q.reason for q in wrong.quarantine] == ["topic-mismatch"]
    assert "command result of gateway 'gw-1'" in wrong.quarantine[0].detail
    bad = check_message(
        result_topic("gw-1"), msgspec.json.encode({"gateway": "gw-1", "ok": "yes"}), NOW, FUTURE
    )
    assert [q.reason for q in bad.quarantine] == ["schema"]
    assert bad.result is None


@pytest.mark.parametrize("bad_ts", [-1, -(2**63), 2**63, 2**64 - 1, 2**70])
def test_an_unrepresentable_time_rejects_its_reading_not_the_batch(bad_ts: int) -> None:
    good = ["d", "temp_c", NOW - 10**9, 20.0]
    payload = json.dumps(
        {"gateway": "gw-1", "seq": 7, "sent": NOW, "readings": [good, ["d", "temp_c", bad_ts, 1.0], good]}
    ).encode()
    out = check_message(TOPIC, payload, NOW, FUTURE)
    assert out.batch is not None
    assert [r.ts for r in out.batch.readings] == [NOW - 10**9] * 2
    (q,) = out.quarantine
    assert q.reason == "bad-time"
    assert f"event time {bad_ts}" in q.detail
    # the reading is kept as it came (in JSON when MessagePack cannot hold its number)
    assert decode_batch(q.payload).readings == [Reading("d", "temp_c", bad_ts, 1.0)]


def test_a_status_from_the_future_is_clamped_to_the_skew_allowance() -> None:
    far = GatewayStatus(gateway="gw-1", state="online", ts=2**63 - 1)
    out = check_message(status_topic("gw-1"), encode(far), NOW, FUTURE)
    assert out.status is not None
    assert out.status.ts == NOW + FUTURE
    near = GatewayStatus(gateway="gw-1", state="online", ts=NOW + 5)
    assert check_message(status_topic("gw-1"), encode(near), NOW, FUTURE).status == near


def test_finite_values_whose_sum_overflows_are_all_kept() -> None:
    """The batch check sums the values (a NaN or an infinity makes the sum non-finite);
    finite values whose sum overflows take the per-reading look and are all kept."""
    big = [Reading("d", "temp_c", NOW - 10**9 + i, 1.5e308) for i in range(3)]
    out = check_message(TOPIC, encode(batch(*big)), NOW, FUTURE)
    assert out.quarantine == []
    assert out.batch is not None
    assert out.batch.readings == big


@pytest.mark.parametrize("where", [0, 1, 2])
def test_one_bad_time_or_value_anywhere_in_a_batch_is_found(where: int) -> None:
    readings = [Reading("d", "temp_c", NOW - 10**9 + i, float(i)) for i in range(3)]
    early = msgspec.structs.replace(readings[where], ts=NOW - 30 * 365 * 86400 * 10**9)
    late = msgspec.structs.replace(readings[where], ts=NOW + FUTURE + 1)
    nan = msgspec.structs.replace(readings[where], value=float("nan"))
    for bad, reason in ((early, "bad-time"), (late, "bad-time"), (nan, "bad-value")):
        sent = [bad if i == where else r for i, r in enumerate(readings)]
        out = check_message(TOPIC, encode(batch(*sent)), NOW, FUTURE)
        assert [q.reason for q in out.quarantine] == [reason]
        assert out.batch is not None
        assert out.batch.readings == [r for i, r in enumerate(readings) if i != where]
