"""Every real-reader capture decodes, matches EdgeX's independent decoding where it is
given, and re-encodes to exactly the bytes the reader sent."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from bohsense.llrp import (
    EPC96,
    ConnectionAttemptStatus,
    EPCData,
    GetAccessSpecsResponse,
    GetReaderCapabilitiesResponse,
    GetReaderConfigResponse,
    GetROSpecsResponse,
    LLRPError,
    Message,
    MessageDecoder,
    ReaderEventNotification,
    ROAccessReport,
    TagReportData,
    decode_body,
    decode_message,
    encode_message,
)
from tests.llrp.captures import CAPTURES, EDGEX, SLLURP, edgex_body, edgex_json, sllurp_bytes


def _stream(data: bytes) -> list[Message]:
    decoder = MessageDecoder()
    out = decoder.feed(data)
    errors = [o for o in out if isinstance(o, LLRPError)]
    assert errors == [], [str(e) for e in errors]
    assert decoder.buffered == 0
    assert decoder.eof() == []
    return [o for o in out if not isinstance(o, LLRPError)]


def test_no_capture_goes_untested() -> None:
    on_disk = {
        p.relative_to(CAPTURES).as_posix() for p in CAPTURES.rglob("*") if p.suffix in (".bin", ".bytes")
    }
    tested = {f"impinj_sllurp/{n}" for n in SLLURP} | {f"impinj_r420_edgex/{s}.bytes" for s in EDGEX}
    assert on_disk, f"no LLRP captures under {CAPTURES}: see ../shared/fixtures/llrp/README.md"
    assert on_disk == tested


# ---------------------------------------------------------------- sllurp's captures: whole messages


@pytest.mark.parametrize("name", SLLURP)
def test_sllurp_capture_decodes_as_a_stream_and_reencodes_byte_for_byte(name: str) -> None:
    data = sllurp_bytes(name)
    messages = _stream(data)
    assert messages
    assert b"".join(encode_message(m) for m in messages) == data


@pytest.mark.parametrize("name", SLLURP)
def test_sllurp_capture_fed_one_byte_at_a_time_gives_the_same_messages(name: str) -> None:
    data = sllurp_bytes(name)
    decoder = MessageDecoder()
    got: list[object] = []
    for i in range(len(data)):
        got.extend(decoder.feed(data[i : i + 1]))
    assert got == _stream(data)


def test_sllurp_tag_reports() -> None:
    reports = _stream(sllurp_bytes("ro_access_reports_x45.bin"))
    assert len(reports) == 45
    assert all(isinstance(r, ROAccessReport) and len(r.tags) == 1 for r in reports)
    tags = [t for r in reports if isinstance(r, ROAccessReport) for t in r.tags]
    assert {t.epc_hex for t in tags} == {
        "3005fb63ac1f3841ec880467",
        "300833b2ddd906c000000000",
        "1fb41f712ac9c37ab79d618173188324001a",
    }
    long_epcs = [t for t in tags if isinstance(t.epc, EPCData)]
    assert long_epcs
    assert all(t.epc.epc.bit_count == 144 for t in long_epcs if isinstance(t.epc, EPCData))
    assert all(isinstance(t.epc, EPC96) for t in tags if t not in long_epcs)
    for t in tags:
        assert t.antenna_id is not None
        assert t.peak_rssi is not None
        assert t.tag_seen_count is not None
        assert t.first_seen_utc is not None
        # 2013-11-27 in microseconds since 1970
        assert 1385510400_000000 <= t.first_seen_utc < 1385596800_000000
    first = tags[0]
    assert (first.antenna_id, first.peak_rssi, first.tag_seen_count, first.first_seen_utc) == (
        1, -50, 1, 1385585041558537,
    )  # fmt: skip


def test_sllurp_reader_event_notification() -> None:
    (msg,) = _stream(sllurp_bytes("reader_event_notification.bin"))
    assert isinstance(msg, ReaderEventNotification)
    attempt = msg.data.connection_attempt
    assert attempt is not None
    assert attempt.status == ConnectionAttemptStatus.SUCCESS
    assert msg.data.timestamp.microseconds == 1398936810740479


def test_sllurp_reader_capabilities() -> None:
    (msg,) = _stream(sllurp_bytes("get_reader_capabilities_response.bin"))
    assert isinstance(msg, GetReaderCapabilitiesResponse)
    assert msg.status.ok
    general = msg.general_device_capabilities
    assert general is not None
    assert (general.device_manufacturer_name, general.model_name, general.reader_firmware_version) == (
        25882, 2001001, "4.8.3.240",
    )  # fmt: skip
    assert general.max_number_of_antennas_supported == 2
    regulatory = msg.regulatory_capabilities
    assert regulatory is not None
    assert regulatory.uhf_band_capabilities is not None
    band = regulatory.uhf_band_capabilities
    assert len(band.transmit_power_levels) == 91
    assert {e.mode_identifier for table in band.rf_mode_tables for e in table.entries} == {2, 3, 1000}


# ---------------------------------------------------------------- EdgeX's captures: bodies + JSON


@pytest.mark.parametrize("stem", EDGEX)
def test_edgex_body_decodes_without_warnings_and_reencodes_byte_for_byte(stem: str) -> None:
    message_type, body = edgex_body(stem)
    message, warnings = decode_body(message_type, 7, body)
    assert warnings == []
    assert message_type == type(message).TYPE
    wire = encode_message(message)
    assert wire[10:] == body
    # and the whole message, header included, goes round the one-shot decoder too
    assert decode_message(wire) == (message, [])


def _b64(value: str | None) -> bytes:
    return base64.b64decode(value) if value else b""


def _check_status(message: Any, expected: dict[str, Any]) -> None:
    status = expected["LLRPStatus"]
    assert message.status.status_code == status["Status"]
    assert message.status.error_description == status["ErrorDescription"]
    assert (message.status.field_error is None) == (status["FieldError"] is None)
    assert (message.status.parameter_error is None) == (status["ParameterError"] is None)


def _check_tag(tag: TagReportData, j: dict[str, Any]) -> None:
    if j["EPC96"] is not None:
        assert isinstance(tag.epc, EPC96)
        assert tag.epc.epc == _b64(j["EPC96"]["EPC"])
    else:
        assert isinstance(tag.epc, EPCData)
        assert tag.epc.epc.bit_count == j["EPCData"]["EPCNumBits"]
        assert tag.epc.epc.data == _b64(j["EPCData"]["EPC"])
    pairs = {
        "ROSpecID": tag.ro_spec_id, "SpecIndex": tag.spec_index,
        "InventoryParameterSpecID": tag.inventory_parameter_spec_id, "AntennaID": tag.antenna_id,
        "PeakRSSI": tag.peak_rssi, "ChannelIndex": tag.channel_index, "FirstSeenUTC": tag.first_seen_utc,
        "FirstSeenUptime": tag.first_seen_uptime, "LastSeenUTC": tag.last_seen_utc,
        "LastSeenUptime": tag.last_seen_uptime, "TagSeenCount": tag.tag_seen_count, "C1G2PC": tag.c1g2_pc,
        "C1G2CRC": tag.c1g2_crc, "AccessSpecID": tag.access_spec_id,
    }  # fmt: skip
    for key, got in pairs.items():
        assert got == j[key], key
    assert tag.op_spec_results == ()
    assert all(j[k] is None for k in j if k.endswith("OpSpecResult"))


@pytest.mark.parametrize("stem", [s for s in EDGEX if "ROAccessReport" in s])
def test_edgex_tag_reports_match_edgex(stem: str) -> None:
    message_type, body = edgex_body(stem)
    message, _ = decode_body(message_type, 0, body)
    expected = edgex_json(stem)
    assert isinstance(message, ROAccessReport)
    assert len(message.tags) == len(expected["TagReportData"]) >= 1
    for tag, j in zip(message.tags, expected["TagReportData"], strict=True):
        _check_tag(tag, j)
    assert message.rf_survey == ()
    assert expected["RFSurveyReportData"] is None


@pytest.mark.parametrize(
    ("stem", "field"), [("GetROSpecsResponse-000", "ROSpecs"), ("GetAccessSpecsResponse-000", "AccessSpecs")]
)
def test_edgex_empty_spec_lists_match_edgex(stem: str, field: str) -> None:
    message_type, body = edgex_body(stem)
    message, _ = decode_body(message_type, 0, body)
    expected = edgex_json(stem)
    _check_status(message, expected)
    assert expected[field] is None
    if isinstance(message, GetROSpecsResponse):
        assert message.ro_specs == ()
    else:
        assert isinstance(message, GetAccessSpecsResponse)
        assert message.access_specs == ()


def test_edgex_close_connection_response_matches_edgex() -> None:
    message_type, body = edgex_body("CloseConnectionResponse-000")
    message, _ = decode_body(message_type, 0, body)
    _check_status(message, edgex_json("CloseConnectionResponse-000"))


def test_edgex_reader_event_notification_matches_edgex() -> None:
    message_type, body = edgex_body("ReaderEventNotification-000")
    message, _ = decode_body(message_type, 0, body)
    expected = edgex_json("ReaderEventNotification-000")["ReaderEventNotificationData"]
    assert isinstance(message, ReaderEventNotification)
    data = message.data
    assert data.timestamp.microseconds == expected["UTCTimestamp"]
    events = {
        "HoppingEvent": data.hopping, "GPIEvent": data.gpi, "ROSpecEvent": data.ro_spec,
        "ReportBufferLevelWarningEvent": data.report_buffer_level_warning,
        "ReportBufferOverflowErrorEvent": data.report_buffer_overflow,
        "ReaderExceptionEvent": data.reader_exception, "RFSurveyEvent": data.rf_survey,
        "AISpecEvent": data.ai_spec, "AntennaEvent": data.antenna,
        "ConnectionAttemptEvent": data.connection_attempt, "ConnectionCloseEvent": data.connection_close,
    }  # fmt: skip
    for key, got in events.items():
        assert (got is None) == (expected[key] is None), key
    assert data.connection_close is not None  # the R420 said goodbye
    assert data.extensions == ()
    assert expected["Custom"] is None


def test_edgex_reader_capabilities_match_edgex() -> None:
    message_type, body = edgex_body("GetReaderCapabilitiesResponse-000")
    message, _ = decode_body(message_type, 0, body)
    expected = edgex_json("GetReaderCapabilitiesResponse-000")
    assert isinstance(message, GetReaderCapabilitiesResponse)
    _check_status(message, expected)

    g, jg = message.general_device_capabilities, expected["GeneralDeviceCapabilities"]
    assert g is not None
    assert g.max_number_of_antennas_supported == jg["MaxSupportedAntennas"] == 4
    assert g.can_set_antenna_properties == jg["CanSetAntennaProperties"]
    assert g.has_utc_clock_capability == jg["HasUTCClock"]
    assert g.device_manufacturer_name == jg["DeviceManufacturer"] == 25882
    assert g.model_name == jg["Model"]
    assert g.reader_firmware_version == jg["FirmwareVersion"] == "5.14.0.240"
    assert [(e.index, e.receive_sensitivity) for e in g.receive_sensitivities] == [
        (e["Index"], e["ReceiveSensitivity"]) for e in jg["ReceiveSensitivities"]
    ]
    assert g.receive_sensitivity_ranges == ()
    assert jg["PerAntennaReceiveSensitivityRanges"] is None
    assert (g.gpio_capabilities.num_gpis, g.gpio_capabilities.num_gpos) == (
        jg["GPIOCapabilities"]["NumGPIs"], jg["GPIOCapabilities"]["NumGPOs"],
    )  # fmt: skip
    assert [(a.antenna_id, a.protocol_ids) for a in g.air_protocols] == [
        (a["AntennaID"], _b64(a["AirProtocolIDs"])) for a in jg["PerAntennaAirProtocols"]
    ]

    c, jc = message.llrp_capabilities, expected["LLRPCapabilities"]
    assert c is not None
    assert (
        c.can_do_rf_survey, c.can_report_buffer_fill_warning, c.supports_client_request_op_spec,
        c.can_do_tag_inventory_state_aware_singulation, c.supports_event_and_report_holding,
        c.max_num_priority_levels_supported, c.client_request_op_spec_timeout, c.max_num_ro_specs,
        c.max_num_specs_per_ro_spec, c.max_num_inventory_parameter_specs_per_ai_spec,
        c.max_num_access_specs, c.max_num_op_specs_per_access_spec,
    ) == (
        jc["CanDoRFSurvey"], jc["CanReportBufferFillWarning"], jc["SupportsClientRequestOpSpec"],
        jc["CanDoTagInventoryStateAwareSingulation"], jc["SupportsEventsAndReportHolding"],
        jc["MaxPriorityLevelSupported"], jc["ClientRequestedOpSpecTimeout"], jc["MaxROSpecs"],
        jc["MaxSpecsPerROSpec"], jc["MaxInventoryParameterSpecsPerAISpec"], jc["MaxAccessSpecs"],
        jc["MaxOpSpecsPerAccessSpec"],
    )  # fmt: skip

    r, jr = message.regulatory_capabilities, expected["RegulatoryCapabilities"]
    assert r is not None
    assert r.uhf_band_capabilities is not None
    assert (r.country_code, r.communications_standard) == (jr["CountryCode"], jr["CommunicationsStandard"])
    band, jb = r.uhf_band_capabilities, jr["UHFBandCapabilities"]
    assert [(p.index, p.transmit_power) for p in band.transmit_power_levels] == [
        (p["Index"], p["TransmitPowerValue"]) for p in jb["TransmitPowerLevels"]
    ]
    assert len(band.transmit_power_levels) == 81
    freq, jf = band.frequency_information, jb["FrequencyInformation"]
    assert freq.hopping == jf["Hopping"]
    assert [(t.hop_table_id, t.frequencies) for t in freq.hop_tables] == [
        (t["HopTableID"], tuple(t["Frequencies"])) for t in jf["FrequencyHopTables"]
    ]
    assert freq.fixed_frequency_table is None
    assert jf["FixedFrequencyTable"] is None
    (table,) = band.rf_mode_tables
    assert [
        (e.mode_identifier, int(e.dr_value), e.epc_hag_tc_conformance, e.m_value, e.forward_link_modulation,
         e.spectral_mask_indicator, e.bdr_value, e.pie_value, e.min_tari_value, e.max_tari_value,
         e.step_tari_value)
        for e in table.entries
    ] == [
        (e["ModeID"], e["DivideRatio"], e["IsEPCHagConformant"], e["Modulation"], e["ForwardLinkModulation"],
         e["SpectralMask"], e["BackscatterDataRate"], e["PIERatio"], e["MinTariTime"], e["MaxTariTime"],
         e["StepTariTime"])
        for e in jb["C1G2RFModes"]["UHFC1G2RFModeTableEntries"]
    ]  # fmt: skip
    assert len(table.entries) == 10

    a, ja = message.c1g2_llrp_capabilities, expected["C1G2LLRPCapabilities"]
    assert a is not None
    assert (a.can_support_block_erase, a.can_support_block_write, a.max_num_select_filters_per_query) == (
        ja["SupportsBlockErase"], ja["SupportsBlockWrite"], ja["MaxSelectFiltersPerQuery"],
    )  # fmt: skip
    assert message.extensions == ()
    assert expected["Custom"] is None


def test_edgex_reader_config_matches_edgex() -> None:
    message_type, body = edgex_body("GetReaderConfigResponse-000")
    message, _ = decode_body(message_type, 0, body)
    j = edgex_json("GetReaderConfigResponse-000")
    assert isinstance(message, GetReaderConfigResponse)
    _check_status(message, j)
    assert message.identification is not None
    assert message.identification.id_type == j["Identification"]["IDType"]
    assert message.identification.reader_id == _b64(j["Identification"]["ReaderID"])
    assert [(p.antenna_connected, p.antenna_id, p.antenna_gain) for p in message.antenna_properties] == [
        (p["AntennaConnected"], p["AntennaID"], p["AntennaGain"]) for p in j["AntennaProperties"]
    ]
    assert len(message.antenna_configurations) == len(j["AntennaConfigurations"]) == 4
    for got, want in zip(message.antenna_configurations, j["AntennaConfigurations"], strict=True):
        assert got.antenna_id == want["AntennaID"]
        assert got.rf_receiver is not None
        assert got.rf_receiver.receiver_sensitivity == want["RFReceiver"]
        tx, jtx = got.rf_transmitter, want["RFTransmitter"]
        assert tx is not None
        assert (tx.hop_table_id, tx.channel_index, tx.transmit_power) == (
            jtx["HopTableID"], jtx["ChannelIndex"], jtx["TransmitPowerIndex"],
        )  # fmt: skip
        (inv,) = got.inventory_commands
        jinv = want["C1G2InventoryCommand"]
        assert inv.tag_inventory_state_aware == jinv["TagInventoryStateAware"]
        assert inv.filters == ()
        assert jinv["Filters"] is None
        assert inv.rf_control is not None
        assert inv.singulation_control is not None
        assert (inv.rf_control.mode_index, inv.rf_control.tari) == (
            jinv["RFControl"]["RFModeID"], jinv["RFControl"]["Tari"],
        )  # fmt: skip
        sc, jsc = inv.singulation_control, jinv["SingulationControl"]
        assert (sc.session, sc.tag_population, sc.tag_transit_time) == (
            jsc["Session"], jsc["TagPopulation"], jsc["TagTransitTime"],
        )  # fmt: skip
        assert sc.state_aware_action is None
        assert jsc["InvAwareAction"] is None
    spec = message.reader_event_notification_spec
    assert spec is not None
    assert [(s.event_type, s.notification_state) for s in spec.states] == [
        (s["ReaderEventType"], s["NotificationEnabled"])
        for s in j["ReaderEventNotificationSpec"]["EventNotificationStates"]
    ]
    ro, jro = message.ro_report_spec, j["ROReportSpec"]
    assert ro is not None
    assert (ro.trigger, ro.n) == (jro["Trigger"], jro["N"])
    sel, jsel = ro.content_selector, jro["TagReportContentSelector"]
    assert (
        sel.enable_ro_spec_id, sel.enable_spec_index, sel.enable_inventory_parameter_spec_id,
        sel.enable_antenna_id, sel.enable_channel_index, sel.enable_peak_rssi,
        sel.enable_first_seen_timestamp, sel.enable_last_seen_timestamp, sel.enable_tag_seen_count,
        sel.enable_access_spec_id,
    ) == (
        jsel["EnableROSpecID"], jsel["EnableSpecIndex"], jsel["EnableInventoryParamSpecID"],
        jsel["EnableAntennaID"], jsel["EnableChannelIndex"], jsel["EnablePeakRSSI"],
        jsel["EnableFirstSeenTimestamp"], jsel["EnableLastSeenTimestamp"], jsel["EnableTagSeenCount"],
        jsel["EnableAccessSpecID"],
    )  # fmt: skip
    (mem,) = sel.epc_memory_selectors
    jmem = jsel["C1G2EPCMemorySelector"]
    assert (mem.enable_crc, mem.enable_pc_bits) == (jmem["CRCEnabled"], jmem["PCBitsEnabled"])
    assert message.access_report_spec is not None
    assert message.access_report_spec.access_report_trigger == j["AccessReportSpec"]
    assert message.llrp_configuration_state is not None
    assert message.llrp_configuration_state.value == j["LLRPConfigurationStateValue"]
    assert message.keepalive_spec is not None
    assert (message.keepalive_spec.trigger_type, message.keepalive_spec.periodic_trigger_value) == (
        j["KeepAliveSpec"]["Trigger"], j["KeepAliveSpec"]["Interval"],
    )  # fmt: skip
    assert [(g.gpi_port_num, g.config, g.state) for g in message.gpi_port_current_states] == [
        (g["Port"], g["Enabled"], g["State"]) for g in j["GPIPortCurrentStates"]
    ]
    assert [(g.gpo_port_number, g.gpo_data) for g in message.gpo_write_data] == [
        (g["Port"], g["Data"]) for g in j["GPOWriteData"]
    ]
    assert message.events_and_reports is not None
    assert message.events_and_reports.hold_events_and_reports_upon_reconnect == j["EventsAndReports"]
