"""GatewaySettings: the documented example, env overrides, and fail-fast validation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bohsense.edge.errors import ConfigError
from bohsense.edge.preflight import build_drivers
from bohsense.edge.settings import GatewaySettings, load_settings

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "deploy" / "gateway.example.toml"
SECRET = {"BOHSENSE_EDGE_BROKER_PASSWORD": "s3cr3t-from-env"}


def test_the_documented_example_is_valid() -> None:
    s = load_settings(EXAMPLE, env=SECRET)
    assert s.gateway_id == "store-0042"
    assert s.broker.tls
    assert s.broker.port == 8883
    assert s.broker.password == "s3cr3t-from-env"
    assert s.batch.max_readings == 500
    assert s.batch.max_delay_ms == 200
    assert [(d.name, d.kind) for d in s.devices] == [
        ("shelf-a", "serial"),
        ("cooler-vibration", "serial"),
        ("rfid-backroom", "llrp"),
        ("synthetic", "synthetic"),
    ]
    assert s.devices[0].options == {
        "port": "/dev/ttyUSB0",
        "device_id": "shelf-01",
        "lanes": [{"unit_weight_g": 355.0, "tare_g": 150.0}, {"unit_weight_g": 355.0, "tare_g": 160.0}],
    }
    assert {k: v for k, v in s.devices[1].options.items() if k != "condition"} == {
        "port": "/dev/ttyUSB1",
        "device_id": "vib-01",
    }
    assert s.devices[1].options["condition"]["machine_class"] == "small"
    # the condition table is the serial driver's to check, and it holds
    condition = build_drivers(s)[1].condition.default  # type: ignore[attr-defined]
    assert condition.vibration.rpm == 2900.0
    assert condition.vibration.bearing is not None
    assert condition.temp_limit_c == 8.0
    assert s.devices[2].options["zones"] == {"1": "backroom", "2": "floor", "3": "dock"}
    assert s.devices[3].options == {"devices": 2, "metrics": ["temp_c"], "rate_hz": 1.0}


def test_the_example_without_a_password_is_refused() -> None:
    with pytest.raises(ConfigError, match="password is empty or a well-known default"):
        load_settings(EXAMPLE, env={})


def test_defaults_and_env_overrides() -> None:
    s = GatewaySettings.from_mapping(
        {"gateway_id": "gw-1"},
        env={
            "BOHSENSE_EDGE_GATEWAY_ID": "gw-2",
            "BOHSENSE_EDGE_BROKER_URL": "mqtt://broker.local",
            "BOHSENSE_EDGE_BATCH_MAX_READINGS": "50",
            "BOHSENSE_EDGE_OUTBOX_SYNCHRONOUS": "normal",
            "BOHSENSE_EDGE_CONFIG": "/ignored/here.toml",
            "UNRELATED": "x",
        },
    )
    assert s.gateway_id == "gw-2"
    assert (s.broker.host, s.broker.port, s.broker.tls) == ("broker.local", 1883, False)
    assert s.batch.max_readings == 50
    assert s.outbox.synchronous == "normal"
    assert s.broker.max_inflight == 500
    assert s.devices == []


@pytest.mark.parametrize(
    ("raw", "env", "message"),
    [
        ({"gateway_id": "bad id!"}, {}, "gateway_id: gateway id 'bad id!'"),
        ({"gateway_id": ""}, {}, "gateway_id"),
        ({}, {}, "missing required field `gateway_id`"),
        ({"gateway_id": "g", "broker": {"url": "http://x:1883"}}, {}, "mqtt:// or mqtts://"),
        ({"gateway_id": "g", "broker": {"url": "mqtt://"}}, {}, "has no host"),
        ({"gateway_id": "g", "broker": {"url": "mqtt://h:99999"}}, {}, "broker.url"),
        ({"gateway_id": "g", "broker": {"url": "mqtt://u:p@h"}}, {}, "credentials"),
        ({"gateway_id": "g", "broker": {"username": "u"}}, {}, "password is empty"),
        ({"gateway_id": "g", "broker": {"username": "u", "password": "changeme"}}, {}, "well-known default"),
        ({"gateway_id": "g", "broker": {"max_inflight": 70000}}, {}, "max_inflight"),
        ({"gateway_id": "g", "batch": {"max_readings": 0}}, {}, "max_readings"),
        ({"gateway_id": "g", "batch": {"max_readings": 20000}}, {}, "max_readings"),
        ({"gateway_id": "g", "batch": {"max_delay_ms": -5}}, {}, "max_delay_ms"),
        ({"gateway_id": "g", "outbox": {"max_rows": 0}}, {}, "max_rows"),
        ({"gateway_id": "g", "outbox": {"max_age_s": 0}}, {}, "max_age_s"),
        ({"gateway_id": "g", "outbox": {"synchronous": "off"}}, {}, "synchronous"),
        ({"gateway_id": "g", "outbox": {"max_bytes": "lots"}}, {}, "max_bytes"),
        ({"gateway_id": "g", "bogus": 1}, {}, "unknown field `bogus`"),
        ({"gateway_id": "g"}, {"BOHSENSE_EDGE_BROKER_URLL": "x"}, "BOHSENSE_EDGE_BROKER_URLL names no"),
        ({"gateway_id": "g"}, {"BOHSENSE_EDGE_BATCH_MAX_READINGS": "many"}, "max_readings"),
        ({"gateway_id": "g", "devices": {"name": "a"}}, {}, "array of tables"),
        ({"gateway_id": "g", "devices": [{"kind": "synthetic"}]}, {}, "name"),
        ({"gateway_id": "g", "devices": [{"name": "a b", "kind": "synthetic"}]}, {}, "name"),
        (
            {"gateway_id": "g", "devices": [{"name": "a", "kind": "k"}, {"name": "a", "kind": "k"}]},
            {},
            "name 'a' is used twice",
        ),
        (
            {"gateway_id": "g", "devices": [{"name": "a", "kind": "k", "x": 1, "options": {"x": 2}}]},
            {},
            "sets ['x'] twice",
        ),
    ],
)
def test_invalid_settings_fail_fast_with_the_key(
    raw: dict[str, Any], env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=r"invalid gateway settings|environment variable") as info:
        GatewaySettings.from_mapping(raw, env=env)
    assert message in str(info.value)


def test_file_errors_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "missing.toml", env={})
    bad = tmp_path / "bad.toml"
    bad.write_text('gateway_id = "g"\n[broker\n')
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(bad, env={})


def test_masked_hides_the_password() -> None:
    s = GatewaySettings.from_mapping(
        {"gateway_id": "g", "broker": {"username": "u", "password": "hunter2-x"}}, env={}
    )
    out = json.dumps(s.masked())
    assert "hunter2-x" not in out
    assert s.masked()["broker"]["password"] == "***"


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    full_env = {k: v for k, v in os.environ.items() if not k.startswith("BOHSENSE_EDGE_")} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "bohsense", "edge", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=60,
    )


def test_check_config_prints_effective_settings_masked() -> None:
    r = _cli("check-config", "--config", str(EXAMPLE), env=SECRET)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["gateway_id"] == "store-0042"
    assert out["broker"]["password"] == "***"
    assert "s3cr3t" not in r.stdout


def test_check_config_and_run_refuse_a_bad_config_with_exit_78(tmp_path: Path) -> None:
    cfg = tmp_path / "gw.toml"
    cfg.write_text('gateway_id = "g"\n[broker]\nurl = "http://x"\n')
    for cmd in ("check-config", "run"):
        r = _cli(cmd, "--config", str(cfg))
        assert r.returncode == 78
        assert "mqtt:// or mqtts://" in r.stderr


def test_run_refuses_an_unknown_driver_kind_with_exit_78(tmp_path: Path) -> None:
    cfg = tmp_path / "gw.toml"
    cfg.write_text(
        f'gateway_id = "g"\n[outbox]\npath = "{tmp_path}/o.db"\n[[devices]]\nname = "a"\nkind = "teleporter"\n'
    )
    r = _cli("run", "--config", str(cfg))
    assert r.returncode == 78
    assert "unknown driver kind 'teleporter'" in r.stderr


@pytest.mark.parametrize(
    ("device", "message"),
    [
        ('kind = "llrp"\nhost = "10.0.0.5"', "no antenna is mapped to a zone"),
        ('kind = "serial"\nport = "/dev/ttyUSB0"\nspeed = 9600', "unknown serial option(s) ['speed']"),
        ('kind = "synthetic"\ndevices = 0', "'devices' must be an integer >= 1"),
    ],
)
def test_check_config_builds_every_driver_as_run_does(tmp_path: Path, device: str, message: str) -> None:
    cfg = tmp_path / "gw.toml"
    cfg.write_text(
        f'gateway_id = "g"\n[outbox]\npath = "{tmp_path}/o.db"\n[[devices]]\nname = "a"\n{device}\n'
    )
    codes = {}
    for cmd in ("check-config", "run"):
        r = _cli(cmd, "--config", str(cfg))
        codes[cmd] = r.returncode
        assert message in r.stderr, (cmd, r.stderr)
        assert "device 'a'" in r.stderr
    assert codes == {"check-config": 78, "run": 78}, "the systemd pre-start check fails as run would"
    assert not (tmp_path / "o.db").exists(), "check-config opens nothing"


def test_check_config_refuses_a_tls_setup_that_run_cannot_make(tmp_path: Path) -> None:
    cfg = tmp_path / "gw.toml"
    cfg.write_text(
        f'gateway_id = "g"\n[broker]\nurl = "mqtts://127.0.0.1:1"\ntls_ca = "{tmp_path}/missing-ca.pem"\n'
        f'[outbox]\npath = "{tmp_path}/o.db"\n'
    )
    codes = {}
    for cmd in ("check-config", "run"):
        r = _cli(cmd, "--config", str(cfg))
        codes[cmd] = r.returncode
        assert "TLS setup failed" in r.stderr, (cmd, r.stderr)
    assert codes["check-config"] == codes["run"] != 0


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("[batch]\nmax_bytes = 2000000", "Expected `int` <= 983040 - at `$.batch.max_bytes`"),
        ("[batch]\nmax_bytes = 600000\n[outbox]\nmax_bytes = 100000", "cannot hold one batch"),
    ],
)
def test_check_config_refuses_batch_limits_that_cannot_fit(
    tmp_path: Path, section: str, message: str
) -> None:
    cfg = tmp_path / "gw.toml"
    cfg.write_text(f'gateway_id = "g"\n{section}\n')
    for cmd in ("check-config", "run"):
        r = _cli(cmd, "--config", str(cfg))
        assert r.returncode == 78, (cmd, r.stderr)
        assert message in r.stderr, (cmd, r.stderr)


@pytest.mark.parametrize(
    ("username", "password", "reason"),
    [
        ("u", "Changeme", "common"),
        ("u", "CHANGEME", "common"),
        ("u", "password1", "common"),
        ("u", "P@ssw0rd!", "common"),
        ("u", "12345678", "common"),
        ("u", "qwerty123", "common"),
        ("u", "Mosquitto2024!", "common"),
        ("gw-lisbon-17", "gw-lisbon-17", "username"),
        ("gw-lisbon-17", "GW-Lisbon-17!x", "username"),
        ("u", "aaaaaaaaaaaaaaaa", "repetitive"),
        ("u", "hijklmnop", "repetitive"),
        ("u", "Xq7#kZ", "too-short"),
        ("u", "tzqmwkrv", "low-entropy"),
        ("u", "93718264", "low-entropy"),
    ],
)
def test_weak_broker_passwords_are_refused_with_the_reason_and_never_echoed(
    username: str, password: str, reason: str
) -> None:
    with pytest.raises(ConfigError, match=f"\\({reason}") as refused:
        GatewaySettings.from_mapping(
            {"gateway_id": "g", "broker": {"username": username, "password": password}}, env={}
        )
    assert password not in str(refused.value), "the secret is never in the message"


@pytest.mark.parametrize(
    "password", ["hunter2-x", "s3cr3t-from-env", "Tq9vL2mXw7Rb", "correct horse battery"]
)
def test_strong_enough_passwords_pass(password: str) -> None:
    s = GatewaySettings.from_mapping(
        {"gateway_id": "g", "broker": {"username": "gw-7", "password": password}}, env={}
    )
    assert s.broker.password == password
