"""The Grafana dashboards in deploy/grafana/dashboards: their structure, and every panel's
query run against real servers holding data from a short run of the system.

The run: a real cloud service (MQTT ingest into a real InfluxDB 1.x, BOH core on SQLite)
receives a simulated fleet's shelves, condition sensors and RFID readers
(``bohsense.bench._tsdb_schema.make_fleet``) over a real Mosquitto, and a real gateway
process with a synthetic driver. Both services' ``/metrics`` are scraped twice and the
exposition text imported into VictoriaMetrics (a PromQL server), the two scrapes 30 s
apart. Each InfluxQL panel query, with Grafana's macros and the template variables
substituted as Grafana does for "All" (a regex of every value the variable's own query
returns), must return rows; each PromQL expression must parse and return series.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bohsense.bench._tsdb_schema import make_fleet
from bohsense.contracts.codec import encode
from bohsense.contracts.topics import readings_topic
from tests.cloud.ingest._harness import publish, until
from tests.support.services import InfluxDB, Mosquitto, VictoriaMetrics, free_port

DASHBOARDS = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "dashboards"
DATASOURCES = {"influxdb": "influxdb", "prometheus": "prometheus"}  # uid → type
#: what Grafana puts in for its macros over the dashboards' default range (now-6h … now)
MACROS = {
    "$timeFilter": "time >= now() - 6h",
    "$__interval": "10s",
    "$__rate_interval": "1m",
    "$__range": "6h",
}
_VAR = re.compile(r"\$(?:\{(\w+)(?::\w+)?\}|(\w+))")


def _load() -> list[tuple[str, dict[str, Any]]]:
    files = sorted(DASHBOARDS.glob("*.json"))
    assert files, f"no dashboards in {DASHBOARDS}"
    return [(f.name, json.loads(f.read_text())) for f in files]


def _panels(dash: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for p in dash["panels"]:
        yield p
        yield from p.get("panels", [])


def _query_of(target: dict[str, Any]) -> str:
    return str(target.get("query") or target.get("expr") or "")


def _var_query(var: dict[str, Any]) -> str:
    q = var["query"]
    return str(q["query"] if isinstance(q, dict) else q)


def _used_vars(text: str) -> set[str]:
    return {a or b for a, b in _VAR.findall(text)} - {m[1:] for m in MACROS}


# -- structure (no servers) ---------------------------------------------------------------


def test_every_dashboard_is_well_formed_with_unique_uids_and_the_two_datasources() -> None:
    dashboards = _load()
    assert {name for name, _ in dashboards} >= {
        "fleet-ingest.json",
        "store-shelves.json",
        "asset-health.json",
        "gateway-health.json",
    }
    uids = [d["uid"] for _, d in dashboards]
    assert len(set(uids)) == len(uids), uids
    for name, d in dashboards:
        assert d["title"], name
        assert len(d["uid"]) <= 40, name  # Grafana's limit
        ids = [p["id"] for p in _panels(d)]
        assert len(set(ids)) == len(ids), f"{name}: panel ids repeat"
        variables = {v["name"]: v for v in d["templating"]["list"]}
        for v in variables.values():
            assert DATASOURCES.get(v["datasource"]["uid"]) == v["datasource"]["type"], (name, v["name"])
        for p in _panels(d):
            if p["type"] == "row":
                continue
            ds = p["datasource"]
            assert DATASOURCES.get(ds["uid"]) == ds["type"], (name, p["title"], ds)
            assert p["targets"], (name, p["title"])
            for t in p["targets"]:
                assert t["datasource"] == ds, (name, p["title"])
                q = _query_of(t)
                assert q, (name, p["title"])
                if ds["uid"] == "influxdb":
                    assert t.get("rawQuery") is True, (name, p["title"])
                undefined = _used_vars(q) - set(variables)
                assert not undefined, f"{name} / {p['title']}: undefined variables {undefined}"
        for v in variables.values():
            undefined = _used_vars(_var_query(v)) - set(variables)
            assert not undefined, f"{name}: variable {v['name']} uses undefined {undefined}"


# -- a short run of the system ------------------------------------------------------------


class Run:
    def __init__(self, influx: InfluxDB, db: str, vm: VictoriaMetrics) -> None:
        self.influx, self.db, self.vm = influx, db, vm

    def influxql(self, q: str) -> list[dict[str, Any]]:
        out = self.influx.query(q, db=self.db)
        result = out["results"][0]  # type: ignore[index]
        assert "error" not in result, f"{result.get('error')}: {q}"
        return list(result.get("series") or [])

    def promql(self, expr: str) -> list[dict[str, Any]]:
        url = f"{self.vm.url}/api/v1/query?" + urllib.parse.urlencode(
            {"query": expr, "time": f"{time.time():.3f}"}
        )
        try:
            with urllib.request.urlopen(url, timeout=20) as r:
                body = json.loads(r.read())
        except urllib.error.HTTPError as exc:
            pytest.fail(f"PromQL {expr!r} refused: {exc.read().decode()[:500]}")
        assert body["status"] == "success", body
        return list(body["data"]["result"])

    def label_values(self, metric: str, label: str) -> list[str]:
        url = f"{self.vm.url}/api/v1/label/{label}/values?" + urllib.parse.urlencode({"match[]": metric})
        with urllib.request.urlopen(url, timeout=20) as r:
            return list(json.loads(r.read())["data"])


def _gateway_config(path: Path, gateway: str, broker: Mosquitto, metrics_port: int) -> Path:
    path.write_text(
        f"""gateway_id = "{gateway}"
site = "site-gw"
status_interval_s = 0.5
shutdown_timeout_s = 5
[metrics]
listen = "127.0.0.1:{metrics_port}"
[broker]
url = "{broker.url}"
reconnect_min_s = 0.1
reconnect_max_s = 0.5
[outbox]
path = "{path.parent / "outbox.sqlite3"}"
[batch]
max_readings = 100
max_delay_ms = 50
[[devices]]
name = "syn"
kind = "synthetic"
devices = 3
metrics = ["temp_c", "vib_x_velocity_rms_mm_s"]
rate_hz = 20
"""
    )
    return path


def _import(vm: VictoriaMetrics, text: str, job: str, instance: str, ts_ms: int) -> None:
    query = urllib.parse.urlencode(
        [("extra_label", f"job={job}"), ("extra_label", f"instance={instance}"), ("timestamp", str(ts_ms))]
    )
    req = urllib.request.Request(
        f"{vm.url}/api/v1/import/prometheus?{query}", data=text.encode(), method="POST"
    )
    with urllib.request.urlopen(req, timeout=20) as r:
        assert r.status == 204


async def _short_run(
    tmp: Path, mosquitto: Mosquitto, influx: InfluxDB, vm: VictoriaMetrics, db: str, gateway: Gateway
) -> None:
    from bohsense.cloud.service import CloudService
    from bohsense.cloud.settings import CloudSettings

    settings = CloudSettings(
        broker_url=mosquitto.url,
        client_id=f"grafana-{db}",
        tsdb_url=f"influx1://127.0.0.1:{influx.port}/{db}",
        database_url=f"sqlite:///{tmp}/boh.db",
        api_port=0,
        auto_register_gateways=True,
    )
    service = CloudService(settings)
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    proc, metrics_port = gateway.proc, gateway.metrics_port
    try:
        async with asyncio.timeout(30):
            await service.ready.wait()
            assert service.worker is not None
            await service.worker.connected.wait()
        fleet = make_fleet(3, 60)
        readings = sum(len(b.readings) for b in fleet)
        messages = [(readings_topic(b.gateway), encode(b)) for b in fleet]
        messages.append((readings_topic("bench-gw-000"), b"\x93not a batch"))  # one for the quarantine
        await publish(mosquitto, messages)
        await until(
            lambda: service.stats().get("readings_stored", 0) >= readings, 60, "the fleet's readings stored"
        )
        await until(lambda: service.stats().get("quarantined", 0) >= 1, 20, "the bad message quarantined")
        edge = f"http://127.0.0.1:{metrics_port}/metrics"
        cloud = f"http://127.0.0.1:{service.api_port}/metrics"
        async with httpx.AsyncClient(timeout=10) as http:

            async def scraped(url: str) -> str:
                deadline = time.monotonic() + 30
                while True:
                    try:
                        r = await http.get(url)
                        if (r.status_code == 200 and "_acked_total" in r.text) or "ingest" in r.text:
                            return r.text
                    except httpx.TransportError:
                        pass
                    assert time.monotonic() < deadline, (
                        f"no metrics at {url}; {(tmp / 'gateway.log').read_text()}"
                    )
                    await asyncio.sleep(0.2)

            await until(
                lambda: proc.poll() is not None or _acked(edge), 30, "the gateway's batches acknowledged"
            )
            api = f"http://127.0.0.1:{service.api_port}/api/v1/readings"
            latest = (await http.get(f"{api}/latest", params={"site": "site-001", "metric": "units"})).json()
            assert latest, "the API reads the shelves' units back"
            assert {p["gateway"] for p in latest} == {"bench-gw-001"}
            assert all(".lane-" in p["device"] for p in latest)
            now_ms = int(time.time() * 1000)
            for ts in (now_ms - 30_000, now_ms):
                await http.get(f"{api}/latest", params={"site": "site-000"})  # API latency between scrapes
                _import(vm, await scraped(edge), "bohsense-gateways", f"{gateway.id}:9108", ts)
                _import(vm, await scraped(cloud), "bohsense-cloud", "cloud-1:8080", ts)
                await asyncio.sleep(0.5)
        assert proc.poll() is None, (tmp / "gateway.log").read_text()
    finally:
        stop.set()
        async with asyncio.timeout(20):
            await task


def _acked(url: str) -> bool:
    try:
        text = httpx.get(url, timeout=2).text
    except httpx.TransportError:
        return False
    m = re.search(r"^bohsense_edge_acked_total (\S+)$", text, re.M)
    return m is not None and float(m.group(1)) >= 2


class Gateway:
    """A real gateway process (synthetic driver, metrics on a free port)."""

    def __init__(self, tmp: Path, broker: Mosquitto) -> None:
        self.id = f"gw-grafana-{int(time.time() * 1000) % 10**6}"
        self.metrics_port = free_port()
        cfg = _gateway_config(tmp / "gw.toml", self.id, broker, self.metrics_port)
        self._log = open(tmp / "gateway.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bohsense", "edge", "run", "--config", str(cfg)],
            stdout=self._log,
            stderr=self._log,
        )

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(15)
        self._log.close()


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, mosquitto: Mosquitto, influxdb: InfluxDB) -> Iterator[Run]:
    tmp = tmp_path_factory.mktemp("grafana-run")
    vm = VictoriaMetrics(tmp_path_factory.mktemp("vm-grafana")).start()
    db = influxdb.create_database(f"grafana_{int(time.time() * 1000) % 10**8}")
    gateway = Gateway(tmp, mosquitto)
    try:
        asyncio.run(_short_run(tmp, mosquitto, influxdb, vm, db, gateway))
        urllib.request.urlopen(f"{vm.url}/internal/force_flush", timeout=10).close()
        yield Run(influxdb, db, vm)
    finally:
        gateway.stop()
        vm.stop()


_SPECIAL = re.compile(r"[\\^$*+?.()|{}\[\]/]")


def _regex_of(values: list[str], datasource: str) -> str:
    """An "All" multi-value as Grafana formats it: an alternation of the escaped values
    (InfluxQL regex literal /…/, or PromQL string "…", where a backslash is doubled)."""
    slash = "\\" if datasource == "influxdb" else "\\\\"
    return "(" + "|".join(_SPECIAL.sub(lambda m: slash + m.group(0), v) for v in values) + ")"


def _substitute(text: str, values: dict[str, list[str]], datasource: str) -> str:
    for macro, value in MACROS.items():
        text = text.replace(macro, value)
    return _VAR.sub(lambda m: _regex_of(values[m.group(1) or m.group(2)], datasource), text)


def _resolve_variables(run: Run, dash: dict[str, Any]) -> dict[str, list[str]]:
    """Every variable's values from its own query, in order (later ones use earlier ones)."""
    values: dict[str, list[str]] = {}
    for v in dash["templating"]["list"]:
        ds = v["datasource"]["uid"]
        q = _substitute(_var_query(v), values, ds)
        if ds == "influxdb":
            found = sorted({row[1] for s in run.influxql(q) for row in s.get("values") or []})
        else:
            m = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", q)
            assert m, f"variable {v['name']}: {q}"
            found = run.label_values(m.group(1), m.group(2))
        assert found, f"{dash['uid']}: variable {v['name']} has no values ({q})"
        values[v["name"]] = found
    return values


@pytest.mark.parametrize("name", [n for n, _ in _load()])
def test_every_panel_query_returns_data_on_a_short_run(run: Run, name: str) -> None:
    dash = json.loads((DASHBOARDS / name).read_text())
    values = _resolve_variables(run, dash)
    checked = 0
    for p in _panels(dash):
        for t in p.get("targets", []):
            ds = t["datasource"]["uid"]
            q = _substitute(_query_of(t), values, ds)
            if ds == "influxdb":
                series = run.influxql(q)
                rows = [
                    row
                    for s in series
                    for row in s.get("values") or []
                    if any(x is not None for x in row[1:])
                ]
                assert rows, f"{name} / {p['title']}: no rows from {q}"
            else:
                assert run.promql(q), f"{name} / {p['title']}: no series from {q}"
            checked += 1
    assert checked >= 4


def test_the_checks_can_fail_a_panel_that_finds_nothing(run: Run) -> None:
    empty = 'SELECT mean("weight_g") FROM "shelf" WHERE "site" =~ /^(nowhere)$/ AND $timeFilter'
    assert run.influxql(_substitute(empty, {}, "influxdb")) == []
    assert run.promql('bohsense_edge_connected{instance=~"(nowhere)"}') == []
    assert _used_vars('SELECT 1 FROM "x" WHERE "a" =~ /^$site$/ AND ${lane:regex} AND $timeFilter') == {
        "site",
        "lane",
    }


def _doc_queries() -> list[str]:
    text = (Path(__file__).resolve().parents[2] / "docs" / "timeseries.md").read_text()
    blocks = re.findall(r"```sql\n(.*?)```", text, re.S)
    out = []
    for block in blocks:
        if block.lstrip().startswith("CREATE"):
            continue  # retention policies: statements, not queries
        lines = [ln for ln in block.splitlines() if not ln.lstrip().startswith("--")]
        out.extend(q for q in ("\n".join(lines)).split("\n\n") if q.strip())
    return [ln for q in out for ln in (q.split("\n") if q.startswith("SHOW") else [q])]


def test_the_influxql_examples_of_the_docs_return_data(run: Run) -> None:
    queries = _doc_queries()
    assert len(queries) >= 8
    values = {"site": ["site-000"], "gateway": ["bench-gw-000"]}
    for q in queries:
        q = _substitute(q.replace("'s1'", "'site-000'"), values, "influxdb")
        series = run.influxql(q)
        assert any(s.get("values") for s in series), f"docs/timeseries.md: no rows from {q}"
