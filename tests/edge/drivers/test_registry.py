"""Driver kinds come from the ``bohsense.drivers`` entry-point group: an installed package
adds a kind without the agent knowing of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bohsense.edge.drivers import DriverError, build_driver, driver_kinds

MODULE = """
class PluginDriver:
    def __init__(self, name, options):
        self.name, self.options = name, options

    @classmethod
    def from_options(cls, name, options, *, state_dir=None):
        return cls(name, dict(options))

    async def run(self, sink):
        pass

    def stats(self):
        return {}

    def commands(self):
        return {}

    async def command(self, name, args):
        raise NotImplementedError


class OldDriver:
    name = "old"

    @classmethod
    def from_options(cls, name, options, *, state_dir=None):
        return cls()

    async def run(self, sink):
        pass

    def stats(self):
        return {}
"""


def _install_plugin(root: Path, value: str) -> None:
    """A distribution on sys.path that declares one driver kind, as ``pip install`` leaves it."""
    (root / "bohsense_plugin_mod.py").write_text(MODULE)
    info = root / "bohsense_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: bohsense-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[bohsense.drivers]\nplugin = {value}\n")


def test_the_built_in_kinds_are_entry_points() -> None:
    assert {"serial", "synthetic"} <= set(driver_kinds())


def test_a_package_adds_a_driver_kind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _install_plugin(tmp_path, "bohsense_plugin_mod:PluginDriver")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "plugin" in driver_kinds()
    driver = build_driver("reader-1", "plugin", {"host": "10.0.0.5"})
    assert (driver.name, getattr(driver, "options", None)) == ("reader-1", {"host": "10.0.0.5"})


def test_an_unknown_or_broken_kind_is_a_clear_driver_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(DriverError, match=r"unknown driver kind 'teleporter' \(known: .*serial.*\)"):
        build_driver("x", "teleporter", {})
    _install_plugin(tmp_path, "bohsense_plugin_mod:NoSuchClass")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(DriverError, match="cannot be loaded"):
        build_driver("x", "plugin", {})


def test_a_driver_without_the_command_interface_is_refused_at_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_plugin(tmp_path, "bohsense_plugin_mod:OldDriver")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(DriverError, match=r"lacks commands, command of the driver interface"):
        build_driver("x", "plugin", {})


def test_the_built_in_drivers_take_commands_through_the_interface() -> None:
    serial = build_driver("s", "serial", {"port": "loop://"})
    synthetic = build_driver("y", "synthetic", {})
    assert set(serial.commands()) == {"tare", "calibrate", "set-rate", "identify", "snapshot"}
    assert synthetic.commands() == {}
