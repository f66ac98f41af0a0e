"""The LLRP reader core with no transport: bytes and a fake clock in, bytes out. Every
byte it sends is read back with bohsense's own decoder (``Client.read`` fails on any
decoding fault)."""

from __future__ import annotations

import pytest

from bohsense.contracts.epc import Sgtin96
from bohsense.llrp import (
    EPC96,
    AddAccessSpec,
    AddROSpec,
    AISpecStopTrigger,
    CloseConnection,
    CloseConnectionResponse,
    ConnectionAttemptStatus,
    CustomMessage,
    DeleteAccessSpec,
    DeleteROSpec,
    DisableROSpec,
    EnableEventsAndReports,
    EnableROSpec,
    EPCData,
    EventNotificationState,
    EventsAndReports,
    GetAccessSpecs,
    GetReaderCapabilities,
    GetReaderCapabilitiesResponse,
    GetReaderConfig,
    GetReaderConfigResponse,
    GetReport,
    GetROSpecs,
    GetROSpecsResponse,
    Keepalive,
    KeepaliveAck,
    KeepaliveSpec,
    Message,
    PeriodicTriggerValue,
    ReaderEventNotification,
    ReaderEventNotificationSpec,
    ROAccessReport,
    SetReaderConfig,
    StartROSpec,
    StatusCode,
    StopROSpec,
    TagObservationTrigger,
    TagReportContentSelector,
    TagReportData,
    decode_message,
)
from bohsense.llrp import C1G2EPCMemorySelector as MemorySelector
from bohsense.simulators._llrp_base import POWER_TABLE, SECONDS_PER_YEAR, crc16_c1g2
from tests.simulators.llrp_support import WALL0, Client, FakeClock, reader, rospec, scenario, world

BACKROOM = {Sgtin96.from_gtin("80614141123458", 7, 6789 + i).to_bytes() for i in range(6)}
FLOOR = {Sgtin96.from_gtin("04006381333931", 7, 1 + i).to_bytes() for i in range(3)}


def setup(**behaviour: object) -> tuple[Client, FakeClock]:
    clock = FakeClock()
    w = world(clock=clock)
    r = reader(w, **behaviour)  # type: ignore[arg-type]
    c = Client(r, clock)
    c.read()
    return c, clock


def status(message: Message) -> int:
    return message.status.status_code  # type: ignore[attr-defined,no-any-return]


def tags_of(messages: list[Message]) -> list[TagReportData]:
    return [t for m in messages if isinstance(m, ROAccessReport) for t in m.tags]


def reports(messages: list[Message]) -> list[ROAccessReport]:
    return [m for m in messages if isinstance(m, ROAccessReport)]


def start(c: Client, spec: object) -> None:
    assert status(c.request(AddROSpec(ro_spec=spec))) == 0  # type: ignore[arg-type]
    assert status(c.request(EnableROSpec(ro_spec_id=spec.ro_spec_id))) == 0  # type: ignore[attr-defined]


# ---------------------------------------------------------------- the session


def test_connect_announces_a_successful_connection_attempt() -> None:
    clock = FakeClock()
    r = reader(world(clock=clock))
    c = Client(r, clock)
    (event,) = c.read()
    assert isinstance(event, ReaderEventNotification)
    assert event.data.connection_attempt is not None
    assert event.data.connection_attempt.status == ConnectionAttemptStatus.SUCCESS
    assert event.data.timestamp.microseconds == WALL0 // 1000


def test_a_second_client_is_refused_with_the_status_llrp_names() -> None:
    c, _ = setup()
    assert not c.reader.connect()
    refusal, _ = decode_message(c.reader.refusal_bytes())
    assert isinstance(refusal, ReaderEventNotification)
    assert refusal.data.connection_attempt.status == 2  # type: ignore[union-attr]
    assert c.reader.refusals["second-connection"] == 1


def test_close_connection_answers_then_asks_to_close() -> None:
    c, _ = setup()
    assert isinstance(c.request(CloseConnection()), CloseConnectionResponse)
    assert c.reader.close_request == "close"


# ---------------------------------------------------------------- capabilities and configuration


def test_capabilities_name_antennas_power_table_and_rf_modes() -> None:
    c, _ = setup()
    caps = c.request(GetReaderCapabilities())
    assert isinstance(caps, GetReaderCapabilitiesResponse)
    assert caps.general_device_capabilities.max_number_of_antennas_supported == 2  # type: ignore[union-attr]
    band = caps.regulatory_capabilities.uhf_band_capabilities  # type: ignore[union-attr]
    assert [(e.index, e.transmit_power) for e in band.transmit_power_levels] == list(POWER_TABLE)  # type: ignore[union-attr]
    assert band.transmit_power_levels[-1].transmit_power == 3000  # type: ignore[union-attr]
    assert {e.mode_identifier for e in band.rf_mode_tables[0].entries} == {0, 2, 1000}  # type: ignore[union-attr]
    only = c.request(GetReaderCapabilities(requested_data=2))
    assert isinstance(only, GetReaderCapabilitiesResponse)
    assert only.llrp_capabilities is not None
    assert only.general_device_capabilities is None
    bad = c.request(GetReaderCapabilities(requested_data=9))
    assert status(bad) == StatusCode.M_FIELD_ERROR


def test_reader_config_all_parts_and_one_antenna() -> None:
    c, _ = setup()
    full = c.request(GetReaderConfig())
    assert isinstance(full, GetReaderConfigResponse)
    assert [a.antenna_id for a in full.antenna_configurations] == [1, 2]
    assert full.identification is not None
    assert full.keepalive_spec is not None
    assert len(full.gpi_port_current_states) == 4
    one = c.request(GetReaderConfig(antenna_id=2, requested_data=3))
    assert [a.antenna_id for a in one.antenna_configurations] == [2]  # type: ignore[attr-defined]
    assert one.identification is None  # type: ignore[attr-defined]
    assert status(c.request(GetReaderConfig(antenna_id=3))) == StatusCode.M_FIELD_ERROR
    assert c.reader.refusals["bad-antenna"] == 1


def test_set_reader_config_is_validated_whole_before_anything_changes() -> None:
    from bohsense.llrp import AntennaConfiguration, RFTransmitter

    c, _ = setup()
    good = AntennaConfiguration(antenna_id=1, rf_transmitter=RFTransmitter(hop_table_id=1, channel_index=1,
                                                                           transmit_power=41))  # fmt: skip
    bad = AntennaConfiguration(antenna_id=2, rf_transmitter=RFTransmitter(hop_table_id=1, channel_index=1,
                                                                          transmit_power=99))  # fmt: skip
    refused = c.request(SetReaderConfig(antenna_configurations=(good, bad),
                                        keepalive_spec=KeepaliveSpec(trigger_type=1, periodic_trigger_value=500)))  # fmt: skip
    assert status(refused) == StatusCode.M_PARAMETER_ERROR
    assert refused.status.parameter_error.field_error.error_code == StatusCode.A_OUT_OF_RANGE  # type: ignore[attr-defined]
    assert c.reader.tx_power[1] == 81
    assert c.reader.keepalive_ms == 0
    assert status(c.request(SetReaderConfig(antenna_configurations=(good,)))) == 0
    assert c.reader.tx_power[1] == 41


def test_keepalives_come_at_the_interval_asked_and_acks_are_counted() -> None:
    c, clock = setup()
    assert (
        status(
            c.request(
                SetReaderConfig(keepalive_spec=KeepaliveSpec(trigger_type=1, periodic_trigger_value=1000))
            )
        )
        == 0
    )
    got = []
    for _ in range(35):
        clock.mono += 0.1
        c.reader.advance()
        got += [(round(clock.mono - 1000, 1), m) for m in c.read() if isinstance(m, Keepalive)]
    assert [t for t, _ in got] == [1.0, 2.0, 3.0]
    assert c.reader.keepalives_unacked == 3
    c.send(KeepaliveAck())
    assert c.reader.keepalives_unacked == 0
    c.request(SetReaderConfig(keepalive_spec=KeepaliveSpec(trigger_type=0)))
    assert not [m for m in c.run(3) if isinstance(m, Keepalive)]


# ---------------------------------------------------------------- ROSpecs and reports


def test_every_tag_in_view_is_reported_at_the_end_of_each_aispec() -> None:
    c, _ = setup()
    spec = rospec(ai_stop=AISpecStopTrigger(trigger_type=1, duration_trigger=500))
    start(c, spec)
    sent = c.run(2.04)
    rs = reports(sent)
    assert len(rs) == 4  # one per 0.5 s AISpec
    for report in rs:
        assert {t.epc_bytes for t in report.tags} == BACKROOM | FLOOR
    floor = [t for t in rs[0].tags if t.epc_bytes in FLOOR]
    assert {t.antenna_id for t in floor} == {2}
    tag = rs[0].tags[0]
    assert tag.ro_spec_id == 1
    assert tag.tag_seen_count == 5
    assert -56 <= tag.peak_rssi <= -44  # type: ignore[operator]
    assert tag.first_seen_utc is not None
    assert tag.last_seen_utc is not None
    assert abs(tag.last_seen_utc - tag.first_seen_utc - 400_000) <= 1  # 4 rounds apart
    assert set(c.reader.world.visible("r1", 1)) == BACKROOM


def test_every_n_tags_makes_reports_of_exactly_n() -> None:
    c, _ = setup()
    start(c, rospec(n=2))
    rs = reports(c.run(1.0))
    assert rs
    assert all(len(r.tags) == 2 for r in rs)
    assert {t.epc_bytes for r in rs for t in r.tags} == BACKROOM | FLOOR


def test_tag_observation_stop_n_tags_ends_the_aispec() -> None:
    c, _ = setup()
    trigger = AISpecStopTrigger(trigger_type=3, tag_observation=TagObservationTrigger(trigger_type=0,
                                                                                  number_of_tags=9, timeout=5000))  # fmt: skip
    start(c, rospec(ai_stop=trigger, antennas=(1, 2)))
    rs = reports(c.run(0.35))
    assert rs
    assert {t.epc_bytes for t in rs[0].tags} == BACKROOM | FLOOR


def test_tag_observation_timeout_ends_the_aispec_when_n_is_never_reached() -> None:
    c, _ = setup()
    trigger = AISpecStopTrigger(trigger_type=3, tag_observation=TagObservationTrigger(trigger_type=0,
                                                                                  number_of_tags=100, timeout=300))  # fmt: skip
    start(c, rospec(ai_stop=trigger))
    assert len(reports(c.run(1.25))) == 4  # every 300 ms


def test_end_of_rospec_trigger_reports_once_when_the_duration_ends() -> None:
    c, _ = setup()
    start(
        c,
        rospec(
            stop=1, stop_ms=1000, trigger=2, ai_stop=AISpecStopTrigger(trigger_type=1, duration_trigger=200)
        ),
    )
    sent = c.run(3.0)
    assert len(reports(sent)) == 1
    assert c.reader.rospecs[1].state == 1  # inactive: a duration stop does not restart it


def test_periodic_start_runs_the_rospec_every_period() -> None:
    c, _ = setup()
    spec = rospec(
        start=2, periodic=PeriodicTriggerValue(offset=0, period=1000), stop=1, stop_ms=200, trigger=2
    )
    start(c, spec)
    assert len(reports(c.run(3.25))) == 4  # started at 0, 1, 2 and 3 s, each ending 200 ms later


def test_report_none_waits_for_get_report() -> None:
    c, _ = setup()
    start(c, rospec(trigger=0))
    assert not reports(c.run(1.0))
    c.send(GetReport())
    assert {t.epc_bytes for t in tags_of(c.read())} == BACKROOM | FLOOR


def test_only_what_the_content_selector_asks_for_is_reported() -> None:
    c, _ = setup()
    selector = TagReportContentSelector(enable_antenna_id=True, epc_memory_selectors=(
        MemorySelector(enable_crc=True, enable_pc_bits=True),))  # fmt: skip
    start(c, rospec(selector=selector, ai_stop=AISpecStopTrigger(trigger_type=1, duration_trigger=100)))
    tag = tags_of(c.run(0.2))[0]
    assert isinstance(tag.epc, EPC96)
    assert tag.antenna_id is not None
    assert (tag.peak_rssi, tag.first_seen_utc, tag.last_seen_utc, tag.tag_seen_count, tag.ro_spec_id) == (
        None,
    ) * 5
    assert tag.c1g2_pc == 0x3000
    assert tag.c1g2_crc == crc16_c1g2(b"\x30\x00" + tag.epc_bytes)


def test_crc16_matches_the_gen2_check_value() -> None:
    assert crc16_c1g2(b"123456789") == 0xD64E  # CRC-16/GENIBUS check value


def test_epc_data_personality_reports_epcdata() -> None:
    c, _ = setup(epc_data=True)
    start(c, rospec(ai_stop=AISpecStopTrigger(trigger_type=1, duration_trigger=100)))
    tags = tags_of(c.run(0.2))
    assert tags
    assert all(isinstance(t.epc, EPCData) and t.epc.epc.bit_count == 96 for t in tags)


def test_rospec_lifecycle_and_its_refusals() -> None:
    c, _ = setup()
    spec = rospec(start=0)
    assert status(c.request(AddROSpec(ro_spec=spec))) == 0
    assert status(c.request(AddROSpec(ro_spec=spec))) == StatusCode.M_FIELD_ERROR
    assert status(c.request(StartROSpec(ro_spec_id=1))) == StatusCode.M_FIELD_ERROR  # disabled
    assert status(c.request(EnableROSpec(ro_spec_id=1))) == 0
    assert c.reader.rospecs[1].state == 1
    assert status(c.request(StartROSpec(ro_spec_id=1))) == 0
    assert c.reader.rospecs[1].state == 2
    listed = c.request(GetROSpecs())
    assert isinstance(listed, GetROSpecsResponse)
    assert listed.ro_specs[0].current_state == 2
    assert status(c.request(StopROSpec(ro_spec_id=1))) == 0
    assert status(c.request(StopROSpec(ro_spec_id=1))) == StatusCode.M_FIELD_ERROR  # not active
    assert status(c.request(DisableROSpec(ro_spec_id=1))) == 0
    assert status(c.request(DeleteROSpec(ro_spec_id=9))) == StatusCode.M_FIELD_ERROR
    assert status(c.request(DeleteROSpec(ro_spec_id=0))) == 0
    assert c.reader.rospecs == {}
    assert c.reader.refusals == {"duplicate-rospec": 1, "rospec-disabled": 1, "rospec-not-active": 1,
                                 "no-such-rospec": 1}  # fmt: skip


def test_accessspecs_are_refused_and_none_are_listed() -> None:
    from bohsense.llrp import (
        AccessCommand,
        AccessSpec,
        AccessSpecStopTrigger,
        BitString,
        C1G2Read,
        C1G2TagSpec,
        C1G2TargetTag,
    )

    c, _ = setup()
    assert status(c.request(DeleteAccessSpec(access_spec_id=0))) == 0
    assert status(c.request(DeleteAccessSpec(access_spec_id=5))) == StatusCode.M_FIELD_ERROR
    assert c.request(GetAccessSpecs()).access_specs == ()  # type: ignore[attr-defined]
    target = C1G2TargetTag(
        mb=1, match=True, pointer=32, tag_mask=BitString(0, b""), tag_data=BitString(0, b"")
    )
    spec = AccessSpec(access_spec_id=1, antenna_id=0, protocol_id=1, current_state=False, ro_spec_id=0,
                      stop_trigger=AccessSpecStopTrigger(trigger_type=0, operation_count=0),
                      command=AccessCommand(tag_spec=C1G2TagSpec(targets=(target,)), op_specs=(
                          C1G2Read(op_spec_id=1, access_password=0, mb=3, word_pointer=0, word_count=1),)))  # fmt: skip
    assert status(c.request(AddAccessSpec(access_spec=spec))) == StatusCode.M_UNSUPPORTED_PARAMETER


def test_rospec_and_aispec_events_when_enabled_singulation_only_when_asked() -> None:
    c, _ = setup()
    events = ReaderEventNotificationSpec(states=(EventNotificationState(event_type=2, notification_state=True),
                                                 EventNotificationState(event_type=6, notification_state=True)))  # fmt: skip
    c.request(SetReaderConfig(reader_event_notification_spec=events))
    start(c, rospec(stop=1, stop_ms=300, ai_stop=AISpecStopTrigger(trigger_type=1, duration_trigger=300)))
    c.run(0.5)
    notes = [m.data for m in c.got[1:] if isinstance(m, ReaderEventNotification)]
    assert [n.ro_spec.event_type for n in notes if n.ro_spec] == [0, 1]
    ai = [n.ai_spec for n in notes if n.ai_spec]
    assert len(ai) == 1
    assert ai[0].singulation_details is None


def test_thingmagic_personality_refuses_the_n_tags_stop_trigger() -> None:
    trigger = AISpecStopTrigger(
        trigger_type=3, tag_observation=TagObservationTrigger(trigger_type=0, number_of_tags=1)
    )
    c, _ = setup(reject_n_tags_stop_trigger=True)
    refused = c.request(AddROSpec(ro_spec=rospec(ai_stop=trigger)))
    assert status(refused) == StatusCode.M_PARAMETER_ERROR
    assert refused.status.parameter_error.parameter_type == 184  # type: ignore[attr-defined]
    assert c.reader.refusals["unsupported-n-tags-trigger"] == 1
    assert (
        status(
            c.request(
                AddROSpec(ro_spec=rospec(ai_stop=AISpecStopTrigger(trigger_type=1, duration_trigger=1)))
            )
        )
        == 0
    )
    c2, _ = setup()
    assert status(c2.request(AddROSpec(ro_spec=rospec(ai_stop=trigger)))) == 0


def test_impinj_extensions_on_and_off() -> None:
    enable = CustomMessage(vendor_id=25882, subtype=21, data=bytes(4))
    c, _ = setup()
    reply = c.request(enable)
    assert isinstance(reply, CustomMessage)
    assert reply.subtype == 22
    from bohsense.llrp import LLRPStatus, decode_body  # the status inside is a whole LLRPStatus parameter

    assert reply.data[:2] == LLRPStatus.TYPE.to_bytes(2, "big")
    assert c.request(GetReaderCapabilities()).general_device_capabilities.device_manufacturer_name == 25882  # type: ignore[attr-defined]
    del decode_body
    c2, _ = setup(impinj_extensions=False)
    refused = c2.request(enable)
    assert refused.TYPE == 100
    assert status(refused) == StatusCode.M_UNSUPPORTED_MESSAGE
    assert c2.request(GetReaderCapabilities()).general_device_capabilities.device_manufacturer_name == 0  # type: ignore[attr-defined]


def test_a_reader_clock_wrong_by_years_stamps_everything_with_it() -> None:
    c, _ = setup(clock_offset_s=-3 * SECONDS_PER_YEAR)
    (event,) = [m for m in c.got if isinstance(m, ReaderEventNotification)]
    skew_s = event.data.timestamp.microseconds / 1e6 - WALL0 / 1e9
    assert skew_s == pytest.approx(-3 * SECONDS_PER_YEAR, abs=1)
    start(c, rospec(ai_stop=AISpecStopTrigger(trigger_type=1, duration_trigger=100)))
    tag = tags_of(c.run(0.2))[0]
    assert tag.first_seen_utc / 1e6 - WALL0 / 1e9 == pytest.approx(-3 * SECONDS_PER_YEAR, abs=1)  # type: ignore[operator]


# ---------------------------------------------------------------- the world moves


def test_items_moving_out_of_view_stop_being_reported() -> None:
    clock = FakeClock()
    doc = scenario(moves=[{"at": 1.0, "from": "backroom", "to": "floor", "count": 2}])
    w = world(doc, clock)
    c = Client(reader(w), clock)
    start(c, rospec(antennas=(1,), ai_stop=AISpecStopTrigger(trigger_type=1, duration_trigger=500)))
    rs = reports(c.run(2.0))
    before, after = {t.epc_bytes for t in rs[0].tags}, {t.epc_bytes for t in rs[-1].tags}
    assert before == BACKROOM
    assert len(after) == 4
    moved = before - after
    assert {w.where(e, 1.5) for e in moved} == {"floor"}
    assert {w.where(e, 0.5) for e in moved} == {"backroom"}


# ---------------------------------------------------------------- holding reports across a reconnect


def test_held_reports_wait_for_enable_events_and_reports() -> None:
    c, clock = setup()
    c.request(
        SetReaderConfig(events_and_reports=EventsAndReports(hold_events_and_reports_upon_reconnect=True))
    )
    start(c, rospec(ai_stop=AISpecStopTrigger(trigger_type=1, duration_trigger=200)))
    c.reader.disconnect()
    clock.mono += 1.0
    c.reader.advance()
    c2 = Client(c.reader, clock)
    first = c2.read()
    assert [type(m) for m in first] == [ReaderEventNotification]  # the connection event, not the reports
    c2.send(EnableEventsAndReports())
    held = reports(c2.read())
    assert held
    assert {t.epc_bytes for t in held[0].tags} == BACKROOM | FLOOR
    assert c.reader.reports_dropped == 0
    assert sum(c.reader.tags_reported.values()) == sum(len(r.tags) for r in reports(c.got + c2.got))


def test_without_holding_reports_made_while_nobody_listens_are_dropped_and_counted() -> None:
    c, clock = setup()
    start(c, rospec(ai_stop=AISpecStopTrigger(trigger_type=1, duration_trigger=200)))
    c.reader.disconnect()
    clock.mono += 1.0
    c.reader.advance()
    assert c.reader.reports_dropped == 5


def test_a_periodic_start_while_the_last_run_is_still_going_is_skipped() -> None:
    c, _ = setup()
    spec = rospec(
        start=2, periodic=PeriodicTriggerValue(offset=0, period=500), stop=1, stop_ms=700, trigger=2
    )
    start(c, spec)
    c.run(2.05)
    # runs start at 0 (to 0.7), 1.0 (to 1.7), 2.0: the starts due at 0.5 and 1.5 find it running
    assert len(reports(c.got)) == 2
    assert len([e for e in c.reader.events if e["kind"] == "period-skipped"]) == 2
