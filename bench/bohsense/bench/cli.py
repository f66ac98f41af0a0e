"""``bohsense bench ingest|apply|codec|presence|llrp|features|replenish|shelf|shelf-eval|condition|tsdb-schema|store|latency|outage|api``: benchmarks that print human progress to stderr and, as
their last stdout line, one JSON object with the figures."""

from __future__ import annotations

import argparse

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    bench = subparsers.add_parser(
        "bench", help="benchmarks (ingest throughput, BOH apply, payload codec, RFID presence)"
    )
    sub = bench.add_subparsers(dest="bench_command", metavar="BENCH")
    ingest = sub.add_parser(
        "ingest",
        help="readings/s from MQTT through ingest workers into InfluxDB 1.x, against the simplest loop",
    )
    ingest.add_argument(
        "--seconds", type=float, default=20.0, help="about how long each phase runs (default 20)"
    )
    ingest.add_argument(
        "--applier",
        choices=("auto", "boh", "memory"),
        default="auto",
        help="what the worker applies batches to: the BOH core on SQLite (auto: when installed) or in memory",
    )
    ingest.add_argument(
        "--mqtt-protocol",
        choices=("5", "3.1.1"),
        default="5",
        help="the worker's MQTT version (the service default is 5; the baseline uses paho's default, 3.1.1)",
    )
    ingest.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="alternating baseline/worker rounds the time is split into (default 3)",
    )
    ingest.add_argument(
        "--workers",
        default="",
        metavar="N[,N...]",
        help="run N worker processes on one MQTT 5 shared subscription instead of one worker on its own"
        " (a list sweeps: 1,2,3); readings/s and CPU seconds per 1M readings for each N",
    )
    ingest.set_defaults(handler=_ingest)
    apply = sub.add_parser(
        "apply", help="readings/s through the BOH core's apply_batches, against dedup in memory"
    )
    apply.add_argument("--database", metavar="URL", help="SQLAlchemy URL (default: a temporary SQLite file)")
    apply.add_argument(
        "--calls", type=int, default=200, help="calls of 50 batches x 100 readings (default 200)"
    )
    apply.set_defaults(handler=_apply)
    codec = sub.add_parser("codec", help="JSON vs MessagePack encode/decode of a 100-reading batch")
    codec.add_argument("--rounds", type=int, default=2000)
    codec.set_defaults(handler=_codec)
    presence = sub.add_parser(
        "presence",
        help="RFID presence accuracy (zones, departures) on a simulated store, against its ground truth",
    )
    presence.add_argument(
        "--scenario", metavar="FILE", help="a tag world scenario (TOML; default: the standard store)"
    )
    presence.add_argument(
        "--seed",
        type=int,
        action="append",
        metavar="N",
        help="a seed to run (repeatable; default: the report seeds 100-109)",
    )
    presence.add_argument(
        "--duration", type=float, default=600.0, help="simulated seconds per seed (default 600)"
    )
    presence.set_defaults(handler=_presence)
    llrp = sub.add_parser(
        "llrp", help="tag reads/s through the gateway's LLRP client session, against sllurp's decode alone"
    )
    llrp.add_argument(
        "--reports", type=int, default=400, help="RO_ACCESS_REPORTs in the stream (default 400)"
    )
    llrp.add_argument("--tags", type=int, default=50, help="TagReportData per report (default 50)")
    llrp.add_argument("--rounds", type=int, default=3, help="alternating rounds, best kept (default 3)")
    llrp.set_defaults(handler=_llrp)
    features = sub.add_parser(
        "features",
        help="waveform samples/s through the gateway's condition features, against a numpy-FFT-only baseline",
    )
    features.add_argument("--blocks", type=int, default=120, help="blocks per path and round (default 120)")
    features.add_argument("--samples", type=int, default=8192, help="samples per block (default 8192)")
    features.add_argument("--rounds", type=int, default=3, help="alternating rounds, best kept (default 3)")
    features.add_argument(
        "--block-every-s",
        type=float,
        default=10.0,
        help="the duty assumed for sensors per core: one block per axis this often (default 10)",
    )
    features.set_defaults(handler=_features)
    rep = sub.add_parser(
        "replenish",
        help="item x store series forecast and planned per second, against a seasonal-naive plan",
    )
    rep.add_argument("--history", metavar="FILE", help="a demand history (default: generated series)")
    rep.add_argument("--items", type=int, default=60, help="generated items per store (default 60)")
    rep.add_argument("--stores", type=int, default=4, help="generated stores (default 4)")
    rep.add_argument("--days", type=int, default=730, help="generated days of history (default 730)")
    rep.add_argument(
        "--replicate", type=int, default=1, help="copies of every store under new ids (default 1)"
    )
    rep.add_argument("--rounds", type=int, default=2, help="alternating rounds, best kept (default 2)")
    rep.add_argument(
        "--workers", default="", help="local process counts to time the plan on, e.g. 1,2 (default: none)"
    )
    rep.add_argument(
        "--dask-local",
        default="",
        help="local Dask cluster sizes to time the plan on, e.g. 1,2 (default: none)",
    )
    rep.set_defaults(handler=_replenish)
    shelf = sub.add_parser(
        "shelf", help="shelf frames decoded and lanes estimated per second, against decoding alone"
    )
    shelf.add_argument("--lanes", type=int, default=24, help="lanes of the shelf (1..32, default 24)")
    shelf.add_argument("--seconds", type=float, default=300.0, help="device seconds in the stream (300)")
    shelf.add_argument("--rounds", type=int, default=3, help="alternating rounds, best kept (default 3)")
    shelf.set_defaults(handler=_shelf)
    shelf_eval = sub.add_parser(
        "shelf-eval",
        help="lane counts, pick/put-back/restock events and fault flags against shelf scenarios' truth",
    )
    shelf_eval.add_argument(
        "--scenario",
        action="append",
        metavar="NAME|FILE",
        help="a packaged scenario (shelf-standard, shelf-messy, shelf-faults) or a TOML file "
        "(repeatable; default: the three packaged ones)",
    )
    shelf_eval.add_argument(
        "--seed", type=int, action="append", metavar="N", help="a seed (repeatable; default 101-105)"
    )
    shelf_eval.add_argument(
        "--unit-spread",
        type=float,
        action="append",
        metavar="F",
        help="run with this unit-weight spread, a fraction (repeatable; default: the scenario's and 0.03)",
    )
    shelf_eval.add_argument(
        "--duration", type=float, help="simulated seconds per run (default: the scenario's)"
    )
    shelf_eval.set_defaults(handler=_shelf_eval)
    cond = sub.add_parser(
        "condition",
        help="equipment faults detected, lead time, false alerts and diagnosis on simulated assets with ground truth",
    )
    cond.add_argument(
        "--scenario",
        action="append",
        metavar="NAME_OR_FILE",
        help="a condition scenario (packaged name or TOML file; repeatable; default: every packaged one)",
    )
    cond.add_argument(
        "--seed",
        type=int,
        action="append",
        metavar="N",
        help="a seed to run every scenario at (repeatable; default: each scenario's own seed)",
    )
    cond.add_argument(
        "--report-seeds",
        action="store_true",
        help="run every scenario at the held-out report seeds 100-109",
    )
    cond.add_argument(
        "--days", type=float, help="stop every scenario after this many simulated days (default: its end)"
    )
    cond.add_argument(
        "--every-s",
        type=float,
        default=3600.0,
        help="simulated seconds between two waveform sets evaluated per asset (default 3600)",
    )
    cond.set_defaults(handler=_condition)

    schema = sub.add_parser(
        "tsdb-schema",
        help="InfluxDB write speed of the time-series schema against the first one, same run",
    )
    schema.add_argument("--stores", type=int, default=10, help="stores (gateways) simulated (default 10)")
    schema.add_argument("--seconds", type=int, default=60, help="seconds of readings per store (default 60)")
    schema.add_argument("--rounds", type=int, default=3, help="rounds, alternating which schema goes first")
    schema.set_defaults(handler=_tsdb_schema)
    _register_load(sub)

    def _help(_args: argparse.Namespace) -> int:
        bench.print_help()
        return 2

    bench.set_defaults(handler=_help)


def _ingest(args: argparse.Namespace) -> int:
    import json
    import signal
    import sys

    from bohsense.bench._ingest import run_ingest

    try:
        workers = [int(n) for n in args.workers.split(",") if n.strip()]
    except ValueError:
        print(f"--workers: not a list of counts: {args.workers!r}", file=sys.stderr)
        return 2
    if any(n < 1 for n in workers):
        print("--workers: every count must be at least 1", file=sys.stderr)
        return 2
    # SIGTERM unwinds like Ctrl-C, so the benchmark's servers are stopped on the way out
    signal.signal(signal.SIGTERM, lambda *_a: sys.exit(143))
    protocol = 5 if args.mqtt_protocol == "5" else 4
    try:
        out = run_ingest(args.seconds, args.applier, protocol, max(1, args.rounds), workers)
    except ValueError as exc:
        print(f"bench ingest: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(out))
    return 0


def _apply(args: argparse.Namespace) -> int:
    import json

    from bohsense.bench._apply import run_apply

    print(json.dumps(run_apply(args.database, max(1, args.calls))))
    return 0


def _codec(args: argparse.Namespace) -> int:
    import json

    from bohsense.bench._codec import run_codec

    print(json.dumps(run_codec(args.rounds)))
    return 0


def _presence(args: argparse.Namespace) -> int:
    import json
    import sys

    from bohsense.bench._presence import run_presence
    from bohsense.simulators._tags import ScenarioError

    seeds = args.seed or list(range(100, 110))
    if not args.duration > 0:
        print("bench presence: --duration must be > 0", file=sys.stderr)
        return 2
    try:
        figures = run_presence(args.scenario, seeds, duration_s=args.duration)
    except ScenarioError as exc:
        print(f"bench presence: {exc}", file=sys.stderr)
        return 2
    o = figures["overall"]
    print(
        f"presence: zone accuracy {o['zone_accuracy']:.4f}, departures detected "
        f"{o['departures_detected']:.4f}, false departures {o['false_departure_rate']:.4f}, "
        f"{figures['tag_seen_per_s']} TagSeen/s",
        file=sys.stderr,
    )
    print(json.dumps(figures))
    return 0


def _llrp(args: argparse.Namespace) -> int:
    import json
    import sys

    from bohsense.bench._llrp import run_llrp

    result = run_llrp(max(1, args.reports), max(1, min(args.tags, 2000)), max(1, args.rounds))
    if "sllurp_skipped" in result:
        print(f"bench llrp: {result['sllurp_skipped']}", file=sys.stderr)
    print(json.dumps(result))
    return 0


def _features(args: argparse.Namespace) -> int:
    import json
    import sys

    from bohsense.bench._features import run_features

    if args.samples < 256 or args.blocks < 1 or not args.block_every_s > 0:
        print("bench features: need --samples >= 256, --blocks >= 1, --block-every-s > 0", file=sys.stderr)
        return 2
    result = run_features(args.blocks, args.samples, max(1, args.rounds), args.block_every_s)
    print(
        f"features: {result['interpreter_samples_per_s'] / 1e6:.2f} M samples/s through the interpreter, "
        f"{result['features_vs_baseline']:.3f} of the FFT-only baseline; one core serves "
        f"{result['sensors_per_core_continuous']} 3-axis 25.6 kHz sensors read continuously, "
        f"{result['sensors_per_core_at_duty']} at one block per axis every {args.block_every_s:g} s",
        file=sys.stderr,
    )
    print(json.dumps(result))
    return 0


def _counts(text: str, flag: str) -> list[int]:
    out = []
    for part in filter(None, (t.strip() for t in text.split(","))):
        if not part.isdigit() or int(part) < 1:
            raise ValueError(f"{flag}: {part!r} is not a count of at least 1")
        out.append(int(part))
    return out


def _replenish(args: argparse.Namespace) -> int:
    import json
    import sys

    from bohsense.bench._replenish import run_replenish
    from bohsense.models.forecast import HistoryError

    try:
        workers = _counts(args.workers, "--workers")
        dask_workers = _counts(args.dask_local, "--dask-local")
        if min(args.items, args.stores, args.days, args.replicate, args.rounds) < 1:
            raise ValueError("--items, --stores, --days, --replicate and --rounds must be at least 1")
        result = run_replenish(
            history=args.history,
            items=args.items,
            stores=args.stores,
            days=args.days,
            replicate_times=args.replicate,
            rounds=args.rounds,
            workers=workers,
            dask_workers=dask_workers,
            progress=lambda m: print(f"bench replenish: {m}", file=sys.stderr, flush=True),
        )
    except (HistoryError, ValueError) as exc:
        print(f"bench replenish: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


def _shelf(args: argparse.Namespace) -> int:
    import json
    import sys

    from bohsense.bench._shelf_bench import run_shelf_bench

    if not 1 <= args.lanes <= 32 or not args.seconds > 0:
        print("bench shelf: --lanes must be 1..32 and --seconds > 0", file=sys.stderr)
        return 2
    result = run_shelf_bench(args.lanes, args.seconds, max(1, args.rounds))
    print(
        f"shelf: decode only {result['decode_only_frames_per_s']} frames/s, gateway "
        f"{result['gateway_frames_per_s']} frames/s = {result['gateway_lane_samples_per_s']} lane samples/s, "
        f"{result['lanes_per_core_at_10hz']} lanes per core at 10 Hz",
        file=sys.stderr,
    )
    print(json.dumps(result))
    return 0


def _shelf_eval(args: argparse.Namespace) -> int:
    import json
    import sys

    from bohsense.bench._shelf_eval import REPORT_SEEDS, STANDARD_SCENARIOS, run_eval
    from bohsense.simulators._shelf_scenario import ShelfScenarioError

    spreads = args.unit_spread or [None, 0.03]
    if any(s is not None and not 0 <= s <= 0.2 for s in spreads) or (
        args.duration is not None and args.duration <= 0
    ):
        print("bench shelf-eval: --unit-spread must be within 0..0.2 and --duration > 0", file=sys.stderr)
        return 2
    try:
        figures = run_eval(
            args.scenario or list(STANDARD_SCENARIOS), args.seed or list(REPORT_SEEDS), spreads, args.duration
        )
    except ShelfScenarioError as exc:
        print(f"bench shelf-eval: {exc}", file=sys.stderr)
        return 2
    for c in figures["configurations"]:
        e = c["events"]
        print(
            f"{c['scenario']} spread ±{c['unit_spread']:.0%}: count exact {c['count_exact']}, "
            f"wrong counts {c['wrong_counts_published']}, pick P/R {e['pick']['precision']}/{e['pick']['recall']}, "
            f"put-back P/R {e['putback']['precision']}/{e['putback']['recall']}, "
            f"restock P/R {e['restock']['precision']}/{e['restock']['recall']}, "
            f"quantity exact {c['quantity_exact']}, faults {c['fault_flagged_after_s']}",
            file=sys.stderr,
        )
    print(json.dumps(figures))
    return 0


def _condition(args: argparse.Namespace) -> int:
    import json
    import sys

    from bohsense.bench._condition import REPORT_SEEDS, Policy, run_condition
    from bohsense.simulators import ConditionScenarioError

    if args.days is not None and not args.days > 0:
        print("bench condition: --days must be > 0", file=sys.stderr)
        return 2
    if args.report_seeds and args.seed:
        print("bench condition: --report-seeds and --seed exclude each other", file=sys.stderr)
        return 2
    try:
        policy = Policy(every_s=args.every_s)
        seeds = REPORT_SEEDS if args.report_seeds else args.seed
        result = run_condition(args.scenario, seeds, policy=policy, days=args.days)
    except (ConditionScenarioError, ValueError) as exc:
        print(f"bench condition: {exc}", file=sys.stderr)
        return 2
    o = result["overall"]
    print(
        f"condition: {o['detected']}/{o['faults']} faults detected, median lead {o['lead_days_median']} d "
        f"(min {o['lead_days_min']} d), {o['false_alerts']} false alerts in {o['healthy_days']} healthy "
        f"asset-days ({o['false_alerts_per_asset_30d']} per asset per 30 d), "
        f"{o['sensor_fault_violations']} sensor-fault violations, {result['cpu_s']} s CPU",
        file=sys.stderr,
    )
    print(json.dumps(result))
    return 0


def _tsdb_schema(args: argparse.Namespace) -> int:
    import json

    from bohsense.bench._tsdb_schema import run_tsdb_schema

    print(json.dumps(run_tsdb_schema(max(1, args.stores), max(1, args.seconds), max(1, args.rounds))))
    return 0


def _register_load(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The store-level load benchmarks: store, latency, outage."""
    store = sub.add_parser(
        "store",
        help="one gateway process serving a whole store (4 readers, 40 lanes, 10 vibration sensors): CPU, memory, outbox",
    )
    store.add_argument("--duration", type=float, default=300.0, help="seconds of the run (default 300)")
    store.set_defaults(handler=_store)
    latency = sub.add_parser(
        "latency",
        help="shelf pick to the API and sensor alarm to the alert feeds, at store plus fleet load, "
        "against the bare broker round trip",
    )
    latency.add_argument("--duration", type=float, default=120.0, help="seconds of picks timed (default 120)")
    latency.add_argument(
        "--fleet-gateways", type=int, default=20, help="synthetic gateways of the fleet load (default 20)"
    )
    latency.add_argument(
        "--fleet-rate",
        type=float,
        default=20_000.0,
        help="readings/s the synthetic fleet sends in total, 0 for none (default 20000)",
    )
    latency.set_defaults(handler=_latency)
    outage = sub.add_parser(
        "outage",
        help="a store at load with its WAN cut then restored: drain rate against live, catch-up, loss, duplicates",
    )
    outage.add_argument("--outage", type=float, default=120.0, help="seconds the WAN is down (default 120)")
    outage.add_argument(
        "--live", type=float, default=30.0, help="seconds connected before the cut (default 30)"
    )
    outage.set_defaults(handler=_outage)
    api = sub.add_parser(
        "api",
        help="the API's read latency on one uvicorn worker against a trivial endpoint, and the SSE clients it holds",
    )
    api.add_argument("--seconds", type=float, default=20.0, help="seconds of the read schedule (default 20)")
    api.add_argument("--rate", type=float, default=200.0, help="requests/s, open loop (default 200)")
    api.add_argument("--database", metavar="URL", help="SQLAlchemy URL (default: a temporary SQLite file)")
    api.add_argument("--stores", type=int, default=5, help="stores seeded (default 5)")
    api.add_argument("--sse-start", type=int, default=25, help="SSE clients of the first step (default 25)")
    api.add_argument("--sse-cap", type=int, default=800, help="at most this many SSE clients (default 800)")
    api.add_argument("--sse-step-s", type=float, default=4.0, help="seconds of each SSE step (default 4)")
    api.add_argument(
        "--event-rate",
        type=float,
        default=10.0,
        help="work orders/s committed during the SSE ramp (default 10)",
    )
    api.set_defaults(handler=_api)


def _positive(value: float, flag: str, bench: str) -> bool:
    import sys

    if not value > 0:
        print(f"bench {bench}: {flag} must be > 0", file=sys.stderr)
        return False
    return True


def _store(args: argparse.Namespace) -> int:
    import json
    import signal
    import sys

    from bohsense.bench._store import run_store

    if not _positive(args.duration, "--duration", "store"):
        return 2
    signal.signal(signal.SIGTERM, lambda *_a: sys.exit(143))
    print(json.dumps(run_store(args.duration)))
    return 0


def _latency(args: argparse.Namespace) -> int:
    import json
    import signal
    import sys

    from bohsense.bench._latency import run_latency

    if not _positive(args.duration, "--duration", "latency"):
        return 2
    if args.fleet_gateways < 0 or args.fleet_rate < 0 or (args.fleet_rate > 0 and args.fleet_gateways < 1):
        print(
            "bench latency: --fleet-rate > 0 needs --fleet-gateways >= 1; neither may be negative",
            file=sys.stderr,
        )
        return 2
    signal.signal(signal.SIGTERM, lambda *_a: sys.exit(143))
    print(json.dumps(run_latency(args.duration, args.fleet_gateways, args.fleet_rate)))
    return 0


def _outage(args: argparse.Namespace) -> int:
    import json
    import signal
    import sys

    from bohsense.bench._outage import run_outage

    if not (_positive(args.outage, "--outage", "outage") and _positive(args.live, "--live", "outage")):
        return 2
    if args.live < 5:
        print(
            "bench outage: --live must be at least 5 s (the live rate is measured over it)", file=sys.stderr
        )
        return 2
    signal.signal(signal.SIGTERM, lambda *_a: sys.exit(143))
    print(json.dumps(run_outage(args.outage, args.live)))
    return 0


def _api(args: argparse.Namespace) -> int:
    import json
    import signal
    import sys

    from bohsense.bench._api import run_api

    if not all(
        _positive(v, flag, "api")
        for v, flag in (
            (args.seconds, "--seconds"),
            (args.rate, "--rate"),
            (args.sse_step_s, "--sse-step-s"),
            (args.event_rate, "--event-rate"),
        )
    ):
        return 2
    if args.stores < 1:
        print("bench api: --stores must be at least 1", file=sys.stderr)
        return 2
    if not 1 <= args.sse_start <= args.sse_cap:
        print("bench api: --sse-start must be at least 1 and at most --sse-cap", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_a: sys.exit(143))
    result = run_api(
        seconds=args.seconds,
        rate=args.rate,
        database=args.database,
        stores=args.stores,
        sse_start=args.sse_start,
        sse_cap=args.sse_cap,
        sse_step_s=args.sse_step_s,
        event_rate=args.event_rate,
    )
    print(json.dumps(result))
    return 0
