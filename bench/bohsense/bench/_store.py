"""``bohsense bench store``: one real gateway process serving a whole store, for a fixed time.

The store: 4 RFID readers (the LLRP reader simulator over TCP, one tag world of 4 zones),
40 shelf lanes (5 shelf simulators of 8 lanes on pseudo-terminals, 10 Hz) and 10
vibration sensors (waveform sensor simulators: 3 axes × 8,192 samples at 25.6 kHz, one
block per axis every 10 s, the duty a condition sensor runs at; temperatures as well). The
gateway (``bohsense edge run``, a child process) sends to Mosquitto on a free port; the
cloud service (``bohsense cloud run``, another child process, InfluxDB 1.x and the BOH core
on SQLite) acknowledges what it stored, as in production.

Sampled every second: the gateway's CPU (utime + stime of ``/proc/<pid>/stat``, all its
threads) as a fraction of one core, its resident memory (``VmRSS``) and its outbox depth
(its own Prometheus ``/metrics``). Memory is shown flat or not: the median of the first
third of the run against that of the last third, and the maximum.

``StoreRig`` is shared with ``bench latency`` and ``bench outage``: it can put a TCP proxy
the bench controls between the gateway and the broker (the store's WAN).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bohsense.bench.servers import InfluxServer, MosquittoServer, free_port, wait_port

__all__ = ["Sample", "StoreRig", "TcpProxy", "run_store", "summarise_samples"]

SHELVES = 5
LANES_PER_SHELF = 8
SENSORS = 10
READERS = 4
BLOCK_EVERY_S = 10.0
#: the simulated day the sensor-faults scenario's sensor sticks
STUCK_DAY = 7.0
UNIT_WEIGHTS = (355.0, 500.0, 150.0, 750.0, 240.0, 1000.0, 420.0, 90.0)
TICKS = os.sysconf("SC_CLK_TCK")


def say(bench: str, msg: str) -> None:
    print(f"[bench {bench}] {msg}", file=sys.stderr, flush=True)


# -- the store's WAN ------------------------------------------------------------------


class TcpProxy:
    """A TCP forwarder on a free loopback port to ``127.0.0.1:target``; ``cut()`` drops
    every connection and refuses new ones until ``restore()`` (a WAN outage)."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.port = free_port()
        self._up = True
        self._loop: asyncio.AbstractEventLoop | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="wan-proxy", daemon=True)

    def start(self) -> TcpProxy:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the WAN proxy did not start")
        return self

    def _main(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._client, "127.0.0.1", self.port)
        self._ready.set()
        async with server:
            await self._stop.wait()

    async def _client(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        if not self._up:
            w.close()
            return
        try:
            ur, uw = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            w.close()
            return
        self._writers |= {w, uw}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(r, uw), pipe(ur, w))
        self._writers -= {w, uw}

    def _call(self, fn: Callable[[], None]) -> None:
        assert self._loop is not None
        done = threading.Event()

        def go() -> None:
            fn()
            done.set()

        self._loop.call_soon_threadsafe(go)
        done.wait(5)

    def cut(self) -> None:
        def go() -> None:
            self._up = False
            for w in list(self._writers):
                w.transport.abort()

        self._call(go)

    def restore(self) -> None:
        def go() -> None:
            self._up = True

        self._call(go)

    def stop(self) -> None:
        if self._loop is not None:
            self.cut()
            self._call(self._stop.set)


# -- sampling the gateway -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sample:
    t_s: float
    cpu_s: float
    rss_mb: float
    outbox_depth: int
    metrics: dict[str, float]


def proc_cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def proc_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def scrape(port: int) -> dict[str, float]:
    """The gateway's unlabelled Prometheus figures (``bohsense_edge_`` prefix removed)."""
    out: dict[str, float] = {}
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("bohsense_edge_") and (
                "{" not in line or line.startswith("bohsense_edge_driver_")
            ):
                name, _, value = line.rpartition(" ")
                with contextlib.suppress(ValueError):
                    out[name.removeprefix("bohsense_edge_")] = float(value)
    return out


def summarise_samples(samples: list[Sample]) -> dict[str, Any]:
    """CPU as a fraction of one core over the run; memory first third vs last third; outbox depth."""
    if len(samples) < 3:
        raise RuntimeError(f"only {len(samples)} samples: run longer")
    first, last = samples[0], samples[-1]
    n = len(samples)
    third = max(1, n // 3)
    rss = [s.rss_mb for s in samples]
    depth = [s.outbox_depth for s in samples]
    cpu_each = [
        (b.cpu_s - a.cpu_s) / (b.t_s - a.t_s) for a, b in itertools.pairwise(samples) if b.t_s > a.t_s
    ]
    return {
        "seconds": round(last.t_s - first.t_s, 1),
        "cpu_fraction_of_one_core": round((last.cpu_s - first.cpu_s) / (last.t_s - first.t_s), 4),
        "cpu_fraction_p95_1s": round(sorted(cpu_each)[int(0.95 * (len(cpu_each) - 1))], 4),
        "rss_mb_first_third_median": round(statistics.median(rss[:third]), 1),
        "rss_mb_last_third_median": round(statistics.median(rss[-third:]), 1),
        "rss_mb_max": round(max(rss), 1),
        "rss_mb_series": [round(x, 1) for x in rss[:: max(1, n // 20)]],
        "outbox_depth_median": statistics.median(depth),
        "outbox_depth_max": max(depth),
        "outbox_depth_series": depth[:: max(1, n // 20)],
    }


# -- the store ------------------------------------------------------------------------


def _toml(value: Any) -> str:
    return (
        json.dumps(value)
        if not isinstance(value, dict)
        else ("{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }")
    )


def _scenario_toml(tags_per_zone: int) -> str:
    """A tag world of 4 zones with one reader each (2 antennas on the zone), items moving."""
    lines = ["seed = 11", 'door_zone = "dock"', "door_dwell_s = 3.0", ""]
    lines += [
        "[rf]",
        "path_loss_exponent = 2.5",
        "rssi_at_1m_dbm = -50.0",
        "noise_db = 2.0",
        "sensitivity_dbm = -70.0",
        "miss_rate = 0.02",
        "",
    ]
    zones = [("backroom", 0.0, 0.0), ("floor", 30.0, 0.0), ("fitting", 30.0, 30.0), ("dock", 0.0, 30.0)]
    for name, x, y in zones:
        lines += ["[[zones]]", f'name = "{name}"', f"x = {x}", f"y = {y}", "radius = 2.0", ""]
    for name, x, y in zones:
        lines += [
            "[[readers]]",
            f'id = "{name}-reader"',
            f"antennas = [{{ id = 1, x = {x}, y = {y} }}, {{ id = 2, x = {x + 0.5}, y = {y} }}]",
            "",
        ]
    gtins = ("80614141123458", "04006381333931", "00012345600012")
    serial = 1
    for i, (name, *_xy) in enumerate(zones[:3]):
        lines += [
            "[[stock]]",
            f'gtin = "{gtins[i]}"',
            "company_prefix_digits = 7",
            f'zone = "{name}"',
            f"count = {tags_per_zone}",
            f"first_serial = {serial}",
            "",
        ]
        serial += tags_per_zone
    for k in range(200):
        lines += ["[[moves]]", f"at = {5.0 + 7.0 * k}", 'from = "backroom"', 'to = "floor"', "count = 1", ""]
        lines += ["[[moves]]", f"at = {8.0 + 7.0 * k}", 'from = "floor"', 'to = "backroom"', "count = 1", ""]
    return "\n".join(lines)


@dataclass
class StoreRig:
    """The store's devices, the gateway process, Mosquitto, InfluxDB and the cloud process."""

    workdir: Path
    bench: str
    wan_proxy: bool = False
    #: synthetic gateways whose catalog entries exist, for fleet background load
    fleet_gateways: int = 0
    tags_per_zone: int = 60
    gateway: str = "store-gw-1"
    site: str = "store-1"
    mosquitto: MosquittoServer = field(init=False)
    influx: InfluxServer = field(init=False)
    proxy: TcpProxy | None = None
    shelves: list[Any] = field(default_factory=list)
    sensors: list[Any] = field(default_factory=list)
    llrp: Any = None
    #: the tag world's scenario (``bohsense.simulators.Scenario``)
    scenario: Any = None
    edge: subprocess.Popen[bytes] | None = None
    cloud: subprocess.Popen[bytes] | None = None
    metrics_port: int = 0
    api_port: int = 0
    db: str = "store"

    # -- start ---------------------------------------------------------------------

    def start(self) -> StoreRig:
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "dev").mkdir(exist_ok=True)
        self.mosquitto = MosquittoServer(self.workdir / "mosquitto", durable=True).start()
        self.influx = InfluxServer(self.workdir / "influx").start()
        self.influx.create_database(self.db)
        if self.wan_proxy:
            self.proxy = TcpProxy(self.mosquitto.port).start()
        say(self.bench, f"Mosquitto on {self.mosquitto.port}, InfluxDB on {self.influx.port}")
        self._start_devices()
        self._start_cloud()
        self._start_edge()
        self._wait_attached()
        return self

    @property
    def devices(self) -> list[Any]:
        return [*self.shelves, *self.sensors]

    def _start_devices(self) -> None:
        import dataclasses

        from bohsense.simulators import ConditionScenario, Lane, ShelfDevice, WaveformSensorDevice
        from bohsense.simulators._llrp_faults import readers_for
        from bohsense.simulators._llrp_server import LLRPServer
        from bohsense.simulators._tags import Scenario, TagWorld

        for s in range(SHELVES):
            lanes = [
                Lane(unit_weight_g=UNIT_WEIGHTS[i], units=12, tare_g=150.0 + 10 * i)
                for i in range(LANES_PER_SHELF)
            ]
            self.shelves.append(ShelfDevice(f"shelf-{s + 1}", lanes=lanes, seed=100 + s))
        for k in range(SENSORS):
            # the last sensor's scenario has sensor faults (stuck on day 7): ``sensor_fault_now``
            # jumps its simulated time there, and the gateway raises an urgent local alarm
            name = "condition-motor-sensor-faults" if k == SENSORS - 1 else "condition-motor-outer-race"
            base = ConditionScenario.load(name, seed=1 + k)
            cond = dataclasses.replace(
                base,
                sensor=dataclasses.replace(
                    base.sensor, device_id=f"motor-{k + 1}", block_every_s=BLOCK_EVERY_S
                ),
            )
            self.sensors.append(WaveformSensorDevice(cond, time_scale=1.0, start_s=0.0))
        for d in self.devices:  # paused until the gateway has opened every port
            d.pause()
            d.start(link=self.workdir / "dev" / d.device_id)
        path = self.workdir / "tags.toml"
        path.write_text(_scenario_toml(self.tags_per_zone))
        self.scenario = Scenario.load(path)
        self.llrp = LLRPServer([(r, 0) for r in readers_for(TagWorld(self.scenario))]).start_in_thread()

    def _catalog(self) -> dict[str, Any]:
        gateways = [{"id": self.gateway, "site": self.site}]
        gateways += [{"id": f"fleet-gw-{g:03d}", "site": self.site} for g in range(self.fleet_gateways)]
        return {
            "sites": [
                {
                    "id": self.site,
                    "name": "Benchmark store",
                    "zones": [
                        {"zone": z.name, "kind": "door" if z.name == "dock" else "floor"}
                        for z in self.scenario.zones
                    ],
                }
            ],
            "gateways": gateways,
        }

    def _start_cloud(self) -> None:
        catalog = self.workdir / "catalog.json"
        catalog.write_text(json.dumps(self._catalog()))
        self.api_port = free_port()
        env = {
            **os.environ,
            "BOHSENSE_CLOUD_CLIENT_ID": "bench-cloud",
            "BOHSENSE_CLOUD_MQTT_PROTOCOL": "5",
        }
        log = open(self.workdir / "cloud.log", "ab")  # noqa: SIM115 - lives as long as the child
        self.cloud = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bohsense",
                "--log-format",
                "json",
                "cloud",
                "run",
                "--broker",
                self.mosquitto.url,
                "--tsdb",
                f"{self.influx.url}?db={self.db}",
                "--database",
                f"sqlite:///{self.workdir / 'boh.sqlite3'}",
                "--catalog",
                str(catalog),
                "--api-port",
                str(self.api_port),
            ],
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            env=env,
        )
        deadline = time.monotonic() + 60
        while True:
            if self.cloud.poll() is not None:
                raise RuntimeError(
                    f"the cloud service exited with {self.cloud.returncode}: see {self.workdir}/cloud.log"
                )
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{self.api_port}/api/v1/readyz", timeout=2
                ) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the cloud service was not ready after 60 s")
            time.sleep(0.2)
        say(self.bench, f"cloud service ready, API on {self.api_port}")

    def _gateway_toml(self) -> str:
        broker_port = self.proxy.port if self.proxy is not None else self.mosquitto.port
        self.metrics_port = free_port()
        lines = [
            f'gateway_id = "{self.gateway}"',
            f'site = "{self.site}"',
            'log_format = "json"',
            "status_interval_s = 10",
            "",
            "[broker]",
            f'url = "mqtt://127.0.0.1:{broker_port}"',
            "keepalive_s = 5",
            "resend_after_s = 10",
            "reconnect_min_s = 0.2",
            "reconnect_max_s = 1",
            "",
            "[outbox]",
            f'path = "{self.workdir / "outbox.sqlite3"}"',
            'synchronous = "normal"',
            "",
            "[batch]",
            "max_readings = 500",
            "max_delay_ms = 200",
            "",
            "[metrics]",
            f'listen = "127.0.0.1:{self.metrics_port}"',
            "",
        ]
        for shelf in self.shelves:
            lanes = [{"unit_weight_g": ln.unit_weight_g, "tare_g": ln.tare_g} for ln in shelf.lanes]
            lines += [
                "[[devices]]",
                f'name = "{shelf.device_id}"',
                'kind = "serial"',
                f'port = "{self.workdir / "dev" / shelf.device_id}"',
                "lanes = [" + ", ".join(_toml(x) for x in lanes) + "]",
                "",
            ]
        for sensor in self.sensors:
            lines += [
                "[[devices]]",
                f'name = "{sensor.device_id}"',
                'kind = "serial"',
                f'port = "{self.workdir / "dev" / sensor.device_id}"',
                "[devices.condition]",
                'machine_class = "small"',
                "rpm = 1770.0",
                "bearing = " + _toml({"balls": 9, "ball_d": 7.94, "pitch_d": 39.04, "contact_deg": 0.0}),
                "sample_rate_hz = 25600.0",
                "",
            ]
        zones = {z.name: z for z in self.scenario.zones}
        for spec in self.scenario.readers:
            covered = {
                str(a.antenna_id): next(
                    (z.name for z in zones.values() if (a.x - z.x) ** 2 + (a.y - z.y) ** 2 <= z.radius**2),
                    f"{spec.reader_id}-{a.antenna_id}",
                )
                for a in spec.antennas
            }
            options: dict[str, Any] = {"snapshot_s": 30.0}
            if "dock" in covered.values():
                options["exit_zones"] = ["dock"]
            lines += [
                "[[devices]]",
                f'name = "{spec.reader_id}"',
                'kind = "llrp"',
                'host = "127.0.0.1"',
                f"port = {self.llrp.ports[spec.reader_id]}",
                f'device_id = "{spec.reader_id}"',
                "zones = " + _toml(covered),
                "interpreter_options = " + _toml(options),
                "",
            ]
        return "\n".join(lines)

    def _start_edge(self) -> None:
        config = self.workdir / "gateway.toml"
        config.write_text(self._gateway_toml())
        log = open(self.workdir / "edge.log", "ab")  # noqa: SIM115 - lives as long as the child
        self.edge = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bohsense",
                "--log-format",
                "json",
                "edge",
                "run",
                "--config",
                str(config),
            ],
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
        )
        wait_port(self.metrics_port, self.edge, timeout=60)

    def _wait_attached(self, limit_s: float = 60.0) -> None:
        deadline = time.monotonic() + limit_s
        while True:
            serial = all(d.ground_truth()["rx_frames"].get("TimeSyncRequest") for d in self.devices)
            m = scrape(self.metrics_port)
            if serial and m.get("connected", 0) >= 1:
                for d in self.devices:
                    d.resume()
                break
            if self.edge is not None and self.edge.poll() is not None:
                raise RuntimeError(
                    f"the gateway exited with {self.edge.returncode}: see {self.workdir}/edge.log"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(f"the gateway did not open every device within {limit_s} s")
            time.sleep(0.2)
        say(
            self.bench,
            f"gateway pid {self.edge.pid if self.edge else '?'} serves {len(self.devices)} serial devices and {READERS} readers",
        )

    def sensor_fault_now(self) -> None:
        """Put the last sensor a minute into its stuck-sensor fault (simulated day 7)."""
        self._last_sensor_at(STUCK_DAY * 86_400.0 + 60.0)

    def sensor_normal_now(self) -> None:
        """Put the last sensor back on simulated day 1, before its fault: the alarm clears."""
        self._last_sensor_at(86_400.0)

    def _last_sensor_at(self, simulated_s: float) -> None:
        sensor = self.sensors[-1]
        sensor.start_s = simulated_s - sensor.elapsed() * sensor.time_scale

    # -- observe ---------------------------------------------------------------------

    def sample(self, t0: float) -> Sample:
        assert self.edge is not None
        if self.edge.poll() is not None:
            raise RuntimeError(f"the gateway exited with {self.edge.returncode}: see {self.workdir}/edge.log")
        m = scrape(self.metrics_port)
        return Sample(
            time.monotonic() - t0,
            proc_cpu_s(self.edge.pid),
            proc_rss_mb(self.edge.pid),
            int(m.get("outbox_depth", 0)),
            m,
        )

    def api_get(self, path: str, **params: Any) -> Any:
        import urllib.parse

        q = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.api_port}/api/v1{path}{q}", timeout=10) as r:
            return json.loads(r.read())

    # -- stop ------------------------------------------------------------------------

    def close(self) -> None:
        procs = [p for p in (self.edge, self.cloud) if p is not None and p.poll() is None]
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            if proc.poll() is None:
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
        for d in self.devices:
            with contextlib.suppress(Exception):
                d.stop()
        if self.llrp is not None:
            with contextlib.suppress(Exception):
                self.llrp.stop()
        if self.proxy is not None:
            with contextlib.suppress(Exception):
                self.proxy.stop()
        for server in ("influx", "mosquitto"):
            with contextlib.suppress(Exception):
                getattr(self, server).stop()


def shoppers(rig: StoreRig, rng: random.Random, every_s: float) -> None:
    """Picks at random lanes, about one every ``every_s`` over the store (never emptying a lane)."""
    shelf = rng.choice(rig.shelves)
    lane = rng.randrange(1, LANES_PER_SHELF + 1)
    if shelf.lanes[lane - 1].units > 2:
        shelf.pick(lane, 1)
    else:
        shelf.restock(lane, 10)


def _reader_stats(metrics: dict[str, float]) -> dict[str, int]:
    """The LLRP drivers' counters summed over the store's readers."""
    out: dict[str, int] = {}
    for key, value in metrics.items():
        if key.startswith("driver_") and '-reader"' in key:
            stat = key.split("{", 1)[0].removeprefix("driver_")
            out[stat] = out.get(stat, 0) + int(value)
    return out


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def run_store(duration_s: float, workdir: Path | None = None) -> dict[str, Any]:
    tmp = tempfile.TemporaryDirectory(prefix="bohsense-bench-store-") if workdir is None else None
    wd = Path(tmp.name) if tmp is not None else workdir
    assert wd is not None
    rig = StoreRig(wd, "store")
    load_before = loadavg()
    try:
        rig.start()
        rng = random.Random(5)
        samples: list[Sample] = []
        t0 = time.monotonic()
        next_pick = 0.0
        next_say = 10.0
        while (now := time.monotonic() - t0) < duration_s:
            samples.append(rig.sample(t0))
            if now >= next_pick:
                shoppers(rig, rng, 2.0)
                next_pick = now + rng.expovariate(0.5)
            if now >= next_say:
                s = samples[-1]
                cpu = (s.cpu_s - samples[0].cpu_s) / max(1e-9, s.t_s - samples[0].t_s)
                say(
                    "store",
                    f"{now:5.0f} s: gateway CPU {cpu:.3f} of a core, RSS {s.rss_mb:.1f} MB, "
                    f"outbox depth {s.outbox_depth}, readings in {int(s.metrics.get('readings_in_total', 0))}",
                )
                next_say += 10.0
            time.sleep(max(0.0, 1.0 - ((time.monotonic() - t0) % 1.0)))
        figures = summarise_samples(samples)
        last, first = samples[-1].metrics, samples[0].metrics
        span = samples[-1].t_s - samples[0].t_s
        figures.update(
            {
                "readings_in_per_s": round(
                    (last.get("readings_in_total", 0) - first.get("readings_in_total", 0)) / span, 1
                ),
                "events_in_per_s": round(
                    (last.get("events_in_total", 0) - first.get("events_in_total", 0)) / span, 2
                ),
                "batches_acked_per_s": round(
                    (last.get("acked_total", 0) - first.get("acked_total", 0)) / span, 2
                ),
                "store": {
                    "rfid_readers": READERS,
                    "shelf_lanes": SHELVES * LANES_PER_SHELF,
                    "shelf_rate_hz": 10,
                    "vibration_sensors": SENSORS,
                    "waveform": f"3 axes x 8192 samples at 25.6 kHz every {BLOCK_EVERY_S:g} s",
                    "tags": 3 * rig.tags_per_zone,
                },
                "rfid_driver_stats": _reader_stats(last),
                "load_average_before": load_before,
                "load_average_after": loadavg(),
                "cpus": os.cpu_count(),
            }
        )
        say(
            "store",
            f"gateway: {figures['cpu_fraction_of_one_core']:.3f} of one core, RSS {figures['rss_mb_first_third_median']} → "
            f"{figures['rss_mb_last_third_median']} MB (max {figures['rss_mb_max']}), outbox depth median "
            f"{figures['outbox_depth_median']} max {figures['outbox_depth_max']}",
        )
        return figures
    finally:
        rig.close()
        if tmp is not None:
            tmp.cleanup()
