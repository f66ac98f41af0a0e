"""The container deployment, checked where no container runtime runs: the cloud image's
Dockerfile and entry point, the Compose stack and the Kubernetes manifests.

- the Compose file against the compose-spec JSON schema (the copy check-jsonschema
  vendors), then what a schema cannot see: every dependency, mounted file, secret and
  healthcheck is there, and the cloud's environment is one the cloud's settings accept
  (`bohsense cloud check-config` through the image's entry point, with generated secrets);
- the broker configuration of the stack on a real Mosquitto;
- the manifests against the Kubernetes API schemas (kubernetes-validate, offline, strict),
  their probes against the routes of the real FastAPI app, their hardening;
- the Dockerfile: every COPY source exists and is in the build context, its commands are
  commands of the ``bohsense`` CLI, its healthcheck answers as it should against the API.
"""

from __future__ import annotations

import contextlib
import fnmatch
import getpass
import json
import os
import re
import shlex
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from bohsense.cli import build_parser
from bohsense.cloud.settings import CloudSettings
from tests.support.services import free_port, wait_port

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE_DIR = DEPLOY / "compose"
COMPOSE = COMPOSE_DIR / "compose.yaml"
DOCKERFILE = DEPLOY / "docker" / "cloud.Dockerfile"
DOCKERIGNORE = DEPLOY / "docker" / "cloud.Dockerfile.dockerignore"
ENTRYPOINT = DEPLOY / "docker" / "entrypoint.sh"
HEALTHCHECK = DEPLOY / "docker" / "healthcheck.py"
K8S = DEPLOY / "k8s"
GRAFANA = DEPLOY / "grafana"
CLOUD_IMAGE = "bohsense-cloud"
#: the Kubernetes release whose API schemas the manifests must meet
K8S_VERSION = "1.30.0"
SETTINGS = set(CloudSettings.model_fields)
PREFIX = "BOHSENSE_CLOUD_"


def _import_make_secrets() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_secrets", COMPOSE_DIR / "make-secrets.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_secrets"] = module
    spec.loader.exec_module(module)
    return module


make_secrets = _import_make_secrets()


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def api_app() -> Iterator[Any]:
    """The real API over a BOH core on SQLite and the embedded time-series store."""
    from bohsense.cloud.api import create_app
    from bohsense.cloud.boh import BohCore
    from bohsense.cloud.tsdb import open_store

    core = BohCore("sqlite://")
    try:
        yield create_app(core=core, tsdb=open_store("sqlite:///:memory:"))
    finally:
        core.close()


@pytest.fixture(scope="module")
def app_paths(api_app: Any) -> set[str]:
    """The paths the real API answers GET on: each path of its OpenAPI document, asked
    (a path that is not routed would be 404)."""
    from fastapi.testclient import TestClient

    documented = {path for path, ops in api_app.openapi()["paths"].items() if "get" in ops}
    wanted = {"/api/v1/healthz", "/api/v1/readyz", "/metrics"}
    with TestClient(api_app) as client:
        assert client.get("/api/v1/no-such-route").status_code == 404
        answered = {path for path in documented & wanted if client.get(path).status_code != 404}
    return (documented - wanted) | answered


def cloud_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: svc for name, svc in compose["services"].items() if svc.get("image", "").startswith(CLOUD_IMAGE)
    }


def parse_cli(argv: list[str]) -> Any:
    """The handler ``bohsense`` would run for ``argv`` (argv[0] is ``bohsense``)."""
    assert argv[0] == "bohsense", argv
    args = build_parser().parse_args(argv[1:])
    handler = getattr(args, "handler", None)
    assert handler is not None, f"{argv} names no command"
    return handler


# --- Compose: schema ------------------------------------------------------------------------


def compose_schema() -> dict[str, Any]:
    vendored = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    return json.loads(vendored.read_text())


def test_the_compose_file_meets_the_compose_spec_schema(compose: dict[str, Any]) -> None:
    validator = jsonschema.Draft202012Validator(compose_schema())
    errors = sorted(validator.iter_errors(compose), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)
    # the schema does refuse what Compose refuses: a misspelt key, a wrong type
    broken = json.loads(json.dumps(compose))
    broken["services"]["cloud"]["helthcheck"] = broken["services"]["cloud"].pop("healthcheck")
    broken["services"]["postgres"]["ports"] = "5432"
    assert len(list(validator.iter_errors(broken))) >= 2


# --- Compose: what the schema cannot see -------------------------------------------------------


def test_every_dependency_exists_and_waits_for_the_right_state(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, svc in services.items():
        for target, dep in (svc.get("depends_on") or {}).items():
            assert target in services, f"{name} depends on {target}, which is no service"
            condition = dep["condition"]
            if condition == "service_healthy":
                check = services[target].get("healthcheck", {})
                assert check.get("test"), f"{target} has no healthcheck"
                assert not check.get("disable"), f"{target}'s healthcheck is disabled"
            elif condition == "service_completed_successfully":
                assert services[target].get("restart") == "no", f"{target} is a one-shot: restart: no"
            else:
                pytest.fail(f"{name} -> {target}: condition {condition!r} waits for nothing")
    cloud = services["cloud"]["depends_on"]
    assert cloud["migrate"]["condition"] == "service_completed_successfully"
    for store in ("mosquitto", "influxdb", "postgres"):
        assert cloud[store]["condition"] == "service_healthy"


def test_every_long_running_service_has_a_healthcheck(compose: dict[str, Any]) -> None:
    for name, svc in compose["services"].items():
        if svc.get("restart") == "no":
            continue  # a one-shot: its exit code is its health
        check = svc.get("healthcheck")
        assert check, f"{name} has no healthcheck"
        assert not check.get("disable"), f"{name}'s healthcheck is disabled"
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name
        for key in ("interval", "timeout", "retries", "start_period"):
            assert key in check, f"{name}'s healthcheck sets no {key}"


def test_every_mounted_file_is_in_the_repository(compose: dict[str, Any]) -> None:
    named = set(compose.get("volumes") or {})
    mounted = 0
    for name, svc in compose["services"].items():
        for volume in svc.get("volumes", []):
            source, target, *mode = volume.split(":")
            if source.startswith((".", "/")):
                path = (COMPOSE_DIR / source).resolve()
                assert path.exists(), f"{name} mounts {source}, which is not in the repository"
                assert path.is_relative_to(ROOT), f"{name} mounts {source} from outside the repository"
                assert mode == ["ro"], f"{name}: {source} from the repository is mounted read-only"
                mounted += 1
            else:
                assert source in named, f"{name} mounts volume {source}, which is not declared"
            assert target.startswith("/"), f"{name}: {target}"
    assert mounted >= 8


def test_the_secrets_are_the_generated_ones_and_never_in_the_repository(compose: dict[str, Any]) -> None:
    declared = compose["secrets"]
    assert set(declared) == set(make_secrets.SECRETS)
    for name, spec in declared.items():
        assert spec["file"] == f"./secrets/{name}"
    assert "/secrets/" in (COMPOSE_DIR / ".gitignore").read_text().split()
    tracked = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "deploy/compose/secrets"],
        capture_output=True, text=True, check=True, timeout=30,
    ).stdout  # fmt: skip
    assert tracked == "", f"secrets are committed: {tracked}"
    for name, svc in compose["services"].items():
        for secret in svc.get("secrets", []):
            assert secret in declared, f"{name} uses secret {secret}, which is not declared"
        for var, value in (svc.get("environment") or {}).items():
            if str(value).startswith("/run/secrets/"):
                assert var.endswith(("_FILE", "__FILE")), f"{name}: {var} names a file"
                assert value.removeprefix("/run/secrets/") in svc.get("secrets", []), (
                    f"{name}: {var} points at a secret the service is not given"
                )
            assert not re.search(r"(PASSWORD|TOKEN|SECRET)$", var), f"{name}: {var} is a secret in plain env"


def test_the_cloud_services_get_only_settings_the_cloud_knows(compose: dict[str, Any]) -> None:
    found = cloud_services(compose)
    assert set(found) == {"migrate", "cloud"}
    for name, svc in found.items():
        for var in svc.get("environment") or {}:
            assert var.startswith(PREFIX), f"{name}: {var} is no cloud setting"
            field = var.removeprefix(PREFIX).removesuffix("_FILE").lower()
            assert field in SETTINGS, f"{name}: {var} names no cloud setting"
    secret_fields = {"broker_url", "database_url", "api_token", "jwt_secret"}
    cloud_env = found["cloud"]["environment"]
    for field in secret_fields:
        assert f"{PREFIX}{field.upper()}_FILE" in cloud_env, f"{field} is given as a secret file"
        assert f"{PREFIX}{field.upper()}" not in cloud_env


def entrypoint_env(env: dict[str, str], secrets_dir: Path) -> dict[str, str]:
    """This environment without cloud settings, plus ``env`` with its /run/secrets/ paths
    mapped to ``secrets_dir``, and the venv's ``bohsense`` first on PATH (as in the image)."""
    mapped = {k: str(v).replace("/run/secrets/", f"{secrets_dir}/") for k, v in env.items()}
    base = {k: v for k, v in os.environ.items() if not k.startswith(PREFIX)}
    base["PATH"] = f"{Path(sys.executable).parent}:{base.get('PATH', '/usr/bin:/bin')}"
    return {**base, **mapped}


def run_entrypoint(
    env: dict[str, str], secrets_dir: Path, command: list[str]
) -> subprocess.CompletedProcess[str]:
    """The image's entry point with ``env`` (its /run/secrets/ paths mapped to ``secrets_dir``)."""
    return subprocess.run(
        ["sh", str(ENTRYPOINT), *command], env=entrypoint_env(env, secrets_dir),
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("secrets") / "secrets"
    written = make_secrets.generate(directory, ["store-0042-gw"])
    assert {p.name for p in written} == set(make_secrets.SECRETS) | set(make_secrets.OPERATOR_FILES)
    return directory


def test_the_cloud_accepts_the_stacks_settings_with_generated_secrets(
    compose: dict[str, Any], generated: Path
) -> None:
    cloud = compose["services"]["cloud"]
    argv = ["bohsense", "cloud", "check-config"]
    done = run_entrypoint(cloud["environment"], generated, argv)
    assert done.returncode == 0, done.stderr
    effective = json.loads(done.stdout)
    assert effective["tsdb_url"] == "influx1://influxdb:8086/bohsense"
    assert effective["api_token"] == "***"
    assert effective["jwt_secret"] == "***"  # people can sign in to the stack's API
    assert effective["database_url"] == "postgresql+psycopg://bohsense:***@postgres:5432/bohsense"
    assert effective["broker_url"] == "mqtt://bohsense-cloud:***@mosquitto:1883"
    for name in make_secrets.SECRETS:
        secret = (generated / name).read_text().strip()
        if name != "mosquitto_passwd":
            assert secret.split("@")[0].split(":")[-1] not in done.stdout + done.stderr
    # the services' commands are the CLI's
    assert parse_cli(compose["services"]["migrate"]["command"]).__name__ == "_migrate"
    assert parse_cli(list(dockerfile_exec("CMD"))).__name__ == "_run"


def test_the_entry_point_reads_secret_files_and_fails_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = tmp_path / "token"
    token.write_text("s3cr3t-Value-Kq8\n")
    done = run_entrypoint({f"{PREFIX}API_TOKEN_FILE": str(token)}, tmp_path, ["sh", "-c", "env"])
    assert done.returncode == 0, done.stderr
    env = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    assert env[f"{PREFIX}API_TOKEN"] == "s3cr3t-Value-Kq8"
    assert f"{PREFIX}API_TOKEN_FILE" not in env
    cases = {
        "missing": {f"{PREFIX}API_TOKEN_FILE": str(tmp_path / "nope")},
        "both": {f"{PREFIX}API_TOKEN_FILE": str(token), f"{PREFIX}API_TOKEN": "other"},
        "empty": {f"{PREFIX}API_TOKEN_FILE": str(tmp_path / "empty")},
    }
    (tmp_path / "empty").write_text("")
    for case, variables in cases.items():
        done = run_entrypoint(variables, tmp_path, ["true"])
        assert done.returncode == 2, case
        assert done.stderr.startswith("bohsense-entrypoint: "), case
        assert f"{PREFIX}API_TOKEN" in done.stderr, case
        assert "s3cr3t" not in done.stderr, case
    # a misspelt setting reaches the settings, which refuse it
    typo = tmp_path / "typo"
    typo.write_text("x")
    done = run_entrypoint({f"{PREFIX}API_TOKN_FILE": str(typo)}, tmp_path, ["sh", "-c", "env"])
    assert done.returncode == 0, done.stderr
    assert f"{PREFIX}API_TOKN=x" in done.stdout.splitlines()
    monkeypatch.setenv(f"{PREFIX}API_TOKN", "x")
    with pytest.raises(ValueError, match=f"{PREFIX}API_TOKN names no cloud setting"):
        CloudSettings()


def test_make_secrets_adds_gateways_and_keeps_what_exists(tmp_path: Path) -> None:
    directory = tmp_path / "s"
    make_secrets.generate(directory, [])
    before = {n: (directory / n).read_text() for n in make_secrets.SECRETS}
    make_secrets.generate(directory, ["gw-1"])
    after = {n: (directory / n).read_text() for n in make_secrets.SECRETS}
    assert {n for n in before if before[n] != after[n]} == {"mosquitto_passwd"}
    assert after["mosquitto_passwd"].startswith(before["mosquitto_passwd"])
    assert (directory / "gateway_passwords").read_text().startswith("gw-1 ")
    with pytest.raises(ValueError, match="already has a password"):
        make_secrets.generate(directory, ["gw-1"])
    with pytest.raises(ValueError, match="gateway id"):
        make_secrets.generate(directory, ["bad id"])
    assert (directory.stat().st_mode & 0o777) == 0o700


# --- Compose: Grafana and Prometheus -------------------------------------------------------


def mount_target(svc: dict[str, Any], source: str) -> str:
    for volume in svc["volumes"]:
        src, target, *_ = volume.split(":")
        if str((COMPOSE_DIR / src).resolve()) == source:
            return str(target)
    pytest.fail(f"{source} is not mounted")


def test_grafana_is_provisioned_with_both_datasources_and_the_dashboards(compose: dict[str, Any]) -> None:
    grafana = compose["services"]["grafana"]
    sources = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "bohsense.yaml").read_text())
    by_uid = {d["uid"]: d for d in sources["datasources"]}
    assert set(by_uid) == {"influxdb", "prometheus"}
    influx = by_uid["influxdb"]
    assert influx["type"] == "influxdb"
    assert influx["jsonData"]["version"] == "InfluxQL"
    assert influx["jsonData"]["dbName"] == "bohsense"
    assert compose["services"]["influxdb"]["environment"]["INFLUXDB_DB"] == "bohsense"
    assert by_uid["prometheus"]["type"] == "prometheus"
    services = compose["services"]
    for d in by_uid.values():
        host, _port = d["url"].removeprefix("http://").split(":")
        assert host in services, f"datasource {d['uid']} points at {host}, which is no service"
        assert host in grafana["depends_on"]
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "bohsense.yaml").read_text())
    (only,) = provider["providers"]
    assert only["type"] == "file"
    assert mount_target(grafana, str((GRAFANA / "dashboards").resolve())) == only["options"]["path"]
    assert mount_target(grafana, str((GRAFANA / "provisioning" / "datasources").resolve())) == (
        "/etc/grafana/provisioning/datasources"
    )
    # every dashboard the folder holds uses only the provisioned datasources
    for board in sorted((GRAFANA / "dashboards").glob("*.json")):
        text = board.read_text()
        uids = set(re.findall(r'"datasource"\s*:\s*\{[^{}]*"uid"\s*:\s*"([^"$]+)"', text))
        assert uids <= set(by_uid) | {"-- Grafana --", "grafana"}, f"{board.name}: {uids}"


def test_prometheus_scrapes_the_cloud_metrics_route_with_the_token(
    compose: dict[str, Any], app_paths: set[str]
) -> None:
    prometheus = compose["services"]["prometheus"]
    config = yaml.safe_load((COMPOSE_DIR / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    cloud = jobs["bohsense-cloud"]
    assert cloud["metrics_path"] in app_paths
    (target,) = cloud["static_configs"][0]["targets"]
    host, port = target.split(":")
    assert host in compose["services"]
    assert port == compose["services"][host]["environment"][f"{PREFIX}API_PORT"]
    token = cloud["authorization"]["credentials_file"]
    assert token.removeprefix("/run/secrets/") in prometheus["secrets"]
    assert token.removeprefix("/run/secrets/") == compose["services"]["cloud"]["environment"][
        f"{PREFIX}API_TOKEN_FILE"
    ].removeprefix("/run/secrets/")
    (sd,) = jobs["bohsense-gateways"]["file_sd_configs"]
    pattern = sd["files"][0]
    where = mount_target(prometheus, str((COMPOSE_DIR / "prometheus" / "gateways").resolve()))
    assert Path(pattern).parent == Path(where)
    for example in (COMPOSE_DIR / "prometheus" / "gateways").glob("*.json"):
        assert isinstance(json.loads(example.read_text()), list)
    assert (
        mount_target(prometheus, str((COMPOSE_DIR / "prometheus" / "prometheus.yml").resolve()))
        == (next(a for a in prometheus["command"] if a.startswith("--config.file=")).split("=", 1)[1])
    )


# --- Compose: the broker, on a real Mosquitto -------------------------------------------------


@pytest.fixture
def stack_broker(compose: dict[str, Any], generated: Path, tmp_path: Path) -> Iterator[tuple[int, int]]:
    """Mosquitto with the stack's configuration: its mounts mapped to the repository's
    files, the generated password file, the network and health listeners on free ports."""
    svc = compose["services"]["mosquitto"]
    conf = (COMPOSE_DIR / "mosquitto" / "mosquitto.conf").read_text()
    for volume in svc["volumes"]:
        src, target, *_ = volume.split(":")
        if src.startswith("."):
            conf = conf.replace(target, str((COMPOSE_DIR / src).resolve()))
    for secret in svc["secrets"]:
        conf = conf.replace(f"/run/secrets/{secret}", str(generated / secret))
    data = tmp_path / "data"
    data.mkdir()
    conf = conf.replace("/mosquitto/data/", f"{data}/")
    port, health = free_port(), free_port()
    conf = conf.replace("listener 1883\n", f"listener {port} 127.0.0.1\n")
    conf = conf.replace("listener 1880 127.0.0.1\n", f"listener {health} 127.0.0.1\n")
    settings = [line for line in conf.splitlines() if not line.startswith("#")]
    assert not [line for line in settings if " /mosquitto/" in line or "/run/secrets/" in line], conf
    # as root, Mosquitto would switch to its own user, which cannot read the test's files
    path = tmp_path / "mosquitto.conf"
    path.write_text(conf + f"user {getpass.getuser()}\n")
    exe = "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else "mosquitto"
    try:
        proc = subprocess.Popen([exe, "-c", str(path)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    except FileNotFoundError:
        pytest.fail("mosquitto is not installed (Debian package mosquitto)")
    try:
        try:
            wait_port(port, proc, timeout=10)
            wait_port(health, proc, timeout=10)
        except Exception as exc:
            proc.kill()
            out = proc.communicate(timeout=10)[0].decode(errors="replace")
            pytest.fail(f"Mosquitto does not start with the stack's configuration: {exc}\n{out}")
        yield port, health
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def mqtt_cli(tool: str, port: int, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool, "-h", "127.0.0.1", "-p", str(port), "-V", "mqttv5", *args],
        capture_output=True, text=True, timeout=20, check=False,
    )  # fmt: skip


def test_the_stacks_broker_config_runs_on_mosquitto(
    compose: dict[str, Any], stack_broker: tuple[int, int], generated: Path
) -> None:
    port, health = stack_broker
    # the healthcheck's command, as compose runs it, against the health listener
    test = compose["services"]["mosquitto"]["healthcheck"]["test"][1:]
    argv = [a.replace("$$", "$") for a in test]
    argv[argv.index("-p") + 1] = str(health)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip(), "the healthcheck got no uptime"
    # anonymous clients get nothing else there, and nothing at all on the stack's listener
    other = mqtt_cli("mosquitto_sub", health, "-t", "$SYS/broker/version", "-C", "1", "-W", "2")
    assert other.returncode != 0
    assert not other.stdout
    anonymous = mqtt_cli("mosquitto_sub", port, "-t", "x", "-C", "1", "-W", "2")
    assert anonymous.returncode != 0
    assert "not authori" in anonymous.stderr.lower()
    cloud_pw = (generated / "cloud_broker_url").read_text().split("bohsense-cloud:", 1)[1].split("@")[0]
    wrong = mqtt_cli(
        "mosquitto_sub", port, "-u", "bohsense-cloud", "-P", "x" + cloud_pw, "-t", "x", "-W", "2"
    )
    assert wrong.returncode != 0
    assert "not authori" in wrong.stderr.lower()
    # the cloud user reads what a generated gateway user publishes on its own topic
    gw, gw_pw = (generated / "gateway_passwords").read_text().split()
    topic = f"bohsense/v1/gw/{gw}/readings"
    sub = subprocess.Popen(
        ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-V", "mqttv5", "-u", "bohsense-cloud",
         "-P", cloud_pw, "-t", "bohsense/v1/gw/+/readings", "-C", "1", "-W", "10", "-v", "-q", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        time.sleep(0.5)
        pub = mqtt_cli("mosquitto_pub", port, "-u", gw, "-P", gw_pw, "-t", topic, "-m", "batch", "-q", "1")
        assert pub.returncode == 0, pub.stderr
        out, err = sub.communicate(timeout=15)
    finally:
        if sub.poll() is None:
            sub.kill()
            sub.wait(timeout=5)
    assert out.strip() == f"{topic} batch", err
    # a gateway may not publish as another (MQTT 5: the PUBACK says not authorized)
    cross = mqtt_cli(
        "mosquitto_pub",
        port,
        "-u",
        gw,
        "-P",
        gw_pw,
        "-t",
        "bohsense/v1/gw/other/readings",
        "-m",
        "x",
        "-q",
        "1",
    )
    assert cross.returncode != 0 or "not authori" in (cross.stderr + cross.stdout).lower()


def test_the_stacks_broker_limits_queues_deliberately() -> None:
    conf = (COMPOSE_DIR / "mosquitto" / "mosquitto.conf").read_text()
    options = dict(
        line.split(None, 1) for line in conf.splitlines() if line.strip() and not line.startswith("#")
    )
    assert int(options["max_queued_messages"]) > 1000  # finite, above the lossy default
    assert int(options["max_queued_bytes"]) > 0
    assert options["persistence"] == "true"
    assert options["allow_anonymous"] == "true"
    assert conf.count("allow_anonymous false") == 1
    assert "listener 1880 127.0.0.1" in conf


# --- Dockerfile -------------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def dockerfile_exec(keyword: str) -> list[str]:
    (rest,) = [r for k, r in dockerfile_instructions() if k == keyword]
    value = json.loads(rest)
    assert isinstance(value, list), f"{keyword} is in exec form"
    return [str(v) for v in value]


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether the build context leaves ``path`` out (.dockerignore rules: the last
    matching pattern wins; a pattern matches a path or any folder above it)."""
    verdict = False
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = raw.removeprefix("!").strip("/")
        regex = re.escape(pattern).replace(r"\*\*/", "(.*/)?").replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
        if any(re.fullmatch(regex, c) for c in candidates):
            verdict = not negate
    return verdict


def dockerignore_patterns() -> list[str]:
    lines = DOCKERIGNORE.read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_every_copy_source_exists_and_is_in_the_build_context() -> None:
    patterns = dockerignore_patterns()
    copies = [rest for keyword, rest in dockerfile_instructions() if keyword == "COPY"]
    assert copies
    sources = []
    for rest in copies:
        words = shlex.split(rest)
        if any(w.startswith("--from=") for w in words):
            continue
        sources += [w for w in words[:-1] if not w.startswith("--")]
    for source in sources:
        assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
        assert not ignored(source, patterns), f"COPY {source}: left out of the build context"
    # the context is cut down to what is copied: no venv, tests, gateway or simulator code
    for outside in (".venv/bin/python", "tests/conftest.py", "edge/bohsense/edge/agent.py", ".git/HEAD"):
        assert ignored(outside, patterns), f"{outside} would be sent to the builder"
    assert ignored("cloud/bohsense/cloud/__pycache__/x.pyc", patterns)
    # uv reads every workspace member's manifest: the Dockerfile copies all of them
    members = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["uv"]["workspace"]["members"]
    assert {f"{m}/pyproject.toml" for m in members} <= set(sources)


def test_the_image_installs_only_the_cloud_from_the_lock() -> None:
    runs = [rest for keyword, rest in dockerfile_instructions() if keyword == "RUN" and "uv sync" in rest]
    assert len(runs) == 2
    cloud = tomllib.loads((ROOT / "cloud" / "pyproject.toml").read_text())["project"]
    for run in runs:
        words = shlex.split(run)
        assert "--frozen" in words
        assert "--no-dev" in words
        assert words[words.index("--package") + 1] == cloud["name"]
        assert words[words.index("--extra") + 1] in cloud["optional-dependencies"]
        assert "--all-packages" not in words
        assert "--all-extras" not in words
    copied = {shlex.split(rest)[0] for k, rest in dockerfile_instructions() if k == "COPY"}
    deps = {d.split("==")[0] for d in cloud["dependencies"] if d.startswith("bohsense-")}
    for dist in {"bohsense-cloud", *deps}:
        folder = dist.removeprefix("bohsense-").replace("-", "_")
        assert f"{folder}/bohsense" in copied, f"{dist}'s sources are not copied"
    assert "edge/bohsense" not in copied
    assert "simulators/bohsense" not in copied


def test_the_image_runs_as_the_unprivileged_user_the_manifests_name() -> None:
    (user,) = [rest for keyword, rest in dockerfile_instructions() if keyword == "USER"]
    uid, gid = user.split(":")
    assert uid == gid == "10001"
    for pod in pod_specs():
        assert pod["securityContext"]["runAsUser"] == int(uid)
        assert pod["securityContext"]["runAsGroup"] == int(gid)
    entry = dockerfile_exec("ENTRYPOINT")
    assert entry == ["/usr/local/bin/bohsense-entrypoint"]
    assert os.access(ENTRYPOINT, os.X_OK)


def image_healthcheck() -> list[str]:
    """The command of the Dockerfile's HEALTHCHECK (exec form)."""
    (rest,) = [r for k, r in dockerfile_instructions() if k == "HEALTHCHECK"]
    command = json.loads(rest.split(" CMD ", 1)[1])
    assert isinstance(command, list)
    return [str(word) for word in command]


def test_the_images_healthcheck_is_the_liveness_route(app_paths: set[str]) -> None:
    command = image_healthcheck()
    assert command[:2] == ["python", "/usr/local/bin/bohsense-healthcheck"]
    assert command[2] == "/api/v1/healthz"
    assert command[2] in app_paths


@pytest.fixture(scope="module")
def live_api(api_app: Any) -> Iterator[int]:
    """The real API served by uvicorn on a free port."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(api_app, host="127.0.0.1", port=port, log_config=None, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="api", daemon=True)
    thread.start()
    try:
        wait_port(port, timeout=20)
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def healthcheck(port: int | str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, f"{PREFIX}API_PORT": str(port)}
    return subprocess.run(
        [sys.executable, str(HEALTHCHECK), *args], env=env,
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip


def test_the_healthcheck_script_against_the_real_api(live_api: int) -> None:
    assert healthcheck(live_api).returncode == 0
    assert healthcheck(live_api, "/api/v1/readyz").returncode == 0
    missing = healthcheck(live_api, "/api/v1/no-such-route")
    assert missing.returncode == 1
    assert "HTTP 404" in missing.stderr
    down = healthcheck(free_port())
    assert down.returncode == 1
    assert "healthcheck: http://127.0.0.1:" in down.stderr
    assert healthcheck("80x").returncode == 1
    assert healthcheck(live_api, "api/v1/healthz").returncode == 1


# --- Kubernetes -------------------------------------------------------------------------------


def manifests() -> list[tuple[str, dict[str, Any]]]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    out = []
    for name in kustomization["resources"]:
        for doc in yaml.safe_load_all((K8S / name).read_text()):
            if doc:
                out.append((name, doc))
    return out


def by_kind(kind: str) -> list[dict[str, Any]]:
    return [doc for _, doc in manifests() if doc["kind"] == kind]


def pod_specs() -> list[dict[str, Any]]:
    return [d["spec"]["template"]["spec"] for d in by_kind("Deployment") + by_kind("Job")]


def test_the_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files
    assert kustomization["images"] == [{"name": CLOUD_IMAGE, "newTag": "0.1.0"}]
    namespace = kustomization["namespace"]
    assert [n["metadata"]["name"] for n in by_kind("Namespace")] == [namespace]


def test_the_manifests_meet_the_kubernetes_api_schemas() -> None:
    found = manifests()
    assert {doc["kind"] for _, doc in found} >= {"Deployment", "Job", "Service", "ConfigMap", "Secret"}
    for name, doc in found:
        try:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{name}: {doc['kind']} {doc['metadata']['name']}: {exc.message} at {list(exc.path)}")
    # strict validation does refuse a misspelt field and a wrong type
    deployment = json.loads(json.dumps(by_kind("Deployment")[0]))
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["livenesProbe"] = container.pop("livenessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)
    container["livenessProbe"] = container.pop("livenesProbe")
    container["ports"][0]["containerPort"] = "8080"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)


def test_the_probes_hit_real_routes_on_the_apis_port(app_paths: set[str]) -> None:
    (deployment,) = by_kind("Deployment")
    (config,) = by_kind("ConfigMap")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert container["livenessProbe"]["httpGet"]["path"] == "/api/v1/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/api/v1/readyz"
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        get = container[probe]["httpGet"]
        assert get["path"] in app_paths, f"{probe}: {get['path']} is no route of the API"
        assert ports[get["port"]] == int(config["data"][f"{PREFIX}API_PORT"])
    (service,) = by_kind("Service")
    assert service["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= set(ports)


def test_every_pod_is_hardened_and_bounded() -> None:
    specs = pod_specs()
    assert len(specs) == 2
    for pod in specs:
        assert pod["automountServiceAccountToken"] is False
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        for c in pod["containers"]:
            sc = c["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True, c["name"]
            assert sc["runAsNonRoot"] is True, c["name"]
            assert sc["allowPrivilegeEscalation"] is False, c["name"]
            assert sc["capabilities"]["drop"] == ["ALL"], c["name"]
            assert "add" not in sc["capabilities"], c["name"]
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(c["resources"][kind]), f"{c['name']}: {kind}"
            assert parse_cli(c["args"]).__module__ == "bohsense.cloud.cli"
    commands = {c["name"]: parse_cli(c["args"]).__name__ for pod in specs for c in pod["containers"]}
    assert commands == {"cloud": "_run", "migrate": "_migrate"}


def test_the_pods_get_only_settings_the_cloud_knows_and_secrets_as_files() -> None:
    (config,) = by_kind("ConfigMap")
    (secret,) = by_kind("Secret")
    for key in config["data"]:
        assert key.startswith(PREFIX), key
        assert key.removeprefix(PREFIX).lower() in SETTINGS, key
    for pod in pod_specs():
        volumes = {v["name"]: v for v in pod["volumes"]}
        for c in pod["containers"]:
            mounts = {m["mountPath"]: volumes[m["name"]] for m in c.get("volumeMounts", [])}
            for ref in c.get("envFrom", []):
                assert ref["configMapRef"]["name"] == config["metadata"]["name"]
            for var in c.get("env", []):
                name, value = var["name"], var["value"]
                assert name.removeprefix(PREFIX).removesuffix("_FILE").lower() in SETTINGS, name
                if name.endswith("_FILE"):
                    folder, key = value.rsplit("/", 1)
                    volume = mounts[folder]
                    assert volume["secret"]["secretName"] == secret["metadata"]["name"]
                    assert key in secret["stringData"], f"{name}: {key} is not in the Secret"
                assert not re.search(r"(PASSWORD|TOKEN|SECRET|_URL)$", name) or name.endswith("TSDB_URL"), (
                    name
                )


def test_the_secret_holds_placeholders_the_cloud_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    (secret,) = by_kind("Secret")
    for key, value in secret["stringData"].items():
        assert "REPLACE-ME" in value, f"{key} must be a placeholder"
    for name in list(os.environ):
        if name.startswith(PREFIX):
            monkeypatch.delenv(name)
    with pytest.raises(ValueError, match="api_token"):
        CloudSettings(api_token=secret["stringData"]["api_token"], api_host="0.0.0.0")
    with pytest.raises(ValueError, match="jwt_secret"):
        CloudSettings(jwt_secret=secret["stringData"]["jwt_secret"], api_host="0.0.0.0")


def test_the_dockerignore_matcher_follows_the_rules() -> None:
    assert ignored("a/b.py", ["*"])
    assert not ignored("a/b.py", ["*", "!a"])
    assert ignored("a/__pycache__/x.pyc", ["*", "!a", "**/__pycache__"])
    assert not ignored("a/b/c", ["!a/b"])
    assert fnmatch.fnmatch("x", "*")


def test_the_docs_name_every_service_with_its_image_and_only_files_that_exist(
    compose: dict[str, Any],
) -> None:
    doc = (ROOT / "docs" / "containers.md").read_text()
    for name, svc in compose["services"].items():
        image = svc["image"].split(":")[0] if svc["image"].startswith(CLOUD_IMAGE) else svc["image"]
        assert f"| `{name}` | `{image}` |" in doc, f"docs/containers.md has no row for {name} ({image})"
    named = set(re.findall(r"`(deploy/[^`*\s]+)`", doc))
    assert len(named) >= 10
    for path in sorted(named):
        assert (ROOT / path).exists() or path.startswith("deploy/compose/secrets/"), f"docs name {path}"
    for manifest in {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}:
        assert f"| `{manifest}` |" in doc, f"docs/containers.md has no row for {manifest}"


@pytest.mark.long
def test_the_build_stage_installs_the_cloud_alone_from_the_lock(tmp_path: Path) -> None:
    """The build stage's steps run outside a container: the files its COPY lines name (as
    the build context has them) into a fresh folder, then its ``uv sync`` lines, offline
    from uv's cache. The result runs ``bohsense cloud migrate`` and holds no gateway,
    simulator or dev package."""
    import shutil

    uv = ROOT / ".tools" / "bin" / "uv"
    if not uv.exists():
        pytest.fail("uv is not installed in .tools: run scripts/setup")
    patterns = dockerignore_patterns()
    context, venv = tmp_path / "src", tmp_path / "opt-bohsense"
    context.mkdir()
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv), "UV_PYTHON_DOWNLOADS": "never"}
    env.update({"UV_LINK_MODE": "copy", "UV_COMPILE_BYTECODE": "1"})

    def left_out(folder: str, names: list[str]) -> list[str]:
        return [n for n in names if ignored(str((Path(folder) / n).relative_to(ROOT)), patterns)]

    syncs = 0
    for keyword, rest in dockerfile_instructions():
        if keyword == "FROM" and " AS runtime" in rest:
            break
        words = shlex.split(rest)
        if keyword == "COPY" and not words[-1].startswith("/"):
            *sources, dest = words
            for source in sources:
                target = context / dest / Path(source).name if dest.endswith("/") else context / dest
                target.parent.mkdir(parents=True, exist_ok=True)
                if (ROOT / source).is_dir():
                    shutil.copytree(ROOT / source, target, ignore=left_out)
                else:
                    shutil.copy2(ROOT / source, target)
        elif keyword == "RUN" and words[:2] == ["uv", "sync"]:
            argv = [str(uv), *words[1:], "--offline", "--python", sys.executable, "--quiet"]
            done = subprocess.run(argv, cwd=context, env=env, capture_output=True, text=True, timeout=600)
            assert done.returncode == 0, done.stderr
            syncs += 1
    assert syncs == 2
    python = venv / "bin" / "python"
    listing = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(*sorted(d.metadata['Name'].lower()"
         " for d in m.distributions()))"], capture_output=True, text=True, timeout=60, check=True,
    ).stdout.split()  # fmt: skip
    assert {"bohsense-cloud", "bohsense-contracts", "bohsense-models", "psycopg", "uvicorn"} <= set(listing)
    unwanted = {
        "bohsense-edge",
        "bohsense-simulators",
        "bohsense-demo",
        "bohsense-bench",
        "pytest",
        "pyserial",
    }
    assert not unwanted & set(listing), unwanted & set(listing)
    # not editable: nothing in the environment points back into the build context
    assert str(context) not in "".join(p.read_text() for p in venv.glob("lib/python*/site-packages/*.pth"))
    done = subprocess.run(
        [str(venv / "bin" / "bohsense"), "cloud", "migrate", "--database", f"sqlite:///{tmp_path}/boh.db"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1])["revision"]
    print(
        f"image environment: {len(listing)} distributions, {sum(f.stat().st_size for f in venv.rglob('*') if f.is_file()) / 1e6:.0f} MB"
    )


@pytest.mark.long  # starts the stack's cloud on real services (~12 s)
def test_the_stacks_cloud_runs_on_real_services_as_compose_starts_it(
    compose: dict[str, Any],
    stack_broker: tuple[int, int],
    generated: Path,
    influxdb: Any,
    pg_url: str,
    tmp_path: Path,
) -> None:
    """The stack without containers: the stack's broker configuration on a real Mosquitto,
    a real InfluxDB 1.x and PostgreSQL; the migrate service's and the cloud service's
    environment and commands through the image's entry point, with the service names
    mapped to 127.0.0.1. The healthcheck passes, readiness follows, Prometheus' scrape
    (with the token file it is given) is answered, and SIGTERM stops the cloud cleanly."""
    import urllib.error
    import urllib.request
    import uuid

    port, _health = stack_broker
    services = compose["services"]
    local = tmp_path / "run-secrets"
    local.mkdir()
    broker = (generated / "cloud_broker_url").read_text().strip()
    assert broker.endswith("@mosquitto:1883")
    (local / "cloud_broker_url").write_text(broker.replace("@mosquitto:1883", f"@127.0.0.1:{port}") + "\n")
    (local / "cloud_database_url").write_text(pg_url + "\n")
    (local / "cloud_api_token").write_text((generated / "cloud_api_token").read_text())

    migrate = services["migrate"]
    done = run_entrypoint(migrate["environment"], local, migrate["command"])
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1])["revision"]

    cloud = dict(services["cloud"]["environment"])
    api_port = free_port()
    tsdb = cloud[f"{PREFIX}TSDB_URL"]
    assert tsdb == "influx1://influxdb:8086/bohsense"
    cloud[f"{PREFIX}TSDB_URL"] = f"influx1://127.0.0.1:{influxdb.port}/bohsense_{uuid.uuid4().hex[:8]}"
    cloud[f"{PREFIX}API_PORT"] = str(api_port)
    cloud[f"{PREFIX}CLIENT_ID"] = f"{cloud[f'{PREFIX}CLIENT_ID']}-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "cloud.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["sh", str(ENTRYPOINT), *dockerfile_exec("CMD")],
            env=entrypoint_env(cloud, local), stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        ready = None
        while time.monotonic() < deadline and proc.poll() is None:
            ready = healthcheck(api_port, "/api/v1/readyz")
            if ready.returncode == 0:
                break
            time.sleep(0.5)
        assert proc.poll() is None, log.read_text()
        assert ready is not None
        assert ready.returncode == 0, f"{ready.stderr}\n{log.read_text()}"
        # the image's HEALTHCHECK command, word for word (its script from the repository)
        alive = healthcheck(api_port, *image_healthcheck()[2:])
        assert alive.returncode == 0, alive.stderr
        # Prometheus' scrape of the cloud, with the token file it is given
        scrape = yaml.safe_load((COMPOSE_DIR / "prometheus" / "prometheus.yml").read_text())[
            "scrape_configs"
        ][0]
        token_file = scrape["authorization"]["credentials_file"].replace("/run/secrets/", f"{generated}/")
        url = f"http://127.0.0.1:{api_port}{scrape['metrics_path']}"
        request = urllib.request.Request(
            url, headers={"Authorization": f"Bearer {Path(token_file).read_text().strip()}"}
        )
        with urllib.request.urlopen(request, timeout=10) as resp:
            assert resp.status == 200
            assert b"bohsense_cloud_ingest_subscribed 1.0" in resp.read()
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url, timeout=10)
        assert refused.value.code == 401
    finally:
        proc.terminate()
        try:
            code = proc.wait(timeout=20)  # compose's stop_grace_period
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
            pytest.fail(f"the cloud did not stop within 20 s of SIGTERM\n{log.read_text()}")
    assert code == 0, log.read_text()
    text = log.read_text()
    for secret in ("cloud_api_token",):
        assert (local / secret).read_text().strip() not in text
    assert broker.split(":")[2].split("@")[0] not in text  # the broker password


def test_the_images_settings_and_port_agree_with_the_stack_and_the_manifests(compose: dict[str, Any]) -> None:
    env: dict[str, str] = {}
    for keyword, rest in dockerfile_instructions():
        if keyword == "ENV":
            env.update(word.split("=", 1) for word in shlex.split(rest))
    for name in (n for n in env if n.startswith(PREFIX)):
        assert name.removeprefix(PREFIX).lower() in SETTINGS, f"the image sets {name}, which names no setting"
    (exposed,) = [rest for keyword, rest in dockerfile_instructions() if keyword == "EXPOSE"]
    port = env[f"{PREFIX}API_PORT"]
    assert exposed == port
    assert compose["services"]["cloud"]["ports"] == [f"127.0.0.1:{port}:{port}"]
    (config,) = by_kind("ConfigMap")
    assert config["data"][f"{PREFIX}API_PORT"] == port
    (deployment,) = by_kind("Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert [p["containerPort"] for p in container["ports"]] == [int(port)]
    assert env["PATH"].startswith("/opt/bohsense/bin:")
