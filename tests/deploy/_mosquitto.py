"""The shipped broker configuration (deploy/mosquitto/) on the real Mosquitto binary.

``DeployedBroker`` lays out what an operator installs, under a temporary directory: Debian's
main file (``debian-mosquitto.conf``, the package's /etc/mosquitto/mosquitto.conf
verbatim) with its paths moved under the directory, the shipped drop-ins in its
``conf.d``, with ``/etc/mosquitto/…`` paths and listener ports rewritten (every rewrite
must match, so a changed drop-in fails loudly here), a CA, a server certificate and
gateway client certificates made with the openssl CLI, and the password file and ACL made
by ``bohsense.cloud.broker``.
"""

from __future__ import annotations

import contextlib
import getpass
import queue
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from bohsense.bench.servers import free_port, require_binary, wait_port

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy" / "mosquitto"
DEBIAN_MAIN = Path(__file__).with_name("debian-mosquitto.conf")
#: md5 of Debian's /etc/mosquitto/mosquitto.conf in mosquitto 2.0.11 (dpkg's Conffiles)
DEBIAN_MAIN_MD5 = "9cdb6b0ea869818b4e3dc5ee610d1fb4"


def _rewrite(text: str, replacements: dict[str, str], what: str) -> str:
    for old, new in replacements.items():
        if old not in text:
            raise AssertionError(f"{what} no longer contains {old!r}: update tests/deploy/_mosquitto.py")
        text = text.replace(old, new)
    return text


def openssl(*args: str, cwd: Path) -> None:
    exe = require_binary("openssl", "openssl")
    subprocess.run([exe, *args], cwd=cwd, check=True, capture_output=True)


class Certificates:
    """A CA, a server certificate for 127.0.0.1 / localhost, and client certificates."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        directory.mkdir(parents=True, exist_ok=True)
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
                "-subj", "/CN=bohsense test CA", cwd=directory)  # fmt: skip
        self.ca = directory / "ca.crt"
        self.server_crt, self.server_key = self._issue("server", "localhost", server=True)

    def _issue(self, name: str, cn: str, *, server: bool = False) -> tuple[Path, Path]:
        d = self.dir
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}", cwd=d)
        ext = d / f"{name}.ext"
        ext.write_text(
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"
            if server
            else "extendedKeyUsage=clientAuth\n"
        )
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", "-extfile", ext.name,
                cwd=d)  # fmt: skip
        (d / f"{name}.key").chmod(0o600)
        return d / f"{name}.crt", d / f"{name}.key"

    def client(self, gateway: str) -> tuple[Path, Path]:
        """A client certificate whose CN is ``gateway``: (cert, key)."""
        return self._issue(f"client-{gateway}", gateway)


class DeployedBroker:
    """Debian's main file + the shipped drop-ins, on free ports, as the current user."""

    def __init__(self, workdir: Path, certs: Certificates, *, client_certs: bool = True) -> None:
        self.workdir = workdir
        self.certs = certs
        self.etc = workdir / "etc"
        self.passwd = self.etc / "bohsense" / "passwd"
        self.acl = self.etc / "bohsense" / "acl"
        self.tls_port, self.local_port, self.cert_port = free_port(), free_port(), free_port()
        self.client_certs = client_certs
        #: the gateways' passwords, as a test made them (gateway id -> password)
        self.passwords: dict[str, str] = {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = workdir / "mosquitto.log"
        self.main = self.etc / "mosquitto.conf"
        self._write_config()

    def _write_config(self) -> None:
        conf_d = self.etc / "conf.d"
        conf_d.mkdir(parents=True, exist_ok=True)
        (self.etc / "bohsense").mkdir(exist_ok=True)
        (self.workdir / "data").mkdir(exist_ok=True)
        main = _rewrite(
            DEBIAN_MAIN.read_text(),
            {
                "/run/mosquitto/mosquitto.pid": str(self.workdir / "mosquitto.pid"),
                "/var/lib/mosquitto/": f"{self.workdir / 'data'}/",
                "/var/log/mosquitto/mosquitto.log": str(self.log),
                "/etc/mosquitto/conf.d": str(conf_d),
            },
            "Debian's main file",
        )
        # run as whoever runs the test (as root, Mosquitto would switch to 'mosquitto',
        # which cannot read the test's files); the only line not from the shipped files
        main += f"\nuser {getpass.getuser()}\n"
        self.main.write_text(main)
        paths = {
            "/etc/mosquitto/certs/bohsense.crt": str(self.certs.server_crt),
            "/etc/mosquitto/certs/bohsense.key": str(self.certs.server_key),
            "/etc/mosquitto/bohsense/passwd": str(self.passwd),
            "/etc/mosquitto/bohsense/acl": str(self.acl),
        }
        conf = _rewrite(
            (DEPLOY / "bohsense.conf").read_text(),
            {**paths, "listener 8883\n": f"listener {self.tls_port}\n",
             "listener 1883 127.0.0.1\n": f"listener {self.local_port} 127.0.0.1\n"},
            "deploy/mosquitto/bohsense.conf",
        )  # fmt: skip
        (conf_d / "bohsense.conf").write_text(conf)
        if self.client_certs:
            conf = _rewrite(
                (DEPLOY / "bohsense.mtls.conf").read_text(),
                {
                    "/etc/mosquitto/certs/bohsense.crt": str(self.certs.server_crt),
                    "/etc/mosquitto/certs/bohsense.key": str(self.certs.server_key),
                    "/etc/mosquitto/bohsense/clients-ca.crt": str(self.certs.ca),
                    "listener 8884\n": f"listener {self.cert_port}\n",
                },
                "deploy/mosquitto/bohsense.mtls.conf",
            )
            (conf_d / "bohsense.mtls.conf").write_text(conf)

    def start(self) -> DeployedBroker:
        exe = require_binary("mosquitto", "mosquitto")
        with open(self.workdir / "mosquitto.out", "ab") as out:
            self.proc = subprocess.Popen([exe, "-c", str(self.main)], stdout=out, stderr=out)
        try:
            wait_port(self.tls_port, self.proc, timeout=15)
            wait_port(self.local_port, self.proc, timeout=15)
            if self.client_certs:
                wait_port(self.cert_port, self.proc, timeout=15)
        except Exception as exc:
            raise AssertionError(f"mosquitto did not start: {exc}\n{self.output()}") from exc
        return self

    def output(self) -> str:
        parts = []
        for p in (self.workdir / "mosquitto.out", self.log):
            if p.exists():
                parts.append(p.read_text(errors="replace"))
        return "\n".join(parts)

    def reload(self) -> None:
        """SIGHUP, as `systemctl reload mosquitto` does; wait until the broker logged it."""
        assert self.proc is not None
        before = self.output().count("Reloading config")
        self.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while self.output().count("Reloading config") <= before:
            if time.monotonic() > deadline:
                raise AssertionError(f"mosquitto did not log a reload:\n{self.output()}")
            time.sleep(0.05)
        time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None


class Peer:
    """An MQTT client of the deployed broker that records what it receives and its
    CONNACK / SUBACK / PUBACK reason codes (MQTT 5 by default: a denied publish gets a
    failure PUBACK rather than silence)."""

    def __init__(
        self,
        port: int,
        *,
        user: str | None = None,
        password: str | None = None,
        ca: Path | None = None,
        cert: tuple[Path, Path] | None = None,
        protocol: int = 5,
        client_id: str | None = None,
        clean_session: bool = True,
    ) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.name = user or (cert[0].stem if cert else "anonymous")
        self.received: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.suback: queue.Queue[list[Any]] = queue.Queue()
        self.puback: queue.Queue[Any] = queue.Queue()
        self.connack: queue.Queue[Any] = queue.Queue()
        self.disconnected = threading.Event()
        c = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"{self.name}-{uuid.uuid4().hex[:6]}",
            protocol=mqtt.MQTTv5 if protocol == 5 else mqtt.MQTTv311,
            clean_session=None if protocol == 5 else clean_session,
        )
        if user is not None:
            c.username_pw_set(user, password)
        if ca is not None:
            c.tls_set(
                ca_certs=str(ca),
                certfile=str(cert[0]) if cert else None,
                keyfile=str(cert[1]) if cert else None,
            )
        c.on_connect = lambda _c, _u, _f, code, _p: self.connack.put(code)
        c.on_disconnect = lambda *_a: self.disconnected.set()
        c.on_message = lambda _c, _u, m: self.received.put((m.topic, bytes(m.payload)))
        c.on_subscribe = lambda _c, _u, _mid, codes, _p: self.suback.put(list(codes))
        c.on_publish = lambda _c, _u, _mid, code, _p: self.puback.put(code)
        self.client = c
        self.port = port

    def connect(self, timeout: float = 10) -> bool:
        """Whether the broker accepted the login (False: refused or the handshake failed)."""
        try:
            self.client.connect("127.0.0.1", self.port)
        except OSError:
            return False
        self.client.loop_start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                return not self.connack.get(timeout=0.05).is_failure
            except queue.Empty:
                if self.disconnected.is_set():  # closed before any CONNACK
                    return False
        return False

    def subscribe(self, topic_filter: str) -> bool:
        self.client.subscribe(topic_filter, qos=1)
        codes = self.suback.get(timeout=10)
        return not codes[0].is_failure

    def publish(self, topic: str, *, retain: bool = False) -> tuple[bytes, bool]:
        """Publish a fresh payload at QoS 1: (payload, whether the broker accepted it)."""
        payload = uuid.uuid4().bytes
        self.client.publish(topic, payload, qos=1, retain=retain)
        code = self.puback.get(timeout=10)
        return payload, not getattr(code, "is_failure", False)

    def got(self, payload: bytes, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                if self.received.get(timeout=left)[1] == payload:
                    return True
            except queue.Empty:
                break
        return False

    def drain(self, seconds: float) -> set[bytes]:
        deadline = time.monotonic() + seconds
        out: set[bytes] = set()
        while (left := deadline - time.monotonic()) > 0:
            try:
                out.add(self.received.get(timeout=left)[1])
            except queue.Empty:
                break
        return out

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.disconnect()
        self.client.loop_stop()
