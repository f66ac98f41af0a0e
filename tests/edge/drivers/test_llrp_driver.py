"""The LLRP reader driver on real TCP against the simulated reader (served in this event
loop on a free port): configuration, tag sightings through an interpreter into events,
health, and recovery from a reboot, a silent reader, a network drop, a reader refusing
the N-tags trigger, a wrong reader clock and a malformed report."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import pytest

from bohsense.edge.drivers import llrp_reader
from bohsense.edge.drivers.base import CommandReason, DriverError
from bohsense.edge.drivers.llrp_reader import LLRPReaderDriver
from bohsense.edge.drivers.registry import build_driver
from bohsense.llrp import AddROSpec, SetReaderConfig
from bohsense.simulators._llrp_base import SECONDS_PER_YEAR
from tests.edge.conftest import until
from tests.edge.drivers.llrp_helpers import ArrivalInterpreter, ListSink, in_view, running, serving

KEEPALIVE_S = 1.5
#: what "reads resume within 3 keepalive intervals" allows
RESUME_S = 3 * KEEPALIVE_S


@pytest.fixture(autouse=True)
def arrivals(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(llrp_reader.LLRP_INTERPRETERS, "arrivals", ArrivalInterpreter)


def make(port: int, **options: Any) -> LLRPReaderDriver:
    opts: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "device_id": "r1",
        "zones": {"1": "backroom", "2": "floor"},
        "interpreter": "arrivals",
        "keepalive_s": KEEPALIVE_S,
        "report_every_s": 0.3,
        "response_timeout_s": 1.0,
        "reconnect_max_s": 0.5,
        "health_s": 0.5,
        **options,
    }
    driver = build_driver("rfid-1", "llrp", opts)
    assert isinstance(driver, LLRPReaderDriver)
    return driver


def interp(driver: LLRPReaderDriver) -> ArrivalInterpreter:
    assert isinstance(driver.interpreter, ArrivalInterpreter)
    return driver.interpreter


def tags_after(driver: LLRPReaderDriver, t_ns: int) -> set[bytes]:
    return {t.epc for t in interp(driver).tags if t.last_seen >= t_ns}


async def test_connects_configures_and_every_tag_in_view_arrives_as_an_event() -> None:
    async with serving() as (reader, port, world):
        driver, sink = make(port), ListSink()
        async with running(driver, sink):
            expected = in_view(world)
            assert len(expected) == 9
            await until(lambda: set(interp(driver).seen) == expected, 10, "every tag in view")
            await until(lambda: interp(driver).ticks, 5, "a tick")
            await until(
                lambda: sink.health("reads_per_s") and max(sink.health("reads_per_s")) > 0, 5, "health"
            )
            live = sink.health("connected")
        stats = driver.stats()
    events = [e for e in sink.events if e.kind == "rfid.item"]
    assert {bytes.fromhex(e.attrs.epc) for e in events} == expected  # type: ignore[attr-defined]
    assert len(events) == 9  # one arrival per tag
    zones = {e.attrs.zone for e in events}  # type: ignore[attr-defined]
    assert zones == {"backroom", "floor"}
    seen = next(iter(interp(driver).seen.values()))
    assert seen.rssi_dbm is not None
    assert seen.count >= 1
    assert seen.antenna in (1, 2)
    assert abs(seen.last_seen - time.time_ns()) < 30 * 10**9
    # what the reader was asked: clean slate, config, our ROSpec with session 1 on every antenna
    for name in ("GetReaderCapabilities", "DeleteROSpec", "DeleteAccessSpec", "SetReaderConfig",
                 "AddROSpec", "EnableROSpec"):  # fmt: skip
        assert reader.received[name] == 1, name
    assert reader.keepalive_ms == 1500
    (run,) = reader.rospecs.values()
    ai = run.spec.specs[0]
    assert ai.antenna_ids == (0,)
    singulation = ai.inventory_parameter_specs[0].antenna_configurations[0].inventory_commands[0]
    assert singulation.singulation_control.session == 1
    assert reader.received["KeepaliveAck"] >= 1 or stats.get("keepalives", 0) == 0
    assert stats["connects"] == 1
    assert stats["reports"] >= 1
    assert stats["tags"] >= 9
    assert not any(k.startswith(("errors_", "warnings_")) for k in stats), stats
    assert live[0] == 0.0
    assert live[-1] == 1.0
    assert sink.health("connected")[-1] == 0.0  # the driver stopped
    assert max(sink.health("reads_per_s")) > 0
    assert any(0 <= age < 5 for age in sink.health("last_report_age_s"))


async def test_keepalives_are_answered() -> None:
    async with serving() as (reader, port, _world):
        driver, sink = make(port, keepalive_s=0.3, response_timeout_s=2.0), ListSink()
        async with running(driver, sink):
            await until(lambda: reader.received["KeepaliveAck"] >= 2, 10, "two keepalive acks")
        assert driver.stats()["keepalives"] >= 2
        assert driver.stats().get("closes_watchdog", 0) == 0


async def resumes_after(driver: LLRPReaderDriver, world: Any, since_ns: int) -> float:
    start = time.monotonic()
    await until(lambda: tags_after(driver, since_ns) == in_view(world), 3 * RESUME_S, "reads again")
    return time.monotonic() - start


async def test_recovers_after_a_reboot_and_the_outage_shows_in_health() -> None:
    async with serving(reboot_s=1.0) as (reader, port, world):
        driver, sink = make(port), ListSink()
        async with running(driver, sink):
            await until(lambda: set(interp(driver).seen) == in_view(world), 10, "first tags")
            reader.reboot()
            await until(lambda: reader.rebooting_until is None and reader.boots == 2, 10, "reader back")
            back_ns = time.time_ns()
            took = await resumes_after(driver, world, back_ns)
            levels = sink.health("connected")
        stats = driver.stats()
    assert took <= RESUME_S, f"reads resumed {took:.2f} s after the reader was back"
    assert stats["reconnects"] >= 1
    assert stats["connects"] >= 2
    assert stats["closes_connection-closed"] >= 1
    assert reader.received["AddROSpec"] == 2  # configured again after the factory reset
    assert 0.0 in levels[levels.index(1.0) :], "the outage shows as connected=0"
    assert levels[-1] == 1.0


async def test_a_silent_reader_is_declared_dead_by_the_watchdog() -> None:
    async with serving() as (reader, port, world):
        driver, sink = make(port), ListSink()
        async with running(driver, sink):
            await until(lambda: set(interp(driver).seen) == in_view(world), 10, "first tags")
            reader.set_silent(True)
            silent_at = time.monotonic()
            await until(lambda: driver.stats().get("closes_watchdog", 0) >= 1, 10, "the watchdog")
            detected = time.monotonic() - silent_at
            reader.set_silent(False)
            took = await resumes_after(driver, world, time.time_ns())
        stats = driver.stats()
    # 3 missed keepalives, plus at most one report period and the read wake-up
    assert 3 * KEEPALIVE_S - 0.5 <= detected <= 3 * KEEPALIVE_S + 2.0, detected
    assert took <= RESUME_S, f"reads resumed {took:.2f} s after the reader talked again"
    assert stats["reconnects"] >= 1
    assert 0.0 in sink.health("connected")


async def test_recovers_after_a_network_drop() -> None:
    async with serving() as (reader, port, world):
        driver, sink = make(port), ListSink()
        async with running(driver, sink):
            await until(lambda: set(interp(driver).seen) == in_view(world), 10, "first tags")
            reader.drop_network()
            dropped_ns = time.time_ns()
            took = await resumes_after(driver, world, dropped_ns)
        stats = driver.stats()
    assert took <= RESUME_S, took
    assert stats["reconnects"] >= 1
    assert stats["connects"] >= 2
    assert stats.get("closes_connection-closed", 0) + stats.get("closes_io-error", 0) >= 1


async def test_a_reader_refusing_the_n_tags_trigger_still_reports() -> None:
    async with serving(reject_n_tags_stop_trigger=True) as (reader, port, world):
        driver, sink = make(port), ListSink()
        async with running(driver, sink):
            await until(lambda: set(interp(driver).seen) == in_view(world), 10, "every tag")
            await until(lambda: driver.stats().get("reports", 0) >= 3, 10, "periodic reports")
        stats = driver.stats()
    assert reader.refusals["unsupported-n-tags-trigger"] == 1
    assert reader.received["AddROSpec"] == 2
    assert stats["rospec_fallbacks"] == 1
    assert stats["refused_add_rospec"] == 1
    assert stats["connects"] == 1  # no reconnect needed


async def test_a_reader_clock_years_off_is_corrected_and_flagged() -> None:
    async with serving(clock_offset_s=-7 * SECONDS_PER_YEAR) as (_reader, port, world):
        driver, sink = make(port), ListSink()
        async with running(driver, sink):
            await until(lambda: set(interp(driver).seen) == in_view(world), 10, "every tag")
        stats = driver.stats()
    now = time.time_ns()
    for tag in interp(driver).tags:
        assert abs(tag.last_seen - now) < 30 * 10**9, tag
        assert tag.first_seen <= tag.last_seen
    assert stats["clock_offset_flagged"] >= 1
    assert stats["clock_corrections"] >= 1
    assert stats["clock_offset_us"] < -6 * SECONDS_PER_YEAR * 1e6


async def test_a_sane_reader_clock_is_left_alone() -> None:
    async with serving() as (_reader, port, _world):
        driver, sink = make(port), ListSink()
        async with running(driver, sink):
            await until(lambda: driver.stats().get("reports", 0) >= 3, 10, "reports")
        stats = driver.stats()
    assert stats.get("clock_offset_flagged", 0) == 0
    assert stats.get("clock_corrections", 0) == 0


async def test_a_malformed_report_is_counted_by_reason_and_the_session_goes_on() -> None:
    async with serving() as (reader, port, world):
        driver, sink = make(port), ListSink()
        async with running(driver, sink):
            await until(lambda: set(interp(driver).seen) == in_view(world), 10, "first tags")
            reader.send_malformed()
            await until(lambda: any(k.startswith("errors_") for k in driver.stats()), 5, "the error counted")
            after = time.time_ns()
            await until(lambda: tags_after(driver, after) == in_view(world), 5, "reads after it")
        stats = driver.stats()
    errors = {k: v for k, v in stats.items() if k.startswith("errors_")}
    assert errors == {"errors_parameter-beyond-parent": 1}, errors
    assert stats["connects"] == 1
    assert stats.get("reconnects", 0) == 0


async def test_the_first_connect_is_retried_until_the_reader_is_there() -> None:
    import socket

    with socket.socket() as s:  # a port with nothing listening (yet)
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    driver, sink = make(free), ListSink()
    async with running(driver, sink):
        await until(lambda: driver.stats().get("connect_failures", 0) >= 2, 10, "failed connects")
    assert sink.health("connected")
    assert set(sink.health("connected")) == {0.0}
    assert driver.stats()["reconnects"] >= 2


async def test_ping_and_set_power_reach_the_reader() -> None:
    async with serving() as (reader, port, world):
        driver, sink = make(port), ListSink()
        assert set(driver.commands()) == {"ping-reader", "set-power"}
        down = await driver.command("ping-reader", {})
        assert down.reason is CommandReason.DEVICE_UNAVAILABLE
        async with running(driver, sink):
            await until(driver.connected.is_set, 10, "configured")
            ping = await driver.command("ping-reader", {})
            assert ping.ok, ping
            assert "answered in" in ping.detail
            power = await driver.command("set-power", {"dbm": 20})
            assert power.ok, power
            assert set(reader.tx_power.values()) == {41}  # 10 dBm + 40 x 0.25 dB
            one = await driver.command("set-power", {"dbm": 25.1, "antenna": 2})
            assert one.ok, one
            assert "25.0 dBm" in one.detail
            assert reader.tx_power == {1: 41, 2: 61}
            too_much = await driver.command("set-power", {"dbm": 40})
            assert too_much.reason is CommandReason.BAD_ARGUMENT
            no_such = await driver.command("set-power", {"dbm": 20, "antenna": 9})
            assert no_such.reason is CommandReason.DEVICE_REFUSED
            assert "antenna" in no_such.detail
            assert (await driver.command("set-power", {"dbm": "x"})).reason is CommandReason.BAD_ARGUMENT
            assert (await driver.command("ping-reader", {"x": 1})).reason is CommandReason.BAD_ARGUMENT
            assert (await driver.command("reboot", {})).reason is CommandReason.UNKNOWN_COMMAND
            assert set(interp(driver).seen) <= in_view(world)
    assert reader.received[SetReaderConfig.__name__] == 4
    assert reader.received[AddROSpec.__name__] == 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"host": ""}, "'host'"),
        ({"port": 0}, "'port'"),
        ({"keepalive_s": -1}, "'keepalive_s'"),
        ({"missed_keepalives": 1}, "'missed_keepalives'"),
        ({"session": 4}, "'session'"),
        ({"antennas": [1, 1]}, "twice"),
        ({"antennas": [1], "zones": {"2": "floor"}}, "antenna '2'"),
        ({"zones": {"x": "floor"}}, "not an antenna id"),
        ({"interpreter": "nope"}, "unknown interpreter 'nope'"),
        ({"interpreter_options": 3}, "'interpreter_options'"),
        ({"hots": "x"}, "unknown llrp option"),
    ],
)
def test_bad_options_are_refused_with_the_reason(options: dict[str, Any], message: str) -> None:
    base = {"host": "reader.local", "interpreter": "arrivals"}
    with pytest.raises(DriverError, match=message):
        build_driver("rfid-1", "llrp", {**base, **options})


def test_options_reach_the_session_and_the_interpreter() -> None:
    driver = build_driver(
        "rfid-1", "llrp",
        {"host": "reader.local", "interpreter": "arrivals", "antennas": [1, 2], "zones": {"2": "floor"},
         "interpreter_options": {"depart_after_s": 30}, "n_tags": 0},
    )  # fmt: skip
    assert isinstance(driver, LLRPReaderDriver)
    assert driver.port == 5084
    assert driver.device_id == "rfid-1"
    assert driver.config.antennas == (1, 2)
    assert driver.config.n_tags == 0
    assert interp(driver).zones == {2: "floor"}
    assert interp(driver).options == {"depart_after_s": 30}


async def test_a_framing_error_ends_the_connection_and_the_driver_reconnects() -> None:
    import asyncio

    from bohsense.llrp import (
        ConnectionAttemptEvent,
        ReaderEventNotification,
        ReaderEventNotificationData,
        UTCTimestamp,
        encode_message,
    )

    hello = encode_message(
        ReaderEventNotification(
            message_id=1,
            data=ReaderEventNotificationData(
                timestamp=UTCTimestamp(microseconds=time.time_ns() // 1000),
                connection_attempt=ConnectionAttemptEvent(),
            ),
        )
    )
    connections = 0

    async def bad_reader(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        w.write(hello + b"\x1c\x3d" + b"\x00" * 8)  # then a header of version 7: not LLRP
        await w.drain()
        with contextlib.suppress(ConnectionError):
            await r.read()  # until the driver hangs up
        w.close()

    server = await asyncio.start_server(bad_reader, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        driver, sink = make(port), ListSink()
        async with running(driver, sink):
            await until(lambda: connections >= 2, 10, "a second connection")
    finally:
        server.close()
        await server.wait_closed()
    stats = driver.stats()
    assert stats["errors_bad-version"] >= 1
    assert stats["closes_framing-error"] >= 1
    assert stats["reconnects"] >= 1


async def test_the_presence_interpreter_behind_the_driver_turns_real_reports_into_item_events() -> None:
    async with serving() as (_reader, port, world):
        driver, sink = make(port, interpreter="presence", interpreter_options={"snapshot_s": 1.0}), ListSink()
        async with running(driver, sink):
            expected = {epc.hex().upper() for epc in in_view(world)}

            def arrived() -> set[str]:
                return {
                    e.attrs.epc  # type: ignore[attr-defined]
                    for e in sink.events
                    if e.kind == "rfid.item" and e.attrs.transition == "arrived"  # type: ignore[attr-defined]
                }

            await until(lambda: arrived() == expected, 15, "every tag in view arrived")
            await until(
                lambda: any(e.kind == "rfid.zone_snapshot" for e in sink.events), 10, "a zone snapshot"
            )
    departed = [e for e in sink.events if e.kind == "rfid.item" and e.attrs.transition == "departed"]  # type: ignore[attr-defined]
    assert departed == [], "static tags in view never depart"
    snap = [e for e in sink.events if e.kind == "rfid.zone_snapshot"][-1]
    assert snap.device == "r1"


def test_bad_presence_options_are_refused_when_the_driver_is_built() -> None:
    with pytest.raises(DriverError, match="unknown option"):
        make(5084, interpreter="presence", interpreter_options={"departure": 3})
    with pytest.raises(DriverError, match="departure_s must be > 0"):
        make(5084, interpreter="presence", interpreter_options={"departure_s": 0})


async def test_a_gateway_restart_keeps_presence_no_false_departures_and_no_second_arrival(
    tmp_path: Any,
) -> None:
    def build(port: int) -> LLRPReaderDriver:
        opts = {
            "host": "127.0.0.1", "port": port, "device_id": "r1", "zones": {"1": "backroom", "2": "floor"},
            "keepalive_s": KEEPALIVE_S, "report_every_s": 0.3, "response_timeout_s": 1.0,
            "reconnect_max_s": 0.5, "health_s": 0.5, "interpreter_options": {"departure_s": 2.0},
        }  # fmt: skip
        driver = build_driver("rfid-1", "llrp", opts, state_dir=tmp_path)
        assert isinstance(driver, LLRPReaderDriver)
        return driver

    def items(sink: ListSink, transition: str) -> list[str]:
        return [
            e.attrs.epc  # type: ignore[attr-defined]
            for e in sink.events
            if e.kind == "rfid.item" and e.attrs.transition == transition  # type: ignore[attr-defined]
        ]

    async with serving() as (_reader, port, world):
        expected = {epc.hex().upper() for epc in in_view(world)}
        first, sink1 = build(port), ListSink()
        async with running(first, sink1):
            await until(lambda: set(items(sink1, "arrived")) == expected, 15, "every tag arrived")
        assert (tmp_path / "presence-rfid-1.json").exists(), "the state is saved when the driver stops"
        await asyncio.sleep(2.5)  # down longer than the departure timeout
        second, sink2 = build(port), ListSink()
        async with running(second, sink2):
            await until(lambda: second.stats().get("reads", 0) > 50, 15, "reads after the restart")
            await asyncio.sleep(3.0)  # past the departure timeout after the restart
    assert items(sink2, "departed") == [], "tags in view did not leave while the gateway was down"
    assert items(sink2, "arrived") == [], "the tags were known already"


def test_an_unreadable_presence_state_is_refused_when_the_driver_is_built(tmp_path: Any) -> None:
    (tmp_path / "presence-rfid-1.json").write_text("{not json")
    with pytest.raises(DriverError, match="cannot be read"):
        build_driver("rfid-1", "llrp", {"host": "127.0.0.1", "zones": {"1": "floor"}}, state_dir=tmp_path)
