"""Running ``bohsense models …`` as a separate process, as a user does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BOHSENSE = str(Path(sys.executable).with_name("bohsense"))


def bohsense(*args: str, stdin: str = "", timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BOHSENSE, "models", *args], input=stdin, capture_output=True, text=True, timeout=timeout, check=False
    )
