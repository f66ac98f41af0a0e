"""The ``bohsense`` command line's global options: ``--version``, ``--log-level`` checked
without a traceback, and the global options accepted after the subcommand."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bohsense.cli import _globals_first, build_parser, versions


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bohsense", *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_version_names_every_installed_distribution() -> None:
    done = run("--version")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"bohsense {versions()['bohsense-contracts']}"
    assert any(line.strip().startswith("bohsense-edge ") for line in lines[1:])


def test_a_bad_log_level_is_a_usage_error_without_a_traceback() -> None:
    done = run("contracts", "acl", "--log-level", "LOUD")
    assert done.returncode == 2
    assert "'LOUD' is not a log level" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_global_options_are_accepted_after_the_subcommand_in_any_case() -> None:
    done = run("contracts", "acl", "--log-level", "debug", "--log-format=json")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("# Mosquitto ACL")
    args = build_parser().parse_args(_globals_first(["contracts", "acl", "--log-level=warning"]))
    assert (args.log_level, args.log_format) == ("WARNING", None)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["edge", "run", "--log-level", "DEBUG", "--config", "x"],
            ["--log-level", "DEBUG", "edge", "run", "--config", "x"],
        ),
        (["--log-format", "json", "cloud", "run"], ["--log-format", "json", "cloud", "run"]),
        (["models", "score", "--", "--log-level", "x"], ["models", "score", "--", "--log-level", "x"]),
        (["edge", "run", "--log-format=json"], ["--log-format=json", "edge", "run"]),
    ],
)
def test_global_options_move_in_front_up_to_a_double_dash(argv: list[str], expected: list[str]) -> None:
    assert _globals_first(argv) == expected
