"""The whole loop on real parts, on SQLite and on PostgreSQL: device → gateway → MQTT →
cloud → InfluxDB + BOH core → API, with bad input injected on the way."""

from __future__ import annotations

import asyncio
import threading

import msgspec
import paho.mqtt.client as mqtt

from bohsense.contracts import Reading, ReadingBatch, encode, topics
from bohsense.contracts.timeutil import now_ns
from bohsense.demo import ASSET, LANES, SENSOR
from tests.support.services import Mosquitto
from tests.system.harness import StoreSystem, wait_for


def _publisher(broker: Mosquitto) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"intruder-{id(broker)}")
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    return client


class _Capture:
    """Keeps the first real batch the gateway publishes, to replay it as a duplicate."""

    def __init__(self, broker: Mosquitto, gateway: str) -> None:
        self.first: bytes | None = None
        self.got = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"capture-{gateway}")
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", broker.port)
        self.client.subscribe(topics.readings_topic(gateway), qos=1)
        self.client.loop_start()

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        if self.first is None:
            self.first = bytes(message.payload)
            self.got.set()

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


async def test_store_loop_end_to_end(store_system: StoreSystem, mosquitto: Mosquitto) -> None:
    s = store_system
    capture = _Capture(mosquitto, s.gateway)
    s.play()
    try:
        # a simulated device reading reaches InfluxDB and is served by the API
        latest = await wait_for(
            lambda: s.get("/readings/latest", device=SENSOR, metric="temp_c"),
            limit_s=15,
            what="a reading in the API",
        )
        assert latest[0]["gateway"] == s.gateway
        assert 20 < latest[0]["value"] < 80

        # bad input on the way; the good readings around it must all be kept
        await asyncio.to_thread(capture.got.wait, 10)
        assert capture.first is not None
        now = now_ns()
        good = ReadingBatch(gateway="other-gw", seq=1, sent=now, readings=[Reading("d1", "temp_c", now, 1.0)])
        bad_time = ReadingBatch(
            gateway="other-gw",
            seq=2,
            sent=now,
            readings=[Reading("d1", "temp_c", 10**9, 2.0), Reading("d1", "temp_c", now + 1, 3.0)],
        )
        pub = _publisher(mosquitto)
        for topic, payload in [
            (topics.readings_topic(s.gateway), capture.first),  # duplicate (gateway, seq)
            (topics.readings_topic("other-gw"), b"\xff\x00 not a batch"),
            (topics.readings_topic("other-gw"), encode(good)[:-5]),  # truncated
            (topics.readings_topic("other-gw"), msgspec.json.encode({"gateway": "other-gw", "seq": "one"})),
            (topics.readings_topic("third-gw"), encode(good)),  # topic says another gateway
            (topics.readings_topic("other-gw"), encode(good)),
            (topics.readings_topic("other-gw"), encode(bad_time)),
        ]:
            pub.publish(topic, payload, qos=1).wait_for_publish(5)
        pub.loop_stop()
        pub.disconnect()

        # the fault opens exactly one alert and one work order; the emptied lane one proposal
        await wait_for(
            lambda: s.get("/alerts", asset=ASSET), limit_s=s.duration_s + 15, what="the vibration alert"
        )
        await wait_for(
            lambda: s.get("/replenishment"), limit_s=s.duration_s + 15, what="a replenishment proposal"
        )
        # let the fault persist and the shelf stay empty a while longer: still one of each
        await asyncio.sleep(4)
        s.pause()
        stored = await s.drain()
    finally:
        capture.close()

    expected = s.expected()
    assert {k: stored[k] for k in expected} == expected, "every raw reading is stored exactly once"

    alerts = await s.get("/alerts", asset=ASSET)
    assert [(a["condition"], a["state"]) for a in alerts] == [("vibration-high", "open")]
    assert alerts[0]["evidence"]["limit"] == 7.1
    orders = await s.get("/work-orders", asset=ASSET)
    assert len(orders) == 1
    assert orders[0]["alert_id"] == alerts[0]["id"]

    proposals = await s.get("/replenishment")
    assert [p["sku"] for p in proposals] == [LANES[0][0]]
    p = proposals[0]
    assert p["state"] == "proposed"
    assert p["sensed_units"] < p["reorder_point"]
    assert p["quantity"] % p["pack_size"] == 0
    assert p["quantity"] >= p["target"] - p["sensed_units"]
    assert p["explanation"], "the quantity is explained"

    quarantined = await s.get("/quarantine", limit=100)
    reasons = sorted(q["reason"] for q in quarantined)
    assert reasons.count("bad-time") == 1
    assert {"not-an-object", "malformed", "schema", "topic-mismatch"} <= set(reasons), reasons
    # the good readings around the bad ones are kept
    other = await s.get("/readings/latest", gateway="other-gw", device="d1", metric="temp_c")
    assert other[0]["value"] == 3.0
    stats = s.service.stats()
    assert stats["duplicates"] >= 1

    assert (await s.get(f"/gateways/{s.gateway}"))["state"] == "online"
    assert s.stop_edge() == 0

    async def offline() -> bool:
        return bool((await s.get(f"/gateways/{s.gateway}"))["state"] == "offline")

    await wait_for(offline, limit_s=10, what="the gateway's clean goodbye")


async def test_a_command_from_the_api_reaches_the_device_and_its_result_comes_back(
    store_system: StoreSystem,
) -> None:
    s = store_system
    s.play()
    await wait_for(lambda: s.get(f"/gateways/{s.gateway}"), limit_s=15, what="the gateway's record")

    async def post(body: dict[str, object]) -> dict[str, object]:
        import httpx

        async with httpx.AsyncClient(timeout=10) as client:
            r = await client.post(f"{s.api}/gateways/{s.gateway}/commands", json=body)
            assert r.status_code == 202, r.text
            return dict(r.json())

    # lane 3 holds stock: a plain tare is refused, a forced one re-baselines (tests/edge/test_tare.py)
    tare = await post({"command": "tare", "args": {"device": "shelf-1", "lane": 3, "force": True}})
    wrong = await post({"command": "set-rate", "args": {"device": "no-such-device", "hz": 5}})

    async def settled(cid: object) -> dict[str, object] | None:
        got = dict(await s.get(f"/commands/{cid}"))
        return got if got["state"] != "sent" else None

    done = await wait_for(lambda: settled(tare["id"]), limit_s=15, what="the tare's result")
    assert done["state"] == "succeeded"
    refused = await wait_for(lambda: settled(wrong["id"]), limit_s=15, what="the refusal")
    assert (refused["state"], refused["reason"]) == ("failed", "unknown-device")
    tares = [e for e in s.shelf.ground_truth()["events"] if e["kind"] == "tare"]
    assert [e["lane"] for e in tares] == [3], "the device carried out exactly the one tare"
