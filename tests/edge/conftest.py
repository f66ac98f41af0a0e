"""Helpers for the edge tests: gateway configs, a subscriber that plays the cloud, polling."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from bohsense.contracts.codec import PayloadError, decode_batch, decode_status, encode
from bohsense.contracts.schema import CloudAck, GatewayStatus, ReadingBatch
from bohsense.contracts.timeutil import now_ns
from bohsense.contracts.topics import ack_topic, cmd_topic, readings_topic, status_topic


def wait_for(cond: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll ``cond`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


async def until(cond: Callable[[], Any], within: float = 10.0, what: str = "condition") -> Any:
    """``wait_for`` for coroutines: poll without blocking the event loop."""
    import asyncio

    deadline = time.monotonic() + within
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(0.02)


def gateway_id(prefix: str = "gw") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def write_config(
    path: Path, gateway: str, broker_url: str, outbox: Path, extra: str = "", devices: str = ""
) -> Path:
    path.write_text(
        f"""gateway_id = "{gateway}"
site = "test-site"
status_interval_s = 0.5
shutdown_timeout_s = 5
{extra}
[broker]
url = "{broker_url}"
reconnect_min_s = 0.1
reconnect_max_s = 0.5
[outbox]
path = "{outbox}"
[batch]
max_readings = 100
max_delay_ms = 50
{devices}
"""
    )
    return path


def synthetic(
    name: str = "syn",
    devices: int = 4,
    metrics: str = '["temp_c", "vib_rms_mm_s"]',
    rate_hz: float = 50,
    limit: int = 0,
) -> str:
    return f"""
[[devices]]
name = "{name}"
kind = "synthetic"
devices = {devices}
metrics = {metrics}
rate_hz = {rate_hz}
limit = {limit}
"""


class Cloud:
    """A subscriber on one gateway's topics: collects batches (deduplicated by seq) and
    statuses, and, when ``ack`` is set, acknowledges the contiguous prefix it holds."""

    def __init__(self, url: str, gateway: str, *, ack: bool = False) -> None:
        self.gateway = gateway
        self.ack = ack
        self.lock = threading.Lock()
        self.batches: dict[int, ReadingBatch] = {}
        self.messages = 0
        self.undecodable: list[str] = []
        self.statuses: list[GatewayStatus] = []
        self.acked = 0
        host, port = url.removeprefix("mqtt://").split(":")
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"cloud-{gateway}", clean_session=False
        )
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.1, 0.5)
        self.subscribed = threading.Event()
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        self.client.connect(host, int(port), 10)
        self.client.loop_start()
        wait_for(self.subscribed.is_set, 10, "cloud subscription")

    def _on_connect(self, client: mqtt.Client, *args: Any) -> None:
        client.subscribe([(readings_topic(self.gateway), 1), (status_topic(self.gateway), 1)])

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        if msg.topic == status_topic(self.gateway):
            if msg.payload:
                with self.lock:
                    self.statuses.append(decode_status(msg.payload))
            return
        try:
            batch = decode_batch(msg.payload)
        except PayloadError as exc:
            with self.lock:
                self.undecodable.append(str(exc))
            return
        with self.lock:
            self.messages += 1
            self.batches.setdefault(batch.seq, batch)
            upto = self.acked
            while upto + 1 in self.batches or (upto + 1 < batch.floor):
                upto += 1
            advance = self.ack and upto > self.acked
            if advance:
                self.acked = upto
        if advance:
            self.publish_ack(upto)

    def publish_ack(self, upto: int) -> None:
        payload = encode(CloudAck(gateway=self.gateway, upto=upto, ts=now_ns()))
        self.client.publish(ack_topic(self.gateway), payload, qos=1, retain=True)

    def publish_raw(self, kind: str, payload: bytes) -> None:
        topic = ack_topic(self.gateway) if kind == "ack" else cmd_topic(self.gateway)
        self.client.publish(topic, payload, qos=1).wait_for_publish(5)

    def seqs(self) -> list[int]:
        with self.lock:
            return sorted(self.batches)

    def readings(self) -> int:
        with self.lock:
            return sum(len(b.readings) for b in self.batches.values())

    def states(self) -> list[str]:
        with self.lock:
            return [s.state for s in self.statuses]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def cloud_factory() -> Iterator[Callable[..., Cloud]]:
    made: list[Cloud] = []

    def make(url: str, gateway: str, *, ack: bool = False) -> Cloud:
        c = Cloud(url, gateway, ack=ack)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()
