"""Commands from the cloud reach the device through the gateway, and every command is
answered on …/result under its id: carried out, or refused with the reason."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import paho.mqtt.client as mqtt

from bohsense.contracts import CommandResult, GatewayCommand, decode_result, encode
from bohsense.contracts.timeutil import now_ns
from bohsense.contracts.topics import cmd_topic, result_topic
from bohsense.edge import EdgeAgent, load_settings
from bohsense.simulators import ShelfDevice
from tests.edge.conftest import gateway_id, until, write_config
from tests.support.services import Mosquitto


class _Results:
    def __init__(self, broker: Mosquitto, gateway: str) -> None:
        self.got: dict[str, CommandResult] = {}
        self.lock = threading.Lock()
        self.subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"results-{gateway}")
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_a: self.subscribed.set()
        self.client.connect("127.0.0.1", broker.port)
        self.client.subscribe(result_topic(gateway), qos=1)
        self.client.loop_start()
        self.gateway = gateway

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        result = decode_result(msg.payload)
        with self.lock:
            self.got[result.id] = result

    def send(self, command: str, cid: str, **args: str | int | float) -> None:
        cmd = GatewayCommand(gateway=self.gateway, command=command, id=cid, ts=now_ns(), args=args)
        self.client.publish(cmd_topic(self.gateway), encode(cmd), qos=1).wait_for_publish(5)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


async def test_device_commands_are_carried_out_and_every_command_is_answered(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    gw = gateway_id("cmd")
    shelf = ShelfDevice("shelf-7", lanes=2, seed=2).start(link=tmp_path / "shelf")
    devices = f'\n[[devices]]\nname = "shelf"\nkind = "serial"\nport = "{tmp_path / "shelf"}"\n'
    cfg = write_config(tmp_path / "gw.toml", gw, mosquitto.url, tmp_path / "outbox.sqlite3", devices=devices)
    agent = EdgeAgent(load_settings(cfg, env={}))
    task = asyncio.create_task(agent.run())
    results = _Results(mosquitto, gw)
    try:
        await until(results.subscribed.is_set, 20, "result subscription")
        await until(lambda: agent.counters().get("connected") == 1, 20, "the gateway connected")
        await until(lambda: shelf.ground_truth()["rx_frames"].get("TimeSyncRequest"), 20, "the shelf opened")
        results.send("tare", "c-tare", device="shelf", lane=1)
        results.send("calibrate", "c-cal", device="shelf", lane=0, grams=500)  # lane 0: refused by the device
        results.send("tare", "c-nodev", device="fridge")
        results.send("set-rate", "c-badarg", device="shelf", hz="fast")
        results.send("self-destruct", "c-unknown")
        results.send("ping", "c-ping")
        await until(lambda: len(results.got) == 6, 20, "six results")
    finally:
        results.close()
        agent.stop()
        await asyncio.wait_for(task, 20)
        shelf.stop()
    got = results.got
    assert (got["c-tare"].ok, got["c-tare"].command) == (True, "tare")
    assert next(e for e in shelf.ground_truth()["events"] if e["kind"] == "tare")["lane"] == 1
    assert (got["c-cal"].ok, got["c-cal"].reason) == (False, "device-refused")
    assert "bad_argument" in got["c-cal"].detail
    assert (got["c-nodev"].ok, got["c-nodev"].reason) == (False, "unknown-device")
    assert "shelf" in got["c-nodev"].detail, "the refusal names the devices there are"
    assert (got["c-badarg"].ok, got["c-badarg"].reason) == (False, "bad-argument")
    assert (got["c-unknown"].ok, got["c-unknown"].reason) == (False, "unknown-command")
    assert got["c-ping"].ok
    c = agent.counters()
    assert c["command_results"] == 6
    assert c["commands_failed"] == 4
    assert c["rejected.cmd.unknown-command"] == 1


async def test_a_command_only_another_driver_kind_takes_is_accepted_not_counted_unknown(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    from tests.edge.test_commands_router import ReaderDriver

    gw = gateway_id("cmd-reader")
    cfg = write_config(tmp_path / "gw.toml", gw, mosquitto.url, tmp_path / "outbox.sqlite3")
    reader = ReaderDriver()
    agent = EdgeAgent(load_settings(cfg, env={}), drivers=[reader])
    task = asyncio.create_task(agent.run())
    results = _Results(mosquitto, gw)
    try:
        await until(results.subscribed.is_set, 20, "result subscription")
        await until(lambda: agent.counters().get("connected") == 1, 20, "the gateway connected")
        results.send("set-power", "c-power", device="reader-1", dbm=27.5)
        results.send("self-destruct", "c-unknown")
        await until(lambda: len(results.got) == 2, 20, "two results")
    finally:
        results.close()
        agent.stop()
        await asyncio.wait_for(task, 20)
    assert results.got["c-power"].ok, results.got["c-power"]
    assert reader.calls == [("set-power", {"dbm": 27.5})]
    c = agent.counters()
    assert c["commands"] == 1, "set-power is this gateway's command: accepted"
    assert c["rejected.cmd.unknown-command"] == 1
