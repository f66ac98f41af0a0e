"""The demo store: what exists in it, and the script of what happens there.

One store, one gateway, one smart shelf of four lanes (four SKUs) and the condition
sensor of the walk-in cooler's compressor. The script scales with the run's length:
shoppers take the first lane's stock below its reorder point by about 40 % of the run.
The compressor's sensor sends vibration waveforms and plays the simulator's
``condition-compressor-inner-race`` scenario in accelerated time, from day 4 to day 23 of
the compressor's life over the run: the detector learns its normal first, then the
inner-race defect (onset day 8, functional failure day 26) grows until it is detected and
diagnosed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["ASSET", "CONDITION_SCENARIO", "LANES", "SENSOR", "SHELF", "DemoStore", "gateway_toml"]

SITE = "demo-store-1"
GATEWAY = "demo-gw-1"
SHELF = "shelf-1"
SENSOR = "compressor-1"
ASSET = "cooler-compressor-1"
#: the compressor of the scenario (simulators' MACHINES["compressor"]): shaft speed and bearing
COMPRESSOR_RPM = 2900.0
COMPRESSOR_BEARING = {"balls": 8, "ball_d": 11.1, "pitch_d": 46.0, "contact_deg": 0.0}
SAMPLE_RATE_HZ = 25600.0

#: (sku, name, unit weight g, empty-lane reading g, starting units, reorder point, order-up-to, pack)
LANES: list[tuple[str, str, float, float, int, int, int, int]] = [
    ("SKU-COLA-330", "Cola 330 ml can", 355.0, 150.0, 10, 4, 12, 6),
    ("SKU-WATER-500", "Still water 500 ml", 500.0, 160.0, 12, 4, 12, 6),
    ("SKU-CHIPS-150", "Salted crisps 150 g", 150.0, 170.0, 12, 3, 12, 4),
    ("SKU-COFFEE-750", "Ground coffee 750 g", 750.0, 180.0, 8, 2, 8, 2),
]

#: the tagged items of the RFID scenario: (sku, name, GTIN-14)
RFID_SKUS = (
    ("JKT-RAIN-M", "Rain jacket, M (RFID tagged)", "80614141123458"),
    ("BOOT-HIKE-42", "Hiking boots, 42 (RFID tagged)", "04006381333931"),
)
VIBRATION_LIMIT_MM_S = 7.1  # ISO 10816, class II machines: the boundary of zone D
#: the compressor's life the demo plays (simulators' scenarios/), and the part of it shown
CONDITION_SCENARIO = "condition-compressor-inner-race"
STORY_START_DAY = 4.0
STORY_END_DAY = 23.0
#: waveform sets (one block per axis) in the story, whatever the run's length: the detector
#: is self-normalising, so a defect growing over many more observations is partly absorbed
STORY_SETS = 120
#: the envelope features the detector watches and diagnoses from, on the radial axis x
DETECTOR_METRICS = (
    "vib_x_velocity_rms_mm_s",
    "vib_x_env_bpfo_db",
    "vib_x_env_bpfi_db",
    "vib_x_env_bsf_db",
)


_PART = "compressor motor bearing, 8 balls of 11.1 mm on a 46 mm pitch"
#: the catalog's maintenance guides for the compressor's bearing faults
MAINTENANCE: list[dict[str, Any]] = [
    {
        "kind": "compressor",
        "fault": "inner_race",
        "checks": [
            "Confirm with a handheld envelope reading at the motor bearings (BPFI with 1x sidebands)",
            "Compare the bearing housing temperature with the other end",
        ],
        "spare_parts": [{"part": _PART, "quantity": 2}],
    },
    {
        "kind": "compressor",
        "fault": "outer_race",
        "checks": ["Confirm with a handheld envelope reading at the motor bearings (BPFO)"],
        "spare_parts": [{"part": _PART, "quantity": 2}],
    },
]


@dataclass(frozen=True, slots=True)
class DemoStore:
    """The store's catalog, gateway configuration and script, for a run of ``duration_s``."""

    duration_s: float
    gateway: str = GATEWAY
    site: str = SITE
    #: the compressor's sensor sends waveforms (the demo) rather than vibration RMS and
    #: temperature SAMPLES with a threshold rule (the system tests' stores)
    waveforms: bool = False

    @property
    def fault_start_s(self) -> float:
        return 0.15 * self.duration_s

    @property
    def fault_ramp_s(self) -> float:
        return 0.3 * self.duration_s

    @property
    def time_scale(self) -> float:
        """Simulated seconds of the compressor's life per second of the run."""
        return (STORY_END_DAY - STORY_START_DAY) * 86_400.0 / self.duration_s

    @property
    def block_every_s(self) -> float:
        """Simulated seconds between two waveform sets (3.8 h)."""
        return (STORY_END_DAY - STORY_START_DAY) * 86_400.0 / STORY_SETS

    @property
    def start_s(self) -> float:
        return STORY_START_DAY * 86_400.0

    @property
    def fault_min_duration_s(self) -> float:
        return max(2.0, min(30.0, 0.05 * self.duration_s))

    def picks(self) -> list[tuple[float, int, int]]:
        """Scripted shoppers: (seconds after start, lane, units)."""
        start_units = LANES[0][4]
        to_take = start_units - LANES[0][5] + 1  # one unit below the reorder point
        span = 0.35 * self.duration_s
        picks = [(0.05 * self.duration_s + span * i / to_take, 1, 1) for i in range(to_take)]
        # other shoppers, a little on the other lanes
        picks += [(0.2 * self.duration_s, 2, 2), (0.3 * self.duration_s, 3, 1), (0.5 * self.duration_s, 4, 1)]
        return sorted(picks)

    def pos_batch(self, start_ns: int) -> dict[str, Any]:
        """The tills' view of the run (``POST /api/v1/pos/transactions``): the starting units
        received onto each lane, and one sale per scripted pick, a few seconds after it."""
        location = {sku: f"aisle-1/{SHELF}/lane-{i + 1}" for i, (sku, *_) in enumerate(LANES)}
        txns: list[dict[str, Any]] = [
            {
                "txn_id": f"demo-receipt-{i + 1}",
                "kind": "receipt",
                "site": self.site,
                "occurred_at": start_ns,
                "lines": [{"sku": sku, "location": location[sku], "quantity": start}],
            }
            for i, (sku, _, _, _, start, *_) in enumerate(LANES)
        ]
        for k, (at, lane, units) in enumerate(self.picks()):
            sku = LANES[lane - 1][0]
            txns.append(
                {
                    "txn_id": f"demo-sale-{k + 1}",
                    "kind": "sale",
                    "site": self.site,
                    "occurred_at": start_ns + int((at + 3.0) * 1e9),
                    "lines": [{"sku": sku, "location": location[sku], "quantity": units}],
                }
            )
        return {"sender": "demo-till", "transactions": txns}

    def _vibration_rule(self) -> dict[str, Any]:
        """The detector on the waveform features, or the threshold on vibration RMS."""
        what = "Listen for bearing noise; check mounts, belt tension and lubrication."
        if self.waveforms:
            return {
                "condition": "bearing-anomaly",
                "engine": "detector",
                "model": "condition-anomaly",
                "metrics": list(DETECTOR_METRICS),
                "min_duration_s": self.fault_min_duration_s,
                "severity": "major",
                "what_to_check": what,
            }
        return {
            "condition": "vibration-high",
            "metric": "vib_rms_mm_s",
            "limit": VIBRATION_LIMIT_MM_S,
            "clear_below": 4.5,
            "min_duration_s": self.fault_min_duration_s,
            "severity": "major",
            "what_to_check": what,
        }

    def catalog(self) -> dict[str, Any]:
        catalog = self._catalog()
        if self.waveforms:
            catalog["maintenance"] = MAINTENANCE
        return catalog

    def _catalog(self) -> dict[str, Any]:
        return {
            "sites": [
                {
                    "id": self.site,
                    "name": "Demo store",
                    # the RFID zones of the simulated store (simulators' scenarios/store.toml)
                    "zones": [
                        {"zone": "backroom", "kind": "backroom"},
                        {"zone": "floor", "kind": "floor"},
                        {"zone": "dock", "kind": "door"},
                    ],
                }
            ],
            "gateways": [{"id": self.gateway, "site": self.site}],
            "skus": [
                {"sku": sku, "name": name, "unit": "unit", "pack_size": pack} for sku, name, *_, pack in LANES
            ]
            + [
                {"sku": sku, "name": name, "unit": "unit", "pack_size": 1, "gtin": gtin}
                for sku, name, gtin in RFID_SKUS
            ],
            "assets": [
                {
                    "id": ASSET,
                    "site": self.site,
                    "name": "Walk-in cooler compressor",
                    "kind": "compressor",
                    "gateway": self.gateway,
                    "device": SENSOR,
                    "rules": [
                        self._vibration_rule(),
                        {
                            "condition": "temperature-high",
                            "metric": "temp_c",
                            "limit": 70.0,
                            "clear_below": 60.0,
                            "min_duration_s": 60.0,
                            "severity": "critical",
                            "what_to_check": "Check the condenser fan and coil, and the refrigerant charge.",
                        },
                    ],
                }
            ],
            "locations": [
                {
                    "site": self.site,
                    "sku": sku,
                    "location": f"aisle-1/{SHELF}/lane-{i + 1}",
                    "min": reorder,
                    "target": target,
                    "safety_stock": max(1, reorder // 2),
                    "lanes": [{"gateway": self.gateway, "device": f"{SHELF}.lane-{i + 1}"}],
                    "aisle": "aisle-1",
                    "shelf": SHELF,
                }
                for i, (sku, _, _, _, _, reorder, target, _) in enumerate(LANES)
            ],
        }


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML for {value!r}")


@dataclass(frozen=True, slots=True)
class RfidReader:
    """One RFID reader of the demo store: where it listens and which zone each antenna covers."""

    reader_id: str
    port: int
    zones: dict[int, str]
    exit_zones: tuple[str, ...] = ()


def gateway_toml(
    store: DemoStore,
    *,
    broker_url: str,
    outbox: Path,
    shelf_port: Path,
    sensor_port: Path,
    rfid: Sequence[RfidReader] = (),
) -> str:
    """The gateway configuration of the demo store."""
    lines = [
        f"gateway_id = {_toml(store.gateway)}",
        f"site = {_toml(store.site)}",
        'log_format = "json"',
        "status_interval_s = 10",
        "",
        "[broker]",
        f"url = {_toml(broker_url)}",
        "keepalive_s = 10",
        "resend_after_s = 10",
        "reconnect_min_s = 0.2",
        "reconnect_max_s = 5",
        "",
        "[outbox]",
        f"path = {_toml(str(outbox))}",
        'synchronous = "normal"',
        "",
        "[batch]",
        "max_readings = 500",
        "max_delay_ms = 200",
        "",
        "[[devices]]",
        f"name = {_toml(SHELF)}",
        'kind = "serial"',
        f"port = {_toml(str(shelf_port))}",
        "lanes = " + _toml([{"unit_weight_g": weight, "tare_g": tare} for _, _, weight, tare, *_ in LANES]),
        "",
        "[[devices]]",
        f"name = {_toml(SENSOR)}",
        'kind = "serial"',
        f"port = {_toml(str(sensor_port))}",
    ]
    if store.waveforms:
        lines += [
            "[devices.condition]",
            'machine_class = "small"',  # a walk-in cooler's compressor: under 15 kW
            f"rpm = {_toml(COMPRESSOR_RPM)}",
            "bearing = " + _toml(COMPRESSOR_BEARING),
            f"sample_rate_hz = {_toml(SAMPLE_RATE_HZ)}",
            # hours of the housing's temperature pass between two samples at the demo's pace:
            # a step of a few kelvin is the day's cycle, not a sensor spike
            "temp_spike_c = 15.0",
        ]
    lines.append("")
    for r in rfid:
        options: dict[str, Any] = {"snapshot_s": 30.0}
        if r.exit_zones:
            options["exit_zones"] = list(r.exit_zones)
        lines += [
            "[[devices]]",
            f"name = {_toml(r.reader_id)}",
            'kind = "llrp"',
            'host = "127.0.0.1"',
            f"port = {r.port}",
            f"device_id = {_toml(r.reader_id)}",
            "zones = " + _toml({str(a): z for a, z in r.zones.items()}),
            "interpreter_options = " + _toml(options),
            "",
        ]
    return "\n".join(lines)
