"""The simulated devices on real pseudo-terminals, spoken to through pyserial and the protocol core."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import serial

from bohsense.firmware_bridge import (
    Ack,
    Command,
    DeviceKind,
    Frame,
    FrameDecoder,
    Hello,
    HelloRequest,
    Message,
    Nack,
    NackReason,
    Samples,
    TimeSyncRequest,
    TimeSyncResponse,
    encode_frame,
)
from bohsense.simulators import ConditionDevice, Lane, PtyDevice, ShelfDevice


class Host:
    """The gateway side, bare: pyserial + the protocol core."""

    def __init__(self, port: str) -> None:
        self.serial = serial.serial_for_url(port, baudrate=115200, timeout=0.05)
        self.decoder = FrameDecoder()
        self.frames: list[Frame] = []
        self.seq = 0
        self.attached = False

    def send(self, message: Message) -> int:
        seq = self.seq
        self.serial.write(encode_frame(message, seq))
        self.seq += 1
        return seq

    def pump(self) -> None:
        data = self.serial.read(4096)
        if not self.attached and data:  # opened mid-frame: start at the first delimiter
            zero = data.find(0)
            self.attached = zero >= 0
            data = data[zero:] if self.attached else b""
        for result in self.decoder.feed(data):
            assert isinstance(result, Frame), result
            self.frames.append(result)

    def wait_for(self, cond: Callable[[list[Frame]], Any], timeout: float = 5.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.pump()
            got = cond(self.frames)
            if got:
                return got
        raise AssertionError(f"timed out; frames: {[f.message for f in self.frames[-5:]]}")

    def of(self, kind: type) -> list[Any]:
        return [f.message for f in self.frames if isinstance(f.message, kind)]


@pytest.fixture
def host_for() -> Iterator[Callable[[PtyDevice], Host]]:
    opened: list[tuple[PtyDevice, Host]] = []

    def make(device: PtyDevice) -> Host:
        device.start()
        host = Host(device.port)
        opened.append((device, host))
        return host

    yield make
    for device, host in opened:
        host.serial.close()
        device.stop()


def test_shelf_says_hello_and_streams_samples(host_for: Callable[[PtyDevice], Host]) -> None:
    device = ShelfDevice(
        "shelf-7", lanes=[Lane(355.0, 10, tare_g=150.0), Lane(500.0, 4, tare_g=100.0)], rate_hz=20
    )
    host = host_for(device)
    host.send(HelloRequest())
    hello = host.wait_for(lambda f: [m for m in host.of(Hello)])[0]
    assert hello == Hello("shelf-7", DeviceKind.SHELF, (1, 0, 0), 20.0, ("lane-1", "lane-2"))
    host.wait_for(lambda f: len(host.of(Samples)) >= 10)
    samples = host.of(Samples)
    assert all(not s.synced for s in samples)
    lane1 = [s.values[0] for s in samples]
    lane2 = [s.values[1] for s in samples]
    assert abs(sum(lane1) / len(lane1) - (150 + 10 * 355)) < 10
    assert abs(sum(lane2) / len(lane2) - (100 + 4 * 500)) < 10
    assert max(lane1) - min(lane1) > 0.5, "a real load cell is noisy"
    gaps = [b.time_us - a.time_us for a, b in itertools.pairwise(samples)]
    assert all(45_000 <= g <= 55_000 for g in gaps)


def test_time_sync_steps_the_device_clock(host_for: Callable[[PtyDevice], Host]) -> None:
    host = host_for(ShelfDevice(lanes=1))
    t1 = time.time_ns() // 1000
    host.send(TimeSyncRequest(t1))
    first = host.wait_for(lambda f: host.of(TimeSyncResponse))[0]
    assert first.gateway_time_us == t1
    assert not first.synced
    assert 0 <= first.receive_time_us <= first.transmit_time_us < 10_000_000
    t1b = time.time_ns() // 1000
    host.send(TimeSyncRequest(t1b, adjust_us=t1b - first.transmit_time_us))
    second = host.wait_for(lambda f: len(host.of(TimeSyncResponse)) >= 2) and host.of(TimeSyncResponse)[1]
    assert second.synced
    assert abs(second.receive_time_us - time.time_ns() // 1000) < 200_000
    n = len(host.of(Samples))
    host.wait_for(lambda f: len(host.of(Samples)) >= n + 3)
    latest = host.of(Samples)[-1]
    assert latest.synced
    assert abs(latest.time_us - time.time_ns() // 1000) < 300_000


def test_commands_are_acked_or_nacked_with_their_seq(host_for: Callable[[PtyDevice], Host]) -> None:
    device = ShelfDevice(lanes=[Lane(355.0, 10, tare_g=150.0)], noise_g=0.0)
    host = host_for(device)
    tare = host.send(Command.tare(1))
    bad_lane = host.send(Command.tare(5))
    rate = host.send(Command.set_rate(500.0))
    # a COMMAND frame with an op the device does not know: NACKed by its seq
    raw_seq = host.seq
    body = bytearray(encode_frame(Command.identify(), raw_seq))
    from bohsense.firmware_bridge._cobs import decode, encode
    from bohsense.firmware_bridge._crc import crc16

    inner = bytearray(decode(bytes(body[1:-1])))
    inner[4] = 99
    inner[-2:] = crc16(bytes(inner[:-2])).to_bytes(2, "little")
    host.serial.write(b"\x00" + encode(bytes(inner)) + b"\x00")
    host.seq += 1
    replies = host.wait_for(lambda f: len(host.of(Ack)) + len(host.of(Nack)) >= 4)
    assert replies
    assert host.of(Ack) == [Ack(tare)]
    nacks = {n.command_seq: n.reason for n in host.of(Nack)}
    assert nacks == {
        bad_lane: NackReason.BAD_ARGUMENT,
        rate: NackReason.BAD_ARGUMENT,
        raw_seq: NackReason.UNKNOWN_COMMAND,
    }
    count = len(host.of(Samples))
    host.wait_for(lambda f: len(host.of(Samples)) >= count + 3)
    assert abs(host.of(Samples)[-1].values[0]) < 1.0, "tared lane reads zero"
    assert device.ground_truth()["rx_errors"] == {"bad-payload": 1}


def test_pick_rings_then_settles_and_ground_truth_counts(
    host_for: Callable[[PtyDevice], Host], tmp_path: Path
) -> None:
    device = ShelfDevice(lanes=[Lane(355.0, 10, tare_g=150.0)], rate_hz=50, noise_g=1.0)
    host = host_for(device)
    device.pick(1, 2)
    host.wait_for(lambda f: len(host.of(Samples)) >= 100, timeout=6)
    values = [s.values[0] for s in host.of(Samples)]
    before, after = 150 + 10 * 355, 150 + 8 * 355
    assert min(values) < after - 100, "the scale overshoots below the new weight"
    assert max(values) > before + 30, "a hand presses while grabbing"
    assert all(abs(v - after) < 8 for v in values[-25:]), "settled within a second"
    device.pause()
    path = tmp_path / "truth.json"
    device.dump_ground_truth(path)
    truth = json.loads(path.read_text())
    assert truth["lanes"][0]["units"] == 8
    assert [e["units_after"] for e in truth["events"] if e["kind"] == "pick"] == [8]
    assert truth["samples_sent"] == device.samples_sent >= len(values)
    assert truth["samples_dropped"] == 0


def test_random_shoppers_empty_the_shelf_and_never_go_negative() -> None:
    device = ShelfDevice(lanes=2, rate_hz=5, seed=3)
    for lane in device.lanes:
        lane.units = 3
    with device:
        device.shoppers(mean_interval_s=0.05, seed=3)
        deadline = time.monotonic() + 5
        while any(lane.units for lane in device.lanes) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [lane.units for lane in device.lanes] == [0, 0]
        picks = [e for e in device.ground_truth()["events"] if e["kind"] == "pick"]
        assert sum(e["units"] for e in picks) == 6


def test_condition_fault_ramps_into_the_iso_alarm_zone(host_for: Callable[[PtyDevice], Host]) -> None:
    device = ConditionDevice("pump-1", rate_hz=50)
    host = host_for(device)
    host.wait_for(lambda f: len(host.of(Samples)) >= 50, timeout=5)
    healthy = host.of(Samples)
    assert all(1.0 <= s.values[1] <= 2.8 for s in healthy)
    assert all(36.0 <= s.values[0] <= 40.0 for s in healthy)
    device.inject_fault("bearing", ramp_s=0.5)
    n = len(healthy)
    host.wait_for(lambda f: len(host.of(Samples)) >= n + 60, timeout=5)
    late = host.of(Samples)[-10:]
    assert all(s.values[1] > 7.1 for s in late)
    assert all(s.values[0] > 48.0 for s in late)
    with pytest.raises(ValueError, match="unknown fault kind"):
        device.inject_fault("gremlins")


def test_nobody_listening_drops_whole_frames_and_counts_them() -> None:
    device = ShelfDevice(lanes=32, rate_hz=100)
    with device:
        deadline = time.monotonic() + 10
        while device.tx_dropped == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert device.tx_dropped > 0
        assert device.samples_dropped > 0
        host = Host(device.port)  # opening flushes the stale input, as a real gateway does
        try:
            host.send(HelloRequest())
            host.wait_for(lambda f: host.of(Hello))  # every frame after attaching parses
        finally:
            host.serial.close()


def test_cli_prints_the_port_and_stops_on_sigterm(tmp_path: Path) -> None:
    truth = tmp_path / "truth.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bohsense",
            "sim",
            "shelf",
            "--lanes",
            "3",
            "--seed",
            "1",
            "--shoppers",
            "--ground-truth",
            str(truth),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        port = proc.stdout.readline().strip()
        assert port.startswith("/dev/pts/")
        assert os.path.exists(port)
        host = Host(port)
        host.send(HelloRequest())
        hello = host.wait_for(lambda f: host.of(Hello))[0]
        assert hello.channels == ("lane-1", "lane-2", "lane-3")
        host.serial.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    data = json.loads(truth.read_text())
    assert data["device_id"] == "shelf-1"
    assert len(data["lanes"]) == 3


def test_cli_sensor_with_a_stable_link(tmp_path: Path) -> None:
    link = tmp_path / "ttyBOH-sensor"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bohsense", "sim", "sensor", "--fault-at", "0", "--link", str(link)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == str(link)
        host = Host(str(link))
        host.send(HelloRequest())
        hello = host.wait_for(lambda f: host.of(Hello))[0]
        assert hello.kind is DeviceKind.CONDITION
        assert hello.channels == ("temp_c", "vib_rms_mm_s")
        host.serial.close()
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0


def test_cli_runs_a_shelf_scenario_and_writes_its_plan_with_the_truth(tmp_path: Path) -> None:
    truth = tmp_path / "truth.json"
    cmd = [sys.executable, "-m", "bohsense", "sim", "shelf", "--scenario", "shelf-faults", "--seed", "101"]
    proc = subprocess.Popen([*cmd, "--ground-truth", str(truth)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        host = Host(proc.stdout.readline().strip())
        host.send(HelloRequest())
        hello = host.wait_for(lambda f: host.of(Hello))[0]
        assert len(hello.channels) == 6, "the scenario's six lanes"
        host.serial.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    data = json.loads(truth.read_text())
    assert (data["scenario"]["name"], data["scenario"]["seed"]) == ("shelf-faults", 101)
    assert [lane["unit_weight_g"] for lane in data["lanes"]] == [355.0, 500.0, 150.0, 750.0, 240.0, 1000.0]
    assert {a["kind"] for a in data["scenario"]["plan"]} >= {"pick", "dead", "unplug", "sku_change"}
    bad = subprocess.run([*cmd[:-3], "nope"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2
    assert "no packaged scenario 'nope'" in bad.stderr
