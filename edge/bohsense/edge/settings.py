"""``GatewaySettings``: the one settings class of the store gateway.

Loaded from a TOML file (``bohsense edge run --config gateway.toml``; the documented
example is ``deploy/gateway.example.toml``), then overridden from the environment:
``BOHSENSE_EDGE_<KEY>`` for a top-level key (``BOHSENSE_EDGE_GATEWAY_ID``) and
``BOHSENSE_EDGE_<SECTION>_<KEY>`` for a key of a section (``BOHSENSE_EDGE_BROKER_URL``,
``BOHSENSE_EDGE_BROKER_PASSWORD``, ``BOHSENSE_EDGE_OUTBOX_PATH``…). An unknown
``BOHSENSE_EDGE_*`` variable is an error, so a typo never passes silently. Secrets may
come from systemd credentials instead (``$CREDENTIALS_DIRECTORY/broker-password``,
``CREDENTIALS``), which win over both; an unknown credential is an error too.

Everything is validated before anything starts, and every failure is a ``ConfigError``
naming the key: gateway id format, broker URL scheme (``mqtt://`` or ``mqtts://``),
the cluster's other nodes (``broker.hosts``: ``host:port`` each, none twice), positive limits, unique device names, and no username without a strong password
(``bohsense.edge._password``: not a common one in any case or disguise, not the
username, not repetitive, long and varied enough).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from bohsense.contracts.broker import BrokerUrlError, parse_broker_url
from bohsense.contracts.credentials import CredentialError, read_credentials
from bohsense.contracts.schema import MAX_READINGS_PER_BATCH
from bohsense.contracts.topics import TopicError, validate_gateway_id
from bohsense.edge._password import MIN_LENGTH, weakness
from bohsense.edge.batcher import DEFAULT_BATCH_BYTES, MAX_BATCH_BYTES
from bohsense.edge.errors import ConfigError

__all__ = [
    "ENV_PREFIX",
    "BatchSettings",
    "BrokerSettings",
    "DeviceSettings",
    "GatewaySettings",
    "OutboxSettings",
    "load_settings",
]

ENV_PREFIX = "BOHSENSE_EDGE_"

#: why a weak password is refused (``bohsense.edge._password.weakness`` reasons)
_WEAK = {
    "username": "it contains the username, or the username contains it",
    "repetitive": "it has fewer than 5 distinct characters or is one run of consecutive keys",
    "too-short": f"it has fewer than {MIN_LENGTH} characters",
    "low-entropy": "it is too easy to guess (under 40 bits: use more characters, of more kinds)",
}

Pos = Annotated[int, msgspec.Meta(ge=1)]
PosF = Annotated[float, msgspec.Meta(gt=0)]


class BrokerSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    url: str = "mqtt://127.0.0.1:1883"
    #: the other nodes of a clustered broker, ``"host:port"`` each (``BOHSENSE_EDGE_BROKER_HOSTS``:
    #: comma-separated): a lost or refused connection goes on to the next address, in order
    #: after ``url``'s own and round again; the scheme, credentials and TLS are ``url``'s
    hosts: tuple[str, ...] = ()
    username: str = ""
    password: str = ""
    #: CA bundle for mqtts:// (empty: the system's trust store)
    tls_ca: str = ""
    #: client certificate (PEM) and its private key for a broker that wants one (mqtts://
    #: only; both or neither). The key file is read by the TLS library only, never logged.
    tls_cert: str = ""
    tls_key: str = ""
    #: MQTT version: "3.1.1" or "5"
    protocol: Literal["3.1.1", "5"] = "3.1.1"
    #: MQTT 5: how long the broker keeps the gateway's session (its subscriptions and
    #: queued acks and commands) while it is away; MQTT 3.1.1 leaves that to the broker
    session_expiry_s: Annotated[int, msgspec.Meta(ge=60, le=0xFFFFFFFF)] = 7 * 24 * 3600
    keepalive_s: Annotated[int, msgspec.Meta(ge=5, le=3600)] = 30
    #: batches handed to the MQTT client and not yet PUBACKed, at most (paho's packet ids
    #: wrap at 65,535 and would overwrite queued messages: this keeps far below that)
    max_inflight: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 500
    #: a published batch not covered by a CloudAck within this time is published again
    resend_after_s: PosF = 30.0
    #: reconnect backoff: first delay and cap, seconds (jittered, exponential)
    reconnect_min_s: PosF = 0.5
    reconnect_max_s: PosF = 30.0

    def __post_init__(self) -> None:
        try:
            parse_broker_url(self.url, allow_credentials=False)
        except BrokerUrlError as exc:
            raise ValueError(
                f"broker.url: {exc} (credentials go in broker.username / broker.password)"
            ) from None
        why = weakness(self.password, self.username) if self.username else None
        if why in ("empty", "common"):
            raise ValueError(
                f"broker.username {self.username!r} is set but broker.password is empty or a well-known"
                f" default ({why}): set a real one (BOHSENSE_EDGE_BROKER_PASSWORD)"
            )
        if why is not None:
            raise ValueError(
                f"broker.password is too weak ({why}: {_WEAK[why]}): set a strong one"
                " (BOHSENSE_EDGE_BROKER_PASSWORD), e.g. 16+ random characters"
            )
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ValueError("broker.reconnect_max_s must be >= broker.reconnect_min_s")
        self.addresses  # noqa: B018 - raises ValueError naming a bad broker.hosts entry
        self._check_tls_files()

    def _check_tls_files(self) -> None:
        if bool(self.tls_cert) != bool(self.tls_key):
            given, missing = ("tls_cert", "tls_key") if self.tls_cert else ("tls_key", "tls_cert")
            raise ValueError(
                f"broker.{given} is set but broker.{missing} is not: a client certificate needs both"
            )
        if self.tls_cert and not parse_broker_url(self.url).tls:
            raise ValueError("broker.tls_cert and broker.tls_key need an mqtts:// broker.url")
        for key in ("tls_cert", "tls_key"):  # (tls_ca: checked when the TLS context is made)
            path = getattr(self, key)
            if not path:
                continue
            p = Path(path)
            if not p.is_file():
                raise ValueError(f"broker.{key}: {path!r} is not a file")
            if not os.access(p, os.R_OK):
                raise ValueError(f"broker.{key}: {path!r} cannot be read by this user")

    @property
    def tls(self) -> bool:
        return parse_broker_url(self.url).tls

    @property
    def host(self) -> str:
        return parse_broker_url(self.url).host

    @property
    def port(self) -> int:
        return parse_broker_url(self.url).port

    @property
    def addresses(self) -> tuple[tuple[str, int], ...]:
        """``(host, port)`` of ``url`` and then of every ``hosts`` entry: the order the
        gateway tries them in."""
        first = parse_broker_url(self.url)
        scheme = "mqtts" if first.tls else "mqtt"
        out = [(first.host, first.port)]
        for i, entry in enumerate(self.hosts):
            shown = f"broker.hosts[{i}] {entry!r}"
            if not entry or "://" in entry or "@" in entry or "/" in entry:
                raise ValueError(f"{shown}: must be host:port, e.g. 'mqtt-2.example.net:1883'")
            try:
                a = parse_broker_url(f"{scheme}://{entry}", allow_credentials=False)
            except BrokerUrlError as exc:
                raise ValueError(f"{shown}: {exc}") from None
            if (a.host, a.port) in out:
                raise ValueError(f"{shown}: {a.host}:{a.port} is listed twice (broker.url counts too)")
            out.append((a.host, a.port))
        return tuple(out)


class OutboxSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    path: str = "outbox.sqlite3"
    max_rows: Pos = 200_000
    max_bytes: Pos = 512 * 1024 * 1024
    max_age_s: PosF = 7 * 24 * 3600.0
    #: "full": every append survives a power cut; "normal": survives a crash or kill -9,
    #: but the last appends may roll back on power loss (see bohsense.edge.outbox)
    synchronous: Literal["full", "normal"] = "full"


class BatchSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    max_readings: Annotated[int, msgspec.Meta(ge=1, le=MAX_READINGS_PER_BATCH)] = 500
    #: a batch also closes at this many bytes of encoded readings; at most the cloud's
    #: payload limit less a 64 KiB envelope margin (bohsense.edge.batcher)
    max_bytes: Annotated[int, msgspec.Meta(ge=1024, le=MAX_BATCH_BYTES)] = DEFAULT_BATCH_BYTES
    max_delay_ms: Pos = 200
    #: readings the drivers may queue ahead of the outbox writer before overflow is counted
    buffer_readings: Pos = 200_000


class MetricsSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    #: "host:port" to serve Prometheus metrics on (``bohsense.edge.metrics``); "": off
    listen: Annotated[str, msgspec.Meta(max_length=300)] = ""

    def __post_init__(self) -> None:
        if self.listen:
            self.address()  # raises ValueError for a bad one

    def address(self) -> tuple[str, int]:
        host, sep, port = self.listen.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError(f"metrics.listen must be host:port (e.g. 127.0.0.1:9108), not {self.listen!r}")
        return host.strip("[]"), int(port)


class DeviceSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]
    kind: Annotated[str, msgspec.Meta(min_length=1)]
    options: dict[str, Any] = {}


class GatewaySettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Everything one store gateway needs; see ``deploy/gateway.example.toml``."""

    gateway_id: str
    site: Annotated[str, msgspec.Meta(max_length=64)] = ""
    log_format: Literal["text", "json"] = "text"
    status_interval_s: PosF = 10.0
    shutdown_timeout_s: PosF = 10.0
    broker: BrokerSettings = BrokerSettings()
    outbox: OutboxSettings = OutboxSettings()
    batch: BatchSettings = BatchSettings()
    metrics: MetricsSettings = MetricsSettings()
    devices: list[DeviceSettings] = []

    def __post_init__(self) -> None:
        try:
            validate_gateway_id(self.gateway_id)
        except TopicError as exc:
            raise ValueError(f"gateway_id: {exc}") from None
        if self.outbox.max_bytes < self.batch.max_bytes:
            raise ValueError(
                f"outbox.max_bytes ({self.outbox.max_bytes}) cannot hold one batch of batch.max_bytes"
                f" ({self.batch.max_bytes}): raise outbox.max_bytes or lower batch.max_bytes"
            )
        seen: set[str] = set()
        for dev in self.devices:
            if dev.name in seen:
                raise ValueError(f"devices: name {dev.name!r} is used twice")
            seen.add(dev.name)

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any], *, env: Mapping[str, str] | None = None) -> GatewaySettings:
        """Validate ``raw`` (a parsed TOML document) with ``env`` overrides applied."""
        env = os.environ if env is None else env
        data = _apply_credentials(_apply_env(_normalise_devices(dict(raw)), env), env)
        broker = data.get("broker")
        if isinstance(broker, dict) and type(broker.get("protocol")) is int and broker["protocol"] == 5:
            data["broker"] = {**broker, "protocol": "5"}  # TOML `protocol = 5` means "5"
        try:
            return msgspec.convert(data, cls, strict=False)
        except msgspec.ValidationError as exc:
            raise ConfigError(f"invalid gateway settings: {exc}") from exc

    def masked(self) -> dict[str, Any]:
        """The effective settings as plain data, with secrets replaced by ``***``."""
        out: dict[str, Any] = msgspec.to_builtins(self)
        if out["broker"]["password"]:
            out["broker"]["password"] = "***"
        return out


def load_settings(path: str | Path, *, env: Mapping[str, str] | None = None) -> GatewaySettings:
    """Read, override and validate ``path``; raise ``ConfigError`` with the reason."""
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {str(p)!r} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"config file {str(p)!r} cannot be read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {str(p)!r} is not valid TOML: {exc}") from exc
    return GatewaySettings.from_mapping(raw, env=env)


def _normalise_devices(data: dict[str, Any]) -> dict[str, Any]:
    """``[[devices]]`` tables: ``name`` and ``kind``; every other key is a driver option."""
    devices = data.get("devices")
    if devices is None:
        return data
    if not isinstance(devices, list):
        raise ConfigError("invalid gateway settings: `devices` must be an array of tables ([[devices]])")
    out = []
    for i, dev in enumerate(devices):
        if not isinstance(dev, dict):
            raise ConfigError(f"invalid gateway settings: devices[{i}] must be a table")
        dev = dict(dev)
        options = dict(dev.pop("options", {}) or {})
        entry = {k: dev.pop(k) for k in ("name", "kind") if k in dev}
        clash = set(options) & set(dev)
        if clash:
            raise ConfigError(f"invalid gateway settings: devices[{i}] sets {sorted(clash)} twice")
        options.update(dev)
        entry["options"] = options
        out.append(entry)
    data["devices"] = out
    return data


_SECTIONS = {
    "broker": BrokerSettings,
    "outbox": OutboxSettings,
    "batch": BatchSettings,
    "metrics": MetricsSettings,
}
_TOP = {"gateway_id", "site", "log_format", "status_interval_s", "shutdown_timeout_s"}
_ENV_IGNORED = {"CONFIG"}
#: settings that are lists: their environment variable is comma-separated
_ENV_LISTS = {("broker", "hosts")}


def _apply_env(data: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX):
            continue
        key = name[len(ENV_PREFIX) :].lower()
        if key.upper() in _ENV_IGNORED:
            continue
        if key in _TOP:
            data[key] = value
            continue
        section, _, field = key.partition("_")
        cls = _SECTIONS.get(section)
        if cls is None or field not in cls.__struct_fields__:
            raise ConfigError(f"environment variable {name} names no gateway setting")
        if (section, field) in _ENV_LISTS:
            data[section] = {
                **dict(data.get(section) or {}),
                field: [v.strip() for v in value.split(",") if v.strip()],
            }
            continue
        data[section] = {**dict(data.get(section) or {}), field: value}
    return data


#: systemd credentials (``LoadCredential=NAME:…``) → the setting they fill; a credential
#: wins over the environment, which wins over the file
CREDENTIALS = {"broker-password": ("broker", "password")}


def _apply_credentials(data: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    try:
        found = read_credentials(CREDENTIALS, env)
    except CredentialError as exc:
        raise ConfigError(str(exc)) from None
    for name, value in found.items():
        section, field = CREDENTIALS[name]
        data[section] = {**dict(data.get(section) or {}), field: value}
    return data
