"""The presence evaluation on a short standard scenario: a regression in accuracy fails here."""

from __future__ import annotations

from bohsense.bench._presence import evaluate, standard_config, standard_scenario
from bohsense.simulators._tags import Scenario


def test_short_store_scenario_meets_the_accuracy_thresholds() -> None:
    scenario = Scenario.from_dict(standard_scenario(seed=100, duration_s=120.0, scale=0.5))
    run = evaluate(scenario, standard_config(scenario), duration_s=120.0)
    figures = run.figures()
    assert run.samples > 5_000  # the scenario has something to score
    assert run.departures >= 5
    assert run.moves >= 10
    assert figures["zone_accuracy"] >= 0.99, figures
    assert figures["departures_detected"] >= 0.99, figures
    assert figures["false_departure_rate"] <= 0.005, figures
    assert run.counters == {}  # the simulated readers report nothing bad


def test_the_evaluation_can_fail() -> None:
    scenario = Scenario.from_dict(standard_scenario(seed=100, duration_s=60.0, scale=0.5))
    # a departure timeout shorter than the gaps between reads: items depart while still there
    hasty = evaluate(
        scenario, standard_config(scenario, departure_s=0.5, exit_departure_s=0.5), duration_s=60.0
    )
    assert hasty.figures()["false_departure_rate"] > 0.005
    # the floor's antennas mapped to the back room and back: every zone is wrong
    cfg = standard_config(scenario)
    swap = {"floor": "backroom", "backroom": "floor"}
    swapped = standard_config(scenario, antennas={k: swap.get(z, z) for k, z in cfg.antennas.items()})
    assert evaluate(scenario, swapped, duration_s=60.0).figures()["zone_accuracy"] < 0.5
