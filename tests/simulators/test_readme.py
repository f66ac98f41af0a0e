"""The Python example in simulators/README.md runs as written."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "simulators" / "README.md"


def test_readme_python_example_runs() -> None:
    (code,) = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    namespace: dict[str, object] = {}
    exec(compile(code, str(README), "exec"), namespace)
    shelf, sensor = namespace["shelf"], namespace["sensor"]
    truth = shelf.ground_truth()  # type: ignore[attr-defined]
    assert truth["device_id"] == "shelf-1"
    assert truth["lanes"][0]["unit_weight_g"] == 355
    assert sensor.ground_truth()["faults"][0]["kind"] == "bearing"  # type: ignore[attr-defined]
