"""CloudSettings: environment prefix and refusal of unsafe values."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bohsense.cloud.settings import CloudSettings


def test_defaults_are_local_and_embedded() -> None:
    s = CloudSettings()
    assert (s.api_host, s.database_url, s.tsdb_url, s.mqtt_protocol) == (
        "127.0.0.1",
        "sqlite:///var/bohsense-cloud.db",
        "sqlite:///var/bohsense-tsdb.db",
        5,
    )
    cfg = s.ingest_config()
    assert (cfg.batch_max_readings, cfg.max_future_ns, cfg.receive_maximum) == (5000, 300 * 10**9, 1000)
    assert s.auto_register_gateways is False  # the catalog is the authority unless asked


def test_auto_register_is_a_setting_for_development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOHSENSE_CLOUD_AUTO_REGISTER_GATEWAYS", "true")
    assert CloudSettings().auto_register_gateways is True


def test_environment_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOHSENSE_CLOUD_BROKER_URL", "mqtt://broker.example:1884")
    monkeypatch.setenv("BOHSENSE_CLOUD_MQTT_PROTOCOL", "3.1.1")
    monkeypatch.setenv("BOHSENSE_CLOUD_TSDB_URL", "influx1://db:8086/bohsense")
    monkeypatch.setenv("BOHSENSE_CLOUD_BATCH_MAX_READINGS", "2000")
    monkeypatch.setenv("BOHSENSE_CLOUD_MAX_FUTURE_SKEW_S", "60")
    s = CloudSettings()
    assert (s.broker_url, s.mqtt_protocol, s.tsdb_url) == (
        "mqtt://broker.example:1884",
        4,
        "influx1://db:8086/bohsense",
    )
    assert s.ingest_config().batch_max_readings == 2000
    assert s.ingest_config().max_future_ns == 60 * 10**9


def test_flags_override_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOHSENSE_CLOUD_API_PORT", "9000")
    assert CloudSettings(api_port=9100).api_port == 9100


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"api_host": "0.0.0.0"}, "without a token"),
        ({"api_host": "10.1.2.3"}, "without a token"),
        ({"api_token": "short"}, "at least 16"),
        ({"mqtt_protocol": "6"}, "use 5 or 3.1.1"),
        ({"broker_url": "http://x"}, "mqtt://"),
        ({"tsdb_url": "mysql://x"}, "not one of"),
        ({"batch_max_readings": 0}, "greater than or equal to 1"),
        ({"batch_max_ms": 0}, "greater than 0"),
        ({"max_future_skew_s": 10**6}, "less than or equal"),
        ({"shared_group": "a/b"}, "shared group"),
        ({"shared_group": "g", "mqtt_protocol": 4}, "need MQTT 5"),
        ({"no_such_field": 1}, "Extra inputs"),
    ],
)
def test_unsafe_or_wrong_values_are_refused(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        CloudSettings(**kwargs)  # type: ignore[arg-type]


def test_public_bind_with_a_token_is_allowed() -> None:
    token = "q8Zt3mWk1vYp9rLs2NcX7bHf4DgJ6aEu"
    s = CloudSettings(api_host="0.0.0.0", api_token=token)
    assert s.api_token is not None
    assert token not in repr(s)


@pytest.mark.parametrize(
    "token",
    [
        "aaaaaaaaaaaaaaaa",
        "abcdefghijklmnop",
        "1234567890123456",
        "passwordpassword",
        "Password12345678",
        "changeme-changeme-changeme",
        "abababababababababababab",
        "acacacacacacacacacacacac",
        "qwertyuiopasdfghjkl",
    ],
)
def test_a_predictable_api_token_is_refused(token: str) -> None:
    with pytest.raises(ValidationError, match="too predictable") as exc:
        CloudSettings(api_host="0.0.0.0", api_token=token)
    assert token not in str(exc.value), "the secret is never echoed"


def test_generated_tokens_are_accepted() -> None:
    """Tokens made as the error message says (32 random bytes, URL-safe), and 16-byte hex
    ones; from a seeded generator, so the same tokens are checked every run (the estimate
    is conservative: a short random token can, rarely, fall under the bound)."""
    import base64
    import random

    rng = random.Random(20261201)
    for _ in range(300):
        raw32, raw16 = rng.randbytes(32), rng.randbytes(16)
        for token in (base64.urlsafe_b64encode(raw32).rstrip(b"=").decode(), raw16.hex()):
            assert CloudSettings(api_host="0.0.0.0", api_token=token).api_token is not None, token


def test_a_refused_setting_never_echoes_a_secret() -> None:
    with pytest.raises(ValidationError) as exc:
        CloudSettings(
            broker_url="http://ops:s3cret-broker-pw@mqtt.example.com", api_token="hunter2hunter2hunter2"
        )
    assert "s3cret-broker-pw" not in str(exc.value)
    assert "hunter2hunter2hunter2" not in str(exc.value)


@pytest.mark.parametrize(
    "name", ["BOHSENSE_CLOUD_API_TOKNE", "BOHSENSE_CLOUD_BROKER", "bohsense_cloud_databse_url"]
)
def test_a_mistyped_environment_variable_is_refused(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv(name, "0123456789abcdef-secret-value")
    monkeypatch.setenv("BOHSENSE_CLOUD_API_TOKEN", "the-real-token-Xq83-secret")
    with pytest.raises(ValidationError, match=f"environment variable {name} names no cloud setting") as err:
        CloudSettings()
    assert "0123456789abcdef-secret-value" not in str(err.value), "the value may be a secret: never echoed"
    assert "the-real-token-Xq83-secret" not in str(err.value)


def test_every_setting_is_known_by_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for field in CloudSettings.model_fields:
        monkeypatch.delenv(f"BOHSENSE_CLOUD_{field.upper()}", raising=False)
    monkeypatch.setenv("BOHSENSE_CLOUD_SHUTDOWN_TIMEOUT_S", "5")
    assert CloudSettings().shutdown_timeout_s == 5


def test_check_config_prints_the_settings_with_every_secret_masked() -> None:
    import json
    import os
    import secrets
    import subprocess
    import sys

    token = secrets.token_urlsafe(32)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOHSENSE_CLOUD_")}
    jwt_secret = secrets.token_urlsafe(40)
    env.update(BOHSENSE_CLOUD_API_TOKEN=token, BOHSENSE_CLOUD_WEBHOOK_SECRET="whsec-" + token[:20],
               BOHSENSE_CLOUD_JWT_SECRET=jwt_secret,
               BOHSENSE_CLOUD_WEBHOOK_ORDERS_URL="https://erp:erp-pw@erp.example/hooks?key=k-secret&x=1")  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "bohsense", "cloud", "check-config",
         "--broker", "mqtt://cloud:broker-pw@127.0.0.1:1883",
         "--tsdb", "influx2://h:8086?org=o&bucket=b&token=tsdb-token",
         "--database", "postgresql+psycopg://u:db-pw@h/db"],
        capture_output=True, text=True, timeout=120, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    for secret in (token, jwt_secret, "broker-pw", "tsdb-token", "db-pw", "erp-pw", "k-secret", token[:20]):
        assert secret not in done.stdout + done.stderr
    shown = json.loads(done.stdout)
    assert shown["broker_url"] == "mqtt://cloud:***@127.0.0.1:1883"
    assert shown["tsdb_url"] == "influx2://h:8086?org=o&bucket=b&token=***"
    assert shown["database_url"] == "postgresql+psycopg://u:***@h/db"
    assert shown["api_token"] == "***"
    assert shown["jwt_secret"] == "***"
    assert shown["webhook_secret"] == "***"
    assert shown["webhook_orders_url"] == "https://erp:***@erp.example/hooks?key=***&x=1"
    bad = subprocess.run(
        [sys.executable, "-m", "bohsense", "cloud", "check-config"],
        capture_output=True, text=True, timeout=120, env={**env, "BOHSENSE_CLOUD_API_TOKNE": token}, check=False,
    )  # fmt: skip
    assert bad.returncode == 78
    assert "BOHSENSE_CLOUD_API_TOKNE names no cloud setting" in bad.stderr
    assert token not in bad.stderr


def test_a_url_with_nothing_to_mask_is_shown_as_written() -> None:
    from bohsense.cloud.settings import mask_url

    # a relative SQLite path must not read as an absolute one (urlunsplit drops the empty authority)
    assert mask_url("sqlite:///var/bohsense-cloud.db") == "sqlite:///var/bohsense-cloud.db"
    assert mask_url("sqlite:////srv/boh.db") == "sqlite:////srv/boh.db"
    assert mask_url("postgresql+psycopg://boh:pw-1@db:5432/boh") == "postgresql+psycopg://boh:***@db:5432/boh"
    assert (
        mask_url("http://influx:8086/db?token=t0k3n&rp=autogen")
        == "http://influx:8086/db?token=***&rp=autogen"
    )


@pytest.mark.parametrize(
    ("secret", "why"),
    [
        ("short-but-random-Xq83Lm", "at least 32"),
        ("a" * 40, "too predictable"),
        ("password" * 5, "too predictable"),
        ("changeme-changeme-changeme-changeme", "too predictable"),
    ],
)
def test_a_short_or_predictable_jwt_secret_is_refused(secret: str, why: str) -> None:
    with pytest.raises(ValidationError) as caught:
        CloudSettings(jwt_secret=secret)
    message = str(caught.value)
    assert why in message
    assert "BOHSENSE_CLOUD_JWT_SECRET" in message
    assert secret not in message


def test_a_jwt_secret_alone_guards_an_api_bound_beyond_loopback() -> None:
    import secrets

    secret = secrets.token_urlsafe(40)
    s = CloudSettings(api_host="0.0.0.0", jwt_secret=secret, access_token_ttl_s=300, login_max_failures=3)
    config = s.identity_config()
    assert config.jwt_secret == secret
    assert (config.access_ttl_s, config.refresh_ttl_s, config.login_max_failures) == (300, 8 * 3600, 3)
    assert s.masked()["jwt_secret"] == "***"
    assert CloudSettings().identity_config().jwt_secret is None


def test_the_jwt_secret_comes_from_its_credential(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import secrets

    secret = secrets.token_urlsafe(40)
    (tmp_path / "jwt-secret").write_text(secret + "\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    s = CloudSettings()
    assert s.jwt_secret is not None
    assert s.jwt_secret.get_secret_value() == secret


def test_an_identity_provider_needs_issuer_audience_and_keys() -> None:
    with pytest.raises(ValidationError, match="OIDC_AUDIENCE"):
        CloudSettings(oidc_issuer="https://idp.example.com")
    s = CloudSettings(
        api_host="0.0.0.0",
        oidc_issuer="https://idp.example.com",
        oidc_audience="api://bohsense",
        oidc_jwks_url="https://idp.example.com/keys",
        oidc_role_claim="roles",
    )
    oidc = s.identity_config().oidc
    assert (oidc.issuer, oidc.audience, oidc.role_claim, oidc.sites_claim) == (
        "https://idp.example.com", "api://bohsense", "roles", "sites",
    )  # fmt: skip
