"""The shipped broker configuration on the real Mosquitto: the drop-ins under Debian's
main file, TLS, per-gateway logins, the generated ACL, client certificates, revocation
with a reload, and persistence (helpers in tests/deploy/_mosquitto.py)."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bohsense.bench.servers import require_binary
from bohsense.cloud.broker import create_gateway_identity, revoke_gateway_identity
from bohsense.contracts import topics
from tests.deploy._mosquitto import DEBIAN_MAIN, DEBIAN_MAIN_MD5, DEPLOY, Certificates, DeployedBroker, Peer

CLOUD_PW = "cloud-Passw0rd-for-tests"
GATEWAYS = ("store-1", "store-2")
UPLINK = [c for c in topics.CHANNELS if c.sender == "gateway"]
DOWNLINK = [c for c in topics.CHANNELS if c.sender == "cloud" and c.to_gateway]


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return Certificates(tmp_path_factory.mktemp("certs"))


class Fleet:
    def __init__(self, broker: DeployedBroker, passwords: dict[str, str]) -> None:
        self.broker, self.passwords = broker, passwords
        self.peers: list[Peer] = []

    def gateway(self, gw: str, *, password: str | None = None) -> Peer:
        """A gateway logged in over TLS with its password."""
        p = Peer(
            self.broker.tls_port,
            user=gw,
            password=self.passwords[gw] if password is None else password,
            ca=self.broker.certs.ca,
        )
        self.peers.append(p)
        return p

    def cloud(self) -> Peer:
        p = Peer(self.broker.local_port, user="bohsense-cloud", password=CLOUD_PW)
        self.peers.append(p)
        assert p.connect(), self.broker.output()
        return p

    def close(self) -> None:
        for p in self.peers:
            p.close()
        self.peers.clear()


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory, certs: Certificates) -> Iterator[DeployedBroker]:
    broker = DeployedBroker(tmp_path_factory.mktemp("broker"), certs)
    tool = require_binary("mosquitto_passwd", "mosquitto")
    broker.passwd.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([tool, "-c", "-b", str(broker.passwd), "bohsense-cloud", CLOUD_PW], check=True)
    broker.passwords = {
        gw: create_gateway_identity(gw, passwd_file=broker.passwd, acl_file=broker.acl).password
        for gw in GATEWAYS
    }
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def fleet(deployed: DeployedBroker) -> Iterator[Fleet]:
    f = Fleet(deployed, deployed.passwords)
    yield f
    f.close()


# -- the files -------------------------------------------------------------------------------


def test_the_main_file_used_is_debians_own() -> None:
    assert hashlib.md5(DEBIAN_MAIN.read_bytes()).hexdigest() == DEBIAN_MAIN_MD5
    if shutil.which("dpkg-query"):
        conffiles = subprocess.run(
            ["dpkg-query", "-W", "-f=${Conffiles}", "mosquitto"], capture_output=True, text=True
        ).stdout
        if "/etc/mosquitto/mosquitto.conf" in conffiles:  # this mosquitto is Debian's package
            assert f"/etc/mosquitto/mosquitto.conf {DEBIAN_MAIN_MD5}" in conffiles


def test_the_drop_ins_load_cleanly_under_debians_main_file(deployed: DeployedBroker) -> None:
    out = deployed.output()
    assert "Loading config file" in out
    assert "bohsense.conf" in out
    assert "bohsense.mtls.conf" in out
    assert "running" in out
    problems = [
        line
        for line in out.splitlines()
        if re.search(r"error|warning|duplicate", line, re.I)
        and "should not be run as root" not in line  # the test runs it as its own user
        and "unexpected eof" not in line  # the fixture's port probes
    ]
    assert not problems, out


def test_a_drop_in_repeating_the_main_files_settings_is_what_fails(
    tmp_path: Path, certs: Certificates
) -> None:
    # the reason the drop-in leaves persistence_location to the main file
    broker = DeployedBroker(tmp_path, certs, client_certs=False)
    conf_d = tmp_path / "etc" / "conf.d"
    (conf_d / "zz-repeat.conf").write_text(f"persistence_location {tmp_path}/other/\n")
    run = subprocess.run(
        [require_binary("mosquitto", "mosquitto"), "-c", str(broker.main)],
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert run.returncode != 0
    assert "Duplicate persistence_location" in run.stdout + run.stderr + broker.output()


def test_the_queue_limits_are_finite() -> None:
    conf = (DEPLOY / "bohsense.conf").read_text()
    values = dict(
        re.findall(r"^(max_queued_messages|max_queued_bytes|max_inflight_messages) (\d+)$", conf, re.M)
    )
    assert set(values) == {"max_queued_messages", "max_queued_bytes", "max_inflight_messages"}
    assert all(int(v) > 0 for v in values.values()), values


# -- gateways over TLS with their password ----------------------------------------------------


@pytest.mark.parametrize("gw", GATEWAYS)
def test_each_gateway_exchanges_its_own_channels_with_the_cloud(fleet: Fleet, gw: str) -> None:
    cloud, gateway = fleet.cloud(), fleet.gateway(gw)
    assert gateway.connect()
    for c in UPLINK:
        assert cloud.subscribe(topics.shared("ingest", c.wildcard))
    for c in DOWNLINK:
        assert gateway.subscribe(c.topic(gw))
    for c in UPLINK:
        payload, accepted = gateway.publish(c.topic(gw))
        assert accepted, c.kind
        assert cloud.got(payload, timeout=5), c.kind
    for c in DOWNLINK:
        payload, accepted = cloud.publish(c.topic(gw))
        assert accepted, c.kind
        assert gateway.got(payload, timeout=5), c.kind


def test_a_gateway_cannot_publish_or_read_under_another_gateways_id(fleet: Fleet) -> None:
    cloud, one, two = fleet.cloud(), fleet.gateway("store-1"), fleet.gateway("store-2")
    assert one.connect()
    assert two.connect()
    assert cloud.subscribe("bohsense/v1/gw/#")
    forged = []
    for c in UPLINK:  # cross-store publish: store-1 sends as store-2
        payload, accepted = one.publish(c.topic("store-2"))
        assert not accepted, c.kind
        forged.append(payload)
    for c in DOWNLINK:  # and it may not send what the cloud sends, not even its own
        for gw in GATEWAYS:
            payload, accepted = one.publish(c.topic(gw))
            assert not accepted, (c.kind, gw)
            forged.append(payload)
    for topic_filter in [c.topic("store-2") for c in topics.CHANNELS] + ["bohsense/#", "#"]:
        one.subscribe(topic_filter)  # Mosquitto checks read access per message
    sent = [cloud.publish(c.topic("store-2"))[0] for c in DOWNLINK]
    genuine = {two.publish(c.topic("store-2"))[0] for c in UPLINK}
    received_by_cloud = cloud.drain(1.0)
    assert genuine <= received_by_cloud  # store-2's own messages arrive
    assert not received_by_cloud & set(forged)  # store-1's forgeries do not
    assert not one.drain(0.3) & (set(sent) | genuine)


def test_the_cloud_user_cannot_speak_for_a_gateway(fleet: Fleet) -> None:
    cloud = fleet.cloud()
    for c in UPLINK:
        assert not cloud.publish(c.topic("store-1"))[1], c.kind
    assert not cloud.publish("other/topic")[1]


@pytest.mark.parametrize(
    ("user", "password"),
    [
        ("store-1", "not-the-password-123"),
        ("store-1", None),
        ("store-9", "whatever-password-123"),
        (None, None),
    ],
    ids=["wrong-password", "no-password", "unknown-gateway", "anonymous"],
)
def test_a_bad_login_is_refused(deployed: DeployedBroker, user: str | None, password: str | None) -> None:
    p = Peer(deployed.tls_port, user=user, password=password, ca=deployed.certs.ca)
    try:
        assert not p.connect(timeout=5)
    finally:
        p.close()


def test_plain_mqtt_is_not_accepted_on_the_tls_listener(deployed: DeployedBroker) -> None:
    p = Peer(deployed.tls_port, user="store-1", password=deployed.passwords["store-1"])
    try:
        assert not p.connect(timeout=3)
    finally:
        p.close()


def test_a_revoked_gateway_is_disconnected_and_refused_after_a_reload(
    fleet: Fleet, deployed: DeployedBroker
) -> None:
    creds = create_gateway_identity("store-3", passwd_file=deployed.passwd, acl_file=deployed.acl)
    fleet.passwords["store-3"] = creds.password
    new = fleet.gateway("store-3")
    assert not new.connect(timeout=3)  # not before the broker reloads
    deployed.reload()
    live = fleet.gateway("store-3")
    assert live.connect()
    assert live.publish(topics.readings_topic("store-3"))[1]
    revoke_gateway_identity("store-3", passwd_file=deployed.passwd, acl_file=deployed.acl)
    deployed.reload()
    assert live.disconnected.wait(5), "the revoked gateway's connection stayed open"
    again = fleet.gateway("store-3")
    assert not again.connect(timeout=5)
    assert fleet.gateway("store-1").connect()  # the others are not affected


# -- client certificates ---------------------------------------------------------------------


def test_a_gateway_logs_in_with_its_client_certificate(fleet: Fleet, deployed: DeployedBroker) -> None:
    cloud = fleet.cloud()
    assert cloud.subscribe("bohsense/v1/gw/#")
    p = Peer(deployed.cert_port, ca=deployed.certs.ca, cert=deployed.certs.client("store-1"))
    fleet.peers.append(p)
    assert p.connect(), deployed.output()
    payload, accepted = p.publish(topics.readings_topic("store-1"))
    assert accepted
    assert cloud.got(payload, timeout=5)
    forged, accepted = p.publish(topics.readings_topic("store-2"))
    assert not accepted
    assert forged not in cloud.drain(0.5)


def test_the_certificate_listener_refuses_no_certificate_or_a_foreign_ca(
    deployed: DeployedBroker, tmp_path: Path
) -> None:
    foreign = Certificates(tmp_path / "foreign")
    cases = [
        Peer(
            deployed.cert_port, user="store-1", password=deployed.passwords["store-1"], ca=deployed.certs.ca
        ),
        Peer(deployed.cert_port, ca=deployed.certs.ca, cert=foreign.client("store-1")),
    ]
    for p in cases:
        try:
            assert not p.connect(timeout=3)
        finally:
            p.close()


def test_a_revoked_certificate_gateway_can_do_nothing_after_a_reload(
    fleet: Fleet, deployed: DeployedBroker
) -> None:
    create_gateway_identity("store-4", passwd_file=deployed.passwd, acl_file=deployed.acl)
    deployed.reload()
    cert = deployed.certs.client("store-4")
    p = Peer(deployed.cert_port, ca=deployed.certs.ca, cert=cert)
    fleet.peers.append(p)
    assert p.connect()
    assert p.publish(topics.readings_topic("store-4"))[1]
    revoke_gateway_identity("store-4", passwd_file=deployed.passwd, acl_file=deployed.acl)
    deployed.reload()
    q = Peer(deployed.cert_port, ca=deployed.certs.ca, cert=cert)
    fleet.peers.append(q)
    # without a CRL the handshake still succeeds (docs/deploy.md), but nothing is granted
    assert q.connect(timeout=5)
    assert not q.publish(topics.readings_topic("store-4"))[1]
    assert not q.publish(topics.status_topic("store-4"))[1]
    assert not p.publish(topics.readings_topic("store-4"))[1]  # nor on its open connection


# -- persistence -----------------------------------------------------------------------------


def test_sessions_and_queued_messages_survive_a_broker_restart(tmp_path: Path, certs: Certificates) -> None:
    broker = DeployedBroker(tmp_path, certs, client_certs=False)
    tool = require_binary("mosquitto_passwd", "mosquitto")
    broker.passwd.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([tool, "-c", "-b", str(broker.passwd), "bohsense-cloud", CLOUD_PW], check=True)
    gw = create_gateway_identity("store-1", passwd_file=broker.passwd, acl_file=broker.acl)
    broker.start()
    peers: list[Peer] = []
    try:
        cloud = Peer(broker.local_port, user="bohsense-cloud", password=CLOUD_PW, client_id="ingest-1", protocol=4,
                     clean_session=False)  # fmt: skip
        peers.append(cloud)
        assert cloud.connect()
        assert cloud.subscribe(topics.ALL_READINGS)
        cloud.close()
        gateway = Peer(broker.tls_port, user="store-1", password=gw.password, ca=certs.ca)
        peers.append(gateway)
        assert gateway.connect()
        sent = {gateway.publish(topics.readings_topic("store-1"))[0] for _ in range(5)}
        retained, _ = gateway.publish(topics.status_topic("store-1"), retain=True)
        gateway.close()
        broker.stop()  # SIGTERM: Mosquitto saves its database
        broker.start()
        again = Peer(broker.local_port, user="bohsense-cloud", password=CLOUD_PW, client_id="ingest-1", protocol=4,
                     clean_session=False)  # fmt: skip
        peers.append(again)
        assert again.connect()
        assert again.drain(2.0) >= sent
        assert again.subscribe(topics.ALL_STATUS)
        assert again.got(retained, timeout=5)
    finally:
        for p in peers:
            p.close()
        broker.stop()


async def test_the_gateways_mqtt5_transport_logs_a_publish_the_acl_refuses(
    deployed: DeployedBroker, caplog: pytest.LogCaptureFixture
) -> None:
    import asyncio

    from bohsense.edge.transport import PahoTransport
    from tests.edge.test_transport import Recorder

    password = deployed.passwords["store-1"]
    transport = PahoTransport(
        client_id="store-1-transport", host="localhost", port=deployed.tls_port, keepalive=10,
        will_topic=topics.status_topic("store-1"), will=lambda: (b"lost", 0), username="store-1",
        password=password, tls=True, tls_ca=str(deployed.certs.ca), protocol="5",
    )  # fmt: skip
    events = Recorder()
    transport.start(events, asyncio.get_running_loop())
    try:
        for _ in range(100):
            if events.connected:
                break
            await asyncio.sleep(0.05)
        assert events.connected, deployed.output()
        own = transport.publish(topics.readings_topic("store-1"), b"own")
        forged = transport.publish(topics.readings_topic("store-2"), b"forged")
        for _ in range(100):
            if {own, forged} <= set(events.acked):
                break
            await asyncio.sleep(0.05)
        assert {own, forged} <= set(events.acked)  # both settled: the outbox keeps the batch
    finally:
        transport.close(5)
    refusals = [r for r in caplog.records if "refused a publish" in r.getMessage()]
    assert len(refusals) == 1
    assert "Not authorized" in refusals[0].getMessage()
    assert password not in caplog.text
