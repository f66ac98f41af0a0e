"""Three-node MQTT broker clusters on loopback, started by the tests themselves.

``RabbitCluster``: three RabbitMQ nodes (Debian ``rabbitmq-server``, its ``rabbitmq_mqtt``
plugin), each with its own node name, ports, Mnesia and log directories and
``enabled_plugins`` file in the test's temporary directory, one Erlang cookie (a ``HOME``
of the cluster's own holding ``.erlang.cookie``), joined with ``rabbitmqctl
join_cluster``. Persistent MQTT sessions are quorum queues (``mqtt.durable_queue_type``),
so a session outlives the node it was made on while two of three are up.

``NatsCluster``: three ``nats-server`` processes with cluster routes, JetStream (three
replicas, which the MQTT sessions and retained messages are stored in) and an MQTT
listener each.

A missing binary fails the test with the command that installs it; it is never a skip.
Every process is the cluster's own child and is ended by its pid.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.services import free_port, wait_port

__all__ = ["NatsCluster", "Node", "RabbitCluster", "require"]

RABBIT_BIN = Path("/usr/lib/rabbitmq/bin")


def require(binary: str, package: str, where: Path | None = None) -> str:
    """The path of ``binary`` (in ``where`` if given), or a failed test naming the package
    to install."""
    if where is not None:
        path = str(where / binary) if (where / binary).exists() else None
    else:
        path = shutil.which(binary) or (f"/usr/sbin/{binary}" if Path("/usr/sbin", binary).exists() else None)
    if path is None:
        pytest.fail(f"{binary} is not installed: run `apt-get install -y {package}`")
    return path


@dataclass
class Node:
    name: str
    mqtt_port: int
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    ports: dict[str, int] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.mqtt_port}"

    @property
    def url(self) -> str:
        return f"mqtt://{self.address}"

    def kill(self) -> None:
        """SIGKILL the node's process (its whole process group: the Erlang VM's helpers)."""
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def freeze(self) -> None:
        """SIGSTOP the node: it holds its connections open and answers nothing (a hung node)."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGSTOP)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def tail(self, n: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-n:] if self.log and self.log.exists() else ""


class RabbitCluster:
    """Three RabbitMQ nodes ``a``, ``b``, ``c`` joined into one cluster."""

    kind = "rabbitmq"

    def __init__(self, workdir: Path, size: int = 3) -> None:
        # the scripts themselves: /usr/sbin's wrappers switch to the rabbitmq user and its HOME
        self.server = require("rabbitmq-server", "rabbitmq-server", RABBIT_BIN)
        self.ctl = require("rabbitmqctl", "rabbitmq-server", RABBIT_BIN)
        self.workdir = workdir
        self.home = workdir / "home"
        tag = uuid.uuid4().hex[:6]
        self.nodes = [Node(f"bs{tag}{n}@localhost", free_port()) for n in "abc"[:size]]

    def _env(self, node: Node) -> dict[str, str]:
        d = self.workdir / node.name.split("@")[0]
        return {
            **os.environ,
            "HOME": str(self.home),  # .erlang.cookie: the cluster's one cookie
            "RABBITMQ_NODENAME": node.name,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(node.ports["amqp"]),
            "RABBITMQ_DIST_PORT": str(node.ports["dist"]),
            "RABBITMQ_MNESIA_BASE": str(d / "mnesia"),
            "RABBITMQ_LOG_BASE": str(d / "log"),
            "RABBITMQ_PID_FILE": str(d / "pid"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(d / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(d / "rabbitmq.conf"),
            "RABBITMQ_CONF_ENV_FILE": str(d / "rabbitmq-env.conf"),  # not /etc/rabbitmq's
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(d / "advanced.config"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }

    def _write(self, node: Node) -> None:
        d = self.workdir / node.name.split("@")[0]
        (d / "log").mkdir(parents=True, exist_ok=True)
        (d / "enabled_plugins").write_text("[rabbitmq_mqtt].\n")
        (d / "rabbitmq-env.conf").write_text("")
        (d / "advanced.config").write_text("[].\n")
        (d / "rabbitmq.conf").write_text(
            "\n".join(
                [
                    f"listeners.tcp.default = 127.0.0.1:{node.ports['amqp']}",
                    f"mqtt.listeners.tcp.default = 127.0.0.1:{node.mqtt_port}",
                    "mqtt.allow_anonymous = true",
                    # a persistent session is a quorum queue: replicated, it survives its node
                    "mqtt.durable_queue_type = quorum",
                    "mqtt.vhost = /",
                    "mqtt.exchange = amq.topic",
                    # a test's kills must not leave a node waiting for its peers at boot
                    "cluster_partition_handling = ignore",
                    "log.console = false",
                    "log.file.level = info",
                    "",
                ]
            )
        )

    def ctl_run(self, node: Node, *args: str, timeout: float = 120) -> str:
        r = subprocess.run(
            [self.ctl, "-n", node.name, *args],
            env=self._env(node),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if r.returncode != 0:
            raise AssertionError(
                f"rabbitmqctl {' '.join(args)} on {node.name} failed ({r.returncode}):"
                f" {r.stdout[-1500:]} {r.stderr[-1500:]}\n{node.tail()}"
            )
        return r.stdout

    def _booted(self, node: Node, limit_s: float = 120) -> None:
        """Wait until the node answers ``await_startup`` (which fails at once while the VM has
        not registered its name yet)."""
        deadline = time.monotonic() + limit_s
        while True:
            if not node.alive():
                raise AssertionError(f"RabbitMQ node {node.name} exited:\n{node.tail()}")
            try:
                self.ctl_run(node, "await_startup", "--timeout", "60", timeout=90)
                return
            except AssertionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def start(self) -> RabbitCluster:
        """Start and join the nodes; on any failure stop what was started, then raise."""
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> RabbitCluster:
        self.home.mkdir(parents=True, exist_ok=True)
        cookie = self.home / ".erlang.cookie"
        cookie.write_text(secrets.token_hex(16).upper())
        cookie.chmod(0o400)
        for node in self.nodes:
            node.ports = {"amqp": free_port(), "dist": free_port()}
            self._write(node)
            d = self.workdir / node.name.split("@")[0]
            node.log = d / "stdout.log"
            with open(node.log, "ab") as out:
                node.proc = subprocess.Popen(
                    [self.server],
                    env=self._env(node),
                    stdout=out,
                    stderr=out,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,  # one process group: the VM and its helpers
                )
        for node in self.nodes:
            self._booted(node)
        first = self.nodes[0]
        for node in self.nodes[1:]:
            self.ctl_run(node, "stop_app")
            self.ctl_run(node, "join_cluster", first.name)
            self.ctl_run(node, "start_app")
        for node in self.nodes:
            self.ctl_run(node, "await_startup", "--timeout", "120", timeout=150)
            wait_port(node.mqtt_port, node.proc, timeout=60)
        return self

    def stop(self) -> None:
        for node in self.nodes:
            if node.alive():
                assert node.proc is not None
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(node.proc.pid, signal.SIGCONT)  # a frozen node cannot take SIGTERM
                    os.killpg(node.proc.pid, signal.SIGTERM)
                try:
                    node.proc.wait(30)
                except subprocess.TimeoutExpired:
                    node.kill()


class NatsCluster:
    """Three ``nats-server`` processes ``a``, ``b``, ``c`` routed into one cluster with
    JetStream and an MQTT listener each."""

    kind = "nats"

    def __init__(self, workdir: Path, size: int = 3) -> None:
        self.server = require("nats-server", "nats-server")
        self.workdir = workdir
        tag = uuid.uuid4().hex[:6]
        self.nodes = [Node(f"bs{tag}{n}", free_port()) for n in "abc"[:size]]

    def start(self) -> NatsCluster:
        """Start the servers; on any failure stop what was started, then raise."""
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> NatsCluster:
        for node in self.nodes:
            node.ports = {"client": free_port(), "cluster": free_port()}
        routes = ", ".join(f"nats-route://127.0.0.1:{n.ports['cluster']}" for n in self.nodes)
        for node in self.nodes:
            d = self.workdir / node.name
            d.mkdir(parents=True, exist_ok=True)
            conf = d / "nats.conf"
            conf.write_text(
                f"""
server_name: {node.name}
listen: 127.0.0.1:{node.ports["client"]}
jetstream {{ store_dir: "{d / "js"}" }}
cluster {{
  name: bohsense-test
  listen: 127.0.0.1:{node.ports["cluster"]}
  routes: [{routes}]
}}
mqtt {{
  listen: 127.0.0.1:{node.mqtt_port}
  stream_replicas: 3
  ack_wait: "10s"
  max_ack_pending: 10000
}}
"""
            )
            node.log = d / "nats.log"
            with open(node.log, "ab") as out:
                node.proc = subprocess.Popen(
                    [self.server, "-c", str(conf)],
                    stdout=out,
                    stderr=out,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
        for node in self.nodes:
            wait_port(node.mqtt_port, node.proc, timeout=60)
        time.sleep(1)
        return self

    def stop(self) -> None:
        for node in self.nodes:
            if node.alive():
                assert node.proc is not None
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(node.proc.pid, signal.SIGCONT)  # a frozen node cannot take SIGTERM
                node.proc.send_signal(signal.SIGTERM)
                try:
                    node.proc.wait(30)
                except subprocess.TimeoutExpired:
                    node.kill()
