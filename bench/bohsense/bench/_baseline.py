"""The baseline: the simplest loop that moves the same messages from MQTT into InfluxDB.

A paho subscriber (QoS 1, persistent session, acknowledged on receipt) decodes each
batch with msgspec, formats line protocol with f-strings and POSTs 5,000-point chunks,
inline in the message callback. No time checks, no dedup, no BOH state, no acks to
gateways. Run as ``python -m bohsense.bench._baseline BROKER_PORT CLIENT_ID INFLUX_URL DB READINGS``;
prints one JSON line (with the CPU seconds the process used from its first message to
its last stored reading).
"""

from __future__ import annotations

import json
import os
import sys
import time

import httpx
import msgspec
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from bohsense.contracts.schema import ReadingBatch
from bohsense.contracts.topics import ALL_READINGS

__all__ = ["main"]


def _cpu_s() -> float:
    t = os.times()
    return t.user + t.system


def main(argv: list[str]) -> int:
    port, client_id, influx_url, db, total = int(argv[0]), argv[1], argv[2], argv[3], int(argv[4])
    decoder = msgspec.msgpack.Decoder(ReadingBatch)
    http = httpx.Client(base_url=influx_url, timeout=60)
    params = {"db": db, "precision": "ns"}
    lines: list[str] = []
    state = {"stored": 0, "first": 0.0, "last": 0.0, "messages": 0, "cpu_first": 0.0, "cpu_last": 0.0}

    def post() -> None:
        r = http.post("/write", params=params, content="\n".join(lines).encode())
        r.raise_for_status()
        state["stored"] += len(lines)
        lines.clear()

    def on_message(client: paho.Client, _u: object, msg: paho.MQTTMessage) -> None:
        if not state["first"]:
            state["first"], state["cpu_first"] = time.perf_counter(), _cpu_s()
        state["messages"] += 1
        batch = decoder.decode(msg.payload)
        gw = batch.gateway
        for r in batch.readings:
            lines.append(f"reading,device={r.device},gateway={gw},metric={r.metric} value={r.value} {r.ts}")
        if len(lines) >= 5000 or state["stored"] + len(lines) >= total:
            post()
        if state["stored"] >= total:
            state["last"], state["cpu_last"] = time.perf_counter(), _cpu_s()
            client.disconnect()

    def on_connect(client: paho.Client, *_a: object) -> None:
        client.subscribe(ALL_READINGS, qos=1)

    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
    client.on_message = on_message
    client.on_connect = on_connect
    client.connect("127.0.0.1", port)
    client.loop_forever()
    elapsed = state["last"] - state["first"]
    print(
        json.dumps(
            {
                "readings": state["stored"],
                "messages": state["messages"],
                "seconds": elapsed,
                "readings_per_s": state["stored"] / elapsed,
                "cpu_s": state["cpu_last"] - state["cpu_first"],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
