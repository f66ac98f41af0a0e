"""Settings of the cloud service: one class, environment prefix ``BOHSENSE_CLOUD_``.

Every field can be set as ``BOHSENSE_CLOUD_<FIELD>`` (e.g. ``BOHSENSE_CLOUD_BROKER_URL``)
or passed to the constructor; the CLI's flags override both. Unsafe values are refused
at start, with the reason (an API bound beyond this machine with no token, batch limits
that cannot work, an unknown URL scheme).
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bohsense.cloud._secrets import token_weakness
from bohsense.cloud.ingest import IngestConfig, parse_broker_url

__all__ = ["CloudSettings"]

_TSDB_SCHEMES = ("sqlite", "influx1", "influx1s", "http", "https", "influx2", "influx2s")
_GROUP_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


def default_client_id(api_port: int) -> str:
    """``bohsense-cloud-<host>-<api port>``: two workers on one host need two API ports, so
    the id is unique per worker, and a worker restarted with the same settings gets its
    persistent session back."""
    host = re.sub(r"[^A-Za-z0-9_.\-]", "-", socket.gethostname())[:64] or "host"
    return f"bohsense-cloud-{host}-{api_port}"


def _is_local(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class CloudSettings(BaseSettings):
    # errors never echo their input: it can hold the API token or the broker password
    model_config = SettingsConfigDict(
        env_prefix="BOHSENSE_CLOUD_", extra="forbid", frozen=True, hide_input_in_errors=True
    )

    broker_url: str = Field("mqtt://127.0.0.1:1883", description="mqtt://[user:pass@]host:port or mqtts://…")
    mqtt_protocol: int = Field(
        5, description="5 (MQTT 5) or 4 (MQTT 3.1.1, e.g. for the embedded demo broker)"
    )
    client_id: str | None = Field(
        None,
        min_length=1,
        max_length=128,
        description="MQTT client id of this worker's persistent session; default bohsense-cloud-<host>-<api port>,"
        " unique per worker and stable across its restarts",
    )
    shared_group: str | None = Field(None, description="subscribe as $share/<group>/… to split the fleet")
    tsdb_url: str = Field("sqlite:///var/bohsense-tsdb.db", description="see bohsense.cloud.tsdb.open_store")
    database_url: str = Field("sqlite:///var/bohsense-cloud.db", description="SQLAlchemy URL of the BOH core")
    catalog: Path | None = Field(None, description="TOML catalog of sites, assets, SKUs loaded at start")
    auto_register_gateways: bool = Field(
        False,
        description=(
            "demo / development only: accept any gateway that reports, at the site it claims."
            " Off (the default), the catalog says which gateways exist and where; an unknown"
            " gateway is listed as pending and its data held in quarantine (unknown-gateway)"
            " until the catalog registers it"
        ),
    )
    api_host: str = "127.0.0.1"
    api_port: int = Field(8080, ge=0, le=65535, description="0 picks a free port")
    api_token: SecretStr | None = None
    api_max_body_bytes: int = Field(
        1024 * 1024, ge=1024, le=64 * 1024 * 1024, description="larger request bodies are answered 413"
    )
    command_max_bytes: int = Field(
        64 * 1024,
        ge=512,
        le=268_435_455,
        description="the largest command as one MQTT packet; at most the broker's max_packet_size",
    )
    max_future_skew_s: float = Field(
        300.0, gt=0, le=86_400, description="readings further ahead are quarantined"
    )
    batch_max_readings: int = Field(5000, ge=1, le=100_000)
    batch_max_ms: float = Field(50.0, gt=0, le=10_000)
    receive_maximum: int = Field(1000, ge=1, le=65_535)
    session_expiry_s: int = Field(7 * 24 * 3600, ge=60)
    shutdown_timeout_s: float = Field(10.0, gt=0, le=300)
    quarantine_rate_per_s: float = Field(
        10.0, gt=0, le=100_000, description="rejects kept per gateway and second (the rest are counted)"
    )
    quarantine_burst: int = Field(200, ge=1, le=1_000_000, description="rejects a gateway may burst")
    quarantine_quota: int = Field(10_000, ge=1, description="quarantine rows kept per gateway at most")
    stall_after_s: float = Field(
        60.0, gt=0, le=86_400, description="/health reports a message unacknowledged this long as a stall"
    )
    gateway_silence_s: float = Field(
        300.0,
        ge=0,
        le=7 * 86_400,
        description="a gateway heard from by nothing this long is alerted (0: off)",
    )
    device_silence_s: float = Field(
        600.0, ge=0, le=7 * 86_400, description="a device lagging its gateway this long is alerted (0: off)"
    )
    command_timeout_s: float = Field(
        300.0,
        ge=0,
        le=7 * 86_400,
        description="a command with no result this long becomes expired (0: never)",
    )
    sweep_interval_s: float = Field(30.0, gt=0, le=3600, description="how often the sweeps above run")
    escalate_critical_s: float = Field(
        900.0,
        ge=0,
        le=30 * 86_400,
        description="a critical alert unacknowledged this long escalates (0: never)",
    )
    escalate_major_s: float = Field(
        3600.0,
        ge=0,
        le=30 * 86_400,
        description="a major alert unacknowledged this long escalates (0: never)",
    )
    escalate_warning_s: float = Field(
        4 * 3600.0,
        ge=0,
        le=30 * 86_400,
        description="a warning unacknowledged this long escalates (0: never)",
    )
    escalate_info_s: float = Field(
        0.0, ge=0, le=30 * 86_400, description="an info alert unacknowledged this long escalates (0: never)"
    )
    alert_reopen_window_s: float = Field(
        3600.0,
        ge=0,
        le=30 * 86_400,
        description="a fault recurring this soon after its alert was resolved reopens it (0: never)",
    )
    alert_auto_resolve_s: float = Field(
        1800.0,
        ge=0,
        le=30 * 86_400,
        description="an alert whose condition has been cleared this long is resolved by the system (0: never)",
    )
    alert_notices_s: float = Field(
        2.0,
        gt=0,
        le=3600,
        description="how often technicians' alert notices from the API and the sweeps are published",
    )
    detector_models: Path | None = Field(
        None, description="directory of detector model files (*.json); default: the packaged ones"
    )
    replenishment_review_s: float = Field(
        900.0, ge=0, le=86_400, description="how often open proposals are re-evaluated (0: never)"
    )

    def alert_policy(self) -> Any:
        """The alert engine's reopen window and auto-resolve delay (``boh.AlertPolicy``)."""
        from bohsense.cloud.boh import AlertPolicy

        return AlertPolicy(
            reopen_window_s=self.alert_reopen_window_s, auto_resolve_after_s=self.alert_auto_resolve_s
        )

    def escalation_after_s(self) -> dict[str, float]:
        """severity -> seconds unacknowledged before an alert escalates (0: never)."""
        return {
            "critical": self.escalate_critical_s,
            "major": self.escalate_major_s,
            "warning": self.escalate_warning_s,
            "info": self.escalate_info_s,
        }

    @field_validator("mqtt_protocol", mode="before")
    @classmethod
    def _protocol(cls, v: Any) -> int:
        names = {
            "5": 5,
            "5.0": 5,
            "v5": 5,
            "mqttv5": 5,
            "4": 4,
            "3.1.1": 4,
            "311": 4,
            "v311": 4,
            "mqttv311": 4,
        }
        key = str(v).strip().lower()
        if key not in names:
            raise ValueError(f"MQTT protocol {v!r}: use 5 or 3.1.1")
        return names[key]

    @field_validator("broker_url")
    @classmethod
    def _broker(cls, v: str) -> str:
        parse_broker_url(v)
        return v

    @field_validator("tsdb_url")
    @classmethod
    def _tsdb(cls, v: str) -> str:
        scheme = v.split(":", 1)[0].lower()
        if scheme not in _TSDB_SCHEMES:
            raise ValueError(f"time-series URL scheme {scheme!r} is not one of {', '.join(_TSDB_SCHEMES)}")
        return v

    @field_validator("shared_group")
    @classmethod
    def _group(cls, v: str | None) -> str | None:
        if v is not None and not _GROUP_RE.match(v):
            raise ValueError(f"shared group {v!r} must be 1-64 letters, digits, '_', '.', '-'")
        return v or None

    @model_validator(mode="before")
    @classmethod
    def _no_unknown_variables(cls, data: Any) -> Any:
        # extra="forbid" covers constructor arguments only: pydantic-settings reads just the
        # variables that name a field and ignores the rest, so a typo would pass silently.
        prefix = cls.model_config.get("env_prefix", "")
        fields = set(cls.model_fields)
        unknown = sorted(
            name
            for name in os.environ
            if name.upper().startswith(prefix) and name[len(prefix) :].lower() not in fields
        )
        if unknown:
            raise ValueError(
                f"environment variable {unknown[0]} names no cloud setting"
                f" (known: {', '.join(prefix + f.upper() for f in sorted(fields))})"
            )
        return data

    @model_validator(mode="after")
    def _safe(self) -> CloudSettings:
        token = self.api_token.get_secret_value() if self.api_token is not None else None
        weakness = token_weakness(token) if token is not None else None
        if weakness is not None:
            raise ValueError(f"{weakness} (BOHSENSE_CLOUD_API_TOKEN)")
        if token is None and not _is_local(self.api_host):
            raise ValueError(
                f"refusing to serve the API on {self.api_host} without a token:"
                " set BOHSENSE_CLOUD_API_TOKEN or bind to 127.0.0.1"
            )
        if self.shared_group and self.mqtt_protocol != 5:
            raise ValueError("shared subscriptions ($share/…) need MQTT 5: set mqtt_protocol=5")
        return self

    def ingest_config(self) -> IngestConfig:
        return IngestConfig(
            broker_url=self.broker_url,
            mqtt_protocol=self.mqtt_protocol,
            client_id=self.client_id or default_client_id(self.api_port),
            shared_group=self.shared_group,
            session_expiry_s=self.session_expiry_s,
            receive_maximum=self.receive_maximum,
            batch_max_readings=self.batch_max_readings,
            batch_max_ms=self.batch_max_ms,
            max_future_ns=int(self.max_future_skew_s * 1e9),
            stall_after_s=self.stall_after_s,
            quarantine_rate_per_s=self.quarantine_rate_per_s,
            quarantine_burst=self.quarantine_burst,
        )
