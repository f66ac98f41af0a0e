"""``bohsense sim shelf|sensor``: run one simulated device on a pty until SIGINT/SIGTERM.

The first line of stdout is the port path (flushed), so a script can start the device
and hand the path to a gateway: ``port=$(bohsense sim shelf --lanes 4 | head -1)``.
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sim = subparsers.add_parser("sim", help="run a simulated serial device on a pseudo-terminal")
    kinds = sim.add_subparsers(dest="sim_kind", metavar="DEVICE", required=True)

    def common(parser: argparse.ArgumentParser, default_id: str) -> None:
        parser.add_argument(
            "--device-id", default=default_id, help=f"device id in HELLO (default {default_id})"
        )
        parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
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

    sensor = kinds.add_parser("sensor", help="an equipment vibration/temperature sensor")
    common(sensor, "sensor-1")
    sensor.add_argument("--fault-at", type=float, metavar="S", help="start a fault S seconds after start")
    sensor.add_argument("--fault-kind", default="bearing", help="bearing, imbalance or overheating")
    sensor.add_argument(
        "--fault-ramp", type=float, default=30.0, help="seconds to full severity (default 30)"
    )


def _run(args: argparse.Namespace) -> int:
    import signal
    import sys
    import threading

    from bohsense.simulators import ConditionDevice, Lane, PtyDevice, ShelfDevice

    device: PtyDevice
    common: dict[str, Any] = {"seed": args.seed, "rate_hz": args.rate}
    if args.sim_kind == "shelf":
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
        shelf.shoppers(mean_interval_s=args.shopper_interval, until_s=float("inf"), seed=args.seed)
    if args.sim_kind == "sensor" and args.fault_at is not None:
        sensor.inject_fault(args.fault_kind, start_s=args.fault_at, ramp_s=args.fault_ramp)
    print(args.link or device.port, flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        device.stop()
        if args.ground_truth:
            device.dump_ground_truth(args.ground_truth)
    print(f"stopped: {device.samples_sent} samples sent", file=sys.stderr)
    return 0
