"""Everything ``edge run`` builds before its first I/O, in one place, so that
``edge check-config`` (the systemd unit's ``ExecStartPre``) builds exactly the same and
fails exactly where ``run`` would, with the same exit code::

    build_drivers(settings)         every [[devices]] table through its driver's from_options
    build_transport(settings, will) the MQTT client (TLS context included), not connected
    check(settings)                 both, for check-config: raises what run would raise

Nothing here opens a port, a socket or the outbox.
"""

from __future__ import annotations

from pathlib import Path

from bohsense.contracts.topics import status_topic
from bohsense.edge.drivers.base import Driver
from bohsense.edge.settings import GatewaySettings
from bohsense.edge.transport import PahoTransport, WillFactory

__all__ = ["build_drivers", "build_transport", "check"]


def build_drivers(settings: GatewaySettings) -> list[Driver]:
    """One driver per ``[[devices]]`` table; raises ``DriverError`` naming the device (a
    bad option, or a driver kind lacking part of the driver interface, commands included)."""
    from bohsense.edge.drivers.registry import build_driver

    state_dir = Path(settings.outbox.path).parent
    return [build_driver(d.name, d.kind, d.options, state_dir=state_dir) for d in settings.devices]


def build_transport(settings: GatewaySettings, will: WillFactory) -> PahoTransport:
    """The uplink's MQTT client; raises ``UplinkError`` for a TLS setup that cannot be made."""
    b = settings.broker
    return PahoTransport(
        client_id=settings.gateway_id,
        host=b.host,
        port=b.port,
        keepalive=b.keepalive_s,
        will_topic=status_topic(settings.gateway_id),
        will=will,
        username=b.username,
        password=b.password,
        tls=b.tls,
        tls_ca=b.tls_ca,
        tls_cert=b.tls_cert,
        tls_key=b.tls_key,
        protocol=b.protocol,
        session_expiry_s=b.session_expiry_s,
        reconnect_min_s=b.reconnect_min_s,
        reconnect_max_s=b.reconnect_max_s,
        client_inflight=min(b.max_inflight, 100),
        hosts=b.addresses[1:],
    )


def _no_will() -> tuple[bytes, int]:
    raise AssertionError("check-config never connects")


def check(settings: GatewaySettings) -> None:
    """Build what ``run`` builds before any I/O; raise what it would raise."""
    build_drivers(settings)
    build_transport(settings, _no_will)
