"""Log lines carry no ANSI escape codes, whatever a library puts in its records."""

from __future__ import annotations

import io
import json
import logging

import pytest

from bohsense.contracts import logs


def _emit(fmt: str, msg: str, **extra: object) -> str:
    logs.configure_logging("INFO", fmt)
    root = logging.getLogger()
    buf = io.StringIO()
    root.handlers[0].setStream(buf)  # type: ignore[attr-defined]
    try:
        logging.getLogger("uvicorn.error").info(msg, extra=extra)
    finally:
        root.handlers[:] = []
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_uvicorns_colour_message_and_escape_codes_never_reach_the_log(fmt: str) -> None:
    line = _emit(
        fmt,
        "Uvicorn running on \x1b[1mhttp://127.0.0.1:8000\x1b[0m",
        color_message="Uvicorn running on \x1b[1m%s\x1b[0m",
        peer="\x1b[32m10.0.0.1\x1b[0m",
    )
    assert "\x1b" not in line
    assert "color_message" not in line
    assert "http://127.0.0.1:8000" in line
    assert "10.0.0.1" in line
    if fmt == "json":
        record = json.loads(line)
        assert record["msg"] == "Uvicorn running on http://127.0.0.1:8000"
        assert record["peer"] == "10.0.0.1"
