"""sllurp 3.0.5, untouched (its LLRPReaderClient and LLRPReaderConfig, in the thread it
runs in), against the simulated readers over real TCP on localhost: it connects,
configures them and receives reports for every tag in view. Raw sockets check what a
second client, bad bytes and the network faults look like on the wire."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sllurp.llrp import LLRPReaderClient, LLRPReaderConfig

from bohsense.llrp import (
    ErrorMessage,
    GetReaderCapabilities,
    GetReaderCapabilitiesResponse,
    LLRPError,
    Message,
    MessageDecoder,
    ReaderEventNotification,
    ROAccessReport,
    encode_message,
)
from bohsense.simulators import Fault, LLRPReader, readers_for
from bohsense.simulators._llrp_server import LLRPServer
from bohsense.simulators._tags import Scenario, TagWorld
from tests.simulators.llrp_support import scenario

DEADLINE_S = 15.0


def wait_for(predicate: Callable[[], bool], timeout: float = DEADLINE_S) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


@contextlib.contextmanager
def serving(
    doc: dict[str, Any] | None = None, faults: tuple[str, ...] = ()
) -> Iterator[tuple[LLRPServer, TagWorld]]:
    world = TagWorld(Scenario.from_dict(doc or scenario()))
    readers = readers_for(world, [Fault.parse(f) for f in faults])
    server = LLRPServer([(r, 0) for r in readers]).start_in_thread()
    try:
        yield server, world
    finally:
        server.stop()


class Sllurp:
    """One sllurp client and the tags it got, keyed by EPC hex."""

    def __init__(self, port: int, **config: Any) -> None:
        self.tags: dict[str, list[dict[str, Any]]] = {}
        self.lock = threading.Lock()
        self.client = LLRPReaderClient("127.0.0.1", port, LLRPReaderConfig(config))
        self.client.add_tag_report_callback(self._on_tags)

    def _on_tags(self, _reader: object, tags: list[dict[str, Any]]) -> None:
        with self.lock:
            for tag in tags:
                self.tags.setdefault(tag["EPC"].decode(), []).append(tag)

    def seen(self) -> set[str]:
        with self.lock:
            return set(self.tags)

    def __enter__(self) -> Sllurp:
        self.client.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        # sllurp's own thread takes a while to notice the close on a loaded machine
        if self.client.is_alive():
            self.client.disconnect(timeout=5)
        self.client.join(5)
        if self.client.is_alive():
            # sllurp's polite stop waits for its own state machine, which can miss the
            # reader's answer (the answers themselves are tested in tests/llrp); close the
            # socket as a client would, and require the thread to end then
            self.client.hard_disconnect()
            self.client.join(10)
        assert not self.client.is_alive(), "sllurp's client thread did not end after its socket closed"


def in_view(world: TagWorld, reader_id: str, antennas: tuple[int, ...]) -> set[str]:
    return {epc.hex() for a in antennas for epc in world.visible(reader_id, a)}


def reader_of(server: LLRPServer, reader_id: str = "r1") -> LLRPReader:
    return server.readers[reader_id]


CONTENT = {"EnableAntennaID": True, "EnablePeakRSSI": True, "EnableFirstSeenTimestamp": True}


def test_sllurp_configures_the_reader_and_gets_every_tag_in_view() -> None:
    with serving() as (server, world):
        expected = in_view(world, "r1", (1, 2))
        assert len(expected) == 9
        reader_of(server).wire_log = bytearray()
        with Sllurp(server.ports["r1"], antennas=[1, 2], report_every_n_tags=1, keepalive_interval=300,
                    tag_content_selector=CONTENT) as s:  # fmt: skip
            assert wait_for(lambda: s.seen() >= expected), (s.seen(), expected)
            r = reader_of(server)
            assert wait_for(lambda: r.sent["Keepalive"] >= 2)
        assert s.seen() == expected  # nothing out of view
        for reports in s.tags.values():
            first = reports[0]
            assert {
                "AntennaID",
                "PeakRSSI",
                "FirstSeenTimestampUTC",
                "LastSeenTimestampUTC",
                "TagSeenCount",
            } <= set(first)
            assert first["AntennaID"] in (1, 2)
            assert -128 <= first["PeakRSSI"] < 0
        assert wait_for(lambda: not r.connected)
        assert r.refusals == {}
        assert r.keepalives_unacked <= 1  # sllurp acknowledged them
        for name in ("GetReaderCapabilities", "GetReaderConfig", "SetReaderConfig", "EnableEventsAndReports",
                     "DeleteAccessSpec", "DeleteROSpec", "AddROSpec", "EnableROSpec"):  # fmt: skip
            assert r.received[name] >= 1, name
        assert r.keepalive_ms == 300  # the interval sllurp asked for
        # bohsense's own decoder reads every byte the reader sent sllurp
        assert r.wire_log is not None
        decoder = MessageDecoder()
        everything = decoder.feed(bytes(r.wire_log))
        assert [str(e) for e in everything if isinstance(e, LLRPError)] == []
        assert decoder.buffered == 0
        kinds = {type(m).__name__ for m in everything}
        assert {"ReaderEventNotification", "GetReaderCapabilitiesResponse", "GetReaderConfigResponse",
                "SetReaderConfigResponse", "AddROSpecResponse", "EnableROSpecResponse", "ROAccessReport",
                "Keepalive"} <= kinds  # fmt: skip
        assert sum(len(m.tags) for m in everything if isinstance(m, ROAccessReport)) == sum(
            r.tags_reported.values()
        )


def test_a_thingmagic_reader_refuses_sllurps_n_tags_rospec_and_a_duration_one_works() -> None:
    with serving(faults=("reject-n-tags",)) as (server, world):
        r = reader_of(server)
        with Sllurp(server.ports["r1"], antennas=[1], report_every_n_tags=1):
            assert wait_for(lambda: r.refusals["unsupported-n-tags-trigger"] == 1)
        assert sum(r.tags_reported.values()) == 0
        assert wait_for(lambda: not r.connected)
        expected = in_view(world, "r1", (1,))
        with Sllurp(server.ports["r1"], antennas=[1], duration=0.5) as s:
            assert wait_for(lambda: s.seen() == expected), (s.seen(), expected)


def test_impinj_extensions_with_sllurp_on_and_off() -> None:
    with serving() as (server, world):
        r = reader_of(server)
        with Sllurp(server.ports["r1"], antennas=[1], report_every_n_tags=1, impinj_search_mode=2) as s:
            assert wait_for(lambda: s.seen() == in_view(world, "r1", (1,)))
        assert r.impinj_enabled
        assert r.refusals == {}
    with serving(faults=("no-impinj",)) as (server, world):
        r = reader_of(server)
        with Sllurp(server.ports["r1"], antennas=[1], report_every_n_tags=1, impinj_search_mode=2) as s:
            assert wait_for(lambda: r.refusals["unsupported-custom-message"] == 1)
        assert s.seen() == set()


def test_two_readers_at_once_each_reports_its_own_view() -> None:
    doc = scenario(deliveries=[{"at": 0.0, "gtin": "80614141123458", "company_prefix_digits": 7, "count": 2,
                                "first_serial": 500, "to": "backroom"}], door_dwell_s=3600.0)  # fmt: skip
    with serving(doc) as (server, world):
        assert set(server.ports) == {"r1", "door"}
        world.advance()
        dock = in_view(world, "door", (1,))
        assert len(dock) == 2
        with (
            Sllurp(server.ports["r1"], antennas=[1, 2], report_every_n_tags=1) as a,
            Sllurp(server.ports["door"], antennas=[1], report_every_n_tags=1) as b,
        ):
            assert wait_for(lambda: a.seen() == in_view(world, "r1", (1, 2)) and b.seen() == dock)
        assert not a.seen() & b.seen()
        assert {line["zone"] for line in world.truth_lines() if line["epc"].lower() in dock} == {"dock"}


# ---------------------------------------------------------------- raw sockets: the wire itself


class Raw:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.decoder = MessageDecoder()
        self.got: list[Message] = []

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read_until(self, predicate: Callable[[list[Message]], bool], timeout: float = 5.0) -> bool:
        """Read until ``predicate(got)``; False on EOF or timeout."""
        end = time.monotonic() + timeout
        while not predicate(self.got):
            left = end - time.monotonic()
            if left <= 0:
                return False
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                return False
            if not data:
                return False
            for item in self.decoder.feed(data):
                assert not isinstance(item, LLRPError), str(item)
                self.got.append(item)
        return True

    def eof(self, timeout: float = 5.0) -> bool:
        self.sock.settimeout(timeout)
        try:
            while data := self.sock.recv(65536):
                self.decoder.feed(data)
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False
        return True

    def close(self) -> None:
        self.sock.close()


def test_a_second_client_is_told_and_closed_while_the_first_keeps_its_session() -> None:
    with serving() as (server, _):
        first = Raw(server.ports["r1"])
        assert first.read_until(lambda got: len(got) == 1)
        second = Raw(server.ports["r1"])
        assert second.read_until(lambda got: len(got) == 1)
        assert isinstance(second.got[0], ReaderEventNotification)
        assert second.got[0].data.connection_attempt.status == 2  # type: ignore[union-attr]
        assert second.eof()
        first.send(encode_message(GetReaderCapabilities(message_id=5)))
        assert first.read_until(lambda got: any(isinstance(m, GetReaderCapabilitiesResponse) for m in got))
        first.close()
        second.close()


def test_garbage_gets_error_message_and_a_close_then_sllurp_connects_fine() -> None:
    with serving() as (server, world):
        raw = Raw(server.ports["r1"])
        assert raw.read_until(lambda got: len(got) == 1)
        raw.send(encode_message(GetReaderCapabilities(message_id=1))[:4] + b"\x00\x00\x00\x03junk")
        assert raw.read_until(lambda got: any(isinstance(m, ErrorMessage) for m in got))
        assert raw.eof()
        raw.close()
        r = reader_of(server)
        assert r.refusals == {"length-too-short": 1}
        with Sllurp(server.ports["r1"], antennas=[1], report_every_n_tags=1) as s:
            assert wait_for(lambda: s.seen() == in_view(world, "r1", (1,)))


def test_unknown_message_type_over_tcp_is_answered_and_the_session_goes_on() -> None:
    with serving() as (server, _):
        raw = Raw(server.ports["r1"])
        raw.send(
            struct.pack(">HII", (1 << 10) | 999, 12, 42)
            + b"??"
            + encode_message(GetReaderCapabilities(message_id=43))
        )
        assert raw.read_until(lambda got: any(isinstance(m, GetReaderCapabilitiesResponse) for m in got))
        (error,) = [m for m in raw.got if isinstance(m, ErrorMessage)]
        assert error.message_id == 42
        assert error.status.status_code == 109
        raw.close()


@pytest.mark.parametrize("fault", ["silent=0.5", "drop=0.5", "reboot=0.5"])
def test_network_faults_as_a_client_sees_them(fault: str) -> None:
    with serving(faults=(fault + "@r1",)) as (server, _):
        r = reader_of(server)
        raw = Raw(server.ports["r1"])
        assert raw.read_until(lambda got: len(got) == 1)
        kind = {"silent": "silent", "drop": "network-drop", "reboot": "reboot"}[fault.partition("=")[0]]
        assert wait_for(lambda: any(e["kind"] == kind for e in list(r.events)))  # the fault has struck
        raw.send(encode_message(GetReaderCapabilities(message_id=7)))
        if fault.startswith("silent"):
            assert not raw.read_until(lambda got: len(got) > 1, timeout=1.0)  # no answer
            assert not raw.eof(timeout=0.3)  # but the connection is open
            assert r.connected
            assert r.received["GetReaderCapabilities"] == 1
        else:
            assert raw.eof()
            if fault.startswith("reboot"):
                refused = Raw(server.ports["r1"])  # while it boots, a connection is closed at once
                assert refused.eof()
                assert refused.got == []
                refused.close()
                assert wait_for(lambda: r.boots == 2)
            again = Raw(server.ports["r1"])
            assert again.read_until(lambda got: len(got) == 1)
            again.close()
        raw.close()


def test_impinj_tag_report_extensions_reach_sllurp() -> None:
    selector = {"EnableRFPhaseAngle": True, "EnablePeakRSSI": True, "EnableRFDopplerFrequency": False}
    with serving() as (server, world):
        r = reader_of(server)
        with Sllurp(server.ports["r1"], antennas=[1], report_every_n_tags=1, impinj_tag_content_selector=selector,
                    tag_content_selector=CONTENT) as s:  # fmt: skip
            assert wait_for(lambda: s.seen() == in_view(world, "r1", (1,)))
        assert r.refusals == {}
        for reports in s.tags.values():
            tag = reports[0]
            assert tag["ImpinjPeakRSSI"] == tag["PeakRSSI"] * 100
            assert 0 <= tag["ImpinjRFPhaseAngle"] < 4096
            assert "ImpinjRFDopplerFrequency" not in tag
