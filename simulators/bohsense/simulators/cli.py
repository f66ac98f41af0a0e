"""``bohsense sim shelf|sensor``: run one simulated device on a pty until SIGINT/SIGTERM.
``bohsense sim sensor --scenario NAME|FILE``: a condition sensor with waveforms playing a
scenario in accelerated time (``--export DIR`` writes the scenario's blocks and labels
instead, no pty).
``bohsense sim llrp``: run the LLRP readers of a tag-world scenario on TCP.

The first line of stdout is the port path (flushed), so a script can start the device
and hand the path to a gateway: ``port=$(bohsense sim shelf --lanes 4 | head -1)``.
For ``llrp`` there is one line per reader, ``READER-ID HOST:PORT``, flushed.
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sim = subparsers.add_parser(
        "sim", help="run a simulated device: serial on a pseudo-terminal, or LLRP readers"
    )
    kinds = sim.add_subparsers(dest="sim_kind", metavar="DEVICE", required=True)

    def common(parser: argparse.ArgumentParser, default_id: str) -> None:
        parser.add_argument(
            "--device-id", default=default_id, help=f"device id in HELLO (default {default_id})"
        )
        parser.add_argument(
            "--seed", type=int, help="random seed (default 0; for --scenario: the scenario's)"
        )
        parser.add_argument("--rate", type=float, default=10.0, help="samples per second (default 10)")
        parser.add_argument("--link", help="also create this symlink to the port (a stable, udev-like name)")
        parser.add_argument("--ground-truth", metavar="PATH", help="write the ground truth JSON here on exit")
        parser.set_defaults(handler=_run)

    shelf = kinds.add_parser("shelf", help="a smart shelf with load-cell lanes")
    common(shelf, "shelf-1")
    shelf.add_argument("--lanes", type=int, default=4, help="number of lanes (default 4)")
    shelf.add_argument("--units", type=int, default=12, help="starting units per lane (default 12)")
    shelf.add_argument("--shoppers", action="store_true", help="random shoppers empty the lanes over time")
    shelf.add_argument(
        "--shopper-interval", type=float, default=15.0, help="mean seconds between shoppers (default 15)"
    )
    shelf.add_argument(
        "--scenario",
        metavar="NAME|FILE",
        help="run a shelf scenario (shelf-standard, shelf-messy, shelf-faults or a TOML file): its lanes, "
        "shoppers and faults replace --lanes/--units/--shoppers; the ground truth holds its plan",
    )

    sensor = kinds.add_parser("sensor", help="an equipment vibration/temperature sensor")
    common(sensor, "sensor-1")
    sensor.add_argument("--fault-at", type=float, metavar="S", help="start a fault S seconds after start")
    sensor.add_argument("--fault-kind", default="bearing", help="bearing, imbalance or overheating")
    sensor.add_argument(
        "--fault-ramp", type=float, default=30.0, help="seconds to full severity (default 30)"
    )
    sensor.add_argument(
        "--scenario", metavar="NAME|FILE",
        help="a waveform sensor playing this condition scenario (TOML; --list-scenarios shows the packaged "
        "ones); --fault-* and --rate do not apply to it",
    )  # fmt: skip
    sensor.add_argument("--list-scenarios", action="store_true", help="print the packaged scenarios and exit")
    sensor.add_argument(
        "--time-scale",
        type=float,
        metavar="X",
        help="simulated seconds per real second (default: the scenario's)",
    )
    sensor.add_argument(
        "--start-day", type=float, default=0.0, metavar="D", help="start D simulated days into the scenario"
    )
    sensor.add_argument(
        "--fragment-loss", type=float, default=0.0, metavar="P",
        help="probability that a WAVEFORM fragment vanishes on the wire (default 0)",
    )  # fmt: skip
    sensor.add_argument(
        "--export", metavar="DIR",
        help="write the scenario's blocks (blocks.npz), labels (labels.csv) and truth (truth.json) to DIR, no pty",
    )  # fmt: skip

    llrp = kinds.add_parser("llrp", help="LLRP RFID readers over a tag world, on TCP")
    llrp.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    llrp.add_argument(
        "--port", type=int, default=5084,
        help="port of the first reader; the next readers take the next ports unless the scenario names "
        "theirs (default 5084; 0: any free port)",
    )  # fmt: skip
    llrp.add_argument("--scenario", metavar="FILE", help="scenario TOML (default: the packaged store.toml)")
    llrp.add_argument("--seed", type=int, help="random seed (default: the scenario's)")
    llrp.add_argument(
        "--fault", action="append", default=[], metavar="NAME[=N][@READER]",
        help="a behaviour or fault, repeatable: " + "; ".join(
            f"{name}{'=N' if takes else ''}: {what}" for name, (takes, what) in _faults().items()
        ),
    )  # fmt: skip
    llrp.add_argument(
        "--ground-truth", metavar="PATH", help="write where every item was when (JSON lines) on exit"
    )
    llrp.set_defaults(handler=_run_llrp)


def _faults() -> dict[str, tuple[bool, str]]:
    from bohsense.simulators._llrp_faults import FAULTS

    return FAULTS


def _run_llrp(args: argparse.Namespace) -> int:
    import asyncio
    import signal
    import sys
    from importlib import resources

    from bohsense.simulators._llrp_faults import Fault, readers_for
    from bohsense.simulators._llrp_server import LLRPServer
    from bohsense.simulators._tags import Scenario, ScenarioError, TagWorld

    try:
        faults = [Fault.parse(f) for f in args.fault]
        if args.scenario is None:
            with resources.as_file(
                resources.files("bohsense.simulators") / "scenarios" / "store.toml"
            ) as path:
                scenario = Scenario.load(path, seed=args.seed)
        else:
            scenario = Scenario.load(args.scenario, seed=args.seed)
        world = TagWorld(scenario)
        readers = readers_for(world, faults)
    except (ValueError, ScenarioError) as exc:
        print(f"bohsense sim llrp: {exc}", file=sys.stderr)
        return 2
    ports = []
    for i, spec in enumerate(scenario.readers):
        ports.append(spec.port if spec.port is not None else (args.port + i if args.port else 0))
    server = LLRPServer(list(zip(readers, ports, strict=True)), host=args.host)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, server.request_stop)
        await server.start()
        for reader_id, port in server.ports.items():
            print(f"{reader_id} {args.host}:{port}", flush=True)
        await server.serve_until_stopped()

    try:
        asyncio.run(main())
    except OSError as exc:
        print(f"bohsense sim llrp: cannot listen: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.ground_truth:
            world.dump_truth(args.ground_truth)
    for reader in readers:
        reported = sum(reader.tags_reported.values())
        print(f"stopped {reader.device_id}: {reported} tag reports sent, refusals {dict(reader.refusals)}",
              file=sys.stderr)  # fmt: skip
    return 0


def _waveform_sensor(args: argparse.Namespace) -> Any:
    """The scenario's waveform sensor (or None after --list-scenarios / --export); raises ValueError."""
    from dataclasses import replace

    from bohsense.simulators._condition_scenario import ConditionScenario, packaged_scenarios
    from bohsense.simulators._sensor import WaveformSensorDevice

    if args.list_scenarios:
        for name in packaged_scenarios():
            print(name)
        return None
    scenario = ConditionScenario.load(args.scenario, seed=args.seed)
    if args.device_id != "sensor-1":  # the default: the scenario's own id applies
        scenario.sensor = replace(scenario.sensor, device_id=args.device_id)
    if args.export:
        written = scenario.export(args.export)
        print(f"{args.export}: {written['blocks']} blocks ({written['sent']} sent), labels.csv, truth.json")
        return None
    return WaveformSensorDevice(
        scenario,
        time_scale=args.time_scale,
        start_s=args.start_day * 86_400.0,
        fragment_loss=args.fragment_loss,
    )


def _run(args: argparse.Namespace) -> int:
    import signal
    import sys
    import threading

    from bohsense.simulators import ConditionDevice, Lane, PtyDevice, ShelfDevice

    device: PtyDevice
    seed = 0 if args.seed is None else args.seed
    common: dict[str, Any] = {"seed": seed, "rate_hz": args.rate}
    waveform = args.sim_kind == "sensor" and (args.scenario or args.list_scenarios)
    scenario = None
    if waveform:
        try:
            made = _waveform_sensor(args)
        except ValueError as exc:  # ConditionScenarioError, a bad --time-scale or --fragment-loss
            print(f"bohsense sim sensor: {exc}", file=sys.stderr)
            return 2
        if made is None:
            return 0
        device = made
    elif args.sim_kind == "shelf" and args.scenario:
        from pathlib import Path

        from bohsense.simulators._shelf_scenario import ShelfScenario, ShelfScenarioError, packaged_scenario

        try:
            if Path(args.scenario).suffix == ".toml":
                scenario = ShelfScenario.load(args.scenario, seed=args.seed)
            else:
                scenario = packaged_scenario(args.scenario, seed=args.seed)
        except ShelfScenarioError as exc:
            print(f"bohsense sim shelf: {exc}", file=sys.stderr)
            return 2
        shelf = scenario.build(args.device_id)
        device = shelf
    elif args.sim_kind == "shelf":
        weights = (355.0, 500.0, 150.0, 750.0, 240.0, 1000.0)
        lanes = [
            Lane(weights[i % len(weights)], args.units, tare_g=150.0 + 10 * i) for i in range(args.lanes)
        ]
        shelf = ShelfDevice(args.device_id, lanes=lanes, **common)
        device = shelf
    else:
        sensor = ConditionDevice(args.device_id, **common)
        device = sensor

    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    device.start(link=args.link)
    if args.sim_kind == "shelf" and args.shoppers:
        shelf.shoppers(mean_interval_s=args.shopper_interval, until_s=float("inf"), seed=seed)
    if args.sim_kind == "sensor" and not waveform and args.fault_at is not None:
        sensor.inject_fault(args.fault_kind, start_s=args.fault_at, ramp_s=args.fault_ramp)
    print(args.link or device.port, flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        device.stop()
        if args.ground_truth:
            device.dump_ground_truth(args.ground_truth)
            if scenario is not None:
                import json
                from pathlib import Path

                path = Path(args.ground_truth)
                truth = json.loads(path.read_text())
                path.write_text(json.dumps({**truth, "scenario": scenario.truth()}, indent=2, sort_keys=True))
    print(f"stopped: {device.samples_sent} samples sent", file=sys.stderr)
    return 0
