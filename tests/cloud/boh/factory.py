"""Small builders for BOH tests: a store catalog, batches, readings at event times."""

from __future__ import annotations

from typing import Any

from bohsense.contracts.schema import Reading, ReadingBatch

T0 = 1_750_000_000 * 10**9
S = 10**9
GW = "gw-t1"
SITE = "store-t1"
VIB = "vib-01"
LANE_A = "shelf-01.lane-1"
LANE_B = "shelf-01.lane-2"
LIMIT, CLEAR, DURATION_S = 7.0, 4.0, 30


def catalog(gateway: str = GW) -> dict[str, Any]:
    return {
        "sites": [{"id": SITE, "name": "Test store"}],
        "gateways": [{"id": gateway, "site": SITE}],
        "skus": [{"sku": "COLA", "name": "Cola", "unit": "can", "pack_size": 6}],
        "assets": [
            {
                "id": "cooler-1",
                "site": SITE,
                "name": "Cooler compressor",
                "kind": "compressor",
                "gateway": gateway,
                "device": VIB,
                "rules": [
                    {
                        "condition": "vibration-high",
                        "metric": "vib_rms_mm_s",
                        "limit": LIMIT,
                        "clear_below": CLEAR,
                        "min_duration_s": DURATION_S,
                        "severity": "major",
                        "what_to_check": "bearing and mounts",
                    }
                ],
            }
        ],
        "locations": [
            {
                "site": SITE,
                "sku": "COLA",
                "location": "aisle-1/shelf-1",
                "min": 10,
                "target": 40,
                "safety_stock": 4,
                "lanes": [{"gateway": gateway, "device": LANE_A}, {"gateway": gateway, "device": LANE_B}],
            }
        ],
    }


def batch(
    seq: int, readings: list[Reading] | None = None, *, gateway: str = GW, floor: int = 0
) -> ReadingBatch:
    return ReadingBatch(
        gateway=gateway,
        seq=seq,
        sent=T0,
        readings=readings or [Reading("unmapped-dev", "temp_c", T0 + seq * S, 20.0)],
        floor=floor,
        site=SITE,
    )


def vib(t_s: float, value: float) -> Reading:
    return Reading(VIB, "vib_rms_mm_s", T0 + int(t_s * S), value)


def units(lane: str, t_s: float, value: float) -> Reading:
    return Reading(lane, "units", T0 + int(t_s * S), value)
