"""The generated gateway configuration is what the gateway itself accepts."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from bohsense.cloud.commission import gateway_toml, read_plan
from bohsense.cloud.commission._schema import MACHINE_CLASSES
from bohsense.edge.drivers.llrp_reader import LLRPReaderDriver
from bohsense.edge.drivers.registry import build_driver
from bohsense.edge.drivers.serial_device import SerialDeviceDriver
from bohsense.edge.errors import ConfigError
from bohsense.edge.features import MACHINE_CLASSES as EDGE_MACHINE_CLASSES
from bohsense.edge.settings import load_settings
from tests.cloud.commission.sheets import EXAMPLE, example_sections, to_csv

PASSWORD = "dY7-kq2Lw9_xPz4rTb8vN3mF"


def test_the_generated_config_loads_with_the_gateways_own_loader_and_drivers(tmp_path: Path) -> None:
    plan = read_plan(EXAMPLE.read_bytes(), filename="example-store.csv")
    path = tmp_path / "gateway.toml"
    path.write_text(gateway_toml(plan))
    settings = load_settings(path, env={"BOHSENSE_EDGE_BROKER_PASSWORD": PASSWORD})
    assert (settings.gateway_id, settings.site) == ("gw-0042", "store-0042")
    assert (settings.broker.url, settings.broker.username) == ("mqtts://mqtt.example.com:8883", "gw-0042")
    assert settings.broker.tls_ca == "/etc/bohsense/ca.pem"
    assert settings.outbox.path == "/var/lib/bohsense-edge/outbox.sqlite3"
    assert [(d.name, d.kind) for d in settings.devices] == [
        ("shelf-01", "serial"), ("shelf-02", "serial"), ("vib-01", "serial"), ("vib-02", "serial"),
        ("reader-01", "llrp"),
    ]  # fmt: skip
    drivers = {d.name: build_driver(d.name, d.kind, d.options, state_dir=tmp_path) for d in settings.devices}
    shelf = drivers["shelf-01"]
    assert isinstance(shelf, SerialDeviceDriver)
    assert shelf.port == "/dev/serial/by-id/usb-bohsense-shelf-01"
    assert [(c.unit_weight_g, c.tare_g) for c in shelf.lanes.lane_configs] == [
        (352.0, 0.0),
        (352.0, 0.0),
        (515.0, 0.0),
    ]
    cooler = drivers["vib-01"]
    assert isinstance(cooler, SerialDeviceDriver)
    vib = cooler.condition.config("vib-01").vibration
    assert (vib.machine_class, vib.rpm) == ("small", 2900.0)
    assert (vib.bearing.balls, vib.bearing.ball_d, vib.bearing.pitch_d) == (8, 7.94, 34.55)
    assert cooler.condition.config("vib-01").temp_limit_c == 8.0
    reader = drivers["reader-01"]
    assert isinstance(reader, LLRPReaderDriver)
    assert (reader.host, reader.port, reader.device_id) == ("192.0.2.50", 5084, "reader-01")


def test_the_config_holds_no_password_and_the_gateway_will_not_start_without_one(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    text = gateway_toml(read_plan(EXAMPLE.read_bytes()))
    assert "password" not in tomllib.loads(text)["broker"]
    assert "/etc/credstore/bohsense-edge.broker-password" in text  # where it goes instead
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"broker\.password is empty"):
        load_settings(path, env={})


def test_a_lane_the_planogram_leaves_out_reports_weight_only(tmp_path: Path) -> None:
    sections = example_sections()
    sections["lanes"] = [r for r in sections["lanes"] if not (r[0] == "shelf-01" and r[1] == "2")]
    path = tmp_path / "gateway.toml"
    path.write_text(gateway_toml(read_plan(to_csv(sections))))
    settings = load_settings(path, env={"BOHSENSE_EDGE_BROKER_PASSWORD": PASSWORD})
    (shelf,) = [d for d in settings.devices if d.name == "shelf-01"]
    driver = build_driver(shelf.name, shelf.kind, shelf.options)
    assert [c.unit_weight_g for c in driver.lanes.lane_configs] == [352.0, None, 515.0]


def test_the_machine_classes_are_the_gateways() -> None:
    assert MACHINE_CLASSES == EDGE_MACHINE_CLASSES
