"""``bohsense bench latency``: a shelf pick, from the shopper's hand to the HTTP API, at store load
with fleet background load on the cloud, against the bare broker round trip in the same run.

The store is ``bench store``'s (one gateway process: 4 RFID readers, 40 lanes, 10 vibration
sensors), and the same cloud process also ingests a synthetic fleet: ``--fleet-gateways``
gateways publishing ReadingBatches of 100 readings at ``--fleet-rate`` readings/s in total.

The event timed: a pick of one unit from a random lane, scheduled on the shelf simulator;
its start is the simulator's ground-truth ``wall_ns`` of the pick (the shopper's grab: the
goods leave the load cell 0.35 s later and the lane settles after that); its end is the
moment a ``GET /api/v1/events?kind=shelf.pick&device=<shelf>`` (polled every 20 ms) first
returns an event newer than the pick
(the event's device is the shelf, its ``attrs.lane`` the lane). One pick is in flight at a time; a pick not seen
within 15 s counts as missed. Also reported: the part of it until the cloud received the
batch (the event's ``received_ns``) and the gateway's own placement of the event
(``ts_ns`` − truth: the settling time the lane estimator needs) and the rest, from that
event time to the API (the pipeline: batching, outbox, MQTT, ingest, BOH core, API).

The alert feed, in the same run: every ``ALARM_EVERY_S`` the store's last condition sensor
is put into its stuck-sensor fault (its scenario's simulated day 7) and, once the alert is
out, back to normal so the alarm clears. The gateway raises the local alarm
``device.alarm`` ``sensor.<series>`` on the first faulty block; the cloud turns it into an
alert and pushes it to the technicians. Timed from the alarm's event time (its ``ts_ns``, the
block's time at the gateway, read back from ``/api/v1/events``) to its arrival on the store's
MQTT alert topic ``bohsense/v1/site/{site}/alert`` (a subscribed client) and on the SSE feed
``GET /api/v1/feeds/events?topics=alerts`` (a streaming client). Few alarms fit a run (one
per cycle of about a minute: the sensor sends a block every 10 s and clears after three good
ones), so their n is small and stated.

The baseline: a QoS 1 message published to the same Mosquitto and received by a second
client, timestamped on both sides (the bare broker round trip), probed every 100 ms during
the same run.
"""

from __future__ import annotations

import contextlib
import json
import random
import statistics
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from bohsense.bench._store import LANES_PER_SHELF, StoreRig, loadavg, say
from bohsense.contracts.codec import encode
from bohsense.contracts.schema import Reading, ReadingBatch
from bohsense.contracts.topics import readings_topic, site_alert_topic

__all__ = ["percentiles", "run_latency"]

POLL_S = 0.02
MISS_AFTER_S = 15.0
#: one stuck-sensor alarm per this many seconds (raise, then clear)
ALARM_EVERY_S = 55.0
#: an alarm not on both feeds within this is missed
ALARM_MISS_AFTER_S = 30.0


def percentiles(values_ms: list[float], digits: int = 1) -> dict[str, float | int]:
    if not values_ms:
        return {"n": 0}
    v = sorted(values_ms)
    return {
        "n": len(v),
        "p50_ms": round(statistics.median(v), digits),
        "p99_ms": round(v[min(len(v) - 1, int(0.99 * len(v)))], digits),
        "max_ms": round(v[-1], digits),
    }


class Fleet(threading.Thread):
    """Synthetic gateways publishing readings at a fixed total rate (background load)."""

    def __init__(self, port: int, gateways: int, rate: float) -> None:
        super().__init__(name="fleet", daemon=True)
        self.gateways = [f"fleet-gw-{g:03d}" for g in range(gateways)]
        self.rate = rate
        self.sent = 0
        self.stop_event = threading.Event()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-fleet")
        self.client.max_queued_messages_set(5000)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def run(self) -> None:
        seqs = dict.fromkeys(self.gateways, 0)
        per_s = self.rate / 100.0
        t0 = time.monotonic()
        g = 0
        while not self.stop_event.is_set():
            due = int((time.monotonic() - t0) * per_s)
            if self.sent >= due:
                time.sleep(0.005)
                continue
            gw = self.gateways[g % len(self.gateways)]
            g += 1
            seqs[gw] += 1
            now = time.time_ns()
            readings = [
                Reading(f"dev-{k % 10}", "temp_c", now - k * 1000, 20.0 + k / 100) for k in range(100)
            ]
            batch = ReadingBatch(gateway=gw, seq=seqs[gw], sent=now, readings=readings)
            self.client.publish(readings_topic(gw), encode(batch), qos=1)
            self.sent += 1

    def stop(self) -> None:
        self.stop_event.set()
        self.join(5)
        self.client.loop_stop()
        self.client.disconnect()


class BrokerProbe(threading.Thread):
    """The bare broker round trip: publish with a timestamp, receive it on another client."""

    TOPIC = "bench/latency/probe"

    def __init__(self, port: int, every_s: float = 0.1) -> None:
        super().__init__(name="probe", daemon=True)
        self.every_s = every_s
        self.rtts_ms: list[float] = []
        self.stop_event = threading.Event()
        subscribed = threading.Event()
        self.sub = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-probe-sub")
        self.sub.on_message = lambda _c, _u, m: self.rtts_ms.append(
            (time.perf_counter_ns() - int(m.payload)) / 1e6
        )
        self.sub.on_subscribe = lambda *_a: subscribed.set()
        self.sub.connect("127.0.0.1", port)
        self.sub.loop_start()
        self.sub.subscribe(self.TOPIC, qos=1)
        if not subscribed.wait(10):
            raise RuntimeError("the probe's subscription was not acknowledged")
        self.pub = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-probe-pub")
        self.pub.connect("127.0.0.1", port)
        self.pub.loop_start()

    def run(self) -> None:
        while not self.stop_event.wait(self.every_s):
            self.pub.publish(self.TOPIC, str(time.perf_counter_ns()).encode(), qos=1)

    def stop(self) -> None:
        self.stop_event.set()
        self.join(5)
        time.sleep(0.2)
        for c in (self.pub, self.sub):
            c.loop_stop()
            c.disconnect()


class AlertFeeds(threading.Thread):
    """The technicians' two feeds, received with their arrival times: the store's MQTT alert
    topic (a subscribed client) and the API's SSE feed of alerts (a streaming client)."""

    def __init__(self, rig: StoreRig) -> None:
        super().__init__(name="alert-feeds", daemon=True)
        self.rig = rig
        self.lock = threading.Lock()
        #: (arrival ns, notice) of every MQTT alert notice
        self.mqtt: list[tuple[int, dict[str, Any]]] = []
        #: (arrival ns, event) of every SSE alerts event
        self.sse: list[tuple[int, dict[str, Any]]] = []
        self.stop_event = threading.Event()
        subscribed = threading.Event()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-alert-feed")
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_a: subscribed.set()
        self.client.connect("127.0.0.1", rig.mosquitto.port)
        self.client.loop_start()
        self.client.subscribe(site_alert_topic(rig.site), qos=1)
        if not subscribed.wait(10):
            raise RuntimeError("the alert topic subscription was not acknowledged")
        self._response: Any = None

    def _on_message(self, _c: Any, _u: Any, msg: Any) -> None:
        at = time.time_ns()
        with self.lock:
            self.mqtt.append((at, json.loads(msg.payload)))

    def run(self) -> None:
        url = f"http://127.0.0.1:{self.rig.api_port}/api/v1/feeds/events?topics=alerts"
        while not self.stop_event.is_set():
            try:
                with urllib.request.urlopen(url, timeout=30) as r:
                    self._response = r
                    for raw in r:
                        line = raw.decode().rstrip("\n")
                        if line.startswith("data:"):
                            at = time.time_ns()
                            with self.lock:
                                self.sse.append((at, json.loads(line[5:])))
                        if self.stop_event.is_set():
                            return
            except Exception:  # a dropped stream, or the response closed by stop(): again or done
                self.stop_event.wait(0.5)

    def first_after(self, since_ns: int, subject: str) -> tuple[int | None, int | None]:
        """Arrival times of the first MQTT notice about ``subject`` after ``since_ns`` and of
        the first SSE event of that alert."""
        with self.lock:
            notice = next(
                ((at, n) for at, n in self.mqtt if at >= since_ns and subject in n["subject"]), None
            )
            if notice is None:
                return None, None
            alert_id = str(notice[1]["alert_id"])  # the feed's entity_id is a string
            sse = next((at for at, e in self.sse if at >= since_ns and e.get("entity_id") == alert_id), None)
        return notice[0], sse

    def stop(self) -> None:
        self.stop_event.set()
        r = self._response
        if r is not None:
            with contextlib.suppress(Exception):
                r.close()
        self.join(5)
        self.client.loop_stop()
        self.client.disconnect()


class AlarmCycler(threading.Thread):
    """Every ``ALARM_EVERY_S``: the last sensor's stuck fault, timed to both alert feeds from
    the alarm's event time; then the sensor back to normal so the alarm clears."""

    def __init__(self, rig: StoreRig, feeds: AlertFeeds) -> None:
        super().__init__(name="alarms", daemon=True)
        self.rig = rig
        self.feeds = feeds
        self.timed: list[dict[str, float]] = []
        self.missed = 0
        self.stop_event = threading.Event()

    def _alarm_event(self, device: str, since_ns: int) -> dict[str, Any] | None:
        got = self.rig.api_get("/events", kind="device.alarm", device=device, limit=10)
        raised = [e for e in got if e["received_ns"] >= since_ns and e["attrs"].get("active")]
        return min(raised, key=lambda e: e["ts_ns"]) if raised else None

    def run(self) -> None:
        device = self.rig.sensors[-1].device_id
        while not self.stop_event.wait(5.0):
            since = time.time_ns()
            self.rig.sensor_fault_now()
            deadline = time.monotonic() + ALARM_MISS_AFTER_S
            result = None
            while time.monotonic() < deadline and not self.stop_event.wait(0.1):
                mqtt_ns, sse_ns = self.feeds.first_after(since, device)
                if mqtt_ns is None or sse_ns is None:
                    continue
                event = self._alarm_event(device, since)
                if event is not None:
                    result = {
                        "mqtt_ms": (mqtt_ns - event["ts_ns"]) / 1e6,
                        "sse_ms": (sse_ns - event["ts_ns"]) / 1e6,
                        "cloud_received_ms": (event["received_ns"] - event["ts_ns"]) / 1e6,
                    }
                    break
            if self.stop_event.is_set():
                return
            if result is None:
                self.missed += 1
            else:
                self.timed.append(result)
            self.rig.sensor_normal_now()  # until the next cycle: the alarm clears
            self.stop_event.wait(max(0.0, ALARM_EVERY_S - 5.0 - (time.time_ns() - since) / 1e9))

    def stop(self) -> None:
        self.stop_event.set()
        self.join(10)


def time_pick(rig: StoreRig, rng: random.Random) -> dict[str, Any] | None:
    """One pick at a random lane, timed from its ground truth to the API showing it."""
    shelf = rng.choice(rig.shelves)
    lane = rng.randrange(1, LANES_PER_SHELF + 1)
    if shelf.lanes[lane - 1].units <= 2:
        shelf.restock(lane, 10)
        time.sleep(3.0)  # let the restock settle and be reported before timing a pick there
    device = f"{shelf.device_id}.lane-{lane}"
    before = rig.api_get("/events", kind="shelf.pick", device=shelf.device_id, limit=1)
    last_id = before[0]["id"] if before else 0
    n_truth = len([e for e in shelf.ground_truth()["events"] if e["kind"] == "pick"])
    shelf.pick(lane, 1)
    deadline = time.monotonic() + MISS_AFTER_S
    truth_ns = None
    while time.monotonic() < deadline:
        time.sleep(POLL_S)
        if truth_ns is None:
            picks = [e for e in shelf.ground_truth()["events"] if e["kind"] == "pick"]
            if len(picks) > n_truth:
                truth_ns = picks[-1]["wall_ns"]
        got = rig.api_get("/events", kind="shelf.pick", device=shelf.device_id, limit=5)
        seen_ns = time.time_ns()
        mine = [e for e in got if e["id"] > last_id and e["attrs"].get("lane") == device]
        if truth_ns is not None:  # not an older pick of the lane arriving late (a backlog)
            mine = [e for e in mine if e["ts_ns"] >= truth_ns]
        if mine and truth_ns is not None:
            e = mine[0]
            return {
                "device": device,
                "api_ms": (seen_ns - truth_ns) / 1e6,
                "cloud_received_ms": (e["received_ns"] - truth_ns) / 1e6,
                "event_time_ms": (e["ts_ns"] - truth_ns) / 1e6,
                "event_to_api_ms": (seen_ns - e["ts_ns"]) / 1e6,
            }
    return None


def run_latency(
    duration_s: float, fleet_gateways: int = 20, fleet_rate: float = 20_000.0, workdir: Path | None = None
) -> dict[str, Any]:
    tmp = tempfile.TemporaryDirectory(prefix="bohsense-bench-latency-") if workdir is None else None
    wd = Path(tmp.name) if tmp is not None else workdir
    assert wd is not None
    rig = StoreRig(wd, "latency", fleet_gateways=fleet_gateways)
    load_before = loadavg()
    fleet = probe = feeds = alarms = None
    try:
        rig.start()
        fleet = (
            Fleet(rig.mosquitto.port, fleet_gateways, fleet_rate)
            if fleet_gateways and fleet_rate > 0
            else None
        )
        if fleet is not None:
            fleet.start()
        probe = BrokerProbe(rig.mosquitto.port)
        probe.start()
        feeds = AlertFeeds(rig)
        feeds.start()
        alarms = AlarmCycler(rig, feeds)
        alarms.start()
        time.sleep(4.0)  # the lanes settled since the devices started, the fleet under way
        rng = random.Random(9)
        timed: list[dict[str, Any]] = []
        missed = 0
        t0 = time.monotonic()
        next_say = 10.0
        while (now := time.monotonic() - t0) < duration_s:
            r = time_pick(rig, rng)
            if r is None:
                missed += 1
            else:
                timed.append(r)
            if now >= next_say:
                p = percentiles([x["api_ms"] for x in timed])
                b = percentiles(probe.rtts_ms)
                say(
                    "latency",
                    f"{now:5.0f} s: {len(timed)} picks timed ({missed} missed), pick → API p50 "
                    f"{p.get('p50_ms')} ms p99 {p.get('p99_ms')} ms; broker round trip p50 {b.get('p50_ms')} ms",
                )
                next_say += 10.0
            time.sleep(rng.uniform(0.3, 1.0))
        elapsed = time.monotonic() - t0
        alarms.stop()
        fleet_sent = fleet.sent if fleet is not None else 0
        m = rig.sample(t0).metrics
        api = percentiles([x["api_ms"] for x in timed])
        broker = percentiles(probe.rtts_ms)
        figures: dict[str, Any] = {
            "seconds": round(elapsed, 1),
            "event": "shelf pick: simulator ground-truth wall_ns -> first GET /api/v1/events showing it",
            "pick_to_api": api,
            "pick_to_cloud_received": percentiles([x["cloud_received_ms"] for x in timed]),
            "pick_event_time_offset": percentiles([x["event_time_ms"] for x in timed]),
            "event_time_to_api": percentiles([x["event_to_api_ms"] for x in timed]),
            "missed": missed,
            "alarm": "stuck-sensor device.alarm: its event time at the gateway -> arrival on the feed",
            "alarm_to_mqtt_alert_topic": percentiles([x["mqtt_ms"] for x in alarms.timed]),
            "alarm_to_sse_feed": percentiles([x["sse_ms"] for x in alarms.timed]),
            "alarm_to_cloud_received": percentiles([x["cloud_received_ms"] for x in alarms.timed]),
            "alarms_missed": alarms.missed,
            "broker_round_trip": broker,
            "p99_vs_broker_p99": round(api["p99_ms"] / broker["p99_ms"], 1)
            if api.get("n") and broker.get("n")
            else None,
            "fleet": {
                "gateways": fleet_gateways,
                "readings_per_s": round(fleet_sent * 100 / elapsed, 1),
            },
            "store_readings_in": int(m.get("readings_in_total", 0)),
            "poll_interval_ms": POLL_S * 1000,
            "load_average_before": load_before,
            "load_average_after": loadavg(),
        }
        say(
            "latency",
            f"pick → API p50 {api.get('p50_ms')} / p99 {api.get('p99_ms')} / max {api.get('max_ms')} ms "
            f"({api.get('n')} picks, {missed} missed); broker round trip p50 {broker.get('p50_ms')} / p99 "
            f"{broker.get('p99_ms')} ms",
        )
        mq, ss = figures["alarm_to_mqtt_alert_topic"], figures["alarm_to_sse_feed"]
        say(
            "latency",
            f"alarm → MQTT alert topic p50 {mq.get('p50_ms')} / max {mq.get('max_ms')} ms, → SSE feed p50 "
            f"{ss.get('p50_ms')} / max {ss.get('max_ms')} ms ({mq.get('n')} alarms, {alarms.missed} missed)",
        )
        return figures
    finally:
        for part in (alarms, feeds, probe, fleet):
            if part is not None:
                part.stop()
        rig.close()
        if tmp is not None:
            tmp.cleanup()
