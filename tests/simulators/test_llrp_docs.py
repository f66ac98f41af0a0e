"""The Python example in docs/simulators.md runs as written, against real TCP."""

from __future__ import annotations

import re

from tests.support.workspace import ROOT

DOC = ROOT / "docs" / "simulators.md"


def test_the_llrp_python_example_runs() -> None:
    (code,) = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    namespace: dict[str, object] = {}
    exec(compile(code, str(DOC), "exec"), namespace)
    ports = namespace["ports"]
    assert set(ports) == {"backroom-reader", "dock-reader"}  # type: ignore[arg-type]
    assert all(p > 0 for p in ports.values())  # type: ignore[attr-defined]
    assert len(namespace["in_view"]) == 8  # type: ignore[arg-type]
    assert len(namespace["truth"]) == 12  # type: ignore[arg-type]
    (dock,) = [r for r in namespace["readers"] if r.device_id == "dock-reader"]  # type: ignore[attr-defined]
    assert dock.behaviour.clock_offset_s < 0


def test_the_scenario_example_loads_and_runs() -> None:
    import tomllib

    from bohsense.simulators import Scenario, TagWorld
    from tests.simulators.llrp_support import FakeClock

    (text,) = re.findall(r"```toml\n(.*?)```", DOC.read_text(), flags=re.S)
    scenario = Scenario.from_dict(tomllib.loads(text))
    clock = FakeClock()
    world = TagWorld(scenario, clock=clock)
    clock.mono += 40
    world.advance()
    events = [line["event"] for line in world.truth_lines()]
    assert events.count("stocked") == 8
    assert events.count("moved") == 3
    assert events.count("left") == 2
    assert events.count("received") == 5
