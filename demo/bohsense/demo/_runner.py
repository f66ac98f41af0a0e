"""``bohsense demo``: a whole simulated store on one machine, in one process tree.

This process runs the embedded MQTT broker (a thread), the simulated devices (threads,
each on a pseudo-terminal) and the cloud service (ingest, BOH core, HTTP API) on its
event loop; the store gateway runs as a child process, exactly as it would in a store,
and reads the devices through the real serial path.

Scoring: the devices are held until the gateway has opened both ports, so every sample
they produce is one the gateway should deliver. At the end the devices stop producing,
the pipeline drains, and the raw readings in the time-series store are counted against
what the devices produced (``readings_lost``) and against what the BOH core applied
(``duplicates_applied``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from bohsense.demo._receiver import WebhookReceiver
from bohsense.demo._store import (
    ASSET,
    CONDITION_SCENARIO,
    GATEWAY,
    LANES,
    SENSOR,
    SHELF,
    DemoStore,
    RfidReader,
    gateway_toml,
)

__all__ = ["DemoOptions", "run_demo"]

log = logging.getLogger(__name__)

#: one reading per waveform block of each axis (the other features of a block come with it)
BLOCK_METRIC = "vib_{axis}_velocity_rms_mm_s"


@dataclass(frozen=True, slots=True)
class DemoOptions:
    duration_s: float | None = 60.0  # None: until Ctrl-C
    broker: str | None = None
    influx: str | None = None
    workdir: Path | None = None
    api_port: int = 8080
    seed: int = 1
    progress_every_s: float = 5.0


class DemoError(RuntimeError):
    """The demo could not start or run one of its parts."""


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _influx_url(url: str) -> str:
    if "db=" in url or url.startswith(("influx1", "influx2")):
        return url
    return url.rstrip("/") + ("&" if "?" in url else "?") + "db=bohsense_demo"


class _Out:
    """Human progress on stdout; the JSON summary is printed last, on its own line."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def __call__(self, line: str = "") -> None:
        print(line, file=self.stream, flush=True)


async def run_demo(opts: DemoOptions, out: TextIO = sys.stdout) -> dict[str, Any]:
    from bohsense.cloud import CloudService, CloudSettings
    from bohsense.simulators import Lane, ShelfDevice

    say = _Out(out)
    workdir = opts.workdir or Path(tempfile.mkdtemp(prefix="bohsense-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "dev").mkdir(exist_ok=True)
    log_path = workdir / "cloud.log"
    _log_to_file(log_path)
    duration = opts.duration_s if opts.duration_s is not None else 3600.0
    store = DemoStore(duration, waveforms=True)
    catalog_path = workdir / "catalog.json"
    catalog_path.write_text(json.dumps(store.catalog(), indent=2))

    broker: Any = None
    if opts.broker is None:
        from bohsense.demo.broker import EmbeddedBroker

        broker = EmbeddedBroker().start()
        broker_url, protocol = broker.url, 4  # amqtt speaks MQTT 3.1.1
    else:
        broker_url, protocol = opts.broker, 5
    tsdb_url = _influx_url(opts.influx) if opts.influx else f"sqlite:///{workdir / 'timeseries.sqlite3'}"
    api_port = opts.api_port if opts.api_port == 0 or _port_free(opts.api_port) else 0

    shelf = ShelfDevice(
        SHELF,
        lanes=[Lane(unit_weight_g=w, units=u, tare_g=t) for _, _, w, t, u, *_ in LANES],
        seed=opts.seed,
    )
    sensor = _compressor_sensor(store, opts.seed)
    devices = (shelf, sensor)
    for device in devices:
        device.pause()
        device.start(link=workdir / "dev" / device.device_id)
    rfid_server, rfid = _start_rfid(workdir)
    # the store's ERP and maintenance system: one receiver of signed webhooks
    import secrets

    receiver = WebhookReceiver(secrets.token_urlsafe(24)).start()

    settings = CloudSettings(
        broker_url=broker_url,
        mqtt_protocol=protocol,
        client_id="bohsense-demo-cloud",
        tsdb_url=tsdb_url,
        database_url=f"sqlite:///{workdir / 'boh.sqlite3'}",
        catalog=catalog_path,
        api_port=api_port,
        webhook_orders_url=receiver.url,
        webhook_work_orders_url=receiver.url,
        webhook_secret=receiver.secret,
        webhook_interval_s=1.0,
        order_on_approval=True,
    )
    service = CloudService(settings)
    order_task: asyncio.Task[dict[str, Any]] | None = None
    stop = asyncio.Event()
    cloud_task = asyncio.create_task(service.run(stop), name="cloud")
    edge: subprocess.Popen[bytes] | None = None
    edge_log = workdir / "edge.log"
    try:
        await _wait_ready(service, cloud_task)
        api = f"http://127.0.0.1:{service.api_port}"
        config = workdir / "gateway.toml"
        config.write_text(
            gateway_toml(
                store,
                broker_url=broker_url,
                outbox=workdir / "outbox.sqlite3",
                shelf_port=workdir / "dev" / SHELF,
                sensor_port=workdir / "dev" / SENSOR,
                rfid=rfid,
            )
        )
        edge = _start_edge(config, edge_log)
        await _put_plan(api, store)
        _banner(say, opts, api, broker_url, workdir, log_path, edge_log)
        say(
            f"  webhooks      receiver {receiver.url}   outbox: {api}/api/v1/webhooks   dead letters: {api}/api/v1/webhooks/dead-letter"
        )
        say(
            f"  plan          {LANES[0][0]} is sized from a forecast of {PLAN_DAYS} days of its sales; the first proposal is approved by this script"
        )
        say()
        order_task = asyncio.create_task(_approve_first(api, receiver, say), name="approve")
        await _wait_attached(devices, edge)
        t0 = time.monotonic()
        started_ns = time.time_ns()
        # the compressor's story starts now, at its first day shown, whatever the wait was
        sensor.start_s = store.start_s - sensor.elapsed() * sensor.time_scale
        for device in devices:
            device.resume()
        base = shelf.elapsed()
        for at, lane, units in store.picks():
            shelf.pick(lane, units, at=base + at)
        await _progress(say, service, edge, sensor, t0, duration, opts.progress_every_s)
        for device in devices:
            device.pause()
        say("devices stopped; waiting for the gateway's outbox to drain …")
        expected = _expected_raw(shelf, sensor)
        stored = await _drain(service, expected, edge)
        edge_code = _stop_edge(edge)
        edge = None
        await asyncio.sleep(0.5)  # the gateway's "offline" status
        summary = await _summary(service, expected, stored, time.monotonic() - t0)
        summary["pos_transactions"] = await asyncio.to_thread(_post_sales, api, store.pos_batch(started_ns))
        summary["order"] = await _order_outcome(order_task, receiver)
        order_task = None
        summary["maintenance"] = await asyncio.to_thread(_maintenance_outcome, service, api, sensor)
        summary.update(
            {
                "api": api,
                "workdir": str(workdir),
                "edge_exit_code": edge_code,
                "broker": broker_url,
                "tsdb": tsdb_url,
            }
        )
        return summary
    finally:
        if order_task is not None:
            order_task.cancel()
        if edge is not None:
            _stop_edge(edge)
        stop.set()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(20):
                await cloud_task
        for device in devices:
            device.stop()
        rfid_server.stop()
        receiver.stop()
        if broker is not None:
            broker.stop()


#: days of simulated sales history the demo's forecast plan is made from
PLAN_DAYS = 120


def _compressor_sensor(store: DemoStore, seed: int) -> Any:
    """The compressor's waveform sensor, playing its scenario at the demo's pace."""
    import dataclasses

    from bohsense.simulators import ConditionScenario, WaveformSensorDevice

    scenario = ConditionScenario.load(CONDITION_SCENARIO, seed=seed)
    scenario = dataclasses.replace(
        scenario, sensor=dataclasses.replace(scenario.sensor, block_every_s=store.block_every_s)
    )
    return WaveformSensorDevice(scenario, time_scale=store.time_scale, start_s=store.start_s)


def _maintenance_outcome(service: Any, api: str, sensor: Any) -> dict[str, Any]:
    """The compressor's alert from its detector rule and the work order it opened."""
    core = service.core
    truth = sensor.ground_truth()
    injected = [f["kind"] for f in truth["faults"]]
    story: dict[str, Any] = {
        "scenario": truth["scenario"],
        "injected_faults": injected,
        "sim_day_reached": round(sensor.sent_blocks[-1].sim_t_s / 86_400, 2) if sensor.sent_blocks else None,
        "blocks_sent": truth["blocks_sent"],
    }
    alerts = [a for a in core.list_alerts(asset_id=ASSET) if a.evidence.get("engine") == "detector"]
    if not alerts:
        return {**story, "detected": False}
    alert = alerts[-1]  # the oldest: lists are newest first
    ev = alert.evidence
    diagnosis = ev.get("diagnosis") or {}
    confirmed_ns = ev.get("confirmed_ns")
    story.update(
        {
            "detected": True,
            "alert_id": alert.id,
            "fault_type": alert.condition,
            "model": alert.model,
            "diagnosis": diagnosis.get("label"),
            "db_above_baseline": {
                c: v.get("db_above_baseline") for c, v in (diagnosis.get("classes") or {}).items()
            },
            "score": ev.get("score"),
            "confirmed_sim_day": None
            if confirmed_ns is None
            else round(sensor.sim_time(_mono_of(confirmed_ns)) / 86_400, 2),
        }
    )
    orders = core.list_work_orders(alert_id=alert.id)
    if orders:
        wo = orders[-1]
        story.update(
            {
                "work_order_id": wo.id,
                "work_order_url": f"{api}/api/v1/work-orders/{wo.id}",
                "work_order_priority": wo.priority,
                "evidence_keys": sorted(wo.evidence),
                "checks": wo.checks,
                "spare_parts": wo.spare_parts,
            }
        )
    return story


def _mono_of(wall_ns: int) -> float:
    """The host's monotonic time of a UTC time (ns) in the recent past."""
    return time.monotonic() - (time.time_ns() - wall_ns) / 1e9


async def _put_plan(api: str, store: DemoStore) -> None:
    """A forecast plan for the first lane's SKU from simulated sales (``plan_from_history``:
    models.forecast and models.replenish), put through the API like a nightly planner would."""
    import datetime as dt

    import httpx
    import numpy as np

    from bohsense.cloud.boh import plan_from_history

    sku = LANES[0][0]
    sales = np.random.default_rng(7).poisson(2.0, PLAN_DAYS).astype(float).tolist()
    plan = plan_from_history(
        store.site,
        sku,
        f"aisle-1/{SHELF}/lane-1",
        sales,
        last_day=dt.date.today() - dt.timedelta(days=1),
        lead_time_days=2,
        abc="A",
        as_of_ns=time.time_ns(),
        unit_cost=0.45,
        ordering_cost=4.0,
        holding_rate=0.25,
        shelf_capacity=float(LANES[0][6]),
    )
    from dataclasses import asdict

    async with httpx.AsyncClient() as client:
        r = await client.put(f"{api}/api/v1/replenishment/plans", json=asdict(plan))
        if r.status_code != 204:
            raise DemoError(f"the demo's plan was refused: {r.status_code} {r.text}")


async def _approve_first(api: str, receiver: WebhookReceiver, say: _Out) -> dict[str, Any]:
    """Approve the first proposal through the API, as a buyer would; its order goes out as a
    signed webhook to the receiver."""
    import httpx

    async with httpx.AsyncClient(base_url=f"{api}/api/v1") as client:
        while True:
            found = (await client.get("/replenishment", params={"state": "proposed"})).json()
            if found:
                break
            await asyncio.sleep(0.5)
        p = found[0]
        r = await client.post(f"/replenishment/{p['id']}/approve", json={"note": "ok"})
        approved = r.json()
        explanation = f"{api}/api/v1/replenishment/{p['id']}/explanation"
        say(
            f"  proposal {p['id']}: {p['quantity']} x {p['sku']} ({p['explanation'].get('source')}) "
            f"approved -> {approved.get('state')}; explanation: {explanation}"
        )
        key = f"order:{p['id']}:ordered"
        while key not in receiver.processed:  # noqa: ASYNC110 - the receiver is a thread, not a task
            await asyncio.sleep(0.2)
        seen = [x for x in receiver.requests if x.key == key]
        ok = all(x.signature_ok for x in seen)
        say(
            f"  order webhook {key} delivered to {receiver.url} after {len(seen)} attempt(s), "
            f"signature {'verified' if ok else 'INVALID'}"
        )
        return {
            "proposal_id": p["id"],
            "quantity": p["quantity"],
            "sku": p["sku"],
            "source": p["explanation"].get("source"),
            "explanation_url": explanation,
            "webhook_delivered": True,
            "signature_verified": ok,
            "attempts": len(seen),
        }


async def _order_outcome(
    task: asyncio.Task[dict[str, Any]] | None, receiver: WebhookReceiver
) -> dict[str, Any]:
    """What became of the approved order (waiting a little for its webhook)."""
    if task is None:
        return {}
    try:
        async with asyncio.timeout(10.0):
            return await asyncio.shield(task)
    except TimeoutError:
        task.cancel()
        return {"webhook_delivered": False, "received": len(receiver.requests)}


def _start_rfid(workdir: Path) -> tuple[Any, list[RfidReader]]:
    """The store's RFID readers: the simulated readers of the packaged store scenario, on
    TCP ports of their own, read by the gateway's LLRP driver like real ones."""
    from importlib import resources

    from bohsense.simulators._llrp_faults import readers_for
    from bohsense.simulators._llrp_server import LLRPServer
    from bohsense.simulators._tags import Scenario, TagWorld

    with resources.as_file(resources.files("bohsense.simulators") / "scenarios" / "store.toml") as path:
        scenario = Scenario.load(path)
    world = TagWorld(scenario)
    server = LLRPServer([(r, 0) for r in readers_for(world)]).start_in_thread()
    zones = {z.name: z for z in scenario.zones}
    readers = []
    for spec in scenario.readers:
        covered = {
            a.antenna_id: next(
                (z.name for z in zones.values() if (a.x - z.x) ** 2 + (a.y - z.y) ** 2 <= z.radius**2),
                f"{spec.reader_id}-{a.antenna_id}",
            )
            for a in spec.antennas
        }
        door = scenario.door_zone
        readers.append(
            RfidReader(
                spec.reader_id,
                server.ports[spec.reader_id],
                covered,
                (door,) if door is not None and door in covered.values() else (),
            )
        )
    return server, readers


def _start_edge(config: Path, log_path: Path) -> subprocess.Popen[bytes]:
    """The store gateway, as a child process with its log in ``log_path``."""
    with open(log_path, "ab") as err:
        return subprocess.Popen(
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
            stdout=err,
            stderr=err,
            stdin=subprocess.DEVNULL,
        )


def _log_to_file(path: Path) -> None:
    """The demo's own and the cloud's logs go to a file; warnings also to stderr."""
    from bohsense.contracts.logs import JsonFormatter

    root = logging.getLogger()
    file_handler = logging.FileHandler(path)
    file_handler.setFormatter(JsonFormatter())
    file_handler.setLevel(logging.INFO)
    err = logging.StreamHandler(sys.stderr)
    err.setLevel(logging.ERROR)
    err.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.handlers[:] = [file_handler, err]
    root.setLevel(logging.INFO)
    for noisy in ("amqtt", "transitions", "uvicorn", "uvicorn.error", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


async def _wait_ready(service: Any, cloud_task: asyncio.Task[int], limit_s: float = 30.0) -> None:
    deadline = time.monotonic() + limit_s
    while not service.ready.is_set():
        if cloud_task.done():
            exc = cloud_task.exception()
            raise DemoError(f"the cloud service stopped while starting: {exc!r}") from exc
        if time.monotonic() > deadline:
            raise DemoError(f"the cloud service was not ready after {limit_s:.0f} s")
        await asyncio.sleep(0.05)


async def _wait_attached(
    devices: tuple[Any, ...], edge: subprocess.Popen[bytes], limit_s: float = 30.0
) -> None:
    """Wait until the gateway has opened every device (it has asked each for the time)."""
    deadline = time.monotonic() + limit_s
    while not all(d.ground_truth()["rx_frames"].get("TimeSyncRequest") for d in devices):
        if edge.poll() is not None:
            raise DemoError(f"the store gateway exited with code {edge.returncode} (see its log)")
        if time.monotonic() > deadline:
            raise DemoError(f"the store gateway did not open the devices within {limit_s:.0f} s")
        await asyncio.sleep(0.05)


def _banner(
    say: _Out, opts: DemoOptions, api: str, broker: str, workdir: Path, cloud_log: Path, edge_log: Path
) -> None:
    length = "until Ctrl-C" if opts.duration_s is None else f"for {opts.duration_s:.0f} s"
    say(f"bohsense demo: one simulated store, running {length}")
    say(
        f"  dashboard     {api}/dashboard/   (store, asset health, alerts, work orders, replenishment, fleet)"
    )
    say(f"  HTTP API      {api}/api/v1/summary   (interactive docs: {api}/docs, schema: {api}/openapi.json)")
    say(f"  stock         {api}/api/v1/stock")
    say(f"  alerts        {api}/api/v1/alerts        work orders: {api}/api/v1/work-orders")
    say(
        f"  compressor    its bearing's work order: {api}/api/v1/work-orders?asset={ASSET}"
        f"   (evidence in each; the feature trend at {api}/api/v1/work-orders/{{id}}/trend)"
    )
    say(f"  proposals     {api}/api/v1/replenishment")
    say(f"  events        {api}/api/v1/events   (shelf picks, RFID item arrivals, moves, departures)")
    say(f"  RFID stock    {api}/api/v1/inventory/zones   door departures: {api}/api/v1/inventory/departures")
    say(f"  MQTT          {broker}   (topics: bohsense/v1/gw/{GATEWAY}/…)")
    say(f"  logs          gateway: {edge_log}   cloud: {cloud_log}")
    say(f"  data          {workdir}")
    say(
        f"  the store     shelf '{SHELF}' ({len(LANES)} lanes) and '{SENSOR}' on asset '{ASSET}', both on pseudo-terminals"
    )
    say()


async def _snapshot(service: Any) -> tuple[dict[str, Any], list[Any], dict[str, Any]]:
    core = service.core
    summary, stock = await asyncio.gather(
        asyncio.to_thread(core.summary), asyncio.to_thread(core.stock_levels)
    )
    return summary, stock, service.stats()


async def _progress(
    say: _Out,
    service: Any,
    edge: subprocess.Popen[bytes],
    sensor: Any,
    t0: float,
    duration: float,
    every: float,
) -> None:
    next_at = t0 + every
    end = t0 + duration
    while True:
        now = time.monotonic()
        if now >= end:
            return
        if edge.poll() is not None:
            raise DemoError(f"the store gateway exited with code {edge.returncode} (see its log)")
        await asyncio.sleep(min(next_at, end) - now)
        if time.monotonic() >= next_at:
            tick = next_at - t0  # the nominal time, so the lines read 5 s, 10 s, … however busy
            next_at += every
            summary, stock, stats = await _snapshot(service)
            lanes = sorted(stock, key=lambda s: s.location)  # lane 1, 2, … as on the shelf
            units = " ".join("?" if s.units is None else f"{s.units:g}" for s in lanes)
            vib = await service.store.latest(
                gateways=[GATEWAY], device=SENSOR, metric="vib_x_velocity_rms_mm_s"
            )
            env = await service.store.latest(gateways=[GATEWAY], device=SENSOR, metric="vib_x_env_bpfi_db")
            vib_s = f"{vib[0].value:4.1f}" if vib else "  - "
            env_s = f"{env[0].value:4.1f}" if env else "  - "
            say(
                f"[{tick:5.0f} s] readings {stats.get('readings_stored', 0):>7,}"
                f" | shelf lanes (units) {units:<14}"
                f" | compressor day {sensor.sim_time() / 86_400:4.1f}: {vib_s} mm/s, BPFI {env_s} dB"
                f" | alerts {summary['alerts']} | work orders {summary['work_orders']}"
                f" | proposals {summary['replenishment_proposals']} | quarantined {summary['quarantined']}"
            )


def _expected_raw(shelf: Any, sensor: Any) -> dict[tuple[str, str], int]:
    """Raw readings the devices produced, per (device, metric): a weight per lane and shelf
    sample; per waveform block of each axis its features (counted by one of them); a
    temperature per TEMPERATURE message."""
    expected: dict[tuple[str, str], int] = {}
    n_shelf = shelf.ground_truth()["samples_sent"]
    for i in range(len(shelf.lanes)):
        expected[(f"{SHELF}.lane-{i + 1}", "weight_g")] = n_shelf
    axes = sensor.scenario.sensor.axes
    blocks = sensor.blocks_sent
    for k, axis in enumerate(axes):  # one block per axis per set, in axis order
        expected[(SENSOR, BLOCK_METRIC.format(axis=axis))] = blocks // len(axes) + (k < blocks % len(axes))
    expected[(SENSOR, "temp_c")] = sensor.samples_sent
    return expected


async def _count_stored(service: Any, expected: dict[tuple[str, str], int]) -> dict[tuple[str, str], int]:
    end = time.time_ns() + 3600 * 10**9
    counts = {}
    for device, metric in expected:
        points = await service.store.series(
            gateway=GATEWAY, device=device, metric=metric, start_ns=0, end_ns=end
        )
        counts[(device, metric)] = len(points)
    return counts


async def _drain(
    service: Any, expected: dict[tuple[str, str], int], edge: subprocess.Popen[bytes], limit_s: float = 60.0
) -> dict[tuple[str, str], int]:
    deadline = time.monotonic() + limit_s
    while True:
        stored = await _count_stored(service, expected)
        if all(stored[k] >= v for k, v in expected.items()) or time.monotonic() > deadline:
            return stored
        if edge.poll() is not None:
            return stored
        await asyncio.sleep(0.5)


def _stop_edge(edge: subprocess.Popen[bytes]) -> int:
    if edge.poll() is None:
        edge.send_signal(signal.SIGTERM)
        try:
            edge.wait(20)
        except subprocess.TimeoutExpired:
            edge.kill()
            edge.wait(5)
    return int(edge.returncode)


async def _summary(
    service: Any, expected: dict[tuple[str, str], int], stored: dict[tuple[str, str], int], elapsed: float
) -> dict[str, Any]:
    boh = await asyncio.to_thread(service.core.summary)
    stats = service.stats()
    end = time.time_ns() + 3600 * 10**9
    distinct = 0
    for p in await service.store.latest():
        distinct += len(
            await service.store.series(
                gateway=p.gateway, device=p.device, metric=p.metric, start_ns=0, end_ns=end
            )
        )
    applied = int(stats["readings_applied"])
    produced = sum(expected.values())
    short = {
        f"{d}/{m}": v - stored.get((d, m), 0) for (d, m), v in expected.items() if stored.get((d, m), 0) < v
    }
    lost = sum(short.values())
    return {
        "duration_s": round(elapsed, 1),
        "readings_produced": produced,
        "readings_ingested": applied,
        "readings_stored": distinct,
        "readings_lost": lost,
        # which series fell short, and by how much (empty when nothing was lost)
        "lost_by_series": short,
        "duplicates_applied": max(0, applied - distinct),
        "duplicates_dropped": int(stats.get("duplicates", 0)),
        "alerts": boh["alerts"],
        "work_orders": boh["work_orders"],
        "replenishment_proposals": boh["replenishment_proposals"],
        "quarantined": boh["quarantined"],
        "device_events": boh["device_events"],
        "gateways": boh["gateways"],
    }


def _post_sales(api: str, body: dict[str, Any]) -> int:
    """Post the tills' batch to the API; how many transactions it applied."""
    req = urllib.request.Request(
        f"{api}/api/v1/pos/transactions",
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return int(json.loads(resp.read())["applied"])


def _kinds(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items())) or "none"


def main_sync(opts: DemoOptions, out: TextIO = sys.stdout) -> int:
    try:
        summary = asyncio.run(run_demo(opts, out))
    except DemoError as exc:
        print(f"bohsense demo: {exc}", file=sys.stderr)
        return 1
    ok = summary["readings_lost"] == 0 and summary["duplicates_applied"] == 0
    print(
        f"\n{summary['readings_ingested']:,} readings ingested, {summary['readings_lost']} lost, "
        f"{summary['duplicates_applied']} applied twice; {summary['alerts']} alert(s), "
        f"{summary['work_orders']} work order(s), {summary['replenishment_proposals']} replenishment proposal(s), "
        f"{sum(summary['device_events'].values())} device event(s) ({_kinds(summary['device_events'])}), "
        f"{summary['pos_transactions']} POS transaction(s) in the book-stock ledger. "
        f"Data kept in {summary['workdir']}",
        file=out,
    )
    if summary["lost_by_series"]:
        shortfall = ", ".join(f"{k} {n}" for k, n in sorted(summary["lost_by_series"].items()))
        print(f"Readings missing by series (device/metric): {shortfall}; see the gateway's log.", file=out)
    order = summary.get("order") or {}
    if order.get("webhook_delivered"):
        print(
            f"Proposal {order['proposal_id']} ({order['quantity']} x {order['sku']}, sized from the {order['source']}),"
            f" explained at {order['explanation_url']}; approved, its order webhook delivered"
            f" (signature {'verified' if order['signature_verified'] else 'INVALID'}).",
            file=out,
        )
    else:
        print("No order webhook was delivered in this run.", file=out)
    m = summary.get("maintenance") or {}
    if m.get("work_order_id") is not None:
        print(
            f"The compressor's {', '.join(m['injected_faults'])} fault was detected on simulated day"
            f" {m['confirmed_sim_day']} and diagnosed {m['diagnosis'] or 'not yet'} (alert {m['alert_id']},"
            f" fault type {m['fault_type']}); work order {m['work_order_id']} with its evidence: {m['work_order_url']}",
            file=out,
        )
    else:
        print(
            f"The compressor's fault was not turned into a work order in this run"
            f" (detected: {m.get('detected')}, simulated day reached {m.get('sim_day_reached')}).",
            file=out,
        )
    print(json.dumps(summary), file=out, flush=True)
    return 0 if ok else 1
