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
