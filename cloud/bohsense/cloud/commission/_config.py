"""The gateway's configuration (``gateway.toml``) from a store plan.

What the edge's ``GatewaySettings`` and its drivers take (``deploy/gateway.example.toml``):
the gateway id and site, the broker URL and login name, the outbox, and one
``[[devices]]`` table per device: a shelf with its lanes' unit weights and tares in lane
order (a lane the planogram leaves out reports weight only), a condition sensor with its
asset's machine class, speed, bearing geometry and temperature alarm, an RFID reader
with its antennas' zones (door zones are its exit zones). The password is never written
here: the file says where the gateway reads it from (its unit's ``broker-password``
credential, or ``BOHSENSE_EDGE_BROKER_PASSWORD``), so the file can be shown, logged and
versioned.
"""

from __future__ import annotations

from typing import Any

from ._plan import StorePlan

__all__ = ["PASSWORD_CREDENTIAL", "PASSWORD_ENV", "gateway_toml"]

PASSWORD_ENV = "BOHSENSE_EDGE_BROKER_PASSWORD"
#: where the gateway's systemd unit loads its broker password from (docs/deploy.md)
PASSWORD_CREDENTIAL = "/etc/credstore/bohsense-edge.broker-password"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        escaped = "".join(c if c >= " " and c != "\x7f" else f"\\u{ord(c):04x}" for c in escaped)
        return f'"{escaped}"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml(str(k))} = {_toml(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML for {value!r}")


def gateway_toml(plan: StorePlan, *, username: str | None = None) -> str:
    """The configuration text; ``username``: the broker login (default: the gateway id)."""
    gw = plan.gateway
    lines = [
        f"# The gateway of site {plan.site.id}, generated from its hand-over sheet by",
        "# `bohsense store commission` (docs/commissioning.md).",
        "# The broker password is not in this file: under systemd put it in the unit's credential",
        f"# {PASSWORD_CREDENTIAL} (mode 0600), or set {PASSWORD_ENV}.",
        f"gateway_id = {_toml(gw.id)}",
        f"site = {_toml(plan.site.id)}",
        'log_format = "json"',
        "",
        "[broker]",
        f"url = {_toml(gw.broker_url)}",
        f"username = {_toml(username or gw.id)}",
    ]
    if gw.tls_ca:
        lines.append(f"tls_ca = {_toml(gw.tls_ca)}")
    lines += ["", "[outbox]", f"path = {_toml(gw.outbox_path)}", ""]
    by_sensor = {a.sensor: a for a in plan.assets if a.sensor}
    for dev in plan.devices:
        lines += ["[[devices]]", f"name = {_toml(dev.device)}"]
        if dev.kind == "rfid":
            zones = plan.zones_of(dev.device)
            lines += ['kind = "llrp"', f"host = {_toml(dev.host)}"]
            if dev.llrp_port is not None:
                lines.append(f"port = {dev.llrp_port}")
            lines += [
                f"device_id = {_toml(dev.device)}",
                "zones = " + _toml({str(z.antenna): z.zone for z in zones}),
            ]
            doors = sorted({z.zone for z in zones if z.zone_kind == "door"})
            if doors:
                lines.append("interpreter_options = " + _toml({"exit_zones": doors}))
            lines.append("")
            continue
        lines += ['kind = "serial"', f"port = {_toml(dev.port)}"]
        if dev.baudrate is not None:
            lines.append(f"baudrate = {dev.baudrate}")
        lines.append(f"device_id = {_toml(dev.device)}")
        if dev.kind == "shelf":
            lanes = {x.lane: x for x in plan.lanes_of(dev.device)}
            tables: list[dict[str, Any]] = []
            for n in range(1, max(lanes, default=0) + 1):
                x = lanes.get(n)
                tables.append(
                    {} if x is None else {"unit_weight_g": float(x.unit_weight_g), "tare_g": float(x.tare_g)}
                )
            lines.append("lanes = " + _toml(tables))
        asset = by_sensor.get(dev.device)
        condition: dict[str, Any] = {}
        if asset is not None:
            if asset.machine_class:
                condition["machine_class"] = asset.machine_class
            if asset.rpm is not None:
                condition["rpm"] = float(asset.rpm)
            if asset.bearing is not None:
                b = asset.bearing
                condition["bearing"] = {
                    "balls": b.balls,
                    "ball_d": float(b.ball_d),
                    "pitch_d": float(b.pitch_d),
                    "contact_deg": float(b.contact_deg),
                }
            if asset.temp_limit_c is not None:
                condition["temp_limit_c"] = float(asset.temp_limit_c)
        if condition:
            lines.append("[devices.condition]")
            lines += [f"{k} = {_toml(v)}" for k, v in condition.items()]
        lines.append("")
    return "\n".join(lines)
