"""The gateway's Debian package (scripts/build-deb, docs/packaging.md).

By default: the .deb is built and read back with ``dpkg-deb`` (control fields, maintainer
scripts, the unit and the conffile, only the gateway's wheels, each hash-pinned). Behind
``-m long``: a fresh Debian 12 chroot installs it with dpkg and apt, the gateway runs as
its unit runs it and connects to a real Mosquitto over TLS, and an upgrade to a higher
version keeps the outbox and its unsent batches.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shlex
import shutil
import signal
import sqlite3
import ssl
import subprocess
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bohsense.contracts.codec import read_batch_identity
from tests.support.services import free_port, wait_port
from tests.support.workspace import ROOT

BUILD = ROOT / "scripts" / "build-deb"
UNIT = ROOT / "deploy" / "bohsense-edge.service"
GATEWAY_WHEELS = {"bohsense_edge", "bohsense_contracts", "bohsense_firmware_bridge", "bohsense_llrp"}
# distributions the gateway must never carry: the cloud side and its heavy dependencies
CLOUD_ONLY = {
    "bohsense_cloud", "bohsense_models", "bohsense_simulators", "bohsense_demo", "bohsense_bench",
    "fastapi", "starlette", "uvicorn", "sqlalchemy", "alembic", "psycopg", "influxdb_client",
    "scikit_learn", "scipy", "pandas", "dask", "distributed", "aiomqtt", "sllurp",
}  # fmt: skip


def build_deb(out: Path, *args: str) -> Path:
    done = subprocess.run(
        [str(BUILD), "--out", str(out), *args], capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr
    deb = Path(done.stdout.strip().splitlines()[-1])
    assert deb.is_file(), done.stdout
    return deb


def dpkg_deb(*args: str) -> str:
    done = subprocess.run(["dpkg-deb", *args], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def control(deb: Path) -> dict[str, str]:
    fields: dict[str, str] = {}
    key = ""
    for line in dpkg_deb("-f", str(deb)).splitlines():
        if line.startswith(" ") and key:
            fields[key] += "\n" + line
        else:
            key, _, value = line.partition(": ")
            fields[key] = value
    return fields


@pytest.fixture(scope="module")
def deb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("dpkg-deb") is None:
        pytest.fail("dpkg-deb is not installed (Debian package dpkg): cannot build the gateway package")
    return build_deb(tmp_path_factory.mktemp("deb"), "--version", "0.1.0-1")


def test_control_names_the_package_its_architecture_and_the_python_it_needs(deb: Path) -> None:
    host = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True)
    assert deb.name == f"bohsense-gateway_0.1.0-1_{host.stdout.strip()}.deb"
    fields = control(deb)
    assert fields["Package"] == "bohsense-gateway"
    assert fields["Version"] == "0.1.0-1"
    assert fields["Architecture"] == host.stdout.strip()
    depends = [d.strip() for d in fields["Depends"].split(",")]
    assert {"python3 (>= 3.11)", "python3 (<< 3.12)", "python3-venv", "adduser"} <= set(depends)
    assert re.fullmatch(r".+ <[^@\s]+@[^@\s]+>", fields["Maintainer"]), fields["Maintainer"]
    assert int(fields["Installed-Size"]) > 1000  # kB: the wheels are in it
    assert fields["Description"].startswith("bohsense store gateway")


def test_maintainer_scripts_are_there_executable_and_parse(deb: Path, tmp_path: Path) -> None:
    dpkg_deb("-e", str(deb), str(tmp_path / "DEBIAN"))
    for name in ("postinst", "prerm", "postrm"):
        script = tmp_path / "DEBIAN" / name
        assert script.stat().st_mode & 0o111, f"{name} is not executable"
        assert script.read_text().startswith("#!/bin/sh\n")
        assert "@" not in re.sub(r"\S+@\S+\.invalid", "", script.read_text()), (
            f"{name}: a placeholder is left"
        )
        check = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True, check=False)
        assert check.returncode == 0, f"{name}: {check.stderr}"
    assert (tmp_path / "DEBIAN" / "conffiles").read_text().split() == ["/etc/bohsense/gateway.toml"]
    postinst = (tmp_path / "DEBIAN" / "postinst").read_text()
    # the venv is made with the target's interpreter and filled from the bundled wheels only
    assert "/usr/bin/python3 -m venv" in postinst
    assert "--no-index --find-links" in postinst
    assert "--require-hashes" in postinst
    # the state directory is the unit's StateDirectory, made once and never touched again
    state = re.search(r"^StateDirectory=(\S+)", UNIT.read_text(), re.M)
    assert state, "the unit names no StateDirectory"
    assert f"STATE_DIR=/var/lib/{state.group(1)}\n" in postinst
    assert 'if [ ! -d "$STATE_DIR" ]; then' in postinst
    postrm = (tmp_path / "DEBIAN" / "postrm").read_text()
    purge = postrm.split("    purge)")[1].split(";;")[0]
    remove = postrm.split("    remove)")[1].split(";;")[0]
    assert '"$STATE_DIR"' in purge
    assert "STATE_DIR" not in remove


def test_contents_are_the_unit_the_conffile_and_only_the_gateways_wheels(deb: Path, tmp_path: Path) -> None:
    listing = dpkg_deb("-c", str(deb))
    paths = {line.split()[5].removeprefix(".") for line in listing.splitlines()}
    assert "/lib/systemd/system/bohsense-edge.service" in paths
    assert "/etc/bohsense/gateway.toml" in paths
    assert "/usr/share/doc/bohsense-gateway/copyright" in paths
    assert "/usr/bin/bohsense" in paths
    assert not any(p.startswith(("/var/lib", "/opt")) for p in paths), "state and venv are made by postinst"
    root = tmp_path / "root"
    dpkg_deb("-x", str(deb), str(root))
    # the unit and the example config exactly as in this checkout
    assert (root / "lib/systemd/system/bohsense-edge.service").read_bytes() == UNIT.read_bytes()
    example = ROOT / "deploy" / "gateway.example.toml"
    assert (root / "etc/bohsense/gateway.toml").read_bytes() == example.read_bytes()
    wheels = root / "usr/lib/bohsense-gateway/wheels"
    names = {w.name.split("-")[0].lower() for w in wheels.glob("*.whl")}
    assert names >= GATEWAY_WHEELS, names
    assert {"msgspec", "numpy", "paho_mqtt", "pyserial", "prometheus_client"} <= names, names
    assert not names & CLOUD_ONLY, names & CLOUD_ONLY
    # every bundled wheel is pinned by its hash, and nothing pinned is missing
    pinned = (wheels / "requirements.txt").read_text()
    for wheel in wheels.glob("*.whl"):
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        assert f"--hash=sha256:{digest}" in pinned, f"{wheel.name} is not pinned by its hash"
        assert zipfile.is_zipfile(wheel), wheel.name
    for requirement in re.findall(r"^([A-Za-z0-9_.-]+)==", pinned, re.M):
        key = requirement.lower().replace("-", "_")
        assert key in names, f"{requirement} is pinned but not bundled"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--arch", "mips"], "unsupported architecture 'mips'"),
        (["--version", "one"], "is not a version"),
        (["--python", "3"], "is not like 3.11"),
        (["--frobnicate"], "unknown argument: --frobnicate"),
    ],
)
def test_bad_arguments_are_refused_with_the_reason(args: list[str], message: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [str(BUILD), "--out", str(tmp_path), *args], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode != 0
    assert message in done.stderr, done.stderr
    assert not list(tmp_path.glob("*.deb"))


# ------------------------------------------------------------------ the long run


CACHE = Path(os.environ.get("BOHSENSE_DEB_CACHE", "/var/tmp/bohsense-deb"))
MIRROR = os.environ.get("BOHSENSE_DEB_MIRROR", "http://deb.debian.org/debian")
CHROOT_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "DEBIAN_FRONTEND": "noninteractive",
    "LANG": "C.UTF-8",
    "HOME": "/root",
}


def bookworm_tarball() -> Path:
    """A minimal Debian 12 root, made once with debootstrap and kept as a tarball."""
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True)
    tarball = CACHE / f"bookworm-{arch.stdout.strip()}-minbase.tar.gz"
    if tarball.is_file():
        return tarball
    tool = shutil.which("debootstrap") or (
        "/usr/sbin/debootstrap" if Path("/usr/sbin/debootstrap").exists() else None
    )
    if tool is None:
        pytest.fail("debootstrap is not installed: apt-get install -y debootstrap")
    CACHE.mkdir(parents=True, exist_ok=True)
    work = CACHE / f"{tarball.name}.work"
    shutil.rmtree(work, ignore_errors=True)
    done = subprocess.run(
        [tool, "--variant=minbase", "bookworm", str(work), MIRROR],
        capture_output=True, text=True, timeout=1200, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"debootstrap failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    partial = tarball.with_suffix(".partial")
    subprocess.run(
        ["tar", "-C", str(work), "--numeric-owner", "-czf", str(partial), "."], check=True, timeout=600
    )
    partial.rename(tarball)
    shutil.rmtree(work, ignore_errors=True)
    return tarball


@contextlib.contextmanager
def chroot_from(tarball: Path, root: Path) -> Iterator[Path]:
    root.mkdir()
    subprocess.run(
        ["tar", "-C", str(root), "--numeric-owner", "-xpzf", str(tarball)], check=True, timeout=600
    )
    shutil.copy("/etc/resolv.conf", root / "etc" / "resolv.conf")
    mounted = []
    for what, args in (("proc", ["-t", "proc", "proc"]), ("dev/pts", ["-t", "devpts", "devpts"])):
        target = root / what
        target.mkdir(parents=True, exist_ok=True)
        if subprocess.run(["mount", *args, str(target)], capture_output=True, check=False).returncode == 0:
            mounted.append(target)
    try:
        yield root
    finally:
        for target in reversed(mounted):
            subprocess.run(["umount", "-l", str(target)], capture_output=True, check=False)
        # ~400 MB each: removed once nothing is mounted inside any more
        if str(root) not in Path("/proc/mounts").read_text():
            shutil.rmtree(root, ignore_errors=True)


def in_root(root: Path, command: str, *, timeout: float = 600, check: bool = True) -> str:
    done = subprocess.run(
        ["chroot", str(root), "/bin/sh", "-c", command],
        capture_output=True, text=True, timeout=timeout, env=CHROOT_ENV, check=False,
    )  # fmt: skip
    if check:
        assert done.returncode == 0, f"{command}\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done.stdout + done.stderr


def make_certificates(folder: Path, *clients: str) -> dict[str, Path]:
    """A test CA, a broker certificate for 127.0.0.1 and localhost, and a client
    certificate (CN = the name) for each of ``clients``."""
    folder.mkdir()
    ca_key, ca = folder / "ca.key", folder / "ca.pem"

    def openssl(*args: object) -> None:
        subprocess.run(["openssl", *map(str, args)], capture_output=True, check=True, timeout=60)

    def issue(name: str, cn: str, ext: str) -> None:
        (folder / f"{name}.ext").write_text(ext)
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", folder / f"{name}.key",
                "-out", folder / f"{name}.csr", "-subj", f"/CN={cn}")  # fmt: skip
        openssl("x509", "-req", "-in", folder / f"{name}.csr", "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
                "-out", folder / f"{name}.pem", "-days", "2", "-extfile", folder / f"{name}.ext")  # fmt: skip

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca, "-days", "2",
            "-subj", "/CN=bohsense test CA")  # fmt: skip
    issue("broker", "127.0.0.1", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    out = {"ca": ca, "cert": folder / "broker.pem", "key": folder / "broker.key"}
    for client in clients:
        issue(client, client, "extendedKeyUsage=clientAuth\n")
        out[f"{client}.pem"], out[f"{client}.key"] = folder / f"{client}.pem", folder / f"{client}.key"
    return out


@contextlib.contextmanager
def tls_mosquitto(workdir: Path, certs: dict[str, Path]) -> Iterator[int]:
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(exe).exists():
        pytest.fail("mosquitto is not installed: apt-get install -y mosquitto (scripts/system-deps)")
    port = free_port()
    workdir.mkdir()
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\n"
        f"cafile {certs['ca']}\ncertfile {certs['cert']}\nkeyfile {certs['key']}\n"
        # client certificates required; the certificate's CN is the MQTT username
        "require_certificate true\nuse_identity_as_username true\n"
        "tls_version tlsv1.2\npersistence false\nmax_queued_messages 10000\n"
        "log_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\n"
        f"user {os.environ.get('USER', 'root')}\n"
    )
    log = (workdir / "mosquitto.log").open("wb")
    proc = subprocess.Popen([exe, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_port(port, proc)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


class Watcher:
    """A TLS subscriber on the gateway's topics: what the broker got from it."""

    def __init__(self, port: int, certs: dict[str, Path], gateway: str) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.topics: list[str] = []
        self.seqs: list[int] = []  # of every batch, in arrival order
        self.status: list[bytes] = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="deb-test-watcher")
        self.client.tls_set(
            ca_certs=str(certs["ca"]),
            certfile=str(certs["watcher.pem"]),
            keyfile=str(certs["watcher.key"]),
            cert_reqs=ssl.CERT_REQUIRED,
        )
        self.client.on_message = self._message
        self.client.on_connect = lambda c, *_: c.subscribe(f"bohsense/v1/gw/{gateway}/#", qos=1)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _message(self, _c: object, _u: object, msg: object) -> None:
        with self.lock:
            self.topics.append(msg.topic)  # type: ignore[attr-defined]
            if msg.topic.endswith("/status"):  # type: ignore[attr-defined]
                self.status.append(msg.payload)  # type: ignore[attr-defined]
            if msg.topic.endswith("/readings"):  # type: ignore[attr-defined]
                identity = read_batch_identity(msg.payload)  # type: ignore[attr-defined]
                assert identity is not None, "a batch without (gateway, seq)"
                self.seqs.append(identity[1])

    def seqs_from(self, start: int) -> set[int]:
        with self.lock:
            return set(self.seqs[start:])

    def count(self, suffix: str) -> int:
        with self.lock:
            return sum(t.endswith(suffix) for t in self.topics)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def connects_without_certificate(port: int, ca: Path) -> bool:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="deb-test-no-certificate")
    client.tls_set(ca_certs=str(ca), cert_reqs=ssl.CERT_REQUIRED)
    try:
        client.connect("127.0.0.1", port)
        client.loop_start()
        time.sleep(1.0)
        return client.is_connected()
    except (OSError, ssl.SSLError):
        return False
    finally:
        client.loop_stop()
        client.disconnect()


def unit_text(root: Path) -> str:
    return (root / "lib/systemd/system/bohsense-edge.service").read_text()


def unit_command(root: Path) -> tuple[str, str, str, str]:
    """The installed unit's user, working directory, ExecStartPre and ExecStart."""
    text = unit_text(root)

    def one(key: str) -> str:
        found = re.search(rf"^{key}=(.+)$", text, re.M)
        assert found, f"the unit has no {key}="
        return found.group(1).strip()

    return one("User"), one("WorkingDirectory"), one("ExecStartPre"), one("ExecStart")


def run_as_unit(root: Path, command: str, user: str, workdir: str) -> subprocess.Popen[str]:
    env = {**CHROOT_ENV, "HOME": workdir, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        ["chroot", f"--userspec={user}:{user}", str(root), "/bin/sh", "-c", f"cd {shlex.quote(workdir)} && exec {command}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )  # fmt: skip


def outbox_rows(path: Path) -> list[int]:
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        return [row[0] for row in db.execute("SELECT seq FROM entries ORDER BY seq")]


def wait_for(what: str, predicate: object, timeout: float, proc: subprocess.Popen[str] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        if proc is not None and proc.poll() is not None:
            pytest.fail(
                f"the gateway exited ({proc.returncode}) before {what}:\n{proc.stdout.read()[-3000:]}"
            )  # type: ignore[union-attr]
        time.sleep(0.2)
    pytest.fail(f"no {what} within {timeout} s")


def stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, f"the gateway exited {proc.returncode} on SIGTERM:\n{out[-3000:]}"
    return out


@pytest.mark.long
@pytest.mark.timeout(1800)
def test_a_fresh_bookworm_installs_runs_and_upgrades_keeping_the_outbox(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.fail("the chroot test needs root (chroot, dpkg inside it)")
    started = time.monotonic()
    first = build_deb(tmp_path / "v1", "--version", "0.1.0-1")
    second = build_deb(tmp_path / "v2", "--version", "0.1.1-1")
    built = time.monotonic()
    tarball = bookworm_tarball()
    gateway = "store-deb-test"
    with chroot_from(tarball, tmp_path / "root") as root:
        shutil.copy(first, root / "tmp" / first.name)
        # dpkg alone stops at the missing dependencies; apt then brings them and configures
        unpacked = time.monotonic()
        in_root(root, f"dpkg -i /tmp/{first.name}", check=False)
        in_root(root, "apt-get update -qq && apt-get -f install -y -qq", timeout=900)
        installed = time.monotonic()
        venv_kib = int(in_root(root, "du -sk /opt/bohsense-gateway").split()[0])
        status = in_root(root, "dpkg-query -W -f='${Status} ${Version}' bohsense-gateway")
        assert status == "install ok installed 0.1.0-1", status
        # what postinst made
        assert in_root(root, "getent passwd bohsense").split(":")[5] == "/var/lib/bohsense-edge"
        assert "dialout" in in_root(root, "id -nG bohsense")
        user, workdir, pre, start = unit_command(root)
        assert user == "bohsense"
        assert in_root(root, f"stat -c '%U %a' {workdir}").strip() == "bohsense 750"
        assert in_root(root, "stat -c '%U %G %a' /var/log/bohsense").strip() == "bohsense adm 2750"
        assert in_root(root, "stat -c '%U %G %a' /etc/bohsense/gateway.toml").strip() == "root bohsense 640"
        assert re.fullmatch(
            r"/opt/bohsense-gateway/venv-0\.1\.0-\d{14}", in_root(root, "readlink /opt/bohsense").strip()
        )
        assert (root / "etc/systemd/system/multi-user.target.wants/bohsense-edge.service").is_symlink()
        assert (
            in_root(root, "/opt/bohsense/bin/python -c 'import sys; print(sys.base_prefix)'").strip()
            == "/usr"
        )
        # the venv holds the gateway and none of the cloud
        frozen = in_root(
            root, "/opt/bohsense/bin/python -m pip list --format=freeze --disable-pip-version-check"
        )
        names = {line.split("==")[0].lower().replace("-", "_") for line in frozen.split()}
        assert names >= GATEWAY_WHEELS, names
        assert not names & CLOUD_ONLY, names
        # the shipped example config is refused until it is completed (exit 2: no restart loop)
        check = subprocess.run(
            ["chroot", f"--userspec={user}:{user}", str(root), "/bin/sh", "-c", pre],
            capture_output=True, text=True, env=CHROOT_ENV, timeout=60, check=False,
        )  # fmt: skip
        # the unit's "do not restart" codes are the configuration errors
        no_restart = re.search(r"^RestartPreventExitStatus=(.+)$", unit_text(root), re.M)
        assert no_restart, "the unit names no RestartPreventExitStatus"
        assert str(check.returncode) in no_restart.group(1).split(), (check.returncode, check.stderr)
        assert "broker.password" in check.stderr, check.stderr

        certs = make_certificates(tmp_path / "certs", gateway, "watcher")
        shutil.copy(certs["ca"], root / "etc/bohsense/ca.pem")
        # the gateway's own certificate and key, readable by the gateway only
        for suffix in ("pem", "key"):
            shutil.copy(certs[f"{gateway}.{suffix}"], root / f"etc/bohsense/gateway.{suffix}")
            in_root(
                root,
                f"chown root:bohsense /etc/bohsense/gateway.{suffix} && chmod 0640 /etc/bohsense/gateway.{suffix}",
            )
        with tls_mosquitto(tmp_path / "broker", certs) as port:
            (root / "etc/bohsense/gateway.toml").write_text(
                f'gateway_id = "{gateway}"\nsite = "{gateway}"\nlog_format = "json"\nstatus_interval_s = 1\n'
                f'[broker]\nurl = "mqtts://127.0.0.1:{port}"\ntls_ca = "/etc/bohsense/ca.pem"\n'
                'tls_cert = "/etc/bohsense/gateway.pem"\ntls_key = "/etc/bohsense/gateway.key"\n'
                f'[outbox]\npath = "{workdir}/outbox.sqlite3"\n'
                '[batch]\nmax_readings = 10\nmax_delay_ms = 100\n'
                '[[devices]]\nname = "synthetic"\nkind = "synthetic"\ndevices = 2\nmetrics = ["temp_c"]\nrate_hz = 20.0\n'
            )  # fmt: skip
            check = subprocess.run(
                ["chroot", f"--userspec={user}:{user}", str(root), "/bin/sh", "-c", pre],
                capture_output=True, text=True, env=CHROOT_ENV, timeout=60, check=False,
            )  # fmt: skip
            assert check.returncode == 0, check.stdout + check.stderr
            assert not connects_without_certificate(port, certs["ca"]), (
                "a client without a certificate got in"
            )
            watcher = Watcher(port, certs, gateway)
            try:
                proc = run_as_unit(root, start, user, workdir)
                # connected over TLS: its status and its batches reach the broker (no cloud
                # acknowledges them, so every batch stays unsent in the outbox)
                wait_for("status over TLS", lambda: watcher.count("/status") > 0, 60, proc)
                wait_for("20 batches at the broker", lambda: watcher.count("/readings") >= 20, 60, proc)
                stop(proc)
                outbox = root / workdir.lstrip("/") / "outbox.sqlite3"
                before = outbox_rows(outbox)
                assert len(before) >= 20, len(before)
                stat_before = os.stat(outbox)

                # the upgrade: a higher version over the running install, config kept
                shutil.copy(second, root / "tmp" / second.name)
                upgrading = time.monotonic()
                in_root(root, f"dpkg -i --force-confold /tmp/{second.name}")
                upgraded = time.monotonic()
                status = in_root(root, "dpkg-query -W -f='${Status} ${Version}' bohsense-gateway")
                assert status == "install ok installed 0.1.1-1", status
                venv = in_root(root, "readlink /opt/bohsense").strip()
                assert re.fullmatch(r"/opt/bohsense-gateway/venv-0\.1\.1-\d{14}", venv), venv
                assert in_root(root, "ls /opt/bohsense-gateway").split() == [venv.rsplit("/", 1)[1]]
                assert f'gateway_id = "{gateway}"' in (root / "etc/bohsense/gateway.toml").read_text()
                after = outbox_rows(outbox)
                assert after == before, "the upgrade changed the outbox"
                assert os.stat(outbox).st_ino == stat_before.st_ino

                # the upgraded gateway carries on from the same outbox: it sends the old
                # unsent batches again (the cloud would drop repeats by seq), and new ones
                # follow them
                seen = len(watcher.seqs)
                proc = run_as_unit(root, start, user, workdir)
                wait_for(
                    "the old unsent batches and new ones after the upgrade",
                    lambda: watcher.seqs_from(seen) >= {*before, before[-1] + 10},
                    60,
                    proc,
                )
                stop(proc)
                later = outbox_rows(outbox)
                assert later[: len(before)] == before
                assert later[-1] > before[-1]
            finally:
                watcher.close()

        # remove keeps the outbox; purge removes it (the user stays)
        in_root(root, "dpkg -r bohsense-gateway")
        assert outbox.exists()
        assert not (root / "opt/bohsense").exists()
        in_root(root, "dpkg -P bohsense-gateway")
        assert not (root / workdir.lstrip("/")).exists()
        assert not (root / "var/log/bohsense").exists()
        assert in_root(root, "getent passwd bohsense", check=False).startswith("bohsense:")

    size_mib = first.stat().st_size / 2**20
    print(
        f"\ndeb: {first.name} {size_mib:.1f} MiB, venv {venv_kib / 1024:.0f} MiB; two builds {built - started:.0f} s, "
        f"chroot {unpacked - built:.0f} s, dpkg -i + apt-get -f install {installed - unpacked:.0f} s, "
        f"upgrade (dpkg -i) {upgraded - upgrading:.0f} s, total {time.monotonic() - started:.0f} s; "
        f"the upgrade kept {len(before)} unsent batches (seq {before[0]}..{before[-1]})"
    )
