"""The figures of docs/alerts.md for the packaged detector model, on synthetic feature
vectors made for the purpose (not held-out data): false alerts on normal running and the
delay to detect a defect that grows over 600 s and over 2 400 s. ``pytest -m long``."""

from __future__ import annotations

import math
import random

import pytest

from bohsense.cloud.boh.rules import AnomalyDetected, ConditionParams, DetectorCondition, ModelRegistry

S = 10**9
METRICS = ("vib_x_velocity_rms_mm_s", "vib_x_env_bpfo", "vib_x_env_bpfi", "temp_c")


def run(n: int, fault_at: int | None, ramp_s: int, seed: int) -> list[tuple[int, str, str]]:
    engine = DetectorCondition(ModelRegistry.load())
    params = ConditionParams(
        "a", "anomaly", "", 0, 0, 0, "major", engine="detector", metrics=METRICS, model="condition-anomaly"
    )
    rng = random.Random(seed)
    state: dict[str, object] = {}
    found: list[tuple[int, str, str]] = []
    for i in range(n):
        f = 0.0 if fault_at is None else min(1.0, max(0.0, (i - fault_at) / ramp_s))
        ts = i * S
        points = [
            (ts, "vib_x_velocity_rms_mm_s", 1.8 * (1 + 0.15 * math.sin(i / 60)) + rng.gauss(0, 0.12) + 4 * f),
            (ts, "vib_x_env_bpfo", (1 + rng.gauss(0, 0.1)) * (1 + 9 * f)),
            (ts, "vib_x_env_bpfi", 1 + rng.gauss(0, 0.1)),
            (ts, "temp_c", 38 + rng.gauss(0, 0.05)),
        ]
        state, decisions = engine.step(params, state, points)
        found += [(i, d.fault, d.refines) for d in decisions if isinstance(d, AnomalyDetected)]
    return found


@pytest.mark.long
def test_false_alerts_and_detection_delays_of_the_packaged_detector() -> None:
    normal = run(10_000, None, 1, seed=1)
    fast = run(4_000, 3_000, 600, seed=2)
    slow = run(6_000, 3_000, 2_400, seed=3)
    delays = {"600 s": fast[0][0] - 3_000, "2400 s": slow[0][0] - 3_000}
    diagnosed = {
        k: [(i - 3_000, f) for i, f, _ in run_ if f == "outer_race"][:1]
        for k, run_ in (("600 s", fast), ("2400 s", slow))
    }
    print(f"false alerts in 10000 normal observations: {len(normal)}; detection delay: {delays}")
    print(f"diagnosed (delay, class): {diagnosed}")
    assert normal == []
    assert 0 < delays["600 s"] <= 200
    assert 0 < delays["2400 s"] <= 400
    # confirmed first, then named once the BPFO envelope stands 6 dB over its baseline
    assert [f for _, f, _ in fast] == [f for _, f, _ in slow] == ["anomaly", "outer_race"]
    assert all(r == "anomaly" for _, f, r in fast + slow if f == "outer_race")
