"""Settings of the cloud service: one class, environment prefix ``BOHSENSE_CLOUD_``.

Every field can be set as ``BOHSENSE_CLOUD_<FIELD>`` (e.g. ``BOHSENSE_CLOUD_BROKER_URL``)
or passed to the constructor; the CLI's flags override both. Unsafe values are refused
at start, with the reason (an API bound beyond this machine with no token nor JWT
secret, a weak token or secret, batch limits
that cannot work, an unknown URL scheme, an InfluxDB URL missing its database, bucket,
org or token). An unknown ``BOHSENSE_CLOUD_*`` variable is refused, so a typo never
passes silently.

Secrets may come from systemd credentials (``LoadCredential=NAME:…``; the files in
``$CREDENTIALS_DIRECTORY``, ``CREDENTIALS`` below): ``api-token``, ``jwt-secret``,
``webhook-secret``,
``broker-password`` / ``database-password`` / ``tsdb-password`` (the password of that
URL, whose user the URL names) and ``tsdb-token`` (an ``influx2://`` URL's token). A
credential wins over the environment and the command line; an unknown credential is
refused. Errors and ``masked()`` never show a secret.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bohsense.cloud._secrets import token_weakness
from bohsense.cloud.ingest import IngestConfig, parse_broker_url
from bohsense.contracts.credentials import read_credentials

__all__ = ["CloudSettings"]

_TSDB_SCHEMES = ("sqlite", "influx1", "influx1s", "http", "https", "influx2", "influx2s")
#: an HS256 key shorter than its hash (32 bytes) weakens it (RFC 7518 3.2)
MIN_JWT_SECRET_LENGTH = 32
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


class AutoApproveLimit(BaseModel):
    """Proposals of a class at or under these are approved automatically."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    max_units: int = Field(ge=0, le=1_000_000)
    max_value: float | None = Field(None, ge=0)


#: systemd credential name → (setting, how it fills it): "value" sets the setting, "password"
#: the password of the URL the setting holds, "token" the ``token`` query value of that URL
CREDENTIALS: dict[str, tuple[str, str]] = {
    "api-token": ("api_token", "value"),
    "jwt-secret": ("jwt_secret", "value"),
    "webhook-secret": ("webhook_secret", "value"),
    "broker-password": ("broker_url", "password"),
    "database-password": ("database_url", "password"),
    "tsdb-password": ("tsdb_url", "password"),
    "tsdb-token": ("tsdb_url", "token"),
}


def _with_password(url: str, password: str, credential: str, setting: str) -> str:
    from urllib.parse import quote, urlsplit, urlunsplit

    parts = urlsplit(url)
    if not parts.username:
        raise ValueError(
            f"credential {credential} is set but {setting} {mask_url(url)} names no user"
            " (write the URL as scheme://USER@host/…)"
        )
    host = parts.netloc.rsplit("@", 1)[1]
    netloc = f"{parts.username}:{quote(password, safe='')}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _with_token(url: str, token: str, credential: str, setting: str) -> str:
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.scheme.lower() not in ("influx2", "influx2s"):
        raise ValueError(
            f"credential {credential} is set but {setting} {mask_url(url)} is not an influx2:// URL"
            " (InfluxDB 1.x takes tsdb-password)"
        )
    pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "token"]
    return urlunsplit((*parts[:3], urlencode([*pairs, ("token", token)]), parts.fragment))


def database_url_with_credential(url: str) -> str:
    """``url`` with the ``database-password`` credential applied, as ``CloudSettings`` does
    (for ``bohsense cloud migrate`` and ``quarantine``, which take only the database URL).
    Raises ValueError (no secret in it) when the credential cannot apply."""
    found = read_credentials(CREDENTIALS)
    if "database-password" not in found:
        return url
    return _with_password(url, found["database-password"], "database-password", "database_url")


_SECRET_PARAMS = frozenset({"token", "password", "passwd", "secret", "key", "api_key", "apikey", "auth"})


def mask_url(url: str) -> str:
    """``url`` with the password of its authority and secret query values replaced by ``***``."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return "***"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:***@{host}" if ":" in userinfo else f"{user}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, "***" if k.lower() in _SECRET_PARAMS else v) for k, v in pairs], safe="*")
    if netloc == parts.netloc and query == parts.query:
        return url  # nothing to mask: shown as written (urlunsplit turns sqlite:///x into sqlite:/x)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def unknown_variable(environ: Mapping[str, str]) -> str | None:
    """Why the environment is refused: a ``BOHSENSE_CLOUD_*`` variable that names no setting
    (with the closest known name), or None. Every command that reads the cloud's variables
    asks this first, so a typo is never silently ignored."""
    import difflib

    prefix = "BOHSENSE_CLOUD_"
    fields = set(CloudSettings.model_fields)
    unknown = sorted(
        name
        for name in environ
        if name.upper().startswith(prefix) and name[len(prefix) :].lower() not in fields
    )
    if not unknown:
        return None
    known = [prefix + f.upper() for f in sorted(fields)]
    close = difflib.get_close_matches(unknown[0].upper(), known, n=1)
    hint = f"did you mean {close[0]}?" if close else f"known: {', '.join(known)}"
    return f"environment variable {unknown[0]} names no cloud setting ({hint})"


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
    broker_passwd_file: Path | None = Field(
        None, description="Mosquitto password file that store commissioning adds gateway logins to"
    )
    broker_acl_file: Path | None = Field(
        None, description="Mosquitto ACL file that store commissioning adds gateway grants to"
    )
    api_host: str = "127.0.0.1"
    api_port: int = Field(8080, ge=0, le=65535, description="0 picks a free port")
    api_token: SecretStr | None = None
    jwt_secret: SecretStr | None = Field(
        None,
        description="the HS256 key of sign-in access tokens (at least 32 characters); set: users sign in"
        " (POST /api/v1/auth/token) and every route but the probes needs a credential",
    )
    access_token_ttl_s: float = Field(
        900.0, ge=30, le=86_400, description="how long an access token is valid"
    )
    refresh_token_ttl_s: float = Field(
        8 * 3600.0, ge=60, le=90 * 86_400, description="how long a refresh token is valid (each is used once)"
    )
    login_max_failures: int = Field(
        5, ge=1, le=1000, description="failed sign-ins per user name and per address within login_window_s"
    )
    login_window_s: float = Field(300.0, gt=0, le=86_400, description="the window of login_max_failures")
    oidc_issuer: str | None = Field(
        None,
        description="accept access tokens of this identity provider (its iss; with audience and JWKS URL)",
    )
    oidc_audience: str | None = Field(None, description="the aud the identity provider's tokens must carry")
    oidc_jwks_url: str | None = Field(None, description="the identity provider's JWKS (https://…)")
    oidc_role_claim: str = Field(
        "role", min_length=1, max_length=128, description="the claim naming the role"
    )
    oidc_sites_claim: str = Field(
        "sites", min_length=1, max_length=128, description="the claim listing the stores"
    )
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
    feed_poll_s: float = Field(
        0.2,
        gt=0,
        le=60,
        description="how often the live feeds read new domain events (sooner after a commit of this process)",
    )
    feed_heartbeat_s: float = Field(
        15.0, gt=0, le=300, description="a live feed quiet this long sends a heartbeat (SSE comment)"
    )
    feed_queue_size: int = Field(
        1000,
        ge=1,
        le=1_000_000,
        description="events a live-feed client may fall behind before it is told to reconnect",
    )
    detector_models: Path | None = Field(
        None, description="directory of detector model files (*.json); default: the packaged ones"
    )
    replenishment_review_s: float = Field(
        900.0, ge=0, le=86_400, description="how often open proposals are re-evaluated (0: never)"
    )
    stock_watch_s: float = Field(
        60.0,
        ge=0,
        le=86_400,
        description="how often phantom inventory, shrink and unsold departures are looked for (0: never)",
    )
    phantom_after_s: float = Field(
        3 * 3600.0,
        gt=0,
        le=30 * 86_400,
        description="book stock above 0 and the shelf sensed empty this long, no sale: phantom inventory",
    )
    stock_disagreement_units: float = Field(
        1.0, ge=0, le=1e6, description="RFID and weight counts may differ by this many units (or the ratio)"
    )
    stock_disagreement_ratio: float = Field(
        0.1, ge=0, le=10, description="… or by this share of the larger count, before an alert"
    )
    departure_window_s: float = Field(
        900.0, ge=0, le=86_400, description="a door departure and a sale of its SKU this close match"
    )

    def stock_settings(self) -> dict[str, float]:
        """The stock truth's tolerances and times (``boh.StockSettings`` keywords)."""
        return {
            "phantom_after_s": self.phantom_after_s,
            "disagreement_units": self.stock_disagreement_units,
            "disagreement_ratio": self.stock_disagreement_ratio,
            "departure_window_s": self.departure_window_s,
        }

    webhook_orders_url: str | None = Field(
        None, description="where order webhooks (order.ordered, order.cancelled) are POSTed; unset: none sent"
    )
    webhook_work_orders_url: str | None = Field(
        None, description="where work-order webhooks (work_order.created) are POSTed; unset: none sent"
    )
    webhook_escalations_url: str | None = Field(
        None, description="where escalated alerts (alert.escalated) are POSTed; unset: none sent"
    )
    webhook_secret: SecretStr | None = Field(
        None, description="the HMAC-SHA256 key of the X-Bohsense-Signature header (at least 16 characters)"
    )
    webhook_timeout_s: float = Field(5.0, gt=0, le=120, description="a receiver slower than this is retried")
    webhook_max_attempts: int = Field(
        8, ge=1, le=100, description="attempts before a delivery is dead-lettered"
    )
    webhook_backoff_s: float = Field(
        2.0, gt=0, le=3600, description="the first retry's delay (doubles each time)"
    )
    webhook_backoff_max_s: float = Field(
        600.0, gt=0, le=86_400, description="the longest delay between attempts"
    )
    webhook_interval_s: float = Field(2.0, gt=0, le=3600, description="how often the outbox is delivered")
    order_on_approval: bool = Field(
        True, description="approving a proposal places the order: ordered, with its order webhook"
    )
    auto_approve: dict[str, AutoApproveLimit] = Field(
        default_factory=dict,
        description='per ABC class (A, B, C; "*" for the rest): proposals at or under max_units (and max_value,'
        ' units x unit cost) are approved automatically; JSON, e.g. {"C": {"max_units": 24}}. Empty: none',
    )
    flag_history_factor: float = Field(
        3.0, gt=1, le=1000, description="a proposal above this many times the median past order is flagged"
    )
    flag_forecast_factor: float = Field(
        2.0, gt=1, le=1000, description="a proposal above this many times the forecast demand is flagged"
    )

    @field_validator("webhook_orders_url", "webhook_work_orders_url", "webhook_escalations_url")
    @classmethod
    def _webhook_url(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("http://", "https://")):
            raise ValueError("a webhook URL must start with http:// or https://")
        return v or None

    @field_validator("auto_approve")
    @classmethod
    def _classes(cls, v: dict[str, AutoApproveLimit]) -> dict[str, AutoApproveLimit]:
        unknown = sorted(set(v) - {"A", "B", "C", "*"})
        if unknown:
            raise ValueError(f"auto_approve class {unknown[0]!r} is not A, B, C or *")
        return v

    def proposal_policy(self) -> Any:
        """The core's ``ProposalPolicy`` from these settings."""
        from bohsense.cloud.boh import ApprovalLimit, ApprovalPolicy, FlagPolicy, ProposalPolicy

        limits = {k: ApprovalLimit(v.max_units, v.max_value) for k, v in self.auto_approve.items()}
        return ProposalPolicy(
            approval=ApprovalPolicy(limits),
            flags=FlagPolicy(
                history_factor=self.flag_history_factor, forecast_factor=self.flag_forecast_factor
            ),
            place_on_approval=self.order_on_approval,
        )

    def webhook_config(self) -> Any:
        """The core's ``WebhookConfig``, or None when no webhook URL is set."""
        from bohsense.cloud.boh import WebhookConfig, WebhookEndpoint

        if self.webhook_secret is None:
            return None
        secret = self.webhook_secret.get_secret_value()
        endpoints = {
            family: WebhookEndpoint(url, secret)
            for family, url in (
                ("orders", self.webhook_orders_url),
                ("work_orders", self.webhook_work_orders_url),
                ("escalations", self.webhook_escalations_url),
            )
            if url is not None
        }
        if not endpoints:
            return None
        return WebhookConfig(
            endpoints=endpoints,
            timeout_s=self.webhook_timeout_s,
            max_attempts=self.webhook_max_attempts,
            backoff_s=self.webhook_backoff_s,
            backoff_max_s=self.webhook_backoff_max_s,
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
        from urllib.parse import parse_qs, urlsplit

        scheme = v.split(":", 1)[0].lower()
        if scheme not in _TSDB_SCHEMES:
            raise ValueError(f"time-series URL scheme {scheme!r} is not one of {', '.join(_TSDB_SCHEMES)}")
        if scheme == "sqlite":
            return v
        try:
            parts = urlsplit(v)
            host, _ = parts.hostname, parts.port
        except ValueError as exc:
            raise ValueError(f"time-series URL {mask_url(v)}: {exc}") from None
        if not host:
            raise ValueError(f"time-series URL {mask_url(v)} has no host")
        query = {k: vs[-1] for k, vs in parse_qs(parts.query).items() if vs and vs[-1]}
        if scheme.startswith("influx2"):
            missing = [k for k in ("org", "bucket", "token") if k not in query]
            if missing:
                hint = " (or the tsdb-token credential)" if missing == ["token"] else ""
                raise ValueError(
                    f"InfluxDB 2.x URL {mask_url(v)} lacks {', '.join(missing)}{hint}:"
                    " write influx2://host:8086?org=ORG&bucket=BUCKET&token=TOKEN"
                )
        elif not parts.path.strip("/") and "db" not in query:
            raise ValueError(
                f"InfluxDB 1.x URL {mask_url(v)} names no database: write influx1://host:8086/DB or ?db=DB"
            )
        return v

    @field_validator("database_url")
    @classmethod
    def _database(cls, v: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            backend = make_url(v).get_backend_name()
        except (ArgumentError, ValueError):
            raise ValueError(
                f"{mask_url(v)} is not a SQLAlchemy URL (dialect+driver://user@host/db)"
            ) from None
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(
                f"{mask_url(v)}: the BOH core runs on sqlite:/// or postgresql+psycopg://, not {backend}"
            )
        return v

    @field_validator("shared_group")
    @classmethod
    def _group(cls, v: str | None) -> str | None:
        if v is not None and not _GROUP_RE.match(v):
            raise ValueError(f"shared group {v!r} must be 1-64 letters, digits, '_', '.', '-'")
        return v or None

    @model_validator(mode="before")
    @classmethod
    def _credentials(cls, data: Any) -> Any:
        found = read_credentials(CREDENTIALS)  # CredentialError is a ValueError: named, no value
        if not found or not isinstance(data, dict):
            return data
        data = dict(data)
        for name, value in sorted(found.items()):
            setting, how = CREDENTIALS[name]
            if how == "value":
                data[setting] = value
                continue
            current = data.get(setting) or cls.model_fields[setting].default
            fill = _with_password if how == "password" else _with_token
            data[setting] = fill(str(current), value, name, setting)
        return data

    @model_validator(mode="before")
    @classmethod
    def _no_unknown_variables(cls, data: Any) -> Any:
        # extra="forbid" covers constructor arguments only: pydantic-settings reads just the
        # variables that name a field and ignores the rest, so a typo would pass silently.
        problem = unknown_variable(os.environ)
        if problem:
            raise ValueError(problem)
        return data

    @model_validator(mode="after")
    def _safe(self) -> CloudSettings:
        token = self.api_token.get_secret_value() if self.api_token is not None else None
        weakness = token_weakness(token) if token is not None else None
        if weakness is not None:
            raise ValueError(f"{weakness} (BOHSENSE_CLOUD_API_TOKEN)")
        jwt_secret = self.jwt_secret.get_secret_value() if self.jwt_secret is not None else None
        jwt_weakness = (
            token_weakness(jwt_secret, name="jwt_secret", min_length=MIN_JWT_SECRET_LENGTH)
            if jwt_secret is not None
            else None
        )
        if jwt_weakness is not None:
            raise ValueError(f"{jwt_weakness} (BOHSENSE_CLOUD_JWT_SECRET)")
        oidc = (self.oidc_issuer, self.oidc_audience, self.oidc_jwks_url)
        if any(oidc) and not all(oidc):
            raise ValueError(
                "an identity provider needs all of BOHSENSE_CLOUD_OIDC_ISSUER, BOHSENSE_CLOUD_OIDC_AUDIENCE"
                " and BOHSENSE_CLOUD_OIDC_JWKS_URL"
            )
        if self.oidc_jwks_url is not None and not self.oidc_jwks_url.startswith(("https://", "http://")):
            raise ValueError("oidc_jwks_url must be an https:// URL")
        if token is None and jwt_secret is None and not all(oidc) and not _is_local(self.api_host):
            raise ValueError(
                f"refusing to serve the API on {self.api_host} without a token:"
                " set BOHSENSE_CLOUD_API_TOKEN or BOHSENSE_CLOUD_JWT_SECRET, or bind to 127.0.0.1"
            )
        has_url = any(
            u is not None
            for u in (self.webhook_orders_url, self.webhook_work_orders_url, self.webhook_escalations_url)
        )
        secret = self.webhook_secret.get_secret_value() if self.webhook_secret is not None else None
        if has_url and secret is None:
            raise ValueError(
                "a webhook URL is set without BOHSENSE_CLOUD_WEBHOOK_SECRET: webhooks are always signed"
            )
        if secret is not None and len(secret) < 16:
            raise ValueError("webhook_secret must be at least 16 characters (BOHSENSE_CLOUD_WEBHOOK_SECRET)")
        if self.shared_group and self.mqtt_protocol != 5:
            raise ValueError("shared subscriptions ($share/…) need MQTT 5: set mqtt_protocol=5")
        return self

    def masked(self) -> dict[str, Any]:
        """The effective settings as plain data for ``check-config``: secrets as ``***``,
        and every URL's password and secret query parameters (``token``, ``password``…)
        masked, so the output can be pasted anywhere."""
        out: dict[str, Any] = self.model_dump(mode="json")
        for name, value in out.items():
            field = type(self).model_fields[name]
            if "SecretStr" in str(field.annotation):
                out[name] = None if value is None else "***"
            elif isinstance(value, str) and name.endswith("_url"):
                out[name] = mask_url(value)
        return out

    def identity_config(self) -> Any:
        """The API's ``identity.AuthorityConfig`` from these settings."""
        from bohsense.cloud.identity import AuthorityConfig, OidcConfig

        oidc = None
        if self.oidc_issuer and self.oidc_audience and self.oidc_jwks_url:
            oidc = OidcConfig(
                issuer=self.oidc_issuer,
                audience=self.oidc_audience,
                jwks_url=self.oidc_jwks_url,
                role_claim=self.oidc_role_claim,
                sites_claim=self.oidc_sites_claim,
            )
        return AuthorityConfig(
            oidc=oidc,
            jwt_secret=self.jwt_secret.get_secret_value() if self.jwt_secret is not None else None,
            access_ttl_s=self.access_token_ttl_s,
            refresh_ttl_s=self.refresh_token_ttl_s,
            login_max_failures=self.login_max_failures,
            login_window_s=self.login_window_s,
        )

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
